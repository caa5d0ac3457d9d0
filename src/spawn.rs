//! Starting one child: stdin from /dev/null, stdout and stderr into given pipes, leader of a new
//! process group, in a given directory and environment.
//!
//! It works as posix_spawn does (a clone that shares the runner's memory until the exec), with
//! less work in the child: glibc's child queries and resets all 64 signal dispositions, this one
//! resets only the signals the runner handles (known once per run), plus SIGPIPE, which the Rust
//! runtime ignores and a child must not inherit. Unlike posix_spawn, the runner does not wait for
//! the exec ([`child::RUNS_BESIDE`]): each child gets a [`Slot`] of its own (stack, exec strings,
//! arguments), which the kernel marks free at the child's exec or exit (CLONE_CHILD_CLEARTID).
//! So an exec that fails is known only once the child has exited ([`Spawned::failed`]). The
//! clone also returns the child's pidfd. The effect for the child is that of
//! `std::process::Command`.

mod child;
mod strings;

use crate::reactor::owned;
use child::{ChildArgs, child_main};
use std::ffi::{CString, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use strings::Strings;

/// A started child: its pid, its pidfd (None on kernels without one), and why its exec failed.
pub struct Spawned {
  pub pid: i32,
  pub pidfd: Option<OwnedFd>,
  pub failed: Failed,
}

/// Where a child leaves its errno when it cannot exec, just before it exits.
pub struct Failed(Box<AtomicI32>);

impl Failed {
  /// Why the exec failed, if it did; to be asked once the child has exited.
  pub fn error(&self) -> Option<io::Error> {
    let word = self.0.load(Ordering::Acquire);
    let os = io::Error::from_raw_os_error(word & !child::CHDIR);
    match word {
      0 => None,
      _ if word & child::CHDIR != 0 => {
        Some(io::Error::new(os.kind(), format!("cannot enter its working directory: {os}")))
      }
      _ => Some(os),
    }
  }
}

/// What one spawn needs; strings are those of the exec.
pub struct Exec<'a> {
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
}

/// Spawns children; holds what is the same for all of them.
pub struct Spawner {
  /// One per child that may not have exec'd yet, and those kept for the next children. Boxed,
  /// so that a slot stays where its child reads it when the vector grows. First, so dropped
  /// first: a slot's drop waits for its child's exec, and the child reads the fields below too.
  #[expect(clippy::vec_box, reason = "a child reads its slot at a fixed address")]
  slots: Vec<Box<Slot>>,
  /// /dev/null, opened once (or the error opening it, given to every spawn).
  devnull: Result<OwnedFd, i32>,
  /// The runner's environment, as `KEY=value`.
  environ: Vec<CString>,
  /// Signals whose handler must be reset before the exec; found at the first spawn.
  handled: Option<Vec<c_int>>,
  pidfd: bool,
  /// The open-files limit the runner started with, when it raised its own.
  nofile: Option<&'static libc::rlimit>,
  /// The runner's controlling terminal, if it has one: each child leaves it, so that a task
  /// (in a process group of its own, in the background) that touches the terminal fails at
  /// once rather than being stopped by SIGTTIN or SIGTTOU, which the runner would not see.
  tty: Option<OwnedFd>,
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
  pub fn new() -> Self {
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
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: opens a path from a valid C string; the result is checked.
    let tty = owned(unsafe { libc::open(c"/dev/tty".as_ptr(), flags) }).ok();
    Self { devnull, environ, handled: None, pidfd: true, nofile, tty, slots: Vec::new() }
  }

