//! JSON lines for tools: one object per step, then one per walkthrough.

use crate::engine::{Outcome, WalkthroughResult};
use crate::project::display_path;
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
    let v = json!({
        "type": "walkthrough",
        "walkthrough": path,
        "title": r.title,
        "adapter": r.adapter,
        "outcome": outcome,
        "message": message,
        "elapsed_ms": r.elapsed.as_millis() as u64,
        "leftover_pids": r.leftovers,
    });
    writeln!(out, "{v}")
}
