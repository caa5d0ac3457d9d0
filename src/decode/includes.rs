//! `includes:` as written: each namespace and its path, a non-empty string. Reading the files
//! is the business of `compile/includes`.

use super::Decoder;
use crate::compile_error::{CompileError, ErrorKind};
use crate::schema::{Include, Name};
use crate::yaml::Node;

impl Decoder<'_> {
  pub(super) fn includes(&mut self, node: &Node) -> Vec<Include> {
    let includes = self.named(node, "includes", "include", Self::include);
    includes.into_iter().flatten().collect()
  }

  fn include(&mut self, name: Name, node: &Node) -> Option<Include> {
    let path = self.string(node)?;
    if path.value.is_empty() {
      let message = format!("include `{}` names no file", name.value);
      let err = CompileError::new(ErrorKind::BadValue, message, node.span, "empty path")
        .with_help("write the path of a job file, relative to this file's folder");
      self.errors.push(err);
      return None;
    }
    Some(Include { name })
  }
}
