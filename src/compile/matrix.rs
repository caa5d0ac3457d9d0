//! Expands each matrix task into one task per combination, before names are resolved: the
//! instances (`build[os=linux,rust=stable]`, keys in declared order) take the task's place,
//! each with a `RUNNER_MATRIX_<KEY>` variable per key, and a group named after the task
//! stands for all of them, so that a need on `build` waits for every instance and reads
//! their results as one JSON object. `exclude` and `include` follow GitHub Actions: excludes
//! drop partial matches first; then each include extends every original combination it does
//! not contradict, or else adds a combination of its own.

use crate::compile_error::{CompileError, ErrorKind};
use crate::limits::{MAX_MATRIX_INSTANCES, MAX_MATRIX_TOTAL};
use crate::names;
use crate::schema::{self, Combination, JobFile, Matrix, Name, Spanned};
use crate::suggest;
use miette::SourceSpan;

/// One combination: (key, value) pairs, matrix keys in declared order, then added keys.
type Combo = Vec<(String, String)>;

/// The file with every matrix task expanded.
pub(super) fn expand(mut file: JobFile, errors: &mut Vec<CompileError>) -> JobFile {
  if file.tasks.iter().all(|t| t.matrix.is_none()) {
    return file;
  }
  let mut tasks = Vec::with_capacity(file.tasks.len());
  let mut groups = Vec::new();
  let mut total = 0;
  for mut task in std::mem::take(&mut file.tasks) {
    let Some(matrix) = task.matrix.take() else {
      tasks.push(task);
      continue;
    };
    let mut combos = combinations(&task, &matrix, errors);
    if let Some(found) = &combos {
      total += found.len();
      if total > MAX_MATRIX_TOTAL {
        errors.push(too_many_in_file(&matrix, total));
        combos = None;
      }
    }
    let Some(combos) = combos.filter(|_| queue_free(&task, &matrix, errors)) else {
      // Kept whole, so that what needs it does not report it unknown as well.
      tasks.push(task);
      continue;
    };
    let mut members = Vec::with_capacity(combos.len());
    for combo in &combos {
      let mut instance = task.clone();
      instance.name = Spanned::new(instance_name(&task.name.value, combo), task.name.span);
      let vars = combo.iter().map(|(k, v)| {
        let name = format!("RUNNER_MATRIX_{}", names::env_suffix(k));
        (Spanned::new(name, matrix.span), Spanned::new(v.clone(), matrix.span))
      });
      instance.env.extend(vars);
      members.push(instance.name.clone());
      tasks.push(instance);
    }
    match file.groups.iter().find(|g| g.name.value == task.name.value) {
      Some(group) => errors.push(clash(&task.name, &group.name)),
      None => groups.push(schema::Group {
        name: task.name.clone(),
        description: task.description.clone(),
        gather: Some(Spanned::new(members, matrix.span)),
        matrix: true,
        ..schema::Group::default()
      }),
    }
  }
  file.tasks = tasks;
  file.groups.extend(groups);
  file
}

/// `build[os=linux,rust=stable]`.
pub(crate) fn instance_name(task: &str, combo: &Combo) -> String {
  let pairs: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
  format!("{task}[{}]", pairs.join(","))
}

/// The instances of a producer or a consumer would share one queue and its items.
fn queue_free(
  task: &schema::Task,
  matrix: &Spanned<Matrix>,
  errors: &mut Vec<CompileError>,
) -> bool {
  let Some((key, queue)) = [("produces", &task.produces), ("consumes", &task.consumes)]
    .into_iter()
    .find_map(|(key, q)| q.as_ref().map(|q| (key, q)))
  else {
    return true;
  };
  let message = format!("task `{}` has a matrix and {key} a queue", task.name.value);
  let err = CompileError::new(ErrorKind::Matrix, message, matrix.span, "matrix")
    .with_label(queue.span, "queue")
    .with_help("instances would share the queue and its items; use `workers` to handle items at once, or one task per queue");
  errors.push(err);
  false
}

fn clash(task: &Name, group: &Name) -> CompileError {
  let message = format!("`{}` is both a task and a group", task.value);
  CompileError::new(ErrorKind::NameClash, message, group.span, "group defined here")
    .with_label(task.span, "matrix task defined here")
    .with_help("tasks and groups share one namespace; rename one of them")
}

