//! Groups and queues end the same locally and on both Slurm paths: `gather`, `wait` with each
//! `return_when` and a timeout (members cancelled on the cluster end `cancelled`), and a queue's
//! items handled by two workers.

use super::{same_everywhere, task_of};
use crate::support::require_slurm;
use serde_json::{Value, json};

#[test]
fn gather_groups_end_the_same() {
  if !require_slurm() {
    return;
  }
  let yaml = r#"
    tasks:
      unit:
        run: echo unit-ok
      integration:
        run: echo integration-ok
      broken:
        needs: [unit]
        run: echo broken; exit 2
      report:
        needs: [tests]
        run: printf '%s' "$RUNNER_RESULT_TESTS" > tests.json
      after:
        needs: [doomed]
        run: touch after.ran
    groups:
      tests:
        gather: [unit, integration]
        on_done: echo "tests $RUNNER_STATUS" > done.txt
      doomed:
        gather: [broken, unit]
    "#;
  // `broken` needs `unit`, so `doomed` holds both when it fails, wherever they run.
  let local = same_everywhere(yaml, 2, &["tests.json", "done.txt", "after.ran"]);
  assert_eq!(local["files"]["tests.json"], r#"["unit-ok","integration-ok"]"#);
  assert_eq!(local["files"]["done.txt"], "tests succeeded\n");
  assert_eq!(task_of(&local, "after")["status"], "skipped");
  let doomed = &local["groups"][1];
  assert_eq!((&doomed["status"], &doomed["done"]), (&json!("failed"), &json!(["broken", "unit"])));
  assert_eq!(local["exit_code"], 1);
}

#[test]
fn wait_first_completed_cancels_the_others_the_same() {
  if !require_slurm() {
    return;
  }
  let yaml = r#"
    tasks:
      s1:
        run: echo first
      s2:
        run: sleep 62.2
      s3:
        run: sleep 62.3
      report:
        needs: [sleepers]
        run: printf '%s' "$RUNNER_RESULT_SLEEPERS" > result.json
    groups:
      sleepers:
        wait: [s3, s2, s1]
        return_when: FIRST_COMPLETED
    "#;
  let local = same_everywhere(yaml, 3, &["result.json"]);
  for name in ["s2", "s3"] {
    assert_eq!(task_of(&local, name)["status"], "cancelled", "{name}");
  }
  let result: Value = serde_json::from_str(local["files"]["result.json"].as_str().unwrap_or(""))
    .expect("the group's result is JSON");
  assert_eq!(result["done"], json!([{"name": "s1", "status": "succeeded", "result": "first"}]));
  assert_eq!(local["exit_code"], 0);
}

#[test]
fn wait_first_exception_returns_the_same() {
  if !require_slurm() {
    return;
  }
  // `boom` needs `s1`, so `done` holds both in that order wherever they run.
  let yaml = r#"
    tasks:
      s1:
        run: echo one
      boom:
        needs: [s1]
        run: echo raising >&2; exit 1
      s3:
        run: sleep 63.3
      report:
        needs: [watch]
        run: touch report.ran
    groups:
      watch:
        wait: [s1, boom, s3]
        return_when: FIRST_EXCEPTION
        on_done: printf '%s' "$RUNNER_STATUS $RUNNER_RESULT" > watch.txt
    "#;
  let local = same_everywhere(yaml, 3, &["watch.txt", "report.ran"]);
  assert_eq!(task_of(&local, "s3")["status"], "cancelled");
  assert_eq!(task_of(&local, "report")["status"], "skipped");
  let watch = local["files"]["watch.txt"].as_str().unwrap_or("");
  let result: Value = serde_json::from_str(watch.strip_prefix("failed ").unwrap_or(watch))
    .unwrap_or_else(|e| panic!("watch.txt: {e}: {watch:?}"));
  let done: Vec<&Value> =
    result["done"].as_array().into_iter().flatten().map(|d| &d["name"]).collect();
  assert_eq!(done, [&json!("s1"), &json!("boom")]);
  assert_eq!(result["pending"], json!(["s3"]));
  assert_eq!(local["exit_code"], 1);
}

#[test]
fn a_wait_timeout_returns_the_same() {
  if !require_slurm() {
    return;
  }
  // 8 s: room for `quick` to wait for a CPU that other tests hold.
  let yaml = r#"
    tasks:
      slow:
        run: sleep 64.4
      quick:
        run: echo quick
      report:
        needs: [sleepers]
        run: printf '%s' "$RUNNER_RESULT_SLEEPERS" > result.json
    groups:
      sleepers:
        wait: [slow, quick]
        timeout: 8s
    "#;
  let local = same_everywhere(yaml, 2, &["result.json"]);
  assert_eq!(task_of(&local, "slow")["status"], "cancelled");
  let result: Value = serde_json::from_str(local["files"]["result.json"].as_str().unwrap_or(""))
    .expect("the group's result is JSON");
  assert_eq!(result["pending"], json!(["slow"]));
  assert_eq!(local["groups"][0]["timed_out"], true);
  assert_eq!(local["exit_code"], 0);
}

#[test]
fn a_queue_with_two_workers_ends_the_same() {
  if !require_slurm() {
    return;
  }
  let yaml = r#"
    queues:
      orders:
        maxsize: 3
        items: [earl grey]
    tasks:
      take-orders:
        produces: orders
        run: for tea in green black oolong jasmine; do echo "$tea"; done
      brew:
        consumes: orders
        workers: 2
        retries: 1
        allow_failure: true
        run: test "$RUNNER_ITEM" != oolong && echo "brewed $RUNNER_ITEM"
      close-shop:
        needs: [brew]
        run: printf '%s' "$RUNNER_RESULT_BREW" > shop.json
    "#;
  let local = same_everywhere(yaml, 2, &["shop.json"]);
  let queue = &local["queues"][0];
  assert_eq!((&queue["put"], &queue["done"], &queue["failed"]), (&json!(5), &json!(4), &json!(1)));
  let oolong = queue["items"].as_array().into_iter().flatten().find(|i| i["item"] == "oolong");
  assert_eq!(oolong.map(|i| (&i["status"], &i["attempts"])), Some((&json!("failed"), &json!(2))));
  assert_eq!(local["files"]["shop.json"], r#"{"done":4,"failed":["oolong"]}"#);
  assert_eq!(local["exit_code"], 0);
}
