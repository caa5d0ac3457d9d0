//! Starting a child with libc's `posix_spawn`: the plain way, used where the clone of
//! [`super::child`] is not (other architectures, or `RUNNER_LAUNCHER=posix-spawn`), with the same
//! effect for the child as near as `posix_spawn` allows.
//!
//! - File actions dup2 /dev/null to stdin and the given pipes to stdout and stderr (a source
//!   that is itself 0, 1 or 2 is first copied above 2, so that no dup2 overwrites another's
//!   source), and enter the working directory (`posix_spawn_file_actions_addchdir_np`).
//! - POSIX_SPAWN_SETSIGMASK with an empty mask, and POSIX_SPAWN_SETSIGDEF with the signals the
//!   runner handles plus SIGPIPE, as the clone resets; and those of libc's own signals (32 up
//!   to SIGRTMIN) that the runner does not ignore, which libc's child would otherwise leave
//!   ignored for the program.
//! - POSIX_SPAWN_SETSID rather than POSIX_SPAWN_SETPGROUP: a new session is also a new process
//!   group whose id is the child's pid, and it leaves the runner's controlling terminal, as the
//!   clone's TIOCNOTTY does, so that a task touching /dev/tty fails at once (ENXIO) instead of
//!   being stopped by SIGTTIN or SIGTTOU, which the runner would not see. `posix_spawn` has no
//!   other way to leave the terminal. The cost: with the scheduler's autogroups on, each session
//!   gets an autogroup of its own, which is why the clone makes groups, not sessions.
//! - `posix_spawn` cannot set a resource limit in the child, which inherits the runner's: the
//!   runner's soft open-files limit goes back to the one it started with for the length of the
//!   call ([`Lowered`]), so the program starts under that one. Only the loop's thread spawns, and
//!   the runner's other threads (signals, timers) open no descriptors meanwhile.
//! - The pidfd comes from `pidfd_open` (None on kernels without it).
//!
//! glibc's `posix_spawn` holds the runner until the child's exec, and returns the exec's error:
//! so failures are known here, and [`Spawned::failed`] stays clean. As in the clone, a program
//! that cannot be exec'd (a script without `#!`, say) is retried as the fallback (the shell).
//! The error alone does not tell a failed chdir from a failed exec: when `posix_spawn` fails,
//! the working directory is checked from here, and if it cannot be entered, the error reads as
//! the clone's does ("cannot enter its working directory: ...").

use super::strings::{RawStr, Strings};
use super::{Exec, Failed, Spawned, child, error_of};
use crate::engine::reactor::owned;
use std::ffi::{CStr, CString, c_int, c_short};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Spawns children through `posix_spawn`; holds what is reused from one spawn to the next.
pub(super) struct PosixSpawn {
  strings: Strings,
  /// The same for every child; made at the first spawn, when the signals handled are known.
  attrs: Option<Attrs>,
  /// False once `pidfd_open` has said the kernel has no pidfds.
  pidfd: bool,
}

impl PosixSpawn {
  pub(super) fn new() -> Self {
    Self { strings: Strings::default(), attrs: None, pidfd: true }
  }

  /// Starts the child with /dev/null (`devnull`) as its stdin, or says why it could not be
  /// started; `handled` are the signals to reset (the same at every call), `nofile` the
  /// open-files limit to give back.
  pub(super) fn spawn(
    &mut self,
    exec: &Exec,
    environ: &[CString],
    devnull: RawFd,
    handled: &[c_int],
    nofile: Option<&libc::rlimit>,
  ) -> io::Result<Spawned> {
    let strs = self.strings.lay_out(exec, environ)?;
    let fds = [devnull, exec.stdout, exec.stderr];
    let lifted = [above_stdio(fds[0])?, above_stdio(fds[1])?, above_stdio(fds[2])?];
    let sources: [RawFd; 3] =
      std::array::from_fn(|i| lifted[i].as_ref().map_or(fds[i], AsRawFd::as_raw_fd));
    // SAFETY: a NUL-terminated string in `self.strings`, which stays as it is until we return.
    let cwd = unsafe { CStr::from_ptr(strs.cwd) };
    let actions = Actions::new(sources, cwd)?;
    if self.attrs.is_none() {
      self.attrs = Some(Attrs::new(handled)?);
    }
    let attrs = self.attrs.as_ref().expect("made above");
    // SAFETY: the strings and arrays are those `lay_out` made, left as they are until we return.
    let spawn = |path, argv| unsafe { spawn_one(path, argv, strs.envp, &actions, attrs) };
    let lowered = Lowered::to(nofile);
    let pid = match spawn(strs.path, strs.argv) {
      Ok(pid) => pid,
      Err(errno) if !enterable(cwd) => return Err(error_of(errno | child::CHDIR)),
      Err(_) if !strs.fallback.is_null() => {
        spawn(strs.fallback, strs.fallback_argv).map_err(io::Error::from_raw_os_error)?
      }
      Err(errno) => return Err(io::Error::from_raw_os_error(errno)),
    };
    drop(lowered);
    let pidfd = self.pidfd_open(pid);
    Ok(Spawned { pid, pidfd, failed: Failed::none() })
  }

