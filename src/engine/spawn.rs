//! Starting one child: stdin from /dev/null, stdout and stderr into given pipes, leader of a new
//! process group, in a given directory and environment. Two ways, picked once per [`Spawner`]
//! ([`Via`]): a clone of the runner's own, here and in [`child`], and libc's `posix_spawn`
//! ([`posix`]), the plain one, where the clone is not used.
//!
//! The clone works as posix_spawn does (a clone that shares the runner's memory until the exec),
//! with less work in the child: glibc's child queries and resets all 64 signal dispositions, this
//! one resets only the signals the runner handles (known once per run), plus SIGPIPE, which the
//! Rust runtime ignores and a child must not inherit. Unlike posix_spawn, the runner does not
//! wait for the exec ([`child::RUNS_BESIDE`]): each child gets a [`Slot`] of its own (stack, exec
//! strings, arguments), which the kernel marks free at the child's exec or exit
//! (CLONE_CHILD_CLEARTID). So an exec that fails is known only once the child has exited
//! ([`Spawned::failed`]). The clone also returns the child's pidfd. The effect for the child is
//! that of `std::process::Command`.

mod child;
mod posix;
mod strings;
#[cfg(test)]
mod tests;

use crate::engine::reactor::owned;
use child::{ChildArgs, child_main};
use posix::PosixSpawn;
use std::ffi::{CString, OsStr, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use strings::Strings;

/// A started child: its pid, its pidfd (None on kernels without one), and why its exec failed.
pub(crate) struct Spawned {
  pub pid: i32,
  pub pidfd: Option<OwnedFd>,
  pub failed: Failed,
}

/// Where a child leaves its errno when it cannot exec, just before it exits.
pub(crate) struct Failed(Box<AtomicI32>);

impl Failed {
  /// No failure yet: a clone's child may leave one; a child from `posix_spawn` never does.
  fn none() -> Self {
    Self(Box::new(AtomicI32::new(0)))
  }

  /// Why the exec failed, if it did; to be asked once the child has exited.
  pub(crate) fn error(&self) -> Option<io::Error> {
    let word = self.0.load(Ordering::Acquire);
    (word != 0).then(|| error_of(word))
  }
}

/// The error a nonzero failure word stands for: an errno, with [`child::CHDIR`] when it was the
/// chdir that failed.
fn error_of(word: i32) -> io::Error {
  let os = io::Error::from_raw_os_error(word & !child::CHDIR);
  if word & child::CHDIR != 0 {
    return io::Error::new(os.kind(), ChdirFailed(os));
  }
  os
}

/// The child could not enter its working directory: the error of its chdir.
#[derive(Debug)]
struct ChdirFailed(io::Error);

impl std::fmt::Display for ChdirFailed {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "cannot enter its working directory: {}", self.0)
  }
}

impl std::error::Error for ChdirFailed {}

/// What a spawn error says, naming the working directory `cwd` when it was the one at fault.
pub(crate) fn describe(err: &io::Error, cwd: &Path) -> String {
  match err.get_ref().and_then(|inner| inner.downcast_ref::<ChdirFailed>()) {
    Some(ChdirFailed(os)) => {
      format!("cannot enter its working directory `{}`: {os}", cwd.display())
    }
    None => err.to_string(),
  }
}

/// What one spawn needs; strings are those of the exec.
pub(crate) struct Exec<'a> {
  /// The program's path: absolute, or relative to `cwd`.
  pub path: &'a Path,
  pub argv: &'a [&'a [u8]],
  /// What to exec instead when `path` cannot be exec'd (the shell, for a plain-word script).
  pub fallback: Option<(&'a Path, &'a [&'a [u8]])>,
  /// Variables set for this child on top of the runner's environment.
  pub env: &'a [(&'a str, &'a [u8])],
  pub cwd: &'a Path,
  /// Where the child's stdout and stderr go.
  pub stdout: RawFd,
  pub stderr: RawFd,
  /// Whether the child is killed when the runner dies (`PR_SET_PDEATHSIG`, with the clone
  /// only): a task's first process is, the watchdog is not.
  pub dies_with_runner: bool,
}

/// How a [`Spawner`] starts its children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
  /// The runner's own clone ([`child`]).
  Clone,
  /// libc's `posix_spawn` ([`posix`]).
  PosixSpawn,
}

