//! runner: compile YAML job files into task graphs and run them.
//!
//! The pipeline, one module a step: `yaml` (text -> spanned tree) -> `decode` (tree -> `schema`
//! types) -> `compile` (-> `graph`, or every `compile_error`) -> `scheduler` + `executor`
//! (-> `event`s) -> `report`. This file only dispatches the command line; `error` maps how it
//! ended to the exit code.

mod candidates;
mod cli;
mod client;
mod compile;
mod compile_error;
mod complete;
mod consumer;
mod cycle;
mod decode;
mod diagnostic;
mod discover;
mod dotenv;
mod duration;
mod engine;
mod env;
mod error;
mod event;
mod graph;
mod group;
mod inspect;
mod limits;
mod names;
mod options;
mod replay;
mod report;
mod run;
mod scheduler;
mod schema;
mod serve;
mod source;
mod status;
mod suggest;
mod uptodate;
mod yaml;

use clap::Parser;
use cli::{Cli, Command, GraphFormat};
use error::ExitCode;
use source::Source;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Says that stdout was closed when the process started, which the Rust runtime hides by
/// opening /dev/null there: writing the run's output then fails, as it would have (EBADF).
pub fn stdout_was_closed() {
  engine::stdout::closed_at_start();
}

/// Runs the command line and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
  dispatch(args).code()
}

fn dispatch(args: impl IntoIterator<Item = OsString>) -> ExitCode {
  let args: Vec<OsString> = args.into_iter().collect();
  engine::watchdog::serve_if_asked(&args);
  complete::answer_if_asked();
  let cli = match Cli::try_parse_from(args) {
    Ok(cli) => cli,
    Err(err) => {
      let _ = err.print();
      return if err.use_stderr() { ExitCode::Invalid } else { ExitCode::Ok };
    }
  };
  let color = cli.color;
  match cli.command {
    Command::Run(mut args) => {
      let (file, targets) = match discover::run_words(args.file.as_deref(), &args.words, &cwd()) {
        Ok(found) => found,
        Err(err) => return not_found(&err),
      };
      args.targets = targets;
      match load(&file, color) {
        Ok(mut graph) => {
          args.color = color;
          run::run(&args, &mut graph)
        }
        Err(exit) => exit,
      }
    }
    Command::Validate(args) => {
      let mut files: Vec<_> = args.file.into_iter().chain(args.files).collect();
      if files.is_empty() {
        match discover::find(&cwd()) {
          Ok(found) => files.push(found),
          Err(err) => return not_found(&err),
        }
      }
      validate(&files, color)
    }
    Command::List(args) => with_graph(args.file_flag.or(args.file), color, |graph| {
      if args.json {
        inspect::list_json(graph).to_string() + "\n"
      } else {
        inspect::list_text(graph)
      }
    }),
    Command::Graph(args) => {
      with_graph(args.file_flag.or(args.file), color, |graph| match args.format {
        GraphFormat::Dot => inspect::to_dot(graph),
        GraphFormat::Mermaid => inspect::to_mermaid(graph),
        GraphFormat::Json => inspect::to_json(graph).to_string() + "\n",
      })
    }
    Command::Schema => {
      print(&(serde_json::to_string_pretty(&schema::json_schema()).unwrap_or_default() + "\n"))
    }
    Command::Completions(args) => print(&complete::script(args.shell)),
    Command::Serve(args) => serve::serve(&args),
    Command::Submit(args) => {
      let color = options::color(color, &report::Env::read(), std::io::stderr().is_terminal());
      client::submit(&args, color)
    }
    Command::Status(args) => client::status(&args),
    Command::Logs(args) => {
      let color = options::color(color, &report::Env::read(), std::io::stdout().is_terminal());
      client::logs(&args, color)
    }
    Command::Cancel(args) => client::cancel(&args),
    Command::Shutdown(args) => client::shutdown(&args),
    Command::Manpage { subcommand } => match complete::manpage(subcommand.as_deref()) {
      Some(page) => print(&page),
      None => {
        eprintln!("error: no subcommand `{}`", subcommand.unwrap_or_default());
        ExitCode::Invalid
      }
    },
  }
}

fn print(text: &str) -> ExitCode {
  let mut out = std::io::stdout().lock();
  match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
    Ok(()) => ExitCode::Ok,
    // A closed pipe (`runner list x | head`) is not an error.
    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::Ok,
    Err(e) => {
      eprintln!("error: cannot write output: {e}");
      ExitCode::OutputFailed
    }
  }
}

/// Loads and compiles one file, printing its warnings; on failure prints every error (and
/// under GitHub Actions annotates each).
fn load(path: &Path, color: cli::ColorWhen) -> Result<graph::Graph, ExitCode> {
  let source = match Source::read(path) {
    Ok(source) => source,
    Err(err) => {
      eprintln!("error: cannot read `{}`: {err}", path.display());
      return Err(ExitCode::Invalid);
    }
  };
  let (result, files) = compile::compile_files(&source);
  let (graph, errors) = match result {
    Ok((graph, warnings)) => (Ok(graph), warnings),
    Err(errors) => (Err(ExitCode::Invalid), errors),
  };
  if !errors.0.is_empty() {
    let env = report::Env::read();
    let color = options::color(color, &env, std::io::stderr().is_terminal());
    let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100);
    for (source, errors) in files.split(errors) {
      eprint!("{}", diagnostic::render(source, &errors, diagnostic::Style { color, width }));
      if env.github_actions {
        eprint!("{}", report::annotations(source, &errors));
      }
    }
  }
  graph
}

fn with_graph(
  path: Option<std::path::PathBuf>,
  color: cli::ColorWhen,
  render: impl FnOnce(&graph::Graph) -> String,
) -> ExitCode {
  let path = match discover::file(path.as_deref(), &cwd()) {
    Ok(path) => path,
    Err(err) => return not_found(&err),
  };
  match load(&path, color) {
    Ok(graph) => print(&render(&graph)),
    Err(exit) => exit,
  }
}

fn validate(files: &[std::path::PathBuf], color: cli::ColorWhen) -> ExitCode {
  let mut exit = ExitCode::Ok;
  for path in files {
    match load(path, color) {
      Ok(graph) => {
        let groups = graph.nodes.len() - graph.task_count();
        let (tasks, groups) = (counted(graph.task_count(), "task"), counted(groups, "group"));
        let queues = counted(graph.queues.len(), "queue");
        println!("{}: ok ({tasks}, {groups}, {queues})", path.display());
      }
      Err(e) => exit = e,
    }
  }
  exit
}

/// The folder job files are looked for from; "." when it cannot be read, which `find` then
/// reports as not found there.
fn cwd() -> std::path::PathBuf {
  std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."))
}

/// Prints why no job file was taken: exit 2, as for any invalid command line.
fn not_found(err: &discover::Error) -> ExitCode {
  eprintln!("{err}");
  ExitCode::Invalid
}

/// `1 task`, `2 tasks`.
pub(crate) fn counted(n: usize, what: &str) -> String {
  if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}
