//! Replays of real CodeLLDB 1.12.2 and lldb-dap 22.1.8 sessions (tests/fixtures/dap)
//! through the fake adapter: from either dialect the client must reach the same
//! observations (stopped thread, user frames, watch values, blocking frames, errors).

use crate::fake::{serve, Mode};
use crate::support::fixtures;
use dapwalk::adapters::{codelldb::CODELLDB, lldb_dap::LLDB_DAP};
use dapwalk::adapters::{Adapter, Connect, Dialect, LaunchTarget};
use dapwalk::dap::client::{Client, RequestError};
use dapwalk::session::{
    Breakpoints, Session, SessionError, StepKind, StepOutcome, StopOutcome, ThreadReport, Timeouts,
};
use serde_json::json;
use std::time::Duration;

const MAIN_RS: &str = "/workspace/scenario/src/main.rs";
const SHUTDOWN: &str = "nested_submit::thread::SHUTDOWN";

fn dialect(kind: &'static dyn Dialect) -> Adapter {
    Adapter {
        dialect: kind,
        program: "replayed".into(),
        args: vec![],
        env: vec![],
        connect: Connect::Stdio,
        version: None,
    }
}

fn fixture_prefix(kind: &'static dyn Dialect) -> &'static str {
    kind.name()
}

async fn replay(kind: &'static dyn Dialect, name: &str, mode: &str, bps: Breakpoints) -> Session {
    let path = fixtures().join(format!("{}.{name}.jsonl", fixture_prefix(kind)));
    assert!(path.is_file(), "missing recording {}", path.display());
    let (client_end, adapter_end) = tokio::io::duplex(1 << 20);
    let (ar, aw) = tokio::io::split(adapter_end);
    tokio::spawn(serve(ar, aw, Mode::Replay(path), false));
    let (cr, cw) = tokio::io::split(client_end);
    let timeouts = Timeouts {
        request: Duration::from_secs(5),
        ..Timeouts::default()
    };
    let (client, events) = Client::start(cr, cw, timeouts.request);
    let target = LaunchTarget {
        program: "/workspace/scenario/target/debug/nested_submit".into(),
        args: vec![mode.into()],
        cwd: Some("/workspace/scenario".into()),
        ..Default::default()
    };
    Session::over(&dialect(kind), client, events, &target, &bps, timeouts)
        .await
        .expect("replayed handshake")
}

/// User frames as (function, file, line).
type UserFrames = Vec<(String, String, i64)>;
/// Each thread's name with its user frames.
type ThreadFrames = Vec<(String, UserFrames)>;

/// The user frames of a thread.
fn user_frames(report: &ThreadReport) -> UserFrames {
    report
        .frames
        .iter()
        .filter(|f| f.is_user_frame())
        .map(|f| {
            (
                f.name.clone(),
                f.file_name().unwrap_or_default().to_string(),
                f.line,
            )
        })
        .collect()
}

#[derive(Debug, PartialEq)]
struct Inspection {
    first_stop: (String, String, String, i64),
    threads: Vec<String>,
    user_frames: ThreadFrames,
    locals: Vec<String>,
    watches: Vec<String>,
    breakpoint_stops: Vec<(String, i64)>,
    exit_code: Option<i64>,
}

async fn inspect(kind: &'static dyn Dialect) -> Inspection {
    let bps = Breakpoints {
        source: vec![(MAIN_RS.into(), vec![191, 217])],
        functions: vec!["python_exit".into()],
        exceptions: None,
    };
    let mut s = replay(kind, "break-inspect-exit", "error", bps).await;
    let stop = s
        .expect_stop(Duration::from_secs(5))
        .await
        .expect("first stop");
    let tid = stop.thread_id.expect("thread");
    let threads = s.where_threads_are(50).await.expect("threads and stacks");
    let stopped = threads
        .iter()
        .find(|t| t.thread.id == tid)
        .expect("stopped thread listed");
    let top = stopped.frames[0].clone();
    let first_stop = (
        stop.reason.clone(),
        stopped.thread.name.clone(),
        top.name.clone(),
        top.line,
    );

    let locals = s.locals(top.id).await.expect("locals");
    if let Some(v) = locals.iter().find(|v| v.variables_reference > 0) {
        s.variables(v.variables_reference)
            .await
            .expect("children of a local");
    }
    let field_path = match kind.name() {
        "codelldb" => "executors[0].value.thread_name_prefix",
        _ => "executors.data_ptr->ptr.pointer->data.thread_name_prefix",
    };
    s.evaluate("executors", Some(top.id))
        .await
        .expect("watch executors");
    let field = s
        .evaluate(field_path, Some(top.id))
        .await
        .expect("watch a field");
    s.read_global(SHUTDOWN, Some(top.id))
        .await
        .expect("watch the global");
    let flag = s
        .read_atomic_bool(SHUTDOWN, Some(top.id))
        .await
        .expect("watch the atomic");

    for kind in [StepKind::Over, StepKind::In, StepKind::Out] {
        match s
            .step(tid, kind, Duration::from_secs(5))
            .await
            .expect("step")
        {
            StepOutcome::Stopped(_) => {}
            other => panic!("{kind:?} did not stop: {other:?}"),
        }
        s.stack(tid, 1).await.expect("top frame after a step");
    }
    let mut breakpoint_stops = Vec::new();
    let mut thread = tid;
    let exit_code = loop {
        s.continue_(thread).await.expect("continue");
        match s
            .wait_for_stop(Duration::from_secs(5))
            .await
            .expect("stop or exit")
        {
            StopOutcome::Stopped(stop) => {
                thread = stop.thread_id.expect("thread");
                let frame = s.stack(thread, 1).await.expect("top frame").remove(0);
                if stop.reason == "breakpoint" {
                    breakpoint_stops.push((frame.name, frame.line));
                }
            }
            StopOutcome::Exited { exit_code } => break exit_code,
        }
    };
    s.end().await;
    Inspection {
        first_stop,
        threads: threads.iter().map(|t| t.thread.name.clone()).collect(),
        user_frames: threads
            .iter()
            .map(|t| (t.thread.name.clone(), user_frames(t)))
            .collect(),
        locals: locals.iter().map(|v| v.name.clone()).collect(),
        watches: vec![field.result, flag.result],
        breakpoint_stops,
        exit_code,
    }
}

#[tokio::test]
async fn a_stop_with_inspection_reads_the_same_from_both_dialects() {
    let codelldb = inspect(&CODELLDB).await;
    let lldb_dap = inspect(&LLDB_DAP).await;
    assert_eq!(
        codelldb.first_stop,
        (
            "breakpoint".into(),
            "nested_submit".into(),
            "nested_submit::python_exit".into(),
            215
        )
    );
    assert_eq!(codelldb.threads, ["nested_submit", "ThreadPoolExecu"]);
    assert_eq!(codelldb.watches, ["\"ThreadPoolExecutor-0\"", "false"]);
    assert_eq!(codelldb.exit_code, Some(0));
    assert!(
        codelldb
            .breakpoint_stops
            .contains(&("nested_submit::wait_on_future".into(), 191)),
        "{:?}",
        codelldb.breakpoint_stops
    );
    // Stepping differs between the adapters (see the recordings' README), so the later
    // stops are compared only where both must agree: the worker's breakpoint.
    assert_eq!(codelldb.first_stop, lldb_dap.first_stop);
    assert_eq!(codelldb.threads, lldb_dap.threads);
    // The stopped thread's frames must agree. The worker's need not: CodeLLDB's recording
    // caught it still starting (in `__mprotect`), lldb-dap's already in wait_on_future.
    assert_eq!(codelldb.user_frames[0], lldb_dap.user_frames[0]);
    assert_eq!(
        codelldb.user_frames[0].1,
        [
            (
                "nested_submit::python_exit".to_string(),
                "main.rs".to_string(),
                215
            ),
            (
                "nested_submit::main".to_string(),
                "main.rs".to_string(),
                259
            )
        ]
    );
    assert_eq!(codelldb.locals, lldb_dap.locals);
    assert_eq!(codelldb.watches, lldb_dap.watches);
    assert!(lldb_dap
        .breakpoint_stops
        .contains(&("nested_submit::wait_on_future".into(), 191)));
    assert_eq!(codelldb.exit_code, lldb_dap.exit_code);
}

async fn paused_deadlock(kind: &'static dyn Dialect) -> (String, Option<String>, ThreadFrames) {
    let mut s = replay(kind, "deadlock-pause", "deadlock", Breakpoints::default()).await;
    // Linux: the main thread's id is the pid, known from the `process` event (lldb-dap)
    // or the console text (CodeLLDB).
    let pid = s.debuggee_pid().expect("debuggee pid");
    let stop = s
        .pause(i64::from(pid))
        .await
        .expect("pause")
        .expect("a stopped event");
    let threads = s.where_threads_are(50).await.expect("where threads block");
    let teardown = s.end().await;
    assert_eq!(teardown.disconnect_error, None);
    (
        stop.reason,
        stop.description,
        threads
            .iter()
            .map(|t| (t.thread.name.clone(), user_frames(t)))
            .collect(),
    )
}

#[tokio::test]
async fn a_paused_deadlock_shows_the_same_blocking_frames_in_both_dialects() {
    let codelldb = paused_deadlock(&CODELLDB).await;
    let lldb_dap = paused_deadlock(&LLDB_DAP).await;
    assert_eq!(
        (codelldb.0.as_str(), codelldb.1.as_deref()),
        ("exception", Some("signal SIGSTOP"))
    );
    let main = &codelldb.2[0];
    assert_eq!(main.0, "nested_submit");
    assert!(
        main.1
            .iter()
            .any(|(_, file, line)| file == "main.rs" && *line == 228),
        "{main:?}"
    );
    let worker = &codelldb.2[1];
    assert!(
        worker
            .1
            .iter()
            .any(|(_, file, line)| file == "main.rs" && *line == 194),
        "{worker:?}"
    );
    assert_eq!(codelldb, lldb_dap);
}

#[derive(Debug)]
struct Errors {
    evaluate: String,
    bad_thread: String,
    unknown_file_verified: bool,
    unknown_command: String,
}

async fn errors(kind: &'static dyn Dialect) -> Errors {
    let bps = Breakpoints {
        source: vec![(MAIN_RS.into(), vec![191])],
        ..Default::default()
    };
    let mut s = replay(kind, "errors", "error", bps).await;
    let stop = s
        .expect_stop(Duration::from_secs(5))
        .await
        .expect("stop at 191");
    s.threads().await.expect("threads");
    let frame = s
        .stack(stop.thread_id.expect("thread"), 1)
        .await
        .expect("stack")
        .remove(0);
    assert_eq!(frame.line, 191);
    let failed = |e: SessionError| match e {
        SessionError::Request(RequestError::Failed { message, .. }) => message,
        other => panic!("expected a refusal, got {other}"),
    };
    let evaluate = failed(
        s.evaluate("no_such_variable", Some(frame.id))
            .await
            .expect_err("unknown name"),
    );
    let bad_thread = failed(s.stack(987654321, 20).await.expect_err("bad thread"));
    // lldb-dap accepts bogus frame and variable ids (empty answers); CodeLLDB refuses them.
    let scopes = s.scopes(987654321).await;
    let vars = s.variables(987654321).await;
    match kind.name() {
        "codelldb" => assert!(scopes.is_err() && vars.is_err()),
        _ => assert!(vars.expect("lldb-dap answers").is_empty()),
    }
    let body = s
        .client()
        .request("setBreakpoints", Some(json!({"source": {"path": "/workspace/scenario/src/does_not_exist.rs"}, "breakpoints": [{"line": 3}]})))
        .await
        .expect("setBreakpoints on a missing file still answers");
    let unknown_file_verified = body["breakpoints"][0]["verified"].as_bool().unwrap_or(true);
    let unknown = s
        .client()
        .request("notARealCommand", None)
        .await
        .expect_err("unknown command");
    let with_args = s
        .client()
        .request("notARealCommand", Some(json!({"foo": 1})))
        .await
        .expect_err("unknown command");
    assert!(
        matches!(with_args, RequestError::Failed { .. }),
        "{with_args}"
    );
    s.end().await;
    let RequestError::Failed {
        message: unknown_command,
        ..
    } = unknown
    else {
        panic!("{unknown}")
    };
    Errors {
        evaluate,
        bad_thread,
        unknown_file_verified,
        unknown_command,
    }
}

#[tokio::test]
async fn error_responses_of_both_dialects_read_as_clear_refusals() {
    for kind in [&CODELLDB as &'static dyn Dialect, &LLDB_DAP] {
        let e = errors(kind).await;
        assert!(e.evaluate.contains("no_such_variable"), "{kind:?}: {e:?}");
        assert!(
            e.bad_thread.to_lowercase().contains("thread"),
            "{kind:?}: {e:?}"
        );
        assert!(!e.unknown_file_verified, "{kind:?}: {e:?}");
        assert!(
            !e.unknown_command.is_empty() && e.unknown_command != "no reason given",
            "{kind:?}: {e:?}"
        );
    }
}
