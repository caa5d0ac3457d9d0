//! What the event loop shares with the futures it spawns: the inbox messages, the table of live
//! process groups, and supervising one child (streaming its pipes, enforcing its timeout,
//! reaping it). Everything here runs on the loop's thread.

use crate::event::{Exit, Stream};
use crate::graph::NodeId;

use crate::process::{self, Child, Launch, Launcher};
use crate::reactor::{Poke, Source};
use crate::scheduler::Timer;
use crate::status::Status;
use async_channel::Sender;
use futures_lite::FutureExt;
use futures_lite::future;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of a task's stdout is kept as its result; the rest still streams to the reporter.
pub const RESULT_CAP: usize = 1 << 20;
/// Longer output lines are passed on in pieces of this size, so memory stays bounded.
const MAX_LINE: usize = 64 * 1024;

/// A message to the event loop.
pub enum Msg {
  /// A line of output; `item` names the queue item a consumer was running.
  Output {
    id: NodeId,
    stream: Stream,
    line: String,
    item: Option<Arc<str>>,
  },
  Exited {
    id: NodeId,
    status: Status,
    exit: Exit,
    result: String,
  },
  /// A task's program could not be started (its exec failed, or no process could be made).
  Unstarted {
    id: NodeId,
    error: std::io::Error,
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
  Item(ItemOutcome),
  Signal(i32),
  RunTimeout,
}

/// One queue item handled by a consumer, after its last attempt.
pub struct ItemOutcome {
  pub consumer: NodeId,
  pub item: String,
  pub worker: u32,
  pub status: Status,
  pub attempts: u32,
  pub exit: Exit,
}

/// Shared between the loop and the futures it spawns.
pub struct Shared {
  /// Process group of each running task (0 when none).
  pub pids: RefCell<Vec<i32>>,
  /// Every live process group, tasks, items and callbacks alike.
  pub live: RefCell<HashSet<i32>>,
  pub launcher: RefCell<Launcher>,
  pub tx: Sender<Msg>,
  pub kill_grace: Duration,
  /// Read buffers of pipes that ended, for the next ones.
  pub buffers: RefCell<Vec<Vec<u8>>>,
  /// Processes being stopped (their task terminated): their pipes are not waited for once
  /// they have exited, whoever else holds them.
  pub stopped: RefCell<HashSet<i32>>,
  /// Callback processes running now.
  pub callbacks: RefCell<HashSet<i32>>,
  /// The run was stopped (a signal, `--timeout`): no more callbacks start, and no pipe is
  /// waited for once its process has exited.
  pub halted: Cell<bool>,
}

impl Shared {
  /// Starts a program as the leader of its own process group and records the group as live.
  pub fn spawn(&self, launch: &Launch) -> std::io::Result<Child> {
    let child = self.launcher.borrow_mut().spawn(launch)?;
    self.live.borrow_mut().insert(child.pid);
    Ok(child)
  }

  /// A read buffer of `len` bytes, reused when one is free.
  fn buffer(&self, len: usize) -> Vec<u8> {
    let mut buf = self.buffers.borrow_mut().pop().unwrap_or_default();
    buf.resize(len, 0);
    buf
  }

  /// Keeps a read buffer for the next pipe; a few are enough, as few pipes are read at once.
  fn buffer_done(&self, buf: Vec<u8>) {
    let mut buffers = self.buffers.borrow_mut();
    if buffers.len() < 16 {
      buffers.push(buf);
    }
  }

