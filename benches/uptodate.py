#!/usr/bin/env python3
"""How long checking many up-to-date tasks takes, against running them, go-task's `sources`
check and make's timestamps.

N tasks, each with one source file (`src/fI.txt`) and one generated file (`out/fI`), made by
`touch`. For runner: a first run (runs N processes and records N states), then runs where
every task is up to date, then a `--force` run. For go-task (`task`, from `pip install
go-task-bin`) and make: the same N tasks, run once, then timed when everything is up to date.
A tool that is not installed is left out.

    benches/uptodate.py [BINARY] [--tasks 10000] [--repeat 3] [-j 2]
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

def timed(argv, cwd, repeat=1):
    """The median wall-clock seconds of `repeat` runs of argv, which must succeed."""
    times = []
    for _ in range(repeat):
        start = time.monotonic()
        with open(os.devnull, 'w') as sink:
            done = subprocess.run(argv, cwd=cwd, stdout=sink, stderr=subprocess.PIPE)
        times.append(time.monotonic() - start)
        if done.returncode != 0:
            sys.exit(f'{" ".join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}')
    return statistics.median(times)

def tree(root, tasks):
    os.makedirs(os.path.join(root, 'src'))
    os.makedirs(os.path.join(root, 'out'))
    for i in range(tasks):
        with open(os.path.join(root, 'src', f'f{i}.txt'), 'w') as f:
            f.write(f'source {i}\n')

def runner_job(root, tasks):
    with open(os.path.join(root, 'job.yaml'), 'w') as f:
        f.write('tasks:\n')
        for i in range(tasks):
            f.write(f'  t{i}: {{run: touch out/f{i}, sources: [src/f{i}.txt], generates: [out/f{i}]}}\n')

def taskfile(root, tasks):
    with open(os.path.join(root, 'Taskfile.yml'), 'w') as f:
        f.write("version: '3'\ntasks:\n  default:\n    deps:\n")
        f.writelines(f'      - t{i}\n' for i in range(tasks))
        for i in range(tasks):
            f.write(f'  t{i}:\n    cmds: [touch out/f{i}]\n'
                    f'    sources: [src/f{i}.txt]\n    generates: [out/f{i}]\n')

def makefile(root, tasks):
    with open(os.path.join(root, 'Makefile'), 'w') as f:
        f.write('all:' + ''.join(f' out/f{i}' for i in range(tasks)) + '\n')
        for i in range(tasks):
            f.write(f'out/f{i}: src/f{i}.txt\n\ttouch $@\n')

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument('binary', nargs='?', default=os.path.join(here, '..', 'target', 'release', 'runner'))
    parser.add_argument('--tasks', type=int, default=10000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('-j', '--jobs', type=int, default=2)
    args = parser.parse_args()
    binary, n, jobs = os.path.abspath(args.binary), args.tasks, str(args.jobs)
    rows = []
    with tempfile.TemporaryDirectory() as top:
        root = os.path.join(top, 'runner')
        tree(root, n)
        runner_job(root, n)
        run = [binary, 'run', 'job.yaml', '-j', jobs, '--output', 'plain']
        rows.append(('runner: first run (runs and records)', timed(run, root)))
        rows.append(('runner: all up to date', timed(run, root, args.repeat)))
        rows.append(('runner: --dry-run, all up to date', timed(run + ['--dry-run'], root, args.repeat)))
        rows.append(('runner: --force (runs all again)', timed(run + ['--force'], root)))
        if shutil.which('task'):
            root = os.path.join(top, 'task')
            tree(root, n)
            taskfile(root, n)
            command = ['task', '--silent', '--concurrency', jobs]
            rows.append(('go-task: first run', timed(command, root)))
            rows.append(('go-task: all up to date (checksums)', timed(command, root, args.repeat)))
        if shutil.which('make'):
            root = os.path.join(top, 'make')
            tree(root, n)
            makefile(root, n)
            rows.append(('make: first run', timed(['make', '-s', '-j', jobs], root)))
            rows.append(('make: all up to date (timestamps)', timed(['make', '-s', '-j', jobs], root, args.repeat)))
    print(f'{n} tasks, one source file each, -j {jobs}; median of {args.repeat} for up-to-date runs')
    for what, seconds in rows:
        print(f'  {what:<40} {seconds:8.3f} s')

if __name__ == '__main__':
    main()
