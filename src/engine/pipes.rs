//! The children's output pipes, reused. Once every writer of a pipe has closed it (its reader saw
//! the end), no process can write to it any more; the runner then opens a new write end through
//! `/proc/self/fd` and hands the pipe to the next child. That spares creating and destroying two
//! pipes, and registering them with the reactor, for every process. The new write ends are
//! opened when the loop has nothing else to do ([`Pipes::prepare`]), not between a child's exit
//! and the start of the next: a spawn takes a prepared pipe, or makes a new one when none is
//! left, so the pool grows to what the run needs. Where `/proc` is missing a pipe is simply
//! closed and new ones are made.

use crate::engine::reactor::{Source, owned};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Pipes kept at most; more would only be there after a burst of parallel processes.
const KEEP: usize = 64;

/// Idle pipes: each a registered read end and a write end nobody else holds.
pub(crate) struct Pipes {
  idle: Vec<(Source, OwnedFd)>,
  /// Pipes whose readers saw the end, waiting for a new write end.
  ended: Vec<Source>,
  /// `/proc/self/fd`, where new write ends are opened (None without /proc).
  fds: Option<OwnedFd>,
}

impl Default for Pipes {
  fn default() -> Self {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: opens a path from a valid C string; the result is checked.
    let fd = unsafe { libc::open(c"/proc/self/fd".as_ptr(), flags) };
    Self { idle: Vec::new(), ended: Vec::new(), fds: owned(fd).ok() }
  }
}

impl Pipes {
  /// A pipe with nothing in it and no writer but the returned write end.
  pub(crate) fn take(&mut self) -> io::Result<(Source, OwnedFd)> {
    if let Some(pipe) = self.idle.pop() {
      return Ok(pipe);
    }
    let (read, write) = pipe()?;
    // The read end never blocks the loop, even on a spurious wake-up.
    // SAFETY: sets a status flag on our own descriptor.
    unsafe { libc::fcntl(read.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    Ok((Source::new(read)?, write))
  }

  /// Takes back a pipe whose reader saw the end: every writer has closed it.
  pub(crate) fn give_back(&mut self, source: Source) {
    if self.fds.is_some() && self.idle.len() + self.ended.len() < KEEP {
      self.ended.push(source);
    }
  }

  /// Gives each pipe taken back a new write end, making it ready for a child.
  pub(crate) fn prepare(&mut self) {
    let Some(fds) = &self.fds else { return };
    for source in self.ended.drain(..) {
      if let Some(write) = reopen(fds.as_raw_fd(), source.fd()) {
        source.reset();
        self.idle.push((source, write));
      }
    }
  }
}

/// A new write end for the pipe read through `read`, opened in /proc/self/fd.
fn reopen(fds: RawFd, read: RawFd) -> Option<OwnedFd> {
  // The fd's number as a C string, without allocating: this runs for every process.
  let mut name = [0u8; 16];
  write!(&mut name[..], "{read}\0").ok()?;
  // SAFETY: opens a NUL-terminated name in a directory we hold; the result is checked.
  let fd = unsafe { libc::openat(fds, name.as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC) };
  owned(fd).ok()
}

/// A new pipe, both ends closed on exec: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
  let mut fds = [0; 2];
  // SAFETY: pipe2 writes two descriptors into `fds`.
  if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok((owned(fds[0])?, owned(fds[1])?))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::engine::reactor::block_on;
  use std::io::Write;

  async fn read_to_end(source: &Source) -> Vec<u8> {
    let (mut all, mut buf) = (Vec::new(), [0u8; 64]);
    loop {
      match source.read(&mut buf).await.expect("read") {
        0 => return all,
        n => all.extend_from_slice(&buf[..n]),
      }
    }
  }

  #[test]
  fn a_pipe_that_ended_is_reused_empty_and_with_a_new_writer() {
    block_on(async {
      let mut pipes = Pipes::default();
      let (source, write) = pipes.take().unwrap();
      let fd = source.fd();
      std::fs::File::from(write).write_all(b"first").unwrap();
      assert_eq!(read_to_end(&source).await, b"first");
      pipes.give_back(source);
      let (other, _) = pipes.take().unwrap();
      assert_ne!(other.fd(), fd, "not ready before it is prepared");
      pipes.prepare();
      let (source, write) = pipes.take().unwrap();
      assert_eq!(source.fd(), fd, "the same pipe again");
      std::fs::File::from(write).write_all(b"second").unwrap();
      assert_eq!(read_to_end(&source).await, b"second", "nothing of the first use is left");
    });
  }

  #[test]
  fn only_so_many_idle_pipes_are_kept() {
    block_on(async {
      let mut pipes = Pipes::default();
      let taken: Vec<_> = (0..KEEP + 5).map(|_| pipes.take().unwrap()).collect();
      for (source, write) in taken {
        drop(write);
        assert!(read_to_end(&source).await.is_empty());
        pipes.give_back(source);
      }
      pipes.prepare();
      assert_eq!(pipes.idle.len(), KEEP);
    });
  }
}
