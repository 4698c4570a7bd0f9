//! The `dapwalk` command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Debugger-verified walkthroughs of the thread-pool deadlocks from PEP 3148.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the debug adapters found (version, path) and what to install for missing ones.
    Adapters {
        /// Use this lldb-dap instead of searching PATH.
        #[arg(long, value_name = "PATH")]
        lldb_dap: Option<PathBuf>,
        /// Use this CodeLLDB adapter (…/adapter/codelldb) instead of searching the editors'
        /// extension folders.
        #[arg(long, value_name = "PATH")]
        codelldb: Option<PathBuf>,
        /// Use this Python (with debugpy installed) instead of the project's .venv.
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Adapters {
            lldb_dap,
            codelldb,
            python,
        }) => {
            let project = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            let explicit = dapwalk::adapters::Explicit {
                lldb_dap,
                codelldb,
                python,
            };
            let survey = dapwalk::adapters::survey(&project, &explicit);
            match dapwalk::adapters::render_survey(&survey, &mut std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("dapwalk: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        None => ExitCode::SUCCESS,
    }
}
