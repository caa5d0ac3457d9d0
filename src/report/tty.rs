//! The live view for a person at a terminal: an overall bar, a spinner row per running task with
//! its last output line (and its Slurm node, once placed), groups and queues while they run, and
//! one line above the rows per finished task (with its output tail if it failed) or callback line;
//! once the rows are cleared, each failure's kept output in full (`model/failures.rs`). Events only
//! update the model (`model.rs`, O(1) each); a render thread turns it into bars (`view.rs`) 15
//! times a second, redrawing once per frame (and stepping the spinners: a steady tick), so
//! thousands of tasks or a flood of output cost no more redraws than one. On a stdout that is no
//! terminal, the same lines are printed without the rows.

mod model;
mod tail;
mod terminal;
mod view;

use crate::event::Event;
use crate::graph::Graph;
use model::Model;
use std::io::Write;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use view::View;

/// How often the render thread builds a frame.
const FRAME: Duration = Duration::from_millis(66);
/// Rows assumed when the terminal does not say.
const DEFAULT_HEIGHT: usize = 24;

pub(crate) struct Tty {
  model: Arc<Mutex<Model>>,
  /// The render thread; None when stdout is not a terminal.
  live: Option<Live>,
}

struct Live {
  stop: mpsc::Sender<()>,
  thread: JoinHandle<View>,
  /// Dropped, and the echo back, once the rows are off the screen.
  _echo: terminal::EchoOff,
}

impl Tty {
  /// `log_dir`: where `--log-dir` puts every line, for the failures' output at the end.
  pub(crate) fn new(graph: &Graph, color: bool, log_dir: Option<&std::path::Path>) -> Self {
    // indicatif styles bars through console, which would otherwise decide colour from the
    // environment on its own: `options` decided it once, for this stream.
    console::set_colors_enabled(color);
    let mut model = Model::new(graph, color);
    model.log_dir(log_dir);
    let model = Arc::new(Mutex::new(model));
    let live = View::new(color).map(|view| Live::start(view, model.clone()));
    Self { model, live }
  }

  pub(crate) fn event(&mut self, event: &Event) {
    lock(&self.model).event(event, Instant::now());
  }

  /// Without a terminal, prints what the rows would have announced; with one, the render
  /// thread does that at its own pace.
  pub(crate) fn flush(&mut self) -> std::io::Result<()> {
    if self.live.is_some() {
      return Ok(());
    }
    let text = lock(&self.model).take_print();
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
  }

  /// Stops the render thread, clears the rows, and prints the last lines and the summary.
  pub(crate) fn finish(&mut self) {
    if let Some(live) = self.live.take() {
      live.stop();
    }
    let mut model = lock(&self.model);
    let text = model.take_print() + model.closing();
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
  }
}

impl Drop for Tty {
  fn drop(&mut self) {
    if let Some(live) = self.live.take() {
      live.stop();
    }
  }
}

impl Live {
  fn start(view: View, model: Arc<Mutex<Model>>) -> Self {
    let (stop, stopped) = mpsc::channel();
    let thread = std::thread::Builder::new()
      .name("runner-tty".into())
      .spawn(move || render(view, &model, &stopped))
      .expect("spawn the render thread");
    Self { stop, thread, _echo: terminal::EchoOff::new() }
  }

  /// Ends the render thread and takes the rows off the screen.
  fn stop(self) {
    let _ = self.stop.send(());
    if let Ok(view) = self.thread.join() {
      view.clear();
    }
  }
}

/// Draws a frame every `FRAME` until told to stop; gives the view back for clearing.
fn render(mut view: View, model: &Mutex<Model>, stopped: &mpsc::Receiver<()>) -> View {
  loop {
    match stopped.recv_timeout(FRAME) {
      Err(RecvTimeoutError::Timeout) => {}
      Ok(()) | Err(RecvTimeoutError::Disconnected) => return view,
    }
    let height = terminal::size().map_or(DEFAULT_HEIGHT, |(rows, _)| rows);
    let frame = lock(model).frame(Instant::now(), height);
    view.apply(frame);
  }
}

/// The model, even if the render thread panicked while holding it.
fn lock(model: &Mutex<Model>) -> MutexGuard<'_, Model> {
  model.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
