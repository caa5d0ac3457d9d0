//! A run on the cluster that stops (a task's timeout, `--fail-fast`, SIGINT, even SIGKILL to
//! the runner) leaves nothing behind: 5 s after the runner's exit, no process of its tasks
//! lives on the machine (where the nodes run) and squeue lists no job or step of it as not
//! ended (`run_on`, `finish`).

use super::{
  Backend, Finished, Scancel, assert_nothing_left, assert_statuses, finish, jobs_in, run_on, start,
  task, wait_sleeping,
};
use crate::support::{PATIENCE, Reaper, Test, require_slurm};
use serde_json::{Value, json};
use std::time::Instant;

/// Runs `yaml` on `backend` in the background; once `count` `sleep ARG` of it run, creates the
/// file `go` in its folder and then sends `signal` to the runner, if any.
#[track_caller]
fn stop_mid_run(
  backend: Backend,
  yaml: &str,
  args: &[&str],
  (count, arg): (usize, &str),
  signal: Option<i32>,
) -> Finished {
  let test = Test::with_job(yaml);
  let reaper = Reaper::new("slurm-stop");
  let _cancel = Scancel::new(&test);
  let runner = start(&test, reaper.tag(), backend, args);
  wait_sleeping(reaper.tag(), arg, count);
  test.write("go", "");
  if let Some(signal) = signal {
    runner.signal(signal);
  }
  finish(test, runner, reaper.tag(), backend)
}

/// A task that times out after 2 s; the run exits 1.
#[track_caller]
fn after_a_task_timeout(backend: Backend) {
  let yaml = r#"
    tasks:
      slow:
        timeout: 2s
        run: sleep 71.1
    "#;
  let finished = run_on(backend, yaml, &[]);
  finished.run.code(1);
  assert_statuses(&finished, &[("slow", "timed_out")]);
}

/// `--fail-fast`: `boom` fails once both sleepers run (the test then creates `go`), which
/// cancels them; the run exits 1.
#[track_caller]
fn after_fail_fast(backend: Backend) {
  let yaml = r#"
    tasks:
      boom:
        run: while [ ! -e go ]; do sleep 0.05; done; exit 1
      sleeper-1:
        run: sleep 72.2
      sleeper-2:
        run: sleep 72.2
    "#;
  let finished = stop_mid_run(backend, yaml, &["-j", "3", "--fail-fast"], (2, "72.2"), None);
  finished.run.code(1);
  let expected = [("boom", "failed"), ("sleeper-1", "cancelled"), ("sleeper-2", "cancelled")];
  assert_statuses(&finished, &expected);
}

/// SIGINT to the runner once both sleepers run: they are cancelled, nothing new starts, the
/// run exits 130.
#[track_caller]
fn after_sigint(backend: Backend) {
  let yaml = r#"
    tasks:
      sleeper-1:
        run: sleep 73.3
      sleeper-2:
        run: sleep 73.3
      after:
        needs: [sleeper-1]
        run: touch after.ran
    "#;
  let finished = stop_mid_run(backend, yaml, &["-j", "2"], (2, "73.3"), Some(libc::SIGINT));
  finished.run.code(130);
  assert_statuses(&finished, &[("sleeper-1", "cancelled"), ("sleeper-2", "cancelled")]);
  assert!(!finished.test.path("after.ran").exists(), "a task started after SIGINT");
}

#[test]
fn no_job_is_left_after_a_task_timeout() {
  if require_slurm() {
    after_a_task_timeout(Backend::Jobs);
  }
}

#[test]
fn no_step_is_left_after_a_task_timeout() {
  if require_slurm() {
    after_a_task_timeout(Backend::Steps(1));
  }
}

#[test]
fn no_job_is_left_after_fail_fast() {
  if require_slurm() {
    after_fail_fast(Backend::Jobs);
  }
}

#[test]
fn no_step_is_left_after_fail_fast() {
  if require_slurm() {
    after_fail_fast(Backend::Steps(3));
  }
}

#[test]
fn no_job_is_left_after_sigint() {
  if require_slurm() {
    after_sigint(Backend::Jobs);
  }
}

