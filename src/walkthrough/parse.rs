//! Reading a walkthrough file: TOML in, a [`Walkthrough`] out, or every mistake of the file,
//! each at its line with a hint.
//!
//! The file is read key by key ([`super::fields`]): a key's type is checked with words that
//! say what it takes (`break takes marker names as strings, like ["inner-submit"]`), every
//! enum-like value (`language`, `do`, `reason`, `end`) is checked here, before any debugger
//! starts, and reading goes on after a mistake so that one run shows them all. Adding a key
//! is one line in the table it belongs to, plus the model field it fills.

#[cfg(test)]
use super::fields::MESSAGE_MAX;
use super::fields::{self, closest, Shape, Sink, Table, Val};
use super::program::Written;
use super::{
    Action, Expect, ExpectEnd, ExpectStop, Language, Located, MarkerRef, Step, Walkthrough,
    WatchSpec,
};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

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

/// Reads and validates one walkthrough file; the first error if there are any (see
/// [`read`] for all of them).
pub fn load(path: &Path) -> Result<Walkthrough, LoadError> {
    first(read(path))
}

/// Parses a walkthrough from text; `path` is used in errors. The first error if there are
/// any (see [`parse_text`] for all of them).
pub fn parse_str(path: &Path, text: &str) -> Result<Walkthrough, LoadError> {
    first(match parse_text(path, text) {
        (Some(w), errs) if errs.is_empty() => Ok(w),
        (_, errs) => Err(errs),
    })
}

fn first(r: Result<Walkthrough, Vec<LoadError>>) -> Result<Walkthrough, LoadError> {
    r.map_err(|mut errs| errs.remove(0))
}

/// Reads one walkthrough file: the walkthrough, or every error of the file.
pub fn read(path: &Path) -> Result<Walkthrough, Vec<LoadError>> {
    match read_partial(path) {
        (Some(w), errs) if errs.is_empty() => Ok(w),
        (_, errs) => Err(errs),
    }
}

/// Reads one walkthrough file as far as it goes: what could be read (for checking its
/// markers too) and every error found. No errors means the walkthrough is complete.
pub fn read_partial(path: &Path) -> (Option<Walkthrough>, Vec<LoadError>) {
    let whole = |message: String| LoadError {
        path: path.to_path_buf(),
        line: 0,
        message,
        hint: None,
    };
    // A named pipe or a device would block the read (or never end); only files are read.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return (
                None,
                vec![whole(
                    "not a regular file (a named pipe, a device or a folder?)".into(),
                )],
            );
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (None, vec![whole(format!("cannot read: {e}"))]),
    };
    match utf8(path, &bytes) {
        Ok(text) => parse_text(path, text),
        Err(e) => (None, vec![e]),
    }
}

// What each key takes, as its type errors say it.
const TEXT: Shape = Shape::new("a string", "\"...\"");
const TITLE: Shape = Shape::new("a string", "\"Main reaches f.result()\"");
const SCENARIO: Shape =
    Shape::new("a program's name", "\"force_deadlock\"").hint(super::program::SCENARIO_HINT);
const PROGRAM: Shape = Shape::new("a path", "\"force_deadlock.py\"")
    .hint("a script, a cargo package or an executable, relative to this file");
const BIN: Shape = Shape::new("a binary's name", "\"philosophers\"")
    .hint("bin picks one binary of the cargo package that program names");
const LANGUAGE: Shape = Shape::new("\"rust\" or \"python\"", "\"rust\"")
    .hint("language is \"rust\" (lldb-dap, CodeLLDB) or \"python\" (debugpy); with program = \"PATH\" it may be left out");
const ENV: Shape = Shape::new("a table of strings", "{ ALWAYS_DEADLOCK_SLEEP = \"1\" }")
    .hint("environment values are text: quote numbers");
const ENV_VALUE: Shape =
    Shape::new("a string", "\"1\"").hint("environment values are text: quote numbers");
const LAUNCH: Shape = Shape::new(
    "a table of launch keys",
    "{ stopAllThreadsOnSuspend = false }",
);
const WATCHES: Shape = Shape::new(
    "[[watch]] tables",
    "[[watch]] name = \"_shutdown\" expr = \"global_shutdown\"",
);
const STEPS: Shape = Shape::new("[[step]] tables", "[[step]] title = \"...\"");
const MARKERS: Shape = Shape::new("marker names as strings", "[\"inner-submit\"]");
const FUNCTIONS: Shape = Shape::new("function names as strings", "[\"Future::result\"]");
const ACTION: Shape = Shape::new("an action's name", "\"continue\"");
const THREAD: Shape = Shape::new("a thread's name", "\"MainThread\"");
const THREADS: Shape = Shape::new("thread names as strings", "[\"MainThread\"]");
const EXPRESSIONS: Shape = Shape::new("expressions as strings", "[\"len(_threads_queues)\"]");
const EXCEPTIONS: Shape = Shape::new("exception class names as strings", "[\"RuntimeError\"]");
const WAIT_FOR: Shape = Shape::new(
    "a table of thread names to markers",
    "{ \"ThreadPoolExecutor-0_0\" = \"inner-submit\" }",
);
const WAIT_MARKER: Shape = Shape::new("a marker name", "\"inner-submit\"");
const TIMEOUT: Shape =
    Shape::new("a number of seconds", "5").hint("seconds, more than 0 and at most 600");
