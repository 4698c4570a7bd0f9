//! A `ProcessPoolExecutor` on real child processes, in the spirit of CPython 3.10's
//! `concurrent/futures/process.py`.
//!
//! A child is this same program re-executed with `SCENARIOS_PROCESS_POOL_WORKER=1`;
//! `interpreter::run` then serves tasks instead of running the program. Tasks are named
//! functions from a small registry (Python pickles a function by its name too); a request is
//! one line `pow 5 2` on the child's stdin, the answer one line `ok 25` on its stdout. One
//! manager thread per child feeds it calls and sets the futures. The module's own exit hook
//! stops the managers, which close the children's stdin and wait for them, so no child
//! outlives a normal exit; if the parent dies instead, the child sees end-of-file and leaves.

#![allow(non_upper_case_globals)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Once};

use crate::_base::Future;
use crate::builtins::{pow, ExcKind, Exception, PyResult, RuntimeError};
use crate::queue::SimpleQueue;
use crate::thread::{AFTER_SHUTDOWN, INTERPRETER_SHUTDOWN};
use crate::threading::{self, Lock, Thread};
use crate::{gil, plain_lock};

/// The environment variable that makes a re-executed program a pool worker.
pub const POOL_WORKER_ENV: &str = "SCENARIOS_PROCESS_POOL_WORKER";

/// Whether this process is a process-pool child.
pub fn is_pool_worker() -> bool {
    std::env::var_os(POOL_WORKER_ENV).is_some_and(|v| v == "1")
}

/// A function a child can run, looked up by name.
pub type Task = fn(&[i64]) -> PyResult<i64>;

/// The registry of functions that may be submitted to a process pool.
pub fn lookup(name: &str) -> Option<Task> {
    match name {
        "pow" => Some(|args| match args {
            [base, exp] => pow(*base, *exp),
            _ => Err(Exception::new(
                ExcKind::ValueError,
                "pow expected 2 arguments",
            )),
        }),
        _ => registered(name),
    }
}

/// `_process_worker()`: the child's loop. Returns its exit code.
pub fn _process_worker_main() -> i32 {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return 1 };
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        let args: Result<Vec<i64>, _> = words.map(str::parse).collect();
        let reply = match (lookup(name), args) {
            (Some(task), Ok(args)) => match task(&args) {
                Ok(value) => format!("ok {value}\n"),
                Err(exc) => format!("err {:?}\n", exc.kind),
            },
            _ => "err ValueError\n".to_string(),
        };
        if stdout
            .write_all(reply.as_bytes())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return 1;
        }
    }
    0
}

/// A submitted call (`_CallItem`).
pub struct _CallItem {
    pub future: Future<i64>,
    pub fn_name: &'static str,
    pub args: Vec<i64>,
}

type CallQueue = Arc<SimpleQueue<Option<_CallItem>>>;

/// `_global_shutdown`: set by this module's exit hook.
pub static _global_shutdown: AtomicBool = AtomicBool::new(false);
/// `_threads_wakeups`: every manager thread and the queue that wakes it.
static _threads_wakeups: Mutex<Vec<(Thread, CallQueue)>> = Mutex::new(Vec::new());
static _registered: Once = Once::new();
static _counter: AtomicUsize = AtomicUsize::new(0);

/// `process._python_exit()`: stop every manager (each closes its child and waits for it).
pub fn _python_exit() {
    _global_shutdown.store(true, SeqCst);
    let items: Vec<(Thread, CallQueue)> = plain_lock(&_threads_wakeups).clone();
    for (_t, q) in &items {
        q.put(None);
    }
    for (t, _q) in &items {
        let _ = t.join(None);
    }
}

/// The state of a `ProcessPoolExecutor`.
pub struct ProcessPoolState {
    pub _max_workers: usize,
    pub _call_queue: CallQueue,
    pub _shutdown_thread: AtomicBool,
    pub _broken: AtomicBool,
    pub _shutdown_lock: Lock,
    pub _managers: Mutex<Vec<Thread>>,
    pub _name: usize,
}

impl Drop for ProcessPoolState {
    /// The weakref callback: a collected executor wakes its managers so they shut down.
    fn drop(&mut self) {
        self._call_queue.put(None);
    }
}

/// `concurrent.futures.ProcessPoolExecutor`: a cheap handle.
#[derive(Clone)]
pub struct ProcessPoolExecutor(pub Arc<ProcessPoolState>);

impl ProcessPoolExecutor {
    /// `ProcessPoolExecutor(max_workers=max_workers)`.
    pub fn new(max_workers: usize) -> Self {
        ProcessPoolExecutor(Arc::new(ProcessPoolState {
            _max_workers: max_workers.max(1),
            _call_queue: Arc::new(SimpleQueue::new()),
            _shutdown_thread: AtomicBool::new(false),
            _broken: AtomicBool::new(false),
            _shutdown_lock: Lock::new(),
            _managers: Mutex::new(Vec::new()),
            _name: _counter.fetch_add(1, SeqCst),
        }))
    }

