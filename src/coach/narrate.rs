//! What the coach says, as plain functions of the walkthrough and what was observed: which
//! step a stop fits, the step's narrative with ✓ or ✗ and the diff, and what to do next in the
//! learner's terms (breakpoints by file and line, F5/F10/F11, which thread to select).

use crate::adapters::Dialect;
use crate::checks::{self, Observation, ObservedEnd};
use crate::walkthrough::{Action, ExpectEnd, MarkerRef, Prepared, Step};

/// Where the program is, as the coach sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// A thread stopped (a breakpoint, a step, an exception).
    Stopped,
    /// The learner paused the program after the coach said it hangs.
    Hung,
    /// The program exited (or the session ended).
    Exited,
}

/// The key that performs an action in VS Code, and its name.
pub fn keys(action: Action) -> &'static str {
    match action {
        Action::Start => "start debugging (F5)",
        Action::Continue => "continue (F5)",
        Action::Next => "step over (F10)",
        Action::StepIn => "step into (F11)",
        Action::StepOut => "step out (Shift+F11)",
        Action::Pause => "pause (F6)",
        Action::Stay => "stay where you are",
    }
}

/// The action a DAP request performs, for the requests that move the program.
pub fn action_of(command: &str) -> Option<Action> {
    Some(match command {
        "continue" => Action::Continue,
        "next" => Action::Next,
        "stepIn" => Action::StepIn,
        "stepOut" => Action::StepOut,
        "pause" => Action::Pause,
        _ => return None,
    })
}

/// A marker as the learner finds it: `always_deadlock.rs:23 (@bp main-sleep)`.
pub fn place(prep: &Prepared, m: &MarkerRef) -> String {
    match prep.markers.resolve(m) {
        Ok(site) => {
            let file = site
                .file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            match m {
                // `stdlib:concurrent/futures/thread.py:TEXT` names the line by its text.
                MarkerRef::Stdlib(spec) => match spec.split_once(".py:") {
                    Some((_, text)) => format!("{file}:{} (the line `{}`)", site.line, text.trim()),
                    None => format!("{file}:{}", site.line),
                },
                _ => format!("{file}:{} (@bp {})", site.line, m.name()),
            }
        }
        Err(_) => m.to_string(),
    }
}

/// What the learner does for `step`, in VS Code's terms, one instruction per line.
pub fn todo(prep: &Prepared, dialect: &dyn Dialect, step: &Step) -> Vec<String> {
    let mut out = Vec::new();
    for m in &step.clear {
        out.push(format!(
            "remove the breakpoint at {}",
            place(prep, &m.value)
        ));
    }
    for m in &step.breakpoints {
        out.push(format!("set a breakpoint at {}", place(prep, &m.value)));
    }
    if !step.function_breakpoints.is_empty() {
        out.push(format!(
            "add function breakpoints (Breakpoints pane, +): {}",
            step.function_breakpoints.join(", ")
        ));
    }
    match &step.exceptions {
        Some(names) if names.is_empty() => {
            out.push("turn the exception breakpoints off (Breakpoints pane)".into())
        }
        Some(names) => out.push(format!(
            "turn on an exception breakpoint for {} (Breakpoints pane)",
            names.join(", ")
        )),
        None => {}
    }
    if !step.hold.is_empty() {
        out.push(format!(
            "hold {} while the others run: {}",
            step.hold.join(", "),
            dialect.editor_hold_hint()
        ));
    }
    if let Some(t) = &step.thread {
        if matches!(step.action, Action::Next | Action::StepIn | Action::StepOut) {
            out.push(format!("select {t} in the Call Stack"));
        }
    }
    out.push(keys(step.action).to_string());
    for e in &step.evaluate {
        out.push(format!(
            "type {} in the Debug Console",
            crate::adapters::markdown_code(&dialect.editor_console_expression(e))
        ));
    }
    out
}

/// The heading of step `i` (0-based) of `prep`.
pub fn heading(prep: &Prepared, i: usize) -> String {
    let n = prep.walkthrough.steps.len();
    match prep.walkthrough.steps.get(i) {
        Some(s) => format!("Step {}/{n}: {}", i + 1, s.title),
        None => format!("Step {}/{n}", i + 1),
    }
}

