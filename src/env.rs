//! The environment a task, a queue item or a callback sees, each source over the one before:
//! the runner's own environment, the file's `dotenv` files, the file's `env`, the task's
//! `dotenv` files, the task's `env`, its matrix variables, `--env`; then the `RUNNER_*`
//! variables of the spec, which no source can set. Values reach commands only this way, never
//! as text.

use crate::graph::{Graph, NodeId};
use crate::status::Status;
use foldhash::{HashMap, HashMapExt};

/// Linux refuses to start a program with one environment string over 128 KiB; longer results
/// reach commands cut to this many bytes, with a warning in the task's output.
const VALUE_MAX: usize = 128 * 1024 - 256;

pub(crate) type Env = Vec<(String, String)>;

/// The file's variables, the task's (groups have only the file's) and `--env`, each name once
/// with its last value, without the names the runner sets; then `RUNNER_TASK`.
fn base(graph: &Graph, id: NodeId) -> Env {
  let task = graph.task(id);
  let dotenv = task.into_iter().flat_map(|t| t.dotenv.iter().flat_map(|vars| vars.iter()));
  let own = task.map_or(&[][..], |t| &t.env[..]);
  let mut env = last_wins(graph.env.iter().chain(dotenv).chain(own).chain(&graph.overrides));
  env.push(("RUNNER_TASK".into(), graph.nodes[id].name.clone()));
  env
}

/// Each name once, at its first place, with its last value: the child gets one string per
/// variable, so no program has to pick between two.
fn last_wins<'e>(vars: impl Iterator<Item = &'e (String, String)>) -> Env {
  let mut env: Env = Vec::new();
  let mut at: HashMap<&str, usize> = HashMap::new();
  for (key, value) in vars {
    if set_by_runner(key) {
      continue;
    }
    match at.get(key.as_str()) {
      Some(&i) => env[i].1.clone_from(value),
      None => {
        at.insert(key, env.len());
        env.push((key.clone(), value.clone()));
      }
    }
  }
  env
}

/// The variables the runner sets for a task, an item or a callback, which no `env`, `dotenv`
/// or `--env` can set: they are the run's facts (`RUNNER_MATRIX_*` are not among them).
fn set_by_runner(key: &str) -> bool {
  matches!(key, "RUNNER_TASK" | "RUNNER_ATTEMPT" | "RUNNER_STATUS" | "RUNNER_ITEM")
    || key == crate::engine::tree::TAG
    || key.starts_with("RUNNER_RESULT")
}

/// A task's environment: [`base`], `RUNNER_ATTEMPT` and `RUNNER_RESULT_<NEED>` for each need.
/// Returns the warnings for results that had to be cut.
pub(crate) fn task<'r>(
  graph: &Graph,
  id: NodeId,
  attempt: u32,
  result: impl Fn(NodeId) -> &'r str,
) -> (Env, Vec<String>) {
  let mut env = base(graph, id);
  let mut warnings = Vec::new();
  env.push(("RUNNER_ATTEMPT".into(), attempt.to_string()));
  let node = &graph.nodes[id];
  for (&need, name) in node.needs.iter().zip(&node.need_vars) {
    let value = value(name, result(need), &mut warnings);
    env.push((name.clone(), value));
  }
  (env, warnings)
}

/// A callback's environment: [`base`], `RUNNER_STATUS` and `RUNNER_RESULT`.
pub(crate) fn callback(
  graph: &Graph,
  id: NodeId,
  status: Status,
  result: &str,
) -> (Env, Vec<String>) {
  let mut env = base(graph, id);
  let mut warnings = Vec::new();
  env.push(("RUNNER_STATUS".into(), status.as_str().into()));
  let result = value("RUNNER_RESULT", result, &mut warnings);
  env.push(("RUNNER_RESULT".into(), result));
  (env, warnings)
}

