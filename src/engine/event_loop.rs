//! The loop: takes each message from the inbox, hands the facts to the scheduler as inputs,
//! performs the actions it returns, and reports events. It decides nothing itself.

use super::Outcome;
use super::check::Checks;
use super::inbox::{Inbox, Msg};
use super::launcher::Stop;
use super::live::Shared;
use super::queues::{self, Consumer, Queue};
use crate::event::{Event, Exit};
use crate::graph::{Graph, NodeId};
use crate::report::Reporter;
use crate::scheduler::{Action, Input, Policy, Proc, Running, Scheduler, StopReason, Timer};
use crate::status::Status;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

pub(super) async fn run(
  graph: &Graph,
  targets: &[NodeId],
  policy: Policy,
  force: crate::uptodate::Force,
  reporter: &mut Reporter,
  around: super::Around,
) -> Outcome {
  let super::Around { changes, slurm, served } = around;
  // The loop drains what is waiting before it flushes: a small inbox is enough, and a large
  // one costs its pages at start-up (72 bytes a slot).
  let (tx, rx) = async_channel::bounded(256);
  let inbox = Inbox(tx);
  let mut scheduler = Scheduler::new(graph, targets, policy);
  let tag = match served {
    Some(served) => Some(super::served::forward(served, &inbox, &mut scheduler)),
    None => {
      super::signal::forward(inbox.0.clone(), Msg::Signal);
      super::stdout::forward(inbox.0.clone(), Msg::Signal);
      None
    }
  };
  if let Some(changes) = changes {
    super::watch::forward(changes, inbox.clone());
  }
  let queues = queues::open(graph, |id| scheduler.is_selected(id), &inbox);
  let mut engine = Loop {
    graph,
    shared: Shared::rc(inbox, slurm, tag),
    queues,
    consumers: HashMap::new(),
    scheduler: &mut scheduler,
    reporter,
    started: vec![None; graph.nodes.len()],
    exits: vec![Exit::default(); graph.nodes.len()],
    item_exits: HashMap::new(),
    attempts: HashMap::new(),
    returned: vec![false; graph.nodes.len()],
    jobs: policy.jobs,
    kill_grace: policy.kill_grace,
    terminate: Vec::new(),
    kill: Vec::new(),
    dir: std::path::absolute(&graph.dir).unwrap_or_else(|_| graph.dir.clone()),
    checks: Checks::new(crate::uptodate::Store::new(&graph.source.path, &graph.dir), force),
  };
  engine.run_started();
  let mut actions = Vec::new();
  engine.scheduler.handle(Input::Start, &mut actions);
  let mut done = engine.perform(&mut actions);
  loop {
    engine.signal();
    engine.reporter.flush();
    // Nothing is waiting: the time for what need not sit between one task's exit and the next
    // task's start. Tasks are started with their write ends closed here (`Ends::Later`).
    engine.shared.launcher.borrow_mut().tidy();
    if done {
      break;
    }
    let Ok(msg) = rx.recv().await else { break };
    done = engine.receive(msg, &mut actions);
    // Drain what is already waiting before flushing output: one write per batch.
    while !done {
      let Ok(msg) = rx.try_recv() else { break };
      done = engine.receive(msg, &mut actions);
    }
  }
  // What tasks left running (a daemon that left its group, nothing else unless the inbox
  // closed) goes with the run: asked to end, then killed after the grace.
  engine.shared.end(policy.kill_grace).await;
  if let Some(calls) = engine.shared.slurm_calls() {
    engine.reporter.event(&Event::Slurm(calls));
  }
  engine.queues_finished();
  engine.outcome()
}

