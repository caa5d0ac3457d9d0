//! Memory that stays bounded while a run goes on: results are dropped once nothing can read
//! them; unbounded queues spill to a temp file; a consumer's workers cost nothing until they run.

use crate::support::{Test, require};
use std::time::Duration;

/// The job of `tasks` tasks, each printing 1.1 MB in lines of 1000 bytes (its result keeps 1 MiB
/// of it); with `chain`, each needs the one before, so each result is read once, by the next.
fn big_results(tasks: usize, chain: bool) -> Test {
  let mut yaml = String::from("tasks:\n");
  for i in 0..tasks {
    let needs = if chain && i > 0 { format!(", needs: [t{}]", i - 1) } else { String::new() };
    yaml += &format!(
      "  t{i}: {{run: \"head -c 1100000 /dev/zero | tr '\\\\0' x | fold -w 1000\"{needs}}}\n"
    );
  }
  yaml += &format!(
    "  last: {{run: 'echo ${{#RUNNER_RESULT_T{}}} > last.txt', needs: [t{}]}}\n",
    tasks - 1,
    tasks - 1
  );
  Test::with_job(&yaml)
}

#[test]
fn results_nothing_reads_any_more_are_dropped() {
  if !require("/usr/bin/time") {
    return;
  }
  // 60 results of 1 MiB: kept for the whole run, they would take over 60 MB.
  for chain in [false, true] {
    let test = big_results(60, chain);
    let run = test.measure(&["run", "job.yaml", "-j", "2"], Duration::from_secs(120));
    assert!(run.status.success(), "exit {:?}\n{}", run.status, run.report);
    // The last result still reached its reader (cut to what one variable can carry).
    assert_eq!(test.read("last.txt").trim(), "130816", "chain: {chain}");
    let kb = run.peak_kb;
    assert!(kb < 40 * 1024, "chain: {chain}: peak RSS {kb} kB");
  }
}

#[test]
fn a_consumer_with_the_most_workers_runs_each_item_once_on_a_worker_in_range() {
  let test = Test::with_job(
    r#"
    queues:
      q: {items: [a, b, c, d]}
    tasks:
      work:
        consumes: q
        workers: 4096
        run: echo "$RUNNER_ITEM $RUNNER_WORKER" >> seen.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(0);
  let mut items = Vec::new();
  for line in test.read("seen.txt").lines() {
    let (item, worker) = line.split_once(' ').expect("item and worker");
    let worker: u32 = worker.parse().expect("a worker number");
    // Workers are made as items run: four items never need a fifth worker.
    assert!(worker < 4, "{line}");
    items.push(item.to_string());
  }
  items.sort();
  assert_eq!(items, ["a", "b", "c", "d"]);
}

#[test]
fn a_fast_producer_on_an_unbounded_queue_spills_to_disk_and_every_item_is_counted() {
  if !require("/usr/bin/time") {
    return;
  }
  // 800,000 items put while the one consumer's first item waits for the producer's end; then
  // it fails and --fail-fast leaves the rest never taken. In memory they would take over 50 MB.
  let test = Test::with_job(
    r#"
    queues: {q: {}}
    tasks:
      producer: {run: 'yes item | head -n 800000', produces: q}
      mark: {run: touch produced, needs: [producer]}
      consumer:
        consumes: q
        run: 'while [ ! -e produced ]; do sleep 0.05; done; exit 1'
    "#,
  );
  let args = ["run", "job.yaml", "--fail-fast", "--report", "report.json"];
  let run = test.measure(&args, Duration::from_secs(60));
  assert_eq!(run.status.code(), Some(1), "{}", run.report);
  let report: serde_json::Value = serde_json::from_str(&test.read("report.json")).expect("JSON");
  let q = &report["queues"][0];
  assert_eq!((&q["put"], &q["taken"], &q["failed"]), (&800_000.into(), &1.into(), &1.into()));
  assert_eq!(q["left_total"], 799_999, "{}", q["left_total"]);
  let kb = run.peak_kb;
  assert!(kb < 30 * 1024, "peak RSS {kb} kB");
}
