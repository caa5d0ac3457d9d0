//! SIGINT, SIGTERM and SIGHUP stop every task and exit 130, 143 and 129; a second SIGINT kills
//! at once. Checked against the process table: no process of a task is left.

use crate::support::{
  Background, PATIENCE, Reaper, Test, assert_all_gone, assert_line_starting, sleeping, wait_until,
};
use std::time::Duration;

#[test]
fn sigint_stops_every_task_and_exits_130() {
  let reaper = Reaper::new("run");
  let test = Test::with_job(
    r#"
    tasks:
      plain:
        run: touch plain.started; sleep 293.5
      background:
        run: sleep 292.5 & touch background.started; wait
      stubborn:
        run: trap 'touch got-term' TERM; touch stubborn.started; while :; do sleep 291.5 & wait; done
      after:
        needs: [plain]
        run: touch after.ran
    "#,
  );
  let runner =
    Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "-j", "4", "--kill-grace", "1s"]);
  wait_until("every task has started", PATIENCE, || {
    ["plain", "background", "stubborn"].iter().all(|t| test.path(&format!("{t}.started")).exists())
  });
  // Each sleep is in the process table before the signal, so "gone" below means something.
  for arg in ["293.5", "292.5", "291.5"] {
    wait_until("the sleeps run", PATIENCE, || sleeping(reaper.tag(), arg) > 0);
  }
  runner.signal(libc::SIGINT);
  let (run, took) = runner.wait(PATIENCE);
  run.code(130);
  assert!(took < Duration::from_secs(25), "took {took:?}");
  assert!(!test.path("after.ran").exists(), "a task started after SIGINT");
  assert_line_starting(&run, "runner: interrupted (exit 130)");
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}

/// Sends `signal` to a run of one long task (`sleep ARG`) once it has started: the run must exit
/// with `code` and leave no process of its task behind.
#[track_caller]
fn a_signal_stops_the_run(signal: i32, code: i32, arg: &str) {
  let reaper = Reaper::new("run");
  let test =
    Test::with_job(&format!("tasks:\n  long:\n    run: touch long.started; sleep {arg}\n"));
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml"]);
  wait_until("the task has started", PATIENCE, || {
    test.path("long.started").exists() && sleeping(reaper.tag(), arg) > 0
  });
  runner.signal(signal);
  let (run, _) = runner.wait(PATIENCE);
  run.code(code);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}

#[test]
fn sigterm_exits_143() {
  a_signal_stops_the_run(libc::SIGTERM, 143, "290.5");
}

#[test]
fn sighup_stops_every_task_and_exits_129() {
  // A closed terminal or ssh session: the runner's tasks must not live on without it.
  a_signal_stops_the_run(libc::SIGHUP, 129, "287.5");
}

#[test]
fn a_second_sigint_kills_at_once() {
  let reaper = Reaper::new("run");
  let test = Test::with_job(
    r#"
    tasks:
      stubborn:
        run: trap 'touch got-term' TERM; touch stubborn.started; while :; do sleep 289.5 & wait; done
    "#,
  );
  // With a 10-minute grace, only the second Ctrl-C can end this run in time.
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "--kill-grace", "10m"]);
  wait_until("the task has started", PATIENCE, || {
    test.path("stubborn.started").exists() && sleeping(reaper.tag(), "289.5") > 0
  });
  runner.signal(libc::SIGINT);
  wait_until("the task got SIGTERM", PATIENCE, || test.path("got-term").exists());
  runner.signal(libc::SIGINT);
  let (run, _) = runner.wait(PATIENCE);
  run.code(130);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}
