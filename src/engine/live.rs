//! What the loop shares with the futures it spawns: the launcher, the inbox, the live
//! processes by what they run (so that an order to stop one finds its process group), and the
//! attempts being stopped, kept until the kill after their grace. Everything here runs on the
//! loop's thread.

use super::inbox::{Inbox, Msg};
use super::kill::Attempt;
use super::launcher::{Child, Launch, Launcher, Stop};
use super::slurm::command::Client;
use super::slurm::jobs::News;
use super::slurm::{self, Backend, Mode};
use crate::event::SlurmCalls;
use crate::graph::Slurm;
use crate::scheduler::Proc;
use async_channel::Receiver;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// A live process: the leader of its group, its attempt's serial, and whether it was told to
/// stop; for a Slurm job step, the step's id once it said it.
struct Live {
  pid: i32,
  serial: u64,
  stopping: bool,
  /// Killed by the runner, after a stop's grace or at once.
  killed: bool,
  step: Option<String>,
}

/// An attempt told to stop, and the Slurm step it runs as, if it is one.
type Stopped = (Attempt, Option<String>);

/// An attempt started: a local process (a task's own, or the `srun` of a Slurm job step), or
/// a Slurm batch job, whose news come from the jobs path.
pub(super) enum Started {
  Process { child: Child, step: bool },
  Job { news: Receiver<News> },
}

impl Live {
  /// This process's attempt, as a stop starts to know it.
  fn attempt(&self) -> Attempt {
    Attempt { leader: Some(self.pid), serial: self.serial, seen: Vec::new() }
  }
}

/// The pids that lead a running attempt.
fn leaders(live: &HashMap<Proc, Live>) -> HashSet<i32> {
  live.values().map(|l| l.pid).collect()
}

pub(super) struct Shared {
  pub launcher: Rc<RefCell<Launcher>>,
  pub inbox: Inbox,
  live: RefCell<HashMap<Proc, Live>>,
  /// The attempts told to stop, by process and start number, until their kill; with the Slurm
  /// step each ran as.
  stopped: RefCell<HashMap<(Proc, u64), Stopped>>,
  /// `--backend slurm`: where attempts run, and the jobs running as batch jobs.
  pub slurm: Option<Backend>,
  jobs: RefCell<HashMap<Proc, u64>>,
  /// What runs Slurm's commands, with `--backend slurm`.
  client: Option<Rc<Client>>,
}

impl Shared {
  #[cfg(test)]
  pub(super) fn new(inbox: Inbox) -> Self {
    Self::make(inbox, None, Launcher::new())
  }

  /// The loop's: with the Slurm backend, when asked for, and a run named as the cluster knows it.
  /// `tag`: the run's name in its processes' [`TAG`](super::tree::TAG), when the daemon gave it.
  pub(super) fn rc(inbox: Inbox, slurm: Option<Backend>, tag: Option<String>) -> Rc<Self> {
    let launcher = match (&slurm, tag) {
      (Some(backend), _) => Launcher::with_run(backend.run.clone()),
      (None, Some(tag)) => Launcher::served(tag),
      (None, None) => Launcher::new(),
    };
    Rc::new(Self::make(inbox, slurm, launcher))
  }

  fn make(inbox: Inbox, slurm: Option<Backend>, launcher: Launcher) -> Self {
    let launcher = Rc::new(RefCell::new(launcher));
    let client = slurm
      .as_ref()
      .map(|backend| Rc::new(Client { launcher: launcher.clone(), calls: backend.calls.clone() }));
    Self {
      launcher,
      inbox,
      live: RefCell::default(),
      stopped: RefCell::default(),
      slurm,
      jobs: RefCell::default(),
      client,
    }
  }

  fn client(&self) -> &Rc<Client> {
    self.client.as_ref().expect("a Slurm run has a client")
  }

  /// Counts a Slurm call.
  pub(super) fn count(&self, f: impl FnOnce(&mut SlurmCalls)) {
    if let Some(backend) = &self.slurm {
      backend.count(f);
    }
  }

