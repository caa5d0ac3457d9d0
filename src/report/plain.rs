//! Line-oriented output for pipes, logs and CI: `[task] line` for output, a start and a finish
//! line per task, and a closing summary table. No cursor movement; colour only for status words
//! and only when asked. `grouped` holds each task's output back and prints it as one block when
//! the task ends; `github` (GitHub Actions) folds those blocks into `::group::`s, annotates
//! failures with `::error`, keeps what was cancelled after the first failure to one line each,
//! repeats the first failure at the end, and appends a Markdown table to the job summary.

mod block;
mod github;
pub(crate) mod paint;
pub(crate) mod summary;
pub(crate) mod text;

use crate::event::{Event, Exit, Stream};
use crate::status::Status;
use block::Block;
use github::{Failure, Places};
use paint::Paint;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use summary::Summary;

/// How many lines of the first failure's output are repeated at the end (GitHub Actions).
const FIRST_FAILURE_TAIL: usize = 20;

/// How plain output is laid out.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlainOptions {
  /// Each task's output as one block when it ends.
  pub grouped: bool,
  /// GitHub Actions: `::group::` blocks, `::error::` annotations, a job summary.
  pub github: bool,
  pub color: bool,
  /// `$GITHUB_STEP_SUMMARY`: where the job summary goes.
  pub step_summary: Option<PathBuf>,
}

pub(crate) struct Plain {
  out: Box<dyn Write>,
  paint: Paint,
  grouped: bool,
  github: Option<Box<Github>>,
  /// Task name -> its output so far (grouped mode only).
  blocks: HashMap<String, Block>,
  summary: Summary,
  /// The run's name, or its file: the job summary's heading.
  title: String,
}

/// What GitHub Actions mode remembers across tasks.
struct Github {
  places: Places,
  step_summary: Option<PathBuf>,
  /// The first failure that fails the run: its finish line, output tail and annotation.
  first: Option<(String, Vec<String>, String)>,
}

impl Plain {
  pub(crate) fn new(
    graph: &crate::graph::Graph,
    out: Box<dyn Write>,
    options: PlainOptions,
  ) -> Self {
    let github = options.github.then(|| {
      Box::new(Github {
        places: Places::new(graph),
        step_summary: options.step_summary,
        first: None,
      })
    });
    Self {
      out,
      paint: Paint { on: options.color },
      grouped: options.grouped || options.github,
      github,
      blocks: HashMap::new(),
      summary: Summary::default(),
      title: graph.source.name(),
    }
  }

  pub(crate) fn event(&mut self, event: &Event) {
    let _ = self.write(event);
  }

  pub(crate) fn flush(&mut self) -> std::io::Result<()> {
    self.out.flush()
  }

  fn write(&mut self, event: &Event) -> std::io::Result<()> {
    let paint = self.paint;
    match event {
      Event::RunStarted { name, file, .. } => {
        self.title = name.unwrap_or(file).to_string();
        Ok(())
      }
      Event::TaskStarted { task, attempt } => self.started(task, *attempt),
      Event::Output { task, stream, line, .. } => self.output(task, *stream, line),
      Event::TaskRetrying { task, attempt, status, exit } => {
        self.task_line(task, text::retrying(task, *status, *exit, *attempt, paint))
      }
      Event::TaskFinished { task, status, attempts, duration_ms, exit } => {
        self.summary.add(task, *status, *attempts, *duration_ms);
        self.finished(task, *status, *attempts, *duration_ms, *exit)
      }
      Event::GroupFinished { group, status, done, pending, timed_out, .. } => {
        let returned = text::Returned { status: *status, done, pending, timed_out: *timed_out };
        writeln!(self.out, "{}", text::group(group, &returned, paint))
      }
      Event::ItemFinished { consumer, item, worker, status, attempts, exit, .. } => {
        let line = text::item(consumer, *worker, item, *status, *attempts, *exit, paint);
        self.task_line(consumer, line)
      }
      Event::QueueState { .. } => Ok(()),
      Event::Stopping { .. } => writeln!(self.out, "{}", text::stopping(event).unwrap_or_default()),
      Event::QueueFinished { .. } => {
        let totals = text::QueueTotals::of(event).expect("a queue_finished event");
        writeln!(self.out, "{}", text::queue(&totals))
      }
      Event::CallbackFailed { task, command, exit } => {
        self.task_line(task, text::callback_failed(task, command, *exit))
      }
      Event::RunFinished { status, exit_code, duration_ms, counts, cause } => {
        let closing = |paint| text::run(status, *exit_code, *duration_ms, counts, *cause, paint);
        self.run_finished(closing(paint), closing(Paint { on: false }))
      }
    }
  }

