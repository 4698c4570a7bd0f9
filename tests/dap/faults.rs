//! Adapters that misbehave: each gives a clear error within the timeout and leaves no
//! process behind.

use crate::fake::{process_adapter, serve, Mode};
use crate::support::assert_all_gone;
use dapwalk::adapters::{codelldb::CODELLDB, lldb_dap::LLDB_DAP};
use dapwalk::adapters::{Adapter, Connect, LaunchTarget};
use dapwalk::dap::client::{Client, RequestError};
use dapwalk::os::procs;
use dapwalk::session::{Breakpoints, Session, SessionError, Timeouts};
use std::time::Duration;

fn quick() -> Timeouts {
    Timeouts {
        request: Duration::from_secs(2),
        launch: Duration::from_secs(20),
        teardown: Duration::from_secs(2),
        ..Timeouts::default()
    }
}

fn target() -> LaunchTarget {
    LaunchTarget {
        program: "/bin/true".into(),
        ..Default::default()
    }
}

async fn start(mode: Mode) -> Session {
    let adapter = process_adapter(&mode, &LLDB_DAP);
    Session::start(&adapter, &target(), &Breakpoints::default(), quick())
        .await
        .expect("the fake adapter's handshake")
}

#[tokio::test]
async fn adapter_exiting_mid_request_is_reported_with_its_stderr() {
    let mut s = start(Mode::CrashOn("stackTrace".into())).await;
    let err = s.stack(1, 20).await.expect_err("the adapter crashed");
    let text = err.to_string();
    assert!(
        matches!(err, SessionError::Request(RequestError::AdapterGone { .. })),
        "{text}"
    );
    assert!(text.contains("\"stackTrace\""), "{text}");
    assert!(
        text.contains("crashing on purpose"),
        "stderr is missing from: {text}"
    );
    let pids = s.pids();
    let report = s.end().await;
    assert_all_gone(&pids);
    assert_all_gone(&report.pids);
}

#[tokio::test]
async fn garbage_from_the_adapter_is_an_error_not_a_hang() {
    let mut s = start(Mode::GarbageOn("threads".into())).await;
    // The handshake's throw-away `threads` already met the garbage: the stream is dead.
    let err = s.threads().await.expect_err("garbage on the stream");
    let text = err.to_string();
    assert!(text.contains("malformed frame"), "{text}");
    let pids = s.pids();
    s.end().await;
    assert_all_gone(&pids);
}

#[tokio::test]
async fn a_request_never_answered_times_out_and_is_forgotten() {
    let mut s = start(Mode::SilentOn("stackTrace".into())).await;
    let err = s.stack(1, 20).await.expect_err("no answer");
    let text = err.to_string();
    assert!(
        matches!(err, SessionError::Request(RequestError::Timeout { .. })),
        "{text}"
    );
    assert!(
        text.starts_with("timed out after 2s waiting for \"stackTrace\" (seq "),
        "{text}"
    );
    // The session still works after a timed-out request.
    assert_eq!(s.threads().await.expect("threads after a timeout").len(), 1);
    let pids = s.pids();
    s.end().await;
    assert_all_gone(&pids);
}

#[tokio::test]
async fn debuggee_left_running_by_a_killed_adapter_is_killed_by_pid() {
    let mut s = start(Mode::Debuggee).await;
    let debuggee = s.debuggee_pid().expect("the process event's pid");
    assert!(procs::alive(debuggee));
    let adapter = s.adapter_pid().expect("the adapter's pid");
    procs::kill(adapter);
    let err = s.threads().await.expect_err("the adapter is dead");
    assert!(err.to_string().contains("went away"), "{err}");
    assert!(
        procs::alive(debuggee),
        "the fake debuggee should outlive its adapter"
    );
    let report = s.end().await;
    assert!(report.killed.contains(&debuggee), "{report:?}");
    assert_all_gone(&[debuggee, adapter]);
}

#[tokio::test]
async fn dropping_a_session_kills_its_processes() {
    // What happens on Ctrl-C or a panic: the session future is dropped, not ended.
    let mut s = start(Mode::Debuggee).await;
    let pids = s.pids();
    let debuggee = s.debuggee_pid().expect("pid");
    drop(s);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| procs::alive(p)) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(pids.contains(&debuggee));
    assert_all_gone(&pids);
}

