//! `--follow` and `logs`: what a client sees of a run as it goes.

use super::verbs::{Pending, daemon, entry, wait_file, wait_state};
use crate::support::{PATIENCE, Test, events, read, sleeping, wait_until};
use serde_json::Value;

const JOB: &str = "
  tasks:
    build:
      run: echo compiling; echo built
    warn:
      needs: [build]
      run: echo careful >&2
    test:
      needs: [warn]
      run: echo testing; exit 4
";

/// `text` with each duration (`5ms`, `1.25s`, `1m05s`) as `D` and each run of spaces as one, so
/// that two runs of one file read the same whatever their timings.
fn timeless(text: &str) -> String {
  let word = |w: &str| {
    let core = w.trim_end_matches([':', ',', ')', ';']);
    match is_duration(core) {
      true => format!("D{}", &w[core.len()..]),
      false => w.to_string(),
    }
  };
  let line = |l: &str| l.split_whitespace().map(word).collect::<Vec<_>>().join(" ");
  text.lines().map(line).collect::<Vec<_>>().join("\n")
}

fn is_duration(word: &str) -> bool {
  let number = |s: &str| {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
  };
  if let Some(ms) = word.strip_suffix("ms") {
    return number(ms);
  }
  let Some(s) = word.strip_suffix('s') else { return false };
  match s.split_once('m') {
    Some((minutes, seconds)) => number(minutes) && number(seconds),
    None => number(s),
  }
}

#[test]
fn durations_are_what_timeless_takes_out() {
  assert_eq!(
    timeless("[a] succeeded in 5ms\n  failed  two   1   1.25s\nin 1m05s: x 3 ms"),
    "[a] succeeded in D\nfailed two 1 D\nin D: x 3 ms"
  );
}

#[test]
fn submit_follow_prints_what_a_local_run_of_the_file_prints() {
  for tcp in [false, true] {
    let test = Test::with_job(JOB);
    let daemon = daemon(&test, tcp, &[]);
    for (n, target) in [(1, None), (2, Some("build"))] {
      let mut local = vec!["run", "job.yaml"];
      local.extend(target);
      local.extend(["--output", "plain"]);
      let local = test.run(&local);
      let mut served = vec!["submit", "job.yaml"];
      served.extend(target);
      served.push("--follow");
      let served = daemon.run(&served);
      assert_eq!(served.code, local.code, "tcp {tcp} {target:?}: {}", served.stderr);
      assert_eq!(served.code, if target.is_none() { 1 } else { 0 });
      assert_eq!(served.stderr, format!("runner: submitted r{n}\n"));
      assert_eq!(
        timeless(&served.stdout),
        timeless(&local.stdout),
        "tcp {tcp} {target:?}\n--- served\n{}\n--- local\n{}",
        served.stdout,
        local.stdout
      );
      assert!(served.stdout.contains("\n[build] built\n"), "{}", served.stdout);
    }
  }
}

/// An event without what differs between two runs of one file: its durations, and the file
/// as given (a served run's is absolute).
fn timeless_event(mut event: Value) -> Value {
  fn strip(value: &mut Value) {
    match value {
      Value::Object(map) => {
        map.remove("duration_ms");
        map.values_mut().for_each(strip);
      }
      Value::Array(items) => items.iter_mut().for_each(strip),
      _ => {}
    }
  }
  strip(&mut event);
  if event["event"] == "run_started"
    && let Some(map) = event.as_object_mut()
  {
    map.remove("file");
  }
  event
}

#[test]
fn submit_follow_json_gives_the_events_of_a_local_json_run() {
  for tcp in [false, true] {
    let test = Test::with_job(JOB);
    let daemon = daemon(&test, tcp, &[]);
    let local = test.run(&["run", "job.yaml", "--output", "json"]);
    let served = daemon.run(&["submit", "job.yaml", "--follow", "--output", "json"]);
    assert_eq!((served.code, local.code), (1, 1), "tcp {tcp}: {}", served.stderr);
    let (served, local) = (events(&served), events(&local));
    let kinds = |events: &[Value]| -> Vec<String> {
      events.iter().map(|e| e["event"].as_str().unwrap_or("?").to_string()).collect()
    };
    assert_eq!(kinds(&served), kinds(&local), "tcp {tcp}");
    assert_eq!(served[0]["file"], test.path("job.yaml").to_str().unwrap());
    let served: Vec<Value> = served.into_iter().map(timeless_event).collect();
    let local: Vec<Value> = local.into_iter().map(timeless_event).collect();
    assert_eq!(served, local, "tcp {tcp}");
  }
}

