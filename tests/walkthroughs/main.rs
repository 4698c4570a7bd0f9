//! End-to-end tests of the walkthrough engine: real walkthroughs played on real debuggers
//! (lldb-dap 22 and debugpy, installed by `scripts/setup`), plus the editor integrations.
//! One module per area.

mod errors;
mod present;
mod python_track;
mod rust_track;
#[path = "../support/mod.rs"]
mod support;
mod vscode;
