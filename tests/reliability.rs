//! Nothing of a run survives whatever ends it: SIGTERM and SIGHUP end `dapwalk run` like
//! Ctrl-C with their own exit codes, a SIGKILLed dapwalk's processes are ended by its
//! guardian, and processes left by an earlier dead run are ended (and named) by the next one.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn build_scenarios() {
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

const MARK: &str = "DAPWALK_RELIABILITY_MARK";

/// A dapwalk command whose every descendant bears `mark` in its environment.
fn dapwalk(mark: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dapwalk"));
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env(MARK, mark)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Live processes (not zombies) whose environment holds `var=value`, with their command lines.
fn bearing(var: &str, value: &str) -> Vec<(u32, String)> {
    let needle = format!("{var}={value}");
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(environ) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !environ.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next().map(str::to_string));
        if matches!(state.as_deref(), Some("Z" | "X") | None) {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        found.push((pid, cmdline));
    }
    found
}

fn leftovers(mark: &str) -> Vec<(u32, String)> {
    bearing(MARK, mark)
}

/// Waits until the debuggee of the run marked `mark` runs (its command line names `program`).
fn wait_for_debuggee(mark: &str, program: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !leftovers(mark).iter().any(|(_, c)| c.contains(program)) {
        assert!(Instant::now() < deadline, "the debuggee never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) for every process of the run to be gone, then asserts it.
fn assert_nothing_left(mark: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !leftovers(mark).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leftovers(mark), Vec::new());
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("send signal");
}

/// Plays the hanging walkthrough, sends `sig` once its debuggee runs, and returns the exit
/// code and stderr after checking that nothing of the run is left.
fn signalled_run(name: &str, sig: nix::sys::signal::Signal) -> (Option<i32>, String) {
    build_scenarios();
    let mark = unique(name);
    let child = dapwalk(
        &mark,
        &[
            "run",
            "--no-build",
            "walkthroughs/rust/07-force-deadlock.toml",
        ],
    )
    .spawn()
    .expect("spawn dapwalk");
    wait_for_debuggee(&mark, "force_deadlock");
    signal(child.id(), sig);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_nothing_left(&mark);
    (out.status.code(), stderr)
}

#[test]
fn sigterm_ends_a_run_like_ctrl_c_with_exit_143() {
    let (code, stderr) = signalled_run("sigterm", nix::sys::signal::Signal::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("terminated (SIGTERM)"), "{stderr}");
}

#[test]
fn sighup_ends_a_run_like_ctrl_c_with_exit_129() {
    let (code, stderr) = signalled_run("sighup", nix::sys::signal::Signal::SIGHUP);
    assert_eq!(code, Some(129), "{stderr}");
    assert!(stderr.contains("hung up (SIGHUP)"), "{stderr}");
}

#[test]
fn a_sigkilled_run_leaves_nothing_once_its_guardian_has_swept() {
    build_scenarios();
    let dir = root().join("target/test-scratch/sigkill");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    // An adapter that would keep running, and keep its debuggee, after dapwalk is gone.
    let adapter = adapter_proxy(&dir, "no-such-command", true);
    let mark = unique("sigkill");
    let mut child = dapwalk(
        &mark,
        &[
            "run",
            "--no-build",
            "--lldb-dap",
            adapter.to_str().expect("utf8"),
            "walkthroughs/rust/07-force-deadlock.toml",
        ],
    )
    .spawn()
    .expect("spawn dapwalk");
    wait_for_debuggee(&mark, "force_deadlock");
    // Mid-hang: the program deadlocks as soon as it runs.
    std::thread::sleep(Duration::from_millis(300));
    let before = leftovers(&mark);
    assert!(
        before.iter().any(|(_, c)| c.contains("lldb-dap")),
        "the adapter runs before the kill: {before:?}"
    );
    signal(child.id(), nix::sys::signal::Signal::SIGKILL);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), None, "dapwalk died of the signal");
    // The guardian bears the mark too, so an empty list also means it finished.
    assert_nothing_left(&mark);
}

#[test]
fn a_run_ends_processes_an_earlier_dead_run_left_and_names_them() {
    // A process marked by a dapwalk run whose dapwalk is gone (no pid is that large).
    let stray = Command::new("sleep")
        .arg("300")
        .env("DAPWALK_RUN", "999999999-1")
        .spawn()
        .expect("spawn sleep");
    let pid = stray.id();
    let mark = unique("stray");
    let out = dapwalk(
        &mark,
        &["run", "--no-build", "walkthroughs/no-such-file.toml"],
    )
    .output()
    .expect("dapwalk runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("ended pid {pid} (sleep 300"))
            && stderr.contains("earlier dapwalk run (pid 999999999)"),
        "{stderr}"
    );
    let mut stray = stray;
    let status = stray.wait().expect("wait");
    assert_eq!(status.code(), None, "the stray was killed");
    assert_nothing_left(&mark);
}

/// A copy of the project's scenarios and one walkthrough in a scratch folder, whose
/// `target/debug` holds what the test puts there.
fn scratch_project(name: &str) -> std::path::PathBuf {
    let dir = root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("walkthroughs/rust")).expect("mkdir");
    let status = Command::new("cp")
        .args(["-r", "scenarios"])
        .arg(&dir)
        .current_dir(root())
        .status()
        .expect("cp runs");
    assert!(status.success());
    std::fs::copy(
        root().join("walkthroughs/rust/01-no-deadlock.toml"),
        dir.join("walkthroughs/rust/01-no-deadlock.toml"),
    )
    .expect("copy walkthrough");
    dir
}