  pub async fn send(&self, msg: Msg) {
    // The loop outlives every future that sends; a closed inbox only happens at exit.
    let _ = self.tx.send(msg).await;
  }
}

/// Where the lines of a pipe go.
pub enum Sink {
  /// Each line is reported as output of a node (of one queue item, for consumers).
  Report(NodeId, Stream, Option<Arc<str>>),
  /// Each non-empty line is put on a queue, waiting while it is full; `mine` counts them.
  Queue(Rc<crate::queue::Queue>, Rc<Cell<u64>>),
}

/// How a supervised child ended, and its stdout when captured.
pub struct Supervised {
  pub status: Status,
  pub exit: Exit,
  pub captured: String,
}

/// How long, after a stopped task's end, processes that left its group may keep its pipes
/// open before they are no longer read.
const LEFTOVER: Duration = Duration::from_millis(100);

/// Streams a child's pipes into their sinks, enforces its timeout, and reaps it. Captures stdout
/// (up to [`RESULT_CAP`], trailing newlines removed) when `capture` is set. An error says why the
/// child could not exec.
///
/// Once the task's first process has exited and its group is ended, the pipes end unless a
/// process that left the group still holds them. It is waited for, as its lines are the
/// task's, unless the task timed out or was stopped: then its output is no longer read.
pub async fn supervise(
  shared: &Shared,
  child: Child,
  timeout: Option<Duration>,
  sinks: (Sink, Sink),
  capture: bool,
) -> std::io::Result<Supervised> {
  let pid = child.pid;
  let fds = [child.stdout.fd(), child.stderr.fd()];
  let held = child.held.map(|writers| (writers, [child.stdout.poke(), child.stderr.poke()]));
  let pidfd = child.pidfd.and_then(|fd| Source::once(fd).ok());
  let pumped = [Pumped::default(), Pumped::default()];
  let (timed_out, abandoned) = {
    let reading = future::zip(
      pump(shared, child.stdout, &sinks.0, capture, &pumped[0]),
      pump(shared, child.stderr, &sinks.1, false, &pumped[1]),
    );
    let mut reading = pin!(reading);
    let waiting = async {
      let timed_out = process::wait_exit(pid, pidfd.as_ref(), timeout, shared.kill_grace).await;
      // When the runner held the pipes, they end now unless a process that left the group
      // still holds them: read them without waiting for the reactor to say so. Pipes it did not
      // hold are read when the reactor reports them; they may have ended and gone to another
      // child.
      if let Some((writers, pokes)) = held {
        drop(writers);
        pokes.into_iter().for_each(Poke::poke);
      }
      timed_out
    };
    let (timed_out, read) = while_reading(reading.as_mut(), waiting).await;
    let stopped = || timed_out || shared.halted.get() || shared.stopped.borrow().contains(&pid);
    let read = read || leftovers_end(fds, &pumped, reading.as_mut(), stopped).await;
    (timed_out, !read)
  };
  shared.stopped.borrow_mut().remove(&pid);
  if abandoned {
    let note = b"runner: output no longer read: a process that left the task's group holds it";
    deliver(shared, &sinks.1, note).await;
  }
  for (state, sink) in pumped.iter().zip([&sinks.0, &sinks.1]) {
    let pending = state.pending.take();
    if !pending.is_empty() {
      deliver(shared, sink, &pending).await;
    }
  }
  let exit = process::reap(pid);
  if let Some(pidfd) = pidfd {
    shared.launcher.borrow_mut().retire(pidfd);
  }
  shared.live.borrow_mut().remove(&pid);
  if let Some(err) = child.failed.error() {
    return Err(err);
  }
  let status = match (timed_out, exit.code) {
    (true, _) => Status::TimedOut,
    (false, Some(0)) => Status::Succeeded,
    _ => Status::Failed,
  };
  let captured = result(&pumped[0].kept.borrow());
  Ok(Supervised { status, exit, captured })
}

/// Runs `reading` while `waiting` runs: `waiting`'s output, and whether `reading` ended too.
/// `reading` is polled after `waiting`, so that what `waiting` did last (dropping the held write
/// ends) is read at once.
async fn while_reading<T>(
  mut reading: Pin<&mut impl Future<Output = ((), ())>>,
  waiting: impl Future<Output = T>,
) -> (T, bool) {
  let mut waiting = pin!(waiting);
  let mut read = false;
  std::future::poll_fn(|cx| {
    let waited = waiting.as_mut().poll(cx);
    read = read || reading.as_mut().poll(cx).is_ready();
    waited.map(|value| (value, read))
  })
  .await
}

/// After the task's end: reads on while writers that left its group hold the pipes. True when
/// the pipes ended; false when writers were still there [`LEFTOVER`] after the end and
/// `stopped` says not to wait for them.
async fn leftovers_end(
  fds: [RawFd; 2],
  pumped: &[Pumped; 2],
  mut reading: Pin<&mut impl Future<Output = ((), ())>>,
  stopped: impl Fn() -> bool,
) -> bool {
  let ended = || fds.iter().zip(pumped).all(|(&fd, state)| state.done.get() || writers_gone(fd));
  let start = Instant::now();
  loop {
    if ended() {
      // What is left is there to be read, at whatever pace the sinks take it.
      reading.await;
      return true;
    }
    if start.elapsed() >= LEFTOVER && stopped() {
      return false;
    }
    // Often at first, while the writers may be dying; then enough to notice a stop.
    let every = if start.elapsed() < LEFTOVER { LEFTOVER / 10 } else { LEFTOVER };
    let tick = async {
      async_std::task::sleep(every).await;
      false
    };
    let read = async {
      reading.as_mut().await;
      true
    };
    if read.or(tick).await {
      return true;
    }
  }
}

/// Whether no process holds a write end of the pipe read through `fd` any more.
fn writers_gone(fd: RawFd) -> bool {
  let mut poll = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
  // SAFETY: polls one descriptor the caller holds, without waiting.
  unsafe { libc::poll(&mut poll, 1, 0) };
  poll.revents & libc::POLLHUP != 0
}

/// What a pipe's reader keeps outside its future, so that it survives the reader.
#[derive(Default)]
struct Pumped {
  /// The pipe ended (and went back to be reused).
  done: Cell<bool>,
  /// What is kept as the result.
  kept: RefCell<Vec<u8>>,
  /// The start of a line not ended yet.
  pending: RefCell<Vec<u8>>,
}

/// Reads a pipe to its end, passing each line to the sink; keeps up to [`RESULT_CAP`] bytes when
/// `capture` is set. Lines longer than [`MAX_LINE`] are passed on in pieces. An unfinished last
/// line is left in `state` for the caller.
async fn pump(shared: &Shared, pipe: Source, sink: &Sink, capture: bool, state: &Pumped) {
  // A queue's producer is read in small steps, so it runs only a little ahead of the queue.
  // Others start small (most tasks print little) and grow while reads fill the buffer.
  let most = if matches!(sink, Sink::Queue(..)) { 4096 } else { 64 * 1024 };
  let mut buf = shared.buffer(4096);
  loop {
    let n = match pipe.read(&mut buf).await {
      Ok(0) => {
        // Every writer has closed it: the pipe can serve another child.
        shared.launcher.borrow_mut().give_back(pipe);
        state.done.set(true);
        break;
      }
      Err(_) => break,
      Ok(n) => n,
    };
    if n == buf.len() && buf.len() < most {
      buf.resize(most, 0);
    }
    let chunk = &buf[..n];
    if capture {
      let mut kept = state.kept.borrow_mut();
      if kept.len() < RESULT_CAP {
        let room = RESULT_CAP - kept.len();
        kept.extend_from_slice(&chunk[..n.min(room)]);
      }
    }
    let mut pending = state.pending.take();
    pending.extend_from_slice(chunk);
    let mut start = 0;
    while let Some(nl) = pending[start..].iter().position(|&b| b == b'\n') {
      deliver(shared, sink, &pending[start..start + nl]).await;
      start += nl + 1;
    }
    pending.drain(..start);
    while pending.len() >= MAX_LINE {
      let rest = pending.split_off(MAX_LINE);
      deliver(shared, sink, &pending).await;
      pending = rest;
    }
    state.pending.replace(pending);
  }
  shared.buffer_done(buf);
}

/// A task's result: its stdout, without trailing newlines.
fn result(kept: &[u8]) -> String {
  let mut result = String::from_utf8_lossy(kept).into_owned();
  while result.ends_with('\n') {
    result.pop();
    if result.ends_with('\r') {
      result.pop();
    }
  }
  result
}

async fn deliver(shared: &Shared, sink: &Sink, line: &[u8]) {
  let line = String::from_utf8_lossy(line);
  let line = line.strip_suffix('\r').unwrap_or(&line);
  match sink {
    Sink::Report(id, stream, item) => {
      let (id, stream, item, line) = (*id, *stream, item.clone(), line.to_string());
      shared.send(Msg::Output { id, stream, line, item }).await;
    }
    Sink::Queue(_, _) if line.is_empty() => {}
    Sink::Queue(queue, mine) => {
      if queue.put(line.to_string()).await {
        mine.set(mine.get() + 1);
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::graph::Program;
  use crate::process::Ends;

  fn shared() -> Shared {
    Shared {
      pids: RefCell::new(Vec::new()),
      live: RefCell::default(),
      launcher: RefCell::new(Launcher::new()),
      tx: async_channel::unbounded().0,
      kill_grace: Duration::from_secs(1),
      buffers: RefCell::default(),
      stopped: RefCell::default(),
      callbacks: RefCell::default(),
      halted: Cell::new(false),
    }
  }

  fn launch<'a>(program: &'a Program, ends: Ends) -> Launch<'a> {
    Launch { program, env: &[], cwd: std::path::Path::new("/"), ends }
  }

  /// Blocks until `pid` has exited, leaving it to be reaped.
  fn exited(pid: i32) {
    // SAFETY: waits for our own child; WNOWAIT leaves it waitable; only `info` is written.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOWAIT;
    assert_eq!(unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) }, 0);
  }

