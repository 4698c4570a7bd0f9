//! Helpers shared by the test modules: finding scenarios and fixtures, and checking that a
//! session left no process behind.

use dapwalk::os::procs;
use dapwalk::session::Timeouts;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

static BUILD: Mutex<bool> = Mutex::new(false);

/// The scenario binary `name`, built (once per test run) with `cargo build -p scenarios --bins`.
pub fn scenario_binary(name: &str) -> PathBuf {
    let bin = root().join("target/debug").join(name);
    let mut built = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !*built {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "scenarios", "--bins"])
            .current_dir(root())
            .status()
            .expect("run cargo build for the scenarios");
        assert!(status.success(), "cargo build -p scenarios --bins failed");
        *built = true;
    }
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

/// Fails if any of `pids` still runs, naming each survivor.
pub fn assert_all_gone(pids: &[u32]) {
    let alive: Vec<String> = pids
        .iter()
        .filter(|&&p| procs::alive(p))
        .map(|&p| {
            format!(
                "{p} {:?}",
                procs::info(p).map(|i| i.cmdline).unwrap_or_default()
            )
        })
        .collect();
    assert!(alive.is_empty(), "left behind: {alive:?}");
}

/// Fails if a process whose command line contains `needle` still runs.
pub fn assert_none_running(needle: &str, report: &dapwalk::session::Teardown) {
    let alive: Vec<String> = procs::table()
        .into_iter()
        .filter(|p| p.state != 'Z' && p.cmdline.contains(needle))
        .map(|p| {
            format!(
                "{} (parent {}, state {}) {}",
                p.pid, p.ppid, p.state, p.cmdline
            )
        })
        .collect();
    assert!(
        alive.is_empty(),
        "still running: {alive:?}; teardown: {report:?}"
    );
}
