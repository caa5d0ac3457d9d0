//! Signalling and reaping: a task's process group and the descendants that left it, and the
//! wait for a child's exit. What to signal and when is the scheduler's to say.

use super::tree::{Tree, alive, own_children, tag};
use crate::engine::reactor::Source;
use crate::event::Exit;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

thread_local! {
  /// The runner's children that a run supervises: its attempts' leaders (until reaped) and its
  /// watchdog. Any other child is an orphan, re-parented to the runner. With many runs on one
  /// loop (`runner serve`), another run's leaders are never taken for orphans.
  static CLAIMED: RefCell<HashSet<i32>> = RefCell::new(HashSet::new());
}

/// Child `pid` is supervised by a run: no sweep signals or reaps it as an orphan.
pub(crate) fn claim(pid: i32) {
  CLAIMED.with(|c| c.borrow_mut().insert(pid));
}

fn unclaim(pid: i32) {
  CLAIMED.with(|c| c.borrow_mut().remove(&pid));
}

fn claimed(pid: i32) -> bool {
  CLAIMED.with(|c| c.borrow().contains(&pid))
}

/// Ends watchdog `pid` (SIGKILL) and reaps it.
pub(crate) fn end_child(pid: i32) {
  // SAFETY: kill and waitpid have no memory-safety preconditions; `pid` is our child.
  unsafe {
    libc::kill(pid, libc::SIGKILL);
    libc::waitpid(pid, std::ptr::null_mut(), 0);
  }
  unclaim(pid);
}

/// Sends `signal` to every process of the group led by `pid`.
pub(crate) fn signal_group(pid: i32, signal: i32) {
  // SAFETY: kill has no memory-safety preconditions; a stale group yields ESRCH, ignored.
  unsafe {
    libc::kill(-pid, signal);
  }
}

