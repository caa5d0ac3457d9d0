//! Starting a program in its own process group and ending that group. This is the seam where
//! a remote backend would sit next to local processes.
//!
//! A shell string made of plain words (no quotes, variables, globs or operators) under the
//! default `sh -c` is exec'd directly, as `make` does: the shell would exec the same program with
//! the same arguments. Shell builtins (other than `true`/`false` without arguments), words that
//! need expanding, and programs not found on PATH go through the shell, so their behaviour and
//! messages are the shell's.

use crate::event::Exit;
use crate::graph::Program;
use crate::pipes::Pipes;
use crate::reactor::Source;
use crate::spawn::{Exec, Failed, Spawned, Spawner};
use futures_lite::FutureExt;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::time::Duration;

/// What a spawn needs beyond the program.
pub struct Launch<'a> {
  pub program: &'a Program,
  pub env: &'a [(String, String)],
  pub cwd: &'a Path,
  pub ends: Ends,
}

/// What becomes of the runner's own write ends of a child's pipes once the child has them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ends {
  /// Closed at once: the pipes end when the child's processes have closed theirs.
  Close,
  /// Closed at the next [`Launcher::tidy`], which the caller runs before it waits for anything.
  Later,
  /// Kept until the child has been reaped and its group ended (see [`Launcher`]).
  Hold,
}

/// Remembers where programs were found on PATH, so each name is searched once per run.
struct PathCache {
  found: HashMap<String, Option<PathBuf>>,
  path: Option<std::ffi::OsString>,
}

impl PathCache {
  fn new() -> Self {
    Self { found: HashMap::new(), path: std::env::var_os("PATH") }
  }

  fn lookup(&mut self, name: &str) -> Option<PathBuf> {
    if let Some(found) = self.found.get(name) {
      return found.clone();
    }
    let found = self.path.as_deref().and_then(|path| search(path, name));
    self.found.insert(name.to_string(), found.clone());
    found
  }
}

fn search(path: &OsStr, name: &str) -> Option<PathBuf> {
  use std::os::unix::fs::PermissionsExt;
  std::env::split_paths(path).map(|dir| dir.join(name)).find(|candidate| {
    std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
  })
}

/// What starting processes keeps from one process to the next: where programs were found, the
/// spawner, the output pipes waiting to be reused, and descriptors waiting to be closed.
///
/// A child closes its pipes on its way out, then signals its end: a loop waiting for it would be
/// woken three times. When the loop will have nothing to do but wait for a child (a slot will go
/// idle when it ends), the runner keeps its own write end of each of the child's pipes
/// ([`Child::held`]) until the child has been reaped and its group ended; the pipes cannot end
/// before, and the loop is woken once, by the exit. (A child spawned meanwhile holds copies only
/// until its exec closes them.) When other tasks wait for a slot, the early wake-ups let the loop
/// read the pipes' ends while the child is still exiting.
pub struct Launcher {
  paths: PathCache,
  spawner: Spawner,
  pipes: Pipes,
  /// Descriptors to close at the next [`Launcher::tidy`]: write ends given to children, and the
  /// pidfds of children reaped.
  closing: Vec<OwnedFd>,
  retired: Vec<Source>,
}

/// Pidfds of reaped children kept for a later close at most; beyond, they are closed at once.
const RETIRED: usize = 64;

impl Launcher {
  pub fn new() -> Self {
    Self {
      paths: PathCache::new(),
      spawner: Spawner::new(),
      pipes: Pipes::default(),
      closing: Vec::new(),
      retired: Vec::new(),
    }
  }

