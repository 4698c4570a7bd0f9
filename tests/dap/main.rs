//! Integration tests of the DAP client: framing, fault handling with a fake adapter,
//! replays of recorded CodeLLDB and lldb-dap sessions, and real lldb-dap and debugpy
//! sessions on the scenario programs.

mod cli;
mod fake;
mod faults;
mod framing;
mod real_debugpy;
mod real_lldb;
mod replay;
#[path = "../support/mod.rs"]
mod support;
