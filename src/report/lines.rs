//! A bounded buffer of the newest lines of some output: at most so many lines and so many bytes,
//! the oldest dropped first and counted, the newest always kept. The files' tails, the live
//! view's rings and the grouped blocks of plain output all keep their lines in one.

use std::collections::VecDeque;

#[derive(Debug)]
pub(super) struct LineBuffer<T = String> {
  lines: VecDeque<T>,
  bytes: usize,
  max_lines: usize,
  max_bytes: usize,
  dropped: u64,
}

impl<T: AsRef<str>> LineBuffer<T> {
  pub(super) fn new(max_lines: usize, max_bytes: usize) -> Self {
    Self { lines: VecDeque::new(), bytes: 0, max_lines, max_bytes, dropped: 0 }
  }

  /// Adds `line` as the newest, then drops the oldest lines past the bounds.
  pub(super) fn push(&mut self, line: T) {
    self.bytes += line.as_ref().len();
    self.lines.push_back(line);
    while self.lines.len() > 1 && (self.lines.len() > self.max_lines || self.bytes > self.max_bytes)
    {
      self.drop_oldest();
    }
  }

  /// When the buffer holds its most lines, drops the oldest and hands it back, so that a ring
  /// of strings can reuse its allocation for the next line.
  pub(super) fn make_room(&mut self) -> Option<T> {
    if self.lines.len() < self.max_lines {
      return None;
    }
    self.drop_oldest()
  }

  fn drop_oldest(&mut self) -> Option<T> {
    let gone = self.lines.pop_front()?;
    self.bytes -= gone.as_ref().len();
    self.dropped += 1;
    Some(gone)
  }

  /// The kept lines, oldest first.
  pub(super) fn iter(&self) -> std::collections::vec_deque::Iter<'_, T> {
    self.lines.iter()
  }

  pub(super) fn last(&self) -> Option<&T> {
    self.lines.back()
  }

  pub(super) fn len(&self) -> usize {
    self.lines.len()
  }

  /// How many lines were pushed and are no longer kept.
  pub(super) fn dropped(&self) -> u64 {
    self.dropped
  }

  /// The bytes of the kept lines.
  #[cfg(test)]
  pub(super) fn bytes(&self) -> usize {
    self.bytes
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn texts(buffer: &LineBuffer) -> Vec<&str> {
    buffer.iter().map(String::as_str).collect()
  }

  #[test]
  fn keeps_the_newest_lines_and_counts_the_others() {
    let mut buffer = LineBuffer::new(3, usize::MAX);
    for i in 0..10 {
      buffer.push(format!("line {i}"));
    }
    assert_eq!(texts(&buffer), ["line 7", "line 8", "line 9"]);
    assert_eq!((buffer.len(), buffer.dropped()), (3, 7));
    assert_eq!(buffer.last().map(String::as_str), Some("line 9"));
  }

  #[test]
  fn bounded_in_bytes_but_the_newest_line_stays() {
    let mut buffer = LineBuffer::new(100, 10);
    buffer.push("abcd".to_string());
    buffer.push("efgh".to_string());
    buffer.push("ijkl".to_string());
    assert_eq!(texts(&buffer), ["efgh", "ijkl"]);
    assert_eq!((buffer.bytes(), buffer.dropped()), (8, 1));
    buffer.push("x".repeat(20));
    assert_eq!((buffer.len(), buffer.bytes(), buffer.dropped()), (1, 20, 3));
  }

  #[test]
  fn makes_room_only_when_full() {
    let mut buffer = LineBuffer::new(2, usize::MAX);
    assert_eq!(buffer.make_room(), None);
    buffer.push("a".to_string());
    buffer.push("b".to_string());
    assert_eq!(buffer.make_room().as_deref(), Some("a"));
    assert_eq!((buffer.len(), buffer.bytes(), buffer.dropped()), (1, 1, 1));
  }
}
