//! The tree side of building: what a merge key brings in, a node read as a mapping key, and the
//! sizes and respanned copies that aliases need.

use super::fail::Fail;
use super::{Key, Node, Value};
use miette::SourceSpan;

/// The entries a `<<` value brings in: a mapping's, each mapping's of a list, or none for null.
pub(super) fn merge_entries(source: Node) -> Result<Vec<(Key, Node)>, Fail> {
  let merge_error =
    |span| Fail::new("YAML merge value must be mapping or sequence of mappings", span);
  match source.value {
    Value::Map(entries) => Ok(entries),
    Value::Null => Ok(Vec::new()),
    Value::Seq(items) => {
      let mut all = Vec::new();
      for item in items {
        match item.value {
          Value::Map(entries) => all.extend(entries),
          _ => return Err(merge_error(item.span)),
        }
      }
      Ok(all)
    }
    _ => Err(merge_error(source.span)),
  }
}

/// A mapping key: a scalar, read as text.
pub(super) fn key(node: Node) -> Result<Key, Fail> {
  let name = match node.value {
    Value::Str(s) => s,
    Value::Null => String::new(),
    Value::Bool(b) => b.to_string(),
    Value::Int(i) => i.to_string(),
    Value::Float(f) => f.to_string(),
    Value::Seq(_) | Value::Map(_) => {
      return Err(Fail::new("a mapping key must be a plain string", node.span));
    }
  };
  Ok(Key { span: node.span, name })
}

/// The number of nodes in a tree.
pub(super) fn size(node: &Node) -> usize {
  1 + match &node.value {
    Value::Seq(items) => items.iter().map(size).sum(),
    Value::Map(entries) => entries.iter().map(|(_, n)| size(n)).sum(),
    _ => 0,
  }
}

/// A deep copy of a node with every node and key spanned at `span`.
pub(super) fn respan(node: &Node, span: SourceSpan) -> Node {
  let value = match &node.value {
    Value::Seq(items) => Value::Seq(items.iter().map(|n| respan(n, span)).collect()),
    Value::Map(entries) => Value::Map(
      entries
        .iter()
        .map(|(k, n)| {
          let key = Key { span, name: k.name.clone() };
          (key, respan(n, span))
        })
        .collect(),
    ),
    scalar => scalar.clone(),
  };
  Node { span, value }
}
