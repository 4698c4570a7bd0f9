//! `dapwalk coach` with Microsoft's `DebugClient` (`tests/coach/play.js`, VS Code's own DAP
//! test client) standing in for VS Code: talk walkthroughs played by hand on lldb-dap and
//! debugpy, the coach's Debug Console words (✓, ✗ and the hints), the adapter's own responses
//! with and without the coach, `--record`, and nothing left behind however a session ends.

#[path = "support/mod.rs"]
mod support;

use dapwalk::adapters::{LaunchTarget, Registry};
use dapwalk::project::Project;
use dapwalk::walkthrough::{self, MarkerRef, Prepared};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::{leftovers, root, scratch, serial, text};

/// The Node client, installed by `scripts/setup` (`npm ci` in tests/coach).
fn node_client() -> PathBuf {
    let dir = root().join("tests/coach");
    assert!(
        dir.join("node_modules/@vscode/debugadapter-testsupport")
            .is_dir(),
        "the DebugClient is not installed: run scripts/setup (npm ci in tests/coach)"
    );
    dir.join("play.js")
}

fn prepared(file: &str) -> Prepared {
    let project = Project::new(root());
    let w = walkthrough::load(&root().join(file)).expect("the walkthrough loads");
    walkthrough::prepare(&project, w).expect("and resolves")
}

/// A marker's file and line.
fn site(prep: &Prepared, marker: &str) -> (String, i64) {
    let s = prep
        .markers
        .resolve(&MarkerRef::parse(marker).expect("test setup"))
        .expect("test setup");
    (s.file.display().to_string(), s.line as i64)
}

/// `setBreakpoints` arguments per file: each marker's file gets its lines, each of `clear`'s
/// files none.
fn breakpoints(prep: &Prepared, set: &[&str], clear: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for c in clear {
        m.insert(site(prep, c).0, json!([]));
    }
    for s in set {
        let (file, line) = site(prep, s);
        let lines = m.entry(file).or_insert_with(|| json!([]));
        if let Some(a) = lines.as_array_mut() {
            a.push(json!(line));
        }
    }
    Value::Object(m)
}

/// The launch configuration a learner's VS Code sends for this walkthrough on `adapter`.
fn launch(prep: &Prepared, adapter: &str) -> Value {
    let found = Registry::builtin()
        .by_name(adapter)
        .expect("test setup")
        .discover(None, root())
        .expect("the adapter is installed (scripts/setup)");
    let mut args = found
        .launch_arguments(&LaunchTarget {
            program: prep.program.clone(),
            args: Vec::new(),
            cwd: Some(prep.root.clone()),
            env: prep.walkthrough.env.clone(),
            extra: prep.walkthrough.launch.clone(),
        })
        .expect("test setup");
    args["type"] = json!(found.dialect.adapter_id());
    args
}

/// A running coach and the port it printed.
struct Coach {
    child: Child,
    port: u16,
}

/// A test that fails before its coach's session ends must not leave the coach listening:
/// SIGKILL, after which the coach's guardian ends what it started.
impl Drop for Coach {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn coach(walkthrough: &str, extra: &[&str]) -> Coach {
    support::build_scenarios();
    // A port the system chooses: the walkthrough's own (4700 + NN) may be taken by another
    // coach on this machine.
    let mut args = vec!["coach", walkthrough, "--port", "0"];
    args.extend_from_slice(extra);
    let mut child = support::command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dapwalk coach starts");
    let mut lines = BufReader::new(child.stdout.take().expect("test setup")).lines();
    let first = lines.next().expect("a first line").expect("test setup");
    let port: u16 = first
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    let second = lines.next().expect("test setup").expect("test setup");
    assert!(
        second.contains(&format!("\"debugServer\": {port}")),
        "{second}"
    );
    Coach { child, port }
}

impl Coach {
    /// Waits for the coach to exit; its stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("test setup");
        let mut err = String::new();
        use std::io::Read;
        self.child
            .stderr
            .take()
            .expect("test setup")
            .read_to_string(&mut err)
            .expect("test setup");
        (status.code(), err)
    }
}

