//! Environment files and `--env`: what each source sets, which one wins, and the errors of a
//! missing file or a malformed line.

use crate::support::Test;

/// Runs `job.yaml` (its task `t` writes `$V` to `v.txt`) with `args` and the runner's own
/// environment holding `V=process`; returns what the task saw.
fn seen(test: &Test, args: &[&str]) -> String {
  let mut all = vec!["run", "job.yaml", "--output", "plain"];
  all.extend(args);
  let out = test.command(&all).env("V", "process").output().expect("run runner");
  let run = crate::support::Run::from(out);
  run.code(0);
  test.read("v.txt")
}

/// A job whose file level and task `t` carry `file` and `task` (YAML lines, already indented).
fn job(file: &str, task: &str) -> Test {
  let yaml = format!("{file}\ntasks:\n  t:\n    run: printf %s \"$V\" > v.txt\n{task}\n");
  let test = Test::new();
  test.write("job.yaml", &yaml);
  test.write("file.env", "V=file-dotenv\n");
  test.write("task.env", "export V='task-dotenv'\n");
  test
}

#[test]
fn the_runners_environment_reaches_tasks() {
  assert_eq!(seen(&job("", ""), &[]), "process");
}

#[test]
fn a_file_dotenv_is_over_the_runners_environment() {
  assert_eq!(seen(&job("dotenv: [file.env]", ""), &[]), "file-dotenv");
}

#[test]
fn the_file_env_is_over_the_file_dotenv() {
  assert_eq!(seen(&job("dotenv: [file.env]\nenv: {V: file-env}", ""), &[]), "file-env");
}

#[test]
fn a_task_dotenv_is_over_the_file_env() {
  let test = job("dotenv: [file.env]\nenv: {V: file-env}", "    dotenv: [task.env]");
  assert_eq!(seen(&test, &[]), "task-dotenv");
}

#[test]
fn the_task_env_is_over_the_task_dotenv() {
  let test = job("env: {V: file-env}", "    dotenv: [task.env]\n    env: {V: task-env}");
  assert_eq!(seen(&test, &[]), "task-env");
}

#[test]
fn env_flags_are_over_every_source_and_the_last_one_wins() {
  let test =
    job("dotenv: [file.env]\nenv: {V: file-env}", "    dotenv: [task.env]\n    env: {V: task-env}");
  assert_eq!(seen(&test, &["--env", "V=flag"]), "flag");
  assert_eq!(seen(&test, &["--env", "V=first", "--env", "V=second=2"]), "second=2");
  assert_eq!(seen(&test, &["--env", "V="]), "");
}

#[test]
fn a_later_dotenv_file_is_over_an_earlier_one() {
  let test = job("dotenv: [file.env, task.env]", "");
  assert_eq!(seen(&test, &[]), "task-dotenv");
}

#[test]
fn the_runners_own_variables_cannot_be_set() {
  let test = Test::with_job(
    r#"
    env: {RUNNER_TASK: file}
    tasks:
      t:
        run: printf '%s %s' "$RUNNER_TASK" "$RUNNER_ATTEMPT" > v.txt
        env: {RUNNER_ATTEMPT: "7"}
    "#,
  );
  test.run(&["run", "job.yaml", "--env", "RUNNER_TASK=flag"]).code(0);
  assert_eq!(test.read("v.txt"), "t 1");
}

#[test]
fn paths_are_relative_to_the_job_files_folder() {
  let test = Test::new();
  std::fs::create_dir(test.path("sub")).unwrap();
  test.write(
    "sub/job.yaml",
    "dotenv: [.env]\ntasks:\n  t: {run: printf %s \"$V\" > v.txt, cwd: ..}\n",
  );
  test.write("sub/.env", "V=beside the job file\n");
  test.run(&["run", "sub/job.yaml"]).code(0);
  assert_eq!(test.read("v.txt"), "beside the job file");
}

#[test]
fn a_missing_optional_file_is_skipped() {
  let test = job("dotenv: [{path: nowhere.env, optional: true}, file.env]", "");
  assert_eq!(seen(&test, &[]), "file-dotenv");
}

#[test]
fn a_missing_file_is_an_error_at_its_entry() {
  let test = job("dotenv: [file.env]", "    dotenv: [missing.env]");
  let run = test.run(&["run", "job.yaml"]);
  run.code(2);
  assert!(run.stderr.contains("environment file `missing.env` not found"), "{}", run.stderr);
  assert!(run.stderr.contains("[job.yaml:5:14]"), "{}", run.stderr);
  assert!(!test.path("v.txt").exists(), "the task ran");
  test.run(&["validate", "job.yaml"]).code(2);
}

#[test]
fn malformed_lines_are_errors_at_their_line_and_column() {
  let test = Test::with_job("dotenv: [bad.env]\ntasks:\n  t: {run: 'true'}\n");
  test.write("bad.env", "# settings\nGOOD=1\nexport BAD-NAME=2\nQ=\"open\nR='x' y\n");
  let run = test.run(&["validate", "job.yaml"]);
  run.code(2);
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!(run.stderr);
  });
}

#[test]
fn env_flags_must_be_key_value() {
  let test = Test::with_job("tasks:\n  t: {run: 'true'}\n");
  let run = test.run(&["run", "job.yaml", "--env", "NOVALUE"]);
  run.code(2);
  assert!(run.stderr.contains("`NOVALUE` is not KEY=VALUE"), "{}", run.stderr);
}
