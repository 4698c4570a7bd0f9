//! `dapwalk compare`: the Rust and the Python track of the same story side by side, from the
//! last runs, and where the two languages genuinely differ.
//!
//! Steps are paired in order (both tracks tell the talk in the same order; a track with more
//! steps shows blanks opposite). Each column holds what the debugger showed: the checked
//! narrative lines, every thread's frames and the watch values.

use crate::store::lastrun::{LastRun, LastStep};
use crate::walkthrough::{Language, Walkthrough};

/// Total width of the two-column view.
pub const WIDTH: usize = 96;

/// Renders both runs next to each other, then the differences that come from the languages
/// and their debuggers rather than from the programs.
pub fn render(a: (&Walkthrough, &LastRun), b: (&Walkthrough, &LastRun)) -> String {
    let col = (WIDTH - 3) / 2;
    let mut out = String::new();
    let head = |w: &Walkthrough, r: &LastRun| {
        format!(
            "{} ({}, {}): {}",
            w.language.as_str(),
            r.adapter,
            r.outcome,
            w.scenario
        )
    };
    push_row(&mut out, &head(a.0, a.1), &head(b.0, b.1), col);
    out.push_str(&format!("{}\n", "=".repeat(WIDTH)));
    let n = a.0.steps.len().max(b.0.steps.len());
    for i in 0..n {
        let left = side(a.0, a.1, i);
        let right = side(b.0, b.1, i);
        let rows = left.len().max(right.len());
        for r in 0..rows {
            push_row(
                &mut out,
                left.get(r).map(String::as_str).unwrap_or(""),
                right.get(r).map(String::as_str).unwrap_or(""),
                col,
            );
        }
        out.push_str(&format!("{}\n", "-".repeat(WIDTH)));
    }
    let notes = differences(a, b);
    if !notes.is_empty() {
        out.push_str("Where the languages differ:\n");
        for n in notes {
            for (i, l) in wrap(&n, WIDTH - 2).into_iter().enumerate() {
                out.push_str(if i == 0 { "- " } else { "  " });
                out.push_str(l.trim_start());
                out.push('\n');
            }
        }
    }
    out
}

/// One column's lines for step `i`: its title, then what the last run observed.
fn side(w: &Walkthrough, r: &LastRun, i: usize) -> Vec<String> {
    let Some(step) = w.steps.get(i) else {
        return Vec::new();
    };
    let mut lines = vec![format!("{}. {}", i + 1, step.title)];
    match r.steps.iter().find(|s| s.index == i) {
        None => lines.push("  (not played on the last run)".into()),
        Some(s) => lines.extend(observed(s)),
    }
    lines
}

fn observed(s: &LastStep) -> Vec<String> {
    // Stacks and watches are shown in full below; the rest of the checked lines here.
    let is_stack = |l: &str| {
        s.threads
            .iter()
            .any(|(t, _)| l.starts_with(&format!("{t}: ")))
    };
    let mut lines: Vec<String> = s
        .observed
        .iter()
        .filter(|l| !l.starts_with("watch ") && !l.starts_with("threads: ") && !is_stack(l))
        .map(|l| format!("  {l}"))
        .collect();
    // A thread whose stack was not asked (debugpy, a step that checks none of it) is listed
    // by name only.
    for (name, frames) in s.threads.iter().filter(|(_, f)| !f.is_empty()) {
        let shown: Vec<&str> = frames.iter().take(4).map(String::as_str).collect();
        lines.push(format!("  {name}: {}", shown.join(" <- ")));
    }
    for (name, value) in &s.watch {
        lines.push(format!("  {name} = {value}"));
    }
    if !s.passed {
        lines.push("  (this step departed from its narrative)".into());
    }
    lines
}

fn push_row(out: &mut String, left: &str, right: &str, col: usize) {
    let l = wrap(left, col);
    let r = wrap(right, col);
    for k in 0..l.len().max(r.len()).max(1) {
        let a = l.get(k).map(String::as_str).unwrap_or("");
        let b = r.get(k).map(String::as_str).unwrap_or("");
        let pad = col - a.chars().count().min(col);
        out.push_str(format!("{a}{} | {b}", " ".repeat(pad)).trim_end());
        out.push('\n');
    }
}

