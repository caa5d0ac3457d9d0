#!/usr/bin/env bash
# Benchmarks `runner validate` on generated job files (chains of 100 tasks with fan-ins; see
# gen_tasks.py): median wall time and peak RSS of RUNS runs per size, and how the largest size
# compares with the smallest. Not a test: run it by hand after changing the compiler.
# GNU time gives the RSS and a wall time in 10 ms steps; bash's EPOCHREALTIME around the same
# run gives the wall time to the millisecond (including the few hundred µs time(1) adds).
#
# usage: benches/validate.sh            # 10k and 100k tasks, 5 runs each
#        RUNS=9 SIZES="1000 10000 100000" benches/validate.sh
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${RUNS:-5}
read -r -a sizes <<<"${SIZES:-10000 100000}"
time_cmd=/usr/bin/time
[[ -x $time_cmd ]] || { echo "needs GNU time at $time_cmd" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build --release --quiet
runner=target/release/runner

# The median of the numbers on stdin.
median() {
  sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

printf '%-8s %9s %5s %14s %10s %10s\n' tasks file runs 'median time(1)' 'median ms' 'peak RSS'
declare -A med
for n in "${sizes[@]}"; do
  file="$tmp/tasks-$n.yaml"
  python3 benches/gen_tasks.py "$n" >"$file"
  # One untimed run: checks the file is valid and warms the page cache.
  out=$("$runner" validate "$file")
  [[ $out == *"ok ($n tasks"* ]] || { echo "unexpected output: $out" >&2; exit 1; }
  : >"$tmp/times"
  for _ in $(seq "$runs"); do
    start=$EPOCHREALTIME
    "$time_cmd" -f '%e %M' -o "$tmp/one" "$runner" validate "$file" >/dev/null
    end=$EPOCHREALTIME
    echo "$(cat "$tmp/one") $(awk -v a="$start" -v b="$end" 'BEGIN { print (b - a) * 1000 }')" \
      >>"$tmp/times"
  done
  seconds=$(cut -d' ' -f1 "$tmp/times" | median)
  med[$n]=$(cut -d' ' -f3 "$tmp/times" | median)
  rss_kb=$(cut -d' ' -f2 "$tmp/times" | sort -g | tail -1)
  printf '%-8s %7sKB %5s %13ss %10.1f %7.1f MB\n' "$n" "$(($(wc -c <"$file") / 1024))" "$runs" \
    "$seconds" "${med[$n]}" "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')"
done

if ((${#sizes[@]} > 1)); then
  first=${sizes[0]}
  last=${sizes[-1]}
  awk -v a="${med[$first]}" -v b="${med[$last]}" -v na="$first" -v nb="$last" 'BEGIN {
    printf "%s/%s tasks: %.1fx the median time for %.0fx the tasks\n", nb, na, b / a, nb / na
  }'
fi
