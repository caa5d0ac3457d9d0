//! A `slurm:` block, at file level or in a task: its keys, and each value checked against what
//! sbatch and srun take, so that a bad one is an error at validate time rather than a refused
//! submission in the middle of a run.

use super::{Decoder, wrong_type};
use crate::compile_error::{CompileError, ErrorKind};
use crate::schema::slurm::{MAX_CPUS, MAX_NODES, RESERVED, Reserved};
use crate::schema::{DurationValue, Slurm, Spanned, keys};
use crate::yaml::{Node, Value};

const MEM_FORMS: &str = "sbatch's `--mem` takes a number with an optional unit `K`, `M`, `G` or `T`: `512M`, `2G`, `1T`; a plain number is megabytes: `512`";

impl Decoder<'_> {
  /// The block's keys; `what` names it in messages.
  pub(super) fn slurm(&mut self, node: &Node, what: &dyn Fn() -> String) -> Slurm {
    let mut slurm = Slurm::default();
    // `slurm: debug` most likely names a partition.
    if let Value::Str(text) = &node.value {
      let message = format!("{} must be a mapping, found a string", what());
      let err = wrong_type(node, message, "expected a mapping");
      let partition = if is_partition(text) { text } else { "debug" };
      let help = format!("the block's keys go under it, e.g. `slurm: {{partition: {partition}}}`");
      self.errors.push(err.with_help(help));
      return slurm;
    }
    for (key, value) in self.entries(node, what, keys::SLURM) {
      self.path.push(key.name.clone());
      match key.name.as_str() {
        "partition" => slurm.partition = self.partition(value),
        "cpus" => slurm.cpus = self.bounded(value, "cpus", MAX_CPUS, "--cpus-per-task"),
        "mem" => slurm.mem = self.mem(value),
        "time" => slurm.time = self.time_limit(value),
        "nodes" => slurm.nodes = self.bounded(value, "nodes", MAX_NODES, "--nodes"),
        "extra" => slurm.extra = self.extra(value),
        _ => unreachable!("entries() yields known keys only"),
      }
      self.path.pop();
    }
    slurm
  }

  fn partition(&mut self, node: &Node) -> Option<Spanned<String>> {
    let name = self.string(node)?;
    if is_partition(&name.value) {
      return Some(name);
    }
    let message = match name.value.as_str() {
      "" => format!("`{}` is empty", self.path()),
      text => format!("invalid partition name `{text}`"),
    };
    let err = CompileError::new(ErrorKind::BadValue, message, node.span, "not a partition name")
      .with_help(
        "a partition name holds letters, digits, `_`, `-` and `.`; `sinfo` lists the cluster's",
      );
    self.errors.push(err);
    None
  }

  /// A count from 1 to `max`: `flag` of each attempt.
  fn bounded(&mut self, node: &Node, key: &str, max: u32, flag: &str) -> Option<Spanned<u32>> {
    let value = self.unsigned(node, key)?;
    let (message, label) = match value.value {
      0 => (format!("`{}` must be at least 1", self.path()), "out of range"),
      n if n > u64::from(max) => {
        (format!("`{}` must be at most {max}, found {n}", self.path()), "above the limit")
      }
      n => return Some(Spanned::new(n as u32, value.span)),
    };
    let err = CompileError::new(ErrorKind::BadValue, message, node.span, label);
    self.errors.push(err.with_help(format!("`{key}` is the `{flag}` of each attempt: 1 to {max}")));
    None
  }

  /// A memory size as sbatch's `--mem` takes it; a plain number is megabytes.
  fn mem(&mut self, node: &Node) -> Option<Spanned<String>> {
    let text = match &node.value {
      Value::Int(i) if *i > 0 => return Some(Spanned::new(i.to_string(), node.span)),
      Value::Int(_) => self.source.slice(node.span).to_string(),
      Value::Str(s) if is_mem(s) => return Some(Spanned::new(s.clone(), node.span)),
      Value::Str(s) => s.clone(),
      _ => {
        let err = self.type_error(node, "a memory size");
        self.errors.push(err.with_help(MEM_FORMS));
        return None;
      }
    };
    let help = match mem_suggestion(&text) {
      Some(fixed) => format!("did you mean `{fixed}`? {MEM_FORMS}"),
      None => MEM_FORMS.to_string(),
    };
    let message = format!("invalid memory size `{text}`");
    let err = CompileError::new(ErrorKind::BadValue, message, node.span, "not a memory size");
    self.errors.push(err.with_help(help));
    None
  }

  /// A time limit: a duration above zero.
  fn time_limit(&mut self, node: &Node) -> Option<Spanned<DurationValue>> {
    let time = self.duration(node)?;
    if !time.value.0.is_zero() {
      return Some(time);
    }
    let message = format!("`{}` must be more than zero", self.path());
    let err = CompileError::new(ErrorKind::BadDuration, message, node.span, "zero")
      .with_help("write a time limit such as `90s`, `10m` or `1h30m`, or leave `time` out for the partition's default");
    self.errors.push(err);
    None
  }

  /// sbatch/srun arguments, each one option.
  fn extra(&mut self, node: &Node) -> Vec<Spanned<String>> {
    let Some(items) = self.seq(node, "extra", "a list of options") else {
      return Vec::new();
    };
    self.items(items, Self::option)
  }

  /// One item of `extra`: a YAML string (a number here would be a value without its option).
  fn option(&mut self, node: &Node) -> Option<Spanned<String>> {
    if !matches!(node.value, Value::Str(_)) {
      let err = self.type_error(node, "a string");
      self.errors.push(err.with_help("write each option as text, e.g. `--gres=gpu:1`"));
      return None;
    }
    let text = self.string(node)?;
    let Some(fault) = fault(&text.value) else {
      return Some(text);
    };
    let err = self.option_error(node, &text.value, fault);
    self.errors.push(err);
    None
  }

  fn option_error(&self, node: &Node, text: &str, fault: Fault) -> CompileError {
    let path = self.path();
    let (message, label, help) = match fault {
      Fault::NotAnOption => (
        format!("`{path}` is not an option: `{text}`"),
        "not an option".to_string(),
        "each item is one sbatch/srun option starting with `-`, its value after `=`: `--gres=gpu:1`".to_string(),
      ),
      Fault::EndOfOptions => (
        format!("`{path}` is `{text}`, not an option"),
        "not an option".to_string(),
        "a bare `-` or `--` ends sbatch's options: what follows would be read as the script; remove it"
          .to_string(),
      ),
      Fault::TwoWords => (
        format!("`{path}` holds an option and its value as two words: `{text}`"),
        "one argument".to_string(),
        "each item is one argument: write the value after `=`, e.g. `--gres=gpu:1`".to_string(),
      ),
      Fault::Reserved { option, written } => (
        format!("`{path}` sets `{written}`, which the runner sets itself"),
        format!("the runner sets `--{}`: {}", option.long, option.why),
        reserved_help(option, &written),
      ),
    };
    CompileError::new(ErrorKind::BadValue, message, node.span, &label).with_help(help)
  }
}

