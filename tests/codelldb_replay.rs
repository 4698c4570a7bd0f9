//! CodeLLDB without CodeLLDB: every Rust walkthrough recorded through a real CodeLLDB
//! (tests/fixtures/dap/walkthroughs/codelldb*.jsonl) is played again by the engine against a
//! replay of its recording, and must send exactly the recorded requests and pass.
//!
//! A change to the CodeLLDB dialect that would make the driver send CodeLLDB something it was
//! never seen to accept fails here, naming the first request that differs.

use dapwalk::adapters::codelldb::CODELLDB;
use dapwalk::adapters::{
    Adapter, AdapterError, Connect, Dialect, HangRule, Identity, LaunchTarget, WaitField,
    WatchFrame,
};
use dapwalk::dap::protocol::Frame;
use dapwalk::dap::replay::{self, Placeholders, Recording, ReplayLog};
use dapwalk::engine::{play, Outcome, RunOptions, WalkthroughResult};
use dapwalk::project::Project;
use dapwalk::session::{Breakpoints, Launcher, Session, SessionError, Timeouts};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/dap/walkthroughs")
}

/// A process of this machine that stands in for the recorded debuggee: its only thread waits
/// on a lock for good, so where the recorded program hung, the engine sees a hang again.
struct StandIn {
    child: std::process::Child,
}

impl StandIn {
    fn start() -> StandIn {
        let child = std::process::Command::new("python3")
            .args([
                "-c",
                "import threading; l = threading.Lock(); l.acquire(); l.acquire()",
            ])
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("python3 for the stand-in debuggee");
        StandIn { child }
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A recording, with its debuggee's pid (also its main thread's id) given to a stand-in of
/// this machine: teardown kills the debuggee by pid, and hangs are sampled from /proc, so the
/// recorded number must not name some unrelated process here.
fn with_stand_in(name: &str) -> (Recording, StandIn) {
    let mut recording = Recording::load(&fixtures().join(name)).expect("the recording");
    let recorded_pid = recording
        .replies()
        .filter(|m| m["event"] == "output")
        .find_map(|m| CODELLDB.pid_from_console(m["body"]["output"].as_str()?));
    let mut stand_in = StandIn::start();
    while recording.mentions_number(i64::from(stand_in.pid())) {
        stand_in = StandIn::start();
    }
    if let Some(pid) = recorded_pid {
        recording.replace_number(i64::from(pid), i64::from(stand_in.pid()));
    }
    (recording, stand_in)
}

/// Launches the session over a replay of one recording, read through `dialect`.
struct ReplayLauncher {
    dialect: &'static dyn Dialect,
    recording: Mutex<Option<Recording>>,
    log: Mutex<Option<ReplayLog>>,
}

impl Launcher for ReplayLauncher {
    fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    fn launch<'a>(
        &'a self,
        target: &'a LaunchTarget,
        breakpoints: &'a Breakpoints,
        timeouts: Timeouts,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Session, SessionError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let recording = self
                .recording
                .lock()
                .expect("the recording")
                .take()
                .expect("one session per replayed recording");
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            let placeholders = Placeholders::default()
                .with("/workspace/dapwalk", root())
                .with("/home/user", &home);
            let (client, events, log) = replay::connect(recording, placeholders, timeouts.request);
            *self.log.lock().expect("the log") = Some(log);
            let adapter = Adapter {
                dialect: self.dialect,
                program: PathBuf::from("(replay)"),
                args: Vec::new(),
                env: Vec::new(),
                connect: Connect::Stdio,
                version: None,
            };
            Session::over(&adapter, client, events, target, breakpoints, timeouts).await
        })
    }
}

/// The walkthrough a recording was made of: `codelldb-live.04-x.jsonl` is `04-x.toml`.
fn walkthrough_of(recording: &str) -> PathBuf {
    let stem = recording
        .trim_end_matches(".jsonl")
        .split_once('.')
        .map(|(_, w)| w)
        .expect("recordings are named codelldb[-kind].NN-name.jsonl");
    root()
        .join("walkthroughs/rust")
        .join(format!("{stem}.toml"))
}

