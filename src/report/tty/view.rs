//! The indicatif side of the live view: one `MultiProgress` on stdout. Rows are positional: the
//! model decides what each row says; this file keeps as many bars as there are rows (reusing
//! removed ones), puts the text in, steps the spinners, and redraws once per frame. Top to
//! bottom: running tasks (with spinners), "... more running", groups, queues, the overall bar.
//!
//! Redraws: each frame ends with exactly one forced redraw (printing the finished lines above
//! the bars, or just the bars), so the screen changes at the frame rate whatever happens in
//! between. Bar updates within a frame would each try to redraw too; the draw target's rate
//! limit (`STRAY_HZ`) turns those into at most one extra redraw a second.

use super::model::Frame;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Redraws a second that bar updates may cause outside the once-a-frame redraw.
const STRAY_HZ: u8 = 1;
const SPINNER: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ";

pub(super) struct View {
  multi: MultiProgress,
  overall: ProgressBar,
  tasks: Section,
  more: Section,
  groups: Section,
  queues: Section,
  /// Bars removed from the screen, ready to be used again.
  spare: Vec<ProgressBar>,
  color: bool,
  /// The overall bar shows an ETA: once a task has finished, so that there is a rate to go by.
  eta: bool,
}

/// The bars of one kind of row, with the text each shows.
struct Section {
  bars: Vec<ProgressBar>,
  texts: Vec<String>,
  style: ProgressStyle,
  spin: bool,
}

impl View {
  /// A view on stdout; None when stdout is not a terminal indicatif can draw on.
  pub(super) fn new(color: bool) -> Option<Self> {
    let target = ProgressDrawTarget::stdout_with_hz(STRAY_HZ);
    if target.is_hidden() {
      return None;
    }
    let multi = MultiProgress::with_draw_target(target);
    let overall = multi.add(ProgressBar::hidden().with_style(overall_style(color, false)));
    let line = style("  {wide_msg}");
    let spinner = style(if color { "{spinner:.cyan} {wide_msg}" } else { "{spinner} {wide_msg}" })
      .tick_chars(SPINNER);
    Some(Self {
      multi,
      overall,
      tasks: Section::new(spinner, true),
      more: Section::new(line.clone(), false),
      groups: Section::new(line.clone(), false),
      queues: Section::new(line, false),
      spare: Vec::new(),
      color,
      eta: false,
    })
  }

  /// Makes the bars say what the frame says, then redraws once: printing the frame's lines
  /// above the bars if it has any, else just the bars.
  pub(super) fn apply(&mut self, frame: Frame) {
    let more: Vec<String> = frame.more.into_iter().collect();
    let mut offset = 0;
    for (section, texts) in [
      (&mut self.tasks, frame.tasks),
      (&mut self.more, more),
      (&mut self.groups, frame.groups),
      (&mut self.queues, frame.queues),
    ] {
      section.sync(&self.multi, &mut self.spare, texts, offset);
      offset += section.bars.len();
    }
    if self.overall.length() != Some(frame.total) {
      self.overall.set_length(frame.total);
    }
    if self.overall.message() != frame.failures {
      self.overall.set_message(frame.failures);
    }
    self.overall.set_position(frame.done);
    if frame.done > 0 && !std::mem::replace(&mut self.eta, true) {
      self.overall.set_style(overall_style(self.color, true));
    }
    if frame.print.is_empty() {
      self.overall.force_draw();
    } else {
      let _ = self.multi.println(frame.print.trim_end_matches('\n'));
    }
  }

  /// Takes every bar off the screen and clears the lines they used.
  pub(super) fn clear(mut self) {
    for section in [&mut self.tasks, &mut self.more, &mut self.groups, &mut self.queues] {
      section.sync(&self.multi, &mut self.spare, Vec::new(), 0);
    }
    self.multi.remove(&self.overall);
    let _ = self.multi.clear();
  }
}

impl Section {
  fn new(style: ProgressStyle, spin: bool) -> Self {
    Self { bars: Vec::new(), texts: Vec::new(), style, spin }
  }

  /// As many bars as texts, starting at row `offset`: extra bars are removed (kept as spares),
  /// missing ones inserted, only changed texts set, and spinners stepped.
  fn sync(
    &mut self,
    multi: &MultiProgress,
    spare: &mut Vec<ProgressBar>,
    texts: Vec<String>,
    offset: usize,
  ) {
    while self.bars.len() > texts.len() {
      let bar = self.bars.pop().expect("a bar");
      multi.remove(&bar);
      spare.push(bar);
      self.texts.pop();
    }
    for (i, text) in texts.into_iter().enumerate() {
      if i == self.bars.len() {
        let bar = spare.pop().unwrap_or_else(ProgressBar::hidden);
        bar.set_style(self.style.clone());
        self.bars.push(multi.insert(offset + i, bar));
        self.texts.push(String::new());
      }
      if self.texts[i] != text {
        self.bars[i].set_message(text.clone());
        self.texts[i] = text;
      }
      if self.spin {
        self.bars[i].tick();
      }
    }
  }
}

fn style(template: &str) -> ProgressStyle {
  ProgressStyle::with_template(template).expect("a valid template")
}

/// The overall bar; `eta`: with an estimate of the time left (none until a task finished).
fn overall_style(color: bool, eta: bool) -> ProgressStyle {
  let eta = if eta { " · ETA {eta}" } else { "" };
  let rest = format!("{{pos}}/{{len}} tasks{{msg}} · {{elapsed}} elapsed{eta}");
  if color {
    style(&format!("{{bar:30.cyan/blue}} {rest}")).progress_chars("━╸─")
  } else {
    style(&format!("[{{bar:30}}] {rest}")).progress_chars("=> ")
  }
}