const EXPECT: Shape = Shape::new(
    "a table of expectations",
    "expect.stopped = { reason = \"breakpoint\" }",
);
const STOPPED: Shape = Shape::new(
    "a table",
    "{ thread = \"MainThread\", reason = \"breakpoint\", at = \"inner-submit\" }",
);
const REASON: Shape = Shape::new("a stop reason", "\"breakpoint\"");
const AT: Shape = Shape::new("a marker name", "\"inner-submit\"");
const STACKS: Shape = Shape::new(
    "a table of thread names to frames",
    "expect.stacks.MainThread = [\"Future::result\", \"main\"]",
);
const FRAMES: Shape = Shape::new(
    "frame names as strings, innermost first",
    "[\"Future::result\", \"main\"]",
);
const LINES: Shape = Shape::new("lines as strings", "[\"25\"]");
const WATCH_VALUES: Shape = Shape::new("a table of watch names to values", "{ _shutdown = false }");
const WATCH_VALUE: Shape = Shape::new("true, false, a whole number or a string", "false")
    .hint("watch values are compared as the debugger renders them");
const END: Shape = Shape::new("\"hang\" or { exit = CODE }", "{ exit = 0 }")
    .hint("the last step says how the program ends: end = \"hang\" or end = { exit = 0 }");
const EXIT: Shape = Shape::new("a number", "0")
    .hint("the code the program exits with: end = { exit = 0 }; a deadlock is end = \"hang\"");

/// DAP's stop reasons (the `stopped` event's `reason`), as walkthroughs name them.
pub const REASONS: &[&str] = &[
    "breakpoint",
    "step",
    "pause",
    "exception",
    "entry",
    "goto",
    "function breakpoint",
    "data breakpoint",
    "instruction breakpoint",
];

/// Linux keeps this many bytes of a thread's name; LLDB shows no more.
const LINUX_THREAD_NAME_MAX: usize = 15;

/// Parses a walkthrough from text as far as it goes: what could be read and every error.
pub fn parse_text(path: &Path, text: &str) -> (Option<Walkthrough>, Vec<LoadError>) {
    let mut sink = Sink::new(path, text);
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // What the parser recovered after a syntax error is a guess: only the syntax is said.
        for e in syntax {
            let line = match e.span() {
                Some(s) => sink.line(s.start),
                // The parser gives no place when it gives up on depth: the deepest line is it.
                None => deepest_line(text),
            };
            sink.at_line(line, e.message().trim().to_owned(), None);
        }
        return (None, sink.errors);
    }
    let w = walkthrough(&mut sink, path, doc.get_ref());
    (w, sink.errors)
}

