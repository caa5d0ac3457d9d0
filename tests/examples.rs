//! Every example in `jobs/` is valid and matches the JSON Schema `runner schema` prints.

use crate::support::{BIN, Test, jobs, relative, repo};
use std::process::Command;

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
