//! Queues end to end, following the spec's "Queues" section: producers' stdout lines become
//! items, consumers run once per item with `RUNNER_ITEM`, `RUNNER_WORKER` and `RUNNER_ATTEMPT`,
//! and the report accounts for every item. Real YAML, the real binary, real processes.
//!
//! What happened is observed through files the tasks append to (one short line per `>>`, which
//! is atomic), through the NDJSON events, and through the process table. Every runner started
//! in the background gets a unique environment variable, inherited by every process of its
//! tasks, so "no item process outlives the run" can be checked whatever the processes run.

use crate::support::{
  Background, PATIENCE, Reaper, Run, Test, assert_all_gone, assert_line, assert_line_starting,
  events, lines_of, parse, require, sleeping, tail, wait_child, wait_until,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs the runner in the background with a tag of its own until it exits; then no process of
/// its tasks may be left.
#[track_caller]
fn run_to_its_end(test: &Test, args: &[&str]) -> Run {
  let reaper = Reaper::new("queues");
  let (run, _) = Background::spawn(test, reaper.tag(), args).wait(PATIENCE);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
  run
}

/// How many times each string occurs.
fn multiset<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> BTreeMap<String, usize> {
  let mut counts = BTreeMap::new();
  for item in items {
    *counts.entry(item.into()).or_insert(0) += 1;
  }
  counts
}

/// The plain line `[CONSUMER#W] item `ITEM` ...` for `item`, with the worker number cut out:
/// `item `ITEM` succeeded`, `item `ITEM` failed (exit 3) after 2 attempts`, ...
fn item_lines(run: &Run, consumer: &str) -> BTreeMap<String, Vec<String>> {
  let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
  let prefix = format!("[{consumer}#");
  for line in run.stdout.lines() {
    let Some(rest) = line.strip_prefix(&prefix) else { continue };
    let Some((worker, what)) = rest.split_once("] item `") else { continue };
    assert!(worker.parse::<u32>().is_ok(), "bad worker in {line:?}");
    let Some((item, outcome)) = what.rsplit_once("` ") else { continue };
    found.entry(item.to_string()).or_default().push(outcome.to_string());
  }
  found
}

/// The only event matching `fields` (all of them equal).
#[track_caller]
fn the_event(events: &[Value], fields: Value) -> &Value {
  let matching: Vec<&Value> =
    events.iter().filter(|e| fields.as_object().unwrap().iter().all(|(k, v)| &e[k] == v)).collect();
  assert_eq!(matching.len(), 1, "events matching {fields}: {matching:#?}");
  matching[0]
}

/// The `item_finished` events of `consumer`.
fn items_finished<'a>(events: &'a [Value], consumer: &str) -> Vec<&'a Value> {
  events.iter().filter(|e| e["event"] == "item_finished" && e["consumer"] == consumer).collect()
}

fn as_u64(value: &Value) -> u64 {
  value.as_u64().unwrap_or_else(|| panic!("not a count: {value}"))
}

fn strings(value: &Value) -> Vec<String> {
  value
    .as_array()
    .unwrap_or_else(|| panic!("not an array: {value}"))
    .iter()
    .map(|v| v.as_str().expect("a string").to_string())
    .collect()
}

/// A consumer's result with its `failed` list sorted (workers finish items in any order).
#[track_caller]
fn consumer_result(text: &str) -> (u64, Vec<String>) {
  let value = parse(text);
  let keys: BTreeSet<&str> = value.as_object().expect("an object").keys().map(|k| &**k).collect();
  assert_eq!(keys, BTreeSet::from(["done", "failed"]), "{value}");
  let mut failed = strings(&value["failed"]);
  failed.sort();
  (as_u64(&value["done"]), failed)
}

/// The queue's `queue_finished` event checked for the invariant the spec promises: no item is
/// dropped silently. Every item taken ended done, failed or cancelled; every item put was taken
/// or is listed as never taken. Returns (put, taken, done, failed, cancelled, left).
#[track_caller]
fn accounted(events: &[Value], queue: &str) -> (u64, u64, u64, u64, u64, Vec<String>) {
  let e = the_event(events, json!({"event": "queue_finished", "queue": queue}));
  let (put, taken) = (as_u64(&e["put"]), as_u64(&e["taken"]));
  let (done, failed, cancelled) =
    (as_u64(&e["done"]), as_u64(&e["failed"]), as_u64(&e["cancelled"]));
  let left = strings(&e["left"]);
  assert_eq!(done + failed + cancelled, taken, "taken items not accounted for: {e}");
  assert_eq!(taken + left.len() as u64, put, "put items not accounted for: {e}");
  (put, taken, done, failed, cancelled, left)
}