fn walkthrough(sink: &mut Sink, path: &Path, doc: &DeTable<'_>) -> Option<Walkthrough> {
    let mut top = Table::root(doc, "the walkthrough");
    let title = top.required(sink, "title", TITLE);
    // The program: one of the project's scenarios, or one named by path (see `program.rs`).
    let scenario = top.string(sink, "scenario", SCENARIO);
    let program = top.string(sink, "program", PROGRAM);
    let bin = top.string(sink, "bin", BIN);
    let language = top.string(sink, "language", LANGUAGE);
    // A key written with a value it cannot take, or misspelt, is reported once as such.
    let unreadable = |key: &str, read: bool| !read && (doc.get(key).is_some() || top.misspelt(key));
    // Written but not read (a wrong type, a misspelt key) or not a track: said once.
    let language_said = language.is_some() || unreadable("language", false);
    let program_unread = unreadable("scenario", scenario.is_some())
        || unreadable("program", program.is_some())
        || unreadable("bin", bin.is_some());
    let intro = top.string(sink, "intro", TEXT);
    let env = top
        .table(sink, "env", "env", ENV)
        .map(|t| string_table(sink, t, "env", ENV_VALUE))
        .unwrap_or_default();
    let launch = top
        .table(sink, "launch", "launch", LAUNCH)
        .map(|mut t| {
            let entries = t.entries(sink);
            t.accept_all();
            entries
                .into_iter()
                .map(|(k, v)| (k.value, to_json(v.get_ref())))
                .collect::<serde_json::Map<_, _>>()
        })
        .unwrap_or_default();
    let watch_tables = top.get("watch");
    let step_tables = top.get("step");
    top.finish(
        sink,
        &[
            ("steps", "each step is a [[step]] table"),
            ("break", "break goes on a [[step]]"),
            ("do", "do goes on a [[step]]"),
            ("expect", "expectations go on a [[step]]"),
        ],
    );

    let language = language.and_then(|l| match super::program::parse_language(&l.value) {
        Some(language) => Some(language),
        None => {
            let other = l.value.as_str();
            let near = closest(other, &["rust", "python"]);
            sink.at_line(
                l.line,
                match near {
                    Some(n) => format!("unknown language {other:?}; did you mean {n:?}?"),
                    None => format!("unknown language {other:?}"),
                },
                LANGUAGE.hint.map(str::to_owned),
            );
            None
        }
    });
    let written = match language {
        Some(l) => Written::Is(l),
        None if language_said => Written::Wrong,
        None => Written::Absent,
    };
    let chosen = if program_unread {
        None
    } else {
        match super::program::choose(path, key(&scenario), key(&program), key(&bin), written) {
            Ok(c) => Some(c),
            Err(errors) => {
                for (line, message, hint) in errors {
                    sink.at_line(line, message, hint);
                }
                None
            }
        }
    };

    let mut watch: Vec<WatchSpec> = Vec::new();
    for item in array_of_tables(sink, watch_tables, "watch", WATCHES) {
        let Some(mut t) = Table::of(sink, item, "watch", "a [[watch]]", WATCHES) else {
            continue;
        };
        let line = sink.line(t.at);
        let name = t.required(sink, "name", Shape::new("a string", "\"_shutdown\""));
        let expr = t.required(sink, "expr", Shape::new("a string", "\"global_shutdown\""));
        t.finish(sink, &[]);
        let (Some(name), Some(expr)) = (name, expr) else {
            continue;
        };
        if watch.iter().any(|x| x.name == name.value) {
            sink.at_line(
                name.line,
                format!("watch {:?} is listed twice", name.value),
                None,
            );
            continue;
        }
        watch.push(WatchSpec {
            name: name.value,
            expr: expr.value,
            line,
        });
    }

    let step_items = array_of_tables(sink, step_tables, "step", STEPS);
    if step_items.is_empty() {
        sink.at_line(
            0,
            "a walkthrough needs at least one [[step]]",
            Some("each step is a [[step]] table with a title; the last one expects the program's end".into()),
        );
    }
    let ctx = Context {
        language: chosen.as_ref().map(|c| c.language).or(language),
        own: chosen
            .as_ref()
            .map_or(program.is_some(), |c| c.program.is_some()),
        watch: &watch,
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut ended_at: Option<usize> = None;
    for (i, item) in step_items.iter().enumerate() {
        let Some(t) = Table::of(sink, item, "step", "a step", STEPS) else {
            continue;
        };
        let line = sink.line(t.at);
        if let Some(end_step) = ended_at {
            sink.at_line(
                line,
                format!(
                    "a step after the one that expects the program's end (step {})",
                    end_step + 1
                ),
                Some("`expect.end` must be on the last step".into()),
            );
        }
        let (step, ends) = step(sink, &ctx, t, i);
        if let Some(prev) = steps
            .iter()
            .find(|s| s.title == step.title && !step.title.is_empty())
        {
            sink.at_line(
                step.line,
                format!(
                    "step {} has the same title as the step at line {}: {:?}",
                    i + 1,
                    prev.line,
                    step.title
                ),
                Some("reports and the presenter name steps by their titles: make each one say what it shows".into()),
            );
        }
        if ends && ended_at.is_none() {
            ended_at = Some(i);
        }
        steps.push(step);
    }
    if ended_at.is_none() && !step_items.is_empty() {
        let last = steps.last().map(|s| s.line).unwrap_or(0);
        sink.at_line(
            last,
            "no step expects the program's end: the walkthrough stops short (cut off?)",
            Some("the last step says how the program ends: expect.end = \"hang\" or expect.end = { exit = 0 }".into()),
        );
    }

    let chosen = chosen?;
    Some(Walkthrough {
        path: path.to_path_buf(),
        title: title?.value,
        scenario: chosen.scenario,
        program: chosen.program,
        program_line: chosen.line,
        language: chosen.language,
        intro: intro.map(|i| i.value.trim().to_owned()).unwrap_or_default(),
        env,
        launch,
        watch,
        steps,
    })
}

/// What reading a step needs from the rest of the file.
struct Context<'a> {
    /// `None` when the file's language is wrong: hints then name both tracks.
    language: Option<Language>,
    /// The program is named by path, not one of the project's scenarios: it has no port
    /// markers, and `file:` patterns break in files it may not edit.
    own: bool,
    watch: &'a [WatchSpec],
}

