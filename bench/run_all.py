"""Run every benchmark script in bench/ (bench_*.py), one after the other, and summarise.

Usage: ``.venv/bin/python bench/run_all.py [extra args passed to every script]``.
Exit status is non-zero if any script reports a FAIL line or crashes.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    here = os.path.dirname(os.path.abspath(__file__))
    scripts = sorted(glob.glob(os.path.join(here, "bench_*.py")))
    summary, failed = [], False
    for path in scripts:
        name = os.path.basename(path)
        print(f"=== {name} ===", flush=True)
        proc = subprocess.run([sys.executable, path, *argv], capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0 and proc.stderr:
            sys.stdout.write(proc.stderr[-3000:])
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("PASS", "FAIL"))]
        # every budget line appears twice (as measured, then in the script's summary)
        seen = list(dict.fromkeys(lines))
        summary += [f"{name}: {ln}" for ln in seen]
        failed |= proc.returncode != 0 or any(ln.startswith("FAIL") for ln in seen)
    print("\n=== all benchmarks ===")
    print("\n".join(summary) if summary else "(no budget lines)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