  /// Whether the pipe ends (every writer closed it) within `ms` milliseconds.
  fn ends_within(pipe: &Source, ms: i32) -> bool {
    let mut fd = libc::pollfd { fd: pipe.fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: polls one live descriptor.
    unsafe { libc::poll(&mut fd, 1, ms) };
    fd.revents & libc::POLLHUP != 0
  }

  #[test]
  fn write_ends_put_aside_close_at_the_next_tidy() {
    let program = Program { argv: vec!["true".into()], script: None, default_shell: false };
    crate::reactor::block_on(async {
      let shared = shared();
      let child = shared.spawn(&launch(&program, Ends::Later)).expect("spawned");
      exited(child.pid);
      assert!(!ends_within(&child.stdout, 0), "the runner's copy keeps the pipe open");
      shared.launcher.borrow_mut().tidy();
      // Other tests' children may hold copies until their exec: wait for the end, not for time.
      assert!(ends_within(&child.stdout, 10_000), "ended once the copy is closed");
      assert!(ends_within(&child.stderr, 10_000));
      let sinks = (Sink::Report(0, Stream::Stdout, None), Sink::Report(0, Stream::Stderr, None));
      let ran = supervise(&shared, child, None, sinks, true).await.expect("exec'd");
      assert_eq!(ran.status, Status::Succeeded);
    });
  }

  #[test]
  fn a_pipe_that_went_back_unread_is_not_read_before_the_reactor_reports_it() {
    let program = Program { argv: vec!["true".into()], script: None, default_shell: false };
    crate::reactor::block_on(async {
      let shared = shared();
      for ends in [Ends::Close, Ends::Hold] {
        let child = shared.spawn(&launch(&program, ends)).expect("spawned");
        // Exit and hang-ups are all there at the first wait: the pipes end and go back before
        // the exit is handled.
        exited(child.pid);
        let sinks = (Sink::Report(0, Stream::Stdout, None), Sink::Report(0, Stream::Stderr, None));
        let ran = supervise(&shared, child, None, sinks, true).await.expect("exec'd");
        assert_eq!(ran.status, Status::Succeeded);
        let next = shared.spawn(&launch(&program, Ends::Close)).expect("spawned");
        let ready = [next.stdout.marked_ready(), next.stderr.marked_ready()];
        assert_eq!(ready, [false, false], "{ends:?}: a fresh child's pipes marked readable");
        exited(next.pid);
        let sinks = (Sink::Report(0, Stream::Stdout, None), Sink::Report(0, Stream::Stderr, None));
        supervise(&shared, next, None, sinks, true).await.expect("exec'd");
      }
    });
  }
}
