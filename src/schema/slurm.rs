//! The rules of a `slurm:` block that both the decoder and the JSON Schema state: the bounds,
//! the forms of `partition` and `mem`, and the sbatch/srun options `extra` may not hold because
//! the runner sets them itself.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

/// The most `cpus` a task may ask for.
pub(crate) const MAX_CPUS: u32 = 1024;
/// The most `nodes` a task may ask for.
pub(crate) const MAX_NODES: u32 = 1000;

/// A partition name.
pub(crate) const PARTITION: &str = "^[A-Za-z0-9_.-]+$";
/// A `--mem` size: a number above zero, with an optional unit.
pub(crate) const MEM: &str = "^[1-9][0-9]*[KMGT]?$";
/// A duration of zero in the forms of `crate::duration::PATTERN`.
const ZERO_DURATION: &str = r"^[ \t]*((0+(\.0+)?)|((0+(\.0+)?(ms|s|m|h))+))[ \t]*$";

/// An sbatch/srun option the runner sets on every job or step, so that `extra` may not.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reserved {
  /// The long name, without `--`.
  pub long: &'static str,
  pub short: Option<char>,
  /// Why the runner sets it, for the label.
  pub why: &'static str,
  /// What to write instead, for the help.
  pub instead: &'static str,
}

const REMOVE: &str = "remove it from `extra`";

/// The options the runner sets itself, in the order a reader looks them up.
pub(crate) const RESERVED: &[Reserved] = &[
  Reserved {
    long: "job-name",
    short: Some('J'),
    why: "it names each job after the run, to find and cancel the run's jobs",
    instead: REMOVE,
  },
  Reserved {
    long: "output",
    short: Some('o'),
    why: "it reads each attempt's output from files of its own",
    instead: REMOVE,
  },
  Reserved {
    long: "error",
    short: Some('e'),
    why: "it reads each attempt's output from files of its own",
    instead: REMOVE,
  },
  Reserved {
    long: "parsable",
    short: None,
    why: "it reads the job id from sbatch's answer",
    instead: REMOVE,
  },
  Reserved {
    long: "wait",
    short: Some('W'),
    why: "it follows each job itself, so that `-j` and timeouts hold",
    instead: REMOVE,
  },
  Reserved {
    long: "wrap",
    short: None,
    why: "it submits a script of its own that runs the task's `run`",
    instead: REMOVE,
  },
  Reserved {
    long: "chdir",
    short: Some('D'),
    why: "each attempt starts in its task's `cwd`",
    instead: "set the task's `cwd` instead",
  },
  Reserved {
    long: "export",
    short: None,
    why: "each attempt gets its task's environment",
    instead: "set the task's `env` or `dotenv` instead",
  },
  Reserved {
    long: "jobid",
    short: None,
    why: "steps run in the run's own allocation",
    instead: REMOVE,
  },
  Reserved {
    long: "exact",
    short: None,
    why: "each step gets only the CPUs its task asks for",
    instead: "set `cpus` instead",
  },
  Reserved {
    long: "array",
    short: Some('a'),
    why: "each attempt is one job",
    instead: "give the task a `matrix` for many instances",
  },
];

/// `partition`: text as the decoder reads any scalar, in the form of [`PARTITION`].
pub(crate) fn partition(_: &mut SchemaGenerator) -> Schema {
  json_schema!({"type": ["string", "number", "boolean"], "pattern": PARTITION})
}

/// `mem`: megabytes as a number, or a size with a unit.
pub(crate) fn mem(_: &mut SchemaGenerator) -> Schema {
  json_schema!({
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": MEM}]
  })
}

/// `time`: a duration above zero.
pub(crate) fn time(_: &mut SchemaGenerator) -> Schema {
  json_schema!({
    "description": "A duration above zero: `90s`, `10m`, `1h30m`, or a number of seconds.",
    "anyOf": [
      {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 18_446_744_073_709_551_616.0},
      {
        "type": "string",
        "pattern": crate::duration::PATTERN,
        "not": {"pattern": ZERO_DURATION}
      }
    ]
  })
}

/// `extra`: strings that start with `-`, each one argument, none the runner sets.
pub(crate) fn extra(_: &mut SchemaGenerator) -> Schema {
  let shorts: String = RESERVED.iter().filter_map(|r| r.short).collect();
  let faults: Vec<Value> = [
    "\\u0000".to_string(),
    "^--?$".to_string(),
    "^--=".to_string(),
    format!("^--({})(=|$)", abbreviations()),
    format!("^-[{shorts}]"),
    // An option and its value as two words.
    "^--[^=]*\\s".to_string(),
    "^-[^-]\\s".to_string(),
  ]
  .into_iter()
  .map(|pattern| json!({"pattern": pattern}))
  .collect();
  json_schema!({
    "type": "array",
    "items": {"type": "string", "pattern": "^-", "not": {"anyOf": faults}}
  })
}

/// Every reserved long name and each of its abbreviations, which getopt reads as the name:
/// `j(o(b(-(n(a(m(e)?)?)?)?)?)?)?|...` (the names hold letters and `-` only).
fn abbreviations() -> String {
  let nested = |name: &str| {
    let (first, rest) = name.split_at(1);
    let tail = rest.chars().rev().fold(String::new(), |inner, c| format!("({c}{inner})?"));
    format!("{first}{tail}")
  };
  RESERVED.iter().map(|r| nested(r.long)).collect::<Vec<_>>().join("|")
}
