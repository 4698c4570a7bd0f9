//! `dapwalk present` through a pseudo-terminal, keys in and screen out, on real lldb-dap: the
//! narrative and the stopped thread on screen, `r`, `q` and Ctrl-C, nothing left running, the
//! terminal given back as it was, and the recorded Markdown equal to `dapwalk show`.

use crate::support::{self, leftovers, scratch, serial, text};
use nix::pty::{openpty, Winsize};
use nix::sys::termios::{tcgetattr, LocalFlags};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait for something that must happen; reaching it is a failure, never a pass.
const PATIENCE: Duration = Duration::from_secs(60);

/// `dapwalk present` on an 80-column pseudo-terminal.
struct Presenter {
    child: Child,
    master: std::fs::File,
    /// The terminal side, kept to read its settings after dapwalk has gone.
    slave: OwnedFd,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Presenter {
    fn start(args: &[&str]) -> Presenter {
        support::build_scenarios();
        let size = Winsize {
            ws_row: 40,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&size, None).expect("openpty");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dapwalk"));
        cmd.arg("present")
            .args(args)
            .current_dir(support::root())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .stdin(pty.slave.try_clone().expect("dup"))
            .stdout(pty.slave.try_clone().expect("dup"))
            .stderr(pty.slave.try_clone().expect("dup"));
        // A session of its own, so everything dapwalk starts can be found by session id,
        // also after dapwalk has gone.
        // SAFETY: setsid is async-signal-safe, and nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        let child = cmd.spawn().expect("dapwalk starts");
        let master = std::fs::File::from(pty.master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup");
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once every terminal-side descriptor is closed.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("screen").extend_from_slice(&buf[..n]);
            }
        });
        Presenter {
            child,
            master,
            slave: pty.slave,
            screen,
        }
    }

    /// Everything shown so far, as text without carriage returns.
    fn screen(&self) -> String {
        text(&self.screen.lock().expect("screen")).replace('\r', "")
    }

    /// Waits until the screen shows `what` `times` times.
    fn expect_n(&self, what: &str, times: usize) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.matches(what).count() >= times {
                return s;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the screen never showed {what:?} ({times} times); it shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn expect(&self, what: &str) -> String {
        self.expect_n(what, 1)
    }

    fn press(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("key sent");
        self.master.flush().expect("key sent");
    }

    fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("dapwalk present did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the terminal is back in line mode with echo, as a shell expects it.
    fn terminal_restored(&self) -> bool {
        let t = tcgetattr(&self.slave).expect("tcgetattr");
        t.local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG)
    }
}

/// The processes alive in session `sid` (dapwalk's own: it is started as a session leader,
/// and the adapters it starts stay in its session), by pid and name.
fn session_members(sid: u32) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == sid {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        // After "pid (comm)": state, ppid, pgrp, session.
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let zombie = fields.first() == Some(&"Z");
        if !zombie && fields.get(3).and_then(|s| s.parse::<u32>().ok()) == Some(sid) {
            let name = stat[..close].split_once('(').map_or("", |(_, n)| n);
            found.push(format!("{pid} {name}"));
        }
    }
    found
}

/// A copy of a real walkthrough under target/, so its "last run" is this test's own.
fn walkthrough_copy(test: &str, name: &str) -> (PathBuf, String) {
    let dir = scratch(test);
    let to = dir.join(name);
    std::fs::copy(support::root().join("walkthroughs/rust").join(name), &to)
        .expect("copy walkthrough");
    let rel = to
        .strip_prefix(support::root())
        .expect("under the project")
        .display()
        .to_string();
    (dir, rel)
}

