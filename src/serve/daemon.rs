//! The daemon's table of runs and every change of their state: a submission checked and queued
//! (or refused: invalid, busy, shutting down), started when a run slot is free, stopped or
//! cancelled, finished; the journal written before each change is answered; the history kept
//! to `--keep` runs. Synchronous: `execute` runs the runs, `conn` answers clients.

use super::feed::News;
use super::journal::{Entry, Journal, State};
use crate::engine::Order;
use crate::graph::{Graph, NodeId};
use crate::scheduler::slots::Pool;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// What `runner serve` was asked to keep to.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
  /// Task slots shared by every run (`-j`).
  pub jobs: usize,
  /// Runs running at once.
  pub max_runs: usize,
  /// Runs queued beyond those; past it, submissions are refused as busy.
  pub backlog: usize,
  /// Finished runs kept (their entries and files).
  pub keep: usize,
  pub kill_grace: std::time::Duration,
  /// Each run's `logs/`, a file per attempt (`--attempt-logs`).
  pub attempt_logs: bool,
}

/// One run the daemon knows.
pub(crate) struct Run {
  pub entry: Entry,
  /// Its files' growth and its end, for followers and waiters.
  pub news: Rc<News>,
  /// A queued run's compiled graph and targets, until it starts.
  pub pending: Option<(Rc<Graph>, Vec<NodeId>)>,
  /// A running run's graph (to find a task to cancel) and where its orders go.
  pub running: Option<(Rc<Graph>, async_channel::Sender<Order>)>,
  /// `runner cancel` stopped it: it ends `cancelled`, not `failed`.
  pub cancelled: bool,
}

pub(crate) struct Daemon {
  pub dir: PathBuf,
  pub limits: Limits,
  journal: Journal,
  runs: HashMap<String, Run>,
  /// Every run known, oldest first.
  order: BTreeMap<u64, String>,
  /// Finished runs, first finished first: the oldest go past `--keep`.
  ended: VecDeque<String>,
  /// Runs waiting to start, first submitted first.
  queue: VecDeque<String>,
  active: usize,
  /// The number the next run takes: run ids are never given twice, across restarts too.
  next: u64,
  pub pool: Rc<RefCell<Pool>>,
  /// `runner shutdown` (or SIGTERM) came: no new run; `true`: the running are stopped too.
  pub stopping: Option<bool>,
  /// Bumped as runs end and as shutdown replies go out.
  pub over: Rc<News>,
  /// Clients waiting for the shutdown they asked for to be done.
  pub waiters: usize,
}

/// Why a request about a run could not be done.
pub(crate) enum Refusal {
  NotFound(String),
  /// The job file has errors (`diagnostics`: as `runner validate` prints them), or a target
  /// is not in it.
  Invalid {
    message: String,
    diagnostics: String,
  },
  Busy(String),
  ShuttingDown,
  Internal(String),
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
  let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
  since.map_or(0, |d| d.as_millis() as u64)
}

impl Daemon {
  /// The daemon of state dir `dir`, with what its journal holds: runs that were queued or
  /// running when the last daemon ended are `interrupted` now (the caller kills what they
  /// left, from the entries returned).
  pub(crate) fn open(dir: &Path, limits: Limits) -> std::io::Result<(Daemon, Vec<Entry>)> {
    let (journal, entries, _torn) = Journal::open(dir)?;
    let pool = Pool::new(limits.jobs);
    let next = journal.next_run.max(1);
    let mut daemon = Daemon {
      dir: dir.to_path_buf(),
      limits,
      journal,
      runs: HashMap::new(),
      order: BTreeMap::new(),
      ended: VecDeque::new(),
      queue: VecDeque::new(),
      active: 0,
      next,
      pool,
      stopping: None,
      over: Rc::new(News::default()),
      waiters: 0,
    };
    let mut interrupted = Vec::new();
    for mut entry in entries {
      let n = number(&entry.run);
      daemon.next = daemon.next.max(n + 1);
      if !entry.state.is_final() {
        interrupted.push(entry.clone());
        entry.state = State::Interrupted;
        entry.finished_ms = Some(now_ms());
        entry.cause = Some("the daemon ended while the run was not finished".into());
        daemon.journal.append(&entry)?;
      }
      daemon.order.insert(n, entry.run.clone());
      daemon.ended.push_back(entry.run.clone());
      let news = Rc::new(News::default());
      news.end();
      let run = Run { entry, news, pending: None, running: None, cancelled: false };
      daemon.runs.insert(run.entry.run.clone(), run);
    }
    daemon.prune()?;
    Ok((daemon, interrupted))
  }