/// Plays `name`'s walkthrough through `dialect` against a replay of the recording.
async fn replay_walkthrough(
    dialect: &'static dyn Dialect,
    name: &str,
) -> (WalkthroughResult, ReplayLog) {
    let (recording, stand_in) = with_stand_in(name);
    let project = Project::new(root());
    let prep = dapwalk::walkthrough::load_all(&project, &[walkthrough_of(name)])
        .map_err(|e| format!("{e:?}"))
        .expect("the walkthrough loads")
        .remove(0);
    let launcher = ReplayLauncher {
        dialect,
        recording: Mutex::new(Some(recording)),
        log: Mutex::new(None),
    };
    let result = play(&prep, &launcher, &RunOptions::default(), &mut |_| {}).await;
    let log = launcher
        .log
        .lock()
        .expect("the log")
        .take()
        .expect("a session was launched");
    drop(stand_in);
    (result, log)
}

fn outcome_text(r: &WalkthroughResult) -> String {
    match &r.outcome {
        Outcome::Passed => "passed".into(),
        Outcome::Mismatch { step } => {
            let diff = r
                .steps
                .get(*step)
                .map(|s| format!("{:?}", s.verdict))
                .unwrap_or_default();
            format!("step {} departed: {diff}", step + 1)
        }
        Outcome::Error { step, message, .. } => format!("error at step {step:?}: {message}"),
    }
}

/// The recording replays request for request and the walkthrough passes on it.
async fn passes(name: &str) {
    let (result, log) = replay_walkthrough(&CODELLDB, name).await;
    if let Some(problem) = log.problem() {
        panic!(
            "{name}: {problem}\n(walkthrough: {})",
            outcome_text(&result)
        );
    }
    assert!(
        matches!(result.outcome, Outcome::Passed),
        "{name}: {}",
        outcome_text(&result)
    );
    assert!(
        result.leftovers.is_empty(),
        "{name}: {:?}",
        result.leftovers
    );
}

macro_rules! replays {
    ($($test:ident => $file:literal,)*) => {$(
        #[tokio::test]
        async fn $test() {
            passes($file).await;
        }
    )*};
}

// Recorded with this driver (the CodeLLDB dialect as it is now), every walkthrough passing.
replays! {
    live_01_no_deadlock => "codelldb-live.01-no-deadlock.jsonl",
    live_02_always_deadlock => "codelldb-live.02-always-deadlock.jsonl",
    live_03_sometimes_deadlock_forced_error => "codelldb-live.03-sometimes-deadlock-forced-error.jsonl",
    live_04_sometimes_deadlock_forced_deadlock => "codelldb-live.04-sometimes-deadlock-forced-deadlock.jsonl",
    live_05_gil_trap => "codelldb-live.05-gil-trap.jsonl",
    live_06_discourage_deadlock => "codelldb-live.06-discourage-deadlock.jsonl",
    live_07_force_deadlock => "codelldb-live.07-force-deadlock.jsonl",
    live_08_heisenbug_unswallow => "codelldb-live.08-heisenbug-unswallow.jsonl",
    live_09_context_manager => "codelldb-live.09-context-manager.jsonl",
    live_10_solution1_max_workers => "codelldb-live.10-solution1-max-workers.jsonl",
    live_11_solution2_processpool => "codelldb-live.11-solution2-processpool.jsonl",
    live_12_solution3_externalqueue => "codelldb-live.12-solution3-externalqueue.jsonl",
    live_13_solution4_timeout => "codelldb-live.13-solution4-timeout.jsonl",
    live_14_pep3148_mutual => "codelldb-live.14-pep3148-mutual.jsonl",
    live_15_lock_order => "codelldb-live.15-lock-order.jsonl",
    live_16_lost_sentinel => "codelldb-live.16-lost-sentinel.jsonl",
    live_17_self_join => "codelldb-live.17-self-join.jsonl",
    live_20_nested_scrape_safe => "codelldb-live.20-nested-scrape-safe.jsonl",
    live_21_nested_scrape_trap => "codelldb-live.21-nested-scrape-trap.jsonl",
    live_22_nested_batch_safe => "codelldb-live.22-nested-batch-safe.jsonl",
    live_23_nested_batch_trap => "codelldb-live.23-nested-batch-trap.jsonl",
    live_24_nested_upload => "codelldb-live.24-nested-upload.jsonl",
    live_25_nested_ensemble => "codelldb-live.25-nested-ensemble.jsonl",
    live_26_registry_exit_hook => "codelldb-live.26-registry-exit-hook.jsonl",
    live_27_sentinel => "codelldb-live.27-sentinel.jsonl",
    live_28_daemon_threads => "codelldb-live.28-daemon-threads.jsonl",
    live_29_atexit_order => "codelldb-live.29-atexit-order.jsonl",
    live_30_submit_vs_shutdown => "codelldb-live.30-submit-vs-shutdown.jsonl",
    live_31_leaked_executor => "codelldb-live.31-leaked-executor.jsonl",
    // The older recordings (`codelldb.*`, `codelldb-answers.*`) were made against the
    // programs before the talk's print and the port's eval-breaker checks and wait records
    // moved their markers; they stay in tests/fixtures as a record of what CodeLLDB answered
    // and are not replayed, except where the sources they name did not move (below).
}

