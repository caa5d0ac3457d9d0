//! `runner serve` and its client verbs: the real daemon on a real socket (or loopback port) in
//! a temp dir, driven by the real binary and, for hostile clients, by raw sockets.

mod faults;
mod follow;
mod hostile;
mod load;
mod verbs;

use crate::support::{BIN, PATIENCE, Reaper, Run, TAG, Test, wait_child, wait_until};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A daemon running in the background, with its state dir in the test's temp dir; killed
/// (SIGKILL) with whatever its runs left when dropped.
pub(crate) struct Daemon {
  pub child: Option<Child>,
  pub state: PathBuf,
  pub cwd: PathBuf,
  pub reaper: Reaper,
  /// `--listen` was given: clients connect over TCP with the token.
  pub tcp: bool,
  /// The arguments it was started with, to start it again.
  args: Vec<String>,
}

impl Daemon {
  /// `runner serve --state-dir STATE ARGS...` in `test`'s dir, once its address file says it
  /// listens.
  pub(crate) fn start(test: &Test, args: &[&str]) -> Daemon {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let tcp = args.iter().any(|a| a == "--listen");
    let mut daemon = Daemon {
      child: None,
      state: test.path("state"),
      cwd: test.dir.path().to_path_buf(),
      reaper: Reaper::new("serve"),
      tcp,
      args,
    };
    daemon.restart();
    daemon
  }

  /// A daemon on a loopback port the kernel picks.
  pub(crate) fn tcp(test: &Test, args: &[&str]) -> Daemon {
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    Daemon::start(test, &all)
  }

  /// Starts the daemon (again, after a kill), and waits until it listens.
  pub(crate) fn restart(&mut self) {
    let _ = std::fs::remove_file(self.state.join("address"));
    let stderr = std::fs::OpenOptions::new()
      .create(true)
      .append(true)
      .open(self.cwd.join("serve.stderr"))
      .expect("stderr file");
    let child = Command::new(BIN)
      .arg("serve")
      .arg("--state-dir")
      .arg(&self.state)
      .args(&self.args)
      .current_dir(&self.cwd)
      .env(TAG, self.reaper.tag())
      .env("NO_COLOR", "1")
      .env_remove("CI")
      .stdin(Stdio::null())
      .stdout(Stdio::null())
      .stderr(stderr)
      .spawn()
      .expect("spawn runner serve");
    self.child = Some(child);
    let address = self.state.join("address");
    wait_until("the daemon writes its address", PATIENCE, || address.exists());
  }

  /// What the daemon printed on stderr so far.
  pub(crate) fn stderr(&self) -> String {
    std::fs::read_to_string(self.cwd.join("serve.stderr")).unwrap_or_default()
  }

  /// `runner VERB ARGS...` as a client of this daemon, in the test's dir.
  pub(crate) fn client(&self, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd
      .args(args)
      .arg("--state-dir")
      .arg(&self.state)
      .current_dir(&self.cwd)
      .env("NO_COLOR", "1")
      .env("COLUMNS", "100")
      .env_remove("CI");
    cmd
  }

  pub(crate) fn run(&self, args: &[&str]) -> Run {
    Run::from(self.client(args).output().expect("run the client"))
  }

  /// `status --json` as JSON.
  pub(crate) fn status(&self) -> Value {
    let run = self.run(&["status", "--json"]);
    assert_eq!(run.code, 0, "status: {}", run.stderr);
    serde_json::from_str(&run.stdout).expect("status --json is JSON")
  }

  /// The address file's line: `unix PATH` or `tcp ADDR`.
  pub(crate) fn address(&self) -> String {
    std::fs::read_to_string(self.state.join("address")).unwrap_or_default().trim().to_string()
  }

  /// The token clients must give over TCP.
  pub(crate) fn token(&self) -> String {
    std::fs::read_to_string(self.state.join("token")).unwrap_or_default().trim().to_string()
  }

  /// A raw connection to the daemon, for clients that do not play by the rules.
  pub(crate) fn raw(&self) -> Raw {
    let address = self.address();
    let stream: Box<dyn ReadWrite> = match address.split_once(' ') {
      Some(("unix", path)) => {
        Box::new(std::os::unix::net::UnixStream::connect(path).expect("connect"))
      }
      Some(("tcp", addr)) => Box::new(std::net::TcpStream::connect(addr).expect("connect")),
      _ => panic!("no address: {address:?}"),
    };
    Raw { reader: BufReader::new(stream) }
  }

  /// A raw connection that said `hello` (with the token over TCP).
  pub(crate) fn greeted(&self) -> Raw {
    let mut raw = self.raw();
    let hello = match self.tcp {
      true => serde_json::json!({"verb": "hello", "version": 1, "token": self.token()}),
      false => serde_json::json!({"verb": "hello", "version": 1}),
    };
    let reply = raw.ask(&hello.to_string());
    assert_eq!(reply["ok"], true, "hello: {reply}");
    raw
  }

  /// SIGKILL to the daemon, and its reaping.
  pub(crate) fn kill9(&mut self) {
    if let Some(mut child) = self.child.take() {
      let _ = child.kill();
      let _ = child.wait();
    }
  }

  /// `runner shutdown`, and the daemon's exit code.
  pub(crate) fn shutdown(&mut self, args: &[&str]) -> i32 {
    let mut all = vec!["shutdown"];
    all.extend_from_slice(args);
    let run = self.run(&all);
    assert_eq!(run.code, 0, "shutdown: {}", run.stderr);
    let mut child = self.child.take().expect("a running daemon");
    let status = wait_child(&mut child, PATIENCE).expect("the daemon exits after shutdown");
    crate::support::code_of(status)
  }
}

impl Drop for Daemon {
  fn drop(&mut self) {
    self.kill9();
  }
}

pub(crate) trait ReadWrite: std::io::Read + std::io::Write {}
impl<T: std::io::Read + std::io::Write> ReadWrite for T {}

/// A raw connection: lines out, JSON lines back.
pub(crate) struct Raw {
  pub reader: BufReader<Box<dyn ReadWrite>>,
}

impl Raw {
  pub(crate) fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
    let stream = self.reader.get_mut();
    stream.write_all(bytes)?;
    stream.flush()
  }

  /// The next reply, or None when the connection closed.
  pub(crate) fn receive(&mut self) -> Option<Value> {
    let mut line = String::new();
    match self.reader.read_line(&mut line) {
      Ok(0) | Err(_) => None,
      Ok(_) => Some(serde_json::from_str(&line).expect("a reply is one JSON line")),
    }
  }

  /// Sends one request line and returns its reply.
  #[track_caller]
  pub(crate) fn ask(&mut self, line: &str) -> Value {
    self.send(format!("{line}\n").as_bytes()).expect("send");
    self.receive().expect("a reply")
  }
}
