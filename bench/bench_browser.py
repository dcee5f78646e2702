"""Stepping as a learner feels it: key press → page settled in Debian's chromium, per page.

A benchmark, not a test (it is not part of ``make test``). It starts two headless Streamlit
servers on free loopback ports — the app, and the bare peer page ``bench/peer_page.py`` (one
``select_slider`` over 60 steps, one Plotly chart of a 609-point histogram and one curve) —
and drives chromium (Playwright, ``/usr/bin/chromium``, 1280×800) on every page with a step
slider. For each page it measures

* **key press → settled**: the step slider is focused and → is pressed; a MutationObserver on
  ``[data-testid="stMain"]``, installed before the press, records the time of the last change.
  The page has settled when Streamlit's rerun has ended (``data-test-script-state`` left
  "running"; a press that starts no rerun within 1.5 s counts as a client-side step) and
  nothing in stMain has changed for 300 ms; the time reported is key press → last change, so
  the 300 ms of quiet are not counted. Changes inside a ``<canvas>`` are not counted: that is
  fallback content, never drawn (st.dataframe keeps an accessible copy of its cells there). Median and p90 over ``--presses`` presses.
* **server CPU per step**: utime + stime (children included) of the server process, from
  ``/proc/<pid>/stat``, summed over the measured presses and divided by their number.
* **warm load**: the page is opened again in the same browser (a new Streamlit session; the
  first, unmeasured visit computed and cached the fit and filled the browser's HTTP cache);
  navigation start → last change in stMain, settled as above with every Plotly chart drawn
  (the step player's included), the step control on the page and no element still showing
  Streamlit's loading skeleton (an element whose code has not arrived: before this check, a
  page could count as settled in a quiet moment before its player and charts appeared).
  Median over ``--loads`` loads (not for Your data, whose fit needs an upload first).

The first row measures the peer page itself served as one more page of the app (app.py adds
it when the server runs with ``EM_BENCH_PEER_PAGE=1``, which this benchmark sets for the app's
server only): opened at its page URL, in the app's sidebar, notation and page-wide scripts.
Its ratios are what the app's shell costs any page, before the page's own content. (While
the benchmark runs, the app's page list in the sidebar shows this one more page.)

The peer is measured the same way, interleaved with each page (peer press, page press, peer
press, ...; the same for loads), and each page's numbers are printed as ratios to the peer
samples taken alongside it: the machine is shared, so only such ratios mean much. The peer
row pools all its samples. The load average before and after is printed too. Run it twice
and report both.

Run: ``.venv/bin/python bench/bench_browser.py [--presses 15] [--loads 3] [--pages hp,blobs]
[--root /path/to/another/checkout] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from app import BENCH_PEER_ENV, BENCH_PEER_PATH  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, StreamlitServer  # noqa: E402

QUIET_MS = 300
NO_RUN_MS = 1500      # a press that starts no rerun within this long is a client-side step
TIMEOUT_MS = 180_000

#: name, URL path, how to prepare a session before stepping (None or an example upload)
PAGES = [
    ("peer page in the app's shell", BENCH_PEER_PATH, None),
    ("house prices", "house_prices", None),
    ("2-D blobs", "blobs_2d", None),
    ("baskets", "baskets", None),
    ("Why EM works", "why_em_works", None),
    ("Handwritten digits", "digits", None),
    ("Your data (Old Faithful example)", "your_data", "faithful"),
]
PEER = "peer: one slider, one chart (all pairings)"
SHORT = {"shell": BENCH_PEER_PATH, "hp": "house_prices", "blobs": "blobs_2d", "baskets": "baskets", "why": "why_em_works",
         "digits": "digits", "yd": "your_data"}

# Installed in every document before its scripts run: watches stMain and the script state.
_INIT_JS = """
(() => {
  const b = window.__bench = {last: performance.now(), t0: null, runSeen: false, armed: false};
  document.addEventListener('keydown', () => {
    if (b.armed && b.t0 === null) b.t0 = performance.now();
  }, true);
  const install = () => {
    const main = document.querySelector('[data-testid="stMain"]');
    const app = document.querySelector('[data-testid="stApp"]');
    if (!main || !app) { setTimeout(install, 10); return; }
    // A change inside a <canvas> is fallback content, never drawn (st.dataframe keeps an
    // accessible copy of its cells there): it is not a change a learner sees.
    const seen = (r) => {
      const n = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (!n) return true;
      if (r.type === 'attributes' && n.tagName === 'CANVAS') return true;  // its size, its place
      return !n.closest('canvas');
    };
    new MutationObserver((records) => { if (records.some(seen)) b.last = performance.now(); })
      .observe(main, {subtree: true, childList: true, attributes: true, characterData: true});
    const seeRun = (state) => { if (state === 'running') b.runSeen = true; };
    seeRun(app.getAttribute('data-test-script-state'));
    new MutationObserver((records) => {
      for (const r of records) { seeRun(r.oldValue); seeRun(app.getAttribute(r.attributeName)); }
    }).observe(app, {attributes: true, attributeOldValue: true,
                     attributeFilter: ['data-test-script-state']});
  };
  install();
})();
"""

# Settled: the run is over (or none started), charts drawn (the step player's too: a page
# whose main thread is busy compiling Plotly.js is quiet, not settled), and stMain quiet for
# QUIET_MS.
_SETTLED_JS = """([quiet, noRun, needRun, needStep]) => {
  const b = window.__bench; if (!b) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') === 'running') return false;
  const now = performance.now();
  const start = b.t0 === null ? 0 : b.t0;
  if (needRun && !b.runSeen && now - start < noRun) return false;
  if (document.querySelector('[data-testid="stException"]')) return true;
  // an element whose code is still loading shows a skeleton (a step player, a chart): the page
  // is not there yet, however quiet it is
  if (document.querySelector('[data-testid="stMain"] [data-testid="stSkeleton"]')) return false;
  if (needStep && !document.querySelector('[data-testid="stMain"] [aria-label="Step"]')) return false;
  // every chart on screen is drawn (a step player draws its charts off screen when they come near)
  const onScreen = (e) => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.top < window.innerHeight; };
  const plots = [...document.querySelectorAll('.js-plotly-plot, .emp-cell > .emp-chart')].filter(onScreen);
  if (!plots.every(gd => gd._fullLayout !== undefined && !gd.classList.contains('emp-stale'))) return false;
  if (document.querySelector('.emp-wait')) return false;
  return now - b.last >= quiet;
}"""


class Server(StreamlitServer):
    """``streamlit run <script>`` in ``cwd`` on a free loopback port (stopped by its own PID),
    with the server's CPU time read from /proc."""

    def cpu_seconds(self) -> float:
        """utime + stime + cutime + cstime of the server, in seconds."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(v) for v in fields[11:15])  # fields 14-17 of stat(5)
        return ticks / os.sysconf("SC_CLK_TCK")


def _settle(pg, need_run: bool, need_step: bool = True) -> None:
    pg.wait_for_function(_SETTLED_JS, arg=[QUIET_MS, NO_RUN_MS, need_run, need_step],
                         timeout=TIMEOUT_MS, polling=25)
    exc = pg.locator('[data-testid="stException"]')
    if exc.count():
        raise RuntimeError("exception on page: " + exc.first.inner_text()[:400])


def _new_page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(_INIT_JS)
    return context, context.new_page()


def _load(pg, url: str, need_step: bool = True) -> float:
    """Open ``url`` and wait until settled (with its step control drawn, if ``need_step``);
    seconds from navigation start to the last change."""
    pg.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    pg.wait_for_function("() => window.__bench && window.__bench.runSeen", timeout=TIMEOUT_MS,
                         polling=25)
    _settle(pg, need_run=True, need_step=need_step)
    return pg.evaluate("() => window.__bench.last") / 1000


def _prepare(pg, prep: str | None) -> None:
    """Bring a fresh session to a page state with a step slider (e.g. upload an example)."""
    if prep is None:
        return
    import emdata

    pg.evaluate("() => { window.__bench.runSeen = false; window.__bench.t0 = performance.now(); }")
    pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": f"{prep}.csv", "mimeType": "text/csv", "buffer": emdata.example_csv(prep)})
    pg.get_by_role("slider", name="Step").wait_for(timeout=TIMEOUT_MS)
    _settle(pg, need_run=True)


def _slider(pg):
    return pg.get_by_role("slider", name="Step").first


def _at_end(slider) -> bool:
    now, top = slider.get_attribute("aria-valuenow"), slider.get_attribute("aria-valuemax")
    return now is not None and top is not None and float(now) >= float(top)


def _press(pg, key: str) -> float:
    """Press ``key`` on the focused step slider; seconds from key press to the last change."""
    slider = _slider(pg)
    slider.focus()
    pg.evaluate("() => { const b = window.__bench; b.t0 = null; b.runSeen = false; "
                "b.armed = true; }")
    pg.keyboard.press(key)
    _settle(pg, need_run=True)
    dt = pg.evaluate("() => { const b = window.__bench; b.armed = false; "
                     "return b.t0 === null ? null : Math.max(b.last - b.t0, 0); }")
    if dt is None:
        raise RuntimeError("the key press was not seen by the page")
    return dt / 1000


class Session:
    """One browser tab on one server's page: loads it, prepares it, steps it."""

    def __init__(self, browser, server: Server, path: str, prep: str | None) -> None:
        self.server, self.url, self.prep = server, f"{server.url}/{path}", prep
        self.context, self.pg = _new_page(browser)
        self.times: list[float] = []
        self.loads: list[float] = []
        self.cpu = 0.0

    def load(self, record: bool) -> None:
        t = _load(self.pg, self.url, need_step=self.prep is None)
        _prepare(self.pg, self.prep)
        if record and self.prep is None:
            self.loads.append(t)

    def step(self) -> None:
        if _at_end(_slider(self.pg)):
            _press(self.pg, "Home")  # back to θ₀, not measured
        c0 = self.server.cpu_seconds()
        self.times.append(_press(self.pg, "ArrowRight"))
        self.cpu += self.server.cpu_seconds() - c0

    def result(self) -> dict:
        self.context.close()
        return summary(self.times, self.loads, self.cpu)


