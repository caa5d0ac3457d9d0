//! One client connection, on the daemon's loop: the handshake within its timeout (and over TCP
//! the token, compared in constant time, a wrong one answered after a fixed delay), then
//! requests one line at a time, each line cut and capped before it is parsed, its rest due
//! within the handshake timeout once it began. A bad request gets an error reply and the
//! connection stays usable; a line too long, a timeout or a failed handshake close it.

use super::daemon::{Daemon, Refusal};
use super::execute;
use super::feed;
use super::protocol::{self, Cut, Fault, Frames, Request, chunk, error, ok};
use async_std::future::timeout;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a connection may sit between requests.
const IDLE: Duration = Duration::from_secs(600);
/// How long a reply may take to be written before the client is dropped.
const WRITE: Duration = Duration::from_secs(30);

/// What a connection must pass before it is served.
pub(crate) struct Gate {
  /// The token a TCP client must give; None on the unix socket, whose mode is the check.
  pub token: Option<String>,
  /// How long the first request (and the rest of any request begun) may take to arrive.
  pub handshake: Duration,
  /// How long a wrong or missing token waits for its answer.
  pub refuse_delay: Duration,
}

/// Why reading a request ended without one.
enum Closed {
  Eof,
  TooLarge,
  Timeout,
  Io,
}

struct Conn<S> {
  stream: S,
  frames: Frames,
  daemon: Rc<RefCell<Daemon>>,
  gate: Rc<Gate>,
}

/// Serves one connection to its end.
pub(crate) async fn serve<S>(stream: S, daemon: Rc<RefCell<Daemon>>, gate: Rc<Gate>)
where
  S: async_std::io::Read + async_std::io::Write + Unpin,
{
  let mut conn = Conn { stream, frames: Frames::default(), daemon, gate };
  if !conn.handshake().await {
    return;
  }
  loop {
    let line = match conn.frame(IDLE).await {
      Ok(line) => line,
      Err(closed) => return conn.close(closed).await,
    };
    let going_on = match protocol::decode(&line) {
      Ok(request) => conn.answer(request).await,
      Err(message) => conn.send(&error(Fault::BadRequest, &message, json!({}))).await,
    };
    if !going_on {
      return;
    }
  }
}

impl<S: async_std::io::Read + async_std::io::Write + Unpin> Conn<S> {
  /// The next request line, within `wait` of now (and the rest of a line begun within the
  /// handshake timeout).
  async fn frame(&mut self, wait: Duration) -> Result<Vec<u8>, Closed> {
    let opened = Instant::now();
    let mut began = self.frames.partial().then(Instant::now);
    let mut buf = [0u8; 16 * 1024];
    loop {
      match self.frames.next() {
        Cut::Line(line) => return Ok(line),
        Cut::TooLarge => return Err(Closed::TooLarge),
        Cut::Partial => {}
      }
      if began.is_none() && self.frames.partial() {
        began = Some(Instant::now());
      }
      let deadline = match began {
        Some(began) => began + self.gate.handshake,
        None => opened + wait,
      };
      let left = deadline.saturating_duration_since(Instant::now());
      let room = self.frames.room().clamp(1, buf.len());
      match timeout(left, self.stream.read(&mut buf[..room])).await {
        Err(_) => return Err(Closed::Timeout),
        Ok(Ok(0)) => return Err(Closed::Eof),
        Ok(Ok(n)) => self.frames.push(&buf[..n]),
        Ok(Err(_)) => return Err(Closed::Io),
      }
    }
  }

  /// Says why the connection closes, when the client can still hear it.
  async fn close(&mut self, closed: Closed) {
    let reply = match closed {
      Closed::Eof | Closed::Io => return,
      Closed::TooLarge => {
        let message = format!("a request line is at most {} bytes", protocol::MAX_FRAME);
        error(Fault::TooLarge, &message, json!({}))
      }
      Closed::Timeout => error(Fault::Timeout, "no whole request came in time", json!({})),
    };
    self.farewell(&reply).await;
  }

  /// Sends a last reply and closes the connection.
  async fn farewell(&mut self, reply: &Value) {
    self.send(reply).await;
    let _ = AsyncWriteExt::close(&mut self.stream).await;
    // What the client still sends is read and dropped for a moment, so that closing does
    // not reset the connection before it read the reply.
    let mut buf = [0u8; 64 * 1024];
    let until = Instant::now() + Duration::from_secs(1);
    let mut drained = 0usize;
    while drained < 256 << 20 {
      let left = until.saturating_duration_since(Instant::now());
      match timeout(left, self.stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => drained += n,
        _ => break,
      }
    }
  }

