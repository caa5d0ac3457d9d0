//! Supervising one child: streaming its pipes into their sinks (lines to the reporter, or items
//! onto a queue), waiting for its exit and reaping it. How long it may run is not its business:
//! the scheduler's timers stop it through [`Shared::signal`].

use super::inbox::Msg;
use super::kill;
use super::launcher::Child;
use super::live::Shared;
use super::reactor::{Poke, Source};
use super::slurm::jobs::News;
use super::slurm::steps;
use crate::event::{Exit, Stream};
use crate::graph::NodeId;
use crate::scheduler::Proc;
use futures_lite::FutureExt;
use futures_lite::future;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of a task's stdout is kept as its result; the rest still streams to the reporter.
pub(super) const RESULT_CAP: usize = 1 << 20;
/// Longer output lines are reported in pieces of about this size, so memory stays bounded; the
/// pieces carry the line's bytes and no line end of their own, so a log holds the line whole.
const MAX_LINE: usize = 64 * 1024;
/// The longest line a producer may put on a queue: one line is one item, never cut. A longer one
/// stops the producer (SIGKILL), with a line on its stderr that says why.
pub(super) const MAX_ITEM: usize = 16 << 20;

/// Where the lines of a pipe go.
pub(super) enum Sink {
  /// Each line is reported as output of a node (of one queue item, for consumers).
  Report(NodeId, Stream, Option<Arc<str>>),
  /// Each non-empty line is put on a queue, waiting while it is full; `mine` counts them.
  Queue(Rc<super::queues::Queue>, Rc<Cell<u64>>),
  /// The stderr of a Slurm job step run for `proc`: the step's own lines (where it runs, what
  /// Slurm says of its end) are told from the task's, which are reported as [`Sink::Report`].
  Step(NodeId, Option<Arc<str>>, Proc),
}

impl Sink {
  /// This sink, for the stderr of a Slurm job step of `proc`.
  pub(super) fn for_step(self, proc: Proc) -> Sink {
    match self {
      Sink::Report(id, Stream::Stderr, item) => Sink::Step(id, item, proc),
      other => other,
    }
  }
}

/// How a supervised child ended, and its stdout when captured.
pub(super) struct Supervised {
  pub exit: Exit,
  pub captured: String,
  /// The signal the runner stopped it with, if it did.
  pub stopped: Option<i32>,
}

/// How long, after a stopped task's end, processes that left its group may keep its pipes
/// open before they are no longer read.
const LEFTOVER: Duration = Duration::from_millis(100);

/// Streams a child's pipes into their sinks and reaps it; `proc` is what it runs. Captures stdout
/// (up to [`RESULT_CAP`], trailing newlines removed) when `capture` is set. An error says why the
/// child could not exec.
///
/// Once the task's first process has exited and its group is ended, the pipes end unless a
/// process that left the group still holds them. It is waited for, as its lines are the
/// task's, unless the process was stopped (timed out, cancelled): then its output is no longer
/// read.
pub(super) async fn supervise(
  shared: &Shared,
  proc: Proc,
  child: Child,
  sinks: (Sink, Sink),
  capture: bool,
) -> std::io::Result<Supervised> {
  let pid = child.pid;
  let fds = [child.stdout.fd(), child.stderr.fd()];
  let held = child.held.map(|writers| (writers, [child.stdout.poke(), child.stderr.poke()]));
  let pidfd = child.pidfd.and_then(|fd| Source::once(fd).ok());
  let pumped = [Pumped::default(), Pumped::default()];
  let abandoned = {
    let reading = future::zip(
      pump(shared, proc, child.stdout, &sinks.0, capture, &pumped[0]),
      pump(shared, proc, child.stderr, &sinks.1, false, &pumped[1]),
    );
    let mut reading = pin!(reading);
    let waiting = async {
      kill::wait_exit(pid, pidfd.as_ref()).await;
      // When the runner held the pipes, they end now unless a process that left the group
      // still holds them: read them without waiting for the reactor to say so. Pipes it did not
      // hold are read when the reactor reports them; they may have ended and gone to another
      // child.
      if let Some((writers, pokes)) = held {
        drop(writers);
        pokes.into_iter().for_each(Poke::poke);
      }
    };
    let ((), read) = while_reading(reading.as_mut(), waiting).await;
    let stopped = || shared.is_stopping(proc);
    !(read || leftovers_end(fds, &pumped, reading.as_mut(), stopped).await)
  };
  if abandoned {
    let note = b"runner: output no longer read: a process that left the task's group holds it\n";
    deliver(shared, &sinks.1, note).await;
  }
  if pumped[0].overlong.get() {
    let most = MAX_ITEM >> 20;
    let note = format!("runner: a line longer than {most} MiB cannot be a queue item: stopped\n");
    deliver(shared, &sinks.1, note.as_bytes()).await;
  }
  for (state, sink) in pumped.iter().zip([&sinks.0, &sinks.1]) {
    let pending = state.pending.take();
    if !pending.is_empty() {
      deliver(shared, sink, &pending).await;
    }
  }
  // Reaped and forgotten at once: no signal may reach its pid once it can be reused.
  let exit = kill::reap(pid);
  let stopped = shared.stopped_by(proc);
  shared.ended(proc);
  if let Some(pidfd) = pidfd {
    shared.launcher.borrow_mut().retire(pidfd);
  }
  if let Some(err) = child.failed.error() {
    return Err(err);
  }
  let captured = result(&pumped[0].kept.borrow());
  Ok(Supervised { exit, captured, stopped })
}