/// One `[[step]]`; returns the step (with what could not be read left at its default) and
/// whether it expects the program's end.
fn step(sink: &mut Sink, ctx: &Context, mut t: Table, index: usize) -> (Step, bool) {
    let line = sink.line(t.at);
    let at = t.at;
    let title = t.required(sink, "title", TITLE);
    let say = t.string(sink, "say", TEXT);
    let breakpoints = markers(sink, ctx, t.get("break"), "break");
    let clear = markers(sink, ctx, t.get("clear"), "clear");
    let function_breakpoints = t.strings(sink, "function_break", FUNCTIONS);
    let action = t.string(sink, "do", ACTION);
    let thread = t.string(sink, "thread", THREAD);
    let hold = t.strings(sink, "hold", THREADS);
    let evaluate = t.strings(sink, "evaluate", EXPRESSIONS);
    let exceptions = t.strings(sink, "exceptions", EXCEPTIONS);
    let wait_for = t.table(sink, "wait_for", "wait_for", WAIT_FOR).map(|w| {
        let entries = w.entries(sink);
        entries
            .into_iter()
            .filter_map(|(thread, v)| {
                check_thread(sink, ctx, &thread);
                let m = fields::string(sink, v, &thread.value, WAIT_MARKER)?;
                Some((thread.value, marker(sink, ctx, &m)?))
            })
            .collect::<Vec<_>>()
    });
    let timeout = t.get("timeout").and_then(|v| {
        let n = fields::number(sink, v, "timeout", TIMEOUT)?;
        if n.value > 0.0 && n.value <= 600.0 {
            Some(std::time::Duration::from_secs_f64(n.value))
        } else {
            sink.at_line(
                n.line,
                format!("timeout {} is out of range", n.value),
                TIMEOUT.hint.map(str::to_owned),
            );
            None
        }
    });
    let expect_table = t.table(sink, "expect", "expect", EXPECT);
    t.finish(
        sink,
        &[
            ("stopped", "expectations go under expect: expect.stopped = { ... }"),
            ("stacks", "expectations go under expect: expect.stacks.THREAD = [...]"),
            ("watch", "expectations go under expect: expect.watch = { NAME = VALUE }; a [[watch]] table declares one"),
            ("end", "expectations go under expect: expect.end = \"hang\" or expect.end = { exit = 0 }"),
            ("reason", "the stop reason goes in expect.stopped = { reason = \"breakpoint\" }"),
            ("at", "the stop's marker goes in expect.stopped = { at = \"NAME\" }"),
            ("line", "breakpoints name markers, never line numbers: break = [\"NAME\"]"),
            ("breakpoints", "breakpoints are written break = [\"NAME\"]"),
            ("action", "the action is written do = \"continue\""),
        ],
    );

    // Errors about the action point at `do` when it is written, else at the step.
    let do_line = action.as_ref().map_or(line, |a| a.line);
    let action = match action {
        None if index == 0 => Action::Start,
        None => Action::Stay,
        Some(a) => match Action::parse(&a.value) {
            Some(action) => action,
            None => {
                sink.at_line(
                    a.line,
                    match closest(&a.value, Action::NAMES) {
                        Some(n) => format!("unknown action {:?}; did you mean {n:?}?", a.value),
                        None => format!("unknown action {:?}", a.value),
                    },
                    Some(format!("`do` is one of: {}", Action::NAMES.join(", "))),
                );
                if index == 0 {
                    Action::Start
                } else {
                    Action::Stay
                }
            }
        },
    };
    if index == 0 && action != Action::Start {
        sink.at_line(
            do_line,
            format!(
                "the first step must start the program, not {:?}",
                action.as_str()
            ),
            Some("leave `do` out on the first step, or write do = \"start\"".into()),
        );
    }
    if index > 0 && action == Action::Start {
        sink.at_line(do_line, "only the first step starts the program", None);
    }
    if let Some(th) = &thread {
        check_thread(sink, ctx, th);
    }
    for h in hold.iter().flatten() {
        check_thread(sink, ctx, h);
    }
    if let Some(first) = hold.iter().flatten().next() {
        if ctx.language == Some(Language::Python) {
            sink.at_line(
                first.line,
                "`hold` needs an LLDB adapter: debugpy's continue resumes every thread",
                Some("in debugpy's non-stop mode (launch = { stopAllThreadsOnSuspend = false }) line the threads up with wait_for, then continue".into()),
            );
        } else if action != Action::Continue {
            sink.at_line(
                first.line,
                format!(
                    "`hold` goes with do = \"continue\", not {:?}",
                    action.as_str()
                ),
                None,
            );
        }
    }

    let mut ends = false;
    let expect = match expect_table {
        None => Expect::default(),
        Some(e) => expect(sink, ctx, e, &mut ends),
    };
    let step = Step {
        line,
        timeout,
        title: title.map(|t| t.value).unwrap_or_default(),
        say: say.map(|s| s.value.trim().to_owned()).unwrap_or_default(),
        breakpoints,
        clear,
        function_breakpoints: values(function_breakpoints),
        action,
        thread: thread.map(|t| t.value),
        hold: values(hold),
        evaluate: values(evaluate),
        exceptions: exceptions.map(|e| e.into_iter().map(|x| x.value).collect()),
        wait_for: wait_for.unwrap_or_default(),
        expect,
    };
    let does_something = index == 0
        || step.action != Action::Stay
        || !step.breakpoints.is_empty()
        || !step.clear.is_empty()
        || !step.function_breakpoints.is_empty()
        || !step.evaluate.is_empty()
        || step.exceptions.is_some()
        || !step.wait_for.is_empty()
        || step.expect != Expect::default();
    if !does_something && !sink.errors.iter().any(|e| e.line >= sink.line(at)) {
        sink.at_line(
            line,
            format!("step {} does nothing and checks nothing", index + 1),
            Some("give it a `do`, a `break`, an `evaluate` or an `expect`, or fold its `say` into the step before".into()),
        );
    }
    (step, ends)
}

