//! Reading a walkthrough file: TOML in, a validated [`Walkthrough`] or a file:line error out.

use super::{
    Action, Expect, ExpectEnd, ExpectStop, Language, Located, MarkerRef, Step, Walkthrough,
    WatchSpec,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A walkthrough that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub path: PathBuf,
    /// 1-based; 0 when the problem is the file as a whole (unreadable).
    pub line: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)?;
        } else {
            write!(f, "{}: {}", self.path.display(), self.message)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Reads and validates one walkthrough file.
pub fn load(path: &Path) -> Result<Walkthrough, LoadError> {
    // A named pipe or a device would block the read (or never end); only files are read.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(LoadError {
                path: path.to_path_buf(),
                line: 0,
                message: "not a regular file (a named pipe, a device or a folder?)".into(),
                hint: None,
            });
        }
    }
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        path: path.to_path_buf(),
        line: 0,
        message: format!("cannot read: {e}"),
        hint: None,
    })?;
    parse_str(path, utf8(path, &bytes)?)
}

// The file as written. Spans give every error a line; `deny_unknown_fields` turns a typo into
// an error instead of a silently ignored expectation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    title: Spanned<String>,
    scenario: Option<Spanned<String>>,
    /// A program named by path instead of a scenario (see `program.rs`).
    program: Option<Spanned<String>>,
    bin: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    #[serde(default)]
    intro: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Launch keys for the adapter, merged over its profile's (debugpy's non-stop mode).
    #[serde(default)]
    launch: BTreeMap<String, toml::Value>,
    #[serde(default)]
    watch: Vec<Spanned<RawWatch>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    name: String,
    expr: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    title: String,
    #[serde(default)]
    say: String,
    #[serde(default, rename = "break")]
    breakpoints: Vec<Spanned<String>>,
    #[serde(default)]
    clear: Vec<Spanned<String>>,
    #[serde(default)]
    function_break: Vec<String>,
    #[serde(default, rename = "do")]
    action: Option<Spanned<String>>,
    #[serde(default)]
    thread: Option<String>,
    #[serde(default)]
    hold: Vec<String>,
    #[serde(default)]
    evaluate: Vec<String>,
    #[serde(default)]
    exceptions: Option<Vec<String>>,
    #[serde(default)]
    wait_for: BTreeMap<String, Spanned<String>>,
    /// Seconds.
    #[serde(default)]
    timeout: Option<Spanned<f64>>,
    #[serde(default)]
    expect: Option<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    stopped: Option<Spanned<RawStop>>,
    #[serde(default)]
    stacks: BTreeMap<String, Spanned<Vec<String>>>,
    threads: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    watch: BTreeMap<String, Spanned<RawValue>>,
    stdout: Option<Spanned<Vec<String>>>,
    stderr: Option<Spanned<Vec<String>>>,
    evaluate: Option<Spanned<Vec<String>>>,
    waits: Option<Spanned<Vec<String>>>,
    cycle: Option<Spanned<Vec<String>>>,
    /// `"hang"` or `{ exit = N }`; read by hand so that every key of the table is checked
    /// (an untagged enum would ignore `{ exit = 0, hang = true }`).
    end: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStop {
    thread: Option<String>,
    reason: Option<String>,
    at: Option<String>,
    description: Option<String>,
}

/// Watch values are compared as rendered text; TOML booleans and integers are accepted for
/// readability (`global_shutdown = true`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawValue {
    Bool(bool),
    Int(i64),
    Text(String),
}

/// The keys an `expect.end` table may hold.
const END_KEYS: &[&str] = &["exit"];

/// The longest message or hint a load error prints: serde and toml echo offending values,
/// which may be megabytes.
const MESSAGE_MAX: usize = 400;

/// `text` cut to `max` characters, saying how much was left out.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!(
            "{}… ({} more bytes)",
            &text[..i],
            text.len().saturating_sub(i)
        ),
        None => text.to_string(),
    }
}