  /// Starts the program with stdin from /dev/null and piped stdout and stderr, as the leader of
  /// a new process group.
  pub fn spawn(&mut self, launch: &Launch) -> io::Result<Child> {
    let cwd = launch.cwd.as_os_str().as_bytes();
    let mut env: Vec<(&str, &[u8])> =
      launch.env.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    env.push(("PWD", cwd));
    let direct = direct_argv(launch.program, launch.env, &mut self.paths);
    let shell = program_path(&launch.program.argv[0], launch.env, &mut self.paths).ok();
    let shell_argv: Vec<&[u8]> = launch.program.argv.iter().map(|a| a.as_bytes()).collect();
    let direct_argv: Vec<&[u8]> =
      direct.iter().flatten().map(|a| a.as_os_str().as_bytes()).collect();
    let shell = shell.as_deref().map(|path| (path, shell_argv.as_slice()));
    // What the program could not be exec'd as (a script without `#!`, say) is left to the
    // shell, which has its own ways and messages.
    let (path, argv, fallback) = match (&direct, shell) {
      (Some(direct), shell) => (direct[0].as_path(), direct_argv.as_slice(), shell),
      (None, Some((path, argv))) => (path, argv, None),
      (None, None) => return Err(io::Error::from_raw_os_error(libc::ENOENT)),
    };
    let (stdout, out_w) = self.pipes.take()?;
    let (stderr, err_w) = self.pipes.take()?;
    let (out, err) = (out_w.as_raw_fd(), err_w.as_raw_fd());
    let exec = Exec { path, argv, fallback, env: &env, cwd: launch.cwd, stdout: out, stderr: err };
    match self.spawner.spawn(&exec) {
      Ok(Spawned { pid, pidfd, failed }) => {
        // Unless held, the runner's copies of the write ends go: they would keep the pipes open.
        let held = match launch.ends {
          Ends::Hold => Some([out_w, err_w]),
          Ends::Later => {
            self.closing.extend([out_w, err_w]);
            None
          }
          Ends::Close => None,
        };
        Ok(Child { pid, pidfd, stdout, stderr, held, failed })
      }
      Err(err) => {
        drop((out_w, err_w));
        self.pipes.give_back(stdout);
        self.pipes.give_back(stderr);
        Err(err)
      }
    }
  }

  /// Takes back a child's pipe once its reader has seen the end.
  pub fn give_back(&mut self, pipe: Source) {
    self.pipes.give_back(pipe);
  }

  /// Keeps a reaped child's pidfd for the next [`Launcher::tidy`].
  pub fn retire(&mut self, pidfd: Source) {
    if self.retired.len() < RETIRED {
      self.retired.push(pidfd);
    }
  }

  /// What can wait until the loop has nothing else to do, rather than sit between one task's
  /// exit and the next task's start: closing the descriptors put aside, and readying the pipes
  /// taken back for the next children.
  pub fn tidy(&mut self) {
    self.closing.clear();
    self.retired.clear();
    self.pipes.prepare();
  }
}

/// A started child: its pid, its pidfd (None on kernels without one), and its output pipes.
pub struct Child {
  pub pid: i32,
  pub pidfd: Option<OwnedFd>,
  pub stdout: Source,
  pub stderr: Source,
  /// The runner's own write ends of the pipes, when started with [`Ends::Hold`]: to be dropped
  /// once the child has been reaped and its group ended, after which the pipes end.
  pub held: Option<[OwnedFd; 2]>,
  /// Why the exec failed, known once the child has exited.
  pub failed: Failed,
}

/// Where `name` is: itself when it has a slash, else found on PATH (the task's own PATH when it
/// sets one), as `execvp` would.
fn program_path(
  name: &str,
  env: &[(String, String)],
  paths: &mut PathCache,
) -> io::Result<PathBuf> {
  let not_found = || io::Error::from_raw_os_error(libc::ENOENT);
  if name.contains('/') {
    return Ok(PathBuf::from(name));
  }
  if name.is_empty() {
    return Err(not_found());
  }
  match env.iter().rev().find(|(k, _)| k == "PATH") {
    Some((_, path)) => search(OsStr::new(path), name).ok_or_else(not_found),
    None => paths.lookup(name).ok_or_else(not_found),
  }
}

/// Shell builtins and keywords of POSIX sh: a script naming one of them needs the shell.
const SHELL_WORDS: &[&str] = &[
  ".", ":", "[", "alias", "bg", "break", "case", "cd", "chdir", "command", "continue", "do",
  "done", "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "false", "fc", "fg",
  "fi", "for", "getopts", "hash", "if", "in", "jobs", "kill", "local", "printf", "pwd", "read",
  "readonly", "return", "set", "shift", "test", "then", "times", "trap", "true", "type", "ulimit",
  "umask", "unalias", "unset", "until", "wait", "while", "{", "}", "!",
];

