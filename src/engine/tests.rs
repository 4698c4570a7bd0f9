//! The engine played against the scripted fake adapter, without a debugger: stops at
//! markers, departures, held threads named with stale reasons, adapters that die, exits and
//! hangs, and the fake registered as one more dialect.

use super::{play, Outcome, RunOptions, WalkthroughResult};
use crate::adapters::{Language, Registry};
use crate::checks::ObservedEnd;
use crate::dap::fake::{Death, FakeFrame, Run, Script, ScriptedStop};
use crate::project::Project;
use crate::session::fake::{FakeLauncher, FAKE_DIALECT};
use crate::session::Timeouts;
use crate::walkthrough::{marker_line, parse_str, prepare, Prepared};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// The program the walkthroughs below debug: a main thread and a worker.
const SOURCE: &str = "\
fn main() {
    let pool = start(); // @bp submit
    pool.join(); // @bp join
}

fn work(flag: &AtomicBool) {
    flag.store(true, SeqCst); // @bp work
}
";

const MAIN: i64 = 1;
const WORKER: i64 = 2;

/// A throw-away project holding `scenarios/src/bin/demo.rs`, removed when dropped.
struct Demo {
    root: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("dapwalk-engine-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("scenarios/src/bin")).expect("create the project");
        std::fs::write(root.join("scenarios/src/bin/demo.rs"), SOURCE).expect("write demo.rs");
        Demo { root }
    }

    fn source(&self) -> String {
        self.root
            .join("scenarios/src/bin/demo.rs")
            .display()
            .to_string()
    }

    fn line(&self, marker: &str) -> usize {
        marker_line(SOURCE, marker).expect("a marker of SOURCE")
    }

    /// A frame of function `name` on the line of `marker`.
    fn frame(&self, name: &str, marker: &str) -> FakeFrame {
        FakeFrame::new(name, self.source(), self.line(marker))
    }

