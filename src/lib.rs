//! dapwalk: debugger-verified walkthroughs of the thread-pool deadlocks from PEP 3148.
//!
//! Each folder is one layer and imports only the layers listed before it; nothing imports
//! the command line (`docs/ARCHITECTURE.md` draws the graph):
//!
//! [`dap`] (framing, messages, client) → [`os`] (process table, hang sampling) →
//! [`adapters`] (one dialect per debug adapter) → [`session`] (one debug session, launch to
//! teardown) → [`project`] (where the parts live) → [`walkthrough`] (the format) → [`checks`]
//! (observation against expectation) → [`engine`] (plays walkthroughs) → [`spectrum`] (deadlock rates measured) → [`store`] (last
//! runs, bless) → [`output`] (reports) → [`editor`] (VS Code files) → [`present`] (the live
//! presenter) → [`coach`] (a learner's own VS Code session, followed live) → [`cli`].

pub mod adapters;
pub mod checks;
pub mod cli;
pub mod coach;
pub mod dap;
pub mod editor;
pub mod engine;
pub mod os;
pub mod output;
pub mod present;
pub mod project;
pub mod session;
pub mod spectrum;
pub mod store;
pub mod walkthrough;