/// A queue item as `RUNNER_ITEM` (items are lines, at most 64 KiB: only NUL bytes need care).
pub(crate) fn item(item: &str, warnings: &mut Vec<String>) -> (String, String) {
  ("RUNNER_ITEM".into(), value("RUNNER_ITEM", item, warnings))
}

/// A value that an environment variable can carry: without NUL bytes, which end a variable
/// (dropped, as a shell drops them from `$(...)`), and cut to [`VALUE_MAX`] bytes at a
/// character boundary; with a warning for each change.
fn value(name: &str, value: &str, warnings: &mut Vec<String>) -> String {
  let nuls = value.bytes().filter(|&b| b == 0).count();
  if nuls > 0 {
    warnings.push(format!(
      "warning: ${name} holds {nuls} NUL byte{}, which no environment variable can carry; \
       the command gets it without them",
      if nuls == 1 { "" } else { "s" }
    ));
    return cut(name, &value.replace('\0', ""), warnings);
  }
  cut(name, value, warnings)
}

/// A value cut to [`VALUE_MAX`] bytes (at a character boundary), with a warning if it was.
fn cut(name: &str, value: &str, warnings: &mut Vec<String>) -> String {
  if value.len() <= VALUE_MAX {
    return value.to_string();
  }
  let mut end = VALUE_MAX;
  while !value.is_char_boundary(end) {
    end -= 1;
  }
  warnings.push(format!(
    "warning: ${name} holds {} bytes; the command gets the first {end}",
    value.len()
  ));
  value[..end].to_string()
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::compile::compile_source;
  use crate::source::Source;

  #[test]
  fn task_env_has_results_of_needs() {
    let yaml = "env: {A: '1'}\ntasks:\n  make-tea: {run: x}\n  b: {run: y, needs: [make-tea], env: {A: '2'}}\n";
    let graph = compile_source(&Source::new("t.yaml", yaml)).unwrap();
    let (env, warnings) = task(&graph, 1, 2, |_| "green tea");
    assert!(warnings.is_empty());
    let get = |k: &str| env.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("A"), Some("2"));
    assert_eq!(get("RUNNER_TASK"), Some("b"));
    assert_eq!(get("RUNNER_ATTEMPT"), Some("2"));
    assert_eq!(get("RUNNER_RESULT_MAKE_TEA"), Some("green tea"));
  }

  #[test]
  fn each_source_over_the_one_before_and_the_runners_variables_over_all() {
    let file = "env: {A: f, B: f, C: f, RUNNER_TASK: x}\n";
    let yaml = file.to_string() + "tasks:\n  t: {run: x, env: {B: t, C: t, RUNNER_RESULT_X: y}}\n";
    let mut graph = compile_source(&Source::new("t.yaml", yaml)).unwrap();
    graph.overrides = vec![("C".into(), "cli".into()), ("RUNNER_ATTEMPT".into(), "9".into())];
    let (env, _) = task(&graph, 0, 1, |_| "");
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
      pairs,
      [("A", "f"), ("B", "t"), ("C", "cli"), ("RUNNER_TASK", "t"), ("RUNNER_ATTEMPT", "1")]
    );
  }

  #[test]
  fn long_values_are_cut_with_a_warning() {
    let long = "é".repeat(VALUE_MAX);
    let mut warnings = Vec::new();
    let cut = value("RUNNER_RESULT", &long, &mut warnings);
    assert!(cut.len() <= VALUE_MAX && long.starts_with(&cut));
    assert_eq!(warnings.len(), 1);
  }

  #[test]
  fn nul_bytes_are_dropped_with_a_warning() {
    let mut warnings = Vec::new();
    assert_eq!(value("RUNNER_RESULT_A", "x\0y\0", &mut warnings), "xy");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("$RUNNER_RESULT_A holds 2 NUL bytes"), "{}", warnings[0]);
    warnings.clear();
    assert_eq!(value("RUNNER_RESULT", "plain", &mut warnings), "plain");
    assert!(warnings.is_empty());
  }
}
