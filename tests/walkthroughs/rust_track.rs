//! The Rust track end to end: every walkthrough in walkthroughs/rust on real lldb-dap 22, and
//! what a user sees when something goes wrong — a scenario that changed behaviour, a bad
//! walkthrough file, a missing or dying adapter, Ctrl-C.

use crate::support::{self, dapwalk, leftovers, scratch, serial, text};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn every_rust_walkthrough_passes_on_lldb_dap_and_leaves_nothing_behind() {
    let _serial = serial();
    support::assert_every_walkthrough_passes("walkthroughs/rust", &["--jobs", "2"], 17);
}

/// A copy of the scenarios crate with one program changed, built in its own workspace, and
/// the walkthroughs that describe the original. The walkthrough must notice.
fn mutated_project(name: &str, program: &str, from: &str, to: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    let root = support::root();
    copy_tree(&root.join("scenarios/src"), &dir.join("scenarios/src"));
    std::fs::copy(
        root.join("scenarios/Cargo.toml"),
        dir.join("scenarios/Cargo.toml"),
    )
    .expect("copy manifest");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nmembers = [\"scenarios\"]\nresolver = \"2\"\n\n[workspace.package]\nedition = \"2021\"\nrust-version = \"1.85\"\nlicense = \"MIT OR Apache-2.0\"\n\n[workspace.lints.rust]\n",
    )
    .expect("write manifest");
    std::fs::create_dir_all(dir.join(".cargo")).expect("mkdir");
    std::fs::copy(
        root.join(".cargo/config.toml"),
        dir.join(".cargo/config.toml"),
    )
    .expect("copy cargo config");
    let bin = dir.join(format!("scenarios/src/bin/{program}.rs"));
    let source = std::fs::read_to_string(&bin).expect("read program");
    assert!(
        source.contains(from),
        "{program} no longer contains {from:?}"
    );
    std::fs::write(&bin, source.replacen(from, to, 1)).expect("write mutated program");
    copy_tree(&root.join("walkthroughs"), &dir.join("walkthroughs"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "scenarios", "--bin", program])
        .current_dir(&dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the mutated {program} failed");
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy file");
        }
    }
}

/// Builds `program` with two workers instead of one and plays `walkthrough` on it, from a
/// copy of the project; returns dapwalk's exit code and stdout.
fn play_with_two_workers(program: &str, walkthrough: &str) -> (Option<i32>, String) {
    let project = mutated_project(
        &format!("mutation-{program}"),
        program,
        "ThreadPoolExecutor::new(1)",
        "ThreadPoolExecutor::new(2)",
    );
    let _serial = serial();
    let file = project.join(walkthrough);
    let out = dapwalk(&[
        "run",
        "--no-build",
        "--project",
        project.to_str().expect("utf8 path"),
        file.to_str().expect("utf8 path"),
    ]);
    assert_eq!(leftovers(), Vec::<String>::new());
    (out.status.code(), text(&out.stdout))
}

