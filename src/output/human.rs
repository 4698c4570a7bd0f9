//! The report for a person: a line per walkthrough, a diff for each departure, a summary.
//! (JSON lines for tools are in [`super::json`], JUnit XML in [`super::junit`].)

use super::palette::Palette;
use crate::engine::{Outcome, StepResult, WalkthroughResult};
use crate::project::display_path;
use std::io::{self, Write};
use std::path::Path;

/// The human report of one walkthrough: a line per step, and for the step that departed the
/// diff of expected against observed narrative.
pub fn human(
    out: &mut dyn Write,
    r: &WalkthroughResult,
    root: &Path,
    style: Palette,
    verbose: bool,
) -> io::Result<()> {
    let path = display_path(&r.path, root);
    let mark = match r.outcome {
        Outcome::Passed => style.green("PASS"),
        Outcome::Mismatch { .. } => style.red("FAIL"),
        Outcome::Error { .. } => style.yellow("ERROR"),
    };
    writeln!(
        out,
        "{mark} {} {} {}",
        style.bold(&path),
        r.title,
        style.dim(&format!("({}, {:.1}s)", r.adapter, r.elapsed.as_secs_f64()))
    )?;
    for s in &r.steps {
        let ok = s.verdict.passed();
        if verbose || !ok {
            let m = if ok {
                style.green("ok")
            } else {
                style.red("departed")
            };
            writeln!(
                out,
                "  {m} step {} {:?} ({path}:{})",
                s.index + 1,
                s.title,
                s.line
            )?;
        }
        if verbose && ok {
            for l in &s.verdict.observed {
                writeln!(out, "       {}", style.dim(l))?;
            }
        }
        if let Some(e) = &s.observation.explanation {
            // At a hang the explanation is the point of the step: shown even when it passed.
            if verbose || !ok || s.observation.end == Some(crate::checks::ObservedEnd::Hang) {
                explanation(out, e, style)?;
            }
        }
        if !ok {
            let label = format!("expected ({path}:{})", s.line);
            for l in s.verdict.diff(&label).lines() {
                let painted = if l.starts_with('+') && !l.starts_with("+++") {
                    style.green(l)
                } else if l.starts_with('-') && !l.starts_with("---") {
                    style.red(l)
                } else {
                    l.to_string()
                };
                writeln!(out, "    {painted}")?;
            }
            explain_observation(out, s, style)?;
        }
    }
    if let Outcome::Error {
        step,
        line,
        message,
    } = &r.outcome
    {
        let at = match (step, line) {
            (Some(i), Some(l)) => format!(" at step {} ({path}:{l})", i + 1),
            (Some(i), None) => format!(" at step {}", i + 1),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {}{at}: {}",
            style.yellow("could not play"),
            indent(message, 4)
        )?;
    }
    if !r.leftovers.is_empty() {
        writeln!(
            out,
            "  {} processes still alive after teardown: {:?}",
            style.red("leak:"),
            r.leftovers
        )?;
    }
    Ok(())
}

/// Who waits on whom, and the verdict.
fn explanation(
    out: &mut dyn Write,
    e: &crate::checks::Explanation,
    style: Palette,
) -> io::Result<()> {
    let cost = e.cost_ms.map(|ms| format!(", {ms} ms")).unwrap_or_default();
    writeln!(
        out,
        "    {}",
        style.dim(&format!("who waits on whom ({}{cost}):", e.source))
    )?;
    let lines = e.report_lines();
    let last = lines.len().saturating_sub(1);
    for (i, l) in lines.iter().enumerate() {
        if i == last {
            writeln!(out, "      {}", style.bold(l))?;
        } else {
            writeln!(out, "      {l}")?;
        }
    }
    Ok(())
}

