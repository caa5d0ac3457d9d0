//! The script every Slurm batch job of the runner runs: the attempt's command in a process group
//! of its own, stops passed on to that group, and the command's exit code and node written to
//! the exit file the jobs path waits for.

/// The wrapper every job runs: the command, then its exit code and node into the exit file,
/// written whole (a temporary file, then a rename) so a reader never sees half of it.
pub(super) const WRAPPER: &str = r#"#!/bin/sh
# Written by runner: one attempt of a task as a Slurm batch job. $1 is the exit file.
# The command runs in a process group of its own (setsid), so that a stop reaches all of it:
# SIGTERM and SIGINT are passed on to the group, SIGUSR2 (the runner's kill) kills it; before
# the group exists, the child alone.
exit_file=$1
shift
child=
pending=
# pass SIGNAL: to the command's group (before the group exists, to the command alone); a signal
# that comes before the command started is passed on once it has.
pass() {
  pending=$1
  [ -n "$child" ] || return 0
  kill -"$1" -"$child" 2>/dev/null || kill -"$1" "$child" 2>/dev/null
}
trap 'pass 15' TERM
trap 'pass 2' INT
trap 'pass 9' USR2
# The command's stderr is the job's; the wrapper's own (a shell's `Terminated`) is not.
exec 3>&2 2>/dev/null
setsid "$@" 2>&3 3>&- &
child=$!
[ -n "$pending" ] && pass "$pending"
# A trap interrupts `wait`: wait again while the command runs. Its status is then the last wait's,
# unless that wait was interrupted after the command died: then one more wait tells it (and a
# command already waited for answers 127).
while :; do
  wait "$child"
  code=$?
  kill -0 "$child" 2>/dev/null || break
done
wait "$child" 2>/dev/null
again=$?
[ "$again" != 127 ] && code=$again
printf '%s %s\n' "$code" "${SLURMD_NODENAME:-}" > "$exit_file.tmp" && mv -f "$exit_file.tmp" "$exit_file"
exit "$code"
"#;

#[cfg(test)]
mod tests {
  use super::*;
  use std::time::{Duration, Instant};

  #[test]
  fn the_wrapper_writes_the_exit_code_and_node_and_passes_a_stop_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let wrapper = dir.path().join("job.sh");
    std::fs::write(&wrapper, WRAPPER).expect("write");
    let exit = dir.path().join("1.exit");
    let status = std::process::Command::new("/bin/sh")
      .arg(&wrapper)
      .arg(&exit)
      .args(["sh", "-c", "echo out; exit 3"])
      .env("SLURMD_NODENAME", "n2")
      .status()
      .expect("sh");
    assert_eq!(status.code(), Some(3));
    assert_eq!(std::fs::read_to_string(&exit).expect("exit file"), "3 n2\n");
    let mut child = std::process::Command::new("/bin/sh")
      .arg(&wrapper)
      .arg(&exit)
      .args(["sleep", "30"])
      .spawn()
      .expect("sh");
    std::fs::remove_file(&exit).expect("rm");
    // The wrapper set its traps before it started its child; the child is `sleep` once exec'd.
    let started = Instant::now();
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let is_sleep = |pid: &str| {
      std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "sleep\n")
    };
    while started.elapsed() < Duration::from_secs(10) {
      let pids = std::fs::read_to_string(&children).unwrap_or_default();
      if pids.split_whitespace().any(is_sleep) {
        break;
      }
      std::thread::yield_now();
    }
    // SAFETY: signals a child of this test.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().expect("wait").code(), Some(143));
    assert_eq!(std::fs::read_to_string(&exit).expect("exit file"), "143 \n");
  }

  #[test]
  fn the_wrapper_kills_its_command_s_whole_group_on_sigusr2() {
    let dir = tempfile::tempdir().expect("tmp");
    let wrapper = dir.path().join("job.sh");
    std::fs::write(&wrapper, WRAPPER).expect("write");
    let exit = dir.path().join("1.exit");
    // A command that ignores SIGTERM and has a child of its own.
    let ready = dir.path().join("ready");
    let script = format!("trap '' TERM; sleep 30 & touch {}; wait", ready.display());
    let mut child = std::process::Command::new("/bin/sh")
      .arg(&wrapper)
      .arg(&exit)
      .args(["sh", "-c", &script])
      .spawn()
      .expect("sh");
    let started = Instant::now();
    while !ready.exists() && started.elapsed() < Duration::from_secs(10) {
      std::thread::yield_now();
    }
    // SAFETY: signals a child of this test.
    unsafe { libc::kill(child.id() as i32, libc::SIGUSR2) };
    assert_eq!(child.wait().expect("wait").code(), Some(137));
    assert_eq!(std::fs::read_to_string(&exit).expect("exit file"), "137 \n");
  }
}