/// A Rust walkthrough added without a live CodeLLDB recording would go unchecked on the
/// adapter most learners use: each one has its recording, and the list above replays it.
#[test]
fn every_rust_walkthrough_has_a_live_recording_that_is_replayed() {
    let listed = include_str!("codelldb_replay.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root().join("walkthroughs/rust")).expect("walkthroughs/rust") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let recording = format!("codelldb-live.{stem}.jsonl");
        if !fixtures().join(&recording).is_file() || !listed.contains(&format!("\"{recording}\"")) {
            missing.push(recording);
        }
    }
    assert!(
        missing.is_empty(),
        "record with scripts/record-codelldb PATH/TO/codelldb FILE and add to replays!: {missing:?}"
    );
}

/// CodeLLDB's dialect with one deliberate change, to show the replays catch it.
#[derive(Debug)]
struct Altered {
    /// Console text sent as written, as the first driver did.
    unprefixed_console: bool,
    /// Held stops taken as reported, as for lldb-dap.
    every_thread_reported: bool,
}

static UNPREFIXED: Altered = Altered {
    unprefixed_console: true,
    every_thread_reported: false,
};
static NO_EXCEPTION_INFO: Altered = Altered {
    unprefixed_console: false,
    every_thread_reported: true,
};

impl Dialect for Altered {
    fn identity(&self) -> &'static Identity {
        CODELLDB.identity()
    }
    fn looked_for(&self) -> String {
        CODELLDB.looked_for()
    }
    fn discover(
        &'static self,
        explicit: Option<&Path>,
        project: &Path,
    ) -> Result<Adapter, AdapterError> {
        CODELLDB.discover(explicit, project)
    }
    fn version(&self, adapter: &Adapter) -> Option<String> {
        CODELLDB.version(adapter)
    }
    fn launch_arguments(
        &self,
        adapter: &Adapter,
        target: &LaunchTarget,
    ) -> Result<Value, AdapterError> {
        CODELLDB.launch_arguments(adapter, target)
    }
    fn thread_name(&self, raw: &str) -> String {
        CODELLDB.thread_name(raw)
    }
    fn frame_name(&self, raw: &str) -> String {
        CODELLDB.frame_name(raw)
    }
    fn shown_frame(&self, f: &Frame) -> bool {
        CODELLDB.shown_frame(f)
    }
    fn watch_frame(&self) -> WatchFrame {
        CODELLDB.watch_frame()
    }
    fn watch_expressions(&self, expr: &str) -> Vec<String> {
        CODELLDB.watch_expressions(expr)
    }
    fn atomic_bool_expr(&self, path: &str) -> String {
        CODELLDB.atomic_bool_expr(path)
    }
    fn render_value(&self, raw: &str) -> String {
        CODELLDB.render_value(raw)
    }
    fn console_expression(&self, text: &str) -> String {
        if self.unprefixed_console {
            text.to_string()
        } else {
            CODELLDB.console_expression(text)
        }
    }
    fn wait_record_expr(&self, field: WaitField) -> Option<String> {
        CODELLDB.wait_record_expr(field)
    }
    fn wait_record_value(&self, raw: &str) -> String {
        CODELLDB.wait_record_value(raw)
    }
    fn console_value(&self, raw: &str) -> String {
        CODELLDB.console_value(raw)
    }
    fn hold_command(&self, thread_id: i64, held: bool) -> Option<String> {
        CODELLDB.hold_command(thread_id, held)
    }
    fn stop_reason(&self, reason: &str) -> String {
        CODELLDB.stop_reason(reason)
    }
    fn stderr_merged(&self) -> bool {
        CODELLDB.stderr_merged()
    }
    fn hang_rule(&self) -> HangRule {
        CODELLDB.hang_rule()
    }
    fn tolerates_unwalkable_threads(&self) -> bool {
        CODELLDB.tolerates_unwalkable_threads()
    }
    fn exits_on_disconnect(&self) -> bool {
        CODELLDB.exits_on_disconnect()
    }
    fn exception_arguments(&self, names: &[String]) -> Option<Value> {
        CODELLDB.exception_arguments(names)
    }
    fn pid_from_console(&self, text: &str) -> Option<u32> {
        CODELLDB.pid_from_console(text)
    }
    fn names_one_thread_per_stop(&self) -> bool {
        !self.every_thread_reported && CODELLDB.names_one_thread_per_stop()
    }
    fn stop_reason_from_exception_info(&self, body: &Value) -> Option<String> {
        CODELLDB.stop_reason_from_exception_info(body)
    }
    fn launch_config_problem(&self, keys: &serde_json::Map<String, Value>) -> Option<String> {
        CODELLDB.launch_config_problem(keys)
    }
    fn editor_hold_hint(&self) -> String {
        CODELLDB.editor_hold_hint()
    }
    fn editor_console_expression(&self, expr: &str) -> String {
        self.console_expression(expr)
    }
}

