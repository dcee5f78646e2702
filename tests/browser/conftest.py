"""Real-browser fixtures: one Streamlit server per test session, Debian's chromium via Playwright.

The tests skip when /usr/bin/chromium is missing on a developer machine, and FAIL in CI
(environment variable ``CI`` set), where ``.ci/run`` installs chromium first.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}  # the projector size the design asks for


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    message = f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + " — CI must run the browser tests")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """A headless ``streamlit run app.py`` on a free loopback port."""

    def __init__(self, script: str = "app.py", cwd: Path = ROOT, env: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (ROOT / "artifacts").mkdir(exist_ok=True)
        self.log = open(ROOT / "artifacts" / f"streamlit-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", script,
                "--server.headless", "true",
                "--server.address", "127.0.0.1",
                "--server.port", str(self.port),
                "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none",
            ],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not become healthy within 60 s")

    def rss_mb(self) -> float:
        """Resident memory of the server process in MB (from /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM a process we started (by its own handle), SIGKILL if it has not gone in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def app_server():
    _require_chromium()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    server = StreamlitServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (own Streamlit session) at 1280×800."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))  # type: ignore[attr-defined]
    yield pg
    context.close()


def wait_for_app(pg, timeout: float = 60_000) -> None:
    """Wait until Streamlit has connected, run the script and finished rendering.

    Streamlit marks its root element with ``data-test-script-state`` ("initial", "running",
    "notRunning", ...); we wait for "notRunning" and then for Plotly charts to be drawn.
    """
    pg.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout
    )
    pg.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')]
                   .every(gd => gd._fullLayout !== undefined)""",
        timeout=timeout,
    )
    pg.wait_for_timeout(200)


def wait_for_rerun(pg, action, timeout: float = 60_000) -> None:
    """Run ``action()`` (a click, a key press) and wait for the rerun it triggers to finish.

    A MutationObserver, installed before the action, notes when the app switches to
    "running", so a rerun that starts late (busy machine) or ends before we look is not
    missed; if none starts within 10 s the action is taken not to rerun.
    """
    pg.evaluate(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   window.__stRunStarted = false;
                   if (window.__stRunObserver) window.__stRunObserver.disconnect();
                   window.__stRunObserver = new MutationObserver(() => {
                     if (app.getAttribute('data-test-script-state') === 'running')
                       window.__stRunStarted = true; });
                   window.__stRunObserver.observe(app, {attributes: true,
                     attributeFilter: ['data-test-script-state']}); }"""
    )
    action()
    try:
        pg.wait_for_function("() => window.__stRunStarted === true", timeout=10_000)
    except Exception:  # no rerun started: nothing to wait for
        pass
    wait_for_app(pg, timeout)


def open_page(pg, server: StreamlitServer, path: str = "", timeout: float = 60_000) -> None:
    """Open ``server.url/path`` and wait for the app to settle."""
    pg.goto(f"{server.url}/{path}", wait_until="domcontentloaded", timeout=timeout)
    wait_for_app(pg, timeout)


def screenshot(pg, name: str, full_page: bool = True) -> Path:
    """Save ``artifacts/screenshots/<name>.png``.

    Streamlit scrolls inside its main container, not the document, so a "full page" shot
    temporarily grows the viewport to the height of the content (capped at 6000 px), and
    waits for the step player's charts that come on screen to be drawn.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = pg.viewport_size
    if full_page and size:
        height = pg.evaluate(
            """() => { const m = document.querySelector('[data-testid="stMain"]');
                       return m ? m.scrollHeight : document.body.scrollHeight; }"""
        )
        pg.set_viewport_size({"width": size["width"], "height": int(min(max(height, 400), 6000))})
        pg.wait_for_timeout(500)
        # the step player's charts that waited off screen are on screen now: let them draw
        pg.wait_for_function(
            """() => [...document.querySelectorAll('.emp-stale')].every(e => {
                       const r = e.getBoundingClientRect();
                       return r.width === 0 || r.top > window.innerHeight; })""",
            timeout=15_000)
    pg.screenshot(path=str(path))
    if full_page and size:
        pg.set_viewport_size(size)
    return path


def assert_no_exception(pg) -> None:
    """No Streamlit exception element and no uncaught page error."""
    assert pg.locator('[data-testid="stException"]').count() == 0, "exception shown on page"
    assert not pg.console_errors, pg.console_errors  # type: ignore[attr-defined]


#: Charts on the page: drawn ones, and a step player's charts that wait off screen to be drawn
#: when they come near it.
CHARTS = ".js-plotly-plot, .emp-chart.emp-stale:not(.js-plotly-plot)"


def plot_count(pg) -> int:
    return pg.locator(CHARTS).count()
