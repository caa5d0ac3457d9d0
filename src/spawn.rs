//! Starting one child: stdin from /dev/null, stdout and stderr into given pipes, leader of a new
//! process group, in a given directory and environment.
//!
//! It works as posix_spawn does (a clone that shares the runner's memory and holds the runner
//! until the exec), with less work in the child: glibc's child queries and resets all 64 signal
//! dispositions, this one resets only the signals the runner handles (known once per run), plus
//! SIGPIPE, which the Rust runtime ignores and a child must not inherit. The clone also returns
//! the child's pidfd, so no second call is needed to get it. The effect for the child is that of
//! `std::process::Command`.

use crate::reactor::owned;
use std::ffi::{CString, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

/// A started child: its pid and its pidfd (None on kernels without one).
pub struct Spawned {
  pub pid: i32,
  pub pidfd: Option<OwnedFd>,
}

/// What one spawn needs; strings are those of the exec.
pub struct Exec<'a> {
  /// The program's path: absolute, or relative to `cwd`.
  pub path: &'a Path,
  pub argv: &'a [&'a [u8]],
  /// Variables set for this child on top of the runner's environment.
  pub env: &'a [(&'a str, &'a [u8])],
  pub cwd: &'a Path,
  /// Where the child's stdout and stderr go.
  pub stdout: RawFd,
  pub stderr: RawFd,
}

/// Spawns children; holds what is the same for all of them.
pub struct Spawner {
  /// The stack the child runs on until its exec; the runner waits meanwhile, so one suffices.
  stack: Vec<u8>,
  /// /dev/null, opened once (or the error opening it, given to every spawn).
  devnull: Result<OwnedFd, i32>,
  /// The runner's environment, as `KEY=value`.
  environ: Vec<CString>,
  /// Signals whose handler must be reset before the exec; found at the first spawn.
  handled: Option<Vec<c_int>>,
  pidfd: bool,
  /// The strings of the exec at hand, each ended by a NUL, and where each starts; reused from
  /// spawn to spawn, as is `pointers`, so a spawn allocates nothing once they have grown.
  strings: Vec<u8>,
  starts: Vec<usize>,
  /// argv then envp, each ended by a null pointer.
  pointers: Vec<RawStr>,
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
    Self {
      stack: vec![0; 64 * 1024],
      devnull,
      environ,
      handled: None,
      pidfd: true,
      strings: Vec::new(),
      starts: Vec::new(),
      pointers: Vec::new(),
    }
  }

  /// Starts the child, or says why it could not be started (the exec's error included).
  pub fn spawn(&mut self, exec: &Exec) -> io::Result<Spawned> {
    let devnull = self.devnull.as_ref().map_err(|&e| io::Error::from_raw_os_error(e))?.as_raw_fd();
    let (path, cwd, envp) = self.lay_out(exec)?;
    let handled = self.handled.get_or_insert_with(handled_signals);
    let mut failed: c_int = 0;
    let args = ChildArgs {
      path,
      argv: self.pointers.as_ptr(),
      envp,
      cwd,
      fds: [devnull, exec.stdout, exec.stderr],
      handled: handled.as_ptr(),
      handled_len: handled.len(),
      failed: &mut failed,
    };
    let (pid, pidfd) = self.clone_child(&args)?;
    // SAFETY: the child has exec'd or exited, so nothing writes `failed` any more.
    let failed = unsafe { ptr::read_volatile(&failed) };
    if failed != 0 {
      // It exited before or at the exec: reap it and report why.
      // SAFETY: waits for our own child; a null status pointer is allowed.
      unsafe { libc::waitpid(pid, ptr::null_mut(), 0) };
      return Err(io::Error::from_raw_os_error(failed));
    }
    Ok(Spawned { pid, pidfd })
  }

  /// Lays out the exec's strings, then argv and envp pointing into them (argv at the start of
  /// `pointers`). Returns the path, the directory and envp, valid until the next spawn.
  fn lay_out(&mut self, exec: &Exec) -> io::Result<(RawStr, RawStr, *const RawStr)> {
    self.strings.clear();
    self.starts.clear();
    self.push(&[exec.path.as_os_str().as_bytes()])?;
    self.push(&[exec.cwd.as_os_str().as_bytes()])?;
    for arg in exec.argv {
      self.push(&[arg])?;
    }
    for (key, value) in exec.env {
      self.push(&[key.as_bytes(), b"=", value])?;
    }
    // Every string is in place: `strings` does not move any more.
    let base = self.strings.as_ptr().cast::<libc::c_char>();
    // SAFETY: each start is an offset inside `strings`.
    let at = |start: usize| unsafe { base.add(start) };
    let overridden = |pair: &CString| {
      let key = pair.as_bytes().split(|&b| b == b'=').next().unwrap_or_default();
      exec.env.iter().any(|(k, _)| k.as_bytes() == key)
    };
    let argc = exec.argv.len();
    self.pointers.clear();
    self.pointers.extend(self.starts[2..2 + argc].iter().map(|&start| at(start)));
    self.pointers.push(ptr::null());
    self.pointers.extend(self.environ.iter().filter(|p| !overridden(p)).map(|p| p.as_ptr()));
    self.pointers.extend(self.starts[2 + argc..].iter().map(|&start| at(start)));
    self.pointers.push(ptr::null());
    // SAFETY: argv and its null pointer come first, so envp is inside `pointers`.
    let envp = unsafe { self.pointers.as_ptr().add(argc + 1) };
    Ok((at(self.starts[0]), at(self.starts[1]), envp))
  }

  /// Adds the concatenation of `parts` to the exec's strings, ended by a NUL.
  fn push(&mut self, parts: &[&[u8]]) -> io::Result<()> {
    self.starts.push(self.strings.len());
    for part in parts {
      if part.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte"));
      }
      self.strings.extend_from_slice(part);
    }
    self.strings.push(0);
    Ok(())
  }

  /// Clones the child onto the spawn stack, with every signal blocked meanwhile so no handler
  /// of the runner ever runs in it.
  fn clone_child(&mut self, args: &ChildArgs) -> io::Result<(i32, Option<OwnedFd>)> {
    let top = self.stack.as_mut_ptr_range().end as usize & !15;
    loop {
      let mut pidfd: c_int = -1;
      let pidfd_flag = if self.pidfd { libc::CLONE_PIDFD } else { 0 };
      let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD | pidfd_flag;
      // SAFETY: all signals are blocked around the clone and restored after; the child runs
      // `child_main` on its own stack with `args`, which outlive it (the parent is suspended
      // until the child execs or exits), and it makes only raw system calls.
      let (pid, err) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let arg = ptr::from_ref(args).cast_mut().cast::<c_void>();
        let pid = libc::clone(child_main, top as *mut c_void, flags, arg, &mut pidfd as *mut c_int);
        let err = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut());
        (pid, err)
      };
      if pid >= 0 {
        return Ok((pid, (pidfd >= 0).then(|| owned(pidfd).ok()).flatten()));
      }
      if self.pidfd && err.raw_os_error() == Some(libc::EINVAL) {
        // A kernel before 5.2: no pidfd from clone.
        self.pidfd = false;
        continue;
      }
      return Err(err);
    }
  }
}