  async fn send(&mut self, reply: &Value) -> bool {
    let bytes = protocol::line(reply);
    matches!(timeout(WRITE, self.stream.write_all(&bytes)).await, Ok(Ok(())))
  }

  /// The first request must be a `hello` with this protocol's version and, over TCP, the
  /// token.
  async fn handshake(&mut self) -> bool {
    // The whole first request is due within the timeout, however late its first byte came.
    let first = timeout(self.gate.handshake, self.frame(self.gate.handshake)).await;
    let line = match first.unwrap_or(Err(Closed::Timeout)) {
      Ok(line) => line,
      Err(closed) => {
        self.close(closed).await;
        return false;
      }
    };
    let refusal = match protocol::decode(&line) {
      Ok(Request::Hello { version, token }) if version == protocol::VERSION => {
        match (&self.gate.token, token) {
          (None, _) => None,
          (Some(expected), Some(given))
            if protocol::same_secret(given.as_bytes(), expected.as_bytes()) =>
          {
            None
          }
          (Some(_), given) => {
            async_std::task::sleep(self.gate.refuse_delay).await;
            Some(match given {
              Some(_) => "wrong token: give the `token` file of the daemon's state dir \
                          (--token-file)"
                .to_string(),
              None => "this daemon takes TCP clients with a token only (--token-file)".to_string(),
            })
          }
        }
      }
      Ok(Request::Hello { version, .. }) => Some(format!(
        "this daemon speaks protocol version {}; the client speaks {version}",
        protocol::VERSION
      )),
      Ok(_) => Some("the first request must be `hello`".to_string()),
      Err(message) => Some(message),
    };
    if let Some(message) = refusal {
      self.farewell(&error(Fault::Unauthorized, &message, json!({}))).await;
      return false;
    }
    let server = concat!("runner ", env!("CARGO_PKG_VERSION"));
    self.send(&ok(json!({ "hello": { "version": protocol::VERSION, "server": server } }))).await
  }

  /// Answers one request; false when the connection is over.
  async fn answer(&mut self, request: Request) -> bool {
    match request {
      Request::Hello { .. } => {
        self.send(&error(Fault::BadRequest, "`hello` was said already", json!({}))).await
      }
      Request::Submit { file, cwd, targets, color, width } => {
        let reply = submit(&self.daemon, &file, &cwd, targets, color, width.unwrap_or(100));
        self.send(&reply).await
      }
      Request::Status { run } => {
        let reply = status(&self.daemon.borrow(), run.as_deref());
        self.send(&reply).await
      }
      Request::Logs { run, task, follow, json } => {
        self.logs(&run, task.as_deref(), follow, json).await
      }
      Request::Wait { run } => self.wait(&run).await,
      Request::Cancel { run, task } => {
        let done = self.daemon.borrow_mut().cancel(&run, task.as_deref());
        execute::start_what_can(&self.daemon);
        let reply = match done {
          Ok(message) => ok(json!({ "message": message })),
          Err(refusal) => refused(refusal),
        };
        self.send(&reply).await
      }
      Request::Shutdown { now } => {
        self.daemon.borrow_mut().shutdown(now);
        self.daemon.borrow_mut().waiters += 1;
        let over = self.daemon.borrow().over.clone();
        while !self.daemon.borrow().may_exit() {
          over.changed(over.version()).await;
        }
        let sent = self.send(&ok(json!({ "stopped": true }))).await;
        self.daemon.borrow_mut().waiters -= 1;
        over.bump();
        sent
      }
    }
  }