fn expect(sink: &mut Sink, ctx: &Context, mut e: Table, ends: &mut bool) -> Expect {
    let mut out = Expect::default();
    if let Some(mut st) = e.table(sink, "stopped", "expect.stopped", STOPPED) {
        let line = sink.line(st.at);
        let thread = st.string(sink, "thread", THREAD);
        let reason = st.string(sink, "reason", REASON);
        let at = st.string(sink, "at", AT);
        let description = st.string(sink, "description", TEXT);
        st.finish(
            sink,
            &[("marker", "the stop's marker is written at = \"NAME\"")],
        );
        if let Some(th) = &thread {
            check_thread(sink, ctx, th);
        }
        if let Some(r) = &reason {
            if !REASONS.contains(&r.value.as_str()) {
                sink.at_line(
                    r.line,
                    match closest(&r.value, REASONS) {
                        Some(n) => {
                            format!("unknown stop reason {:?}; did you mean {n:?}?", r.value)
                        }
                        None => format!("unknown stop reason {:?}", r.value),
                    },
                    Some(format!(
                        "a stop reason is one of DAP's: {}",
                        REASONS.join(", ")
                    )),
                );
            }
        }
        out.stopped = Some(Located {
            value: ExpectStop {
                thread: thread.map(|t| t.value),
                reason: reason.map(|r| r.value),
                at: at.and_then(|a| marker(sink, ctx, &a)).map(|m| m.value),
                description: description.map(|d| d.value),
            },
            line,
        });
    }
    if let Some(stacks) = e.table(sink, "stacks", "expect.stacks", STACKS) {
        let entries = stacks.entries(sink);
        for (thread, v) in entries {
            check_thread(sink, ctx, &thread);
            let Some(frames) =
                fields::strings(sink, v, &format!("the stack of {:?}", thread.value), FRAMES)
            else {
                continue;
            };
            let line = sink.line(v.span().start);
            if frames.is_empty() {
                sink.at_line(
                    line,
                    format!("the expected stack of {:?} is empty", thread.value),
                    Some("list the user frames that must appear, innermost first".into()),
                );
                continue;
            }
            out.stacks.insert(
                thread.value,
                Located {
                    value: frames.into_iter().map(|f| f.value).collect(),
                    line,
                },
            );
        }
    }
    if let Some(w) = e.table(sink, "watch", "expect.watch", WATCH_VALUES) {
        for (name, v) in w.entries(sink) {
            let line = sink.line(v.span().start);
            if !ctx.watch.iter().any(|x| x.name == name.value) {
                let known: Vec<&str> = ctx.watch.iter().map(|x| x.name.as_str()).collect();
                let near = closest(&name.value, &known);
                sink.at_line(
                    line,
                    match near {
                        Some(n) => format!("expects watch {:?}, which the walkthrough does not declare; did you mean {n:?}?", name.value),
                        None => format!("expects watch {:?}, which the walkthrough does not declare", name.value),
                    },
                    Some(format!(
                        "declare it in a [[watch]] table; declared: {}",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    )),
                );
                continue;
            }
            let text = match v.get_ref() {
                DeValue::Boolean(b) => b.to_string(),
                DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) => n.to_string(),
                    Err(_) => i.as_str().to_owned(),
                },
                DeValue::String(s) => s.to_string(),
                _ => {
                    fields::wrong(
                        sink,
                        v,
                        &format!("watch {:?}", name.value),
                        WATCH_VALUE,
                        None,
                    );
                    continue;
                }
            };
            out.watch.insert(name.value, Located { value: text, line });
        }
    }
    let mut list = |e: &mut Table, key: &'static str, shape: Shape| {
        let v = e.get(key)?;
        let items = fields::strings(sink, v, key, shape)?;
        Some(Located {
            value: items.into_iter().map(|i| i.value).collect(),
            line: sink.line(v.span().start),
        })
    };
    out.threads = list(&mut e, "threads", THREADS);
    out.stdout = list(&mut e, "stdout", LINES);
    out.stderr = list(&mut e, "stderr", LINES);
    out.evaluate = list(&mut e, "evaluate", LINES);
    out.waits = list(
        &mut e,
        "waits",
        Shape::new("lines as strings", "[\"MainThread joins TPExecutor-0_0\"]"),
    );
    out.cycle = list(&mut e, "cycle", THREADS);
    for t in out.threads.iter().chain(&out.cycle) {
        for name in &t.value {
            check_thread(
                sink,
                ctx,
                &Located {
                    value: name.clone(),
                    line: t.line,
                },
            );
        }
    }
    if let Some(v) = e.get("end") {
        // A wrong end is still an end: "no step expects the end" would only repeat it.
        *ends = true;
        out.end = end(sink, v).map(|value| Located {
            value,
            line: sink.line(v.span().start),
        });
    }
    e.finish(
        sink,
        &[
            ("exit", "the exit code goes in end = { exit = 0 }"),
            ("hang", "a deadlock is written end = \"hang\""),
        ],
    );
    out
}

