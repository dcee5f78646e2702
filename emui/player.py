"""The client-side step player: scrubbing through a fit's half-steps without the server.

Every half-step of a fit is recorded, so the browser can hold them all. :func:`step_player`
sends the page's step-dependent figures and texts for *every* half-step once (packed by
:mod:`emviz.player`, cached per fit and shared by every session on the server), and a
components.v2 component (``player.js``) draws the half-step the learner picks with ◀ / ▶, the
slider or the keyboard, with Plotly.js in the browser. A press costs the server nothing.

When the learner stops on a half-step, the component reports it (component state ``step``);
the page's fragment then reruns once, so the panels below the player (the open tab, the
exercise, the landscape, the link) follow. The server's step stays in
``st.session_state[f"{key}_step"]`` as before: buttons, links and resets that set it move the
player too.

Plotly.js itself is the copy inside the installed plotly wheel, served as one static file
(``server.enableStaticServing``), so its version always matches the Python package.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import plotly
import streamlit as st

from emcore import half_step_label
from emui import screen, urlstate
from emui.steps import describe_half_step, proof_lines, trace_key
from emviz import player as packer

_HERE = Path(__file__).resolve().parent
#: The app's static folder (next to app.py), served at ``app/static/`` by Streamlit.
STATIC_DIR = _HERE.parent / "static"
PLOTLY_FILE = f"plotly-{plotly.__version__}.min.js"
PLOTLY_URL = f"app/static/{PLOTLY_FILE}"

_COMPONENT = st.components.v2.component(
    "em_step_player",
    js=(_HERE / "player.js").read_text(encoding="utf-8"),
    css=(_HERE / "player.css").read_text(encoding="utf-8"),
    isolate_styles=False,
)


@functools.cache
def ensure_plotly_js(static_dir: Path = STATIC_DIR) -> Path:
    """Put the installed plotly wheel's ``plotly.min.js`` into the app's static folder (once;
    the file name carries the version, so an upgrade never serves a stale copy)."""
    target = static_dir / PLOTLY_FILE
    if not target.exists():
        source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        static_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        # copy2 keeps the wheel's modification time: served without a Cache-Control header,
        # an old Last-Modified lets browsers keep (and keep compiled) the file for days
        # instead of asking the server again on every page load.
        shutil.copy2(source, tmp)
        tmp.replace(target)
    return target


@dataclass(frozen=True)
class Chart:
    """A Plotly figure per half-step: ``build(hs) -> Figure`` for an emcore ``HalfStep``. ``name`` is also the CSS class
    ``st-key-<name>`` of its box, as for a keyed ``st.plotly_chart``."""

    name: str
    build: Callable[[int], object]
    flex: float = 1.0
    height: int | None = None
    minw: int | None = None

    kind = "chart"


@dataclass(frozen=True)
class Html:
    """An HTML block per half-step: ``render(hs) -> str`` (safe HTML, see emviz.player)."""

    name: str
    render: Callable[[int], str]
    flex: float = 1.0
    box: bool = False
    minw: int | None = None

    kind = "html"


def narration(trace, fmt=None, feature_names: Sequence[str] | None = None,
              name: str = "narration", flex: float = 1.0) -> Html:
    """The "what changed" sentences (:func:`emui.steps.describe_half_step`) as a player block."""
    names = list(feature_names) if feature_names is not None else None
    return Html(name, lambda hs: packer.md_html(describe_half_step(trace, hs, names, fmt)),
                flex=flex)


def proof_html(trace, hs) -> str:
    """The proof panel (:func:`emui.steps.proof_lines`) at half-step ``hs`` as HTML; the lines
    that half-step uses carry the class ``cur`` (the only ones presentation mode shows)."""
    if int(trace.n_iter) == 0:
        return (packer.md_html("**Why EM cannot go down — with this fit's numbers**")
                + '<p class="cap">The fit has no iterations yet, so there is no step to '
                  "check.</p>")
    # at θ⁽⁰⁾ the proof is about iteration 1, not marked
    t, kind = int(hs.t), hs.kind
    lines = proof_lines(trace, t, kind)
    current = {"E": (0,), "M": (1, 2)}.get(kind, (0,))
    body = "".join(packer.tex_html(line, current=i in current)
                   for i, line in enumerate(lines["latex"]))
    caption = packer.md_html(lines["caption"]).replace("<p>", '<p class="cap">')
    summary = packer.md_html(lines["summary"]).replace("<p>", '<p class="cap">')
    return packer.md_html(lines["title"]) + caption + body + summary


def proof(trace, name: str = "proof") -> Html:
    """The numeric proof panel as a bordered player block."""
    return Html(name, partial(proof_html, trace), box=True)


@st.cache_resource(max_entries=48,
                   show_spinner="Preparing every half-step of this fit for the step player "
                                "(once per fit, for everyone on this server)…")
def _payload(page: str, fit: str, options: tuple, _rows, _trace) -> tuple[str, str]:
    n = int(_trace.n_half_steps)
    # Builders get the emcore HalfStep of each position (one E-step each, computed here once).
    steps = [_trace.half_step(s) for s in range(n)]
    figures = {c.name: (lambda s, b=c.build: b(steps[s]))
               for row in _rows for c in row if c.kind == "chart"}
    texts = {c.name: (lambda s, r=c.render: r(steps[s]))
             for row in _rows for c in row if c.kind == "html"}
    packed = packer.pack(n, figures, texts, [half_step_label(s) for s in range(n)])
    z = packer.encode(packed)
    version = hashlib.sha1(f"{page}|{fit}|{options!r}|{len(z)}|{z[-64:]}".encode()).hexdigest()[:16]
    return version, z


def _on_step(key: str, n: int) -> None:
    state = st.session_state.get(f"{key}_player") or {}
    s = state.get("step")
    if s is not None:
        st.session_state[f"{key}_step"] = int(np.clip(int(s), 0, n - 1))


def _resend(key: str) -> None:
    st.session_state.pop(f"{key}_player_sent", None)


def preload() -> None:
    """Start downloading Plotly.js at once (app.py calls this on every page), so that it is
    ready, or nearly, when a step player first needs it."""
    ensure_plotly_js()
    st.html(f'<script>if (!window.Plotly && !document.querySelector("script[data-em-plotly]"))'
            f'{{const s = document.createElement("script"); s.src = "{PLOTLY_URL}"; '
            f's.async = true; s.dataset.emPlotly = "1"; document.head.appendChild(s);}}</script>',
            unsafe_allow_javascript=True)


def step_player(trace, key: str, rows: Sequence[Sequence[Chart | Html]], options: tuple = (),
                start: str = "init"):
    """The step control and everything drawn per half-step, played in the browser.

    Parameters
    ----------
    trace : emcore Trace (or a view of one with the same half-steps)
    key : str
        Page prefix; the server's step is ``st.session_state[f"{key}_step"]``.
    rows : sequence of rows of :class:`Chart` / :class:`Html`
        What the player draws under its step bar, row by row (a row wraps on a narrow screen).
        Their builders must depend on nothing but the half-step, the fit and ``options``.
    options : tuple of hashable values
        Everything else the builders depend on (highlighted point, toggles, ...); part of the
        cache key of the packed half-steps.
    start : {"init", "end"}
        Where the step starts on the first visit.

    Returns
    -------
    HalfStep
        ``trace.half_step(s)`` for the step the server knows (the one the learner stopped on).
    """
    ensure_plotly_js()
    n = int(trace.n_half_steps)
    state_key = f"{key}_step"
    if state_key not in st.session_state:
        st.session_state[state_key] = 0 if start == "init" else n - 1
    s = int(np.clip(int(st.session_state[state_key]), 0, n - 1))
    st.session_state[state_key] = s
    version, z = _payload(key, trace_key(trace), tuple(options), tuple(tuple(r) for r in rows),
                          trace)
    meta = [[{"kind": c.kind, "name": c.name, "flex": c.flex,
              **({"height": c.height} if getattr(c, "height", None) else {}),
              **({"minw": c.minw} if c.minw else {}),
              **({"box": True} if getattr(c, "box", False) else {})} for c in row]
            for row in rows]
    # Each session is sent a fit's half-steps once; later reruns send only the version (the
    # browser keeps the payload, and asks again with the "need" trigger if it lost it).
    sent_key = f"{key}_player_sent"
    first = st.session_state.get(sent_key) != version
    st.session_state[sent_key] = version
    screen.step_anchor()  # the target of the "Skip to the step control" link
    _COMPONENT(key=f"{key}_player",
               data={"v": version, "z": z if first else None, "step": s, "n": n,
                     "plotly": PLOTLY_URL,
                     "present": screen.presenting(), "rows": meta},
               default={"step": s}, on_step_change=partial(_on_step, key, n),
               on_need_change=partial(_resend, key), height="content")
    urlstate.link_to_step(key)
    urlstate.save_url(key)
    return trace.half_step(s)


__all__ = ["step_player", "Chart", "Html", "narration", "proof", "proof_html",
           "ensure_plotly_js", "preload", "PLOTLY_URL"]
