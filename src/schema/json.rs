//! The JSON Schema of a job file, for editors: derived from the types of `schema`, then held
//! to what `validate` accepts, which a test checks on the fixtures of
//! `tests/fixtures/schema-agreement`. Where the decoder reads any scalar as text, so does the
//! schema; where it refuses `null` (every value but a mapping), so does the schema.
//!
//! What JSON cannot tell apart stays out of reach: `2.0` is an integer to JSON Schema, and a
//! duration string too large for the clock matches the pattern.

use super::{Command, DurationValue, JobFile, Matrix, ReturnWhen};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};
use std::borrow::Cow;

/// Text without NUL bytes, which no command, path or variable can hold.
const NO_NUL: &str = "^[^\\u0000]*$";

/// The JSON Schema of a job file, as `runner schema` prints it.
pub(crate) fn json_schema() -> Value {
  let schema = schemars::schema_for!(JobFile);
  let mut value = serde_json::to_value(schema).expect("a schema is always valid JSON");
  without_null(&mut value);
  scalars_as_text(&mut value);
  // A job file needs a task, as the decoder checks; the defaults leave `tasks` optional.
  value["required"] = json!(["tasks"]);
  value["properties"]["tasks"]["minProperties"] = json!(1);
  // A mapping may be `null`, read as empty; so may a task or a queue, but not a group.
  for key in ["env", "groups", "queues"] {
    nullable(&mut value["properties"][key]);
  }
  nullable(&mut value["$defs"]["Task"]["properties"]["env"]);
  nullable_ref(&mut value["properties"]["slurm"]);
  nullable_ref(&mut value["$defs"]["Task"]["properties"]["slurm"]);
  for (map, def) in [("tasks", "Task"), ("queues", "Queue")] {
    value["properties"][map]["additionalProperties"] =
      json!({"anyOf": [{"$ref": format!("#/$defs/{def}")}, {"type": "null"}]});
  }
  let task = &mut value["$defs"]["Task"];
  task["dependentRequired"] = json!({"workers": ["consumes"], "generates": ["sources"]});
  // An up-to-date check needs a command to skip, and a task that is not a queue's end; the
  // instances of a matrix task would share one queue: the compiler refuses both.
  task["dependentSchemas"] = json!({
    "sources": {"required": ["run"], "properties": {"produces": false, "consumes": false}},
    "matrix": {"properties": {"produces": false, "consumes": false}},
  });
  let wait_only = json!({"wait": false, "return_when": false, "timeout": false, "pending": false});
  value["$defs"]["Group"]["oneOf"] = json!([
    {"required": ["gather"], "properties": wait_only},
    {"required": ["wait"], "properties": {"gather": false}}
  ]);
  value
}

/// Drops the `null` that `Option` fields allow: the decoder refuses `null` for every value
/// but a mapping, which [`nullable`] allows again.
fn without_null(value: &mut Value) {
  match value {
    Value::Object(map) => {
      if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
          let only = only.clone();
          map.insert("type".into(), only);
        }
      }
      if let Some(Value::Array(choices)) = map.get_mut("enum") {
        choices.retain(|c| !c.is_null());
      }
      if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        branches.retain(|b| *b != json!({"type": "null"}));
        if let [Value::Object(only)] = branches.as_slice() {
          let only = only.clone();
          map.remove("anyOf");
          for (k, v) in only {
            map.entry(k).or_insert(v);
          }
        }
      }
      map.values_mut().for_each(without_null);
    }
    Value::Array(items) => items.iter_mut().for_each(without_null),
    _ => {}
  }
}

/// Every plain string becomes text as the decoder reads it: a string, number or boolean (as
/// written: `run: true` is the command `true`), without a NUL byte.
fn scalars_as_text(value: &mut Value) {
  match value {
    Value::Object(map) => {
      let plain = map.get("type") == Some(&json!("string"))
        && !map.contains_key("enum")
        && !map.contains_key("pattern");
      if plain {
        map.insert("type".into(), json!(["string", "number", "boolean"]));
        map.insert("pattern".into(), json!(NO_NUL));
      }
      map.values_mut().for_each(scalars_as_text);
    }
    Value::Array(items) => items.iter_mut().for_each(scalars_as_text),
    _ => {}
  }
}

/// A mapping that may also be `null`, read as empty.
fn nullable(schema: &mut Value) {
  schema["type"] = json!(["object", "null"]);
}

