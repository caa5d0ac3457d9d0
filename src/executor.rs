//! The one async-std event loop of a run. Processes, timers and signals post messages to one
//! inbox; the loop hands each to the scheduler, performs the actions it returns, and emits
//! events to the reporter. Every runtime call of the program lives here, in `process.rs` and
//! in `signal.rs`.

use crate::event::{Event, Exit, Stream};
use crate::graph::{Graph, NodeId, Program};
use crate::process::{self, Launch, PathCache};
use crate::report::Reporter;
use crate::scheduler::{Action, Input, Scheduler, StopReason, Timer};
use crate::status::Status;
use async_channel::Sender;
use async_io::{Async, Timer as IoTimer};
use futures_lite::{AsyncReadExt, FutureExt, future};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How much of a task's stdout is kept as its result; the rest still streams to the reporter.
pub const RESULT_CAP: usize = 1 << 20;
/// Linux refuses to start a program with one environment string over 128 KiB; longer results
/// reach commands cut to this many bytes, with a warning in the task's output.
pub const ENV_VALUE_MAX: usize = 128 * 1024 - 256;
/// Longer output lines are passed on in pieces of this size, so memory stays bounded.
const MAX_LINE: usize = 64 * 1024;

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

enum Msg {
  Output {
    id: NodeId,
    stream: Stream,
    line: String,
  },
  Exited {
    id: NodeId,
    status: Status,
    exit: Exit,
    result: String,
  },
  Timer(NodeId, Timer),
  CallbacksDone {
    id: NodeId,
    ok: bool,
  },
  CallbackFailed {
    id: NodeId,
    command: String,
    exit: Exit,
  },
  Signal(i32),
  RunTimeout,
}

/// Shared between the loop and the futures it spawns (all on one thread).
struct Shared {
  /// Process group of each running task (0 when none).
  pids: RefCell<Vec<i32>>,
  /// Every live process group, tasks and callbacks alike, killed if the run is interrupted.
  live: RefCell<std::collections::HashSet<i32>>,
  paths: RefCell<PathCache>,
  tx: Sender<Msg>,
  kill_grace: Duration,
}

/// Runs the selected part of the graph to the end.
pub fn run(
  graph: &Graph,
  targets: &[NodeId],
  options: &Options,
  reporter: &mut Reporter,
) -> Outcome {
  async_std::task::block_on(run_loop(graph, targets, options, reporter))
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
    paths: RefCell::new(PathCache::new()),
    tx: tx.clone(),
    kill_grace: options.kill_grace,
  });
  crate::signal::forward(tx.clone(), Msg::Signal);
  if let Some(limit) = options.timeout {
    let tx = tx.clone();
    async_std::task::spawn_local(async move {
      IoTimer::after(limit).await;
      let _ = tx.send(Msg::RunTimeout).await;
    });
  }
  let mut scheduler = Scheduler::new(graph, targets, options.jobs, options.fail_fast);
  let mut runner = Loop {
    graph,
    shared,
    scheduler: &mut scheduler,
    reporter,
    started: vec![None; graph.nodes.len()],
    exits: vec![Exit::default(); graph.nodes.len()],
    signals: 0,
    dir: absolute(&graph.dir),
  };
  runner.reporter.event(&Event::RunStarted {
    name: graph.name.as_deref(),
    file: &graph.source.name(),
    tasks: graph.task_count(),
    jobs: options.jobs,
  });
  let mut actions = Vec::new();
  runner.scheduler.handle(Input::Start, &mut actions);
  if runner.perform(&mut actions) {
    return runner.outcome();
  }
  while let Ok(msg) = rx.recv().await {
    let mut done = runner.receive(msg, &mut actions);
    // Drain what is already waiting before flushing output: one write per batch.
    while !done {
      match rx.try_recv() {
        Ok(msg) => done = runner.receive(msg, &mut actions),
        Err(_) => break,
      }
    }
    runner.reporter.flush();
    if done {
      break;
    }
  }
  runner.kill_all();
  runner.outcome()
}

