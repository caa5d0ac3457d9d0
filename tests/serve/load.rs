//! Many clients at once: every run accounted for, the daemon bounded.
