//! What the record keeps of queues: each item's outcome, and the totals and leftovers of each
//! queue when it is done. The first outcomes are kept in memory; later ones go to a temporary
//! file (deleted when closed), one line each, so that the report lists every item in bounded
//! memory.

use super::{Placed, Record};
use crate::event::{Event, Exit};
use crate::graph::NodeId;
use crate::status::Status;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

/// Outcomes kept in memory per queue; later ones are written to the queue's [`Spill`].
pub(in crate::report::files) const ITEMS_KEPT: usize = 10_000;

pub(crate) struct QueueRecord {
  pub name: String,
  pub line: usize,
  /// The first [`ITEMS_KEPT`] outcomes, in finishing order.
  pub items: Vec<ItemRecord>,
  /// The outcomes past those, in a file.
  pub spill: Option<Spill>,
  /// Outcomes that could not be kept (the temporary file failed): counted, not listed.
  pub items_omitted: u64,
  pub totals: Option<QueueTotals>,
  /// Items never taken by a consumer.
  pub left: Vec<String>,
}

pub(crate) struct QueueTotals {
  pub put: u64,
  pub taken: u64,
  pub done: u64,
  pub failed: u64,
  pub cancelled: u64,
  /// How many items were never taken (`left` holds the first of them).
  pub left: u64,
}

pub(crate) struct ItemRecord {
  pub consumer: NodeId,
  /// 1-based, in the order the consumer's items were first seen.
  pub index: u64,
  pub item: String,
  pub worker: u32,
  pub status: Status,
  pub attempts: u32,
  pub exit: Exit,
  pub start_us: u64,
  pub end_us: u64,
  /// Where its last attempt ran.
  pub placed: Option<Placed>,
}

impl Record {
  /// Records an item's outcome; its index.
  pub(super) fn item_finished(&mut self, event: &Event, at: u64) -> Option<u64> {
    let Event::ItemFinished { consumer, queue, item, worker, status, attempts, exit } = event
    else {
      return None;
    };
    let q = *self.queue_ids.get(*queue)?;
    let id = self.id(consumer)?;
    let node = self.seen(id);
    let index = node.running.remove(*item).unwrap_or_else(|| node.next_item());
    let w = *worker as usize;
    if node.worker_free.len() <= w {
      node.worker_free.resize(w + 1, None);
    }
    let start_us = node.worker_free[w].or_else(|| node.start_us()).unwrap_or(at).min(at);
    node.worker_free[w] = Some(at);
    node.failed_items += u64::from(status.is_failure());
    let placed = node.placed_items.remove(*item).filter(|(a, _)| a == attempts).map(|(_, p)| p);
    let queue = &mut self.queues[q];
    let (item, worker, status, attempts, exit) =
      (item.to_string(), *worker, *status, *attempts, *exit);
    let record = ItemRecord {
      consumer: id,
      index,
      item,
      worker,
      status,
      attempts,
      exit,
      start_us,
      end_us: at,
      placed,
    };
    if queue.items.len() < ITEMS_KEPT {
      queue.items.push(record);
    } else if queue.spill(&record).is_err() {
      queue.items_omitted += 1;
    }
    Some(index)
  }

  pub(super) fn queue_finished(&mut self, event: &Event) -> Option<()> {
    let Event::QueueFinished { queue, put, taken, done, failed, cancelled, left, left_total } =
      event
    else {
      return None;
    };
    let q = &mut self.queues[*self.queue_ids.get(*queue)?];
    let (put, taken, done, failed, cancelled) = (*put, *taken, *done, *failed, *cancelled);
    q.totals = Some(QueueTotals { put, taken, done, failed, cancelled, left: *left_total });
    q.left = left.iter().map(|s| s.to_string()).collect();
    Some(())
  }
}

impl Record {
  /// Writes out the outcomes spilled so far: to be called before the report is rendered. An
  /// outcome that cannot be written is counted as omitted.
  pub(in crate::report::files) fn flush_spills(&mut self) {
    for queue in &mut self.queues {
      if let Some(spill) = &mut queue.spill
        && spill.flush().is_err()
      {
        // What did reach the file cannot be told from what did not: none of it is listed.
        queue.items_omitted += spill.lines;
        queue.spill = None;
      }
    }
  }
}

