//! The daemon's protocol (`docs/protocol.md`): newline-delimited JSON, one request or reply a
//! line. A line is cut from the bytes received before anything parses it, and one longer than
//! [`MAX_FRAME`] is refused unread. Pure: no sockets here, so the decoder is property-tested.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The protocol version a `hello` must name.
pub(crate) const VERSION: u32 = 1;
/// The longest request line, its newline included.
pub(crate) const MAX_FRAME: usize = 64 * 1024;

/// What a client asks. The first request of a connection must be `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Request {
  /// The handshake: the protocol version, and over TCP the token.
  Hello {
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
  },
  /// Run job file `file` (resolved against `cwd` when relative) on the daemon: its `targets`,
  /// or all of it. `color` and `width` shape the diagnostics of a file with errors.
  Submit {
    file: String,
    cwd: String,
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    color: bool,
    #[serde(default)]
    width: Option<u16>,
  },
  /// One run's state, or every run's.
  Status {
    #[serde(default)]
    run: Option<String>,
  },
  /// A run's plain output (or its JSON events), or one task's lines of it; `follow`: until the
  /// run ends.
  Logs {
    run: String,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    follow: bool,
    #[serde(default)]
    json: bool,
  },
  /// Waits for a run's end; the reply says how it ended.
  Wait { run: String },
  /// Stops a run, or cancels one task of it.
  Cancel {
    run: String,
    #[serde(default)]
    task: Option<String>,
  },
  /// Stops the daemon: after its running runs end, or (`now`) stopping them.
  Shutdown {
    #[serde(default)]
    now: bool,
  },
}

/// Why a request failed: the `error` of a reply, for a client to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
  /// Not JSON, or not a request (an unknown verb, a missing or unknown field).
  BadRequest,
  /// A line longer than [`MAX_FRAME`]; the connection is closed.
  TooLarge,
  /// No whole request came in time; the connection is closed.
  Timeout,
  /// No `hello` first, a wrong version, or a missing or wrong token; the connection is closed.
  Unauthorized,
  /// The job file has errors, or a target is unknown.
  Invalid,
  /// The file, the run or the task named does not exist.
  NotFound,
  /// The backlog is full, or too many clients are connected.
  Busy,
  /// The daemon is shutting down and takes no new run.
  ShuttingDown,
  /// Something on the daemon's side failed (a state file could not be written).
  Internal,
}

impl Fault {
  pub(crate) fn name(self) -> &'static str {
    match self {
      Fault::BadRequest => "bad_request",
      Fault::TooLarge => "too_large",
      Fault::Timeout => "timeout",
      Fault::Unauthorized => "unauthorized",
      Fault::Invalid => "invalid",
      Fault::NotFound => "not_found",
      Fault::Busy => "busy",
      Fault::ShuttingDown => "shutting_down",
      Fault::Internal => "internal",
    }
  }
}

/// A failure reply: `{"ok": false, "error": NAME, "message": TEXT}`, plus `extra`'s fields.
pub(crate) fn error(fault: Fault, message: &str, extra: Value) -> Value {
  let mut reply = json!({ "ok": false, "error": fault.name(), "message": message });
  if let (Some(reply), Value::Object(extra)) = (reply.as_object_mut(), extra) {
    reply.extend(extra);
  }
  reply
}

/// A success reply: `{"ok": true}` plus `fields`' fields.
pub(crate) fn ok(fields: Value) -> Value {
  let mut reply = json!({ "ok": true });
  if let (Some(reply), Value::Object(fields)) = (reply.as_object_mut(), fields) {
    reply.extend(fields);
  }
  reply
}

/// A piece of a streamed answer (`logs`): not a reply, more follows.
pub(crate) fn chunk(text: &str) -> Value {
  json!({ "chunk": text })
}

/// One line to send: `value` and its newline.
pub(crate) fn line(value: &Value) -> Vec<u8> {
  let mut bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
  bytes.push(b'\n');
  bytes
}

