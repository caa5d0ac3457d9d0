//! The runner's own stdout, where the reporters write: a writer that remembers the first error
//! and drops what comes after it, and the watch that stops the run when stdout's reader leaves
//! (`runner run job.yaml | head -1`). A reader that left is a stop like a signal: the run's
//! tasks are terminated, killed after the kill grace, and the runner exits with 141 (128 +
//! SIGPIPE), as a shell reports a command a closed pipe ended. Any other error (a full disk, a
//! closed stdout) leaves the run going, since its logs and reports may still be written, and
//! fails it at the end; it is said on stderr when it happens.

use super::reactor::{Source, owned, spawn_local};
use async_channel::Sender;
use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};
use std::task::{Poll, Waker};

/// The first error writing stdout: the process has one stdout, so this is the process's.
static FAILED: OnceLock<Failure> = OnceLock::new();
/// The watch of [`forward`], woken when a write meets a reader that left.
static WATCH: Mutex<Option<Waker>> = Mutex::new(None);

/// Why stdout could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
  /// The reader left (EPIPE): the run stops, and nothing more is said.
  pub closed: bool,
  /// What the system said: `No space left on device`.
  pub reason: String,
}

/// Writes to file descriptor 1 directly (buffering is the caller's). After the first error
/// every write succeeds without writing: the error is kept for [`failure`], and said once.
pub(crate) struct Stdout;

impl Write for Stdout {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    if FAILED.get().is_some() {
      return Ok(buf.len());
    }
    loop {
      // SAFETY: writes at most `buf.len()` bytes from `buf` to fd 1.
      let n = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
      if n >= 0 {
        return Ok(n as usize);
      }
      let err = io::Error::last_os_error();
      match err.kind() {
        io::ErrorKind::Interrupted => {}
        // A stdout somebody made non-blocking: wait until it takes more.
        io::ErrorKind::WouldBlock => wait_writable(),
        _ => {
          fail(&err);
          return Ok(buf.len());
        }
      }
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

/// How writing stdout failed, if it did.
pub(crate) fn failure() -> Option<Failure> {
  FAILED.get().cloned()
}

fn fail(err: &io::Error) {
  let closed = err.raw_os_error() == Some(libc::EPIPE);
  let failure = Failure { closed, reason: reason(err) };
  if FAILED.set(failure).is_err() {
    return;
  }
  if closed {
    if let Some(waker) = WATCH.lock().map(|mut w| w.take()).ok().flatten() {
      waker.wake();
    }
  } else {
    eprintln!("runner: cannot write output: {}", reason(err));
  }
}

/// What the system says of `err`, without the ` (os error 28)` Rust adds.
pub(crate) fn reason(err: &io::Error) -> String {
  let text = err.to_string();
  match text.rfind(" (os error ") {
    Some(at) => text[..at].to_string(),
    None => text,
  }
}

fn wait_writable() {
  let mut fd = libc::pollfd { fd: 1, events: libc::POLLOUT, revents: 0 };
  // SAFETY: polls one descriptor from a pollfd on the stack.
  unsafe { libc::poll(&mut fd, 1, -1) };
}

/// Sends `wrap(SIGPIPE)` to `tx` once stdout's reader has left: seen by the reactor when stdout
/// is a pipe (no write needed: the last line may long be written), or by a write that met
/// EPIPE (a socket).
pub(crate) fn forward<M: 'static>(tx: Sender<M>, wrap: fn(i32) -> M) {
  let pipe = watched_pipe();
  spawn_local(async move {
    let failed = std::future::poll_fn(|cx| match FAILED.get() {
      Some(failure) if failure.closed => Poll::Ready(()),
      _ => {
        if let Ok(mut watch) = WATCH.lock() {
          *watch = Some(cx.waker().clone());
        }
        Poll::Pending
      }
    });
    let hung_up = async {
      match &pipe {
        Some(pipe) => pipe.readable().await,
        None => std::future::pending().await,
      }
    };
    futures_lite::future::or(failed, hung_up).await;
    let _ = tx.send(wrap(libc::SIGPIPE)).await;
  });
}

/// A copy of stdout registered with the reactor, when stdout is the write end of a pipe: the
/// reactor reports it (EPOLLERR) once the pipe has no reader left.
fn watched_pipe() -> Option<Source> {
  // SAFETY: fstat and fcntl only read the state of fd 1 into a zeroed stat on the stack.
  unsafe {
    let mut stat: libc::stat = std::mem::zeroed();
    let write_only = libc::fcntl(1, libc::F_GETFL) & libc::O_ACCMODE == libc::O_WRONLY;
    if libc::fstat(1, &mut stat) != 0 || stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
      return None;
    }
    // A pipe stdout can also read would be reported readable by its own output.
    if !write_only {
      return None;
    }
  }
  // SAFETY: duplicates fd 1; the result is checked.
  let copy = owned(unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) }).ok()?;
  Source::once(copy).ok()
}

/// Whether stdout was closed when the runner started (told by the binary, which sees it before
/// the Rust runtime puts /dev/null there).
static CLOSED_AT_START: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn closed_at_start() {
  CLOSED_AT_START.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Notes a stdout that was closed when the runner started (`>&-`) as failed, with the error
/// writing it would have met (EBADF). A /dev/null opened by whoever started the runner, read-write
/// or not, is a stdout like any other.
pub(crate) fn notice_closed() {
  if CLOSED_AT_START.load(std::sync::atomic::Ordering::Relaxed) {
    fail(&io::Error::from_raw_os_error(libc::EBADF));
  }
}

#[cfg(test)]
mod tests {
  #[test]
  fn reasons_read_as_the_system_says_them() {
    let err = std::io::Error::from_raw_os_error(libc::ENOSPC);
    assert_eq!(super::reason(&err), "No space left on device");
  }
}
