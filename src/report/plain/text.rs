//! The wording of plain output, one function per kind of line. The live view reuses the
//! outcome and closing lines, so both say the same thing. Integration tests grep for these
//! words: change them together with the integration tests that match them (tests/*.rs).

use super::paint::{GREEN, Paint, RED, YELLOW};
use crate::duration::display;
use crate::event::{Counts, Event, Exit};
use crate::status::Status;
use std::time::Duration;

/// ` (exit 3)`, ` (signal 9)`, or nothing for a clean exit.
pub(crate) fn exit_text(exit: Exit) -> String {
  match (exit.code, exit.signal) {
    (Some(code), _) if code != 0 => format!(" (exit {code})"),
    (_, Some(signal)) => format!(" (signal {signal})"),
    _ => String::new(),
  }
}

/// A duration in milliseconds as reports show it.
pub(crate) fn took(duration_ms: u64) -> String {
  display(Duration::from_millis(duration_ms))
}

/// `[task] started`, or `[task] started (attempt 2)` for a retry.
pub(crate) fn started(task: &str, attempt: u32) -> String {
  match attempt {
    1 => format!("[{task}] started"),
    _ => format!("[{task}] started (attempt {attempt})"),
  }
}

/// What a finish line says after `[task] `: `failed (exit 3) after 2 attempts in 12ms`.
pub(crate) fn outcome(
  status: Status,
  attempts: u32,
  duration_ms: u64,
  exit: Exit,
  paint: Paint,
) -> String {
  let (exit, tries) = (failed_exit(status, exit), tries(attempts));
  let ran = status != Status::Skipped && attempts > 0;
  let took = if ran { format!(" in {}", took(duration_ms)) } else { String::new() };
  format!("{}{exit}{tries}{took}", paint.status(status))
}

/// The exit of what failed (` (exit 3)`); nothing for other outcomes.
fn failed_exit(status: Status, exit: Exit) -> String {
  if status == Status::Failed { exit_text(exit) } else { String::new() }
}

/// ` after 2 attempts`, or nothing for one.
fn tries(attempts: u32) -> String {
  if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
}

/// `[task] failed (exit 1), retrying (attempt 2 next)`.
pub(crate) fn retrying(
  task: &str,
  status: Status,
  exit: Exit,
  attempt: u32,
  paint: Paint,
) -> String {
  let next = attempt + 1;
  format!("[{task}] {}{}, retrying (attempt {next} next)", paint.status(status), exit_text(exit))
}

/// `[group] returned (timeout): succeeded, done [a], pending [b]`.
pub(crate) fn group(group: &str, returned: &Returned, paint: Paint) -> String {
  format!("[{group}] {}", returned.text(paint))
}

/// How a group returned: what a `group_finished` event says besides the group's name.
pub(crate) struct Returned<'a> {
  pub status: Status,
  pub done: &'a [&'a str],
  pub pending: &'a [&'a str],
  pub timed_out: bool,
}

impl Returned<'_> {
  /// `returned (timeout): succeeded, done [a], pending [b]`.
  pub(crate) fn text(&self, paint: Paint) -> String {
    let why = if self.timed_out { " (timeout)" } else { "" };
    let status = paint.status(self.status);
    let (done, pending) = (self.done.join(", "), self.pending.join(", "));
    format!("returned{why}: {status}, done [{done}], pending [{pending}]")
  }
}

/// `[consumer#worker] item `x` failed (exit 1) after 2 attempts`.
pub(crate) fn item(
  consumer: &str,
  worker: u32,
  item: &str,
  status: Status,
  attempts: u32,
  exit: Exit,
  paint: Paint,
) -> String {
  let (exit, tries) = (failed_exit(status, exit), tries(attempts));
  format!("[{consumer}#{worker}] item `{item}` {}{exit}{tries}", paint.status(status))
}

/// What became of a queue's items.
pub(crate) struct QueueTotals<'a> {
  pub queue: &'a str,
  pub put: u64,
  pub taken: u64,
  pub done: u64,
  pub failed: u64,
  pub cancelled: u64,
  /// The items never taken, or the first of them...
  pub left: &'a [&'a str],
  /// ...and how many there were.
  pub left_total: u64,
}

