//! The same job file run locally and on both Slurm paths ends the same way: the run's exit
//! code, each task's status, attempts and exit, each group's outcome, each queue item's, the
//! tasks' stdout, and the files the tasks wrote (results seen by dependents among them). The
//! three runs go at once, each in a folder of its own; the local one is also checked against
//! what the case expects, so that parity between three wrong answers does not pass.

mod groups;

use super::{Backend, Finished, run_on};
use crate::support::require_slurm;
use serde_json::{Value, json};

/// What a run did, in the terms that must not depend on where attempts ran.
#[track_caller]
fn digest(finished: &Finished, files: &[&str]) -> Value {
  let report = &finished.report;
  let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
  let tasks: Vec<Value> = list("tasks").iter().map(task_digest).collect();
  let groups: Vec<Value> = list("groups")
    .iter()
    .map(|g| {
      json!({"name": g["name"], "status": g["status"], "done": sorted(&g["done"]),
             "pending": sorted(&g["pending"]), "timed_out": g["timed_out"]})
    })
    .collect();
  let queues: Vec<Value> = list("queues").iter().map(queue_digest).collect();
  let files: serde_json::Map<String, Value> =
    files.iter().map(|name| (name.to_string(), Value::from(finished.test.read(name)))).collect();
  json!({
    "exit_code": finished.run.code, "report_exit_code": report["exit_code"],
    "status": report["status"], "tasks": tasks, "groups": groups, "queues": queues,
    "files": files,
  })
}

/// A task's status, exit, attempts (status and exit of each) and stdout lines (sorted: a
/// consumer's items print at once).
fn task_digest(task: &Value) -> Value {
  let attempts: Vec<Value> = task["attempts"]
    .as_array()
    .into_iter()
    .flatten()
    .map(|a| json!({"attempt": a["attempt"], "status": a["status"], "exit": a["exit"]}))
    .collect();
  json!({"name": task["name"], "status": task["status"], "exit": task["exit"],
         "attempts": attempts, "stdout": sorted(&task["output"]["stdout"]["lines"])})
}

/// A queue's counts and its items' outcomes, by item (workers take them in any order).
fn queue_digest(queue: &Value) -> Value {
  let mut items: Vec<Value> = queue["items"]
    .as_array()
    .into_iter()
    .flatten()
    .map(|i| {
      json!({"item": i["item"], "consumer": i["consumer"], "status": i["status"],
             "attempts": i["attempts"], "exit": i["exit"]})
    })
    .collect();
  items.sort_by_key(|i| i.to_string());
  json!({"name": queue["name"], "put": queue["put"], "taken": queue["taken"],
         "done": queue["done"], "failed": queue["failed"], "cancelled": queue["cancelled"],
         "items": items, "left": queue["left"]})
}

/// The tasks in the order their first attempts started (by start, then end: at `-j 1` a task
/// starts no earlier than the one before it ended).
fn start_order(report: &Value) -> Vec<String> {
  let mut started: Vec<(u64, u64, String)> = report["tasks"]
    .as_array()
    .into_iter()
    .flatten()
    .filter_map(|t| {
      let first = &t["attempts"][0];
      let name = t["name"].as_str()?.to_string();
      Some((first["start_ms"].as_u64()?, first["end_ms"].as_u64().unwrap_or(u64::MAX), name))
    })
    .collect();
  started.sort();
  started.into_iter().map(|(_, _, name)| name).collect()
}

/// A JSON list's values, sorted by their JSON text.
fn sorted(list: &Value) -> Value {
  let mut items: Vec<Value> = list.as_array().cloned().unwrap_or_default();
  items.sort_by_key(|v| v.to_string());
  Value::Array(items)
}

/// Runs `yaml` at `-j jobs` locally and on both Slurm paths at once; asserts the Slurm runs'
/// digests equal the local one, and returns it.
#[track_caller]
fn same_everywhere(yaml: &str, jobs: u32, files: &[&str]) -> Value {
  // Which of the tasks ready at once starts first is only the same at `-j 1`.
  same_by(yaml, jobs, |finished| {
    let mut digest = digest(finished, files);
    if jobs == 1 {
      digest["start_order"] = json!(start_order(&finished.report));
    }
    digest
  })
}

