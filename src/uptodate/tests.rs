use super::*;
use crate::compile::compile_source;
use crate::source::Source;

fn graph(dir: &Path, yaml: &str) -> Graph {
  let path = dir.join("job.yaml");
  std::fs::write(&path, yaml).unwrap();
  compile_source(&Source::new(&path, yaml)).unwrap()
}

fn verdict(graph: &Graph, store: &Store, id: NodeId, result: &str) -> Verdict {
  check(graph, store, id, &graph.dir, false, |_| result)
}

#[test]
fn a_recorded_hash_is_up_to_date_until_a_source_changes() {
  let dir = tempfile::tempdir().unwrap();
  let graph =
    graph(dir.path(), "tasks:\n  a: {run: x, sources: ['src/**/*.c'], generates: [out]}\n");
  std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
  std::fs::write(dir.path().join("src/deep/a.c"), "1").unwrap();
  std::fs::write(dir.path().join("out"), "").unwrap();
  let store = Store::new(&graph.source.path, &graph.dir);
  let first = verdict(&graph, &store, 0, "");
  assert_eq!((first.fresh.as_deref(), first.warning.as_deref()), (None, None));
  store.write("a", &Record { hash: first.hash, result: "made".into() }).unwrap();
  assert_eq!(verdict(&graph, &store, 0, "").fresh.as_deref(), Some("made"));
  // Forced: it runs, with the same hash to record.
  let forced = check(&graph, &store, 0, &graph.dir, true, |_| "");
  assert_eq!((forced.hash, forced.fresh), (first.hash, None));
  std::fs::write(dir.path().join("src/deep/a.c"), "2").unwrap();
  assert_eq!(verdict(&graph, &store, 0, "").fresh, None);
  std::fs::write(dir.path().join("src/deep/a.c"), "1").unwrap();
  assert!(verdict(&graph, &store, 0, "").fresh.is_some());
  // A new file that matches, or a missing output, makes it run.
  std::fs::write(dir.path().join("src/b.c"), "").unwrap();
  assert_eq!(verdict(&graph, &store, 0, "").fresh, None);
  std::fs::remove_file(dir.path().join("src/b.c")).unwrap();
  std::fs::remove_file(dir.path().join("out")).unwrap();
  assert_eq!(verdict(&graph, &store, 0, "").fresh, None);
}

#[test]
fn needs_results_and_the_command_are_inputs() {
  let dir = tempfile::tempdir().unwrap();
  let g = graph(dir.path(), "tasks:\n  n: {run: x}\n  a: {run: y, needs: [n], sources: [f]}\n");
  let store = Store::new(&g.source.path, &g.dir);
  let one = verdict(&g, &store, 1, "one").hash;
  assert_eq!(verdict(&g, &store, 1, "one").hash, one);
  assert_ne!(verdict(&g, &store, 1, "two").hash, one);
  let other = graph(dir.path(), "tasks:\n  n: {run: x}\n  a: {run: z, needs: [n], sources: [f]}\n");
  assert_ne!(verdict(&other, &store, 1, "one").hash, one);
  // A missing literal source is an input too: creating it changes the hash.
  std::fs::write(dir.path().join("f"), "").unwrap();
  assert_ne!(verdict(&g, &store, 1, "one").hash, one);
}

#[test]
fn a_corrupt_or_foreign_record_is_ignored_with_a_warning() {
  let dir = tempfile::tempdir().unwrap();
  let g = graph(dir.path(), "tasks:\n  a: {run: x, sources: [f]}\n");
  let store = Store::new(&g.source.path, &g.dir);
  let state = dir.path().join(".runner/job.yaml");
  std::fs::create_dir_all(&state).unwrap();
  for text in [
    "{not json",
    r#"{"version":99,"hash":"00","result":""}"#,
    r#"{"version":1,"hash":"xyz","result":""}"#,
  ] {
    std::fs::write(state.join("a"), text).unwrap();
    let verdict = verdict(&g, &store, 0, "");
    assert_eq!(verdict.fresh, None);
    let warning = verdict.warning.expect("a warning");
    assert!(warning.starts_with("warning: ignoring .runner/job.yaml/a: "), "{warning}");
  }
  store.remove("a").unwrap();
  store.remove("a").unwrap();
  assert_eq!(store.read("a"), Ok(None));
}

#[test]
fn force_covers_named_tasks_and_group_members() {
  let dir = tempfile::tempdir().unwrap();
  let g = graph(
    dir.path(),
    "tasks:\n  a: {run: x}\n  b: {run: y}\n  c: {run: z}\ngroups:\n  g: {gather: [b]}\n",
  );
  let force = Force::tasks(&g, &[0, 3]);
  assert_eq!((0..3).map(|id| force.covers(id)).collect::<Vec<_>>(), [true, true, false]);
  assert!(Force::All.covers(2) && !Force::Nothing.covers(2));
}
