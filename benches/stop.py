#!/usr/bin/env python3
"""How long stopping 1,000 running tasks takes, and what a stop leaves behind.

Half the tasks ignore SIGTERM, so each stop needs its kill after the grace. Two stops:
  - SIGINT: the time from the signal to the runner's exit, against the kill grace;
  - CI-style: SIGTERM, then SIGKILL 10 s later if the runner is still there (as CI services do):
    how many of the tasks' processes are left.

    benches/stop.py [BINARY] [--tasks N] [--grace 3s]
"""
import argparse, os, signal, subprocess, sys, tempfile, time

def sleepers(tag):
    """Live `sleep` processes of this bench (their argument starts with the tag)."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            argv = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\0')
            state = open(f'/proc/{pid}/stat').read().rsplit(') ', 1)[1][0]
        except (OSError, IndexError):
            continue
        if len(argv) > 1 and argv[0].endswith(b'sleep') and argv[1].startswith(tag) and state != 'Z':
            found.append(int(pid))
    return found

def job(path, tasks, tag):
    with open(path, 'w') as f:
        f.write('tasks:\n')
        for i in range(tasks):
            arg = f'{tag.decode()}{i % 7}'
            run = f"trap '' TERM; sleep {arg}" if i % 2 else f'sleep {arg}'
            f.write(f'  t{i}: {{run: "{run}"}}\n')

def stop(binary, path, tasks, grace, tag, how):
    runner = subprocess.Popen([binary, 'run', path, '-j', str(tasks), '--kill-grace', grace,
                               '--output', 'json'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while len(sleepers(tag)) < tasks:
        if time.monotonic() - started > 120:
            sys.exit(f'only {len(sleepers(tag))} of {tasks} tasks started')
        time.sleep(0.05)
    start_took = time.monotonic() - started
    sent = time.monotonic()
    if how == 'SIGINT':
        runner.send_signal(signal.SIGINT)
        runner.wait()
        took = time.monotonic() - sent
        print(f'{tasks} tasks started in {start_took:.2f}s; SIGINT to exit {took:.3f}s '
              f'(grace {grace}, {took - seconds(grace):+.3f}s over it); left: {len(sleepers(tag))}')
    else:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(10)
            ended = f'exited after {time.monotonic() - sent:.3f}s'
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait()
            ended = 'SIGKILLed at 10s'
        print(f'SIGTERM, SIGKILL 10s later: runner {ended}; left: {len(sleepers(tag))}')
    for pid in sleepers(tag):
        os.kill(pid, signal.SIGKILL)

def seconds(duration):
    return float(duration.rstrip('s'))

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('binary', nargs='?', default='target/release/runner')
    parser.add_argument('--tasks', type=int, default=1000)
    parser.add_argument('--grace', default='3s')
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    tag = f'300.{os.getpid()}'.encode()
    with tempfile.TemporaryDirectory() as dir:
        path = os.path.join(dir, 'stop.yaml')
        job(path, args.tasks, tag)
        stop(binary, path, args.tasks, args.grace, tag, 'SIGINT')
        stop(binary, path, args.tasks, args.grace, tag, 'CI')

if __name__ == '__main__':
    main()