/// Plays `plan` through the Node client; what it received.
fn play(plan: &Value, dir: &Path, name: &str, target: &[&str]) -> (bool, Vec<Value>, String) {
    let plan_file = dir.join(format!("{name}.plan.json"));
    let out = dir.join(format!("{name}.out.json"));
    std::fs::write(
        &plan_file,
        serde_json::to_string_pretty(plan).expect("test setup"),
    )
    .expect("test setup");
    let run = Command::new("node")
        .arg(node_client())
        .arg(&plan_file)
        .arg(&out)
        .args(target)
        .output()
        .expect("node runs");
    let received = std::fs::read_to_string(&out)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map(|v| v["received"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default();
    (run.status.success(), received, text(&run.stderr))
}

/// Plays `plan` through the running coach `c` until both have ended (the client and the
/// coach succeed); the coach's words.
fn play_coached(c: Coach, plan: &Value, dir: &Path, name: &str) -> String {
    let (ok, received, err) = play(plan, dir, name, &["--port", &c.port.to_string()]);
    let (code, coach_err) = c.finish();
    let said = console(&received);
    assert!(
        ok,
        "the client failed: {err}\ncoach: {coach_err}\nsaid:\n{said}"
    );
    assert_eq!(code, Some(0), "{coach_err}");
    said
}

/// Asserts that `dapwalk run` passes the walkthrough `--record` wrote; its text.
fn plays_as_recorded(recorded: &Path) -> String {
    let toml = std::fs::read_to_string(recorded).expect("the recording was written");
    let out = support::dapwalk(&["run", "--no-build", recorded.to_str().expect("test setup")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{toml}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    toml
}

/// The coach's words: the console output events, joined.
fn console(received: &[Value]) -> String {
    received
        .iter()
        .filter(|m| m["event"] == "output" && m["body"]["category"] == "console")
        .map(|m| m["body"]["output"].as_str().unwrap_or_default())
        .collect()
}

fn wait_step(n: usize, of: usize) -> Value {
    json!({"console": format!("Step {n}/{of}[^\\n]*\\n[\\s\\S]*(✓|✗ the debugger departs)")})
}

/// A coach for one session that records it to `recorded`.
fn recording_coach(walkthrough: &str, recorded: &Path) -> Coach {
    let _ = std::fs::remove_file(recorded);
    coach(
        walkthrough,
        &[
            "--sessions",
            "1",
            "--record",
            recorded.to_str().expect("test setup"),
        ],
    )
}

/// Walkthrough 02 played by hand on lldb-dap as its steps say. With `read`, the learner
/// reads the coach's verdict at each stop before going on; without, they resume the moment
/// the stop arrives (only the hang, where they pause when told, and the last verdict, before
/// the session ends, are waited for).
fn always_deadlock_by_hand(prep: &Prepared, read: bool) -> Value {
    let verdict = |n: usize| read.then(|| wait_step(n, 4));
    let actions: Vec<Value> = [
        Some(json!({"wait": "stopped"})),
        verdict(1),
        Some(json!({"set": breakpoints(prep, &["port:submit-enqueue"], &["main-sleep"])})),
        Some(json!({"do": "continue"})),
        Some(json!({"wait": "stopped"})),
        verdict(2),
        Some(json!({"do": "next", "thread": "TPExecutor-0_0"})),
        Some(json!({"wait": "stopped"})),
        verdict(3),
        Some(json!({"set": breakpoints(prep, &[], &["port:submit-enqueue"])})),
        Some(json!({"do": "continue", "thread": "TPExecutor-0_0"})),
        Some(json!({"console": "The program hangs"})),
        Some(json!({"do": "pause"})),
        Some(json!({"wait": "stopped"})),
        Some(wait_step(4, 4)),
        Some(json!({"end": "disconnect"})),
    ]
    .into_iter()
    .flatten()
    .collect();
    at_main_sleep(prep, json!(actions))
}

/// A session of walkthrough 02 on lldb-dap that starts with a breakpoint on main's sleep and
/// then does `actions`.
fn at_main_sleep(prep: &Prepared, actions: Value) -> Value {
    json!({
        "adapterID": "lldb-dap",
        "launch": launch(prep, "lldb-dap"),
        "breakpoints": breakpoints(prep, &["main-sleep"], &[]),
        "actions": actions,
    })
}

/// Plays walkthrough 02 by hand on lldb-dap through a recording coach (`read`: as in
/// [`always_deadlock_by_hand`]) and checks what both tests below expect: a ✓ for each of the
/// four steps, none skipped and no ✗, nothing left behind, and a recording that `dapwalk run`
/// passes with every stop a step. The coach's words, and the scratch folder.
fn played_always_deadlock_by_hand(read: bool, name: &str) -> (String, PathBuf) {
    let _g = serial();
    let dir = scratch(&format!("coach-{name}"));
    let file = "walkthroughs/rust/02-always-deadlock.toml";
    let prep = prepared(file);
    let recorded = dir.join("recorded.toml");
    let c = recording_coach(file, &recorded);
    let said = play_coached(c, &always_deadlock_by_hand(&prep, read), &dir, name);
    assert_eq!(
        said.matches("✓ what the debugger shows is what the walkthrough says")
            .count(),
        4,
        "{said}"
    );
    assert!(!said.contains('✗'), "{said}");
    assert!(!said.contains("you are past"), "{said}");
    assert!(!said.contains("not checked"), "{said}");
    assert!(said.contains("That was the last step"), "{said}");
    assert!(leftovers().is_empty(), "left behind: {:?}", leftovers());
    let toml = plays_as_recorded(&recorded);
    assert_eq!(toml.matches("[[step]]").count(), 4, "{toml}");
    (said, dir)
}

#[test]
fn lldb_dap_walkthrough_played_by_hand_is_followed_and_recorded() {
    let (said, _) = played_always_deadlock_by_hand(true, "lldb");
    assert!(
        said.contains("Step 1/4: Main reaches its sleep\nBreak on `time.sleep` in main."),
        "{said}"
    );
    assert!(
        said.contains("select TPExecutor-0_0 in the Call Stack; then step over (F10)"),
        "{said}"
    );
}

/// The round trips (ms) of the client's resuming requests in the session `play` saved as
/// `name`: through the coach, how long each waited for the coach's look at the stop.
fn resume_round_trips(dir: &Path, name: &str) -> Vec<(String, f64)> {
    let out: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.out.json"))).expect("test setup"),
    )
    .expect("test setup");
    out["rtts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| matches!(r["command"].as_str(), Some("continue" | "next")))
        .map(|r| {
            (
                r["command"].as_str().unwrap_or_default().to_string(),
                r["ms"].as_f64().unwrap_or_default(),
            )
        })
        .collect()
}

/// A learner who presses F5/F10 the moment the program stops, before the coach has looked:
/// the coach holds the resume until its look is done, so every stop still gets its verdict
/// and the recording has every stop.
#[test]
fn lldb_dap_resuming_at_once_after_each_stop_still_gets_every_verdict() {
    let (_, dir) = played_always_deadlock_by_hand(false, "fast");
    // For BENCHMARKS.md (scripts/bench-coach): each resume's round trip through the coach.
    for (command, ms) in resume_round_trips(&dir, "fast") {
        println!("resume held: {command} {ms:.1} ms");
    }
}

/// The learner resumes and at once ends the session: the held resume goes to the adapter
/// before the disconnect, both are answered, and nothing is left behind.
#[test]
fn a_disconnect_while_a_resume_is_held_ends_the_session_cleanly() {
    let _g = serial();
    let dir = scratch("coach-fast-disconnect");
    let file = "walkthroughs/rust/02-always-deadlock.toml";
    let prep = prepared(file);
    let c = coach(file, &["--sessions", "1"]);
    let plan = at_main_sleep(
        &prep,
        json!([
            {"wait": "stopped"},
            {"do": "continue", "nowait": true},
            {"end": "disconnect"},
        ]),
    );
    let (ok, received, err) = play(&plan, &dir, "disconnect", &["--port", &c.port.to_string()]);
    let (code, coach_err) = c.finish();
    assert!(ok, "{err}\n{coach_err}");
    assert_eq!(code, Some(0), "{coach_err}");
    let answered: Vec<&str> = received
        .iter()
        .filter(|m| m["type"] == "response")
        .filter_map(|m| m["command"].as_str())
        .filter(|c| matches!(*c, "continue" | "disconnect"))
        .collect();
    assert_eq!(answered, ["continue", "disconnect"], "{received:?}");
    assert!(leftovers().is_empty(), "left behind: {:?}", leftovers());
}

#[test]
fn debugpy_wrong_turn_gets_a_cross_and_a_hint() {
    let _g = serial();
    let dir = scratch("coach-debugpy");
    let file = "walkthroughs/python/02-always-deadlock.toml";
    let prep = prepared(file);
    let c = coach(file, &["--sessions", "1"]);
    let plan = json!({
        "adapterID": "debugpy",
        "launch": launch(&prep, "debugpy"),
        "breakpoints": breakpoints(&prep, &["inner-result"], &[]),
        "actions": [
            {"wait": "stopped"}, wait_step(1, 2),
            // The walkthrough continues here; the learner steps over instead. The step over
            // `f.result()` never lands: the coach says the hang and looks by itself.
            {"do": "next", "thread": "ThreadPoolExecutor-0_0"},
            {"console": "✗ Step 2/2"},
            {"console": "The program hangs"},
            wait_step(2, 2),
            {"end": "disconnect"},
        ],
    });
    let said = play_coached(c, &plan, &dir, "debugpy");
    assert!(
        said.contains("✗ Step 2/2: Continue: the deadlock: the walkthrough does continue (F5) here; you did step over (F10)."),
        "{said}"
    );
    assert!(said.contains("To follow it: restart"), "{said}");
    let last = &said[said.rfind("Step 2/2: Continue").expect("test setup")..];
    assert!(last.contains('✓'), "{said}");
    assert!(leftovers().is_empty(), "left behind: {:?}", leftovers());
}

/// A response as the client saw it, without what differs between two runs of the same
/// session: sequence numbers, ids and pids the system hands out, addresses.
fn normalized(m: &Value) -> Value {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        let volatile = matches!(
                            k.as_str(),
                            "seq"
                                | "request_seq"
                                | "id"
                                | "threadId"
                                | "systemProcessId"
                                | "frameId"
                                | "variablesReference"
                                | "instructionPointerReference"
                                | "memoryReference"
                                | "sourceReference"
                                | "pid"
                        );
                        (k.clone(), if volatile { json!("*") } else { strip(v) })
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            Value::String(s) if s.contains("0x") => json!("0x*"),
            other => other.clone(),
        }
    }
    strip(m)
}

#[test]
fn the_client_gets_the_adapters_own_responses_and_a_second_connection_is_refused() {
    let _g = serial();
    let dir = scratch("coach-compare");
    let file = "walkthroughs/rust/02-always-deadlock.toml";
    let prep = prepared(file);
    let plan = at_main_sleep(
        &prep,
        json!([ {"wait": "stopped"}, {"look": true}, {"end": "disconnect"} ]),
    );
    let lldb_dap = Registry::builtin()
        .by_name("lldb-dap")
        .expect("test setup")
        .discover(None, root())
        .expect("test setup");
    let (ok, direct, err) = play(
        &plan,
        &dir,
        "direct",
        &["--adapter", lldb_dap.program.to_str().expect("test setup")],
    );
    assert!(ok, "{err}");
    let c = coach(file, &["--sessions", "1"]);
    // While the session below runs, a second client is told why it cannot connect.
    let port = c.port;
    let started = dir.join("coached.out.json");
    let _ = std::fs::remove_file(&started);
    let second = std::thread::spawn(move || {
        // Only once the client's session is under way (it saves after its first action):
        // before that, this connection would be the first one.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !started.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("test setup");
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("test setup");
        let body = r#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"lldb-dap"}}"#;
        use std::io::{Read, Write};
        write!(s, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("test setup");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    });
    let listening = std::fs::read_to_string("/proc/net/tcp").expect("test setup");
    let (ok, coached, err) = play(&plan, &dir, "coached", &["--port", &c.port.to_string()]);
    let (code, coach_err) = c.finish();
    assert!(ok, "{err}\n{coach_err}");
    assert_eq!(code, Some(0));
    let refused = second.join().expect("test setup");
    assert!(
        refused.contains("\"success\":false") && refused.contains("already coaching a session"),
        "{refused}"
    );
    // Bound to loopback only: the listening socket's local address is 127.0.0.1.
    let port_hex = format!(":{:04X}", port);
    let ours: Vec<&str> = listening
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(&port_hex))
                && l.split_whitespace().nth(3) == Some("0A")
        })
        .collect();
    assert!(!ours.is_empty(), "no listener on {port} in /proc/net/tcp");
    assert!(
        ours.iter()
            .all(|l| l.split_whitespace().nth(1) == Some(&format!("0100007F{port_hex}"))),
        "{ours:?}"
    );
    let responses = |r: &[Value]| -> Vec<Value> {
        r.iter()
            .filter(|m| m["type"] == "response")
            .map(normalized)
            .collect()
    };
    assert_eq!(responses(&direct), responses(&coached));
    assert!(
        console(&coached).contains("Step 1/4"),
        "the coach said nothing"
    );
    assert!(!console(&direct).contains("Step 1/4"));
    assert!(leftovers().is_empty(), "left behind: {:?}", leftovers());
}

