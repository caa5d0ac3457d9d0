//! The watchdog: a second runner process, started with the run's first task, that outlives a
//! runner killed by SIGKILL and then kills every process the run left, found by the
//! [`TAG`](super::tree::TAG) in their environment. While the runner lives it only waits: for the
//! runner's end of a pipe to close.

use super::spawn::{Exec, Spawner};
use super::tree;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// The hidden first argument that makes `runner` a watchdog.
const ARG: &str = "__watchdog";

/// A running watchdog: its pid, and the runner's end of the pipe whose close wakes it.
pub(super) struct Watchdog {
  pub pid: i32,
  _pipe: OwnedFd,
}

impl Watchdog {
  /// Starts the watchdog of run `run` with `spawner`, in a process group of its own, not
  /// killed with the runner. None if it cannot be started: the run goes on without it.
  pub(super) fn start(spawner: &mut Spawner, run: &str) -> Option<Self> {
    let (read, write) = pipe()?;
    let argv: [&[u8]; 3] = [b"runner", ARG.as_bytes(), run.as_bytes()];
    let fd = write.as_raw_fd();
    let exec = Exec {
      path: Path::new("/proc/self/exe"),
      argv: &argv,
      fallback: None,
      env: &[],
      cwd: Path::new("/"),
      stdout: fd,
      stderr: fd,
      dies_with_runner: false,
    };
    let spawned = spawner.spawn(&exec).ok()?;
    super::kill::claim(spawned.pid);
    Some(Self { pid: spawned.pid, _pipe: read })
  }

  /// The run ended and left nothing: the watchdog goes, now. It is not waited for: the runner
  /// is about to exit, and its zombie goes with it; waiting could hold the run's end for as long
  /// as the watchdog's own start-up takes.
  pub(super) fn dismiss(self) {
    super::kill::end_child(self.pid);
  }
}

/// A pipe whose ends close on exec.
fn pipe() -> Option<(OwnedFd, OwnedFd)> {
  let mut fds = [0; 2];
  // SAFETY: pipe2 writes two descriptors into `fds`, which we then own.
  if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
    return None;
  }
  // SAFETY: both descriptors are new and ours alone.
  Some(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// When the command line is a watchdog's, watches and exits; otherwise returns at once.
pub(crate) fn serve_if_asked(args: &[OsString]) {
  if args.len() != 3 || args[1] != ARG {
    return;
  }
  let run = args[2].to_string_lossy().into_owned();
  for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGPIPE] {
    // SAFETY: ignoring a signal has no preconditions.
    unsafe { libc::signal(signal, libc::SIG_IGN) };
  }
  wait_for_the_runner();
  if run.starts_with(tree::SLURM_RUN) {
    cancel_on_slurm(&run);
  }
  kill_what_is_left(&run);
  std::process::exit(0);
}

/// A run on Slurm leaves jobs and steps there: its jobs and its steps are named after it, and
/// are cancelled (a killed `srun` leaves its step running).
fn cancel_on_slurm(run: &str) {
  use std::process::{Command, Stdio};
  let quiet = |cmd: &mut Command| {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().ok()
  };
  quiet(Command::new("scancel").arg(format!("--name={run}")));
  let steps =
    Command::new("squeue").args(["-h", "-s", "-o", "%i %j"]).stderr(Stdio::null()).output();
  let text = steps.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
  let ids: Vec<&str> = text
    .lines()
    .filter_map(|l| l.trim().split_once(' '))
    .filter(|(_, name)| name.trim() == run)
    .map(|(id, _)| id)
    .collect();
  if !ids.is_empty() {
    quiet(Command::new("scancel").arg("--signal=KILL").args(&ids));
    quiet(Command::new("scancel").args(&ids));
  }
}

/// Waits until the runner's end of the pipe on stdout is closed: the runner is gone.
fn wait_for_the_runner() {
  let mut poll = libc::pollfd { fd: 1, events: 0, revents: 0 };
  // POLLERR (and POLLHUP) are reported whatever `events` asks for.
  // SAFETY: one valid pollfd; -1 waits without a time limit.
  while unsafe { libc::poll(&mut poll, 1, -1) } == 0 || poll.revents == 0 {}
}

/// Kills every process whose environment carries the run's tag, again and again until none is
/// found: one may fork while the others are killed.
fn kill_what_is_left(run: &str) {
  for _ in 0..100 {
    let found = tagged(run);
    if found.is_empty() {
      return;
    }
    for pid in found {
      // SAFETY: kill has no memory-safety preconditions; a pid gone meanwhile yields ESRCH.
      unsafe { libc::kill(pid, libc::SIGKILL) };
    }
  }
}

/// The processes (not zombies) whose environment holds run `run`'s tag.
fn tagged(run: &str) -> Vec<i32> {
  let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
  let me = std::process::id() as i32;
  let pids = dir.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok());
  pids
    .filter(|&pid| pid != me)
    .filter(|&pid| tree::stat(pid).is_some_and(|p| !p.zombie))
    .filter(|&pid| tree::tag(pid, run).is_some())
    .collect()
}
