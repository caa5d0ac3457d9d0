//! How many tasks may run at once under the open-files limit: each running process holds a few
//! descriptors, and a task that cannot get them fails to start (EMFILE). A `-j` the limit cannot
//! carry is lowered to what it can, with one warning, rather than failing tasks.

/// Descriptors one running process holds: the read ends of its two pipes, its pidfd, and the two
/// write ends the runner keeps until its end.
const PER_PROCESS: u64 = 5;
/// And its two log files, with `--log-dir`.
const PER_PROCESS_LOGS: u64 = 2;
/// What the runner holds besides: standard streams, epoll, eventfd, signalfd, timers, the job
/// and report files (32); idle pipes kept for reuse (64 pipes, 128 descriptors); pidfds put
/// aside to be closed (64); open callback logs (64).
const RESERVE: u64 = 32 + 128 + 64 + 64;

/// `jobs` as the open-files limit allows, when `workers` items of consumers may run besides;
/// and, when it had to be lowered, the warning that says so.
pub(super) fn fit(jobs: usize, workers: usize, logs: bool) -> (usize, Option<String>) {
  match limit() {
    Some(limit) => fit_to(limit, jobs, workers, logs),
    None => (jobs, None),
  }
}

fn fit_to(limit: u64, jobs: usize, workers: usize, logs: bool) -> (usize, Option<String>) {
  let each = PER_PROCESS + if logs { PER_PROCESS_LOGS } else { 0 };
  let processes = limit.saturating_sub(RESERVE) / each;
  let most = (processes.saturating_sub(workers as u64) as usize).max(1);
  if jobs <= most {
    return (jobs, None);
  }
  let warning = format!(
    "warning: the open-files limit ({limit}) allows {most} tasks at once, not {jobs}: running \
     {most} at once (`ulimit -n` raises it)"
  );
  (most, Some(warning))
}

/// The open-files limit a run has: the hard limit, to which the runner raises its own (see
/// `engine::spawn`); None when there is none.
fn limit() -> Option<u64> {
  // SAFETY: getrlimit writes only the struct passed.
  let limit = unsafe {
    let mut limit: libc::rlimit = std::mem::zeroed();
    (libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0).then_some(limit)?
  };
  (limit.rlim_max != libc::RLIM_INFINITY).then_some(limit.rlim_max)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn jobs_fit_the_limit() {
    assert_eq!(fit_to(1 << 20, 1000, 0, true), (1000, None));
    let (jobs, warning) = fit_to(1024, 1000, 0, false);
    assert_eq!(jobs, (1024 - RESERVE as usize) / 5);
    assert!(warning.unwrap().contains(&format!("allows {jobs} tasks at once, not 1000")));
    assert_eq!(fit_to(1024, 1000, 0, true).0, (1024 - RESERVE as usize) / 7);
    assert_eq!(fit_to(1024, 1000, 10, false).0, jobs - 10, "items of consumers count");
    assert_eq!(fit_to(64, 8, 0, false).0, 1, "one at a time at worst");
  }
}