/// The replay's first difference, which the test requires there to be.
async fn diverges(
    dialect: &'static dyn Dialect,
    name: &str,
) -> (replay::Divergence, WalkthroughResult) {
    let (result, log) = replay_walkthrough(dialect, name).await;
    let d = log.divergence().unwrap_or_else(|| {
        panic!(
            "{name} replayed without a difference ({})",
            outcome_text(&result)
        )
    });
    (d, result)
}

#[tokio::test]
async fn console_text_sent_unprefixed_fails_at_the_evaluate_request() {
    let (d, result) = diverges(&UNPREFIXED, "codelldb-live.01-no-deadlock.jsonl").await;
    let text = d.to_string();
    assert!(
        text.contains(r#"sent `evaluate` {"context":"repl","expression":"executor->__0.ptr.pointer->data._max_workers""#)
            && text.contains(r#"the recording has `evaluate` {"context":"repl","expression":"?/nat executor->__0.ptr.pointer->data._max_workers""#),
        "{text}"
    );
    assert!(!matches!(result.outcome, Outcome::Passed));
}

#[tokio::test]
async fn a_held_stop_taken_as_reported_fails_where_exception_info_was_asked() {
    let name = "codelldb-live.04-sometimes-deadlock-forced-deadlock.jsonl";
    let (d, result) = diverges(&NO_EXCEPTION_INFO, name).await;
    // The recorded resolution is `threads`, then `exceptionInfo` of the thread let run; the
    // altered dialect goes on to observe the stale stop instead.
    let recording = Recording::load(&fixtures().join(name)).expect("the recording");
    let asked = recording
        .requests()
        .position(|r| r["command"] == "exceptionInfo")
        .expect("the recording asks exceptionInfo");
    assert_eq!(d.index, asked, "{d}");
    assert_eq!(
        d.recorded.as_ref().map(|r| r["command"].clone()),
        Some("threads".into()),
        "{d}"
    );
    assert!(!matches!(result.outcome, Outcome::Passed));
}

/// Whether a recorded `expression` is `spelling`, with `TID` standing for any thread id.
fn spelled(spelling: &str, expression: &str) -> bool {
    match spelling.split_once("TID") {
        None => spelling == expression,
        Some((before, after)) => expression
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())),
    }
}