  /// Streams a run's plain output (or JSON events), or one task's part of it; with `follow`,
  /// until the run ends; then a reply with the run's state.
  async fn logs(&mut self, id: &str, task: Option<&str>, follow: bool, json: bool) -> bool {
    let found = {
      let daemon = self.daemon.borrow();
      let file = if json { "events.jsonl" } else { "output.txt" };
      daemon.run(id).map(|run| (daemon.run_dir(id).join(file), run.news.clone()))
    };
    let Some((path, news)) = found else {
      return self.send(&error(Fault::NotFound, &format!("no run `{id}`"), json!({}))).await;
    };
    if let Some(task) = task
      && !self.daemon.borrow().has_task(id, task)
    {
      let message = format!("run `{id}` has no task `{task}`");
      return self.send(&error(Fault::NotFound, &message, json!({}))).await;
    }
    let mut offset = 0;
    loop {
      let (seen, ended) = (news.version(), news.ended());
      let (text, next) = match feed::read_from(&path, offset, ended) {
        Ok(read) => read,
        // Not started yet, or never (cancelled while queued).
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => (String::new(), offset),
        Err(err) => {
          let message = format!("cannot read `{}`: {err}", path.display());
          return self.send(&error(Fault::Internal, &message, json!({}))).await;
        }
      };
      let text = match task {
        Some(task) if json => feed::task_events(&text, task),
        Some(task) => feed::task_lines(&text, task),
        None => text,
      };
      if !text.is_empty() && !self.send(&chunk(&text)).await {
        return false;
      }
      if next != offset {
        offset = next;
        continue;
      }
      if ended || !follow {
        break;
      }
      news.changed(seen).await;
    }
    let entry = news.last().or_else(|| self.entry(id)).unwrap_or(Value::Null);
    self.send(&ok(json!({ "end": entry }))).await
  }

  /// Answers once run `id` has ended, with its entry.
  async fn wait(&mut self, id: &str) -> bool {
    let news = self.daemon.borrow().run(id).map(|run| run.news.clone());
    let Some(news) = news else {
      return self.send(&error(Fault::NotFound, &format!("no run `{id}`"), json!({}))).await;
    };
    while !news.ended() {
      news.changed(news.version()).await;
    }
    let entry = news.last().or_else(|| self.entry(id)).unwrap_or(Value::Null);
    self.send(&ok(json!({ "run": entry }))).await
  }

  /// Run `id`'s entry as the daemon's table holds it now.
  fn entry(&self, id: &str) -> Option<Value> {
    let daemon = self.daemon.borrow();
    daemon.run(id).and_then(|run| serde_json::to_value(&run.entry).ok())
  }
}

/// Reads and compiles the job file as the daemon sees it, checks the targets, and queues the
/// run.
fn submit(
  daemon: &Rc<RefCell<Daemon>>,
  file: &str,
  cwd: &str,
  targets: Vec<String>,
  color: bool,
  width: u16,
) -> Value {
  if daemon.borrow().stopping.is_some() {
    return refused(Refusal::ShuttingDown);
  }
  let path = Path::new(cwd).join(file);
  // Diagnostics name the file as the client did: relative to its folder, if it gave it so.
  let shown = if Path::new(file).is_relative() { Path::new(cwd) } else { Path::new("") };
  let (graph, ids) = match super::load::load(&path, shown, &targets, color, width) {
    Ok(loaded) => loaded,
    Err(refusal) => return refused(refusal),
  };
  let submitted = daemon.borrow_mut().submit(&path, targets, graph, ids);
  match submitted {
    Ok(id) => {
      execute::start_what_can(daemon);
      ok(json!({ "run": id }))
    }
    Err(refusal) => refused(refusal),
  }
}

fn status(daemon: &Daemon, run: Option<&str>) -> Value {
  let runs: Vec<Value> = match run {
    Some(id) => match daemon.run(id) {
      Some(run) => vec![serde_json::to_value(&run.entry).unwrap_or(Value::Null)],
      None => return error(Fault::NotFound, &format!("no run `{id}`"), json!({})),
    },
    None => daemon.entries().filter_map(|e| serde_json::to_value(e).ok()).collect(),
  };
  let (running, queued) = daemon.counts();
  let pool = daemon.pool.borrow();
  let slots =
    json!({ "jobs": daemon.limits.jobs, "free": pool.free(), "runs_waiting": pool.waiting() });
  ok(json!({ "runs": runs, "running": running, "queued": queued, "slots": slots }))
}

/// The reply for a refused request.
pub(crate) fn refused(refusal: Refusal) -> Value {
  match refusal {
    Refusal::NotFound(message) => error(Fault::NotFound, &message, json!({})),
    Refusal::Busy(message) => error(Fault::Busy, &message, json!({})),
    Refusal::ShuttingDown => {
      error(Fault::ShuttingDown, "the daemon is shutting down and takes no new run", json!({}))
    }
    Refusal::Internal(message) => error(Fault::Internal, &message, json!({})),
    Refusal::Invalid { message, diagnostics } => {
      error(Fault::Invalid, &message, json!({ "diagnostics": diagnostics }))
    }
  }
}