impl<'a> QueueTotals<'a> {
  /// What a `queue_finished` event says; None for any other event.
  pub(crate) fn of(event: &'a Event<'_>) -> Option<Self> {
    let Event::QueueFinished { queue, put, taken, done, failed, cancelled, left, left_total } =
      event
    else {
      return None;
    };
    let (put, taken, done, failed, cancelled) = (*put, *taken, *done, *failed, *cancelled);
    Some(Self { queue, put, taken, done, failed, cancelled, left, left_total: *left_total })
  }

  /// `3 put, 3 taken: 2 done, 1 failed, 0 cancelled`.
  pub(crate) fn counts(&self) -> String {
    let Self { put, taken, done, failed, cancelled, .. } = self;
    format!("{put} put, {taken} taken: {done} done, {failed} failed, {cancelled} cancelled")
  }

  /// `; never taken: x, y`, `; never taken: x, y, ... (5000 in all)`, or nothing.
  pub(crate) fn never_taken(&self) -> String {
    let listed = self.left.len() as u64;
    match self.left_total.max(listed) {
      0 => String::new(),
      total if total == listed => format!("; never taken: {}", self.left.join(", ")),
      total => format!("; never taken: {}, ... ({total} in all)", self.left.join(", ")),
    }
  }
}

/// `[queue q] 3 put, 3 taken: 2 done, 1 failed, 0 cancelled; never taken: x`.
pub(crate) fn queue(q: &QueueTotals) -> String {
  format!("[queue {}] {}{}", q.queue, q.counts(), q.never_taken())
}

/// `[task:callback] `cmd` failed (exit 1)`.
pub(crate) fn callback_failed(task: &str, command: &str, exit: Exit) -> String {
  format!("[{task}:callback] `{command}` failed{}", exit_text(exit))
}

/// The closing line: `runner: failed (exit 1) in 1.20s: 3 succeeded, 1 failed, ...`.
pub(crate) fn run(
  status: &str,
  exit_code: i32,
  duration_ms: u64,
  c: &Counts,
  paint: Paint,
) -> String {
  let color = match status {
    "succeeded" => GREEN,
    "failed" => RED,
    _ => YELLOW,
  };
  format!(
    "runner: {} (exit {exit_code}) in {}: {} succeeded, {} failed, {} timed out, {} cancelled, {} skipped",
    paint.style(color, status),
    took(duration_ms),
    c.succeeded,
    c.failed,
    c.timed_out,
    c.cancelled,
    c.skipped
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  const OFF: Paint = Paint { on: false };

  #[test]
  fn outcomes() {
    let exit = crate::report::fixtures::exit(3);
    assert_eq!(outcome(Status::Failed, 1, 12, exit, OFF), "failed (exit 3) in 12ms");
    assert_eq!(
      outcome(Status::Failed, 2, 12, exit, OFF),
      "failed (exit 3) after 2 attempts in 12ms"
    );
    assert_eq!(outcome(Status::TimedOut, 1, 200, exit, OFF), "timed_out in 200ms");
    assert_eq!(outcome(Status::Skipped, 0, 0, Exit::default(), OFF), "skipped");
    assert_eq!(outcome(Status::Cancelled, 0, 0, Exit::default(), OFF), "cancelled");
    let signal = Exit { code: None, signal: Some(9) };
    assert_eq!(outcome(Status::Failed, 1, 5, signal, OFF), "failed (signal 9) in 5ms");
  }

  #[test]
  fn queues() {
    let q = |left: &'static [&'static str], left_total| QueueTotals {
      queue: "q",
      put: 5,
      taken: 2,
      done: 1,
      failed: 1,
      cancelled: 0,
      left,
      left_total,
    };
    assert_eq!(queue(&q(&[], 0)), "[queue q] 5 put, 2 taken: 1 done, 1 failed, 0 cancelled");
    assert!(queue(&q(&["a", "b"], 2)).ends_with("; never taken: a, b"));
    assert!(queue(&q(&["a", "b"], 3000)).ends_with("; never taken: a, b, ... (3000 in all)"));
  }
}