/// Runs `yaml` at `-j jobs` locally and on both Slurm paths at once (the allocation as big as
/// `-j`); asserts that what `digest` makes of the Slurm runs equals what it makes of the local
/// one, and returns that.
#[track_caller]
fn same_by(yaml: &str, jobs: u32, digest: impl Fn(&Finished) -> Value) -> Value {
  let j = jobs.to_string();
  let args = ["-j", j.as_str()];
  let backends = [Backend::Local, Backend::Jobs, Backend::Steps(jobs)];
  let runs: Vec<Finished> = std::thread::scope(|scope| {
    let handles = backends.map(|backend| scope.spawn(move || run_on(backend, yaml, &args)));
    handles
      .into_iter()
      .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
      .collect()
  });
  let local = digest(&runs[0]);
  for (backend, finished) in backends.iter().zip(&runs).skip(1) {
    let slurm = digest(finished);
    assert!(
      slurm == local,
      "{backend:?} differs from the local run\n--- local\n{local:#}\n--- {backend:?}\n{slurm:#}\n--- {backend:?} stdout\n{}\n--- {backend:?} stderr\n{}",
      finished.run.stdout,
      finished.run.stderr
    );
  }
  local
}

/// The digest's entry for task `name`.
#[track_caller]
fn task_of<'a>(digest: &'a Value, name: &str) -> &'a Value {
  digest["tasks"]
    .as_array()
    .and_then(|tasks| tasks.iter().find(|t| t["name"] == name))
    .unwrap_or_else(|| panic!("no task {name} in {digest:#}"))
}

#[test]
fn needs_and_first_in_first_out_order_are_the_same() {
  if !require_slurm() {
    return;
  }
  // Declared against their needs' order. Each task takes 10 ms, so that no two attempts start
  // in the same millisecond of the report.
  let yaml = r#"
    tasks:
      deploy:
        needs: [test, lint]
        run: sleep 0.01; echo deploy >> order.txt
      zulu:
        run: sleep 0.01; echo zulu >> order.txt
      test:
        needs: [build]
        run: sleep 0.01; echo test >> order.txt
      alpha:
        run: sleep 0.01; echo alpha >> order.txt
      lint:
        needs: [build]
        run: sleep 0.01; echo lint >> order.txt
      build:
        run: sleep 0.01; echo build >> order.txt
    "#;
  let local = same_everywhere(yaml, 1, &["order.txt"]);
  let order = ["zulu", "alpha", "build", "test", "lint", "deploy"];
  assert_eq!(local["start_order"], json!(order));
  assert_eq!(local["files"]["order.txt"], order.map(|t| format!("{t}\n")).concat());
  assert_eq!(local["exit_code"], 0);
}

#[test]
fn results_reach_dependents_the_same_and_stay_literal() {
  if !require_slurm() {
    return;
  }
  let yaml = r#"
    tasks:
      make-tea:
        run: printf 'green tea\n\n\n'
      v1.2:
        run: printf 'line one\n\nline three\n\n'
      evil:
        run: |
          printf '%s\n' '$(touch pwned) `touch pwned` ${HOME} ; touch pwned'
      serve:
        needs: [make-tea, v1.2, evil]
        run: |
          printf '%s' "$RUNNER_RESULT_MAKE_TEA" > tea.txt
          printf '%s' "$RUNNER_RESULT_V1_2" > version.txt
          printf '%s' "$RUNNER_RESULT_EVIL" > evil.txt
    "#;
  let local = same_everywhere(yaml, 2, &["tea.txt", "version.txt", "evil.txt", "pwned"]);
  let files = &local["files"];
  assert_eq!(files["tea.txt"], "green tea");
  assert_eq!(files["version.txt"], "line one\n\nline three");
  assert_eq!(files["evil.txt"], "$(touch pwned) `touch pwned` ${HOME} ; touch pwned");
  assert_eq!(files["pwned"], "", "a result was run as code");
  assert_eq!(local["exit_code"], 0);
}