/// Every combination of the matrix, or `None` after an error.
fn combinations(
  task: &schema::Task,
  matrix: &Spanned<Matrix>,
  errors: &mut Vec<CompileError>,
) -> Option<Vec<Combo>> {
  let before = errors.len();
  let m = &matrix.value;
  check_axes(m, errors);
  let count = m.axes.iter().try_fold(1usize, |n, (_, v)| n.checked_mul(v.value.len()));
  if count.is_none_or(|n| n > MAX_MATRIX_INSTANCES) {
    errors.push(too_many(task, matrix, count));
    return None;
  }
  let mut combos: Vec<Combo> = if m.axes.is_empty() { Vec::new() } else { vec![Vec::new()] };
  for (key, values) in &m.axes {
    combos = combos
      .iter()
      .flat_map(|c| values.value.iter().map(move |v| with(c, &key.value, &v.value)))
      .collect();
  }
  for entry in &m.exclude {
    if let Some(pairs) = known_pairs(m, entry, errors) {
      combos.retain(|c| !pairs.iter().all(|(k, v)| has(c, k, v)));
    }
  }
  include(m, &mut combos, errors);
  if errors.len() > before {
    return None;
  }
  if combos.is_empty() {
    let message = format!("the matrix of `{}` has no combinations", task.name.value);
    let help = if m.exclude.is_empty() {
      "list each key with its values, e.g. `matrix: {os: [linux, mac]}`"
    } else {
      "`exclude` drops every combination here; remove an entry of it"
    };
    let err =
      CompileError::new(ErrorKind::Matrix, message, matrix.span, "nothing to run").with_help(help);
    errors.push(err);
    return None;
  }
  if combos.len() > MAX_MATRIX_INSTANCES {
    errors.push(too_many(task, matrix, Some(combos.len())));
    return None;
  }
  Some(combos)
}

fn with(combo: &Combo, key: &str, value: &str) -> Combo {
  let mut out = combo.clone();
  out.push((key.to_string(), value.to_string()));
  out
}

fn has(combo: &Combo, key: &str, value: &str) -> bool {
  combo.iter().any(|(k, v)| k == key && v == value)
}

/// A value listed twice would make two instances of one name; two keys that give one
/// variable would hide a value.
fn check_axes(m: &Matrix, errors: &mut Vec<CompileError>) {
  for (key, values) in &m.axes {
    for (i, value) in values.value.iter().enumerate() {
      if let Some(first) = values.value[..i].iter().find(|v| v.value == value.value) {
        let message = format!("`{}` is listed twice under matrix key `{}`", value.value, key.value);
        let err = CompileError::new(ErrorKind::Matrix, message, value.span, "listed again")
          .with_label(first.span, "first listed here");
        errors.push(err);
      }
    }
  }
  let extra = m.include.iter().flat_map(|e| e.value.iter().map(|(k, _)| k));
  let mut seen: Vec<(&Name, String)> = Vec::new();
  for key in m.axes.iter().map(|(k, _)| k).chain(extra) {
    let var = names::env_suffix(&key.value);
    match seen.iter().find(|(_, v)| *v == var) {
      Some((first, _)) if first.value != key.value => {
        let message = format!(
          "matrix keys `{}` and `{}` both reach the command as `RUNNER_MATRIX_{var}`",
          first.value, key.value
        );
        let err = CompileError::new(ErrorKind::NameClash, message, key.span, "same variable")
          .with_label(first.span, "as this one")
          .with_help("rename one of the two keys");
        errors.push(err);
      }
      Some(_) => {}
      None => seen.push((key, var)),
    }
  }
}

/// The pairs of an `exclude` entry, each a key and a value of the matrix.
fn known_pairs<'m>(
  m: &Matrix,
  entry: &'m Combination,
  errors: &mut Vec<CompileError>,
) -> Option<Vec<(&'m str, &'m str)>> {
  let mut ok = true;
  for (key, value) in &entry.value {
    let Some((_, values)) = m.axes.iter().find(|(k, _)| k.value == key.value) else {
      let keys: Vec<&str> = m.axes.iter().map(|(k, _)| k.value.as_str()).collect();
      errors.push(unknown(key.span, "key", &key.value, "`exclude` names", &keys));
      ok = false;
      continue;
    };
    if !values.value.iter().any(|v| v.value == value.value) {
      let values: Vec<&str> = values.value.iter().map(|v| v.value.as_str()).collect();
      let what = format!("`exclude` gives `{}` a", key.value);
      errors.push(unknown(value.span, "value", &value.value, &what, &values));
      ok = false;
    }
  }
  ok.then(|| entry.value.iter().map(|(k, v)| (k.value.as_str(), v.value.as_str())).collect())
}

fn unknown(span: SourceSpan, noun: &str, word: &str, what: &str, known: &[&str]) -> CompileError {
  let message = format!("{what} {noun} `{word}` that the matrix does not have");
  let help = suggest::closest(word, known.iter().copied()).map_or_else(
    || format!("the matrix {noun}s here: {}", known.join(", ")),
    suggest::did_you_mean,
  );
  CompileError::new(ErrorKind::Matrix, message, span, &format!("unknown {noun}")).with_help(help)
}

