//! Real lldb-dap 22 sessions on the scenario binaries: break on a marker, inspect, step,
//! pause a deadlock, and leave no process behind.

use crate::support::{
    assert_all_gone, assert_none_running, marker, root, scenario_binary, test_timeouts,
};
use dapwalk::adapters::lldb_dap::LLDB_DAP;
use dapwalk::adapters::{Adapter, Dialect, LaunchTarget};
use dapwalk::session::{Breakpoints, Session, StepKind, StepOutcome, StopOutcome};
use std::time::Duration;

fn lldb_dap() -> Adapter {
    let a = LLDB_DAP
        .discover(None, root())
        .expect("lldb-dap (installed by scripts/setup)");
    let v = LLDB_DAP.version(&a).unwrap_or_default();
    assert!(
        v.starts_with("22."),
        "expected lldb-dap 22, found {v:?} at {}",
        a.program.display()
    );
    a
}

fn bin_source(name: &str) -> std::path::PathBuf {
    root().join("scenarios/src/bin").join(format!("{name}.rs"))
}

#[tokio::test]
async fn break_inspect_step_and_leave_nothing_behind() {
    let adapter = lldb_dap();
    let program = scenario_binary("no_deadlock");
    let source = bin_source("no_deadlock");
    let line = marker(&source, "inner-submit");
    let target = LaunchTarget {
        program: program.clone(),
        cwd: Some(root().to_path_buf()),
        ..Default::default()
    };
    let bps = Breakpoints {
        source: vec![(source.clone(), vec![line])],
        ..Default::default()
    };
    let mut s = Session::start(&adapter, &target, &bps, test_timeouts())
        .await
        .expect("launch no_deadlock");
    assert!(
        s.breakpoints.iter().all(|b| b.verified),
        "{:?}",
        s.breakpoints
    );

    let stop = s
        .expect_stop(Duration::from_secs(20))
        .await
        .expect("the breakpoint");
    assert_eq!(stop.reason, "breakpoint");
    let tid = stop.thread_id.expect("a stopped thread");
    let threads = s.threads().await.expect("threads");
    let names: Vec<&str> = threads.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"no_deadlock"), "{names:?}");
    let worker = threads
        .iter()
        .find(|t| t.id == tid)
        .expect("the stopped thread is listed");
    assert_eq!(
        worker.name, "TPExecutor-0_0",
        "the OS name, cut to 15 characters"
    );

    let frames = s.stack(tid, 50).await.expect("stack");
    let top = &frames[0];
    assert!(top.name.contains("wait_on_future"), "{top:?}");
    assert_eq!((top.file_name(), top.line), (Some("no_deadlock.rs"), line));
    assert!(!top.name.contains("::h"), "hash suffix kept: {}", top.name);

    let locals = s.locals(top.id).await.expect("locals");
    assert!(locals.iter().any(|v| v.name == "executor"), "{locals:?}");
    let field = s
        .evaluate("executor->__0.ptr.pointer->data._max_workers", Some(top.id))
        .await
        .expect("a struct field through the Arc");
    assert_eq!(field.result, "1");
    // The project's formatters: a String reads as text, an Arc as its counts, a Mutex as
    // its state (rustc's own formatters are not loaded, so nothing can hang on them).
    let prefix = s
        .evaluate(
            "executor->__0.ptr.pointer->data._thread_name_prefix",
            Some(top.id),
        )
        .await
        .expect("a String field");
    assert_eq!(prefix.result, "\"ThreadPoolExecutor-0\"");
    let arc = s
        .evaluate("executor->__0", Some(top.id))
        .await
        .expect("an Arc");
    assert!(arc.result.starts_with("strong="), "{arc:?}");
    let queues = s
        .read_global("scenarios::thread::_threads_queues", Some(top.id))
        .await
        .expect("a Mutex global");
    assert!(
        queues.result == "locked" || queues.result == "unlocked",
        "{queues:?}"
    );
    let shutdown = s
        .read_atomic_bool("scenarios::thread::_shutdown", Some(top.id))
        .await
        .expect("the global flag");
    assert!(
        shutdown.result == "true" || shutdown.result == "false",
        "{shutdown:?}"
    );
    let formatted = s
        .read_global("scenarios::thread::_shutdown", Some(top.id))
        .await
        .expect("the flag through the formatter");
    assert_eq!(
        formatted.result, shutdown.result,
        "the project's formatter shows an AtomicBool as its value"
    );

    // Into submit, back out, then over the rest of the line.
    let into = match s
        .step(tid, StepKind::In, Duration::from_secs(10))
        .await
        .expect("step in")
    {
        StepOutcome::Stopped(stop) => stop,
        other => panic!("step in did not stop: {other:?}"),
    };
    assert_eq!(into.reason, "step");
    let inner = s.stack(tid, 1).await.expect("stack after step in");
    assert!(
        inner[0].name.contains("ThreadPoolExecutor>::submit")
            && inner[0].file_name() == Some("thread.rs"),
        "not in submit: {:?}",
        inner[0]
    );
    match s
        .step(tid, StepKind::Out, Duration::from_secs(10))
        .await
        .expect("step out")
    {
        StepOutcome::Stopped(_) => {}
        other => panic!("step out did not stop: {other:?}"),
    }
    let back = s.stack(tid, 1).await.expect("stack after step out");
    assert_eq!(back[0].file_name(), Some("no_deadlock.rs"), "{:?}", back[0]);
    match s
        .step(tid, StepKind::Over, Duration::from_secs(10))
        .await
        .expect("step over")
    {
        StepOutcome::Stopped(stop) => assert_eq!(stop.thread_id, Some(tid)),
        StepOutcome::Exited { .. } => {}
        other => panic!("step over blocked: {other:?}"),
    }

    let pids = s.pids();
    assert!(
        pids.len() >= 3,
        "adapter, lldb-server and debuggee expected: {pids:?}"
    );
    let debuggee = s.debuggee_pid().expect("the process event's pid");
    assert!(pids.contains(&debuggee));
    let report = s.end().await;
    assert_eq!(report.disconnect_error, None);
    assert_all_gone(&pids);
    assert_none_running(&program.display().to_string(), &report);
}

