//! JSON lines for tools: one object per step, then one per walkthrough; a walkthrough file
//! that could not be played is one record with its errors.

use crate::engine::{Outcome, WalkthroughResult};
use crate::project::display_path;
use crate::walkthrough::BadFile;
use serde_json::json;
use std::io::{self, Write};
use std::path::Path;

/// One JSON object per line: a record per step, then one per walkthrough.
pub fn json_lines(out: &mut dyn Write, r: &WalkthroughResult, root: &Path) -> io::Result<()> {
    let path = display_path(&r.path, root);
    for s in &r.steps {
        let v = json!({
            "type": "step",
            "walkthrough": path,
            "step": s.index + 1,
            "title": s.title,
            "line": s.line,
            "passed": s.verdict.passed(),
            "expected": s.verdict.expected,
            "observed": s.verdict.observed,
            "elapsed_ms": s.elapsed.as_millis() as u64,
            "hang_declared_after_ms": s.hang_declared_after.map(|d| d.as_millis() as u64),
            "program_ms": s.program_time.as_millis() as u64,
            "explanation": s.observation.explanation.as_ref().map(|e| json!({
                "waits": e.waits,
                "lines": e.lines(),
                "cycle": e.cycle.as_ref().map(|c| &c.chain),
                "verdict": e.verdict(),
                "source": e.source,
                "cost_ms": e.cost_ms,
            })),
        });
        writeln!(out, "{v}")?;
    }
    let (outcome, message) = match &r.outcome {
        Outcome::Passed => ("passed", None),
        Outcome::Mismatch { .. } => ("mismatch", None),
        Outcome::Error { message, .. } => ("error", Some(message.clone())),
    };
    let line = match &r.outcome {
        Outcome::Error { line, .. } => *line,
        Outcome::Mismatch { step } => r.steps.iter().find(|s| s.index == *step).map(|s| s.line),
        Outcome::Passed => None,
    };
    let v = json!({
        "type": "walkthrough",
        "walkthrough": path,
        "title": r.title,
        "adapter": r.adapter,
        "outcome": outcome,
        "message": message,
        "line": line,
        "elapsed_ms": r.elapsed.as_millis() as u64,
        "program_ms": r.steps.iter().map(|s| s.program_time.as_millis() as u64).sum::<u64>(),
        "leftover_pids": r.leftovers,
    });
    writeln!(out, "{v}")
}

/// The record of a walkthrough file with errors: `outcome` is `error`, as for one that
/// could not be played, and `errors` lists every error at its line.
pub fn bad_file(out: &mut dyn Write, bad: &BadFile, root: &Path) -> io::Result<()> {
    let errors: Vec<serde_json::Value> = bad
        .errors
        .iter()
        .map(|e| json!({ "line": e.line, "message": e.message, "hint": e.hint }))
        .collect();
    let v = json!({
        "type": "walkthrough",
        "walkthrough": display_path(&bad.path, root),
        "outcome": "error",
        "message": bad_file_message(bad),
        "line": bad.errors.first().map(|e| e.line),
        "errors": errors,
        "steps_played": 0,
    });
    writeln!(out, "{v}")
}

/// One line for a bad file: how many errors and the first.
pub fn bad_file_message(bad: &BadFile) -> String {
    let n = bad.errors.len();
    let first = bad
        .errors
        .first()
        .map(|e| format!("line {}: {}", e.line, e.message))
        .unwrap_or_default();
    format!(
        "{n} error{} in the walkthrough file, not played; {first}",
        if n == 1 { "" } else { "s" }
    )
}
