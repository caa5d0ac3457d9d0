//! The wording of plain output, one function per kind of line. The live view reuses the
//! outcome and closing lines, so both say the same thing. Integration tests grep for these
//! words: change them together with the integration tests that match them (tests/*.rs).

use super::paint::{GREEN, Paint, RED, YELLOW};
use crate::duration::display;
use crate::event::{Counts, Event, Exit, SlurmCalls};
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

/// ` on n2`: the node an attempt ran on; nothing for one that was not placed.
pub(crate) fn on(node: Option<&str>) -> String {
  node.map(|node| format!(" on {node}")).unwrap_or_default()
}

/// `[task] failed (exit 1) on n2, retrying (attempt 2 next)`; `node`: where it ran.
pub(crate) fn retrying(
  task: &str,
  status: Status,
  exit: Exit,
  attempt: u32,
  node: Option<&str>,
  paint: Paint,
) -> String {
  let (next, exit, on) = (attempt + 1, exit_text(exit), on(node));
  format!("[{task}] {}{exit}{on}, retrying (attempt {next} next)", paint.status(status))
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

  /// `; items never taken: "x", "y"`, `; items never taken: "x", "y", ... (5000 in all)`, or
  /// nothing. Items are quoted as JSON strings: an item may be a number, or hold a comma.
  pub(crate) fn never_taken(&self) -> String {
    let listed = self.left.len() as u64;
    let items: Vec<String> =
      self.left.iter().map(|item| serde_json::to_string(item).unwrap_or_default()).collect();
    let items = items.join(", ");
    match self.left_total.max(listed) {
      0 => String::new(),
      total if total == listed => format!("; items never taken: {items}"),
      total => format!("; items never taken: {items}, ... ({total} in all)"),
    }
  }
}

/// `[queue q] 3 put, 3 taken: 2 done, 1 failed, 0 cancelled; items never taken: "x"`.
pub(crate) fn queue(q: &QueueTotals) -> String {
  format!("[queue {}] {}{}", q.queue, q.counts(), q.never_taken())
}

/// `SIGINT`, `SIGTERM`, `SIGHUP`, or `signal 10`.
pub(crate) fn signal_name(signal: i32) -> String {
  match signal {
    libc::SIGINT => "SIGINT".to_string(),
    libc::SIGTERM => "SIGTERM".to_string(),
    libc::SIGHUP => "SIGHUP".to_string(),
    n => format!("signal {n}"),
  }
}

