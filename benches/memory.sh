#!/usr/bin/env bash
# Measures the runner's peak memory (VmHWM, from /usr/bin/time -v) in the runs that used to grow
# without bound, and prints one line per case: its peak RSS in MB and its wall time. Not a test:
# run it by hand on a quiet machine after changing results, queues or consumers.
#
#   results   TASKS tasks (1500) each printing 2 MB of lines, -j 4, output to /dev/null
#   chain     the same tasks, each needing the one before: every result is read, by the next
#   queue     a producer putting `yes item | head -n ITEMS` (20,000,000) lines on an unbounded
#             queue whose one consumer sleeps 1 s an item; a task that needs the producer fails
#             under --fail-fast, so the run ends right after the last item is put
#   workers   a consumer with `workers: 4096` and 3 items
#
# usage: benches/memory.sh                        # every case, with target/debug/runner
#        RUNNER=path/to/runner CASES=queue benches/memory.sh
#        TASKS=300 ITEMS=2000000 benches/memory.sh
set -euo pipefail

cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
if [ -z "${RUNNER:-}" ]; then
  cargo build --quiet
  RUNNER="$PWD/target/debug/runner"
fi
cases=${CASES:-results,chain,queue,workers}
tasks=${TASKS:-1500}
items=${ITEMS:-20000000}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

results_job() {
  echo "tasks:"
  for i in $(seq "$tasks"); do
    echo "  t$i: {run: 'yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c 2000000'}"
  done
}

chain_job() {
  results_job | awk 'NR > 2 { sub(/}$/, ", needs: [t" NR - 2 "]}") } { print }'
}

queue_job() {
  cat <<EOF
queues: {q: {}}
tasks:
  producer: {run: 'yes item | head -n $items', produces: q}
  consumer: {run: sleep 1, consumes: q}
  stopper: {run: 'false', needs: [producer]}
EOF
}

workers_job() {
  cat <<EOF
queues: {q: {items: [a, b, c]}}
tasks:
  consumer: {run: 'true', consumes: q, workers: 4096}
EOF
}

# Runs the case's job; prints its name, peak RSS and wall time.
measure() {
  local name=$1
  shift
  "${name}_job" >"$tmp/$name.yaml"
  /usr/bin/time -v -o "$tmp/$name.time" "$RUNNER" run "$tmp/$name.yaml" --output plain "$@" \
    >/dev/null 2>"$tmp/$name.err" || true
  local kb wall
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/$name.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/$name.time")
  printf '%-8s peak RSS %8.1f MB   wall %s\n' "$name" "$(echo "$kb / 1024" | bc -l)" "$wall"
}

for case in ${cases//,/ }; do
  case $case in
    results) measure results -j 4 ;;
    chain) measure chain ;;
    queue) measure queue --fail-fast ;;
    workers) measure workers ;;
    *) echo "unknown case $case" >&2; exit 2 ;;
  esac
done
