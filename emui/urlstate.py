"""Shareable states: a page's settings and half-step live in the URL's query parameters.

One mechanism for every page. A page declares what its link holds and calls
:func:`url_state` once, at the top of its script, before any of its widgets::

    emui.url_state(KEY, page="house_prices", datasets=list(DATASETS), family="gaussian",
                   n_features=1)

* **URL → screen.** When the query string differs from the one this session last wrote
  (a link opened in a new tab, a fresh server, the back button), each known parameter is
  parsed and validated and, if valid, put into ``st.session_state`` under the widget's key
  before the widget is drawn; the widgets then show it. A bad or hostile value is dropped
  (the widget keeps its default) and one line says which settings were reset. Values never
  reach the page's Markdown or HTML: only the *names* of our own parameters are shown.
* **Screen → URL.** :func:`save_url` (called by :func:`emui.step_slider`, so on every run
  and every fragment rerun that draws the step control) writes the current values back, so
  the address bar always holds a link to the screen. :func:`link_to_step` draws the
  "Link to this step" control.

The parameters (all optional; absent ones keep the page's defaults)::

    data  dataset key         k     number of components     init  initialisation
    means own starting means  seed  seed                     iter  max iterations
    tol   tolerance (0 = off) hard  hard EM (0/1)            step  half-step s
    present  presentation mode (0/1), plus the family's declared options (``emcore.fit_spec``:
    Gaussian ``cov`` and ``reg``, multinomial and Bernoulli ``alpha``) and any page extras

Each one maps to a session-state key (by default ``emui.widget_key(key, field)``), so the
page's widgets, presets and callbacks need not know about the URL at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st

import emcore
from emui._deeplink import ensure_navigation
from emui.controls import TOL_OPTIONS, widget_key
from emui.screen import PRESENT_KEY

#: Query parameters Streamlit itself may add (embedding); never ours, never reported.
_STREAMLIT_PARAMS = frozenset({"embed", "embed_options"})
#: The longest value we look at; anything longer is bad input.
MAX_VALUE_LEN = 200
_MEANS_CHARS = re.compile(r"^[0-9eE+\-., ;]*$")
_INT = re.compile(r"^[+]?[0-9]{1,9}$")
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


class BadValue(ValueError):
    """A query value that does not parse or is out of range (its text is never shown)."""


@dataclass(frozen=True)
class Param:
    """One query parameter: its name in the URL and the session-state key it fills.

    Parameters
    ----------
    name : str
        The query parameter's name (``"k"``).
    state_key : str
        The session-state key of the widget it sets (``"hp_n_components"``).
    parse : callable str -> value
        Returns the validated value or raises :class:`BadValue`.
    fmt : callable value -> str
        Writes a value back into the URL (the inverse of ``parse``).
    """

    name: str
    state_key: str
    parse: Callable[[str], object]
    fmt: Callable[[object], str] = str


def parse_int(lo: int, hi: int) -> Callable[[str], int]:
    """An integer in [lo, hi], written in plain decimal digits."""
    def parse(text: str) -> int:
        text = text.strip()
        if not _INT.match(text):
            raise BadValue
        v = int(text)
        if not lo <= v <= hi:
            raise BadValue
        return v
    return parse


def parse_choice(options: Iterable[str]) -> Callable[[str], str]:
    """One of a fixed set of strings (compared exactly)."""
    allowed = tuple(options)

    def parse(text: str) -> str:
        if text not in allowed:
            raise BadValue
        return text
    return parse


def parse_option(options: Iterable[float]) -> Callable[[str], float]:
    """A number that must equal one of a select-slider's options (returned as that option)."""
    allowed = tuple(float(o) for o in options)

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise BadValue from None
        if not math.isfinite(v):
            raise BadValue
        for o in allowed:
            if v == o or abs(v - o) <= 1e-9 * max(abs(o), 1e-300):
                return o
        raise BadValue
    return parse


def parse_int_set(lo: int, hi: int) -> Callable[[str], list[int]]:
    """A non-empty set of distinct integers in [lo, hi], comma-separated ("2,3,4"); returned
    sorted. At most hi − lo + 1 values, so a long list is bad input."""
    one = parse_int(lo, hi)

    def parse(text: str) -> list[int]:
        parts = text.split(",")
        if not text.strip() or len(parts) > hi - lo + 1:
            raise BadValue
        values = [one(p) for p in parts]
        if len(set(values)) != len(values):
            raise BadValue
        return sorted(values)
    return parse


def fmt_int_list(values) -> str:
    return ",".join(str(int(v)) for v in values)


def parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise BadValue


def fmt_bool(v) -> str:
    return "1" if v else "0"


def fmt_float(v) -> str:
    return f"{float(v):g}"