// ---------------------------------------------------------------------------------------------
// Every item once, failures by item

/// Two producers of 200 items each plus two static items through a queue of 10, three workers;
/// items ending in 7 fail.
const MANY: &str = r#"
  queues:
    orders:
      maxsize: 10
      items: [static-1, static-2]
  tasks:
    north:
      produces: orders
      run: for i in $(seq 1 200); do echo "north-$i"; done
    south:
      produces: orders
      run: for i in $(seq 1 200); do echo "south-$i"; done
    work:
      consumes: orders
      workers: 3
      run: |
        echo "$RUNNER_ITEM" >> handled.txt
        case "$RUNNER_ITEM" in *7) exit 3;; esac
      on_done: printf '%s' "$RUNNER_RESULT" > work-result.json
  "#;

fn many_items() -> Vec<String> {
  let mut items = vec!["static-1".to_string(), "static-2".to_string()];
  for side in ["north", "south"] {
    items.extend((1..=200).map(|i| format!("{side}-{i}")));
  }
  items
}

fn many_failing() -> Vec<String> {
  let mut failing: Vec<String> = many_items().into_iter().filter(|i| i.ends_with('7')).collect();
  failing.sort();
  failing
}

#[test]
fn every_item_is_handled_exactly_once_and_failed_items_are_reported() {
  let test = Test::with_job(MANY);
  let all = many_items();
  let failing = many_failing();
  assert_eq!((all.len(), failing.len()), (402, 40));

  // Plain output.
  let run = test.run(&["run", "job.yaml", "-j", "4", "--output", "plain"]);
  run.code(1);
  assert_eq!(multiset(lines_of(&test, "handled.txt")), multiset(all.clone()), "handled items");
  let lines = item_lines(&run, "work");
  assert_eq!(lines.len(), all.len(), "one item line per item");
  for item in &all {
    let expected = if item.ends_with('7') { "failed (exit 3)" } else { "succeeded" };
    assert_eq!(lines[item], [expected], "item {item}");
  }
  assert_line(&run, "[queue orders] 402 put, 402 taken: 362 done, 40 failed, 0 cancelled");
  assert_line_starting(&run, "[work] failed");
  assert_line_starting(&run, "runner: failed (exit 1)");
  assert_eq!(consumer_result(&test.read("work-result.json")), (362, failing.clone()));

  // JSON events.
  std::fs::remove_file(test.path("handled.txt")).unwrap();
  let run = test.run(&["run", "job.yaml", "-j", "4", "--output", "json"]);
  run.code(1);
  assert_eq!(multiset(lines_of(&test, "handled.txt")), multiset(all.clone()), "handled items");
  let events = events(&run);
  let finished = items_finished(&events, "work");
  assert_eq!(multiset(finished.iter().map(|e| e["item"].as_str().unwrap())), multiset(all.clone()));
  for e in &finished {
    let item = e["item"].as_str().unwrap();
    assert_eq!(e["queue"], "orders");
    assert!(as_u64(&e["worker"]) < 3, "{e}");
    assert_eq!(e["attempts"], 1, "{e}");
    if item.ends_with('7') {
      assert_eq!((&e["status"], &e["exit"]["code"]), (&json!("failed"), &json!(3)), "{e}");
    } else {
      assert_eq!(e["status"], "succeeded", "{e}");
    }
  }
  let mut failed_events: Vec<String> = finished
    .iter()
    .filter(|e| e["status"] == "failed")
    .map(|e| e["item"].as_str().unwrap().to_string())
    .collect();
  failed_events.sort();
  assert_eq!(failed_events, failing);
  assert_eq!(accounted(&events, "orders"), (402, 402, 362, 40, 0, vec![]));
  // The last `queue_state` is the final count, and the counts never go down.
  let states: Vec<&Value> = events.iter().filter(|e| e["event"] == "queue_state").collect();
  assert!(!states.is_empty(), "no queue_state event");
  for pair in states.windows(2) {
    for key in ["put", "taken", "done", "failed"] {
      assert!(as_u64(&pair[0][key]) <= as_u64(&pair[1][key]), "{key} went down: {pair:?}");
    }
  }
  let last = states.last().unwrap();
  assert_eq!(
    (&last["depth"], &last["put"], &last["taken"], &last["done"], &last["failed"]),
    (&json!(0), &json!(402), &json!(402), &json!(362), &json!(40)),
    "{last}"
  );
  let work = the_event(&events, json!({"event": "task_finished", "task": "work"}));
  assert_eq!(work["status"], "failed");
  assert_eq!(events.last().unwrap()["exit_code"], 1);
  assert_eq!(consumer_result(&test.read("work-result.json")), (362, failing.clone()));

  // An allowed failure: the same items, the same report, but exit 0.
  std::fs::remove_file(test.path("handled.txt")).unwrap();
  test.write(
    "allowed.yaml",
    &crate::support::dedent(MANY)
      .replace("    workers: 3\n", "    workers: 3\n    allow_failure: true\n"),
  );
  let run = test.run(&["run", "allowed.yaml", "-j", "4", "--output", "plain"]);
  run.code(0);
  assert_eq!(multiset(lines_of(&test, "handled.txt")), multiset(all));
  assert_line(&run, "[queue orders] 402 put, 402 taken: 362 done, 40 failed, 0 cancelled");
  let worker = worker_of(&run, "north-7");
  assert_line(&run, &format!("[work#{worker}] item `north-7` failed (exit 3)"));
  assert_line_starting(&run, "runner: succeeded (exit 0)");
  assert_eq!(consumer_result(&test.read("work-result.json")), (362, failing));
}

