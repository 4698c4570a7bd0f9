//! The exit codes and the one place errors become them.
//!
//! Exit codes, for CI: 0 every walkthrough passed; 1 at least one departed from its narrative
//! (or `tour --check` found a drifted file); 2 something prevented checking (a bad walkthrough
//! file — the good files of the same run still play —, a missing adapter, an adapter that died, the scenarios failing to build, a process
//! left behind); 130 interrupted by Ctrl-C (SIGINT), 143 by SIGTERM, 129 by SIGHUP — each
//! after the same teardown, 128 plus the signal's number as shells report it.

use crate::session::Interrupted;
use crate::walkthrough::LoadError;
use std::process::ExitCode;

/// How a command ended, as CI reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Passed,
    Departed,
    CouldNotCheck,
    Interrupted(Interrupted),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Departed => 1,
            Exit::CouldNotCheck => 2,
            Exit::Interrupted(Interrupted::Int) => 130,
            Exit::Interrupted(Interrupted::Term) => 143,
            Exit::Interrupted(Interrupted::Hup) => 129,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Why a command could not do its work. Each is printed once, by [`report`].
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A one-line reason: printed as `dapwalk: …`, exit 2.
    #[error("{0}")]
    Setup(String),
    /// A message that already names its file and line, exit 2.
    #[error("{0}")]
    Located(LoadError),
    /// Ctrl-C, SIGTERM or SIGHUP: everything was torn down, exit 130, 143 or 129.
    #[error("{0}; every debugger and program it started was stopped")]
    Interrupted(Interrupted),
}

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Interrupted(s) => Exit::Interrupted(*s),
            _ => Exit::CouldNotCheck,
        }
    }
}

impl From<String> for CliError {
    fn from(s: String) -> CliError {
        CliError::Setup(s)
    }
}

/// Prints `e` the way each kind is said, and returns its exit code.
pub fn report(e: &CliError) -> ExitCode {
    match e {
        CliError::Located(x) => eprintln!("{x}"),
        other => eprintln!("dapwalk: {other}"),
    }
    e.exit().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signal_has_the_exit_code_a_shell_gives_it() {
        for s in [Interrupted::Int, Interrupted::Term, Interrupted::Hup] {
            assert_eq!(i32::from(Exit::Interrupted(s).code()), 128 + s.number());
        }
        assert_eq!(Exit::Interrupted(Interrupted::Term).code(), 143);
        assert_eq!(Exit::Interrupted(Interrupted::Hup).code(), 129);
        assert_eq!(Exit::Interrupted(Interrupted::Int).code(), 130);
    }
}