    /// `submit(fn, *args)` for a function of the registry, e.g. `submit("pow", &[5, 2])`.
    pub fn submit(&self, fn_name: &'static str, args: &[i64]) -> PyResult<Future<i64>> {
        gil::tick();
        let state = &self.0;
        let _with = state._shutdown_lock.enter();
        if state._broken.load(SeqCst) {
            return Err(Exception::new(ExcKind::BrokenProcessPool, BROKEN));
        }
        if state._shutdown_thread.load(SeqCst) {
            return Err(RuntimeError(AFTER_SHUTDOWN));
        }
        if _global_shutdown.load(SeqCst) {
            return Err(RuntimeError(INTERPRETER_SHUTDOWN));
        }
        if lookup(fn_name).is_none() {
            return Err(Exception::new(
                ExcKind::ValueError,
                "not a registered process-pool task",
            ));
        }
        let f = Future::new();
        let item = _CallItem {
            future: f.clone(),
            fn_name,
            args: args.to_vec(),
        };
        state._call_queue.put(Some(item));
        self._start_executor_manager_thread()?;
        Ok(f)
    }

    /// `_start_executor_manager_thread()`: on first submit, start the children and one
    /// manager thread for each.
    fn _start_executor_manager_thread(&self) -> PyResult<()> {
        let state = &self.0;
        let mut managers = plain_lock(&state._managers);
        if !managers.is_empty() {
            return Ok(());
        }
        _registered.call_once(|| {
            let _ = threading::_register_atexit(_python_exit);
        });
        for i in 0..state._max_workers {
            let (child, stdin, stdout) = gil::allow_threads(spawn_child).map_err(|_| {
                Exception::new(ExcKind::BrokenProcessPool, "cannot start a worker process")
            })?;
            let call_queue = state._call_queue.clone();
            let name = format!("ExecutorManagerThread-{}_{}", state._name, i);
            let os_name = format!("PPManager-{}_{}", state._name, i);
            let t = Thread::new(name, Some(os_name), false, move || {
                _executor_manager(child, stdin, stdout, call_queue)
            });
            t.start()?;
            managers.push(t.clone());
            plain_lock(&_threads_wakeups).push((t, state._call_queue.clone()));
        }
        Ok(())
    }

    /// `shutdown(wait=True)`.
    pub fn shutdown(&self, wait: bool) -> PyResult<()> {
        let state = &self.0;
        {
            let _with = state._shutdown_lock.enter();
            state._shutdown_thread.store(true, SeqCst);
            state._call_queue.put(None);
        }
        if wait {
            let managers: Vec<Thread> = plain_lock(&state._managers).clone();
            for t in &managers {
                t.join(None)?;
            }
        }
        Ok(())
    }
}

const BROKEN: &str =
    "A process in the process pool was terminated abruptly while the future was running or pending.";

fn spawn_child() -> std::io::Result<(Child, ChildStdin, BufReader<ChildStdout>)> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(POOL_WORKER_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
    Ok((child, stdin, BufReader::new(stdout)))
}

/// The manager thread of one child: sends it each call, sets the future from its answer, and
/// on the `None` sentinel re-posts it for the other managers, closes the child's stdin and
/// waits for the child to exit.
fn _executor_manager(
    mut child: Child,
    stdin: ChildStdin,
    mut stdout: BufReader<ChildStdout>,
    call_queue: CallQueue,
) {
    let mut stdin = Some(stdin);
    loop {
        gil::tick();
        let Some(item) = call_queue.get() else {
            call_queue.put(None);
            break;
        };
        if !matches!(item.future.set_running_or_notify_cancel(), Ok(true)) {
            continue;
        }
        let request = std::iter::once(item.fn_name.to_string())
            .chain(item.args.iter().map(i64::to_string))
            .collect::<Vec<_>>()
            .join(" ");
        let reply = gil::allow_threads(|| {
            let pipe = stdin
                .as_mut()
                .ok_or_else(|| std::io::Error::other("closed"))?;
            writeln!(pipe, "{request}")?;
            pipe.flush()?;
            let mut line = String::new();
            stdout.read_line(&mut line)?;
            Ok::<_, std::io::Error>(line)
        });
        let outcome = match reply
            .as_deref()
            .map(str::split_whitespace)
            .map(|mut w| (w.next(), w.next()))
        {
            Ok((Some("ok"), Some(value))) => value
                .parse()
                .map_err(|_| Exception::new(ExcKind::BrokenProcessPool, BROKEN)),
            Ok((Some("err"), kind)) => Err(Exception::new(
                child_error_kind(kind),
                "raised in the worker process",
            )),
            _ => Err(Exception::new(ExcKind::BrokenProcessPool, BROKEN)),
        };
        let _ = match outcome {
            Ok(value) => item.future.set_result(value),
            Err(exc) => item.future.set_exception(exc),
        };
    }
    // Closing stdin tells the child to leave; then reap it.
    drop(stdin.take());
    let _ = gil::allow_threads(|| child.wait());
}

fn child_error_kind(name: Option<&str>) -> ExcKind {
    match name {
        Some("OverflowError") => ExcKind::OverflowError,
        Some("ValueError") => ExcKind::ValueError,
        _ => ExcKind::RuntimeError,
    }
}

/// The functions a program adds to the registry (in Python any module-level function pickles
/// by its name). A program registers them before `interpreter::run`, so that its children,
/// which run the same `main` up to there, know them too.
static _registered_tasks: Mutex<Vec<(&'static str, Task)>> = Mutex::new(Vec::new());

/// Adds `task` to the registry under `name`, for `submit(name, args)` and for the children.
pub fn register(name: &'static str, task: Task) {
    plain_lock(&_registered_tasks).push((name, task));
}

fn registered(name: &str) -> Option<Task> {
    plain_lock(&_registered_tasks)
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, task)| task)
}
