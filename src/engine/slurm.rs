//! The Slurm backend: the same graph, results and reports, with each attempt run on a Slurm
//! cluster instead of as a local process. Two paths: job steps inside an allocation
//! (`steps.rs`: each attempt an `srun --exact`), and batch jobs (`jobs.rs`: each attempt an
//! `sbatch` of a wrapper that writes an exit file). Slurm's commands run from the loop without
//! blocking it (`command.rs`); what squeue and sacct say is read in `queue_state.rs`; a task's
//! `slurm:` block becomes their arguments in `args.rs`.
//!
//! What is set up before the loop starts (the path, an allocation, the run directory) is here
//! and synchronous; what runs with the loop is [`Backend`].

pub(crate) mod args;
pub(crate) mod cancel;
pub(crate) mod command;
mod inotify;
pub(crate) mod jobs;
mod queue_state;
pub(crate) mod steps;
mod wrapper;

use crate::event::{Latency, SlurmCalls};
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

/// How attempts reach the cluster, as the command line asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Launch {
  Auto,
  Steps,
  Jobs,
}

/// The run's Slurm options.
#[derive(Debug, Clone)]
pub(crate) struct Config {
  pub launch: Launch,
  /// `--slurm-alloc N`: an allocation of N CPUs made for the run.
  pub alloc: Option<u32>,
  /// Where the jobs path's run directories go.
  pub dir: PathBuf,
  pub poll: Duration,
  pub max_jobs: usize,
  pub rate: u32,
}

/// The cluster as the run will use it, once set up.
#[derive(Debug)]
pub(crate) struct Cluster {
  pub run: String,
  pub route: Route,
  /// The allocation the run made itself, released at its end.
  pub allocated: Option<String>,
}

#[derive(Debug)]
pub(crate) enum Route {
  Steps { job: String },
  Jobs,
}

/// A name for a run no other run has: the one its processes' tag carries.
pub(crate) fn run_name() -> String {
  format!("{}{}", super::tree::SLURM_RUN, super::launcher::run_id())
}

/// Sets the cluster up for a run named `run`: which path, the allocation `--slurm-alloc`
/// asks for, the run directory. An error is one line, for the user.
pub(crate) fn open(config: &Config, run: &str) -> Result<Cluster, String> {
  let steps = match config.launch {
    Launch::Steps => true,
    Launch::Jobs => false,
    Launch::Auto => config.alloc.is_some() || std::env::var_os("SLURM_JOB_ID").is_some(),
  };
  let needed: &[&str] = if steps { &["srun", "scancel"] } else { &["sbatch", "squeue", "scancel"] };
  if let Some(missing) = needed.iter().find(|p| !on_path(p)) {
    return Err(format!(
      "--backend slurm: Slurm's `{missing}` is not on PATH (is Slurm installed here?)"
    ));
  }
  if !steps {
    std::fs::create_dir_all(&config.dir)
      .map_err(|e| format!("--slurm-dir {}: cannot create it: {e}", config.dir.display()))?;
    return Ok(Cluster { run: run.to_string(), route: Route::Jobs, allocated: None });
  }
  let (job, allocated) = match (config.alloc, std::env::var("SLURM_JOB_ID")) {
    (Some(cpus), _) => {
      let job = allocate(cpus, run)?;
      (job.clone(), Some(job))
    }
    (None, Ok(job)) if !job.is_empty() => (job, None),
    _ => {
      return Err(
        "--slurm-launch steps: not inside an allocation (SLURM_JOB_ID is not set); use --slurm-alloc N to make one"
          .to_string(),
      );
    }
  };
  Ok(Cluster { run: run.to_string(), route: Route::Steps { job }, allocated })
}

/// Releases what [`open`] allocated.
pub(crate) fn close(cluster: &Cluster) {
  if let Some(job) = &cluster.allocated {
    let _ = Command::new("scancel").arg(job).status();
  }
}

fn on_path(program: &str) -> bool {
  let path = std::env::var_os("PATH").unwrap_or_default();
  super::program::search(&path, program).is_some()
}

/// `salloc --no-shell` for `cpus` CPUs, named after the run: the allocation's job id.
fn allocate(cpus: u32, run: &str) -> Result<String, String> {
  let out = Command::new("salloc")
    .args(["--no-shell", &format!("--ntasks={cpus}"), &format!("--job-name={run}")])
    .stdin(std::process::Stdio::null())
    .output()
    .map_err(|e| format!("--slurm-alloc: cannot run salloc: {e}"))?;
  let text = String::from_utf8_lossy(&out.stderr);
  let granted = text.lines().find_map(|l| l.split("Granted job allocation ").nth(1));
  match granted.map(str::trim) {
    Some(job) if out.status.success() && !job.is_empty() => Ok(job.to_string()),
    _ => {
      let why = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no allocation");
      Err(format!("--slurm-alloc {cpus}: salloc failed: {why}"))
    }
  }
}

/// The backend as the loop runs it: the path, and the calls made.
pub(crate) struct Backend {
  pub run: String,
  pub(in crate::engine) mode: Mode,
  pub(in crate::engine) calls: Rc<RefCell<SlurmCalls>>,
}

pub(in crate::engine) enum Mode {
  Steps { job: String },
  Jobs(Rc<jobs::Jobs>),
}

impl Backend {
  pub(crate) fn new(cluster: &Cluster, config: &Config) -> std::io::Result<Self> {
    let (mode, launch) = match &cluster.route {
      Route::Steps { job } => (Mode::Steps { job: job.clone() }, "steps"),
      Route::Jobs => {
        let settings = jobs::Settings {
          dir: config.dir.clone(),
          poll: config.poll,
          max_jobs: config.max_jobs,
          rate: config.rate,
        };
        (Mode::Jobs(Rc::new(jobs::Jobs::new(settings, &cluster.run)?)), "jobs")
      }
    };
    let calls = SlurmCalls {
      launch,
      allocs: u64::from(cluster.allocated.is_some()),
      ..SlurmCalls::default()
    };
    Ok(Self { run: cluster.run.clone(), mode, calls: Rc::new(RefCell::new(calls)) })
  }

  pub(in crate::engine) fn count(&self, f: impl FnOnce(&mut SlurmCalls)) {
    f(&mut self.calls.borrow_mut());
  }

  /// The calls made, and the jobs path's latencies.
  pub(crate) fn calls(&self) -> SlurmCalls {
    let mut calls = self.calls.borrow().clone();
    if let Mode::Jobs(jobs) = &self.mode {
      let mut ms = jobs.latencies.borrow().clone();
      ms.sort_unstable();
      if let Some(&max) = ms.last() {
        let at = |q: usize| ms[(ms.len() * q / 100).min(ms.len() - 1)];
        calls.latency_ms = Some(Latency { p50: at(50), p99: at(99), max });
      }
    }
    calls
  }
}
