"""Page-speed benchmark of the Streamlit pages (not part of `make test`).

Budgets from the app issue, measured with Streamlit's AppTest (the script run, without a
browser):

* first render of each page with its default data  <= 2 s
* a step of the Step slider (rerun of the page, N <= 5,000)  <= 150 ms (median of the steps)
* every figure's JSON  <= 5 MB, whatever N is (also checked with a 200,000-row upload)

Each page runs in its own subprocess so that its first render starts with empty Streamlit
caches (the app's modules, numpy, plotly, streamlit are imported before the clock starts, as
in a running server). AppTest recompiles the page script on every run, which a server does
not (its script cache keeps the bytecode); the benchmark shares one script cache across runs
so that a step is timed as a server would run it (for a big page the recompile alone is
~80 ms). As a peer measured in the same run, a trivial script (one slider, one
small chart) is timed the same way; the step time is also printed as a multiple of its rerun.

Run: ``.venv/bin/python bench/bench_pages.py [--steps 10] [--large-n 200000] [--quick]``.
Exit status 1 if a budget fails. Timings are wall-clock on whatever machine this is; on a
busy shared machine, run it again when it is quiet before believing a FAIL.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIRST_RENDER_BUDGET = 2.0     # s
STEP_BUDGET = 0.150           # s
FIGURE_BUDGET = 5 * 1024**2   # bytes

#: page file, Streamlit key of its step slider (None: no slider), how to prepare it
PAGES = [
    ("app.py", None, None),
    ("pages/house_prices.py", "hp_step", None),
    ("pages/blobs_2d.py", "blobs_step", None),
    ("pages/baskets.py", "bk_step", None),
    ("pages/why_em_works.py", "why_step", None),
    ("pages/your_data.py", "yd_step", "upload:5000"),
]

TRIVIAL = '''
import plotly.graph_objects as go
import streamlit as st
v = st.select_slider("Step", options=list(range(60)), key="triv_step")
st.plotly_chart(go.Figure(go.Scatter(y=[1, 2, v])), key="triv_chart")
'''


def blobs_csv(n: int, seed: int = 0) -> bytes:
    """Two well-separated 2-D Gaussian blobs as CSV bytes (header x,y)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    half = n // 2
    a = rng.normal([0.0, 0.0], [1.0, 0.6], size=(half, 2))
    b = rng.normal([5.0, 3.0], [0.8, 1.2], size=(n - half, 2))
    X = np.vstack([a, b])[rng.permutation(n)]
    buf = io.StringIO()
    buf.write("x,y\n")
    np.savetxt(buf, X, fmt="%.5f", delimiter=",")
    return buf.getvalue().encode()


def measure(script: str, step_key: str | None, prepare: str | None, n_steps: int) -> dict:
    """Run in a fresh process: first render, ``n_steps`` slider steps, figure sizes."""
    sys.path.insert(0, ROOT)
    os.chdir(ROOT)
    import warnings

    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    # Import what a running server already has in memory before the clock starts.
    import numpy  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import streamlit as st
    import streamlit.testing.v1.app_test as app_test_module
    import streamlit.testing.v1.local_script_runner as runner_module
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest

    # AppTest compiles the page script afresh on every run (a new ScriptCache each time); a
    # server compiles it once. Share one cache so that a step costs what it costs a server.
    shared_cache = ScriptCache()
    runner_module.ScriptCache = lambda: shared_cache
    app_test_module.ScriptCache = lambda: shared_cache

    if not script.startswith("/"):
        import emcore  # noqa: F401
        import emdata  # noqa: F401
        import emui  # noqa: F401
        import emviz  # noqa: F401

    st.cache_data.clear()
    st.cache_resource.clear()
    out: dict = {"script": script, "errors": []}
    at = AppTest.from_file(os.path.join(ROOT, script), default_timeout=600)

    def sizes() -> list[int]:
        # charts, and the step player's packed half-steps (sent once per fit and session)
        return ([len(el.proto.spec.encode()) for el in at.get("plotly_chart")]
                + [len(el.proto.json.encode()) for el in at.get("bidi_component")])

    def check() -> None:
        if at.exception:
            out["errors"].append(str(at.exception[0].value)[:300])

    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    out["first"], out["first_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    check()
    if prepare and prepare.startswith("upload:"):
        n = int(prepare.split(":")[1])
        data = blobs_csv(n)
        at.file_uploader(key="yd_file").set_value(("blobs.csv", data, "text/csv"))
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()
        # the first render *with data*
        out["first"], out["first_cpu"] = time.perf_counter() - t0, time.process_time() - c0
        out["n"] = n
        check()
    fig_sizes = sizes()
    steps, steps_cpu = [], []
    if step_key is not None:
        n_options = None
        try:  # a server-side step slider (the trivial peer page, the derivations page) ...
            n_options = len(at.select_slider(key=step_key).options)
        except KeyError:  # ... or the step player, which reports the step the learner stops on
            players = [el for el in at.get("bidi_component")
                       if el.proto.component_name == "em_step_player"]
            if players:
                n_options = int(json.loads(players[0].proto.json)["n"])
            else:
                out["errors"].append(f"no step control with key {step_key!r}")
        if n_options is not None:
            for s in range(1, min(n_steps, n_options - 1) + 1):
                at.session_state[step_key] = s
                t0, c0 = time.perf_counter(), time.process_time()
                at.run()
                steps.append(time.perf_counter() - t0)
                steps_cpu.append(time.process_time() - c0)
                check()
                fig_sizes += sizes()
            out["n_half_steps"] = n_options
    out["steps"], out["steps_cpu"] = steps, steps_cpu
    out["max_fig"] = max(fig_sizes) if fig_sizes else 0
    out["n_figs"] = len(at.get("plotly_chart"))
    return out


def run_child(script: str, step_key, prepare, n_steps: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(
        [script, step_key, prepare, n_steps])]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"script": script, "errors": [f"child failed: {proc.stderr[-800:]}"], "first": None,
            "first_cpu": None, "steps": [], "steps_cpu": [], "max_fig": 0, "n_figs": 0}


