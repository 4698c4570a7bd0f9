//! `--bless`: rewrite a departed step's expectations from what the debugger showed, keeping
//! the file's comments and layout, so the change can be reviewed with `git diff`.
//!
//! Only the expectations that departed are rewritten, each in the form the file used: a stack
//! written as three frames is blessed as three frames (the frames that still match kept as
//! written), not as the whole raw stack. What is not a fact about the program is refused, and
//! said: a watch the adapter could not evaluate, a debug-console error, an end the program
//! never reached (still running at the step's time limit). A stack expected of a thread that
//! does not exist is moved to the observed thread it must mean, when only one can be meant.

use crate::checks::{
    check, frame_matches, is_frame_subsequence, is_still_running, is_unavailable, Observation,
    ObservedEnd,
};
use crate::engine::{Outcome, WalkthroughResult};
use crate::walkthrough::{Expect, Walkthrough};
use toml_edit::{value, Array, DocumentMut, Item, TableLike, Value};

/// What `--bless` did to one step: the expectations it rewrote, and those it refused, why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blessed {
    /// 0-based index of the step.
    pub step: usize,
    /// Its line in the walkthrough file.
    pub line: usize,
    /// `watch _shutdown`, `stacks.MainThread`, `stacks."Worker" renamed to "TPExecutor-0_0"`.
    pub changed: Vec<String>,
    /// `(expectation, why it was left as written)`.
    pub skipped: Vec<(String, String)>,
}

/// What `--bless` did to a walkthrough.
#[derive(Debug, Clone, PartialEq)]
pub enum BlessOutcome {
    /// It passed: nothing to bless.
    Passed,
    /// It could not be played: there is no observation to bless from.
    NotPlayed(String),
    /// The departed step, what was rewritten and what was not.
    Step(Blessed),
}

/// Rewrites the departed step of `w` (a walkthrough stops at its first departure).
pub fn bless(w: &Walkthrough, r: &WalkthroughResult) -> Result<BlessOutcome, String> {
    let step = match &r.outcome {
        Outcome::Passed => return Ok(BlessOutcome::Passed),
        Outcome::Error { step, message, .. } => {
            let at = step
                .map(|s| format!("step {}: ", s + 1))
                .unwrap_or_default();
            let first = message.lines().next().unwrap_or_default();
            return Ok(BlessOutcome::NotPlayed(format!(
                "it could not be played ({at}{first}), so there is nothing observed to bless from"
            )));
        }
        Outcome::Mismatch { step } => *step,
    };
    let result = r
        .steps
        .iter()
        .find(|s| s.index == step)
        .ok_or_else(|| format!("no result for step {}", step + 1))?;
    let expect = &w
        .steps
        .get(step)
        .ok_or_else(|| format!("no step {}", step + 1))?
        .expect;
    let text = std::fs::read_to_string(&w.path).map_err(|e| e.to_string())?;
    let (updated, mut blessed) = bless_text(&text, step, expect, &result.observation)?;
    blessed.line = result.line;
    if updated != text {
        std::fs::write(&w.path, updated).map_err(|e| e.to_string())?;
    }
    Ok(BlessOutcome::Step(blessed))
}

