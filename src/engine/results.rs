//! What the engine tells its readers: the contract between the player and every reporter,
//! store and presenter. The engine emits [`RunEvent`]s while it plays and returns a
//! [`WalkthroughResult`]; it never prints.

use crate::checks::{Observation, Verdict};
use crate::session::Timeouts;
use std::path::PathBuf;
use std::time::Duration;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub timeouts: Timeouts,
    /// How long a step may take before dapwalk stops waiting (the program neither stopped,
    /// exited, nor hung: a long sleep, say).
    pub step_timeout: Duration,
    /// Interval between looks at the debuggee's threads when nothing happens.
    pub hang_poll: Duration,
    /// How many identical "stuck" looks in a row (same states, no thread scheduled in
    /// between) make a hang.
    pub hang_samples: usize,
    /// Frames fetched per thread.
    pub stack_levels: i64,
    /// Ask every thread's stack at every stop, even on an adapter where that is slow
    /// (debugpy): for a presenter's screen and for `--bless`. Otherwise only the stacks a
    /// step checks or looks from are asked there.
    pub every_stack: bool,
    /// Extra environment for the debuggee.
    pub env: Vec<(String, String)>,
    /// Launch keys merged over the adapter profile's own (from a VS Code launch
    /// configuration, say).
    pub launch_extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeouts: Timeouts::default(),
            step_timeout: Duration::from_secs(20),
            // Two looks 20 ms apart that find the same threads blocked for good, none of them
            // scheduled in between: a hang is declared ~20 ms after the program first looks
            // stuck (was four equal looks 50 ms apart, ~150 ms).
            hang_poll: Duration::from_millis(20),
            hang_samples: 2,
            stack_levels: 64,
            every_stack: false,
            env: Vec::new(),
            launch_extra: serde_json::Map::new(),
        }
    }
}

/// What the runner tells reporters as it goes.
#[derive(Debug, Clone)]
pub enum RunEvent {
    StepStarted { index: usize, title: String },
    StepFinished(Box<StepResult>),
}

/// One step's outcome.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub index: usize,
    pub title: String,
    /// Line of the step in the walkthrough file.
    pub line: usize,
    pub observation: Observation,
    pub verdict: Verdict,
    /// How long the step took, action to checked observation.
    pub elapsed: Duration,
    /// For hangs: how long after the last thread blocked the hang was declared (an upper
    /// bound: the detector's polling window).
    pub hang_declared_after: Option<Duration>,
    /// How much of `elapsed` was spent waiting for the program and the adapter to land: the
    /// launch up to the first stop, a resume up to the next stop or the exit, up to the first
    /// all-blocked look of a hang, or the whole step timeout. The rest is dapwalk's own
    /// (inspection requests, declaring a hang, pausing); `scripts/bench-suite` sums this into
    /// each walkthrough's floor.
    pub program_time: Duration,
}

/// How a walkthrough ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    /// A step's observation departed from its expectation.
    Mismatch {
        step: usize,
    },
    /// The walkthrough could not be played (adapter missing or dead, timeout...).
    Error {
        step: Option<usize>,
        /// The line of that step in the walkthrough file.
        line: Option<usize>,
        message: String,
    },
}

/// Everything about one played walkthrough.
#[derive(Debug, Clone)]
pub struct WalkthroughResult {
    pub path: PathBuf,
    pub title: String,
    /// The dialect's name (`lldb-dap`).
    pub adapter: &'static str,
    pub steps: Vec<StepResult>,
    pub outcome: Outcome,
    pub elapsed: Duration,
    /// Processes that teardown had to kill, and whether any survived it.
    pub leftovers: Vec<u32>,
}
