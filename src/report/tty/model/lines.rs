//! The lines the live view prints above its rows: one per finished task (`✓ fetch 12ms`), the
//! output tail of a failed one, retries, groups returning.

use super::super::tail::{INLINE, Tail};
use crate::event::Exit;
use crate::report::plain::paint::{DIM, Paint};
use crate::report::plain::text::{QueueTotals, Returned, exit_text, took};
use crate::status::Status;

/// ✓ ✗ ⏱ ⊘ - in the status's colour.
pub(super) fn symbol(status: Status, paint: Paint) -> String {
  let symbol = match status {
    Status::Succeeded | Status::UpToDate => "✓",
    Status::Failed => "✗",
    Status::TimedOut => "⏱",
    Status::Cancelled => "⊘",
    Status::Skipped | Status::Pending | Status::Delayed | Status::Ready | Status::Running => "-",
  };
  paint.like(status, symbol)
}

/// ` on n2` dimmed: the node an attempt ran on; nothing for one that was not placed.
pub(super) fn on(node: Option<&str>, paint: Paint) -> String {
  node.map_or(String::new(), |node| format!(" {}", paint.style(DIM, &format!("on {node}"))))
}

/// `✓ fetch 12ms`, `✗ compile 4ms failed (exit 3)`, `- deploy skipped`, `✓ fetch 12ms on n2`
/// for an attempt that ran on a Slurm node.
pub(super) fn finished(
  task: &str,
  status: Status,
  attempts: u32,
  duration_ms: u64,
  exit: Exit,
  node: Option<&str>,
  paint: Paint,
) -> String {
  let mut line = format!("{} {task}", symbol(status, paint));
  if attempts > 0 && status != Status::Skipped {
    line.push(' ');
    line.push_str(&paint.style(DIM, &took(duration_ms)));
  }
  let word = match status {
    Status::Succeeded => String::new(),
    Status::TimedOut => format!(" {}", paint.like(status, "timed out")),
    Status::UpToDate => format!(" {}", paint.like(status, "up to date")),
    _ => format!(" {}", paint.status(status)),
  };
  line.push_str(&word);
  if status == Status::Failed {
    line.push_str(&exit_text(exit));
  }
  if attempts > 1 {
    line.push_str(&format!(" ({attempts} attempts)"));
  }
  line.push_str(&on(node, paint));
  line
}

/// A failed task's last lines, indented under its finish line.
pub(super) fn tail(tail: &Tail, paint: Paint) -> String {
  let bar = paint.style(DIM, "│");
  let mut text = String::new();
  let (lines, earlier) = tail.last_lines(INLINE);
  if earlier > 0 {
    text.push_str(&format!("  {bar} ... {earlier} earlier lines\n"));
  }
  for line in lines {
    text.push_str(&format!("  {bar} {line}\n"));
  }
  text.pop();
  text
}

/// `↻ flaky failed (exit 1), attempt 2 next`; `↻ flaky failed (exit 1) on n1, attempt 2 next`
/// for an attempt that ran on a Slurm node.
pub(super) fn retrying(
  task: &str,
  status: Status,
  exit: Exit,
  next: u32,
  node: Option<&str>,
  paint: Paint,
) -> String {
  let (word, exit, on) = (paint.status(status), exit_text(exit), on(node, paint));
  format!("{} {task} {word}{exit}{on}, attempt {next} next", paint.style(DIM, "↻"))
}

/// `✓ group teas returned: succeeded, done [a, b], pending []`.
pub(super) fn group(group: &str, returned: &Returned, paint: Paint) -> String {
  format!("{} group {group} {}", symbol(returned.status, paint), returned.text(paint))
}

/// `✓ queue orders: 6 put, 6 taken: 6 done, 0 failed, 0 cancelled`; ✗ if an item failed or
/// was never taken.
pub(super) fn queue(q: &QueueTotals, paint: Paint) -> String {
  let never_taken = q.never_taken();
  let bad = q.failed > 0 || !never_taken.is_empty();
  let symbol = symbol(if bad { Status::Failed } else { Status::Succeeded }, paint);
  format!("{symbol} queue {}: {}{never_taken}", q.queue, q.counts())
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::report::fixtures::exit;

  const OFF: Paint = Paint { on: false };

  #[test]
  fn finish_lines() {
    let (ok, bad) = (exit(0), exit(3));
    assert_eq!(finished("fetch", Status::Succeeded, 1, 12, ok, None, OFF), "✓ fetch 12ms");
    assert_eq!(
      finished("c", Status::Failed, 2, 4, bad, None, OFF),
      "✗ c 4ms failed (exit 3) (2 attempts)"
    );
    assert_eq!(finished("s", Status::TimedOut, 1, 200, bad, None, OFF), "⏱ s 200ms timed out");
    assert_eq!(finished("d", Status::Skipped, 0, 0, ok, None, OFF), "- d skipped");
    assert_eq!(finished("x", Status::Cancelled, 0, 0, ok, None, OFF), "⊘ x cancelled");
    assert_eq!(finished("u", Status::UpToDate, 0, 0, ok, None, OFF), "✓ u up to date");
  }

  #[test]
  fn lines_of_placed_attempts_say_their_node_dimmed() {
    let on = Paint { on: true };
    assert_eq!(
      finished("fetch", Status::Succeeded, 1, 12, exit(0), Some("n2"), OFF),
      "✓ fetch 12ms on n2"
    );
    assert_eq!(
      finished("c", Status::Failed, 2, 4, exit(3), Some("n1"), on),
      "\x1b[31m✗\x1b[0m c \x1b[2m4ms\x1b[0m \x1b[31mfailed\x1b[0m (exit 3) (2 attempts) \x1b[2mon n1\x1b[0m"
    );
    assert_eq!(
      retrying("c", Status::Failed, exit(1), 2, Some("n3"), OFF),
      "↻ c failed (exit 1) on n3, attempt 2 next"
    );
  }
}