/// "Next: ..." for the step after `i`, or the end of the walkthrough.
pub fn next_text(prep: &Prepared, dialect: &dyn Dialect, i: usize) -> String {
    match prep.walkthrough.steps.get(i + 1) {
        Some(step) => format!(
            "Next, {}: {}",
            heading(prep, i + 1),
            todo(prep, dialect, step).join("; then ")
        ),
        None => "That was the last step of the walkthrough.".into(),
    }
}

/// Whether `step` is the step this landing and observation show: its marker, its kind of
/// stop, its end.
pub fn fits(step: &Step, landing: Landing, obs: &Observation) -> bool {
    let end = step.expect.end.as_ref().map(|e| &e.value);
    match landing {
        Landing::Exited => matches!(end, Some(ExpectEnd::Exit(_))),
        Landing::Hung => matches!(end, Some(ExpectEnd::Hang)),
        Landing::Stopped => {
            if end.is_some() {
                return false;
            }
            let Some(stop) = &obs.stop else { return false };
            match step.expect.stopped.as_ref().map(|s| &s.value) {
                Some(want) => {
                    want.at.as_ref().is_none_or(|m| stop.at.contains(m))
                        && want.reason.as_ref().is_none_or(|r| *r == stop.reason)
                        && (want.at.is_some()
                            || want.thread.as_ref().is_none_or(|t| *t == stop.thread))
                }
                None => match step.action {
                    Action::Next | Action::StepIn | Action::StepOut => stop.reason == "step",
                    Action::Stay => false,
                    _ => true,
                },
            }
        }
    }
}

/// Which step a landing fits: the one expected next, else a later one (the learner skipped
/// some), else none.
pub fn matching_step(
    prep: &Prepared,
    cursor: usize,
    landing: Landing,
    obs: &Observation,
) -> Option<usize> {
    let steps = &prep.walkthrough.steps;
    (cursor..steps.len()).find(|&i| fits(&steps[i], landing, obs))
}

/// The coach's words on step `i` after checking it against `obs`: heading, narrative, ✓ or
/// ✗ with the diff.
pub fn verdict_text(
    prep: &Prepared,
    i: usize,
    obs: &Observation,
    skipped: usize,
) -> (bool, String) {
    let step = &prep.walkthrough.steps[i];
    let verdict = checks::check(&step.expect, obs);
    let mut text = String::new();
    if skipped > 0 {
        text.push_str(&format!(
            "(you are past {skipped} step{} the walkthrough had before this one)\n",
            if skipped == 1 { "" } else { "s" }
        ));
    }
    text.push_str(&heading(prep, i));
    text.push('\n');
    text.push_str(step.say.trim());
    text.push('\n');
    if verdict.passed() {
        text.push_str("✓ what the debugger shows is what the walkthrough says\n");
    } else {
        text.push_str("✗ the debugger departs from the walkthrough:\n");
        text.push_str(&verdict.diff("walkthrough"));
    }
    (verdict.passed(), text)
}

/// Where a stop is, in a few words: `TPExecutor-0_0 at always_deadlock.rs:23 (breakpoint)`.
pub fn where_text(obs: &Observation) -> String {
    match (&obs.stop, &obs.end) {
        (_, Some(ObservedEnd::Exit(c))) => format!("the program exited with code {c}"),
        (_, Some(ObservedEnd::Terminated)) => "the session ended".into(),
        (_, Some(ObservedEnd::Hang)) => "every thread blocked".into(),
        (Some(s), None) => {
            let at =
                s.at.first()
                    .map(|m| m.to_string())
                    .or_else(|| s.location.clone())
                    .unwrap_or_else(|| "a frame without source".into());
            format!("{} at {at} ({})", s.thread, s.reason)
        }
        (None, None) => "a stop without a thread".into(),
    }
}

