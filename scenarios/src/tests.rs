//! Unit tests of the port: the thread pool's rules, the future's states, the exit hook's
//! order and the GIL model. The exit sequence changes process-wide globals for good, so it is
//! tested in a child process running one test of this same binary.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use crate::_base::Future;
use crate::builtins::{ExcKind, Exception, PyResult, RuntimeError};
use crate::thread::{ThreadPoolExecutor, AFTER_SHUTDOWN, INTERPRETER_SHUTDOWN};
use crate::threading::{self, Event, Lock, Thread};
use crate::{gil, plain_lock, thread};

/// Marks the child process of `exit_sequence_runs_hooks_in_python_order`.
const EXIT_CHILD_ENV: &str = "SCENARIOS_TEST_EXIT_SEQUENCE_CHILD";

#[test]
fn submit_after_shutdown_is_refused_with_the_executor_text() {
    let executor = ThreadPoolExecutor::new(1);
    assert!(executor.shutdown(true, false).is_ok());
    let refused = executor.submit(|| Ok(1)).err();
    assert_eq!(
        refused.map(|e| (e.kind, e.message)),
        Some((ExcKind::RuntimeError, AFTER_SHUTDOWN))
    );
    assert_eq!(AFTER_SHUTDOWN, "cannot schedule new futures after shutdown");
}

#[test]
fn a_worker_runs_items_and_leaves_on_the_sentinel_reposting_it() -> PyResult<()> {
    let executor = ThreadPoolExecutor::new(1);
    assert_eq!(
        executor
            .submit(|| crate::builtins::pow(5, 2))?
            .result(None)?,
        25
    );
    // A sentinel while neither flag is set only wakes the worker; it keeps serving.
    executor._work_queue.put(None);
    assert_eq!(executor.submit(|| Ok("again"))?.result(None)?, "again");
    assert_eq!(plain_lock(&executor._threads).len(), 1);

    executor.shutdown(true, false)?;
    let worker = plain_lock(&executor._threads)[0].clone();
    assert!(!worker.is_alive(), "the worker left on the sentinel");
    // shutdown() posted one None; the worker consumed it and posted it again for the others.
    assert_eq!(executor._work_queue.qsize(), 1);
    assert!(matches!(executor._work_queue.get_nowait(), Some(None)));
    Ok(())
}

#[test]
fn every_worker_of_a_pool_leaves_on_one_sentinel() -> PyResult<()> {
    let executor = ThreadPoolExecutor::new(3);
    let gate = Arc::new(Event::new());
    let mut futures = Vec::new();
    for _ in 0..3 {
        let gate = gate.clone();
        futures.push(executor.submit(move || Ok(gate.wait(None)))?);
    }
    gate.set();
    for f in &futures {
        assert!(f.result(None)?);
    }
    executor.shutdown(true, false)?;
    let threads = plain_lock(&executor._threads).clone();
    assert_eq!(threads.len(), 3);
    assert!(threads.iter().all(|t| !t.is_alive()));
    Ok(())
}

#[test]
fn result_with_a_timeout_raises_timeout_error() {
    let f: Future<i64> = Future::new();
    let outcome = f.result(Some(Duration::from_millis(10)));
    assert_eq!(outcome.err().map(|e| e.kind), Some(ExcKind::TimeoutError));
    assert_eq!(
        f.exception(Some(Duration::ZERO)).err().map(|e| e.kind),
        Some(ExcKind::TimeoutError)
    );
    assert!(!f.done());
}

