//! The jobs path: each attempt is a batch job (`sbatch --parsable`) of a small wrapper that runs
//! the command and then writes its exit code to a file in the run directory, on a filesystem
//! the nodes share. The runner learns how a job is doing from three sources: that exit file
//! (seen at once through inotify where the filesystem tells, else at the next poll), one
//! `squeue` call per poll interval for all of the run's jobs, and `sacct` where accounting
//! answers. The job's output files are read while it runs and passed on as its lines.
//!
//! Submissions wait for a free place (`--slurm-max-jobs`) and a token of the rate limit
//! (`--slurm-submit-rate`); a stop cancels every job it names with one `scancel` call.

use super::cancel::{cancel, signal, withdraw};
use super::command::{self, Answer, Client};
use super::inotify::{Inotify, inotify_names};
use super::queue_state::{self, Seen};
use super::wrapper::WRAPPER;
use crate::engine::launcher::Stop;
use crate::engine::reactor::spawn_local;
use crate::event::Exit;
use crate::scheduler::Proc;
use async_channel::{Receiver, Sender};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// At most this many `sbatch` calls at once.
const SUBMITTING: usize = 8;
/// A job's output is read in pieces of at most this size, and no more while this many wait to
/// be passed on: a job that prints fast is read as fast as its lines are taken.
const PIECE: usize = 64 * 1024;
const PIECES_WAITING: usize = 8;

/// What the jobs path tells an attempt's follower.
pub(in crate::engine) enum News {
  /// Bytes of the job's stdout (0) or stderr (1), in order.
  Output(usize, Vec<u8>),
  /// The job runs on `node`.
  Placed {
    id: String,
    node: String,
  },
  /// The runner's own words about the job, as a line of its stderr.
  Note(String),
  Ended(Exit),
}

/// How the run's options set the jobs path up.
pub(in crate::engine) struct Settings {
  pub dir: PathBuf,
  pub poll: Duration,
  pub max_jobs: usize,
  pub rate: u32,
}

/// An sbatch command: its argv, the environment over the runner's, its directory.
type Submit = (Vec<String>, Vec<(String, String)>, PathBuf);

/// One attempt as a job.
struct Job {
  proc: Proc,
  news: Sender<News>,
  /// The sbatch command, until it is submitted.
  submit: Option<Submit>,
  id: Option<String>,
  /// Bytes of stdout and stderr passed on so far.
  read: [u64; 2],
  node: Option<String>,
  placed: bool,
  /// squeue has listed it running: a stop signals it; before, a stop cancels it.
  running: bool,
  /// The strongest stop asked for it.
  stop: Option<Stop>,
  /// Since when squeue has not listed it, or listed it ended, with no exit file.
  missing: Option<(Instant, String)>,
  submitted: Instant,
}

pub(in crate::engine) struct Jobs {
  settings: Settings,
  run: String,
  wrapper: PathBuf,
  next: Cell<u64>,
  jobs: RefCell<HashMap<u64, Job>>,
  by_id: RefCell<HashMap<String, u64>>,
  waiting: RefCell<VecDeque<u64>>,
  /// Submitted (or being submitted) and not ended.
  in_flight: Cell<usize>,
  submitting: Cell<usize>,
  tokens: RefCell<(f64, Instant)>,
  polling: Cell<bool>,
  watching: Cell<bool>,
  /// When the last squeue call that answered was, and since when calls fail.
  failing_since: Cell<Option<Instant>>,
  sacct: Cell<Option<bool>>,
  pub(in crate::engine) latencies: RefCell<Vec<u64>>,
}

/// How long a job may be missing from squeue (or listed as ended) without an exit file before
/// it is lost: the file may be late on a client filesystem.
fn lost_grace(poll: Duration) -> Duration {
  (poll * 3).max(Duration::from_secs(5))
}

/// How long squeue may fail before the jobs in flight are given up: the controller is gone.
const CONTROLLER_GRACE: Duration = Duration::from_secs(20);

