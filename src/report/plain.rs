//! Line-oriented output: `[task] line` for output, a start and a finish line per task, and a
//! closing summary. No colour, no cursor movement: safe for pipes and CI logs.

use crate::duration::display;
use crate::event::{Event, Exit, Stream};
use crate::status::Status;
use std::io::Write;
use std::time::Duration;

pub struct Plain {
  out: Box<dyn Write>,
}

impl Plain {
  pub fn new(out: Box<dyn Write>) -> Self {
    Self { out }
  }

  pub fn event(&mut self, event: &Event) {
    let _ = self.write(event);
  }

  fn write(&mut self, event: &Event) -> std::io::Result<()> {
    let out = &mut self.out;
    match event {
      Event::RunStarted { .. } => Ok(()),
      Event::TaskStarted { task, attempt: 1 } => writeln!(out, "[{task}] started"),
      Event::TaskStarted { task, attempt } => writeln!(out, "[{task}] started (attempt {attempt})"),
      Event::Output { task, stream: Stream::Callback, line } => {
        writeln!(out, "[{task}:callback] {line}")
      }
      Event::Output { task, line, .. } => writeln!(out, "[{task}] {line}"),
      Event::TaskRetrying { task, attempt, status, exit } => {
        writeln!(
          out,
          "[{task}] {}{}, retrying (attempt {} next)",
          status.as_str(),
          exit_text(*exit),
          attempt + 1
        )
      }
      Event::TaskFinished { task, status, attempts, duration_ms, exit } => {
        let tries =
          if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
        let ran = !matches!(status, Status::Skipped) && *attempts > 0;
        let took = if ran {
          format!(" in {}", display(Duration::from_millis(*duration_ms)))
        } else {
          String::new()
        };
        let exit = if matches!(status, Status::Failed) { exit_text(*exit) } else { String::new() };
        writeln!(out, "[{task}] {}{exit}{tries}{took}", status.as_str())
      }
      Event::GroupFinished { group, status, done, pending, timed_out, .. } => {
        let why = if *timed_out { " (timeout)" } else { "" };
        writeln!(
          out,
          "[{group}] returned{why}: {}, done [{}], pending [{}]",
          status.as_str(),
          done.join(", "),
          pending.join(", ")
        )
      }
      Event::ItemFinished { consumer, item, worker, status, attempts, exit, .. } => {
        let tries =
          if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
        let exit = if matches!(status, Status::Failed) { exit_text(*exit) } else { String::new() };
        writeln!(out, "[{consumer}#{worker}] item `{item}` {}{exit}{tries}", status.as_str())
      }
      Event::QueueState { .. } => Ok(()),
      Event::QueueFinished { queue, put, taken, done, failed, cancelled, left } => {
        write!(
          out,
          "[queue {queue}] {put} put, {taken} taken: {done} done, {failed} failed, {cancelled} cancelled"
        )?;
        if left.is_empty() {
          writeln!(out)
        } else {
          writeln!(out, "; never taken: {}", left.join(", "))
        }
      }
      Event::CallbackFailed { task, command, exit } => {
        writeln!(out, "[{task}:callback] `{command}` failed{}", exit_text(*exit))
      }
      Event::RunFinished { status, exit_code, duration_ms, counts } => {
        let c = counts;
        writeln!(
          out,
          "runner: {status} (exit {exit_code}) in {}: {} succeeded, {} failed, {} timed out, {} cancelled, {} skipped",
          display(Duration::from_millis(*duration_ms)),
          c.succeeded,
          c.failed,
          c.timed_out,
          c.cancelled,
          c.skipped
        )
      }
    }
  }

  pub fn flush(&mut self) -> std::io::Result<()> {
    self.out.flush()
  }
}

fn exit_text(exit: Exit) -> String {
  match (exit.code, exit.signal) {
    (Some(code), _) if code != 0 => format!(" (exit {code})"),
    (_, Some(signal)) => format!(" (signal {signal})"),
    _ => String::new(),
  }
}
