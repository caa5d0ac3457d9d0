//! How a task's command starts: its environment, argv lists without a shell, plain words exec'd
//! as the shell would, programs that cannot start, and the working directory.

use crate::support::{Run, Test, assert_line_starting, read};

#[test]
fn env_comes_from_the_file_then_the_task() {
  let test = Test::with_job(
    r#"
    env: {WHO: file, WHAT: file, OUTER: file}
    tasks:
      one:
        env: {WHAT: task}
        run: printf '%s|%s|%s|%s|%s' "$WHO" "$WHAT" "$OUTER" "$INHERITED" "$RUNNER_TASK" > one.txt
      two:
        run: printf '%s|%s|%s|%s|%s' "$WHO" "$WHAT" "$OUTER" "$INHERITED" "$RUNNER_TASK" > two.txt
    "#,
  );
  let out = test
    .command(&["run", "job.yaml"])
    .env("OUTER", "outer")
    .env("INHERITED", "inherited")
    .output()
    .expect("run");
  Run::from(out).code(0);
  assert_eq!(test.read("one.txt"), "file|task|file|inherited|one");
  assert_eq!(test.read("two.txt"), "file|file|file|inherited|two");
}

#[test]
fn an_argv_run_uses_no_shell() {
  let test = Test::with_job(
    r#"
    tasks:
      home:
        run: [printf, '%s', '$HOME']
      words:
        run: [printf, '%s|', 'a  b', '$(touch pwned)', '*', '; touch pwned']
    "#,
  );
  let run = test.run(&["run", "job.yaml"]);
  run.code(0);
  assert_line_starting(&run, "[home] $HOME");
  assert_line_starting(&run, "[words] a  b|$(touch pwned)|*|; touch pwned|");
  assert!(!test.path("pwned").exists());
}

#[test]
fn plain_words_behave_as_under_the_shell() {
  // Plain words are exec'd without a shell; where that cannot work, the shell still does it.
  let test = Test::with_job(
    r#"
    tasks:
      script:
        run: ./no-shebang.sh
      missing:
        run: no-such-program-here
      path:
        run: printenv PATH
        env: {PATH: /usr/bin:/bin}
    "#,
  );
  test.write("no-shebang.sh", "echo run by the shell\n");
  use std::os::unix::fs::PermissionsExt;
  let mode = std::fs::Permissions::from_mode(0o755);
  std::fs::set_permissions(test.path("no-shebang.sh"), mode).unwrap();
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(1);
  assert_line_starting(&run, "[script] run by the shell");
  assert_line_starting(&run, "[path] /usr/bin:/bin");
  assert!(run.stdout.contains("no-such-program-here: not found"), "{}", run.stdout);
  assert_line_starting(&run, "[missing] failed (exit 127)");
}

#[test]
fn a_program_that_cannot_be_execed_is_reported_as_not_started() {
  // The runner does not wait for a child's exec: a failed exec is known at the child's exit.
  let test = Test::with_job(
    r#"
    queues:
      q: {items: [one]}
    tasks:
      task:
        run: [./missing-task]
        on_failure: [[./missing-callback]]
      items:
        consumes: q
        run: [./missing-consumer]
      dir:
        run: echo never
        cwd: no-such-dir
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(1);
  for line in [
    "[task] cannot start `./missing-task`: No such file or directory",
    "[task] failed (exit 127)",
    "[task:callback] cannot start callback `./missing-callback`: No such file or directory",
    "[items] cannot start `./missing-consumer` for item `one`: No such file or directory",
    "[dir] cannot start `sh`: cannot enter its working directory `",
    "[dir] failed (exit 127)",
  ] {
    assert_line_starting(&run, line);
  }
  // The directory it could not enter is named.
  let dir = format!("`{}`: No such file or directory", test.path("no-such-dir").display());
  assert!(run.stdout.contains(&format!("working directory {dir}")), "{}", run.stdout);
  assert!(!run.stdout.contains("never"), "{}", run.stdout);
}

#[test]
fn cwd_is_relative_to_the_job_file_folder() {
  let test = Test::new();
  let project = test.path("project");
  let elsewhere = test.path("elsewhere");
  std::fs::create_dir_all(project.join("sub/deeper")).unwrap();
  std::fs::create_dir_all(&elsewhere).unwrap();
  std::fs::write(
    project.join("job.yaml"),
    crate::support::dedent(
      r#"
      tasks:
        default:
          run: pwd -P > default.txt
        sub:
          cwd: sub/deeper
          run: pwd -P > sub.txt
      "#,
    ),
  )
  .unwrap();
  // Started from a sibling folder, with a relative path to the file.
  let out =
    test.command(&["run", "../project/job.yaml"]).current_dir(&elsewhere).output().expect("run");
  Run::from(out).code(0);
  let project = project.canonicalize().unwrap();
  assert_eq!(read(&project.join("default.txt")).trim(), project.display().to_string());
  assert_eq!(
    read(&project.join("sub/deeper/sub.txt")).trim(),
    project.join("sub/deeper").display().to_string()
  );
  assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}
