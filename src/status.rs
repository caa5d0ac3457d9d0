//! The states of a task or group, as in asyncio's futures plus `skipped` and `timed_out`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
  #[default]
  Pending,
  Delayed,
  Ready,
  Running,
  Succeeded,
  Failed,
  TimedOut,
  Cancelled,
  Skipped,
  /// Not run: its sources, command, environment and needs' results hash to what its last
  /// success recorded, and what it generates exists. Counts as a success for its dependents.
  UpToDate,
}

impl Status {
  pub(crate) fn is_final(self) -> bool {
    matches!(
      self,
      Self::Succeeded
        | Self::Failed
        | Self::TimedOut
        | Self::Cancelled
        | Self::Skipped
        | Self::UpToDate
    )
  }

  /// A success for what needs it: it ran and succeeded, or it did not need to run.
  pub(crate) fn is_success(self) -> bool {
    matches!(self, Self::Succeeded | Self::UpToDate)
  }

  /// A failure in the sense of the spec: the node ran and did not succeed.
  pub(crate) fn is_failure(self) -> bool {
    matches!(self, Self::Failed | Self::TimedOut)
  }

  pub(crate) fn as_str(self) -> &'static str {
    match self {
      Self::Pending => "pending",
      Self::Delayed => "delayed",
      Self::Ready => "ready",
      Self::Running => "running",
      Self::Succeeded => "succeeded",
      Self::Failed => "failed",
      Self::TimedOut => "timed_out",
      Self::Cancelled => "cancelled",
      Self::Skipped => "skipped",
      Self::UpToDate => "up_to_date",
    }
  }
}