/// Parses and validates a walkthrough from text; `path` is used in errors.
pub fn parse_str(path: &Path, text: &str) -> Result<Walkthrough, LoadError> {
    let lines = LineIndex::new(text);
    let err = |line: usize, message: String, hint: Option<&str>| LoadError {
        path: path.to_path_buf(),
        line,
        message: cut(&message, MESSAGE_MAX),
        hint: hint.map(|h| cut(h, MESSAGE_MAX)),
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_owned();
        let line = match e.span() {
            Some(s) => lines.line(s.start),
            // The parser gives no place when it gives up on depth: the deepest line is it.
            None => deepest_line(text),
        };
        let hint = if message.contains("unknown field") {
            Some("see the README's \"Writing a walkthrough\" for every key")
        } else if message.contains("missing field") {
            Some("a walkthrough needs a title and its program (program = \"PATH\", or scenario and language); a step needs a title")
        } else {
            None
        };
        err(line, message, hint)
    })?;

    fn key<'a>(lines: &LineIndex, k: &'a Option<Spanned<String>>) -> Option<(&'a str, usize)> {
        k.as_ref()
            .map(|v| (v.get_ref().as_str(), lines.line(v.span().start)))
    }
    let chosen = super::program::choose(
        path,
        key(&lines, &raw.scenario),
        key(&lines, &raw.program),
        key(&lines, &raw.bin),
        key(&lines, &raw.language),
    )
    .map_err(|(line, m, hint)| err(line, m, hint.as_deref()))?;
    let (scenario, language) = (chosen.scenario.clone(), chosen.language);

    let mut watch = Vec::new();
    for w in &raw.watch {
        let line = lines.line(w.span().start);
        let w = w.get_ref();
        if watch.iter().any(|x: &WatchSpec| x.name == w.name) {
            return Err(err(
                line,
                format!("watch {:?} is listed twice", w.name),
                None,
            ));
        }
        watch.push(WatchSpec {
            name: w.name.clone(),
            expr: w.expr.clone(),
            line,
        });
    }

    if raw.step.is_empty() {
        return Err(err(
            0,
            "a walkthrough needs at least one [[step]]".into(),
            None,
        ));
    }
    let mut steps = Vec::new();
    let mut ended = false;
    for (i, s) in raw.step.iter().enumerate() {
        let line = lines.line(s.span().start);
        if ended {
            return Err(err(
                line,
                "a step after the one that expects the program's end".into(),
                Some("`expect.end` must be on the last step"),
            ));
        }
        let s = s.get_ref();
        let marker = |v: &Spanned<String>| -> Result<Located<MarkerRef>, LoadError> {
            let l = lines.line(v.span().start);
            let value = MarkerRef::parse(v.get_ref()).map_err(|m| {
                err(
                    l,
                    m,
                    Some("breakpoints name source markers (`// @bp NAME`), never line numbers"),
                )
            })?;
            check_track(language, &value).map_err(|m| err(l, m, None))?;
            Ok(Located { value, line: l })
        };
        let breakpoints = s.breakpoints.iter().map(marker).collect::<Result<_, _>>()?;
        // In the order written: the first thread is the one the step then looks from.
        let mut written: Vec<(&String, &Spanned<String>)> = s.wait_for.iter().collect();
        written.sort_by_key(|(_, m)| m.span().start);
        let mut wait_for = Vec::new();
        for (thread, m) in written {
            wait_for.push((thread.clone(), marker(m)?));
        }
        let clear = s.clear.iter().map(marker).collect::<Result<_, _>>()?;
        let action = match &s.action {
            None if i == 0 => Action::Start,
            None => Action::Stay,
            Some(a) => Action::parse(a.get_ref()).ok_or_else(|| {
                err(
                    lines.line(a.span().start),
                    format!("unknown action {:?}", a.get_ref()),
                    Some(&format!("`do` is one of: {}", Action::NAMES.join(", "))),
                )
            })?,
        };
        if i == 0 && action != Action::Start {
            return Err(err(
                line,
                format!(
                    "the first step must start the program, not {:?}",
                    action.as_str()
                ),
                Some("leave `do` out on the first step, or write do = \"start\""),
            ));
        }
        if i > 0 && action == Action::Start {
            return Err(err(
                line,
                "only the first step starts the program".into(),
                None,
            ));
        }
        let expect = match &s.expect {
            None => Expect::default(),
            Some(e) => convert_expect(e, &watch, &lines, &err, &mut ended)?,
        };
        let timeout = match &s.timeout {
            None => None,
            Some(t) if *t.get_ref() > 0.0 && *t.get_ref() <= 600.0 => {
                Some(std::time::Duration::from_secs_f64(*t.get_ref()))
            }
            Some(t) => {
                return Err(err(
                    lines.line(t.span().start),
                    format!("timeout {} is out of range", t.get_ref()),
                    Some("seconds, more than 0 and at most 600"),
                ))
            }
        };
        steps.push(Step {
            line,
            timeout,
            title: s.title.clone(),
            say: s.say.trim().to_owned(),
            breakpoints,
            clear,
            function_breakpoints: s.function_break.clone(),
            action,
            thread: s.thread.clone(),
            hold: s.hold.clone(),
            evaluate: s.evaluate.clone(),
            exceptions: s.exceptions.clone(),
            wait_for,
            expect,
        });
    }

    if !ended {
        let last = raw
            .step
            .last()
            .map(|s| lines.line(s.span().start))
            .unwrap_or(0);
        return Err(err(
            last,
            "no step expects the program's end: the walkthrough stops short (cut off?)".into(),
            Some("the last step says how the program ends: expect.end = \"hang\" or expect.end = { exit = 0 }"),
        ));
    }

    Ok(Walkthrough {
        path: path.to_path_buf(),
        title: raw.title.into_inner(),
        scenario,
        program: chosen.program,
        program_line: chosen.line,
        language,
        intro: raw.intro.trim().to_owned(),
        env: raw.env.into_iter().collect(),
        launch: raw
            .launch
            .into_iter()
            .map(|(k, v)| (k, toml_to_json(v)))
            .collect(),
        watch,
        steps,
    })
}

