//! The one event loop of a run. Processes, timers, queues and signals post messages to one
//! inbox; the loop hands each to the scheduler, performs the actions it returns, and emits
//! events to the reporter. Runtime calls live here and in `reactor.rs` (which drives the loop),
//! `runtime.rs`, `process.rs`, `queue.rs` and `signal.rs`.

use crate::env;
use crate::event::{Event, Exit, Stream};
use crate::graph::{Graph, NodeId, Program};
use crate::process::{self, Ends, Launch, Launcher};
use crate::queue::{self, Consumer, Queue};
use crate::report::Reporter;
use crate::runtime::{ItemOutcome, Msg, Shared, Sink, supervise};
use crate::scheduler::{Action, Input, Scheduler, StopReason, Timer};
use crate::status::Status;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

pub struct Options {
  pub jobs: usize,
  pub fail_fast: bool,
  pub timeout: Option<Duration>,
  pub kill_grace: Duration,
}

/// How the run ended: the final status of every node (None: not selected).
pub struct Outcome {
  pub failed: bool,
  pub stop: Option<StopReason>,
  pub statuses: Vec<Option<Status>>,
}

/// Runs the selected part of the graph to the end.
pub fn run(
  graph: &Graph,
  targets: &[NodeId],
  options: &Options,
  reporter: &mut Reporter,
) -> Outcome {
  crate::reactor::block_on(run_loop(graph, targets, options, reporter))
}

async fn run_loop(
  graph: &Graph,
  targets: &[NodeId],
  options: &Options,
  reporter: &mut Reporter,
) -> Outcome {
  let (tx, rx) = async_channel::bounded(4096);
  let shared = Rc::new(Shared {
    pids: RefCell::new(vec![0; graph.nodes.len()]),
    live: RefCell::new(Default::default()),
    launcher: RefCell::new(Launcher::new()),
    tx: tx.clone(),
    kill_grace: options.kill_grace,
    buffers: RefCell::default(),
    stopped: RefCell::default(),
    callbacks: RefCell::default(),
    halted: std::cell::Cell::new(false),
  });
  crate::signal::forward(tx.clone(), Msg::Signal);
  if let Some(limit) = options.timeout {
    after(&shared, limit, Msg::RunTimeout);
  }
  let mut scheduler = Scheduler::new(graph, targets, options.jobs, options.fail_fast);
  let queues = queue::open(graph, |id| scheduler.is_selected(id));
  let mut runner = Loop {
    graph,
    shared,
    queues,
    consumers: vec![None; graph.nodes.len()],
    scheduler: &mut scheduler,
    reporter,
    started: vec![None; graph.nodes.len()],
    exits: vec![Exit::default(); graph.nodes.len()],
    returned: vec![false; graph.nodes.len()],
    signals: 0,
    fail_fast: options.fail_fast,
    dir: absolute(&graph.dir),
  };
  let file = graph.source.name();
  let tasks = (0..graph.nodes.len())
    .filter(|&id| graph.task(id).is_some() && runner.scheduler.is_selected(id))
    .count();
  let name = graph.name.as_deref();
  runner.reporter.event(&Event::RunStarted { name, file: &file, tasks, jobs: options.jobs });
  let mut actions = Vec::new();
  runner.scheduler.handle(Input::Start, &mut actions);
  let mut done = runner.perform(&mut actions);
  loop {
    runner.reporter.flush();
    // Nothing is waiting: the time for what need not sit between one task's exit and the next
    // task's start. Tasks are started with their write ends closed here (`Ends::Later`).
    runner.shared.launcher.borrow_mut().tidy();
    if done {
      break;
    }
    let Ok(msg) = rx.recv().await else { break };
    done = runner.receive(msg, &mut actions);
    // Drain what is already waiting before flushing output: one write per batch.
    while !done {
      let Ok(msg) = rx.try_recv() else { break };
      done = runner.receive(msg, &mut actions);
    }
  }
  runner.kill_all();
  runner.queues_finished();
  runner.outcome()
}

