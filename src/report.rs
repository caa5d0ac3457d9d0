//! Reporters turn events into output: `plain` lines for logs and pipes, `json` events for
//! machines. The runner emits events; it never prints.

mod plain;

use crate::event::Event;
use std::io::Write;

pub use plain::Plain;

pub enum Reporter {
  Plain(Plain),
  Json(Box<dyn Write>),
}

impl Reporter {
  pub fn plain(out: Box<dyn Write>) -> Self {
    Self::Plain(Plain::new(out))
  }

  pub fn json(out: Box<dyn Write>) -> Self {
    Self::Json(out)
  }

  pub fn event(&mut self, event: &Event) {
    match self {
      Self::Plain(plain) => plain.event(event),
      Self::Json(out) => {
        if serde_json::to_writer(&mut *out, event).is_ok() {
          let _ = out.write_all(b"\n");
        }
      }
    }
  }

  pub fn flush(&mut self) {
    let _ = match self {
      Self::Plain(plain) => plain.flush(),
      Self::Json(out) => out.flush(),
    };
  }
}
