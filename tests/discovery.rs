//! Finding the job file: `runner.yaml` (or `runner.yml`) in the current folder or the nearest
//! one above, `-f FILE`, and the old `runner run FILE [TARGET...]` form.

use crate::support::{Run, Test, dedent, lines_of};

const JOB: &str = r#"
  tasks:
    build: {run: echo "build in $PWD" >> log, description: compile it}
    test:  {run: echo test >> log, needs: [build]}
    docs:  {run: echo docs >> log}
"#;

fn run_in(test: &Test, dir: &str, args: &[&str]) -> Run {
  Run::from(test.command(args).current_dir(test.path(dir)).output().expect("run runner"))
}

#[test]
fn runs_the_runner_yaml_found_two_levels_up_in_its_own_folder() {
  let test = Test::new();
  test.write("runner.yaml", &dedent(JOB));
  std::fs::create_dir_all(test.path("src/deep")).unwrap();
  run_in(&test, "src/deep", &["run", "--output", "plain", "build", "test"]).code(0);
  let root = test.dir.path().canonicalize().unwrap();
  assert_eq!(lines_of(&test, "log"), [format!("build in {}", root.display()), "test".into()]);
  assert!(!test.path("src/deep/log").exists());
}

#[test]
fn list_validate_and_graph_find_it_too() {
  let test = Test::new();
  test.write("runner.yml", &dedent(JOB));
  std::fs::create_dir(test.path("sub")).unwrap();
  let list = run_in(&test, "sub", &["list"]);
  list.code(0);
  assert!(list.stdout.contains("build  # compile it"), "{}", list.stdout);
  let validate = run_in(&test, "sub", &["validate"]);
  validate.code(0);
  let found = test.dir.path().canonicalize().unwrap().join("runner.yml");
  assert_eq!(validate.stdout, format!("{}: ok (3 tasks, 0 groups, 0 queues)\n", found.display()));
  run_in(&test, "sub", &["graph", "--format", "mermaid"]).code(0);
}

#[test]
fn dash_f_names_the_file_and_every_word_is_a_target() {
  let test = Test::new();
  test.write("ci.jobs", &dedent(JOB));
  test.run(&["run", "--output", "plain", "-f", "ci.jobs", "docs"]).code(0);
  test.run(&["run", "--output", "plain", "--file", "ci.jobs", "test"]).code(0);
  assert_eq!(lines_of(&test, "log")[0], "docs");
  assert_eq!(lines_of(&test, "log")[2], "test");
  let list = test.run(&["list", "-f", "ci.jobs"]);
  list.code(0);
  assert!(list.stdout.contains("docs"), "{}", list.stdout);
  test.run(&["validate", "-f", "ci.jobs"]).code(0);
  test.run(&["graph", "-f", "ci.jobs"]).code(0);
}

#[test]
fn the_old_form_keeps_working() {
  let test = Test::with_job(JOB);
  test.run(&["run", "--output", "plain", "job.yaml", "docs"]).code(0);
  assert_eq!(lines_of(&test, "log"), ["docs"]);
  // A file without a YAML extension, when no runner.yaml is found.
  test.write("jobs", &dedent(JOB));
  test.run(&["run", "--output", "plain", "jobs", "docs"]).code(0);
  assert_eq!(lines_of(&test, "log"), ["docs", "docs"]);
}

#[test]
fn no_job_file_says_what_was_looked_for_and_where() {
  let test = Test::new();
  let run = test.run(&["run", "build"]);
  run.code(2);
  let dir = test.dir.path().canonicalize().unwrap();
  assert!(
    run.stderr.contains(&format!(
      "error: no job file found: looked for `runner.yaml` and `runner.yml` in `{}`",
      dir.display()
    )),
    "{}",
    run.stderr
  );
  assert!(run.stderr.contains("help: name one with `-f FILE`"), "{}", run.stderr);
  test.run(&["list"]).code(2);
  test.run(&["validate"]).code(2);
}

#[test]
fn both_names_in_one_folder_is_an_error() {
  let test = Test::new();
  test.write("runner.yaml", &dedent(JOB));
  test.write("runner.yml", &dedent(JOB));
  let run = test.run(&["run"]);
  run.code(2);
  assert!(run.stderr.contains("`.` holds both `runner.yaml` and `runner.yml`"), "{}", run.stderr);
}

#[test]
fn a_first_word_that_is_a_file_and_a_found_job_file_is_ambiguous() {
  let test = Test::new();
  test.write("runner.yaml", &dedent(JOB));
  test.write("build", "#!/bin/sh\n");
  let run = test.run(&["run", "build"]);
  run.code(2);
  assert!(
    run.stderr.contains("`build` could be the job file or a target of `runner.yaml`"),
    "{}",
    run.stderr
  );
  assert!(run.stderr.contains("`-f runner.yaml build` for the target"), "{}", run.stderr);
  test.run(&["run", "--output", "plain", "-f", "runner.yaml", "build"]).code(0);
}
