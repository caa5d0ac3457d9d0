//! `--backend slurm` on a real cluster (the one `SLURM_CONF` names, as for every Slurm client):
//! the same job files give the same statuses, results, attempts and exit codes as a local run,
//! on both paths (`--slurm-launch jobs`, `--slurm-launch steps --slurm-alloc N`); attempts land
//! on several nodes; a stop leaves no process, job or step of the run behind; a missing Slurm
//! or allocation is one clear line and exit 2.
//!
//! The cluster may be shared with other tests running at once: each run has a folder of its
//! own, asks for a few CPUs only, and finds its jobs by their working directory (that folder),
//! never by a job id or a node being free. The cluster's nodes run on this machine, so a task's
//! processes are in its process table, with the test's tag in their environment (Slurm passes
//! the submitting environment on).

mod parity;
mod placement;
mod setup;
mod stops;

use crate::support::{Background, PATIENCE, Reaper, Run, Test, parse, wait_for};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Where a run's attempts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
  Local,
  /// `--slurm-launch jobs`: one `sbatch` job per attempt.
  Jobs,
  /// `--slurm-launch steps --slurm-alloc N`: one `srun --exact` step per attempt, in an
  /// allocation of N CPUs the run makes.
  Steps(u32),
}

impl Backend {
  /// The command line's flags for this backend.
  fn args(self) -> Vec<String> {
    let launch = match self {
      Backend::Local => return Vec::new(),
      Backend::Jobs => vec!["jobs".to_string()],
      Backend::Steps(cpus) => vec!["steps".into(), "--slurm-alloc".into(), cpus.to_string()],
    };
    let slurm = ["--backend", "slurm", "--slurm-poll", "200ms", "--slurm-launch"];
    [slurm.map(String::from).to_vec(), launch].concat()
  }
}

/// How long a test waits for a run on the cluster: a job may wait for CPUs that other tests
/// hold.
const CLUSTER_PATIENCE: Duration = Duration::from_secs(120);

/// One run of a job file, to its end: what it printed and its `--report`.
struct Finished {
  test: Test,
  run: Run,
  report: Value,
}

/// Runs `yaml` with `args` on `backend`, in a folder of its own, tagged: no process, job or
/// step of it may be left 5 s after the runner's exit. A run on the cluster must have left its
/// jobs in squeue's listing, so it did run there.
#[track_caller]
fn run_on(backend: Backend, yaml: &str, args: &[&str]) -> Finished {
  let test = Test::with_job(yaml);
  let reaper = Reaper::new("slurm");
  let _cancel = Scancel::new(&test);
  let runner = start(&test, reaper.tag(), backend, args);
  finish(test, runner, reaper.tag(), backend)
}

/// Starts `runner run job.yaml --report report.json ARGS` on `backend` in the background,
/// tagged `tag`.
fn start(test: &Test, tag: &str, backend: Backend, args: &[&str]) -> Background {
  let mut argv: Vec<String> =
    ["run", "job.yaml", "--report", "report.json"].map(String::from).to_vec();
  argv.extend(args.iter().map(|a| a.to_string()));
  argv.extend(backend.args());
  let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
  Background::spawn(test, tag, &argv)
}

/// Waits for `runner` to exit, then until nothing of its run is left (see `run_on`).
#[track_caller]
fn finish(test: Test, runner: Background, tag: &str, backend: Backend) -> Finished {
  let (run, _) = runner.wait(CLUSTER_PATIENCE);
  let ended = Instant::now();
  let report = parse(&test.read("report.json"));
  assert_nothing_left(&test, tag, &report, ended);
  if backend != Backend::Local {
    assert!(
      !jobs_in(test.dir.path()).is_empty(),
      "squeue lists no job of the run: did it use the cluster?"
    );
  }
  Finished { test, run, report }
}

/// Waits until no process with `tag` lives and the cluster lists no job of the run in `test`'s
/// folder as not ended (nor a step of one), failing if that takes over 5 s after `ended`.
/// The jobs the report names (an attempt's `slurm_id`, where the report has it) must be gone
/// too.
#[track_caller]
fn assert_nothing_left(test: &Test, tag: &str, report: &Value, ended: Instant) {
  let named = slurm_ids(report);
  let deadline = Duration::from_secs(5).saturating_sub(ended.elapsed());
  wait_for("nothing of the run is left 5 s after the runner's exit", deadline, || {
    let mut left: Vec<String> = crate::support::tagged_processes(tag)
      .into_iter()
      .map(|(pid, cmd)| format!("process {pid}: {cmd}"))
      .collect();
    left.extend(live_jobs_in(test.dir.path(), &named).into_iter().map(|job| format!("job {job}")));
    if left.is_empty() { Ok(()) } else { Err(left.join("\n")) }
  });
}

