"""The client-side step player's payload: every half-step of a fit, packed for the browser.

Pure functions, no Streamlit. :func:`pack` turns, for each half-step of a window (a run of
consecutive half-steps), the page's figures (Plotly figures) and texts (HTML strings) into one
compact, JSON-safe dictionary: every distinct value (a trace's ``x`` array, a layout's title, a
narration paragraph) is stored once in the window's pool, and each half-step refers to pool
entries by index. A fit whose E-steps only recolour points and whose M-steps only move curves
therefore costs about one figure per changed array, not one figure per half-step.
:func:`encode` compresses a window for the wire.

The browser (``emui/player.js``) rebuilds half-step ``s`` from the pool and draws it with
Plotly.js; :func:`unpack` is the same reconstruction in Python, for the tests.

Texts reach the browser as HTML, made here from the page's own Markdown and LaTeX by
:func:`md_html` and :func:`tex_html` (a small subset each: what the narration and the proof
panel use). Everything from the data is HTML-escaped first.
"""

from __future__ import annotations

import base64
import html
import json
import re
import zlib
from collections.abc import Callable

import numpy as np

#: Layout keys the player never sends: the browser applies the page's own light/dark theme.
_DROP_LAYOUT = ("template",)


class _Pool:
    """Distinct JSON values, each stored once; ``add`` returns the index of a value."""

    def __init__(self) -> None:
        self.values: list = []
        self._index: dict[str, int] = {}

    def add(self, value) -> int:
        key = json.dumps(value, sort_keys=True, separators=(",", ":"))
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.values)
            self.values.append(value)
        return i


_DTYPES = {"float64": "f8", "float32": "f4", "int8": "i1", "uint8": "u1", "int16": "i2",
           "uint16": "u2", "int32": "i4", "uint32": "u4"}


