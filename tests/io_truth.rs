//! Output, logs and exit codes that tell the truth: logs hold exactly the bytes a task wrote, a
//! queue item is one whole line, and a closed or full stdout, a failed log write or a killed
//! runner never pass for a run that went well.

use crate::support::{Test, parse};
use std::process::Command;

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
