//! The seam between the engine and where attempts run. A backend does three things:
//! - start an attempt: a program with its environment and working directory, its output going
//!   to pipes the engine reads ([`Launcher::spawn`]);
//! - report its exit: the [`Child`]'s pidfd, waited for and reaped by `supervise`;
//! - stop it, gracefully then by force ([`Launcher::stop`]), when the scheduler says so.
//!
//! Local processes are the one backend today: each is the leader of its own process group,
//! started by the fast clone spawner or by `posix_spawn` (`RUNNER_LAUNCHER=posix-spawn`, and on
//! other architectures).

use super::kill::{self, Attempt};
use super::program::{PathCache, direct_argv, program_path};
use super::spawn::{Exec, Failed, Spawned, Spawner};
use super::tree::TAG;
use super::watchdog::Watchdog;
use crate::engine::pipes::Pipes;
use crate::engine::reactor::Source;
use crate::graph::Program;
use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// How a running attempt is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
  /// SIGTERM: the program may clean up.
  Graceful,
  /// SIGKILL.
  Forced,
  /// SIGSTOP, with the runner (Ctrl-Z); not an end.
  Suspend,
  /// SIGCONT, after a [`Stop::Suspend`].
  Resume,
}

impl Stop {
  fn signal(self) -> i32 {
    match self {
      Stop::Graceful => libc::SIGTERM,
      Stop::Forced => libc::SIGKILL,
      Stop::Suspend => libc::SIGSTOP,
      Stop::Resume => libc::SIGCONT,
    }
  }
}

/// A run id no other run on this machine has: the runner's pid and the time it started.
pub(crate) fn run_id() -> String {
  let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
  format!("{}-{}", std::process::id(), since.map_or(0, |d| d.as_nanos()))
}

/// What a spawn needs beyond the program.
pub(super) struct Launch<'a> {
  pub program: &'a Program,
  pub env: &'a [(String, String)],
  pub cwd: &'a Path,
  pub ends: Ends,
}

/// What becomes of the runner's own write ends of a child's pipes once the child has them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Ends {
  /// Closed at once: the pipes end when the child's processes have closed theirs.
  Close,
  /// Closed at the next [`Launcher::tidy`], which the caller runs before it waits for anything.
  Later,
  /// Kept until the child has been reaped and its group ended (see [`Launcher`]).
  Hold,
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
pub(super) struct Launcher {
  paths: PathCache,
  spawner: Spawner,
  pipes: Pipes,
  /// Descriptors to close at the next [`Launcher::tidy`]: write ends given to children, and the
  /// pidfds of children reaped.
  closing: Vec<OwnedFd>,
  retired: Vec<Source>,
  /// Read buffers of pipes that ended, for the next ones.
  buffers: Vec<Vec<u8>>,
  /// This run's id in every task's [`TAG`], and the serial of the last attempt started.
  run: String,
  serial: u64,
  /// The watchdog, started with the first attempt; spared when everything else is signalled.
  watchdog: Option<Watchdog>,
  watchdog_tried: bool,
  /// One of many runs of the runner (`runner serve`): its sweeps keep to its own tag.
  served: bool,
}

/// Pidfds of reaped children kept for a later close at most; beyond, they are closed at once.
const RETIRED: usize = 64;

impl Launcher {
  /// A launcher whose runner is the subreaper of its tasks: a descendant whose parent dies
  /// becomes the runner's child, not init's, so it is still found, stopped and reaped.
  pub(super) fn new() -> Self {
    Self::with_run(run_id())
  }