  /// Starts the child, or says why it could not be started. An exec that fails is not known
  /// here: the child exits with 127 and leaves its error in [`Spawned::failed`].
  pub fn spawn(&mut self, exec: &Exec) -> io::Result<Spawned> {
    let devnull = self.devnull.as_ref().map_err(|&e| io::Error::from_raw_os_error(e))?.as_raw_fd();
    let handled = self.handled.get_or_insert_with(handled_signals);
    let failed = Failed(Box::new(AtomicI32::new(0)));
    let i = free_slot(&mut self.slots);
    let slot = &mut self.slots[i];
    slot.args.exec = slot.strings.lay_out(exec, &self.environ)?;
    slot.args.fds = [devnull, exec.stdout, exec.stderr];
    slot.args.handled = handled.as_ptr();
    slot.args.handled_len = handled.len();
    slot.args.failed = &*failed.0;
    slot.args.nofile = self.nofile.map_or(ptr::null(), ptr::from_ref);
    slot.args.tty = self.tty.as_ref().map_or(-1, AsRawFd::as_raw_fd);
    let (pid, pidfd) = clone_child(slot, &mut self.pidfd)?;
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

#[cfg(test)]
mod tests {
  use super::*;
  use std::io::Read;

  fn pipe() -> (OwnedFd, OwnedFd) {
    crate::pipes::pipe().unwrap()
  }

  fn exec<'a>(argv: &'a [&'a [u8]], cwd: &'a Path, fds: [RawFd; 2]) -> Exec<'a> {
    let (stdout, stderr) = (fds[0], fds[1]);
    Exec { path: Path::new("/bin/sh"), argv, fallback: None, env: &[], cwd, stdout, stderr }
  }

  fn run(argv: &[&str], env: &[(&str, &[u8])], cwd: &Path) -> (i32, String, String, Spawned) {
    let mut spawner = Spawner::new();
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let ((out_r, out_w), (err_r, err_w)) = (pipe(), pipe());
    let exec = Exec { env, ..exec(&argv, cwd, [out_w.as_raw_fd(), err_w.as_raw_fd()]) };
    let child = spawner.spawn(&exec).expect("spawned");
    drop((out_w, err_w));
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(child.pid, &mut status, 0) };
    let read = |fd: OwnedFd| {
      let mut text = String::new();
      std::fs::File::from(fd).read_to_string(&mut text).unwrap();
      text
    };
    let (out, err) = (read(out_r), read(err_r));
    (libc::WEXITSTATUS(status), out, err, child)
  }