fn show(rel: &str) -> String {
    let out = support::dapwalk(&["show", rel]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Nothing dapwalk started is still running: no debuggee, no adapter, no LLDB server.
fn nothing_left(sid: u32) {
    assert_eq!(leftovers(), Vec::<String>::new(), "a debuggee survived");
    assert_eq!(
        session_members(sid),
        Vec::<String>::new(),
        "a debugger survived"
    );
}

/// While a step is shown, the debugger is there (so that `nothing_left` can fail).
fn debugger_running(p: &Presenter) {
    let members = session_members(p.child.id());
    assert!(
        members.iter().any(|m| m.contains("lldb-dap")),
        "no lldb-dap in dapwalk's session: {members:?}"
    );
}

#[test]
fn present_shows_the_narrative_and_the_stopped_thread_and_q_leaves_nothing_behind() {
    let _serial = serial();
    let (dir, rel) = walkthrough_copy("present-q", "02-always-deadlock.toml");
    let record = dir.join("session.md");
    let mut p = Presenter::start(&[
        "--no-build",
        "--record",
        record.to_str().expect("utf-8 path"),
        &rel,
    ]);

    // The narrative, and what is about to be done, before anything runs.
    p.expect("Always deadlock: main sleeps, the flag stays false");
    p.expect("── Step 1 of 4");
    p.expect("Main reaches its sleep");
    p.expect("Break on `time.sleep` in main.");
    p.expect("Next: Set breakpoints at `main-sleep`, then start debugging (F5).");
    p.press("\r");

    // What the debugger reports: the stopped thread and why, the other thread paused with
    // it, the watches, and the verdict.
    let s = p.expect("✓ As the walkthrough says.");
    assert!(
        s.contains("Stopped: MainThread — on a breakpoint at main-sleep (always_deadlock.rs:"),
        "{s}"
    );
    assert!(s.contains("▶ MainThread — stopped on a breakpoint"), "{s}");
    assert!(s.contains("TPExecutor-0_0 — paused with it"), "{s}");
    assert!(s.contains("_shutdown        false"), "{s}");
    debugger_running(&p);
    p.expect("── Step 2 of 4");
    p.expect("While main sleeps, the inner submit succeeds");

    // `r` shows the last observation again.
    p.press("r");
    p.expect_n("Stopped: MainThread — on a breakpoint at main-sleep", 2);

    // `q` before step 2: a clean exit, the terminal back in line mode, nothing left running.
    p.press("q");
    let status = p.wait();
    let s = p.screen();
    assert_eq!(status.code(), Some(0), "{s}");
    assert!(!s.contains("\x1b["), "NO_COLOR means no colour codes:\n{s}");
    for line in s.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than the terminal: {line:?}"
        );
    }
    assert!(p.terminal_restored(), "the terminal was left in raw mode");
    nothing_left(p.child.id());

    // The transcript is `dapwalk show` with the step that was played.
    let recorded = std::fs::read_to_string(&record).expect("the transcript was written");
    assert_eq!(recorded, show(&rel));
    assert_eq!(recorded.matches("<details>").count(), 1, "{recorded}");
    assert!(
        recorded.contains("## 1. Main reaches its sleep"),
        "{recorded}"
    );
    assert!(
        recorded.contains("stopped: MainThread, breakpoint, at main-sleep"),
        "{recorded}"
    );
    assert!(recorded.contains("watch _shutdown = false"), "{recorded}");
}

#[test]
fn present_auto_plays_to_the_deadlock_and_records_what_show_renders() {
    let _serial = serial();
    let (dir, rel) = walkthrough_copy("present-auto", "02-always-deadlock.toml");
    let record = dir.join("session.md");
    let mut p = Presenter::start(&[
        "--no-build",
        "--auto",
        "0",
        "--record",
        record.to_str().expect("utf-8 path"),
        &rel,
    ]);
    let status = p.wait();
    let s = p.screen();
    assert_eq!(status.code(), Some(0), "{s}");
    assert_eq!(s.matches("✓ As the walkthrough says.").count(), 4, "{s}");
    assert!(s.contains("Stopped: TPExecutor-0_0 — on a breakpoint at port:submit-enqueue"));
    // The value that changed since the last stop is marked, with what it was.
    assert!(s.contains("work queue size  *1  (was 0)"), "{s}");
    assert!(s.contains("Every thread is blocked: a deadlock."), "{s}");
    assert!(s.contains("MainThread — blocked in Thread::join"), "{s}");
    assert!(
        s.contains("TPExecutor-0_0 — blocked in Condition::wait"),
        "{s}"
    );
    assert!(s.contains("End of the walkthrough."), "{s}");
    assert!(p.terminal_restored(), "the terminal was left in raw mode");
    nothing_left(p.child.id());

    let recorded = std::fs::read_to_string(&record).expect("the transcript was written");
    assert_eq!(recorded, show(&rel));
    assert_eq!(recorded.matches("<details>").count(), 4, "{recorded}");
    assert!(
        recorded.contains("TPExecutor-0_0: Lock::acquire::{closure}"),
        "the observed stacks are in the transcript:\n{recorded}"
    );
}

