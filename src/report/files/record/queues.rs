//! What the record keeps of queues: each item's outcome (up to a bound), and the totals and
//! leftovers of each queue when it is done.

use super::Record;
use crate::event::{Event, Exit};
use crate::graph::NodeId;
use crate::status::Status;

/// Outcomes kept per queue; later ones are only counted.
pub(super) const ITEMS_KEPT: usize = 10_000;

pub(crate) struct QueueRecord {
  pub name: String,
  pub line: usize,
  /// The first [`ITEMS_KEPT`] outcomes, in finishing order.
  pub items: Vec<ItemRecord>,
  /// Outcomes past those.
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
    let queue = &mut self.queues[q];
    if queue.items.len() >= ITEMS_KEPT {
      queue.items_omitted += 1;
      return Some(index);
    }
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
    };
    queue.items.push(record);
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
