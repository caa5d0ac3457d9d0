//! `--report FILE.json`: the whole run as one JSON object. Field names are stable. Durations are
//! in milliseconds; `start_ms` and `end_ms` count from the run's start. Lists keep file order
//! (tasks, groups, queues) or finishing order (`done`, `items`).
//!
//! ```text
//! {
//!   "version": 1,                        // of this shape
//!   "file": "jobs/ci.yaml",              // the job file, as given
//!   "name": "ci" | null,                 // the job's `name`
//!   "status": "succeeded" | "failed" | "interrupted",
//!   "exit_code": 0,
//!   "cause": "`build` failed" | null,    // why a run that did not succeed failed or stopped,
//!                                        // output that could not be written included
//!   "started_at": "2024-05-01T12:34:56.789Z",
//!   "duration_ms": 1234,
//!   "counts": {"succeeded", "failed", "timed_out", "cancelled", "skipped",   // of tasks
//!              "up_to_date", "allowed_failures", "callbacks_failed"},
//!   "slurm": {"launch": "steps" | "jobs", "submits", "steps", "polls", "cancels", "allocs",
//!             "failed", "lost",          // the calls the run made of Slurm, as the `slurm`
//!             "latency_ms": {"p50", "p99", "max"}},  // event says; only with `--backend
//!                                        // slurm`, `latency_ms` only for the jobs path
//!   "log_dir": "logs" | null,            // `--log-dir`; the `logs` paths below are inside it
//!   "tasks": [{                          // the tasks the run selected
//!     "name": "build", "line": 12,       // `line`: of the task's name in the job file
//!     "status": "succeeded" | "failed" | "timed_out" | "cancelled" | "skipped" | "up_to_date",
//!     "allow_failure": false, "duration_ms": 850,
//!     "exit": {"code": 0 | null, "signal": 15 | null},     // of the last attempt
//!     "attempts": [{"attempt": 1, "start_ms", "end_ms", "status", "exit",
//!                   "logs": {"stdout": "build/attempt-1.stdout", "stderr": "…"} | null,
//!                   "slurm_id": "12" | "12.3", "node": "n2"}],  // where it ran, if on Slurm
//!     "callbacks_failed": [{"command", "exit"}],
//!     "output": {"stdout" | "stderr" | "callbacks": {"lines": [last lines], "omitted": 0}}
//!   }],
//!   "groups": [{"name", "line", "status", "done": [names], "pending": [names], "timed_out",
//!               "start_ms" | null, "end_ms", "callbacks_failed", "output"}],
//!   "queues": [{"name", "line", "put", "taken", "done", "failed", "cancelled",
//!               "items": [{"item", "consumer", "index", "worker", "status", "attempts", "exit",
//!                          "start_ms", "end_ms", "logs": {"stdout", "stderr"} | null,
//!                          "slurm_id", "node"}],   // where its last attempt ran, if on Slurm
//!               "items_omitted": 0,   // outcomes not listed: only when a temporary file
//!                                     // holding them could not be written
//!               "left": [items never taken, the first 1000], "left_total": 0,
//!               "left_omitted": 0}]   // items never taken and not in `left`
//! }
//! ```
//!
//! `slurm_id` and `node` are left out, not null, for what did not run on a Slurm node, as is
//! `slurm` for a local run. A consumer's output lines start with `[item] `. An item's
//! `start_ms` is an estimate: when its worker was last free. Every item is listed, however many
//! there were: the report is written as it is rendered, the outcomes past the first ones read
//! back from the file they went to.

use super::logs;
use super::record::{CallbackFailure, ItemRecord, NodeRecord, Placed, QueueRecord, Record};
use super::tail::Tail;
use super::time;
use crate::error::ExitCode;
use crate::event::{Counts, Exit, SlurmCalls};
use crate::status::Status;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Report<'a> {
  version: u32,
  file: &'a str,
  name: Option<&'a str>,
  status: &'a str,
  exit_code: i32,
  cause: Option<&'a str>,
  started_at: String,
  duration_ms: u64,
  counts: Counts,
  #[serde(skip_serializing_if = "Option::is_none")]
  slurm: Option<&'a SlurmCalls>,
  log_dir: Option<String>,
  tasks: Vec<Task<'a>>,
  groups: Vec<Group<'a>>,
  queues: Vec<Queue<'a>>,
}

