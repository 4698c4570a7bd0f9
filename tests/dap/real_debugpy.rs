//! Real debugpy sessions on the Python twins: the same observations as with lldb-dap on
//! the Rust port, in Python's dialect.

use crate::support::{assert_all_gone, assert_none_running, marker, root, test_timeouts};
use dapwalk::adapters::debugpy::DEBUGPY;
use dapwalk::adapters::{Adapter, Dialect, LaunchTarget};
use dapwalk::session::{Breakpoints, Session, StepKind, StepOutcome};
use std::time::Duration;

fn debugpy() -> Adapter {
    DEBUGPY
        .discover(None, root())
        .expect("debugpy in .venv (installed by scripts/setup)")
}

fn twin(name: &str) -> std::path::PathBuf {
    root().join("scenarios/python").join(format!("{name}.py"))
}

#[tokio::test]
async fn break_inspect_step_and_leave_nothing_behind() {
    let adapter = debugpy();
    let script = twin("no_deadlock");
    let line = marker(&script, "inner-submit");
    let target = LaunchTarget {
        program: script.clone(),
        cwd: Some(root().to_path_buf()),
        ..Default::default()
    };
    let bps = Breakpoints {
        source: vec![(script.clone(), vec![line])],
        ..Default::default()
    };
    let mut s = Session::start(&adapter, &target, &bps, test_timeouts())
        .await
        .expect("launch no_deadlock.py");

    let stop = s
        .expect_stop(Duration::from_secs(20))
        .await
        .expect("the breakpoint");
    assert_eq!(stop.reason, "breakpoint");
    let tid = stop.thread_id.expect("thread");
    let threads = s.threads().await.expect("threads");
    let worker = threads.iter().find(|t| t.id == tid).expect("listed");
    assert_eq!(
        worker.name, "ThreadPoolExecutor-0_0",
        "Python's names are not cut"
    );
    assert!(
        threads.iter().any(|t| t.name == "MainThread"),
        "{threads:?}"
    );

    let frames = s.stack(tid, 50).await.expect("stack");
    let top = &frames[0];
    assert_eq!(
        (top.name.as_str(), top.file_name(), top.line),
        ("wait_on_future", Some("no_deadlock.py"), line)
    );
    let field = s
        .evaluate("executor._max_workers", Some(top.id))
        .await
        .expect("an attribute");
    assert_eq!(field.result, "1");
    let flag = s
        .read_global("thread_module._shutdown", Some(top.id))
        .await
        .expect("the global flag");
    assert!(flag.result == "True" || flag.result == "False", "{flag:?}");

    let StepOutcome::Stopped(_) = s
        .step(tid, StepKind::In, Duration::from_secs(10))
        .await
        .expect("step in")
    else {
        panic!("step in did not stop")
    };
    let inner = s.stack(tid, 1).await.expect("stack");
    assert_eq!(
        (inner[0].name.as_str(), inner[0].file_name()),
        ("submit", Some("thread.py")),
        "{:?}",
        inner[0]
    );
    let StepOutcome::Stopped(_) = s
        .step(tid, StepKind::Out, Duration::from_secs(10))
        .await
        .expect("step out")
    else {
        panic!("step out did not stop")
    };
    let back = s.stack(tid, 1).await.expect("stack");
    assert_eq!(back[0].name, "wait_on_future");
    match s
        .step(tid, StepKind::Over, Duration::from_secs(10))
        .await
        .expect("step over")
    {
        StepOutcome::Stopped(_) | StepOutcome::Exited { .. } => {}
        other => panic!("step over blocked: {other:?}"),
    }
    if let Some(frame) = s
        .stack(tid, 1)
        .await
        .ok()
        .and_then(|f| f.into_iter().next())
    {
        if frame.name == "wait_on_future" {
            // The inner submit succeeded: `f` is now a local.
            let locals = s.locals(frame.id).await.expect("locals");
            assert!(locals.iter().any(|v| v.name == "f"), "{locals:?}");
        }
    }

    let pids = s.pids();
    assert!(
        s.debuggee_pid().is_some_and(|p| pids.contains(&p)),
        "{pids:?}"
    );
    let report = s.end().await;
    assert_all_gone(&pids);
    assert_none_running(&script.display().to_string(), &report);
}

#[tokio::test]
async fn a_step_over_a_deadlock_times_out_and_shows_where_threads_block() {
    let adapter = debugpy();
    let script = twin("force_deadlock");
    let main_result = marker(&script, "main-result");
    let inner_result = marker(&script, "inner-result");
    let target = LaunchTarget {
        program: script.clone(),
        cwd: Some(root().to_path_buf()),
        ..Default::default()
    };
    let bps = Breakpoints {
        source: vec![(script.clone(), vec![main_result])],
        ..Default::default()
    };
    let mut s = Session::start(&adapter, &target, &bps, test_timeouts())
        .await
        .expect("launch force_deadlock.py");
    let stop = s
        .expect_stop(Duration::from_secs(20))
        .await
        .expect("main-result");
    let main = stop.thread_id.expect("thread");
    let StepOutcome::Blocked { threads, .. } = s
        .step(main, StepKind::Over, Duration::from_secs(2))
        .await
        .expect("step")
    else {
        panic!("a step over f.result() in a deadlock must not land");
    };
    let at = |name: &str, line: i64| {
        let t = threads
            .iter()
            .find(|t| t.thread.name == name)
            .unwrap_or_else(|| panic!("no thread {name}: {threads:#?}"));
        assert!(
            t.frames
                .iter()
                .any(|f| f.file_name() == Some("force_deadlock.py") && f.line == line),
            "{name} does not block at line {line}: {:#?}",
            t.frames
        );
        assert!(
            t.frames.iter().any(|f| f.name == "result"),
            "{name} is not in Future.result: {:#?}",
            t.frames
        );
    };
    at("MainThread", main_result);
    at("ThreadPoolExecutor-0_0", inner_result);
    let pids = s.pids();
    let report = s.end().await;
    assert_all_gone(&pids);
    assert_none_running(&script.display().to_string(), &report);
}