def parse_means(text: str) -> str:
    """The own-starting-means text: digits, signs, dots, commas, spaces and ';' only."""
    if not _MEANS_CHARS.match(text) or not text.strip():
        raise BadValue
    return text.strip()


def option_param(option) -> tuple[Callable[[str], object], Callable[[object], str]]:
    """(parse, fmt) of a family's declared option (an ``emcore.FitOption``): one of its
    choices, compared exactly for text, as numbers for numbers."""
    if all(isinstance(c, bool) for c in option.choices):
        return parse_bool, fmt_bool
    if all(isinstance(c, str) for c in option.choices):
        return parse_choice(option.choices), str
    return parse_option(option.choices), fmt_float


def fit_params(key: str, family: str = "gaussian", n_features: int = 1,
               max_components: int = 8, names: Mapping[str, str] | None = None) -> list[Param]:
    """The query parameters of :func:`emui.fit_controls`' widgets, read from the family's
    declaration (``emcore.fit_spec(family)``) as ``fit_controls`` reads it.

    Parameters
    ----------
    key : str
        The page's widget prefix (as given to ``fit_controls``).
    family, n_features, max_components :
        As in ``fit_controls``: which controls exist and their ranges. ``means`` exists when
        the family offers the "custom" start, ``hard`` when it offers a hard-EM switch, and
        each option under its ``url`` name when ``n_features`` reaches its ``min_features``.
    names : mapping, optional
        Session-state keys to use instead of ``widget_key(key, field)``, by field
        (``n_components``, ``init``, ``means``, ``seed``, ``reg``, ``alpha``, ...); a
        field mapped to ``None`` has no parameter.
    """
    names = dict(names or {})
    spec = emcore.fit_spec(family)

    def sk(f: str) -> str | None:
        return names.get(f, widget_key(key, f))

    out = [
        ("k", "n_components", parse_int(1, max_components), str),
        ("init", "init", parse_choice(spec.inits), str),
        ("seed", "seed", parse_int(0, 100_000), str),
        ("iter", "max_iter", parse_int(1, 1000), str),
        ("tol", "tol", parse_option(TOL_OPTIONS), fmt_float),
    ]
    if "custom" in spec.inits:
        out.insert(2, ("means", "means", parse_means, str))
    out += [(o.query_name, o.name, *option_param(o)) for o in spec.options
            if n_features >= o.min_features]
    if spec.hard_em:
        out.append(("hard", "hard", parse_bool, fmt_bool))
    return [Param(name, sk(f), parse, fmt) for name, f, parse, fmt in out if sk(f) is not None]


@dataclass
class PageUrl:
    """The URL state of one page: its parameters, its path, and the note of the last load."""

    key: str
    path: str
    params: list[Param]
    note: str | None = None
    #: The settings (all but the step) first written after the note; a change clears it.
    baseline: dict | None = None


_STEP = "step"
#: The half-step is validated against a generous bound here and clamped to the run's length
#: by the step control (the run is not known before the fit).
_MAX_STEP = 1_000_000


def _pages() -> dict:
    return st.session_state.setdefault("_emui_url_pages", {})


def _written() -> dict:
    return st.session_state.setdefault("_emui_url_written", {})


def _current_query() -> dict[str, str]:
    """The query parameters as a plain dict (the last value of a repeated one)."""
    try:
        return {str(k): str(v) for k, v in st.query_params.to_dict().items()}
    except Exception:  # noqa: BLE001 - a malformed query must never break a page
        return {}


def url_state(key: str, page: str, params: list[Param] | None = None, *,
              datasets: Iterable[str] | None = None, data_key: str | None = None,
              family: str | None = "gaussian", n_features: int = 1, max_components: int = 8,
              names: Mapping[str, str] | None = None, extra: Iterable[Param] = ()) -> PageUrl:
    """Read the page's settings from the URL (when the URL is new) and remember the spec.

    Call once at the top of the page, before the widgets. Returns the :class:`PageUrl`;
    its ``note`` is the one line shown when some value was rejected.

    Parameters
    ----------
    key : str
        The page's widget prefix; the step lives in ``f"{key}_step"``.
    page : str
        The page's URL path (``"house_prices"``), for the "Link to this step" address.
    params : list of Param, optional
        The full list; by default :func:`fit_params` for ``family`` (None: no fit
        parameters), plus ``data`` (when ``datasets`` is given), ``step`` and ``extra``.
    datasets : iterable of str, optional
        The dataset keys of the page's "Dataset" box.
    data_key : str, optional
        Session-state key of that box (default ``widget_key(key, "data")``).
    """
    ensure_navigation(page)  # a page opened by a link on a fresh server runs through app.py
    if params is None:
        params = []
        if datasets is not None:
            params.append(Param("data", data_key or widget_key(key, "data"),
                                parse_choice(datasets)))
        if family is not None:
            params += fit_params(key, family, n_features, max_components, names)
        params += list(extra)
        params.append(Param(_STEP, f"{key}_step", parse_int(0, _MAX_STEP)))
    spec = PageUrl(key=key, path=page, params=params)
    old = _pages().get(key)
    if old is not None:
        spec.note, spec.baseline = old.note, old.baseline
    _pages()[key] = spec

    query = _current_query()
    if query and query != _written().get(key):
        spec.note, spec.baseline = _restore(spec, query), None
    _clear_stale_note(spec)
    if spec.note:
        st.caption(spec.note)
    return spec