impl Jobs {
  /// Makes the run directory and writes the wrapper into it.
  pub(in crate::engine) fn new(settings: Settings, run: &str) -> std::io::Result<Self> {
    let dir = settings.dir.join(run);
    std::fs::create_dir_all(&dir)?;
    let wrapper = dir.join("job.sh");
    std::fs::write(&wrapper, WRAPPER)?;
    let settings = Settings { dir, ..settings };
    let tokens = RefCell::new((f64::from(settings.rate), Instant::now()));
    Ok(Self {
      settings,
      run: run.to_string(),
      wrapper,
      next: Cell::new(0),
      jobs: RefCell::default(),
      by_id: RefCell::default(),
      waiting: RefCell::default(),
      in_flight: Cell::new(0),
      submitting: Cell::new(0),
      tokens,
      polling: Cell::new(false),
      watching: Cell::new(false),
      failing_since: Cell::new(None),
      sacct: Cell::new(None),
      latencies: RefCell::default(),
    })
  }

  #[cfg(test)]
  fn dir(&self) -> &Path {
    &self.settings.dir
  }

  fn file(&self, serial: u64, ext: &str) -> PathBuf {
    self.settings.dir.join(format!("{serial}.{ext}"))
  }

  /// Queues `argv` (with `env` over the runner's, in `cwd`) as a job for `proc`, with the
  /// block's `args`; what becomes of it comes as [`News`].
  pub(in crate::engine) fn start(
    self: &Rc<Self>,
    client: &Rc<Client>,
    proc: Proc,
    command: &[String],
    env: &[(String, String)],
    cwd: &Path,
    args: Vec<String>,
  ) -> (u64, Receiver<News>) {
    let serial = self.next.get() + 1;
    self.next.set(serial);
    let (tx, rx) = async_channel::unbounded();
    let path = |ext| self.file(serial, ext).to_string_lossy().into_owned();
    let mut argv: Vec<String> = vec!["sbatch".into(), "--parsable".into()];
    argv.push(format!("--job-name={}", self.run));
    argv.extend([format!("--output={}", path("out")), format!("--error={}", path("err"))]);
    argv.extend(["--no-requeue".into(), "--open-mode=append".into()]);
    argv.extend(args);
    argv.push(self.wrapper.to_string_lossy().into_owned());
    argv.push(path("exit"));
    argv.extend(command.iter().cloned());
    let job = Job {
      proc,
      news: tx,
      submit: Some((argv, env.to_vec(), cwd.to_path_buf())),
      id: None,
      read: [0, 0],
      node: None,
      placed: false,
      running: false,
      stop: None,
      missing: None,
      submitted: Instant::now(),
    };
    self.jobs.borrow_mut().insert(serial, job);
    self.waiting.borrow_mut().push_back(serial);
    self.pump(client);
    (serial, rx)
  }

  /// Submits what waits, as far as the cap, the rate and the calls at once allow; when the
  /// rate is what holds it back, tries again when the next token is due.
  fn pump(self: &Rc<Self>, client: &Rc<Client>) {
    loop {
      if self.submitting.get() >= SUBMITTING || self.in_flight.get() >= self.settings.max_jobs {
        return;
      }
      let Some(&serial) = self.waiting.borrow().front() else { return };
      if let Some(wait) = self.take_token() {
        let (jobs, client) = (self.clone(), client.clone());
        spawn_local(async move {
          async_std::task::sleep(wait).await;
          jobs.pump(&client);
        });
        return;
      }
      self.waiting.borrow_mut().pop_front();
      let Some(submit) = self.jobs.borrow_mut().get_mut(&serial).and_then(|j| j.submit.take())
      else {
        continue;
      };
      self.in_flight.set(self.in_flight.get() + 1);
      self.submitting.set(self.submitting.get() + 1);
      let (jobs, client) = (self.clone(), client.clone());
      spawn_local(async move { jobs.submit(&client, serial, submit).await });
    }
  }

  /// None when a token was taken; else how long until the next one.
  fn take_token(&self) -> Option<Duration> {
    let rate = f64::from(self.settings.rate);
    let mut tokens = self.tokens.borrow_mut();
    let now = Instant::now();
    tokens.0 = (tokens.0 + now.duration_since(tokens.1).as_secs_f64() * rate).min(rate);
    tokens.1 = now;
    if tokens.0 >= 1.0 {
      tokens.0 -= 1.0;
      return None;
    }
    Some(Duration::from_secs_f64((1.0 - tokens.0) / rate))
  }

