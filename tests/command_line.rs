//! The command line as a person reads it: help whose examples keep one command a line, man pages
//! with EXIT STATUS and ENVIRONMENT, `-j` refused out of its range, `list --json`'s own shape.

use crate::support::{Test, repo};

#[test]
fn help_keeps_each_example_on_its_own_line() {
  let test = Test::new();
  for (name, args) in [("help", &["--help"][..]), ("run_help", &["run", "--help"][..])] {
    let run = test.run(args);
    run.code(0);
    let examples = &run.stdout[run.stdout.find("Examples:\n").expect(&run.stdout)..];
    let lines: Vec<&str> = examples.lines().skip(1).collect();
    assert!(lines.len() > 1 && lines.iter().all(|l| l.starts_with("  runner ")), "{examples}");
    insta::with_settings!({ omit_expression => true }, {
      insta::assert_snapshot!(name, run.stdout);
    });
  }
}

/// Every environment variable the runner's code (not its tests) names as `var("X")` or
/// `var_os("X")`, the way `report::Env::read` and the engine read them.
fn variables_read() -> Vec<String> {
  let mut found = std::collections::BTreeSet::new();
  let mut dirs = vec![repo().join("src")];
  while let Some(dir) = dirs.pop() {
    for entry in std::fs::read_dir(&dir).expect("src").flatten() {
      let path = entry.path();
      if path.is_dir() {
        dirs.push(path);
        continue;
      }
      let name = path.file_stem().unwrap_or_default();
      if name == "tests" || name == "proptest" || name == "fixtures" {
        continue;
      }
      let text = std::fs::read_to_string(&path).unwrap_or_default();
      let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
      for call in ["var(\"", "var_os(\""] {
        for (at, _) in text.match_indices(call) {
          let name: String = text[at + call.len()..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
          if !name.is_empty() {
            found.insert(name);
          }
        }
      }
    }
  }
  found.into_iter().collect()
}

#[test]
fn man_pages_have_exit_status_and_every_environment_variable() {
  let test = Test::new();
  let variables = variables_read();
  for name in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "GITHUB_ACTIONS", "CI"] {
    assert!(variables.iter().any(|v| v == name), "{name} is read: {variables:?}");
  }
  for page in [&["manpage"][..], &["manpage", "run"][..], &["manpage", "validate"][..]] {
    let run = test.run(page);
    run.code(0);
    let man = &run.stdout;
    let section = |title: &str| {
      let start = man.find(title).unwrap_or_else(|| panic!("{page:?} has no {title}:\n{man}"));
      let end = man[start + 1..].find("\n.SH ").map_or(man.len(), |e| start + 1 + e);
      &man[start..end]
    };
    let exit = section(".SH \"EXIT STATUS\"");
    for code in ["\\fB0\\fR", "\\fB1\\fR", "\\fB2\\fR", "\\fB128+N\\fR"] {
      assert!(exit.contains(code), "{page:?}: exit status {code}:\n{exit}");
    }
    let environment = section(".SH \"ENVIRONMENT\"");
    for name in &variables {
      let term = format!("\\fB{name}\\fR");
      assert!(environment.contains(&term), "{page:?} does not document {name}:\n{environment}");
    }
  }
  let run = test.run(&["manpage", "run"]);
  let examples = &run.stdout[run.stdout.find(".SH EXAMPLES\n.nf\n").expect(&run.stdout)..];
  assert!(examples.contains("\nrunner run jobs/tea.yaml\nrunner run jobs/ci.yaml"), "{examples}");
}

#[test]
fn jobs_out_of_range_is_a_usage_error() {
  let test = Test::with_job("tasks:\n  a: {run: 'true'}\n");
  for jobs in ["0", "4097", "100000"] {
    let run = test.run(&["run", "job.yaml", "-j", jobs]);
    run.code(2);
    assert!(run.stderr.contains("invalid value"), "-j {jobs}: {}", run.stderr);
    assert!(run.stderr.contains("--jobs <N>"), "-j {jobs}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "-j {jobs} ran something: {}", run.stdout);
  }
  assert!(test.run(&["run", "job.yaml", "-j", "0"]).stderr.contains("1..=4096"));
  test.run(&["run", "job.yaml", "-j", "4096", "--output", "plain"]).code(0);
}

#[test]
fn list_json_is_the_targets() {
  let test = Test::new();
  let run = test.run(&["list", "--json", repo().join("jobs/queue.yaml").to_str().unwrap()]);
  run.code(0);
  let stdout = run.stdout.replace(&repo().display().to_string(), "[REPO]");
  insta::with_settings!({ omit_expression => true }, {
    insta::assert_snapshot!("list_json", stdout);
  });
}
