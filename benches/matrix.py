#!/usr/bin/env python3
"""Benchmarks matrix expansion and environment files: `runner validate` on generated files, printing the median wall time and the peak RSS of each, with
the same runs as benches/validate.py (whose `once` it uses).

Not a test: run it by hand with the release binary after changing the expansion.

  usage: benches/matrix.py                      # builds target/release/runner, 3 runs each
         RUNNER=target/debug/runner benches/matrix.py
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validate import ROOT, RUNS, TIMEOUT, once  # noqa: E402


def matrices(tasks, values):
    """`tasks` matrix tasks of `values` instances each, with a dependent of all of them."""
    listed = ", ".join(str(i) for i in range(values))
    lines = ["tasks:"]
    for i in range(tasks):
        lines += [f"  t{i}:", f"    matrix: {{v: [{listed}]}}", '    run: "true"']
    lines += ["  all:", "    needs: [" + ", ".join(f"t{i}" for i in range(tasks)) + "]"]
    return "\n".join(lines) + "\n"


def dotenv(tasks, variables):
    """`tasks` tasks that each list one environment file of `variables` lines."""
    with open(os.path.join(TMP, "big.env"), "w") as f:
        f.writelines(f"export VAR_{i}='value {i}'\n" for i in range(variables))
    lines = ["tasks:"]
    for i in range(tasks):
        lines += [f"  t{i}:", "    dotenv: [big.env]", '    run: "true"']
    return "\n".join(lines) + "\n"


CASES = [
    ("1 task x 256", lambda: matrices(1, 256), "validate"),
    ("390 tasks x 256", lambda: matrices(390, 256), "validate"),
    ("400 tasks x 256 (cap)", lambda: matrices(400, 256), "validate"),
    ("1000 tasks x 10k vars", lambda: dotenv(1000, 10_000), "validate"),
]

TMP = tempfile.mkdtemp()


def main():
    runner = os.environ.get("RUNNER")
    if not runner:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        runner = os.path.join(ROOT, "target/release/runner")
    runner = os.path.abspath(runner)
    try:
        print(f"{'input':<24} {'file':>9} {'exit':>5} {'median wall':>12} {'peak RSS':>10}")
        for name, make, sub in CASES:
            path = os.path.join(TMP, "job.yaml")
            with open(path, "w") as f:
                f.write(make())
            size = f"{os.path.getsize(path) // 1024} KB"
            results = [once(runner, sub, path, TMP) for _ in range(RUNS)]
            code = results[0][0]
            wall = statistics.median(r[1] for r in results)
            rss = max(r[2] for r in results)
            shown = f">{TIMEOUT:.0f} s" if code is None else f"{wall:.2f} s"
            print(f"{name:<24} {size:>9} {str(code):>5} {shown:>12} {rss:>7.1f} MB", flush=True)
    finally:
        shutil.rmtree(TMP)


if __name__ == "__main__":
    main()
