use super::*;
use proptest::prelude::*;

/// What a read gives, to compare with miette's own reading of the whole text.
fn parts(read: &dyn SpanContents<'_>) -> (Vec<u8>, SourceSpan, usize, usize, usize) {
  (read.data().to_vec(), *read.span(), read.line(), read.column(), read.line_count())
}

/// Short lines, `\n`, `\r\n`, lone `\r` and two-byte characters.
fn text() -> impl Strategy<Value = String> {
  proptest::collection::vec(prop_oneof!["a", "bc", "é", " ", "\n", "\r\n", "\r", "\n\n"], 0..60)
    .prop_map(|parts| parts.concat())
}

proptest! {
  #[test]
  fn reads_as_miette_reads_the_whole_text(
    text in text(),
    start in 0usize..200,
    len in 0usize..30,
    before in 0usize..3,
    after in 0usize..3,
  ) {
    let start = start.min(text.len());
    let span = SourceSpan::from((start, len.min(text.len() - start)));
    let excerpts = Excerpts::new("t.yaml".into(), &text);
    let error = crate::compile_error::CompileError::new(
      crate::compile_error::ErrorKind::Syntax, "x", span, "here");
    let drawn = excerpts.diagnostic(&error);
    let ours = drawn.read_span(&span, before, after).map(|r| parts(&*r));
    let theirs = text.as_str().read_span(&span, before, after).map(|r| parts(&*r));
    prop_assert_eq!(ours.ok(), theirs.ok());
  }
}

#[test]
fn long_lines_show_a_window() {
  let text = format!("tasks:\n  a: {{run: \"{}\" x: y}}\n", "x".repeat(70_000));
  let colon = text.rfind("x: y").unwrap() + 1;
  let excerpts = Excerpts::new("t.yaml".into(), &text);
  let error = crate::compile_error::CompileError::new(
    crate::compile_error::ErrorKind::Syntax,
    "x",
    SourceSpan::from((colon, 1)),
    "here",
  );
  let drawn = excerpts.diagnostic(&error);
  let read = drawn.read_span(&SourceSpan::from((colon, 1)), 1, 1).unwrap();
  assert!(read.data().len() < 2 * WINDOW + 2, "{}", read.data().len());
  assert_eq!(read.line(), 1);
  let header = drawn.read_span(&SourceSpan::from((colon, 1)), 0, 0).unwrap();
  assert_eq!(header.column(), colon - text.find('\n').unwrap() - 1);
}
