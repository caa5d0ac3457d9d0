#!/usr/bin/env python3
"""Interleaved timing of the Slurm backend against bare Slurm loops doing the same work.

N independent `true` tasks (default 200, `t0`..`t199` in a generated job file) at parallelism P
(default 6: the test cluster's 3 nodes x 2 CPUs), on two paths:

  steps  in one allocation the bench makes (`salloc --no-shell -n P`): the bare loop is P workers,
         each running `srun --jobid=J --exact -N1 -n1 -Q true` one after another until the N
         are done; against `SLURM_JOB_ID=J runner run FILE --backend slurm --slurm-launch steps`.
  jobs   the bare loop is P workers, each running `sbatch --wait -Q --no-requeue --wrap true`
         one after another; against `runner run FILE --backend slurm --slurm-launch jobs`.

Each round runs the bare loop, then the runner (after one untimed warm-up round); the figures are
the medians and the median of the round-by-round ratios runner / bare. Column `ids/task` counts
what Slurm handed out during each command, from outside: step ids (steps) or job ids (jobs, which
other users of the cluster also take), from a probe step or job between commands. Then what the
runner's JSON report says of its Slurm calls (`slurm`: submits, polls, cancels ... per task) and,
for jobs, the completion latency (`slurm.latency_ms` p50/p99), when the report has them.

A bare `sbatch --wait` sleeps 2 s before it first asks whether its job ended, so the bare jobs
loop is bounded by that, not by Slurm.

  benches/slurm.py [--runner PATH] [--tasks 200] [-j 6] [--rounds 5] [--path steps|jobs|both]
  benches/slurm.py --bare-only ...      only the bare loops (no runner needed)

It uses the cluster SLURM_CONF names (scripts/slurm-cluster.sh start DIR starts one). Whatever it
allocated or submitted is cancelled when it ends, also on Ctrl-C or an error.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

LIMIT_S = 900  # one command longer than this is a hang: the bench stops


def slurm_env():
    """This environment without the Slurm job variables of a surrounding allocation
    (SLURM_CONF stays): each command says where it runs."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SLURM_") or k == "SLURM_CONF"}


def check_cluster():
    """Exits with one clear line when there is no Slurm or no cluster answers."""
    if not shutil.which("sinfo"):
        sys.exit("benches/slurm.py: `sinfo` is not on PATH: install Slurm and start a cluster "
                 "(scripts/slurm-cluster.sh start DIR, then the export line it prints)")
    try:
        done = subprocess.run(["sinfo", "-h"], env=slurm_env(), capture_output=True, text=True,
                              timeout=15)
        failed = done.returncode != 0 and (done.stderr.strip().splitlines() or ["no output"])[-1]
    except subprocess.TimeoutExpired:
        failed = "no answer within 15 s"
    if failed:
        sys.exit(f"benches/slurm.py: no Slurm cluster answers `sinfo -h` (SLURM_CONF="
                 f"{os.environ.get('SLURM_CONF', 'unset')}): {failed}")


def output(argv):
    """What argv prints (stripped), or a note of why it printed nothing."""
    try:
        done = subprocess.run(argv, env=slurm_env(), capture_output=True, text=True, timeout=30)
        return (done.stdout or done.stderr).strip() or f"exited {done.returncode}"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e.__class__.__name__})"


def machine(runner):
    """One paragraph on where the figures come from."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "?")
    cpus = output(["sinfo", "-h", "-o", "%D nodes, CPUs (allocated/idle/other/total) %C"])
    who = output(["sinfo", "--version"])
    return (f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu}, "
            f"{os.cpu_count()} CPUs, kernel {platform.release()}; {who}: {cpus} "
            f"(SLURM_CONF={os.environ.get('SLURM_CONF', 'unset')}); runner: "
            f"{output([runner, '--version']) if runner else 'not run (--bare-only)'}")


def job_file(path, tasks):
    with open(path, "w") as f:
        f.write("tasks:\n")
        f.writelines(f'  t{i}: {{run: "true"}}\n' for i in range(tasks))


def bare_loop(argv, tasks, workers, cwd):
    """P workers, each running argv (which must succeed) one after another until `tasks` runs
    are done. The first failure stops the loop and is raised."""
    left, lock, stop, failed = iter(range(tasks)), threading.Lock(), threading.Event(), []

    def worker():
        while not stop.is_set():
            with lock:
                if next(left, None) is None:
                    return
            done = subprocess.run(argv, cwd=cwd, env=slurm_env(), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                failed.append(f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr.strip()}")
                stop.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    deadline = time.monotonic() + LIMIT_S
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0, deadline - time.monotonic()))
            if t.is_alive():
                failed.append(f"the bare loop took over {LIMIT_S} s")
                break
    finally:
        # Also on Ctrl-C or SIGTERM: no worker starts another command, and those running end
        # (a few seconds for `sbatch --wait`) before the bench cancels what is left.
        stop.set()
        grace = time.monotonic() + 15
        for t in threads:
            t.join(max(0, min(deadline, grace) - time.monotonic()))
    if failed:
        raise RuntimeError(failed[0])


def run_runner(argv, env, cwd):
    """The runner's run, which must succeed; on Ctrl-C or an error it gets SIGTERM and time to
    cancel what it submitted."""
    with open(os.path.join(cwd, "runner.stderr"), "w+") as err:
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err)
        try:
            code = child.wait(LIMIT_S)
        except BaseException:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            raise
        if code != 0:
            err.seek(0)
            tail = "".join(err.readlines()[-15:]).rstrip()
            raise RuntimeError(f"`{' '.join(argv)}` exited {code}:\n{tail}")


def report_slurm(path):
    """The `slurm` object of the runner's JSON report, {} when it has none."""
    try:
        with open(path) as f:
            found = json.load(f).get("slurm")
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


