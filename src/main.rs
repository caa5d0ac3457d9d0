fn main() {
  std::process::exit(runner::main(std::env::args_os()));
}
