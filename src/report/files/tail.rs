//! The last lines of one output stream, bounded in lines and bytes: what the report and the
//! JUnit file show of a task's output. The full output goes to `--log-dir`, never here.

use crate::report::lines::LineBuffer;

/// Lines longer than this are cut (at a character boundary) and marked with `…`.
const LINE_BYTES: usize = 4096;

/// One kept line and its place in the run's output, for merging streams in order.
#[derive(Debug, Clone)]
pub(super) struct Line {
  pub seq: u64,
  pub text: String,
}

impl AsRef<str> for Line {
  fn as_ref(&self) -> &str {
    &self.text
  }
}

#[derive(Debug)]
pub(super) struct Tail {
  lines: LineBuffer<Line>,
}

impl Tail {
  pub(super) fn new(max_lines: usize, max_bytes: usize) -> Self {
    Self { lines: LineBuffer::new(max_lines, max_bytes) }
  }

  /// Keeps `prefix` + `text` as the newest line, dropping the oldest ones past the bounds.
  pub(super) fn push(&mut self, seq: u64, prefix: &str, text: &str) {
    let mut line = String::with_capacity(prefix.len() + text.len().min(LINE_BYTES));
    line.push_str(prefix);
    line.push_str(cut(text, LINE_BYTES));
    if line.len() < prefix.len() + text.len() {
      line.push('…');
    }
    self.lines.push(Line { seq, text: line });
  }

  pub(super) fn lines(&self) -> impl Iterator<Item = &str> {
    self.lines.iter().map(|l| l.text.as_str())
  }

  /// Lines that were seen but are no longer kept.
  pub(super) fn dropped(&self) -> u64 {
    self.lines.dropped()
  }
}

/// The longest prefix of `text` of at most `max` bytes that ends at a character boundary.
pub(super) fn cut(text: &str, max: usize) -> &str {
  if text.len() <= max {
    return text;
  }
  let mut end = max;
  while !text.is_char_boundary(end) {
    end -= 1;
  }
  &text[..end]
}

/// The last `n` lines of several tails, in the order they were written; says how many earlier
/// lines there were first, when any were left out.
pub(super) fn merged(tails: &[&Tail], n: usize) -> Vec<String> {
  let mut all: Vec<&Line> = tails.iter().flat_map(|t| t.lines.iter()).collect();
  all.sort_by_key(|l| l.seq);
  let skip = all.len().saturating_sub(n);
  let earlier = skip as u64 + tails.iter().map(|t| t.dropped()).sum::<u64>();
  let mut out = Vec::with_capacity(all.len() - skip + 1);
  if earlier > 0 {
    out.push(format!("[… {earlier} earlier lines not shown]"));
  }
  out.extend(all[skip..].iter().map(|l| l.text.clone()));
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn keeps_the_last_lines() {
    let mut tail = Tail::new(3, 1 << 20);
    for i in 0..10 {
      tail.push(i, "", &format!("line {i}"));
    }
    assert_eq!(tail.lines().collect::<Vec<_>>(), ["line 7", "line 8", "line 9"]);
    assert_eq!(tail.dropped(), 7);
  }

  #[test]
  fn bounded_in_bytes_and_cuts_long_lines() {
    let mut tail = Tail::new(100, 10_000);
    for i in 0..10 {
      tail.push(i, "> ", &"é".repeat(3000));
    }
    assert!(tail.lines.bytes() <= 10_000);
    let first = tail.lines().next().unwrap();
    assert!(first.starts_with("> é") && first.ends_with('…'));
    assert!(first.len() <= 2 + LINE_BYTES + '…'.len_utf8());
  }

  #[test]
  fn merges_streams_in_order() {
    let (mut out, mut err) = (Tail::new(10, 1000), Tail::new(10, 1000));
    out.push(1, "", "a");
    err.push(2, "", "b");
    out.push(3, "", "c");
    assert_eq!(merged(&[&out, &err], 10), ["a", "b", "c"]);
    assert_eq!(merged(&[&out, &err], 2), ["[… 1 earlier lines not shown]", "b", "c"]);
  }
}
