//! `runner validate` on bad job files: one file in `tests/diagnostics/` per kind of error.
//!
//! Each test snapshots the whole rendered diagnostic, and also checks the primary place (the
//! `╭─[file:LINE:COL]` header and the label under that line) explicitly, so a regression in
//! spans fails even if the snapshot is accepted without reading it.

use crate::support::{Test, repo};
use harness::Diagnosed;

pub(crate) mod harness;

/// Runs `runner validate` on `tests/diagnostics/NAME.yaml`, expects exit code 2 and snapshots
/// stderr as `NAME`.
#[track_caller]
fn validate(name: &str) -> Diagnosed {
  diagnose(name, 2)
}

/// Like [`validate`] for a file with warnings only: it is valid, exit code 0.
#[track_caller]
fn validate_warns(name: &str) -> Diagnosed {
  diagnose(name, 0)
}

#[track_caller]
fn diagnose(name: &str, code: i32) -> Diagnosed {
  let file = format!("{name}.yaml");
  let yaml = std::fs::read_to_string(repo().join("tests/diagnostics").join(&file))
    .unwrap_or_else(|e| panic!("tests/diagnostics/{file}: {e}"));
  let test = Test::new();
  test.write(&file, &yaml);
  let path = test.path(&file);
  let run = test.run(&["validate", path.to_str().expect("utf-8 temp path")]);
  run.code(code);
  if code == 0 {
    assert!(run.stdout.contains(": ok ("), "validate did not pass the file: {}", run.stdout);
  } else {
    assert_eq!(run.stdout, "", "validate printed to stdout");
  }
  let dir = test.dir.path().display().to_string();
  let stderr = run.stderr.replace(&dir, "[TMP]");
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!(name, stderr);
  });
  Diagnosed { name: file, stderr }
}

#[test]
fn yaml_syntax() {
  validate("yaml_syntax")
    .error("runner::syntax", "invalid YAML: illegal placement of ':' indicator")
    .at(6, 10, "the parser stopped here")
    .help("is a `[` or `{` on an earlier line missing its closing bracket?")
    .count(1);
}

#[test]
fn colon_in_value() {
  validate("colon_in_value")
    .error("runner::syntax", "invalid YAML: mapping values are not allowed in this context")
    .at(3, 20, "`: ` cannot be part of an unquoted value")
    .help("quote the whole value: `run: 'echo \"lint: ok\"'`, or use a block scalar (`run: |`)")
    .count(1);
}

#[test]
fn tab_indent() {
  validate("tab_indent")
    .error("runner::syntax", "invalid YAML: a tab in the indentation")
    .at(8, 1, "tabs cannot indent YAML")
    .help("indent with spaces")
    .count(1);
}

#[test]
fn unknown_key() {
  validate("unknown_key")
    .error("runner::unknown_key", "unknown key `nedds` in task `test`")
    .at(6, 5, "not a key here")
    .help("did you mean `needs`?")
    .count(1);
}

#[test]
fn unknown_top_level_key() {
  validate("unknown_top_level_key")
    .error("runner::unknown_key", "unknown key `task` in the job file")
    .at(2, 1, "not a key here")
    .help("did you mean `tasks`?");
}

#[test]
fn wrong_type_needs() {
  validate("wrong_type_needs")
    .error("runner::wrong_type", "`tasks.b.needs` must be a list of names, found a string")
    .at(6, 12, "expected a list of names")
    .help("write `needs: [a]`");
}

#[test]
fn wrong_type_retries() {
  validate("wrong_type_retries")
    .error("runner::wrong_type", "`tasks.flaky.retries` must be a whole number, found a string")
    .at(4, 14, "expected a whole number")
    .help("write a number, e.g. `retries: 2`");
}

#[test]
fn env_list() {
  validate("env_list")
    .error("runner::wrong_type", "`env.TARGETS` must be a string, found a list")
    .at(4, 12, "expected a string")
    .help(
      "env values are strings: join the list, e.g. `TARGETS: 'x86_64 aarch64'`, or write it as \
       JSON, e.g. `TARGETS: '[\"x86_64\",\"aarch64\"]'`",
    )
    .count(1);
}

#[test]
fn duplicate_key() {
  validate("duplicate_key")
    .error("runner::duplicate_key", "duplicate key `run` in task `build`")
    .at(5, 5, "defined again here")
    .label(3, "first defined here");
}

#[test]
fn duplicate_task() {
  let out = validate("duplicate_task");
  out
    .error("runner::duplicate_key", "task `build` is defined twice")
    .at(6, 3, "defined again here")
    .label(2, "first defined here");
  // The two places are far apart: miette draws two excerpts, in file order.
  assert_eq!(out.headers(), [(2, 3), (6, 3)]);
}

