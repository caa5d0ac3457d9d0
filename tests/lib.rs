//! Integration tests: each writes real YAML to a temp dir and runs the real `runner` binary.

mod support;

mod diagnostics;
mod examples;
mod inspect;
mod run;