/// Reaps a child known to have exited, so the call returns at once.
pub(crate) fn reap(pid: i32) -> Exit {
  let mut status = 0;
  // SAFETY: waitpid writes only to `status`.
  let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
  unclaim(pid);
  if reaped < 0 {
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

/// What is known of one attempt being stopped: its leader while it runs, its serial (the
/// [`TAG`](super::tree::TAG) its processes carry), and every process of it seen so far outside
/// its group, which stays marked for the kill after the grace even once the leader is gone.
#[derive(Debug, Default)]
pub(crate) struct Attempt {
  pub leader: Option<i32>,
  pub serial: u64,
  pub seen: Vec<(i32, u64)>,
}

/// Sends `signal` to every process of `attempts`: the groups of their running leaders, then
/// every process of theirs outside those groups, found by one look at /proc for all of them:
/// the leaders' descendants, those seen before, and the runner's orphans (descendants whose
/// parent died, re-parented to the runner) that carry an attempt's tag, with their own
/// descendants. What is found is added to each attempt's `seen`.
///
/// Without a running leader, /proc is read only if something of the attempts may be left: a
/// process seen before still there, or an orphan of the runner's. `leaders` tells the pids
/// that lead a running attempt, any attempt.
///
/// The groups are signalled first: a shell that waits for a descendant (`timeout 60 make; echo
/// done`) must not see it end and go on to its next command.
pub(crate) fn signal_attempts(
  attempts: &mut [&mut Attempt],
  signal: i32,
  run: &str,
  leaders: &HashSet<i32>,
  keep: i32,
) {
  let running = attempts.iter().any(|a| a.leader.is_some());
  let left = || attempts.iter().any(|a| a.seen.iter().any(|&(pid, start)| alive(pid, start)));
  let orphans = || {
    let unclaimed = |pid: i32| !leaders.contains(&pid) && pid != keep && !claimed(pid);
    own_children().is_none_or(|c| c.into_iter().any(unclaimed))
  };
  if attempts.is_empty() || !(running || left() || orphans()) {
    return;
  }
  let tree = Tree::read();
  let serials: HashMap<u64, usize> =
    attempts.iter().enumerate().map(|(i, a)| (a.serial, i)).collect();
  let mut roots: Vec<Vec<i32>> = vec![Vec::new(); attempts.len()];
  let me = std::process::id() as i32;
  for &pid in tree.children(me) {
    if pid == keep || leaders.contains(&pid) || claimed(pid) {
      continue;
    }
    if let Some(&i) = tag(pid, run).and_then(|serial| serials.get(&serial)) {
      roots[i].push(pid);
    }
  }
  for (attempt, roots) in attempts.iter_mut().zip(&mut roots) {
    let known =
      attempt.seen.iter().filter(|&&(pid, start)| tree.get(pid).is_some_and(|p| p.start == start));
    roots.extend(known.map(|&(pid, _)| pid));
    roots.extend(attempt.leader);
    let mut found: Vec<i32> = roots.iter().flat_map(|&root| tree.descendants(root)).collect();
    found.extend(roots.iter().filter(|&&pid| Some(pid) != attempt.leader));
    found.sort_unstable();
    found.dedup();
    found.retain(|pid| tree.get(*pid).is_some_and(|p| Some(p.group) != attempt.leader));
    attempt.seen = found.iter().filter_map(|&pid| tree.get(pid).map(|p| (pid, p.start))).collect();
  }
  for leader in attempts.iter().filter_map(|a| a.leader) {
    signal_group(leader, signal);
  }
  for &(pid, _) in attempts.iter().flat_map(|a| &a.seen) {
    // SAFETY: kill has no memory-safety preconditions; a pid gone meanwhile yields ESRCH.
    unsafe { libc::kill(pid, signal) };
  }
}

/// Sends `signal` to every process of a run: the groups of `leaders` first, then each process
/// under them and each orphan of the run (a child of the runner no run claims), with their
/// descendants. `served`: the run's tag, when runs share the runner (`runner serve`): then only
/// orphans that carry it are the run's. Orphans that ended are reaped, whoever's they were.
/// Returns how many processes there were; reads /proc only when some may be left.
pub(crate) fn signal_everything(leaders: &[i32], signal: i32, served: Option<&str>) -> usize {
  for &leader in leaders {
    signal_group(leader, signal);
  }
  let children = own_children();
  let orphans: Vec<i32> = children.iter().flatten().copied().filter(|&p| !claimed(p)).collect();
  if leaders.is_empty() && orphans.is_empty() && children.is_some() {
    return 0;
  }
  let tree = Tree::read();
  let me = std::process::id() as i32;
  // From the tree, not from the look before it: a leader killed just now leaves its children
  // to the runner meanwhile.
  let orphans: Vec<i32> = tree.children(me).iter().copied().filter(|&p| !claimed(p)).collect();
  let mut roots: Vec<i32> = leaders.to_vec();
  for pid in orphans {
    match tree.get(pid) {
      Some(proc) if proc.zombie => reap_orphan(pid),
      Some(_) if served.is_none_or(|run| tag(pid, run).is_some()) => roots.push(pid),
      _ => {}
    }
  }
  let mut everything: Vec<i32> = roots.iter().flat_map(|&root| tree.descendants(root)).collect();
  everything.extend(&roots);
  everything.sort_unstable();
  everything.dedup();
  for &pid in &everything {
    let Some(proc) = tree.get(pid) else { continue };
    if proc.zombie && proc.parent == me && !leaders.contains(&pid) {
      reap_orphan(pid);
    } else if !proc.zombie {
      // SAFETY: kill has no memory-safety preconditions; a pid gone meanwhile yields ESRCH.
      unsafe { libc::kill(pid, signal) };
    }
  }
  everything.len()
}

/// Reaps an orphan that ended: a descendant of a task re-parented to the runner, which no
/// `supervise` waits for.
fn reap_orphan(pid: i32) {
  let mut status = 0;
  // SAFETY: waitpid writes only to `status`; WNOHANG never blocks.
  unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
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
