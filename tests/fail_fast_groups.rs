//! `--fail-fast` and groups: the group holding the failed member has failed (with the member in
//! `done`), it was not cancelled; the JSON report says so.

use crate::support::{Test, run_to_its_end};
use serde_json::Value;
use std::time::Duration;

/// A group `g` (`gather` or `wait`) of `broken`, which fails once `long` runs, and `long`.
fn job(rule: &str) -> Test {
  Test::with_job(&format!(
    r#"
    tasks:
      long:
        run: touch long.started; sleep 297.5
      broken:
        run: while [ ! -e long.started ]; do sleep 0.05; done; exit 3
    groups:
      g:
        {rule}: [broken, long]
    "#
  ))
}

/// Runs the job with `--fail-fast` and returns the report's entry for group `g`.
fn group_in_report(test: &Test) -> Value {
  let args = ["run", "job.yaml", "-j", "2", "--fail-fast", "--report", "report.json"];
  run_to_its_end(test, &args, 1, Duration::from_secs(20), Duration::from_secs(10));
  let report: Value = serde_json::from_str(&test.read("report.json")).expect("report is JSON");
  let groups = report["groups"].as_array().expect("groups");
  groups.iter().find(|g| g["name"] == "g").expect("group g").clone()
}

#[test]
fn a_gather_group_whose_member_fails_under_fail_fast_is_failed() {
  let group = group_in_report(&job("gather"));
  assert_eq!(group["status"], "failed", "{group:#}");
  assert_eq!(group["done"], serde_json::json!(["broken"]), "{group:#}");
  assert_eq!(group["pending"], serde_json::json!(["long"]), "{group:#}");
}

#[test]
fn a_wait_group_whose_member_fails_under_fail_fast_is_failed() {
  let group = group_in_report(&job("wait"));
  assert_eq!(group["status"], "failed", "{group:#}");
  assert_eq!(group["done"], serde_json::json!(["broken"]), "{group:#}");
  assert_eq!(group["pending"], serde_json::json!(["long"]), "{group:#}");
}
