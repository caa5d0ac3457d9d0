#!/usr/bin/env python3
"""Benchmarks the loader on large and hostile inputs: `runner validate` (and `runner run` for
nested groups) on generated files, printing the median wall time and the peak RSS of each.

Not a test: run it by hand with the release binary after changing the loader.
(benches/validate.sh measures how a valid file's time grows with its size.)

  usage: benches/validate.py                  # builds target/release/runner, 3 runs each
         RUNS=5 TIMEOUT=600 benches/validate.py
         RUNNER=/path/to/other/runner benches/validate.py   # e.g. an older build, to compare

Each run stops after TIMEOUT seconds (default 120), reported as `>TIMEOUT`.
"""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(os.environ.get("RUNS", "3"))
TIMEOUT = float(os.environ.get("TIMEOUT", "120"))
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def clean(n=100_000):
    """A chain of n tasks: the valid baseline."""
    lines = ["tasks:"]
    for i in range(n):
        lines += [f"  t{i}:", '    run: "true"'] + ([f"    needs: [t{i - 1}]"] if i else [])
    return "\n".join(lines) + "\n"


def cycle(n=100_000):
    """n tasks in one dependency cycle."""
    lines = ["tasks:"]
    for i in range(n):
        lines += [f"  t{i}:", '    run: "true"', f"    needs: [t{(i + 1) % n}]"]
    return "\n".join(lines) + "\n"


def errors(n=50_000):
    """n tasks, each needing an unknown task: n errors, each with a did-you-mean search."""
    lines = ["tasks:"]
    for i in range(n):
        lines += [f"  t{i}:", '    run: "true"', f"    needs: [missing{i}]"]
    return "\n".join(lines) + "\n"


def env(n=200_000):
    """One task and n environment variables."""
    return "env:\n" + "".join(f"  K{i}: v{i}\n" for i in range(n)) + 'tasks:\n  a: {run: "true"}\n'


def duplicates(n=50_000):
    """n tasks defined twice, far apart: n errors with two labels each."""
    half = "".join(f"  t{i}: {{run: x}}\n" for i in range(n))
    return "tasks:\n" + half + half


def wide():
    """A syntax error past column 65,535."""
    return 'tasks:\n  a: {run: "' + "x" * 70_000 + '" x: y}\n'


def workers():
    """A consumer with a billion workers."""
    return "queues: {q: {items: [a]}}\ntasks:\n  c: {run: 'true', consumes: q, workers: 1000000000}\n"


def nested_groups(n=3_000):
    """n gather groups, each gathering the one before (run, not validated)."""
    groups = "".join(f"  g{i}: {{gather: [g{i - 1}]}}\n" for i in range(1, n))
    return "tasks:\n  t: {run: echo hi}\ngroups:\n  g0: {gather: [t]}\n" + groups


# name, generator (None: an existing path), subcommand
CASES = [
    ("clean 100k tasks", clean, "validate"),
    ("cycle of 100k tasks", cycle, "validate"),
    ("50k unknown needs", errors, "validate"),
    ("50k duplicate tasks", duplicates, "validate"),
    ("200k env keys", env, "validate"),
    ("error at column 70k", wide, "validate"),
    ("workers: 1e9", workers, "run"),
    ("3k nested gathers", nested_groups, "run"),
    ("/dev/zero", "/dev/zero", "validate"),
]


def once(runner, sub, path, cwd):
    """(exit code, wall seconds, peak RSS in MB) of one run; code None when it timed out."""
    cmd = [runner, sub, path]
    if sub == "run":
        cmd[2:2] = ["--output", "plain"]
    report = os.path.join(cwd, "time.txt")
    if TIME:
        cmd = [TIME, "-f", "%M", "-o", report] + cmd
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, TIMEOUT, float("nan")
    wall = time.monotonic() - start
    if TIME:
        with open(report) as f:
            rss_kb = int(f.read().split()[-1])
    else:
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return proc.returncode, wall, rss_kb / 1024


def main():
    runner = os.environ.get("RUNNER")
    if not runner:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        runner = os.path.join(ROOT, "target/release/runner")
    tmp = tempfile.mkdtemp()
    try:
        print(f"{'input':<22} {'file':>9} {'exit':>5} {'median wall':>12} {'peak RSS':>10}")
        for name, make, sub in CASES:
            if callable(make):
                path = os.path.join(tmp, "job.yaml")
                with open(path, "w") as f:
                    f.write(make())
                size = f"{os.path.getsize(path) // 1024} KB"
            else:
                path, size = make, "-"
            results = [once(runner, sub, path, tmp) for _ in range(RUNS)]
            code = results[0][0]
            wall = statistics.median(r[1] for r in results)
            rss = max(r[2] for r in results)
            shown = f">{TIMEOUT:.0f} s" if code is None else f"{wall:.2f} s"
            print(f"{name:<22} {size:>9} {str(code):>5} {shown:>12} {rss:>7.1f} MB", flush=True)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