#[derive(Serialize)]
struct Task<'a> {
  name: &'a str,
  line: usize,
  status: Option<Status>,
  allow_failure: bool,
  duration_ms: u64,
  exit: Exit,
  attempts: Vec<Attempt<'a>>,
  callbacks_failed: Vec<Callback<'a>>,
  output: Output<'a>,
}

#[derive(Serialize)]
struct Attempt<'a> {
  attempt: u32,
  start_ms: u64,
  end_ms: Option<u64>,
  status: Option<Status>,
  exit: Option<Exit>,
  logs: Option<Logs>,
  #[serde(flatten)]
  placed: Option<Place<'a>>,
}

/// Where an attempt ran, on Slurm.
#[derive(Serialize)]
struct Place<'a> {
  slurm_id: &'a str,
  node: &'a str,
}

impl<'a> Place<'a> {
  fn of(placed: Option<&'a Placed>) -> Option<Self> {
    placed.map(|p| Place { slurm_id: &p.slurm_id, node: &p.node })
  }
}

#[derive(Serialize)]
struct Logs {
  stdout: String,
  stderr: String,
}

#[derive(Serialize)]
struct Callback<'a> {
  command: &'a str,
  exit: Exit,
}

#[derive(Serialize)]
struct Output<'a> {
  stdout: Lines<'a>,
  stderr: Lines<'a>,
  callbacks: Lines<'a>,
}

#[derive(Serialize)]
struct Lines<'a> {
  lines: Vec<&'a str>,
  omitted: u64,
}

#[derive(Serialize)]
struct Group<'a> {
  name: &'a str,
  line: usize,
  status: Option<Status>,
  done: &'a [String],
  pending: &'a [String],
  timed_out: bool,
  start_ms: Option<u64>,
  end_ms: Option<u64>,
  callbacks_failed: Vec<Callback<'a>>,
  output: Output<'a>,
}

#[derive(Serialize)]
struct Queue<'a> {
  name: &'a str,
  line: usize,
  put: u64,
  taken: u64,
  done: u64,
  failed: u64,
  cancelled: u64,
  items: Items<'a>,
  items_omitted: u64,
  left: &'a [String],
  left_total: u64,
  left_omitted: u64,
}

/// A queue's outcomes: those in memory, then those of its spill, read as they are written.
struct Items<'a> {
  record: &'a Record,
  queue: &'a QueueRecord,
  log_dir: Option<&'a str>,
}

impl Serialize for Items<'_> {
  fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::{Error, SerializeSeq};
    let mut seq = serializer.serialize_seq(None)?;
    for record in &self.queue.items {
      seq.serialize_element(&item(self.record, record, self.log_dir))?;
    }
    if let Some(spill) = &self.queue.spill {
      for record in spill.read().map_err(S::Error::custom)? {
        let record = record.map_err(S::Error::custom)?;
        seq.serialize_element(&item(self.record, &record, self.log_dir))?;
      }
    }
    seq.end()
  }
}

#[derive(Serialize)]
struct Item<'a> {
  item: &'a str,
  consumer: &'a str,
  index: u64,
  worker: u32,
  status: Status,
  attempts: u32,
  exit: Exit,
  start_ms: u64,
  end_ms: u64,
  logs: Option<Logs>,
  #[serde(flatten)]
  placed: Option<Place<'a>>,
}

/// Writes the report as pretty-printed JSON; `log_dir` when `--log-dir` was given.
pub(super) fn write(record: &Record, log_dir: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
  let end = record.end.as_ref();
  let seen = || record.nodes.iter().enumerate().filter(|(_, n)| n.seen);
  let report = Report {
    version: 1,
    file: &record.file,
    name: record.name.as_deref(),
    status: record.status(),
    // A run that never finished is reported as failed.
    exit_code: end.map_or(ExitCode::RunFailed.code(), |e| e.exit_code),
    cause: end.and_then(|e| e.cause.as_deref()),
    started_at: time::utc_millis(record.started_at),
    duration_ms: end.map_or(0, |e| e.duration_ms),
    counts: end.map(|e| e.counts).unwrap_or_default(),
    slurm: record.slurm.as_ref(),
    log_dir: log_dir.map(str::to_string),
    tasks: seen().filter(|(_, n)| !n.is_group).map(|(id, n)| task(n, id, log_dir)).collect(),
    groups: seen().filter(|(_, n)| n.is_group).map(|(_, n)| group(n)).collect(),
    queues: record.queues.iter().map(|q| queue(record, q, log_dir)).collect(),
  };
  serde_json::to_writer_pretty(&mut *out, &report)?;
  out.write_all(b"\n")
}

