#!/usr/bin/env python3
"""Writes a job file of N tasks to stdout, for benchmarking `runner validate`.

The tasks form chains of CHAIN tasks (each task needs the one before it). The first task of
every chain after the first is a fan-in: it needs the last task of each of up to FAN_IN
earlier chains. Every task has a `run`, and every tenth a `timeout`, so the decoder does real
work on each one. The graph is acyclic, so the file is valid.

usage: gen_tasks.py N [--chain 100] [--fan-in 10]
"""

import argparse
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", type=int, help="how many tasks")
    parser.add_argument("--chain", type=int, default=100, help="tasks per chain")
    parser.add_argument("--fan-in", type=int, default=10, help="needs of a chain's first task")
    args = parser.parse_args()

    width = len(str(args.tasks - 1))
    name = lambda i: f"t{i:0{width}d}"
    out = [f"version: 1\nname: bench-{args.tasks}\nconcurrency: 8\n\ntasks:\n"]
    for i in range(args.tasks):
        chain, step = divmod(i, args.chain)
        if step > 0:
            needs = [name(i - 1)]
        else:
            # The last task of each of the previous `fan_in` chains.
            needs = [name(c * args.chain + args.chain - 1) for c in range(max(0, chain - args.fan_in), chain)]
        out.append(f"  {name(i)}:\n    run: echo {i}\n")
        if needs:
            out.append(f"    needs: [{', '.join(needs)}]\n")
        if i % 10 == 0:
            out.append("    timeout: 30s\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