    /// A walkthrough of the demo made of `steps` (TOML `[[step]]` tables), parsed and
    /// resolved.
    fn walkthrough(&self, steps: &[&str]) -> Prepared {
        let text = format!(
            "title = \"demo\"\nscenario = \"demo\"\nlanguage = \"rust\"\n\n\
             [[watch]]\nname = \"flag\"\nexpr = \"flag\"\n\n{}",
            steps.join("\n")
        );
        let path = self.root.join("walkthroughs/demo.toml");
        let w = parse_str(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        prepare(&Project::new(&self.root), w).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A stop of the main thread at `marker`, the worker waiting in `work`.
    fn main_stops(&self, reason: &str, marker: &str) -> ScriptedStop {
        ScriptedStop::new(MAIN, reason)
            .frames(MAIN, vec![self.frame("main", marker)])
            .frames(WORKER, vec![self.frame("work", "work")])
    }

    /// The first stop of every walkthrough below: [`BREAK_AT_SUBMIT`].
    fn at_submit(&self) -> Run {
        Run::Stop(self.main_stops("breakpoint", "submit"))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn script(runs: Vec<Run>) -> Script {
    Script {
        threads: vec![(MAIN, "MainThread".into()), (WORKER, "worker-0".into())],
        runs,
        answers: vec![("flag".into(), "false".into())],
        ..Default::default()
    }
}

/// Short waits: the fake answers at once, and a hang is told from /proc in a few polls.
fn options() -> RunOptions {
    RunOptions {
        timeouts: Timeouts {
            request: Duration::from_secs(5),
            launch: Duration::from_secs(5),
            stop_tail: Duration::from_millis(20),
            pause: Duration::from_secs(2),
            teardown: Duration::from_secs(2),
            ..Timeouts::default()
        },
        step_timeout: Duration::from_secs(10),
        hang_poll: Duration::from_millis(20),
        hang_samples: 3,
        ..RunOptions::default()
    }
}

async fn played(prep: &Prepared, launcher: &FakeLauncher) -> WalkthroughResult {
    let mut started = Vec::new();
    let result = play(prep, launcher, &options(), &mut |e| started.push(e)).await;
    assert!(
        !started.is_empty(),
        "the engine reports its steps as it goes"
    );
    result
}

const BREAK_AT_SUBMIT: &str = r#"
[[step]]
title = "Break where main submits"
break = ["submit"]
expect.stopped = { thread = "MainThread", reason = "breakpoint", at = "submit" }
expect.stacks = { MainThread = ["main"], worker-0 = ["work"] }
expect.watch = { flag = false }
"#;

const NEXT_TO_JOIN: &str = r#"
[[step]]
title = "Step main to the join"
do = "next"
expect.stopped = { thread = "MainThread", reason = "step", at = "join" }
"#;

/// A last step that lets the program run to its exit with `code`.
fn continue_to_exit(code: i64) -> String {
    format!(
        "[[step]]\ntitle = \"Run to the end\"\ndo = \"continue\"\nexpect.end = {{ exit = {code} }}\n"
    )
}

#[tokio::test]
async fn a_stop_at_a_marker_passes() {
    let demo = Demo::new();
    let with_output = format!("{BREAK_AT_SUBMIT}expect.stdout = [\"pool started\"]\n");
    let prep = demo.walkthrough(&[&with_output, &continue_to_exit(0)]);
    let mut s = script(vec![demo.at_submit(), Run::Exit(0)]);
    s.output = vec![("stdout".into(), "pool started\n".into())];
    let launcher = FakeLauncher::new(s);
    let result = played(&prep, &launcher).await;
    assert_eq!(result.outcome, Outcome::Passed, "{:?}", result.steps);
    assert_eq!(result.adapter, "fake");
    assert!(result.leftovers.is_empty(), "{:?}", result.leftovers);
    // The breakpoint went to the marker's line, set during the handshake.
    let set = launcher.transcript.requests("setBreakpoints");
    assert_eq!(set.len(), 1, "{set:?}");
    assert_eq!(
        set[0]["arguments"]["breakpoints"][0]["line"],
        demo.line("submit")
    );
    assert_eq!(set[0]["arguments"]["source"]["path"], demo.source());
}

#[tokio::test]
async fn an_observation_that_departs_is_a_mismatch_at_its_step() {
    let demo = Demo::new();
    let prep = demo.walkthrough(&[BREAK_AT_SUBMIT, NEXT_TO_JOIN, &continue_to_exit(0)]);
    // The step lands on the submit line again instead of at `join`.
    let launcher = FakeLauncher::new(script(vec![
        demo.at_submit(),
        Run::Stop(demo.main_stops("step", "submit")),
    ]));
    let result = played(&prep, &launcher).await;
    assert_eq!(result.outcome, Outcome::Mismatch { step: 1 });
    assert_eq!(
        result.steps.len(),
        2,
        "the walkthrough ends at the departure"
    );
    let verdict = &result.steps[1].verdict;
    assert_eq!(
        verdict.observed,
        vec!["stopped: MainThread, step, at submit".to_string()]
    );
    assert!(result.steps[0].verdict.passed());
}

#[tokio::test]
async fn a_held_thread_named_with_a_stale_reason_is_not_the_stop() {
    let demo = Demo::new();
    let prep = demo.walkthrough(&[
        BREAK_AT_SUBMIT,
        NEXT_TO_JOIN,
        r#"
[[step]]
title = "Let only the worker run"
break = ["work"]
do = "continue"
hold = ["MainThread"]
expect.stopped = { thread = "worker-0", reason = "breakpoint", at = "work" }
"#,
        &continue_to_exit(0),
    ]);
    // As LLDB does with a suspended thread, the fake names the held main thread first with
    // the reason of its last stop, then the worker that really hit its breakpoint.
    let worker_hits = ScriptedStop::new(WORKER, "breakpoint")
        .frames(WORKER, vec![demo.frame("work", "work")])
        .lying(MAIN, "step");
    let launcher = FakeLauncher::new(script(vec![
        demo.at_submit(),
        Run::Stop(demo.main_stops("step", "join")),
        Run::Stop(worker_hits),
        Run::Exit(0),
    ]));
    let result = played(&prep, &launcher).await;
    assert_eq!(result.outcome, Outcome::Passed, "{:?}", result.steps);
    // Main was held through the adapter's console for the resume, and released after it.
    let console: Vec<String> = launcher
        .transcript
        .requests("evaluate")
        .iter()
        .filter(|r| r["arguments"]["context"] == "repl")
        .map(|r| {
            r["arguments"]["expression"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        console,
        vec![format!("hold {MAIN}"), format!("release {MAIN}")]
    );
}

#[tokio::test]
async fn an_adapter_that_dies_mid_step_is_an_error_with_its_last_words() {
    let demo = Demo::new();
    let prep = demo.walkthrough(&[BREAK_AT_SUBMIT, NEXT_TO_JOIN, &continue_to_exit(0)]);
    let mut s = script(vec![demo.at_submit()]);
    s.die = Some(Death {
        at: "next".into(),
        last_words: "fake-adapter: assertion failed: frame.is_valid()".into(),
    });
    let result = played(&prep, &FakeLauncher::new(s)).await;
    match &result.outcome {
        Outcome::Error {
            step: Some(1),
            message,
            ..
        } => {
            assert!(message.contains("\"next\""), "{message}");
            assert!(
                message.contains("assertion failed: frame.is_valid()"),
                "the adapter's last words are missing from: {message}"
            );
        }
        other => panic!("expected an error at step 2, got {other:?}"),
    }
    assert_eq!(result.steps.len(), 1);
}

#[tokio::test]
async fn an_exit_code_is_observed_as_the_end() {
    let demo = Demo::new();
    let prep = demo.walkthrough(&[BREAK_AT_SUBMIT, &continue_to_exit(3)]);
    let launcher = FakeLauncher::new(script(vec![demo.at_submit(), Run::Exit(3)]));
    let result = played(&prep, &launcher).await;
    assert_eq!(result.outcome, Outcome::Passed, "{:?}", result.steps);
    assert_eq!(result.steps[1].observation.end, Some(ObservedEnd::Exit(3)));
}

/// A real process blocked for good: its only thread waits on a lock without a timeout.
struct Blocked(std::process::Child);

impl Blocked {
    fn start() -> Blocked {
        let child = std::process::Command::new("python3")
            .args(["-c", "import threading; threading.Event().wait()"])
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        Blocked(child)
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_program_blocked_for_good_is_observed_as_a_hang() {
    let demo = Demo::new();
    let prep = demo.walkthrough(&[
        BREAK_AT_SUBMIT,
        r#"
[[step]]
title = "Run into the deadlock"
do = "continue"
expect.stacks = { MainThread = ["main"] }
expect.end = "hang"
"#,
    ]);
    let debuggee = Blocked::start();
    let pid = debuggee.0.id();
    let mut s = script(vec![demo.at_submit(), Run::Hang]);
    // The hang detector samples /proc of the pid the `process` event names.
    s.pid = Some(pid);
    let launcher = FakeLauncher::new(s);
    let result = played(&prep, &launcher).await;
    assert_eq!(result.outcome, Outcome::Passed, "{:?}", result.steps);
    assert_eq!(result.steps[1].observation.end, Some(ObservedEnd::Hang));
    assert!(result.steps[1].hang_declared_after.is_some());
    // dapwalk paused the program to show where each thread is.
    assert_eq!(launcher.transcript.requests("pause").len(), 1);
    assert!(result.leftovers.is_empty(), "{:?}", result.leftovers);
    // Each stack was asked once at the hang's stop (on debugpy a blocked thread's costs
    // ~650 ms), though both the observation and the watches' frame need main's.
    let asked: Vec<Value> = launcher.transcript.all();
    let pause = asked
        .iter()
        .rposition(|r| r["command"] == "pause")
        .expect("the pause");
    let mut per_thread = std::collections::BTreeMap::new();
    for r in asked[pause..]
        .iter()
        .filter(|r| r["command"] == "stackTrace")
    {
        *per_thread
            .entry(r["arguments"]["threadId"].as_i64().unwrap_or(-1))
            .or_insert(0) += 1;
    }
    assert!(!per_thread.is_empty());
    assert!(per_thread.values().all(|&n| n == 1), "{per_thread:?}");
    drop(debuggee);
}

#[tokio::test]
async fn the_fake_registered_as_a_dialect_plays_through_the_engine() {
    // Adding an adapter is a dialect and one line in the registry; nothing else changes.
    let registry = Registry::builtin().with(&FAKE_DIALECT);
    let dialect = registry.by_name("fake").expect("registered");
    assert_eq!(
        registry.for_vscode_type("dapwalk-fake").map(|d| d.name()),
        Some("fake")
    );
    assert!(registry
        .for_language(Language::Rust)
        .iter()
        .any(|d| d.name() == "fake"));
    assert_eq!(
        registry.default_for(Language::Rust).map(|d| d.name()),
        Some("lldb-dap"),
        "a dialect added last does not displace the track's default"
    );
    let demo = Demo::new();
    assert!(dialect.discover(None, &demo.root).is_ok());
    let prep = demo.walkthrough(&[BREAK_AT_SUBMIT, &continue_to_exit(0)]);
    let launcher = FakeLauncher {
        dialect,
        ..FakeLauncher::new(script(vec![demo.at_submit()]))
    };
    let result = played(&prep, &launcher).await;
    assert_eq!(result.outcome, Outcome::Passed, "{:?}", result.steps);
    assert_eq!(result.adapter, "fake");
    let init = launcher.transcript.requests("initialize");
    assert_eq!(init[0]["arguments"]["adapterID"], "dapwalk-fake");
}