  pub(crate) fn run(&self, id: &str) -> Option<&Run> {
    self.runs.get(id)
  }

  /// Every run known, oldest first.
  pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
    self.order.values().filter_map(|id| self.runs.get(id)).map(|run| &run.entry)
  }

  /// Whether run `id` has a task or group `name`: its graph says while it is queued or runs,
  /// its report once it ended (a run whose report cannot be read is given the benefit of the
  /// doubt).
  pub(crate) fn has_task(&self, id: &str, name: &str) -> bool {
    let Some(run) = self.runs.get(id) else { return false };
    let graph = run.pending.as_ref().map(|(g, _)| g).or(run.running.as_ref().map(|(g, _)| g));
    if let Some(graph) = graph {
      return graph.find(name).is_some();
    }
    let report = std::fs::read(self.run_dir(id).join("report.json"));
    let Some(report) =
      report.ok().and_then(|r| serde_json::from_slice::<serde_json::Value>(&r).ok())
    else {
      return true;
    };
    let named = |key: &str| {
      report[key].as_array().is_some_and(|nodes| nodes.iter().any(|n| n["name"] == name))
    };
    named("tasks") || named("groups")
  }

  pub(crate) fn run_dir(&self, id: &str) -> PathBuf {
    self.dir.join("runs").join(id)
  }

  /// Queues a checked submission; returns its run id.
  pub(crate) fn submit(
    &mut self,
    file: &Path,
    names: Vec<String>,
    graph: Graph,
    targets: Vec<NodeId>,
  ) -> Result<String, Refusal> {
    if self.stopping.is_some() {
      return Err(Refusal::ShuttingDown);
    }
    if self.queue.len() >= self.limits.backlog {
      let limits = &self.limits;
      return Err(Refusal::Busy(format!(
        "busy: {} runs running and {} queued (--backlog {}); try again later",
        self.active,
        self.queue.len(),
        limits.backlog
      )));
    }
    let id = format!("r{}", self.next);
    let entry = Entry::queued(id.clone(), file.display().to_string(), names, now_ms());
    self.journal.append(&entry).map_err(|e| Refusal::Internal(journal_error(&e)))?;
    self.next += 1;
    let news = Rc::new(News::default());
    let run = Run {
      entry,
      news,
      pending: Some((Rc::new(graph), targets)),
      running: None,
      cancelled: false,
    };
    self.runs.insert(id.clone(), run);
    self.order.insert(self.next - 1, id.clone());
    self.queue.push_back(id.clone());
    Ok(id)
  }

  /// The next queued run, if a run slot is free: marked running (and journaled), with what
  /// `execute` needs to run it.
  pub(crate) fn next_to_start(&mut self) -> Option<Starting> {
    if self.active >= self.limits.max_runs || self.stopping == Some(true) {
      return None;
    }
    let id = self.queue.pop_front()?;
    let run = self.runs.get_mut(&id)?;
    let (graph, targets) = run.pending.take()?;
    let tag = format!("serve-{id}-{}", crate::engine::run_id());
    run.entry.state = State::Running;
    run.entry.started_ms = Some(now_ms());
    run.entry.tag = Some(tag.clone());
    run.entry.start_tick = Some(super::leftovers::now_tick());
    let (orders_tx, orders) = async_channel::unbounded();
    run.running = Some((graph.clone(), orders_tx));
    let serial = number(&id);
    let news = run.news.clone();
    if let Err(err) = self.journal.append(&run.entry) {
      eprintln!("runner serve: {}", journal_error(&err));
    }
    self.active += 1;
    Some(Starting {
      id: id.clone(),
      dir: self.run_dir(&id),
      graph,
      targets,
      tag,
      serial,
      orders,
      news,
    })
  }

  /// Run `id` ended with `exit_code`; `cause` says why it failed.
  pub(crate) fn finished(&mut self, id: &str, exit_code: i32, cause: Option<String>) {
    self.active -= 1;
    let Some(run) = self.runs.get_mut(id) else { return };
    run.running = None;
    run.entry.state = match (exit_code, run.cancelled) {
      (0, _) => State::Succeeded,
      (_, true) => State::Cancelled,
      (_, false) => State::Failed,
    };
    run.entry.exit_code = Some(exit_code);
    run.entry.finished_ms = Some(now_ms());
    run.entry.cause = cause;
    if let Err(err) = self.journal.append(&run.entry) {
      eprintln!("runner serve: {}", journal_error(&err));
    }
    run.news.end_with(serde_json::to_value(&run.entry).unwrap_or_default());
    self.ended.push_back(id.to_string());
    if let Err(err) = self.prune() {
      eprintln!("runner serve: {}", journal_error(&err));
    }
    self.over.bump();
  }

  /// `runner cancel RUN [TASK]`: a queued run is cancelled at once, a running one stopped (or
  /// its task cancelled); returns what was done.
  pub(crate) fn cancel(&mut self, id: &str, task: Option<&str>) -> Result<String, Refusal> {
    let Some(run) = self.runs.get_mut(id) else {
      return Err(Refusal::NotFound(format!("no run `{id}`")));
    };
    if let Some(task) = task {
      let Some((graph, orders)) = &run.running else {
        return Err(Refusal::NotFound(format!("run `{id}` is not running")));
      };
      let found = graph.find(task).filter(|&n| graph.task(n).is_some());
      let Some(node) = found else {
        let hint = crate::suggest::closest(task, graph.nodes.iter().map(|n| n.name.as_str()));
        let hint = hint.map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        return Err(Refusal::NotFound(format!("run `{id}` has no task `{task}`{hint}")));
      };
      let _ = orders.try_send(Order::Cancel(node));
      return Ok(format!("{id}: cancelling `{task}`"));
    }
    match run.entry.state {
      State::Queued => {
        run.pending = None;
        run.cancelled = true;
        run.entry.state = State::Cancelled;
        run.entry.finished_ms = Some(now_ms());
        run.entry.cause = Some("cancelled before it started".into());
        self.journal.append(&run.entry).map_err(|e| Refusal::Internal(journal_error(&e)))?;
        run.news.end_with(serde_json::to_value(&run.entry).unwrap_or_default());
        self.ended.push_back(id.to_string());
        self.queue.retain(|q| q != id);
        self.over.bump();
        Ok(format!("{id}: cancelled before it started"))
      }
      State::Running => {
        run.cancelled = true;
        if let Some((_, orders)) = &run.running {
          let _ = orders.try_send(Order::Stop);
        }
        Ok(format!("{id}: stopping"))
      }
      state => Ok(format!("{id}: {} already", state.name())),
    }
  }

  /// `runner shutdown [--now]`: no new run; queued runs are cancelled; with `now`, the running
  /// ones are stopped too. The daemon ends once nothing runs.
  pub(crate) fn shutdown(&mut self, now: bool) {
    self.stopping = Some(self.stopping.unwrap_or(false) || now);
    for id in std::mem::take(&mut self.queue) {
      let _ = self.cancel(&id, None);
    }
    if now {
      let running: Vec<String> =
        self.runs.iter().filter(|(_, r)| r.running.is_some()).map(|(id, _)| id.clone()).collect();
      for id in running {
        let _ = self.cancel(&id, None);
      }
    }
    self.over.bump();
  }

  /// Whether the daemon may exit: shutting down, and nothing runs.
  pub(crate) fn may_exit(&self) -> bool {
    self.stopping.is_some() && self.active == 0
  }

  pub(crate) fn counts(&self) -> (usize, usize) {
    (self.active, self.queue.len())
  }

  /// Drops the oldest finished runs past `--keep`, with their files; rewrites the journal when
  /// it has grown well past what it keeps.
  fn prune(&mut self) -> std::io::Result<()> {
    while self.ended.len() > self.limits.keep {
      let Some(id) = self.ended.pop_front() else { break };
      self.runs.remove(&id);
      self.order.remove(&number(&id));
      let _ = std::fs::remove_dir_all(self.run_dir(&id));
    }
    if self.journal.lines > 4 * (self.limits.keep + self.limits.backlog + self.limits.max_runs) + 64
    {
      let kept: Vec<Entry> = self.entries().cloned().collect();
      self.journal.rewrite(&kept.iter().collect::<Vec<_>>(), self.next)?;
    }
    Ok(())
  }
}

/// What starting a run takes.
pub(crate) struct Starting {
  pub id: String,
  pub dir: PathBuf,
  pub graph: Rc<Graph>,
  pub targets: Vec<NodeId>,
  pub tag: String,
  pub serial: u64,
  pub orders: async_channel::Receiver<Order>,
  pub news: Rc<News>,
}

/// The number of run `id` (`r12`: 12).
fn number(id: &str) -> u64 {
  id.trim_start_matches('r').parse().unwrap_or(0)
}

fn journal_error(err: &std::io::Error) -> String {
  format!("cannot write the journal: {err}")
}