/// Follows a Slurm batch job run for `proc`: its output, as the jobs path reads it from the
/// job's files, into the sinks, until its end. Captures stdout as [`supervise`] does.
pub(super) async fn follow(
  shared: &Shared,
  proc: Proc,
  news: async_channel::Receiver<News>,
  sinks: (Sink, Sink),
  capture: bool,
) -> Supervised {
  let pumped = [Pumped::default(), Pumped::default()];
  let mut exit = Exit { code: None, signal: None };
  while let Ok(piece) = news.recv().await {
    match piece {
      News::Output(stream, bytes) => {
        let (sink, state) =
          if stream == 0 { (&sinks.0, &pumped[0]) } else { (&sinks.1, &pumped[1]) };
        keep(state, &bytes, capture && stream == 0);
        if !state.overlong.get() {
          split(shared, proc, sink, &bytes, state).await;
        }
      }
      News::Placed { id, node } => shared.placed(proc, &id, &node).await,
      News::Note(note) => deliver(shared, &sinks.1, format!("{note}\n").as_bytes()).await,
      News::Ended(end) => {
        exit = end;
        break;
      }
    }
  }
  for (state, sink) in pumped.iter().zip([&sinks.0, &sinks.1]) {
    let pending = state.pending.take();
    if !pending.is_empty() {
      deliver(shared, sink, &pending).await;
    }
  }
  shared.ended(proc);
  Supervised { exit, captured: result(&pumped[0].kept.borrow()), stopped: None }
}

/// Keeps what is kept of stdout as the result, up to [`RESULT_CAP`].
fn keep(state: &Pumped, chunk: &[u8], capture: bool) {
  if capture {
    let mut kept = state.kept.borrow_mut();
    let room = RESULT_CAP.saturating_sub(kept.len());
    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
  }
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
  /// The start of a line not ended yet: never holds a newline.
  pending: RefCell<Vec<u8>>,
  /// A line too long to be a queue item was met: the rest of the pipe is read and dropped.
  overlong: Cell<bool>,
}

/// Reads a pipe to its end, passing each line, with its line end, to the sink; keeps up to
/// [`RESULT_CAP`] bytes when `capture` is set. Lines longer than [`MAX_LINE`] are reported in
/// pieces; a queue gets each line whole, up to [`MAX_ITEM`]. An unfinished last line is left in
/// `state` for the caller.
async fn pump(
  shared: &Shared,
  proc: Proc,
  pipe: Source,
  sink: &Sink,
  capture: bool,
  state: &Pumped,
) {
  // A queue's producer is read in small steps, so it runs only a little ahead of the queue.
  // Others start small (most tasks print little) and grow while reads fill the buffer.
  let most = if matches!(sink, Sink::Queue(..)) { 4096 } else { 64 * 1024 };
  let mut buf = shared.launcher.borrow_mut().buffer(4096);
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
    keep(state, chunk, capture);
    if !state.overlong.get() {
      split(shared, proc, sink, chunk, state).await;
    }
  }
  shared.launcher.borrow_mut().buffer_done(buf);
}

