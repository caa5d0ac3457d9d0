//! What a task's processes start with and how they end: signal masks, a process that left the
//! task's group, the open-files limit, and no controlling terminal.

use crate::support::{
  BIN, Background, PATIENCE, Reaper, Test, events, require, sleeping, wait_for, wait_until,
};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn sigchld_and_the_stopping_signals_are_blocked_in_every_thread_of_the_runner_and_in_no_task() {
  // Exits are seen through pidfds; a SIGCHLD left unblocked would wake some thread for nothing.
  // The task's own mask is read by the process it became (`exec`): a shell blocks signals around
  // each fork, and a child reading the shell's mask then may catch it before they are unblocked.
  let test = Test::with_job(
    r#"
    tasks:
      masks:
        run: grep -h '^SigBlk' /proc/$PPID/task/*/status; exec grep '^SigBlk' /proc/self/status
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(0);
  let masks: Vec<u64> = (run.stdout.lines())
    .filter(|line| line.starts_with("[masks] SigBlk:"))
    .map(|line| u64::from_str_radix(line.split_whitespace().last().unwrap(), 16).unwrap())
    .collect();
  let (task, runner) = masks.split_last().expect("masks");
  assert!(!runner.is_empty(), "the runner's threads: {masks:x?}");
  // The stopping signals too: the loop reads them from a signalfd, whichever thread they reach.
  let blocked = [libc::SIGCHLD, libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];
  let all: u64 = blocked.iter().map(|&s| 1u64 << (s - 1)).sum();
  assert!(runner.iter().all(|mask| mask & all == all), "{masks:x?}");
  assert_eq!(*task, 0, "a task starts with nothing blocked");
}

#[test]
fn a_stopped_task_does_not_wait_for_output_held_outside_its_group() {
  // The `sleep` leaves the task's group (`setsid`) and ignores SIGTERM, so it holds the task's
  // output for the whole kill grace; a task that ends by itself waits for it (see
  // every_line_arrives_when_the_runner_keeps_the_pipes_until_the_exit), a stopped one does not.
  let reaper = Reaper::new("run");
  let test = Test::with_job(
    r#"
    tasks:
      holder:
        run: (setsid sh -c 'trap "" TERM; exec sleep 288.5' &); touch holder.started; sleep 300
    "#,
  );
  let runner = Background::spawn(&test, reaper.tag(), &["run", "job.yaml", "--output", "json"]);
  wait_until("the task has started", PATIENCE, || {
    test.path("holder.started").exists() && sleeping(reaper.tag(), "288.5") > 0
  });
  runner.signal(libc::SIGINT);
  let (run, took) = runner.wait(PATIENCE);
  run.code(130);
  assert!(took < Duration::from_secs(10), "took {took:?}");
  let note = events(&run).iter().any(|e| {
    e["event"] == "output" && e["line"].as_str().is_some_and(|l| l.contains("no longer read"))
  });
  assert!(note, "the task's output says its end was not read\n{}", run.stdout);
}

#[test]
fn more_tasks_run_at_once_than_the_open_files_limit_allows_and_tasks_keep_that_limit() {
  // Each running task holds a few descriptors: with a soft limit of 128, 100 parallel tasks need
  // the runner to raise its own; the tasks still get the limit they were started under.
  let mut job = String::from("tasks:\n  limit: {run: 'ulimit -Sn'}\n");
  for i in 0..100 {
    job.push_str(&format!("  t{i}: {{run: 'sleep 0.5'}}\n"));
  }
  let test = Test::with_job(&job);
  let script = format!("ulimit -Sn 128 && exec '{BIN}' run job.yaml -j 101 --output plain");
  let out = std::process::Command::new("sh")
    .args(["-c", &script])
    .current_dir(test.dir.path())
    .output()
    .expect("run sh");
  let stdout = String::from_utf8_lossy(&out.stdout);
  if String::from_utf8_lossy(&out.stderr).contains("ulimit") {
    eprintln!("skipping: this shell cannot lower the open-files limit");
    return;
  }
  assert_eq!(out.status.code(), Some(0), "{stdout}");
  assert!(stdout.lines().any(|l| l == "[limit] 128"), "{stdout}");
}

#[test]
fn a_task_that_needs_the_terminal_fails_instead_of_stopping() {
  // Under a terminal (here script's pty), a task in a process group of its own that sets the
  // terminal's modes would be stopped by SIGTTOU, and the run would wait for it forever. Tasks
  // have no controlling terminal: /dev/tty cannot be opened, and the task fails at once.
  if !require("script") {
    return;
  }
  let test = Test::with_job("tasks:\n  asks: {run: 'stty -echo < /dev/tty && echo set'}\n");
  let mut script = Command::new("script")
    .args(["-qec", &format!("'{BIN}' run job.yaml --output plain"), "/dev/null"])
    .current_dir(test.dir.path())
    .env("NO_COLOR", "1")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .spawn()
    .expect("start script");
  let ended = wait_for("the run to end", PATIENCE, || {
    script.try_wait().expect("try_wait").ok_or_else(|| "still running".to_string())
  });
  let mut out = String::new();
  std::io::Read::read_to_string(&mut script.stdout.take().unwrap(), &mut out).unwrap();
  assert_eq!(ended.code(), Some(1), "{out}");
  assert!(out.contains("[asks] failed"), "{out}");
  assert!(out.contains("/dev/tty"), "the shell says why\n{out}");
}