/// What is wrong with one item of `extra`.
#[derive(Debug, PartialEq)]
enum Fault {
  NotAnOption,
  /// `-` or `--`.
  EndOfOptions,
  /// `--gres gpu:1`: an option and its value in one item, as two words.
  TwoWords,
  /// An option the runner sets, as written (`-J`, `--out`).
  Reserved {
    option: &'static Reserved,
    written: String,
  },
}

/// The fault of an item of `extra`, if any. A long option's abbreviation counts as the option
/// (getopt reads `--out` as `--output`), and a short one may carry its value (`-Jname`).
fn fault(item: &str) -> Option<Fault> {
  let Some(rest) = item.strip_prefix('-') else {
    return Some(Fault::NotAnOption);
  };
  if rest.is_empty() || rest == "-" {
    return Some(Fault::EndOfOptions);
  }
  match rest.strip_prefix('-') {
    Some(long) => {
      let name = long.split_once('=').map_or(long, |(name, _)| name);
      if name.is_empty() {
        return Some(Fault::NotAnOption);
      }
      if name.contains(char::is_whitespace) {
        return Some(Fault::TwoWords);
      }
      let option = RESERVED.iter().find(|r| r.long.starts_with(name))?;
      Some(Fault::Reserved { option, written: format!("--{name}") })
    }
    None => {
      let mut chars = rest.chars();
      let short = chars.next()?;
      if let Some(option) = RESERVED.iter().find(|r| r.short == Some(short)) {
        return Some(Fault::Reserved { option, written: format!("-{short}") });
      }
      chars.next().filter(|c| c.is_whitespace()).map(|_| Fault::TwoWords)
    }
  }
}

fn reserved_help(option: &Reserved, written: &str) -> String {
  let long = format!("--{}", option.long);
  if !written.starts_with("--") || written == long {
    return option.instead.to_string();
  }
  format!(
    "sbatch and srun read an abbreviation as the whole option, and `{written}` abbreviates `{long}`; write options in full"
  )
}