/// Every CodeLLDB recording, with what it is called.
fn codelldb_recordings() -> Vec<(String, Recording)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixtures())
        .expect("the recordings")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("codelldb") && name.ends_with(".jsonl") {
            out.push((name, Recording::load(&entry.path()).expect("a recording")));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A tour or the breakpoint list tells a CodeLLDB user to type only what CodeLLDB accepted in
/// a recorded live session: each spelling was sent in the same place (Watch pane or Debug
/// Console) and answered with success.
#[test]
fn every_codelldb_spelling_in_the_editor_files_was_accepted_by_codelldb() {
    use dapwalk::editor::tour::{generate, spellings, SpellingPlace};
    let project = Project::new(root());
    let spelled_out = spellings(&project, &CODELLDB).expect("the spellings");
    let generated: String = generate(&project)
        .expect("the editor files")
        .iter()
        .map(|g| g.text.clone())
        .collect();
    let recordings = codelldb_recordings();
    assert!(spelled_out.len() > 5, "{spelled_out:?}");
    let mut missing = Vec::new();
    for (place, text) in &spelled_out {
        assert!(
            generated.contains(text.as_str()),
            "{text:?} is not in the editor files"
        );
        let context = match place {
            SpellingPlace::Watch => "watch",
            SpellingPlace::Console => "repl",
        };
        let accepted = recordings.iter().any(|(_, r)| {
            r.answered().iter().any(|(req, resp)| {
                req["command"] == "evaluate"
                    && req["arguments"]["context"] == context
                    && req["arguments"]["expression"]
                        .as_str()
                        .is_some_and(|e| spelled(text, e))
                    && resp.is_some_and(|r| r["success"] == true)
            })
        });
        if !accepted {
            missing.push(format!("{context}: {text}"));
        }
    }
    assert!(
        missing.is_empty(),
        "spellings no CodeLLDB recording shows accepted: {missing:#?}"
    );
}

/// What the editor files tell a CodeLLDB user to type into the Debug Console, sent at a stop
/// of `no_deadlock` (the worker in `wait_on_future`, where 01's console expression reads).
/// In CI it runs over the recording of a live session; with `DAPWALK_RECORD_CODELLDB` naming a
/// CodeLLDB it runs live (and `DAPWALK_TRACE` records it).
///
/// An expression that reads a variable of another program's frame (26's `items.len`, in
/// `_python_exit`) cannot be evaluated here: it is checked where it belongs, by its own
/// walkthrough's live recording (which passes only if CodeLLDB answered it), and left out.
#[tokio::test]
async fn the_console_lines_of_the_editor_files_are_accepted_at_a_stop() {
    use dapwalk::editor::tour::{spellings, SpellingPlace};
    let name = "codelldb-live.console-spellings.jsonl";
    let project = Project::new(root());
    let recordings = codelldb_recordings();
    let sent_in = |recording: &Recording, text: &str| {
        recording.answered().iter().any(|(req, resp)| {
            req["command"] == "evaluate"
                && req["arguments"]["context"] == "repl"
                && req["arguments"]["expression"]
                    .as_str()
                    .is_some_and(|e| spelled(text, e))
                && resp.is_some_and(|r| r["success"] == true)
        })
    };
    let elsewhere = |text: &str| {
        let here = recordings
            .iter()
            .any(|(n, r)| n == name && sent_in(r, text));
        !here
            && recordings
                .iter()
                .any(|(n, r)| n.starts_with("codelldb-live.") && n != name && sent_in(r, text))
    };
    let lines: Vec<String> = spellings(&project, &CODELLDB)
        .expect("the spellings")
        .into_iter()
        .filter(|(p, _)| *p == SpellingPlace::Console)
        .map(|(_, t)| t)
        .filter(|t| !elsewhere(t))
        .collect();
    let source = root().join("scenarios/src/bin/no_deadlock.rs");
    let line = std::fs::read_to_string(&source)
        .expect("the program's source")
        .lines()
        .position(|l| l.contains("@bp inner-submit"))
        .expect("the marker inner-submit")
        + 1;
    let target = LaunchTarget {
        program: root().join("target/debug/no_deadlock"),
        cwd: Some(root().to_path_buf()),
        ..Default::default()
    };
    let bps = Breakpoints {
        source: vec![(source, vec![line as i64])],
        ..Default::default()
    };
    let live = std::env::var_os("DAPWALK_RECORD_CODELLDB").map(PathBuf::from);
    let mut log = None;
    let mut stand_in = None;
    let mut session = match &live {
        Some(path) => {
            let adapter = CODELLDB
                .discover(Some(path), root())
                .expect("the CodeLLDB named");
            Session::start(&adapter, &target, &bps, Timeouts::default())
                .await
                .expect("a live session")
        }
        None => {
            let (recording, s) = with_stand_in(name);
            stand_in = Some(s);
            let launcher = ReplayLauncher {
                dialect: &CODELLDB,
                recording: Mutex::new(Some(recording)),
                log: Mutex::new(None),
            };
            let s = launcher
                .launch(&target, &bps, Timeouts::default())
                .await
                .expect("a replayed session");
            log = launcher.log.lock().expect("the log").take();
            s
        }
    };
    let stop = session
        .expect_stop(std::time::Duration::from_secs(20))
        .await
        .expect("the worker stops at the inner submit");
    let tid = stop.thread_id.expect("the stopped thread");
    let frames = session.stack(tid, 20).await.expect("its stack");
    let frame = frames
        .iter()
        .find(|f| f.is_user_frame())
        .map(|f| f.id)
        .expect("a frame of the program");
    let mut refused = Vec::new();
    for l in &lines {
        let text = l.replace("TID", &tid.to_string());
        if let Err(e) = session.console(&text, Some(frame)).await {
            refused.push(format!("{text}: {e}"));
        }
    }
    session.end().await;
    drop(stand_in);
    if let Some(log) = log {
        assert_eq!(log.problem(), None);
    }
    assert!(refused.is_empty(), "CodeLLDB refused: {refused:#?}");
}