  /// A launcher whose run is named `run` (in every task's [`TAG`]).
  pub(super) fn with_run(run: String) -> Self {
    // SAFETY: prctl with integer arguments only; failure (old kernels) only loses the subreaper.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    Self {
      paths: PathCache::new(),
      spawner: Spawner::new(),
      pipes: Pipes::default(),
      closing: Vec::new(),
      retired: Vec::new(),
      buffers: Vec::new(),
      run,
      serial: 0,
      watchdog: None,
      watchdog_tried: false,
      served: false,
    }
  }

  /// A launcher for run `run` among others of the runner (`runner serve`).
  pub(super) fn served(run: String) -> Self {
    Self { served: true, ..Self::with_run(run) }
  }

  /// Starts the program with stdin from /dev/null and piped stdout and stderr, as the leader of
  /// a new process group.
  pub(super) fn spawn(&mut self, launch: &Launch) -> io::Result<Child> {
    let cwd = launch.cwd.as_os_str().as_bytes();
    let mut env: Vec<(&str, &[u8])> =
      launch.env.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    env.push(("PWD", cwd));
    if !std::mem::replace(&mut self.watchdog_tried, true) {
      self.watchdog = Watchdog::start(&mut self.spawner, &self.run);
    }
    self.serial += 1;
    let tag = format!("{}/{}", self.run, self.serial);
    env.push((TAG, tag.as_bytes()));
    let direct = direct_argv(launch.program, launch.env, &mut self.paths);
    let shell = program_path(&launch.program.argv[0], launch.env, &mut self.paths).ok();
    let shell_argv: Vec<&[u8]> = launch.program.argv.iter().map(|a| a.as_bytes()).collect();
    let direct_argv: Vec<&[u8]> =
      direct.iter().flatten().skip(1).map(|a| a.as_os_str().as_bytes()).collect();
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
    let (cwd, dies_with_runner) = (launch.cwd, true);
    let exec =
      Exec { path, argv, fallback, env: &env, cwd, stdout: out, stderr: err, dies_with_runner };
    match self.spawner.spawn(&exec) {
      Ok(Spawned { pid, pidfd, failed }) => {
        kill::claim(pid);
        // Unless held, the runner's copies of the write ends go: they would keep the pipes open.
        let held = match launch.ends {
          Ends::Hold => Some([out_w, err_w]),
          Ends::Later => {
            self.closing.extend([out_w, err_w]);
            None
          }
          Ends::Close => None,
        };
        Ok(Child { pid, serial: self.serial, pidfd, stdout, stderr, held, failed })
      }
      Err(err) => {
        drop((out_w, err_w));
        self.pipes.give_back(stdout);
        self.pipes.give_back(stderr);
        Err(err)
      }
    }
  }

  /// Stops `attempts`: their process groups and every process of theirs that left them, all
  /// with one look at /proc. `leaders`: the pids that lead a running attempt, any attempt.
  pub(super) fn stop(&self, attempts: &mut [&mut Attempt], how: Stop, leaders: &HashSet<i32>) {
    kill::signal_attempts(attempts, how.signal(), &self.run, leaders, self.watchdog_pid());
  }

  /// Sends `how` to every process of the run but the watchdog: the groups `leaders` lead, and
  /// the run's other processes (see [`kill::signal_everything`]). Returns how many there were.
  pub(super) fn signal_everything(&self, leaders: &[i32], how: Stop) -> usize {
    kill::signal_everything(leaders, how.signal(), self.scope())
  }

  /// How many processes of the run are left besides the watchdog (reaping those that ended).
  pub(super) fn left(&self, leaders: &[i32]) -> usize {
    kill::signal_everything(leaders, 0, self.scope())
  }

  fn scope(&self) -> Option<&str> {
    self.served.then_some(self.run.as_str())
  }

  /// The run is over and left nothing: the watchdog goes.
  pub(super) fn dismiss_watchdog(&mut self) {
    if let Some(watchdog) = self.watchdog.take() {
      watchdog.dismiss();
    }
  }

  fn watchdog_pid(&self) -> i32 {
    self.watchdog.as_ref().map_or(0, |w| w.pid)
  }

  /// A read buffer of `len` bytes, reused when one is free.
  pub(super) fn buffer(&mut self, len: usize) -> Vec<u8> {
    let mut buf = self.buffers.pop().unwrap_or_default();
    buf.resize(len, 0);
    buf
  }

  /// Keeps a read buffer for the next pipe; a few are enough, as few pipes are read at once.
  pub(super) fn buffer_done(&mut self, buf: Vec<u8>) {
    if self.buffers.len() < 16 {
      self.buffers.push(buf);
    }
  }

  /// Takes back a child's pipe once its reader has seen the end.
  pub(super) fn give_back(&mut self, pipe: Source) {
    self.pipes.give_back(pipe);
  }

  /// Keeps a reaped child's pidfd for the next [`Launcher::tidy`].
  pub(super) fn retire(&mut self, pidfd: Source) {
    if self.retired.len() < RETIRED {
      self.retired.push(pidfd);
    }
  }

  /// What can wait until the loop has nothing else to do, rather than sit between one task's
  /// exit and the next task's start: closing the descriptors put aside, and readying the pipes
  /// taken back for the next children.
  pub(super) fn tidy(&mut self) {
    self.closing.clear();
    self.retired.clear();
    self.pipes.prepare();
  }
}

/// A started child: its pid, its pidfd (None on kernels without one), and its output pipes.
pub(super) struct Child {
  pub pid: i32,
  /// The attempt's serial, in its [`TAG`].
  pub serial: u64,
  pub pidfd: Option<OwnedFd>,
  pub stdout: Source,
  pub stderr: Source,
  /// The runner's own write ends of the pipes, when started with [`Ends::Hold`]: to be dropped
  /// once the child has been reaped and its group ended, after which the pipes end.
  pub held: Option<[OwnedFd; 2]>,
  /// Why the exec failed, known once the child has exited.
  pub failed: Failed,
}
