//! Clients that do not play by the rules, and daemons that cannot start.

use super::Daemon;
use crate::support::{BIN, PATIENCE, Reaper, Run, TAG, Test, wait_child, wait_for, wait_until};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A client has 1 s to send a whole request to these daemons.
const FAST: [&str; 2] = ["--handshake-timeout", "1s"];
/// How long a peer waits for a reply before it calls the daemon silent.
const SILENCE: Duration = Duration::from_secs(10);
const STATUS: &str = r#"{"verb":"status"}"#;

/// A socket to the daemon, either kind.
enum Stream {
  Unix(UnixStream),
  Tcp(TcpStream),
}

impl Stream {
  fn try_clone(&self) -> Stream {
    match self {
      Stream::Unix(s) => Stream::Unix(s.try_clone().expect("clone the socket")),
      Stream::Tcp(s) => Stream::Tcp(s.try_clone().expect("clone the socket")),
    }
  }

  fn set_timeouts(&self, read: Duration, write: Duration) {
    let set = match self {
      Stream::Unix(s) => s.set_read_timeout(Some(read)).and(s.set_write_timeout(Some(write))),
      Stream::Tcp(s) => s.set_read_timeout(Some(read)).and(s.set_write_timeout(Some(write))),
    };
    set.expect("socket timeouts");
  }
}

impl Read for Stream {
  fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
    match self {
      Stream::Unix(s) => s.read(buf),
      Stream::Tcp(s) => s.read(buf),
    }
  }
}

impl Write for Stream {
  fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
    match self {
      Stream::Unix(s) => s.write(buf),
      Stream::Tcp(s) => s.write(buf),
    }
  }

  fn flush(&mut self) -> std::io::Result<()> {
    Ok(())
  }
}

/// What a read of the connection gave.
#[derive(Debug)]
enum Heard {
  Reply(Value),
  /// End of stream, or a reset: the daemon closed the connection.
  Closed,
  /// Nothing within the read timeout.
  Silent,
}

/// A raw connection whose every read has a deadline, for the tests that wait on the daemon's
/// timeouts and closes: a daemon that never answers fails them rather than hanging them.
struct Peer {
  reader: BufReader<Stream>,
}

impl Peer {
  fn open(daemon: &Daemon) -> Peer {
    let address = daemon.address();
    let stream = match address.split_once(' ') {
      Some(("unix", path)) => Stream::Unix(UnixStream::connect(path).expect("connect")),
      Some(("tcp", addr)) => Stream::Tcp(TcpStream::connect(addr).expect("connect")),
      _ => panic!("no address: {address:?}"),
    };
    stream.set_timeouts(SILENCE, SILENCE);
    Peer { reader: BufReader::new(stream) }
  }

  /// A connection that said `hello` (with the token over TCP).
  #[track_caller]
  fn greeted(daemon: &Daemon) -> Peer {
    let mut peer = Peer::open(daemon);
    let reply = peer.ask(&hello(daemon));
    assert_eq!(reply["ok"], true, "hello: {reply}");
    peer
  }

  fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
    self.reader.get_mut().write_all(bytes)
  }

  fn hear(&mut self) -> Heard {
    let mut line = Vec::new();
    match self.reader.read_until(b'\n', &mut line) {
      Ok(0) => Heard::Closed,
      Ok(_) => {
        let text = String::from_utf8_lossy(&line);
        Heard::Reply(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}")))
      }
      Err(e)
        if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
      {
        Heard::Silent
      }
      Err(_) => Heard::Closed,
    }
  }

  /// The next reply; fails the test on a close or silence.
  #[track_caller]
  fn reply(&mut self) -> Value {
    match self.hear() {
      Heard::Reply(reply) => reply,
      other => panic!("expected a reply, got {other:?}"),
    }
  }

  /// Sends one request line and returns its reply.
  #[track_caller]
  fn ask(&mut self, line: &str) -> Value {
    self.send(format!("{line}\n").as_bytes()).expect("send");
    self.reply()
  }

  /// Fails the test unless the daemon closed the connection.
  #[track_caller]
  fn assert_closed(&mut self, what: &str) {
    let heard = self.hear();
    assert!(matches!(heard, Heard::Closed), "{what}: the connection stays open: {heard:?}");
  }
}