fn run_in(project: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dapwalk"))
        .arg("--project")
        .arg(project)
        .args(args)
        .current_dir(project)
        .env("NO_COLOR", "1")
        .output()
        .expect("dapwalk runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_build_says_when_the_program_is_missing_or_stale() {
    let dir = scratch_project("no-build");
    let (code, stderr) = run_in(&dir, &["run", "--no-build"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--no-build: target/debug/no_deadlock is not built"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    // A binary older than the sources it is built from.
    std::fs::create_dir_all(dir.join("target/debug")).expect("mkdir");
    let binary = dir.join("target/debug/no_deadlock");
    let f = std::fs::File::create(&binary).expect("create");
    f.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .expect("set mtime");
    let (code, stderr) = run_in(&dir, &["run", "--no-build"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--no-build: target/debug/no_deadlock is stale (scenarios/"),
        "{stderr}"
    );
}

#[test]
fn a_python_that_is_not_there_is_said_plainly() {
    let mark = unique("python");
    let out = dapwalk(
        &mark,
        &[
            "run",
            "--no-build",
            "--python",
            "/nonexistent/python3",
            "walkthroughs/python/01-no-deadlock.toml",
        ],
    )
    .output()
    .expect("dapwalk runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "dapwalk: --python /nonexistent/python3: no such file"
    );
}

#[test]
fn a_named_pipe_among_the_walkthroughs_blocks_nothing() {
    let dir = scratch_project("fifo");
    nix::unistd::mkfifo(
        &dir.join("walkthroughs/rust/pipe.toml"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .expect("mkfifo");
    // `list` would block forever on reading the pipe; it must list the one file.
    let out = Command::new(env!("CARGO_BIN_EXE_dapwalk"))
        .arg("--project")
        .arg(&dir)
        .arg("list")
        .current_dir(&dir)
        .output()
        .expect("dapwalk runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("01-no-deadlock.toml"), "{stdout}");
    assert!(!stdout.contains("pipe.toml"), "{stdout}");
    let (code, stderr) = run_in(&dir, &["show", "walkthroughs/rust/pipe.toml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("pipe.toml"), "{stderr}");
}

fn which(names: &[&str]) -> String {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        for name in names {
            let p = std::path::Path::new(dir).join(name);
            if p.is_file() {
                return p.display().to_string();
            }
        }
    }
    panic!("none of {names:?} is installed: run scripts/setup");
}

/// An lldb-dap behind a proxy that, when the `command` request arrives, kills the real
/// adapter and dies itself: an adapter killed in the middle of that request. With `linger`,
/// the proxy outlives the end of its input and keeps the real adapter's open: an adapter
/// that never notices dapwalk is gone, so only dapwalk's own mechanism can end the run.
fn adapter_proxy(dir: &std::path::Path, command: &str, linger: bool) -> std::path::PathBuf {
    let on_eof = if linger {
        "threading.Event().wait()"
    } else {
        "child.kill(); os._exit(0)"
    };
    let real = which(&["lldb-dap-22", "lldb-dap"]);
    let script = dir.join("lldb-dap-dies-on");
    std::fs::write(
        &script,
        format!(
            r#"#!/usr/bin/env python3
import os, subprocess, sys, threading
real = "{real}"
if "--version" in sys.argv:
    os.execv(real, [real, *sys.argv[1:]])
child = subprocess.Popen([real, *sys.argv[1:]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def relay():
    while True:
        b = child.stdout.read1(65536)
        if not b:
            os._exit(1)
        sys.stdout.buffer.write(b); sys.stdout.buffer.flush()
threading.Thread(target=relay, daemon=True).start()
inp = sys.stdin.buffer
while True:
    header = b""
    while not header.endswith(b"\r\n\r\n"):
        c = inp.read(1)
        if not c:
            {on_eof}
        header += c
    n = int([l for l in header.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    body = inp.read(n)
    if b'"command":"{command}"' in body.replace(b" ", b""):
        child.kill()
        os._exit(9)
    child.stdin.write(header + body); child.stdin.flush()
"#
        ),
    )
    .expect("write script");
    let mut perm = std::fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).expect("chmod");
    script
}

#[test]
fn an_adapter_killed_while_evaluating_a_watch_is_could_not_check() {
    build_scenarios();
    let dir = root().join("target/test-scratch/dies-on-evaluate");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let adapter = adapter_proxy(&dir, "evaluate", false);
    let mark = unique("evaluate");
    let out = dapwalk(
        &mark,
        &[
            "run",
            "--no-build",
            "--lldb-dap",
            adapter.to_str().expect("utf8"),
            "walkthroughs/rust/01-no-deadlock.toml",
        ],
    )
    .output()
    .expect("dapwalk runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("went away"), "the cause is named: {stdout}");
    assert!(!stdout.contains("not available here"), "{stdout}");
    assert_nothing_left(&mark);
}

#[test]
fn a_version_probe_whose_child_keeps_stdout_open_neither_hangs_nor_leaves_it() {
    let dir = root().join("target/test-scratch/probe");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let script = dir.join("lldb-dap");
    // It answers, then leaves a child holding its stdout for far longer than any test.
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'lldb-dap: Debian LLVM version 22.1.8'\necho 'liblldb: lldb version 22.1.8'\nsleep 100000 &\nexit 0\n",
    )
    .expect("write");
    let mut perm = std::fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).expect("chmod");
    let mark = unique("probe");
    let out = dapwalk(
        &mark,
        &["adapters", "--lldb-dap", script.to_str().expect("utf8")],
    )
    .output()
    .expect("dapwalk runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("22.1.8"), "the version was read: {stdout}");
    // The probe's group was killed with it: no `sleep` of this run is left.
    assert_nothing_left(&mark);
}