#[tokio::test]
async fn an_adapter_that_cannot_start_is_a_clear_error() {
    let adapter = Adapter {
        dialect: &LLDB_DAP,
        program: "/nonexistent/lldb-dap-99".into(),
        args: vec![],
        env: vec![],
        connect: Connect::Stdio,
        version: None,
    };
    let err = Session::start(&adapter, &target(), &Breakpoints::default(), quick())
        .await
        .err()
        .expect("no such program");
    assert!(
        err.to_string().contains("/nonexistent/lldb-dap-99"),
        "{err}"
    );
}

#[tokio::test]
async fn in_memory_fake_tolerates_empty_bodies_and_unknown_events() {
    let (client_end, adapter_end) = tokio::io::duplex(64 * 1024);
    let (ar, aw) = tokio::io::split(adapter_end);
    tokio::spawn(serve(ar, aw, Mode::SilentOn("none".into()), false));
    let (cr, cw) = tokio::io::split(client_end);
    let (client, events) = Client::start(cr, cw, Duration::from_secs(2));
    let adapter = process_adapter(&Mode::Debuggee, &CODELLDB);
    let s = Session::over(
        &adapter,
        client,
        events,
        &target(),
        &Breakpoints::default(),
        quick(),
    )
    .await
    .expect("handshake over an in-memory pipe");
    let threads = s.threads().await.expect("threads");
    assert_eq!(threads[0].name, "main");
    s.end().await;
}

#[tokio::test]
async fn reverse_requests_run_in_terminal_for_real_and_refuse_child_sessions() {
    let mut s = start(Mode::Reverse).await;
    // The answers come back as console output once the handshake is over.
    let _ = s.threads().await.expect("threads");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while s.output.matches("reverse-response").count() < 2 && std::time::Instant::now() < deadline {
        let _ = s.wait_for_stop(Duration::from_millis(100)).await;
    }
    let answers: Vec<serde_json::Value> = s
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("reverse-response: "))
        .map(|j| serde_json::from_str(j).expect("json"))
        .collect();
    let run = answers
        .iter()
        .find(|a| a["command"] == "runInTerminal")
        .expect("runInTerminal answered");
    assert_eq!(run["success"], true, "{run}");
    let pid = u32::try_from(run["body"]["processId"].as_u64().expect("a pid")).expect("pid");
    assert!(procs::alive(pid));
    assert!(procs::info(pid)
        .expect("info")
        .cmdline
        .starts_with("sleep 600"));
    let child = answers
        .iter()
        .find(|a| a["command"] == "startDebugging")
        .expect("startDebugging answered");
    assert_eq!(child["success"], false, "{child}");
    assert!(
        child["message"]
            .as_str()
            .unwrap_or_default()
            .contains("child debug sessions"),
        "{child}"
    );
    let report = s.end().await;
    assert!(report.pids.contains(&pid), "{report:?}");
    assert_all_gone(&report.pids);
}

#[tokio::test]
async fn a_pid_named_by_a_replayed_adapter_that_is_not_the_sessions_is_never_killed() {
    // A recording names the pids of the machine it was made on. Here the adapter names a
    // process of this machine that was running before the session began (the test harness
    // itself was killed this way once); teardown must leave it alone.
    let mut bystander = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let pid = bystander.id();
    // Started strictly before the session: its start time must be an earlier tick.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let script = dapwalk::dap::fake::Script {
        threads: vec![(1, "main".into())],
        pid: Some(pid),
        ..Default::default()
    };
    let launcher = dapwalk::session::fake::FakeLauncher::new(script);
    let mut s =
        dapwalk::session::Launcher::launch(&launcher, &target(), &Breakpoints::default(), quick())
            .await
            .expect("handshake with the fake");
    assert_eq!(
        s.debuggee_pid(),
        Some(pid),
        "the named pid is still reported"
    );
    assert!(!s.pids().contains(&pid), "{:?}", s.pids());
    let report = s.end().await;
    assert!(procs::alive(pid), "the bystander was killed: {report:?}");
    assert!(!report.pids.contains(&pid), "{report:?}");
    let _ = bystander.kill();
    let _ = bystander.wait();
}
