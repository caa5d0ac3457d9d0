//! Starting what the scheduler orders: a task's attempt, a consumer (its workers' takes), an
//! item's attempt and a callback. Each process's future supervises it and posts its exit.

use super::event_loop::Loop;
use super::inbox::{Inbox, Msg};
use super::launcher::{Ends, Launch};
use super::live::{Shared, Started};
use super::queues::Consumer;
use super::reactor::spawn_local;
use super::spawn::describe;
use super::supervise::{Sink, Supervised, follow, supervise};
use crate::env::{self, Env};
use crate::event::{Event, Exit, Stream};
use crate::graph::{NodeId, Program, Slurm};
use crate::scheduler::Proc;
use crate::status::Status;
use crate::uptodate;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// An exec that failed, or no process that could be made: said as the process's own output,
/// and an exit of 127, as a shell reports a command it cannot run.
async fn unstarted(
  inbox: &Inbox,
  id: NodeId,
  stream: Stream,
  line: String,
  item: Option<Arc<str>>,
) -> Exit {
  let line = format!("{line}\n").into_bytes();
  inbox.send(Msg::Output { id, stream, line, item }).await;
  Exit { code: Some(127), signal: None }
}

impl Loop<'_, '_> {
  /// Reports what the runner has to say about a node's command (a value cut to fit, say) as
  /// output of the node on `stream`.
  pub(super) fn warn(&mut self, id: NodeId, stream: Stream, lines: &[String], item: Option<&str>) {
    for line in lines {
      self.reporter.event(&Event::Output { task: self.name(id), stream, line, item, raw: None });
    }
  }

  pub(super) fn cwd(&self, id: NodeId) -> PathBuf {
    match self.graph.task(id) {
      Some(task) if task.cwd != self.graph.dir => {
        std::path::absolute(&task.cwd).unwrap_or_else(|_| task.cwd.clone())
      }
      _ => self.dir.clone(),
    }
  }

  pub(super) fn start_task(&mut self, id: NodeId, attempt: u32, waiting: usize) {
    let graph = self.graph;
    let task = graph.task(id).expect("only tasks are spawned");
    let program = task.run.as_ref().expect("the scheduler runs only tasks with a command");
    if attempt == 1 {
      self.mark_started(id);
    }
    self.reporter.event(&Event::TaskStarted { task: self.name(id), attempt });
    let (env, warnings) = env::task(graph, id, attempt, |n| self.scheduler.result(n).unwrap_or(""));
    self.warn(id, Stream::Stderr, &warnings, None);
    let cwd = self.cwd(id);
    if let Some(q) = task.consumes {
      let queue = self.queues[q].clone();
      let produces = task.produces.map(|q| self.queues[q].clone());
      self.consumers.insert(id, Rc::new(Consumer::new(queue, env, cwd, produces)));
      return;
    }
    // A producer's result is the number of items it put.
    let mine = Rc::new(Cell::new(0u64));
    let stdout = match task.produces {
      Some(q) => Sink::Queue(self.queues[q].clone(), mine.clone()),
      None => Sink::Report(id, Stream::Stdout, None),
    };
    // When a slot will go idle at this task's end, the loop has nothing else to do meanwhile.
    let ends = if waiting < self.jobs { Ends::Hold } else { Ends::Later };
    let launch = Launch { program, env: &env, cwd: &cwd, ends };
    // Output is kept as the result only if something will read it.
    let capture = task.produces.is_none() && self.scheduler.result_read(id);
    let proc = Proc::Task(id);
    self.attempts.insert(proc, attempt);
    let started = self.shared.start(proc, &launch, &task.slurm);
    let (shared, argv0) = (self.shared.clone(), program.argv[0].clone());
    spawn_local(async move {
      let sinks = (stdout, Sink::Report(id, Stream::Stderr, None));
      let ran = ran(&shared, proc, started, sinks, capture).await;
      let (exit, result) = match ran {
        Ok(ran) if capture => (ran.exit, ran.captured),
        Ok(ran) => (ran.exit, mine.get().to_string()),
        Err(err) => {
          let line = format!("cannot start `{argv0}`: {}", describe(&err, &cwd));
          (unstarted(&shared.inbox, id, Stream::Stderr, line, None).await, String::new())
        }
      };
      shared.inbox.send(Msg::Exited { proc, exit, result }).await;
    });
  }

  /// A consumer's worker waits for the next item of its queue.
  pub(super) fn take(&mut self, id: NodeId, worker: u32) {
    let Some(consumer) = self.consumers.get(&id).cloned() else { return };
    let inbox = self.shared.inbox.clone();
    spawn_local(async move {
      let item = consumer.take().await;
      inbox.send(Msg::Taken { id, worker, item }).await;
    });
  }

