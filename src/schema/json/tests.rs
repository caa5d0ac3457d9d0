use super::*;
use crate::source::Source;
use crate::yaml::{self, Node, Value as Yaml};
use std::path::{Path, PathBuf};

/// A parsed YAML tree as the JSON an editor checks against the schema.
fn to_json(node: &Node) -> Value {
  match &node.value {
    Yaml::Null => Value::Null,
    Yaml::Bool(b) => json!(b),
    Yaml::Int(i) => json!(i),
    Yaml::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
    Yaml::Str(s) => json!(s),
    Yaml::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
    Yaml::Map(entries) => {
      Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect())
    }
  }
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
  let dir =
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-agreement").join(kind);
  let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    .map(|entry| entry.expect("a directory entry").path())
    .collect();
  files.sort();
  assert!(files.len() >= 10, "too few fixtures in {}", dir.display());
  files
}

/// What `validate` and the JSON Schema say of one file: (validate accepts, schema accepts).
fn verdicts(path: &Path, schema: &jsonschema::Validator) -> (bool, bool) {
  let source = Source::new(path, std::fs::read_to_string(path).expect("a fixture"));
  let validate = crate::compile::compile_checked(&source).is_ok();
  let root = yaml::parse(&source).expect("fixtures are YAML: syntax is not the schema's business");
  (validate, schema.is_valid(&to_json(&root)))
}

#[test]
fn validate_and_the_json_schema_agree_on_every_fixture() {
  let schema = jsonschema::validator_for(&json_schema()).expect("the schema compiles");
  let mut wrong = Vec::new();
  for (kind, expected) in [("valid", true), ("invalid", false)] {
    for path in fixtures(kind) {
      let (validate, schema) = verdicts(&path, &schema);
      if validate != expected || schema != expected {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        wrong.push(format!("{kind}/{name}: validate {validate}, schema {schema}"));
      }
    }
  }
  assert!(wrong.is_empty(), "disagreements:\n{}", wrong.join("\n"));
}
