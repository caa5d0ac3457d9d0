//! No process of the run outlives it, whatever stops it: a task's timeout, `--timeout`,
//! fail-fast, SIGINT, SIGTERM, SIGHUP, a second SIGINT, or `kill -9` of the runner itself. The
//! tasks are made to be hard to stop: a TERM-ignoring shell under coreutils `timeout`, which puts
//! it in a process group of its own, and a daemon that double-forks into a session of its own,
//! whose parent is gone before any stop.

use crate::support::{Background, PATIENCE, Reaper, Test, assert_all_gone, sleeping, wait_until};
use std::time::Duration;

/// The hostile tasks: the `sleep`s are what must be gone at the end. `extra` adds tasks or
/// options to each task.
fn hostile(task_options: &str, extra: &str) -> Test {
  Test::with_job(&format!(
    r#"
    tasks:
      wrapped:
        run: timeout 60 sh -c 'trap "" TERM; sleep 61.5'
        {task_options}
      waiting:
        run: timeout 60 sh -c 'trap "" TERM; sleep 62.5'; echo done
        {task_options}
      daemon:
        run: setsid sh -c 'sleep 63.5 &' & exec sleep 64.5
        {task_options}
    {extra}
    "#
  ))
}

/// Waits until every hostile task's `sleep` runs.
fn started(reaper: &Reaper) {
  wait_until("every task's processes have started", PATIENCE, || {
    ["61.5", "62.5", "63.5", "64.5"].iter().all(|arg| sleeping(reaper.tag(), arg) > 0)
  });
}

const GRACE: Duration = Duration::from_secs(1);

/// Runs `test` with `args` until it exits with `code`; then nothing of it may be left a second
/// after. `stop` is sent to the runner once every task runs, if given.
fn stopped_by(test: &Test, args: &[&str], stop: &[i32], code: i32) {
  let reaper = Reaper::new("orphans");
  let mut args = args.to_vec();
  args.extend(["--kill-grace", "1s", "-j", "8"]);
  let runner = Background::spawn(test, reaper.tag(), &args);
  started(&reaper);
  for &signal in stop {
    runner.signal(signal);
  }
  let (run, took) = runner.wait(PATIENCE);
  run.code(code);
  assert!(took < PATIENCE, "took {took:?}");
  assert_all_gone(reaper.tag(), GRACE);
}

#[test]
fn a_task_timeout_leaves_no_process() {
  let test = hostile("timeout: 2s", "");
  stopped_by(&test, &["run", "job.yaml"], &[], 1);
}

#[test]
fn the_run_timeout_leaves_no_process() {
  let test = hostile("", "");
  stopped_by(&test, &["run", "job.yaml", "--timeout", "2s"], &[], 1);
}

#[test]
fn fail_fast_leaves_no_process() {
  let extra = "  failing: {run: 'while [ ! -e go ]; do sleep 0.05; done; exit 3'}";
  let test = hostile("", extra);
  let reaper = Reaper::new("orphans");
  let args = ["run", "job.yaml", "--fail-fast", "--kill-grace", "1s", "-j", "8"];
  let runner = Background::spawn(&test, reaper.tag(), &args);
  started(&reaper);
  test.write("go", "");
  let (run, _) = runner.wait(PATIENCE);
  run.code(1);
  assert_all_gone(reaper.tag(), GRACE);
}

#[test]
fn sigint_leaves_no_process() {
  stopped_by(&hostile("", ""), &["run", "job.yaml"], &[libc::SIGINT], 130);
}

#[test]
fn sigterm_leaves_no_process() {
  stopped_by(&hostile("", ""), &["run", "job.yaml"], &[libc::SIGTERM], 143);
}

#[test]
fn sighup_leaves_no_process() {
  stopped_by(&hostile("", ""), &["run", "job.yaml"], &[libc::SIGHUP], 129);
}

#[test]
fn a_second_sigint_kills_everything_at_once() {
  let test = hostile("", "");
  let reaper = Reaper::new("orphans");
  let args = ["run", "job.yaml", "--kill-grace", "20s", "-j", "8", "--output", "json"];
  let runner = Background::spawn(&test, reaper.tag(), &args);
  started(&reaper);
  runner.signal(libc::SIGINT);
  // Two signals sent at once are one: the second is sent once the first is taken.
  wait_until("the runner is stopping", PATIENCE, || {
    runner.stdout().contains(r#""event":"stopping""#)
  });
  runner.signal(libc::SIGINT);
  let (run, took) = runner.wait(PATIENCE);
  run.code(130);
  assert!(
    took < Duration::from_secs(15),
    "the second signal does not wait out the grace: {took:?}"
  );
  assert_all_gone(reaper.tag(), GRACE);
}

#[test]
fn kill_9_of_the_runner_leaves_no_process() {
  // The first process of each task dies with the runner (PR_SET_PDEATHSIG); the rest, which
  // left its group or whose parent is gone, the watchdog finds by the tag in its environment.
  let test = hostile("", "");
  let reaper = Reaper::new("orphans");
  let mut runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "-j", "8"]);
  started(&reaper);
  runner.signal(libc::SIGKILL);
  while runner.try_wait().is_none() {
    std::thread::yield_now();
  }
  assert_all_gone(reaper.tag(), GRACE);
}