/// The `hello` this daemon takes: with its token over TCP.
fn hello(daemon: &Daemon) -> String {
  match daemon.tcp {
    true => json!({"verb": "hello", "version": 1, "token": daemon.token()}).to_string(),
    false => json!({"verb": "hello", "version": 1}).to_string(),
  }
}

/// A failure reply's `error`, or a panic with the reply.
#[track_caller]
fn fault(reply: &Value) -> &str {
  assert_eq!(reply["ok"], false, "expected a refusal: {reply}");
  reply["error"].as_str().unwrap_or_else(|| panic!("no error name: {reply}"))
}

fn message(reply: &Value) -> &str {
  reply["message"].as_str().unwrap_or_default()
}

/// The daemon's process id.
fn pid(daemon: &Daemon) -> u32 {
  daemon.child.as_ref().expect("a running daemon").id()
}

/// The resident memory of process `pid`, in KiB (`VmRSS` of /proc/PID/status).
fn rss_kb(pid: u32) -> u64 {
  let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
  let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or_default();
  line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).unwrap_or(0)
}

/// `runner serve ARGS...` that must give up: its exit code and stderr, once it exited (a daemon
/// still running after a while is killed and fails the test).
fn serve_refused(test: &Test, args: &[&str]) -> Run {
  let stderr = test.path("refused.stderr");
  let mut child = std::process::Command::new(BIN)
    .arg("serve")
    .args(args)
    .current_dir(test.dir.path())
    .env("NO_COLOR", "1")
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::fs::File::create(&stderr).expect("stderr file"))
    .spawn()
    .expect("spawn runner serve");
  let Some(status) = wait_child(&mut child, PATIENCE) else {
    let _ = child.kill();
    let _ = child.wait();
    panic!("runner serve {args:?} did not give up: {}", crate::support::read(&stderr));
  };
  let code = crate::support::code_of(status);
  Run { code, stdout: String::new(), stderr: crate::support::read(&stderr) }
}

/// The one line of `text`, or a failure that shows them all.
#[track_caller]
fn one_line(text: &str) -> &str {
  let lines: Vec<&str> = text.lines().collect();
  assert_eq!(lines.len(), 1, "expected one line:\n{text}");
  lines[0]
}

#[test]
fn tcp_clients_without_the_token_are_refused_after_a_delay_and_closed() {
  let test = Test::new();
  let daemon = Daemon::tcp(&test, &FAST);
  let other_test = Test::new();
  let other = Daemon::tcp(&other_test, &FAST);
  let token = daemon.token();
  assert_eq!(token.len(), 64, "{token}");
  assert_ne!(other.token(), token);
  let flipped = if token.ends_with('0') { "1" } else { "0" };
  let same_length = format!("{}{flipped}", &token[..63]);
  let cases = [
    ("no token", json!({"verb": "hello", "version": 1})),
    (
      "a wrong token of the same length",
      json!({"verb": "hello", "version": 1, "token": same_length}),
    ),
    ("a short wrong token", json!({"verb": "hello", "version": 1, "token": "abc"})),
    ("the token and more", json!({"verb": "hello", "version": 1, "token": format!("{token}00")})),
    ("another daemon's token", json!({"verb": "hello", "version": 1, "token": other.token()})),
  ];
  let mut delays = Vec::new();
  for (what, hello) in cases {
    let mut refused = Peer::open(&daemon);
    let sent = Instant::now();
    refused.send(format!("{hello}\n").as_bytes()).expect("send");
    // The delay holds up this connection only.
    let other_client = Instant::now();
    assert_eq!(Peer::greeted(&daemon).ask(STATUS)["ok"], true);
    let other_client = other_client.elapsed();
    let reply = refused.reply();
    let delay = sent.elapsed();
    assert_eq!(fault(&reply), "unauthorized", "{what}: {reply}");
    let expected =
      if what == "no token" { "takes TCP clients with a token only" } else { "wrong token" };
    assert!(message(&reply).contains(expected), "{what}: {reply}");
    assert!(delay >= Duration::from_millis(400), "{what}: refused after {delay:?} only");
    assert!(delay < Duration::from_secs(5), "{what}: refused after {delay:?}");
    assert!(other_client < Duration::from_millis(400), "{what}: others waited {other_client:?}");
    refused.assert_closed(what);
    // The right token, right after.
    let mut good = Peer::greeted(&daemon);
    assert_eq!(good.ask(STATUS)["ok"], true, "{what}: the right token after it");
    delays.push(delay.as_millis());
  }
  eprintln!("refusal delays (ms): {delays:?}");

  let addr = daemon.address().strip_prefix("tcp ").expect("a tcp address").to_string();
  test.write("wrong-token", &format!("{same_length}\n"));
  test.write("no-token", "not a token\n");
  for (file, expected) in [
    ("wrong-token", "error: wrong token".to_string()),
    ("no-token", format!("error: `{}` holds no token", test.path("no-token").display())),
  ] {
    let path = test.path(file);
    let args = ["status", "--connect", &addr, "--token-file", path.to_str().unwrap()];
    let run = test.run(&args);
    assert_eq!(run.code, 2, "{file}: {run:?}");
    assert!(one_line(&run.stderr).starts_with(&expected), "{file}: {}", run.stderr);
    assert_eq!(run.stdout, "", "{file}");
  }
}