/// The worker number printed for `item`.
fn worker_of(run: &Run, item: &str) -> String {
  let needle = format!("] item `{item}` ");
  run
    .stdout
    .lines()
    .find(|l| l.starts_with("[work#") && l.contains(&needle))
    .and_then(|l| l.strip_prefix("[work#")?.split(']').next().map(str::to_string))
    .unwrap_or_else(|| panic!("no item line for {item}\n{}", tail(&run.stdout, 40)))
}

#[test]
fn an_allowed_failure_of_a_consumer_lets_its_dependent_see_the_failed_items() {
  let test = Test::with_job(
    r#"
    queues:
      q: {items: [a, b7, c, d7]}
    tasks:
      work:
        consumes: q
        allow_failure: true
        run: case "$RUNNER_ITEM" in *7) exit 3;; esac
      after:
        needs: [work]
        run: printf '%s' "$RUNNER_RESULT_WORK" > after.txt
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(0);
  assert_line(&run, "[work#0] item `b7` failed (exit 3)");
  assert_line(&run, "[work#0] item `d7` failed (exit 3)");
  assert_line(&run, "[work#0] item `a` succeeded");
  assert_line(&run, "[queue q] 4 put, 4 taken: 2 done, 2 failed, 0 cancelled");
  // One worker takes the items in order, so the failed list is in order too.
  assert_eq!(parse(&test.read("after.txt")), json!({"done": 2, "failed": ["b7", "d7"]}));
  assert_line_starting(&run, "runner: succeeded (exit 0)");
}

// ---------------------------------------------------------------------------------------------
// Queues without producers

#[test]
fn a_queue_with_no_producers_and_no_items_finishes_at_once() {
  // `slow` only ends once `after` has run: if the consumer waited for anything (the end of the
  // run, a producer that never comes), `slow` would fail after 20 s.
  let test = Test::with_job(
    r#"
    queues:
      nothing: {}
    tasks:
      idle:
        consumes: nothing
        workers: 2
        run: touch idle.ran
      after:
        needs: [idle]
        run: printf '%s' "$RUNNER_RESULT_IDLE" > after.txt
      slow:
        run: |
          for i in $(seq 1 400); do [ -e after.txt ] && exit 0; sleep 0.05; done
          exit 1
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "2", "--output", "plain"]);
  run.code(0);
  assert!(!test.path("idle.ran").exists(), "the consumer ran with no item");
  assert_eq!(parse(&test.read("after.txt")), json!({"done": 0, "failed": []}));
  assert_line_starting(&run, "[idle] succeeded");
  assert_line_starting(&run, "[slow] succeeded");
  assert_line(&run, "[queue nothing] 0 put, 0 taken: 0 done, 0 failed, 0 cancelled");
  assert_line_starting(&run, "runner: succeeded (exit 0)");
}