/// What the coach says when the learner's action is not the step's: `None` when it is.
pub fn wrong_turn(
    prep: &Prepared,
    cursor: usize,
    action: Action,
    thread: Option<&str>,
) -> Option<String> {
    let step = prep.walkthrough.steps.get(cursor)?;
    let expected = match step.action {
        // The first step's start is done by launching; what follows it is the next step's.
        Action::Start | Action::Stay => return None,
        a => a,
    };
    if action != expected {
        return Some(format!(
            "✗ {}: the walkthrough does {} here; you did {}.\n  To follow it: restart (Ctrl+Shift+F5) and replay up to here, or carry on and see what differs.",
            heading(prep, cursor),
            keys(expected),
            keys(action)
        ));
    }
    let stepping = matches!(expected, Action::Next | Action::StepIn | Action::StepOut);
    if let (true, Some(want), Some(got)) = (stepping, step.thread.as_deref(), thread) {
        if want != got {
            return Some(format!(
                "✗ {}: this step moves {want}; you moved {got}.\n  Select {want} in the Call Stack before you {}.",
                heading(prep, cursor),
                keys(expected)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ObservedStop;

    fn prepared() -> Prepared {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let project = crate::project::Project::new(root);
        let w = crate::walkthrough::load(&root.join("walkthroughs/rust/02-always-deadlock.toml"))
            .expect("the walkthrough loads");
        crate::walkthrough::prepare(&project, w).expect("and resolves")
    }

    fn stopped_at(thread: &str, reason: &str, marker: &str) -> Observation {
        Observation {
            stop: Some(ObservedStop {
                thread: thread.into(),
                reason: reason.into(),
                at: vec![MarkerRef::parse(marker).expect("in this test")],
                location: None,
                description: None,
            }),
            ..Observation::default()
        }
    }

    #[test]
    fn a_stop_fits_the_step_of_its_marker() {
        let p = prepared();
        let first = stopped_at("MainThread", "breakpoint", "main-sleep");
        assert_eq!(matching_step(&p, 0, Landing::Stopped, &first), Some(0));
        let enqueue = stopped_at("TPExecutor-0_0", "breakpoint", "port:submit-enqueue");
        assert_eq!(matching_step(&p, 0, Landing::Stopped, &enqueue), Some(1));
        // After the enqueue, a step stop is step 3 (do = "next"); a hang is step 4.
        let stepped = stopped_at("TPExecutor-0_0", "step", "port:submit-enqueue");
        assert_eq!(matching_step(&p, 2, Landing::Stopped, &stepped), Some(2));
        assert_eq!(
            matching_step(&p, 2, Landing::Hung, &Observation::default()),
            Some(3)
        );
        // The first breakpoint again, later: fits no step.
        assert_eq!(matching_step(&p, 1, Landing::Stopped, &first), None);
    }

    #[test]
    fn a_continue_where_the_step_steps_is_a_wrong_turn() {
        let p = prepared();
        let said =
            wrong_turn(&p, 2, Action::Continue, Some("TPExecutor-0_0")).expect("in this test");
        assert!(
            said.contains("step over (F10)") && said.contains("continue (F5)"),
            "{said}"
        );
        let thread = wrong_turn(&p, 2, Action::Next, Some("MainThread")).expect("in this test");
        assert!(
            thread.contains("Select TPExecutor-0_0 in the Call Stack"),
            "{thread}"
        );
        assert_eq!(
            wrong_turn(&p, 2, Action::Next, Some("TPExecutor-0_0")),
            None
        );
    }

    #[test]
    fn the_next_step_is_said_in_the_learners_terms() {
        let p = prepared();
        let d = crate::adapters::Registry::builtin()
            .by_name("lldb-dap")
            .expect("in this test");
        let next = next_text(&p, d, 0);
        assert!(
            next.contains("remove the breakpoint at always_deadlock.rs:"),
            "{next}"
        );
        assert!(
            next.contains("(@bp submit-enqueue)") && next.contains("continue (F5)"),
            "{next}"
        );
        let step3 = todo(&p, d, &p.walkthrough.steps[2]).join("; ");
        assert!(
            step3.contains("select TPExecutor-0_0 in the Call Stack; step over (F10)"),
            "{step3}"
        );
    }
}