/// Hard-wraps `text` to `width` columns, continuing lines with a four-space indent; a word
/// longer than a line is cut, since both columns must keep their width.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let options = textwrap::Options::new(width.max(5))
        .subsequent_indent("    ")
        .break_words(true);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// Differences that come from the languages and their debuggers.
pub fn differences(a: (&Walkthrough, &LastRun), b: (&Walkthrough, &LastRun)) -> Vec<String> {
    let (rust, python) = match (a.0.language, b.0.language) {
        (Language::Rust, Language::Python) => (a, b),
        (Language::Python, Language::Rust) => (b, a),
        _ => return Vec::new(),
    };
    let mut notes = Vec::new();
    let names = |r: &LastRun| -> Vec<String> {
        let mut n: Vec<String> = r
            .steps
            .iter()
            .flat_map(|s| s.threads.iter().map(|(t, _)| t.clone()))
            .filter(|t| t != "MainThread")
            .collect();
        n.sort();
        n.dedup();
        n
    };
    let (rn, pn) = (names(rust.1), names(python.1));
    if !rn.is_empty() && !pn.is_empty() && rn != pn {
        notes.push(format!(
            "Thread names: LLDB shows the kernel's name, which Linux cuts to 15 characters (the port names its workers {} to fit); debugpy shows Python's own names ({}).",
            rn.join(", "),
            pn.join(", ")
        ));
    }
    let frames = |r: &LastRun| -> Vec<String> {
        r.steps
            .iter()
            .flat_map(|s| s.threads.iter().flat_map(|(_, f)| f.clone()))
            .collect()
    };
    let (rf, pf) = (frames(rust.1), frames(python.1));
    if rf.iter().any(|f| f.contains("::")) && !pf.is_empty() {
        notes.push("Frame names: Rust frames carry their type (`ThreadPoolExecutor::submit`) and main's body is a closure (`main::{closure}`); Python frames are bare function names, main's body is `<module>`, and the standard library's frames (`submit`, `_python_exit`, `result`, `wait`) are the real CPython ones.".into());
    }
    let free = rust
        .0
        .env
        .iter()
        .any(|(k, v)| k == "PYTHON_GIL" && v == "0");
    notes.push(if free {
        "The GIL: this Rust run is free-threaded (`PYTHON_GIL=0`, like Python 3.13t); CPython under debugpy has its real GIL, which debugpy never holds a suspended thread in.".into()
    } else {
        "The GIL: the Rust port models CPython's GIL (a thread held by LLDB while it owns the model GIL freezes the others); CPython under debugpy has the real GIL, and debugpy suspends a thread in Python code, where it has given the GIL up.".into()
    });
    notes.push("Holding threads: LLDB suspends one thread while the others run (`hold`); debugpy's continue resumes every thread, so the Python track lines threads up in debugpy's non-stop mode (`wait_for`) instead.".into());
    if python
        .1
        .steps
        .iter()
        .any(|s| s.watch.iter().any(|(_, v)| v.starts_with("(not available")))
    {
        notes.push("Watch values: LLDB reads globals in any frame, even in a deadlocked program; debugpy evaluates only in frames that see the names (`thread_module` in the program, bare names in thread.py) and not at all in threads blocked in a lock.".into());
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_within_their_column() {
        let w = wrap(&"x".repeat(100), 46);
        assert!(w.iter().all(|l| l.chars().count() <= 46));
        assert_eq!(w.concat().replace(' ', "").len(), 100);
        let words = wrap("alpha beta gamma delta epsilon", 12);
        assert_eq!(words[0], "alpha beta");
    }

    #[test]
    fn rows_are_two_columns() {
        let mut out = String::new();
        push_row(&mut out, "left", "right", 10);
        assert_eq!(out, "left       | right\n");
    }
}
