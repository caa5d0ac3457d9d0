//! What a task's `slurm:` block asks, as `sbatch` and `srun` arguments.

use crate::graph::Slurm;
use std::time::Duration;

/// Slurm's time limits are whole minutes: a limit is rounded up, and is at least one.
pub(crate) fn minutes(time: Duration) -> u64 {
  let secs = time.as_secs() + u64::from(time.subsec_nanos() > 0);
  secs.div_ceil(60).max(1)
}

/// The block's arguments, in the order `sbatch --help` lists them, then `extra` as written.
/// `steps`: for `srun` inside an allocation, which has its partition already.
pub(crate) fn of(slurm: &Slurm, steps: bool) -> Vec<String> {
  let mut args = Vec::new();
  if let Some(partition) = slurm.partition.as_ref().filter(|_| !steps) {
    args.push(format!("--partition={partition}"));
  }
  if let Some(nodes) = slurm.nodes {
    args.push(format!("--nodes={nodes}"));
  }
  if let Some(cpus) = slurm.cpus {
    args.push(format!("--cpus-per-task={cpus}"));
  }
  if let Some(mem) = &slurm.mem {
    args.push(format!("--mem={mem}"));
  }
  if let Some(time) = slurm.time {
    args.push(format!("--time={}", minutes(time)));
  }
  args.extend(slurm.extra.iter().cloned());
  args
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn limits_are_whole_minutes_rounded_up() {
    let secs = |s: u64| minutes(Duration::from_secs(s));
    assert_eq!([secs(1), secs(59), secs(60), secs(61), secs(3600)], [1, 1, 1, 2, 60]);
    assert_eq!(minutes(Duration::from_millis(60_500)), 2);
    assert_eq!(minutes(Duration::from_millis(500)), 1);
  }

  #[test]
  fn a_block_becomes_arguments_and_steps_leave_out_the_partition() {
    let slurm = Slurm {
      partition: Some("debug".into()),
      cpus: Some(2),
      mem: Some("512M".into()),
      time: Some(Duration::from_secs(90)),
      nodes: Some(1),
      extra: vec!["--qos=low".into()],
    };
    let jobs = ["--partition=debug", "--nodes=1", "--cpus-per-task=2", "--mem=512M", "--time=2"];
    assert_eq!(of(&slurm, false), [&jobs[..], &["--qos=low"]].concat());
    assert_eq!(of(&slurm, true), [&jobs[1..], &["--qos=low"]].concat());
    assert!(of(&Slurm::default(), false).is_empty());
  }
}
