//! The last lines of a running task's output: the live view shows the newest one next to the
//! task's spinner, the last [`INLINE`] under its finish line if it fails, and all it kept once
//! the view is off the screen. A bounded ring of short lines, cleaned of escape sequences and
//! control characters so nothing a task prints can move the cursor.

use crate::report::escape;
use crate::report::lines::LineBuffer;

/// Lines kept per task, and bytes (of at most [`LINE_BYTES`] a line).
pub(super) const LINES: usize = 500;
const BYTES: usize = 64 * 1024;
/// Bytes kept per line.
const LINE_BYTES: usize = 1024;
/// Lines shown under a failed task's finish line while the view runs.
pub(super) const INLINE: usize = 20;

#[derive(Debug)]
pub(super) struct Tail {
  lines: LineBuffer,
}

impl Default for Tail {
  fn default() -> Self {
    Self { lines: LineBuffer::new(LINES, BYTES) }
  }
}

impl Tail {
  /// Adds a line, the `prefix` parts first (e.g. the queue item it belongs to). In the steady
  /// state the oldest line's buffer is reused, so this does not allocate.
  pub(super) fn push(&mut self, prefix: [&str; 2], line: &str) {
    let mut slot = self.lines.make_room().unwrap_or_default();
    slot.clear();
    slot.push_str(prefix[0]);
    slot.push_str(prefix[1]);
    clean(&mut slot, line, LINE_BYTES);
    self.lines.push(slot);
  }

  pub(super) fn last(&self) -> &str {
    self.lines.last().map_or("", String::as_str)
  }

  pub(super) fn lines(&self) -> impl Iterator<Item = &str> {
    self.lines.iter().map(String::as_str)
  }

  /// The last `n` lines kept, and how many lines came before them.
  pub(super) fn last_lines(&self, n: usize) -> (impl Iterator<Item = &str>, u64) {
    let skip = self.lines.len().saturating_sub(n);
    (self.lines().skip(skip), self.dropped() + skip as u64)
  }

  /// Lines pushed out of the ring.
  pub(super) fn dropped(&self) -> u64 {
    self.lines.dropped()
  }
}

/// Appends what a terminal would show of `line` to `into`, up to `max` bytes: the text after
/// the last carriage return (progress meters redraw with `\r`), without escape sequences,
/// tabs as spaces, other control characters dropped.
pub(super) fn clean(into: &mut String, line: &str, max: usize) {
  let line = line.rsplit('\r').find(|part| !part.is_empty()).unwrap_or("");
  let limit = into.len() + max;
  let mut chars = line.chars().peekable();
  while let Some(c) = chars.next() {
    if into.len() + c.len_utf8() > limit {
      break;
    }
    match c {
      // A lone ESC goes, as the control character it is.
      '\x1b' => _ = escape::skip_sequence(&mut chars),
      '\t' => into.push(' '),
      c if c.is_control() => {}
      c => into.push(c),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn cleaned(line: &str) -> String {
    let mut s = String::new();
    clean(&mut s, line, 40);
    s
  }

  #[test]
  fn cleaning() {
    assert_eq!(cleaned("plain text"), "plain text");
    assert_eq!(cleaned("\x1b[31mred\x1b[0m and \x1b]0;title\x07done"), "red and done");
    // `tput sgr0` on an xterm: a charset reset, then an SGR reset.
    assert_eq!(cleaned("\x1b[1mbold\x1b(B\x1b[m after"), "bold after");
    assert_eq!(cleaned(" 10%\r 50%\r100%"), "100%");
    assert_eq!(cleaned("done\r"), "done");
    assert_eq!(cleaned("a\tb\x08c\x1b[2K"), "a bc");
    assert_eq!(cleaned(&"é".repeat(30)).len(), 40);
  }

  #[test]
  fn ring_keeps_the_last_lines() {
    let mut tail = Tail::default();
    for i in 0..LINES + 3 {
      tail.push(["", ""], &format!("line {i}"));
    }
    assert_eq!(tail.dropped(), 3);
    assert_eq!(tail.lines().next(), Some("line 3"));
    assert_eq!(tail.last(), format!("line {}", LINES + 2));
    tail.push(["item", ": "], "x");
    assert_eq!(tail.last(), "item: x");
  }
}
