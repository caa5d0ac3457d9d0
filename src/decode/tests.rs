use super::*;
use crate::schema::{Command, ReturnWhen};
use crate::yaml;

fn decode_text(text: &str) -> (JobFile, Vec<CompileError>) {
  let source = Source::new("t.yaml", text);
  let root = yaml::parse(&source).expect("valid yaml");
  decode(&source, &root)
}

fn kinds(text: &str) -> Vec<ErrorKind> {
  decode_text(text).1.iter().map(|e| e.kind).collect()
}

#[test]
fn reads_a_task() {
  let (file, errors) = decode_text(
    "tasks:\n  a:\n    run: echo hi\n    needs: [b]\n    delay: 2s\n    retries: 2\n    on_done: [x, [y, z]]\n",
  );
  assert!(errors.is_empty(), "{errors:?}");
  let task = &file.tasks[0];
  assert_eq!(task.name.value, "a");
  assert_eq!(task.run.as_ref().unwrap().value, Command::Shell("echo hi".into()));
  assert_eq!(task.needs[0].value, "b");
  assert_eq!(task.retries.as_ref().unwrap().value, 2);
  assert_eq!(task.callbacks.on_done.len(), 2);
}

#[test]
fn collects_every_error() {
  let text = "tasks:\n  a: {nedds: [b], delay: -1}\n  1bad: {run: x}\n  a: {}\nversion: 2\n";
  assert_eq!(
    kinds(text),
    [
      ErrorKind::UnknownKey,
      ErrorKind::BadDuration,
      ErrorKind::BadName,
      ErrorKind::DuplicateKey,
      ErrorKind::BadVersion
    ]
  );
}

#[test]
fn suggests_keys() {
  let (_, errors) = decode_text("tasks:\n  a: {nedds: [b]}\n");
  assert_eq!(errors[0].help.as_deref(), Some("did you mean `needs`?"));
}

#[test]
fn scalars_are_commands() {
  let (file, errors) = decode_text("tasks:\n  a: {run: true}\n");
  assert!(errors.is_empty());
  assert_eq!(file.tasks[0].run.as_ref().unwrap().value, Command::Shell("true".into()));
}

#[test]
fn wrong_types() {
  assert_eq!(kinds("tasks: [a]\n"), [ErrorKind::WrongType]);
  assert_eq!(kinds("tasks:\n  a: {needs: b}\n"), [ErrorKind::WrongType]);
  assert_eq!(kinds("tasks:\n  a: {retries: two}\n"), [ErrorKind::WrongType]);
  assert_eq!(kinds("tasks:\n  a: {allow_failure: 1}\n"), [ErrorKind::WrongType]);
}

#[test]
fn enum_values() {
  let text =
    "tasks: {a: {}}\ngroups:\n  g: {wait: [a], return_when: first_completed, pending: keep}\n";
  assert_eq!(kinds(text), [ErrorKind::BadPending]);
  let (file, _) = decode_text(text);
  assert_eq!(file.groups[0].return_when.as_ref().unwrap().value, ReturnWhen::FirstCompleted);
}

#[test]
fn a_file_needs_a_task() {
  for text in ["", "# a comment\n", "version: 1\n", "tasks:\n", "tasks: {}\n"] {
    assert_eq!(kinds(text), [ErrorKind::NoTasks], "{text:?}");
  }
  // A misspelled `tasks` or a `tasks` of the wrong type is reported as such, and only so.
  assert_eq!(kinds("task: {a: {}}\n"), [ErrorKind::UnknownKey]);
  assert_eq!(kinds("tasks: [a]\n"), [ErrorKind::WrongType]);
}

#[test]
fn a_comment_that_cuts_a_quoted_command_warns() {
  let warned = |text: &str| {
    let errors = decode_text(text).1;
    assert!(errors.iter().all(|e| e.warning && e.kind == ErrorKind::CutByComment), "{errors:?}");
    errors.len()
  };
  assert_eq!(warned("tasks:\n  a:\n    run: echo \"issue #5\"\n"), 1);
  assert_eq!(warned("tasks:\n  a:\n    on_done: echo 'it #1\n"), 1);
  assert_eq!(
    warned("tasks:\n  a:\n    on_done:\n      - echo 'it #1\n      - [echo, 'it #1']\n"),
    1
  );
  assert_eq!(warned("tasks:\n  a:\n    run: make # build it\n"), 0);
  assert_eq!(warned("tasks:\n  a:\n    run: 'echo \"a' # quoted\n"), 0);
  assert_eq!(warned("tasks:\n  a:\n    run: echo \"a#b\n"), 0, "no comment: the shell says so");
}

#[test]
fn parallelism_is_capped() {
  let text =
    "concurrency: 4097\nqueues: {q: {}}\ntasks:\n  a: {consumes: q, workers: 1000000000}\n";
  let errors = decode_text(text).1;
  let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
  assert_eq!(
    messages,
    [
      "`concurrency` must be at most 4096, found 4097",
      "`tasks.a.workers` must be at most 4096, found 1000000000"
    ]
  );
  let (file, errors) = decode_text("concurrency: 4096\ntasks: {a: {workers: 4096}}\n");
  assert!(errors.is_empty(), "{errors:?}");
  assert_eq!(file.concurrency.map(|c| c.value), Some(4096));
}

#[test]
fn duplicate_keys_of_a_large_env() {
  let mut text = String::from("tasks: {a: {run: x}}\nenv:\n");
  for i in 0..100 {
    text.push_str(&format!("  K{i}: v\n"));
  }
  text.push_str("  K7: again\n");
  let errors = decode_text(&text).1;
  assert_eq!(errors.len(), 1, "{errors:?}");
  assert_eq!(errors[0].message, "duplicate key `K7` in `env`");
  assert_eq!(errors[0].labels[1].0.offset(), text.find("K7").unwrap());
}

#[test]
fn return_when_in_mixed_case_suggests_the_upper_case() {
  let text = "tasks: {a: {run: x}}\ngroups:\n  g: {wait: [a], return_when: First_Completed}\n";
  let errors = decode_text(text).1;
  assert_eq!(errors[0].help.as_deref(), Some("did you mean `FIRST_COMPLETED`?"));
  let (file, errors) = decode_text(&text.replace("First_Completed", "first_completed"));
  assert!(errors.is_empty(), "{errors:?}");
  assert_eq!(
    file.groups[0].return_when.as_ref().map(|r| r.value),
    Some(ReturnWhen::FirstCompleted)
  );
}
