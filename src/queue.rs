//! Queues at run time: one bounded channel per queue between its producers' stdout and its
//! consumers' workers, and the consumer loop that runs the command once per item.
//!
//! A full channel makes the producer's reader wait, so the producer blocks on its pipe: memory
//! stays bounded by `maxsize` items. A queue closes when its static items are in and every
//! producer has finished; consumers end once it is closed and drained.

use crate::event::{Exit, Stream};
use crate::graph::{Graph, NodeId, Program, QueueId};
use crate::process::{Child, Ends, Launch};
use crate::runtime::{ItemOutcome, Msg, Shared, Sink, Supervised, supervise};
use crate::status::Status;
use async_channel::{Receiver, Sender};
use futures_lite::FutureExt;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Items never taken are listed up to this many; beyond it they are only counted.
const LEFT_LISTED: usize = 1000;

/// One queue's channel and counters.
pub struct Queue {
  tx: RefCell<Option<Sender<String>>>,
  rx: Receiver<String>,
  /// Producers (and the static items' feeder) not finished yet.
  open: Cell<usize>,
  /// Consumers not finished yet. When none is left, nothing will ever take an item: the queue
  /// is abandoned, so that no producer waits for room forever.
  consumers: Cell<usize>,
  abandoned: Cell<bool>,
  /// Items nobody took (the first [`LEFT_LISTED`]), and how many there were.
  left: RefCell<Vec<String>>,
  left_total: Cell<u64>,
  pub put: Cell<u64>,
  pub taken: Cell<u64>,
  pub done: Cell<u64>,
  pub failed: Cell<u64>,
  pub cancelled: Cell<u64>,
}

impl Queue {
  fn new(maxsize: usize, producers: usize, consumers: usize) -> Self {
    let (tx, rx) =
      if maxsize == 0 { async_channel::unbounded() } else { async_channel::bounded(maxsize) };
    let queue = Self {
      tx: RefCell::new(Some(tx)),
      rx,
      open: Cell::new(producers + 1),
      consumers: Cell::new(consumers + 1),
      abandoned: Cell::new(false),
      left: RefCell::new(Vec::new()),
      left_total: Cell::new(0),
      put: Cell::new(0),
      taken: Cell::new(0),
      done: Cell::new(0),
      failed: Cell::new(0),
      cancelled: Cell::new(0),
    };
    // The extra counts are released after counting: a queue with no producers closes at once,
    // one with no consumers is abandoned at once.
    queue.producer_finished();
    queue.consumer_finished();
    queue
  }

  pub fn depth(&self) -> usize {
    self.rx.len()
  }

  /// Puts an item, waiting while the queue is full (back-pressure). False if the queue is
  /// closed.
  pub async fn put(&self, item: String) -> bool {
    let Some(tx) = self.tx.borrow().clone() else { return false };
    self.put.set(self.put.get() + 1);
    if self.abandoned.get() {
      self.leave(item);
      return true;
    }
    if let Err(err) = tx.send(item).await {
      self.leave(err.0);
    }
    true
  }

  fn leave(&self, item: String) {
    let mut left = self.left.borrow_mut();
    if left.len() < LEFT_LISTED {
      left.push(item);
    }
    self.left_total.set(self.left_total.get() + 1);
  }

  /// One producer (or the feeder) ended; the last one closes the queue.
  pub fn producer_finished(&self) {
    self.open.set(self.open.get().saturating_sub(1));
    if self.open.get() == 0 {
      self.tx.borrow_mut().take();
    }
  }

  /// One consumer ended; after the last one, what is queued is left and producers go on.
  pub fn consumer_finished(&self) {
    self.consumers.set(self.consumers.get().saturating_sub(1));
    if self.consumers.get() == 0 && !self.abandoned.replace(true) {
      self.drain();
    }
  }

  fn drain(&self) {
    while let Ok(item) = self.rx.try_recv() {
      self.leave(item);
    }
  }

  /// Items nobody took (the first ones, when there were many) and how many there were.
  pub fn left(&self) -> (Vec<String>, u64) {
    self.drain();
    (self.left.borrow().clone(), self.left_total.get())
  }
}

