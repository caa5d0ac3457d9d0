//! Stopping the run's jobs and steps through Slurm: one `scancel` call for all that one stop
//! names.

use super::command::{self, Client};
use crate::engine::launcher::Stop;
use crate::engine::reactor::spawn_local;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

/// The signal a stop sends.
pub(super) fn signal(how: Stop) -> i32 {
  if how == Stop::Forced { libc::SIGKILL } else { libc::SIGTERM }
}

/// One `scancel` call for `ids`. A graceful stop is SIGTERM to every process of each job. A
/// kill is SIGUSR2 to each job's wrapper alone, which kills its command's process group at
/// once (Slurm's own SIGKILL to every process reaches a process only while its parent lives,
/// and the rest seconds later); what a wrapper did not end in [`KILL_FALLBACK`] is killed by
/// Slurm. `live` tells which jobs have not ended yet.
pub(super) fn cancel(
  live: impl Fn(&str) -> bool + 'static,
  client: &Rc<Client>,
  ids: Vec<String>,
  how: Stop,
) {
  let signal = if how == Stop::Forced { "--batch --signal=USR2" } else { "--full --signal=TERM" };
  let client = client.clone();
  spawn_local(async move {
    scancel(&client, signal, ids.clone(), true).await;
    if how != Stop::Forced {
      return;
    }
    async_std::task::sleep(KILL_FALLBACK).await;
    let left: Vec<String> = ids.into_iter().filter(|id| live(id)).collect();
    if !left.is_empty() {
      scancel(&client, "--full --signal=KILL", left, true).await;
    }
  });
}

/// One plain `scancel` call for jobs that may not run yet: Slurm cancels them whatever their
/// state (a running one gets SIGTERM, then SIGKILL after the cluster's KillWait).
pub(super) fn withdraw(client: &Rc<Client>, ids: Vec<String>) {
  let client = client.clone();
  spawn_local(async move { scancel(&client, "", ids, true).await });
}

/// How long a killed job's wrapper has to end it before Slurm kills every process of the job.
const KILL_FALLBACK: Duration = Duration::from_secs(3);

/// One `scancel` call for job steps `ids` (`12.3`): SIGTERM or SIGKILL to the step's tasks.
/// scancel of a step with a signal signals it, and may still fail saying the job id is invalid:
/// its failures are not counted.
pub(in crate::engine) fn steps(client: &Rc<Client>, ids: Vec<String>, how: Stop) {
  let signal = if how == Stop::Forced { "--signal=KILL" } else { "--signal=TERM" };
  let client = client.clone();
  spawn_local(async move { scancel(&client, signal, ids, false).await });
}

/// Runs `scancel OPTIONS IDS...` (`options`: words separated by spaces), and counts the call,
/// and its failure when `failures` says so.
async fn scancel(client: &Client, options: &str, ids: Vec<String>, failures: bool) {
  let words = std::iter::once("scancel").chain(options.split_whitespace()).map(String::from);
  let argv: Vec<String> = words.chain(ids).collect();
  let answer = command::run(client, argv, &[], Path::new("/")).await;
  client.count(|c| {
    c.cancels += 1;
    c.failed += u64::from(failures && !answer.ok());
  });
}