  fn pidfd_open(&mut self, pid: i32) -> Option<OwnedFd> {
    if !self.pidfd {
      return None;
    }
    // SAFETY: no memory is involved; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = owned(c_int::try_from(fd).unwrap_or(-1));
    if fd.as_ref().is_err_and(|e| e.raw_os_error() == Some(libc::ENOSYS)) {
      self.pidfd = false;
    }
    fd.ok()
  }
}

/// The runner's open-files limit, lowered to the one it started with while a child is spawned,
/// and raised again when dropped.
struct Lowered(Option<libc::rlimit>);

impl Lowered {
  fn to(found: Option<&libc::rlimit>) -> Self {
    let Some(found) = found else { return Self(None) };
    // SAFETY: getrlimit and setrlimit read and write only the structs passed.
    unsafe {
      let mut now: libc::rlimit = std::mem::zeroed();
      if libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) != 0 {
        return Self(None);
      }
      let lower = libc::rlimit { rlim_cur: found.rlim_cur, rlim_max: now.rlim_max };
      Self((libc::setrlimit(libc::RLIMIT_NOFILE, &lower) == 0).then_some(now))
    }
  }
}

impl Drop for Lowered {
  fn drop(&mut self) {
    if let Some(raised) = self.0 {
      // SAFETY: setrlimit reads only the struct passed; the hard limit never changed, so the
      // soft one can go back up.
      unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    }
  }
}

/// One `posix_spawn`: the child's pid, or the error number it returned.
///
/// # Safety
///
/// `path` must be a NUL-terminated string, `argv` and `envp` null-ended arrays of them.
unsafe fn spawn_one(
  path: RawStr,
  argv: *const RawStr,
  envp: *const RawStr,
  actions: &Actions,
  attrs: &Attrs,
) -> Result<i32, c_int> {
  let mut pid = 0;
  // SAFETY: the strings are valid (from the caller); the file actions and attributes are
  // initialized; posix_spawn writes only `pid`, and reads the strings only until it returns.
  let errno =
    unsafe { libc::posix_spawn(&mut pid, path, &*actions.0, &*attrs.0, argv.cast(), envp.cast()) };
  if errno == 0 { Ok(pid) } else { Err(errno) }
}

/// A copy of `fd` above 2 when it is itself 0, 1 or 2 (closed on exec, as the pipes are).
pub(super) fn above_stdio(fd: RawFd) -> io::Result<Option<OwnedFd>> {
  if fd > 2 {
    return Ok(None);
  }
  // SAFETY: no memory is involved; the result is checked.
  owned(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) }).map(Some)
}

/// Whether the child could enter `cwd`: a directory the runner may search.
fn enterable(cwd: &CStr) -> bool {
  let mut stat = MaybeUninit::<libc::stat>::uninit();
  // SAFETY: stat writes only `stat`, read only once it succeeded; access reads only `cwd`.
  unsafe {
    libc::stat(cwd.as_ptr(), stat.as_mut_ptr()) == 0
      && stat.assume_init().st_mode & libc::S_IFMT == libc::S_IFDIR
      && libc::access(cwd.as_ptr(), libc::X_OK) == 0
  }
}

fn check(errno: c_int) -> io::Result<()> {
  if errno == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(errno)) }
}

/// The file actions of one spawn, destroyed with it. Boxed, so they stay where they were
/// initialized.
struct Actions(Box<libc::posix_spawn_file_actions_t>);

