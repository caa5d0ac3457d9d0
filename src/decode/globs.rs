//! The values of `sources` and `generates`: non-empty lists of globs relative to the task's
//! `cwd`, each checked as a pattern where it is written.

use super::Decoder;
use crate::compile_error::{CompileError, ErrorKind};
use crate::schema::Spanned;
use crate::yaml::Node;

impl Decoder<'_> {
  /// A list of globs. An empty list is refused rather than read as "no sources": a task without
  /// `sources` runs every time, and saying so takes removing the key.
  pub(super) fn globs(&mut self, node: &Node, key: &str) -> Vec<Spanned<String>> {
    let globs = self.strings(node, key);
    if globs.is_empty() && matches!(node.value, crate::yaml::Value::Seq(_)) {
      let message = format!("`{}` must not be empty", self.path());
      let err = CompileError::new(ErrorKind::BadValue, message, node.span, "empty list")
        .with_help(format!("list at least one glob, or remove `{key}`"));
      self.errors.push(err);
    }
    globs.into_iter().filter(|glob| self.check_glob(glob)).collect()
  }

  /// Whether `glob` is a pattern the up-to-date check can expand; reports it if not.
  fn check_glob(&mut self, glob: &Spanned<String>) -> bool {
    let text = glob.value.as_str();
    let problem = if text.is_empty() {
      Some(("an empty glob".to_string(), "write a path or a pattern such as `src/**/*.rs`"))
    } else if text.starts_with('/') {
      let help = "globs are relative to the task's `cwd`; `../` reaches outside it";
      Some((format!("`{text}` is an absolute path"), help))
    } else {
      glob::Pattern::new(text).err().map(|e| {
        (
          format!("`{text}` is not a valid glob: {}", e.msg),
          "`*`, `?`, `[abc]` and `**` as a whole component",
        )
      })
    };
    let Some((message, help)) = problem else {
      return true;
    };
    let label = "not a relative glob";
    self
      .errors
      .push(CompileError::new(ErrorKind::BadValue, message, glob.span, label).with_help(help));
    false
  }
}