/// The report as text.
#[cfg(test)]
fn render(record: &Record, log_dir: Option<&str>) -> String {
  let mut out = Vec::new();
  write(record, log_dir, &mut out).expect("a report renders");
  String::from_utf8(out).expect("JSON is UTF-8")
}

impl Logs {
  /// The pair of files `file` names for `stdout` and for `stderr`.
  fn of(file: impl Fn(&str) -> String) -> Self {
    Self { stdout: file("stdout"), stderr: file("stderr") }
  }
}

fn ms(us: u64) -> u64 {
  us / 1000
}

fn task<'a>(node: &'a NodeRecord, id: usize, log_dir: Option<&str>) -> Task<'a> {
  let attempts = node
    .attempts
    .iter()
    .map(|a| Attempt {
      attempt: a.number,
      start_ms: ms(a.start_us),
      end_ms: a.end_us.map(ms),
      status: a.status,
      exit: a.exit,
      logs: log_dir.map(|_| Logs::of(|ext| logs::attempt_file(&node.name, id, a.number, ext))),
      placed: Place::of(a.placed.as_ref()),
    })
    .collect();
  Task {
    name: &node.name,
    line: node.line,
    status: node.status,
    allow_failure: node.allow_failure,
    duration_ms: node.duration_ms,
    exit: node.exit,
    attempts,
    callbacks_failed: callbacks(&node.callbacks_failed),
    output: output(node),
  }
}

fn group(node: &NodeRecord) -> Group<'_> {
  let outcome = node.group.as_ref();
  Group {
    name: &node.name,
    line: node.line,
    status: node.status,
    done: outcome.map_or(&[], |g| &g.done),
    pending: outcome.map_or(&[], |g| &g.pending),
    timed_out: outcome.is_some_and(|g| g.timed_out),
    start_ms: outcome.and_then(|g| g.start_us).map(ms),
    end_ms: outcome.map(|g| ms(g.end_us)),
    callbacks_failed: callbacks(&node.callbacks_failed),
    output: output(node),
  }
}

fn callbacks(failed: &[CallbackFailure]) -> Vec<Callback<'_>> {
  failed.iter().map(|c| Callback { command: &c.command, exit: c.exit }).collect()
}

fn lines(tail: &Tail) -> Lines<'_> {
  Lines { lines: tail.lines().collect(), omitted: tail.dropped() }
}

fn output(node: &NodeRecord) -> Output<'_> {
  Output {
    stdout: lines(&node.stdout),
    stderr: lines(&node.stderr),
    callbacks: lines(&node.callbacks),
  }
}

fn item<'a>(record: &'a Record, i: &'a ItemRecord, log_dir: Option<&str>) -> Item<'a> {
  let consumer = &record.nodes[i.consumer].name;
  Item {
    item: &i.item,
    consumer,
    index: i.index,
    worker: i.worker,
    status: i.status,
    attempts: i.attempts,
    exit: i.exit,
    start_ms: ms(i.start_us),
    end_ms: ms(i.end_us),
    logs: log_dir
      .filter(|_| i.attempts > 0)
      .map(|_| Logs::of(|ext| logs::item_file(consumer, i.consumer, i.index, &i.item, ext))),
    placed: Place::of(i.placed.as_ref()),
  }
}

