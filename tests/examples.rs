//! Every example in `jobs/` is valid, matches the JSON Schema `runner schema` prints, and runs
//! to the exit code its header declares.

use crate::support::{BIN, Test, code_of, jobs, relative, repo, wait_child};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn every_example_validates() {
  for job in jobs() {
    let out = Command::new(BIN).arg("validate").arg(&job).output().expect("run");
    assert!(out.status.success(), "{}: {}", relative(&job), String::from_utf8_lossy(&out.stderr));
  }
}

#[test]
fn every_example_matches_the_json_schema() {
  let test = Test::new();
  let schema = test.run(&["schema"]);
  schema.code(0);
  let schema: serde_json::Value = serde_json::from_str(&schema.stdout).expect("schema is JSON");
  let validator = jsonschema::validator_for(&schema).expect("schema compiles");
  for job in jobs() {
    let text = std::fs::read_to_string(&job).expect("read");
    let doc: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
    let errors: Vec<String> =
      validator.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{}: {errors:?}", relative(&job));
  }
  assert!(repo().join("jobs").is_dir());
}

#[test]
fn schema_rejects_an_unknown_key() {
  let test = Test::new();
  let schema: serde_json::Value =
    serde_json::from_str(&test.run(&["schema"]).stdout).expect("JSON");
  let validator = jsonschema::validator_for(&schema).expect("schema compiles");
  let bad = serde_json::json!({"tasks": {"a": {"nedds": ["b"]}}});
  assert!(!validator.is_valid(&bad));
  let good = serde_json::json!({"tasks": {"a": {"run": "true", "needs": [], "delay": "1m30s"}}});
  assert!(
    validator.is_valid(&good),
    "{:?}",
    validator.iter_errors(&good).map(|e| e.to_string()).collect::<Vec<_>>()
  );
}

/// The exit code an example declares on a line of its comment header, `# expect: exit N`;
/// 0 when it declares none.
fn expected_exit(job: &Path, text: &str) -> i32 {
  let header = text.lines().take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
  let mut codes = header.filter_map(|l| l.trim().strip_prefix("# expect: exit")).map(|code| {
    code
      .trim()
      .parse::<i32>()
      .unwrap_or_else(|_| panic!("{}: `# expect: exit{code}` needs a number", relative(job)))
  });
  let code = codes.next().unwrap_or(0);
  assert!(codes.next().is_none(), "{}: more than one `# expect: exit N` line", relative(job));
  code
}

#[test]
fn every_example_has_a_header() {
  for job in jobs() {
    let text = std::fs::read_to_string(&job).expect("read");
    assert!(
      text.starts_with('#'),
      "{}: starts with no comment saying what it shows",
      relative(&job)
    );
  }
}

#[test]
fn every_example_runs_with_its_expected_exit_code() {
  // Only a guard against a hung run, not a timing check: the examples take a few seconds.
  const GUARD: Duration = Duration::from_secs(120);
  let checks: Vec<_> = jobs()
    .into_iter()
    .map(|job| {
      std::thread::spawn(move || {
        let text = std::fs::read_to_string(&job).expect("read");
        let expected = expected_exit(&job, &text);
        let test = Test::new();
        let mut cmd =
          test.command(&["run", job.to_str().expect("UTF-8 path"), "--output", "plain"]);
        // jobs/ci.yaml fails a test shard on purpose when FAIL_SHARD is set.
        cmd.env_remove("FAIL_SHARD").stdin(Stdio::null());
        cmd.stdout(std::fs::File::create(test.path("stdout")).expect("stdout file"));
        cmd.stderr(std::fs::File::create(test.path("stderr")).expect("stderr file"));
        let mut child = cmd.spawn().expect("spawn runner");
        let hung = wait_child(&mut child, GUARD).is_none();
        if hung {
          // SIGTERM first, so the runner ends its tasks' process groups; SIGKILL when it has not
          // exited 5 s later.
          // SAFETY: kill has no memory-safety preconditions; the child is not reaped yet.
          unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
          if wait_child(&mut child, Duration::from_secs(5)).is_none() {
            let _ = child.kill();
          }
        }
        let code = code_of(child.wait().expect("wait"));
        let problem = if hung {
          Some(format!("still running after {GUARD:?}"))
        } else if code != expected {
          Some(format!("exit {code}, expected {expected}"))
        } else {
          None
        };
        problem.map(|problem| {
          format!(
            "{}: {problem}\n--- stdout\n{}--- stderr\n{}",
            relative(&job),
            test.read("stdout"),
            test.read("stderr")
          )
        })
      })
    })
    .collect();
  let problems: Vec<String> =
    checks.into_iter().filter_map(|check| check.join().expect("check thread")).collect();
  assert!(problems.is_empty(), "{}", problems.join("\n"));
}