/// Parses one request line (its newline taken off); the error says what is wrong, for a
/// `bad_request` reply.
pub(crate) fn decode(frame: &[u8]) -> Result<Request, String> {
  let text = std::str::from_utf8(frame).map_err(|_| "the request is not UTF-8".to_string())?;
  let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
  let Some(verb) = value.get("verb") else {
    return Err("a request is a JSON object with a `verb`".into());
  };
  let Some(verb) = verb.as_str().map(str::to_string) else {
    return Err(format!("the `verb` is a string, one of {}", VERBS.join(", ")));
  };
  serde_json::from_value(value).map_err(|e| match VERBS.contains(&verb.as_str()) {
    true => format!("`{verb}`: {e}"),
    false => format!("unknown verb `{verb}`; the verbs are {}", VERBS.join(", ")),
  })
}

const VERBS: [&str; 7] = ["hello", "submit", "status", "logs", "wait", "cancel", "shutdown"];

/// What the bytes received so far hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cut {
  /// A whole line, without its newline.
  Line(Vec<u8>),
  /// No newline yet, and fewer than [`MAX_FRAME`] bytes: more must come.
  Partial,
  /// [`MAX_FRAME`] bytes and no newline: the line is too long, whatever follows.
  TooLarge,
}

/// Cuts lines from a connection's bytes, holding at most [`MAX_FRAME`] of them.
#[derive(Debug, Default)]
pub(crate) struct Frames {
  buf: Vec<u8>,
}

impl Frames {
  /// How many more bytes may be read now without going over the cap.
  pub(crate) fn room(&self) -> usize {
    MAX_FRAME - self.buf.len().min(MAX_FRAME)
  }

  /// Whether part of a line has come in.
  pub(crate) fn partial(&self) -> bool {
    !self.buf.is_empty()
  }

  /// Adds bytes read; call [`Frames::next`] after.
  pub(crate) fn push(&mut self, bytes: &[u8]) {
    self.buf.extend_from_slice(bytes);
  }

  /// The next whole line, if one is there.
  pub(crate) fn next(&mut self) -> Cut {
    match self.buf.iter().position(|&b| b == b'\n') {
      Some(end) if end < MAX_FRAME => {
        let mut line: Vec<u8> = self.buf.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
          line.pop();
        }
        Cut::Line(line)
      }
      Some(_) => Cut::TooLarge,
      None if self.buf.len() >= MAX_FRAME => Cut::TooLarge,
      None => Cut::Partial,
    }
  }
}

