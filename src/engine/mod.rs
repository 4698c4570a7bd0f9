//! The engine: plays a prepared walkthrough on a debug session and returns what happened.
//!
//! - [`results`]: the contract every reader of a run uses (events, step and walkthrough
//!   results, options);
//! - [`player`]: the step engine, driven to the end by [`play`] or a key at a time by the
//!   presenter; it gets its sessions from a [`crate::session::Launcher`];
//! - `landing`: where an action lands (stop, exit, hang, timeout);
//! - [`observe`]: a stop turned into an observation;
//! - [`explain`]: who waits on whom at a stop, read through the debugger or inferred;
//! - [`schedule`]: many walkthroughs, `--jobs` at a time.

pub mod explain;
mod landing;
pub mod observe;
mod player;
pub mod results;
pub mod schedule;
#[cfg(test)]
mod tests;

pub(crate) use landing::look;
pub use observe::portable_thread_name;
pub use player::{play, Player};
pub use results::{Outcome, RunEvent, RunOptions, StepResult, WalkthroughResult};
pub use schedule::play_all;
