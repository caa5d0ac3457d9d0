//! Line-oriented output for pipes, logs and CI: `[task] line` for output, a start and a finish line
//! per task (with `--backend slurm`, the finish and retry lines name the node the attempt ran on),
//! and a closing summary table (and a `slurm:` line of the calls made). No cursor movement; colour
//! only for status words and only when asked, and without colour no escape sequence at all, not
//! even a task's own. `grouped` holds each task's output back and prints it as one block when the
//! task ends. In CI those blocks fold (`::group::`s on GitHub Actions, sections on GitLab CI), what
//! was cancelled after the first failure is kept to one line each, and the first failure is
//! repeated at the end; GitHub Actions also gets one `::error` annotation per failure and a
//! Markdown table in the job summary.

mod block;
mod fold;
pub(crate) mod github;
pub(crate) mod paint;
pub(crate) mod summary;
pub(crate) mod text;

use crate::event::{Event, Exit, Stream};
use crate::report::placements::Placements;
use crate::status::Status;
use block::Block;
use fold::Fold;
use github::{Failure, Places};
use paint::Paint;
use std::collections::{HashMap, HashSet};
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
  /// GitLab CI: collapsible sections (unless `github`).
  pub gitlab: bool,
  pub color: bool,
  /// `$GITHUB_STEP_SUMMARY`: where the job summary goes.
  pub step_summary: Option<PathBuf>,
}

pub(crate) struct Plain {
  out: Box<dyn Write>,
  paint: Paint,
  grouped: bool,
  ci: Option<Box<Ci>>,
  /// Task name -> its output so far (grouped mode only).
  blocks: HashMap<String, Block>,
  /// The tasks that may fail without failing the run.
  allowed: HashSet<String>,
  summary: Summary,
  /// Where the attempts running now were placed, for their finish lines, and what the run
  /// asked of Slurm, for its end (boxed: a local run never needs it).
  placements: Box<Placements>,
  /// The run's name, or its file: the job summary's heading.
  title: String,
}

/// What CI mode remembers across tasks.
struct Ci {
  fold: Fold,
  /// GitHub Actions: where each task is declared, for its annotation.
  places: Option<Places>,
  step_summary: Option<PathBuf>,
  /// The first failure that fails the run: its finish line and output tail.
  first: Option<(String, Vec<String>)>,
}

