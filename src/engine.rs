//! The engine: carries out the scheduler's orders and reports facts back. One event loop with
//! one inbox: processes, timers, queue takes and signals post messages to it; the loop hands
//! each to the scheduler as an input, performs the actions it returns, and emits events to the
//! reporter. It decides nothing: every timer, retry, timeout and stop is the scheduler's.
//! Runtime calls live here and nowhere else.

mod check;
mod event_loop;
mod inbox;
pub(crate) mod kill;
mod launcher;
mod live;
pub(crate) mod pipes;
mod program;
mod queues;
pub(crate) mod reactor;
pub(crate) mod signal;
pub(crate) mod slurm;
pub(crate) mod spawn;
mod start;
pub(crate) mod stdout;
mod supervise;
pub(crate) mod tree;
pub(crate) mod watch;
pub(crate) mod watchdog;

use crate::graph::{Graph, NodeId};
use crate::report::Reporter;
use crate::scheduler::{Policy, StopReason};
use crate::status::Status;
use crate::uptodate::Force;

/// How the run ended: the final status of every node (None: not selected).
pub(crate) struct Outcome {
  pub failed: bool,
  pub stop: Option<StopReason>,
  pub statuses: Vec<Option<Status>>,
  /// The nodes a callback of which failed, in the order they failed.
  pub callbacks_failed: Vec<NodeId>,
}

/// Runs the selected part of the graph to the end; a message on `changes` (`--watch`) stops it.
pub(crate) fn run(
  graph: &Graph,
  targets: &[NodeId],
  policy: Policy,
  force: Force,
  reporter: &mut Reporter,
  changes: Option<async_channel::Receiver<()>>,
  slurm: Option<slurm::Backend>,
) -> Outcome {
  reactor::block_on(event_loop::run(graph, targets, policy, force, reporter, changes, slurm))
}
