//! The compiler's checks, one error kind at a time.
use super::*;

fn compile(text: &str) -> Result<Graph, Vec<CompileError>> {
  compile_source(&Source::new("jobs/t.yaml", text)).map_err(|e| e.0)
}

fn kinds(text: &str) -> Vec<ErrorKind> {
  compile(text).err().unwrap_or_default().iter().map(|e| e.kind).collect()
}

#[test]
fn compiles_needs_and_groups() {
  let graph = compile(
      "tasks:\n  a: {run: x}\n  b: {run: y, needs: [a]}\n  c: {needs: [teas]}\ngroups:\n  teas: {gather: [a, b]}\n",
    )
    .unwrap();
  assert_eq!(graph.nodes.len(), 4);
  assert_eq!(graph.nodes[0].dependents, [1]);
  assert_eq!(graph.nodes[3].dependents, [2]);
  assert_eq!(graph.nodes[0].groups, [3]);
  assert_eq!(graph.nodes[2].need_vars, ["RUNNER_RESULT_TEAS"]);
  assert_eq!(graph.dir, std::path::Path::new("jobs"));
}

#[test]
fn shell_strings_use_the_shell() {
  let graph =
    compile("shell: [bash, -c]\ntasks:\n  a: {run: echo hi}\n  b: {run: [ls, -l]}\n").unwrap();
  let run = |id| graph.task(id).unwrap().run.clone().unwrap();
  assert_eq!(run(0).argv, ["bash", "-c", "echo hi"]);
  assert!(!run(0).default_shell);
  assert_eq!(run(1).argv, ["ls", "-l"]);
}

#[test]
fn unknown_references_suggest() {
  let errors = compile("tasks:\n  build: {}\n  test: {needs: [biuld]}\n").unwrap_err();
  assert_eq!(errors[0].kind, ErrorKind::UnknownReference);
  assert_eq!(errors[0].help.as_deref(), Some("did you mean `build`?"));
}

#[test]
fn cycles() {
  assert_eq!(kinds("tasks:\n  a: {needs: [b]}\n  b: {needs: [a]}\n"), [ErrorKind::Cycle]);
  assert_eq!(kinds("tasks:\n  a: {needs: [a]}\n"), [ErrorKind::Cycle]);
  let queue = "queues: {q: {}}\ntasks:\n  p: {produces: q, needs: [c]}\n  c: {consumes: q}\n";
  assert_eq!(kinds(queue), [ErrorKind::Cycle]);
  let group = "tasks:\n  a: {needs: [g]}\ngroups:\n  g: {gather: [a]}\n";
  assert_eq!(kinds(group), [ErrorKind::Cycle]);
  let errors =
    compile("tasks:\n  a: {needs: [c]}\n  b: {needs: [a]}\n  c: {needs: [b]}\n").unwrap_err();
  assert_eq!(errors[0].message, "dependency cycle: a -> c -> b -> a");
  assert_eq!(errors[0].labels.len(), 3);
}

#[test]
fn needs_must_not_share_a_result_variable() {
  let text = "tasks:\n  make-tea: {}\n  make_tea: {}\n  mix: {needs: [make-tea, make_tea]}\n";
  assert_eq!(kinds(text), [ErrorKind::NameClash]);
}

#[test]
fn group_rules() {
  assert_eq!(kinds("tasks: {a: {}}\ngroups:\n  g: {gather: []}\n"), [ErrorKind::EmptyGroup]);
  assert_eq!(kinds("tasks: {a: {}}\ngroups:\n  g: {}\n"), [ErrorKind::BadGroup]);
  assert_eq!(
    kinds("tasks: {a: {}}\ngroups:\n  g: {gather: [a], pending: cancel}\n"),
    [ErrorKind::BadGroup]
  );
  assert_eq!(kinds("tasks: {g: {}}\ngroups:\n  g: {gather: [g]}\n"), [ErrorKind::NameClash]);
}

#[test]
fn queue_rules() {
  assert_eq!(kinds("tasks:\n  a: {workers: 2}\n"), [ErrorKind::WorkersWithoutConsumes]);
  assert_eq!(
    kinds("queues: {orders: {}}\ntasks:\n  a: {produces: order}\n"),
    [ErrorKind::UnknownQueue]
  );
  assert_eq!(
    kinds("queues: {q: {}}\ntasks:\n  a: {produces: q, consumes: q}\n"),
    [ErrorKind::Cycle]
  );
}

#[test]
fn errors_come_sorted_by_place() {
  let errors = compile("tasks:\n  a: {needs: [zz]}\n  b: {nedds: []}\nversion: 3\n").unwrap_err();
  let offsets: Vec<_> = errors.iter().map(|e| e.span().offset()).collect();
  let mut sorted = offsets.clone();
  sorted.sort_unstable();
  assert_eq!(offsets, sorted);
  assert_eq!(errors.len(), 3);
}

#[test]
fn a_long_cycle_shows_its_first_steps() {
  let mut text = String::from("tasks:\n");
  for i in 0..50 {
    text.push_str(&format!("  t{i}: {{needs: [t{}]}}\n", (i + 1) % 50));
  }
  let errors = compile(&text).unwrap_err();
  assert_eq!(errors.len(), 1);
  let names: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
  assert_eq!(
    errors[0].message,
    format!("dependency cycle: {} -> ... -> t0 (50 steps)", names.join(" -> "))
  );
  assert_eq!(errors[0].labels.len(), 10);
}

#[test]
fn many_small_cycles_are_each_reported() {
  let mut text = String::from("tasks:\n");
  for i in 0..2000 {
    text.push_str(&format!("  a{i}: {{needs: [b{i}]}}\n  b{i}: {{needs: [a{i}]}}\n"));
  }
  assert_eq!(kinds(&text).len(), 2000);
}