def _plain(v):
    """A figure dictionary's value as JSON-safe data: numeric numpy arrays as Plotly's typed
    arrays ``{"dtype", "bdata"[, "shape"]}`` (what Plotly.js decodes), everything else as is."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "i" and v.dtype.itemsize == 8:
            v = v.astype(np.int32) if np.abs(v).max(initial=0) < 2**31 else v.astype(float)
        code = _DTYPES.get(v.dtype.name)
        if code is None or v.ndim > 3:  # Plotly.js decodes up to 3 dimensions
            return _plain(v.tolist())
        out = {"dtype": code,
               "bdata": base64.b64encode(np.ascontiguousarray(v).tobytes()).decode("ascii")}
        if v.ndim >= 2:
            out["shape"] = ", ".join(str(n) for n in v.shape)
        return out
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def figure_json(fig) -> dict:
    """A Plotly figure as the plain JSON dictionary Plotly.js draws (typed arrays as
    ``{"dtype", "bdata"}``), without its template.

    Reads the figure's own dictionary once (``to_dict``) and encodes its numpy arrays
    directly, instead of a JSON round trip through plotly.io (half the cost of a step).
    """
    d = fig if isinstance(fig, dict) else fig.to_dict()
    layout = {k: v for k, v in d.get("layout", {}).items() if k not in _DROP_LAYOUT}
    return {"data": _plain(list(d.get("data", []))), "layout": _plain(layout)}


def pack(steps: range, figures: dict[str, Callable[[int], object]],
         texts: dict[str, Callable[[int], str]]) -> dict:
    """The figures and texts of the half-steps ``steps`` (a window of a fit), pooled.

    Parameters
    ----------
    steps : range
        Consecutive half-step positions, e.g. ``range(16, 32)``.
    figures : dict name -> ``build(s)``
        Each returns a Plotly figure (or a dict with ``data`` and ``layout``) for half-step s.
    texts : dict name -> ``render(s)``
        Each returns an HTML string (already safe) for half-step s.

    Returns
    -------
    dict
        ``{"start", "stop", "pool", "figures": {name: [{"d": [{key: i}], "l": {key: i}}]},
        "texts": {name: [i, ...]}}``, one entry per half-step of ``steps`` in order;
        :func:`unpack` reverses it.
    """
    if steps.step != 1 or len(steps) == 0:
        raise ValueError("steps must be a non-empty range of consecutive half-steps")
    pool = _Pool()
    out_figs: dict[str, list] = {}
    for name, build in figures.items():
        out = []
        for s in steps:
            d = figure_json(build(s))
            out.append({
                "d": [{k: pool.add(v) for k, v in trace.items()} for trace in d["data"]],
                "l": {k: pool.add(v) for k, v in d["layout"].items()},
            })
        out_figs[name] = out
    out_texts = {name: [pool.add(render(s)) for s in steps] for name, render in texts.items()}
    return {"start": steps.start, "stop": steps.stop, "pool": pool.values,
            "figures": out_figs, "texts": out_texts}


def unpack(payload: dict, s: int) -> dict:
    """Half-step ``s`` (a position inside the packed window) of a packed payload:
    ``{"figures": {name: {"data", "layout"}}, "texts": {name: html}}`` (what the browser
    draws)."""
    i = s - payload["start"]
    if not 0 <= i < payload["stop"] - payload["start"]:
        raise IndexError(f"half-step {s} is not in this window")
    pool = payload["pool"]
    figs = {name: {"data": [{k: pool[j] for k, j in t.items()} for t in steps[i]["d"]],
                   "layout": {k: pool[j] for k, j in steps[i]["l"].items()}}
            for name, steps in payload["figures"].items()}
    texts = {name: pool[idx[i]] for name, idx in payload["texts"].items()}
    return {"figures": figs, "texts": texts}


def encode(payload: dict) -> bytes:
    """The payload as deflate-compressed JSON (zlib format: what the browser decodes with
    ``DecompressionStream("deflate")``)."""
    raw = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return zlib.compress(raw, 6)


def decode(blob: bytes) -> dict:
    """Inverse of :func:`encode` (for the tests)."""
    return json.loads(zlib.decompress(blob))


# --------------------------------------------------------------------------- Markdown → HTML

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_ITAL = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", re.S)
_CODE = re.compile(r"`([^`]+)`")


def md_html(text: str) -> str:
    """The Markdown the app's sentences use — ``**bold**``, ``*italic*``, ```code```,
    paragraphs separated by blank lines, backslash escapes — as HTML. Everything else is
    escaped, so text from data (a column name) can never become markup."""
    paras = [p for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    out = []
    for p in paras:
        # Markdown backslash escapes become the plain characters first: as in CommonMark,
        # any ASCII punctuation may be escaped (a page escapes a column name "a:b" as ``a\:b``).
        p = re.sub(r"\\([!-/:-@\[-`{-~])", lambda m: f"\x00{ord(m.group(1))}\x00", p)
        p = html.escape(p, quote=True)
        p = _CODE.sub(r"<code>\1</code>", p)
        p = _BOLD.sub(r"<strong>\1</strong>", p)
        p = _ITAL.sub(r"<em>\1</em>", p)
        p = re.sub("\x00([0-9]+)\x00", lambda m: html.escape(chr(int(m.group(1)))), p)
        out.append(f"<p>{p.strip()}</p>")
    return "".join(out)


# ------------------------------------------------------------------------------ LaTeX → HTML

_SYMBOLS = {
    "ell": "ℓ", "theta": "θ", "pi": "π", "mu": "μ", "sigma": "σ", "alpha": "α", "lambda": "λ",
    "mid": " | ", "ge": " ≥ ", "geq": " ≥ ", "le": " ≤ ", "leq": " ≤ ", "times": " × ",
    "cdot": " · ", "log": "log ", "quad": "\u2003", "qquad": "\u2003\u2003", ";": "\u2002",
    ",": "\u2009", "!": "", " ": " ", "blacktriangleleft": "◀", "blacksquare": "■", "sum": "Σ",
    "infty": "∞",
    "to": " → ", "rightarrow": " → ", "approx": " ≈ ", "neq": " ≠ ", "{": "{", "}": "}",
    "%": "%", "&": "&amp;", "|": "‖", "Delta": "Δ", "checkmark": "✓", "cdots": "⋯",
    "ldots": "…", "dots": "…", "max": "max", "min": "min", "exp": "exp",
    "arg": "arg", "in": " ∈ ", "sim": " ∼ ", "prod": "∏", "Sigma": "Σ", "beta": "β",
}
_CALLIGRAPHIC = {"L": "𝓛", "N": "𝒩", "Q": "𝒬"}
_TEXTLIKE = {"text", "mathrm", "textbf", "mathbf", "operatorname", "boldsymbol"}


class TexError(ValueError):
    """A LaTeX command :func:`tex_html` does not know (so it is never shown half-converted)."""


def _group(s: str, i: int) -> tuple[str, int]:
    """The brace group starting at ``s[i] == "{"`` (or one character) and the index after."""
    if i >= len(s):
        return "", i
    if s[i] != "{":
        if s[i] == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", s[i:])
            return m.group(0), i + len(m.group(0))
        return s[i], i + 1
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
    raise TexError("unbalanced braces")


def _tex(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", s[i:])
            name = m.group(1)
            i += len(m.group(0))
            if name in _TEXTLIKE:
                arg, i = _group(s, i)
                inner = html.escape(arg) if name == "text" else _tex(arg)
                tag = "strong" if name in ("textbf", "mathbf", "boldsymbol") else "span"
                out.append(f'<{tag} class="up">{inner}</{tag}>')
            elif name == "mathcal":
                arg, i = _group(s, i)
                out.append(_CALLIGRAPHIC.get(arg, html.escape(arg)))
            elif name == "underbrace":
                # \underbrace{A}_{B}: A with a brace-line under it and the label B below
                arg, i = _group(s, i)
                label = ""
                if i < len(s) and s[i] == "_":
                    lab, i = _group(s, i + 1)
                    label = _tex(lab)
                out.append(f'<span class="ub"><span>{_tex(arg)}</span><span>{label}</span>'
                           "</span>")
            elif name == "color":
                # \color{c} colours the rest of its group
                colour, i = _group(s, i)
                if not re.fullmatch(r"#[0-9A-Fa-f]{3,8}|[a-z]+", colour):
                    raise TexError("colour")
                out.append(f'<span style="color:{colour}">{_tex(s[i:])}</span>')
                i = len(s)
            elif name == "textcolor":
                colour, i = _group(s, i)
                arg, i = _group(s, i)
                if not re.fullmatch(r"#[0-9A-Fa-f]{3,8}|[a-z]+", colour):
                    raise TexError("colour")
                out.append(f'<span style="color:{colour}">{_tex(arg)}</span>')
            elif name == "frac":
                a, i = _group(s, i)
                b, i = _group(s, i)
                out.append(f'<span class="frac"><span>{_tex(a)}</span><span>{_tex(b)}</span>'
                           "</span>")
            elif name == "sqrt":
                a, i = _group(s, i)
                out.append(f"√({_tex(a)})")
            elif name in ("left", "right", "big", "Big", "bigl", "bigr"):
                continue
            elif name == "\\":
                out.append("<br>")
            elif name in _SYMBOLS:
                out.append(_SYMBOLS[name])
            else:
                raise TexError(f"unknown command \\{name}")
        elif c in "^_":
            arg, i = _group(s, i + 1)
            tag = "sup" if c == "^" else "sub"
            out.append(f"<{tag}>{_tex(arg)}</{tag}>")
        elif c == "{":
            arg, i = _group(s, i)
            out.append("," if arg == "," else _tex(arg))
        elif c == "&":
            i += 1
        elif c in "=+<>":
            out.append(html.escape(f" {c} ") if c != "=" else " = ")
            i += 1
        elif c == "-":
            out.append(" − " if out and not out[-1].endswith(("(", " ", "{")) else "−")
            i += 1
        else:
            out.append(html.escape(c))
            i += 1
    return "".join(out)


def tex_html(latex: str, current: bool = False) -> str:
    """One display formula of the app's LaTeX subset as HTML (Unicode symbols, ``<sub>``,
    ``<sup>``; an ``aligned`` block becomes one line per row). ``current`` marks the line the
    half-step on screen uses (class ``cur``: highlighted, and all presentation mode shows).

    Raises
    ------
    TexError
        For a command outside the subset, so no formula is ever shown half-converted.
    """
    s = str(latex).strip()
    m = re.fullmatch(r"\\begin\{aligned\}(.*)\\end\{aligned\}", s, re.S)
    rows = re.split(r"\\\\(?:\[[^\]]*\])?", m.group(1)) if m else [s]
    body = "<br>".join(re.sub(r"\s+", " ", _tex(r.strip())).strip() for r in rows)
    return f'<div class="{"tex cur" if current else "tex"}">{body}</div>'


def md_tex_html(text: str) -> str:
    """:func:`md_html` for sentences with inline math: every ``$...$`` is converted by the
    LaTeX subset of :func:`tex_html` (and raises :class:`TexError` like it), the rest is
    Markdown."""
    maths: list[str] = []

    def keep(m: re.Match) -> str:
        maths.append(_tex(m.group(1)))
        return f"\x01{len(maths) - 1}\x01"

    body = md_html(re.sub(r"(?<!\\)\$(.+?)(?<!\\)\$", keep, str(text), flags=re.S))
    return re.sub("\x01([0-9]+)\x01",
                  lambda m: f'<span class="tex-i">{maths[int(m.group(1))]}</span>', body)


__all__ = ["pack", "unpack", "encode", "decode", "figure_json", "md_html", "md_tex_html",
           "tex_html", "TexError"]