  async fn submit(self: Rc<Self>, client: &Rc<Client>, serial: u64, (argv, env, cwd): Submit) {
    let answer = command::run(client, argv, &env, &cwd).await;
    self.submitting.set(self.submitting.get() - 1);
    client.count(|c| c.submits += 1);
    let id = answer.stdout.lines().next().and_then(|l| l.split(';').next()).map(str::trim);
    match id.filter(|id| answer.ok() && !id.is_empty()) {
      Some(id) => self.submitted(client, serial, id.to_string()),
      None => {
        client.count(|c| c.failed += 1);
        let note = format!("runner: sbatch did not take the job: {}", answer.why());
        self.end(client, serial, vec![News::Note(note)], Exit { code: None, signal: None });
      }
    }
    self.pump(client);
  }

  fn submitted(self: &Rc<Self>, client: &Rc<Client>, serial: u64, id: String) {
    let stop = {
      let mut jobs = self.jobs.borrow_mut();
      let Some(job) = jobs.get_mut(&serial) else { return };
      job.id = Some(id.clone());
      job.submitted = Instant::now();
      job.stop
    };
    self.by_id.borrow_mut().insert(id.clone(), serial);
    // Stopped while sbatch ran: cancelled now, as it would have been.
    if stop.is_some() {
      withdraw(client, vec![id]);
    }
    if !self.polling.replace(true) {
      let (jobs, client) = (self.clone(), client.clone());
      spawn_local(async move { jobs.poll_loop(&client).await });
    }
    // One watch for the whole run: inotify instances are few (128 a user by default).
    if !self.watching.replace(true) {
      let (jobs, client) = (self.clone(), client.clone());
      spawn_local(async move { jobs.watch_exits(&client).await });
    }
  }

  /// Stops the attempts `serials` name: those not submitted yet end now, the others are
  /// cancelled with one `scancel` call (SIGTERM to the job's processes, or SIGKILL).
  pub(in crate::engine) fn stop(self: &Rc<Self>, client: &Rc<Client>, serials: &[u64], how: Stop) {
    let (mut running, mut queued, mut unsubmitted) = (Vec::new(), Vec::new(), Vec::new());
    for serial in serials {
      let mut jobs = self.jobs.borrow_mut();
      let Some(job) = jobs.get_mut(serial) else { continue };
      job.stop = Some(how);
      match (&job.id, &job.submit) {
        (Some(id), _) if job.running => running.push(id.clone()),
        // Not seen running: it may be pending, which a signal does not reach.
        (Some(id), _) => queued.push(id.clone()),
        (None, Some(_)) => unsubmitted.push(*serial),
        (None, None) => {} // being submitted: cancelled once its id is known
      }
    }
    for serial in unsubmitted {
      self.waiting.borrow_mut().retain(|s| *s != serial);
      self.end(client, serial, Vec::new(), Exit { code: None, signal: Some(signal(how)) });
    }
    // A kill reaches a job that started since the last poll, too.
    if how == Stop::Forced {
      running.extend(queued.iter().cloned());
    }
    if !running.is_empty() {
      cancel(self.live(), client, running, how);
    }
    if !queued.is_empty() {
      withdraw(client, queued);
    }
  }

