//! The Slurm backend when the cluster fails under it: the controller stopped mid-run, a node
//! killed mid-job. Each test starts a cluster of its own (`scripts/slurm-cluster.sh`, on ports
//! of its own), so that what it breaks breaks no other test's runs.

use crate::support::{Test, dedent, repo, require_slurm, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A throw-away cluster, stopped when dropped.
struct Cluster {
  dir: PathBuf,
  conf: PathBuf,
}

impl Cluster {
  /// Starts one on ports of its own: `slot` tells this test's from the others'.
  fn start(test: &Test, slot: u16) -> Self {
    let dir = test.path("cluster");
    let port = 21000 + (std::process::id() % 300) as u16 * 10 + slot * 3000;
    let out = Command::new("bash")
      .arg(repo().join("scripts/slurm-cluster.sh"))
      .arg("start")
      .arg(&dir)
      .env("SLURM_CLUSTER_PORT", port.to_string())
      .stderr(Stdio::inherit())
      .output()
      .expect("run slurm-cluster.sh");
    assert!(out.status.success(), "the test's own cluster did not start");
    let conf = dir.join("slurm.conf");
    Cluster { dir, conf }
  }

  /// The pids `start` recorded for `name` (slurmctld; slurmd of n1, n2, n3 in that order).
  fn pids(&self, name: &str) -> Vec<i32> {
    let text = std::fs::read_to_string(self.dir.join("started.pids")).unwrap_or_default();
    let parse =
      |l: &str| l.split_once(' ').filter(|(_, n)| *n == name).and_then(|(p, _)| p.parse().ok());
    text.lines().filter_map(parse).collect()
  }

  /// Kills node `node` (n1..n3) as a power cut would: its slurmd, the step daemons of `job`,
  /// and every process of a job there.
  fn kill_node(&self, node: &str, job: &str) {
    let index: usize = node[1..].parse::<usize>().expect("nN") - 1;
    let slurmd = self.pids("slurmd")[index];
    let conf = format!("SLURM_CONF={}", self.conf.display());
    let here = format!("SLURMD_NODENAME={node}");
    let mut victims = vec![slurmd];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
      let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
      let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
      let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
      let has = |v: &str| vars.contains(&v.as_bytes());
      let cmdline = std::fs::read_to_string(entry.path().join("cmdline")).unwrap_or_default();
      let stepd = cmdline.starts_with(&format!("slurmstepd: [{job}."));
      if has(&conf) && (has(&here) || stepd) {
        victims.push(pid);
      }
    }
    for pid in victims {
      // SAFETY: SIGKILL to processes of this test's own cluster.
      unsafe { libc::kill(pid, libc::SIGKILL) };
    }
  }
}

impl Drop for Cluster {
  fn drop(&mut self) {
    let _ = Command::new("bash")
      .arg(repo().join("scripts/slurm-cluster.sh"))
      .arg("stop")
      .arg(&self.dir)
      .stdout(Stdio::null())
      .stderr(Stdio::null())
      .status();
  }
}

