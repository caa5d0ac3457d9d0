//! What the loop shares with the futures it spawns: the launcher, the inbox, and the live
//! processes by what they run, so that an order to stop one finds its process group. Everything
//! here runs on the loop's thread.

use super::inbox::Inbox;
use super::launcher::{Child, Launch, Launcher, Stop};
use crate::scheduler::Proc;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// A live process: the leader of its group, and whether it was told to stop.
struct Live {
  pid: i32,
  stopping: bool,
}

pub(super) struct Shared {
  pub launcher: RefCell<Launcher>,
  pub inbox: Inbox,
  live: RefCell<HashMap<Proc, Live>>,
}

impl Shared {
  pub(super) fn new(inbox: Inbox) -> Self {
    Self { launcher: RefCell::new(Launcher::new()), inbox, live: RefCell::default() }
  }

  /// Starts a program for `proc` as the leader of its own process group and records it live.
  pub(super) fn spawn(&self, proc: Proc, launch: &Launch) -> std::io::Result<Child> {
    let child = self.launcher.borrow_mut().spawn(launch)?;
    self.live.borrow_mut().insert(proc, Live { pid: child.pid, stopping: false });
    Ok(child)
  }

  /// `proc`'s process was reaped: it can no longer be signalled.
  pub(super) fn ended(&self, proc: Proc) {
    self.live.borrow_mut().remove(&proc);
  }

  /// Stops `procs`, all at once; from now on their output is not waited for once they have
  /// exited.
  pub(super) fn stop(&self, procs: &[Proc], how: Stop) {
    if procs.is_empty() {
      return;
    }
    let mut live = self.live.borrow_mut();
    let mut leaders = HashSet::new();
    for proc in procs {
      if let Some(process) = live.get_mut(proc) {
        process.stopping = true;
        leaders.insert(process.pid);
      }
    }
    self.launcher.borrow().stop(&leaders, how);
  }

  pub(super) fn is_stopping(&self, proc: Proc) -> bool {
    self.live.borrow().get(&proc).is_some_and(|p| p.stopping)
  }

  /// Kills every live process at once, with their descendants in other groups.
  pub(super) fn kill_all(&self) {
    let leaders: HashSet<i32> = self.live.borrow().values().map(|p| p.pid).collect();
    self.launcher.borrow().stop(&leaders, Stop::Forced);
  }
}
