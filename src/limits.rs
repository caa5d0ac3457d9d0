//! The bounds every input is held to, in one place: what a job file, the command line and a
//! running task may ask for. Each is documented in the README's "Limits" section.

/// The largest job file read: a bigger one is refused before it is read whole.
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;

/// The most processes run at once through `-j`, `concurrency` or a consumer's `workers`.
pub(crate) const MAX_PARALLEL: usize = 4096;

/// The largest `maxsize` of a queue: a bounded queue takes room for all its items when the run
/// starts, so `maxsize: 1000000000` would take gigabytes before the first item.
pub(crate) const MAX_QUEUE_SIZE: usize = 1_000_000;

/// The most instances one matrix task expands to: `matrix` multiplies, so a few short lists
/// could otherwise ask for millions of tasks.
pub(crate) const MAX_MATRIX_INSTANCES: usize = 256;

/// The most matrix instances of one file, all its matrix tasks together: 256 per task would
/// still let a 1 MiB file of matrix tasks ask for millions.
pub(crate) const MAX_MATRIX_TOTAL: usize = 100_000;