/// The JSON events the runner printed so far.
fn events(path: &Path) -> Vec<serde_json::Value> {
  let text = std::fs::read_to_string(path).unwrap_or_default();
  text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn the_controller_stopped_mid_run_fails_what_it_stranded_within_a_bounded_time() {
  if !require_slurm() {
    return;
  }
  let test = Test::with_job(&dedent(
    r#"
    tasks:
      short:
        run: sleep 3; echo short done
      after:
        run: echo after
        needs: [short]
      long:
        run: sleep 120
    "#,
  ));
  let cluster = Cluster::start(&test, 0);
  let out = test.path("events.jsonl");
  let args = ["run", "job.yaml", "--backend", "slurm", "--slurm-launch", "jobs", "-j", "3"];
  let mut runner = test.command(&args);
  runner
    .env("SLURM_CONF", &cluster.conf)
    .args(["--output", "json", "--slurm-poll", "500ms"])
    .stdout(std::fs::File::create(&out).expect("events file"))
    .stderr(Stdio::null());
  let mut child = runner.spawn().expect("runner");
  let placed = |n: usize| events(&out).iter().filter(|e| e["event"] == "placed").count() >= n;
  wait_until("both jobs to run", Duration::from_secs(30), || placed(2));
  let controller = cluster.pids("slurmctld");
  // SAFETY: stops this test's own controller.
  unsafe { libc::kill(controller[0], libc::SIGKILL) };
  let stopped = Instant::now();
  let status = crate::support::wait_child(&mut child, Duration::from_secs(90));
  let took = stopped.elapsed();
  let Some(status) = status else {
    let _ = child.kill();
    panic!("the runner hung for 90 s after the controller stopped");
  };
  assert_eq!(status.code(), Some(1), "{:#?}", events(&out));
  let events = events(&out);
  let finished = |task: &str| {
    events.iter().find(|e| e["event"] == "task_finished" && e["task"] == task).cloned()
  };
  let said = |task: &str, what: &str| {
    events.iter().any(|e| {
      e["event"] == "output"
        && e["task"] == task
        && e["line"].as_str().is_some_and(|l| l.contains(what))
    })
  };
  // The job that was running ends by its exit file: no controller is needed for that.
  assert_eq!(finished("short").expect("short")["status"], "succeeded");
  assert!(said("after", "Unable to contact slurm controller"), "{events:#?}");
  assert_eq!(finished("after").expect("after")["status"], "failed");
  assert!(said("long", "lost: the Slurm controller does not answer"), "{events:#?}");
  assert_eq!(finished("long").expect("long")["status"], "failed");
  assert!(took < Duration::from_secs(60), "took {took:?} after the controller stopped");
}

#[test]
fn a_node_killed_mid_job_loses_the_attempt_and_the_retry_runs_elsewhere() {
  if !require_slurm() {
    return;
  }
  let test = Test::with_job(&dedent(
    r#"
    tasks:
      work:
        run: '[ "$RUNNER_ATTEMPT" = 2 ] && echo "second on $SLURMD_NODENAME" && exit 0; sleep 300'
        retries: 1
    "#,
  ));
  let cluster = Cluster::start(&test, 1);
  let out = test.path("events.jsonl");
  let mut runner =
    test.command(&["run", "job.yaml", "--backend", "slurm", "--slurm-launch", "jobs"]);
  runner
    .env("SLURM_CONF", &cluster.conf)
    .args(["--output", "json", "--slurm-poll", "500ms", "--report", "report.json"])
    .stdout(std::fs::File::create(&out).expect("events file"))
    .stderr(Stdio::null());
  let mut child = runner.spawn().expect("runner");
  let first = || events(&out).into_iter().find(|e| e["event"] == "placed");
  wait_until("the job to run", Duration::from_secs(30), || first().is_some());
  let placed = first().expect("placed");
  let node = placed["node"].as_str().expect("node").to_string();
  cluster.kill_node(&node, placed["slurm_id"].as_str().expect("id"));
  // Slurm declares the node down after SlurmdTimeout (30 s here), then the job NODE_FAIL.
  let status = crate::support::wait_child(&mut child, Duration::from_secs(150));
  let Some(status) = status else {
    let _ = child.kill();
    panic!("the runner did not end within 150 s of the node's death: {:#?}", events(&out));
  };
  assert_eq!(status.code(), Some(0), "{:#?}", events(&out));
  let events = events(&out);
  let lost = events.iter().any(|e| {
    e["event"] == "output"
      && e["line"].as_str().is_some_and(|l| l.contains("lost: squeue says NODE_FAIL"))
  });
  assert!(lost, "the first attempt is reported lost, naming squeue: {events:#?}");
  let second =
    events.iter().find(|e| e["event"] == "output" && e["stream"] == "stdout").expect("output");
  let line = second["line"].as_str().expect("line");
  assert!(line.starts_with("second on ") && !line.ends_with(&node), "{line} (first ran on {node})");
  let report: serde_json::Value = serde_json::from_str(&test.read("report.json")).expect("report");
  let attempts = &report["tasks"][0]["attempts"];
  assert_eq!(attempts.as_array().map(Vec::len), Some(2), "{attempts:#}");
  assert_eq!(attempts[0]["status"], "failed");
  assert_eq!(report["slurm"]["lost"], 1);
}