#[test]
fn cancel_futures_cancels_what_is_still_queued() -> PyResult<()> {
    let executor = ThreadPoolExecutor::new(1);
    let started = Arc::new(Event::new());
    let gate = Arc::new(Event::new());
    let (s, g) = (started.clone(), gate.clone());
    let running = executor.submit(move || {
        s.set();
        Ok(g.wait(None))
    })?;
    started.wait(None);
    let queued: Vec<Future<i32>> = (0..3)
        .map(|i| executor.submit(move || Ok(i)))
        .collect::<PyResult<_>>()?;
    executor.shutdown(false, true)?;
    gate.set();
    assert!(running.result(None)?, "the running item is not cancelled");
    for f in &queued {
        assert!(f.cancelled());
        assert_eq!(
            f.result(None).err().map(|e| e.kind),
            Some(ExcKind::CancelledError)
        );
    }
    executor.shutdown(true, false)
}

#[test]
fn an_exception_stays_in_the_future_until_someone_asks() -> PyResult<()> {
    let executor = ThreadPoolExecutor::new(1);
    let f = executor.submit(|| -> PyResult<()> { Err(RuntimeError("boom")) })?;
    let stored: Option<Exception> = f.exception(None)?;
    assert_eq!(stored.map(|e| e.message), Some("boom"));
    assert_eq!(
        f.result(None).err().map(|e| e.to_string()),
        Some("RuntimeError: boom".to_string())
    );
    // Asking again raises it again: it is never consumed.
    assert!(f.result(None).is_err());
    executor.shutdown(true, false)
}

#[test]
fn cancel_is_refused_once_finished() -> PyResult<()> {
    let f = Future::new();
    assert!(f.set_running_or_notify_cancel()?);
    assert!(!f.cancel());
    f.set_result(7)?;
    assert_eq!(f.result(None)?, 7);
    assert_eq!(
        f.set_result(8).err().map(|e| e.kind),
        Some(ExcKind::InvalidStateError)
    );
    Ok(())
}

#[test]
fn the_scoped_form_shuts_the_executor_down_at_scope_end() -> PyResult<()> {
    let mut kept = None;
    let value = ThreadPoolExecutor::with(1, |executor| {
        kept = Some(executor.clone());
        executor.submit(|| Ok(3))?.result(None)
    })?;
    assert_eq!(value, 3);
    let executor = kept.ok_or_else(|| RuntimeError("body did not run"))?;
    assert!(executor._shutdown.load(SeqCst));
    assert!(plain_lock(&executor._threads).iter().all(|t| !t.is_alive()));
    Ok(())
}

#[test]
fn a_lock_is_barging_and_releasable_by_another_thread() {
    let lock = Arc::new(Lock::new());
    assert!(lock.acquire(true, None));
    assert!(lock.locked());
    assert!(!lock.acquire(true, Some(Duration::ZERO)));
    let other = lock.clone();
    let t = Thread::new("releaser".into(), None, false, move || other.release());
    assert!(t.start().is_ok());
    assert!(t.join(None).is_ok());
    assert!(!lock.locked());
    assert!(lock.acquire(false, None));
}

#[test]
fn with_the_gil_two_threads_never_run_python_code_at_once() {
    if !gil::enabled() {
        return; // PYTHON_GIL=0 in the environment: nothing to check.
    }
    let inside = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let threads: Vec<Thread> = (0..4)
        .map(|i| {
            let (inside, overlaps) = (inside.clone(), overlaps.clone());
            Thread::new(format!("gil-{i}"), None, false, move || {
                for _ in 0..2000 {
                    if inside.fetch_add(1, SeqCst) != 0 {
                        overlaps.fetch_add(1, SeqCst);
                    }
                    std::thread::yield_now();
                    inside.fetch_sub(1, SeqCst);
                    // A statement boundary: the GIL may change hands here, never above.
                    gil::tick();
                }
            })
        })
        .collect();
    for t in &threads {
        assert!(t.start().is_ok());
    }
    for t in &threads {
        assert!(t.join(None).is_ok());
    }
    assert_eq!(overlaps.load(SeqCst), 0);
}

