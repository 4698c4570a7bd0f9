//! `--bless`: rewrite a departed step's expectations from what the debugger showed, keeping
//! the file's comments and layout, so the change can be reviewed with `git diff`.

use crate::checks::{Observation, ObservedEnd};
use crate::engine::{Outcome, WalkthroughResult};
use crate::walkthrough::Walkthrough;
use toml_edit::{value, Array, DocumentMut, Item, Value};

/// Rewrites the departed step of `w` (a walkthrough stops at its first departure); returns
/// how many steps were changed.
pub fn bless(w: &Walkthrough, r: &WalkthroughResult) -> Result<usize, String> {
    let Outcome::Mismatch { step } = r.outcome else {
        return Ok(0);
    };
    let Some(result) = r.steps.iter().find(|s| s.index == step) else {
        return Ok(0);
    };
    let text = std::fs::read_to_string(&w.path).map_err(|e| e.to_string())?;
    let updated = bless_text(&text, step, &result.observation)?;
    if updated != text {
        std::fs::write(&w.path, updated).map_err(|e| e.to_string())?;
        Ok(1)
    } else {
        Ok(0)
    }
}

/// The pure part: `text` with step `index`'s existing expectations replaced by `obs`. Only
/// keys the step already expects are rewritten; a step says what it cares about.
pub fn bless_text(text: &str, index: usize, obs: &Observation) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let steps = doc
        .get_mut("step")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or("no [[step]] tables")?;
    let step = steps.get_mut(index).ok_or("no such step")?;
    let Some(expect) = step.get_mut("expect").and_then(Item::as_table_like_mut) else {
        return Ok(doc.to_string());
    };

    if let Some(stopped) = expect.get_mut("stopped").and_then(Item::as_table_like_mut) {
        if let Some(o) = &obs.stop {
            {
                if stopped.contains_key("thread") {
                    stopped.insert("thread", value(o.thread.clone()));
                }
                if stopped.contains_key("reason") {
                    stopped.insert("reason", value(o.reason.clone()));
                }
                if stopped.contains_key("at") {
                    // A line can carry several markers: keep the one already written if the
                    // stop is on it.
                    let current = stopped
                        .get("at")
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                    let keep = o.at.iter().find(|m| Some(m.to_string()) == current);
                    match keep.or(o.at.first()) {
                        Some(m) => {
                            stopped.insert("at", value(m.to_string()));
                        }
                        None => {
                            stopped.remove("at");
                        }
                    }
                }
            }
        }
    }
    if let Some(stacks) = expect.get_mut("stacks").and_then(Item::as_table_like_mut) {
        let names: Vec<String> = stacks.iter().map(|(k, _)| k.to_string()).collect();
        for name in names {
            if let Some(t) = obs.threads.iter().find(|t| t.name == name) {
                let frames: Array = t.user_frames().map(|f| f.name.clone()).collect();
                stacks.insert(&name, value(frames));
            }
        }
    }
    if let Some(watch) = expect.get_mut("watch").and_then(Item::as_table_like_mut) {
        let names: Vec<String> = watch.iter().map(|(k, _)| k.to_string()).collect();
        for name in names {
            if let Some((_, v)) = obs.watch.iter().find(|(n, _)| *n == name) {
                watch.insert(&name, value(typed(v)));
            }
        }
    }
    for (key, got) in [("stdout", &obs.stdout), ("stderr", &obs.stderr)] {
        if expect.contains_key(key) {
            let lines: Array = got.lines().map(str::to_string).collect();
            expect.insert(key, value(lines));
        }
    }
    if expect.contains_key("evaluate") {
        let lines: Array = obs.evaluate.iter().cloned().collect();
        expect.insert("evaluate", value(lines));
    }
    if let Some(e) = &obs.explanation {
        if expect.contains_key("waits") {
            let lines: Array = e.lines().into_iter().collect();
            expect.insert("waits", value(lines));
        }
        if expect.contains_key("cycle") {
            let chain: Array = e
                .cycle
                .as_ref()
                .map(|c| c.chain.clone())
                .unwrap_or_default()
                .into_iter()
                .collect();
            expect.insert("cycle", value(chain));
        }
    }
    if expect.contains_key("end") {
        match &obs.end {
            Some(ObservedEnd::Exit(c)) => {
                let mut t = toml_edit::InlineTable::new();
                t.insert("exit", (*c).into());
                expect.insert("end", value(t));
            }
            Some(ObservedEnd::Hang) => {
                expect.insert("end", value("hang"));
            }
            _ => {}
        }
    }
    Ok(doc.to_string())
}

