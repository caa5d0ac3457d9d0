//! An environment value: text, or a number or boolean as written. Anything else is an error
//! that shows how to write the value as a string.

use super::Decoder;
use crate::schema::Spanned;
use crate::yaml::{self, Node, Value};

impl Decoder<'_> {
  /// The value of environment variable `name`.
  pub(super) fn env_value(&mut self, name: &str, node: &Node) -> Option<Spanned<String>> {
    let help = match &node.value {
      Value::Null => format!("env values are strings: write `{name}: \"\"` for an empty one"),
      Value::Seq(items) => {
        let json = yaml::quoted(&json(node).to_string());
        match self.joined(items) {
          Some(words) => format!(
            "env values are strings: join the list, e.g. `{name}: {words}`, or write it as \
             JSON, e.g. `{name}: {json}`"
          ),
          None => format!("env values are strings: write it as JSON, e.g. `{name}: {json}`"),
        }
      }
      Value::Map(_) => format!(
        "env values are strings: write it as JSON, e.g. `{name}: {}`",
        yaml::quoted(&json(node).to_string())
      ),
      _ => return self.string(node),
    };
    self.errors.push(self.type_error(node, "a string").with_help(help));
    None
  }

  /// A list of scalars as one quoted string of words, as a shell would split them back.
  fn joined(&self, items: &[Node]) -> Option<String> {
    let words: Option<Vec<String>> = items
      .iter()
      .map(|item| match item.value {
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
        _ => self.scalar_text(item),
      })
      .collect();
    Some(yaml::quoted(&words?.join(" ")))
  }
}

/// The value as JSON: numbers and booleans as such, text as strings.
fn json(node: &Node) -> serde_json::Value {
  use serde_json::Value as Json;
  match &node.value {
    Value::Null => Json::Null,
    Value::Bool(b) => Json::Bool(*b),
    Value::Int(i) => Json::from(*i),
    Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
    Value::Str(s) => Json::String(s.clone()),
    Value::Seq(items) => Json::Array(items.iter().map(json).collect()),
    Value::Map(entries) => {
      Json::Object(entries.iter().map(|(k, v)| (k.name.clone(), json(v))).collect())
    }
  }
}