/// The pure part: `text` with step `index`'s departed expectations (`expect`, as parsed from
/// the same text) replaced by `obs`, and what was done. Only keys the step already expects
/// are rewritten; a step says what it cares about.
pub fn bless_text(
    text: &str,
    index: usize,
    expect: &Expect,
    obs: &Observation,
) -> Result<(String, Blessed), String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let mut done = Blessed {
        step: index,
        ..Blessed::default()
    };
    let steps = doc
        .get_mut("step")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or("no [[step]] tables")?;
    let step = steps.get_mut(index).ok_or("no such step")?;
    let Some(table) = step.get_mut("expect").and_then(Item::as_table_like_mut) else {
        return Ok((doc.to_string(), done));
    };
    // Whether one expectation departed: the step's check, on that expectation alone.
    let departed = |one: Expect| !check(&one, obs).passed();

    if let Some(st) = &expect.stopped {
        if departed(Expect {
            stopped: Some(st.clone()),
            ..Expect::default()
        }) {
            bless_stop(table, obs, &mut done);
        }
    }
    bless_stacks(table, expect, obs, &departed, &mut done);
    if let Some(t) = &expect.threads {
        if departed(Expect {
            threads: Some(t.clone()),
            ..Expect::default()
        }) && !obs.threads.is_empty()
        {
            let names: Array = obs.threads.iter().map(|t| t.name.clone()).collect();
            table.insert("threads", value(names));
            done.changed.push("threads".into());
        }
    }
    if let Some(watch) = table.get_mut("watch").and_then(Item::as_table_like_mut) {
        for (name, want) in &expect.watch {
            let mut one = Expect::default();
            one.watch.insert(name.clone(), want.clone());
            if !departed(one) {
                continue;
            }
            let label = format!("watch {name}");
            match obs.watch.iter().find(|(n, _)| n == name) {
                None => done.skipped.push((label, not_looked(obs))),
                Some((_, v)) if is_unavailable(v) => done.skipped.push((
                    label,
                    format!("the adapter could not evaluate it: {v}; fix the watch's expression, or its frame, rather than expect the error"),
                )),
                Some((_, v)) => {
                    watch.insert(name, value(typed(v)));
                    done.changed.push(label);
                }
            }
        }
    }
    for (key, want, got) in [
        ("stdout", &expect.stdout, &obs.stdout),
        ("stderr", &expect.stderr, &obs.stderr),
    ] {
        let Some(w) = want else { continue };
        let one = match key {
            "stdout" => Expect {
                stdout: Some(w.clone()),
                ..Expect::default()
            },
            _ => Expect {
                stderr: Some(w.clone()),
                ..Expect::default()
            },
        };
        if departed(one) {
            let lines: Array = got.lines().map(str::to_string).collect();
            table.insert(key, value(lines));
            done.changed.push(key.into());
        }
    }
    if let Some(want) = &expect.evaluate {
        if departed(Expect {
            evaluate: Some(want.clone()),
            ..Expect::default()
        }) {
            match obs.evaluate.iter().find(|e| e.starts_with("error: ")) {
                Some(e) => done.skipped.push((
                    "evaluate".into(),
                    format!("the debug console answered with an error: {e}"),
                )),
                None if obs.evaluate.is_empty() => {
                    done.skipped.push(("evaluate".into(), not_looked(obs)))
                }
                None => {
                    let lines: Array = obs.evaluate.iter().cloned().collect();
                    table.insert("evaluate", value(lines));
                    done.changed.push("evaluate".into());
                }
            }
        }
    }
    for key in ["waits", "cycle"] {
        let (waits, cycle) = match key {
            "waits" => (expect.waits.clone(), None),
            _ => (None, expect.cycle.clone()),
        };
        if waits.is_none() && cycle.is_none() {
            continue;
        }
        if !departed(Expect {
            waits,
            cycle,
            ..Expect::default()
        }) {
            continue;
        }
        let Some(e) = &obs.explanation else {
            done.skipped
                .push((key.into(), "the stop was not explained".into()));
            continue;
        };
        let lines: Array = if key == "waits" {
            e.lines().into_iter().collect()
        } else {
            e.cycle
                .as_ref()
                .map(|c| c.chain.clone())
                .unwrap_or_default()
                .into_iter()
                .collect()
        };
        table.insert(key, value(lines));
        done.changed.push(key.into());
    }
    if let Some(end) = &expect.end {
        if departed(Expect {
            end: Some(end.clone()),
            ..Expect::default()
        }) {
            match &obs.end {
                Some(ObservedEnd::Exit(c)) => {
                    let mut t = toml_edit::InlineTable::new();
                    t.insert("exit", (*c).into());
                    table.insert("end", value(t));
                    done.changed.push("end".into());
                }
                Some(ObservedEnd::Hang) => {
                    table.insert("end", value("hang"));
                    done.changed.push("end".into());
                }
                Some(ObservedEnd::Terminated) => done.skipped.push((
                    "end".into(),
                    "the session ended without an exit code: no end to expect".into(),
                )),
                None => done.skipped.push(("end".into(), not_ended(obs))),
            }
        }
    }
    if is_still_running(obs) {
        // The program was paused where the time limit found it: a moment of no meaning,
        // not an observation to expect. Nothing of the step is rewritten.
        let why = not_ended(obs);
        let mut all: Vec<(String, String)> = done
            .changed
            .drain(..)
            .map(|what| (what, why.clone()))
            .collect();
        all.append(&mut done.skipped);
        done.skipped = all;
        return Ok((text.to_owned(), done));
    }
    Ok((doc.to_string(), done))
}