#[test]
fn a_blocking_wait_lets_another_thread_take_the_gil() {
    let event = Arc::new(Event::new());
    let waiter_ran = Arc::new(AtomicBool::new(false));
    let setter_held_gil = Arc::new(AtomicBool::new(false));
    let (e, ran) = (event.clone(), waiter_ran.clone());
    // The waiter holds the GIL and blocks on the event; only a release lets the setter run.
    let waiter = Thread::new("waiter".into(), None, false, move || {
        ran.store(e.wait(None), SeqCst);
    });
    let (e, held) = (event.clone(), setter_held_gil.clone());
    let setter = Thread::new("setter".into(), None, false, move || {
        let me = threading::get_ident() as usize;
        held.store(
            !gil::enabled() || gil::_gil.holder.load(SeqCst) == me,
            SeqCst,
        );
        e.set();
    });
    assert!(waiter.start().is_ok());
    assert!(setter.start().is_ok());
    assert!(waiter.join(None).is_ok());
    assert!(setter.join(None).is_ok());
    assert!(waiter_ran.load(SeqCst));
    assert!(setter_held_gil.load(SeqCst));
}

/// The events the child of the exit-sequence test records, in order.
static EVENTS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn event(text: String) {
    plain_lock(&EVENTS).push(text);
}

fn registered_first() {
    // Runs last: the thread pool's hook has set the flag and joined every worker.
    let registry = plain_lock(&thread::_threads_queues).clone();
    let all_joined = registry.iter().all(|(t, _)| !t.is_alive());
    // Every worker re-posted the None it took, so each queue still holds one per worker.
    let reposted = registry.iter().all(|(_, q)| q.qsize() >= 1);
    event(format!(
        "registered_first joined={all_joined} reposted={reposted}"
    ));
}

fn registered_last() {
    // Runs first: the thread pool's hook has not run yet.
    event(format!(
        "registered_last flag={}",
        thread::_shutdown.load(SeqCst)
    ));
}

/// The child half of `exit_sequence_runs_hooks_in_python_order`; does nothing unless run as
/// that child.
#[test]
fn exit_sequence_child() {
    if std::env::var_os(EXIT_CHILD_ENV).is_none() {
        return;
    }
    assert!(threading::_register_atexit(registered_first).is_ok());
    // The first executor imports the module, which registers `_python_exit`.
    let idle = ThreadPoolExecutor::new(1);
    let busy = ThreadPoolExecutor::new(2);
    assert!(threading::_register_atexit(registered_last).is_ok());
    // Idle workers of executors nobody shut down: only the global flag, set before the
    // sentinels arrive, makes them leave; otherwise the joins below would hang.
    let warm = [
        idle.submit(|| Ok(1)),
        busy.submit(|| Ok(2)),
        busy.submit(|| Ok(3)),
    ];
    assert!(warm
        .iter()
        .all(|f| f.as_ref().is_ok_and(|f| f.result(None).is_ok())));
    let code = crate::interpreter::finalize(0);
    // The idle worker flagged its own executor as it left; a new executor meets the global flag.
    let own = idle.submit(|| Ok(4)).err().map_or("nothing", |e| e.message);
    let fresh = ThreadPoolExecutor::new(1)
        .submit(|| Ok(5))
        .err()
        .map_or("nothing", |e| e.message);
    event(format!("after exit code={code} own={own} fresh={fresh}"));
    println!("EVENTS {}", plain_lock(&EVENTS).join(" | "));
}

#[test]
fn exit_sequence_runs_hooks_in_python_order() -> std::io::Result<()> {
    let output = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "tests::exit_sequence_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(EXIT_CHILD_ENV, "1")
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("EVENTS "))
        .map_or("", |(_, events)| events);
    assert!(output.status.success(), "child failed: {stdout}");
    assert_eq!(
        line,
        format!(
            "registered_last flag=false | registered_first joined=true reposted=true | \
             after exit code=0 own={AFTER_SHUTDOWN} fresh={INTERPRETER_SHUTDOWN}"
        )
    );
    Ok(())
}