/// Letters, digits, `_`, `-` and `.`, as [`crate::schema::slurm::PARTITION`] says.
fn is_partition(text: &str) -> bool {
  let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
  !text.is_empty() && text.chars().all(valid)
}

/// `512M`, `2G`: digits, no leading zero, an optional unit, as [`crate::schema::slurm::MEM`]
/// says.
fn is_mem(text: &str) -> bool {
  let digits = text.strip_suffix(['K', 'M', 'G', 'T']).unwrap_or(text);
  !digits.starts_with('0') && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The size meant by `2GB`, `2g` or `2 G`, if one is.
fn mem_suggestion(text: &str) -> Option<String> {
  let upper: String =
    text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
  let fixed = match upper.strip_suffix('B') {
    Some(unit) if unit.ends_with(['K', 'M', 'G', 'T']) => unit.to_string(),
    _ => upper,
  };
  (is_mem(&fixed) && fixed != text).then_some(fixed)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn reserved(item: &str) -> Option<(&'static str, String)> {
    match fault(item)? {
      Fault::Reserved { option, written } => Some((option.long, written)),
      _ => None,
    }
  }

  #[test]
  fn options_the_runner_sets_are_found_however_written() {
    assert_eq!(reserved("--output"), Some(("output", "--output".into())));
    assert_eq!(reserved("--output=x.log"), Some(("output", "--output".into())));
    assert_eq!(reserved("--out=x.log"), Some(("output", "--out".into())));
    assert_eq!(reserved("-o"), Some(("output", "-o".into())));
    assert_eq!(reserved("-ox.log"), Some(("output", "-o".into())));
    assert_eq!(reserved("-Jname"), Some(("job-name", "-J".into())));
    assert_eq!(reserved("--array=1-3"), Some(("array", "--array".into())));
    assert_eq!(reserved("--wait"), Some(("wait", "--wait".into())));
  }

  #[test]
  fn other_options_pass() {
    for item in [
      "--gres=gpu:1",
      "--exclusive",
      "--wait-all-nodes=1",
      "--export-file=f",
      "-pdebug",
      "--comment=a b",
      "-v",
    ] {
      assert_eq!(fault(item), None, "{item}");
    }
  }

  #[test]
  fn items_that_are_not_one_option() {
    assert_eq!(fault("gpu"), Some(Fault::NotAnOption));
    assert_eq!(fault(""), Some(Fault::NotAnOption));
    assert_eq!(fault("-"), Some(Fault::EndOfOptions));
    assert_eq!(fault("--"), Some(Fault::EndOfOptions));
    assert_eq!(fault("--gres gpu:1"), Some(Fault::TwoWords));
    assert_eq!(fault("-p debug"), Some(Fault::TwoWords));
  }

  /// The JSON Schema's patterns for an item of `extra` say what [`fault`] says.
  #[test]
  fn the_json_schema_agrees_on_each_item() {
    let schema = crate::schema::json_schema();
    let items = &schema["$defs"]["Slurm"]["properties"]["extra"]["items"];
    let validator = jsonschema::validator_for(items).expect("the schema compiles");
    let mut items: Vec<String> = RESERVED
      .iter()
      .flat_map(|r| (1..=r.long.len()).map(|n| format!("--{}", &r.long[..n])))
      .collect();
    items.extend(RESERVED.iter().filter_map(|r| r.short).map(|c| format!("-{c}x")));
    let others =
      ["--gres=gpu:1", "--exclusive", "--export-file=f", "--wait-all-nodes=1", "-pdebug"];
    items.extend(others.map(String::from));
    let faults = ["gpu", "-", "--", "--=x", "--gres gpu:1", "-p debug", "--output=\nx", "-v\n"];
    items.extend(faults.map(String::from));
    for item in items {
      let json = serde_json::Value::String(item.clone());
      assert_eq!(validator.is_valid(&json), fault(&item).is_none(), "{item:?}");
    }
  }

  #[test]
  fn memory_sizes() {
    for ok in ["1", "512M", "2G", "1T", "64K"] {
      assert!(is_mem(ok), "{ok}");
    }
    for bad in ["", "0", "0G", "012M", "2GB", "2g", "1.5G", "-1", "G"] {
      assert!(!is_mem(bad), "{bad}");
    }
    assert_eq!(mem_suggestion("2GB").as_deref(), Some("2G"));
    assert_eq!(mem_suggestion("512m").as_deref(), Some("512M"));
    assert_eq!(mem_suggestion("lots"), None);
  }
}
