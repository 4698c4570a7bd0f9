//! Every program of the talk, run as a real process: each Rust binary (with the model GIL and
//! free-threaded, `PYTHON_GIL=0`) and each Python twin (`DAPWALK_PYTHON`, else `python3`).
//!
//! A run either exits by itself within its time limit or counts as hung: then its whole
//! process group is killed and reaped. After every run the process table (`/proc`) must hold
//! no process of that group: a hang is detected and killed without leaving anything behind.
//!
//! Deterministic programs must show their documented outcome exactly. Racy programs run a few
//! times per configuration and each run must be *one of* their two documented outcomes; the
//! frequencies are measured by `dapwalk spectrum`, never asserted here.

use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The harness: spawn in a new process group, wait with a limit, kill and reap on a hang.

mod os {
    //! The three libc calls the harness needs (std has no process-group kill).
    use std::ffi::{c_int, c_ulong};

    extern "C" {
        fn kill(pid: c_int, sig: c_int) -> c_int;
        fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
        fn prctl(option: c_int, ...) -> c_int;
    }

    const SIGKILL: c_int = 9;
    const WNOHANG: c_int = 1;
    const PR_SET_CHILD_SUBREAPER: c_int = 36;

    /// SIGKILL to every process of group `pgid`. Returns false when the group is already empty.
    pub fn kill_group(pgid: i32) -> bool {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        unsafe { kill(-pgid, SIGKILL) == 0 }
    }

    /// Reaps `pid` if it is a finished child of ours; never blocks.
    pub fn reap(pid: i32) {
        let mut status: c_int = 0;
        // SAFETY: `status` is a valid, writable c_int for the duration of the call.
        unsafe { waitpid(pid, &mut status, WNOHANG) };
    }

    /// Makes this test process the reaper of its descendants' orphans (a worker process whose
    /// parent was killed), so that they can be reaped here instead of lingering as zombies
    /// (PID 1 of some containers never reaps them).
    pub fn become_subreaper() {
        // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument and touches no memory.
        unsafe { prctl(PR_SET_CHILD_SUBREAPER, 1 as c_ulong) };
    }
}

/// One entry of the process table.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug in failure messages
struct Proc {
    pid: i32,
    comm: String,
    state: char,
    ppid: i32,
}

/// Every process (not thread) whose process group is `pgid`, read from /proc.
fn processes_in_group(pgid: i32) -> Vec<Proc> {
    let entries = std::fs::read_dir("/proc").expect("the process table /proc must be readable");
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        // A process may vanish between readdir and read: that is not an error.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = rest.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let pgrp = rest.next().and_then(|s| s.parse::<i32>().ok()).unwrap_or(0);
        if pgrp == pgid {
            found.push(Proc {
                pid,
                comm: stat[open + 1..close].to_string(),
                state,
                ppid,
            });
        }
    }
    found
}