/// A C string, as the exec takes it.
type RawStr = *const libc::c_char;

struct ChildArgs {
  path: RawStr,
  argv: *const RawStr,
  envp: *const RawStr,
  cwd: RawStr,
  /// The child's stdin, stdout and stderr; all above 2, since std keeps 0-2 open.
  fds: [RawFd; 3],
  handled: *const c_int,
  handled_len: usize,
  /// Where the child leaves its errno when it cannot exec.
  failed: *mut c_int,
}

/// The child between clone and exec: raw system calls only, no allocation, no locks.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
  // SAFETY: `arg` is the parent's `ChildArgs`, alive and unchanged until this child execs or
  // exits; every pointer in it is valid and every string NUL-terminated.
  unsafe {
    let args = &*arg.cast::<ChildArgs>();
    let mut default: libc::sigaction = std::mem::zeroed();
    default.sa_sigaction = libc::SIG_DFL;
    for i in 0..args.handled_len {
      libc::sigaction(*args.handled.add(i), &default, ptr::null_mut());
    }
    let mut ok = libc::setpgid(0, 0) == 0;
    for (target, &fd) in args.fds.iter().enumerate() {
      ok = ok && libc::dup2(fd, target as c_int) >= 0;
    }
    ok = ok && libc::chdir(args.cwd) == 0;
    if ok {
      let mut none: libc::sigset_t = std::mem::zeroed();
      libc::sigemptyset(&mut none);
      libc::pthread_sigmask(libc::SIG_SETMASK, &none, ptr::null_mut());
      libc::execve(args.path, args.argv, args.envp);
    }
    ptr::write_volatile(args.failed, (*libc::__errno_location()).max(1));
    libc::_exit(127)
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
    Exec { path: Path::new("/bin/sh"), argv, env: &[], cwd, stdout, stderr }
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

  #[test]
  fn a_failed_exec_or_chdir_is_an_error() {
    let mut spawner = Spawner::new();
    let (_r, w) = pipe();
    let fds = [w.as_raw_fd(), w.as_raw_fd()];
    let argv: &[&[u8]] = &[b"nope"];
    let missing = Exec { path: Path::new("/no/such/program"), ..exec(argv, Path::new("/"), fds) };
    let err = spawner.spawn(&missing).err().expect("an error");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let argv: &[&[u8]] = &[b"sh", b"-c", b"true"];
    let bad_dir = exec(argv, Path::new("/no/dir"), fds);
    assert_eq!(spawner.spawn(&bad_dir).err().and_then(|e| e.raw_os_error()), Some(libc::ENOENT));
  }
}