/// Why nothing was there to read at a step.
fn not_looked(obs: &Observation) -> String {
    if is_still_running(obs) {
        return not_ended(obs);
    }
    match &obs.end {
        Some(ObservedEnd::Exit(c)) => format!("the program had exited (code {c})"),
        Some(ObservedEnd::Terminated) => "the session had ended".into(),
        _ => "nothing was observed for it".into(),
    }
}

/// Why an end cannot be blessed: the program had not ended.
fn not_ended(obs: &Observation) -> String {
    match (&obs.stop, &obs.stop_note) {
        (Some(st), _) => format!(
            "the program had not ended: {} stopped ({})",
            st.thread, st.reason
        ),
        (None, Some(note)) if note.starts_with("still running") => format!(
            "the program was {note}: where a time limit finds a program is no observation to expect"
        ),
        _ => "the program had not ended".into(),
    }
}

fn bless_stop(table: &mut dyn TableLike, obs: &Observation, done: &mut Blessed) {
    let Some(stopped) = table.get_mut("stopped").and_then(Item::as_table_like_mut) else {
        return;
    };
    let Some(o) = &obs.stop else {
        let why = match &obs.stop_note {
            Some(note) if note.starts_with("still running") => not_ended(obs),
            Some(note) => format!("no thread stopped ({note})"),
            None => "no thread stopped".into(),
        };
        done.skipped.push(("stopped".into(), why));
        return;
    };
    if stopped.contains_key("thread") {
        stopped.insert("thread", value(o.thread.clone()));
    }
    if stopped.contains_key("reason") {
        stopped.insert("reason", value(o.reason.clone()));
    }
    if stopped.contains_key("at") {
        // A line can carry several markers: keep the one already written if the stop is on it.
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
    done.changed.push("stopped".into());
}

fn bless_stacks(
    table: &mut dyn TableLike,
    expect: &Expect,
    obs: &Observation,
    departed: &dyn Fn(Expect) -> bool,
    done: &mut Blessed,
) {
    let Some(stacks) = table.get_mut("stacks").and_then(Item::as_table_like_mut) else {
        return;
    };
    // Stacks moved to another thread's name, inserted once the loop lets go of the table.
    let mut moved: Vec<(String, Item)> = Vec::new();
    for (thread, frames) in &expect.stacks {
        let mut one = Expect::default();
        one.stacks.insert(thread.clone(), frames.clone());
        if !departed(one) {
            continue;
        }
        let label = format!("stacks.{}", quoted_key(thread));
        if obs.threads.is_empty() {
            done.skipped.push((label, not_looked(obs)));
            continue;
        }
        let names = |t: &crate::checks::ObservedThread| -> Vec<String> {
            t.user_frames().map(|f| f.name.clone()).collect()
        };
        if let Some(t) = obs.threads.iter().find(|t| &t.name == thread) {
            let got = names(t);
            let got: Vec<&str> = got.iter().map(String::as_str).collect();
            let short = short_stack(&frames.value, &got);
            if short.is_empty() {
                done.skipped
                    .push((label, format!("{thread} shows no user frames")));
                continue;
            }
            stacks.insert(thread, value(short.into_iter().collect::<Array>()));
            done.changed.push(label);
            continue;
        }
        // A thread of that name does not exist: the observed thread it must mean is one no
        // other stack names, preferably the one whose stack it describes.
        let free: Vec<&crate::checks::ObservedThread> = obs
            .threads
            .iter()
            .filter(|t| !expect.stacks.contains_key(&t.name))
            .collect();
        let fitting: Vec<&&crate::checks::ObservedThread> = free
            .iter()
            .filter(|t| {
                let got = names(t);
                let got: Vec<&str> = got.iter().map(String::as_str).collect();
                is_frame_subsequence(&frames.value, &got)
            })
            .collect();
        let target = match (fitting.as_slice(), free.as_slice()) {
            ([one], _) => Some(**one),
            ([], [one]) => Some(*one),
            _ => None,
        };
        let Some(target) = target else {
            let list: Vec<&str> = obs.threads.iter().map(|t| t.name.as_str()).collect();
            done.skipped.push((
                label,
                format!(
                    "no thread is named {thread:?} and more than one could be meant; threads: {}",
                    list.join(", ")
                ),
            ));
            continue;
        };
        let got = names(target);
        let got: Vec<&str> = got.iter().map(String::as_str).collect();
        let short = short_stack(&frames.value, &got);
        let Some(old) = stacks.remove(thread) else {
            continue;
        };
        let item = if short.is_empty() {
            old
        } else {
            value(short.into_iter().collect::<Array>())
        };
        moved.push((target.name.clone(), item));
        done.changed.push(format!(
            "{label} renamed to stacks.{} (no thread is named {thread:?})",
            quoted_key(&target.name)
        ));
    }
    if let Some(item) = table.get_mut("stacks") {
        for (name, stack) in moved {
            insert_key(item, &name, stack);
        }
    }
}

/// Inserts `item` under the key `name` of the table `stacks`, quoted as the walkthroughs
/// write thread names (`"TPExecutor-0_0"`) when it is more than letters, digits and `_`.
fn insert_key(stacks: &mut Item, name: &str, item: Item) {
    let key = if needs_quotes(name) {
        format!("{name:?}")
            .parse::<toml_edit::Key>()
            .unwrap_or_else(|_| toml_edit::Key::new(name))
    } else {
        toml_edit::Key::new(name)
    };
    match (stacks, item) {
        (Item::Table(t), item) => {
            t.insert_formatted(&key, item);
        }
        (Item::Value(Value::InlineTable(t)), Item::Value(v)) => {
            t.insert_formatted(&key, v);
        }
        (other, item) => {
            if let Some(t) = other.as_table_like_mut() {
                t.insert(name, item);
            }
        }
    }
}

fn needs_quotes(name: &str) -> bool {
    !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A thread name as a TOML key is written.
fn quoted_key(name: &str) -> String {
    if needs_quotes(name) {
        format!("{name:?}")
    } else {
        name.to_owned()
    }
}

/// The observed stack in the form the walkthrough wrote it: as many frames as it had, the
/// ones that still match kept as written (`submit` stays `submit`), each one that departed
/// replaced by the observed frame at its place between them.
pub fn short_stack(expected: &[String], observed: &[&str]) -> Vec<String> {
    if observed.is_empty() {
        return Vec::new();
    }
    // The longest common subsequence of expected entries and observed frames.
    let (n, m) = (expected.len(), observed.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if frame_matches(&expected[i], observed[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut matched: Vec<Option<usize>> = vec![None; n];
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if frame_matches(&expected[i], observed[j]) && lcs[i][j] == lcs[i + 1][j + 1] + 1 {
            matched[i] = Some(j);
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    let mut out = Vec::new();
    let mut next_free = 0usize;
    for (k, want) in expected.iter().enumerate() {
        match matched[k] {
            Some(j) => {
                out.push(want.clone());
                next_free = j + 1;
            }
            None => {
                // The gap runs to the next matched frame; leave room in it for the departed
                // entries after this one. Of the frames it may take, the one most like the
                // entry if one is much like it (a renamed frame is the usual departure), else the
                // innermost.
                let limit = matched[k + 1..]
                    .iter()
                    .flatten()
                    .next()
                    .copied()
                    .unwrap_or(m);
                let after = matched[k + 1..].iter().take_while(|x| x.is_none()).count();
                let last = limit.saturating_sub(after).max(next_free.min(limit));
                if next_free < last {
                    let like =
                        |i: &usize| strsim::normalized_damerau_levenshtein(want, observed[*i]);
                    let pick = (next_free..last)
                        .filter(|i| like(i) > 0.5)
                        // On a tie the innermost (the smaller index) wins.
                        .max_by(|a, b| like(a).total_cmp(&like(b)).then(b.cmp(a)))
                        .unwrap_or(next_free);
                    out.push(observed[pick].to_owned());
                    next_free = pick + 1;
                } else if next_free < limit {
                    out.push(observed[next_free].to_owned());
                    next_free += 1;
                }
            }
        }
    }
    out
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

/// What `--bless` says about one walkthrough, one line each: what it rewrote, and every
/// expectation it left as written with the reason. Nothing for a walkthrough that passed.
pub fn report_lines(outcome: &BlessOutcome, shown_path: &str) -> Vec<String> {
    match outcome {
        BlessOutcome::Passed => Vec::new(),
        BlessOutcome::NotPlayed(why) => vec![format!("did not bless {shown_path}: {why}")],
        BlessOutcome::Step(b) => {
            let at = format!("{shown_path} step {} (line {})", b.step + 1, b.line);
            let mut lines = Vec::new();
            if !b.changed.is_empty() {
                lines.push(format!(
                    "blessed {at}: {}; review with git diff",
                    b.changed.join(", ")
                ));
            }
            // Expectations left for the same reason are said together, once.
            let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
            for (what, why) in &b.skipped {
                match by_reason.iter_mut().find(|(w, _)| w == why) {
                    Some((_, whats)) => whats.push(what),
                    None => by_reason.push((why, vec![what])),
                }
            }
            for (why, whats) in by_reason {
                lines.push(format!("did not bless {at} {}: {why}", whats.join(", ")));
            }
            if lines.is_empty() {
                lines.push(format!(
                    "did not bless {at}: the expectations that departed are not ones --bless rewrites"
                ));
            }
            lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{ObservedStop, ObservedThread};
    use crate::walkthrough::{parse_str, MarkerRef};
    use std::path::Path;

    const TEXT: &str = r#"title = "t"
scenario = "no_deadlock"
language = "rust"

[[watch]]
name = "_shutdown"
expr = "global_shutdown"

[[watch]]
name = "other"
expr = "work_queue_size"

[[step]]
title = "first"
# The worker stops first.
expect.stopped = { thread = "TPExecutor-0_0", at = "inner-submit" }
expect.watch = { _shutdown = true, other = 3 }
expect.stacks.MainThread = ["join"]
expect.end = "hang"
"#;

    fn thread(name: &str, frames: &[&str]) -> ObservedThread {
        ObservedThread::of_user_frames(name, frames)
    }

    fn blessed(text: &str, obs: &Observation) -> (String, Blessed) {
        let w = parse_str(Path::new("w.toml"), text).expect("valid");
        bless_text(text, 0, &w.steps[0].expect, obs).expect("bless")
    }

    fn observation() -> Observation {
        Observation {
            stop: Some(ObservedStop {
                thread: "MainThread".into(),
                reason: "breakpoint".into(),
                at: vec![MarkerRef::Port("exit-flag-store".into())],
                location: None,
                description: None,
            }),
            threads: vec![thread("MainThread", &["_python_exit", "run", "main"])],
            watch: vec![
                ("_shutdown".into(), "false".into()),
                ("other".into(), "3".into()),
            ],
            end: Some(ObservedEnd::Hang),
            ..Observation::default()
        }
    }

    #[test]
    fn rewrites_only_what_departed_and_keeps_comments() {
        let (out, done) = blessed(TEXT, &observation());
        assert!(out.contains("# The worker stops first."), "{out}");
        assert!(out.contains(r#"thread = "MainThread""#), "{out}");
        assert!(out.contains(r#"at = "port:exit-flag-store""#), "{out}");
        assert!(!out.contains("reason"), "reason was not expected: {out}");
        assert!(out.contains("_shutdown = false"), "{out}");
        assert!(out.contains("other = 3"), "{out}");
        // One frame was expected: one frame is blessed, not the whole stack.
        assert!(
            out.contains(r#"expect.stacks.MainThread = ["_python_exit"]"#),
            "{out}"
        );
        assert_eq!(
            done.changed,
            ["stopped", "stacks.MainThread", "watch _shutdown"]
        );
        assert!(done.skipped.is_empty(), "{done:?}");
        assert!(out.parse::<DocumentMut>().is_ok());
    }

    #[test]
    fn a_stack_that_passes_is_left_as_written() {
        let text = TEXT.replace(r#"["join"]"#, r#"["run"]"#);
        let (out, done) = blessed(&text, &observation());
        assert!(
            out.contains(r#"expect.stacks.MainThread = ["run"]"#),
            "{out}"
        );
        assert!(
            !done.changed.iter().any(|c| c.starts_with("stacks")),
            "{done:?}"
        );
    }

    #[test]
    fn a_short_stack_keeps_its_length_and_the_frames_that_still_match() {
        let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = [
            "Condition::wait",
            "Future::result",
            "main::{closure}",
            "main",
        ];
        assert_eq!(
            short_stack(&want(&["Condvar::wait", "result"]), &got),
            ["Condition::wait", "result"]
        );
        assert_eq!(
            short_stack(&want(&["Future::result", "wait_on_future"]), &got),
            ["Future::result", "main::{closure}"]
        );
        assert_eq!(short_stack(&want(&["join"]), &got), ["Condition::wait"]);
        // The frame most like the departed one, not merely the innermost.
        let got = [
            "Lock::acquire::{closure}",
            "Condition::wait",
            "Future::result",
            "main",
        ];
        assert_eq!(
            short_stack(&want(&["Condvar::wait", "Future::result"]), &got),
            ["Condition::wait", "Future::result"]
        );
        assert_eq!(
            short_stack(&want(&["a", "b", "c", "d", "e"]), &got[..2]).len(),
            2
        );
    }

    #[test]
    fn a_watch_debugpy_cannot_read_at_a_hang_is_not_blessed() {
        let mut obs = observation();
        obs.watch[0].1 = crate::checks::unavailable_at_hang(
            "adapter refused \"evaluate\": Unable to find thread for evaluation",
        );
        let (out, done) = blessed(TEXT, &obs);
        assert!(out.contains("_shutdown = true"), "left as written: {out}");
        assert!(
            done.skipped
                .iter()
                .any(|(k, why)| k == "watch _shutdown" && why.contains("could not evaluate")),
            "{done:?}"
        );
    }

    #[test]
    fn an_adapter_error_and_a_program_still_running_are_not_blessed() {
        let mut obs = observation();
        obs.watch[0].1 = crate::checks::unavailable("adapter refused \"evaluate\": NameError");
        obs.end = None;
        obs.stop = None;
        obs.stop_note = Some(crate::checks::still_running_note(
            std::time::Duration::from_secs(20),
        ));
        let (out, done) = blessed(TEXT, &obs);
        assert!(out.contains("_shutdown = true"), "left as written: {out}");
        assert!(out.contains(r#"expect.end = "hang""#), "{out}");
        assert!(out.contains(r#"["join"]"#), "{out}");
        assert!(done.changed.is_empty(), "{done:?}");
        let skipped: Vec<&str> = done.skipped.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            skipped,
            ["stacks.MainThread", "stopped", "watch _shutdown", "end"],
            "{done:?}"
        );
        assert!(done
            .skipped
            .iter()
            .filter(|(k, _)| k != "watch _shutdown")
            .all(|(_, why)| why.contains("--step-timeout")));
        assert!(done.skipped[2].1.contains("could not evaluate"), "{done:?}");
        let lines = report_lines(&BlessOutcome::Step(done), "w.toml");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("did not bless w.toml step 1")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_stack_of_a_thread_that_does_not_exist_moves_to_the_one_it_means() {
        let text = TEXT.replace(
            r#"expect.stacks.MainThread = ["join"]"#,
            "expect.stacks.MainThread = [\"_python_exit\"]\nexpect.stacks.Worker = [\"wait_on_future\"]",
        );
        let mut obs = observation();
        obs.threads.push(thread(
            "TPExecutor-0_0",
            &["Future::result", "wait_on_future", "_worker"],
        ));
        let (out, done) = blessed(&text, &obs);
        assert!(
            out.contains(r#"expect.stacks."TPExecutor-0_0" = ["wait_on_future"]"#),
            "{out}"
        );
        assert!(!out.contains("Worker"), "{out}");
        assert!(
            done.changed
                .iter()
                .any(|c| c.contains(r#"renamed to stacks."TPExecutor-0_0""#)),
            "{done:?}"
        );
        // Two threads it could mean: left alone, and said.
        obs.threads.push(thread(
            "TPExecutor-0_1",
            &["Future::result", "wait_on_future"],
        ));
        let (out, done) = blessed(&text, &obs);
        assert!(out.contains("Worker"), "{out}");
        assert!(
            done.skipped
                .iter()
                .any(|(k, why)| k == "stacks.Worker" && why.contains("more than one")),
            "{done:?}"
        );
    }

    #[test]
    fn waits_and_the_cycle_are_blessed_from_the_explanation() {
        let text = TEXT.replace(
            "expect.end = \"hang\"",
            "expect.waits = []\nexpect.cycle = []\nexpect.end = \"hang\"",
        );
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
            queued_in: Some(vec!["TPExecutor-0_0".into()]),
            candidates: Vec::new(),
            called_from: None,
        };
        let obs = Observation {
            explanation: Some(crate::checks::explain(&threads, vec![future, join], "t")),
            ..observation()
        };
        let (out, _) = blessed(&text, &obs);
        assert!(out.contains(
            r#"expect.waits = ["MainThread joins TPExecutor-0_0", "TPExecutor-0_0 waits on future pow(5, 2)"]"#
        ), "{out}");
        assert!(
            out.contains(r#"expect.cycle = ["MainThread", "TPExecutor-0_0"]"#),
            "{out}"
        );
    }
}
