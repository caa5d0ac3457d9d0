//! `includes:`: other job files' tasks, groups and queues under a namespace, needs across files,
//! each file's folder, shell and env for its tasks, and errors placed in the file they are in.

use crate::cli::bash_complete;
use crate::support::{Test, dedent, lines_of, require};

/// A root file including two files, one of which includes a third.
fn three_files() -> Test {
  let test = Test::new();
  std::fs::create_dir_all(test.path("ci/rust/out")).unwrap();
  std::fs::create_dir_all(test.path("docs")).unwrap();
  let write = |name: &str, yaml: &str| test.write(name, &dedent(yaml));
  write(
    "runner.yaml",
    r#"
    env: {WHO: root}
    includes:
      lint: ci/lint.yaml
      docs: docs/docs.yaml
    tasks:
      setup: {run: 'echo "setup in $PWD" >> "$LOG"; echo ready', env: {LOG: log}}
      all:
        needs: [lint:clippy, docs:site]
        run: 'echo "all after $RUNNER_RESULT_LINT_CLIPPY and $RUNNER_RESULT_DOCS_SITE" >> log'
    "#,
  );
  write(
    "ci/lint.yaml",
    r#"
    env: {WHO: lint}
    shell: [bash, -c]
    includes:
      rust: rust/rust.yaml
    tasks:
      clippy:
        needs: [":setup", rust:fmt]
        run: 'echo "clippy by $WHO in $PWD after $RUNNER_RESULT_SETUP, $RUNNER_RESULT_RUST_FMT" >> ../log; echo linted'
    "#,
  );
  write(
    "ci/rust/rust.yaml",
    r#"
    tasks:
      fmt: {run: 'echo "fmt by $WHO in $PWD" >> ../../../log; echo formatted', cwd: out}
    "#,
  );
  write(
    "docs/docs.yaml",
    r#"
    tasks:
      site: {run: 'echo "site in $PWD after $RUNNER_RESULT_SETUP" >> ../log; echo built', needs: [":setup"]}
    groups:
      every: {gather: [site]}
    queues:
      pages: {items: [index]}
    "#,
  );
  test
}

#[test]
fn needs_cross_files_in_order_each_task_in_its_own_folder() {
  let test = three_files();
  // One at a time, so the order is the scheduler's: setup and fmt are ready first.
  test.run(&["run", "--output", "plain", "-j", "1", "all"]).code(0);
  let root = test.dir.path().canonicalize().unwrap();
  let at = |dir: &str| root.join(dir).display().to_string();
  assert_eq!(
    lines_of(&test, "log"),
    [
      format!("setup in {}", root.display()),
      format!("fmt by lint in {}", at("ci/rust/out")),
      format!("site in {} after ready", at("docs")),
      format!("clippy by lint in {} after ready, formatted", at("ci")),
      "all after linted and built".to_string(),
    ]
  );
}

#[test]
fn list_shows_namespaced_names() {
  let test = three_files();
  let run = test.run(&["list"]);
  run.code(0);
  insta::assert_snapshot!(run.stdout);
}

#[test]
fn a_namespaced_target_runs_with_what_it_needs() {
  let test = three_files();
  test.run(&["run", "--output", "plain", "lint:rust:fmt"]).code(0);
  assert_eq!(lines_of(&test, "log").len(), 1);
  let run = test.run(&["run", "lint:clipy"]);
  run.code(2);
  assert!(run.stderr.contains("did you mean `lint:clippy`?"), "{}", run.stderr);
}

#[test]
fn an_include_cycle_is_located_in_the_file_that_closes_it() {
  let test = Test::new();
  test.write("runner.yaml", "includes: {a: a.yaml}\ntasks:\n  top: {needs: [a:x]}\n");
  test.write("a.yaml", "includes: {b: b.yaml}\ntasks:\n  x: {run: 'true'}\n");
  test.write("b.yaml", "tasks:\n  y: {run: 'true'}\nincludes:\n  back: a.yaml\n");
  let run = test.run(&["validate"]);
  run.code(2);
  insta::assert_snapshot!(run.stderr);
}

#[test]
fn an_unknown_need_across_files_is_located_where_it_is_written() {
  let test = Test::new();
  test.write("runner.yaml", "includes: {lint: ci/lint.yaml}\ntasks:\n  setup: {run: 'true'}\n");
  std::fs::create_dir(test.path("ci")).unwrap();
  test.write(
    "ci/lint.yaml",
    "tasks:\n  clippy: {run: 'true', needs: [':stup']}\n  fmt: {needs: [clipy]}\n",
  );
  let run = test.run(&["run"]);
  run.code(2);
  insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_missing_included_file_is_located_at_the_include() {
  let test = Test::with_job("includes:\n  lint: ci/lint.yaml\ntasks:\n  a: {run: 'true'}\n");
  let run = test.run(&["run", "job.yaml"]);
  run.code(2);
  insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_namespace_named_as_a_task_is_a_clash() {
  let test = Test::with_job("includes:\n  lint: lint.yaml\ntasks:\n  lint: {run: 'true'}\n");
  test.write("lint.yaml", "tasks:\n  x: {run: 'true'}\n");
  let run = test.run(&["validate", "job.yaml"]);
  run.code(2);
  assert!(run.stderr.contains("`lint` is both an include and a task"), "{}", run.stderr);
  assert!(run.stderr.contains("[job.yaml:2:3]"), "{}", run.stderr);
}

#[test]
fn name_and_concurrency_of_an_included_file_are_ignored_with_a_warning() {
  let test =
    Test::with_job("concurrency: 2\nincludes:\n  lint: lint.yaml\ntasks:\n  a: {run: 'true'}\n");
  test.write("lint.yaml", "name: lint\nconcurrency: 9\ntasks:\n  x: {run: 'true'}\n");
  let run = test.run(&["validate", "job.yaml"]);
  run.code(0);
  assert!(run.stderr.contains("`name` of an included file is ignored"), "{}", run.stderr);
  assert!(run.stderr.contains("`concurrency` of an included file is ignored"), "{}", run.stderr);
  assert!(run.stderr.contains("lint.yaml: 2 warnings"), "{}", run.stderr);
}

#[test]
fn completion_offers_namespaced_names_of_the_found_file() {
  if !require("bash") {
    return;
  }
  let test = three_files();
  let names = bash_complete(test.dir.path(), &["runner", "run", "lint:"]);
  assert_eq!(names, ["lint:clippy", "lint:rust:fmt"]);
  let names = bash_complete(test.dir.path(), &["runner", "run", "all", "docs:"]);
  assert_eq!(names, ["docs:site", "docs:every"]);
}

#[test]
fn an_included_task_reads_its_environment_files_from_its_own_folder() {
  let test = Test::new();
  test.write("runner.yaml", "includes: {lint: ci/lint.yaml}\ntasks:\n  top: {run: 'true'}\n");
  std::fs::create_dir(test.path("ci")).unwrap();
  let lint = "tasks:\n  check:\n    run: echo \"from=$FROM\"\n    dotenv: [.env]\n";
  test.write("ci/lint.yaml", lint);
  test.write("ci/.env", "FROM=ci\n");
  test.write(".env", "FROM=root\n");
  let run = test.run(&["run", "-f", "runner.yaml", "--output", "plain"]);
  run.code(0);
  assert!(run.stdout.contains("[lint:check] from=ci"), "{}", run.stdout);
}
