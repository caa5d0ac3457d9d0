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
mod served;
pub(crate) mod signal;
pub(crate) mod slurm;
pub(crate) mod spawn;
mod start;
pub(crate) mod stdout;
mod supervise;
pub(crate) mod tree;
pub(crate) mod watch;
pub(crate) mod watchdog;

pub(crate) use launcher::run_id;

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

/// What a run served by `runner serve` has that a local run has not: the tag its processes
/// carry, the pool of `-j` slots it shares with the daemon's other runs, and the daemon's orders.
/// It hears no signal and writes nothing to stdout: the daemon has both.
pub(crate) struct Served {
  pub tag: String,
  pub serial: u64,
  pub slots: std::rc::Rc<std::cell::RefCell<crate::scheduler::slots::Pool>>,
  pub orders: async_channel::Receiver<Order>,
}

/// What a run has around its graph: a watcher's changes (`--watch`), a Slurm backend, a daemon.
struct Around {
  changes: Option<async_channel::Receiver<()>>,
  slurm: Option<slurm::Backend>,
  served: Option<Served>,
}

/// What the daemon tells a run it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
  /// `runner cancel RUN`: the run stops as a SIGTERM stops a local one; a second kills.
  Stop,
  /// `runner cancel RUN TASK`.
  Cancel(NodeId),
}

/// Runs a served run to its end, on the daemon's loop.
pub(crate) async fn serve(
  graph: &Graph,
  targets: &[NodeId],
  policy: Policy,
  reporter: &mut Reporter,
  served: Served,
) -> Outcome {
  let around = Around { changes: None, slurm: None, served: Some(served) };
  event_loop::run(graph, targets, policy, Force::Nothing, reporter, around).await
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
  let around = Around { changes, slurm, served: None };
  reactor::block_on(event_loop::run(graph, targets, policy, force, reporter, around))
}
