//! The one module that knows the YAML crate: text in, a tree of spanned nodes out.
//!
//! Everything after this works on [`Node`]; swapping the YAML parser touches only this file.
//! Duplicate keys are passed through (not rejected here) so that the decoder can report each
//! of them, with both places, next to every other error in the file.

use crate::source::Source;
use miette::SourceSpan;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::options::{DuplicateKeyPolicy, Options};
use serde_saphyr::{Location, Spanned};
use std::fmt;

/// A YAML value with the byte range it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
  pub span: SourceSpan,
  pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
  Null,
  Bool(bool),
  Int(i64),
  Float(f64),
  Str(String),
  Seq(Vec<Node>),
  Map(Vec<(Key, Node)>),
}

/// A mapping key. Keys are always read as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
  pub span: SourceSpan,
  pub name: String,
}

/// A syntax error with the place it was found.
#[derive(Debug, Clone)]
pub struct SyntaxError {
  pub message: String,
  pub span: SourceSpan,
}

/// Parses a whole document. An empty document is an empty mapping.
pub fn parse(source: &Source) -> Result<Node, SyntaxError> {
  let mut options = Options::default();
  options.budget = None;
  options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
  options.strict_booleans = true;
  let result: Result<Option<RawNode>, _> =
    serde_saphyr::from_str_with_options(&source.text, options);
  match result {
    Ok(Some(node)) => Ok(node.0),
    Ok(None) => Ok(Node {
      span: SourceSpan::from((0, 0)),
      value: Value::Map(Vec::new()),
    }),
    Err(err) => Err(syntax_error(source, &err)),
  }
}

fn syntax_error(source: &Source, err: &serde_saphyr::Error) -> SyntaxError {
  let span = err
    .location()
    .map_or(SourceSpan::from((source.text.len(), 0)), |loc| {
      let span = to_span(source, &loc);
      SourceSpan::from((span.offset(), span.len().max(1)))
    });
  let span = clamp(source, span);
  SyntaxError {
    message: first_line(&err.without_snippet().to_string()),
    span,
  }
}

fn clamp(source: &Source, span: SourceSpan) -> SourceSpan {
  let len = source.text.len();
  let offset = span.offset().min(len);
  SourceSpan::from((offset, span.len().min(len - offset)))
}

fn first_line(message: &str) -> String {
  let line = message
    .lines()
    .find(|l| !l.trim().is_empty())
    .unwrap_or("invalid YAML");
  line.trim().trim_end_matches('.').to_string()
}

/// Converts a parser location to a byte span; falls back to line and column when the parser
/// did not record byte offsets.
fn to_span(source: &Source, loc: &Location) -> SourceSpan {
  let span = loc.span();
  match (span.byte_offset(), span.byte_len()) {
    (Some(offset), Some(len)) if (offset as usize) <= source.text.len() => {
      SourceSpan::from((offset as usize, len as usize))
    }
    _ => {
      let offset = source.offset_of(loc.line() as usize, loc.column() as usize);
      SourceSpan::from((offset, 0))
    }
  }
}

/// Byte span of a location when the parser recorded one. Spans inside nodes always carry byte
/// offsets; line and column are the fallback for hand-made locations.
fn node_span(loc: &Location) -> SourceSpan {
  let span = loc.span();
  match (span.byte_offset(), span.byte_len()) {
    (Some(offset), Some(len)) => SourceSpan::from((offset as usize, len as usize)),
    _ => SourceSpan::from((span.offset() as usize, span.len() as usize)),
  }
}

struct RawNode(Node);
struct RawKey(Key);

impl<'de> Deserialize<'de> for RawNode {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    let spanned = Spanned::<Value>::deserialize(d)?;
    Ok(RawNode(Node {
      span: node_span(&spanned.referenced),
      value: spanned.value,
    }))
  }
}

impl<'de> Deserialize<'de> for RawKey {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    let spanned = Spanned::<Value>::deserialize(d)?;
    let name = match spanned.value {
      Value::Str(s) => s,
      Value::Null => String::new(),
      Value::Bool(b) => b.to_string(),
      Value::Int(i) => i.to_string(),
      Value::Float(f) => f.to_string(),
      Value::Seq(_) | Value::Map(_) => {
        return Err(serde::de::Error::custom(
          "a mapping key must be a plain string",
        ));
      }
    };
    Ok(RawKey(Key {
      span: node_span(&spanned.referenced),
      name,
    }))
  }
}

