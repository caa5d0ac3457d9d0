//! `--trace FILE.json`: the run in the Chrome trace event format, for Perfetto
//! (ui.perfetto.dev) and chrome://tracing. One complete event (`"ph": "X"`, `ts` and `dur` in
//! microseconds from the run's start) per task attempt and per queue item that ran, all in
//! process 1. Each slice goes on the lowest-numbered track (`tid`, from 1) that is free when it
//! starts, so slices on one track never overlap and there are as many tracks as the most slices
//! at once; `thread_name` metadata events name the tracks. `args` carry the status, exit and
//! attempt, and the Slurm job or step (`slurm_id`) and `node` of an attempt that ran on Slurm.
//! An item's start is an estimate (see `record`).

use super::record::{Placed, Record};
use crate::event::Exit;
use crate::status::Status;
use serde_json::{Value, json};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One slice before it has a track.
struct Slice {
  name: String,
  cat: &'static str,
  start: u64,
  end: u64,
  args: Value,
}

/// The trace of a run, as JSON text.
pub(super) fn render(record: &Record) -> String {
  let slices = slices(record);
  let spans: Vec<(u64, u64)> = slices.iter().map(|s| (s.start, s.end)).collect();
  let lanes = lanes(&spans);
  let tracks = lanes.iter().max().map_or(0, |&l| l + 1);
  let title = record.title();
  let mut events = vec![json!({
    "name": "process_name", "ph": "M", "pid": 1, "tid": 0,
    "args": {"name": format!("runner: {title}")},
  })];
  for lane in 0..tracks {
    let tid = lane + 1;
    events.push(json!({
      "name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": format!("track {tid}")},
    }));
    events.push(json!({
      "name": "thread_sort_index", "ph": "M", "pid": 1, "tid": tid, "args": {"sort_index": tid},
    }));
  }
  for (slice, lane) in slices.into_iter().zip(lanes) {
    events.push(json!({
      "name": slice.name, "cat": slice.cat, "ph": "X", "pid": 1, "tid": lane + 1,
      "ts": slice.start, "dur": slice.end - slice.start, "args": slice.args,
    }));
  }
  let trace = json!({
    "traceEvents": events,
    "displayTimeUnit": "ms",
    "otherData": {
      "file": record.file,
      "name": record.name,
      "status": record.status(),
      "exit_code": record.end.as_ref().map(|e| e.exit_code),
    },
  });
  let mut text = serde_json::to_string(&trace).expect("a trace serializes");
  text.push('\n');
  text
}

fn outcome(status: Option<Status>, exit: Option<Exit>) -> (Value, Value, Value) {
  let exit = exit.unwrap_or_default();
  (json!(status.map(Status::as_str)), json!(exit.code), json!(exit.signal))
}

/// A slice's `args`, with where it ran if it was placed.
fn placed(mut args: Value, placed: Option<&Placed>) -> Value {
  if let Some(p) = placed {
    args["slurm_id"] = json!(p.slurm_id);
    args["node"] = json!(p.node);
  }
  args
}

/// Every attempt and every item that ran, in file and finishing order.
fn slices(record: &Record) -> Vec<Slice> {
  let mut slices = Vec::new();
  for node in record.nodes.iter().filter(|n| n.seen) {
    for a in &node.attempts {
      let (status, code, signal) = outcome(a.status, a.exit);
      slices.push(Slice {
        name: node.name.clone(),
        cat: "task",
        start: a.start_us,
        end: a.end_us.unwrap_or(a.start_us).max(a.start_us),
        args: placed(
          json!({
            "task": node.name, "attempt": a.number, "status": status,
            "exit_code": code, "signal": signal,
          }),
          a.placed.as_ref(),
        ),
      });
    }
  }
  for queue in &record.queues {
    for item in queue.items.iter().filter(|i| i.attempts > 0) {
      let consumer = &record.nodes[item.consumer].name;
      let (status, code, signal) = outcome(Some(item.status), Some(item.exit));
      slices.push(Slice {
        name: format!("{consumer}: {}", item.item),
        cat: "item",
        start: item.start_us,
        end: item.end_us.max(item.start_us),
        args: placed(
          json!({
            "consumer": consumer, "queue": queue.name, "item": item.item, "index": item.index,
            "worker": item.worker, "attempts": item.attempts, "status": status,
            "exit_code": code, "signal": signal,
          }),
          item.placed.as_ref(),
        ),
      });
    }
  }
  slices
}