pub(super) struct Loop<'a, 'g> {
  pub(super) graph: &'g Graph,
  pub(super) shared: Rc<Shared>,
  pub(super) queues: Rc<Vec<Rc<Queue>>>,
  /// What each running consumer's items need.
  pub(super) consumers: HashMap<NodeId, Rc<Consumer>>,
  pub(super) scheduler: &'a mut Scheduler<'g>,
  pub(super) reporter: &'a mut Reporter,
  pub(super) started: Vec<Option<Instant>>,
  /// How each task's last process ended, and each worker's last item attempt.
  exits: Vec<Exit>,
  item_exits: HashMap<(NodeId, u32), Exit>,
  /// The attempt number each process runs, for where Slurm placed it.
  pub(super) attempts: HashMap<Proc, u32>,
  /// Groups that have returned (and said so).
  returned: Vec<bool>,
  pub(super) jobs: usize,
  kill_grace: std::time::Duration,
  /// The attempts to terminate and to kill, gathered over a batch of messages.
  terminate: Vec<(Proc, u64)>,
  kill: Vec<(Proc, u64)>,
  pub(super) dir: PathBuf,
  pub(super) checks: Checks,
}

impl<'g> Loop<'_, 'g> {
  fn outcome(&self) -> Outcome {
    let statuses = (0..self.graph.nodes.len())
      .map(|id| self.scheduler.is_selected(id).then(|| self.scheduler.status(id)))
      .collect();
    let (failed, stop) = (self.scheduler.run_failed(), self.scheduler.stop_reason());
    let callbacks_failed = self.scheduler.callbacks_failed().to_vec();
    Outcome { failed, stop, statuses, callbacks_failed }
  }

  pub(super) fn name(&self, id: NodeId) -> &'g str {
    let graph: &'g Graph = self.graph;
    &graph.nodes[id].name
  }

  fn run_started(&mut self) {
    let graph = self.graph;
    let file = graph.source.name();
    let tasks = (0..graph.nodes.len())
      .filter(|&id| graph.task(id).is_some() && self.scheduler.is_selected(id))
      .count();
    let (name, jobs) = (graph.name.as_deref(), self.jobs);
    self.reporter.event(&Event::RunStarted { name, file: &file, tasks, jobs });
  }

  /// Handles one message; true when the run is over.
  fn receive(&mut self, msg: Msg, actions: &mut Vec<Action>) -> bool {
    let input = match msg {
      Msg::Output { id, stream, line, item } => {
        let (item, raw) = (item.as_deref(), Some(line.as_slice()));
        let text = crate::event::text(&line);
        self.reporter.event(&Event::Output { task: self.name(id), stream, line: &text, item, raw });
        return false;
      }
      Msg::CallbackFailed { id, command, exit } => {
        let task = self.name(id);
        self.reporter.event(&Event::CallbackFailed { task, command: &command, exit });
        return false;
      }
      Msg::Exited { proc, exit, result } => {
        match proc {
          Proc::Task(id) => {
            self.exits[id] = exit;
            self.checks.ran(id, &result);
          }
          Proc::Item(id, worker) => drop(self.item_exits.insert((id, worker), exit)),
          Proc::Callback(_) => {}
        }
        Input::Exited { proc, success: exit.code == Some(0), result }
      }
      Msg::Taken { id, worker, item } => {
        if item.is_some() {
          self.queue_of(id).count_taken();
        }
        Input::Taken { id, worker, item }
      }
      Msg::QueueState(q) => {
        self.queue_state(q);
        return false;
      }
      Msg::Placed { proc, slurm_id, node } => {
        self.placed(proc, &slurm_id, &node);
        return false;
      }
      Msg::Timer(timer) => Input::TimerFired(timer),
      Msg::Signal(super::signal::SUSPEND) => {
        self.suspend();
        return false;
      }
      Msg::Signal(signal) => Input::Signal(signal),
      Msg::Changed => Input::Changed,
      Msg::Slots => Input::Slots,
      Msg::Order(super::Order::Stop) => Input::CancelRun,
      Msg::Order(super::Order::Cancel(id)) => Input::Cancel(id),
    };
    self.scheduler.handle(input, actions);
    self.perform(actions)
  }

  /// Performs the scheduler's actions, and hands it the answers of the up-to-date checks they
  /// asked for (and performs what those set off, in turn); true when the run is over.
  fn perform(&mut self, actions: &mut Vec<Action>) -> bool {
    let mut done = self.perform_batch(actions);
    while let Some((id, fresh)) = self.checks.answers.pop_front() {
      self.scheduler.handle(Input::Checked { id, fresh }, actions);
      done |= self.perform_batch(actions);
    }
    done
  }

  /// Performs one batch of the scheduler's actions; true when the run is over. Signals go out
  /// once per batch of messages, so that stopping many processes costs one look at /proc.
  fn perform_batch(&mut self, actions: &mut Vec<Action>) -> bool {
    let mut done = false;
    for action in actions.drain(..) {
      match action {
        Action::Spawn { id, attempt, waiting } => self.start_task(id, attempt, waiting),
        Action::Check { id } => self.check(id),
        Action::SpawnItem { id, worker, attempt } => self.start_item(id, worker, attempt),
        Action::RunCallback { id, status, index } => self.start_callback(id, status, index),
        Action::Take { id, worker } => self.take(id, worker),
        Action::StopTaking { id } => {
          if let Some(consumer) = self.consumers.get(&id) {
            consumer.stop_taking();
          }
        }
        Action::StartTimer { after, timer } => self.start_timer(after, timer),
        Action::Terminate { proc, seq } => self.terminate.push((proc, seq)),
        Action::Kill { proc, seq } => self.kill.push((proc, seq)),
        Action::KillAll => drop(self.shared.signal_everything(Stop::Forced)),
        Action::Stopping { reason, running, killed } => self.stopping(reason, running, killed),
        Action::Retrying { id, attempt, status } => {
          let (task, exit) = (self.name(id), self.exits[id]);
          self.reporter.event(&Event::TaskRetrying { task, attempt, status, exit });
        }
        Action::ItemFinished { id, worker, item, status, attempts } => {
          self.item_finished(id, worker, &item, status, attempts)
        }
        Action::GroupReturned { id, decision } => {
          self.returned[id] = true;
          let members = &self.graph.group(id).expect("a group").members;
          let names = |list: &[usize]| list.iter().map(|&i| self.name(members[i])).collect();
          self.reporter.event(&Event::GroupFinished {
            group: self.name(id),
            status: decision.status,
            done: names(&decision.done),
            pending: names(&decision.pending),
            timed_out: decision.timed_out,
            duration_ms: self.elapsed_ms(id),
          });
        }
        Action::Finished { id, status } => self.finished(id, status),
        Action::Done => done = true,
      }
    }
    done
  }

  /// Says where Slurm runs an attempt of a task or of a queue item (not of a callback).
  fn placed(&mut self, proc: Proc, slurm_id: &str, node: &str) {
    let (id, item) = match proc {
      Proc::Task(id) => (id, None),
      Proc::Item(id, worker) => (id, self.scheduler.item(id, worker)),
      Proc::Callback(_) => return,
    };
    let attempt = self.attempts.get(&proc).copied().unwrap_or(1);
    let task = self.name(id);
    self.reporter.event(&Event::Placed { task, attempt, item, slurm_id, node });
  }

  /// Sends the signals the batch of messages just handled asked for: many processes stopped at
  /// once cost one look at /proc.
  fn signal(&mut self) {
    self.shared.terminate(&std::mem::take(&mut self.terminate));
    self.shared.kill(&std::mem::take(&mut self.kill));
  }

  /// Ctrl-Z: every process of the run stops (SIGSTOP, which no task can ignore), then the
  /// runner; when the runner is continued, so are they. Job control, not a stop: the scheduler
  /// is not told, and its timers keep to wall-clock time, the time stopped included.
  fn suspend(&mut self) {
    self.reporter.flush();
    self.shared.signal_everything(Stop::Suspend);
    super::signal::stop_self();
    self.shared.signal_everything(Stop::Resume);
  }

  /// Says what an early stop stops, before it is stopped.
  fn stopping(&mut self, reason: StopReason, running: Running, killed: bool) {
    let (reason, signal) = match reason {
      StopReason::Signal(signal) => ("signal", Some(signal)),
      StopReason::Timeout => ("timeout", None),
      StopReason::FailFast => ("fail_fast", None),
      StopReason::Changed => ("sources_changed", None),
      StopReason::Cancelled => ("cancelled", None),
    };
    let Running { tasks, items, callbacks } = running;
    let kill_grace_ms = self.kill_grace.as_millis() as u64;
    self.reporter.event(&Event::Stopping {
      reason,
      signal,
      tasks,
      items,
      callbacks,
      kill_grace_ms,
      killed,
    });
    // Said at once: what follows may take the whole kill grace.
    self.reporter.flush();
  }

  fn start_timer(&mut self, after: std::time::Duration, timer: Timer) {
    // A pure timer (a delay and no `run`) lasts as long as its delay.
    if let Timer::Delay(id) = timer
      && self.graph.task(id).is_some_and(|t| t.run.is_none())
    {
      self.mark_started(id);
    }
    self.shared.inbox.after(after, Msg::Timer(timer));
  }

  /// A node starts with its first attempt; a group with its first member.
  pub(super) fn mark_started(&mut self, id: NodeId) {
    if self.started[id].is_some() {
      return;
    }
    self.started[id] = Some(Instant::now());
    for &group in &self.graph.nodes[id].groups {
      self.mark_started(group);
    }
  }

  fn elapsed_ms(&self, id: NodeId) -> u64 {
    self.started[id].map_or(0, |t| t.elapsed().as_millis() as u64)
  }

  fn finished(&mut self, id: NodeId, status: Status) {
    self.record(id, status);
    if let Some(task) = self.graph.task(id) {
      if let Some(q) = task.produces {
        self.queues[q].producer_finished();
      }
      if let Some(q) = task.consumes {
        self.queues[q].consumer_finished();
        self.consumers.remove(&id);
      }
      self.reporter.event(&Event::TaskFinished {
        task: self.name(id),
        status,
        attempts: self.scheduler.attempts(id),
        duration_ms: self.elapsed_ms(id),
        exit: self.exits[id],
      });
      return;
    }
    let settled = matches!(status, Status::Cancelled | Status::Skipped) && !self.returned[id];
    if let (Some(group), true) = (self.graph.group(id), settled) {
      // A group settled before it returned: say so, with every member still pending.
      let pending = group.members.iter().map(|&m| self.name(m)).collect();
      self.reporter.event(&Event::GroupFinished {
        group: self.name(id),
        status,
        done: Vec::new(),
        pending,
        timed_out: false,
        duration_ms: self.elapsed_ms(id),
      });
    }
  }

  /// The queue a consumer takes from.
  fn queue_id(&self, consumer: NodeId) -> usize {
    self.graph.task(consumer).and_then(|t| t.consumes).expect("items come from consumers")
  }

  fn queue_of(&self, consumer: NodeId) -> &Rc<Queue> {
    &self.queues[self.queue_id(consumer)]
  }

  fn item_finished(&mut self, id: NodeId, worker: u32, item: &str, status: Status, attempts: u32) {
    let graph: &Graph = self.graph;
    let q = self.queue_id(id);
    self.queues[q].count_finished(status);
    let exit = self.item_exits.remove(&(id, worker)).unwrap_or_default();
    let (consumer, queue) = (self.name(id), graph.queues[q].name.as_str());
    let event = Event::ItemFinished { consumer, queue, item, worker, status, attempts, exit };
    self.reporter.event(&event);
  }

  /// Reports queue `q`'s counters, if they changed since the last report.
  fn queue_state(&mut self, q: usize) {
    let queue = &self.queues[q];
    if !queue.report() {
      return;
    }
    self.reporter.event(&Event::QueueState {
      queue: &self.graph.queues[q].name,
      depth: queue.depth(),
      put: queue.put.get(),
      taken: queue.taken.get(),
      in_progress: queue.in_progress(),
      done: queue.done.get(),
      failed: queue.failed.get(),
    });
  }

  /// Reports, per queue, what became of its items; items never taken are listed.
  fn queues_finished(&mut self) {
    for q in 0..self.queues.len() {
      // The last state, if a report of it was still to come.
      self.queue_state(q);
      let queue = &self.queues[q];
      let (left, left_total) = queue.left();
      self.reporter.event(&Event::QueueFinished {
        queue: &self.graph.queues[q].name,
        put: queue.put.get(),
        taken: queue.taken.get(),
        done: queue.done.get(),
        failed: queue.failed.get(),
        cancelled: queue.cancelled.get(),
        left: left.iter().map(String::as_str).collect(),
        left_total,
      });
    }
    self.reporter.flush();
  }
}
