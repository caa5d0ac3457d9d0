//! The client verbs of `runner serve`: `submit`, `status`, `logs`, `cancel`, `shutdown`. Each
//! finds the daemon (`--socket`, `--connect` with a token, or a state dir's `address`), says
//! `hello`, sends one request and prints the replies: streamed pieces to stdout as they come,
//! errors to stderr. Blocking sockets: a client does one thing at a time.

use crate::cli::{
  CancelArgs, ConnectArgs, FollowOutput, LogsArgs, ShutdownArgs, StatusArgs, SubmitArgs,
};
use crate::error::ExitCode;
use crate::replay::Live;
use crate::serve::place::{self, Address};
use crate::serve::protocol::{self, Request};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

/// A connection to the daemon, after its `hello`.
struct Client {
  reader: BufReader<Box<dyn Read>>,
  writer: Box<dyn Write>,
}

/// Why a verb failed: what to print, and the exit code.
struct Failed(String, ExitCode);

type Result<T> = std::result::Result<T, Failed>;

pub(crate) fn submit(args: &SubmitArgs, color: bool) -> ExitCode {
  finish(submit_run(args, color))
}

fn submit_run(args: &SubmitArgs, color: bool) -> Result<ExitCode> {
  let mut client = Client::connect(&args.connect)?;
  let cwd = std::env::current_dir()
    .map_err(|e| Failed(format!("error: cannot read this folder: {e}"), ExitCode::Invalid))?;
  let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
  let reply = client.ask(&Request::Submit {
    file: args.file.display().to_string(),
    cwd: cwd.display().to_string(),
    targets: args.targets.clone(),
    color,
    width,
  })?;
  let run = reply["run"].as_str().unwrap_or_default().to_string();
  if args.follow {
    eprintln!("runner: submitted {run}");
    let live = match live_view(args.output) {
      true => Live::new(&cwd.join(&args.file), color),
      false => None,
    };
    let json = args.output == FollowOutput::Json || live.is_some();
    return client.stream(&Request::Logs { run, task: None, follow: true, json }, live);
  }
  println!("{run}");
  if !args.wait {
    return Ok(ExitCode::Ok);
  }
  let reply = client.ask(&Request::Wait { run })?;
  Ok(exit_of(&reply["run"]))
}

pub(crate) fn status(args: &StatusArgs) -> ExitCode {
  finish((|| {
    let mut client = Client::connect(&args.connect)?;
    let reply = client.ask(&Request::Status { run: args.run.clone() })?;
    let text = match args.json {
      true => serde_json::to_string_pretty(&reply).unwrap_or_default() + "\n",
      false => status_table(&reply, args.run.is_none()),
    };
    print!("{text}");
    Ok(ExitCode::Ok)
  })())
}

pub(crate) fn logs(args: &LogsArgs, color: bool) -> ExitCode {
  finish((|| {
    let mut client = Client::connect(&args.connect)?;
    let live = match args.follow && args.task.is_none() && live_view(args.output) {
      true => {
        let reply = client.ask(&Request::Status { run: Some(args.run.clone()) })?;
        let file = reply["runs"][0]["file"].as_str().map(PathBuf::from);
        file.and_then(|file| Live::new(&file, color))
      }
      false => None,
    };
    let json = args.output == FollowOutput::Json || live.is_some();
    let request =
      Request::Logs { run: args.run.clone(), task: args.task.clone(), follow: args.follow, json };
    client.stream(&request, live).map(|_| ExitCode::Ok)
  })())
}

/// Whether a follower shows the live view: asked for, or `auto` on a terminal. Where the
/// view cannot be built (the client cannot read the job file), plain lines are shown.
fn live_view(output: FollowOutput) -> bool {
  use std::io::IsTerminal;
  match output {
    FollowOutput::Tty => true,
    FollowOutput::Auto => std::io::stdout().is_terminal() && std::env::var_os("CI").is_none(),
    FollowOutput::Plain | FollowOutput::Json => false,
  }
}