/// What a `stopping` event says: `runner: SIGINT: stopping 2 tasks and 1 callback (SIGTERM
/// now, SIGKILL after 3s); Ctrl-C again kills them now`, `runner: SIGINT again: killing 2
/// tasks now`, `runner: --timeout expired: stopping 1 task (...)`.
pub(crate) fn stopping(event: &Event) -> Option<String> {
  let Event::Stopping { reason, signal, tasks, items, callbacks, kill_grace_ms, killed } = event
  else {
    return None;
  };
  let why = match (*reason, signal) {
    (_, Some(signal)) => signal_name(*signal),
    ("timeout", None) => "--timeout expired".to_string(),
    ("sources_changed", None) => "sources changed".to_string(),
    ("cancelled", None) => "cancelled".to_string(),
    (reason, None) => reason.replace('_', "-"),
  };
  let parts: Vec<String> = [(*tasks, "task"), (*items, "item"), (*callbacks, "callback")]
    .into_iter()
    .filter(|&(n, _)| n > 0)
    .map(|(n, what)| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") })
    .collect();
  let what = match parts.as_slice() {
    [] => return Some(format!("runner: {why}: stopping; nothing is running")),
    [one] => one.clone(),
    [first @ .., last] => format!("{} and {last}", first.join(", ")),
  };
  if *killed {
    return Some(format!("runner: {why} again: killing {what} now"));
  }
  let grace = match kill_grace_ms % 1000 {
    0 => format!("{}s", kill_grace_ms / 1000),
    _ => took(*kill_grace_ms),
  };
  let again = match signal {
    Some(signal) if *signal == libc::SIGINT => "; Ctrl-C again kills them now",
    Some(_) => "; a second signal kills them now",
    None if *reason == "cancelled" => "; a second cancel kills them now",
    None => "",
  };
  Some(format!("runner: {why}: stopping {what} (SIGTERM now, SIGKILL after {grace}){again}"))
}

/// `[task:callback] `cmd` failed (exit 1)`.
pub(crate) fn callback_failed(task: &str, command: &str, exit: Exit) -> String {
  format!("[{task}:callback] `{command}` failed{}", exit_text(exit))
}

/// What a run asked of Slurm, the line above the closing one: `slurm: 200 jobs submitted, 14
/// polls, 0 cancels` (jobs path), `slurm: 200 steps in job 12, 0 cancels` (steps path, `jobs`
/// the allocations its steps ran in and `more` if there were others); then failed calls, lost
/// attempts and how late the jobs path saw jobs end, when there is something to say.
pub(crate) fn slurm(calls: &SlurmCalls, jobs: &[String], more: bool) -> String {
  let mut parts = match calls.launch {
    "steps" => vec![format!("{}{}", count(calls.steps, "step", "steps"), within(jobs, more))],
    _ => vec![format!("{} submitted", count(calls.submits, "job", "jobs"))],
  };
  if calls.allocs > 0 {
    parts.push(count(calls.allocs, "allocation", "allocations"));
  }
  if calls.launch != "steps" || calls.polls > 0 {
    parts.push(count(calls.polls, "poll", "polls"));
  }
  parts.push(count(calls.cancels, "cancel", "cancels"));
  if calls.failed > 0 {
    parts.push(count(calls.failed, "failed call", "failed calls"));
  }
  if calls.lost > 0 {
    parts.push(count(calls.lost, "attempt lost", "attempts lost"));
  }
  let latency = calls.latency_ms.as_ref().map_or(String::new(), |l| {
    format!("; ends seen after {} p50, {} p99, {} max", took(l.p50), took(l.p99), took(l.max))
  });
  format!("slurm: {}{latency}", parts.join(", "))
}

/// ` in job 12`, ` in jobs 12, 13`, ` in jobs 12, 13, 14, ...`, or nothing.
fn within(jobs: &[String], more: bool) -> String {
  match (jobs, more) {
    ([], _) => String::new(),
    ([job], false) => format!(" in job {job}"),
    (jobs, false) => format!(" in jobs {}", jobs.join(", ")),
    (jobs, true) => format!(" in jobs {}, ...", jobs.join(", ")),
  }
}

/// `1 poll`, `0 polls`.
fn count(n: u64, one: &str, many: &str) -> String {
  format!("{n} {}", if n == 1 { one } else { many })
}

/// The closing line: `runner: failed (exit 1) in 1.20s: `compile` failed; 3 succeeded, 1
/// failed, ...`, with the cause of a run that did not succeed before the counts.
pub(crate) fn run(
  status: &str,
  exit_code: i32,
  duration_ms: u64,
  c: &Counts,
  cause: Option<&str>,
  paint: Paint,
) -> String {
  let color = match status {
    "succeeded" => GREEN,
    "failed" => RED,
    _ => YELLOW,
  };
  let cause = cause.map(|cause| format!("{cause}; ")).unwrap_or_default();
  let allowed = match c.allowed_failures {
    0 => String::new(),
    n if n == c.failed && c.timed_out == 0 => " (allowed)".to_string(),
    n => format!(" ({n} allowed)"),
  };
  let callbacks = match c.callbacks_failed {
    0 => String::new(),
    1 => ", 1 callback failed".to_string(),
    n => format!(", {n} callbacks failed"),
  };
  // Said only when there are some: runs without `sources` read as they always have.
  let up_to_date = match c.up_to_date {
    0 => String::new(),
    n => format!(", {n} up to date"),
  };
  format!(
    "runner: {} (exit {exit_code}) in {}: {cause}{} succeeded{up_to_date}, {} failed{allowed}, {} timed out, {} cancelled, {} skipped{callbacks}",
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
    assert_eq!(outcome(Status::UpToDate, 0, 0, Exit::default(), OFF), "up_to_date");
    assert_eq!(outcome(Status::Cancelled, 0, 0, Exit::default(), OFF), "cancelled");
    let signal = Exit { code: None, signal: Some(9) };
    assert_eq!(outcome(Status::Failed, 1, 5, signal, OFF), "failed (signal 9) in 5ms");
  }

  #[test]
  fn a_placed_retry_says_its_node() {
    let (failed, exit) = (Status::Failed, crate::report::fixtures::exit(1));
    assert_eq!(
      retrying("b", failed, exit, 1, Some("n1"), OFF),
      "[b] failed (exit 1) on n1, retrying (attempt 2 next)"
    );
    assert_eq!(
      retrying("b", failed, exit, 1, None, OFF),
      "[b] failed (exit 1), retrying (attempt 2 next)"
    );
  }

  #[test]
  fn slurm_lines() {
    use crate::event::{Latency, SlurmCalls};
    let jobs = SlurmCalls { launch: "jobs", submits: 200, polls: 14, ..SlurmCalls::default() };
    assert_eq!(slurm(&jobs, &[], false), "slurm: 200 jobs submitted, 14 polls, 0 cancels");
    let latency = Some(Latency { p50: 40, p99: 950, max: 1200 });
    let rough = SlurmCalls {
      submits: 1,
      polls: 1,
      cancels: 1,
      failed: 2,
      lost: 1,
      latency_ms: latency,
      ..jobs
    };
    assert_eq!(
      slurm(&rough, &[], false),
      "slurm: 1 job submitted, 1 poll, 1 cancel, 2 failed calls, 1 attempt lost; ends seen after 40ms p50, 950ms p99, 1.20s max"
    );
    let steps = SlurmCalls { launch: "steps", steps: 200, ..SlurmCalls::default() };
    let job = ["12".to_string()];
    assert_eq!(slurm(&steps, &job, false), "slurm: 200 steps in job 12, 0 cancels");
    assert_eq!(slurm(&steps, &[], false), "slurm: 200 steps, 0 cancels");
    let jobs = ["12".to_string(), "13".to_string()];
    let alloc = SlurmCalls { allocs: 1, polls: 2, ..steps };
    assert_eq!(
      slurm(&alloc, &jobs, true),
      "slurm: 200 steps in jobs 12, 13, ..., 1 allocation, 2 polls, 0 cancels"
    );
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
    assert!(queue(&q(&["a", "3"], 2)).ends_with(r#"; items never taken: "a", "3""#));
    let many = queue(&q(&["a", "b"], 3000));
    assert!(many.ends_with(r#"; items never taken: "a", "b", ... (3000 in all)"#), "{many}");
  }

  #[test]
  fn stopping_lines() {
    let event = |signal: Option<i32>, tasks, items, callbacks, killed| Event::Stopping {
      reason: if signal.is_some() { "signal" } else { "timeout" },
      signal,
      tasks,
      items,
      callbacks,
      kill_grace_ms: 3000,
      killed,
    };
    let line = |e: Event| stopping(&e).expect("a stopping event");
    assert_eq!(
      line(event(Some(2), 2, 0, 1, false)),
      "runner: SIGINT: stopping 2 tasks and 1 callback (SIGTERM now, SIGKILL after 3s); Ctrl-C again kills them now"
    );
    assert_eq!(
      line(event(Some(2), 1, 3, 0, true)),
      "runner: SIGINT again: killing 1 task and 3 items now"
    );
    assert_eq!(
      line(event(None, 1, 0, 0, false)),
      "runner: --timeout expired: stopping 1 task (SIGTERM now, SIGKILL after 3s)"
    );
    assert_eq!(
      line(event(Some(15), 0, 0, 0, false)),
      "runner: SIGTERM: stopping; nothing is running"
    );
  }

  #[test]
  fn closing_lines_name_the_cause_and_count_allowed_failures_and_callbacks_apart() {
    let counts = Counts {
      succeeded: 2,
      failed: 1,
      allowed_failures: 1,
      callbacks_failed: 1,
      ..Counts::default()
    };
    assert_eq!(
      run("failed", 1, 1200, &counts, Some("callback of `serve` failed"), OFF),
      "runner: failed (exit 1) in 1.20s: callback of `serve` failed; 2 succeeded, 1 failed (allowed), 0 timed out, 0 cancelled, 0 skipped, 1 callback failed"
    );
    let counts = Counts { succeeded: 1, failed: 2, allowed_failures: 1, ..Counts::default() };
    assert_eq!(
      run("failed", 1, 5, &counts, Some("`a` failed"), OFF),
      "runner: failed (exit 1) in 5ms: `a` failed; 1 succeeded, 2 failed (1 allowed), 0 timed out, 0 cancelled, 0 skipped"
    );
  }
}