def fmt_s(v) -> str:
    return "—" if v is None else (f"{v * 1000:.0f} ms" if v < 10 else f"{v:.1f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="slider steps per page (median)")
    ap.add_argument("--large-n", type=int, default=200_000,
                    help="rows of the large upload for the 5 MB figure check (0: skip)")
    ap.add_argument("--quick", action="store_true", help="3 steps, large N = 50,000")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        script, key, prepare, n = json.loads(args.child)
        print("RESULT " + json.dumps(measure(script, key, prepare, n)), flush=True)
        return 0
    if args.quick:
        args.steps, args.large_n = 3, 50_000
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (budgets are judged on wall-clock "
          "time; CPU time is printed beside it — on a busy machine it is the steadier one)")

    with tempfile.TemporaryDirectory() as tmp:
        triv = os.path.join(tmp, "trivial.py")
        with open(triv, "w") as f:
            f.write(TRIVIAL)
        peer = run_child(triv, "triv_step", None, args.steps)
    peer_step = statistics.median(peer["steps"]) if peer["steps"] else float("nan")
    print(f"peer: trivial AppTest script — first run {fmt_s(peer['first'])}, "
          f"median rerun {fmt_s(peer_step)}", flush=True)

    jobs = list(PAGES)
    if args.large_n:
        jobs.append(("pages/your_data.py", "yd_step", f"upload:{args.large_n}"))
    rows, failed = [], False
    # your_data: "first render" is the run right after the upload (the page is empty before).
    for script, key, prepare in jobs:
        r = run_child(script, key, prepare, args.steps)
        name = os.path.basename(script).removesuffix(".py")
        name = "home (app.py)" if name == "app" else name
        if r.get("n"):
            name += f" N={r['n']:,}"
        large = bool(r.get("n")) and r["n"] > 5000
        med = statistics.median(r["steps"]) if r["steps"] else None
        med_cpu = statistics.median(r["steps_cpu"]) if r["steps_cpu"] else None
        checks = []
        if r["first"] is not None and not large:
            checks.append(r["first"] <= FIRST_RENDER_BUDGET)
        if med is not None and not large:
            checks.append(med <= STEP_BUDGET)
        checks.append(r["max_fig"] <= FIGURE_BUDGET)
        ok = all(checks) and not r["errors"]
        failed |= not ok
        rows.append((name, r["first"], med, r["max_fig"], r["n_figs"], large, ok, r["errors"]))
        print(f"  measured {name}: first {fmt_s(r['first'])} (CPU {fmt_s(r['first_cpu'])}), "
              f"median step {fmt_s(med)} (CPU {fmt_s(med_cpu)}), "
              f"max figure {r['max_fig'] / 1024:,.0f} KB"
              + (f", errors: {r['errors']}" if r["errors"] else ""), flush=True)

    print()
    head = (f"{'page':<26} {'first render':>12} {'median step':>12} {'× peer':>7} "
            f"{'max fig JSON':>13}  {'budget':<34} result")
    print(head)
    print("-" * len(head))
    for name, first, med, max_fig, _n_figs, large, ok, errors in rows:
        ratio = f"{med / peer_step:.1f}" if med is not None and peer_step == peer_step else "—"
        budget = ("fig ≤ 5 MB (timing not budgeted)" if large
                  else "first ≤ 2 s, step ≤ 150 ms, fig ≤ 5 MB")
        print(f"{name:<26} {fmt_s(first):>12} {fmt_s(med):>12} {ratio:>7} "
              f"{max_fig / 1024**2:>10.2f} MB  {budget:<34} {'PASS' if ok else 'FAIL'}"
              + (f"  ({errors[0][:80]})" if errors else ""))
    print()
    for name, first, med, max_fig, _, _, ok, _ in rows:
        print(f"{'PASS' if ok else 'FAIL'} {name}: first {fmt_s(first)}, step {fmt_s(med)}, "
              f"figure {max_fig / 1024**2:.2f} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
