#!/usr/bin/env python3
"""Interleaved timing of `runner run` against the spawn floor and the peers.

hyperfine (benches/peers.sh) runs all runs of one command, then all of the next: a machine that
drifts during the call biases the ratios. Here each round runs every command once, in turn, and
the ratio to the floor is taken round by round; the median of those ratios is the figure.

It uses the workloads benches/peers.sh leaves in $BENCH_WORK (default /tmp/runner-bench), in the
harness's minimal environment.

The harness's floor spawns the same number of processes without regard to dependencies. For the
layered case a second floor, benches/layerfloor.c (built here with cc), waits for each layer
before starting the next: the last column gives each tool against that one, which tells what the
layer barriers cost by themselves from what a tool adds.

  benches/pairs.py CASE [RUNNER...]        CASE: fanout-1000, fanout-10000, chain-1000,
                                           layered-10x100 or queue; RUNNER: binaries to compare
                                           (default target/release/runner)
  ROUNDS=30 PEERS=0 benches/pairs.py ...   rounds (default 20); PEERS=0 leaves the peers out
"""
import os
import statistics
import subprocess
import sys
import time

WORK = os.environ.get("BENCH_WORK", "/tmp/runner-bench")
ENV = {
    "HOME": os.environ.get("HOME", "/"),
    "LANG": "C.UTF-8",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}


def commands(case, runners):
    d = os.path.join(WORK, "time", case)
    floor = os.path.join(WORK, "bin", "spawnfloor")
    if case == "queue":
        cmds = {"floor": [floor, "10000", "2", "spawn", "true"]}
        if os.environ.get("PEERS", "1") != "0":
            cmds["xargs"] = ["sh", "-c", "seq 10000 | xargs -P2 -n1 true"]
        for r in runners:
            cmds[name(r, runners)] = [r, "run", os.path.join(d, "queue.yaml")]
        return cmds
    tasks = os.path.join(d, "runner", "tasks.yaml")
    n = sum(1 for line in open(tasks) if "run:" in line)
    jobs = "1" if case.startswith("chain") else "2"
    cmds = {"floor": [floor, str(n), jobs, "spawn", "true"]}
    if os.environ.get("PEERS", "1") != "0":
        make = os.path.join(d, "make")
        cmds["make"] = ["make", "-s", "-j2", "-f", os.path.join(make, "Makefile"), "-C", make, "final"]
        cmds["ninja"] = ["ninja", "--quiet", "-j2", "-C", os.path.join(d, "ninja"), "final"]
    if case.startswith("layered"):
        width, layers = case.split("-")[1].split("x")
        cmds["barriers"] = [layerfloor(), width, layers, jobs, "true"]
    for r in runners:
        cmds[name(r, runners)] = [r, "run", tasks, "-j", "2"]
    return cmds


def layerfloor():
    """benches/layerfloor.c, compiled into the bench's bin directory when missing or older."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layerfloor.c")
    binary = os.path.join(WORK, "bin", "layerfloor")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        subprocess.run(["cc", "-O2", "-o", binary, source], check=True)
    return binary


def name(runner, runners):
    return "runner" if len(runners) == 1 else runner


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    case, runners = sys.argv[1], sys.argv[2:] or ["target/release/runner"]
    runners = [os.path.abspath(r) for r in runners]
    cmds = commands(case, runners)
    rounds = int(os.environ.get("ROUNDS", "20"))
    times = {k: [] for k in cmds}
    for r in range(rounds + 2):
        for k, cmd in cmds.items():
            if k == "ninja":  # untimed, as the harness does: every ninja run does all the work
                for log in (".ninja_log", ".ninja_deps"):
                    path = os.path.join(cmd[4], log)
                    if os.path.exists(path):
                        os.remove(path)
            start = time.perf_counter()
            done = subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            took = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(f"{k} failed: {' '.join(cmd)}")
            if r >= 2:  # two warm-up rounds
                times[k].append(took)
    floor, barriers = times["floor"], times.get("barriers")
    extra = f" {'x barriers (pairs)':>19}" if barriers else ""
    print(f"{'case':15} {'tool':10} {'median s':>9} {'x floor (pairs)':>16}{extra}")
    for k, v in times.items():
        ratio = statistics.median(a / b for a, b in zip(v, floor))
        line = f"{case:15} {k:10} {statistics.median(v):9.4f} {ratio:16.3f}"
        if barriers:
            line += f" {statistics.median(a / b for a, b in zip(v, barriers)):19.3f}"
        print(line)


if __name__ == "__main__":
    main()
