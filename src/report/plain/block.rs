//! One task's output held back until the task ends (`--output-mode grouped`, GitHub Actions),
//! so parallel tasks don't mix. Bounded: a task that prints gigabytes keeps only its last
//! lines, and the block says how many it dropped.

use crate::report::lines::LineBuffer;
use std::io::Write;

/// At most this many lines per task...
const MAX_LINES: usize = 10_000;
/// ...and at most this many bytes.
const MAX_BYTES: usize = 4 << 20;

#[derive(Debug)]
pub(super) struct Block {
  /// The `[task] started` line, kept whatever else is dropped.
  head: String,
  lines: LineBuffer,
  /// The task's last line of output, without the `[task]` prefix: the annotation's message.
  pub last_output: String,
  /// When the task started, in Unix seconds: the start of its GitLab section.
  pub started: u64,
}

impl Block {
  pub(super) fn new(head: String, started: u64) -> Self {
    let lines = LineBuffer::new(MAX_LINES, MAX_BYTES);
    Self { head, lines, last_output: String::new(), started }
  }

  pub(super) fn push(&mut self, line: String) {
    self.lines.push(line);
  }

  /// How many lines the block holds besides its head, dropped ones included.
  pub(super) fn len(&self) -> u64 {
    self.lines.len() as u64 + self.lines.dropped()
  }

  /// Writes the head, a note about dropped lines if any, then the kept lines.
  pub(super) fn write_to(&self, task: &str, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", self.head)?;
    if self.lines.dropped() > 0 {
      let n = self.lines.dropped();
      writeln!(out, "[{task}] ... {n} earlier lines dropped (the last {MAX_LINES} are kept)")?;
    }
    for line in self.lines.iter() {
      writeln!(out, "{line}")?;
    }
    Ok(())
  }

  /// The last `n` kept lines.
  pub(super) fn tail(&self, n: usize) -> Vec<String> {
    self.lines.iter().skip(self.lines.len().saturating_sub(n)).cloned().collect()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn keeps_the_last_lines_and_says_how_many_it_dropped() {
    let mut block = Block::new("[t] started".into(), 0);
    for i in 0..MAX_LINES + 5 {
      block.push(format!("[t] {i}"));
    }
    assert_eq!(block.len(), MAX_LINES as u64 + 5);
    let mut out = Vec::new();
    block.write_to("t", &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "[t] started");
    assert_eq!(lines[1], "[t] ... 5 earlier lines dropped (the last 10000 are kept)");
    assert_eq!(lines[2], "[t] 5");
    assert_eq!(lines.len(), MAX_LINES + 2);
    assert_eq!(block.tail(2), ["[t] 10003", "[t] 10004"]);
  }

  #[test]
  fn bounded_in_bytes() {
    let mut block = Block::new("[t] started".into(), 0);
    for _ in 0..10 {
      block.push("x".repeat(MAX_BYTES / 4));
    }
    assert!(block.lines.bytes() <= MAX_BYTES);
    assert_eq!(block.lines.dropped(), 6);
  }
}
