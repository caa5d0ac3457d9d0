//! `runner validate`, `list` and `graph` as a user calls them.

use crate::support::{Test, repo, require};
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn validate_prints_a_summary_line() {
  let test = Test::with_job("tasks:\n  a: {run: 'true'}\n  b: {needs: [a]}\n");
  let run = test.run(&["validate", "job.yaml"]);
  run.code(0);
  assert_eq!(run.stdout, "job.yaml: ok (2 tasks, 0 groups, 0 queues)\n");
}

#[test]
fn validate_counts_one_of_a_kind_in_the_singular() {
  let job =
    "tasks:\n  a: {run: 'true', produces: q}\ngroups:\n  g: {gather: [a]}\nqueues:\n  q: {}\n";
  let run = Test::with_job(job).run(&["validate", "job.yaml"]);
  run.code(0);
  assert_eq!(run.stdout, "job.yaml: ok (1 task, 1 group, 1 queue)\n");
}

#[test]
fn validate_reports_every_file() {
  let test = Test::with_job("tasks: {a: {}}\n");
  test.write("bad.yaml", "tasks: {a: {nedds: []}}\n");
  let run = test.run(&["validate", "job.yaml", "bad.yaml"]);
  run.code(2);
  assert!(run.stdout.contains("job.yaml: ok"));
  assert!(run.stderr.contains("unknown key `nedds`"), "{}", run.stderr);
}

#[test]
fn missing_file_is_exit_2() {
  Test::new().run(&["validate", "nope.yaml"]).code(2);
}

#[test]
fn bad_command_line_is_exit_2() {
  Test::new().run(&["frobnicate"]).code(2);
  Test::new().run(&["graph", "x.yaml", "--format", "png"]).code(2);
}

#[test]
fn list_shows_tasks_groups_and_queues() {
  let test = Test::new();
  let run = test.run(&["list", repo().join("jobs/queue.yaml").to_str().unwrap()]);
  run.code(0);
  insta::assert_snapshot!(run.stdout);
}

#[test]
fn list_json_has_needs() {
  let test = Test::new();
  let run = test.run(&["list", "--json", repo().join("jobs/tea.yaml").to_str().unwrap()]);
  run.code(0);
  let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
  assert_eq!(value["version"], 1);
  assert_eq!(value["tasks"][3]["name"], "mix");
  assert_eq!(value["tasks"][3]["kind"], "task");
  assert_eq!(value["tasks"][3]["needs"], serde_json::json!(["teas"]));
  assert_eq!(value["tasks"][4]["name"], "teas");
  assert_eq!(value["tasks"][4]["kind"], "gather");
  assert_eq!(value["tasks"][4]["members"], serde_json::json!(["chamomile", "green"]));
  assert!(value.get("groups").is_none(), "groups are targets in `tasks`: {value}");
  assert!(value["tasks"][0].get("run").is_none(), "the commands are `graph`'s: {value}");
  let graph =
    test.run(&["graph", "--format", "json", repo().join("jobs/tea.yaml").to_str().unwrap()]);
  let graph: serde_json::Value = serde_json::from_str(&graph.stdout).unwrap();
  assert_eq!(graph["version"], 1);
  assert_ne!(graph, value, "`list --json` and `graph --format json` differ");
}

#[test]
fn graph_formats() {
  let test = Test::new();
  let file = repo().join("jobs/queue.yaml");
  for format in ["dot", "mermaid", "json"] {
    let run = test.run(&["graph", file.to_str().unwrap(), "--format", format]);
    run.code(0);
    let stdout = run.stdout.replace(&repo().display().to_string(), "[REPO]");
    insta::assert_snapshot!(format!("graph_{format}"), stdout);
  }
}

/// The dot output renders with Graphviz, for every example.
#[test]
fn dot_renders_to_svg() {
  if !require("dot") {
    return;
  }
  for job in crate::support::jobs() {
    let dot = Test::new().run(&["graph", job.to_str().unwrap(), "--format", "dot"]);
    dot.code(0);
    let mut child = Command::new("dot")
      .arg("-Tsvg")
      .stdin(Stdio::piped())
      .stdout(Stdio::piped())
      .stderr(Stdio::piped())
      .spawn()
      .expect("spawn dot");
    child.stdin.take().unwrap().write_all(dot.stdout.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}: {}", job.display(), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
  }
}

#[test]
fn schema_is_json_with_all_top_level_keys() {
  let run = Test::new().run(&["schema"]);
  run.code(0);
  let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
  let keys: Vec<_> = value["properties"].as_object().unwrap().keys().cloned().collect();
  for key in ["version", "name", "env", "concurrency", "shell", "tasks", "groups", "queues"] {
    assert!(keys.contains(&key.to_string()), "{key} missing from {keys:?}");
  }
}
