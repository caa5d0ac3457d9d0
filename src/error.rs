//! How a command ends, and the one map from that to the process exit code: 0 when all is well,
//! 1 for a failed run or output that could not be written, 2 for invalid input (nothing ran), and
//! 128 plus the signal's number after a stopping signal, as a shell reports it.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitCode {
  /// Done, or nothing to do (help, version, a closed pipe).
  Ok,
  /// The run ended with a failure.
  RunFailed,
  /// Output could not be written: stdout, or the files once the run is over.
  OutputFailed,
  /// The command line, a job file, a target or an output path was invalid; nothing ran.
  Invalid,
  /// A stopping signal ended the run.
  Interrupted(i32),
  /// A run of `runner serve` ended with this code (`submit --wait`).
  Served(i32),
}

impl ExitCode {
  pub(crate) fn code(self) -> i32 {
    match self {
      ExitCode::Ok => 0,
      ExitCode::RunFailed | ExitCode::OutputFailed => 1,
      ExitCode::Invalid => 2,
      // 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 131 for SIGQUIT.
      ExitCode::Interrupted(signal) => 128 + signal,
      ExitCode::Served(code) => code,
    }
  }

  /// A run whose files could not be written fails, unless it already ended worse.
  pub(crate) fn or_output_failed(self) -> Self {
    match self {
      ExitCode::Ok => ExitCode::OutputFailed,
      ExitCode::RunFailed
      | ExitCode::OutputFailed
      | ExitCode::Invalid
      | ExitCode::Interrupted(_)
      | ExitCode::Served(_) => self,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn codes() {
    let codes = [ExitCode::Ok, ExitCode::RunFailed, ExitCode::OutputFailed, ExitCode::Invalid]
      .map(ExitCode::code);
    assert_eq!(codes, [0, 1, 1, 2]);
    assert_eq!(ExitCode::Interrupted(libc::SIGINT).code(), 130);
    assert_eq!(ExitCode::Interrupted(libc::SIGTERM).code(), 143);
  }

  #[test]
  fn unwritable_files_fail_a_run_that_did_not_end_worse() {
    assert_eq!(ExitCode::Ok.or_output_failed(), ExitCode::OutputFailed);
    assert_eq!(ExitCode::RunFailed.or_output_failed(), ExitCode::RunFailed);
    assert_eq!(ExitCode::Interrupted(2).or_output_failed(), ExitCode::Interrupted(2));
  }
}
