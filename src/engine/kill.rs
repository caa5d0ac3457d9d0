//! Signalling and reaping: a task's process group and the descendants that left it, and the
//! wait for a child's exit. What to signal and when is the scheduler's to say.

use crate::engine::reactor::Source;
use crate::event::Exit;
use std::collections::HashMap;
use std::time::Duration;

/// Sends `signal` to every process of the group led by `pid`.
pub(crate) fn signal_group(pid: i32, signal: i32) {
  // SAFETY: kill has no memory-safety preconditions; a stale group yields ESRCH, ignored.
  unsafe {
    libc::kill(-pid, signal);
  }
}

/// Every descendant of the processes `leaders` names that is outside their groups. Reads all of
/// /proc: for stopping processes, once per batch, not for every task's end.
fn descendants(leaders: impl Fn(i32) -> bool) -> Vec<i32> {
  let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
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
  let mut found = Vec::new();
  let mut stack: Vec<i32> = children.keys().copied().filter(|&pid| leaders(pid)).collect();
  while let Some(parent) = stack.pop() {
    for &(pid, group) in children.get(&parent).map_or(&[][..], Vec::as_slice) {
      if !leaders(group) {
        found.push(pid);
      }
      stack.push(pid);
    }
  }
  found
}

/// The parent and process group in a /proc/PID/stat line (`pid (comm) state ppid pgrp ...`;
/// the command name may hold spaces and parentheses).
fn parent_and_group(stat: &str) -> Option<(i32, i32)> {
  let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(1);
  Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Reaps a child known to have exited, so the call returns at once.
pub(crate) fn reap(pid: i32) -> Exit {
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

/// Waits for the group leader to exit, then ends whatever the task left behind in its group.
/// The leader is left to reap ([`reap`]), so that its pid, and so its group, cannot be reused
/// until the caller is done with them.
pub(crate) async fn wait_exit(pid: i32, pidfd: Option<&Source>) {
  // Without a pidfd (kernels before 5.2), the exit is polled for.
  match pidfd {
    Some(fd) => fd.readable().await,
    None => poll_exit(pid).await,
  }
  // The leader is a zombie until reaped, so its group id cannot be reused yet.
  signal_group(pid, libc::SIGKILL);
}

/// Sends `signal` to every process group `leaders` leads, and to their descendants in other
/// groups, with one look at /proc for all of them.
///
/// The descendants are found first, through the groups' leaders: once a leader has exited they
/// are another process's children. The groups are signalled first: a shell that waits for a
/// descendant (`timeout 60 make; echo done`) must not see it end and go on to its next command.
pub(crate) fn signal_all(leaders: &std::collections::HashSet<i32>, signal: i32) {
  if leaders.is_empty() {
    return;
  }
  let outside = descendants(|leader| leaders.contains(&leader));
  for &pid in leaders {
    signal_group(pid, signal);
  }
  for pid in outside {
    // SAFETY: kill has no memory-safety preconditions; a pid gone meanwhile yields ESRCH.
    unsafe { libc::kill(pid, signal) };
  }
}

/// Without pidfd (old kernels): check for the exit every few milliseconds.
async fn poll_exit(pid: i32) {
  let mut polls = 0;
  loop {
    // SAFETY: a siginfo_t is plain data, valid when zeroed.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: WNOWAIT leaves the child waitable; only `info` is written.
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