fn end(sink: &mut Sink, v: &Val) -> Option<ExpectEnd> {
    match v.get_ref() {
        DeValue::String(w) if w == "hang" => Some(ExpectEnd::Hang),
        DeValue::String(w) => {
            let hint = if w.starts_with("exit") || w.parse::<i64>().is_ok() {
                "an exit is a table: end = { exit = 0 }".to_owned()
            } else {
                END.hint.unwrap_or_default().to_owned()
            };
            let message = match closest(w, &["hang"]) {
                Some(_) => format!("unknown end {:?}; did you mean \"hang\"?", w.as_ref()),
                None => format!("unknown end {:?}", w.as_ref()),
            };
            sink.at(v.span().start, message, Some(hint));
            None
        }
        DeValue::Table(_) => {
            let mut t = Table::of(sink, v, "end", "expect.end", END)?;
            let exit = t.get("exit");
            t.finish(
                sink,
                &[(
                    "hang",
                    "a deadlock is written end = \"hang\", not in a table",
                )],
            );
            match exit {
                Some(code) => fields::integer(sink, code, "exit", EXIT).map(ExpectEnd::Exit),
                None => {
                    sink.at(
                        v.span().start,
                        "expect.end has no exit code",
                        END.hint.map(str::to_owned),
                    );
                    None
                }
            }
        }
        _ => {
            fields::wrong(sink, v, "end", END, None);
            None
        }
    }
}

/// The elements of an array of tables (`[[step]]`), or an error if `key` is something else.
fn array_of_tables<'t, 'i>(
    sink: &mut Sink,
    v: Option<&'t Val<'i>>,
    key: &str,
    shape: Shape,
) -> Vec<&'t Val<'i>> {
    match v.map(|v| (v, v.get_ref())) {
        None => Vec::new(),
        Some((_, DeValue::Array(items))) => items.iter().collect(),
        Some((v, _)) => {
            fields::wrong(sink, v, key, shape, None);
            Vec::new()
        }
    }
}

fn string_table(sink: &mut Sink, t: Table, key: &str, shape: Shape) -> Vec<(String, String)> {
    let entries = t.entries(sink);
    entries
        .into_iter()
        .filter_map(|(k, v)| {
            let value = fields::string(sink, v, &format!("{key}.{}", k.value), shape)?;
            Some((k.value, value.value))
        })
        .collect()
}

fn values(v: Option<Vec<Located<String>>>) -> Vec<String> {
    v.unwrap_or_default().into_iter().map(|x| x.value).collect()
}

/// A key as [`super::program::choose`] reads it: its text and line.
fn key(k: &Option<Located<String>>) -> super::program::Key<'_> {
    k.as_ref().map(|v| (v.value.as_str(), v.line))
}

/// A list of markers (`break`, `clear`); a number in it is told why line numbers are refused.
fn markers(sink: &mut Sink, ctx: &Context, v: Option<&Val>, key: &str) -> Vec<Located<MarkerRef>> {
    let hint = marker_hint(ctx.language, ctx.own);
    v.and_then(|v| fields::strings_or(sink, v, key, MARKERS, Some(&hint)))
        .unwrap_or_default()
        .iter()
        .filter_map(|m| marker(sink, ctx, m))
        .collect()
}

