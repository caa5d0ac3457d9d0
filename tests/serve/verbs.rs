//! Every client verb, on the unix socket and over TCP.

use super::Daemon;
use crate::support::Test;

const JOB: &str = "
  tasks:
    one:
      run: echo hello from one
    two:
      needs: [one]
      run: echo two; exit 3
";

#[test]
fn submit_wait_exits_with_the_run_s_code_on_both_transports() {
  for tcp in [false, true] {
    let test = Test::with_job(JOB);
    let daemon =
      if tcp { Daemon::tcp(&test, &["-j", "2"]) } else { Daemon::start(&test, &["-j", "2"]) };
    let run = daemon.run(&["submit", "job.yaml", "--wait"]);
    assert_eq!(
      run.code, 1,
      "a failed run exits 1, as `runner run` does (tcp {tcp}): {}",
      run.stderr
    );
    assert_eq!(run.stdout.trim(), "r1");
    let run = daemon.run(&["submit", "job.yaml", "one", "--wait"]);
    assert_eq!((run.code, run.stdout.trim()), (0, "r2"), "tcp {tcp}: {}", run.stderr);
    let status = daemon.status();
    let states: Vec<_> =
      status["runs"].as_array().unwrap().iter().map(|r| r["state"].clone()).collect();
    assert_eq!(states, [serde_json::json!("failed"), serde_json::json!("succeeded")]);
  }
}