/// A track (from 0) for each `(start, end)` span: the lowest one free at its start, where a
/// track is free again at the end of its last span.
pub(super) fn lanes(spans: &[(u64, u64)]) -> Vec<usize> {
  let mut order: Vec<usize> = (0..spans.len()).collect();
  order.sort_by_key(|&i| spans[i]);
  let mut lanes = vec![0; spans.len()];
  let mut busy: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
  let mut free: BinaryHeap<Reverse<usize>> = BinaryHeap::new();
  let mut next = 0;
  for i in order {
    let (start, end) = spans[i];
    while let Some(&Reverse((until, lane))) = busy.peek() {
      if until > start {
        break;
      }
      busy.pop();
      free.push(Reverse(lane));
    }
    let lane = free.pop().map(|Reverse(l)| l).unwrap_or_else(|| {
      next += 1;
      next - 1
    });
    lanes[i] = lane;
    busy.push(Reverse((end, lane)));
  }
  lanes
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::event::Event;
  use crate::report::files::record::tests::JOB;
  use crate::report::fixtures::{graph, run_finished};

  #[test]
  fn lowest_free_lane() {
    let spans = [(0, 10), (5, 15), (10, 20), (12, 13), (20, 30), (0, 0)];
    assert_eq!(lanes(&spans), [0, 1, 0, 2, 0, 0]);
    assert_eq!(lanes(&[]), Vec::<usize>::new());
  }

  #[test]
  fn lanes_never_overlap() {
    // A deterministic mess of spans: every pair on one lane must be disjoint.
    let spans: Vec<(u64, u64)> =
      (0..200u64).map(|i| ((i * 37) % 101, (i * 37) % 101 + (i * 13) % 17)).collect();
    let lanes = lanes(&spans);
    for a in 0..spans.len() {
      for b in a + 1..spans.len() {
        if lanes[a] == lanes[b] {
          let ((s1, e1), (s2, e2)) = (spans[a], spans[b]);
          assert!(e1 <= s2 || e2 <= s1, "{:?} and {:?} on lane {}", spans[a], spans[b], lanes[a]);
        }
      }
    }
  }

  #[test]
  fn the_format() {
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "a", attempt: 1 }, 100);
    record.event(&Event::TaskStarted { task: "b", attempt: 1 }, 150);
    record.event(&run_finished("succeeded", 0, 1), 400);
    let trace: Value = serde_json::from_str(&render(&record)).unwrap();
    assert_eq!(trace["displayTimeUnit"], "ms");
    let events = trace["traceEvents"].as_array().unwrap();
    let slices: Vec<_> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(slices.len(), 2);
    assert_eq!(slices[0]["name"], "a");
    assert_eq!((slices[0]["ts"].as_u64(), slices[0]["dur"].as_u64()), (Some(100), Some(300)));
    assert_eq!((slices[0]["tid"].as_u64(), slices[1]["tid"].as_u64()), (Some(1), Some(2)));
    let names = events.iter().filter(|e| e["name"] == "thread_name").count();
    assert_eq!(names, 2);
    assert_eq!(slices[0]["args"].get("node"), None, "a local attempt has no node");
  }

  #[test]
  fn placed_slices_name_their_node() {
    use crate::report::files::record::tests::item_finished;
    use crate::report::fixtures::placed;
    use crate::status::Status;
    let mut record = Record::new(&graph(JOB));
    record.event(&Event::TaskStarted { task: "c", attempt: 1 }, 100);
    record.event(&placed("c", 1, None, "7", "n1"), 120);
    record.event(&placed("c", 1, Some("x"), "7.0", "n2"), 150);
    record.event(&item_finished("x", 0, Status::Succeeded), 200);
    record.event(&run_finished("succeeded", 0, 1), 400);
    let trace: Value = serde_json::from_str(&render(&record)).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let args: Vec<_> = events.iter().filter(|e| e["ph"] == "X").map(|e| &e["args"]).collect();
    assert_eq!((&args[0]["slurm_id"], &args[0]["node"]), (&json!("7"), &json!("n1")));
    assert_eq!((&args[1]["slurm_id"], &args[1]["node"]), (&json!("7.0"), &json!("n2")));
  }
}