#[test]
fn nothing_is_left_when_the_client_is_killed_or_the_coach_interrupted() {
    let _g = serial();
    let dir = scratch("coach-kill");
    let file = "walkthroughs/rust/02-always-deadlock.toml";
    let prep = prepared(file);
    let plan = at_main_sleep(&prep, json!([ {"wait": "stopped"}, {"end": "hold"} ]));
    for how in ["kill the client", "interrupt the coach"] {
        let c = coach(file, &["--sessions", "1"]);
        let out = dir.join(format!("{}.out.json", how.replace(' ', "-")));
        let plan_file = dir.join("hold.plan.json");
        std::fs::write(&plan_file, plan.to_string()).expect("test setup");
        let mut node = Command::new("node")
            .arg(node_client())
            .arg(&plan_file)
            .arg(&out)
            .args(["--port", &c.port.to_string()])
            .stderr(Stdio::piped())
            .spawn()
            .expect("test setup");
        let ready = PathBuf::from(format!("{}.ready", out.display()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !ready.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the client never stopped at the breakpoint"
            );
            assert!(
                node.try_wait().expect("test setup").is_none(),
                "the client ended early"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let pid = nix::unistd::Pid::from_raw(if how == "kill the client" {
            node.id()
        } else {
            c.child.id()
        } as i32);
        let signal = if how == "kill the client" {
            nix::sys::signal::Signal::SIGKILL
        } else {
            nix::sys::signal::Signal::SIGINT
        };
        nix::sys::signal::kill(pid, signal).expect("test setup");
        let (code, err) = c.finish();
        let _ = node.kill();
        let _ = node.wait();
        let expected = if how == "kill the client" {
            Some(0)
        } else {
            Some(130)
        };
        assert_eq!(code, expected, "{how}: {err}");
        assert!(
            leftovers().is_empty(),
            "{how}: left behind: {:?}",
            leftovers()
        );
    }
}

#[test]
fn lldb_dap_stepping_the_wrong_thread_gets_a_cross_and_a_hint() {
    let _g = serial();
    let dir = scratch("coach-thread");
    let file = "walkthroughs/rust/02-always-deadlock.toml";
    let prep = prepared(file);
    let c = coach(file, &["--sessions", "1"]);
    let plan = at_main_sleep(
        &prep,
        json!([
            {"wait": "stopped"}, wait_step(1, 4),
            {"set": breakpoints(&prep, &["port:submit-enqueue"], &["main-sleep"])},
            {"do": "continue"}, {"wait": "stopped"}, wait_step(2, 4),
            // Step 3 steps over on the worker; the learner steps the main thread instead.
            {"do": "next", "thread": "MainThread"},
            {"console": "✗ Step 3/4"},
            {"end": "disconnect"},
        ]),
    );
    let said = play_coached(c, &plan, &dir, "thread");
    assert!(
        said.contains("this step moves TPExecutor-0_0; you moved MainThread.\n  Select TPExecutor-0_0 in the Call Stack before you step over (F10)."),
        "{said}"
    );
    assert_eq!(said.matches('✗').count(), 1, "{said}");
    assert!(leftovers().is_empty(), "left behind: {:?}", leftovers());
}

/// `no_deadlock` is racy (the exit hook against the worker's inner submit); played in the
/// order walkthrough 01 uses, it is not: the worker is stopped at its inner submit while
/// main holds `_global_shutdown_lock`, so the hook's flag store always comes first, and the
/// inner submit is always refused. The recording of that session plays as it was recorded.
#[test]
fn a_no_deadlock_session_recorded_by_hand_plays_on_the_first_try() {
    let _g = serial();
    let dir = scratch("coach-record-no-deadlock");
    let file = "walkthroughs/rust/01-no-deadlock.toml";
    let prep = prepared(file);
    let recorded = dir.join("no-deadlock.toml");
    let c = recording_coach(file, &recorded);
    let later = ["port:exit-flag-store", "port:submit-refuse-interpreter"];
    let plan = json!({
        "adapterID": "lldb-dap",
        "launch": launch(&prep, "lldb-dap"),
        "breakpoints": breakpoints(&prep, &["inner-submit"], &[]),
        // At each stop the learner reads the coach's verdict before going on (resuming at
        // once is lldb_dap_resuming_at_once_after_each_stop_still_gets_every_verdict's).
        // Steps 2, 4, 6 and 7's breakpoint on the stored exception are skipped.
        "actions": [
            {"wait": "stopped"}, wait_step(1, 7),
            {"set": breakpoints(&prep, &later, &["inner-submit"])},
            {"do": "continue"}, {"wait": "stopped"}, wait_step(3, 7),
            {"do": "continue"}, {"wait": "stopped"}, wait_step(5, 7),
            {"set": breakpoints(&prep, &[], &later)},
            {"do": "continue"},
            {"wait": "exited"},
            {"end": "disconnect"},
        ],
    });
    play_coached(c, &plan, &dir, "no-deadlock");
    assert!(leftovers().is_empty(), "left behind: {:?}", leftovers());
    let toml = plays_as_recorded(&recorded);
    for (what, line) in [
        ("the first stop", "at = \"inner-submit\""),
        ("the hook's store", "at = \"port:exit-flag-store\""),
        (
            "the refused submit",
            "at = \"port:submit-refuse-interpreter\"",
        ),
        ("the clean exit", "exit = 0"),
    ] {
        assert!(toml.contains(line), "{what} is not recorded:\n{toml}");
    }
}

/// The median and the 99th percentile of `xs` (nearest rank).
fn median_p99(xs: &mut [f64]) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    let rank = |q: f64| xs[((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1];
    (rank(0.5), rank(0.99))
}

/// `scripts/bench-coach`: the same hand-played session of walkthrough 02 on lldb-dap, without
/// and with the coach in between, alternating (ABAB), `DAPWALK_BENCH_ROUNDS` rounds (one in
/// the suite, 10 from the script); prints each request's round trip and each stop's stopped →
/// first stackTrace response as the client saw them. In the suite it checks that both arms
/// of the measurement run and are timed; no figure is asserted.
#[test]
fn bench_coach_overhead() {
    let _g = serial();
    let dir = scratch("coach-bench");
    let file = "walkthroughs/rust/02-always-deadlock.toml";
    let prep = prepared(file);
    let rounds: usize = std::env::var("DAPWALK_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    // As VS Code does at each stop: threads, then each thread's stack, at once; then the
    // learner reads the coach's verdict (skipped without the coach) and goes on.
    let plan = at_main_sleep(
        &prep,
        json!([
            {"wait": "stopped"}, {"look": true}, wait_step(1, 4),
            {"set": breakpoints(&prep, &["port:submit-enqueue"], &["main-sleep"])},
            {"do": "continue"}, {"wait": "stopped"}, {"look": true}, wait_step(2, 4),
            {"do": "next", "thread": "TPExecutor-0_0"}, {"wait": "stopped"}, {"look": true},
            wait_step(3, 4),
            {"look": 10},
            {"end": "disconnect"},
        ]),
    );
    let lldb_dap = Registry::builtin()
        .by_name("lldb-dap")
        .expect("test setup")
        .discover(None, root())
        .expect("test setup");
    let direct_args = ["--adapter", lldb_dap.program.to_str().expect("test setup")];
    // (round trips, stop times) per arm: [direct, coached]
    let mut figures: [(Vec<f64>, Vec<f64>); 2] = Default::default();
    let read = |v: &Value, key: &str| -> Vec<f64> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            // The round trips of what the editor asks at a stop; launch, continue and
            // step answer when the program does.
            .filter(|x| {
                x.get("command")
                    .is_none_or(|c| c == "threads" || c == "stackTrace")
            })
            .filter_map(|x| x.get("ms").unwrap_or(x).as_f64())
            .collect()
    };
    for round in 0..rounds {
        for arm in 0..2 {
            let name = format!("{}-{round}", ["direct", "coached"][arm]);
            let coach = (arm == 1).then(|| coach(file, &["--sessions", "1"]));
            let port = coach.as_ref().map(|c| c.port.to_string());
            let target: Vec<&str> = match &port {
                Some(p) => vec!["--port", p],
                None => direct_args.to_vec(),
            };
            let (ok, _, err) = play(&plan, &dir, &name, &target);
            if let Some(c) = coach {
                let (code, coach_err) = c.finish();
                assert_eq!(code, Some(0), "{coach_err}");
            }
            assert!(ok, "{name}: {err}");
            let out: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("{name}.out.json"))).expect("test setup"),
            )
            .expect("test setup");
            figures[arm].0.extend(read(&out, "rtts"));
            figures[arm].1.extend(read(&out, "stops"));
        }
    }
    println!("coach overhead, walkthroughs/rust/02-always-deadlock.toml on lldb-dap, {rounds} rounds ABAB");
    println!("| | threads + stackTrace requests | round trip median | p99 | stops | stopped → first stackTrace median | p99 |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (arm, (rtts, stops)) in figures.iter_mut().enumerate() {
        let (rn, sn) = (rtts.len(), stops.len());
        assert!(
            rn > 0 && sn > 0,
            "arm {arm} was not timed: {rn} round trips, {sn} stops"
        );
        let (rm, r99) = median_p99(rtts);
        let (sm, s99) = median_p99(stops);
        println!(
            "| {} | {rn} | {rm:.2} ms | {r99:.2} ms | {sn} | {sm:.1} ms | {s99:.1} ms |",
            ["without the coach", "with the coach"][arm]
        );
    }
    assert!(leftovers().is_empty(), "left behind: {:?}", leftovers());
}