/// Every queue of the graph; the producers and consumers counted are the selected ones.
pub fn open(graph: &Graph, selected: impl Fn(NodeId) -> bool) -> Rc<Vec<Rc<Queue>>> {
  let queues: Vec<Rc<Queue>> = graph
    .queues
    .iter()
    .map(|q| {
      let count = |ids: &[NodeId]| ids.iter().filter(|&&id| selected(id)).count();
      let feeder = usize::from(!q.items.is_empty());
      Rc::new(Queue::new(q.maxsize, count(&q.producers) + feeder, count(&q.consumers)))
    })
    .collect();
  for (q, def) in graph.queues.iter().enumerate() {
    if def.items.is_empty() {
      continue;
    }
    let (queue, items) = (queues[q].clone(), def.items.clone());
    crate::reactor::spawn_local(async move {
      for item in items {
        queue.put(item).await;
      }
      queue.producer_finished();
    });
  }
  Rc::new(queues)
}

/// Stops a consumer: no new items are taken, running items are terminated.
#[derive(Default)]
pub struct Control {
  cancelled: Cell<bool>,
  stop: RefCell<Option<Sender<()>>>,
  /// Process groups of the items running now.
  pids: RefCell<HashSet<i32>>,
}

impl Control {
  fn new() -> (Rc<Self>, Receiver<()>) {
    let (tx, rx) = async_channel::bounded(1);
    let control = Self { stop: RefCell::new(Some(tx)), ..Self::default() };
    (Rc::new(control), rx)
  }

  /// Marks the consumer cancelled and returns the item groups to terminate.
  pub fn cancel(&self) -> Vec<i32> {
    self.cancelled.set(true);
    self.stop.borrow_mut().take();
    self.pids.borrow().iter().copied().collect()
  }

  pub fn is_running(&self, pid: i32) -> bool {
    self.pids.borrow().contains(&pid)
  }
}

/// What a consumer runs per item.
pub struct Consumer {
  pub id: NodeId,
  pub queue: QueueId,
  pub program: Program,
  pub env: Vec<(String, String)>,
  pub cwd: PathBuf,
  pub workers: u32,
  pub retries: u32,
  pub retry_delay: Duration,
  pub timeout: Option<Duration>,
  /// The queue the items' stdout lines go to, when the consumer also produces.
  pub produces: Option<Rc<Queue>>,
}

/// Starts a consumer's workers; returns the handle that cancels it. When all workers are done
/// the consumer's `Exited` message carries `{"done": N, "failed": [items]}`.
pub fn start(shared: Rc<Shared>, queues: Rc<Vec<Rc<Queue>>>, consumer: Consumer) -> Rc<Control> {
  let (control, stop) = Control::new();
  let consumer = Rc::new(consumer);
  let failed = Rc::new(RefCell::new(Vec::new()));
  let done = Rc::new(Cell::new(0u64));
  let workers: Vec<_> = (0..consumer.workers)
    .map(|worker| {
      let ctx = Worker {
        shared: shared.clone(),
        queues: queues.clone(),
        consumer: consumer.clone(),
        control: control.clone(),
        stop: stop.clone(),
        worker,
      };
      let (failed, done) = (failed.clone(), done.clone());
      crate::reactor::spawn(async move {
        while let Some(outcome) = ctx.next().await {
          match outcome.status {
            Status::Succeeded => done.set(done.get() + 1),
            Status::Cancelled => {}
            _ => failed.borrow_mut().push(outcome.item.clone()),
          }
          ctx.shared.send(Msg::Item(outcome)).await;
        }
      })
    })
    .collect();
  let id = consumer.id;
  crate::reactor::spawn_local(async move {
    for worker in workers {
      worker.await;
    }
    let failed = failed.take();
    let status = if failed.is_empty() { Status::Succeeded } else { Status::Failed };
    let result = serde_json::json!({"done": done.get(), "failed": failed}).to_string();
    shared.send(Msg::Exited { id, status, exit: Exit::default(), result }).await;
  });
  control
}

struct Worker {
  shared: Rc<Shared>,
  queues: Rc<Vec<Rc<Queue>>>,
  consumer: Rc<Consumer>,
  control: Rc<Control>,
  stop: Receiver<()>,
  worker: u32,
}

