#!/usr/bin/env bash
# Benchmarks the live view: TASKS `true` tasks at `-j 2`, run RUNS times each way, and prints
# the median wall time of each way and the live view's overhead over plain output to
# /dev/null. The target is under 10%. Not a test: run it by hand on a quiet machine after
# changing src/report/tty*.
#
#   plain      --output plain, stdout to /dev/null (the baseline)
#   plain-pty  --output plain on a pseudo-terminal (what a person would otherwise see)
#   tty        --output tty on a pseudo-terminal (script(1) gives the pty; 120x30)
#
# Runs alternate between the ways so that drift in machine load hits all of them alike.
#
# usage: benches/tty.sh                 # 10000 tasks, 5 runs each
#        RUNS=9 TASKS=2000 benches/tty.sh
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${RUNS:-5}
tasks=${TASKS:-10000}
command -v script >/dev/null || { echo "needs script(1) (util-linux)" >&2; exit 1; }

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l >= 1) }'; then
  echo "warning: load average is $load; the figures will be noisy" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build --release --quiet
runner=$PWD/target/release/runner

file="$tmp/true.yaml"
{
  echo "name: bench-tty"
  echo "tasks:"
  seq -f '  t%05g: {run: "true"}' 1 "$tasks"
} >"$file"

# The median of the numbers on stdin.
median() {
  sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Runs one way once; prints its wall time in ms. Checks that every task succeeded.
run_once() {
  local way=$1 out="$tmp/out" start end
  local cmd="$runner run $file -j 2 --output"
  start=$EPOCHREALTIME
  case $way in
    plain) $cmd plain >"$out" ;;
    plain-pty) script -qfec "stty rows 30 cols 120; $cmd plain" /dev/null >"$out" ;;
    tty) script -qfec "stty rows 30 cols 120; $cmd tty" /dev/null >"$out" ;;
  esac
  end=$EPOCHREALTIME
  sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -q "runner: succeeded (exit 0).*: $tasks succeeded" \
    || { echo "$way: the run did not succeed:" >&2; tail -5 "$out" >&2; exit 1; }
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
}

ways=(plain plain-pty tty)
run_once plain >/dev/null # warm the page cache
for _ in $(seq "$runs"); do
  for way in "${ways[@]}"; do
    run_once "$way" >>"$tmp/$way.ms"
  done
done

printf '%s tasks, -j 2, %s runs each (load average before: %s)\n' "$tasks" "$runs" "$load"
printf '%-10s %10s   %s\n' way 'median ms' 'all runs (ms)'
declare -A med
for way in "${ways[@]}"; do
  med[$way]=$(median <"$tmp/$way.ms")
  printf '%-10s %10.1f   %s\n' "$way" "${med[$way]}" "$(tr '\n' ' ' <"$tmp/$way.ms")"
done
awk -v p="${med[plain]}" -v t="${med[tty]}" -v q="${med[plain-pty]}" 'BEGIN {
  printf "tty overhead: %+.1f%% over plain to /dev/null, %+.1f%% over plain on the pty\n",
    (t - p) / p * 100, (t - q) / q * 100
}'