fn queue<'a>(record: &'a Record, q: &'a QueueRecord, log_dir: Option<&'a str>) -> Queue<'a> {
  let totals = q.totals.as_ref();
  let total = |f: fn(&super::record::QueueTotals) -> u64| totals.map_or(0, f);
  Queue {
    name: &q.name,
    line: q.line,
    put: total(|t| t.put),
    taken: total(|t| t.taken),
    done: total(|t| t.done),
    failed: total(|t| t.failed),
    cancelled: total(|t| t.cancelled),
    items: Items { record, queue: q, log_dir },
    items_omitted: q.items_omitted,
    left: &q.left,
    left_total: total(|t| t.left),
    left_omitted: total(|t| t.left).saturating_sub(q.left.len() as u64),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::event::{Event, Stream};
  use crate::report::files::record::tests::JOB;
  use crate::report::fixtures::{exit, graph, run_finished, task_finished};
  use serde_json::{Value, json};

  #[test]
  fn the_shape() {
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "b", attempt: 1 }, 1000);
    let line =
      Event::Output { task: "b", stream: Stream::Stdout, line: "hello", item: None, raw: None };
    record.event(&line, 1500);
    record.event(&task_finished("b", Status::Succeeded, 1, 2, exit(0)), 3000);
    record.event(&run_finished("succeeded", 0, 4), 4000);
    let report: Value = serde_json::from_str(&render(&record, Some("logs"))).unwrap();
    assert_eq!(report["file"], "job.yaml");
    assert_eq!(report["name"], "demo");
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["tasks"].as_array().unwrap().len(), 1);
    let task = &report["tasks"][0];
    assert_eq!(task["name"], "b");
    assert_eq!(task["line"], 6);
    assert_eq!(
      task["attempts"],
      json!([{
        "attempt": 1, "start_ms": 1, "end_ms": 3, "status": "succeeded",
        "exit": {"code": 0, "signal": null},
        "logs": {"stdout": "b/attempt-1.stdout", "stderr": "b/attempt-1.stderr"}
      }])
    );
    assert_eq!(task["output"]["stdout"], json!({"lines": ["hello"], "omitted": 0}));
    assert_eq!(report["queues"][0]["name"], "q");
    assert_eq!(report["groups"], json!([]));
    assert_eq!(report.get("slurm"), None, "a local run says nothing of Slurm");
  }

  #[test]
  fn where_attempts_and_items_ran_and_the_calls_to_slurm() {
    use crate::event::{Latency, SlurmCalls};
    use crate::report::files::record::tests::item_finished;
    use crate::report::fixtures::placed;
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 1000);
    record.event(&placed("a", 1, None, "41", "n1"), 1500);
    let retry =
      Event::TaskRetrying { task: "a", attempt: 1, status: Status::Failed, exit: exit(1) };
    record.event(&retry, 2000);
    record.event(&Event::TaskStarted { task: "a", attempt: 2 }, 3000);
    record.event(&placed("a", 2, None, "42", "n2"), 3500);
    record.event(&task_finished("a", Status::Succeeded, 2, 3, exit(0)), 4000);
    record.event(&Event::TaskStarted { task: "c", attempt: 1 }, 5000);
    record.event(&placed("c", 1, Some("x"), "43", "n3"), 5500);
    record.event(&item_finished("x", 0, Status::Succeeded), 6000);
    record.event(&item_finished("y", 1, Status::Cancelled), 6500);
    record.event(&task_finished("c", Status::Succeeded, 1, 2, exit(0)), 7000);
    let calls = SlurmCalls {
      launch: "jobs",
      submits: 3,
      polls: 4,
      latency_ms: Some(Latency { p50: 40, p99: 90, max: 120 }),
      ..SlurmCalls::default()
    };
    record.event(&Event::Slurm(calls), 7500);
    record.event(&run_finished("succeeded", 0, 8), 8000);
    let filters = vec![(r#""started_at": "[^"]*""#, r#""started_at": "[time]""#)];
    insta::with_settings!({ filters => filters, omit_expression => true }, {
      insta::assert_snapshot!(render(&record, None));
    });
  }

  #[test]
  fn every_item_is_listed() {
    use crate::report::files::record::queues::ITEMS_KEPT;
    use crate::report::files::record::tests::item_finished;
    let mut record = Record::new(&graph(JOB));
    let items: Vec<String> = (0..ITEMS_KEPT + 3).map(|i| i.to_string()).collect();
    for (i, item) in items.iter().enumerate() {
      record.event(&item_finished(item, 0, Status::Succeeded), i as u64);
    }
    record.flush_spills();
    let report: Value = serde_json::from_str(&render(&record, Some("logs"))).unwrap();
    let listed = report["queues"][0]["items"].as_array().unwrap();
    assert_eq!(listed.len(), ITEMS_KEPT + 3);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&listed[ITEMS_KEPT + 2]), keys(&listed[0]), "read back in the same shape");
    let last = &listed[ITEMS_KEPT + 2];
    assert_eq!((&last["item"], &last["index"]), (&json!(items.last()), &json!(ITEMS_KEPT + 3)));
    assert_eq!(
      last["logs"]["stdout"],
      format!("c/items/{}-{}.stdout", ITEMS_KEPT + 3, ITEMS_KEPT + 2)
    );
    assert_eq!(report["queues"][0]["items_omitted"], 0);
  }
}
