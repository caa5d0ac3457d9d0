//! What Slurm says of the run's jobs: one `squeue` call for all of them (never `--json`, which
//! ignores every filter on 22.05 and returns the whole cluster), and `sacct` where accounting
//! answers.

use super::command::{self, Answer, Client};
use std::collections::HashMap;
use std::path::Path;

/// One job as squeue lists it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
  pub state: String,
  pub reason: String,
  pub node: String,
}

/// Asks squeue about every job named `run`, in every state it still holds.
pub(crate) async fn ask(client: &Client, run: &str) -> Answer {
  let argv = ["squeue", "-h", "-t", "all", &format!("--name={run}"), "-o", "%i|%T|%r|%N"];
  command::run(client, argv.map(String::from).to_vec(), &[], Path::new("/")).await
}

/// squeue's lines, `12|RUNNING|None|n2`, by job id.
pub(crate) fn parse(text: &str) -> HashMap<String, Seen> {
  text
    .lines()
    .filter_map(|line| {
      let mut fields = line.trim().splitn(4, '|');
      let id = fields.next().filter(|id| !id.is_empty())?;
      let state = fields.next()?.to_string();
      let reason = fields.next().unwrap_or_default().to_string();
      let node = fields.next().unwrap_or_default().to_string();
      Some((id.to_string(), Seen { state, reason, node }))
    })
    .collect()
}

/// Whether a job in this state has ended (Slurm's job states, `squeue --help`).
pub(crate) fn ended(state: &str) -> bool {
  !matches!(
    state,
    "PENDING"
      | "RUNNING"
      | "CONFIGURING"
      | "COMPLETING"
      | "SUSPENDED"
      | "REQUEUED"
      | "RESIZING"
      | "SIGNALING"
      | "STAGE_OUT"
      | "STOPPED"
      | "RESV_DEL_HOLD"
      | "REQUEUE_FED"
      | "REQUEUE_HOLD"
  )
}

/// sacct's lines, `12|FAILED|3:0`, as exit codes by job id (a signal N reads as 128 + N).
pub(crate) fn parse_sacct(text: &str) -> HashMap<String, i32> {
  text
    .lines()
    .filter_map(|line| {
      let mut fields = line.trim().split('|');
      let (id, _state, code) = (fields.next()?, fields.next()?, fields.next()?);
      let (code, signal) = code.split_once(':')?;
      let (code, signal): (i32, i32) = (code.parse().ok()?, signal.parse().ok()?);
      Some((id.to_string(), if signal > 0 { 128 + signal } else { code }))
    })
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn squeue_lines_by_job() {
    let seen = parse("12|RUNNING|None|n2\n13|PENDING|Resources|\n\n14|NODE_FAIL|NodeDown|n3\n");
    assert_eq!(seen.len(), 3);
    assert_eq!(
      seen["12"],
      Seen { state: "RUNNING".into(), reason: "None".into(), node: "n2".into() }
    );
    assert_eq!(seen["13"].node, "");
    assert!(ended(&seen["14"].state) && !ended(&seen["13"].state) && !ended("COMPLETING"));
    assert!(ended("COMPLETED") && ended("CANCELLED") && ended("TIMEOUT") && ended("OUT_OF_MEMORY"));
  }

  #[test]
  fn sacct_codes_and_signals() {
    let codes = parse_sacct("12|FAILED|3:0\n13|CANCELLED|0:15\nbad\n14|COMPLETED|0:0\n");
    assert_eq!((codes["12"], codes["13"], codes["14"]), (3, 143, 0));
    assert_eq!(codes.len(), 3);
  }
}