def summary(times: list[float], loads: list[float], cpu: float) -> dict:
    q = statistics.quantiles(times, n=10, method="inclusive")
    return {"median": statistics.median(times), "p90": q[-1], "cpu": cpu / len(times),
            "warm": statistics.median(loads) if loads else None, "times": times,
            "loads": loads, "cpu_total": cpu}


def measure_pair(browser, peer: Server, app: Server, path: str, prep: str | None,
                 presses: int, loads: int) -> tuple[dict, dict]:
    """Measure the peer and one app page *interleaved* (load, load, press, press, ...), so
    that both see the same machine load; returns (peer result, page result)."""
    sessions = [Session(browser, peer, "", None), Session(browser, app, path, prep)]
    for ses in sessions:  # first, unmeasured visits: cache the fit, fill the browser's cache
        ses.load(record=False)
    for _ in range(max(loads, 1)):  # each load is a new document: a new Streamlit session
        for ses in sessions:
            ses.load(record=True)
    for _ in range(presses):
        for ses in sessions:
            ses.step()
    return sessions[0].result(), sessions[1].result()


def pooled(results: list[dict]) -> dict:
    """The peer's samples from every pairing, as one result."""
    return summary([t for r in results for t in r["times"]],
                   [t for r in results for t in r["loads"]],
                   sum(r["cpu_total"] for r in results))