/// The argv to exec directly for a plain-word script under the default shell, if any; the
/// program is looked up as the shell would, on the task's own PATH when it sets one.
fn direct_argv(
  program: &Program,
  env: &[(String, String)],
  paths: &mut PathCache,
) -> Option<Vec<PathBuf>> {
  let script = program.script.as_deref().filter(|_| program.default_shell)?;
  let plain = |c: char| {
    c.is_ascii_alphanumeric()
      || matches!(c, '_' | '.' | '/' | ':' | ',' | '+' | '@' | '%' | '-' | ' ')
  };
  if !script.chars().all(plain) {
    return None;
  }
  let words: Vec<&str> = script.split(' ').filter(|w| !w.is_empty()).collect();
  let (&first, args) = words.split_first()?;
  let exact = matches!(first, "true" | "false") && args.is_empty();
  if first.contains('=') || (SHELL_WORDS.contains(&first) && !exact) {
    return None;
  }
  let program = program_path(first, env, paths).ok()?;
  Some(std::iter::once(program).chain(args.iter().map(PathBuf::from)).collect())
}

/// Sends `signal` to every process of the group led by `pid`.
pub fn signal_group(pid: i32, signal: i32) {
  // SAFETY: kill has no memory-safety preconditions; a stale group yields ESRCH, ignored.
  unsafe {
    libc::kill(-pid, signal);
  }
}

/// Sends `signal` to a task's descendants in other groups (processes it started that moved to
/// a group of their own, as `timeout` does), then to its group. The descendants are found
/// through the task's first process, so before it is signalled: once it has exited, they are
/// another process's children.
pub fn signal_task(pid: i32, signal: i32) {
  signal_descendants(|leader| leader == pid, signal);
  signal_group(pid, signal);
}

/// Sends `signal` to every descendant of the processes `leaders` names that is outside their
/// groups. Reads all of /proc: for stopping tasks, not for every task's end.
pub fn signal_descendants(leaders: impl Fn(i32) -> bool, signal: i32) {
  let Ok(dir) = std::fs::read_dir("/proc") else { return };
  let mut children: HashMap<i32, Vec<(i32, i32)>> = HashMap::new();
  for entry in dir.flatten() {
    let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
      continue;
    };
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
    if let Some((parent, group)) = parent_and_group(&stat) {
      children.entry(parent).or_default().push((pid, group));
    }
  }
  let mut stack: Vec<i32> = children.keys().copied().filter(|&pid| leaders(pid)).collect();
  while let Some(parent) = stack.pop() {
    for &(pid, group) in children.get(&parent).map_or(&[][..], Vec::as_slice) {
      if !leaders(group) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, signal) };
      }
      stack.push(pid);
    }
  }
}

/// The parent and process group in a /proc/PID/stat line (`pid (comm) state ppid pgrp ...`;
/// the command name may hold spaces and parentheses).
fn parent_and_group(stat: &str) -> Option<(i32, i32)> {
  let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(1);
  Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Reaps a child known to have exited, so the call returns at once.
pub fn reap(pid: i32) -> Exit {
  let mut status = 0;
  // SAFETY: waitpid writes only to `status`.
  if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
    return Exit { code: None, signal: None };
  }
  if libc::WIFEXITED(status) {
    Exit { code: Some(libc::WEXITSTATUS(status)), signal: None }
  } else {
    Exit { code: None, signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)) }
  }
}