fn absolute(dir: &Path) -> PathBuf {
  std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Posts `msg` to the loop after `delay`.
fn after(shared: &Rc<Shared>, delay: Duration, msg: Msg) {
  let shared = shared.clone();
  crate::reactor::spawn_local(async move {
    async_std::task::sleep(delay).await;
    shared.send(msg).await;
  });
}

struct Loop<'a, 'g> {
  graph: &'g Graph,
  shared: Rc<Shared>,
  queues: Rc<Vec<Rc<Queue>>>,
  /// The control of each running consumer.
  consumers: Vec<Option<Rc<queue::Control>>>,
  scheduler: &'a mut Scheduler<'g>,
  reporter: &'a mut Reporter,
  started: Vec<Option<Instant>>,
  exits: Vec<Exit>,
  /// Groups that have returned (and said so).
  returned: Vec<bool>,
  signals: u32,
  fail_fast: bool,
  dir: PathBuf,
}

impl<'g> Loop<'_, 'g> {
  fn outcome(&self) -> Outcome {
    let statuses = (0..self.graph.nodes.len())
      .map(|id| self.scheduler.is_selected(id).then(|| self.scheduler.status(id)))
      .collect();
    Outcome { failed: self.scheduler.run_failed(), stop: self.scheduler.stop_reason(), statuses }
  }

  fn name(&self, id: NodeId) -> &'g str {
    let graph: &'g Graph = self.graph;
    &graph.nodes[id].name
  }

  /// Handles one message; true when the run is over.
  fn receive(&mut self, msg: Msg, actions: &mut Vec<Action>) -> bool {
    let input = match msg {
      Msg::Output { id, stream, line, item } => {
        let item = item.as_deref();
        self.reporter.event(&Event::Output { task: self.name(id), stream, line: &line, item });
        return false;
      }
      Msg::CallbackFailed { id, command, exit } => {
        self.reporter.event(&Event::CallbackFailed {
          task: self.name(id),
          command: &command,
          exit,
        });
        return false;
      }
      Msg::Item(outcome) => {
        self.item_finished(&outcome);
        // With --fail-fast a failed item stops the run like a failed task.
        if !(self.fail_fast && outcome.status.is_failure()) {
          return false;
        }
        Input::Stop(StopReason::FailFast)
      }
      Msg::Exited { id, status, exit, result } => {
        self.exits[id] = exit;
        self.consumers[id] = None;
        Input::Exited { id, status, result }
      }
      Msg::Unstarted { id, error } => {
        let program = self.graph.task(id).and_then(|t| t.run.as_ref());
        let name = program.map_or("", |p| p.argv[0].as_str());
        let line = format!("cannot start `{name}`: {error}");
        let task = self.name(id);
        self.reporter.event(&Event::Output {
          task,
          stream: Stream::Stderr,
          line: &line,
          item: None,
        });
        self.exits[id] = Exit { code: Some(127), signal: None };
        Input::Exited { id, status: Status::Failed, result: String::new() }
      }
      Msg::Timer(id, timer) => Input::TimerFired(id, timer),
      Msg::CallbacksDone { id, ok } => Input::CallbacksDone { id, ok },
      Msg::Signal(signal) => {
        self.signals += 1;
        if self.signals > 1 {
          // A second signal: no more grace.
          self.kill_all();
        }
        self.halt_callbacks();
        Input::Stop(StopReason::Signal(signal))
      }
      Msg::RunTimeout => {
        self.halt_callbacks();
        Input::Stop(StopReason::Timeout)
      }
    };
    self.scheduler.handle(input, actions);
    self.perform(actions)
  }

  /// Performs the scheduler's actions; true when the run is over.
  fn perform(&mut self, actions: &mut Vec<Action>) -> bool {
    let mut done = false;
    for action in actions.drain(..) {
      match action {
        Action::Spawn { id, attempt } => self.spawn(id, attempt),
        Action::StartTimer { id, after: delay, timer } => {
          // A pure timer (a delay and no `run`) lasts as long as its delay.
          if timer == Timer::Delay && self.graph.task(id).is_some_and(|t| t.run.is_none()) {
            self.mark_started(id);
          }
          after(&self.shared, delay, Msg::Timer(id, timer));
        }
        Action::Terminate { id } => self.terminate(id),
        Action::RunCallbacks { id, status } => self.callbacks(id, status),
        Action::Retrying { id, attempt, status } => {
          let exit = self.exits[id];
          let task = self.name(id);
          self.reporter.event(&Event::TaskRetrying { task, attempt, status, exit });
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

  /// A node starts with its first attempt; a group with its first member.
  fn mark_started(&mut self, id: NodeId) {
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
    if let Some(task) = self.graph.task(id) {
      if let Some(q) = task.produces {
        self.queues[q].producer_finished();
      }
      if let Some(q) = task.consumes {
        self.queues[q].consumer_finished();
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

  /// Reports what the runner has to say about a node's command (a value cut to fit, say) as
  /// output of the node on `stream`.
  fn warn(&mut self, id: NodeId, stream: Stream, lines: &[String]) {
    for line in lines {
      self.reporter.event(&Event::Output { task: self.name(id), stream, line, item: None });
    }
  }

  fn cwd(&self, id: NodeId) -> PathBuf {
    match self.graph.task(id) {
      Some(task) if task.cwd != self.graph.dir => absolute(&task.cwd),
      _ => self.dir.clone(),
    }
  }

  fn spawn(&mut self, id: NodeId, attempt: u32) {
    let graph = self.graph;
    let task = graph.task(id).expect("only tasks are spawned");
    let program = task.run.as_ref().expect("the scheduler runs only tasks with a command");
    if attempt == 1 {
      self.mark_started(id);
    }
    self.reporter.event(&Event::TaskStarted { task: self.name(id), attempt });
    let (env, warnings) = env::task(graph, id, attempt, |n| self.scheduler.result(n).unwrap_or(""));
    self.warn(id, Stream::Stderr, &warnings);
    let cwd = self.cwd(id);
    if let Some(queue) = task.consumes {
      let consumer = Consumer {
        id,
        queue,
        program: program.clone(),
        env,
        cwd,
        workers: task.workers,
        retries: task.retries,
        retry_delay: task.retry_delay,
        timeout: task.timeout,
        produces: task.produces.map(|q| self.queues[q].clone()),
      };
      self.consumers[id] = Some(queue::start(self.shared.clone(), self.queues.clone(), consumer));
      return;
    }
    // A producer's result is the number of items it put.
    let mine = Rc::new(std::cell::Cell::new(0u64));
    let stdout = match task.produces {
      Some(q) => Sink::Queue(self.queues[q].clone(), mine.clone()),
      None => Sink::Report(id, Stream::Stdout, None),
    };
    let ends = if self.scheduler.slots_to_spare() { Ends::Hold } else { Ends::Later };
    let launch = Launch { program, env: &env, cwd: &cwd, ends };
    let shared = self.shared.clone();
    let (timeout, capture) = (task.timeout, task.produces.is_none());
    let started = self.shared.spawn(&launch);
    if let Ok(child) = &started {
      self.shared.pids.borrow_mut()[id] = child.pid;
    }
    crate::reactor::spawn_local(async move {
      let ran = match started {
        Ok(child) => {
          let sinks = (stdout, Sink::Report(id, Stream::Stderr, None));
          let ran = supervise(&shared, child, timeout, sinks, capture).await;
          shared.pids.borrow_mut()[id] = 0;
          ran
        }
        Err(err) => Err(err),
      };
      let msg = match ran {
        Ok(ran) => {
          let result = if capture { ran.captured } else { mine.get().to_string() };
          Msg::Exited { id, status: ran.status, exit: ran.exit, result }
        }
        Err(error) => Msg::Unstarted { id, error },
      };
      shared.send(msg).await;
    });
  }

  fn item_finished(&mut self, outcome: &ItemOutcome) {
    let graph = self.graph;
    let q =
      graph.task(outcome.consumer).and_then(|t| t.consumes).expect("items come from consumers");
    let queue = &self.queues[q];
    self.reporter.event(&Event::ItemFinished {
      consumer: self.name(outcome.consumer),
      queue: &graph.queues[q].name,
      item: &outcome.item,
      worker: outcome.worker,
      status: outcome.status,
      attempts: outcome.attempts,
      exit: outcome.exit,
    });
    self.reporter.event(&Event::QueueState {
      queue: &graph.queues[q].name,
      depth: queue.depth(),
      put: queue.put.get(),
      taken: queue.taken.get(),
      done: queue.done.get(),
      failed: queue.failed.get(),
    });
  }

  /// Reports, per queue, what became of its items; items never taken are listed.
  fn queues_finished(&mut self) {
    for (q, queue) in self.queues.iter().enumerate() {
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

  fn callbacks(&mut self, id: NodeId, status: Status) {
    let node = &self.graph.nodes[id];
    let first: &[Program] = match status {
      Status::Succeeded => &node.callbacks.on_success,
      Status::Failed | Status::TimedOut => &node.callbacks.on_failure,
      _ => &[],
    };
    let programs: Vec<Program> = first.iter().chain(&node.callbacks.on_done).cloned().collect();
    let result = self.scheduler.result(id).unwrap_or("");
    let (env, warnings) = env::callback(self.graph, id, status, result);
    self.warn(id, Stream::Callback, &warnings);
    let cwd = self.cwd(id);
    let shared = self.shared.clone();
    crate::reactor::spawn_local(async move {
      let mut ok = true;
      for program in programs {
        if shared.halted.get() {
          break;
        }
        ok &= run_callback(&shared, id, &program, &env, &cwd).await;
      }
      shared.send(Msg::CallbacksDone { id, ok }).await;
    });
  }

  /// After a signal or `--timeout`: no callback starts any more, and running ones get SIGTERM
  /// now, SIGKILL after the grace period.
  fn halt_callbacks(&mut self) {
    if self.shared.halted.replace(true) {
      return;
    }
    let running: Vec<i32> = self.shared.callbacks.borrow().iter().copied().collect();
    for pid in running {
      stop(&self.shared, pid, move |shared| shared.callbacks.borrow().contains(&pid));
    }
  }

  /// SIGTERM to a running task's group (or a consumer's running items) now, SIGKILL after the
  /// grace period for those still there.
  fn terminate(&mut self, id: NodeId) {
    let groups = match &self.consumers[id] {
      Some(control) => control.cancel(),
      None => vec![self.shared.pids.borrow()[id]],
    };
    for pid in groups.into_iter().filter(|&pid| pid != 0) {
      let control = self.consumers[id].clone();
      stop(&self.shared, pid, move |shared| match &control {
        Some(control) => control.is_running(pid),
        None => shared.pids.borrow()[id] == pid,
      });
    }
  }

  /// Kills every live task, item and callback at once, with their descendants in other groups.
  fn kill_all(&self) {
    let live = self.shared.live.borrow();
    if !live.is_empty() {
      // Before the groups: the descendants are found through the groups' leaders.
      process::signal_descendants(|leader| live.contains(&leader), libc::SIGKILL);
    }
    for &pid in live.iter() {
      process::signal_group(pid, libc::SIGKILL);
    }
  }
}

/// Stops the task (or item, or callback) led by `pid`: SIGTERM now, and SIGKILL after the
/// grace period if `running` says it is still there. Its output is not waited for once it has
/// exited (see [`supervise`]).
fn stop(shared: &Rc<Shared>, pid: i32, running: impl Fn(&Shared) -> bool + 'static) {
  shared.stopped.borrow_mut().insert(pid);
  process::signal_task(pid, libc::SIGTERM);
  let shared = shared.clone();
  crate::reactor::spawn_local(async move {
    async_std::task::sleep(shared.kill_grace).await;
    if running(&shared) {
      process::signal_task(pid, libc::SIGKILL);
    }
  });
}

async fn run_callback(
  shared: &Shared,
  id: NodeId,
  program: &Program,
  env: &[(String, String)],
  cwd: &Path,
) -> bool {
  let launch = Launch { program, env, cwd, ends: Ends::Close };
  let command = program.script.clone().unwrap_or_else(|| program.argv.join(" "));
  let ran = match shared.spawn(&launch) {
    Ok(child) => {
      let pid = child.pid;
      shared.callbacks.borrow_mut().insert(pid);
      let sinks =
        (Sink::Report(id, Stream::Callback, None), Sink::Report(id, Stream::Callback, None));
      let ran = supervise(shared, child, None, sinks, false).await;
      shared.callbacks.borrow_mut().remove(&pid);
      ran
    }
    Err(err) => Err(err),
  };
  let exit = match ran {
    Ok(ran) => ran.exit,
    Err(err) => {
      let line = format!("cannot start callback `{command}`: {err}");
      shared.send(Msg::Output { id, stream: Stream::Callback, line, item: None }).await;
      Exit { code: Some(127), signal: None }
    }
  };
  let ok = exit.code == Some(0);
  if !ok {
    shared.send(Msg::CallbackFailed { id, command, exit }).await;
  }
  ok
}