/// After a diff, where every thread actually was: the context a newcomer needs to read it.
fn explain_observation(out: &mut dyn Write, s: &StepResult, style: Palette) -> io::Result<()> {
    if s.observation.threads.is_empty() {
        return Ok(());
    }
    writeln!(out, "    {}", style.dim("where the threads were:"))?;
    for t in &s.observation.threads {
        let frames: Vec<&str> = t.user_frames().map(|f| f.name.as_str()).take(8).collect();
        writeln!(
            out,
            "    {}",
            style.dim(&format!("  {}: {}", t.name, frames.join(" <- ")))
        )?;
    }
    Ok(())
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines().collect::<Vec<_>>().join(&format!("\n{pad}"))
}

/// The closing summary, in the plain `N passed, N failed` form CI readers know, then how
/// many files were not played for errors in them.
pub fn summary(
    out: &mut dyn Write,
    results: &[WalkthroughResult],
    bad: &[crate::walkthrough::BadFile],
) -> io::Result<()> {
    if !bad.is_empty() {
        let errors: usize = bad.iter().map(|b| b.errors.len()).sum();
        writeln!(
            out,
            "not played: {} walkthrough file(s) with {errors} error(s), each said on stderr at its line",
            bad.len()
        )?;
    }
    let passed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Passed)
        .count();
    let errors = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Error { .. }))
        .count();
    let failed = results.len() - passed;
    if errors > 0 {
        writeln!(
            out,
            "walkthroughs: {passed} passed, {failed} failed ({errors} could not be played)"
        )
    } else {
        writeln!(out, "walkthroughs: {passed} passed, {failed} failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Observation, Verdict};
    use crate::output::{json::json_lines, junit::junit};
    use std::path::PathBuf;
    use std::time::Duration;

    fn result(passed: bool) -> WalkthroughResult {
        let verdict = Verdict {
            expected: vec!["watch _shutdown = true".into()],
            observed: vec![if passed {
                "watch _shutdown = true"
            } else {
                "watch _shutdown = false"
            }
            .into()],
        };
        WalkthroughResult {
            path: PathBuf::from("/p/walkthroughs/a.toml"),
            title: "A <walkthrough> & more".into(),
            adapter: "lldb-dap",
            steps: vec![StepResult {
                index: 0,
                title: "flag".into(),
                line: 12,
                observation: Observation::default(),
                verdict,
                elapsed: Duration::from_millis(5),
                hang_declared_after: None,
                program_time: Duration::ZERO,
            }],
            outcome: if passed {
                Outcome::Passed
            } else {
                Outcome::Mismatch { step: 0 }
            },
            elapsed: Duration::from_millis(10),
            leftovers: vec![],
        }
    }

    #[test]
    fn a_mismatch_shows_a_diff_naming_file_and_line() {
        let mut out = Vec::new();
        human(
            &mut out,
            &result(false),
            Path::new("/p"),
            Palette { color: false },
            false,
        )
        .expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.starts_with("FAIL walkthroughs/a.toml"), "{text}");
        assert!(
            text.contains("--- expected (walkthroughs/a.toml:12)"),
            "{text}"
        );
        assert!(text.contains("-watch _shutdown = true"), "{text}");
        assert!(text.contains("+watch _shutdown = false"), "{text}");
    }

    #[test]
    fn junit_escapes_and_counts() {
        let mut out = Vec::new();
        junit(
            &mut out,
            &[result(true), result(false)],
            &[],
            Path::new("/p"),
        )
        .expect("write");
        let text = String::from_utf8(out).expect("utf8");
        // quick-junit writes the counts as separate attributes (with `skipped` between).
        for count in [r#"tests="2""#, r#"failures="1""#, r#"errors="0""#] {
            assert!(text.contains(count), "{count} in {text}");
        }
        assert!(text.contains("A &lt;walkthrough&gt; &amp; more"), "{text}");
        assert!(text.contains("<failure message="), "{text}");
    }

    #[test]
    fn json_lines_are_one_object_each() {
        let mut out = Vec::new();
        json_lines(&mut out, &result(false), Path::new("/p")).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            assert!(v["type"].is_string());
        }
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn summary_uses_the_plain_form() {
        let mut out = Vec::new();
        summary(&mut out, &[result(true), result(false)], &[]).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "walkthroughs: 1 passed, 1 failed\n"
        );
    }
}