#[test]
fn a_daemon_a_task_left_running_goes_with_the_run() {
  // A task may start a server for later tasks in a session of its own: it runs until the run
  // ends, then it is asked to end, and killed after the grace if it does not. (The task waits
  // for it to be up: until its `setsid`, the daemon is in the task's group, which ends with the
  // task.)
  let test = Test::with_job(
    r#"
    tasks:
      serve:
        run: |
          setsid sh -c 'trap "" TERM; touch daemon.up; exec sleep 65.5' > /dev/null 2>&1 &
          while [ ! -e daemon.up ]; do sleep 0.02; done
      use:
        needs: [serve]
        run: test -e daemon.up && echo up
    "#,
  );
  let reaper = Reaper::new("orphans");
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "--kill-grace", "1s"]);
  let (run, took) = runner.wait(PATIENCE);
  run.code(0);
  assert!(run.stdout.contains("[use] up"), "{}", run.stdout);
  assert!(took >= GRACE, "the daemon ignores SIGTERM: killed after the grace, {took:?}");
  assert_all_gone(reaper.tag(), GRACE);
}

/// A thousand running tasks, half of which ignore SIGTERM, all started.
fn thousand(reaper: &Reaper) -> (Test, Background) {
  let mut yaml = String::from("tasks:\n");
  for i in 0..1000 {
    let trap = if i % 2 == 1 { "trap '' TERM; " } else { "" };
    yaml.push_str(&format!("  t{i}: {{run: \"{trap}sleep 301.5\"}}\n"));
  }
  let test = Test::new();
  test.write("job.yaml", &yaml);
  let args = ["run", "job.yaml", "-j", "1000", "--kill-grace", "1s", "--output", "json"];
  let runner = Background::spawn(&test, reaper.tag(), &args);
  wait_until("a thousand tasks run", PATIENCE, || sleeping(reaper.tag(), "301.5") == 1000);
  (test, runner)
}

#[test]
fn stopping_a_thousand_running_tasks_leaves_none() {
  // One look at /proc for the whole batch of stops, not one per task (the time against the
  // grace is measured by benches/stop.py).
  let reaper = Reaper::new("orphans");
  let (_test, runner) = thousand(&reaper);
  runner.signal(libc::SIGINT);
  let (run, _) = runner.wait(PATIENCE);
  run.code(130);
  assert_all_gone(reaper.tag(), GRACE);
}

#[test]
fn a_ci_style_stop_of_a_thousand_tasks_leaves_none() {
  // SIGTERM, then SIGKILL 10 s later if the runner is still there, as CI services stop a job.
  let reaper = Reaper::new("orphans");
  let (_test, mut runner) = thousand(&reaper);
  runner.signal(libc::SIGTERM);
  let deadline = std::time::Instant::now() + Duration::from_secs(10);
  while runner.try_wait().is_none() && std::time::Instant::now() < deadline {
    std::thread::sleep(Duration::from_millis(20));
  }
  if runner.try_wait().is_none() {
    runner.signal(libc::SIGKILL);
  }
  assert_all_gone(reaper.tag(), GRACE);
}

/// The state letter of process `pid` (`S`, `R`, `T` for stopped...), if it is there.
fn state(pid: i32) -> Option<char> {
  let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
  stat.rsplit(") ").next()?.chars().next()
}

#[test]
fn ctrl_z_stops_the_tasks_with_the_runner_and_fg_continues_them() {
  let test = hostile("", "");
  let reaper = Reaper::new("orphans");
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "-j", "8"]);
  started(&reaper);
  // The watchdog, which only waits, goes on.
  let pids = || {
    let tagged = crate::support::tagged_processes(reaper.tag()).into_iter();
    tagged.filter(|(_, cmd)| !cmd.contains("__watchdog")).map(|(pid, _)| pid).collect::<Vec<_>>()
  };
  runner.signal(libc::SIGTSTP);
  wait_until("the runner and every task's process are stopped", PATIENCE, || {
    state(runner.pid()) == Some('T') && pids().iter().all(|&pid| state(pid) == Some('T'))
  });
  assert!(pids().len() >= 4, "{:?}", pids());
  runner.signal(libc::SIGCONT);
  wait_until("every task's process runs again", PATIENCE, || {
    state(runner.pid()) != Some('T') && pids().iter().all(|&pid| state(pid) != Some('T'))
  });
  runner.signal(libc::SIGINT);
  let (run, _) = runner.wait(PATIENCE);
  run.code(130);
  assert_all_gone(reaper.tag(), Duration::from_secs(5));
}