#[test]
fn static_items_only() {
  let test = Test::with_job(
    r#"
    queues:
      teas:
        items: [green, "earl grey", "$(touch pwned)", "  padded  "]
    tasks:
      brew:
        consumes: teas
        run: printf '%s|%s\n' "$RUNNER_ITEM" "$RUNNER_WORKER" >> brewed.txt
      close:
        needs: [brew]
        run: printf '%s' "$RUNNER_RESULT_BREW" > close.txt
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(0);
  // One worker: first in, first out, each item verbatim (never run as code).
  assert_eq!(
    std::fs::read_to_string(test.path("brewed.txt")).unwrap(),
    "green|0\nearl grey|0\n$(touch pwned)|0\n  padded  |0\n"
  );
  assert!(!test.path("pwned").exists(), "an item was run as code");
  assert_line(&run, "[brew#0] item `earl grey` succeeded");
  assert_line(&run, "[queue teas] 4 put, 4 taken: 4 done, 0 failed, 0 cancelled");
  assert_eq!(parse(&test.read("close.txt")), json!({"done": 4, "failed": []}));
}

// ---------------------------------------------------------------------------------------------
// Retries and workers

#[test]
fn retries_apply_per_item_with_runner_attempt() {
  let test = Test::with_job(
    r#"
    queues:
      q: {items: [once, twice, never]}
    tasks:
      work:
        consumes: q
        retries: 2
        run: |
          echo "$RUNNER_ITEM $RUNNER_ATTEMPT" >> attempts.txt
          case "$RUNNER_ITEM" in
            twice) [ "$RUNNER_ATTEMPT" -ge 2 ];;
            never) exit 4;;
          esac
      after:
        needs: [work]
        run: touch after.ran
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(1);
  assert_eq!(
    lines_of(&test, "attempts.txt"),
    ["once 1", "twice 1", "twice 2", "never 1", "never 2", "never 3"]
  );
  assert_line(&run, "[work#0] item `once` succeeded");
  assert_line(&run, "[work#0] item `twice` succeeded after 2 attempts");
  assert_line(&run, "[work#0] item `never` failed (exit 4) after 3 attempts");
  // Only the final outcome of an item is reported, and the consumer itself is not retried.
  assert_eq!(item_lines(&run, "work").values().map(Vec::len).sum::<usize>(), 3);
  assert_eq!(run.stdout.lines().filter(|l| l.starts_with("[work] started")).count(), 1);
  assert_line(&run, "[queue q] 3 put, 3 taken: 2 done, 1 failed, 0 cancelled");
  assert!(!test.path("after.ran").exists(), "a failed consumer's dependent ran");

  let run = test.run(&["run", "job.yaml", "--output", "json"]);
  run.code(1);
  let events = events(&run);
  let attempts: BTreeMap<String, (Value, Value)> = items_finished(&events, "work")
    .iter()
    .map(|e| {
      (e["item"].as_str().unwrap().to_string(), (e["attempts"].clone(), e["status"].clone()))
    })
    .collect();
  assert_eq!(attempts["once"], (json!(1), json!("succeeded")));
  assert_eq!(attempts["twice"], (json!(2), json!("succeeded")));
  assert_eq!(attempts["never"], (json!(3), json!("failed")));
}

#[test]
fn workers_bound_the_items_running_at_once() {
  // Each item logs its start and end with a nanosecond clock; within one worker the end of an
  // item is logged before the next one starts, so any overlap in the log is real concurrency.
  let test = Test::with_job(
    r#"
    queues:
      q: {items: [i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12]}
    tasks:
      work:
        consumes: q
        workers: 3
        run: |
          echo "$(date +%s%N) start $RUNNER_ITEM $RUNNER_WORKER" >> spans.txt
          sleep 0.3
          echo "$(date +%s%N) end $RUNNER_ITEM $RUNNER_WORKER" >> spans.txt
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "4", "--output", "plain"]);
  run.code(0);
  let mut marks: Vec<(u128, bool, String, u32)> = lines_of(&test, "spans.txt")
    .iter()
    .map(|l| {
      let f: Vec<&str> = l.split(' ').collect();
      assert_eq!(f.len(), 4, "{l:?}");
      (f[0].parse().unwrap(), f[1] == "start", f[2].to_string(), f[3].parse().unwrap())
    })
    .collect();
  assert_eq!(marks.len(), 24, "a start and an end per item");
  let workers: BTreeSet<u32> = marks.iter().map(|m| m.3).collect();
  assert!(workers.iter().all(|&w| w < 3), "RUNNER_WORKER outside 0..3: {workers:?}");
  assert_eq!(workers, BTreeSet::from([0, 1, 2]), "every worker took items");
  // The worker of each item's start is the worker of its end, and of its item line.
  let lines = item_lines(&run, "work");
  assert_eq!(lines.len(), 12);
  for (_, is_start, item, worker) in &marks {
    if *is_start {
      assert_line(&run, &format!("[work#{worker}] item `{item}` succeeded"));
    }
  }
  // Ends sort before starts at the same instant.
  marks.sort_by_key(|m| (m.0, m.1));
  let (mut running, mut most) = (0i32, 0i32);
  let mut per_worker: BTreeMap<u32, i32> = BTreeMap::new();
  for (_, is_start, item, worker) in &marks {
    let delta = if *is_start { 1 } else { -1 };
    running += delta;
    most = most.max(running);
    let mine = per_worker.entry(*worker).or_insert(0);
    *mine += delta;
    assert!((0..=1).contains(mine), "worker {worker} ran two items at once (at {item})");
  }
  println!("at most {most} items ran at once with workers: 3");
  assert!(most <= 3, "{most} items ran at once with workers: 3");
  assert!(most >= 2, "the workers never ran items in parallel");
}

