//! A task's `matrix`: keys with their lists of values, and the `exclude` and `include` lists
//! of combinations. Each value is text (a number or boolean as written). How the combinations
//! expand is `compile::matrix`'s business.

use super::{Decoder, bad_name, duplicate_key, earlier_keys};
use crate::compile_error::{CompileError, ErrorKind};
use crate::names;
use crate::schema::{Combination, Matrix, Name, Spanned};
use crate::yaml::{Key, Node};

impl Decoder<'_> {
  pub(super) fn matrix(&mut self, node: &Node) -> Option<Spanned<Matrix>> {
    let entries = self.map(node, &|| "`matrix`".into())?;
    let before = self.errors.len();
    let mut matrix = Matrix::default();
    for ((key, value), earlier) in entries.iter().zip(earlier_keys(entries)) {
      if let Some(first) = earlier {
        self.errors.push(duplicate_key(key, first, "`matrix`"));
        continue;
      }
      self.path.push(key.name.clone());
      match key.name.as_str() {
        "exclude" => matrix.exclude = self.combinations(value, "exclude"),
        "include" => matrix.include = self.combinations(value, "include"),
        _ => {
          if let Some(values) = self.matrix_values(key, value) {
            matrix.axes.push((Spanned::new(key.name.clone(), key.span), values));
          }
        }
      }
      self.path.pop();
    }
    if entries.is_empty() {
      let message = "`matrix` has no keys";
      let err = CompileError::new(ErrorKind::BadValue, message, node.span, "empty matrix")
        .with_help("list each key with its values, e.g. `matrix: {os: [linux, mac]}`");
      self.errors.push(err);
      return None;
    }
    // A matrix read in part would report combinations it lacks only because of those errors.
    (self.errors.len() == before).then(|| Spanned::new(matrix, node.span))
  }

  /// The values of one key: a list of at least one text.
  fn matrix_values(&mut self, key: &Key, node: &Node) -> Option<Spanned<Vec<Spanned<String>>>> {
    if !self.matrix_key(key) {
      return None;
    }
    let items = self.seq(node, &key.name, "a list of values")?;
    if items.is_empty() {
      let message = format!("matrix key `{}` has no values", key.name);
      let err = CompileError::new(ErrorKind::BadValue, message, node.span, "empty list")
        .with_help(format!("list its values, e.g. `{}: [a, b]`, or remove the key", key.name));
      self.errors.push(err);
      return None;
    }
    let values = self.items(items, Self::matrix_value);
    (values.len() == items.len()).then(|| Spanned::new(values, node.span))
  }

  /// A value is part of instance names, which are shown on one line: no control characters.
  fn matrix_value(&mut self, node: &Node) -> Option<Spanned<String>> {
    let value = self.string(node)?;
    if !value.value.chars().any(char::is_control) {
      return Some(value);
    }
    let message = "a matrix value cannot hold a control character (a newline, a tab...)";
    let err = CompileError::new(ErrorKind::BadValue, message, node.span, "control character")
      .with_help("matrix values become part of instance names such as `build[os=linux]`");
    self.errors.push(err);
    None
  }

  /// A matrix key is a name, as it becomes part of instance names and of a variable.
  fn matrix_key(&mut self, key: &Key) -> bool {
    if names::is_valid(&key.name) {
      return true;
    }
    self.errors.push(bad_name(key));
    false
  }

  /// `exclude` or `include`: a list of mappings from matrix keys to values.
  fn combinations(&mut self, node: &Node, list: &str) -> Vec<Combination> {
    let Some(items) = self.seq(node, list, "a list of mappings") else {
      return Vec::new();
    };
    self.items(items, |decoder, item| decoder.combination(item, list))
  }

  fn combination(&mut self, node: &Node, list: &str) -> Option<Combination> {
    let what = format!("an entry of `{list}`");
    let entries = self.map(node, &|| what.clone())?;
    if entries.is_empty() {
      let message = format!("{what} is empty");
      let err = CompileError::new(ErrorKind::BadValue, message, node.span, "no keys")
        .with_help("name matrix keys and values, e.g. `{os: linux}`");
      self.errors.push(err);
      return None;
    }
    let mut pairs: Vec<(Name, Spanned<String>)> = Vec::with_capacity(entries.len());
    for ((key, value), earlier) in entries.iter().zip(earlier_keys(entries)) {
      if let Some(first) = earlier {
        self.errors.push(duplicate_key(key, first, &what));
        continue;
      }
      if !self.matrix_key(key) {
        continue;
      }
      self.path.push(key.name.clone());
      if let Some(value) = self.matrix_value(value) {
        pairs.push((Spanned::new(key.name.clone(), key.span), value));
      }
      self.path.pop();
    }
    Some(Spanned::new(pairs, node.span))
  }
}
