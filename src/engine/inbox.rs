//! The loop's one inbox: what the futures the loop spawned (processes, timers, takers) and the
//! signal thread tell it. Facts only; the scheduler decides what they mean.

use crate::event::{Exit, Stream};
use crate::graph::NodeId;
use crate::scheduler::{Proc, Timer};
use async_channel::Sender;
use std::sync::Arc;

/// A message to the event loop.
pub(super) enum Msg {
  /// A line of output, as the process wrote it, with its line end if it had one; `item` names
  /// the queue item a consumer was running.
  Output {
    id: NodeId,
    stream: Stream,
    line: Vec<u8>,
    item: Option<Arc<str>>,
  },
  /// A process ended (an exec that failed ends with 127); `result` is a task's captured stdout,
  /// or the number of items a producer put.
  Exited {
    proc: Proc,
    exit: Exit,
    result: String,
  },
  /// A callback failed: said before its `Exited`.
  CallbackFailed {
    id: NodeId,
    command: String,
    exit: Exit,
  },
  /// A consumer's worker took an item, or found none (the queue closed, or taking stopped).
  Taken {
    id: NodeId,
    worker: u32,
    item: Option<String>,
  },
  /// A Slurm attempt of `proc` runs as job or step `slurm_id` on `node`.
  Placed {
    proc: Proc,
    slurm_id: String,
    node: String,
  },
  Timer(Timer),
  Signal(i32),
  /// A watched source changed (`--watch`).
  Changed,
  /// A served run's turn for a shared slot came.
  Slots,
  /// What the daemon tells a served run.
  Order(super::Order),
  /// Queue `n`'s counters changed and its report is due.
  QueueState(usize),
}

/// The sending end, for the futures the loop spawns.
#[derive(Clone)]
pub(super) struct Inbox(pub Sender<Msg>);

impl Inbox {
  pub(super) async fn send(&self, msg: Msg) {
    // The loop outlives every future that sends; a closed inbox only happens at exit.
    let _ = self.0.send(msg).await;
  }

  /// Posts `msg` after `delay`.
  pub(super) fn after(&self, delay: std::time::Duration, msg: Msg) {
    let inbox = self.clone();
    crate::engine::reactor::spawn_local(async move {
      async_std::task::sleep(delay).await;
      inbox.send(msg).await;
    });
  }
}