impl Via {
  /// The way `RUNNER_LAUNCHER` names (`posix-spawn` or `clone`); else the clone where its child
  /// runs beside the runner (x86_64 and aarch64), `posix_spawn` elsewhere.
  pub(crate) fn choose(var: Option<&OsStr>) -> Self {
    let named =
      [Self::Clone, Self::PosixSpawn].into_iter().find(|via| var == Some(via.name().as_ref()));
    let default = if child::RUNS_BESIDE { Self::Clone } else { Self::PosixSpawn };
    if let (Some(var), None) = (var.filter(|v| !v.is_empty()), named) {
      eprintln!(
        "runner: warning: RUNNER_LAUNCHER={} is neither `clone` nor `posix-spawn`; using {}",
        var.to_string_lossy(),
        default.name()
      );
    }
    named.unwrap_or(default)
  }

  /// As `RUNNER_LAUNCHER` names it.
  pub(crate) fn name(self) -> &'static str {
    match self {
      Self::Clone => "clone",
      Self::PosixSpawn => "posix-spawn",
    }
  }
}

/// Spawns children; holds what is the same for all of them.
pub(crate) struct Spawner {
  /// First, so dropped first: a slot's drop waits for its child's exec, and the child reads the
  /// fields below too.
  route: Route,
  /// /dev/null, opened once (or the error opening it, given to every spawn).
  devnull: Result<OwnedFd, i32>,
  /// The runner's environment, as `KEY=value`.
  environ: Vec<CString>,
  /// Signals whose handler must be reset before the exec; found at the first spawn.
  handled: Option<Vec<c_int>>,
  /// The open-files limit the runner started with, when it raised its own.
  nofile: Option<&'static libc::rlimit>,
  /// The runner's controlling terminal, if it has one and clones: each child leaves it, so that
  /// a task (in a process group of its own, in the background) that touches the terminal fails
  /// at once rather than being stopped by SIGTTIN or SIGTTOU, which the runner would not see.
  tty: Option<OwnedFd>,
}

/// What is a [`Via`]'s own.
enum Route {
  Clone {
    /// One per child that may not have exec'd yet, and those kept for the next children.
    /// Boxed, so that a slot stays where its child reads it when the vector grows.
    #[expect(clippy::vec_box, reason = "a child reads its slot at a fixed address")]
    slots: Vec<Box<Slot>>,
    /// False once the kernel has said it has no pidfds from clone.
    pidfd: bool,
  },
  Posix(PosixSpawn),
}

/// What one child uses until its exec. Boxed: the child reads it at a fixed address.
struct Slot {
  /// Nonzero from the clone until the child execs or exits, when the kernel clears it.
  busy: AtomicI32,
  /// The stack the child runs on.
  stack: Vec<u8>,
  /// The exec's strings, which `args` points into.
  strings: Strings,
  args: ChildArgs,
}

impl Spawner {
  /// A spawner of the way `RUNNER_LAUNCHER` names, or the default one ([`Via::choose`]).
  pub(crate) fn new() -> Self {
    Self::with(Via::choose(std::env::var_os("RUNNER_LAUNCHER").as_deref()))
  }