/// Waits for the group leader to exit (SIGTERM then SIGKILL to the task on timeout), then ends
/// whatever the task left behind in its group. The leader is left to reap ([`reap`]), so that
/// its pid, and so its group, cannot be reused until the caller is done with them. True when
/// the timeout expired.
pub async fn wait_exit(
  pid: i32,
  pidfd: Option<&Source>,
  timeout: Option<Duration>,
  grace: Duration,
) -> bool {
  let exited = async {
    // Without a pidfd (kernels before 5.2), the exit is polled for.
    match pidfd {
      Some(fd) => fd.readable().await,
      None => poll_exit(pid).await,
    }
  };
  let mut exited = pin!(exited);
  let (mut ended, mut timed_out) = (false, false);
  if let Some(limit) = timeout {
    ended = ends_within(limit, exited.as_mut()).await;
    if !ended {
      timed_out = true;
      signal_task(pid, libc::SIGTERM);
      ended = ends_within(grace, exited.as_mut()).await;
      if !ended {
        signal_task(pid, libc::SIGKILL);
      }
    }
  }
  if !ended {
    exited.await;
  }
  // The leader is a zombie until reaped, so its group id cannot be reused yet.
  signal_group(pid, libc::SIGKILL);
  timed_out
}

/// Whether `exited` ends within `limit`.
async fn ends_within(limit: Duration, exited: Pin<&mut impl Future<Output = ()>>) -> bool {
  let ended = async {
    exited.await;
    true
  };
  ended
    .or(async {
      async_std::task::sleep(limit).await;
      false
    })
    .await
}

/// Without pidfd (old kernels): check for the exit every few milliseconds.
async fn poll_exit(pid: i32) {
  let mut polls = 0;
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
    polls += 1;
    async_std::task::sleep(Duration::from_millis(if polls < 10 { 1 } else { 10 })).await;
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn shell(script: &str) -> Program {
    Program {
      argv: vec!["sh".into(), "-c".into(), script.into()],
      script: Some(script.into()),
      default_shell: true,
    }
  }

  fn direct(script: &str) -> Option<Vec<String>> {
    direct_argv(&shell(script), &[], &mut PathCache::new())
      .map(|v| v.iter().map(|p| p.display().to_string()).collect())
  }

  #[test]
  fn plain_words_are_execed() {
    let argv = direct("sleep  0.1").expect("direct");
    assert!(argv[0].ends_with("/sleep"));
    assert_eq!(argv[1], "0.1");
    assert!(direct("true").unwrap()[0].ends_with("/true"));
  }

  #[test]
  fn anything_shell_goes_through_the_shell() {
    for script in [
      "echo hi",
      "true --help",
      "exit 3",
      "cd /tmp",
      "sleep 1 && true",
      "echo $HOME",
      "ls *",
      "A=1 env",
      "cat 'x'",
      "no-such-program-here",
      "sleep 1; true",
      "~/bin/x",
      "false x",
    ] {
      assert_eq!(direct(script), None, "{script}");
    }
  }

  #[test]
  fn a_program_is_found_on_the_tasks_own_path_when_it_sets_one() {
    let mut paths = PathCache::new();
    let env = |path: &str| vec![("PATH".to_string(), path.to_string())];
    let found = program_path("sh", &env("/nonexistent:/bin"), &mut paths).expect("found");
    assert_eq!(found, Path::new("/bin/sh"));
    let missing = program_path("sh", &env("/nonexistent"), &mut paths).expect_err("not found");
    assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(program_path("./x.sh", &[], &mut paths).unwrap(), Path::new("./x.sh"));
    assert!(program_path("sh", &[], &mut paths).unwrap().ends_with("sh"));
  }

  #[test]
  fn other_shells_are_never_bypassed() {
    let mut program = shell("true");
    program.default_shell = false;
    assert_eq!(direct_argv(&program, &[], &mut PathCache::new()), None);
  }

  #[test]
  fn a_plain_word_is_looked_up_on_the_tasks_own_path() {
    let mut paths = PathCache::new();
    let env = |path: &str| vec![("PATH".to_string(), path.to_string())];
    let found = direct_argv(&shell("sh -c x"), &env("/nonexistent:/bin"), &mut paths);
    assert_eq!(found.expect("found")[0], Path::new("/bin/sh"));
    // Not on the task's PATH: the shell runs it, and says it is not found.
    assert_eq!(direct_argv(&shell("sh -c x"), &env("/nonexistent"), &mut paths), None);
  }
}
