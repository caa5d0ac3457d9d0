//! Running one of Slurm's commands (`sbatch`, `squeue`, `scancel`) from the loop without
//! blocking it: a child of the runner like a task's (its own process group, pipes read by the
//! reactor), its output kept whole, and a deadline after which it is killed, so that a
//! controller that does not answer costs a bounded time.

use crate::engine::kill;
use crate::engine::launcher::{Ends, Launch, Launcher};
use crate::engine::reactor::Source;
use crate::event::SlurmCalls;
use crate::graph::Program;
use futures_lite::FutureExt;
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

/// How long a Slurm command may take. Slurm's clients give up on a controller that does not
/// answer after about 10 s (MessageTimeout and its retries); past this they are killed.
pub(in crate::engine) const DEADLINE: Duration = Duration::from_secs(30);

/// What runs Slurm's commands: the run's launcher, and the count of the calls made.
pub(in crate::engine) struct Client {
  pub launcher: Rc<RefCell<Launcher>>,
  pub calls: Rc<RefCell<SlurmCalls>>,
}

impl Client {
  /// Counts a call.
  pub(in crate::engine) fn count(&self, f: impl FnOnce(&mut SlurmCalls)) {
    f(&mut self.calls.borrow_mut());
  }
}

/// What a command said and how it ended.
#[derive(Debug)]
pub(in crate::engine) struct Answer {
  /// Its exit code; None when it was killed at its deadline or could not start.
  pub code: Option<i32>,
  pub stdout: String,
  pub stderr: String,
}

impl Answer {
  pub(in crate::engine) fn ok(&self) -> bool {
    self.code == Some(0)
  }

  /// Why it failed, in one line: its first line of stderr, or how it ended.
  pub(in crate::engine) fn why(&self) -> String {
    let first = self.stderr.lines().map(str::trim).find(|l| !l.is_empty());
    match (first, self.code) {
      (Some(line), _) => line.to_string(),
      (None, Some(code)) => format!("exit code {code}"),
      (None, None) => format!("no answer in {}s", DEADLINE.as_secs()),
    }
  }
}

/// Runs `argv` with `env` over the runner's environment, in `cwd`, to its end or its deadline.
pub(in crate::engine) async fn run(
  client: &Client,
  argv: Vec<String>,
  env: &[(String, String)],
  cwd: &Path,
) -> Answer {
  let program = Program { argv, script: None, default_shell: false };
  let launch = Launch { program: &program, env, cwd, ends: Ends::Close };
  let child = match client.launcher.borrow_mut().spawn(&launch) {
    Ok(child) => child,
    Err(err) => {
      let stderr = format!("cannot start `{}`: {err}", program.argv[0]);
      return Answer { code: None, stdout: String::new(), stderr };
    }
  };
  let pid = child.pid;
  let pidfd = child.pidfd.and_then(|fd| Source::once(fd).ok());
  let reading = futures_lite::future::zip(read_all(&child.stdout), read_all(&child.stderr));
  let finished = async {
    let (stdout, stderr) = reading.await;
    kill::wait_exit(pid, pidfd.as_ref()).await;
    Some((stdout, stderr))
  };
  let late = async {
    async_std::task::sleep(DEADLINE).await;
    None
  };
  let ended = finished.or(late).await;
  if ended.is_none() {
    kill::signal_group(pid, libc::SIGKILL);
    kill::wait_exit(pid, pidfd.as_ref()).await;
  }
  let exit = kill::reap(pid);
  if ended.is_some() {
    // Both pipes were read to their end: they can serve another child.
    let mut launcher = client.launcher.borrow_mut();
    launcher.give_back(child.stdout);
    launcher.give_back(child.stderr);
  }
  let failed = child.failed.error().map(|err| format!("cannot start `{}`: {err}", program.argv[0]));
  match ended {
    Some((stdout, stderr)) => Answer {
      code: if failed.is_some() { None } else { exit.code.or(exit.signal.map(|s| 128 + s)) },
      stdout,
      stderr: failed.unwrap_or(stderr),
    },
    None => Answer { code: None, stdout: String::new(), stderr: String::new() },
  }
}

/// Reads a pipe to its end, as text.
async fn read_all(pipe: &Source) -> String {
  let mut out = Vec::new();
  let mut buf = [0u8; 4096];
  while let Ok(n) = pipe.read(&mut buf).await {
    if n == 0 {
      break;
    }
    out.extend_from_slice(&buf[..n]);
  }
  String::from_utf8_lossy(&out).into_owned()
}