  fn started(&mut self, task: &str, attempt: u32) -> std::io::Result<()> {
    let line = text::started(task, attempt);
    if !self.grouped {
      return writeln!(self.out, "{line}");
    }
    match self.blocks.get_mut(task) {
      Some(block) => block.push(line),
      None => _ = self.blocks.insert(task.to_string(), Block::new(line)),
    }
    Ok(())
  }

  fn output(&mut self, task: &str, stream: Stream, line: &str) -> std::io::Result<()> {
    let callback = if stream == Stream::Callback { ":callback" } else { "" };
    match self.blocks.get_mut(task) {
      Some(block) => {
        block.push(format!("[{task}{callback}] {line}"));
        if stream != Stream::Callback {
          line.clone_into(&mut block.last_output);
        }
        Ok(())
      }
      None => writeln!(self.out, "[{task}{callback}] {line}"),
    }
  }

  /// A line about a task: into its block when grouped, else straight out.
  fn task_line(&mut self, task: &str, line: String) -> std::io::Result<()> {
    match self.blocks.get_mut(task) {
      Some(block) => {
        block.push(line);
        Ok(())
      }
      None => writeln!(self.out, "{line}"),
    }
  }

  fn finished(
    &mut self,
    task: &str,
    status: Status,
    attempts: u32,
    duration_ms: u64,
    exit: Exit,
  ) -> std::io::Result<()> {
    let line =
      format!("[{task}] {}", text::outcome(status, attempts, duration_ms, exit, self.paint));
    let block = self.blocks.remove(task);
    if self.github.is_some() {
      let outcome = text::outcome(status, attempts, duration_ms, exit, Paint { on: false });
      return self.github_finished(task, status, &line, outcome, block);
    }
    if let Some(block) = &block {
      block.write_to(task, &mut self.out)?;
    }
    writeln!(self.out, "{line}")
  }

  /// A task's block in a `::group::`, or one line for what never ran or was cancelled after
  /// the first failure; then an annotation if it failed.
  fn github_finished(
    &mut self,
    task: &str,
    status: Status,
    line: &str,
    outcome: String,
    block: Option<Block>,
  ) -> std::io::Result<()> {
    let gh = self.github.as_mut().expect("github mode");
    let after_failure = gh.first.is_some();
    let out = &mut self.out;
    let plain_line = format!("[{task}] {outcome}");
    match &block {
      Some(block) if !(status == Status::Cancelled && after_failure) => {
        writeln!(out, "::group::{}", github::escape_data(&plain_line))?;
        block.write_to(task, out)?;
        writeln!(out, "{line}\n::endgroup::")?;
      }
      Some(block) if block.len() > 0 => {
        writeln!(out, "{line} ({} lines of output not shown)", block.len())?;
      }
      Some(_) | None => writeln!(out, "{line}")?,
    }
    if !status.is_failure() {
      return Ok(());
    }
    let last_output = block.as_ref().map(|b| b.last_output.clone()).unwrap_or_default();
    let failure = Failure { task: task.to_string(), outcome, last_output };
    let annotation = gh.places.annotation(&failure, status == Status::TimedOut);
    writeln!(out, "{annotation}")?;
    if gh.first.is_none() && !gh.places.allowed(task) {
      let tail = block.map(|b| b.tail(FIRST_FAILURE_TAIL)).unwrap_or_default();
      gh.first = Some((plain_line, tail, annotation));
    }
    Ok(())
  }

  /// The closing lines; `closing`, the last, is given painted and not.
  fn run_finished(&mut self, closing: String, plain_closing: String) -> std::io::Result<()> {
    let out = &mut self.out;
    if let Some((line, tail, annotation)) = self.github.as_ref().and_then(|gh| gh.first.as_ref()) {
      writeln!(out, "runner: first failure: {line}")?;
      for l in tail {
        writeln!(out, "{l}")?;
      }
      writeln!(out, "{annotation}")?;
    }
    if !self.summary.is_empty() {
      for l in self.summary.text(self.paint) {
        writeln!(out, "{l}")?;
      }
    }
    writeln!(out, "{closing}")?;
    if let Some(path) = self.github.as_ref().and_then(|gh| gh.step_summary.as_ref()) {
      let markdown = self.summary.markdown(&format!("runner: {}", self.title), &plain_closing);
      if let Err(err) = github::append_summary(path, &markdown) {
        eprintln!("runner: cannot write the job summary to {}: {err}", path.display());
      }
    }
    Ok(())
  }
}
