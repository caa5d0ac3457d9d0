//! Output, logs and exit codes that tell the truth: logs hold exactly the bytes a task wrote, a
//! queue item is one whole line, and a closed or full stdout, a failed log write or a killed
//! runner never pass for a run that went well.

use crate::support::{
  BIN, Background, PATIENCE, Reaper, TAG, Test, assert_all_gone, parse, tagged_processes,
  wait_child, wait_until,
};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the task below writes: bytes that are not UTF-8, `\r\n` ends, a line of 200 KiB, and a
/// last line without a line end; on stderr too.
const BYTES: &str = r"printf '\377\376 ok\r\nline two\r\n'; head -c 204800 /dev/zero | tr '\0' x; printf '\nno end'; printf 'e\377\r\n' >&2; printf 'e-no-end' >&2";

/// The bytes `script` writes to stdout and to stderr, run by `sh` directly.
fn written_by(script: &str) -> (Vec<u8>, Vec<u8>) {
  let out = Command::new("sh").args(["-c", script]).output().expect("sh");
  (out.stdout, out.stderr)
}

#[test]
fn logs_hold_exactly_the_bytes_a_task_wrote() {
  let test =
    Test::with_job(&format!("tasks:\n  bytes:\n    run: \"{}\"\n", BYTES.replace('\\', "\\\\")));
  test.run(&["run", "job.yaml", "--log-dir", "logs", "--output", "plain"]).code(0);
  let (stdout, stderr) = written_by(BYTES);
  let log = |ext| std::fs::read(test.path(&format!("logs/bytes/attempt-1.{ext}"))).unwrap();
  assert!(log("stdout") == stdout, "stdout log differs from what was written");
  assert!(log("stderr") == stderr, "stderr log differs from what was written");
  // And byte for byte as `cmp` sees it.
  std::fs::write(test.path("expected"), &stdout).unwrap();
  let mut cmp = Command::new("cmp");
  cmp.args(["expected", "logs/bytes/attempt-1.stdout"]).current_dir(test.dir.path());
  assert!(cmp.status().unwrap().success());
}

#[test]
fn a_long_line_is_one_queue_item() {
  let test = Test::with_job(
    r#"
    queues:
      q: {}
    tasks:
      make:
        run: "head -c 204800 /dev/zero | tr '\\0' x; echo; echo short"
        produces: q
      use:
        run: "printf '%s\n' \"${#RUNNER_ITEM}\" >> lengths"
        consumes: q
    "#,
  );
  test.run(&["run", "job.yaml", "--report", "report.json", "--output", "plain"]).code(0);
  let report = parse(&test.read("report.json"));
  assert_eq!(report["queues"][0]["put"], 2, "{report:#}");
  assert_eq!(report["queues"][0]["done"], 2);
}