#[test]
fn bad_name() {
  validate("bad_name").error("runner::bad_name", "invalid name `1bad`").at(2, 3, "invalid name");
}

#[test]
fn unknown_need() {
  validate("unknown_need")
    .error("runner::unknown_reference", "`test` needs unknown task or group `biuld`")
    .at(6, 13, "no such task or group")
    .help("did you mean `build`?");
}

#[test]
fn unknown_member() {
  validate("unknown_member")
    .error("runner::unknown_reference", "group `teas` has unknown member `gren`")
    .at(8, 25, "no such task or group")
    .help("did you mean `green`?");
}

#[test]
fn task_and_group() {
  validate("task_and_group")
    .error("runner::name_clash", "`teas` is both a task and a group")
    .at(7, 3, "group defined here")
    .label(4, "task defined here");
}

#[test]
fn cycle_needs() {
  validate("cycle_needs")
    .error("runner::cycle", "dependency cycle: a -> c -> b -> a")
    .at(4, 13, "`a` needs `c`")
    .label(7, "`b` needs `a`")
    .label(10, "`c` needs `b`")
    .count(1);
}

#[test]
fn cycle_queue() {
  validate("cycle_queue")
    .error("runner::cycle", "dependency cycle: take-orders -> brew -> queue orders -> take-orders")
    .at(7, 13, "`take-orders` needs `brew`")
    .label(6, "`take-orders` produces into `orders`")
    .label(9, "`brew` consumes `orders` until its producers end");
}

#[test]
fn cycle_group() {
  validate("cycle_group")
    .error("runner::cycle", "dependency cycle: mix -> teas -> mix")
    .at(6, 13, "`mix` needs `teas`")
    .label(9, "`teas` waits for its member `mix`");
}

#[test]
fn negative_duration() {
  validate("negative_duration")
    .error("runner::bad_duration", "negative duration `-5s`")
    .at(4, 12, "negative");
}

#[test]
fn bad_duration() {
  validate("bad_duration").error("runner::bad_duration", "invalid duration `10 minutes`").at(
    4,
    14,
    "not a duration",
  );
}

#[test]
fn workers_without_consumes() {
  validate("workers_without_consumes")
    .error("runner::workers_without_consumes", "task `brew` sets `workers` but consumes no queue")
    .at(4, 14, "only for consumers")
    .help("add `consumes: QUEUE` or remove `workers`");
}

#[test]
fn produces_unknown_queue() {
  validate("produces_unknown_queue")
    .error("runner::unknown_queue", "unknown queue `order`")
    .at(6, 15, "not declared under `queues`")
    .help("did you mean `orders`?");
}

#[test]
fn consumes_unknown_queue() {
  validate("consumes_unknown_queue")
    .error("runner::unknown_queue", "unknown queue `deliveries`")
    .at(8, 15, "not declared under `queues`")
    .help("declare it under `queues:`, e.g. `queues: {deliveries: {maxsize: 10}}`");
}

#[test]
fn empty_gather() {
  validate("empty_gather")
    .error("runner::empty_group", "group `teas` has no members")
    .at(3, 13, "empty list")
    .help("list the tasks or groups to gather, e.g. `gather: [a, b]`");
}

#[test]
fn empty_wait() {
  validate("empty_wait")
    .error("runner::empty_group", "group `sleepers` has no members")
    .at(3, 11, "empty list")
    .help("list the tasks or groups to wait for, e.g. `wait: [a, b]`");
}

#[test]
fn bad_return_when() {
  validate("bad_return_when")
    .error("runner::bad_return_when", "unknown `return_when` value `FIRST_COMPLETE`")
    .at(7, 18, "not a rule")
    .help("did you mean `FIRST_COMPLETED`?");
}

#[test]
fn bad_pending() {
  validate("bad_pending")
    .error("runner::bad_pending", "unknown `pending` value `keep`")
    .at(7, 14, "not a choice")
    .help("choose one of `cancel`, `continue`");
}

#[test]
fn bad_version() {
  validate("bad_version").error("runner::bad_version", "unsupported version `2`").at(
    1,
    10,
    "only version 1 exists",
  );
}

#[test]
fn nul_byte() {
  let message = "a NUL byte (`\\0`) cannot be part of a string here";
  validate("nul_byte")
    .error("runner::bad_value", message)
    .at(2, 12, "holds a NUL byte")
    .at(3, 27, "holds a NUL byte")
    .at(4, 19, "holds a NUL byte")
    .at(5, 22, "holds a NUL byte");
}

