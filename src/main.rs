//! The `dapwalk` command line.

use clap::Parser;
use std::process::ExitCode;

/// Debugger-verified walkthroughs of the thread-pool deadlocks from PEP 3148.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}