#[test]
fn a_line_too_long_for_an_item_fails_its_producer_and_says_why() {
  let test = Test::with_job(
    r#"
    queues:
      q: {}
    tasks:
      make:
        run: "echo first; head -c 17000000 /dev/zero | tr '\\0' x; echo; echo never"
        produces: q
      use:
        run: "true"
        consumes: q
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--report", "report.json", "--output", "plain"]);
  run.code(1);
  assert!(run.stdout.contains("cannot be a queue item"), "{}", run.stdout);
  let report = parse(&test.read("report.json"));
  assert_eq!(report["queues"][0]["put"], 1, "only the line before: {report:#}");
  assert_eq!(report["tasks"][0]["status"], "failed");
}

/// Long sleeps, told apart from every other process by their argument, and one task that talks.
const SLEEPS: &str = r#"
tasks:
  talk: {run: "echo hello; echo more; sleep 31.123"}
  one: {run: sleep 31.123}
  two: {run: sleep 31.123}
"#;

/// How many of the tagged processes are the sleeps of [`SLEEPS`].
fn sleeps(tag: &str) -> usize {
  tagged_processes(tag)
    .values()
    .filter(|cmd| cmd.rsplit('/').next() == Some("sleep 31.123"))
    .count()
}

/// `sh -c SCRIPT` in the test's folder, with `$0` the runner and the tag in its environment.
fn sh(test: &Test, tag: &str, script: &str) -> Command {
  let mut cmd = Command::new("sh");
  cmd.args(["-c", script, BIN]).current_dir(test.dir.path()).env(TAG, tag).env("NO_COLOR", "1");
  cmd.stdin(Stdio::null());
  cmd
}

#[test]
fn a_reader_that_leaves_stops_the_run_at_once() {
  let test = Test::with_job(SLEEPS);
  let reaper = Reaper::new("epipe");
  let script =
    r#"{ "$0" run job.yaml -j 3 --output plain 2>stderr; echo $? > code; } | head -1 > first"#;
  let started = Instant::now();
  let mut child = sh(&test, reaper.tag(), script).spawn().unwrap();
  let status = wait_child(&mut child, Duration::from_secs(10));
  let took = started.elapsed();
  assert!(
    status.is_some_and(|s| s.success()),
    "the pipeline did not end: {:?}",
    test.read("first")
  );
  assert!(took < Duration::from_secs(3), "took {took:?}");
  assert_eq!(test.read("code").trim(), "141", "stderr: {}", test.read("stderr"));
  assert_eq!(test.read("stderr"), "", "a reader that left is no error to speak of");
  assert_all_gone(reaper.tag(), Duration::from_secs(1));
}

#[test]
fn a_full_stdout_fails_the_run_and_says_why() {
  let test = Test::with_job("tasks:\n  a: {run: touch ran}\n");
  let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
  let out = test.command(&["run", "job.yaml", "--output", "plain"]).stdout(full).output().unwrap();
  let stderr = String::from_utf8_lossy(&out.stderr);
  assert_eq!(out.status.code(), Some(1), "{stderr}");
  assert!(stderr.contains("runner: cannot write output: No space left on device"), "{stderr}");
  assert!(test.path("ran").exists(), "the run went on");
}

#[test]
fn a_closed_stdout_fails_the_run_and_says_why() {
  let test = Test::with_job("tasks:\n  a: {run: touch ran}\n");
  let reaper = Reaper::new("closed");
  let script =
    r#""$0" run job.yaml --output plain --report report.json >&- 2>stderr; echo $? > code"#;
  assert!(sh(&test, reaper.tag(), script).status().unwrap().success());
  let stderr = test.read("stderr");
  assert_eq!(test.read("code").trim(), "1", "{stderr}");
  assert!(stderr.contains("runner: cannot write output: Bad file descriptor"), "{stderr}");
  let report = parse(&test.read("report.json"));
  assert_eq!(report["exit_code"], 1);
  assert_eq!(report["cause"], "cannot write output: Bad file descriptor");
}

#[test]
fn a_dev_null_opened_read_write_is_not_a_closed_stdout() {
  // As Python's `subprocess.DEVNULL` opens it: what the Rust runtime also puts on a closed
  // stdout, so it is the start of the process that tells them apart.
  let test = Test::with_job("tasks:\n  a: {run: echo hi}\n");
  let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").unwrap();
  let out = test.command(&["run", "job.yaml"]).stdout(null).stderr(Stdio::piped()).output();
  let out = out.expect("ran");
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_log_that_cannot_be_written_shows_in_the_summary_the_report_and_the_exit_code() {
  let test = Test::with_job("tasks:\n  a: {run: echo hello}\n  b: {run: echo fine}\n");
  std::fs::create_dir_all(test.path("logs/a")).unwrap();
  std::os::unix::fs::symlink("/dev/full", test.path("logs/a/attempt-1.stdout")).unwrap();
  let args = ["run", "job.yaml", "--output", "plain", "--log-dir", "logs", "--report", "r.json"];
  let run = test.run(&args);
  run.code(1);
  let lost = "cannot write `logs/a/attempt-1.stdout`: No space left on device";
  let last = run.stdout.lines().last().unwrap_or_default();
  assert!(last.starts_with("runner: failed (exit 1)") && last.contains(lost), "{}", run.stdout);
  let report = parse(&test.read("r.json"));
  assert_eq!((&report["status"], &report["exit_code"]), (&"failed".into(), &1.into()));
  assert_eq!(report["cause"], lost);
  assert_eq!(std::fs::read_to_string(test.path("logs/b/attempt-1.stdout")).unwrap(), "fine\n");
}

#[test]
fn a_killed_runner_leaves_its_earlier_report_whole() {
  let test = Test::with_job(SLEEPS);
  test.write("quick.yaml", "tasks:\n  a: {run: echo hi}\n");
  test.run(&["run", "quick.yaml", "--output", "plain", "--report", "report.json"]).code(0);
  let earlier = test.read("report.json");
  parse(&earlier);
  let reaper = Reaper::new("kill9");
  let args = ["run", "job.yaml", "-j", "3", "--output", "plain", "--report", "report.json"];
  let mut runner = Background::spawn(&test, reaper.tag(), &args);
  wait_until("the sleeps run", PATIENCE, || sleeps(reaper.tag()) == 3);
  runner.signal(libc::SIGKILL);
  wait_until("the runner is gone", PATIENCE, || runner.try_wait().is_some());
  assert_eq!(test.read("report.json"), earlier, "the earlier report, whole");
}

#[test]
fn more_jobs_than_open_files_allow_run_fewer_at_once_and_none_fails() {
  let tasks: String = (0..300).map(|i| format!("  t{i}: {{run: sleep 0.2}}\n")).collect();
  let test = Test::with_job(&format!("tasks:\n{tasks}"));
  let reaper = Reaper::new("nofile");
  let script = r#"ulimit -n 1024 && exec "$0" run job.yaml -j 1000 --output json >out 2>err"#;
  let status = sh(&test, reaper.tag(), script).status().unwrap();
  let stderr = test.read("err");
  assert!(status.success(), "{status:?}\n{stderr}\n{}", test.read("out"));
  assert_eq!(stderr.lines().count(), 1, "one warning: {stderr}");
  assert!(stderr.contains("the open-files limit (1024) allows"), "{stderr}");
  let events: Vec<serde_json::Value> = test.read("out").lines().map(parse).collect();
  let jobs = events[0]["jobs"].as_u64().unwrap();
  assert!((50..1000).contains(&jobs), "jobs {jobs}");
  let end = events.last().unwrap();
  assert_eq!(end["counts"]["succeeded"], 300, "{end}");
}