  /// A spawner that starts its children `via` that way.
  pub(crate) fn with(via: Via) -> Self {
    let null = c"/dev/null";
    // SAFETY: opens a path from a valid C string; the result is checked.
    let devnull = owned(unsafe { libc::open(null.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
      .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO));
    let environ = std::env::vars_os()
      .filter_map(|(key, value)| {
        let mut pair = key.as_bytes().to_vec();
        pair.push(b'=');
        pair.extend_from_slice(value.as_bytes());
        CString::new(pair).ok()
      })
      .collect();
    let nofile = open_files_found();
    let (route, tty) = match via {
      Via::Clone => {
        let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
        // SAFETY: opens a path from a valid C string; the result is checked.
        let tty = owned(unsafe { libc::open(c"/dev/tty".as_ptr(), flags) }).ok();
        (Route::Clone { slots: Vec::new(), pidfd: true }, tty)
      }
      // The child's session of its own leaves the terminal.
      Via::PosixSpawn => (Route::Posix(PosixSpawn::new()), None),
    };
    Self { route, devnull, environ, handled: None, nofile, tty }
  }

  /// How this spawner starts its children.
  #[cfg(test)]
  pub(crate) fn via(&self) -> Via {
    match self.route {
      Route::Clone { .. } => Via::Clone,
      Route::Posix(_) => Via::PosixSpawn,
    }
  }

  /// Starts the child, or says why it could not be started. With the clone, an exec that fails
  /// is not known here: the child exits with 127 and leaves its error in [`Spawned::failed`].
  pub(crate) fn spawn(&mut self, exec: &Exec) -> io::Result<Spawned> {
    let devnull = self.devnull.as_ref().map_err(|&e| io::Error::from_raw_os_error(e))?.as_raw_fd();
    let handled = self.handled.get_or_insert_with(handled_signals);
    let (slots, pidfd) = match &mut self.route {
      Route::Clone { slots, pidfd } => (slots, pidfd),
      Route::Posix(posix) => {
        return posix.spawn(exec, &self.environ, devnull, handled, self.nofile);
      }
    };
    let failed = Failed::none();
    let i = free_slot(slots);
    let slot = &mut slots[i];
    slot.args.exec = slot.strings.lay_out(exec, &self.environ)?;
    slot.args.fds = [devnull, exec.stdout, exec.stderr];
    slot.args.handled = handled.as_ptr();
    slot.args.handled_len = handled.len();
    slot.args.failed = &*failed.0;
    slot.args.nofile = self.nofile.map_or(ptr::null(), ptr::from_ref);
    slot.args.tty = self.tty.as_ref().map_or(-1, AsRawFd::as_raw_fd);
    slot.args.parent = if exec.dies_with_runner { std::process::id() as i32 } else { 0 };
    let (pid, pidfd) = clone_child(slot, pidfd)?;
    // Held until the exec, the runner knows at once whether it failed.
    if let Some(err) = failed.error().filter(|_| !child::RUNS_BESIDE) {
      // SAFETY: waits for our own child, which has exited; a null status pointer is allowed.
      unsafe { libc::waitpid(pid, ptr::null_mut(), 0) };
      return Err(err);
    }
    Ok(Spawned { pid, pidfd, failed })
  }
}

/// A slot no child uses any more, or a new one.
#[expect(clippy::vec_box, reason = "a child reads its slot at a fixed address")]
fn free_slot(slots: &mut Vec<Box<Slot>>) -> usize {
  // Only children that have not exec'd yet hold theirs: few are busy at any time.
  let free = slots.iter().position(|slot| slot.busy.load(Ordering::Acquire) == 0);
  free.unwrap_or_else(|| {
    slots.push(Box::new(Slot::new()));
    slots.len() - 1
  })
}

impl Slot {
  fn new() -> Self {
    Self {
      busy: AtomicI32::new(0),
      stack: vec![0; 64 * 1024],
      strings: Strings::default(),
      args: ChildArgs::empty(),
    }
  }
}

impl Drop for Slot {
  /// The memory stays the child's until its exec or exit.
  fn drop(&mut self) {
    loop {
      let busy = self.busy.load(Ordering::Acquire);
      if busy == 0 {
        return;
      }
      // SAFETY: waits on a word of this slot while it holds `busy`; the kernel wakes it.
      unsafe {
        libc::syscall(
          libc::SYS_futex,
          self.busy.as_ptr(),
          libc::FUTEX_WAIT,
          busy,
          ptr::null::<u8>(),
        );
      }
    }
  }
}

/// Clones the child onto its slot, with every signal blocked meanwhile so no handler of the
/// runner ever runs in it; clears `pidfd` on kernels without pidfds from clone.
fn clone_child(slot: &mut Slot, pidfd: &mut bool) -> io::Result<(i32, Option<OwnedFd>)> {
  let top = slot.stack.as_mut_ptr_range().end as usize & !15;
  loop {
    let mut fd: c_int = -1;
    let pidfd_flag = if *pidfd { libc::CLONE_PIDFD } else { 0 };
    let hold = if child::RUNS_BESIDE { 0 } else { libc::CLONE_VFORK };
    let flags = libc::CLONE_VM | libc::CLONE_CHILD_CLEARTID | hold | libc::SIGCHLD | pidfd_flag;
    slot.busy.store(1, Ordering::Release);
    // SAFETY: all signals are blocked around the clone and restored after; the child runs
    // `child_main` on its own stack with its slot's arguments, which nothing touches until the
    // kernel clears `busy` at its exec or exit; it makes only raw system calls.
    let (pid, err) = unsafe {
      let mut all: libc::sigset_t = std::mem::zeroed();
      let mut old: libc::sigset_t = std::mem::zeroed();
      libc::sigfillset(&mut all);
      libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
      let arg = ptr::from_mut(&mut slot.args).cast::<c_void>();
      let busy = slot.busy.as_ptr();
      let tls = ptr::null_mut::<c_void>();
      let pid = libc::clone(child_main, top as *mut c_void, flags, arg, &mut fd, tls, busy);
      let err = io::Error::last_os_error();
      libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
      (pid, err)
    };
    if pid >= 0 {
      // SAFETY: no memory is involved; EACCES once the child has exec'd is fine, as it has
      // made itself a group leader by then.
      unsafe { libc::setpgid(pid, pid) };
      return Ok((pid, (fd >= 0).then(|| owned(fd).ok()).flatten()));
    }
    slot.busy.store(0, Ordering::Release);
    if *pidfd && err.raw_os_error() == Some(libc::EINVAL) {
      // A kernel before 5.2: no pidfd from clone.
      *pidfd = false;
      continue;
    }
    return Err(err);
  }
}

/// The open-files limit the process started with, if it was raised: the first call raises it
/// to the hard limit (each running task holds a few descriptors, and a soft limit of 1024 would
/// stop a run at a few hundred parallel tasks). Once per process, so that every spawner's
/// children get back the limit found, not one raised by an earlier spawner.
fn open_files_found() -> Option<&'static libc::rlimit> {
  static FOUND: std::sync::OnceLock<Option<libc::rlimit>> = std::sync::OnceLock::new();
  FOUND.get_or_init(raise_open_files).as_ref()
}

fn raise_open_files() -> Option<libc::rlimit> {
  // SAFETY: getrlimit and setrlimit read and write only the structs passed.
  unsafe {
    let mut found: libc::rlimit = std::mem::zeroed();
    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut found) != 0 || found.rlim_cur >= found.rlim_max {
      return None;
    }
    let raised = libc::rlimit { rlim_cur: found.rlim_max, rlim_max: found.rlim_max };
    (libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0).then_some(found)
  }
}

/// SIGPIPE and every signal with a handler installed in the runner now.
fn handled_signals() -> Vec<c_int> {
  let mut signals = vec![libc::SIGPIPE];
  for signal in 1..libc::SIGRTMAX() {
    if matches!(signal, libc::SIGKILL | libc::SIGSTOP | libc::SIGPIPE) {
      continue;
    }
    // SAFETY: only reads the current disposition into a zeroed struct.
    let handler = unsafe {
      let mut old: libc::sigaction = std::mem::zeroed();
      if libc::sigaction(signal, ptr::null(), &mut old) != 0 {
        continue;
      }
      old.sa_sigaction
    };
    if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
      signals.push(signal);
    }
  }
  signals
}