#[test]
fn several_consumers_on_one_queue_share_the_items() {
  let test = Test::with_job(
    r#"
    queues:
      q: {maxsize: 4}
    tasks:
      feed:
        produces: q
        run: for i in $(seq 1 60); do echo "item-$i"; done
      left:
        consumes: q
        workers: 2
        run: echo "$RUNNER_TASK $RUNNER_ITEM" >> handled.txt; sleep 0.02
      right:
        consumes: q
        run: echo "$RUNNER_TASK $RUNNER_ITEM" >> handled.txt; sleep 0.02
      after:
        needs: [left, right]
        run: printf '%s\n%s\n' "$RUNNER_RESULT_LEFT" "$RUNNER_RESULT_RIGHT" > after.txt
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(0);
  let handled = lines_of(&test, "handled.txt");
  let items: Vec<&str> = handled.iter().map(|l| l.split_once(' ').unwrap().1).collect();
  let all: Vec<String> = (1..=60).map(|i| format!("item-{i}")).collect();
  assert_eq!(multiset(items), multiset(all), "each item handled once, by one consumer");
  let by = |who: &str| handled.iter().filter(|l| l.starts_with(&format!("{who} "))).count();
  let (left, right) = (by("left"), by("right"));
  assert!(left > 0 && right > 0, "one consumer took every item: left {left}, right {right}");
  let results: Vec<Value> = lines_of(&test, "after.txt").iter().map(|l| parse(l)).collect();
  assert_eq!(results, [json!({"done": left, "failed": []}), json!({"done": right, "failed": []})]);
  assert_eq!(item_lines(&run, "left").len() + item_lines(&run, "right").len(), 60);
  assert_line(&run, "[queue q] 60 put, 60 taken: 60 done, 0 failed, 0 cancelled");
}

// ---------------------------------------------------------------------------------------------
// Results and targets

#[test]
fn a_producer_result_is_the_number_of_items_it_put() {
  // `gaps` writes empty lines, which are no items. `pa` and `pb` share a queue (with two static
  // items) and overlap in time: `pa` is still running while `pb` puts its items.
  let test = Test::with_job(
    r#"
    queues:
      solo: {}
      shared: {items: [s1, s2]}
    tasks:
      gaps:
        produces: solo
        run: printf 'a\n\nb\n\n\nc\n\n'
      pa:
        produces: shared
        run: |
          touch pa.started
          printf 'a1\na2\na3\n'
          for i in $(seq 1 400); do [ -e pb.done ] && break; sleep 0.05; done
          sleep 0.5
      pb:
        produces: shared
        run: |
          for i in $(seq 1 400); do [ -e pa.started ] && break; sleep 0.05; done
          printf 'b1\nb2\nb3\nb4\nb5\n'
          touch pb.done
      take-solo:
        consumes: solo
        run: 'true'
      take-shared:
        consumes: shared
        run: 'true'
      count:
        needs: [gaps, pa, pb]
        run: echo "$RUNNER_RESULT_GAPS $RUNNER_RESULT_PA $RUNNER_RESULT_PB" > count.txt
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "4", "--output", "plain"]);
  run.code(0);
  assert_line(&run, "[queue solo] 3 put, 3 taken: 3 done, 0 failed, 0 cancelled");
  assert_line(&run, "[queue shared] 10 put, 10 taken: 10 done, 0 failed, 0 cancelled");
  assert_eq!(test.read("count.txt").trim(), "3 3 5", "results of gaps, pa and pb");
}

#[test]
fn targeting_a_consumer_also_runs_its_producers() {
  let test = Test::with_job(
    r#"
    queues:
      q: {maxsize: 2}
    tasks:
      setup:
        run: touch setup.ran
      feed:
        needs: [setup]
        produces: q
        run: printf 'x\ny\nz\n'
      work:
        consumes: q
        run: echo "$RUNNER_ITEM" >> handled.txt
      after:
        needs: [work]
        run: touch after.ran
      other:
        run: touch other.ran
    "#,
  );
  let run = test.run(&["run", "job.yaml", "work", "--output", "plain"]);
  run.code(0);
  assert!(test.path("setup.ran").exists(), "the producer's own needs did not run");
  assert_eq!(lines_of(&test, "handled.txt"), ["x", "y", "z"]);
  assert!(!test.path("after.ran").exists() && !test.path("other.ran").exists(), "{}", run.stdout);
  assert_line_starting(&run, "[feed] succeeded");
  assert_line(&run, "[queue q] 3 put, 3 taken: 3 done, 0 failed, 0 cancelled");
}