pub(crate) fn cancel(args: &CancelArgs) -> ExitCode {
  finish((|| {
    let mut client = Client::connect(&args.connect)?;
    let reply = client.ask(&Request::Cancel { run: args.run.clone(), task: args.task.clone() })?;
    eprintln!("{}", reply["message"].as_str().unwrap_or_default());
    Ok(ExitCode::Ok)
  })())
}

pub(crate) fn shutdown(args: &ShutdownArgs) -> ExitCode {
  finish((|| {
    let mut client = Client::connect(&args.connect)?;
    client.ask(&Request::Shutdown { now: args.now })?;
    eprintln!("runner serve: stopped");
    Ok(ExitCode::Ok)
  })())
}

fn finish(result: Result<ExitCode>) -> ExitCode {
  match result {
    Ok(code) => code,
    Err(Failed(message, code)) => {
      eprint!("{message}");
      if !message.ends_with('\n') {
        eprintln!();
      }
      code
    }
  }
}

/// The exit code a run entry says, as `runner run` would have exited.
fn exit_of(entry: &Value) -> ExitCode {
  match (entry["exit_code"].as_i64(), entry["state"].as_str()) {
    (Some(0), _) => ExitCode::Ok,
    (Some(code), _) => ExitCode::Served(code as i32),
    // Cancelled before it started: stopped as `cancel` stops a running run, as by SIGTERM.
    (None, Some("cancelled")) => ExitCode::Interrupted(libc::SIGTERM),
    // Interrupted with the daemon.
    (None, _) => ExitCode::RunFailed,
  }
}

/// `status` for a person: one line a run, then the daemon's counts (and, for `every` run, how
/// many it keeps).
fn status_table(reply: &Value, every: bool) -> String {
  let runs = reply["runs"].as_array().cloned().unwrap_or_default();
  let mut out = format!("{:<8} {:<12} {:>4}  {:>9}  FILE\n", "RUN", "STATE", "EXIT", "DURATION");
  for run in &runs {
    let exit = run["exit_code"].as_i64().map_or("-".to_string(), |c| c.to_string());
    let took = match (run["started_ms"].as_u64(), run["finished_ms"].as_u64()) {
      (Some(start), Some(end)) => {
        crate::duration::display(std::time::Duration::from_millis(end.saturating_sub(start)))
      }
      _ => "-".to_string(),
    };
    let (id, state, file) = (run["run"].as_str(), run["state"].as_str(), run["file"].as_str());
    let (id, state, file) = (id.unwrap_or("?"), state.unwrap_or("?"), file.unwrap_or("?"));
    out += &format!("{id:<8} {state:<12} {exit:>4}  {took:>9}  {file}\n");
  }
  let (running, queued) = (&reply["running"], &reply["queued"]);
  if every {
    out += &format!("{} kept; ", crate::counted(runs.len(), "run"));
  }
  out += &format!("{running} running, {queued} queued\n");
  out
}

impl Client {
  /// Connects as `args` say and says `hello`.
  fn connect(args: &ConnectArgs) -> Result<Client> {
    let (address, token) = find(args)?;
    let unreachable = |e: std::io::Error| {
      Failed(
        format!("error: cannot reach runner serve at {address}: {e} (is it running?)"),
        ExitCode::Invalid,
      )
    };
    let (reader, writer): (Box<dyn Read>, Box<dyn Write>) = match &address {
      Address::Unix(path) => {
        let stream = std::os::unix::net::UnixStream::connect(path).map_err(unreachable)?;
        (Box::new(stream.try_clone().map_err(unreachable)?), Box::new(stream))
      }
      Address::Tcp(addr) => {
        let stream = std::net::TcpStream::connect(addr).map_err(unreachable)?;
        let _ = stream.set_nodelay(true);
        (Box::new(stream.try_clone().map_err(unreachable)?), Box::new(stream))
      }
    };
    let mut client = Client { reader: BufReader::new(reader), writer };
    client.ask(&Request::Hello { version: protocol::VERSION, token })?;
    Ok(client)
  }

  fn send(&mut self, request: &Request) -> Result<()> {
    let value = serde_json::to_value(request).unwrap_or(Value::Null);
    let lost =
      |e: std::io::Error| Failed(format!("error: the daemon went away: {e}"), ExitCode::RunFailed);
    self.writer.write_all(&protocol::line(&value)).map_err(lost)?;
    self.writer.flush().map_err(lost)
  }

