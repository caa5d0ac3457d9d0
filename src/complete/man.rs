//! The man pages: clap_mangen's sections for what clap knows (synopsis, options, subcommands),
//! then the ones it cannot know: the examples kept line by line, EXIT STATUS and ENVIRONMENT.

use std::io::Write;

/// How a command ends, as `error::ExitCode::code` maps it.
const EXIT_STATUS: &[(&str, &str)] = &[
  (
    "0",
    "Success: every task and group succeeded (failures with allow_failure included), or nothing had to run (help, version, a closed pipe).",
  ),
  ("1", "A task, group or callback failed, --timeout expired, or output could not be written."),
  ("2", "The command line, a job file, a target or an output path is invalid; nothing ran."),
  (
    "128+N",
    "A stopping signal N ended the run: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 131 for SIGQUIT.",
  ),
];

/// Every environment variable runner reads (tests/command_line.rs checks the sources for more).
pub(super) const ENVIRONMENT: &[(&str, &str)] = &[
  ("NO_COLOR", "Not empty: no colour, unless --color says otherwise."),
  (
    "CLICOLOR_FORCE",
    "Not empty and not 0: colour even where the output is no terminal, unless --color or NO_COLOR say otherwise.",
  ),
  ("FORCE_COLOR", "The same as CLICOLOR_FORCE."),
  (
    "CLICOLOR",
    "0: no colour, unless --color, NO_COLOR, CLICOLOR_FORCE or FORCE_COLOR say otherwise.",
  ),
  ("TERM", "dumb: no colour and no live view."),
  ("COLUMNS", "The width error messages are wrapped to (default 100)."),
  ("CI", "Not empty and not 0: plain output instead of the live view on a terminal."),
  (
    "GITHUB_ACTIONS",
    "true: output for GitHub Actions: each task's output in a ::group::, failures and job-file errors as ::error annotations.",
  ),
  (
    "GITHUB_STEP_SUMMARY",
    "With GITHUB_ACTIONS: the file the job summary (a Markdown table of the tasks) is appended to.",
  ),
  ("GITLAB_CI", "true: each task's output in a collapsible GitLab CI section."),
  ("RUNNER_LAUNCHER", "posix-spawn: start tasks with posix_spawn instead of the faster clone."),
  (
    "PATH",
    "Where the program of a command made of plain words is looked up, for a task without its own PATH.",
  ),
  ("COMPLETE", "Set by the completion scripts when they ask runner for candidates."),
  (
    "SLURM_JOB_ID",
    "With --backend slurm: set inside an allocation, whose job steps the attempts then run as (--slurm-launch auto).",
  ),
  (
    "XDG_RUNTIME_DIR",
    "runner serve and its clients: where the daemon's socket is by default (runner-serve.sock).",
  ),
  ("XDG_STATE_HOME", "runner serve and its clients: the default state dir is runner/serve in it."),
  (
    "HOME",
    "Without XDG_STATE_HOME, the default state dir of runner serve is ~/.local/state/runner/serve.",
  ),
];

/// The page of `command`, as roff.
pub(super) fn render(command: clap::Command) -> std::io::Result<Vec<u8>> {
  let examples = command.get_after_help().map(|h| h.to_string()).unwrap_or_default();
  let man = clap_mangen::Man::new(command.clone());
  let mut out = Vec::new();
  man.render_title(&mut out)?;
  man.render_name_section(&mut out)?;
  man.render_synopsis_section(&mut out)?;
  man.render_description_section(&mut out)?;
  if command.get_arguments().any(|a| !a.is_hide_set()) {
    man.render_options_section(&mut out)?;
  }
  if command.has_subcommands() {
    man.render_subcommands_section(&mut out)?;
  }
  write_examples(&mut out, &examples)?;
  write_table(&mut out, "EXIT STATUS", EXIT_STATUS)?;
  write_table(&mut out, "ENVIRONMENT", ENVIRONMENT)?;
  man.render_version_section(&mut out)?;
  Ok(out)
}

/// The `Examples:` of the help, one command a line (`.nf`: no filling).
fn write_examples(out: &mut Vec<u8>, help: &str) -> std::io::Result<()> {
  let lines: Vec<&str> = help.lines().skip_while(|l| !l.starts_with("Examples:")).skip(1).collect();
  if lines.is_empty() {
    return Ok(());
  }
  writeln!(out, ".SH EXAMPLES\n.nf")?;
  for line in lines {
    writeln!(out, "{}", roman(line.trim()))?;
  }
  writeln!(out, ".fi")
}

fn write_table(out: &mut Vec<u8>, title: &str, rows: &[(&str, &str)]) -> std::io::Result<()> {
  writeln!(out, ".SH \"{title}\"")?;
  for (term, text) in rows {
    writeln!(out, ".TP\n\\fB{}\\fR\n{}", roman(term), roman(text))?;
  }
  Ok(())
}

/// `text` as roff prints it: backslashes and hyphens escaped, and no line starting with a
/// control character.
fn roman(text: &str) -> String {
  let text = text.replace('\\', "\\e").replace('-', "\\-");
  if text.starts_with(['.', '\'']) { format!("\\&{text}") } else { text }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn escapes_roff() {
    assert_eq!(roman("--color a\\b"), "\\-\\-color a\\eb");
    assert_eq!(roman(".hidden"), "\\&.hidden");
  }
}