/// A 100 MB line with no newline, from a thread, while the test reads the replies and samples
/// the daemon's memory, and another client asks `status` again and again.
fn flood(tcp: bool) {
  let test = Test::new();
  let daemon = if tcp { Daemon::tcp(&test, &FAST) } else { Daemon::start(&test, &FAST) };
  let pid = pid(&daemon);
  let before = rss_kb(pid);
  // Over TCP, before any hello: a client without the token must not cost memory either.
  let mut flood = if tcp { Peer::open(&daemon) } else { Peer::greeted(&daemon) };
  let mut pipe = flood.reader.get_ref().try_clone();
  let mut poller = Peer::greeted(&daemon);
  let flooding = AtomicBool::new(true);
  let started = Instant::now();
  let (sent, peak, polls, slowest, replied, closed) = std::thread::scope(|scope| {
    let writer = scope.spawn(move || {
      let chunk = vec![b'x'; 1 << 20];
      let mut sent = 0usize;
      while sent < 100 << 20 && pipe.write_all(&chunk).is_ok() {
        sent += chunk.len();
      }
      sent
    });
    let sampler = scope.spawn(|| {
      let mut peak = 0;
      while flooding.load(Ordering::Relaxed) {
        peak = peak.max(rss_kb(pid));
        std::thread::sleep(Duration::from_millis(2));
      }
      peak
    });
    let served = scope.spawn(|| {
      let (mut polls, mut slowest) = (0, Duration::ZERO);
      while flooding.load(Ordering::Relaxed) {
        let asked = Instant::now();
        assert_eq!(poller.ask(STATUS)["ok"], true, "status during the flood");
        slowest = slowest.max(asked.elapsed());
        polls += 1;
      }
      (polls, slowest)
    });
    // Whatever fails below, the sampler and the poller stop.
    let _stop = Stop(&flooding);
    let reply = flood.reply();
    let replied = started.elapsed();
    assert_eq!(fault(&reply), "too_large", "{reply}");
    assert_eq!(message(&reply), "a request line is at most 65536 bytes");
    flood.assert_closed("a line too long");
    let closed = started.elapsed();
    let sent = writer.join().expect("writer");
    flooding.store(false, Ordering::Relaxed);
    let (polls, slowest) = served.join().expect("poller");
    (sent, sampler.join().expect("sampler"), polls, slowest, replied, closed)
  });
  eprintln!(
    "flood (tcp {tcp}): {} MiB sent, too_large after {replied:?}, closed after {closed:?}; \
     RSS {before} kB before, {peak} kB at most; {polls} statuses meanwhile, the slowest {slowest:?}",
    sent >> 20
  );
  assert!(replied < Duration::from_secs(5), "too_large after {replied:?}");
  assert!(closed < Duration::from_secs(5), "closed after {closed:?}");
  assert!(peak > 0 && peak < 64 * 1024, "the daemon's RSS reached {peak} kB");
  assert!(polls > 0, "no status was asked during the flood");
  assert!(slowest < Duration::from_secs(1), "a status took {slowest:?} during the flood");
  assert_eq!(Peer::greeted(&daemon).ask(STATUS)["ok"], true);
}

