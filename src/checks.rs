//! Pure checks: what the debugger showed, normalised, against what a step expects.
//!
//! The runner fills an [`Observation`] from DAP responses; this module turns both sides into
//! the same narrative lines (`stopped: MainThread, breakpoint, at port:exit-flag-store`,
//! `MainThread: _python_exit <- run <- main`, `watch _shutdown = false`) so a mismatch reads as
//! a diff of two short stories. Where an observation satisfies an expectation, its line is
//! rendered exactly as the expected one: the diff then shows only what departed.

mod waits;

pub use waits::{
    cycle_line, explain, wait_line, Cycle, ExplainedWait, Explanation, RawWait, WaitKind,
};

use crate::walkthrough::{Expect, ExpectEnd, MarkerRef};
use similar::TextDiff;

/// Everything observed after one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub stop: Option<ObservedStop>,
    /// Every thread with its frames (top first), portable names.
    pub threads: Vec<ObservedThread>,
    /// Watch name → rendered value or an error text.
    pub watch: Vec<(String, String)>,
    /// Everything the program wrote so far.
    pub stdout: String,
    pub stderr: String,
    /// Debug-console results of the step's `evaluate` list.
    pub evaluate: Vec<String>,
    pub end: Option<ObservedEnd>,
    /// Why there is no stop, or what surrounds it: "the program exited with code 0", "every
    /// thread blocked: a hang".
    pub stop_note: Option<String>,
    /// Who waits on whom, gathered at a hang and wherever a step expects it.
    pub explanation: Option<Explanation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedStop {
    pub thread: String,
    pub reason: String,
    /// Markers on the line where the stopped thread's top user frame is.
    pub at: Vec<MarkerRef>,
    /// `file:line` of that frame, for when no marker is there.
    pub location: Option<String>,
    /// The adapter's description of the stop (an exception's message), when it gives one.
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedThread {
    pub name: String,
    pub frames: Vec<ObservedFrame>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedFrame {
    /// Normalised with [`normalize_frame_name`].
    pub name: String,
    /// A frame of the program or the port (not std, libc or the interpreter's internals).
    pub user: bool,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObservedEnd {
    Exit(i64),
    Hang,
    /// The adapter ended the session without an exit code.
    Terminated,
}

impl ObservedThread {
    pub fn user_frames(&self) -> impl Iterator<Item = &ObservedFrame> {
        self.frames.iter().filter(|f| f.user)
    }

    /// A thread whose frames (top first) are all the program's own, for tests.
    #[cfg(test)]
    pub(crate) fn of_user_frames(name: &str, frames: &[&str]) -> ObservedThread {
        ObservedThread {
            name: name.into(),
            frames: frames
                .iter()
                .map(|f| ObservedFrame {
                    name: f.to_string(),
                    user: true,
                    location: None,
                })
                .collect(),
        }
    }
}

/// The result of checking one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub expected: Vec<String>,
    pub observed: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.expected == self.observed
    }

    /// A unified diff of expected against observed narrative; empty when the step passed.
    pub fn diff(&self, expected_label: &str) -> String {
        if self.passed() {
            return String::new();
        }
        let e = lines_text(&self.expected);
        let o = lines_text(&self.observed);
        TextDiff::from_lines(&e, &o)
            .unified_diff()
            .context_radius(3)
            .header(expected_label, "observed")
            .to_string()
    }
}

fn lines_text(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// What a step that reached its time limit says: the limit, and the two ways to raise it (a
/// program that sleeps longer than the limit, because an environment variable it reads was
/// forgotten say, otherwise reads as a mystery).
pub fn still_running_note(after: std::time::Duration) -> String {
    format!(
        "still running after {}s, the step's time limit: --step-timeout SECONDS or timeout = SECONDS on the step gives it longer; paused to look",
        after.as_secs_f64()
    )
}

/// How a watch value reads when the adapter could not evaluate it: an adapter's error, not a
/// value a walkthrough may expect (`--bless` refuses it).
pub fn unavailable(error: &str) -> String {
    format!("{UNAVAILABLE}{error})")
}

const UNAVAILABLE: &str = "(not available here: ";

/// The same at a hang, on an adapter that cannot evaluate in threads blocked in C: why, and
/// what stands in for the watch.
pub fn unavailable_at_hang(error: &str) -> String {
    format!(
        "{UNAVAILABLE_AT_HANG}{error}; the adapter cannot evaluate in threads blocked in C, so who waits on whom is inferred from the stacks)"
    )
}

const UNAVAILABLE_AT_HANG: &str = "(not available at a hang: ";

/// Whether a watch value is an adapter's error rather than a value.
pub fn is_unavailable(value: &str) -> bool {
    value.starts_with(UNAVAILABLE) || value.starts_with(UNAVAILABLE_AT_HANG)
}

/// Whether an observation is of a program that was still running at the step's time limit.
pub fn is_still_running(obs: &Observation) -> bool {
    obs.end.is_none()
        && obs.stop.is_none()
        && obs
            .stop_note
            .as_deref()
            .is_some_and(|n| n.starts_with("still running"))
}

/// Checks an observation against a step's expectations.
pub fn check(expect: &Expect, obs: &Observation) -> Verdict {
    let mut expected = Vec::new();
    let mut observed = Vec::new();

    if let Some(st) = &expect.stopped {
        let st = &st.value;
        let want = render_stop(st.thread.as_deref(), st.reason.as_deref(), st.at.as_ref());
        expected.push(want.clone());
        observed.push(match &obs.stop {
            None => match &obs.stop_note {
                Some(note) => format!("stopped: no thread stopped ({note})"),
                None => "stopped: no thread stopped".to_owned(),
            },
            Some(o) => {
                let thread_ok = st.thread.as_ref().is_none_or(|t| *t == o.thread);
                let reason_ok = st.reason.as_ref().is_none_or(|r| *r == o.reason);
                let at_ok = st.at.as_ref().is_none_or(|a| o.at.contains(a));
                if thread_ok && reason_ok && at_ok {
                    want
                } else {
                    // Render the observation with the same fields the expectation names, so
                    // the diff lines up field by field.
                    let at = match (&st.at, o.at.first()) {
                        (None, _) => None,
                        (Some(_), Some(m)) => Some(m.to_string()),
                        (Some(_), None) => o.location.clone().or(Some("?".into())),
                    };
                    render_stop_text(
                        st.thread.as_ref().map(|_| o.thread.as_str()),
                        st.reason.as_ref().map(|_| o.reason.as_str()),
                        at.as_deref(),
                    )
                }
            }
        });
        if let Some(d) = &st.description {
            expected.push(format!("description: {d}"));
            let got = obs.stop.as_ref().and_then(|o| o.description.as_deref());
            observed.push(format!("description: {}", got.unwrap_or("(none)")));
        }
    }

    if let Some(t) = &expect.threads {
        let mut want = t.value.clone();
        want.sort();
        let mut got: Vec<String> = obs.threads.iter().map(|t| t.name.clone()).collect();
        got.sort();
        expected.push(format!("threads: {}", want.join(", ")));
        observed.push(format!("threads: {}", got.join(", ")));
    }

    // Once the program has exited there is nothing to look at; say so rather than "missing".
    let gone = matches!(
        obs.end,
        Some(ObservedEnd::Exit(_) | ObservedEnd::Terminated)
    );
    let absent = if gone {
        "(the program had exited)"
    } else {
        "(no such thread)"
    };
    let unread = if gone {
        "(the program had exited)"
    } else {
        "(not evaluated)"
    };

    for (thread, frames) in &expect.stacks {
        let want = format!("{thread}: {}", frames.value.join(" <- "));
        expected.push(want.clone());
        observed.push(match obs.threads.iter().find(|t| &t.name == thread) {
            None => format!("{thread}: {absent}"),
            Some(t) => {
                let names: Vec<&str> = t.user_frames().map(|f| f.name.as_str()).collect();
                if is_frame_subsequence(&frames.value, &names) {
                    want
                } else {
                    format!("{thread}: {}", names.join(" <- "))
                }
            }
        });
    }

    for (name, value) in &expect.watch {
        expected.push(format!("watch {name} = {}", value.value));
        let got = obs
            .watch
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or(unread);
        observed.push(format!("watch {name} = {got}"));
    }

    for (label, want, got) in [
        ("stdout", &expect.stdout, &obs.stdout),
        ("stderr", &expect.stderr, &obs.stderr),
    ] {
        if let Some(want) = want {
            let got_lines: Vec<&str> = got.lines().collect();
            for l in &want.value {
                expected.push(format!("{label}: {l}"));
            }
            if contains_in_order(&want.value, &got_lines) {
                for l in &want.value {
                    observed.push(format!("{label}: {l}"));
                }
            } else if got_lines.is_empty() {
                observed.push(format!("{label}: (nothing)"));
            } else {
                for l in got_lines {
                    observed.push(format!("{label}: {l}"));
                }
            }
        }
    }

    if let Some(want) = &expect.evaluate {
        for (i, w) in want.value.iter().enumerate() {
            expected.push(format!("evaluate #{}: {w}", i + 1));
            let got = obs
                .evaluate
                .get(i)
                .map(String::as_str)
                .unwrap_or("(not evaluated)");
            observed.push(format!("evaluate #{}: {got}", i + 1));
        }
    }

    check_waits(expect, obs, &mut expected, &mut observed);

    if let Some(end) = &expect.end {
        expected.push(render_end_expected(&end.value));
        observed.push(match &obs.end {
            None => match &obs.stop {
                Some(st) => format!(
                    "end: not yet; {}",
                    render_stop_text(
                        Some(&st.thread),
                        Some(&st.reason),
                        st.at
                            .first()
                            .map(|m| m.to_string())
                            .or(st.location.clone())
                            .as_deref()
                    )
                ),
                None => match &obs.stop_note {
                    Some(note) if note.starts_with("still running") => format!("end: {note}"),
                    _ => "end: still running".to_owned(),
                },
            },
            Some(ObservedEnd::Exit(c)) => format!("end: exit {c}"),
            Some(ObservedEnd::Hang) => "end: hang".to_owned(),
            Some(ObservedEnd::Terminated) => "end: terminated without an exit code".to_owned(),
        });
    }

    Verdict { expected, observed }
}

/// `expect.waits` and `expect.cycle` against the explanation: the waits compare as a set (a
/// match is rendered in the expected order), the cycle as a chain.
fn check_waits(
    expect: &Expect,
    obs: &Observation,
    expected: &mut Vec<String>,
    observed: &mut Vec<String>,
) {
    let missing = |obs: &Observation| match &obs.end {
        Some(ObservedEnd::Exit(_) | ObservedEnd::Terminated) => "(the program had exited)",
        _ => "(not explained)",
    };
    if let Some(want) = &expect.waits {
        for w in &want.value {
            expected.push(format!("waits: {w}"));
        }
        match &obs.explanation {
            None => observed.push(format!("waits: {}", missing(obs))),
            Some(e) => {
                let got = e.lines();
                let mut a = want.value.clone();
                let mut b = got.clone();
                a.sort();
                b.sort();
                let lines = if a == b { &want.value } else { &got };
                if lines.is_empty() {
                    observed.push("waits: (no thread waits)".into());
                }
                for l in lines {
                    observed.push(format!("waits: {l}"));
                }
            }
        }
    }
    if let Some(want) = &expect.cycle {
        let chain = (!want.value.is_empty()).then_some(want.value.as_slice());
        expected.push(cycle_line(chain));
        observed.push(match &obs.explanation {
            None => format!("cycle: {}", missing(obs)),
            Some(e) => e.cycle_line(),
        });
    }
}

fn render_stop(thread: Option<&str>, reason: Option<&str>, at: Option<&MarkerRef>) -> String {
    let at = at.map(|a| a.to_string());
    render_stop_text(thread, reason, at.as_deref())
}

fn render_stop_text(thread: Option<&str>, reason: Option<&str>, at: Option<&str>) -> String {
    let mut parts = Vec::new();
    parts.push(thread.unwrap_or("any thread").to_owned());
    if let Some(r) = reason {
        parts.push(r.to_owned());
    }
    if let Some(a) = at {
        parts.push(format!("at {a}"));
    }
    format!("stopped: {}", parts.join(", "))
}

fn render_end_expected(end: &ExpectEnd) -> String {
    match end {
        ExpectEnd::Exit(c) => format!("end: exit {c}"),
        ExpectEnd::Hang => "end: hang".to_owned(),
    }
}

/// Whether every expected frame appears in `observed` (top first), in order. An expected
/// entry matches a frame whose normalised name equals it or ends with `::<entry>`, so
/// `submit` matches `ThreadPoolExecutor::submit`.
pub fn is_frame_subsequence(expected: &[String], observed: &[&str]) -> bool {
    let mut it = observed.iter();
    expected
        .iter()
        .all(|want| it.any(|got| frame_matches(want, got)))
}

/// Whether an expected frame entry names an observed frame (see [`is_frame_subsequence`]).
pub fn frame_matches(want: &str, got: &str) -> bool {
    got == want || got.ends_with(&format!("::{want}")) || got.ends_with(&format!(".{want}"))
}

fn contains_in_order(want: &[String], got: &[&str]) -> bool {
    let mut it = got.iter();
    want.iter()
        .all(|w| it.any(|g| g.trim_end() == w.trim_end()))
}

/// Normalises a frame name from any adapter to the short form walkthroughs use.
///
/// - legacy-mangled hashes go: `no_deadlock::main::h0123456789abcdef` → `main`;
/// - paths keep their last segment, and a method keeps its type:
///   `<scenarios::thread::ThreadPoolExecutor>::submit::<i64, ...>` → `ThreadPoolExecutor::submit`;
/// - closures read `wait_on_future::{closure}` (their index is an accident of the source);
/// - generic arguments are dropped;
/// - Python names (`submit`, `<module>`) are left as they are.
pub fn normalize_frame_name(raw: &str) -> String {
    // The `::h<16 hex>` suffix of legacy mangling goes first (adapters usually did that).
    let s = crate::adapters::strip_rust_hash(raw.trim());
    if s.starts_with('<') && s.ends_with('>') && !s.contains("::") {
        // A Python pseudo-name such as `<module>`.
        return s;
    }
    // Split into top-level `::` segments, treating `<...>` and `{...}` as atoms.
    let segments = split_path(&s);
    let mut out: Vec<String> = Vec::new();
    for seg in segments {
        if seg.starts_with("<") && seg.ends_with('>') {
            // Either `<Type>` / `<Type as Trait>` (a qualified self type) or `<T, U>` generic
            // arguments after `::`. Only the former names something.
            let inner = &seg[1..seg.len() - 1];
            if out.is_empty() {
                let ty = inner.split(" as ").next().unwrap_or(inner);
                let ty = strip_generics(ty);
                out.push(last_segment(&ty).to_owned());
            }
            continue;
        }
        if seg.starts_with("{closure") {
            out.push("{closure}".to_owned());
            continue;
        }
        out.push(strip_generics(&seg));
    }
    // Keep the meaningful tail: `Type::method` or `function`, followed by the closures
    // nested in it (`main::{closure}::{closure}`, `Lock::acquire::{closure}`).
    let closures = out.iter().rev().take_while(|s| *s == "{closure}").count();
    let base = &out[..out.len() - closures];
    let n = base.len();
    let keep = if n >= 2 && starts_upper(&base[n - 2]) {
        2
    } else {
        1
    };
    let mut name: Vec<String> = base[n.saturating_sub(keep)..].to_vec();
    name.extend(std::iter::repeat_n("{closure}".to_string(), closures));
    name.join("::")
}

/// A type name: `ThreadPoolExecutor`, or a private one like Python's `_WorkItem`.
fn starts_upper(s: &str) -> bool {
    s.trim_start_matches('_')
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
}

fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

fn strip_generics(s: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn split_path(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '<' | '{' | '(' | '[' => depth += 1,
            '>' | '}' | ')' | ']' => depth -= 1,
            _ => {}
        }
        if depth == 0 && c == ':' && chars.get(i + 1) == Some(&':') {
            parts.push(std::mem::take(&mut cur));
            i += 2;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::walkthrough::{ExpectStop, Located};

    #[test]
    fn frame_names_from_every_dialect() {
        let cases = [
            ("<scenarios::thread::ThreadPoolExecutor>::submit::<i64, no_deadlock::wait_on_future::{closure#0}>", "ThreadPoolExecutor::submit"),
            ("no_deadlock::wait_on_future", "wait_on_future"),
            ("no_deadlock::main::{closure#1}", "main::{closure}"),
            ("no_deadlock::main::{closure#0}::{closure#0}", "main::{closure}::{closure}"),
            ("<scenarios::threading::Lock>::acquire::{closure#1}", "Lock::acquire::{closure}"),
            ("nested_submit::python_exit::h5f2a8c0e9b1d3f47", "python_exit"),
            ("<scenarios::_base::Future<i64>>::result", "Future::result"),
            ("scenarios::thread::_python_exit", "_python_exit"),
            ("<scenarios::thread::_WorkItem<()> as scenarios::thread::WorkItem>::run", "_WorkItem::run"),
            ("<std::sync::poison::condvar::Condvar>::wait::<bool>", "Condvar::wait"),
            ("submit", "submit"),
            ("<module>", "<module>"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_frame_name(raw), want, "{raw}");
        }
    }

    #[test]
    fn stacks_match_by_subsequence() {
        let got = [
            "Condvar::wait",
            "Future::result",
            "wait_on_future",
            "main::{closure}",
        ];
        let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_frame_subsequence(
            &want(&["result", "wait_on_future"]),
            &got
        ));
        assert!(!is_frame_subsequence(
            &want(&["wait_on_future", "result"]),
            &got
        ));
        assert!(!is_frame_subsequence(&want(&["join"]), &got));
    }

    fn obs_main_at(marker: &str) -> Observation {
        Observation {
            stop: Some(ObservedStop {
                thread: "MainThread".into(),
                reason: "breakpoint".into(),
                at: vec![MarkerRef::Port(marker.into())],
                location: Some("thread.rs:80".into()),
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
            watch: vec![("_shutdown".into(), "false".into())],
            ..Observation::default()
        }
    }

    fn expect_main_at(marker: &str) -> Expect {
        let mut e = Expect::default();
        e.stopped = Some(Located {
            value: ExpectStop {
                thread: Some("MainThread".into()),
                reason: Some("breakpoint".into()),
                at: Some(MarkerRef::Port(marker.into())),
                description: None,
            },
            line: 3,
        });
        e.stacks.insert(
            "MainThread".into(),
            Located {
                value: vec!["_python_exit".into(), "run".into()],
                line: 4,
            },
        );
        e.watch.insert(
            "_shutdown".into(),
            Located {
                value: "false".into(),
                line: 5,
            },
        );
        e
    }

    #[test]
    fn a_matching_observation_passes_with_no_diff() {
        let v = check(
            &expect_main_at("exit-flag-store"),
            &obs_main_at("exit-flag-store"),
        );
        assert!(v.passed(), "{v:?}");
        assert_eq!(v.diff("expected"), "");
    }

    #[test]
    fn a_departure_shows_only_the_lines_that_differ() {
        let mut obs = obs_main_at("exit-join");
        obs.watch[0].1 = "true".into();
        let v = check(&expect_main_at("exit-flag-store"), &obs);
        assert!(!v.passed());
        let d = v.diff("expected (walkthroughs/x.toml:3)");
        assert!(
            d.contains("-stopped: MainThread, breakpoint, at port:exit-flag-store"),
            "{d}"
        );
        assert!(
            d.contains("+stopped: MainThread, breakpoint, at port:exit-join"),
            "{d}"
        );
        assert!(
            d.contains("-watch _shutdown = false\n+watch _shutdown = true"),
            "{d}"
        );
        assert!(
            !d.contains("-MainThread: _python_exit"),
            "the stack matched: {d}"
        );
    }

    #[test]
    fn output_lines_must_appear_in_order() {
        let mut e = Expect::default();
        e.stdout = Some(Located {
            value: vec!["25".into()],
            line: 1,
        });
        let mut o = Observation {
            stdout: "Running wait_on_future\n25\n".into(),
            ..Default::default()
        };
        assert!(check(&e, &o).passed());
        o.stdout = "Running wait_on_future\n".into();
        let v = check(&e, &o);
        assert_eq!(v.observed, vec!["stdout: Running wait_on_future"]);
    }

    #[test]
    fn a_hang_is_not_an_exit() {
        let mut e = Expect::default();
        e.end = Some(Located {
            value: ExpectEnd::Exit(0),
            line: 1,
        });
        let o = Observation {
            end: Some(ObservedEnd::Hang),
            ..Default::default()
        };
        let v = check(&e, &o);
        assert_eq!(v.expected, vec!["end: exit 0"]);
        assert_eq!(v.observed, vec!["end: hang"]);
    }
}