#[test]
fn a_scenario_that_no_longer_deadlocks_fails_its_walkthrough_with_a_readable_diff() {
    // always_deadlock with two workers: the inner task gets a worker of its own.
    let (code, stdout) = play_with_two_workers(
        "always_deadlock",
        "walkthroughs/rust/02-always-deadlock.toml",
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL walkthroughs/rust/02-always-deadlock.toml"),
        "{stdout}"
    );
    // The diff names the step and the file line, and says in the narrative's words what
    // changed: no hang, a clean exit.
    assert!(
        stdout.contains("--- expected (walkthroughs/rust/02-always-deadlock.toml:"),
        "{stdout}"
    );
    assert!(stdout.contains("-end: hang"), "{stdout}");
    assert!(
        stdout.contains("+end: exit 0") || stdout.contains("+end: not yet"),
        "{stdout}"
    );
    // The explanation claims no cycle for the program that exits.
    assert!(
        stdout.contains("-cycle: MainThread -> TPExecutor-0_0"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("+cycle: MainThread"),
        "a cycle was explained in a program that has none: {stdout}"
    );
}

/// A fixed program played against the walkthrough of its deadlock: the walkthrough departs,
/// the program exits 0, and the cycle `chain` it expected is no longer explained.
fn a_fix_exits_and_its_cycle_is_gone(
    program: &str,
    (from, to): (&str, &str),
    walkthrough: &str,
    chain: &str,
) {
    let project = mutated_project(&format!("mutation-{program}"), program, from, to);
    let _serial = serial();
    let (code, stdout) =
        support::run_in_project(&project, &project.join(walkthrough), &["--no-build"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(&format!("-cycle: {chain}")), "{stdout}");
    assert!(stdout.contains("+end: exit 0"), "{stdout}");
    assert!(!stdout.contains("+cycle: MainThread"), "{stdout}");
}

#[test]
fn two_locks_taken_in_one_order_exit_and_no_cycle_is_explained() {
    // The fix for lock_order: both threads take lock_a first.
    a_fix_exits_and_its_cycle_is_gone(
        "lock_order",
        (
            "philosopher(&LOCK_B, &LOCK_A)",
            "philosopher(&LOCK_A, &LOCK_B)",
        ),
        "walkthroughs/rust/15-lock-order.toml",
        "MainThread -> Thread-1 -> Thread-2",
    );
}

#[test]
fn the_nested_executor_trap_with_two_outer_workers_exits_and_no_cycle_is_explained() {
    // The fix for self_join: a second outer worker runs the page's fetch.
    a_fix_exits_and_its_cycle_is_gone(
        "self_join",
        (
            "ThreadPoolExecutor::with(1, |outer| {",
            "ThreadPoolExecutor::with(2, |outer| {",
        ),
        "walkthroughs/rust/17-self-join.toml",
        "MainThread -> TPExecutor-0_0 -> TPExecutor-1_0",
    );
}

#[test]
fn two_workers_in_no_deadlock_show_in_the_debug_console_step() {
    let (code, stdout) =
        play_with_two_workers("no_deadlock", "walkthroughs/rust/01-no-deadlock.toml");
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("departed step 2 \"Ask the debug console\""),
        "{stdout}"
    );
    assert!(stdout.contains("-evaluate #1: 1\n"), "{stdout}");
    assert!(stdout.contains("+evaluate #1: 2\n"), "{stdout}");
}

#[test]
fn a_bad_walkthrough_is_reported_with_file_and_line_before_any_debugger_starts() {
    let dir = scratch("bad-file");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "title = \"x\"\nscenario = \"no_deadlock\"\nlanguage = \"rust\"\n\n[[step]]\ntitle = \"s\"\nbreak = [\"no-such-marker\"]\nexpect.end = \"hang\"\n",
    )
    .expect("write");
    let _serial = serial();
    let out = dapwalk(&["run", "--no-build", path.to_str().expect("utf8")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:7: no marker no-such-marker"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(
        stderr.contains("inner-submit"),
        "the known markers are listed: {stderr}"
    );
    // Nothing was started: the error is a parse-time one.
    assert_eq!(leftovers(), Vec::<String>::new());

    std::fs::write(
        &path,
        "title = \"x\"\nscenario = \"no_deadlock\"\nlanguag = \"rust\"\n",
    )
    .expect("write");
    let out = dapwalk(&["run", "--no-build", path.to_str().expect("utf8")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:3: unknown field `languag`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_adapter_says_what_to_install() {
    let out = dapwalk(&[
        "run",
        "--no-build",
        "--lldb-dap",
        "/nonexistent/lldb-dap",
        "walkthroughs/rust/01-no-deadlock.toml",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("apt-get install lldb-22"), "{stderr}");
}

/// An lldb-dap that dies a moment after the program starts, saying so on stderr.
fn dying_adapter(dir: &Path, after_secs: f64) -> std::path::PathBuf {
    let real = which_lldb_dap();
    let script = dir.join("lldb-dap-dies");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# The adapter keeps this script's stdin: an asynchronous command would get /dev/null.\n\"{real}\" \"$@\" <&0 &\nchild=$!\nsleep {after_secs}\necho 'fatal: simulated crash of the debug adapter' >&2\nkill -9 $child\nexit 1\n"
        ),
    )
    .expect("write script");
    let mut perm = std::fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&script, perm).expect("chmod");
    script
}

fn which_lldb_dap() -> String {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        for name in ["lldb-dap-22", "lldb-dap"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p.display().to_string();
            }
        }
    }
    panic!("lldb-dap 22 is not installed: run scripts/setup");
}