impl<'de> Deserialize<'de> for Value {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    d.deserialize_any(ValueVisitor)
  }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
  type Value = Value;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("any YAML value")
  }

  fn visit_unit<E>(self) -> Result<Value, E> {
    Ok(Value::Null)
  }

  fn visit_none<E>(self) -> Result<Value, E> {
    Ok(Value::Null)
  }

  fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
    Ok(Value::Bool(v))
  }

  fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
    Ok(Value::Int(v))
  }

  fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
    i64::try_from(v)
      .map(Value::Int)
      .map_err(|_| E::custom("integer out of range"))
  }

  fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
    Ok(Value::Float(v))
  }

  fn visit_str<E>(self, v: &str) -> Result<Value, E> {
    Ok(Value::Str(v.to_owned()))
  }

  fn visit_string<E>(self, v: String) -> Result<Value, E> {
    Ok(Value::Str(v))
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
    let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
    while let Some(RawNode(node)) = seq.next_element()? {
      items.push(node);
    }
    Ok(Value::Seq(items))
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
    let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
    while let Some(RawKey(key)) = map.next_key()? {
      let RawNode(node) = map.next_value()?;
      entries.push((key, node));
    }
    Ok(Value::Map(entries))
  }
}

impl Value {
  /// What the value is, as a user would name it in an error message.
  pub fn kind(&self) -> &'static str {
    match self {
      Value::Null => "null",
      Value::Bool(_) => "a boolean",
      Value::Int(_) => "an integer",
      Value::Float(_) => "a number",
      Value::Str(_) => "a string",
      Value::Seq(_) => "a list",
      Value::Map(_) => "a mapping",
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn parse_text(text: &str) -> Result<Node, SyntaxError> {
    parse(&Source::new("t.yaml", text))
  }

  #[test]
  fn spans_point_at_scalars_and_keys() {
    let text = "tasks:\n  a: {run: \"echo hi\", needs: [b]}\n";
    let node = parse_text(text).unwrap();
    let Value::Map(top) = &node.value else {
      panic!("not a map")
    };
    let (key, tasks) = &top[0];
    assert_eq!(
      &text[key.span.offset()..key.span.offset() + key.span.len()],
      "tasks"
    );
    let Value::Map(tasks) = &tasks.value else {
      panic!()
    };
    let Value::Map(a) = &tasks[0].1.value else {
      panic!()
    };
    let run = &a[0].1;
    assert_eq!(run.value, Value::Str("echo hi".into()));
    assert_eq!(
      &text[run.span.offset()..run.span.offset() + run.span.len()],
      "\"echo hi\""
    );
  }

  #[test]
  fn duplicate_keys_reach_the_decoder() {
    let node = parse_text("a: 1\na: 2\n").unwrap();
    let Value::Map(entries) = node.value else {
      panic!()
    };
    assert_eq!(entries.len(), 2);
  }

  #[test]
  fn y_and_no_are_strings() {
    let node = parse_text("[y, no, true]").unwrap();
    let Value::Seq(items) = node.value else {
      panic!()
    };
    assert_eq!(items[0].value, Value::Str("y".into()));
    assert_eq!(items[1].value, Value::Str("no".into()));
    assert_eq!(items[2].value, Value::Bool(true));
  }

  #[test]
  fn syntax_errors_have_a_span_inside_the_text() {
    let text = "tasks:\n  a: {run: x\n  b: [\n";
    let err = parse_text(text).unwrap_err();
    assert!(err.span.offset() + err.span.len() <= text.len());
    assert!(!err.message.is_empty());
  }

  #[test]
  fn empty_document_is_an_empty_map() {
    assert_eq!(parse_text("").unwrap().value, Value::Map(vec![]));
    assert_eq!(
      parse_text("# just a comment\n").unwrap().value,
      Value::Map(vec![])
    );
  }
}