/// The same for a mapping the schema refers to (`{"$ref": ...}`).
fn nullable_ref(schema: &mut Value) {
  let Some(reference) = schema.as_object_mut().and_then(|s| s.remove("$ref")) else {
    return;
  };
  schema["anyOf"] = json!([{"$ref": reference}, {"type": "null"}]);
}

impl JsonSchema for Command {
  fn schema_name() -> Cow<'static, str> {
    "Command".into()
  }

  fn json_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
      "description": "A command: a shell string, or an argv list run directly, no shell.",
      "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]
    })
  }
}

impl JsonSchema for ReturnWhen {
  fn schema_name() -> Cow<'static, str> {
    "ReturnWhen".into()
  }

  fn json_schema(_: &mut SchemaGenerator) -> Schema {
    let upper = ReturnWhen::NAMES.iter().map(|n| n.to_string());
    let names: Vec<String> = upper.clone().chain(upper.map(|n| n.to_lowercase())).collect();
    json_schema!({
      "description": "When a wait group returns, in upper or lower case.",
      "type": "string",
      "enum": names
    })
  }
}

impl JsonSchema for DurationValue {
  fn schema_name() -> Cow<'static, str> {
    "Duration".into()
  }

  fn json_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
      "description": "A duration: `500ms`, `2s`, `1.5s`, `1m30s`, `2h`, or a number of seconds.",
      "anyOf": [
        // A `Duration` holds less than 2^64 seconds.
        {"type": "number", "minimum": 0, "exclusiveMaximum": 18_446_744_073_709_551_616.0},
        {"type": "string", "pattern": crate::duration::PATTERN}
      ]
    })
  }
}

/// `version: 1`, or the text `1`.
pub(super) fn version(_: &mut SchemaGenerator) -> Schema {
  json_schema!({"anyOf": [{"const": 1}, {"type": "string", "pattern": "^[ \\t]*1[ \\t]*$"}]})
}

pub(super) fn named_map<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
  let value = generator.subschema_for::<T>();
  json_schema!({
    "type": "object",
    "propertyNames": {"pattern": crate::names::PATTERN},
    "additionalProperties": value
  })
}

pub(super) fn callback_schema(generator: &mut SchemaGenerator) -> Schema {
  let command = generator.subschema_for::<Command>();
  json_schema!({
    "description": "A command, or a list of commands run in order.",
    "anyOf": [command, {"type": "array", "items": command}]
  })
}

/// `sources` and `generates`: a non-empty list of globs relative to the task's `cwd`.
pub(super) fn globs(_: &mut SchemaGenerator) -> Schema {
  json_schema!({
    "type": "array",
    "minItems": 1,
    "items": {"type": ["string", "number", "boolean"], "pattern": "^[^/\\u0000][^\\u0000]*$"}
  })
}

pub(super) fn env_schema(_: &mut SchemaGenerator) -> Schema {
  json_schema!({
    "type": "object",
    "propertyNames": {"pattern": "^[^=\\u0000]+$"},
    "additionalProperties": {"type": ["string", "number", "boolean"], "pattern": NO_NUL}
  })
}

/// `dotenv: [.env, {path: .env.local, optional: true}]`.
pub(super) fn dotenv_schema(_: &mut SchemaGenerator) -> Schema {
  let path = json!({"type": ["string", "number", "boolean"], "pattern": "^[^\\u0000]+$"});
  json_schema!({
    "description": "Environment files (`KEY=VALUE` lines), relative to the job file's folder.",
    "type": "array",
    "items": {"anyOf": [
      path,
      {
        "type": "object",
        "properties": {"path": path, "optional": {"type": "boolean"}},
        "required": ["path"],
        "additionalProperties": false
      }
    ]}
  })
}

impl JsonSchema for Matrix {
  fn schema_name() -> Cow<'static, str> {
    "Matrix".into()
  }

  fn json_schema(_: &mut SchemaGenerator) -> Schema {
    // Values are part of instance names, shown on one line: no control characters.
    let one_line = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
    let scalar = json!({"type": ["string", "number", "boolean"], "pattern": one_line});
    let combinations = json!({
      "type": "array",
      "items": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": crate::names::PATTERN},
        "additionalProperties": scalar
      }
    });
    json_schema!({
      "description": "One instance of the task per combination of these values.",
      "type": "object",
      "minProperties": 1,
      "propertyNames": {"pattern": crate::names::PATTERN},
      "properties": {"exclude": combinations, "include": combinations},
      "additionalProperties": {"type": "array", "minItems": 1, "items": scalar}
    })
  }
}

#[cfg(test)]
mod tests;
