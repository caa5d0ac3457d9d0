//! Matrix tasks: the instances a matrix expands to, their variables, a dependent that needs
//! all of them, an instance as a target, and the errors of a bad matrix.

use crate::support::{Test, lines_of};
use serde_json::Value;

/// A 2x3 matrix with one exclude: 5 instances, each appending its variables to `seen.txt`;
/// `report` needs them all and writes their results.
const JOB: &str = r#"
tasks:
  build:
    matrix:
      os: [linux, mac]
      rust: [stable, beta, 1.80]
      exclude:
        - {os: mac, rust: 1.80}
    run: echo "$RUNNER_TASK $RUNNER_MATRIX_OS $RUNNER_MATRIX_RUST" >> seen.txt && echo "$RUNNER_MATRIX_OS/$RUNNER_MATRIX_RUST"
  report:
    needs: [build]
    run: printf %s "$RUNNER_RESULT_BUILD" > results.json
"#;

#[test]
fn a_matrix_runs_every_combination_but_the_excluded_and_its_dependent_gets_all_results() {
  let test = Test::with_job(JOB);
  test.run(&["run", "job.yaml", "-j", "1"]).code(0);
  assert_eq!(
    lines_of(&test, "seen.txt"),
    [
      "build[os=linux,rust=stable] linux stable",
      "build[os=linux,rust=beta] linux beta",
      "build[os=linux,rust=1.80] linux 1.80",
      "build[os=mac,rust=stable] mac stable",
      "build[os=mac,rust=beta] mac beta",
    ]
  );
  let results: Value = serde_json::from_str(&test.read("results.json")).expect("JSON");
  let expected = serde_json::json!({
    "build[os=linux,rust=stable]": "linux/stable",
    "build[os=linux,rust=beta]": "linux/beta",
    "build[os=linux,rust=1.80]": "linux/1.80",
    "build[os=mac,rust=stable]": "mac/stable",
    "build[os=mac,rust=beta]": "mac/beta",
  });
  assert_eq!(results, expected);
}

#[test]
fn one_instance_can_be_a_target() {
  let test = Test::with_job(JOB);
  test.run(&["run", "job.yaml", "build[os=mac,rust=beta]"]).code(0);
  assert_eq!(lines_of(&test, "seen.txt"), ["build[os=mac,rust=beta] mac beta"]);
  assert!(!test.path("results.json").exists());
}

#[test]
fn the_task_as_a_target_runs_every_instance() {
  let test = Test::with_job(JOB);
  test.run(&["run", "job.yaml", "build"]).code(0);
  assert_eq!(lines_of(&test, "seen.txt").len(), 5);
  assert!(!test.path("results.json").exists());
}

#[test]
fn a_failed_instance_fails_the_matrix_and_skips_its_dependents() {
  let test = Test::with_job(
    r#"
    tasks:
      build:
        matrix: {n: [1, 2, 3]}
        run: test "$RUNNER_MATRIX_N" != 2
      after:
        needs: [build]
        run: touch after
    "#,
  );
  let run = test.run(&["run", "job.yaml", "--output", "plain"]);
  run.code(1);
  assert!(run.stdout.contains("[build[n=2]] failed"), "{}", run.stdout);
  assert!(run.stdout.contains("[build[n=3]] succeeded"), "{}", run.stdout);
  assert!(!test.path("after").exists());
}

#[test]
fn include_adds_keys_and_combinations_as_github_actions_does() {
  let test = Test::with_job(
    r#"
    tasks:
      t:
        matrix:
          fruit: [apple, pear]
          animal: [cat, dog]
          include:
            - color: green
            - color: pink
              animal: cat
            - fruit: apple
              shape: circle
            - fruit: banana
            - fruit: banana
              animal: cat
    "#,
  );
  let run = test.run(&["list", "job.yaml", "--json"]);
  run.code(0);
  let list: Value = serde_json::from_str(&run.stdout).expect("JSON");
  let names: Vec<&str> =
    list["tasks"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
  assert_eq!(
    names,
    [
      "t[fruit=apple,animal=cat,color=pink,shape=circle]",
      "t[fruit=apple,animal=dog,color=green,shape=circle]",
      "t[fruit=pear,animal=cat,color=pink]",
      "t[fruit=pear,animal=dog,color=green]",
      "t[fruit=banana]",
      "t[fruit=banana,animal=cat]",
      "t",
    ]
  );
  assert_eq!(list["tasks"][6]["kind"], "matrix");
}

#[test]
fn env_flags_are_over_matrix_values_and_matrix_values_over_the_task_env() {
  let test = Test::with_job(
    r#"
    tasks:
      t:
        matrix: {v: [matrix]}
        env: {RUNNER_MATRIX_V: task-env}
        run: printf %s "$RUNNER_MATRIX_V" > v.txt
    "#,
  );
  test.run(&["run", "job.yaml"]).code(0);
  assert_eq!(test.read("v.txt"), "matrix");
  test.run(&["run", "job.yaml", "--env", "RUNNER_MATRIX_V=flag"]).code(0);
  assert_eq!(test.read("v.txt"), "flag");
}

#[test]
fn list_and_graph_show_the_instances() {
  let test = Test::with_job(JOB);
  let run = test.run(&["list", "job.yaml"]);
  run.code(0);
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!(run.stdout);
  });
  let run = test.run(&["graph", "job.yaml", "--format", "json"]);
  run.code(0);
  let graph: Value = serde_json::from_str(&run.stdout).expect("JSON");
  assert_eq!(graph["tasks"].as_array().unwrap().len(), 6);
  assert_eq!(graph["groups"][0]["kind"], "matrix");
  assert_eq!(graph["groups"][0]["members"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_matrices_are_located_errors() {
  let test = Test::with_job(
    r#"
    queues:
      q: {}
    tasks:
      empty:
        matrix: {}
      no-values:
        matrix: {os: []}
      twice:
        matrix: {os: [a, a]}
      unknown:
        matrix:
          os: [linux, mac]
          exclude:
            - {oss: linux}
            - {os: windows}
      huge:
        matrix: {a: [1, 2, 3, 4, 5, 6, 7], b: [1, 2, 3, 4, 5, 6, 7], c: [1, 2, 3, 4, 5, 6]}
      nothing-left:
        matrix:
          os: [linux]
          exclude: [{os: linux}]
      producer:
        matrix: {os: [linux]}
        produces: q
      clash:
        matrix: {a-b: [1], a_b: [2]}
      dup:
        matrix:
          os: [linux]
          os: [mac]
    "#,
  );
  let run = test.run(&["validate", "job.yaml"]);
  run.code(2);
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!(run.stderr);
  });
}