#[test]
fn retries_count_the_same_attempts() {
  if !require_slurm() {
    return;
  }
  // `flaky` counts its attempts in a file: it fails twice, then succeeds.
  let yaml = r#"
    tasks:
      flaky:
        retries: 2
        run: |
          n=$(cat count 2>/dev/null || echo 0)
          n=$((n + 1))
          echo "$n" > count
          echo "attempt $RUNNER_ATTEMPT"
          test "$n" -ge 3
      hopeless:
        retries: 1
        allow_failure: true
        run: echo "attempt $RUNNER_ATTEMPT"; exit 5
    "#;
  let local = same_everywhere(yaml, 2, &["count"]);
  let flaky = task_of(&local, "flaky");
  assert_eq!(
    (&flaky["status"], flaky["attempts"].as_array().map(Vec::len)),
    (&json!("succeeded"), Some(3))
  );
  let hopeless = task_of(&local, "hopeless");
  assert_eq!(hopeless["status"], "failed");
  assert_eq!(hopeless["exit"]["code"], 5);
  assert_eq!(hopeless["attempts"].as_array().map(Vec::len), Some(2));
  assert_eq!(local["files"]["count"], "3\n");
  assert_eq!(local["exit_code"], 0);
}

#[test]
fn a_task_timeout_ends_the_same() {
  if !require_slurm() {
    return;
  }
  let yaml = r#"
    tasks:
      slow:
        timeout: 2s
        run: sleep 61.1
        on_done: printf '%s' "$RUNNER_STATUS" > status.txt
      quick:
        run: echo quick
    "#;
  let local = same_everywhere(yaml, 2, &["status.txt"]);
  let slow = task_of(&local, "slow");
  assert_eq!(slow["status"], "timed_out");
  assert_eq!(slow["exit"], json!({"code": null, "signal": 15}));
  assert_eq!(local["files"]["status.txt"], "timed_out");
  assert_eq!(local["exit_code"], 1);
}

#[test]
fn callbacks_run_the_same() {
  if !require_slurm() {
    return;
  }
  let yaml = r#"
    tasks:
      good:
        run: echo good-result
        on_success:
          - echo "success-1 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> good.txt
          - echo "success-2 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> good.txt
        on_failure: echo "failure $RUNNER_STATUS" >> good.txt
        on_done: echo "done $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> good.txt
      bad:
        run: echo bad-result; exit 3
        on_success: echo "success $RUNNER_STATUS" >> bad.txt
        on_failure: echo "failure $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
        on_done: echo "done $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
    "#;
  let local = same_everywhere(yaml, 2, &["good.txt", "bad.txt"]);
  assert_eq!(
    local["files"]["good.txt"],
    "success-1 good succeeded good-result\nsuccess-2 good succeeded good-result\ndone good succeeded good-result\n"
  );
  assert_eq!(
    local["files"]["bad.txt"],
    "failure bad failed bad-result\ndone bad failed bad-result\n"
  );
  assert_eq!(local["exit_code"], 1);
}

#[test]
fn a_stopped_task_s_stderr_holds_only_its_own_lines() {
  if !require_slurm() {
    return;
  }
  // What Slurm says of a job it cancelled is the runner's to report, not the task's stderr.
  // `exec`: Slurm signals a step's processes one by one, so a shell left waiting for `sleep` may
  // report its child's end (`Terminated`) before its own SIGTERM arrives; that line would be the
  // shell's, not Slurm's (docs/slurm.md).
  let yaml = r#"
    tasks:
      talker:
        run: echo to-stderr >&2
      slow:
        timeout: 2s
        run: echo before >&2; exec sleep 65.5
    "#;
  let local = same_by(yaml, 2, |finished| {
    let tasks = finished.report["tasks"].as_array().cloned().unwrap_or_default();
    tasks.iter().map(|t| json!([t["name"], t["output"]["stderr"]["lines"]])).collect()
  });
  assert_eq!(local, json!([["talker", ["to-stderr"]], ["slow", ["before"]]]));
}
