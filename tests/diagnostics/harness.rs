//! The checks of `tests/diagnostics.rs` on what `runner validate` printed for a file of this
//! folder (and of `tests/slurm_config.rs` for its files): its places, labels, help and summary.

/// What `runner validate` printed for one bad file, with the temp dir replaced by `[TMP]`.
pub(crate) struct Diagnosed {
  pub(crate) name: String,
  pub(crate) stderr: String,
}

impl Diagnosed {
  /// The `(line, column)` of every `╭─[file:LINE:COL]` header, in printed order.
  pub(crate) fn headers(&self) -> Vec<(usize, usize)> {
    let prefix = format!("╭─[[TMP]/{}:", self.name);
    self
      .stderr
      .lines()
      .filter_map(|l| l.trim_start().strip_prefix(prefix.as_str()))
      .map(|rest| {
        let (line, col) = rest.trim_end_matches(']').split_once(':').expect("LINE:COL");
        (line.parse().expect("line number"), col.parse().expect("column"))
      })
      .collect()
  }

  /// Checks the error's code and message (the `×` line).
  #[track_caller]
  pub(crate) fn error(&self, code: &str, message: &str) -> &Self {
    let lines: Vec<&str> = self.stderr.lines().map(str::trim).collect();
    assert!(lines.contains(&code), "no `{code}` in\n{}", self.stderr);
    let expected = format!("× {message}");
    assert!(lines.contains(&expected.as_str()), "no `{expected}` in\n{}", self.stderr);
    self
  }

  /// Checks the warning's code and message (the `⚠` line).
  #[track_caller]
  pub(crate) fn warning(&self, code: &str, message: &str) -> &Self {
    let lines: Vec<&str> = self.stderr.lines().map(str::trim).collect();
    assert!(lines.contains(&code), "no `{code}` in\n{}", self.stderr);
    let expected = format!("⚠ {message}");
    assert!(lines.contains(&expected.as_str()), "no `{expected}` in\n{}", self.stderr);
    self
  }

  /// Checks the primary place: a header at `line:col` and `label` under that line.
  #[track_caller]
  pub(crate) fn at(&self, line: usize, col: usize, label: &str) -> &Self {
    let headers = self.headers();
    assert!(
      headers.contains(&(line, col)),
      "no header at {line}:{col} (found {headers:?}) in\n{}",
      self.stderr
    );
    self.label(line, label)
  }

  /// Checks that `label` is drawn under source line `line`.
  #[track_caller]
  pub(crate) fn label(&self, line: usize, label: &str) -> &Self {
    let numbered = format!("{line} │");
    let lines: Vec<&str> = self.stderr.lines().collect();
    let found = lines.iter().enumerate().any(|(i, l)| {
      l.trim_start().starts_with(&numbered)
        && lines[i + 1..]
          .iter()
          .take_while(|l| l.trim_start().starts_with('·'))
          .any(|l| l.ends_with(&format!("── {label}")))
    });
    assert!(found, "no label `{label}` under line {line} in\n{}", self.stderr);
    self
  }

  /// Checks the help text, which miette may have wrapped onto the lines below `help:`.
  #[track_caller]
  pub(crate) fn help(&self, help: &str) -> &Self {
    let expected = format!("help: {help}");
    let lines: Vec<&str> = self.stderr.lines().map(str::trim).collect();
    let found = lines.iter().enumerate().filter(|(_, l)| l.starts_with("help: ")).any(|(i, _)| {
      let wrapped = lines[i..].iter().take_while(|l| !l.is_empty());
      wrapped.copied().collect::<Vec<_>>().join(" ") == expected
    });
    assert!(found, "no `{expected}` in\n{}", self.stderr);
    self
  }

  /// Checks the summary line at the end.
  #[track_caller]
  pub(crate) fn count(&self, errors: usize) -> &Self {
    let noun = if errors == 1 { "error" } else { "errors" };
    let expected = format!("[TMP]/{}: {errors} {noun}, nothing was run\n", self.name);
    assert!(self.stderr.ends_with(&expected), "{}", self.stderr);
    self
  }

  /// Checks the summary line of a file with warnings only.
  #[track_caller]
  pub(crate) fn warnings(&self, warnings: usize) -> &Self {
    let noun = if warnings == 1 { "warning" } else { "warnings" };
    let expected = format!("[TMP]/{}: {warnings} {noun}\n", self.name);
    assert!(self.stderr.ends_with(&expected), "{}", self.stderr);
    self
  }
}
