//! The daemon killed mid-run and started again; clients that go away.