/// How a track's markers are written, for hints; `own`: in a program named by path, which
/// has no port but may be broken on by text in files it may not edit.
pub(crate) fn marker_hint(language: Option<Language>, own: bool) -> String {
    let why = "line numbers are refused because a marker stays on its line when the file above it is edited";
    let file = "`file:PATH:TEXT` for the first line of one of the program's files that begins with TEXT (a file you may not edit)";
    let stdlib = "`stdlib:MODULE.py:TEXT` for the first line of a standard-library module that begins with TEXT (stdlib:concurrent/futures/thread.py:_shutdown = True)";
    match (language, own) {
        (Some(Language::Rust), false) => format!("breakpoints name source markers: a comment `// @bp NAME` on the line in the program, or `port:NAME` for one in scenarios/src/*.rs; {why}"),
        (Some(Language::Rust), true) => format!("breakpoints name source markers: a comment `// @bp NAME` on the line in any file of the program, or {file}; {why}"),
        (Some(Language::Python), false) => format!("breakpoints name source markers: a comment `# @bp NAME` on the line in the program, or {stdlib}; {why}"),
        (Some(Language::Python), true) => format!("breakpoints name source markers: a comment `# @bp NAME` on the line in any file of the program, {file}, or {stdlib}; {why}"),
        (None, _) => format!("breakpoints name source markers: a comment `// @bp NAME` (Rust) or `# @bp NAME` (Python) on the line; {why}"),
    }
}

/// A marker reference, or an error in the words of the mistake: a line number, the comment
/// pasted whole, the other track's comment or prefix.
fn marker(sink: &mut Sink, ctx: &Context, m: &Located<String>) -> Option<Located<MarkerRef>> {
    let s = m.value.trim();
    let hint = || Some(marker_hint(ctx.language, ctx.own));
    let number_at_end = s
        .rsplit([':', ' ', 'L'])
        .next()
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let looks_like_file = s.contains(".rs:") || s.contains(".py:") || s.starts_with("line ");
    if !s.starts_with("stdlib:")
        && (s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty()
            || number_at_end && looks_like_file)
    {
        sink.at_line(
            m.line,
            format!(
                "{:?} is a line number: breakpoints name markers, never line numbers",
                m.value
            ),
            hint(),
        );
        return None;
    }
    if let Some(pos) = s.find("@bp") {
        let name: String = s[pos + 3..]
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        let comment_form = match (ctx.language, s.starts_with("//"), s.starts_with('#')) {
            (Some(Language::Python), true, _) => {
                format!("; in a Python program the marker comment is `# @bp {name}`, not `//`")
            }
            (Some(Language::Rust), _, true) => {
                format!("; in a Rust program the marker comment is `// @bp {name}`, not `#`")
            }
            _ => String::new(),
        };
        sink.at_line(
            m.line,
            format!(
                "{:?} is the marker's comment: break names the marker alone, {name:?}{comment_form}",
                m.value
            ),
            hint(),
        );
        return None;
    }
    let value = match MarkerRef::parse(s) {
        Ok(v) => v,
        Err(e) => {
            sink.at_line(m.line, e, hint());
            return None;
        }
    };
    if let Some(lang) = ctx.language {
        if let Err(e) = check_track(lang, ctx.own, &value) {
            sink.at_line(m.line, e, hint());
            return None;
        }
    }
    Some(Located {
        value,
        line: m.line,
    })
}

/// Thread names that cannot be on this track: LLDB shows the kernel's name of a thread, at
/// most 15 bytes on Linux (the port names its workers `TPExecutor-N_M` for that reason).
fn check_thread(sink: &mut Sink, ctx: &Context, t: &Located<String>) {
    let name = t.value.as_str();
    if name.is_empty() {
        sink.at_line(
            t.line,
            "an empty thread name",
            Some("threads are named as the debugger shows them: MainThread, TPExecutor-0_0".into()),
        );
        return;
    }
    if ctx.language == Some(Language::Rust)
        && name != "MainThread"
        && name.len() > LINUX_THREAD_NAME_MAX
    {
        let suggestion = match name.strip_prefix("ThreadPoolExecutor-") {
            Some(rest) => format!("the port's workers are TPExecutor-{rest}"),
            None => format!("perhaps {:?}", cut_bytes(name, LINUX_THREAD_NAME_MAX)),
        };
        sink.at_line(
            t.line,
            format!("no Rust thread can be named {name:?}: Linux keeps only {LINUX_THREAD_NAME_MAX} bytes of a thread's name; {suggestion}"),
            Some("threads are named as the debugger shows them (MainThread for the main thread)".into()),
        );
    }
}