#[test]
fn logs_follow_of_a_running_run_streams_every_line_and_ends_with_the_run() {
  let job = "
    tasks:
      talk:
        run: echo first; while [ ! -e gate ]; do sleep 0.02; done; echo second
      last:
        needs: [talk]
        run: echo third
  ";
  for tcp in [false, true] {
    let test = Test::with_job(job);
    let daemon = daemon(&test, tcp, &[]);
    assert_eq!(daemon.run(&["submit", "job.yaml"]).stdout, "r1\n");
    let mut follower = Pending::spawn(&daemon, "logs", &["logs", "r1", "--follow"]);
    let mut one = Pending::spawn(&daemon, "talk", &["logs", "r1", "talk", "--follow"]);
    wait_until("the follower prints the first line", PATIENCE, || {
      follower.stdout().contains("[talk] first\n") && one.stdout().contains("[talk] first\n")
    });
    assert!(follower.running() && one.running(), "a follower waits for the run's end");
    test.write("gate", "");
    let (followed, talk) = (follower.finish(), one.finish());
    assert_eq!((followed.code, talk.code), (0, 0), "tcp {tcp}: {}", followed.stderr);
    assert_eq!(entry(&daemon, "r1")["state"], "succeeded");
    let output = read(&daemon.state.join("runs/r1/output.txt"));
    assert_eq!(followed.stdout, output, "tcp {tcp}: every line, once");
    for line in ["[talk] second", "[last] third", "summary:"] {
      assert!(output.lines().any(|l| l == line), "{line:?} in\n{output}");
    }
    let expected: String =
      output.lines().filter(|l| l.starts_with("[talk] ")).map(|l| format!("{l}\n")).collect();
    assert_eq!(talk.stdout, expected, "tcp {tcp}: `talk`'s lines only");
  }
}

#[test]
fn submit_follow_of_a_cancelled_run_exits_143() {
  let job = "
    tasks:
      slow:
        run: touch slow.started; exec sleep 60
  ";
  for tcp in [false, true] {
    let test = Test::with_job(job);
    let daemon = daemon(&test, tcp, &[]);
    let follower = Pending::spawn(&daemon, "submit", &["submit", "job.yaml", "--follow"]);
    wait_file(&test, "slow.started");
    let tag = daemon.reaper.tag();
    wait_until("the task's sleep runs", PATIENCE, || sleeping(tag, "60") == 1);
    daemon.run(&["cancel", "r1"]).code(0);
    let followed = follower.finish();
    assert_eq!(followed.code, 143, "tcp {tcp}: {}", followed.stderr);
    let last = followed.stdout.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("runner: interrupted (exit 143)"), "{}", followed.stdout);
    wait_state(&daemon, "r1", "cancelled");
  }
}

/// On a terminal, `submit --follow` shows the live view of a local run: the task rows while it
/// runs, then the summary and the last line, and exits with the run's code.
#[test]
fn following_on_a_terminal_shows_the_live_view() {
  if !crate::support::require("tmux") {
    return;
  }
  let test = Test::with_job(
    "
    tasks:
      build:
        run: echo building; while [ ! -e go ]; do sleep 0.02; done; echo built
      lint:
        run: echo lint clean
    ",
  );
  let daemon = super::Daemon::start(&test, &["-j", "2"]);
  let client = daemon.client(&["submit", "job.yaml", "--follow"]);
  let command = format!(
    "cd {} && {:?} {}; echo runner-exit=$?; sleep 60",
    test.dir.path().display(),
    client.get_program(),
    client.get_args().map(|a| format!("'{}'", a.to_string_lossy())).collect::<Vec<_>>().join(" ")
  );
  let tmux = crate::tmux::Tmux::start(&command);
  let screen = tmux.wait_for("the live view of the running task", |s| {
    s.contains("building") && s.contains("1/2 tasks")
  });
  assert!(screen.contains("✓ lint"), "{screen}");
  std::fs::write(test.path("go"), "").unwrap();
  let screen = tmux.wait_for("the end of the run", |s| s.contains("runner-exit="));
  assert!(screen.contains("runner-exit=0"), "{screen}");
  assert!(screen.contains("summary:") && screen.contains("runner: succeeded (exit 0)"), "{screen}");
  assert!(!screen.contains("[build]"), "the live view, not plain lines:\n{screen}");
}
