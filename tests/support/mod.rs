//! What the integration test binaries share: where the project and its recordings are,
//! building the scenarios once, running dapwalk, and checking through `dapwalk::os::procs`
//! that nothing a test started is left running.
//!
//! Each binary includes this file with `#[path = "../support/mod.rs"] mod support;` and uses
//! its own part of it.
#![allow(dead_code)]

use dapwalk::os::procs::{self, ProcessInfo};
use dapwalk::session::{Teardown, Timeouts};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The project root (this crate's manifest folder).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Timeouts for tests: short enough that a hang fails fast, long enough for a loaded CI.
pub fn test_timeouts() -> Timeouts {
    Timeouts {
        request: Duration::from_secs(10),
        launch: Duration::from_secs(30),
        ..Timeouts::default()
    }
}

/// The recorded sessions, kept in the repository (`tests/fixtures/dap/PROVENANCE.md`); a
/// missing folder is a failure, not a skip.
pub fn fixtures() -> PathBuf {
    let dir = root().join("tests/fixtures/dap");
    assert!(
        dir.join("README.md").is_file(),
        "the DAP recordings are missing: expected them in {}",
        dir.display()
    );
    dir
}

/// Builds the scenario binaries once per test process.
pub fn build_scenarios() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "scenarios", "--bins"])
            .current_dir(root())
            .status()
            .expect("run cargo build for the scenarios");
        assert!(status.success(), "cargo build -p scenarios --bins failed");
    });
}

/// The scenario binary `name`, built (once per test run).
pub fn scenario_binary(name: &str) -> PathBuf {
    build_scenarios();
    let bin = root().join("target/debug").join(name);
    assert!(
        bin.is_file(),
        "scenario binary {} missing after the build",
        bin.display()
    );
    bin
}

/// The line of marker `name` in `file`.
pub fn marker(file: &Path, name: &str) -> i64 {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let line = dapwalk::walkthrough::marker_line(&text, name)
        .unwrap_or_else(|| panic!("no marker `@bp {name}` in {}", file.display()));
    i64::try_from(line).expect("a line number fits i64")
}

/// One process, as failure messages show it.
fn describe(p: &ProcessInfo) -> String {
    format!(
        "{} (parent {}, state {}) {}",
        p.pid, p.ppid, p.state, p.cmdline
    )
}

/// Processes that run (zombies run nothing) and match `which`, described.
fn running(which: impl Fn(&ProcessInfo) -> bool) -> Vec<String> {
    procs::table()
        .into_iter()
        .filter(|p| p.state != 'Z' && p.pid != std::process::id() && which(p))
        .map(|p| describe(&p))
        .collect()
}

/// Fails if any of `pids` still runs, naming each survivor.
pub fn assert_all_gone(pids: &[u32]) {
    let alive: Vec<String> = pids
        .iter()
        .filter(|&&p| procs::alive(p))
        .map(|&p| {
            procs::info(p)
                .map(|i| describe(&i))
                .unwrap_or(p.to_string())
        })
        .collect();
    assert!(alive.is_empty(), "left behind: {alive:?}");
}

/// Fails if a process whose command line contains `needle` still runs.
pub fn assert_none_running(needle: &str, report: &Teardown) {
    let alive = running(|p| p.cmdline.contains(needle));
    assert!(
        alive.is_empty(),
        "still running: {alive:?}; teardown: {report:?}"
    );
}

/// Runs the dapwalk binary from the project root with `args`.
pub fn dapwalk(args: &[&str]) -> Output {
    build_scenarios();
    command(args).output().expect("dapwalk runs")
}

/// The variable that marks a dapwalk a test started; adapters and debuggees inherit it.
const MARK: &str = "DAPWALK_TEST_MARK";

thread_local! {
    /// The marks of every dapwalk this test (its thread) started.
    static MARKS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The dapwalk command, marked so that [`leftovers`] can tell its descendants from processes
/// anything else started — including the other tests of this binary, which run in parallel
/// on other threads.
pub fn command(args: &[&str]) -> Command {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mark = format!("walkthroughs-{}-{id}", std::process::id());
    MARKS.with(|m| m.borrow_mut().push(mark.clone()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dapwalk"));
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env(MARK, mark);
    cmd
}

/// Processes the calling test started (through dapwalk) that are still alive: dapwalk
/// itself, adapters, lldb-server, debuggees, process-pool children.
pub fn leftovers() -> Vec<String> {
    let marks: Vec<String> = MARKS.with(|m| {
        m.borrow()
            .iter()
            .map(|mark| format!("{MARK}={mark}"))
            .collect()
    });
    if marks.is_empty() {
        return Vec::new();
    }
    running(|p| procs::environ(p.pid).iter().any(|e| marks.contains(e)))
}

/// Plays `file` with `dapwalk run [extra] --project PROJECT FILE` (a scratch project), checks
/// that nothing it started is left running, and returns its exit code and stdout.
pub fn run_in_project(project: &Path, file: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend([
        "--project",
        project.to_str().expect("utf8 path"),
        file.to_str().expect("utf8 path"),
    ]);
    let out = dapwalk(&args);
    assert_eq!(leftovers(), Vec::<String>::new());
    (out.status.code(), text(&out.stdout))
}

/// Text of an output stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch folder under the target directory, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Tests that start debuggers take this lock, so two sessions never compete for the two cores
/// and change a walkthrough's timing.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Plays every walkthrough of `dir` (a folder of walkthroughs/) with `extra` options and
/// asserts that all of them — at least `at_least` — passed and that nothing was left running.
pub fn assert_every_walkthrough_passes(dir: &str, extra: &[&str], at_least: usize) {
    let mut args = vec!["run", "--no-build"];
    args.extend_from_slice(extra);
    args.push(dir);
    let out = dapwalk(&args);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let files = std::fs::read_dir(root().join(dir))
        .expect("the walkthroughs folder")
        .count();
    assert!(
        files >= at_least,
        "the talk needs its walkthroughs, found {files} in {dir}"
    );
    assert!(
        stdout.contains(&format!("walkthroughs: {files} passed, 0 failed")),
        "{stdout}"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
}