#[test]
fn no_step_is_left_after_sigint() {
  if require_slurm() {
    after_sigint(Backend::Steps(2));
  }
}

/// SIGKILL to the runner once its task runs: the runner cannot clean up, its watchdog must,
/// and what the run made on the cluster (jobs, or the allocation and its steps) must go too.
#[track_caller]
fn after_sigkill(backend: Backend) {
  let test = Test::with_job("tasks:\n  sleeper:\n    run: sleep 74.4\n");
  let reaper = Reaper::new("slurm-kill");
  let _cancel = Scancel::new(&test);
  let runner = start(&test, reaper.tag(), backend, &[]);
  wait_sleeping(reaper.tag(), "74.4", 1);
  runner.signal(libc::SIGKILL);
  let (run, _) = runner.wait(PATIENCE);
  run.code(128 + libc::SIGKILL);
  assert_nothing_left(&test, reaper.tag(), &Value::Null, Instant::now());
  assert!(!jobs_in(test.dir.path()).is_empty(), "squeue lists no job of the run");
}

#[test]
fn no_job_is_left_after_the_runner_is_killed() {
  if require_slurm() {
    after_sigkill(Backend::Jobs);
  }
}

#[test]
fn no_allocation_is_left_after_the_runner_is_killed() {
  if require_slurm() {
    after_sigkill(Backend::Steps(1));
  }
}

/// A job Slurm holds pending (`--begin` in ten minutes) whose task times out after 1 s: it
/// never started, so its end is at once, not after the 5 s kill grace, with the signal of a
/// stop (15), as for an attempt stopped before it was submitted.
#[test]
fn a_pending_job_ends_at_its_timeout() {
  if !require_slurm() {
    return;
  }
  let yaml = r#"
    tasks:
      held:
        timeout: 1s
        run: sleep 79.9
        slurm:
          extra: [--begin=now+600]
    "#;
  let finished = run_on(Backend::Jobs, yaml, &["--kill-grace", "5s"]);
  finished.run.code(1);
  let held = task(&finished.report, "held");
  let took = held["duration_ms"].as_u64().unwrap_or(u64::MAX);
  assert_eq!(held["status"], "timed_out", "{held:#}");
  assert!(took < 3000, "ended {took} ms after its start: {held:#}");
  assert_eq!(held["exit"], json!({"code": null, "signal": 15}), "{held:#}");
}

/// Four tasks whose timeouts (`ms`, one each) fall while their attempts start on the cluster
/// (a job being scheduled or launched, a step being created): each must still end at its
/// SIGTERM, as a local process does, long before the 5 s kill grace, with signal 15.
#[track_caller]
fn stopped_as_it_starts(backend: Backend, ms: [u64; 4]) {
  let mut yaml = String::from("tasks:\n");
  for (n, ms) in ms.iter().enumerate() {
    yaml += &format!("  t{n}:\n    timeout: {ms}ms\n    run: sleep 78.{n}\n");
  }
  let finished = run_on(backend, &yaml, &["-j", "4", "--kill-grace", "5s"]);
  finished.run.code(1);
  for (n, ms) in ms.iter().enumerate() {
    let task = task(&finished.report, &format!("t{n}"));
    let took = task["duration_ms"].as_u64().unwrap_or(u64::MAX);
    let seen = format!("t{n} (timeout {ms}ms): {task:#}");
    assert_eq!(task["status"], "timed_out", "{seen}");
    assert!(took < ms + 2000, "ended {took} ms after its start: {seen}");
    assert_eq!(task["exit"], json!({"code": null, "signal": 15}), "{seen}");
  }
}

#[test]
fn a_job_stopped_as_it_starts_ends_at_its_sigterm() {
  if require_slurm() {
    stopped_as_it_starts(Backend::Jobs, [150, 200, 250, 300]);
  }
}

#[test]
fn a_step_stopped_as_it_starts_ends_at_its_sigterm() {
  if require_slurm() {
    stopped_as_it_starts(Backend::Steps(4), [25, 50, 75, 100]);
  }
}
