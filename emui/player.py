"""The client-side step player: scrubbing through a fit's half-steps without the server.

Every half-step of a fit is recorded, so the browser can hold them all. :func:`step_player`
packs the page's step-dependent figures and texts in windows of :data:`WINDOW` consecutive
half-steps (:mod:`emviz.player`) and publishes each window once per fit as a static file
(``server.enableStaticServing``), shared by every session on the server: the window of the
step on screen is packed in the page's run, the others by one background thread, nearest
first. A components.v2 component (``player.js``) fetches the windows (the one on screen first;
the browser's HTTP cache keeps them) and draws the half-step the learner picks with ◀ / ▶, the
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

import contextlib
import functools
import hashlib
import logging
import os
import secrets
import shutil
import threading
import time
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


#: Half-steps per published window: the browser fetches the window of the step on screen
#: first, then the others, nearest first.
WINDOW = 16
#: Published windows live in a folder of their own per server process, named by a random
#: salt: a window's URL cannot be guessed, so only a session that computed the fit (and so
#: holds its data) learns it.
_SALT = secrets.token_hex(16)
PUBLISH_DIR = STATIC_DIR / "emp" / _SALT
PUBLISH_URL = f"app/static/emp/{_SALT}"
#: Disk the published windows of this process may use; the oldest are deleted beyond it
#: (a browser that still wants one asks, and it is packed again).
MAX_PUBLISHED_BYTES = 256 * 2**20
#: Folders of server processes that have written nothing for this long are removed.
STALE_SECONDS = 24 * 3600

_log = logging.getLogger(__name__)


class _Publisher:
    """Packs windows of half-steps and publishes each as one static file (written once,
    atomically). :meth:`ensure` packs one now; :meth:`queue` leaves it to one background
    daemon thread, in the order asked (packing is pure numpy/Plotly work: no Streamlit call
    happens there, and a server that stops does not wait for it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queued: dict[str, Callable[[], bytes]] = {}  # in the order asked
        self._running: dict[str, threading.Event] = {}
        self._thread: threading.Thread | None = None
        self._swept = False

    def exists(self, name: str) -> bool:
        return (self.folder / name).exists()

    def _write(self, name: str, make: Callable[[], bytes]) -> None:
        path = self.folder / name
        if path.exists():
            return
        blob = make()
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{threading.get_ident()}.tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
        self._trim(keep=path)

    def ensure(self, name: str, make: Callable[[], bytes]) -> None:
        """Publish ``name`` before returning (waiting for the background thread if it is
        packing that very window)."""
        with self._lock:
            self._queued.pop(name, None)
            running = self._running.get(name)
        if running is not None:
            running.wait()
        self._write(name, make)

    def queue(self, name: str, make: Callable[[], bytes]) -> None:
        """Publish ``name`` in the background, unless it exists, is queued or is packing."""
        with self._lock:
            if name in self._queued or name in self._running or self.exists(name):
                return
            self._queued[name] = make
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, daemon=True,
                                                name="em-player-pack")
                self._thread.start()
            self._wake.notify()

    def _work(self) -> None:
        # Background work yields to the learners' own requests: on Linux a thread has its own
        # nice value, and the scheduler then runs it mostly while the page threads wait.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while True:
            with self._lock:
                while not self._queued:
                    self._wake.wait()
                name = next(iter(self._queued))
                make = self._queued.pop(name)
                done = self._running[name] = threading.Event()
            try:
                self._write(name, make)
            except Exception:  # the browser asks again; the page's own run then shows it
                _log.exception("packing %s for the step player failed", name)
            finally:
                with self._lock:
                    self._running.pop(name, None)
                done.set()

    def _trim(self, keep: Path) -> None:
        """Keep this process's folder under MAX_PUBLISHED_BYTES (oldest files go first, never
        ``keep``, the one just written); on the first write, remove the folders of processes
        idle for STALE_SECONDS."""
        if not self._swept:
            self._swept = True
            now = time.time()
            for other in self.folder.parent.iterdir():
                if other != self.folder and other.is_dir() and \
                        now - other.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(other, ignore_errors=True)
        files = [(f.stat().st_mtime, f.stat().st_size, f) for f in self.folder.glob("*.bin")]
        total = sum(size for _, size, _ in files)
        for _, size, f in sorted(files):
            if total <= MAX_PUBLISHED_BYTES:
                break
            if f == keep:
                continue
            f.unlink(missing_ok=True)
            total -= size


_PUBLISHER = _Publisher(PUBLISH_DIR)


def _windows(n: int) -> list[range]:
    return [range(a, min(a + WINDOW, n)) for a in range(0, n, WINDOW)]


def _packer(rows, trace, steps: range) -> Callable[[], bytes]:
    """The job that packs half-steps ``steps`` of the page's rows."""

    def make() -> bytes:
        # Builders get the emcore HalfStep of each position (one E-step each, computed once).
        hs = {s: trace.half_step(s) for s in steps}
        figures = {c.name: (lambda s, b=c.build: b(hs[s]))
                   for row in rows for c in row if c.kind == "chart"}
        texts = {c.name: (lambda s, r=c.render: r(hs[s]))
                 for row in rows for c in row if c.kind == "html"}
        return packer.encode(packer.pack(steps, figures, texts))

    return make


def _file(version: str, w: int) -> str:
    """The file name of window ``w`` of a payload version."""
    return f"{version}-{w}.bin"


