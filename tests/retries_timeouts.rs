//! Retries and timeouts: attempts are counted, a task's `timeout` ends its whole process group
//! (SIGTERM, then SIGKILL after the grace), and `--timeout` stops the run and its callbacks.

use crate::support::{
  Test, assert_line_starting, assert_no_line_starting, events, finished, run_to_its_end,
};
use std::time::Duration;

#[test]
fn retries_count_attempts() {
  let test = Test::with_job(
    r#"
    tasks:
      flaky:
        retries: 2
        run: echo "attempt $RUNNER_ATTEMPT of $RUNNER_TASK"; [ "$RUNNER_ATTEMPT" -ge 3 ]
      hopeless:
        retries: 1
        allow_failure: true
        run: echo "attempt $RUNNER_ATTEMPT"; exit 5
    "#,
  );
  let run = test.run(&["run", "job.yaml", "-j", "1"]);
  run.code(0);
  for n in 1..=3 {
    assert_line_starting(&run, &format!("[flaky] attempt {n} of flaky"));
  }
  assert_line_starting(&run, "[flaky] started (attempt 2)");
  assert_line_starting(&run, "[flaky] started (attempt 3)");
  assert_line_starting(&run, "[flaky] succeeded after 3 attempts");
  assert_no_line_starting(&run, "[flaky] started (attempt 4)");
  assert_line_starting(&run, "[hopeless] attempt 2");
  assert_line_starting(&run, "[hopeless] failed (exit 5) after 2 attempts");
  assert_no_line_starting(&run, "[hopeless] attempt 3");

  let json = test.run(&["run", "job.yaml", "-j", "1", "--output", "json"]);
  json.code(0);
  let events = events(&json);
  assert_eq!(finished(&events, "flaky")["attempts"], 3);
  assert_eq!(finished(&events, "flaky")["status"], "succeeded");
  assert_eq!(finished(&events, "hopeless")["attempts"], 2);
  assert_eq!(finished(&events, "hopeless")["status"], "failed");
  let retrying =
    events.iter().filter(|e| e["event"] == "task_retrying" && e["task"] == "flaky").count();
  assert_eq!(retrying, 2);
}

#[test]
fn a_task_timeout_kills_the_whole_process_group() {
  let test = Test::with_job(
    r#"
    tasks:
      slow:
        timeout: 1s
        run: sleep 297.5 & sleep 297.5; wait
        on_done: printf '%s' "$RUNNER_STATUS" > status.txt
    "#,
  );
  let args = ["run", "job.yaml"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_line_starting(&run, "[slow] timed_out");
  assert_eq!(test.read("status.txt"), "timed_out");
}

#[test]
fn a_task_timeout_reaches_a_program_that_made_a_group_of_its_own() {
  // coreutils `timeout` puts itself in a process group of its own.
  let test = Test::with_job(
    r#"
    tasks:
      wrapped:
        timeout: 1s
        run: timeout 300 sleep 296.5; echo after
    "#,
  );
  let args = ["run", "job.yaml"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_line_starting(&run, "[wrapped] timed_out");
  assert_no_line_starting(&run, "[wrapped] after");
}

#[test]
fn a_timed_out_task_that_traps_term_is_killed_after_the_grace() {
  let test = Test::with_job(
    r#"
    tasks:
      stubborn:
        timeout: 1s
        run: trap 'touch got-term' TERM; while :; do sleep 295.5 & wait; done
    "#,
  );
  let args = ["run", "job.yaml", "--kill-grace", "1s"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_line_starting(&run, "[stubborn] timed_out");
  assert!(test.path("got-term").exists(), "SIGTERM came first");
}

#[test]
fn a_run_timeout_stops_the_run() {
  let test = Test::with_job(
    r#"
    tasks:
      forever:
        run: sleep 294.5
      after:
        needs: [forever]
        run: touch after.ran
    "#,
  );
  let args = ["run", "job.yaml", "--timeout", "1s"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(15), Duration::from_secs(5));
  assert_no_line_starting(&run, "[forever] succeeded");
  assert!(!test.path("after.ran").exists());
}

#[test]
fn the_run_timeout_stops_a_running_callback() {
  let test = Test::with_job(
    r#"
    tasks:
      cb:
        run: echo x
        on_done: [sleep 286.5, touch second.ran]
    "#,
  );
  let args = ["run", "job.yaml", "--timeout", "1s"];
  let run = run_to_its_end(&test, &args, 1, Duration::from_secs(10), Duration::from_secs(5));
  assert_line_starting(&run, "[cb:callback] `sleep 286.5` failed (signal 15)");
  assert!(!test.path("second.ran").exists(), "a callback started after the run timed out");
}