#[test]
fn an_adapter_that_dies_mid_walkthrough_is_reported_and_its_debuggee_killed() {
    let dir = scratch("dying-adapter");
    let adapter = dying_adapter(&dir, 2.0);
    let _serial = serial();
    // pep3148_mutual sleeps five seconds before it deadlocks: the adapter dies while it runs.
    let out = dapwalk(&[
        "run",
        "--no-build",
        "--lldb-dap",
        adapter.to_str().expect("utf8"),
        "walkthroughs/rust/14-pep3148-mutual.toml",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("ERROR walkthroughs/rust/14-pep3148-mutual.toml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("simulated crash of the debug adapter"),
        "the adapter's own words are shown: {stdout}"
    );
    // The debuggee ran untraced once its adapter was gone; dapwalk killed it by pid.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !leftovers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn ctrl_c_stops_every_debugger_and_program() {
    let _serial = serial();
    support::build_scenarios();
    let child = support::command(&[
        "run",
        "--no-build",
        "walkthroughs/rust/14-pep3148-mutual.toml",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn dapwalk");
    // Wait until the debuggee runs, then interrupt as a terminal would.
    let deadline = Instant::now() + Duration::from_secs(10);
    while leftovers().iter().all(|p| !p.contains("pep3148_mutual")) {
        assert!(Instant::now() < deadline, "the debuggee never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("send SIGINT");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("interrupted"),
        "{}",
        text(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while !leftovers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn bless_rewrites_a_departed_expectation_and_the_walkthrough_then_passes() {
    let dir = scratch("bless");
    let source =
        std::fs::read_to_string(support::root().join("walkthroughs/rust/07-force-deadlock.toml"))
            .expect("read");
    // A wrong expectation: the flag is false in step 1, claim it is true.
    let wrong = source.replacen(
        "expect.watch = { _shutdown = false }",
        "expect.watch = { _shutdown = true }",
        1,
    );
    assert_ne!(wrong, source);
    let path = dir.join("07-force-deadlock.toml");
    std::fs::write(&path, &wrong).expect("write");
    let _serial = serial();
    let p = path.to_str().expect("utf8");
    let out = dapwalk(&["run", "--no-build", "--bless", p]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("step 1 (line 16): watch _shutdown; review with git diff"),
        "{}",
        text(&out.stderr)
    );
    let blessed = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        blessed, source,
        "bless restores exactly what the debugger shows"
    );
    let out = dapwalk(&["run", "--no-build", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn reports_for_machines_json_lines_and_junit() {
    let dir = scratch("reports");
    let junit = dir.join("report.xml");
    let _serial = serial();
    let out = dapwalk(&[
        "run",
        "--no-build",
        "--format",
        "json",
        "--junit",
        junit.to_str().expect("utf8"),
        "walkthroughs/rust/07-force-deadlock.toml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(
        records.last().map(|r| r["outcome"].clone()),
        Some("passed".into())
    );
    let hang = records
        .iter()
        .find(|r| {
            r["observed"]
                .as_array()
                .is_some_and(|o| o.iter().any(|l| l == "end: hang"))
        })
        .expect("a step observed the hang");
    assert!(hang["hang_declared_after_ms"].is_u64(), "{hang}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    for count in [r#"tests="1""#, r#"failures="0""#, r#"errors="0""#] {
        assert!(xml.contains(count), "{count} in {xml}");
    }
}

#[test]
fn show_renders_the_narrative_with_the_last_run() {
    let _serial = serial();
    let out = dapwalk(&[
        "run",
        "--no-build",
        "walkthroughs/rust/07-force-deadlock.toml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = dapwalk(&["show", "walkthroughs/rust/07-force-deadlock.toml"]);
    let md = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(md.starts_with("# Force deadlock"), "{md}");
    assert!(
        md.contains("**Do:** Set breakpoints at `main-result`, then start debugging (F5)."),
        "{md}"
    );
    assert!(
        md.contains("- stopped: MainThread, breakpoint, at main-result"),
        "{md}"
    );
    assert!(md.contains("Last run (lldb-dap): as expected"), "{md}");
}
