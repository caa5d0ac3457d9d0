//! Integration tests: each writes real YAML to a temp dir and runs the real `runner` binary.

mod support;

mod cli;
mod diagnostics;
mod examples;
mod groups;
mod inspect;
mod output;
mod queues;
mod reports;
mod run;