#[tokio::test]
async fn a_step_over_a_deadlock_times_out_pauses_and_shows_where_threads_block() {
    let adapter = lldb_dap();
    let program = scenario_binary("force_deadlock");
    let source = bin_source("force_deadlock");
    let main_result = marker(&source, "main-result");
    let inner_result = marker(&source, "inner-result");
    let target = LaunchTarget {
        program: program.clone(),
        cwd: Some(root().to_path_buf()),
        ..Default::default()
    };
    let bps = Breakpoints {
        source: vec![(source.clone(), vec![main_result])],
        ..Default::default()
    };
    let mut s = Session::start(&adapter, &target, &bps, test_timeouts())
        .await
        .expect("launch force_deadlock");
    let stop = s
        .expect_stop(Duration::from_secs(20))
        .await
        .expect("main-result");
    let main = stop.thread_id.expect("thread");

    let StepOutcome::Blocked { pause, threads, .. } = s
        .step(main, StepKind::Over, Duration::from_secs(2))
        .await
        .expect("step")
    else {
        panic!("a step over f.result() in a deadlock must not land");
    };
    let pause = pause.expect("lldb-dap reports the pause");
    assert_eq!(
        (pause.reason.as_str(), pause.description.as_deref()),
        ("exception", Some("signal SIGSTOP"))
    );
    let at = |name: &str, line: i64| {
        let t = threads
            .iter()
            .find(|t| t.thread.name == name)
            .unwrap_or_else(|| panic!("no thread {name}"));
        assert!(
            t.frames.iter().any(|f| f.is_user_frame()
                && f.file_name() == Some("force_deadlock.rs")
                && f.line == line),
            "{name} does not block at line {line}: {:#?}",
            t.frames
        );
        assert!(
            t.frames.iter().any(|f| f.name.contains("result")),
            "{name} is not in Future::result: {:#?}",
            t.frames
        );
    };
    at("force_deadlock", main_result);
    at("TPExecutor-0_0", inner_result);

    let pids = s.pids();
    let report = s.end().await;
    assert_all_gone(&pids);
    assert_none_running(&program.display().to_string(), &report);
}

#[tokio::test]
async fn a_program_that_exits_is_reported_with_its_code() {
    let adapter = lldb_dap();
    let program = scenario_binary("solution1_max_workers");
    let target = LaunchTarget {
        program: program.clone(),
        cwd: Some(root().to_path_buf()),
        ..Default::default()
    };
    let mut s = Session::start(&adapter, &target, &Breakpoints::default(), test_timeouts())
        .await
        .expect("launch");
    assert_eq!(
        s.wait_for_stop(Duration::from_secs(20))
            .await
            .expect("exit"),
        StopOutcome::Exited { exit_code: Some(0) }
    );
    assert!(
        s.stdout.contains("Running wait_on_future"),
        "{:?}",
        s.stdout
    );
    let pids = s.pids();
    s.end().await;
    assert_all_gone(&pids);
}