fn cut_bytes(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Port markers exist only on the Rust track of the project's scenarios, stdlib ones only on
/// the Python track.
fn check_track(language: Language, own: bool, value: &MarkerRef) -> Result<(), String> {
    match (language, value) {
        (Language::Python, MarkerRef::Port(_)) => {
            Err(format!("{value}: port markers exist only in the Rust port"))
        }
        (Language::Rust, MarkerRef::Port(_)) if own => Err(format!(
            "{value}: port markers exist only in the project's Rust port (scenarios/src/*.rs), not in a program named by path"
        )),
        (Language::Rust, MarkerRef::Stdlib(_)) => Err(format!(
            "{value}: stdlib markers exist only on the Python track (the Rust port's are port:NAME)"
        )),
        _ => Ok(()),
    }
}

/// A launch value as the adapter receives it.
fn to_json(v: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        DeValue::String(s) => J::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(J::from)
            .unwrap_or_else(|_| J::String(i.as_str().to_owned())),
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .map(J::from)
            .unwrap_or_else(|_| J::String(f.as_str().to_owned())),
        DeValue::Boolean(b) => J::Bool(*b),
        DeValue::Datetime(d) => J::String(d.to_string()),
        DeValue::Array(a) => J::Array(a.iter().map(|x| to_json(x.get_ref())).collect()),
        DeValue::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
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
        assert!(e.message.contains("never line numbers"), "{e}");
        assert!(
            e.hint.as_deref().unwrap_or("").contains("`// @bp NAME`"),
            "the Rust track's marker form: {e}"
        );
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
    fn every_error_of_a_file_is_reported_at_once_in_plain_words() {
        let bad = GOOD
            .replace(
                r#"break = ["port:exit-flag-store", "inner-submit"]"#,
                r#"break = [30, "inner-submit"]"#,
            )
            .replace(r#"reason = "breakpoint""#, r#"reason = "brekpoint""#)
            .replace("{ exit = 0 }", r#"{ exit = "zero" }"#);
        let (w, errs) = parse_text(Path::new("w.toml"), &bad);
        assert!(w.is_some(), "what parses is kept, to check its markers too");
        let said: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.message.as_str())).collect();
        assert_eq!(
            said,
            [
                (
                    13,
                    r#"break takes marker names as strings, like ["inner-submit"], not the number 30"#
                ),
                (
                    14,
                    r#"unknown stop reason "brekpoint"; did you mean "breakpoint"?"#
                ),
                (20, r#"exit takes a number, like 0, not the string "zero""#),
            ]
        );
        assert!(
            errs[0]
                .hint
                .as_deref()
                .unwrap_or("")
                .contains("line numbers are refused because"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn marker_hints_speak_the_track_s_comment() {
        let python = GOOD
            .replace(r#"language = "rust""#, r#"language = "python""#)
            .replace(r#""port:exit-flag-store", "#, "")
            .replace(r#"at = "port:exit-flag-store""#, r#"at = "inner-submit""#)
            .replace(r#""inner-submit"]"#, r#""// @bp inner-submit"]"#);
        let e = parse(&python).expect_err("a Rust comment in a Python walkthrough");
        assert!(e.message.contains("`# @bp inner-submit`, not `//`"), "{e}");
        let hint = e.hint.unwrap_or_default();
        assert!(
            hint.contains("# @bp NAME") && hint.contains("stdlib:"),
            "{hint}"
        );
    }

    #[test]
    fn a_program_named_by_path_replaces_scenario_and_is_read_with_the_same_care() {
        let own = GOOD.replace(
            "scenario = \"no_deadlock\"",
            "program = \"bin/no_deadlock\"",
        );
        // A program of one's own has no port markers; its hints say file: patterns.
        let errs = parse_text(Path::new("walkthroughs/x.toml"), &own).1;
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs.iter().all(|e| e.message.starts_with(
                "port:exit-flag-store: port markers exist only in the project's Rust port"
            ) && e
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("file:PATH:TEXT"))),
            "{errs:?}"
        );
        let own = own
            .replace(r#""port:exit-flag-store", "#, "")
            .replace(r#"at = "port:exit-flag-store""#, r#"at = "inner-submit""#);
        let w = parse(&own).expect("a program by path");
        assert_eq!(w.scenario, "no_deadlock");
        assert_eq!(w.program_line, 3);
        assert_eq!(
            w.program.map(|p| p.path),
            Some(PathBuf::from("walkthroughs/bin/no_deadlock"))
        );
        // A misspelt program key is said once, as an unknown key.
        let errs = parse_text(
            Path::new("x.toml"),
            &GOOD.replace("scenario = \"no_deadlock\"", "programm = \"x.py\""),
        )
        .1;
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].message.contains("did you mean `program`?"),
            "{errs:?}"
        );
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
            assert!(e.message.contains("unknown field"), "{bad}: {e}");
            assert!(
                e.hint.as_deref().unwrap_or("").contains("exit"),
                "{bad}: {e}"
            );
        }
        let e = parse(&GOOD.replace("{ exit = 0 }", "{ exit = \"0\" }")).expect_err("type");
        assert!(e.message.contains("exit takes a number, like 0"), "{e}");
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
                e.hint.as_deref().unwrap_or("").contains("the keys of"),
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