impl Actions {
  /// dup2 `sources` (all above 2) to 0, 1 and 2, then chdir to `cwd`.
  fn new(sources: [RawFd; 3], cwd: &CStr) -> io::Result<Self> {
    // SAFETY: all zeroes is a valid bit pattern for the C struct, which init then sets up.
    let mut actions = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: initializes the struct in place.
    check(unsafe { libc::posix_spawn_file_actions_init(&mut *actions) })?;
    let mut actions = Self(actions);
    for (target, source) in (0..).zip(sources) {
      // SAFETY: adds to initialized file actions; no descriptor is touched until the spawn.
      check(unsafe { libc::posix_spawn_file_actions_adddup2(&mut *actions.0, source, target) })?;
    }
    // SAFETY: as above; libc copies `cwd`.
    let chdir =
      unsafe { libc::posix_spawn_file_actions_addchdir_np(&mut *actions.0, cwd.as_ptr()) };
    check(chdir)?;
    Ok(actions)
  }
}

impl Drop for Actions {
  fn drop(&mut self) {
    // SAFETY: the file actions were initialized, and are destroyed once.
    unsafe { libc::posix_spawn_file_actions_destroy(&mut *self.0) };
  }
}

/// The attributes of every spawn, destroyed with the spawner. Boxed, as [`Actions`] are.
struct Attrs(Box<libc::posix_spawnattr_t>);

impl Attrs {
  /// An empty signal mask, the default action for `handled`, a session of the child's own.
  fn new(handled: &[c_int]) -> io::Result<Self> {
    // SAFETY: all zeroes is a valid bit pattern for the C struct, which init then sets up.
    let mut attrs = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: initializes the struct in place.
    check(unsafe { libc::posix_spawnattr_init(&mut *attrs) })?;
    let mut attrs = Self(attrs);
    let signals = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
    let flags = c_short::try_from(signals).expect("a short") | libc::POSIX_SPAWN_SETSID;
    // SAFETY: the signal set is initialized by sigemptyset before anything else reads or adds to
    // it (`add_internal` included); the attributes are initialized and copy the set.
    unsafe {
      let mut set = MaybeUninit::<libc::sigset_t>::uninit();
      libc::sigemptyset(set.as_mut_ptr());
      check(libc::posix_spawnattr_setsigmask(&mut *attrs.0, set.as_ptr()))?;
      for &signal in handled {
        libc::sigaddset(set.as_mut_ptr(), signal);
      }
      for signal in libc_signals_not_ignored() {
        add_internal(set.as_mut_ptr(), signal);
      }
      check(libc::posix_spawnattr_setsigdefault(&mut *attrs.0, set.as_ptr()))?;
      check(libc::posix_spawnattr_setflags(&mut *attrs.0, flags))?;
    }
    Ok(attrs)
  }
}

/// libc's own signals (from 32 up to SIGRTMIN, which `sigaddset` refuses) that the runner does
/// not ignore. Unless the spawn-sigdefault set names them, glibc's and musl's children set these
/// to SIG_IGN before the exec, and the program would start with them ignored; the clone's child
/// leaves them as they are in the runner (SIG_IGN stays, a handler goes at the exec). libc's
/// `sigaction` refuses them too: what the runner ignores is read from /proc.
fn libc_signals_not_ignored() -> Vec<c_int> {
  let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
  let mask = status.lines().find_map(|line| line.strip_prefix("SigIgn:"));
  let ignored = mask.and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok()).unwrap_or(0);
  (32..libc::SIGRTMIN()).filter(|&signal| ignored & (1 << (signal - 1)) == 0).collect()
}

/// Adds `signal`, one `sigaddset` refuses, to `set`.
///
/// # Safety
///
/// `set` must point to an initialized `sigset_t`: Linux's, an array of words with signal `n` at
/// bit `n - 1`.
unsafe fn add_internal(set: *mut libc::sigset_t, signal: c_int) {
  let bits = libc::c_ulong::BITS as usize;
  let bit = usize::try_from(signal - 1).expect("a signal number");
  let words = std::mem::size_of::<libc::sigset_t>() / std::mem::size_of::<libc::c_ulong>();
  assert!(bit / bits < words, "signal {signal} within a sigset_t");
  // SAFETY: the word is inside `*set` (asserted), which the caller says is initialized.
  unsafe { *set.cast::<libc::c_ulong>().add(bit / bits) |= 1 << (bit % bits) };
}

impl Drop for Attrs {
  fn drop(&mut self) {
    // SAFETY: the attributes were initialized, and are destroyed once.
    unsafe { libc::posix_spawnattr_destroy(&mut *self.0) };
  }
}
