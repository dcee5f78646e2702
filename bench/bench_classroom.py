"""Classroom load test: N learners on one Streamlit server, each pressing → every 2 s.

Not part of `make test`. It starts ``streamlit run app.py`` on a free loopback port (or
uses ``--url``/``--pid`` of a server you started), then ramps up simulated learners. Every
learner has its own Streamlit session: it opens the 1-D house-prices page and, every
``--interval`` seconds, moves the page's "Step" slider one half-step forward (at the last
half-step it turns round and steps back, as a learner scrubbing back and forth would). The
learners are added in steps (N = 1, then 10, then 30 by default); each level is measured
for ``--duration`` seconds, and the learners of the previous levels keep pressing.

How a learner is simulated, and why: a learner is a WebSocket client that speaks Streamlit's
own protocol (the ``BackMsg``/``ForwardMsg`` protobuf messages of ``streamlit.proto``, over
``/_stcore/stream``), not a chromium page. Thirty chromium pages, each redrawing five
Plotly charts per press, would need more CPU than this 2-core machine has and would starve
the server being measured; a protocol client costs a few milliseconds per press. It does
what the browser does on the wire: it asks for the page, sends the slider's new value in a
rerun request (with the fragment id when the slider lives in an ``st.fragment``), keeps the
cacheable messages it received and sends their hashes back (so that unchanged elements come
back as references, as for a browser, and it reads a reference as the element it names;
it keeps them all, where a browser forgets those unused for two runs, so it may be sent a
few references a browser would get in full), and waits for ``script_finished``.

What is timed, per press: **rerun round trip** = from sending the new slider value to
receiving the ``script_finished`` message of that rerun (every delta of the rerun has
arrived by then). The browser's own drawing time is not included; ``bench_browser.py``
measures that for a single learner (key press → page settled).

A learner waits for the answer to its press before the next one (a learner looks at the
page before pressing again): if an answer takes longer than the interval, the next press
goes out as soon as it arrives, and the press is counted as late.

Printed per level: p50 / p95 / max of the round trip, the server's CPU (cores used, and
CPU-seconds per press, from ``/proc/<pid>/stat``), the server's RSS before and after, the
number of presses and of late presses, and the errors seen (an ``st.exception`` element, a
script that did not finish, a dropped connection, a step that did not move). At the end:
memory per session (RSS growth between the first and the last level, divided by the
learners added) and **learners per core with p95 < 1 s**: the largest level whose p95 is
under 1 s, divided by the cores the server used at that level (at least 1: a Streamlit
server runs every session's script in threads of one Python process, so one server
process uses about one core however many the machine has; a machine with more cores runs
one replica per core behind a load balancer, see deploy/README.md).
On a machine shared with other work the server gets less than a core and the measured
capacity is a lower bound; two CPU-based figures are printed beside it: the ceiling
(interval / CPU-seconds per press: a core 100 % busy) and an estimate for one dedicated
core (an M/M/1 queue with the measured CPU per press, see ``dedicated_core_estimate``).
``--bisect K`` measures up to K more levels between the last level under 1 s and the first
one over it, so that the capacity is measured rather than extrapolated.

Run:  ``.venv/bin/python bench/bench_classroom.py [--ns 1,10,30] [--duration 40]``
Exit status 1 if any session saw an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

P95_BUDGET = 1.0  # s: "learners per core" counts the levels whose p95 is under this


# ----------------------------------------------------------------------------------------------
# the server: CPU and memory from /proc
# ----------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between order statistics."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# ----------------------------------------------------------------------------------------------
# one learner: a Streamlit session driven over the WebSocket protocol
# ----------------------------------------------------------------------------------------------


class SessionError(RuntimeError):
    """Something a learner would have seen as an error."""


@dataclass
class Learner:
    """One simulated learner (one WebSocket, one Streamlit session)."""

    index: int
    ws_url: str
    page: str
    slider_label: str = "Step"
    timeout: float = 60.0
    ws: object = None
    slider_id: str | None = None
    options: list[str] = field(default_factory=list)
    position: int = 0
    direction: int = 1
    fragment_id: str = ""
    player: bool = False
    cached: dict = field(default_factory=dict)       # hash → cacheable ForwardMsg received
    windows: set[str] = field(default_factory=set)   # step-player windows on the page
    fetched: set[str] = field(default_factory=set)   # ... already fetched (browser cache)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    late: int = 0
    load_time: float = float("nan")

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"],
                                           max_size=None, open_timeout=self.timeout)
        t0 = time.perf_counter()
        await self._rerun(widgets=[], fragment_id="")
        await self._fetch_windows()
        self.load_time = time.perf_counter() - t0
        if self.slider_id is None:
            raise SessionError(f"learner {self.index}: no {self.slider_label!r} slider on "
                               f"the page {self.page!r}")

    async def _fetch_windows(self) -> None:
        """GET the step player's windows the page named, once each (as a browser does, whose
        HTTP cache then keeps them); the static files cost the server a little CPU too."""
        root = self.ws_url.replace("ws://", "http://", 1).split("/_stcore/")[0] + "/"
        for rel in sorted(self.windows - self.fetched):
            await asyncio.to_thread(self._get, root + rel)
            self.fetched.add(rel)

    def _get(self, url: str) -> None:
        import urllib.error
        import urllib.request

        for _ in range(600):  # 404 while the server's background thread packs it
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as r:
                    r.read()
                    return
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
                time.sleep(0.1)
        raise SessionError(f"learner {self.index}: {url} never appeared")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def press(self) -> float:
        """Move the step slider one half-step (turning round at either end); return the
        rerun round trip in seconds."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        n = len(self.options)
        if n < 2:
            raise SessionError(f"learner {self.index}: the step slider has {n} option(s)")
        if not 0 <= self.position + self.direction < n:
            self.direction = -self.direction
        target = self.position + self.direction
        state = WidgetState(id=self.slider_id)
        if self.player:
            # the step player draws each press in the browser; the server hears of the step
            # the learner stops on (here: every press, the most a learner can cost it)
            state.json_value = json.dumps({"step": target})
        else:
            state.string_array_value.data.append(self.options[target])
        t0 = time.perf_counter()
        await self._rerun(widgets=[state], fragment_id=self.fragment_id)
        dt = time.perf_counter() - t0
        await self._fetch_windows()  # a view opened by the rerun (not timed)
        if self.position != target:
            raise SessionError(f"learner {self.index}: asked for half-step {target}, the page "
                               f"shows {self.position}")
        return dt

    async def _rerun(self, widgets, fragment_id: str) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        rs = msg.rerun_script
        rs.page_name = self.page
        rs.query_string = ""
        rs.widget_states.SetInParent()
        for w in widgets:
            rs.widget_states.widgets.append(w)
        if fragment_id:
            rs.fragment_id = fragment_id
        rs.cached_message_hashes.extend(sorted(self.cached))
        await self.ws.send(msg.SerializeToString())
        await self._read_until_finished()

    async def _read_until_finished(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        finished_ok = {ForwardMsg.FINISHED_SUCCESSFULLY,
                       ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
        while True:
            try:
                data = await asyncio.wait_for(self.ws.recv(), self.timeout)
            except TimeoutError as exc:
                raise SessionError(f"learner {self.index}: no answer within "
                                   f"{self.timeout:.0f} s") from exc
            m = ForwardMsg()
            m.ParseFromString(data)
            kind = m.WhichOneof("type")
            if m.metadata.cacheable and m.hash:
                self.cached[m.hash] = m
            if kind == "ref_hash":
                # an element this learner was sent before (the server sends its hash only, as
                # to a browser, which takes the element from its own cache)
                if m.ref_hash not in self.cached:
                    raise SessionError(f"learner {self.index}: a reference to a message it "
                                       "was never sent")
                m = self.cached[m.ref_hash]
                kind = m.WhichOneof("type")
            if kind == "delta":
                self._on_delta(m)
            elif kind == "page_not_found":
                raise SessionError(f"learner {self.index}: page {self.page!r} not found")
            elif kind == "session_event" and m.session_event.WhichOneof("type") in (
                    "script_compilation_exception", "script_changed_on_disk"):
                raise SessionError(f"learner {self.index}: {m.session_event}")
            elif kind == "script_finished":
                if m.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # a newer run follows (not expected: one press at a time)
                if m.script_finished not in finished_ok:
                    raise SessionError(f"learner {self.index}: script finished with status "
                                       f"{m.script_finished}")
                return

    def _on_delta(self, m) -> None:
        delta = m.delta
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        etype = el.WhichOneof("type")
        if etype == "exception":
            self.errors.append(f"exception: {el.exception.type}: {el.exception.message}")
        elif etype == "alert" and el.alert.format == el.alert.ERROR:
            self.errors.append(f"error box: {el.alert.body[:120]}")
        elif etype == "bidi_component" and el.bidi_component.component_name == "em_step_player":
            data = json.loads(el.bidi_component.json)
            # the browser fetches every window of half-steps of the player and of its views
            self.windows.update(f"{data['base']}-{w}.bin"
                                for w in range(-(-int(data["n"]) // int(data["window"]))))
            if data.get("follow"):
                return  # a view that follows the player: no control of its own
            self.player = True
            self.slider_id = el.bidi_component.id
            self.options = [str(i) for i in range(int(data["n"]))]
            self.position = int(data["step"])
            self.fragment_id = delta.fragment_id
        elif etype == "slider" and el.slider.label == self.slider_label:
            sl = el.slider
            self.slider_id = sl.id
            self.options = list(sl.options)
            # the value set from Python (session state) comes as the formatted option in
            # raw_value; otherwise value / default hold the option's index
            if sl.set_value and sl.raw_value and sl.raw_value[0] in self.options:
                self.position = self.options.index(sl.raw_value[0])
            else:
                values = list(sl.value) if sl.set_value and sl.value else list(sl.default)
                self.position = int(values[0]) if values else 0
            self.fragment_id = delta.fragment_id


# ----------------------------------------------------------------------------------------------
# a level of the ramp: N learners pressing every `interval` seconds for `duration` seconds
# ----------------------------------------------------------------------------------------------


@dataclass
class Level:
    n: int
    latencies: list[float]
    presses: int
    late: int
    cpu_s: float
    wall_s: float
    rss_before: float
    rss_after: float
    load_before: float
    load_after: float
    client_cpu_s: float
    errors: list[str]
    load_times: list[float]

    @property
    def cores(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def cpu_per_press(self) -> float:
        return self.cpu_s / self.presses if self.presses else float("nan")

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 95)


async def _learner_loop(learner: Learner, start: float, end: float, interval: float,
                        out: list[float], rng: random.Random) -> int:
    """Press every ``interval`` s (a random phase per learner) from ``start`` until ``end``;
    append round trips to ``out``; return the number of late presses."""
    late = 0
    next_press = start + rng.uniform(0, interval)
    while True:
        now = time.perf_counter()
        if next_press >= end:
            return late
        if next_press > now:
            await asyncio.sleep(next_press - now)
        elif now - next_press > 0.05:
            late += 1
        try:
            out.append(await learner.press())
        except SessionError as err:
            learner.errors.append(str(err))
            return late
        next_press += interval
        while next_press < time.perf_counter() - interval:  # skip presses that a slow
            next_press += interval                           # answer made impossible


async def _connect_all(learners: list[Learner], parallel: int = 4) -> None:
    sem = asyncio.Semaphore(parallel)

    async def one(lr: Learner) -> None:
        async with sem:
            try:
                await lr.connect()
            except (SessionError, OSError) as err:
                lr.errors.append(f"connect: {err}")

    await asyncio.gather(*(one(lr) for lr in learners))


async def run_level(learners: list[Learner], new: list[Learner], pid: int, duration: float,
                    interval: float, seed: int) -> Level:
    seen = [len(lr.errors) for lr in learners]
    await _connect_all(new)
    active = [lr for lr in learners if not lr.errors]
    # one untimed press each, so that every learner has started its first step
    await asyncio.gather(*(lr.press() for lr in new if not lr.errors), return_exceptions=True)
    rss0, cpu0, load0 = rss_mb(pid), cpu_seconds(pid), os.getloadavg()[0]
    client0 = time.process_time()
    t0 = time.perf_counter()
    end = t0 + duration
    rng = random.Random(seed)
    per_learner = [[] for _ in active]
    lates = await asyncio.gather(*(
        _learner_loop(lr, t0, end, interval, out, rng) for lr, out in zip(active, per_learner,
                                                                          strict=True)))
    wall = time.perf_counter() - t0
    cpu1, rss1, load1 = cpu_seconds(pid), rss_mb(pid), os.getloadavg()[0]
    lat = [x for out in per_learner for x in out]
    for lr, out in zip(active, per_learner, strict=True):
        lr.latencies.extend(out)
    errors = [e for lr, k in zip(learners, seen, strict=True) for e in lr.errors[k:]]
    return Level(n=len(learners), latencies=lat, presses=len(lat), late=sum(lates),
                 cpu_s=cpu1 - cpu0, wall_s=wall, rss_before=rss0, rss_after=rss1,
                 load_before=load0, load_after=load1,
                 client_cpu_s=time.process_time() - client0, errors=errors,
                 load_times=[lr.load_time for lr in new])


# ----------------------------------------------------------------------------------------------
# the whole ramp and its summary
# ----------------------------------------------------------------------------------------------


def capacity(levels: list[Level]) -> tuple[int, float, float] | None:
    """(N, cores, learners per core) for the largest level with p95 < budget and no error,
    or None. Cores are counted as at least 1 (one server process holds about one core)."""
    ok = [lv for lv in levels if lv.p95 < P95_BUDGET and not lv.errors and lv.presses]
    if not ok:
        return None
    best = max(ok, key=lambda lv: lv.n)
    cores = max(1.0, best.cores)
    return best.n, best.cores, best.n / cores


def dedicated_core_estimate(cpu_per_press: float, interval: float,
                            budget: float = P95_BUDGET) -> float:
    """Learners one otherwise idle core holds with p95 < ``budget``, if each press costs
    ``cpu_per_press`` seconds of CPU and comes every ``interval`` seconds.

    Model: an M/M/1 queue (its response time is exponential with mean s / (1 − ρ), so its
    95th percentile is ln(20) · s / (1 − ρ)), with ρ = N · s / interval. Solving
    ln(20) · s / (1 − ρ) < budget for N gives N < (interval / s) · (1 − ln(20) · s / budget).
    """
    import math

    s = cpu_per_press
    return max(0.0, interval / s * (1 - math.log(20) * s / budget))


def memory_per_session(levels: list[Level]) -> float | None:
    """RSS growth per added learner between the end of the first and of the last level (the
    first learner pays the imports, the data and the fit; later ones only their session)."""
    if len(levels) < 2 or levels[-1].n == levels[0].n:
        return None
    return (levels[-1].rss_after - levels[0].rss_after) / (levels[-1].n - levels[0].n)


def print_level(lv: Level) -> None:
    lt = [x for x in lv.load_times if x == x]
    print(f"N={lv.n:3d}  presses {lv.presses:4d} (late {lv.late:3d})  round trip p50 "
          f"{lv.p50 * 1000:6.0f} ms  p95 {lv.p95 * 1000:6.0f} ms  max "
          f"{max(lv.latencies, default=float('nan')) * 1000:6.0f} ms  | server CPU "
          f"{lv.cores:4.2f} cores, {lv.cpu_per_press * 1000:5.0f} ms/press  | RSS "
          f"{lv.rss_before:5.0f} → {lv.rss_after:5.0f} MB  | load avg {lv.load_before:.2f} → "
          f"{lv.load_after:.2f}  | bench client CPU {lv.client_cpu_s / lv.wall_s:4.2f} cores"
          + (f"  | page load of the new learners: median {statistics.median(lt):.2f} s"
             if lt else ""), flush=True)
    for e in lv.errors[:5]:
        print(f"    error: {e}")
    if len(lv.errors) > 5:
        print(f"    … {len(lv.errors) - 5} more errors")


async def ramp(ws_url: str, pid: int, page: str, ns: list[int], duration: float,
               interval: float, bisect: int, seed: int) -> tuple[list[Level], list[Level]]:
    """Measure the levels ``ns`` (learners are only added), then up to ``bisect`` levels
    between the last one under the budget and the first one over it (surplus learners
    disconnect). Returns (ramp levels, bisection levels)."""
    learners: list[Learner] = []
    levels: list[Level] = []
    extra: list[Level] = []

    async def level(n: int, into: list[Level]) -> None:
        while len(learners) > n:  # a bisection level below the current count
            await learners.pop().close()
        new = [Learner(len(learners) + i, ws_url, page) for i in range(n - len(learners))]
        learners.extend(new)
        lv = await run_level(learners, new, pid, duration, interval, seed + n)
        print_level(lv)
        into.append(lv)

    for n in ns:
        await level(n, levels)
    for _ in range(bisect):
        done = levels + extra
        under = [lv.n for lv in done if lv.p95 < P95_BUDGET and not lv.errors]
        if not under:
            break
        lo = max(under)
        hi = min([lv.n for lv in done if lv.n > lo], default=None)
        if hi is None or hi - lo < 2:
            break
        print(f"bisection: {lo} learners held p95 < {P95_BUDGET:.0f} s, {hi} did not",
              flush=True)
        await level((lo + hi) // 2, extra)
    for lr in learners:
        await lr.close()
    return levels, extra


def summary(levels: list[Level], extra: list[Level], ncpu: int, interval: float) -> None:
    print()
    per = memory_per_session(levels)
    if per is not None:
        print(f"memory per session: {per:.1f} MB (RSS growth from N={levels[0].n} to "
              f"N={levels[-1].n}, divided by the {levels[-1].n - levels[0].n} learners added)")
    cap = capacity(levels + extra)
    if cap is None:
        print(f"learners per core with p95 < {P95_BUDGET:.0f} s: none of the levels "
              "measured stayed under it")
    else:
        n, cores, per_core = cap
        print(f"learners per core with p95 < {P95_BUDGET:.0f} s: {per_core:.0f} "
              f"(N = {n} learners pressing every few seconds held p95 < {P95_BUDGET:.0f} s "
              f"while the server used {cores:.2f} cores; counted as ≥ 1 core, on a "
              f"{ncpu}-core machine)")
    done = [lv for lv in levels + extra if lv.presses]
    if done:
        cpu = statistics.median(lv.cpu_per_press for lv in done)
        print(f"CPU ceiling: {cpu * 1000:.0f} ms of server CPU per press (median over the "
              f"levels), so one core fully busy serves at most {interval / cpu:.0f} learners "
              f"pressing every {interval:g} s; p95 < {P95_BUDGET:.0f} s needs headroom below "
              f"that, and a machine shared with other work (load average above) gives the "
              f"server less than a core")
        est = dedicated_core_estimate(cpu, interval)
        print(f"estimate for one dedicated core: {est:.0f} learners with p95 < "
              f"{P95_BUDGET:.0f} s (an M/M/1 queue with {cpu * 1000:.0f} ms per press, whose "
              f"p95 wait is ln(20)·s/(1 − ρ); conservative, since real presses come more "
              f"regularly than at random)")
    errors = {e for lv in levels + extra for e in lv.errors}
    print(f"errors seen by any session: {len(errors)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ns", default="1,10,30",
                    help="learner counts, in rising order (default 1,10,30)")
    ap.add_argument("--duration", type=float, default=40.0,
                    help="seconds measured at each level (default 40)")
    ap.add_argument("--interval", type=float, default=2.0,
                    help="seconds between a learner's presses (default 2)")
    ap.add_argument("--page", default="house_prices", help="URL path of the page")
    ap.add_argument("--bisect", type=int, default=2,
                    help="extra levels between the last one with p95 under 1 s and the first "
                         "one over it (default 2; 0 to skip)")
    ap.add_argument("--url", default=None,
                    help="an already running server (http://127.0.0.1:PORT); needs --pid")
    ap.add_argument("--pid", type=int, default=None, help="that server's process id")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ns = sorted({int(v) for v in args.ns.split(",") if v.strip()})
    if not ns or ns[0] < 1 or ns[-1] > 200:
        ap.error("--ns takes learner counts between 1 and 200")
    if args.duration <= 0 or args.duration > 600:
        ap.error("--duration must be in (0, 600] seconds")

    server = None
    if args.url:
        if args.pid is None:
            ap.error("--url needs --pid (the server's CPU and memory are read from /proc)")
        url, pid = args.url.rstrip("/"), args.pid
    else:
        from tests.browser.conftest import StreamlitServer

        (ROOT / "artifacts").mkdir(exist_ok=True)
        server = StreamlitServer()
        url, pid = server.url, server.proc.pid
    host = url.split("://", 1)[1]
    ws_url = f"ws://{host}/_stcore/stream"
    ncpu = os.cpu_count() or 1
    print(f"server {url} (pid {pid}), page {args.page!r}; learners press every "
          f"{args.interval:g} s for {args.duration:g} s per level; {ncpu} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    try:
        levels, extra = asyncio.run(ramp(ws_url, pid, args.page, ns, args.duration, args.interval,
                                  args.bisect, args.seed))
    finally:
        if server is not None:
            server.stop()
    summary(levels, extra, ncpu, args.interval)
    return 1 if any(lv.errors for lv in levels + extra) else 0


if __name__ == "__main__":
    sys.exit(main())
