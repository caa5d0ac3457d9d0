//! After a restart: the processes that runs of the daemon before left behind are killed. A
//! process is one of run R's when its environment carries R's tag and it started no earlier
//! than R did; it is held by a pidfd while that is checked, and signalled through it, so a pid
//! reused meanwhile is never signalled.

use crate::engine::tree;
use std::collections::HashSet;
use std::os::fd::{FromRawFd, OwnedFd};

/// A run whose processes must go: its tag and its start, in clock ticks since boot.
pub(crate) struct Left<'a> {
  pub tag: &'a str,
  pub start_tick: u64,
}

/// Kills what `runs` left, again until nothing is found (one may fork meanwhile); returns how
/// many processes were killed, each counted once however many rounds found it still dying.
pub(crate) fn kill(runs: &[Left]) -> usize {
  if runs.is_empty() {
    return 0;
  }
  let mut killed = HashSet::new();
  for _ in 0..50 {
    let found = found(runs);
    if found.is_empty() {
      break;
    }
    for (pidfd, process) in found {
      // SAFETY: a pidfd this function owns, a valid signal, no siginfo.
      let sent = unsafe {
        libc::syscall(libc::SYS_pidfd_send_signal, pidfd_raw(&pidfd), libc::SIGKILL, 0usize, 0)
      };
      if sent == 0 {
        killed.insert(process);
      }
    }
    std::thread::sleep(std::time::Duration::from_millis(10));
  }
  killed.len()
}

fn pidfd_raw(fd: &OwnedFd) -> i32 {
  std::os::fd::AsRawFd::as_raw_fd(fd)
}

/// The live processes of `runs`, each held by a pidfd opened before it was checked, with its
/// pid and start (which tell it from any other process).
fn found(runs: &[Left]) -> Vec<(OwnedFd, (i32, u64))> {
  let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
  let me = std::process::id() as i32;
  let mut found = Vec::new();
  for pid in dir.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()) {
    if pid == me {
      continue;
    }
    // SAFETY: pidfd_open with a pid and no flags; the result is a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
      continue;
    }
    // SAFETY: `fd` was just returned by pidfd_open and is owned by no one else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let Some(stat) = tree::stat(pid).filter(|p| !p.zombie) else { continue };
    let ours =
      runs.iter().any(|run| stat.start >= run.start_tick && tree::tag(pid, run.tag).is_some());
    // The pid may have been reused between pidfd_open and the checks: then the pidfd's
    // process is gone, and its start time no longer matches.
    if ours && tree::alive(pid, stat.start) {
      found.push((pidfd, (pid, stat.start)));
    }
  }
  found
}

/// Now, in clock ticks since boot: the unit of a process's start time in /proc.
pub(crate) fn now_tick() -> u64 {
  // SAFETY: sysconf has no preconditions.
  let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
  let uptime = std::fs::read_to_string("/proc/uptime").unwrap_or_default();
  let seconds: f64 = uptime.split_whitespace().next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
  // Rounded down, and one tick back: a process started in the same tick counts as later.
  ((seconds * hz) as u64).saturating_sub(1)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn only_processes_with_the_tag_that_started_since_are_killed() {
    let tag = format!("leftover-test-{}", std::process::id());
    let start_tick = now_tick();
    let spawn = |tag: &str| {
      std::process::Command::new("sleep")
        .arg("30")
        .env(tree::TAG, format!("{tag}/1"))
        .spawn()
        .unwrap()
    };
    let (mut ours, mut other) = (spawn(&tag), spawn("someone-else"));
    // A run that started later than the process: not its process.
    let later = Left { tag: &tag, start_tick: start_tick + 1_000_000 };
    assert_eq!(kill(&[later]), 0);
    assert_eq!(kill(&[Left { tag: &tag, start_tick }]), 1);
    let status = ours.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    assert!(other.try_wait().unwrap().is_none(), "another tag's process lives");
    other.kill().unwrap();
    other.wait().unwrap();
  }
}