#[test]
fn present_warns_when_a_pause_outlasts_the_sleep_and_ctrl_c_restores_the_terminal() {
    let _serial = serial();
    let (_dir, rel) = walkthrough_copy("present-ctrl-c", "02-always-deadlock.toml");
    let mut p = Presenter::start(&["--no-build", &rel]);
    p.expect("── Step 1 of 4");
    p.press("\r");
    p.expect("── Step 2 of 4");
    // Step 2 lets main's one-second sleep run: the screen says so up front...
    p.expect("⏱ Timing: this step's outcome rests on the program's `time.sleep`");
    // ...and, once the presenter has stood still longer than that second, before continuing.
    std::thread::sleep(Duration::from_millis(1200));
    let s = p.expect("You have paused");
    assert!(s.contains("longer than the program's `time.sleep`"), "{s}");
    assert!(s.contains("not have its intended"), "{s}");
    assert!(
        !s.contains("… continuing"),
        "warned before continuing:\n{s}"
    );

    debugger_running(&p);
    // Ctrl-C is a key in raw mode: tear down, give the terminal back, exit 130.
    p.press("\x03");
    let status = p.wait();
    let s = p.screen();
    assert_eq!(status.code(), Some(130), "{s}");
    assert!(s.contains("interrupted"), "{s}");
    assert!(p.terminal_restored(), "the terminal was left in raw mode");
    nothing_left(p.child.id());
}

#[test]
fn present_without_a_terminal_reads_lines() {
    let _serial = serial();
    let (_dir, rel) = walkthrough_copy("present-lines", "01-no-deadlock.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dapwalk"));
    cmd.args(["present", "--no-build", &rel])
        .current_dir(support::root())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: as in `Presenter::start`.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child = cmd.spawn().expect("dapwalk starts");
    let sid = child.id();
    // One step, then quit: Enter and `q` as lines.
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"\nq\n")
        .expect("keys sent");
    let out = child.wait_with_output().expect("dapwalk ends");
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("── Step 1 of"), "{s}");
    assert!(s.contains("Stopped: "), "{s}");
    assert!(s.contains("✓ As the walkthrough says."), "{s}");
    assert!(!s.contains("── Step 3 of"), "q stopped it:\n{s}");
    nothing_left(sid);
}

#[test]
fn present_interrupted_by_sigint_mid_step_tears_down_and_restores_the_terminal() {
    let _serial = serial();
    let (_dir, rel) = walkthrough_copy("present-sigint", "02-always-deadlock.toml");
    let mut p = Presenter::start(&["--no-build", &rel]);
    p.expect("── Step 1 of 4");
    p.press("\r");
    p.expect("… starting the program under the debugger");
    // SIGINT as a terminal sends it while a step runs (the terminal's own Ctrl-C is off in raw
    // mode, so the signal is sent directly). Whether it lands during the step or just after,
    // dapwalk must stop everything and give the terminal back.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(p.child.id()).expect("pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT sent");
    let status = p.wait();
    let s = p.screen();
    assert_eq!(status.code(), Some(130), "{s}");
    assert!(p.terminal_restored(), "the terminal was left in raw mode");
    nothing_left(p.child.id());
}