  /// Whether a job (by id) is submitted and not ended, for a cancel that looks again later.
  fn live(self: &Rc<Self>) -> impl Fn(&str) -> bool + 'static {
    let jobs = self.clone();
    move |id| jobs.by_id.borrow().contains_key(id)
  }

  /// The ids of the jobs submitted and not ended.
  pub(in crate::engine) fn live_ids(&self) -> Vec<String> {
    self.by_id.borrow().keys().cloned().collect()
  }

  /// Ends an attempt: its news, then its end; the job is forgotten and its files go.
  fn end(self: &Rc<Self>, client: &Rc<Client>, serial: u64, news: Vec<News>, exit: Exit) {
    let Some(job) = self.jobs.borrow_mut().remove(&serial) else { return };
    if let Some(id) = &job.id {
      self.by_id.borrow_mut().remove(id);
    }
    if job.submit.is_none() {
      self.in_flight.set(self.in_flight.get() - 1);
    }
    for piece in news {
      let _ = job.news.try_send(piece);
    }
    let _ = job.news.try_send(News::Ended(exit));
    for ext in ["out", "err", "exit"] {
      let _ = std::fs::remove_file(self.file(serial, ext));
    }
    let _ = job.proc;
    self.pump(client);
  }

  /// The run is over: a job still in flight (the loop stopped early) is killed, and the run
  /// directory goes once nothing in it is left to read.
  pub(in crate::engine) async fn finish(&self, client: &Client) {
    let ids = self.live_ids();
    if !ids.is_empty() {
      let mut argv = vec!["scancel".to_string(), "--batch".into(), "--signal=USR2".into()];
      argv.extend(ids);
      command::run(client, argv.clone(), &[], Path::new("/")).await;
      // Then Slurm's own cancel, for what the wrapper did not end.
      argv.drain(1..3);
      command::run(client, argv, &[], Path::new("/")).await;
      client.count(|c| c.cancels += 2);
    }
    if self.jobs.borrow().is_empty() {
      let _ = std::fs::remove_file(&self.wrapper);
      let _ = std::fs::remove_dir(&self.settings.dir);
    }
  }

  /// Every poll interval: the output of every job, their exit files, and one squeue call.
  async fn poll_loop(self: Rc<Self>, client: &Rc<Client>) {
    while !self.jobs.borrow().is_empty() {
      async_std::task::sleep(self.settings.poll).await;
      let serials: Vec<u64> = self.jobs.borrow().keys().copied().collect();
      for serial in serials {
        self.look(client, serial);
      }
      if self.by_id.borrow().is_empty() {
        continue;
      }
      let answer = queue_state::ask(client, &self.run).await;
      client.count(|c| c.polls += 1);
      self.judge(client, answer).await;
    }
    self.polling.set(false);
  }

  /// Reads what `serial`'s job wrote since the last look, and ends it if its exit file is
  /// there.
  fn look(self: &Rc<Self>, client: &Rc<Client>, serial: u64) {
    let exit = std::fs::read_to_string(self.file(serial, "exit")).ok();
    let mut news = self.output(serial, exit.is_some());
    let Some(text) = exit else {
      if let Some(job) = self.jobs.borrow().get(&serial) {
        news.into_iter().for_each(|n| drop(job.news.try_send(n)));
      }
      return;
    };
    let latency = std::fs::metadata(self.file(serial, "exit"))
      .and_then(|m| m.modified())
      .ok()
      .and_then(|at| at.elapsed().ok());
    if let Some(latency) = latency {
      self.latencies.borrow_mut().push(latency.as_millis() as u64);
    }
    let (code, node) = parse_exit(&text);
    let stop = self.jobs.borrow().get(&serial).and_then(|j| j.stop);
    if let Some(placed) = self.placed(serial, node) {
      news.insert(0, placed);
    }
    let exit = match (code, stop) {
      // A stopped command's end by its signal reads as the shell says it: 128 + the signal.
      (Some(c), Some(_)) if (129..=192).contains(&c) => Exit { code: None, signal: Some(c - 128) },
      (code, _) => Exit { code, signal: None },
    };
    self.end(client, serial, news, exit);
  }

  /// The Placed news for `serial`, once, when its node is known.
  fn placed(&self, serial: u64, node: Option<&str>) -> Option<News> {
    let mut jobs = self.jobs.borrow_mut();
    let job = jobs.get_mut(&serial)?;
    if let Some(node) = node.filter(|n| !n.is_empty()) {
      job.node.get_or_insert_with(|| node.to_string());
    }
    placed_news(job)
  }

  /// What the job's output files hold past what was passed on: all of it once it has `ended`,
  /// else a few pieces, and none while the follower has not taken the last ones.
  fn output(&self, serial: u64, ended: bool) -> Vec<News> {
    let mut jobs = self.jobs.borrow_mut();
    let Some(job) = jobs.get_mut(&serial) else { return Vec::new() };
    if !ended && job.news.len() >= PIECES_WAITING {
      return Vec::new();
    }
    let mut news = Vec::new();
    for (stream, ext) in ["out", "err"].into_iter().enumerate() {
      let Ok(mut file) = std::fs::File::open(self.file(serial, ext)) else { continue };
      if file.seek(SeekFrom::Start(job.read[stream])).is_err() {
        continue;
      }
      let most = if ended { usize::MAX } else { PIECES_WAITING / 2 };
      for _ in 0..most {
        let mut piece = vec![0; PIECE];
        let n = file.read(&mut piece).unwrap_or(0);
        if n == 0 {
          break;
        }
        piece.truncate(n);
        job.read[stream] += n as u64;
        news.push(News::Output(stream, piece));
      }
    }
    news
  }

  /// Squeue's answer about the run's jobs: a job listed running is placed; one not listed, or
  /// listed ended, without an exit file is lost after a grace; calls that fail for long end
  /// every job in flight.
  async fn judge(self: &Rc<Self>, client: &Rc<Client>, answer: Answer) {
    let now = Instant::now();
    if !answer.ok() {
      client.count(|c| c.failed += 1);
      let since = *self.failing_since.get().get_or_insert(now);
      self.failing_since.set(Some(since));
      if now.duration_since(since) >= CONTROLLER_GRACE {
        let why = format!("squeue fails ({}) for {}s", answer.why(), CONTROLLER_GRACE.as_secs());
        self.give_up_all(client, &why);
      }
      return;
    }
    self.failing_since.set(None);
    let seen = queue_state::parse(&answer.stdout);
    let mut candidates = Vec::new();
    let serials: Vec<u64> = self.by_id.borrow().values().copied().collect();
    for serial in serials {
      if let Some(why) = self.note_state(serial, &seen, now) {
        candidates.push((serial, why));
      }
    }
    if candidates.is_empty() {
      return;
    }
    let sacct = self.accounted(client, &candidates).await;
    for (serial, why) in candidates {
      self.lost(client, serial, &why, sacct.get(&serial).copied());
    }
  }

  /// Notes what squeue says of one job; Some(why) once it has been missing for the grace.
  fn note_state(
    self: &Rc<Self>,
    serial: u64,
    seen: &HashMap<String, Seen>,
    now: Instant,
  ) -> Option<String> {
    let placed = {
      let mut jobs = self.jobs.borrow_mut();
      let job = jobs.get_mut(&serial)?;
      let state = seen.get(job.id.as_deref()?);
      let killed = job.stop == Some(Stop::Forced);
      let why = match state {
        // Killed: its processes are gone once Slurm is cleaning up after them.
        Some(s) if killed && s.state == "COMPLETING" => Some("squeue says COMPLETING".to_string()),
        Some(s) if !queue_state::ended(&s.state) => {
          if s.state == "RUNNING" && !s.node.is_empty() {
            job.running = true;
            job.node.get_or_insert_with(|| s.node.clone());
          }
          job.missing = None;
          None
        }
        Some(s) if s.reason.is_empty() || s.reason == "None" => {
          Some(format!("squeue says {}", s.state))
        }
        Some(s) => Some(format!("squeue says {} ({})", s.state, s.reason)),
        None if now.duration_since(job.submitted) < self.settings.poll => None,
        None => Some("squeue no longer lists it".to_string()),
      };
      match why {
        None => job.missing = None,
        Some(why) => {
          let since = job.missing.get_or_insert((now, why.clone())).0;
          // A job the runner stopped has ended as it was told to: no exit file is waited for.
          if now.duration_since(since) >= lost_grace(self.settings.poll) || job.stop.is_some() {
            return Some(why);
          }
        }
      }
      placed_news(job)
    };
    if let (Some(news), Some(job)) = (placed, self.jobs.borrow().get(&serial)) {
      let _ = job.news.try_send(news);
    }
    None
  }

  /// Ends a job that ended without an exit file: by the signal the runner sent, by what
  /// accounting recorded, or as lost.
  fn lost(self: &Rc<Self>, client: &Rc<Client>, serial: u64, why: &str, accounted: Option<i32>) {
    // The exit file may have come meanwhile.
    if self.file(serial, "exit").exists() {
      return self.look(client, serial);
    }
    let mut news = self.output(serial, true);
    let (stop, id) = match self.jobs.borrow().get(&serial) {
      Some(job) => (job.stop, job.id.clone().unwrap_or_default()),
      None => return,
    };
    if let Some(how) = stop {
      return self.end(client, serial, news, Exit { code: None, signal: Some(signal(how)) });
    }
    if let Some(code) = accounted {
      news.push(News::Note(format!(
        "runner: job {id} wrote no exit file; sacct says exit code {code}"
      )));
      return self.end(client, serial, news, Exit { code: Some(code), signal: None });
    }
    client.count(|c| c.lost += 1);
    let grace = lost_grace(self.settings.poll).as_secs();
    news
      .push(News::Note(format!("runner: job {id} lost: {why}, and no exit file came in {grace}s")));
    self.end(client, serial, news, Exit { code: None, signal: None });
  }

  /// The controller does not answer: every job in flight is given up (cancelled, in case it
  /// comes back) and every job not submitted yet fails.
  fn give_up_all(self: &Rc<Self>, client: &Rc<Client>, why: &str) {
    let ids = self.live_ids();
    let serials: Vec<u64> = self.jobs.borrow().keys().copied().collect();
    for serial in serials {
      let stop = self.jobs.borrow().get(&serial).and_then(|j| j.stop);
      let id = self.jobs.borrow().get(&serial).and_then(|j| j.id.clone());
      let news = self.output(serial, true);
      let exit = match stop {
        Some(how) => Exit { code: None, signal: Some(signal(how)) },
        None => Exit { code: None, signal: None },
      };
      let mut news = news;
      if stop.is_none() {
        client.count(|c| c.lost += 1);
        let what = id.map_or("a job not submitted yet".to_string(), |id| format!("job {id}"));
        news.push(News::Note(format!(
          "runner: {what} lost: the Slurm controller does not answer: {why}"
        )));
      }
      self.waiting.borrow_mut().retain(|s| *s != serial);
      self.end(client, serial, news, exit);
    }
    if !ids.is_empty() {
      cancel(self.live(), client, ids, Stop::Forced);
    }
  }

  /// What `sacct` recorded of the jobs `candidates` name, when accounting answers (asked once
  /// whether it does): their exit codes by serial.
  async fn accounted(
    &self,
    client: &Rc<Client>,
    candidates: &[(u64, String)],
  ) -> HashMap<u64, i32> {
    let mut found = HashMap::new();
    if self.sacct.get() == Some(false) {
      return found;
    }
    let ids: Vec<(u64, String)> = {
      let jobs = self.jobs.borrow();
      candidates.iter().filter_map(|(s, _)| Some((*s, jobs.get(s)?.id.clone()?))).collect()
    };
    let list = ids.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>().join(",");
    let argv = ["sacct", "-X", "-P", "-n", "-o", "JobID,State,ExitCode", "-j", &list];
    let answer = command::run(client, argv.map(String::from).to_vec(), &[], Path::new("/")).await;
    self.sacct.set(Some(answer.ok()));
    if !answer.ok() {
      return found;
    }
    let codes = queue_state::parse_sacct(&answer.stdout);
    for (serial, id) in ids {
      if let Some(&code) = codes.get(&id) {
        found.insert(serial, code);
      }
    }
    found
  }

  /// Watches the run directory for exit files, so that a job's end is seen as it is written
  /// rather than at the next poll (where the filesystem tells: not across NFS clients).
  async fn watch_exits(self: Rc<Self>, client: &Rc<Client>) {
    let Some(watch) = Inotify::new(&self.settings.dir) else { return };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
      let Ok(n) = watch.fd.read(&mut buf).await else { return };
      for name in inotify_names(&buf[..n]) {
        let Some(serial) = name.strip_suffix(".exit").and_then(|s| s.parse::<u64>().ok()) else {
          continue;
        };
        if self.jobs.borrow().contains_key(&serial) {
          self.look(client, serial);
        }
      }
    }
  }
}

