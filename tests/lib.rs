//! Integration tests: each writes real YAML to a temp dir and runs the real `runner` binary.

mod support;

mod bounds;
mod callbacks;
mod ci_output;
mod cli;
mod command_line;
mod commands;
mod diagnostics;
mod discovery;
mod examples;
mod exit_codes;
mod fail_fast_groups;
mod failures_and_fail_fast;
mod groups;
mod includes;
mod inspect;
mod io_truth;
mod layers;
mod live_view;
mod memory;
mod needs_and_order;
mod orphans;
mod output;
mod output_capture;
mod processes;
mod queues;
mod reports;
mod results;
mod retries_timeouts;
mod signals;
mod targets_and_dry_run;
mod tmux;
mod up_to_date;
mod watch;