/// Port markers exist only on the Rust track, stdlib ones only on the Python track.
fn check_track(language: Language, value: &MarkerRef) -> Result<(), String> {
    match (language, value) {
        (Language::Python, MarkerRef::Port(_)) => {
            Err(format!("{value}: port markers exist only in the Rust port"))
        }
        (Language::Rust, MarkerRef::Stdlib(_)) => Err(format!(
            "{value}: stdlib markers exist only on the Python track (the Rust port's are port:NAME)"
        )),
        _ => Ok(()),
    }
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => J::from(f),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            J::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

fn convert_expect(
    e: &RawExpect,
    watch: &[WatchSpec],
    lines: &LineIndex,
    err: &dyn Fn(usize, String, Option<&str>) -> LoadError,
    ended: &mut bool,
) -> Result<Expect, LoadError> {
    let loc = |s: &std::ops::Range<usize>| lines.line(s.start);
    let mut out = Expect::default();
    if let Some(st) = &e.stopped {
        let at = match &st.get_ref().at {
            None => None,
            Some(a) => Some(MarkerRef::parse(a).map_err(|m| err(loc(&st.span()), m, None))?),
        };
        out.stopped = Some(Located {
            value: ExpectStop {
                thread: st.get_ref().thread.clone(),
                reason: st.get_ref().reason.clone(),
                at,
                description: st.get_ref().description.clone(),
            },
            line: loc(&st.span()),
        });
    }
    for (thread, frames) in &e.stacks {
        if frames.get_ref().is_empty() {
            return Err(err(
                loc(&frames.span()),
                format!("the expected stack of {thread:?} is empty"),
                Some("list the user frames that must appear, innermost first"),
            ));
        }
        out.stacks.insert(
            thread.clone(),
            Located {
                value: frames.get_ref().clone(),
                line: loc(&frames.span()),
            },
        );
    }
    for (name, v) in &e.watch {
        if !watch.iter().any(|w| &w.name == name) {
            let known: Vec<&str> = watch.iter().map(|w| w.name.as_str()).collect();
            return Err(err(
                loc(&v.span()),
                format!("expects watch {name:?}, which the walkthrough does not declare"),
                Some(&format!(
                    "declare it in a [[watch]] table; declared: {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )),
            ));
        }
        let text = match v.get_ref() {
            RawValue::Bool(b) => b.to_string(),
            RawValue::Int(i) => i.to_string(),
            RawValue::Text(t) => t.clone(),
        };
        out.watch.insert(
            name.clone(),
            Located {
                value: text,
                line: loc(&v.span()),
            },
        );
    }
    let lines_of = |v: &Option<Spanned<Vec<String>>>| {
        v.as_ref().map(|s| Located {
            value: s.get_ref().clone(),
            line: loc(&s.span()),
        })
    };
    out.threads = lines_of(&e.threads);
    out.stdout = lines_of(&e.stdout);
    out.stderr = lines_of(&e.stderr);
    out.evaluate = lines_of(&e.evaluate);
    out.waits = lines_of(&e.waits);
    out.cycle = lines_of(&e.cycle);
    if let Some(end) = &e.end {
        let line = loc(&end.span());
        let how = "write end = \"hang\" or end = { exit = 0 }";
        let value = match end.get_ref() {
            toml::Value::String(w) if w == "hang" => ExpectEnd::Hang,
            toml::Value::String(w) => {
                return Err(err(line, format!("unknown end {w:?}"), Some(how)));
            }
            toml::Value::Table(t) => {
                if let Some(k) = t.keys().find(|k| !END_KEYS.contains(&k.as_str())) {
                    return Err(err(
                        line,
                        format!("unknown key {k:?} in expect.end"),
                        Some(&format!(
                            "the keys of expect.end are: {}; {how}",
                            END_KEYS.join(", ")
                        )),
                    ));
                }
                match t.get("exit") {
                    Some(toml::Value::Integer(code)) => ExpectEnd::Exit(*code),
                    Some(other) => {
                        return Err(err(
                            line,
                            format!(
                                "expect.end's exit is a {}, not an integer",
                                other.type_str()
                            ),
                            Some(how),
                        ))
                    }
                    None => return Err(err(line, "expect.end has no exit code".into(), Some(how))),
                }
            }
            other => {
                return Err(err(
                    line,
                    format!("expect.end is a {}", other.type_str()),
                    Some(how),
                ))
            }
        };
        *ended = true;
        out.end = Some(Located {
            value,
            line: loc(&end.span()),
        });
    }
    Ok(out)
}

/// The 1-based line where brackets, braces and dots of keys nest deepest: where a parser
/// that stopped for depth gave up.
fn deepest_line(text: &str) -> usize {
    let mut depth: usize = 0;
    let (mut best, mut best_line) = (0, 0);
    for (i, line) in text.lines().enumerate() {
        let mut dots = 0;
        for c in line.chars() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                '.' => dots += 1,
                _ => {}
            }
        }
        if depth + dots > best {
            best = depth + dots;
            best_line = i + 1;
        }
    }
    best_line
}

/// Reads a walkthrough's bytes as text; invalid UTF-8 is reported at its line and byte.
pub(crate) fn utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, LoadError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let column = good.len() - good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
        LoadError {
            path: path.to_path_buf(),
            line,
            message: format!(
                "invalid UTF-8 at byte {} (column {column} of the line)",
                e.valid_up_to()
            ),
            hint: Some("walkthroughs are UTF-8 text".into()),
        }
    })
}