impl Worker {
  /// Takes the next item and handles it; None once the queue is closed and drained, or the
  /// consumer is cancelled.
  async fn next(&self) -> Option<ItemOutcome> {
    let queue = &self.queues[self.consumer.queue];
    let taken = async { queue.rx.recv().await.ok() };
    let stopped = async {
      let _ = self.stop.recv().await;
      None
    };
    // A cancelled consumer takes nothing more: what is queued is reported as never taken.
    let item = stopped.or(taken).await?;
    if self.control.cancelled.get() {
      // Taken just as the consumer was cancelled: it was never run.
      queue.cancelled.set(queue.cancelled.get() + 1);
      queue.taken.set(queue.taken.get() + 1);
      return Some(self.outcome(item, Status::Cancelled, 0, Exit::default()));
    }
    queue.taken.set(queue.taken.get() + 1);
    let outcome = self.handle(item).await;
    let counter = match outcome.status {
      Status::Succeeded => &queue.done,
      Status::Cancelled => &queue.cancelled,
      _ => &queue.failed,
    };
    counter.set(counter.get() + 1);
    Some(outcome)
  }

  /// Runs the command for one item, with the consumer's retries.
  async fn handle(&self, item: String) -> ItemOutcome {
    let c = &self.consumer;
    let mut attempt = 0;
    loop {
      attempt += 1;
      let (status, exit) = self.attempt(&item, attempt).await;
      let status = if self.control.cancelled.get() { Status::Cancelled } else { status };
      if !status.is_failure() || attempt > c.retries {
        return self.outcome(item, status, attempt, exit);
      }
      if !c.retry_delay.is_zero() {
        let wait = async {
          async_std::task::sleep(c.retry_delay).await;
        };
        let stopped = async {
          let _ = self.stop.recv().await;
        };
        wait.or(stopped).await;
      }
      if self.control.cancelled.get() {
        return self.outcome(item, Status::Cancelled, attempt, exit);
      }
    }
  }

  async fn attempt(&self, item: &str, attempt: u32) -> (Status, Exit) {
    let c = &self.consumer;
    let mut env = c.env.clone();
    let mut warnings = Vec::new();
    env.push(crate::env::item(item, &mut warnings));
    for line in warnings {
      let tag = Some(Arc::from(item));
      self.shared.send(Msg::Output { id: c.id, stream: Stream::Stderr, line, item: tag }).await;
    }
    env.push(("RUNNER_WORKER".into(), self.worker.to_string()));
    env.push(("RUNNER_ATTEMPT".into(), attempt.to_string()));
    let launch = Launch { program: &c.program, env: &env, cwd: &c.cwd, ends: Ends::Close };
    let ran = match self.shared.spawn(&launch) {
      Ok(child) => self.supervise(child, item).await,
      Err(err) => Err(err),
    };
    match ran {
      Ok(ran) => (ran.status, ran.exit),
      Err(err) => {
        let line = format!("cannot start `{}` for item `{item}`: {err}", c.program.argv[0]);
        let item = Some(Arc::from(item));
        self.shared.send(Msg::Output { id: c.id, stream: Stream::Stderr, line, item }).await;
        (Status::Failed, Exit { code: Some(127), signal: None })
      }
    }
  }

  /// Streams an item's child's output where it goes, under the consumer's timeout and
  /// cancellation, and reaps it.
  async fn supervise(&self, child: Child, item: &str) -> std::io::Result<Supervised> {
    let c = &self.consumer;
    let pid = child.pid;
    self.control.pids.borrow_mut().insert(pid);
    if self.control.cancelled.get() {
      self.shared.stopped.borrow_mut().insert(pid);
      crate::process::signal_task(pid, libc::SIGTERM);
    }
    let tag: Arc<str> = Arc::from(item);
    let stdout = match &c.produces {
      // A stage of a pipeline: each item's output lines become items of the next queue.
      Some(next) => Sink::Queue(next.clone(), Rc::new(Cell::new(0))),
      None => Sink::Report(c.id, Stream::Stdout, Some(tag.clone())),
    };
    let sinks = (stdout, Sink::Report(c.id, Stream::Stderr, Some(tag)));
    let ran = supervise(&self.shared, child, c.timeout, sinks, false).await;
    self.control.pids.borrow_mut().remove(&pid);
    ran
  }

  fn outcome(&self, item: String, status: Status, attempts: u32, exit: Exit) -> ItemOutcome {
    ItemOutcome { consumer: self.consumer.id, item, worker: self.worker, status, attempts, exit }
  }
}