/// `true`, `false` and integers are written as TOML values, the rest as strings.
fn typed(v: &str) -> Value {
    match v {
        "true" => Value::from(true),
        "false" => Value::from(false),
        _ => match v.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(v),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_and_the_cycle_are_blessed_from_the_explanation() {
        let text = "title = \"t\"\n[[step]]\ntitle = \"s\"\nexpect.waits = []\nexpect.cycle = []\n";
        let threads = vec!["MainThread".to_string(), "TPExecutor-0_0".to_string()];
        let join = crate::checks::RawWait {
            thread: "MainThread".into(),
            kind: crate::checks::WaitKind::Thread,
            object: "TPExecutor-0_0".into(),
            site: None,
            owner: Some("TPExecutor-0_0".into()),
            queued_in: None,
            candidates: Vec::new(),
            called_from: None,
        };
        let future = crate::checks::RawWait {
            thread: "TPExecutor-0_0".into(),
            kind: crate::checks::WaitKind::Future,
            object: "pow(5, 2)".into(),
            site: None,
            owner: None,
            queued_in: Some(0),
            candidates: Vec::new(),
            called_from: None,
        };
        let obs = Observation {
            explanation: Some(crate::checks::explain(&threads, vec![future, join], "t")),
            ..Observation::default()
        };
        let out = bless_text(text, 0, &obs).unwrap_or_default();
        assert!(out.contains(
            r#"expect.waits = ["MainThread joins TPExecutor-0_0", "TPExecutor-0_0 waits on future pow(5, 2)"]"#
        ), "{out}");
        assert!(
            out.contains(r#"expect.cycle = ["MainThread", "TPExecutor-0_0"]"#),
            "{out}"
        );
    }
    use crate::checks::{ObservedFrame, ObservedStop, ObservedThread};
    use crate::walkthrough::MarkerRef;

    const TEXT: &str = r#"title = "t"
scenario = "no_deadlock"
language = "rust"

[[step]]
title = "first"
# The worker stops first.
expect.stopped = { thread = "TPExecutor-0_0", at = "inner-submit" }
expect.watch = { _shutdown = true, other = 3 }
expect.stacks.MainThread = ["join"]
"#;

    #[test]
    fn rewrites_only_what_the_step_expects_and_keeps_comments() {
        let obs = Observation {
            stop: Some(ObservedStop {
                thread: "MainThread".into(),
                reason: "breakpoint".into(),
                at: vec![MarkerRef::Port("exit-flag-store".into())],
                location: None,
                description: None,
            }),
            threads: vec![ObservedThread {
                name: "MainThread".into(),
                frames: vec![
                    ObservedFrame {
                        name: "_python_exit".into(),
                        user: true,
                        location: None,
                    },
                    ObservedFrame {
                        name: "Mutex::lock".into(),
                        user: false,
                        location: None,
                    },
                    ObservedFrame {
                        name: "run".into(),
                        user: true,
                        location: None,
                    },
                ],
            }],
            watch: vec![
                ("_shutdown".into(), "false".into()),
                ("other".into(), "4".into()),
            ],
            ..Observation::default()
        };
        let out = bless_text(TEXT, 0, &obs).expect("bless");
        assert!(out.contains("# The worker stops first."), "{out}");
        assert!(out.contains(r#"thread = "MainThread""#), "{out}");
        assert!(out.contains(r#"at = "port:exit-flag-store""#), "{out}");
        assert!(
            !out.contains("reason"),
            "reason was not expected, so not added: {out}"
        );
        assert!(out.contains("_shutdown = false"), "{out}");
        assert!(out.contains("other = 4"), "{out}");
        assert!(out.contains(r#"["_python_exit", "run"]"#), "{out}");
        // The result is still TOML.
        assert!(out.parse::<DocumentMut>().is_ok());
    }
}