impl Plain {
  pub(crate) fn new(
    graph: &crate::graph::Graph,
    out: Box<dyn Write>,
    options: PlainOptions,
  ) -> Self {
    let fold = match (options.github, options.gitlab) {
      (true, _) => Some(Fold::Github),
      (false, true) => Some(Fold::Gitlab),
      (false, false) => None,
    };
    let ci = fold.map(|fold| {
      let github = fold == Fold::Github;
      Box::new(Ci {
        fold,
        places: github.then(|| Places::new(graph)),
        step_summary: options.step_summary.filter(|_| github),
        first: None,
      })
    });
    Self {
      out,
      paint: Paint { on: options.color },
      grouped: options.grouped || ci.is_some(),
      ci,
      blocks: HashMap::new(),
      allowed: graph.nodes.iter().filter(|n| n.allow_failure).map(|n| n.name.clone()).collect(),
      summary: Summary::default(),
      placements: Box::default(),
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
        let node = self.placements.ended(task, *attempt);
        let line = text::retrying(task, *status, *exit, *attempt, node.as_deref(), paint);
        self.task_line(task, line)
      }
      Event::TaskFinished { task, status, attempts, duration_ms, exit } => {
        self.summary.add(task, *status, *attempts, *duration_ms);
        let node = self.placements.ended(task, *attempts);
        self.finished(task, *status, *attempts, *duration_ms, *exit, node.as_deref())
      }
      Event::GroupFinished { group, status, done, pending, timed_out, .. } => {
        let returned = text::Returned { status: *status, done, pending, timed_out: *timed_out };
        writeln!(self.out, "{}", text::group(group, &returned, paint))
      }
      Event::ItemFinished { consumer, item, worker, status, attempts, exit, .. } => {
        let node = self.placements.item_ended(consumer, item, *attempts);
        let line = text::item(consumer, *worker, item, *status, *attempts, *exit, paint);
        self.task_line(consumer, line + &text::on(node.as_deref()))
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
      Event::Placed { task, attempt, item, slurm_id, node } => {
        self.placements.placed(task, *item, *attempt, slurm_id, node);
        Ok(())
      }
      Event::Slurm(calls) => {
        self.placements.calls(calls);
        Ok(())
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
      None => _ = self.blocks.insert(task.to_string(), Block::new(line, fold::now())),
    }
    Ok(())
  }

  fn output(&mut self, task: &str, stream: Stream, line: &str) -> std::io::Result<()> {
    let stripped;
    let line = if !self.paint.on && line.contains('\x1b') {
      stripped = anstream::adapter::strip_str(line).to_string();
      stripped.as_str()
    } else {
      line
    };
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
    node: Option<&str>,
  ) -> std::io::Result<()> {
    let (outcome, on) =
      (text::outcome(status, attempts, duration_ms, exit, self.paint), text::on(node));
    let line = format!("[{task}] {outcome}{on}");
    let block = self.blocks.remove(task);
    if self.ci.is_some() {
      let outcome = text::outcome(status, attempts, duration_ms, exit, Paint { on: false }) + &on;
      return self.ci_finished(task, status, &line, outcome, block);
    }
    if let Some(block) = &block {
      block.write_to(task, &mut self.out)?;
    }
    writeln!(self.out, "{line}")
  }

  /// A task's block in a fold, or one line for what never ran or was cancelled after the
  /// first failure; then, on GitHub, an annotation if it failed.
  fn ci_finished(
    &mut self,
    task: &str,
    status: Status,
    line: &str,
    outcome: String,
    block: Option<Block>,
  ) -> std::io::Result<()> {
    let ci = self.ci.as_mut().expect("ci mode");
    let after_failure = ci.first.is_some();
    let out = &mut self.out;
    let plain_line = format!("[{task}] {outcome}");
    match &block {
      Some(block) if !(status == Status::Cancelled && after_failure) => {
        let header = if ci.fold == Fold::Github { &plain_line } else { line };
        ci.fold.open(out, task, header, !status.is_failure(), block.started)?;
        block.write_to(task, out)?;
        writeln!(out, "{line}")?;
        ci.fold.close(out, task, fold::now())?;
      }
      Some(block) if block.len() > 0 => {
        writeln!(out, "{line} ({} lines of output not shown)", block.len())?;
      }
      Some(_) | None => writeln!(out, "{line}")?,
    }
    if !status.is_failure() {
      return Ok(());
    }
    let allowed = self.allowed.contains(task);
    if let Some(places) = &mut ci.places {
      let last_output = block.as_ref().map(|b| b.last_output.clone()).unwrap_or_default();
      let failure = Failure { task: task.to_string(), outcome, last_output };
      writeln!(out, "{}", places.annotation(&failure, status == Status::TimedOut, allowed))?;
    }
    if ci.first.is_none() && !allowed {
      let tail = block.map(|b| b.tail(FIRST_FAILURE_TAIL)).unwrap_or_default();
      ci.first = Some((plain_line, tail));
    }
    Ok(())
  }

  /// The closing lines; `closing`, the last, is given painted and not.
  fn run_finished(&mut self, closing: String, plain_closing: String) -> std::io::Result<()> {
    let out = &mut self.out;
    // Its annotation is not repeated: GitHub would show the failure twice.
    if let Some((line, tail)) = self.ci.as_ref().and_then(|ci| ci.first.as_ref()) {
      writeln!(out, "runner: first failure: {line}")?;
      for l in tail {
        writeln!(out, "{l}")?;
      }
    }
    if !self.summary.is_empty() {
      for l in self.summary.text(self.paint) {
        writeln!(out, "{l}")?;
      }
    }
    let slurm = self.placements.closing();
    if let Some(slurm) = &slurm {
      writeln!(out, "{slurm}")?;
    }
    writeln!(out, "{closing}")?;
    if let Some(path) = self.ci.as_ref().and_then(|ci| ci.step_summary.as_ref()) {
      let closing = match slurm {
        Some(slurm) => format!("{slurm}\n\n{plain_closing}"),
        None => plain_closing,
      };
      let markdown = self.summary.markdown(&format!("runner: {}", self.title), &closing);
      if let Err(err) = github::append_summary(path, &markdown) {
        eprintln!("runner: cannot write the job summary to {}: {err}", path.display());
      }
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests;