def _restore(spec: PageUrl, query: Mapping[str, str]) -> str | None:
    """Put the valid values of ``query`` into session state; the note names the bad ones."""
    bad: list[str] = []
    by_name = {p.name: p for p in spec.params}
    unknown = 0
    for name, text in query.items():
        p = by_name.get(name)
        if p is None:
            if name not in _STREAMLIT_PARAMS and name != "present":
                unknown += 1
            continue
        try:
            if len(text) > MAX_VALUE_LEN:
                raise BadValue
            value = p.parse(text)
        except (BadValue, ValueError, TypeError, OverflowError):
            bad.append(name)
            continue
        st.session_state[p.state_key] = value
    parts = []
    if bad:
        parts.append("the link's " + ", ".join(f"`{n}`" for n in bad)
                     + (" was" if len(bad) == 1 else " were") + " not valid: default used")
    if unknown:
        parts.append(f"{unknown} unknown link parameter{'s' if unknown != 1 else ''} ignored")
    note = ("⚠️ " + "; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + ".") if parts else None
    return note


def page_query(key: str) -> dict[str, str]:
    """The query parameters describing the page's current state (from session state)."""
    spec = _pages().get(key)
    if spec is None:
        return {}
    out: dict[str, str] = {}
    for p in spec.params:
        if p.state_key not in st.session_state:
            continue
        v = st.session_state[p.state_key]
        if p.name == "means" and st.session_state.get(widget_key(key, "init")) != "custom":
            continue
        try:
            text = p.fmt(v)
            p.parse(text)  # only what a fresh server will accept goes into a link
        except Exception:  # noqa: BLE001
            continue
        out[p.name] = text
    if st.session_state.get(PRESENT_KEY):
        out["present"] = "1"
    return out


def _settings_of(query: Mapping[str, str]) -> dict:
    return {k: v for k, v in query.items() if k != _STEP}


def _clear_stale_note(spec: PageUrl, query: Mapping[str, str] | None = None) -> None:
    """Drop the bad-link note once the learner has changed a setting (not just the step)."""
    if spec.note and spec.baseline is not None:
        q = page_query(spec.key) if query is None else query
        if _settings_of(q) != spec.baseline:
            spec.note = None


def save_url(key: str) -> dict[str, str]:
    """Write the page's current state into the URL (no-op when unchanged); returns it."""
    spec = _pages().get(key)
    if spec is None:
        return {}
    q = page_query(key)
    if q != _current_query():
        st.query_params.from_dict(q)
    if spec.note and spec.baseline is None:
        spec.baseline = _settings_of(q)
    _clear_stale_note(spec, q)
    _written()[key] = q
    return q


def link_url(key: str) -> str:
    """The address of the page's current state: the app's URL (when known) + path + query."""
    spec = _pages().get(key)
    if spec is None:
        return ""
    base = ""
    try:
        base = (st.context.url or "").rstrip("/")
    except Exception:  # noqa: BLE001 - no browser context (AppTest, scripts)
        base = ""
    q = urlencode(page_query(key))
    return f"{base}/{spec.path}" + (f"?{q}" if q else "")


def link_to_step(key: str, container=None) -> None:
    """The "Link to this step" control: a popover with the URL, ready to copy."""
    spec = _pages().get(key)
    if spec is None or not spec.params:
        return
    box = container if container is not None else st
    with box.popover("🔗", help="Link to this step: settings, data and half-step in one URL"):
        st.markdown("**Link to this step**")
        st.code(link_url(key), language=None, wrap_lines=True)
        st.caption("Opening it shows this fit at this half-step, on any machine running "
                   "this app.")


__all__ = ["Param", "PageUrl", "BadValue", "url_state", "fit_params", "save_url", "page_query",
           "link_url", "link_to_step", "parse_int", "parse_choice", "parse_option", "parse_bool",
           "parse_means", "parse_int_set", "fmt_bool", "fmt_float", "fmt_int_list"]