/// Waits up to `grace` for group `pgid` to disappear from the process table, reaping the
/// zombies that are ours. Returns what is still there.
fn wait_group_gone(pgid: i32, grace: Duration) -> Vec<Proc> {
    let me = std::process::id() as i32;
    let deadline = Instant::now() + grace;
    loop {
        let left = processes_in_group(pgid);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        for p in &left {
            if p.ppid == me {
                os::reap(p.pid);
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// How a run ended.
enum Outcome {
    Exited {
        code: Option<i32>,
        stdout: String,
        stderr: String,
    },
    Hung {
        stdout_so_far: String,
        stderr_so_far: String,
    },
}

impl Outcome {
    fn stdout(&self) -> &str {
        match self {
            Outcome::Exited { stdout, .. } => stdout,
            Outcome::Hung { stdout_so_far, .. } => stdout_so_far,
        }
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, out, err) = match self {
            Outcome::Exited {
                code,
                stdout,
                stderr,
            } => (format!("exited {code:?}"), stdout, stderr),
            Outcome::Hung {
                stdout_so_far,
                stderr_so_far,
            } => ("hung (killed)".to_string(), stdout_so_far, stderr_so_far),
        };
        write!(f, "{what}\n  stdout: {out:?}\n  stderr: {err:?}")
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    let mut pipe = pipe.expect("the pipe was requested with Stdio::piped");
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the capture; what was read so far is still the evidence.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` in a process group of its own, stdin closed, stdout and stderr piped. A run still
/// alive after `limit` is hung: its group is killed with SIGKILL and reaped. Either way, no
/// process of the group may remain afterwards (checked in /proc).
fn run(mut cmd: Command, limit: Duration) -> Outcome {
    static SUBREAPER: Once = Once::new();
    SUBREAPER.call_once(os::become_subreaper);

    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let shown = format!("{cmd:?}");
    let mut child: Child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let pgid = i32::try_from(child.id()).expect("a pid fits in i32");
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());

    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("cannot wait for {shown}: {e}"),
        }
    };

    match status {
        None => {
            os::kill_group(pgid);
            child
                .wait()
                .unwrap_or_else(|e| panic!("cannot reap {shown} after SIGKILL: {e}"));
            let left = wait_group_gone(pgid, Duration::from_secs(3));
            assert!(
                left.is_empty(),
                "{shown} hung; after SIGKILL its group still holds {left:?}"
            );
            Outcome::Hung {
                stdout_so_far: stdout.join().expect("stdout reader"),
                stderr_so_far: stderr.join().expect("stderr reader"),
            }
        }
        Some(status) => {
            // The main process is gone; its workers (process pools) must be gone with it.
            let left = wait_group_gone(pgid, Duration::from_secs(2));
            if !left.is_empty() {
                os::kill_group(pgid);
                wait_group_gone(pgid, Duration::from_secs(3));
                panic!("{shown} exited ({status}) but left processes behind: {left:?}");
            }
            Outcome::Exited {
                code: status.code(),
                stdout: stdout.join().expect("stdout reader"),
                stderr: stderr.join().expect("stderr reader"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The programs and their documented outcomes (the README's scenario table).

/// What stderr must show.
#[derive(Clone, Copy)]
enum Stderr {
    Empty,
    /// The last non-empty line is one of these (3.10 names TimeoutError by its module path).
    EndsWith(&'static [&'static str]),
}

#[derive(Clone, Copy)]
struct Exit {
    code: i32,
    stdout: &'static str,
    stderr: Stderr,
}

#[derive(Clone, Copy)]
struct Hang {
    stdout: &'static str,
    stderr: Stderr,
}

/// A program's documented outcome: deterministic (exactly one of the two) or racy (both).
#[derive(Clone, Copy)]
struct Spec {
    name: &'static str,
    limit: Duration,
    exit: Option<Exit>,
    hang: Option<Hang>,
}

const LIMIT: Duration = Duration::from_secs(3);
const QUIET_EXIT: Exit = Exit {
    code: 0,
    stdout: "",
    stderr: Stderr::Empty,
};
const QUIET_HANG: Hang = Hang {
    stdout: "",
    stderr: Stderr::Empty,
};
const RUNNING: &str = "Running wait_on_future\n";
const RUNNING_25: &str = "Running wait_on_future\n25\n";
const RUNNING_EXIT: Exit = Exit {
    code: 0,
    stdout: RUNNING,
    stderr: Stderr::Empty,
};
const RUNNING_HANG: Hang = Hang {
    stdout: RUNNING,
    stderr: Stderr::Empty,
};
const AFTER_SHUTDOWN: &[&str] = &["RuntimeError: cannot schedule new futures after shutdown"];
const TIMEOUT: &[&str] = &["TimeoutError", "concurrent.futures._base.TimeoutError"];
const SCRAPED: &str = "alpha: alpha/news, alpha/blog\nbeta: beta/docs, beta/faq\n";
const BATCHED: &str = "batch 0: sum of squares 14\nbatch 1: sum of squares 41\n";
const UPLOADED: &str =
    "job 2: 2 of 2 files uploaded\njob 3: 3 of 3 files uploaded\nserver holds 5 files\n";
const ENSEMBLED: &str = "ensemble 1: 3 models, score 203\nensemble 2: 3 models, score 151\n";
const ATEXIT_ORDER: &str = "25\natexit second: cannot schedule new futures after shutdown\natexit first: _shutdown = True\n";
const SUBMIT_SHUTDOWN: &str =
    "submit returned, done: False\ntask done\nshutdown returned, done: True\n";
const NO_TRAP: &[&str] = &[
    "TypeError: cannot pickle '_thread.lock' object",
    "RuntimeError: no trap variant: the executor cannot cross the process boundary",
];

const fn exit_0(stdout: &'static str) -> Exit {
    Exit {
        code: 0,
        stdout,
        stderr: Stderr::Empty,
    }
}

fn spec(name: &str) -> Spec {
    let (exit, hang, limit) = match name {
        "no_deadlock" => (Some(QUIET_EXIT), Some(QUIET_HANG), LIMIT),
        "sometimes_deadlock" => (Some(RUNNING_EXIT), Some(RUNNING_HANG), LIMIT),
        // The talk's always_deadlock, discourage_deadlock, force_deadlock and
        // unswallow_runtimeerror print first in wait_on_future, like sometimes_deadlock.
        "always_deadlock" => (None, Some(RUNNING_HANG), LIMIT),
        "discourage_deadlock" => (Some(RUNNING_EXIT), Some(RUNNING_HANG), LIMIT),
        "force_deadlock" => (None, Some(RUNNING_HANG), LIMIT),
        "unswallow_runtimeerror" => (
            Some(Exit {
                code: 1,
                stdout: RUNNING,
                stderr: Stderr::EndsWith(AFTER_SHUTDOWN),
            }),
            Some(RUNNING_HANG),
            LIMIT,
        ),
        "context_manager" => (Some(QUIET_EXIT), Some(QUIET_HANG), LIMIT),
        "solution1_max_workers" | "solution2_processpool" => (
            Some(Exit {
                code: 0,
                stdout: RUNNING_25,
                stderr: Stderr::Empty,
            }),
            None,
            LIMIT,
        ),
        "solution3_externalqueue" => (
            Some(Exit {
                code: 0,
                stdout: "25\n",
                stderr: Stderr::Empty,
            }),
            None,
            LIMIT,
        ),
        // The TimeoutError comes after 1 s; the hang is judged well after it.
        "solution4_timeout" => (
            None,
            Some(Hang {
                stdout: RUNNING,
                stderr: Stderr::EndsWith(TIMEOUT),
            }),
            Duration::from_secs(4),
        ),
        // Both workers sleep 5 s before they wait on each other.
        "pep3148_mutual" => (None, Some(QUIET_HANG), Duration::from_secs(8)),
        // The talk's nested concurrency patterns: the safe way prints results grouped per outer
        // task; the trap (`NESTED=trap`) puts the inner work on the full outer pool and hangs,
        // where a thread pool is outside; where a process pool is, the executor cannot cross
        // the process boundary and the attempt fails loudly (Python cannot pickle it; the
        // port's tasks take integers, so its binary says there is no trap).
        "nested_scrape" => (Some(exit_0(SCRAPED)), None, LIMIT),
        "nested_batch" => (Some(exit_0(BATCHED)), None, LIMIT),
        "nested_upload" => (Some(exit_0(UPLOADED)), None, LIMIT),
        "nested_ensemble" => (Some(exit_0(ENSEMBLED)), None, LIMIT),
        "nested_scrape:trap" | "nested_batch:trap" => (None, Some(QUIET_HANG), LIMIT),
        "nested_upload:trap" | "nested_ensemble:trap" => (
            Some(Exit {
                code: 1,
                stdout: "",
                stderr: Stderr::EndsWith(NO_TRAP),
            }),
            None,
            LIMIT,
        ),
        // The lessons of the pool's code: each exits 0 after a fixed sequence of prints.
        "daemon_exit" => (Some(exit_0("main done\nnon-daemon done\n")), None, LIMIT),
        "atexit_order" => (Some(exit_0(ATEXIT_ORDER)), None, LIMIT),
        "submit_shutdown" => (Some(exit_0(SUBMIT_SHUTDOWN)), None, LIMIT),
        "leaked_executor" => (Some(exit_0("main done\ntask done\n")), None, LIMIT),
        // The programs users bring (issue 12): each hangs every run.
        "lock_order" | "self_join" => (None, Some(QUIET_HANG), LIMIT),
        "lost_sentinel" => (
            None,
            Some(Hang {
                stdout: "1\n2\n3\n",
                stderr: Stderr::EndsWith(&[
                    "RuntimeError: the producer failed before its sentinel",
                ]),
            }),
            LIMIT,
        ),
        other => panic!("no documented outcome for {other}"),
    };
    Spec {
        name: leak(name),
        limit,
        exit,
        hang,
    }
}

fn leak(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

// ---------------------------------------------------------------------------------------------
// Configurations: which implementation runs the program.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Config {
    /// The Rust binary with the model GIL (the default).
    RustGil,
    /// The Rust binary free-threaded (`PYTHON_GIL=0`, like Python 3.13t).
    RustFreeThreaded,
    /// The Python twin.
    Python,
}

const ALL: [Config; 3] = [Config::Python, Config::RustGil, Config::RustFreeThreaded];

fn python() -> String {
    std::env::var("DAPWALK_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn twin(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(format!("{name}.py"))
}

/// A program's name and its variant: `nested_scrape:trap` is `nested_scrape` with `NESTED=trap`.
fn variant(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((program, mode)) => (program, Some(mode)),
        None => (name, None),
    }
}

/// The Rust binary of a program, as built by Cargo for this test.
fn binary(name: &str) -> &'static str {
    match name {
        "nested_scrape" => env!("CARGO_BIN_EXE_nested_scrape"),
        "nested_batch" => env!("CARGO_BIN_EXE_nested_batch"),
        "nested_upload" => env!("CARGO_BIN_EXE_nested_upload"),
        "nested_ensemble" => env!("CARGO_BIN_EXE_nested_ensemble"),
        "daemon_exit" => env!("CARGO_BIN_EXE_daemon_exit"),
        "atexit_order" => env!("CARGO_BIN_EXE_atexit_order"),
        "submit_shutdown" => env!("CARGO_BIN_EXE_submit_shutdown"),
        "leaked_executor" => env!("CARGO_BIN_EXE_leaked_executor"),
        "no_deadlock" => env!("CARGO_BIN_EXE_no_deadlock"),
        "sometimes_deadlock" => env!("CARGO_BIN_EXE_sometimes_deadlock"),
        "always_deadlock" => env!("CARGO_BIN_EXE_always_deadlock"),
        "discourage_deadlock" => env!("CARGO_BIN_EXE_discourage_deadlock"),
        "force_deadlock" => env!("CARGO_BIN_EXE_force_deadlock"),
        "unswallow_runtimeerror" => env!("CARGO_BIN_EXE_unswallow_runtimeerror"),
        "context_manager" => env!("CARGO_BIN_EXE_context_manager"),
        "solution1_max_workers" => env!("CARGO_BIN_EXE_solution1_max_workers"),
        "solution2_processpool" => env!("CARGO_BIN_EXE_solution2_processpool"),
        "solution3_externalqueue" => env!("CARGO_BIN_EXE_solution3_externalqueue"),
        "solution4_timeout" => env!("CARGO_BIN_EXE_solution4_timeout"),
        "pep3148_mutual" => env!("CARGO_BIN_EXE_pep3148_mutual"),
        "lock_order" => env!("CARGO_BIN_EXE_lock_order"),
        "lost_sentinel" => env!("CARGO_BIN_EXE_lost_sentinel"),
        "self_join" => env!("CARGO_BIN_EXE_self_join"),
        other => panic!("no Rust binary for {other}"),
    }
}

fn command(name: &str, config: Config) -> Command {
    let (name, mode) = variant(name);
    let mut cmd = match config {
        Config::Python => {
            let path = twin(name);
            assert!(
                path.is_file(),
                "the Python twin {} is missing",
                path.display()
            );
            let mut cmd = Command::new(python());
            cmd.arg(path);
            cmd
        }
        Config::RustGil | Config::RustFreeThreaded => Command::new(binary(name)),
    };
    // The documented outcomes are those of a plain run: no inherited knobs that move them.
    for var in [
        "ALWAYS_DEADLOCK_SLEEP",
        "PYTHONUNBUFFERED",
        "PYTHON_GIL",
        "PYTHONWARNINGS",
        "NESTED",
    ] {
        cmd.env_remove(var);
    }
    if let Some(mode) = mode {
        cmd.env("NESTED", mode);
    }
    if config == Config::RustFreeThreaded {
        cmd.env("PYTHON_GIL", "0");
    }
    cmd
}

// ---------------------------------------------------------------------------------------------
// Checks.

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .map(str::trim_end)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

fn stderr_matches(stderr: &str, want: Stderr) -> bool {
    match want {
        Stderr::Empty => stderr.is_empty(),
        Stderr::EndsWith(lines) => lines.contains(&last_line(stderr)),
    }
}

/// Whether `outcome` is one of the program's documented outcomes.
fn is_documented(spec: &Spec, outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Exited {
            code,
            stdout,
            stderr,
        } => spec.exit.is_some_and(|e| {
            *code == Some(e.code) && stdout == e.stdout && stderr_matches(stderr, e.stderr)
        }),
        Outcome::Hung {
            stdout_so_far,
            stderr_so_far,
        } => spec.hang.is_some_and(|h| {
            // A program's output may still sit in a buffer that a hung process never flushes
            // (force_deadlock's print on a pipe): a hang may show less than the documented
            // output, never anything else.
            let stdout_ok = h.stdout.starts_with(stdout_so_far.as_str());
            stdout_ok && stderr_matches(stderr_so_far, h.stderr)
        }),
    }
}

/// Runs `name` `runs` times in each configuration, all at once, and returns every outcome.
fn run_all(name: &str, configs: &[Config], runs: usize) -> Vec<(Config, Outcome)> {
    let spec = spec(name);
    thread::scope(|scope| {
        let handles: Vec<_> = configs
            .iter()
            .flat_map(|&config| (0..runs).map(move |_| config))
            .map(|config| {
                scope.spawn(move || (config, run(command(spec.name, config), spec.limit)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a run panicked (message above)"))
            .collect()
    })
}

/// A deterministic program: one run per configuration, each exactly the documented outcome,
/// and the same stdout in Rust and Python.
fn deterministic(name: &str, configs: &[Config]) {
    let spec = spec(name);
    assert!(
        spec.exit.is_some() != spec.hang.is_some(),
        "{name} is documented as racy"
    );
    let outcomes = run_all(name, configs, 1);
    for (config, outcome) in &outcomes {
        assert!(
            is_documented(&spec, outcome),
            "{name} ({config:?}) is not as documented: {outcome:?}"
        );
    }
    let mut stdouts = outcomes.iter().map(|(c, o)| (c, o.stdout()));
    if let Some((first_config, first)) = stdouts.next() {
        for (config, stdout) in stdouts {
            assert_eq!(
                stdout, first,
                "{name}: stdout of {config:?} differs from {first_config:?}"
            );
        }
    }
}

/// Runs per configuration of a racy program: enough to meet both outcomes now and then,
/// few enough to keep the whole file fast. Frequencies are `dapwalk spectrum`'s business.
const RACY_RUNS: usize = 3;

/// A racy program: every run must be one of its two documented outcomes.
fn racy(name: &str, configs: &[Config]) {
    let spec = spec(name);
    assert!(
        spec.exit.is_some() && spec.hang.is_some(),
        "{name} is documented as deterministic"
    );
    for (config, outcome) in run_all(name, configs, RACY_RUNS) {
        assert!(
            is_documented(&spec, &outcome),
            "{name} ({config:?}) is neither of its documented outcomes: {outcome:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The tests: one per program, every configuration at once.

#[test]
fn no_deadlock() {
    racy("no_deadlock", &ALL);
}

#[test]
fn sometimes_deadlock() {
    racy("sometimes_deadlock", &ALL);
}

#[test]
fn always_deadlock() {
    deterministic("always_deadlock", &ALL);
}

#[test]
fn discourage_deadlock() {
    racy("discourage_deadlock", &ALL);
}

#[test]
fn force_deadlock() {
    deterministic("force_deadlock", &ALL);
}

#[test]
fn unswallow_runtimeerror() {
    racy("unswallow_runtimeerror", &ALL);
}

#[test]
fn context_manager() {
    racy("context_manager", &ALL);
}

#[test]
fn solution1_max_workers() {
    deterministic("solution1_max_workers", &ALL);
}

#[test]
fn solution2_processpool() {
    deterministic("solution2_processpool", &ALL);
}

#[test]
fn solution3_externalqueue() {
    deterministic("solution3_externalqueue", &ALL);
}

#[test]
fn solution4_timeout() {
    deterministic("solution4_timeout", &ALL);
}

#[test]
fn pep3148_mutual() {
    deterministic("pep3148_mutual", &ALL);
}

#[test]
fn nested_scrape() {
    deterministic("nested_scrape", &ALL);
    deterministic("nested_scrape:trap", &ALL);
}

#[test]
fn nested_batch() {
    deterministic("nested_batch", &ALL);
    deterministic("nested_batch:trap", &ALL);
}

#[test]
fn nested_upload() {
    deterministic("nested_upload", &ALL);
    deterministic("nested_upload:trap", &ALL);
}

#[test]
fn nested_ensemble() {
    deterministic("nested_ensemble", &ALL);
    deterministic("nested_ensemble:trap", &ALL);
}

/// A daemon thread blocked forever does not keep the process alive; the non-daemon one is
/// joined (its print comes after main's).
#[test]
fn daemon_exit() {
    deterministic("daemon_exit", &ALL);
}

/// The pool's exit hook runs before every `atexit` handler, and those run last registered first.
#[test]
fn atexit_order() {
    deterministic("atexit_order", &ALL);
}

/// `submit` returns a future not yet done; `shutdown(wait=True)` returns after the task.
#[test]
fn submit_shutdown() {
    deterministic("submit_shutdown", &ALL);
}

/// An executor never shut down: the exit hook waits for its task before the process exits.
#[test]
fn leaked_executor() {
    deterministic("leaked_executor", &ALL);
}

#[test]
fn lock_order() {
    deterministic("lock_order", &ALL);
}

#[test]
fn lost_sentinel() {
    deterministic("lost_sentinel", &ALL);
}

#[test]
fn self_join() {
    deterministic("self_join", &ALL);
}

/// `ALWAYS_DEADLOCK_SLEEP` overrides the sleep: a long one still hangs, as a debugger would see.
#[test]
fn always_deadlock_sleep_override() {
    for config in [Config::Python, Config::RustGil] {
        let mut cmd = command("always_deadlock", config);
        cmd.env("ALWAYS_DEADLOCK_SLEEP", "3600");
        let outcome = run(cmd, Duration::from_secs(1));
        assert!(
            matches!(&outcome, Outcome::Hung { stdout_so_far, stderr_so_far }
                if stdout_so_far.is_empty() && stderr_so_far.is_empty()),
            "always_deadlock ({config:?}) with a 3600 s sleep: {outcome:?}"
        );
    }
}

/// The harness itself: a program that forks a grandchild and then hangs is killed with its
/// whole group, and nothing of it is left in the process table.
#[test]
fn harness_kills_a_hung_group_and_leaves_nothing() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "sleep 600 & echo started; wait"]);
    let outcome = run(cmd, Duration::from_millis(500));
    // `run` has checked /proc: neither the shell nor its sleeping child is left.
    assert!(
        matches!(&outcome, Outcome::Hung { stdout_so_far, .. } if stdout_so_far == "started\n"),
        "{outcome:?}"
    );
}

/// The breakpoint markers a walkthrough may name: each program's Rust binary and Python twin
/// carry the same set, and no name twice.
#[test]
fn markers_agree_between_rust_and_python() {
    fn markers(path: &std::path::Path, comment: &str) -> Vec<String> {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut names = Vec::new();
        for line in text.lines() {
            // Markers live in a trailing comment: `// @bp a @bp b` or `# @bp a @bp b`.
            let Some(at) = line.find(&format!("{comment} @bp ")) else {
                continue;
            };
            names.extend(
                line[at..]
                    .split("@bp ")
                    .skip(1)
                    .map(|s| s.trim().to_string()),
            );
        }
        names
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for name in PROGRAMS {
        let rust = markers(&root.join("src/bin").join(format!("{name}.rs")), "//");
        let python = markers(&twin(name), "#");
        let mut unique = python.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            python.len(),
            "{name}.py repeats a marker: {python:?}"
        );
        assert!(!python.is_empty(), "{name}.py has no markers");
        let mut rust_sorted = rust.clone();
        rust_sorted.sort();
        assert_eq!(
            rust_sorted, unique,
            "{name}: markers differ between Rust and Python"
        );
    }
}

const PROGRAMS: [&str; 23] = [
    "no_deadlock",
    "sometimes_deadlock",
    "always_deadlock",
    "discourage_deadlock",
    "force_deadlock",
    "unswallow_runtimeerror",
    "context_manager",
    "solution1_max_workers",
    "solution2_processpool",
    "solution3_externalqueue",
    "solution4_timeout",
    "pep3148_mutual",
    "nested_scrape",
    "nested_batch",
    "nested_upload",
    "nested_ensemble",
    "daemon_exit",
    "atexit_order",
    "submit_shutdown",
    "leaked_executor",
    "lock_order",
    "lost_sentinel",
    "self_join",
];

/// The statements the talk's code shows for each program: whether `wait_on_future` begins with
/// `print("Running wait_on_future")`, and what main does after `executor.submit(wait_on_future)`
/// (none of them does anything before it but create the executor). Written down from the
/// talk's slides and its repository, so that a twin or a binary that drifts from the talk fails
/// here rather than silently measuring a different program.
const THE_TALK: &[(&str, bool, &[&str])] = &[
    ("no_deadlock", false, &[]),
    ("sometimes_deadlock", true, &[]),
    ("always_deadlock", true, &["time.sleep"]),
    (
        "discourage_deadlock",
        true,
        &["executor.shutdown(wait=False)"],
    ),
    ("force_deadlock", true, &["f.result()"]),
    (
        "unswallow_runtimeerror",
        true,
        &["executor.shutdown(wait=False)", "f.result()"],
    ),
    ("context_manager", false, &[]),
    ("solution1_max_workers", true, &["f.result()"]),
    ("solution2_processpool", true, &["f.result()"]),
    ("solution4_timeout", true, &["f.result(timeout=1)"]),
];

/// The code of a source file without comments, one trimmed statement per line.
fn code_lines(text: &str, comment: &str) -> Vec<String> {
    text.lines()
        .map(|line| match line.find(comment) {
            Some(at) if !line[..at].contains('"') || line[..at].matches('"').count() % 2 == 0 => {
                &line[..at]
            }
            _ => line,
        })
        .map(|line| line.trim().to_string())
        .filter(|line| !line.is_empty())
        .collect()
}

/// A Rust or Python statement in the talk's spelling, so the two tracks compare as one.
fn talk_spelling(statement: &str) -> String {
    let s = statement.trim_end_matches(';').trim_end_matches('?');
    match s {
        "f.result(None)" => "f.result()".into(),
        "f.result(Some(Duration::from_secs(1)))" => "f.result(timeout=1)".into(),
        "executor.shutdown(false, false)" => "executor.shutdown(wait=False)".into(),
        _ if s.starts_with("time::sleep(") || s.starts_with("time.sleep(") => "time.sleep".into(),
        _ => s.replace("print(\"Running wait_on_future\")", "PRINT"),
    }
}

/// What one source says: (wait_on_future prints first, main's statements after the submit).
fn statements(lines: &[String], python: bool) -> (bool, Vec<String>) {
    let def = if python {
        "def wait_on_future("
    } else {
        "fn wait_on_future("
    };
    let start = lines
        .iter()
        .position(|l| l.starts_with(def))
        .expect("a wait_on_future");
    let prints_first = talk_spelling(&lines[start + 1]) == "PRINT";
    let submit = lines
        .iter()
        .rposition(|l| {
            l.contains("executor.submit(")
                && (l.contains("wait_on_future") || l.contains("move ||"))
        })
        .expect("main's submit");
    let after = lines[submit + 1..]
        .iter()
        .take_while(|l| !(l.starts_with("Ok(())") || l.starts_with('}')))
        .map(|l| talk_spelling(l))
        .collect();
    (prints_first, after)
}

/// Each program's first statement in `wait_on_future` and main's statements after its submit
/// are the talk's, in the Rust binary and in the Python twin.
#[test]
fn programs_are_the_talks() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for (name, prints_first, after) in THE_TALK {
        let want: (bool, Vec<String>) =
            (*prints_first, after.iter().map(|s| s.to_string()).collect());
        let rust = std::fs::read_to_string(root.join("src/bin").join(format!("{name}.rs")))
            .unwrap_or_else(|e| panic!("cannot read {name}.rs: {e}"));
        let python = std::fs::read_to_string(twin(name))
            .unwrap_or_else(|e| panic!("cannot read {name}.py: {e}"));
        for (file, got) in [
            (
                format!("{name}.rs"),
                statements(&code_lines(&rust, "//"), false),
            ),
            (
                format!("{name}.py"),
                statements(&code_lines(&python, "#"), true),
            ),
        ] {
            if got != want {
                problems.push(format!(
                    "{file}: prints first {}, after the submit {:?}; the talk: prints first {}, after the submit {:?}",
                    got.0, got.1, want.0, want.1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