  /// Starts an attempt for `proc` where the run's attempts run: a local process, a Slurm job
  /// step (an `srun` process), or a Slurm batch job; `block` is the task's `slurm:` block.
  pub(super) fn start(
    &self,
    proc: Proc,
    launch: &Launch,
    block: &Slurm,
  ) -> std::io::Result<Started> {
    let Some(backend) = &self.slurm else {
      return Ok(Started::Process { child: self.spawn(proc, launch)?, step: false });
    };
    // A command of plain words is exec'd on the node without a shell, as locally.
    let words = super::program::plain_words(launch.program);
    let command = words.as_deref().unwrap_or(&launch.program.argv);
    match &backend.mode {
      Mode::Steps { job } => {
        let program = slurm::steps::wrap(command, job, &backend.run, block);
        let launch = Launch { program: &program, ..*launch };
        let child = self.spawn(proc, &launch)?;
        self.count(|c| c.steps += 1);
        Ok(Started::Process { child, step: true })
      }
      Mode::Jobs(jobs) => {
        let args = slurm::args::of(block, false);
        let (serial, news) = jobs.start(self.client(), proc, command, launch.env, launch.cwd, args);
        self.jobs.borrow_mut().insert(proc, serial);
        Ok(Started::Job { news })
      }
    }
  }

  /// Starts a program for `proc` as the leader of its own process group and records it live.
  pub(super) fn spawn(&self, proc: Proc, launch: &Launch) -> std::io::Result<Child> {
    let child = self.launcher.borrow_mut().spawn(launch)?;
    let live =
      Live { pid: child.pid, serial: child.serial, stopping: false, killed: false, step: None };
    self.live.borrow_mut().insert(proc, live);
    Ok(child)
  }

  /// `proc`'s step runs as Slurm's `id` on `node`: from now on it is stopped through Slurm.
  pub(super) async fn placed(&self, proc: Proc, id: &str, node: &str) {
    if let Some(live) = self.live.borrow_mut().get_mut(&proc) {
      live.step = Some(id.to_string());
    }
    let (slurm_id, node) = (id.to_string(), node.to_string());
    self.inbox.send(Msg::Placed { proc, slurm_id, node }).await;
  }

  /// `proc`'s process was reaped, or its job ended: it can no longer be signalled.
  pub(super) fn ended(&self, proc: Proc) {
    self.live.borrow_mut().remove(&proc);
    self.jobs.borrow_mut().remove(&proc);
  }

  /// Stops the batch jobs among `procs`; the others are left to the caller.
  fn stop_jobs(&self, procs: &[(Proc, u64)], how: Stop) -> Vec<(Proc, u64)> {
    let Some(Backend { mode: Mode::Jobs(jobs), .. }) = &self.slurm else { return procs.to_vec() };
    let running = self.jobs.borrow();
    let serials: Vec<u64> = procs.iter().filter_map(|(p, _)| running.get(p).copied()).collect();
    drop(running);
    jobs.stop(self.client(), &serials, how);
    Vec::new()
  }

  /// Signals Slurm job steps through Slurm, all in one `scancel` call.
  fn cancel_steps(&self, ids: Vec<String>, how: Stop) {
    if !ids.is_empty() {
      slurm::cancel::steps(self.client(), ids, how);
    }
  }

  /// SIGTERM to the running attempts `procs` names (each with its start number), all at once;
  /// from now on their output is not waited for once they have exited. Each is kept for
  /// [`Shared::kill`], which the grace's end brings.
  pub(super) fn terminate(&self, procs: &[(Proc, u64)]) {
    let procs = self.stop_jobs(procs, Stop::Graceful);
    if procs.is_empty() {
      return;
    }
    let mut live = self.live.borrow_mut();
    let mut attempts: Vec<((Proc, u64), Stopped)> = Vec::new();
    let mut steps = Vec::new();
    for &(proc, seq) in &procs {
      if let Some(process) = live.get_mut(&proc) {
        process.stopping = true;
        let attempt = process.attempt();
        // A step that runs is signalled through Slurm: SIGTERM to srun would kill it at once.
        steps.extend(process.step.clone());
        attempts.push(((proc, seq), (attempt, process.step.clone())));
      }
    }
    let leaders = leaders(&live);
    let mut stopping: Vec<&mut Attempt> =
      attempts.iter_mut().filter(|(_, (_, step))| step.is_none()).map(|(_, (a, _))| a).collect();
    self.launcher.borrow().stop(&mut stopping, Stop::Graceful, &leaders);
    drop(live);
    self.cancel_steps(steps, Stop::Graceful);
    self.stopped.borrow_mut().extend(attempts);
  }