// ---------------------------------------------------------------------------------------------
// Cancellation: every item accounted for, no item process left

#[derive(Clone, Copy, PartialEq, Debug)]
enum Stop {
  FailFast,
  Sigint,
}

/// A producer puts `items` items (more than a full queue holds when `maxsize` is small) and
/// then stays running; two workers each start an item that sleeps. The run is stopped by
/// another task failing under `--fail-fast`, or by SIGINT. The report must account for every
/// item put, and no process of the run may survive it.
fn cancel_a_queue_run(stop: Stop, maxsize: usize, items: usize) {
  let reaper = Reaper::new("queues");
  let tag = reaper.tag();
  let (item_sleep, feed_sleep) = ("281.5", "282.5");
  let broken = match stop {
    // Fails once the test has seen both items' sleeps run.
    Stop::FailFast => "  broken:\n    run: while [ ! -e go ]; do sleep 0.02; done; exit 3\n",
    Stop::Sigint => "",
  };
  let yaml = format!(
    "queues:\n  q: {{maxsize: {maxsize}}}\ntasks:\n  feed:\n    produces: q\n    run: \
     for i in $(seq 1 {items}); do echo \"item-$i\"; done; touch feed.printed; sleep {feed_sleep}\n  \
     work:\n    consumes: q\n    workers: 2\n    run: touch \"started.$RUNNER_ITEM\"; sleep \
     {item_sleep}\n  after:\n    needs: [work]\n    run: touch after.ran\n{broken}"
  );
  let test = Test::new();
  test.write("job.yaml", &yaml);
  let mut args = vec!["run", "job.yaml", "-j", "4", "--kill-grace", "2s", "--output", "json"];
  if stop == Stop::FailFast {
    args.push("--fail-fast");
  }
  let runner = Background::spawn(&test, tag, &args);
  wait_until("both workers run an item", PATIENCE, || {
    test.path("started.item-1").exists()
      && test.path("started.item-2").exists()
      && sleeping(tag, item_sleep) == 2
      && sleeping(tag, feed_sleep) == 1
  });
  match stop {
    Stop::FailFast => test.write("go", ""),
    Stop::Sigint => runner.signal(libc::SIGINT),
  }
  let (run, took) = runner.wait(PATIENCE);
  run.code(if stop == Stop::FailFast { 1 } else { 130 });
  assert!(took < Duration::from_secs(25), "took {took:?}");
  assert_all_gone(tag, Duration::from_secs(5));
  assert!(!test.path("after.ran").exists(), "a dependent of the cancelled consumer ran");

  let events = events(&run);
  let (put, taken, done, _failed, cancelled, left) = accounted(&events, "q");
  println!(
    "{stop:?}, maxsize {maxsize}: {put} put, {taken} taken, {cancelled} cancelled, {} left",
    left.len()
  );
  assert!(put >= 2 && put <= items as u64, "{put} put");
  assert_eq!(done, 0, "an item finished its 281 s sleep?");
  // The two items that were running were cancelled, not reported done or failed.
  for item in ["item-1", "item-2"] {
    let e = the_event(&events, json!({"event": "item_finished", "item": item}));
    assert_eq!(e["status"], "cancelled", "{e}");
  }
  // Every item put is reported exactly once: by an `item_finished` event or as never taken.
  // First in, first out: the items put are the first `put` lines of the producer.
  let finished = items_finished(&events, "work");
  assert_eq!(finished.len() as u64, taken);
  let reported = finished.iter().map(|e| e["item"].as_str().unwrap().to_string()).chain(left);
  let expected = (1..=put).map(|i| format!("item-{i}"));
  assert_eq!(multiset(reported), multiset(expected));
  let work = the_event(&events, json!({"event": "task_finished", "task": "work"}));
  assert_eq!(work["status"], "cancelled", "{work}");
  let feed = the_event(&events, json!({"event": "task_finished", "task": "feed"}));
  assert_eq!(feed["status"], "cancelled", "{feed}");
}

#[test]
fn fail_fast_during_a_queue_run_accounts_for_every_item() {
  // 30 items fit in the queue: the producer is only sleeping when the run is cancelled.
  cancel_a_queue_run(Stop::FailFast, 50, 30);
}

#[test]
fn sigint_during_a_queue_run_accounts_for_every_item() {
  cancel_a_queue_run(Stop::Sigint, 50, 30);
}

