//! `runner validate` on bad job files: one file in `tests/diagnostics/` per kind of error.
//!
//! Each test snapshots the whole rendered diagnostic, and also checks the primary place (the
//! `╭─[file:LINE:COL]` header and the label under that line) explicitly, so a regression in
//! spans fails even if the snapshot is accepted without reading it.

use crate::support::{Test, repo};

/// What `runner validate` printed for one bad file, with the temp dir replaced by `[TMP]`.
struct Diagnosed {
  name: String,
  stderr: String,
}

/// Runs `runner validate` on `tests/diagnostics/NAME.yaml`, expects exit code 2 and snapshots
/// stderr as `NAME`.
#[track_caller]
fn validate(name: &str) -> Diagnosed {
  let file = format!("{name}.yaml");
  let yaml = std::fs::read_to_string(repo().join("tests/diagnostics").join(&file))
    .unwrap_or_else(|e| panic!("tests/diagnostics/{file}: {e}"));
  let test = Test::new();
  test.write(&file, &yaml);
  let path = test.path(&file);
  let run = test.run(&["validate", path.to_str().expect("utf-8 temp path")]);
  run.code(2);
  assert_eq!(run.stdout, "", "validate printed to stdout");
  let dir = test.dir.path().display().to_string();
  let stderr = run.stderr.replace(&dir, "[TMP]");
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!(name, stderr);
  });
  Diagnosed { name: file, stderr }
}

impl Diagnosed {
  /// The `(line, column)` of every `╭─[file:LINE:COL]` header, in printed order.
  fn headers(&self) -> Vec<(usize, usize)> {
    let prefix = format!("╭─[[TMP]/{}:", self.name);
    self
      .stderr
      .lines()
      .filter_map(|l| l.trim_start().strip_prefix(prefix.as_str()))
      .map(|rest| {
        let (line, col) = rest.trim_end_matches(']').split_once(':').expect("LINE:COL");
        (line.parse().expect("line number"), col.parse().expect("column"))
      })
      .collect()
  }

  /// Checks the error's code and message (the `×` line).
  #[track_caller]
  fn error(&self, code: &str, message: &str) -> &Self {
    let lines: Vec<&str> = self.stderr.lines().map(str::trim).collect();
    assert!(lines.contains(&code), "no `{code}` in\n{}", self.stderr);
    let expected = format!("× {message}");
    assert!(lines.contains(&expected.as_str()), "no `{expected}` in\n{}", self.stderr);
    self
  }

  /// Checks the primary place: a header at `line:col` and `label` under that line.
  #[track_caller]
  fn at(&self, line: usize, col: usize, label: &str) -> &Self {
    let headers = self.headers();
    assert!(
      headers.contains(&(line, col)),
      "no header at {line}:{col} (found {headers:?}) in\n{}",
      self.stderr
    );
    self.label(line, label)
  }

  /// Checks that `label` is drawn under source line `line`.
  #[track_caller]
  fn label(&self, line: usize, label: &str) -> &Self {
    let numbered = format!("{line} │");
    let lines: Vec<&str> = self.stderr.lines().collect();
    let found = lines.iter().enumerate().any(|(i, l)| {
      l.trim_start().starts_with(&numbered)
        && lines[i + 1..]
          .iter()
          .take_while(|l| l.trim_start().starts_with('·'))
          .any(|l| l.ends_with(&format!("── {label}")))
    });
    assert!(found, "no label `{label}` under line {line} in\n{}", self.stderr);
    self
  }

  /// Checks the help text, which miette may have wrapped onto the lines below `help:`.
  #[track_caller]
  fn help(&self, help: &str) -> &Self {
    let expected = format!("help: {help}");
    let lines: Vec<&str> = self.stderr.lines().map(str::trim).collect();
    let found = lines.iter().enumerate().filter(|(_, l)| l.starts_with("help: ")).any(|(i, _)| {
      let wrapped = lines[i..].iter().take_while(|l| !l.is_empty());
      wrapped.copied().collect::<Vec<_>>().join(" ") == expected
    });
    assert!(found, "no `{expected}` in\n{}", self.stderr);
    self
  }

  /// Checks the summary line at the end.
  #[track_caller]
  fn count(&self, errors: usize) -> &Self {
    let noun = if errors == 1 { "error" } else { "errors" };
    let expected = format!("[TMP]/{}: {errors} {noun}, nothing was run\n", self.name);
    assert!(self.stderr.ends_with(&expected), "{}", self.stderr);
    self
  }
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
      this_file.contains(&format!("validate(\"{name}\")")),
      "tests/diagnostics/{name}.yaml has no test"
    );
  }
}
