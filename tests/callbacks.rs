//! `on_success`, `on_failure` and `on_done`: their order, what they see, and a failing callback.

use crate::support::{Test, assert_line_starting, events, finished, lines_of};

#[test]
fn callbacks_run_in_order_with_status_and_result() {
  let test = Test::with_job(
    r#"
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
        on_failure:
          - echo "failure-1 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
          - echo "failure-2 $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
        on_done: echo "done $RUNNER_TASK $RUNNER_STATUS $RUNNER_RESULT" >> bad.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(1);
  assert_eq!(
    lines_of(&test, "good.txt"),
    [
      "success-1 good succeeded good-result",
      "success-2 good succeeded good-result",
      "done good succeeded good-result",
    ]
  );
  assert_eq!(
    lines_of(&test, "bad.txt"),
    [
      "failure-1 bad failed bad-result",
      "failure-2 bad failed bad-result",
      "done bad failed bad-result",
    ]
  );
}

#[test]
fn a_failing_callback_fails_the_run_but_not_the_task() {
  let test = Test::with_job(
    r#"
    tasks:
      task:
        run: echo fine
        on_success: exit 4
      dependent:
        needs: [task]
        run: touch dependent.ran
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(1);
  assert_line_starting(&run, "[task] succeeded");
  assert_line_starting(&run, "[task:callback] `exit 4` failed (exit 4)");
  assert_line_starting(&run, "runner: failed (exit 1)");
  assert!(test.path("dependent.ran").exists(), "the task succeeded, so its dependent runs");

  let json = test.run(&["run", "job.yaml", "--output", "json"]);
  json.code(1);
  let events = events(&json);
  assert_eq!(finished(&events, "task")["status"], "succeeded");
  assert!(
    events.iter().any(|e| e["event"] == "callback_failed" && e["task"] == "task"),
    "{events:#?}"
  );
  let last = events.last().unwrap();
  assert_eq!(last["event"], "run_finished");
  assert_eq!(last["exit_code"], 1);
  assert_eq!(last["counts"]["failed"], 0);
}