#[test]
fn fail_fast_with_a_full_queue_still_ends() {
  // 100 items into a queue of 3: when the consumer is cancelled, the runner is still waiting to
  // put the producer's lines.
  cancel_a_queue_run(Stop::FailFast, 3, 100);
}

#[test]
fn sigint_with_a_full_queue_still_ends() {
  cancel_a_queue_run(Stop::Sigint, 3, 100);
}

#[test]
fn a_skipped_consumer_does_not_leave_its_producer_blocked_forever() {
  // The consumer's need fails, so nothing will ever take items off the full queue. The run must
  // still end (the producer cannot be left blocked, nor the runner waiting for it), with every
  // item put accounted for.
  let test = Test::with_job(
    r#"
    queues:
      q: {maxsize: 3}
    tasks:
      broken:
        run: exit 3
      feed:
        produces: q
        run: for i in $(seq 1 100); do echo "item-$i"; done
      work:
        needs: [broken]
        consumes: q
        run: 'true'
    "#,
  );
  let run = run_to_its_end(&test, &["run", "job.yaml", "-j", "4", "--output", "json"]);
  run.code(1);
  let events = events(&run);
  let work = the_event(&events, json!({"event": "task_finished", "task": "work"}));
  assert_eq!(work["status"], "skipped");
  let (_, taken, ..) = accounted(&events, "q");
  assert_eq!(taken, 0, "nothing ran the items");
}

#[test]
fn targeting_only_a_producer_of_a_bounded_queue_does_not_hang() {
  // No consumer is selected, so nothing takes items off the queue. Whatever the runner does
  // with the producer's lines, it must not wait forever.
  let test = Test::with_job(
    r#"
    queues:
      q: {maxsize: 3}
    tasks:
      feed:
        produces: q
        run: for i in $(seq 1 100); do echo "item-$i"; done
      work:
        consumes: q
        run: 'true'
    "#,
  );
  let run = run_to_its_end(&test, &["run", "job.yaml", "feed", "--output", "plain"]);
  assert!(run.code == 0 || run.code == 1, "exit {}\n{}\n{}", run.code, run.stdout, run.stderr);
  assert_line_starting(&run, "[queue q] ");
}

// ---------------------------------------------------------------------------------------------
// Back-pressure and memory