/// Whether `given` is `expected`, taking the same time whatever their first difference is.
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
  // Lengths are not secret: the token's length is fixed and documented.
  if given.len() != expected.len() {
    return false;
  }
  let diff = given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b));
  std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
  use super::*;
  use proptest::prelude::*;

  #[test]
  fn requests_decode_with_their_defaults() {
    let submit = decode(br#"{"verb":"submit","file":"jobs/a.yaml","cwd":"/w"}"#).unwrap();
    let expected = Request::Submit {
      file: "jobs/a.yaml".into(),
      cwd: "/w".into(),
      targets: vec![],
      color: false,
      width: None,
    };
    assert_eq!(submit, expected);
    assert_eq!(decode(br#"{"verb":"status"}"#).unwrap(), Request::Status { run: None });
    let hello = decode(br#"{"verb":"hello","version":1,"token":"ab"}"#).unwrap();
    assert_eq!(hello, Request::Hello { version: 1, token: Some("ab".into()) });
  }

  #[test]
  fn bad_requests_say_what_is_wrong() {
    let err = |text: &str| decode(text.as_bytes()).unwrap_err();
    assert!(err("{").starts_with("not JSON"), "{}", err("{"));
    assert_eq!(err("[1]"), "a request is a JSON object with a `verb`");
    assert!(err(r#"{"verb":5}"#).starts_with("the `verb` is a string, one of hello"));
    assert!(err(r#"{"verb":"launch"}"#).starts_with("unknown verb `launch`; the verbs are hello"));
    assert!(
      err(r#"{"verb":"wait"}"#).contains("missing field `run`"),
      "{}",
      err(r#"{"verb":"wait"}"#)
    );
    let unknown = err(r#"{"verb":"status","runn":"r1"}"#);
    assert!(unknown.contains("unknown field `runn`"), "{unknown}");
    assert_eq!(decode(b"\xff\xfe").unwrap_err(), "the request is not UTF-8");
  }

  #[test]
  fn frames_are_cut_at_newlines_and_capped_before_parsing() {
    let mut frames = Frames::default();
    frames.push(b"{\"a\":1}\r\n{\"b\"");
    assert_eq!(frames.next(), Cut::Line(b"{\"a\":1}".to_vec()));
    assert_eq!(frames.next(), Cut::Partial);
    frames.push(b":2}\n");
    assert_eq!(frames.next(), Cut::Line(b"{\"b\":2}".to_vec()));
    frames.push(&vec![b'x'; MAX_FRAME]);
    assert_eq!(frames.room(), 0);
    assert_eq!(frames.next(), Cut::TooLarge);
  }

  #[test]
  fn secrets_compare_whole() {
    assert!(same_secret(b"abcd", b"abcd"));
    assert!(!same_secret(b"abce", b"abcd"));
    assert!(!same_secret(b"abc", b"abcd"));
    assert!(!same_secret(b"", b"abcd"));
  }

  fn request() -> impl Strategy<Value = Request> {
    let text = "\\PC{0,12}";
    let name = proptest::option::of(text);
    prop_oneof![
      (any::<u32>(), name.clone()).prop_map(|(version, token)| Request::Hello { version, token }),
      (text, text, proptest::collection::vec(text, 0..3), any::<bool>(), any::<Option<u16>>())
        .prop_map(|(file, cwd, targets, color, width)| Request::Submit {
          file,
          cwd,
          targets,
          color,
          width
        }),
      name.clone().prop_map(|run| Request::Status { run }),
      (text, name.clone(), any::<bool>(), any::<bool>())
        .prop_map(|(run, task, follow, json)| Request::Logs { run, task, follow, json }),
      text.prop_map(|run| Request::Wait { run }),
      (text, name).prop_map(|(run, task)| Request::Cancel { run, task }),
      any::<bool>().prop_map(|now| Request::Shutdown { now }),
    ]
  }

  proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_decode_to_a_request_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
      let _ = decode(&bytes);
    }

    #[test]
    fn any_json_object_decodes_or_is_refused(fields in proptest::collection::btree_map("verb|run|task|file|cwd|now|follow|json|token|version|targets|width|[a-z]{1,5}", prop_oneof![Just(json!(null)), any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from), "\\PC{0,8}".prop_map(Value::from), Just(json!(["a"]))], 0..6)) {
      let value = Value::Object(fields.into_iter().collect());
      let _ = decode(value.to_string().as_bytes());
    }

    #[test]
    fn every_request_survives_its_own_line(request in request()) {
      let line = line(&serde_json::to_value(&request).unwrap());
      let mut frames = Frames::default();
      frames.push(&line);
      let Cut::Line(frame) = frames.next() else { panic!("one whole line") };
      prop_assert_eq!(decode(&frame).unwrap(), request);
    }

    #[test]
    fn frames_cut_anywhere_give_the_same_lines(lines in proptest::collection::vec("[^\n\r]{0,40}", 1..6), cut in 1usize..50) {
      let bytes: Vec<u8> = lines.iter().flat_map(|l| l.bytes().chain([b'\n'])).collect();
      let mut frames = Frames::default();
      let mut got = Vec::new();
      for piece in bytes.chunks(cut) {
        frames.push(piece);
        while let Cut::Line(line) = frames.next() {
          got.push(String::from_utf8(line).unwrap());
        }
      }
      let want = lines.clone();
      prop_assert_eq!(got, want);
      prop_assert!(!frames.partial());
    }
  }
}
