//! The loader's bounds, through the real binary: what is not a regular file or is too large is
//! refused before it is read, parallelism above the limit is a located error, an error past
//! column 65,535 is drawn, and deeply nested groups keep their results' types. Each ends
//! quickly, in little memory, with exit code 2 for bad input.

use crate::support::{Test, require, wait_child};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `runner validate PATH` must end within a few seconds (it must not block or read forever).
#[track_caller]
fn validate_quickly(test: &Test, path: &str) -> (i32, String) {
  let mut child = test
    .command(&["validate", path])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn runner");
  let Some(status) = wait_child(&mut child, Duration::from_secs(10)) else {
    let _ = child.kill();
    let _ = child.wait();
    panic!("`runner validate {path}` did not end within 10s");
  };
  let mut stderr = String::new();
  std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
    .expect("read stderr");
  (status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_fifo_is_refused_without_blocking() {
  let test = Test::new();
  let fifo = test.path("job.yaml");
  let c_path = std::ffi::CString::new(fifo.to_str().expect("utf-8 path")).expect("no NUL");
  // SAFETY: a valid C string; mkfifo has no other precondition.
  assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
  let (code, stderr) = validate_quickly(&test, "job.yaml");
  assert_eq!(code, 2, "{stderr}");
  assert_eq!(
    stderr,
    "error: cannot read `job.yaml`: it is a FIFO (named pipe); a job file must be a regular file\n"
  );
}

#[test]
fn devices_and_directories_are_refused() {
  let test = Test::new();
  for (path, what) in [("/dev/zero", "a character device"), (".", "a directory")] {
    let (code, stderr) = validate_quickly(&test, path);
    assert_eq!(code, 2, "{stderr}");
    assert!(
      stderr.contains(&format!("it is {what}; a job file must be a regular file")),
      "{stderr}"
    );
  }
}

#[test]
fn a_file_over_64_mib_is_refused_by_its_size() {
  let test = Test::new();
  // Sparse: the file has the size without the disk space, and it is never read.
  let file = std::fs::File::create(test.path("job.yaml")).expect("create");
  file.set_len((64 << 20) + 1).expect("set_len");
  let start = Instant::now();
  let (code, stderr) = validate_quickly(&test, "job.yaml");
  assert_eq!(code, 2, "{stderr}");
  assert!(
    stderr.contains("it holds 67108865 bytes, over the limit of 67108864 bytes (64 MiB)"),
    "{stderr}"
  );
  assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

#[test]
fn workers_and_concurrency_above_the_limit_are_located_errors() {
  let test = Test::with_job(
    "
    concurrency: 10000000
    queues: {q: {items: [a]}}
    tasks:
      c: {run: 'true', consumes: q, workers: 1000000000}
    ",
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(2);
  assert_eq!(run.stdout, "");
  for (message, line) in [
    ("× `concurrency` must be at most 4096, found 10000000", "[job.yaml:1:14]"),
    ("× `tasks.c.workers` must be at most 4096, found 1000000000", "[job.yaml:4:42]"),
  ] {
    assert!(run.stderr.contains(message), "no `{message}` in\n{}", run.stderr);
    assert!(run.stderr.contains(line), "no `{line}` in\n{}", run.stderr);
  }
  assert!(run.stderr.contains("above the limit"), "{}", run.stderr);
  assert!(run.stderr.ends_with("job.yaml: 2 errors, nothing was run\n"), "{}", run.stderr);
}

#[test]
fn a_billion_workers_end_quickly_in_little_memory() {
  if !require("/usr/bin/time") {
    return;
  }
  let test = Test::with_job(
    "
    queues: {q: {items: [a]}}
    tasks:
      c: {run: 'true', consumes: q, workers: 1000000000}
    ",
  );
  let measured = test.measure(&["run", "job.yaml"], Duration::from_secs(10));
  assert_eq!(measured.status.code(), Some(2), "{}", test.read("time.txt"));
  assert!(measured.peak_kb < 200 * 1024, "peak RSS {} kB", measured.peak_kb);
}

#[test]
fn an_error_past_column_65535_is_drawn() {
  let test = Test::new();
  test.write("job.yaml", &format!("tasks:\n  a: {{run: \"{}\" x: y}}\n", "x".repeat(70_000)));
  let (code, stderr) = validate_quickly(&test, "job.yaml");
  assert_eq!(code, 2, "{stderr}");
  assert!(stderr.contains("× invalid YAML:"), "{stderr}");
  assert!(stderr.contains("╭─[job.yaml:2:70015]"), "{}", &stderr[..stderr.len().min(2000)]);
  // Only a window of the line is drawn, not 70,000 characters.
  assert!(stderr.len() < 2_000, "{} bytes of errors", stderr.len());
}

/// `[[...["hi"]...]]`, `depth` deep: serde_json cannot parse it past 128 levels, so it is read
/// by hand.
fn nested(depth: usize) -> String {
  "[".repeat(depth) + "\"hi\"" + &"]".repeat(depth)
}

#[test]
fn three_thousand_nested_gather_groups_keep_their_results() {
  let mut yaml = String::from("tasks:\n  t: {run: echo hi}\n");
  yaml += "  show: {run: 'printf %s \"$RUNNER_RESULT_G199\" > deep.json', needs: [g2999, g199]}\n";
  yaml += "groups:\n  g0: {gather: [t]}\n";
  for i in 1..3000 {
    yaml += &format!("  g{i}: {{gather: [g{}]}}\n", i - 1);
  }
  let test = Test::new();
  test.write("job.yaml", &yaml);
  let start = Instant::now();
  test.run(&["run", "--output", "plain", "job.yaml"]).code(0);
  assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
  assert_eq!(test.read("deep.json"), nested(200));
}

#[test]
fn a_queue_too_large_to_hold_is_a_located_error() {
  let test = Test::with_job(
    "
    queues: {q: {maxsize: 1000000000}}
    tasks:
      p: {run: echo a, produces: q}
    ",
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(2);
  let message = "× `queues.q.maxsize` must be at most 1000000, found 1000000000";
  assert!(run.stderr.contains(message), "{}", run.stderr);
  assert!(run.stderr.contains("[job.yaml:1:23]"), "{}", run.stderr);
}
