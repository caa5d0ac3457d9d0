//! YAML syntax errors as diagnostics: the parser's message without its line and column, the
//! place, and a hint for the mistakes people make most. Two get a better place or a hint built
//! from the line itself: a tab in the indentation, and `: ` inside an unquoted value.

use crate::compile_error::{CompileError, ErrorKind};
use crate::source::Source;
use crate::yaml;
use miette::SourceSpan;

/// A YAML syntax error. The parser's message ends with the line and column, which the rendered
/// diagnostic already shows, so that part is dropped.
pub(super) fn syntax_error(source: &Source, e: &yaml::SyntaxError) -> CompileError {
  let message = match e.message.rfind(" at line ") {
    Some(at) if e.message[at..].contains(", column ") => &e.message[..at],
    _ => e.message.as_str(),
  };
  if message.contains("tab") {
    if let Some(tab) = indenting_tab(&source.text, e.span.offset()) {
      return CompileError::new(
        ErrorKind::Syntax,
        "invalid YAML: a tab in the indentation",
        SourceSpan::from((tab, 1)),
        "tabs cannot indent YAML",
      )
      .with_help("indent with spaces");
    }
  }
  let message = format!("invalid YAML: {message}");
  if message.contains("mapping values are not allowed") {
    let label = "`: ` cannot be part of an unquoted value";
    let err = CompileError::new(ErrorKind::Syntax, message, e.span, label);
    return err.with_help(colon_help(&source.text, e.span.offset()));
  }
  let err = CompileError::new(ErrorKind::Syntax, message, e.span, "the parser stopped here");
  match syntax_help(&err.message) {
    Some(help) => err.with_help(help),
    None => err,
  }
}

/// A hint for the syntax errors people make most, keyed on the parser's wording.
fn syntax_help(message: &str) -> Option<&'static str> {
  if message.contains("tab") {
    Some("indent with spaces: YAML does not allow tabs in indentation")
  } else if message.contains("flow") || message.contains("placement of ':'") {
    Some("is a `[` or `{` on an earlier line missing its closing bracket?")
  } else if message.contains("did not find expected key") || message.contains("'-' indicator") {
    Some("check the indentation of this line against the lines above it")
  } else if message.contains("unclosed quote") {
    Some("end the string with the same quote it starts with")
  } else {
    None
  }
}

/// The first tab from the line of `offset` on that stands in a line's indentation: the parser
/// reports a tab where the scalar or the block before it began, often a line above.
fn indenting_tab(text: &str, offset: usize) -> Option<usize> {
  let start = text[..offset.min(text.len())].rfind('\n').map_or(0, |nl| nl + 1);
  let mut line_start = start;
  for line in text[start..].split_inclusive('\n') {
    let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
    if let Some(tab) = line[..indent].find('\t') {
      return Some(line_start + tab);
    }
    line_start += line.len();
  }
  None
}

/// `key: value` where the value, unquoted, holds another `: `: the line quoted, when the
/// error is at such a colon.
fn colon_help(text: &str, offset: usize) -> String {
  match key_and_value(text, offset) {
    Some((key, value)) => format!(
      "quote the whole value: `{key}: {}`, or use a block scalar (`{key}: |`)",
      yaml::quoted(value)
    ),
    None => "quote the whole value, or use a block scalar (`|`)".into(),
  }
}

/// The key and the value, without a trailing comment, of the line at `offset`, when `offset`
/// is at a colon inside the value.
fn key_and_value(text: &str, offset: usize) -> Option<(&str, &str)> {
  let offset = offset.min(text.len());
  let start = text[..offset].rfind('\n').map_or(0, |nl| nl + 1);
  let end = text[offset..].find('\n').map_or(text.len(), |nl| offset + nl);
  let line = &text[start..end];
  let mut body = line.trim_start();
  while let Some(rest) = body.strip_prefix("- ") {
    body = rest.trim_start();
  }
  let body_start = start + (line.len() - body.len());
  let colon = body.find(": ")?;
  let (key, value) = (&body[..colon], body[colon + 2..].trim_start());
  let value_start = body_start + body.len() - value.len();
  let plain = !key.is_empty() && !value.is_empty() && !value.starts_with(['\'', '"', '[', '{']);
  (plain && offset > value_start).then(|| (key, crate::decode::without_comment(value)))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn finds_the_tab_in_indentation() {
    let text = "a:\n  b: c\n\td: e\n";
    assert_eq!(indenting_tab(text, 7), Some(10));
    assert_eq!(indenting_tab("a: \"x\ty\"\n", 0), None);
  }

  #[test]
  fn quotes_the_value_after_the_key() {
    let text = "tasks:\n  a:\n    run: echo \"lint: ok\" # check\n";
    let colon = text.find("t: ").unwrap() + 1;
    assert_eq!(key_and_value(text, colon), Some(("run", "echo \"lint: ok\"")));
    assert_eq!(key_and_value(text, text.find("a:").unwrap() + 1), None);
    assert_eq!(key_and_value("- run: a: b\n", 8), Some(("run", "a: b")));
  }
}