  pub(super) fn start_item(&mut self, id: NodeId, worker: u32, attempt: u32) {
    let Some(consumer) = self.consumers.get(&id).cloned() else { return };
    let graph = self.graph;
    let program = graph.task(id).and_then(|t| t.run.as_ref()).expect("a consumer's command");
    let item = self.scheduler.item(id, worker).unwrap_or_default().to_string();
    let mut env = consumer.env.clone();
    let mut warnings = Vec::new();
    env.push(env::item(&item, &mut warnings));
    self.warn(id, Stream::Stderr, &warnings, Some(&item));
    env.push(("RUNNER_WORKER".into(), worker.to_string()));
    env.push(("RUNNER_ATTEMPT".into(), attempt.to_string()));
    let launch = Launch { program, env: &env, cwd: &consumer.cwd, ends: Ends::Close };
    let proc = Proc::Item(id, worker);
    self.attempts.insert(proc, attempt);
    let block = graph.task(id).map(|t| t.slurm.clone()).unwrap_or_default();
    let started = self.shared.start(proc, &launch, &block);
    let (shared, argv0) = (self.shared.clone(), program.argv[0].clone());
    spawn_local(async move {
      let tag: Arc<str> = Arc::from(item.as_str());
      let stdout = match &consumer.produces {
        // A stage of a pipeline: each item's output lines become items of the next queue.
        Some(next) => Sink::Queue(next.clone(), Rc::new(Cell::new(0))),
        None => Sink::Report(id, Stream::Stdout, Some(tag.clone())),
      };
      let sinks = (stdout, Sink::Report(id, Stream::Stderr, Some(tag.clone())));
      let ran = ran(&shared, proc, started, sinks, false).await;
      let exit = match ran {
        Ok(ran) => ran.exit,
        Err(err) => {
          let err = describe(&err, &consumer.cwd);
          let line = format!("cannot start `{argv0}` for item `{item}`: {err}");
          unstarted(&shared.inbox, id, Stream::Stderr, line, Some(tag)).await
        }
      };
      shared.inbox.send(Msg::Exited { proc, exit, result: String::new() }).await;
    });
  }

  pub(super) fn start_callback(&mut self, id: NodeId, status: Status, index: usize) {
    let node = &self.graph.nodes[id];
    let program = node.callbacks.for_status(status).nth(index).expect("a callback").clone();
    let result = self.scheduler.result(id).unwrap_or("");
    let (env, warnings) = env::callback(self.graph, id, status, result);
    if index == 0 {
      self.warn(id, Stream::Callback, &warnings, None);
    }
    let cwd = self.cwd(id);
    let shared = self.shared.clone();
    let block = self.graph.task(id).map(|t| t.slurm.clone()).unwrap_or_default();
    spawn_local(async move {
      let exit = run_callback(&shared, id, &program, &env, &cwd, &block).await;
      shared
        .inbox
        .send(Msg::Exited { proc: Proc::Callback(id), exit, result: String::new() })
        .await;
    });
  }
}

async fn run_callback(
  shared: &Shared,
  id: NodeId,
  program: &Program,
  env: &Env,
  cwd: &Path,
  block: &Slurm,
) -> Exit {
  let launch = Launch { program, env, cwd, ends: Ends::Close };
  let command = program.script.clone().unwrap_or_else(|| program.argv.join(" "));
  let proc = Proc::Callback(id);
  let sinks = (Sink::Report(id, Stream::Callback, None), Sink::Report(id, Stream::Callback, None));
  let ran = ran(shared, proc, shared.start(proc, &launch, block), sinks, false).await;
  let exit = match ran {
    Ok(ran) => ran.exit,
    Err(err) => {
      let line = format!("cannot start callback `{command}`: {}", describe(&err, cwd));
      unstarted(&shared.inbox, id, Stream::Callback, line, None).await
    }
  };
  if exit.code != Some(0) {
    shared.inbox.send(Msg::CallbackFailed { id, command, exit }).await;
  }
  exit
}

impl Loop<'_, '_> {
  /// The up-to-date check of task `id`, just before its first attempt would start; the answer
  /// waits in `checks.answers` for the scheduler.
  pub(super) fn check(&mut self, id: NodeId) {
    let cwd = self.cwd(id);
    let forced = self.checks.force.covers(id);
    let scheduler = &*self.scheduler;
    let verdict = uptodate::check(self.graph, &self.checks.store, id, &cwd, forced, |n| {
      scheduler.result(n).unwrap_or("")
    });
    if let Some(warning) = verdict.warning {
      self.warn(id, Stream::Stderr, &[warning], None);
    }
    self.checks.hashes.insert(id, verdict.hash);
    self.checks.answers.push_back((id, verdict.fresh));
  }

  /// A task ended: if it was checked, its record is written or forgotten.
  pub(super) fn record(&mut self, id: NodeId, status: Status) {
    if let Err(warning) = self.checks.ended(id, self.name(id), status) {
      self.warn(id, Stream::Stderr, &[warning], None);
    }
  }
}

/// Runs what [`Shared::start`] started to its end: a process supervised (a Slurm step's stderr
/// told from its task's), or a Slurm batch job followed.
async fn ran(
  shared: &Shared,
  proc: Proc,
  started: std::io::Result<Started>,
  sinks: (Sink, Sink),
  capture: bool,
) -> std::io::Result<Supervised> {
  match started? {
    Started::Process { child, step: true } => {
      let mut ran =
        supervise(shared, proc, child, (sinks.0, sinks.1.for_step(proc)), capture).await?;
      // srun ends with 128 + a signal when its step was stopped, and SIGKILLs a step it is
      // told to stop before the step started: the signal the runner sent is what it ended by.
      if let (Some(129..=192), Some(signal)) = (ran.exit.code, ran.stopped) {
        ran.exit = Exit { code: None, signal: Some(signal) };
      }
      Ok(ran)
    }
    Started::Process { child, step: false } => supervise(shared, proc, child, sinks, capture).await,
    // What Slurm writes into a job's stderr of its end is told from the task's lines too.
    Started::Job { news } => {
      Ok(follow(shared, proc, news, (sinks.0, sinks.1.for_step(proc)), capture).await)
    }
  }
}