/// The Placed news of `job`, once, when its node is known.
fn placed_news(job: &mut Job) -> Option<News> {
  if job.placed || job.node.is_none() {
    return None;
  }
  job.placed = true;
  Some(News::Placed { id: job.id.clone()?, node: job.node.clone()? })
}

/// The exit file's code and node: `3 n2`.
fn parse_exit(text: &str) -> (Option<i32>, Option<&str>) {
  let mut words = text.split_whitespace();
  (words.next().and_then(|c| c.parse().ok()), words.next())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn an_exit_file_gives_the_code_and_the_node() {
    assert_eq!(parse_exit("3 n2\n"), (Some(3), Some("n2")));
    assert_eq!(parse_exit("0 \n"), (Some(0), None));
    assert_eq!(parse_exit(""), (None, None));
  }

  #[test]
  fn the_rate_gives_tokens_as_time_passes() {
    let settings =
      Settings { dir: std::env::temp_dir(), poll: Duration::from_secs(1), max_jobs: 10, rate: 2 };
    let jobs = Jobs::new(settings, &format!("rate-test-{}", std::process::id())).expect("dir");
    assert_eq!(jobs.take_token(), None);
    assert_eq!(jobs.take_token(), None);
    let wait = jobs.take_token().expect("out of tokens");
    assert!(wait <= Duration::from_millis(500) && wait > Duration::from_millis(400), "{wait:?}");
    let _ = std::fs::remove_dir_all(jobs.dir());
  }
}