/// Clears its flag when dropped, on a panic too.
struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
  fn drop(&mut self) {
    self.0.store(false, Ordering::Relaxed);
  }
}

#[test]
fn a_100_mb_line_is_refused_unread_on_the_unix_socket() {
  flood(false);
}

#[test]
fn a_100_mb_line_before_hello_is_refused_unread_over_tcp() {
  flood(true);
}

#[test]
fn half_a_request_times_out_and_holds_no_one_else_up() {
  let test = Test::new();
  let daemon = Daemon::start(&test, &FAST);
  for (what, greet, half) in
    [("half a hello", false, r#"{"verb":"hel"#), ("half a request", true, r#"{"verb":"sta"#)]
  {
    let mut slow = if greet { Peer::greeted(&daemon) } else { Peer::open(&daemon) };
    slow.send(half.as_bytes()).expect("send");
    let sent = Instant::now();
    let other = Instant::now();
    assert_eq!(Peer::greeted(&daemon).ask(STATUS)["ok"], true);
    let other = other.elapsed();
    assert!(other < Duration::from_millis(500), "{what}: another client waited {other:?}");
    let reply = slow.reply();
    let took = sent.elapsed();
    assert_eq!(fault(&reply), "timeout", "{what}: {reply}");
    assert!(took >= Duration::from_millis(900), "{what}: timed out after {took:?} only");
    assert!(took < Duration::from_millis(2500), "{what}: timed out after {took:?}");
    slow.assert_closed(what);
  }
}

#[test]
fn the_first_request_is_due_whole_within_the_timeout_however_late_it_begins() {
  let test = Test::new();
  let daemon = Daemon::start(&test, &FAST);
  let mut slow = Peer::open(&daemon);
  let opened = Instant::now();
  // A client that waits, then begins a hello it does not finish: the timeout counts from the
  // connection, not from the first byte.
  std::thread::sleep(Duration::from_millis(800));
  slow.send(br#"{"verb":"he"#).expect("send");
  let reply = slow.reply();
  let took = opened.elapsed();
  assert_eq!(fault(&reply), "timeout", "{reply}");
  assert!(took < Duration::from_millis(1500), "timed out {took:?} after the connection");

  // After hello, a line trickled a byte at a time is due within the timeout of its first byte.
  let mut trickle = Peer::greeted(&daemon);
  trickle.reader.get_ref().set_timeouts(Duration::from_millis(100), SILENCE);
  let began = Instant::now();
  let reply = loop {
    assert!(began.elapsed() < Duration::from_secs(5), "a trickled line was never cut off");
    let _ = trickle.send(b" ");
    match trickle.hear() {
      Heard::Silent => continue,
      Heard::Reply(reply) => break reply,
      Heard::Closed => panic!("closed without a reply"),
    }
  };
  let took = began.elapsed();
  assert_eq!(fault(&reply), "timeout", "{reply}");
  assert!(took >= Duration::from_millis(900), "timed out after {took:?} only");
  assert!(took < Duration::from_millis(2000), "timed out after {took:?}");
}

#[test]
fn bad_requests_after_hello_are_answered_and_the_connection_goes_on() {
  let cases: [(&[u8], &str); 10] = [
    (b"{\"verb\":", "not JSON"),
    (b"", "not JSON"),
    (b"[1,2]", "a request is a JSON object with a `verb`"),
    (b"\"status\"", "a request is a JSON object with a `verb`"),
    (b"{\"verb\":5}", "the `verb` is a string, one of hello, submit"),
    (b"{\"verb\":\"launch\"}", "unknown verb `launch`; the verbs are hello, submit"),
    (b"{\"verb\":\"wait\"}", "`wait`: missing field `run`"),
    (b"{\"verb\":\"status\",\"runn\":\"r1\"}", "`status`: unknown field `runn`"),
    (b"\xff\xfe{}", "the request is not UTF-8"),
    (b"{\"verb\":\"hello\",\"version\":1}", "`hello` was said already"),
  ];
  for tcp in [false, true] {
    let test = Test::new();
    let daemon = if tcp { Daemon::tcp(&test, &FAST) } else { Daemon::start(&test, &FAST) };
    let mut raw = daemon.greeted();
    for (line, expected) in cases {
      let shown = String::from_utf8_lossy(line);
      raw.send(&[line, b"\n"].concat()).expect("send");
      let reply = raw.receive().expect("a reply");
      assert_eq!(fault(&reply), "bad_request", "tcp {tcp}, {shown}: {reply}");
      assert!(message(&reply).starts_with(expected), "tcp {tcp}, {shown}: {reply}");
      let status = raw.ask(STATUS);
      assert_eq!(status["ok"], true, "tcp {tcp}: status after {shown}: {status}");
    }
  }
}

#[test]
fn before_hello_anything_else_is_refused_and_closed() {
  for tcp in [false, true] {
    let test = Test::new();
    let daemon = if tcp { Daemon::tcp(&test, &FAST) } else { Daemon::start(&test, &FAST) };
    let token = daemon.token();
    let wrong_version = json!({"verb": "hello", "version": 2, "token": token}).to_string();
    let cases = [
      (STATUS.to_string(), "the first request must be `hello`"),
      (r#"{"verb":"shutdown","now":true}"#.to_string(), "the first request must be `hello`"),
      ("{\"verb\":\"hello\"".to_string(), "not JSON"),
      (r#"{"verb":"hello"}"#.to_string(), "`hello`: missing field `version`"),
      (wrong_version, "this daemon speaks protocol version 1; the client speaks 2"),
    ];
    for (line, expected) in cases {
      let mut peer = Peer::open(&daemon);
      let reply = peer.ask(&line);
      let error = fault(&reply);
      assert!(matches!(error, "unauthorized" | "bad_request"), "tcp {tcp}, {line}: {reply}");
      assert!(message(&reply).starts_with(expected), "tcp {tcp}, {line}: {reply}");
      peer.assert_closed(&line);
    }
    // The refused shutdown did nothing.
    assert_eq!(Peer::greeted(&daemon).ask(STATUS)["ok"], true, "tcp {tcp}");
  }
}

const BAD: &str = "
  tasks:
    one:
      run: echo hi
      needs: [nope]
    two:
      runn: echo x
    three:
      run: echo 3
      timeout: banana
";

#[test]
fn a_job_file_with_errors_is_refused_as_validate_prints_it() {
  let test = Test::with_job("tasks:\n  build:\n    run: echo built\n");
  test.write("bad.yaml", &crate::support::dedent(BAD));
  let daemon = Daemon::start(&test, &FAST);
  let bad = test.path("bad.yaml");
  let bad = bad.to_str().unwrap();
  let validated = test.run(&["validate", bad]);
  assert_eq!(validated.code, 2, "{validated:?}");
  for place in ["bad.yaml:4:13", "bad.yaml:6:5", "bad.yaml:9:14", "3 errors"] {
    assert!(validated.stderr.contains(place), "validate says no {place}:\n{}", validated.stderr);
  }
  let submitted = daemon.run(&["submit", bad]);
  assert_eq!(submitted.code, 2, "{submitted:?}");
  assert_eq!(submitted.stdout, "");
  assert_eq!(submitted.stderr, validated.stderr);
  // Named relative to the client's folder, the file is named so in the diagnostics too.
  let validated = test.run(&["validate", "bad.yaml"]);
  let submitted = daemon.run(&["submit", "bad.yaml"]);
  assert_eq!((submitted.code, &submitted.stderr), (2, &validated.stderr));
  assert!(!submitted.stderr.contains(bad), "{}", submitted.stderr);

  let missing = test.path("missing.yaml");
  let run = daemon.run(&["submit", "missing.yaml"]);
  assert_eq!(run.code, 2, "{run:?}");
  let line = one_line(&run.stderr);
  assert!(
    line.starts_with("error: ") && line.contains(&format!("`{}`", missing.display())),
    "{line}"
  );

  let run = daemon.run(&["submit", "job.yaml", "biuld"]);
  assert_eq!(run.code, 2, "{run:?}");
  assert!(run.stderr.contains("no task or group `biuld`"), "{}", run.stderr);
  assert!(run.stderr.contains("did you mean `build`?"), "{}", run.stderr);
  assert_eq!(daemon.status()["runs"], json!([]), "nothing refused was queued");
}

#[test]
fn the_socket_the_state_dir_and_the_token_are_private() {
  let test = Test::new();
  let daemon = Daemon::start(&test, &FAST);
  let socket = daemon.address().strip_prefix("unix ").expect("a unix address").to_string();
  let mode = |path: &std::path::Path| {
    std::fs::metadata(path)
      .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
      .permissions()
      .mode()
      & 0o777
  };
  assert_eq!(mode(socket.as_ref()), 0o600, "{socket}");
  assert_eq!(mode(&daemon.state), 0o700);
  let tcp_test = Test::new();
  let tcp = Daemon::tcp(&tcp_test, &FAST);
  assert_eq!(mode(&tcp.state), 0o700);
  assert_eq!(mode(&tcp.state.join("token")), 0o600);
}

#[test]
fn a_second_daemon_on_a_taken_socket_port_or_state_dir_gives_up_in_one_line() {
  let test = Test::new();
  let first = Daemon::start(&test, &FAST);
  let address = first.address();
  let socket = address.strip_prefix("unix ").expect("a unix address").to_string();
  let other = test.path("other");
  let state = first.state.to_str().unwrap().to_string();
  let cases = [
    (
      vec!["--state-dir", other.to_str().unwrap(), "--socket", &socket],
      "another runner serve is listening on",
    ),
    (vec!["--state-dir", &state], "another runner serve uses the state dir"),
    (
      vec!["--state-dir", &state, "--listen", "127.0.0.1:0"],
      "another runner serve uses the state dir",
    ),
  ];
  for (args, expected) in cases {
    let run = serve_refused(&test, &args);
    assert_ne!(run.code, 0, "{args:?}");
    let line = one_line(&run.stderr);
    assert!(line.starts_with(&format!("error: {expected}")), "{args:?}: {line}");
    // The first daemon goes on as it was.
    assert_eq!(first.address(), address, "{args:?}");
    assert_eq!(Peer::greeted(&first).ask(STATUS)["ok"], true, "{args:?}");
  }
  assert_eq!(first.status()["ok"], true);

  let tcp_test = Test::new();
  let tcp = Daemon::tcp(&tcp_test, &FAST);
  let addr = tcp.address().strip_prefix("tcp ").expect("a tcp address").to_string();
  let other = tcp_test.path("other");
  let run = serve_refused(&tcp_test, &["--state-dir", other.to_str().unwrap(), "--listen", &addr]);
  assert_ne!(run.code, 0);
  let line = one_line(&run.stderr);
  assert_eq!(
    line,
    format!("error: cannot listen on {addr}: the port is taken (another runner serve?)")
  );
  assert_eq!(tcp.status()["ok"], true);
}

#[test]
fn a_stale_socket_is_replaced_and_a_file_in_its_place_is_not() {
  let test = Test::new();
  let state = test.path("state");
  std::fs::create_dir_all(&state).unwrap();
  let socket = state.join("serve.sock");
  drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
  assert!(socket.exists(), "a socket file with no one behind it");
  let mut daemon = Daemon::start(&test, &FAST);
  assert_eq!(daemon.address(), format!("unix {}", socket.display()));
  assert_eq!(daemon.status()["ok"], true);
  assert_eq!(daemon.shutdown(&[]), 0);

  std::fs::write(&socket, "not a socket\n").unwrap();
  let run = serve_refused(&test, &["--state-dir", state.to_str().unwrap()]);
  assert_ne!(run.code, 0);
  let expected = format!("error: `{}` exists and is not a socket", socket.display());
  assert_eq!(one_line(&run.stderr), expected);
  assert_eq!(std::fs::read_to_string(&socket).unwrap(), "not a socket\n", "the file is left alone");
}

#[test]
fn listening_beyond_loopback_is_refused_in_one_line() {
  let test = Test::new();
  let state = test.path("state");
  for addr in ["0.0.0.0:0", "[::]:0"] {
    let run = serve_refused(&test, &["--state-dir", state.to_str().unwrap(), "--listen", addr]);
    assert_ne!(run.code, 0, "{addr}");
    let line = one_line(&run.stderr);
    assert!(
      line.starts_with(&format!("error: --listen {addr}: only a loopback address")),
      "{line}"
    );
    assert!(!state.join("address").exists(), "{addr}: an address was written");
  }
}

/// Raises this process's limit of open files to at least `want` (within the hard limit);
/// returns the limit now.
fn raise_fd_limit(want: u64) -> u64 {
  let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
  // SAFETY: getrlimit and setrlimit only read and write the struct passed.
  unsafe {
    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
      return 0;
    }
    if limit.rlim_cur < want {
      limit.rlim_cur = want.min(limit.rlim_max);
      libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
  }
  limit.rlim_cur
}

#[test]
fn past_512_clients_the_extra_ones_are_told_busy() {
  const CLIENTS: usize = 600;
  let limit = raise_fd_limit(4096);
  assert!(limit >= 1024, "this test needs 600 sockets; the open file limit is {limit}");
  let test = Test::new();
  // The connections that are served wait for their hello longer than the test takes.
  let daemon = Daemon::start(&test, &["--handshake-timeout", "60s"]);
  let mut peers: Vec<Peer> = (0..CLIENTS).map(|_| Peer::open(&daemon)).collect();
  let hello = hello(&daemon);
  let (mut served, mut busy) = (0, 0);
  for (n, peer) in peers.iter_mut().enumerate() {
    // A busy connection may be closed already.
    let _ = peer.send(format!("{hello}\n").as_bytes());
    let reply = peer.reply();
    if reply["ok"] == true {
      served += 1;
      continue;
    }
    assert_eq!(fault(&reply), "busy", "client {n}: {reply}");
    assert_eq!(message(&reply), "busy: 512 clients are connected");
    peer.assert_closed("a busy client");
    busy += 1;
  }
  assert_eq!((served, busy), (512, CLIENTS - 512));
  drop(peers);
  wait_for("a client is served again", PATIENCE, || {
    let mut peer = Peer::open(&daemon);
    match peer.ask(&hello) {
      reply if reply["ok"] == true => Ok(()),
      reply => Err(reply.to_string()),
    }
  });
  assert_eq!(daemon.status()["ok"], true);
}

#[test]
fn a_daemon_out_of_file_descriptors_serves_again_once_clients_leave() {
  let test = Test::new();
  let state = test.path("state");
  // Where `Daemon::stderr` reads it.
  let stderr = test.path("serve.stderr");
  // A daemon of 48 descriptors: a few dozen clients use them all up.
  let reaper = Reaper::new("serve");
  let child = std::process::Command::new("sh")
    .args(["-c", "ulimit -n 48 && exec \"$0\" \"$@\"", BIN, "serve", "--state-dir"])
    .arg(&state)
    .args(["--handshake-timeout", "60s"])
    .current_dir(test.dir.path())
    .env(TAG, reaper.tag())
    .env("NO_COLOR", "1")
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::fs::File::create(&stderr).expect("stderr file"))
    .spawn()
    .expect("spawn runner serve");
  let daemon = Daemon {
    child: Some(child),
    state: state.clone(),
    cwd: test.dir.path().to_path_buf(),
    reaper,
    tcp: false,
    args: Vec::new(),
  };
  wait_until("the daemon writes its address", PATIENCE, || state.join("address").exists());
  let peers: Vec<Peer> = (0..80).map(|_| Peer::open(&daemon)).collect();
  wait_until("the daemon runs out of descriptors", PATIENCE, || {
    daemon.stderr().contains("runner serve: cannot accept a connection")
  });
  drop(peers);
  wait_for("a client is served again", PATIENCE, || {
    let mut peer = Peer::open(&daemon);
    match peer.ask(&hello(&daemon)) {
      reply if reply["ok"] == true => Ok(()),
      reply => Err(reply.to_string()),
    }
  });
  assert_eq!(Peer::greeted(&daemon).ask(STATUS)["ok"], true);
  let said = daemon.stderr();
  let lines = said.lines().filter(|l| l.contains("cannot accept")).count();
  assert_eq!(lines, 1, "one line for a spell of failed accepts:\n{said}");
}

/// A small deterministic generator (xorshift64*), so that a failure comes back the same.
struct Rng(u64);

impl Rng {
  fn next(&mut self) -> u64 {
    self.0 ^= self.0 >> 12;
    self.0 ^= self.0 << 25;
    self.0 ^= self.0 >> 27;
    self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
  }

  fn below(&mut self, n: usize) -> usize {
    (self.next() % n as u64) as usize
  }

  fn byte(&mut self) -> u8 {
    self.next() as u8
  }
}

/// Random bytes, requests with a few bytes changed, requests cut short, whole requests; half of
/// them ended by a newline.
fn garbage(rng: &mut Rng) -> Vec<u8> {
  const SEEDS: [&str; 7] = [
    r#"{"verb":"status"}"#,
    r#"{"verb":"status","run":"r1"}"#,
    r#"{"verb":"wait","run":"r9"}"#,
    r#"{"verb":"cancel","run":"r9","task":"x"}"#,
    r#"{"verb":"logs","run":"r9","follow":true,"json":false}"#,
    r#"{"verb":"hello","version":1,"token":null}"#,
    r#"{"verb":"submit","file":"nope.yaml","cwd":"/nonexistent","targets":["a"]}"#,
  ];
  let seed = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
  let mut bytes = match rng.below(4) {
    0 => (0..rng.below(200)).map(|_| rng.byte()).collect(),
    1 => {
      let mut bytes = seed;
      for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(3) {
          0 => bytes.insert(at, rng.byte()),
          _ if at == bytes.len() => {}
          1 => bytes[at] = rng.byte(),
          _ => {
            bytes.remove(at);
          }
        }
      }
      bytes
    }
    2 => seed[..rng.below(seed.len())].to_vec(),
    _ => seed,
  };
  if rng.below(2) == 0 {
    bytes.push(b'\n');
  }
  bytes
}

#[test]
fn random_lines_each_get_a_reply_and_the_daemon_goes_on() {
  let test = Test::new();
  // Lines without a newline are finished by the next ones: the timeout for a begun line must
  // not cut them however slowly this runs.
  let daemon = Daemon::start(&test, &["--handshake-timeout", "30s"]);
  let mut raw = daemon.greeted();
  let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
  let mut faults = std::collections::BTreeMap::<String, usize>::new();
  let mut sent = Vec::new();
  for n in 0..400 {
    let bytes = garbage(&mut rng);
    sent.extend_from_slice(&bytes);
    raw.send(&bytes).expect("send");
    for _ in 0..bytes.iter().filter(|&&b| b == b'\n').count() {
      let reply = raw.receive().expect("a reply");
      let shown = String::from_utf8_lossy(&bytes);
      match reply["ok"].as_bool() {
        Some(true) => *faults.entry("ok".into()).or_default() += 1,
        Some(false) => {
          assert!(reply["message"].is_string(), "line {n} {shown:?}: {reply}");
          *faults.entry(fault(&reply).into()).or_default() += 1;
        }
        None => panic!("line {n} {shown:?}: a reply without `ok`: {reply}"),
      }
    }
  }
  // Whatever line is left unfinished ends here, and gets its reply.
  raw.send(b"\n").expect("send");
  assert!(raw.receive().expect("a reply")["ok"].is_boolean());
  assert_eq!(raw.ask(STATUS)["ok"], true, "status after the garbage");
  for (reply, least) in [("bad_request", 100), ("not_found", 10), ("ok", 1)] {
    assert!(faults.get(reply).is_some_and(|&n| n >= least), "{faults:?}");
  }
  eprintln!("{} bytes of garbage; replies: {faults:?}", sent.len());
}