impl QueueRecord {
  fn spill(&mut self, record: &ItemRecord) -> io::Result<()> {
    if self.spill.is_none() {
      self.spill = Some(Spill { out: BufWriter::new(temporary()?), lines: 0 });
    }
    let spill = self.spill.as_mut().expect("opened");
    serde_json::to_writer(&mut spill.out, &Spilled::of(record))?;
    spill.out.write_all(b"\n")?;
    spill.lines += 1;
    Ok(())
  }
}

/// A queue's outcomes past the first [`ITEMS_KEPT`], one JSON line each.
pub(crate) struct Spill {
  out: BufWriter<File>,
  /// How many outcomes it holds.
  lines: u64,
}

impl Spill {
  /// Writes out what is buffered, for [`Spill::read`].
  pub(crate) fn flush(&mut self) -> io::Result<()> {
    self.out.flush()
  }

  /// Reads the outcomes from the first, in the order they were written (once flushed).
  pub(crate) fn read(&self) -> io::Result<impl Iterator<Item = io::Result<ItemRecord>>> {
    let mut file = self.out.get_ref().try_clone()?;
    file.rewind()?;
    let lines = BufReader::new(file).lines();
    Ok(lines.map(|line| Ok(Spilled::parse(&line?)?.record())))
  }
}

/// A file in the temporary folder that no name reaches: gone once closed, even after a crash.
fn temporary() -> io::Result<File> {
  use std::os::unix::fs::OpenOptionsExt;
  let dir = std::env::temp_dir();
  let mut options = std::fs::OpenOptions::new();
  options.read(true).write(true);
  match options.clone().custom_flags(libc::O_TMPFILE).open(&dir) {
    Ok(file) => Ok(file),
    // Without O_TMPFILE: a named file, unlinked at once.
    Err(_) => {
      static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
      let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
      let path = dir.join(format!(".runner-items-{}-{n}", std::process::id()));
      let file = options.create_new(true).open(&path)?;
      std::fs::remove_file(&path)?;
      Ok(file)
    }
  }
}

/// An outcome as a line of its spill: (consumer, index, item, worker, status (its place in
/// [`STATUSES`]), attempts, exit code, exit signal, start, end, (Slurm id, node)).
type Line = (
  NodeId,
  u64,
  String,
  u32,
  usize,
  u32,
  Option<i32>,
  Option<i32>,
  u64,
  u64,
  Option<(String, String)>,
);

/// The statuses an item can end with.
const STATUSES: [Status; 5] =
  [Status::Succeeded, Status::Failed, Status::TimedOut, Status::Cancelled, Status::Skipped];

struct Spilled(Line);

impl Spilled {
  fn of(r: &ItemRecord) -> Line {
    let (code, signal) = (r.exit.code, r.exit.signal);
    let status = STATUSES.iter().position(|&s| s == r.status).unwrap_or(1);
    let (start, end) = (r.start_us, r.end_us);
    let placed = r.placed.as_ref().map(|p| (p.slurm_id.clone(), p.node.clone()));
    let (consumer, index, item, worker, attempts) =
      (r.consumer, r.index, r.item.clone(), r.worker, r.attempts);
    (consumer, index, item, worker, status, attempts, code, signal, start, end, placed)
  }

  fn parse(line: &str) -> io::Result<Self> {
    Ok(Self(serde_json::from_str(line)?))
  }

  fn record(self) -> ItemRecord {
    let (consumer, index, item, worker, status, attempts, code, signal, start_us, end_us, placed) =
      self.0;
    let (exit, status) = (Exit { code, signal }, STATUSES.get(status).copied());
    let status = status.unwrap_or(Status::Failed);
    let placed = placed.map(|(slurm_id, node)| Placed { slurm_id, node });
    ItemRecord { consumer, index, item, worker, status, attempts, exit, start_us, end_us, placed }
  }
}
