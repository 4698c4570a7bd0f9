//! What the debugger showed on a walkthrough's last run, kept so `dapwalk show` can print it
//! beside the narrative. Stored as JSON under the build folder
//! ([`crate::project::last_runs_dir`]), never among the user's own files.

use crate::engine::{StepResult, WalkthroughResult};
use crate::walkthrough::Walkthrough;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One run's observations, step by step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastRun {
    pub adapter: String,
    /// Seconds since the Unix epoch.
    pub when: u64,
    pub outcome: String,
    pub steps: Vec<LastStep>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastStep {
    pub index: usize,
    pub passed: bool,
    /// The observed narrative lines the step was checked against.
    pub observed: Vec<String>,
    /// Every thread and its user frames, top first.
    pub threads: Vec<(String, Vec<String>)>,
    pub watch: Vec<(String, String)>,
    pub stdout: String,
    pub stderr: String,
    /// Who waited on whom, where the step explained it (a hang, or a step that asked).
    #[serde(default)]
    pub explanation: Option<crate::checks::Explanation>,
}

fn file_for(root: &Path, w: &Walkthrough) -> PathBuf {
    crate::project::last_run_file(root, &w.path)
}

pub fn save(root: &Path, w: &Walkthrough, r: &WalkthroughResult) -> std::io::Result<()> {
    let outcome = match &r.outcome {
        crate::engine::Outcome::Passed => "passed".into(),
        crate::engine::Outcome::Mismatch { step } => format!("departed at step {}", step + 1),
        crate::engine::Outcome::Error { message, .. } => {
            format!("could not be played: {message}")
        }
    };
    write(root, w, &from_steps(r.adapter, outcome, &r.steps))
}

/// A run's observations from its played steps: what `run` keeps, and what `present` keeps
/// for a session that may have stopped before the last step.
pub fn from_steps(adapter: &str, outcome: String, steps: &[StepResult]) -> LastRun {
    LastRun {
        adapter: adapter.to_string(),
        when: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        outcome,
        steps: steps
            .iter()
            .map(|s| LastStep {
                index: s.index,
                passed: s.verdict.passed(),
                observed: s.verdict.observed.clone(),
                threads: s
                    .observation
                    .threads
                    .iter()
                    .map(|t| {
                        (
                            t.name.clone(),
                            t.user_frames().map(|f| f.name.clone()).collect(),
                        )
                    })
                    .collect(),
                watch: s.observation.watch.clone(),
                stdout: s.observation.stdout.clone(),
                stderr: s.observation.stderr.clone(),
                explanation: s.observation.explanation.clone(),
            })
            .collect(),
    }
}

/// Keeps `last` as the last run of `w`.
pub fn write(root: &Path, w: &Walkthrough, last: &LastRun) -> std::io::Result<()> {
    let path = file_for(root, w);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(last).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

/// The last run of `w`, if there was one and it still reads.
pub fn load(root: &Path, w: &Walkthrough) -> Option<LastRun> {
    let text = std::fs::read_to_string(file_for(root, w)).ok()?;
    serde_json::from_str(&text).ok()
}
