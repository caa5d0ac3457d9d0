//! The `runner` binary: everything is in the library; this only exits with its code.

fn main() {
  std::process::exit(runner::main(std::env::args_os()));
}