  /// SIGKILL to what is left of the attempts `procs` names, told to stop before: the leader if
  /// it still runs, and every process of theirs seen or tagged, wherever it went.
  pub(super) fn kill(&self, procs: &[(Proc, u64)]) {
    let procs = self.stop_jobs(procs, Stop::Forced);
    if procs.is_empty() {
      return;
    }
    let mut live = self.live.borrow_mut();
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut steps = Vec::new();
    for key in &procs {
      if let Some(process) = live.get_mut(&key.0) {
        process.killed = true;
      }
      let Some((mut attempt, step)) = self.stopped.borrow_mut().remove(key) else { continue };
      let running = live.get(&key.0).is_some_and(|l| l.serial == attempt.serial);
      attempt.leader = attempt.leader.filter(|_| running);
      // Its step, known now if not when it was terminated.
      let step = step.or_else(|| live.get(&key.0).filter(|_| running).and_then(|l| l.step.clone()));
      steps.extend(step);
      attempts.push(attempt);
    }
    let mut attempts: Vec<&mut Attempt> = attempts.iter_mut().collect();
    let leaders = leaders(&live);
    self.launcher.borrow().stop(&mut attempts, Stop::Forced, &leaders);
    drop(live);
    // A killed srun leaves its step running: the step is killed through Slurm too.
    self.cancel_steps(steps, Stop::Forced);
  }

  /// SIGKILL to `proc`'s running attempt now, outside any stop: for a producer whose line no
  /// queue item can hold, whose output cannot be kept. Its attempt fails by its exit.
  pub(super) fn kill_now(&self, proc: Proc) {
    if self.stop_jobs(&[(proc, 0)], Stop::Forced).is_empty() {
      return;
    }
    let live = self.live.borrow();
    if let Some(step) = live.get(&proc).and_then(|l| l.step.clone()) {
      self.cancel_steps(vec![step], Stop::Forced);
    }
    let Some(process) = live.get(&proc) else { return };
    let mut attempt = process.attempt();
    let leaders = leaders(&live);
    self.launcher.borrow().stop(&mut [&mut attempt], Stop::Forced, &leaders);
  }

  pub(super) fn is_stopping(&self, proc: Proc) -> bool {
    self.live.borrow().get(&proc).is_some_and(|p| p.stopping)
  }

  /// The signal the runner last sent `proc`'s running attempt to stop it: SIGTERM, SIGKILL,
  /// or none.
  pub(super) fn stopped_by(&self, proc: Proc) -> Option<i32> {
    let live = self.live.borrow();
    let process = live.get(&proc)?;
    match (process.killed, process.stopping) {
      (true, _) => Some(libc::SIGKILL),
      (false, true) => Some(libc::SIGTERM),
      (false, false) => None,
    }
  }

  /// The Slurm calls the run made, when it ran on Slurm.
  pub(super) fn slurm_calls(&self) -> Option<SlurmCalls> {
    self.slurm.as_ref().map(Backend::calls)
  }

  /// The end of the run: what tasks left running (descendants that left their groups) is
  /// asked to end, then killed when `grace` is over; then the watchdog goes.
  pub(super) async fn end(&self, grace: std::time::Duration) {
    if let Some(Backend { mode: Mode::Jobs(jobs), .. }) = &self.slurm {
      jobs.finish(self.client()).await;
    }
    let leaders: Vec<i32> = self.live.borrow().values().map(|p| p.pid).collect();
    if self.launcher.borrow().left(&leaders) > 0 {
      self.signal_everything(Stop::Graceful);
      let deadline = std::time::Instant::now() + grace;
      // Orphans cannot be waited for through a pidfd; they are looked for until gone.
      while self.launcher.borrow().left(&leaders) > 0 && std::time::Instant::now() < deadline {
        async_std::task::sleep(std::time::Duration::from_millis(10)).await;
      }
      self.signal_everything(Stop::Forced);
      self.launcher.borrow().left(&leaders);
    }
    self.launcher.borrow_mut().dismiss_watchdog();
  }

  /// Sends `how` to every process of the run, now: the live groups and every other descendant
  /// of the runner. Returns how many processes there were.
  pub(super) fn signal_everything(&self, how: Stop) -> usize {
    if how == Stop::Forced {
      let running: Vec<(Proc, u64)> = self.jobs.borrow().keys().map(|&p| (p, 0)).collect();
      self.stop_jobs(&running, how);
    }
    let leaders: Vec<i32> = self.live.borrow().values().map(|p| p.pid).collect();
    self.launcher.borrow().signal_everything(&leaders, how)
  }
}
