#!/usr/bin/env bash
# Times `runner run` next to the spawn floor and the peers (make, ninja, xargs, GNU parallel) with
# the shared benchmark harness (../shared/bench), all tools of a case in one hyperfine call, in the
# harness's minimal environment. Results go to a temp dir; nothing is written into ../shared.
#
#   benches/peers.sh                       # the graph cases and the queue case
#   CASES=fanout-1000 benches/peers.sh     # some graph cases only (comma separated)
#   QUEUE=0 benches/peers.sh               # skip the queue case
set -euo pipefail
cd "$(dirname "$0")/.."
bench=../shared/bench
[ -d "$bench" ] || { echo "missing $bench" >&2; exit 2; }
for tool in hyperfine make ninja parallel; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run $bench/setup.sh" >&2; exit 2; }
done
cargo build --release --quiet
export RUNNER="$PWD/target/release/runner"
export BENCH_RESULTS="${BENCH_RESULTS:-$(mktemp -d)}"
export BENCH_WORK="${BENCH_WORK:-/tmp/runner-bench}"
cases="${CASES:-fanout-1000,fanout-10000,chain-1000,layered-10x100}"
python3 "$bench/run.py" --only "$cases" --tools make,ninja,runner build time >&2
if [ "${QUEUE:-1}" != 0 ]; then
  python3 "$bench/run.py" queue >&2
fi
python3 - "$BENCH_RESULTS" <<'PY'
import glob, json, os, sys
print(f"{'case':16} {'tool':9} {'median s':>9} {'x floor':>8} {'over floor ms/task':>19}")
for path in sorted(glob.glob(os.path.join(sys.argv[1], "hyperfine-*.json"))):
    case = os.path.basename(path)[len("hyperfine-"):-len(".json")]
    if case.startswith("floor-"):
        continue
    results = {r["command"]: r["median"] for r in json.load(open(path))["results"]}
    floor = results.get("floor")
    n = int(case.split("-")[-1].split("x")[-1]) if "x" not in case else 1001
    n = {"fanout-1000": 1001, "fanout-10000": 10001}.get(case, n)
    for tool, median in results.items():
        ratio = median / floor if floor else float("nan")
        over = (median - floor) / n * 1000 if floor else float("nan")
        print(f"{case:16} {tool:9} {median:9.4f} {ratio:8.3f} {over:19.3f}")
PY
echo "raw hyperfine results: $BENCH_RESULTS" >&2