  #[test]
  fn the_child_gets_its_pipes_directory_environment_and_own_group() {
    let dir = std::env::temp_dir();
    let script =
      "echo out; echo err >&2; pwd; echo $X; echo $HOME; ps -o pgid= -p $$; read l; echo r=$?";
    let (code, out, err, child) = run(&["sh", "-c", script], &[("X", b"x y")], &dir);
    assert_eq!(code, 0);
    assert_eq!(err, "err\n");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "out");
    assert_eq!(Path::new(lines[1]), dir.canonicalize().unwrap());
    assert_eq!(lines[2], "x y");
    assert_eq!(lines[3], std::env::var("HOME").unwrap_or_default());
    assert_eq!(lines[4].trim(), child.pid.to_string(), "leads its own process group");
    assert_eq!(lines[5], "r=1", "stdin is /dev/null");
    assert!(child.pidfd.is_some());
  }

  #[test]
  fn sigpipe_is_default_and_no_signal_is_blocked_in_the_child() {
    let script = "grep -E '^Sig(Blk|Ign)' /proc/self/status";
    let (_, out, _, _) = run(&["sh", "-c", script], &[], Path::new("/"));
    let mask = |name: &str| {
      let line = out.lines().find(|l| l.starts_with(name)).expect("a mask line");
      u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigBlk:"), 0);
    assert_eq!(mask("SigIgn:") & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE not ignored");
  }

  #[test]
  fn each_spawn_has_its_own_arguments_and_environment() {
    let mut spawner = Spawner::new();
    let script: &[u8] = b"echo \"$1 ${X-unset} ${HOME:+home}\"";
    let mut seen = Vec::new();
    type Run<'a> = (&'a [&'a [u8]], &'a [(&'a str, &'a [u8])]);
    let runs: [Run; 3] = [
      (&[b"sh", b"-c", script, b"sh", b"first"], &[("X", b"one"), ("HOME", b"")]),
      (&[b"sh", b"-c", b"echo never\0", b"sh"], &[]),
      (&[b"sh", b"-c", script, b"sh", b"second"], &[]),
    ];
    for (argv, env) in runs {
      let (read, write) = pipe();
      let exec = Exec { env, ..exec(argv, Path::new("/"), [write.as_raw_fd(), write.as_raw_fd()]) };
      match spawner.spawn(&exec) {
        Ok(child) => {
          drop(write);
          let mut out = String::new();
          std::fs::File::from(read).read_to_string(&mut out).unwrap();
          // SAFETY: waits for our own child.
          unsafe { libc::waitpid(child.pid, ptr::null_mut(), 0) };
          seen.push(out);
        }
        Err(err) => seen.push(err.kind().to_string()),
      }
    }
    let home = if std::env::var_os("HOME").is_some() { "home" } else { "" };
    assert_eq!(
      seen,
      ["first one \n", "invalid input parameter", &format!("second unset {home}\n")]
    );
  }

  /// Spawns, reaps, and returns the exit code and the exec's error, if any.
  fn reaped(spawner: &mut Spawner, exec: &Exec) -> (i32, Option<i32>) {
    let (code, error) = reaped_with(spawner, exec);
    (code, error.and_then(|e| e.raw_os_error()))
  }

  fn reaped_with(spawner: &mut Spawner, exec: &Exec) -> (i32, Option<io::Error>) {
    let child = spawner.spawn(exec).expect("cloned");
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(child.pid, &mut status, 0) };
    (libc::WEXITSTATUS(status), child.failed.error())
  }

  #[test]
  fn a_failed_exec_or_chdir_is_known_once_the_child_has_exited() {
    let mut spawner = Spawner::new();
    let (_r, w) = pipe();
    let fds = [w.as_raw_fd(), w.as_raw_fd()];
    let argv: &[&[u8]] = &[b"nope"];
    let missing = Exec { path: Path::new("/no/such/program"), ..exec(argv, Path::new("/"), fds) };
    assert_eq!(reaped(&mut spawner, &missing), (127, Some(libc::ENOENT)));
    let argv: &[&[u8]] = &[b"sh", b"-c", b"true"];
    let bad_dir = exec(argv, Path::new("/no/dir"), fds);
    let (code, error) = reaped_with(&mut spawner, &bad_dir);
    let error = error.expect("the chdir failed");
    assert_eq!((code, error.kind()), (127, io::ErrorKind::NotFound));
    assert!(error.to_string().starts_with("cannot enter its working directory: "), "{error}");
    assert_eq!(reaped(&mut spawner, &exec(argv, Path::new("/"), fds)), (0, None));
  }

  #[test]
  fn what_cannot_be_execed_falls_back_on_the_shell() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("no-shebang");
    std::fs::write(&script, "echo from the script\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (read, write) = pipe();
    let fds = [write.as_raw_fd(), write.as_raw_fd()];
    let argv: &[&[u8]] = &[script.as_os_str().as_bytes()];
    let shell: &[&[u8]] = &[b"sh", b"-c", script.as_os_str().as_bytes()];
    let fallback = Some((Path::new("/bin/sh"), shell));
    let exec = Exec { path: &script, fallback, ..exec(argv, dir.path(), fds) };
    let mut spawner = Spawner::new();
    assert_eq!(reaped(&mut spawner, &exec), (0, None));
    drop(write);
    let mut out = String::new();
    std::fs::File::from(read).read_to_string(&mut out).unwrap();
    assert_eq!(out, "from the script\n");
  }

  #[test]
  fn the_group_can_be_signalled_as_soon_as_the_spawn_returns() {
    let mut spawner = Spawner::new();
    let (_r, w) = pipe();
    let argv: &[&[u8]] = &[b"sh", b"-c", b"sleep 30"];
    for _ in 0..20 {
      let child = spawner.spawn(&exec(argv, Path::new("/"), [w.as_raw_fd(); 2])).expect("spawned");
      crate::process::signal_group(child.pid, libc::SIGKILL);
      let mut status = 0;
      // SAFETY: waits for our own child; only `status` is written.
      unsafe { libc::waitpid(child.pid, &mut status, 0) };
      assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL);
    }
  }

  #[test]
  fn a_slot_serves_again_once_its_child_has_execed() {
    let mut spawner = Spawner::new();
    let (_r, w) = pipe();
    let argv: &[&[u8]] = &[b"sh", b"-c", b"true"];
    for _ in 0..10 {
      assert_eq!(reaped(&mut spawner, &exec(argv, Path::new("/"), [w.as_raw_fd(); 2])), (0, None));
    }
    assert_eq!(spawner.slots.len(), 1);
  }
}
