#!/usr/bin/env python3
"""`runner serve` under load: many clients submitting small runs at once, each `submit --wait`,
against the same runs as separate `runner run` processes.

Each client has a job file of its own: three tasks printing known lines, the second needing the
first. The daemon runs with `-j J`; the separate runs each get `-j J` too, and write the files a
served run writes (plain output, `--report`, `--junit`), RUNS runs split over
CLIENTS parallel workers (as `xargs -P CLIENTS`). Printed: total time and runs/s of both,
submit-to-start latency p50/p99 (from `status --json`), the daemon's peak RSS (VmHWM), and the
ratio of the daemon's time to the separate runs'. Every run must succeed with every line of
its output, or the bench fails.

    benches/serve_load.py [BINARY] [--clients 50] [--runs 1000] [-j 4]
"""
import argparse, concurrent.futures, json, os, subprocess, sys, tempfile, time

def job(c):
    return (f'tasks:\n'
            f'  first:\n    run: echo c{c} first a; echo c{c} first b\n'
            f'  second:\n    needs: [first]\n    run: echo c{c} second\n'
            f'  third:\n    run: echo c{c} third\n')

def expected(c):
    return sorted([f'[first] c{c} first a', f'[first] c{c} first b', f'[second] c{c} second',
                   f'[third] c{c} third'])

def printed(output):
    """The lines the tasks printed, without those saying a task started or ended."""
    return sorted(l for l in output.splitlines()
                  if l.startswith('[') and not l.endswith('] started') and '] succeeded in ' not in l)

def quantile(sorted_values, q):
    return sorted_values[round((len(sorted_values) - 1) * q)]

def peak_kb(pid):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1])
    sys.exit('no VmHWM')

def split(runs, clients):
    """How many runs each client (or worker) does."""
    return [runs // clients + (c < runs % clients) for c in range(clients)]

def served(binary, dir, files, runs, jobs):
    state = os.path.join(dir, 'state')
    daemon = subprocess.Popen([binary, 'serve', '--state-dir', state, '-j', str(jobs), '--keep',
                               str(2 * runs), '--backlog', str(2 * runs)],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(dir, 'serve.stderr'), 'w'))
    started = time.monotonic()
    while not os.path.exists(os.path.join(state, 'address')):
        if daemon.poll() is not None or time.monotonic() - started > 30:
            sys.exit(f'the daemon did not start: {open(os.path.join(dir, "serve.stderr")).read()}')
        time.sleep(0.01)
    client = lambda *args: subprocess.run([binary, *args, '--state-dir', state], cwd=dir,
                                          capture_output=True, text=True)

    def submit(c, n):
        done = []
        for _ in range(n):
            run = client('submit', files[c], '--wait')
            if run.returncode != 0:
                sys.exit(f'submit {files[c]} --wait exited {run.returncode}: {run.stderr}')
            done.append((run.stdout.strip(), c))
        return done

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(files)) as pool:
        done = [r for rs in pool.map(submit, range(len(files)), split(runs, len(files))) for r in rs]
    took = time.monotonic() - began
    status = json.loads(client('status', '--json').stdout)
    peak = peak_kb(daemon.pid)
    client('shutdown')
    daemon.wait(30)
    entries = {r['run']: r for r in status['runs']}
    for run, c in done:
        if entries.get(run, {}).get('state') != 'succeeded':
            sys.exit(f'{run}: {entries.get(run)}')
        output = open(os.path.join(state, 'runs', run, 'output.txt')).read()
        if printed(output) != expected(c):
            sys.exit(f'{run} (client {c}) lost lines:\n{output}')
    waits = sorted(r['started_ms'] - r['submitted_ms'] for r in status['runs'])
    return took, waits, peak

def separate(binary, dir, files, runs, jobs):
    def work(c, n):
        for i in range(n):
            out = os.path.join(dir, 'separate', f'c{c}-{i}')
            os.makedirs(out)
            with open(os.path.join(out, 'output.txt'), 'w') as output:
                code = subprocess.run([binary, 'run', files[c], '-j', str(jobs), '--output', 'plain',
                                       '--report', os.path.join(out, 'report.json'),
                                       '--junit', os.path.join(out, 'junit.xml')],
                                      cwd=dir, stdout=output, stderr=subprocess.STDOUT,
                                      env={**os.environ, 'NO_COLOR': '1'}).returncode
            text = open(os.path.join(out, 'output.txt')).read()
            if code != 0 or printed(text) != expected(c):
                sys.exit(f'runner run {files[c]} exited {code}:\n{text}')

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(files)) as pool:
        list(pool.map(work, range(len(files)), split(runs, len(files))))
    return time.monotonic() - began

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('binary', nargs='?', default='target/release/runner')
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--runs', type=int, default=1000)
    parser.add_argument('-j', '--jobs', type=int, default=4)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    with tempfile.TemporaryDirectory() as dir:
        files = []
        for c in range(args.clients):
            files.append(f'job-{c}.yaml')
            with open(os.path.join(dir, files[-1]), 'w') as f:
                f.write(job(c))
        took, waits, peak = served(binary, dir, files, args.runs, args.jobs)
        alone = separate(binary, dir, files, args.runs, args.jobs)
    print(f'{args.runs} runs of 3 tasks from {args.clients} clients, -j {args.jobs}')
    print(f'  runner serve:  {took:7.2f}s  {args.runs / took:6.1f} runs/s  '
          f'submit to start p50 {quantile(waits, 0.5)} ms, p99 {quantile(waits, 0.99)} ms  '
          f'daemon VmHWM {peak / 1024:.1f} MiB')
    print(f'  runner run:    {alone:7.2f}s  {args.runs / alone:6.1f} runs/s  '
          f'({args.clients} parallel workers, each run its own process)')
    print(f'  ratio serve / run: {took / alone:.2f}')

if __name__ == '__main__':
    main()