def window_path(version: str, w: int) -> Path:
    """The published file of window ``w`` of a payload version (for the tests)."""
    return PUBLISH_DIR / _file(version, w)


def _publish(version: str, rows, trace, s: int, wanted: Sequence[int] = ()) -> None:
    """Window of step ``s`` (and any the browser says it cannot find) now; the rest queued,
    nearest first."""
    wins = _windows(int(trace.n_half_steps))
    now = {s // WINDOW, *(int(w) for w in wanted if 0 <= int(w) < len(wins))}
    for w in sorted(now):
        _PUBLISHER.ensure(_file(version, w), _packer(rows, trace, wins[w]))
    for w in sorted(range(len(wins)), key=lambda w: (abs(w - s // WINDOW), w)):
        if w not in now:
            _PUBLISHER.queue(_file(version, w), _packer(rows, trace, wins[w]))


def _on_step(key: str, n: int) -> None:
    state = st.session_state.get(f"{key}_player") or {}
    s = state.get("step")
    if s is not None:
        st.session_state[f"{key}_step"] = int(np.clip(int(s), 0, n - 1))
        _box(key)["s"] = st.session_state[f"{key}_step"]


def _box(key: str) -> dict:
    return st.session_state.setdefault(f"{key}_step_box", {})


def step_now(key: str) -> Callable[[], int]:
    """A function that returns the half-step the learner last stopped on, readable from any
    thread (a download's deferred data runs outside the page's run), for a part of the page
    that does not rerun when the learner steps."""
    box = _box(key)
    return lambda: int(box.get("s", 0))


def preload() -> None:
    """Start downloading Plotly.js at once (app.py calls this on every page), so that it is
    ready, or nearly, when a step player first needs it."""
    ensure_plotly_js()
    st.html(f'<script>if (!window.Plotly && !document.querySelector("script[data-em-plotly]"))'
            f'{{const s = document.createElement("script"); s.src = "{PLOTLY_URL}"; '
            f's.async = true; s.dataset.emPlotly = "1"; document.head.appendChild(s);}}</script>',
            unsafe_allow_javascript=True)


def _mount(trace, key: str, element_key: str, rows, options: tuple, s: int, extra: dict,
           **callbacks) -> None:
    """Publish the rows' windows (the one of step ``s`` now) and place the component."""
    n = int(trace.n_half_steps)
    version = hashlib.sha1(f"{element_key}|{trace_key(trace)}|{tuple(options)!r}|{WINDOW}"
                           .encode()).hexdigest()[:20]
    rows = tuple(tuple(r) for r in rows)
    cold = not _PUBLISHER.exists(_file(version, s // WINDOW))
    with st.spinner("Preparing this fit's half-steps for the step player (once per fit, for "
                    "everyone on this server)…") if cold else contextlib.nullcontext():
        _publish(version, rows, trace, s)
    meta = [[{"kind": c.kind, "name": c.name, "flex": c.flex,
              **({"height": c.height} if getattr(c, "height", None) else {}),
              **({"minw": c.minw} if c.minw else {}),
              **({"box": True} if getattr(c, "box", False) else {})} for c in row]
            for row in rows]
    result = _COMPONENT(key=element_key,
                        data={"v": version, "base": f"{PUBLISH_URL}/{version}",
                              "window": WINDOW, "step": s, "n": n,
                              "labels": [half_step_label(i) for i in range(n)],
                              "plotly": PLOTLY_URL, "rows": meta, **extra},
                        default={"step": s} if "on_step_change" in callbacks else None,
                        on_need_change=lambda: None, height="content", **callbacks)
    # Windows the browser could not fetch (deleted to save disk, or a background job that
    # failed) are packed again now, in this run, so that an error would show on the page.
    need = getattr(result, "need", None)
    if isinstance(need, dict) and need.get("v") == version:
        _publish(version, rows, trace, s, [w for w in need.get("w", []) if isinstance(w, int)])


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
    _box(key)["s"] = s
    screen.step_anchor()  # the target of the "Skip to the step control" link
    _mount(trace, key, f"{key}_player", rows, options, s,
           {"key": key, "present": screen.presenting()},
           on_step_change=partial(_on_step, key, n))
    urlstate.link_to_step(key)
    urlstate.save_url(key)
    return trace.half_step(s)


def step_view(trace, key: str, name: str, rows: Sequence[Sequence[Chart | Html]],
              options: tuple = ()) -> None:
    """More blocks drawn per half-step, anywhere on the page (in a tab, say), that follow the
    step of the page's player ``key`` **in the browser**: a step the learner takes redraws
    them with the player's own charts, and no rerun is needed for them to be true. Their
    builders, like the player's, depend only on the half-step, the fit and ``options``.

    Parameters
    ----------
    trace : emcore Trace of the player's fit
    key : str
        The page prefix of the :func:`step_player` to follow.
    name : str
        Names this view (part of its element key and of its windows' version).
    rows, options
        As for :func:`step_player`.
    """
    n = int(trace.n_half_steps)
    s = int(np.clip(int(st.session_state.get(f"{key}_step", 0)), 0, n - 1))
    _mount(trace, key, f"{key}_view_{name}", rows, options, s, {"follow": key})


__all__ = ["step_player", "step_view", "step_now", "Chart", "Html", "narration", "proof", "proof_html",
           "ensure_plotly_js", "preload", "PLOTLY_URL", "WINDOW", "window_path"]
