//! Shared helpers: where the project is, building the scenarios once, running dapwalk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The project root (this crate's manifest folder).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the scenario binaries once per test process.
pub fn build_scenarios() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "scenarios", "--bins"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the scenarios failed");
    });
}

/// Runs the dapwalk binary from the project root with `args`.
pub fn dapwalk(args: &[&str]) -> Output {
    build_scenarios();
    command(args).output().expect("dapwalk runs")
}

/// The dapwalk command, marked so that `leftovers` can tell its descendants (adapters and
/// debuggees inherit the environment) from processes anything else started — including the
/// other tests of this binary, which run in parallel on other threads.
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

const MARK: &str = "DAPWALK_TEST_MARK";

thread_local! {
    /// The marks of every dapwalk this test (its thread) started.
    static MARKS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
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

/// Processes the calling test started (through dapwalk) that are still alive: dapwalk
/// itself, adapters, lldb-server, debuggees, process-pool children. Zombies do not count
/// (they run nothing).
pub fn leftovers() -> Vec<String> {
    let needles: Vec<String> = MARKS.with(|m| {
        m.borrow()
            .iter()
            .map(|mark| format!("{MARK}={mark}"))
            .collect()
    });
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(environ) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !environ
            .split(|b| *b == 0)
            .any(|var| needles.iter().any(|n| var == n.as_bytes()))
        {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            == Some("Z");
        if !zombie {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid} {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
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
