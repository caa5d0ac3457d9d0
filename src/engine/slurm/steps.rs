//! The steps path: inside an allocation, each attempt is an `srun --exact` job step. The `srun`
//! process is the attempt's local process (its pipes carry the step's output, its exit is the
//! step's), and the step says where it runs in a first line on stderr, which is not the task's.

use crate::graph::{Program, Slurm};

/// What a step writes first on its stderr: its id and node. Starts with an ASCII record
/// separator, which no line of text starts with.
pub(crate) const MARK: &str = "\x1erunner-slurm ";

/// The shell that says where the step runs, then becomes the task's command.
const SAY_WHERE: &str = "printf '\\036runner-slurm %s.%s %s\\n' \"$SLURM_JOB_ID\" \"$SLURM_STEP_ID\" \"$SLURMD_NODENAME\" >&2; exec \"$@\"";

/// The `srun` command that runs `command` (an argv) as one step of `job`, named after the run so that
/// the run's steps can be found.
pub(crate) fn wrap(command: &[String], job: &str, run: &str, slurm: &Slurm) -> Program {
  let mut argv: Vec<String> =
    ["srun", "--exact", "--nodes=1", "--ntasks=1", "--quiet"].map(String::from).to_vec();
  argv.push(format!("--jobid={job}"));
  argv.push(format!("--job-name={run}"));
  argv.push("--kill-on-bad-exit=0".into());
  argv.extend(super::args::of(slurm, true));
  argv.extend(["--", "/bin/sh", "-c", SAY_WHERE, "runner-step"].map(String::from));
  argv.extend(command.iter().cloned());
  Program { argv, script: None, default_shell: false }
}

/// What a line of a step's stderr is.
#[derive(Debug, PartialEq)]
pub(crate) enum Line<'a> {
  /// The step's first line: its id and its node.
  Placed { id: &'a str, node: &'a str },
  /// What `srun` or `slurmstepd` says of the step's end, which the runner reports itself: the
  /// exit code or signal, a cancellation.
  Noise,
  /// The task's own line, or something Slurm says that the user should see.
  Task,
}

/// Tells the step's own lines from the task's: the runner's mark, and what Slurm says of every
/// step's end. Anything else Slurm says (an error starting the step) stays, as the task's
/// stderr.
pub(crate) fn classify(line: &[u8]) -> Line<'_> {
  let Ok(text) = std::str::from_utf8(line) else { return Line::Task };
  let text = text.trim_end_matches(['\n', '\r']);
  if let Some(rest) = text.strip_prefix(MARK) {
    let mut words = rest.split(' ');
    if let (Some(id), Some(node), None) = (words.next(), words.next(), words.next()) {
      return Line::Placed { id, node };
    }
  }
  if is_noise(text) { Line::Noise } else { Line::Task }
}

fn is_noise(text: &str) -> bool {
  if let Some(rest) = text.strip_prefix("srun: error: ") {
    // `n1: task 0: Exited with exit code 3`, `n1: task 0: Killed`, `... Terminated`
    let mut parts = rest.splitn(3, ": ");
    let (node, task, what) = (parts.next(), parts.next(), parts.next());
    return node.is_some_and(|n| !n.contains(' '))
      && task.is_some_and(|t| t.starts_with("task "))
      && what.is_some();
  }
  if let Some(rest) = text.strip_prefix("slurmstepd-") {
    let notice = rest.contains(": error: *** STEP ") || rest.contains(": error: *** JOB ");
    return notice && rest.ends_with(" ***");
  }
  text == "srun: forcing job termination"
    || text.starts_with("srun: Job step aborted: ")
    || (text.starts_with("srun: Job ") && text.contains(" step creation temporarily disabled"))
    || (text.starts_with("srun: Step created for "))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_mark_says_where_and_slurm_s_notes_on_an_end_are_not_the_task_s() {
    assert_eq!(classify(b"\x1erunner-slurm 12.3 n2\n"), Line::Placed { id: "12.3", node: "n2" });
    for noise in [
      "srun: error: n1: task 0: Exited with exit code 3",
      "srun: error: n2: task 0: Killed",
      "srun: error: n1: task 0: Terminated",
      "slurmstepd-n1: error: *** STEP 1.3 ON n1 CANCELLED AT 2026-12-04T18:37:01 ***",
      "slurmstepd-n1: error: *** JOB 903 ON n1 CANCELLED AT 2026-12-04T19:05:29 ***",
      "srun: forcing job termination",
      "srun: Job step aborted: Waiting up to 7 seconds for job step to finish.",
      "srun: Job 5 step creation temporarily disabled, retrying (Requested nodes are busy)",
      "srun: Step created for StepId=5.3",
    ] {
      assert_eq!(classify(format!("{noise}\n").as_bytes()), Line::Noise, "{noise}");
    }
    for task in [
      "srun: error: Unable to create step for job 5: Invalid job id specified",
      "error: n1: task 0: something",
      "\x1erunner-slurm too many words here",
      "plain",
    ] {
      assert_eq!(classify(task.as_bytes()), Line::Task, "{task}");
    }
    assert_eq!(classify(&[0xff, b'\n']), Line::Task);
  }

  #[test]
  fn a_step_runs_the_command_after_saying_where() {
    let command = ["sh", "-c", "echo hi"].map(String::from);
    let wrapped = wrap(&command, "7", "run-1", &Slurm { cpus: Some(2), ..Slurm::default() });
    let at = wrapped.argv.iter().position(|a| a == "--").expect("--");
    assert!(wrapped.argv[..at].contains(&"--jobid=7".to_string()));
    assert!(wrapped.argv[..at].contains(&"--cpus-per-task=2".to_string()));
    assert_eq!(&wrapped.argv[at + 1..at + 3], ["/bin/sh", "-c"]);
    assert_eq!(wrapped.argv[at + 4..], ["runner-step", "sh", "-c", "echo hi"]);
    let out = std::process::Command::new("/bin/sh")
      .args(&wrapped.argv[at + 2..])
      .env("SLURM_JOB_ID", "7")
      .env("SLURM_STEP_ID", "0")
      .env("SLURMD_NODENAME", "n1")
      .output()
      .expect("sh");
    assert_eq!(out.stdout, b"hi\n");
    assert_eq!(classify(&out.stderr), Line::Placed { id: "7.0", node: "n1" });
  }
}
