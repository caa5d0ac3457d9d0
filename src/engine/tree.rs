//! The runner's process tree, read from /proc in one pass: each process's parent, group, start
//! time and state, and the tag a task's processes carry in their environment. Read once per
//! batch of stops, never per task's end.

use std::collections::HashMap;

/// The environment variable that tags every process of a task's attempt: the run's id, then
/// the attempt's serial number (`RUNNER_TAG=<run>/<serial>`). A process that left its task's
/// process group, and whose parent is gone, is still found by it.
pub(crate) const TAG: &str = "RUNNER_TAG";

/// How a run on Slurm is named: its jobs and steps carry the name, and so does its [`TAG`].
pub(crate) const SLURM_RUN: &str = "runner-";

/// A process, as its /proc/PID/stat shows it; `start` (in clock ticks since boot) tells it
/// from a later process with the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Proc {
  pub parent: i32,
  pub group: i32,
  pub start: u64,
  pub zombie: bool,
}

/// Every process the runner may see, by pid, and the children of each.
#[derive(Default)]
pub(crate) struct Tree {
  procs: HashMap<i32, Proc>,
  children: HashMap<i32, Vec<i32>>,
}

impl Tree {
  /// All of /proc, once.
  pub(crate) fn read() -> Self {
    let mut tree = Tree::default();
    let Ok(dir) = std::fs::read_dir("/proc") else { return tree };
    for entry in dir.flatten() {
      let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
        continue;
      };
      if let Some(proc) = stat(pid) {
        tree.children.entry(proc.parent).or_default().push(pid);
        tree.procs.insert(pid, proc);
      }
    }
    tree
  }

  pub(crate) fn get(&self, pid: i32) -> Option<&Proc> {
    self.procs.get(&pid)
  }

  pub(crate) fn children(&self, pid: i32) -> &[i32] {
    self.children.get(&pid).map_or(&[], Vec::as_slice)
  }

  /// `root`'s descendants (not `root` itself), parents before their children.
  pub(crate) fn descendants(&self, root: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(parent) = stack.pop() {
      for &pid in self.children(parent) {
        found.push(pid);
        stack.push(pid);
      }
    }
    found
  }
}

/// One process's /proc/PID/stat: `pid (comm) state ppid pgrp session tty tpgid flags minflt
/// cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue
/// starttime ...`; the command name may hold spaces and parentheses.
pub(crate) fn stat(pid: i32) -> Option<Proc> {
  let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
  parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Proc> {
  let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
  let state = fields.next()?;
  let parent = fields.next()?.parse().ok()?;
  let group = fields.next()?.parse().ok()?;
  let start = fields.nth(16)?.parse().ok()?;
  Some(Proc { parent, group, start, zombie: state == "Z" })
}

/// The attempt serial in `pid`'s [`TAG`], when it is of run `run`.
pub(crate) fn tag(pid: i32, run: &str) -> Option<u64> {
  let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
  tag_in(&environ, run)
}

fn tag_in(environ: &[u8], run: &str) -> Option<u64> {
  let prefix = format!("{TAG}={run}/");
  let var = environ.split(|&b| b == 0).find(|var| var.starts_with(prefix.as_bytes()))?;
  std::str::from_utf8(&var[prefix.len()..]).ok()?.parse().ok()
}

/// Whether the process `pid` started at `start` is still there (a zombie is not).
pub(crate) fn alive(pid: i32, start: u64) -> bool {
  stat(pid).is_some_and(|proc| proc.start == start && !proc.zombie)
}

/// The runner's own children, from /proc/self/task/*/children (one line per thread); None
/// where the kernel has no such file.
pub(crate) fn own_children() -> Option<Vec<i32>> {
  let mut children = Vec::new();
  for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
    let text = std::fs::read_to_string(entry.path().join("children")).ok()?;
    children.extend(text.split_whitespace().filter_map(|pid| pid.parse::<i32>().ok()));
  }
  Some(children)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_stat_line_gives_parent_group_start_and_state() {
    let line = "42 (a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 1 2 3";
    let proc = parse_stat(line).unwrap();
    assert_eq!(proc, Proc { parent: 7, group: 42, start: 123456, zombie: false });
    let zombie = "9 (sh) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77 0 0";
    assert!(parse_stat(zombie).unwrap().zombie);
  }

  #[test]
  fn the_tag_is_found_only_for_its_own_run() {
    let environ = b"HOME=/root\0RUNNER_TAG=123-9/17\0PATH=/bin\0";
    assert_eq!(tag_in(environ, "123-9"), Some(17));
    assert_eq!(tag_in(environ, "123-8"), None);
    assert_eq!(tag_in(b"RUNNER_TAG=123-9/x\0", "123-9"), None);
  }

  #[test]
  fn the_runner_sees_its_own_children_and_their_descendants() {
    let mut child =
      std::process::Command::new("sh").args(["-c", "sleep 5 & wait"]).spawn().unwrap();
    let pid = child.id() as i32;
    let sleeper = loop {
      let tree = Tree::read();
      if let Some(&sleeper) = tree.children(pid).first() {
        assert!(tree.descendants(std::process::id() as i32).contains(&sleeper));
        break sleeper;
      }
      std::thread::yield_now();
    };
    assert!(own_children().unwrap().contains(&pid));
    let start = stat(sleeper).unwrap().start;
    assert!(alive(sleeper, start));
    assert!(!alive(sleeper, start + 1));
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(sleeper, libc::SIGKILL) };
    child.wait().unwrap();
  }
}