/// GitHub Actions' rule: an include entry adds its keys to every original combination whose
/// matrix keys it does not contradict (an added key may be overwritten, an original one not);
/// if there is none, it is a combination of its own.
fn include(m: &Matrix, combos: &mut Vec<Combo>, errors: &mut Vec<CompileError>) {
  let original = combos.len();
  let is_axis = |key: &str| m.axes.iter().any(|(k, _)| k.value == key);
  for entry in &m.include {
    let pairs: Vec<(&str, &str)> =
      entry.value.iter().map(|(k, v)| (k.value.as_str(), v.value.as_str())).collect();
    let fits = |c: &Combo| pairs.iter().all(|(k, v)| !is_axis(k) || has(c, k, v));
    let mut matched = false;
    for combo in combos[..original].iter_mut().filter(|c| fits(c)) {
      matched = true;
      for &(k, v) in pairs.iter().filter(|(k, _)| !is_axis(k)) {
        match combo.iter_mut().find(|(key, _)| key == k) {
          Some(slot) => slot.1 = v.to_string(),
          None => combo.push((k.to_string(), v.to_string())),
        }
      }
    }
    if matched {
      continue;
    }
    // Matrix keys first, in declared order, then the others as written.
    let mut combo: Combo = Vec::new();
    for (key, _) in &m.axes {
      if let Some(&(k, v)) = pairs.iter().find(|(k, _)| *k == key.value) {
        combo.push((k.to_string(), v.to_string()));
      }
    }
    combo.extend(pairs.iter().filter(|(k, _)| !is_axis(k)).map(|&(k, v)| (k.into(), v.into())));
    if combos[original..].contains(&combo) {
      let message = "this `include` entry adds a combination that is already there";
      errors.push(CompileError::new(ErrorKind::Matrix, message, entry.span, "added again"));
      continue;
    }
    combos.push(combo);
  }
}

fn too_many_in_file(matrix: &Spanned<Matrix>, total: usize) -> CompileError {
  let message = format!(
    "the matrices of this file make {total} instances up to here, over the limit of \
     {MAX_MATRIX_TOTAL} for one file"
  );
  CompileError::new(ErrorKind::Matrix, message, matrix.span, "past the limit here")
    .with_help("split the job into several files, or drop combinations with `exclude`")
}

fn too_many(task: &schema::Task, matrix: &Spanned<Matrix>, count: Option<usize>) -> CompileError {
  let count = count.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
  let message = format!(
    "the matrix of `{}` makes {count} instances, over the limit of {MAX_MATRIX_INSTANCES}",
    task.name.value
  );
  CompileError::new(ErrorKind::Matrix, message, matrix.span, "too many combinations")
    .with_help("split the task, or drop combinations with `exclude`")
}

#[cfg(test)]
mod tests {
  use crate::compile::compile_source;
  use crate::source::Source;

  fn compile(matrix: &str) -> Result<Vec<String>, Vec<String>> {
    let yaml = format!("tasks:\n  t:\n    matrix: {matrix}\n");
    match compile_source(&Source::new("t.yaml", yaml)) {
      Ok(graph) => Ok(graph.nodes.iter().map(|n| n.name.clone()).collect()),
      Err(errors) => Err(errors.0.iter().map(|e| e.message.clone()).collect()),
    }
  }

  #[test]
  fn the_cap_counts_instances() {
    let values = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let at = format!("{{a: [{}], b: [1, 2]}}", values(128));
    assert_eq!(compile(&at).map(|names| names.len()), Ok(257));
    let over = format!("{{a: [{}], b: [1, 2]}}", values(129));
    assert_eq!(
      compile(&over),
      Err(vec!["the matrix of `t` makes 258 instances, over the limit of 256".into()])
    );
    let include = format!("{{a: [{}], b: [1, 2], include: [{{a: x}}]}}", values(128));
    assert!(compile(&include).unwrap_err()[0].contains("makes 257 instances"));
  }

  #[test]
  fn the_file_cap_counts_every_matrix() {
    let values = (0..250).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let task = |i: usize| format!("  t{i}:\n    matrix: {{a: [{values}]}}\n");
    let at: String = (0..400).map(task).collect();
    let graph = compile_source(&Source::new("t.yaml", format!("tasks:\n{at}"))).unwrap();
    assert_eq!(graph.task_count(), 100_000);
    let over: String = (0..401).map(task).collect();
    let errors = compile_source(&Source::new("t.yaml", format!("tasks:\n{over}"))).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert!(errors.0[0].message.contains("make 100250 instances up to here"), "{:?}", errors.0);
  }

  #[test]
  fn instances_take_the_tasks_place_and_a_group_its_name() {
    assert_eq!(
      compile("{b: [x, 'y z'], a: [1]}"),
      Ok(vec!["t[b=x,a=1]".into(), "t[b=y z,a=1]".into(), "t".into()])
    );
  }

  #[test]
  fn values_hold_no_control_characters() {
    let errors = compile("{a: [\"x\\ny\"]}").unwrap_err();
    assert!(errors[0].contains("control character"), "{errors:?}");
    let errors = compile("{a: [x], include: [{b: \"\\t\"}]}").unwrap_err();
    assert!(errors[0].contains("control character"), "{errors:?}");
  }

  #[test]
  fn an_include_entry_added_twice_is_an_error() {
    let errors = compile("{a: [1], include: [{a: 2}, {a: 2}]}").unwrap_err();
    assert_eq!(errors, ["this `include` entry adds a combination that is already there"]);
  }

  #[test]
  fn an_error_in_a_matrix_task_is_reported_once() {
    let yaml = "tasks:\n  t:\n    matrix: {a: [1, 2, 3]}\n    needs: [nope]\n";
    let errors = compile_source(&Source::new("t.yaml", yaml)).unwrap_err();
    assert_eq!(errors.0.len(), 1, "{:?}", errors.0);
  }
}
