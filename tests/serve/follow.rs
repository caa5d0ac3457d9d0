//! `--follow` and `logs`: what a client sees of a run as it goes.