/// The job ids the report's attempts and queue items name (`12` of a job, and of step
/// `12.3`).
fn slurm_ids(report: &Value) -> Vec<String> {
  let all = |v: &Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
  let tasks = all(report, "tasks").into_iter().flat_map(|t| all(&t, "attempts"));
  let items = all(report, "queues").into_iter().flat_map(|q| all(&q, "items"));
  tasks
    .chain(items)
    .filter_map(|a| a["slurm_id"].as_str().map(|id| id.split('.').next().unwrap_or(id).to_string()))
    .collect()
}

/// The ids of the jobs whose working directory is `dir` (those the run submitted, or its
/// allocation), ended ones included while the controller keeps them (10 s at least).
#[track_caller]
fn jobs_in(dir: &Path) -> Vec<String> {
  listed_in(dir, &["-t", "all"]).unwrap_or_else(|why| panic!("squeue: {why}"))
}

/// The ids of the jobs in `squeue -h -o '%i|%Z' ARGS` whose working directory is `dir`.
fn listed_in(dir: &Path, args: &[&str]) -> Result<Vec<String>, String> {
  let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
  let listed = squeue_answer(&[args, &["-o", "%i|%Z"]].concat())?;
  let ids = listed
    .lines()
    .filter_map(|line| line.split_once('|'))
    .filter(|(_, cwd)| Path::new(cwd) == dir)
    .map(|(id, _)| id.to_string());
  Ok(ids.collect())
}

/// What is left of the run in `dir` on the cluster: its jobs (those in `dir`, and `named`)
/// that have not ended (squeue's default listing: pending, running, completing...), and the
/// steps of any of them.
fn live_jobs_in(dir: &Path, named: &[String]) -> Vec<String> {
  let mut ours = jobs_in(dir);
  ours.extend(named.iter().cloned());
  let mut left: Vec<String> = squeue(&["-o", "%i %j %T"])
    .lines()
    .filter(|line| ours.iter().any(|id| line.split(' ').next() == Some(id)))
    .map(str::to_string)
    .collect();
  for step in squeue(&["-s", "-o", "%i %j"]).lines() {
    let job = step.split('.').next().unwrap_or_default();
    if ours.iter().any(|id| id == job) {
      left.push(format!("step {step}"));
    }
  }
  left
}

/// What `squeue -h ARGS` prints; a failing call fails the test.
#[track_caller]
fn squeue(args: &[&str]) -> String {
  squeue_answer(args).unwrap_or_else(|why| panic!("squeue {args:?}: {why}"))
}

fn squeue_answer(args: &[&str]) -> Result<String, String> {
  let out = Command::new("squeue").arg("-h").args(args).output().map_err(|e| e.to_string())?;
  if !out.status.success() {
    return Err(String::from_utf8_lossy(&out.stderr).into_owned());
  }
  Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Cancels, when dropped, every job of the run in its folder that has not ended: a test that
/// fails does not leave jobs or an allocation holding the cluster's CPUs for the next tests.
struct Scancel(std::path::PathBuf);

impl Scancel {
  fn new(test: &Test) -> Self {
    Self(test.dir.path().to_path_buf())
  }
}

impl Drop for Scancel {
  fn drop(&mut self) {
    if let Ok(ids) = listed_in(&self.0, &[]) {
      if !ids.is_empty() {
        let _ = Command::new("scancel").args(&ids).status();
      }
    }
  }
}

/// A task of the report, by name.
#[track_caller]
fn task<'a>(report: &'a Value, name: &str) -> &'a Value {
  report["tasks"]
    .as_array()
    .and_then(|tasks| tasks.iter().find(|t| t["name"] == name))
    .unwrap_or_else(|| panic!("no task {name} in the report: {report:#}"))
}

/// Asserts a run's tasks ended with these statuses.
#[track_caller]
fn assert_statuses(finished: &Finished, expected: &[(&str, &str)]) {
  for (name, status) in expected {
    assert_eq!(
      task(&finished.report, name)["status"],
      *status,
      "task {name}\n--- stdout\n{}\n--- stderr\n{}",
      finished.run.stdout,
      finished.run.stderr
    );
  }
}

/// Waits until `count` processes of the run tagged `tag` are `sleep ARG`: its long tasks run.
#[track_caller]
fn wait_sleeping(tag: &str, arg: &str, count: usize) {
  crate::support::wait_until(&format!("{count} `sleep {arg}` run"), PATIENCE * 2, || {
    crate::support::sleeping(tag, arg) >= count
  });
}