/// Byte offset → 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
title = "No deadlock"
scenario = "no_deadlock"
language = "rust"
intro = "The exit hook wins."

[[watch]]
name = "_shutdown"
expr = "global_shutdown"

[[step]]
title = "Break where the flag is set"
break = ["port:exit-flag-store", "inner-submit"]
expect.stopped = { thread = "MainThread", reason = "breakpoint", at = "port:exit-flag-store" }
expect.watch = { _shutdown = false }

[[step]]
title = "Run to the end"
do = "continue"
expect.end = { exit = 0 }
"#;

    fn parse(text: &str) -> Result<Walkthrough, LoadError> {
        parse_str(Path::new("walkthroughs/x.toml"), text)
    }

    #[test]
    fn parses_a_complete_walkthrough() {
        let w = parse(GOOD).expect("valid");
        assert_eq!(w.scenario, "no_deadlock");
        assert_eq!(w.steps.len(), 2);
        assert_eq!(w.steps[0].action, Action::Start);
        assert_eq!(w.steps[0].line, 11);
        assert_eq!(
            w.steps[0].breakpoints[0].value,
            MarkerRef::Port("exit-flag-store".into())
        );
        assert_eq!(w.steps[0].expect.watch["_shutdown"].value, "false");
        assert_eq!(
            w.steps[1].expect.end.as_ref().map(|e| &e.value),
            Some(&ExpectEnd::Exit(0))
        );
    }

    #[test]
    fn a_typo_is_an_error_with_its_line() {
        let bad = GOOD.replace("expect.watch", "expect.wacth");
        let e = parse(&bad).expect_err("typo");
        assert_eq!(e.line, 15, "{e}");
        assert!(e.message.contains("wacth"), "{e}");
        assert!(e.to_string().starts_with("walkthroughs/x.toml:15: "), "{e}");
    }

    #[test]
    fn a_line_number_instead_of_a_marker_is_refused() {
        let bad = GOOD.replace("\"inner-submit\"", "\"thread.rs:120\"");
        let e = parse(&bad).expect_err("line number");
        assert_eq!(e.line, 13, "{e}");
        assert!(e
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("never line numbers"));
    }

    #[test]
    fn undeclared_watch_names_are_refused() {
        let bad = GOOD.replace("{ _shutdown = false }", "{ shutdown = false }");
        let e = parse(&bad).expect_err("undeclared");
        assert_eq!(e.line, 15, "{e}");
        assert!(e.hint.as_deref().unwrap_or("").contains("_shutdown"));
    }

    #[test]
    fn unknown_actions_list_the_known_ones() {
        let bad = GOOD.replace("do = \"continue\"", "do = \"run\"");
        let e = parse(&bad).expect_err("action");
        assert_eq!(e.line, 19);
        assert!(e.hint.as_deref().unwrap_or("").contains("step-out"));
    }

    #[test]
    fn end_must_be_last() {
        let bad = format!("{GOOD}\n[[step]]\ntitle = \"after the end\"\n");
        let e = parse(&bad).expect_err("after end");
        assert!(e.message.contains("after"), "{e}");
    }

    #[test]
    fn hang_is_an_end() {
        let w = parse(&GOOD.replace("{ exit = 0 }", "\"hang\"")).expect("valid");
        assert_eq!(
            w.steps[1].expect.end.as_ref().map(|e| &e.value),
            Some(&ExpectEnd::Hang)
        );
    }

    #[test]
    fn unknown_keys_in_end_are_refused_with_the_known_ones() {
        for bad in [
            "{ exit = 0, hang = true }",
            "{ exit = 0, cdoe = 1 }",
            "{ exti = 0 }",
        ] {
            let e = parse(&GOOD.replace("{ exit = 0 }", bad)).expect_err(bad);
            assert_eq!(e.line, 20, "{bad}: {e}");
            assert!(e.message.contains("unknown key"), "{bad}: {e}");
            assert!(
                e.hint.as_deref().unwrap_or("").contains("exit"),
                "{bad}: {e}"
            );
        }
        let e = parse(&GOOD.replace("{ exit = 0 }", "{ exit = \"0\" }")).expect_err("type");
        assert!(e.message.contains("not an integer"), "{e}");
    }

    #[test]
    fn unknown_keys_of_every_table_list_the_known_ones() {
        for (from, to, line) in [
            ("intro =", "intr =", 5),
            ("expr =", "exp =", 9),
            ("break =", "brake =", 13),
            ("reason =", "raeson =", 14),
            ("expect.end", "expect.ends", 20),
        ] {
            let e = parse(&GOOD.replacen(from, to, 1)).expect_err(to);
            assert_eq!(e.line, line, "{to}: {e}");
            assert!(e.message.contains("unknown field"), "{to}: {e}");
            assert!(
                e.message.contains("expected"),
                "the known keys are listed: {e}"
            );
        }
    }

    #[test]
    fn a_walkthrough_cut_before_its_end_is_refused() {
        let cut_short = &GOOD[..GOOD.find("[[step]]\ntitle = \"Run").expect("second step")];
        let e = parse(cut_short).expect_err("cut");
        assert_eq!(e.line, 11, "{e}");
        assert!(
            e.message.contains("no step expects the program's end"),
            "{e}"
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let huge = "x".repeat(8_000_000);
        let e = parse(&GOOD.replace("do = \"continue\"", &format!("do = \"{huge}\"")))
            .expect_err("huge");
        assert!(
            e.to_string().len() < 2 * MESSAGE_MAX,
            "{} bytes",
            e.to_string().len()
        );
        assert!(e.message.contains("more bytes"), "{}", &e.message[..100]);
        let e = parse(&GOOD.replace("title = \"Run to the end\"", &format!("title = {huge}")))
            .expect_err("huge bare value");
        assert!(
            e.to_string().len() < 2 * MESSAGE_MAX,
            "{} bytes",
            e.to_string().len()
        );
    }

    #[test]
    fn invalid_utf8_is_reported_at_its_line_and_byte() {
        let mut bytes = GOOD.as_bytes().to_vec();
        let at = GOOD.find("The exit hook").expect("intro");
        bytes[at] = 0xff;
        let e = utf8(Path::new("w.toml"), &bytes).expect_err("invalid");
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains(&format!("byte {at}")), "{e}");
        assert!(e.message.contains("column 10"), "{e}");
    }

    #[test]
    fn deep_nesting_is_reported_at_a_line() {
        let deep = format!(
            "{}\n[[step]]\ntitle = \"x\"\n{} = 1\n",
            &GOOD[..GOOD.find("[[watch]]").expect("watch")],
            vec!["a"; 5000].join(".")
        );
        let e = parse(&deep).expect_err("deep");
        assert!(e.line > 0, "{e}");
        let deep = format!("title = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
        let e = parse(&deep).expect_err("deep arrays");
        assert_eq!(e.line, 1, "{e}");
    }
}
