//! Memory that stays bounded while a run goes on: results are dropped once nothing can read
//! them; unbounded queues spill to a temp file; a consumer's workers cost nothing until they run.

use crate::support::{Test, require};
use std::time::Duration;

/// The job of `tasks` tasks, each printing a 1.1 MB line (its result keeps 1 MiB of it); with
/// `chain`, each needs the one before, so each result is read once, by the next task.
fn big_results(tasks: usize, chain: bool) -> Test {
  let mut yaml = String::from("tasks:\n");
  for i in 0..tasks {
    let needs = if chain && i > 0 { format!(", needs: [t{}]", i - 1) } else { String::new() };
    yaml += &format!("  t{i}: {{run: \"head -c 1100000 /dev/zero | tr '\\\\0' x\"{needs}}}\n");
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
