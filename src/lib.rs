//! dapwalk: debugger-verified walkthroughs of the thread-pool deadlocks from PEP 3148.
//!
//! The layers, bottom up: [`transport`] frames bytes, [`client`] speaks the Debug Adapter
//! Protocol, [`session`] runs one debug session from launch to teardown, [`adapters`] knows
//! each debug adapter's discovery, launch arguments and quirks.

pub mod adapters;
pub mod bless;
pub mod checks;
pub mod cli;
pub mod client;
pub mod compare;
pub mod hang;
pub mod lastrun;
pub mod markdown;
pub mod present;
pub mod procs;
pub mod report;
pub mod runner;
pub mod session;
pub mod tour;
pub mod transport;
pub mod vscode;
pub mod walkthrough;
pub mod watch;
