//! The `phasehost` command-line tool.

fn main() {
    std::process::exit(phasehost::cli::main());
}