  fn receive(&mut self) -> Result<Value> {
    let mut line = String::new();
    let read = self.reader.read_line(&mut line);
    let lost =
      |why: String| Failed(format!("error: the daemon went away: {why}"), ExitCode::RunFailed);
    match read {
      Ok(0) => Err(lost("the connection closed".into())),
      Ok(_) => serde_json::from_str(&line).map_err(|e| lost(format!("a reply is not JSON: {e}"))),
      Err(e) => Err(lost(e.to_string())),
    }
  }

  /// Sends `request` and returns its reply, or what the error reply says.
  fn ask(&mut self, request: &Request) -> Result<Value> {
    self.send(request)?;
    let reply = self.receive()?;
    refusal(&reply).map_or(Ok(reply), Err)
  }

  /// Sends `request` and prints the pieces that come until its reply; the run's exit code.
  fn stream(&mut self, request: &Request, mut live: Option<Live>) -> Result<ExitCode> {
    self.send(request)?;
    // Not held across the loop: the live view's thread writes to stdout too.
    let out = std::io::stdout();
    loop {
      let reply = self.receive()?;
      if let (Some(text), Some(live)) = (reply.get("chunk").and_then(Value::as_str), &mut live) {
        live.feed(text);
        continue;
      }
      if let Some(live) = live.take() {
        live.finish();
      }
      if let Some(text) = reply.get("chunk").and_then(Value::as_str) {
        let mut out = out.lock();
        let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        match written {
          Ok(()) => continue,
          // The reader left (`| head`): not an error, as for `runner run`.
          Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::Ok),
          Err(e) => {
            return Err(Failed(format!("error: cannot write output: {e}"), ExitCode::OutputFailed));
          }
        }
      }
      if let Some(failed) = refusal(&reply) {
        return Err(failed);
      }
      return Ok(exit_of(&reply["end"]));
    }
  }
}

/// An error reply as what to print and the exit code: 1 for the daemon's state (busy,
/// shutting down, an internal error), 2 for the request's fault.
fn refusal(reply: &Value) -> Option<Failed> {
  if reply["ok"].as_bool() != Some(false) {
    return None;
  }
  let message = reply["message"].as_str().unwrap_or("the daemon refused the request");
  let code = match reply["error"].as_str() {
    Some("busy" | "shutting_down" | "internal" | "timeout") => ExitCode::RunFailed,
    _ => ExitCode::Invalid,
  };
  let text = match reply["diagnostics"].as_str() {
    Some(diagnostics) if !diagnostics.is_empty() => diagnostics.to_string(),
    _ => format!("error: {message}"),
  };
  Some(Failed(text, code))
}

/// Where the daemon is, and the token to give it.
fn find(args: &ConnectArgs) -> Result<(Address, Option<String>)> {
  let invalid = |m: String| Failed(format!("error: {m}"), ExitCode::Invalid);
  let token = |dir: Option<&PathBuf>| -> Result<Option<String>> {
    let file = args.token_file.clone().or_else(|| dir.map(|d| d.join("token")));
    let file = file.unwrap_or_else(|| place::default_state_dir().join("token"));
    place::read_token(&file).map(Some).map_err(invalid)
  };
  if let Some(socket) = &args.socket {
    return Ok((Address::Unix(socket.clone()), None));
  }
  if let Some(addr) = args.connect {
    return Ok((Address::Tcp(addr), token(args.state_dir.as_ref())?));
  }
  let dir = args.state_dir.clone();
  let address_file = dir.clone().unwrap_or_else(place::default_state_dir).join("address");
  let address = match std::fs::read_to_string(&address_file) {
    Ok(text) => Address::parse(&text)
      .ok_or_else(|| invalid(format!("`{}` holds no address", address_file.display())))?,
    // No daemon wrote one: the default socket, where a daemon would listen.
    Err(_) => Address::Unix(place::default_socket(dir.as_deref())),
  };
  match address {
    Address::Tcp(_) => Ok((address, token(dir.as_ref())?)),
    Address::Unix(_) => Ok((address, None)),
  }
}
