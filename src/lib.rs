//! runner: compile YAML job files into task graphs and run them.
//!
//! The pipeline, one module a step: `yaml` (text -> spanned tree) -> `decode` (tree -> `schema`
//! types) -> `compile` (-> `graph`, or every `compile_error`) -> `scheduler` + `executor`
//! (-> `event`s) -> `report`. This file only dispatches the command line and maps outcomes to
//! exit codes.

mod cli;
mod compile;
mod compile_error;
#[cfg(test)]
mod compile_proptest;
mod complete;
mod cycle;
mod decode;
mod diagnostic;
mod duration;
mod env;
mod event;
mod executor;
mod graph;
mod group;
mod inspect;
mod names;
mod options;
mod pipes;
mod process;
mod queue;
mod reactor;
mod report;
mod run;
mod runtime;
mod scheduler;
mod schema;
mod signal;
mod source;
mod spawn;
mod status;
mod suggest;
mod yaml;

use clap::Parser;
use cli::{Cli, Command, GraphFormat};
use source::Source;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Exit codes, as the spec lists them.
pub mod exit {
  pub const OK: i32 = 0;
  pub const FAILED: i32 = 1;
  pub const INVALID: i32 = 2;
  /// After a stopping signal: 128 and its number, as a shell reports it (130 for SIGINT, 143
  /// for SIGTERM, 129 for SIGHUP, 131 for SIGQUIT).
  pub fn signalled(signal: i32) -> i32 {
    128 + signal
  }
}

/// Runs the command line and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
  complete::answer_if_asked();
  let cli = match Cli::try_parse_from(args) {
    Ok(cli) => cli,
    Err(err) => {
      let _ = err.print();
      return if err.use_stderr() { exit::INVALID } else { exit::OK };
    }
  };
  match cli.command {
    Command::Run(args) => match load(&args.file) {
      Ok(graph) => run::run(&args, &graph),
      Err(code) => code,
    },
    Command::Validate(args) => validate(&args.files),
    Command::List(args) => with_graph(&args.file, |graph| {
      if args.json { inspect::to_json(graph).to_string() + "\n" } else { inspect::list_text(graph) }
    }),
    Command::Graph(args) => with_graph(&args.file, |graph| match args.format {
      GraphFormat::Dot => inspect::to_dot(graph),
      GraphFormat::Mermaid => inspect::to_mermaid(graph),
      GraphFormat::Json => inspect::to_json(graph).to_string() + "\n",
    }),
    Command::Schema => {
      print(&(serde_json::to_string_pretty(&schema::json_schema()).unwrap_or_default() + "\n"))
    }
    Command::Completions(args) => print(&complete::script(args.shell)),
    Command::Manpage { subcommand } => match complete::manpage(subcommand.as_deref()) {
      Some(page) => print(&page),
      None => {
        eprintln!("error: no subcommand `{}`", subcommand.unwrap_or_default());
        exit::INVALID
      }
    },
  }
}

fn print(text: &str) -> i32 {
  let mut out = std::io::stdout().lock();
  match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
    Ok(()) => exit::OK,
    // A closed pipe (`runner list x | head`) is not an error.
    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
    Err(e) => {
      eprintln!("error: cannot write output: {e}");
      exit::FAILED
    }
  }
}

/// Loads and compiles one file; on failure prints every error and returns the exit code.
fn load(path: &Path) -> Result<graph::Graph, i32> {
  let source = match Source::read(path) {
    Ok(source) => source,
    Err(err) => {
      eprintln!("error: cannot read `{}`: {err}", path.display());
      return Err(exit::INVALID);
    }
  };
  compile::compile_source(&source).map_err(|errors| {
    eprint!("{}", diagnostic::render(&source, &errors, diagnostic_style()));
    exit::INVALID
  })
}

fn diagnostic_style() -> diagnostic::Style {
  let color =
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
  let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100);
  diagnostic::Style { color, width }
}

fn with_graph(path: &Path, render: impl FnOnce(&graph::Graph) -> String) -> i32 {
  match load(path) {
    Ok(graph) => print(&render(&graph)),
    Err(code) => code,
  }
}

fn validate(files: &[std::path::PathBuf]) -> i32 {
  let mut code = exit::OK;
  for path in files {
    match load(path) {
      Ok(graph) => {
        let groups = graph.nodes.len() - graph.task_count();
        println!(
          "{}: ok ({} tasks, {groups} groups, {} queues)",
          path.display(),
          graph.task_count(),
          graph.queues.len()
        );
      }
      Err(c) => code = c,
    }
  }
  code
}