#[test]
fn a_full_queue_blocks_the_producer() {
  // 300 lines of about 1 kB into a queue of 5, taken by one slow worker (20 ms per item). The
  // producer logs "wrote N" after each line; the consumer logs "took N" when an item starts.
  //
  // How far ahead a blocked producer can be, in lines: its stdout pipe (64 KiB: 65 lines), the
  // runner's 4 KiB read of that pipe (4 lines and a piece), the one line waiting to be put, the
  // queue (5) and the item just taken but not logged yet: 76. So the producer's last write can
  // only return once 300 - 76 = 224 items were taken. Without back-pressure it would finish
  // within a few items.
  let test = Test::with_job(
    r#"
    queues:
      q: {maxsize: 5}
    tasks:
      feed:
        produces: q
        run: |
          pad=$(head -c 1000 /dev/zero | tr '\0' x)
          for i in $(seq 1 300); do echo "$i $pad"; echo "wrote $i" >> log.txt; done
      work:
        consumes: q
        run: echo "took ${RUNNER_ITEM%% *}" >> log.txt; sleep 0.02
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(0);
  let log = lines_of(&test, "log.txt");
  let took: Vec<&String> = log.iter().filter(|l| l.starts_with("took ")).collect();
  let expected: Vec<String> = (1..=300).map(|i| format!("took {i}")).collect();
  assert_eq!(took, expected.iter().collect::<Vec<_>>(), "items taken first in, first out");
  let last = log.iter().position(|l| l == "wrote 300").expect("wrote 300");
  let taken_before = log[..last].iter().filter(|l| l.starts_with("took ")).count();
  let first = log.iter().position(|l| l == "wrote 1").expect("wrote 1");
  let taken_first = log[..first].iter().filter(|l| l.starts_with("took ")).count();
  println!(
    "back-pressure: the producer wrote its last line after {taken_before} of 300 items were taken \
     (its first after {taken_first})"
  );
  assert!(
    taken_before >= 220,
    "the producer finished after only {taken_before} of 300 items were taken"
  );
  assert_line(&run, "[queue q] 300 put, 300 taken: 300 done, 0 failed, 0 cancelled");
}

#[test]
fn a_producer_that_ended_while_its_queue_was_full_costs_no_cpu_while_it_drains() {
  if !require("/usr/bin/time") {
    return;
  }
  // The producer is done at once; its last lines wait in the pipe for one slow consumer. The
  // pipe's end must not keep the loop busy meanwhile.
  let test = Test::with_job(
    r#"
    queues:
      q: {maxsize: 1}
    tasks:
      feed:
        produces: q
        run: seq 1 20
      work:
        consumes: q
        workers: 1
        run: sleep 0.05
    "#,
  );
  let measured = test.measure(&["run", "job.yaml"], PATIENCE);
  assert!(measured.status.success(), "{}", measured.report);
  let cpu = measured.cpu_seconds();
  // About 1 s of waiting: a loop spinning on the pipe would use most of it.
  assert!(cpu < 0.25, "{cpu} s of CPU\n{}", measured.report);
}

#[test]
fn a_gigabyte_through_a_small_queue_in_bounded_memory() {
  if !require("/usr/bin/time") {
    return;
  }
  // Lines of 65,000 bytes (under the runner's 64 KiB line cap, so each is one item) into a queue
  // of 4. In a debug build 1 GB takes about a minute (15,000 items, a process each), so a debug
  // build sends 200 MB: still twice the bound, which an unbounded queue would exceed.
  let bytes: u64 = if cfg!(debug_assertions) { 200_000_000 } else { 1_000_000_000 };
  let test = Test::with_job(&format!(
    r#"
    queues:
      q: {{maxsize: 4}}
    tasks:
      feed:
        produces: q
        run: yes "$(head -c 65000 /dev/zero | tr '\0' x)" | head -c {bytes}
      work:
        consumes: q
        workers: 2
        run: 'true'
    "#
  ));
  let mut child = test
    .time_command(&["run", "job.yaml", "--output", "plain"])
    .stdout(Stdio::piped())
    .spawn()
    .expect("spawn /usr/bin/time");
  // The item lines hold the 65 kB items: keep only the summary lines.
  let stdout = child.stdout.take().unwrap();
  let summary = std::thread::spawn(move || {
    use std::io::BufRead;
    std::io::BufReader::new(stdout)
      .split(b'\n')
      .map_while(Result::ok)
      .filter(|l| l.starts_with(b"[queue ") || l.starts_with(b"runner:"))
      .map(|l| String::from_utf8_lossy(&l).into_owned())
      .collect::<Vec<_>>()
  });
  let start = Instant::now();
  let Some(status) = wait_child(&mut child, Duration::from_secs(300)) else {
    let _ = child.kill();
    let _ = child.wait();
    panic!("{bytes} bytes through the queue took over five minutes");
  };
  let took = start.elapsed();
  let summary = summary.join().unwrap();
  let run = test.timed(status);
  assert!(run.status.success(), "exit {status:?}\n{}\n{summary:?}", run.report);
  let kb = run.peak_kb;
  // Every item arrived whole (`head -c` cuts the last line short, which makes one more item).
  let items = bytes / 65001 + u64::from(bytes % 65001 != 0);
  let line = format!("[queue q] {items} put, {items} taken: {items} done, 0 failed, 0 cancelled");
  assert!(summary.contains(&line), "no {line:?} in {summary:?}");
  println!("{bytes} bytes ({items} items) through a queue of 4: peak RSS {kb} kB in {took:?}");
  assert!(kb < 100 * 1024, "peak RSS {kb} kB");
}

// ---------------------------------------------------------------------------------------------
// The graph

#[test]
fn graph_draws_producer_queue_consumer_edges() {
  let test = Test::with_job(
    r#"
    queues:
      orders: {maxsize: 5}
    tasks:
      take:
        produces: orders
        run: echo one
      brew:
        consumes: orders
        run: 'true'
    "#,
  );
  let run = test.run(&["graph", "job.yaml", "--format", "dot"]);
  run.code(0);
  let dot = &run.stdout;
  let produces = dot.find("\"take\" -> \"queue:orders\"");
  let consumes = dot.find("\"queue:orders\" -> \"brew\"");
  assert!(produces.is_some() && consumes.is_some(), "{dot}");
}

#[test]
fn an_item_with_nul_bytes_reaches_its_consumer_without_them() {
  let test = Test::with_job(
    r#"
    queues:
      q: {}
    tasks:
      producer:
        produces: q
        run: printf 'a\0b\nplain\n'
      consumer:
        consumes: q
        run: printf '%s\n' "$RUNNER_ITEM" >> got.txt
    "#,
  );
  let run = run_to_its_end(&test, &["run", "job.yaml", "--output", "plain"]);
  assert_eq!(run.code, 0, "exit code\n{}", run.stdout);
  assert_eq!(multiset(test.read("got.txt").lines()), multiset(["ab", "plain"]));
  let warning = "[consumer] warning: $RUNNER_ITEM holds 1 NUL byte";
  assert!(run.stdout.contains(warning), "no warning in\n{}", run.stdout);
}
