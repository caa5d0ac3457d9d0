//! Clients that do not play by the rules, and daemons that cannot start.