class SlurmPath:
    """One way to Slurm: the bare command, the runner's, and a probe of Slurm's ids."""

    def __init__(self, name, a, work, tag):
        self.name, self.a, self.work, self.tag = name, a, work, tag
        self.job = None

    def __enter__(self):
        if self.name == "steps":
            try:
                self.job = allocate(self.a.jobs, self.tag)
            except BaseException:
                self.__exit__()  # a request still pending would be granted later
                raise
        return self

    def __exit__(self, *_):
        # Everything the bench made carries its name: the allocation, bare and probe jobs.
        subprocess.run(["scancel", "--name", self.tag], env=slurm_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def bare(self):
        if self.name == "steps":
            return ["srun", f"--jobid={self.job}", "--exact", "-N1", "-n1", "-Q", "true"]
        return ["sbatch", "--wait", "-Q", "--no-requeue", "-J", self.tag, "--wrap", "true",
                "-o", "/dev/null"]

    def runner(self, round_dir):
        argv = [self.a.runner, "run", os.path.join(self.work, "job.yaml"), "--backend", "slurm",
                "--slurm-launch", self.name, "-j", str(self.a.jobs), "--output", "plain",
                "--report", os.path.join(round_dir, "r.json")]
        env = slurm_env()
        if self.name == "steps":
            env["SLURM_JOB_ID"] = self.job
        else:
            argv += ["--slurm-dir", round_dir]
        return argv, env

    def probe(self):
        """The step id (steps) or job id (jobs) Slurm hands out next, as a number."""
        if self.name == "steps":
            argv = ["srun", f"--jobid={self.job}", "--exact", "-N1", "-n1", "-Q",
                    "sh", "-c", "echo $SLURM_STEP_ID"]
        else:
            argv = ["sbatch", "--parsable", "--no-requeue", "-J", self.tag, "--wrap", "true",
                    "-o", "/dev/null"]
        done = subprocess.run(argv, cwd=self.work, env=slurm_env(), capture_output=True, text=True,
                              timeout=120)
        found = done.stdout.strip().split(";")[0]
        if done.returncode != 0 or not found.isdigit():
            raise RuntimeError(f"`{' '.join(argv)}` exited {done.returncode}, printed "
                               f"{done.stdout.strip()!r}: {done.stderr.strip()}")
        return int(found)


def allocate(cpus, name):
    """An allocation of `cpus` CPUs named `name`; its job id, found with squeue."""
    print(f"salloc --no-shell -n {cpus} -J {name} ...", file=sys.stderr, flush=True)
    subprocess.run(["salloc", "--no-shell", "-Q", "-n", str(cpus), "-J", name], env=slurm_env(),
                   check=True, timeout=LIMIT_S)
    found = output(["squeue", "-h", "--name", name, "-t", "R", "-o", "%i"]).split()
    if len(found) != 1 or not found[0].isdigit():
        raise RuntimeError(f"no running allocation named {name} in squeue: {found}")
    return found[0]


def measure(path, a):
    """Times bare and runner in turn for each round; the times, Slurm ids used per task of each
    round and the runner's `slurm` reports."""
    times, ids, reports = {"bare": [], "runner": []}, {"bare": [], "runner": []}, []
    sides = ["bare"] if a.bare_only else ["bare", "runner"]
    last = path.probe()
    for r in range(a.warmup + a.rounds):
        for side in sides:
            round_dir = os.path.join(path.work, f"{path.name}-{side}-{r}")
            os.makedirs(round_dir)
            start = time.perf_counter()
            if side == "bare":
                bare_loop(path.bare(), a.tasks, a.jobs, round_dir)
            else:
                argv, env = path.runner(round_dir)
                run_runner(argv, env, round_dir)
            took = time.perf_counter() - start
            now = path.probe()
            used, last = now - last - 1, now
            if used < a.tasks:
                raise RuntimeError(f"{path.name} {side}: Slurm handed out {used} ids for {a.tasks} "
                                   f"tasks: not every task ran on Slurm")
            if r < a.warmup:
                continue
            times[side].append(took)
            ids[side].append(used / a.tasks)
            if side == "runner":
                reports.append(report_slurm(os.path.join(round_dir, "r.json")))
            print(f"  {path.name} round {r - a.warmup + 1}/{a.rounds} {side}: {took:.3f} s",
                  file=sys.stderr, flush=True)
    return times, ids, reports


def table(results, a):
    print(f"{'path':6} {'side':7} {'median s':>9} {'ms/task':>8} {'x bare (pairs)':>15} "
          f"{'over bare ms/task':>18} {'ids/task':>9}")
    for name, (times, ids, _) in results.items():
        bare = times["bare"]
        for side, v in times.items():
            if not v:
                continue
            med = statistics.median(v)
            ratio = statistics.median(x / y for x, y in zip(v, bare))
            over = 1000 * (med - statistics.median(bare)) / a.tasks
            print(f"{name:6} {side:7} {med:9.3f} {1000 * med / a.tasks:8.2f} {ratio:15.3f} "
                  f"{over:18.2f} {statistics.median(ids[side]):9.2f}")


def calls(results, a):
    """The runner's own count of its Slurm calls, medians over the rounds."""
    for name, (_, _, reports) in results.items():
        if a.bare_only:
            continue
        found = [r for r in reports if r]
        if not found:
            print(f"{name}: the runner's report has no `slurm` object")
            continue
        keys = sorted({k for r in found for k, v in r.items() if isinstance(v, (int, float))})
        per = ", ".join(f"{k} {statistics.median(r.get(k, 0) for r in found) / a.tasks:.2f}"
                        for k in keys)
        print(f"{name}: Slurm calls per task (report `slurm`, {len(found)} rounds): {per or 'none'}")
        rest = {k: v for k, v in found[-1].items() if k not in keys and k != "latency_ms"}
        if rest:
            print(f"{name}: the rest of the last report's `slurm`: {json.dumps(rest)}")
        lat = [r["latency_ms"] for r in found if isinstance(r.get("latency_ms"), dict)]
        if name == "jobs" and lat:
            marks = [f"{q} {statistics.median(x[q] for x in lat if q in x):.0f} ms"
                     for q in ("p50", "p99") if any(q in x for x in lat)]
            print(f"{name}: completion latency (slurm.latency_ms): {', '.join(marks) or 'none'}")


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--runner", default=os.path.join(here, "..", "target", "release", "runner"))
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("-j", "--jobs", type=int, default=6)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--path", choices=["steps", "jobs", "both"], default="both")
    p.add_argument("--bare-only", action="store_true", help="time only the bare loops")
    a = p.parse_args()
    if min(a.tasks, a.jobs, a.rounds) < 1 or a.warmup < 0:
        p.error("--tasks, -j and --rounds must be at least 1, --warmup at least 0")
    a.runner = None if a.bare_only else os.path.abspath(a.runner)
    if a.runner and not os.access(a.runner, os.X_OK):
        p.error(f"no runner binary at {a.runner} (cargo build --release, or --runner PATH)")
    return a


def main():
    a = parse()
    check_cluster()
    # SIGTERM ends the bench as Ctrl-C does: through the `finally`s that cancel its Slurm work.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(machine(a.runner))
    print(f"{a.tasks} tasks, -j {a.jobs}, {a.rounds} rounds (+{a.warmup} warm-up)")
    paths = ["steps", "jobs"] if a.path == "both" else [a.path]
    tag = f"bench-slurm-{os.getpid()}"
    results = {}
    with tempfile.TemporaryDirectory(prefix="runner-bench-slurm.") as work:
        job_file(os.path.join(work, "job.yaml"), a.tasks)
        try:
            for name in paths:
                with SlurmPath(name, a, work, tag) as path:
                    results[name] = measure(path, a)
        except (RuntimeError, subprocess.SubprocessError) as e:
            sys.exit(f"benches/slurm.py: {e}")
        except KeyboardInterrupt:
            sys.exit("benches/slurm.py: interrupted; what it allocated or submitted is cancelled")
    table(results, a)
    calls(results, a)


if __name__ == "__main__":
    main()
