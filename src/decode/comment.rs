//! A plain scalar that a ` #` comment cut short: `run: echo "issue #5"` is the command
//! `echo "issue`, which the shell rejects only when the task runs. Found here, it is a warning
//! at validate time.

use super::Decoder;
use crate::compile_error::{CompileError, ErrorKind};
use crate::yaml::{self, Node};
use miette::SourceSpan;

impl Decoder<'_> {
  /// Warns when `text`, the command `node` holds, is a plain scalar ended by a comment on its
  /// line while inside a shell quote.
  pub(super) fn check_cut_command(&mut self, node: &Node, text: &str) {
    let source = &self.source.text;
    let end = node.span.offset() + node.span.len();
    // A plain scalar on one line reads as it is written; quoted, block and alias nodes do not.
    if self.source.slice(node.span) != text || text.is_empty() {
      return;
    }
    let line_end = source[end..].find('\n').map_or(source.len(), |nl| end + nl);
    let rest = &source[end..line_end];
    let Some(hash) =
      rest.find(|c: char| c != ' ' && c != '\t').filter(|&i| rest[i..].starts_with('#'))
    else {
      return;
    };
    let Some(quote) = open_quote(text) else {
      return;
    };
    let comment = SourceSpan::from((end + hash, rest.trim_end().len() - hash));
    let meant = without_comment(&source[node.span.offset()..line_end]);
    let message = "` #` starts a YAML comment and cuts this command short inside a quote";
    let warning = CompileError::new(ErrorKind::CutByComment, message, comment, "read as a comment")
      .with_label(node.span, format!("the command ends here, with an unclosed `{quote}`"))
      .with_help(format!("quote the whole value: `{}`", self.written(&yaml::quoted(meant))))
      .into_warning();
    self.errors.push(warning);
  }

  /// `value` as the user would write it at the current path: `key: value`, or `- value`.
  fn written(&self, value: &str) -> String {
    match self.path.last() {
      Some(key) if !key.starts_with('[') => format!("{key}: {value}"),
      _ => format!("- {value}"),
    }
  }
}

/// The shell quote that `text` leaves open, if any: `'` or `"` (a backslash escapes outside
/// single quotes).
pub(crate) fn open_quote(text: &str) -> Option<char> {
  let mut quote = None;
  let mut escaped = false;
  for c in text.chars() {
    match (quote, c) {
      _ if escaped => escaped = false,
      (None | Some('"'), '\\') => escaped = true,
      (None, '\'' | '"') => quote = Some(c),
      (Some(q), _) if c == q => quote = None,
      _ => {}
    }
  }
  quote
}

/// `value` up to a ` #` outside shell quotes: the comment the user meant, if any.
pub(crate) fn without_comment(value: &str) -> &str {
  let mut quote = None;
  let mut previous = ' ';
  for (i, c) in value.char_indices() {
    match (quote, c) {
      (None, '\'' | '"') => quote = Some(c),
      (Some(q), _) if c == q => quote = None,
      (None, '#') if previous.is_whitespace() => return value[..i].trim_end(),
      _ => {}
    }
    previous = c;
  }
  value.trim_end()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn open_quotes() {
    assert_eq!(open_quote("echo \"fixes issue"), Some('"'));
    assert_eq!(open_quote("echo 'it"), Some('\''));
    assert_eq!(open_quote("make"), None);
    assert_eq!(open_quote("echo \"it's\""), None);
    assert_eq!(open_quote("echo \\\"x"), None);
    assert_eq!(open_quote("echo 'a\\'"), None);
  }

  #[test]
  fn comments_outside_quotes() {
    assert_eq!(without_comment("echo \"a #b\" # note"), "echo \"a #b\"");
    assert_eq!(without_comment("make"), "make");
    assert_eq!(without_comment("a#b # c"), "a#b");
  }
}