#[test]
fn gather_and_wait() {
  validate("gather_and_wait")
    .error("runner::bad_group", "group `both` has both `gather` and `wait`")
    .at(7, 11, "`wait` list")
    .label(6, "`gather` list");
}

#[test]
fn many_errors_print_together_in_file_order() {
  let out = validate("many_errors");
  out
    .error("runner::bad_version", "unsupported version `3`")
    .at(1, 10, "only version 1 exists")
    .error("runner::bad_duration", "invalid duration `soon`")
    .at(5, 14, "not a duration")
    .error("runner::unknown_key", "unknown key `nedds` in task `test`")
    .at(8, 5, "not a key here")
    .error("runner::unknown_reference", "`deploy` needs unknown task or group `tset`")
    .at(10, 13, "no such task or group")
    .help("did you mean `test`?")
    .error("runner::workers_without_consumes", "task `deploy` sets `workers` but consumes no queue")
    .at(11, 14, "only for consumers")
    .error("runner::empty_group", "group `all` has no members")
    .at(14, 13, "empty list")
    .count(6);
  assert_eq!(out.headers(), [(1, 10), (5, 14), (8, 5), (10, 13), (11, 14), (14, 13)]);
}

#[test]
fn empty_file() {
  let out = validate("empty_file");
  out
    .error("runner::no_tasks", "the job file is empty")
    .help("a job file needs at least one task, e.g.")
    .count(1);
  assert_eq!(out.headers(), [(1, 1)]);
  assert!(out.stderr.contains("\n        tasks:\n          hello:\n            run: echo hello\n"));
}

#[test]
fn no_tasks() {
  validate("no_tasks")
    .error("runner::no_tasks", "the job file has no `tasks`")
    .at(1, 1, "no `tasks` in this file")
    .help("a job file needs at least one task, e.g.")
    .count(1);
}

#[test]
fn cut_by_comment() {
  let message = "` #` starts a YAML comment and cuts this command short inside a quote";
  let out = validate_warns("cut_by_comment");
  out
    .warning("runner::cut_by_comment", message)
    .at(6, 28, "read as a comment")
    .label(6, "the command ends here, with an unclosed `\"`")
    .help("quote the whole value: `run: 'echo \"fixes issue #5 for real\"'`")
    .at(8, 33, "read as a comment")
    .label(8, "the command ends here, with an unclosed `'`")
    .help("quote the whole value: `- \"echo 'could not release # see the log\"`")
    .warnings(2);
  // `make # build it` is a command and a comment, as meant: no warning.
  assert_eq!(out.headers(), [(6, 28), (8, 33)]);
}

#[test]
fn warnings_are_printed_before_the_command_goes_on() {
  let yaml = std::fs::read_to_string(repo().join("tests/diagnostics/cut_by_comment.yaml"))
    .expect("tests/diagnostics/cut_by_comment.yaml");
  let test = Test::new();
  test.write("jobs.yaml", &yaml);
  let path = test.path("jobs.yaml");
  let run = test.run(&["list", path.to_str().expect("utf-8 temp path")]);
  run.code(0);
  assert!(run.stdout.contains("release"), "{}", run.stdout);
  assert!(run.stderr.contains("⚠ ` #` starts a YAML comment"), "{}", run.stderr);
  assert!(run.stderr.ends_with("jobs.yaml: 2 warnings\n"), "{}", run.stderr);
  // With an error as well, both are shown and the summary counts each.
  test.write("jobs.yaml", &format!("{yaml}    retries: x\n"));
  let run = test.run(&["validate", path.to_str().expect("utf-8 temp path")]);
  run.code(2);
  assert!(
    run.stderr.ends_with("jobs.yaml: 1 error, 2 warnings, nothing was run\n"),
    "{}",
    run.stderr
  );
}

/// A bad file without a test (and so without a snapshot) would never be looked at.
#[test]
fn every_bad_file_has_a_test() {
  let this_file = include_str!("diagnostics.rs");
  let mut names: Vec<String> = std::fs::read_dir(repo().join("tests/diagnostics"))
    .expect("tests/diagnostics/")
    .map(|e| e.expect("entry").path())
    .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
    .collect();
  names.sort();
  assert!(names.len() >= 22, "only {} bad files", names.len());
  for name in names {
    assert!(
      this_file.contains(&format!("validate(\"{name}\")"))
        || this_file.contains(&format!("validate_warns(\"{name}\")")),
      "tests/diagnostics/{name}.yaml has no test"
    );
  }
}