def _ratio(a, b) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}×"


def _fmt(v, unit="s") -> str:
    if v is None:
        return "—"
    return f"{1000 * v:.0f} ms" if unit == "ms" else f"{v:.2f} s"


def table(results: dict, peers: dict) -> str:
    """Markdown table; each page's ratios are to the peer samples taken alongside it."""
    head = ("| page | key press → settled, median (p90) | × peer | server CPU per step | × peer "
            "| warm load | × peer |\n|---|---|---|---|---|---|---|")
    rows = [head]
    for name, r in results.items():
        peer = peers.get(name, r)
        rows.append(
            f"| {name} | {_fmt(r['median'])} ({_fmt(r['p90'])}) | {_ratio(r['median'], peer['median'])} "
            f"| {_fmt(r['cpu'], 'ms')} | {_ratio(r['cpu'], peer['cpu'])} "
            f"| {_fmt(r['warm'])} | {_ratio(r['warm'], peer['warm'])} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presses", type=int, default=15, help="measured → presses per page")
    ap.add_argument("--loads", type=int, default=3, help="measured warm loads per page")
    ap.add_argument("--pages", default="", help="comma list of " + ",".join(SHORT))
    ap.add_argument("--root", default=str(ROOT), help="checkout whose app.py is measured")
    ap.add_argument("--json", default="", help="also write the raw results here")
    args = ap.parse_args(argv)
    wanted = {SHORT.get(p.strip(), p.strip()) for p in args.pages.split(",") if p.strip()}
    pages = [p for p in PAGES if not wanted or p[1] in wanted]

    from playwright.sync_api import sync_playwright

    if BENCH_PEER_ENV not in (Path(args.root) / "app.py").read_text(encoding="utf-8"):
        pages = [p for p in pages if p[1] != BENCH_PEER_PATH]  # a checkout without the hook

    load_before = os.getloadavg()
    app = Server("app.py", Path(args.root), env={BENCH_PEER_ENV: "1"})  # serves the peer too
    peer = Server(str(HERE / "peer_page.py"), HERE)
    results, peers = {}, {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, path, prep in pages:
                print(f"… {name}", file=sys.stderr, flush=True)
                peers[name], results[name] = measure_pair(browser, peer, app, path, prep,
                                                          args.presses, args.loads)
            browser.close()
    finally:
        app.stop()
        peer.stop()
    load_after = os.getloadavg()
    print(f"\nbench_browser: {args.presses} presses, {args.loads} warm loads per page; "
          f"app from {args.root}; chromium {VIEWPORT['width']}×{VIEWPORT['height']}")
    everything = {PEER: pooled(list(peers.values())), **results}
    print(table(everything, peers))
    print(f"\nload average before: {load_before[0]:.2f} {load_before[1]:.2f}; "
          f"after: {load_after[0]:.2f} {load_after[1]:.2f} (2 cores)")
    if args.json:
        Path(args.json).write_text(json.dumps({"pages": results, "peer": peers}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