/// Passes on the lines `chunk` ends, keeping what it leaves unended in `state`. Only `chunk` is
/// searched for line ends, so a long line costs its length once, not once per read.
async fn split(shared: &Shared, proc: Proc, sink: &Sink, mut chunk: &[u8], state: &Pumped) {
  let mut pending = state.pending.take();
  while let Some(nl) = chunk.iter().position(|&b| b == b'\n') {
    let (line, rest) = chunk.split_at(nl + 1);
    if pending.is_empty() {
      deliver(shared, sink, line).await;
    } else {
      pending.extend_from_slice(line);
      deliver(shared, sink, &pending).await;
      pending.clear();
    }
    chunk = rest;
  }
  pending.extend_from_slice(chunk);
  match sink {
    Sink::Queue(..) if pending.len() > MAX_ITEM => {
      // Not cut into items, not dropped unsaid: the producer fails, and its stderr says why.
      state.overlong.set(true);
      pending = Vec::new();
      shared.kill_now(proc);
    }
    Sink::Queue(..) => {}
    Sink::Report(..) | Sink::Step(..) => {
      while pending.len() >= MAX_LINE {
        let cut = char_boundary(&pending, MAX_LINE);
        let rest = pending.split_off(cut);
        deliver(shared, sink, &pending).await;
        pending = rest;
      }
    }
  }
  state.pending.replace(pending);
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

/// Passes on one line as the process wrote it, with its line end if it had one.
async fn deliver(shared: &Shared, sink: &Sink, line: &[u8]) {
  match sink {
    Sink::Step(id, item, proc) => match steps::classify(line) {
      steps::Line::Placed { id: step, node } => shared.placed(*proc, step, node).await,
      steps::Line::Noise => {}
      steps::Line::Task => {
        let (id, item, line) = (*id, item.clone(), line.to_vec());
        shared.inbox.send(Msg::Output { id, stream: Stream::Stderr, line, item }).await;
      }
    },
    Sink::Report(id, stream, item) => {
      let (id, stream, item, line) = (*id, *stream, item.clone(), line.to_vec());
      shared.inbox.send(Msg::Output { id, stream, line, item }).await;
    }
    Sink::Queue(queue, mine) => {
      let item = crate::event::text(line);
      if !item.is_empty() && queue.put(item.into_owned()).await {
        mine.set(mine.get() + 1);
      }
    }
  }
}

/// The largest cut at most `at` that does not split a UTF-8 character (when the text is UTF-8),
/// so that each piece of a long line still reads as text.
fn char_boundary(bytes: &[u8], at: usize) -> usize {
  let starts_char = |&i: &usize| i == bytes.len() || (i > 0 && bytes[i] & 0xc0 != 0x80);
  (at.saturating_sub(3)..=at).rev().find(starts_char).unwrap_or(at)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::engine::inbox::Inbox;
  use crate::engine::launcher::{Ends, Launch};
  use crate::graph::Program;

  fn shared() -> Shared {
    Shared::new(Inbox(async_channel::unbounded().0))
  }

  const PROC: Proc = Proc::Task(0);

  fn launch<'a>(program: &'a Program, ends: Ends) -> Launch<'a> {
    Launch { program, env: &[], cwd: std::path::Path::new("/"), ends }
  }

  /// Blocks until `pid` has exited, leaving it to be reaped.
  fn exited(pid: i32) {
    // SAFETY: a siginfo_t is plain data, valid when zeroed.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOWAIT;
    // SAFETY: waits for our own child; WNOWAIT leaves it waitable; only `info` is written.
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
  fn long_lines_are_cut_between_characters() {
    let text = "aé€".as_bytes();
    assert_eq!([1, 2, 3, 4, 6].map(|at| char_boundary(text, at)), [1, 1, 3, 3, 6]);
    assert_eq!(char_boundary(&[0xff; 8], 4), 4, "not UTF-8: cut where asked");
  }

  #[test]
  fn write_ends_put_aside_close_at_the_next_tidy() {
    let program = Program { argv: vec!["true".into()], script: None, default_shell: false };
    crate::engine::reactor::block_on(async {
      let shared = shared();
      let child = shared.spawn(PROC, &launch(&program, Ends::Later)).expect("spawned");
      exited(child.pid);
      assert!(!ends_within(&child.stdout, 0), "the runner's copy keeps the pipe open");
      shared.launcher.borrow_mut().tidy();
      // Other tests' children may hold copies until their exec: wait for the end, not for time.
      assert!(ends_within(&child.stdout, 10_000), "ended once the copy is closed");
      assert!(ends_within(&child.stderr, 10_000));
      let sinks = (Sink::Report(0, Stream::Stdout, None), Sink::Report(0, Stream::Stderr, None));
      let ran = supervise(&shared, PROC, child, sinks, true).await.expect("exec'd");
      assert_eq!(ran.exit.code, Some(0));
    });
  }

  #[test]
  fn a_pipe_that_went_back_unread_is_not_read_before_the_reactor_reports_it() {
    let program = Program { argv: vec!["true".into()], script: None, default_shell: false };
    crate::engine::reactor::block_on(async {
      let shared = shared();
      for ends in [Ends::Close, Ends::Hold] {
        let child = shared.spawn(PROC, &launch(&program, ends)).expect("spawned");
        // Exit and hang-ups are all there at the first wait: the pipes end and go back before
        // the exit is handled.
        exited(child.pid);
        let sinks = (Sink::Report(0, Stream::Stdout, None), Sink::Report(0, Stream::Stderr, None));
        let ran = supervise(&shared, PROC, child, sinks, true).await.expect("exec'd");
        assert_eq!(ran.exit.code, Some(0));
        let next = shared.spawn(PROC, &launch(&program, Ends::Close)).expect("spawned");
        let ready = [next.stdout.marked_ready(), next.stderr.marked_ready()];
        assert_eq!(ready, [false, false], "{ends:?}: a fresh child's pipes marked readable");
        exited(next.pid);
        let sinks = (Sink::Report(0, Stream::Stdout, None), Sink::Report(0, Stream::Stderr, None));
        supervise(&shared, PROC, next, sinks, true).await.expect("exec'd");
      }
    });
  }
}