fn absolute(dir: &std::path::Path) -> PathBuf {
  std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

struct Loop<'a, 'g> {
  graph: &'g Graph,
  shared: Rc<Shared>,
  scheduler: &'a mut Scheduler<'g>,
  reporter: &'a mut Reporter,
  started: Vec<Option<Instant>>,
  exits: Vec<Exit>,
  signals: u32,
  dir: PathBuf,
}

impl Loop<'_, '_> {
  fn outcome(&self) -> Outcome {
    let ids = 0..self.graph.nodes.len();
    Outcome {
      failed: self.scheduler.run_failed(),
      stop: self.scheduler.stop_reason(),
      statuses: ids
        .map(|id| {
          self
            .scheduler
            .is_selected(id)
            .then(|| self.scheduler.status(id))
        })
        .collect(),
    }
  }

  /// Handles one message; true when the run is over.
  fn receive(&mut self, msg: Msg, actions: &mut Vec<Action>) -> bool {
    let input = match msg {
      Msg::Output { id, stream, line } => {
        self.reporter.event(&Event::Output {
          task: &self.graph.nodes[id].name,
          stream,
          line: &line,
        });
        return false;
      }
      Msg::CallbackFailed { id, command, exit } => {
        self.reporter.event(&Event::CallbackFailed {
          task: &self.graph.nodes[id].name,
          command: &command,
          exit,
        });
        return false;
      }
      Msg::Exited {
        id,
        status,
        exit,
        result,
      } => {
        self.exits[id] = exit;
        Input::Exited { id, status, result }
      }
      Msg::Timer(id, timer) => Input::TimerFired(id, timer),
      Msg::CallbacksDone { id, ok } => Input::CallbacksDone { id, ok },
      Msg::Signal(signal) => {
        self.signals += 1;
        if self.signals > 1 {
          // A second signal: no more grace.
          self.kill_all();
        }
        Input::Stop(StopReason::Signal(signal))
      }
      Msg::RunTimeout => Input::Stop(StopReason::Timeout),
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
        Action::StartTimer { id, after, timer } => {
          let tx = self.shared.tx.clone();
          async_std::task::spawn_local(async move {
            IoTimer::after(after).await;
            let _ = tx.send(Msg::Timer(id, timer)).await;
          });
        }
        Action::Terminate { id } => terminate(&self.shared, id),
        Action::RunCallbacks { id, status } => self.callbacks(id, status),
        Action::Retrying {
          id,
          attempt,
          status,
        } => {
          let exit = self.exits[id];
          self.reporter.event(&Event::TaskRetrying {
            task: &self.graph.nodes[id].name,
            attempt,
            status,
            exit,
          });
        }
        Action::GroupReturned { id, decision } => {
          let group = self.graph.group(id).expect("a group");
          let names = |list: &[usize]| {
            list
              .iter()
              .map(|&i| self.graph.nodes[group.members[i]].name.as_str())
              .collect()
          };
          self.reporter.event(&Event::GroupFinished {
            group: &self.graph.nodes[id].name,
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

  fn elapsed_ms(&self, id: NodeId) -> u64 {
    self.started[id].map_or(0, |t| t.elapsed().as_millis() as u64)
  }

  fn finished(&mut self, id: NodeId, status: Status) {
    if self.graph.task(id).is_some() {
      self.reporter.event(&Event::TaskFinished {
        task: &self.graph.nodes[id].name,
        status,
        attempts: self.scheduler.attempts(id),
        duration_ms: self.elapsed_ms(id),
        exit: self.exits[id],
      });
    }
    let unreturned = matches!(status, Status::Cancelled | Status::Skipped);
    if let (Some(group), true) = (self.graph.group(id), unreturned) {
      // A group settled before it returned: say so, with every member still pending.
      let pending = group
        .members
        .iter()
        .map(|&m| self.graph.nodes[m].name.as_str())
        .collect();
      let group_name = &self.graph.nodes[id].name;
      let event = Event::GroupFinished {
        group: group_name,
        status,
        done: Vec::new(),
        pending,
        timed_out: false,
        duration_ms: 0,
      };
      self.reporter.event(&event);
    }
  }

  fn spawn(&mut self, id: NodeId, attempt: u32) {
    let task = self.graph.task(id).expect("only tasks are spawned");
    let program = task
      .run
      .as_ref()
      .expect("the scheduler runs only tasks with a command");
    if attempt == 1 {
      self.started[id] = Some(Instant::now());
    }
    self.reporter.event(&Event::TaskStarted {
      task: &self.graph.nodes[id].name,
      attempt,
    });
    let env = self.task_env(id, attempt);
    let cwd = if task.cwd == self.graph.dir {
      self.dir.clone()
    } else {
      absolute(&task.cwd)
    };
    let launch = Launch {
      program,
      env: &env,
      cwd: &cwd,
    };
    let spawned = process::spawn(&launch, &mut self.shared.paths.borrow_mut());
    let shared = self.shared.clone();
    match spawned {
      Ok(child) => {
        let pid = child.id() as i32;
        self.shared.pids.borrow_mut()[id] = pid;
        self.shared.live.borrow_mut().insert(pid);
        let timeout = task.timeout;
        async_std::task::spawn_local(async move {
          let (status, exit, result) = supervise(&shared, id, child, timeout, Stream::Stdout).await;
          shared.pids.borrow_mut()[id] = 0;
          let _ = shared
            .tx
            .send(Msg::Exited {
              id,
              status,
              exit,
              result,
            })
            .await;
        });
      }
      Err(err) => {
        let line = format!("cannot start `{}`: {err}", program.argv[0]);
        async_std::task::spawn_local(async move {
          let _ = shared
            .tx
            .send(Msg::Output {
              id,
              stream: Stream::Stderr,
              line,
            })
            .await;
          let exit = Exit {
            code: Some(127),
            signal: None,
          };
          let _ = shared
            .tx
            .send(Msg::Exited {
              id,
              status: Status::Failed,
              exit,
              result: String::new(),
            })
            .await;
        });
      }
    }
  }

  /// The file's and the task's env, then RUNNER_TASK, RUNNER_ATTEMPT and the needs' results.
  fn task_env(&mut self, id: NodeId, attempt: u32) -> Vec<(String, String)> {
    let graph = self.graph;
    let node = &graph.nodes[id];
    let task = graph.task(id).expect("a task");
    let mut env = Vec::with_capacity(self.graph.env.len() + task.env.len() + 2 + node.needs.len());
    env.extend(self.graph.env.iter().cloned());
    env.extend(task.env.iter().cloned());
    env.push(("RUNNER_TASK".into(), node.name.clone()));
    env.push(("RUNNER_ATTEMPT".into(), attempt.to_string()));
    for &need in &node.needs {
      let name = format!(
        "RUNNER_RESULT_{}",
        crate::names::env_suffix(&graph.nodes[need].name)
      );
      let value = self.scheduler.result(need).unwrap_or_default().to_string();
      let value = self.env_value(id, &name, value);
      env.push((name, value));
    }
    env
  }

  /// A result as an environment value, cut to [`ENV_VALUE_MAX`] (with a warning) if longer.
  fn env_value(&mut self, id: NodeId, name: &str, mut value: String) -> String {
    if value.len() <= ENV_VALUE_MAX {
      return value;
    }
    let mut end = ENV_VALUE_MAX;
    while !value.is_char_boundary(end) {
      end -= 1;
    }
    let line = format!(
      "warning: ${name} holds {} bytes; the command gets the first {end}",
      value.len()
    );
    let task = &self.graph.nodes[id].name;
    self.reporter.event(&Event::Output {
      task,
      stream: Stream::Stderr,
      line: &line,
    });
    value.truncate(end);
    value
  }

  fn callbacks(&mut self, id: NodeId, status: Status) {
    let graph = self.graph;
    let node = &graph.nodes[id];
    let first: &[Program] = match status {
      Status::Succeeded => &node.callbacks.on_success,
      Status::Failed | Status::TimedOut => &node.callbacks.on_failure,
      _ => &[],
    };
    let programs: Vec<Program> = first
      .iter()
      .chain(&node.callbacks.on_done)
      .cloned()
      .collect();
    let mut env = self.graph.env.clone();
    if let Some(task) = self.graph.task(id) {
      env.extend(task.env.iter().cloned());
    }
    env.push(("RUNNER_TASK".into(), node.name.clone()));
    env.push(("RUNNER_STATUS".into(), status.as_str().into()));
    let result = self.scheduler.result(id).unwrap_or_default().to_string();
    let result = self.env_value(id, "RUNNER_RESULT", result);
    env.push(("RUNNER_RESULT".into(), result));
    let cwd = self
      .graph
      .task(id)
      .map_or_else(|| self.dir.clone(), |t| absolute(&t.cwd));
    let shared = self.shared.clone();
    async_std::task::spawn_local(async move {
      let mut ok = true;
      for program in programs {
        ok &= run_callback(&shared, id, &program, &env, &cwd).await;
      }
      let _ = shared.tx.send(Msg::CallbacksDone { id, ok }).await;
    });
  }

  /// Kills every live process group at once.
  fn kill_all(&self) {
    for &pid in self.shared.live.borrow().iter() {
      process::signal_group(pid, libc::SIGKILL);
    }
  }
}

async fn run_callback(
  shared: &Rc<Shared>,
  id: NodeId,
  program: &Program,
  env: &[(String, String)],
  cwd: &std::path::Path,
) -> bool {
  let launch = Launch { program, env, cwd };
  let command = program
    .script
    .clone()
    .unwrap_or_else(|| program.argv.join(" "));
  let spawned = process::spawn(&launch, &mut shared.paths.borrow_mut());
  let exit = match spawned {
    Ok(child) => {
      let pid = child.id() as i32;
      shared.live.borrow_mut().insert(pid);
      supervise(shared, id, child, None, Stream::Callback).await.1
    }
    Err(err) => {
      let line = format!("cannot start callback `{command}`: {err}");
      let _ = shared
        .tx
        .send(Msg::Output {
          id,
          stream: Stream::Callback,
          line,
        })
        .await;
      Exit {
        code: Some(127),
        signal: None,
      }
    }
  };
  let ok = exit.code == Some(0);
  if !ok {
    let _ = shared
      .tx
      .send(Msg::CallbackFailed { id, command, exit })
      .await;
  }
  ok
}

/// SIGTERM to a running task's group now, SIGKILL after the grace period if it is still there.
fn terminate(shared: &Rc<Shared>, id: NodeId) {
  let pid = shared.pids.borrow()[id];
  if pid == 0 {
    return;
  }
  process::signal_group(pid, libc::SIGTERM);
  let shared = shared.clone();
  async_std::task::spawn_local(async move {
    IoTimer::after(shared.kill_grace).await;
    if shared.pids.borrow()[id] == pid {
      process::signal_group(pid, libc::SIGKILL);
    }
  });
}

/// Streams a child's output, enforces its timeout, and reaps it. Returns its status, how it
/// exited, and its stdout (up to [`RESULT_CAP`], trailing newlines removed).
async fn supervise(
  shared: &Rc<Shared>,
  id: NodeId,
  mut child: std::process::Child,
  timeout: Option<Duration>,
  out_stream: Stream,
) -> (Status, Exit, String) {
  let pid = child.id() as i32;
  let stdout = child.stdout.take().and_then(|s| Async::new(s).ok());
  let stderr = child.stderr.take().and_then(|s| Async::new(s).ok());
  let err_stream = if out_stream == Stream::Callback {
    Stream::Callback
  } else {
    Stream::Stderr
  };
  let capture = out_stream == Stream::Stdout;
  let reading = future::zip(
    pump(shared, id, stdout, out_stream, capture),
    pump(shared, id, stderr, err_stream, false),
  );
  let waiting = wait_exit(shared, pid, timeout);
  let ((result, _), (exit, timed_out)) = future::zip(reading, waiting).await;
  shared.live.borrow_mut().remove(&pid);
  drop(child);
  let status = if timed_out {
    Status::TimedOut
  } else if exit.code == Some(0) {
    Status::Succeeded
  } else {
    Status::Failed
  };
  (status, exit, result)
}

/// Waits for the group leader to exit (SIGTERM then SIGKILL on timeout), then ends whatever the
/// task left behind in its group, then reaps the leader.
async fn wait_exit(shared: &Rc<Shared>, pid: i32, timeout: Option<Duration>) -> (Exit, bool) {
  let exited = async {
    match process::pidfd(pid).and_then(|fd| Async::new(fd).ok()) {
      Some(fd) => {
        let _ = fd.readable().await;
      }
      None => poll_exit(pid).await,
    }
  };
  let mut timed_out = false;
  match timeout {
    None => exited.await,
    Some(limit) => {
      let expired = async {
        IoTimer::after(limit).await;
        true
      };
      let mut exited = Box::pin(exited);
      if async {
        (&mut exited).await;
        false
      }
      .or(expired)
      .await
      {
        timed_out = true;
        process::signal_group(pid, libc::SIGTERM);
        let grace = async {
          IoTimer::after(shared.kill_grace).await;
          true
        };
        if async {
          (&mut exited).await;
          false
        }
        .or(grace)
        .await
        {
          process::signal_group(pid, libc::SIGKILL);
          exited.await;
        }
      }
    }
  }
  // The leader is a zombie until reaped, so its group id cannot be reused yet.
  process::signal_group(pid, libc::SIGKILL);
  let exit = loop {
    if let Some(exit) = process::try_reap(pid) {
      break exit;
    }
    IoTimer::after(Duration::from_millis(1)).await;
  };
  (exit, timed_out)
}

/// Without pidfd (old kernels): check for the exit every few milliseconds.
async fn poll_exit(pid: i32) {
  let mut status = 0;
  loop {
    // SAFETY: WNOWAIT leaves the child waitable; only `status` is written.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe {
      libc::waitid(
        libc::P_PID,
        pid as libc::id_t,
        &mut info,
        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
      )
    };
    // SAFETY: si_pid is valid to read after waitid filled `info`.
    if r != 0 || unsafe { info.si_pid() } != 0 {
      return;
    }
    status += 1;
    IoTimer::after(Duration::from_millis(if status < 10 { 1 } else { 10 })).await;
  }
}

/// Reads a pipe to its end, passing each line on; keeps up to [`RESULT_CAP`] bytes when
/// `capture` is set. Lines longer than [`MAX_LINE`] are passed on in pieces.
async fn pump<T: std::io::Read + async_io::IoSafe>(
  shared: &Rc<Shared>,
  id: NodeId,
  pipe: Option<Async<T>>,
  stream: Stream,
  capture: bool,
) -> String {
  let Some(mut pipe) = pipe else {
    return String::new();
  };
  let mut kept = Vec::new();
  let mut pending: Vec<u8> = Vec::new();
  let mut buf = vec![0u8; 64 * 1024];
  loop {
    let n = match pipe.read(&mut buf).await {
      Ok(0) | Err(_) => break,
      Ok(n) => n,
    };
    let chunk = &buf[..n];
    if capture && kept.len() < RESULT_CAP {
      kept.extend_from_slice(&chunk[..n.min(RESULT_CAP - kept.len())]);
    }
    pending.extend_from_slice(chunk);
    let mut start = 0;
    while let Some(nl) = pending[start..].iter().position(|&b| b == b'\n') {
      send_line(shared, id, stream, &pending[start..start + nl]).await;
      start += nl + 1;
    }
    pending.drain(..start);
    while pending.len() >= MAX_LINE {
      let rest = pending.split_off(MAX_LINE);
      send_line(shared, id, stream, &pending).await;
      pending = rest;
    }
  }
  if !pending.is_empty() {
    send_line(shared, id, stream, &pending).await;
  }
  let mut result = String::from_utf8_lossy(&kept).into_owned();
  while result.ends_with('\n') {
    result.pop();
    if result.ends_with('\r') {
      result.pop();
    }
  }
  result
}

async fn send_line(shared: &Rc<Shared>, id: NodeId, stream: Stream, line: &[u8]) {
  let line = String::from_utf8_lossy(line)
    .trim_end_matches('\r')
    .to_string();
  let _ = shared.tx.send(Msg::Output { id, stream, line }).await;
}
