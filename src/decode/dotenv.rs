//! The `dotenv` lists of the file and of a task: each entry a path, or `{path, optional}`.
//! Reading the files is `crate::dotenv`'s business, once the whole file is decoded.

use super::Decoder;
use crate::compile_error::{CompileError, ErrorKind};
use crate::schema::{Dotenv, Spanned, keys};
use crate::yaml::{Node, Value};

impl Decoder<'_> {
  pub(super) fn dotenv(&mut self, node: &Node) -> Vec<Spanned<Dotenv>> {
    let Some(items) = self.seq(node, "dotenv", "a list of paths") else {
      return Vec::new();
    };
    self.items(items, |decoder, item| {
      let entry = match &item.value {
        Value::Map(_) => decoder.dotenv_map(item)?,
        _ => Dotenv { path: decoder.string(item)?, ..Dotenv::default() },
      };
      if entry.path.value.is_empty() {
        let message = "an environment file needs a path";
        let err = CompileError::new(ErrorKind::BadValue, message, entry.path.span, "empty path")
          .with_help("write the path of the file, e.g. `dotenv: [.env]`");
        decoder.errors.push(err);
        return None;
      }
      Some(Spanned::new(entry, item.span))
    })
  }

  /// `{path: .env.local, optional: true}`.
  fn dotenv_map(&mut self, node: &Node) -> Option<Dotenv> {
    let what = || "an entry of `dotenv`".to_string();
    let (mut path, mut optional) = (None, false);
    for (key, value) in self.entries(node, &what, keys::DOTENV) {
      self.path.push(key.name.clone());
      match key.name.as_str() {
        "path" => path = self.string(value),
        "optional" => optional = self.boolean(value).is_some_and(|b| b.value),
        _ => unreachable!("entries() yields known keys only"),
      }
      self.path.pop();
    }
    let known = node_keys(node).any(|k| k == "path");
    match path {
      Some(path) => Some(Dotenv { path, optional, ..Dotenv::default() }),
      // A `path` of the wrong type was reported already.
      None if known => None,
      None => {
        let message = "an entry of `dotenv` has no `path`";
        let err = CompileError::new(ErrorKind::BadValue, message, node.span, "no `path`")
          .with_help("write `{path: .env.local, optional: true}`");
        self.errors.push(err);
        None
      }
    }
  }
}

fn node_keys(node: &Node) -> impl Iterator<Item = &str> {
  let entries = match &node.value {
    Value::Map(entries) => entries.as_slice(),
    _ => &[],
  };
  entries.iter().map(|(k, _)| k.name.as_str())
}
