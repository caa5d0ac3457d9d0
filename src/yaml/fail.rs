//! The errors of parsing: a message and a span until the whole text is known, then a
//! [`SyntaxError`] over whole characters whose message ends in the line and column.

use super::SyntaxError;
use crate::source::Source;
use miette::SourceSpan;
use serde_saphyr::granit_parser::{ErrorKind, ScanError};

/// An error before it is placed in the text.
pub(super) struct Fail {
  message: String,
  span: SourceSpan,
}

impl Fail {
  pub(super) fn new(message: impl Into<String>, span: SourceSpan) -> Self {
    Fail { message: message.into(), span }
  }

  /// A parser error, placed by its byte offset or else by its line and column.
  pub(super) fn scan(source: &Source, err: &ScanError) -> Self {
    let text: &str = &source.text;
    let mark = err.marker();
    let offset =
      mark.byte_offset().unwrap_or_else(|| source.offset_of(mark.line(), mark.col() + 1));
    if let ErrorKind::UnknownAnchor = err.kind() {
      let name = alias_name(text, offset);
      let span = SourceSpan::from((offset, name.len() + 1));
      return Fail::new(format!("alias references unknown anchor `{name}`"), span);
    }
    Fail::new(first_line(&err.info()), SourceSpan::from((offset, 0)))
  }

  /// The error, its span inside the text and over whole characters (an empty one widened to
  /// the character there) and its message ending in the line and column.
  pub(super) fn into_error(self, source: &Source) -> SyntaxError {
    let text: &str = &source.text;
    let mut start = self.span.offset().min(text.len());
    while !text.is_char_boundary(start) {
      start -= 1;
    }
    let mut end = match self.span.len() {
      0 => start + text[start..].chars().next().map_or(0, char::len_utf8),
      len => (start + len).min(text.len()),
    };
    while !text.is_char_boundary(end) {
      end += 1;
    }
    let (line, column) = source.line_col(start);
    SyntaxError {
      message: format!("{} at line {line}, column {column}", self.message),
      span: SourceSpan::from((start, end - start)),
    }
  }
}

/// The name of the alias `*name` at `offset`.
fn alias_name(text: &str, offset: usize) -> &str {
  let rest = text.get(offset..).unwrap_or("");
  let name = rest.strip_prefix('*').unwrap_or(rest);
  let end = name.find(|c: char| c.is_whitespace() || ",[]{}".contains(c)).unwrap_or(name.len());
  &name[..end]
}

fn first_line(message: &str) -> String {
  let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid YAML");
  line.trim().trim_end_matches('.').to_string()
}
