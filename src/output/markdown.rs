//! A walkthrough as Markdown: the narrative a learner follows, what to do in the debugger, what
//! it will show, and — when there was a run — what it did show.

use crate::checks::{check, Observation};
use crate::store::lastrun::LastRun;
use crate::walkthrough::{Action, Step, Walkthrough};
use std::fmt::Write;
use std::path::Path;

/// Renders `w`; `last` adds each step's observed stop from the last run.
pub fn render(w: &Walkthrough, last: Option<&LastRun>, root: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", w.title);
    let program = crate::project::Project::program_source_rel(w.language, &w.scenario);
    let _ = writeln!(
        s,
        "Program: `{program}` ({}) · walkthrough: `{}`\n",
        w.language.as_str(),
        crate::project::display_path(&w.path, root)
    );
    if !w.env.is_empty() {
        let env: Vec<String> = w.env.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        let _ = writeln!(s, "Environment: {}\n", env.join(", "));
    }
    if !w.intro.is_empty() {
        let _ = writeln!(s, "{}\n", w.intro);
    }
    if !w.watch.is_empty() {
        let _ = writeln!(s, "Watch list (add these to the debugger's Watch pane):\n");
        for x in &w.watch {
            let _ = writeln!(s, "- `{}` ({})", x.name, describe_watch(&x.expr));
        }
        let _ = writeln!(s);
    }
    for (i, step) in w.steps.iter().enumerate() {
        let _ = writeln!(s, "## {}. {}\n", i + 1, step.title);
        if !step.say.is_empty() {
            let _ = writeln!(s, "{}\n", step.say);
        }
        let _ = writeln!(s, "**Do:** {}\n", describe_action(step));
        let expected = check(&step.expect, &Observation::default()).expected;
        if !expected.is_empty() {
            let _ = writeln!(s, "**The debugger shows:**\n");
            for l in expected {
                let _ = writeln!(s, "- {l}");
            }
            let _ = writeln!(s);
        }
        if let Some(run) = last.and_then(|r| r.steps.iter().find(|x| x.index == i)) {
            let mark = if run.passed {
                "as expected"
            } else {
                "DEPARTED"
            };
            let _ = writeln!(
                s,
                "<details><summary>Last run ({}): {mark}</summary>\n",
                last.map(|l| l.adapter.as_str()).unwrap_or("")
            );
            let _ = writeln!(s, "```text");
            for l in &run.observed {
                let _ = writeln!(s, "{l}");
            }
            for (t, frames) in &run.threads {
                let _ = writeln!(s, "{t}: {}", frames.join(" <- "));
            }
            for (n, v) in &run.watch {
                let _ = writeln!(s, "watch {n} = {v}");
            }
            let _ = writeln!(s, "```\n\n</details>\n");
            if let Some(e) = &run.explanation {
                let _ = writeln!(s, "**Who waits on whom** ({}):\n", e.source);
                for l in e.report_lines() {
                    let _ = writeln!(s, "- {l}");
                }
                let _ = writeln!(s, "\n```mermaid\n{}```\n", e.mermaid());
            }
        }
    }
    s
}

fn describe_watch(expr: &str) -> String {
    crate::walkthrough::PORTABLE_WATCHES
        .iter()
        .find(|(n, _)| *n == expr)
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| format!("`{expr}`"))
}

pub(crate) fn describe_action(step: &Step) -> String {
    let mut parts = Vec::new();
    if !step.breakpoints.is_empty() {
        let names: Vec<String> = step
            .breakpoints
            .iter()
            .map(|m| format!("`{}`", m.value))
            .collect();
        parts.push(format!("set breakpoints at {}", names.join(", ")));
    }
    if !step.clear.is_empty() {
        let names: Vec<String> = step
            .clear
            .iter()
            .map(|m| format!("`{}`", m.value))
            .collect();
        parts.push(format!("remove the breakpoints at {}", names.join(", ")));
    }
    if !step.function_breakpoints.is_empty() {
        parts.push(format!(
            "add function breakpoints on {}",
            step.function_breakpoints.join(", ")
        ));
    }
    let thread = step
        .thread
        .as_ref()
        .map(|t| format!(" on {t}"))
        .unwrap_or_default();
    let verb = match step.action {
        Action::Start => "start debugging (F5)".to_string(),
        Action::Continue => format!("continue (F5){thread}"),
        Action::Next => format!("step over (F10){thread}"),
        Action::StepIn => format!("step in (F11){thread}"),
        Action::StepOut => format!("step out (Shift+F11){thread}"),
        Action::Pause => format!("pause (F6){thread}"),
        Action::Stay => "look again without running".to_string(),
    };
    parts.push(verb);
    if !step.hold.is_empty() {
        parts.push(format!(
            "keeping {} suspended (in the Call Stack pane: right-click the thread, or in the debug console: `script lldb.process.GetThreadByID(<id>).Suspend()`)",
            step.hold.join(", ")
        ));
    }
    if !step.evaluate.is_empty() {
        let ex: Vec<String> = step.evaluate.iter().map(|e| format!("`{e}`")).collect();
        parts.push(format!("in the debug console evaluate {}", ex.join(", ")));
    }
    let mut text = parts.join(", then ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text + "."
}
