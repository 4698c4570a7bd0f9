//! dapwalk: debugger-verified walkthroughs of the thread-pool deadlocks from PEP 3148.
//!
//! The layers, bottom up: [`transport`] frames bytes, [`client`] speaks the Debug Adapter
//! Protocol, [`session`] runs one debug session from launch to teardown, [`adapters`] knows
//! each debug adapter's discovery, launch arguments and quirks.

pub mod adapters;
pub mod client;
pub mod procs;
pub mod session;
pub mod transport;
