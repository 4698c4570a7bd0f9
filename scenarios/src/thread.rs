//! Port of CPython 3.10's `concurrent/futures/thread.py`: `ThreadPoolExecutor`, its workers,
//! and the interpreter exit hook `_python_exit`.
//!
//! The module globals keep Python's names so a debugger reads them as the talk does:
//! `(bool)scenarios::thread::_shutdown.v.value`,
//! `(bool)scenarios::thread::_global_shutdown_lock.locked.v.value`.

#![allow(non_upper_case_globals)]

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use crate::_base::Future;
use crate::builtins::{PyResult, RuntimeError};
use crate::queue::SimpleQueue;
use crate::threading::{self, Lock, Semaphore, Thread};
use crate::{gil, plain_lock};

/// What a worker runs: a `_WorkItem` of any result type, or cancels it.
pub trait WorkItem: Send {
    /// `_WorkItem.run()`.
    fn run(self: Box<Self>);
    /// `work_item.future.cancel()`.
    fn cancel(&self) -> bool;
}

/// The executor's `_work_queue`: work items, and `None` as the wake-up/exit sentinel.
pub type WorkQueue = Arc<SimpleQueue<Option<Box<dyn WorkItem>>>>;

/// `_shutdown`: set by the exit hook; `submit` refuses once it is true.
pub static _shutdown: AtomicBool = AtomicBool::new(false);
/// `_global_shutdown_lock`: orders the exit hook's flag store against `submit`'s check.
pub static _global_shutdown_lock: Lock = Lock::named("_global_shutdown_lock");
/// `_threads_queues` (a WeakKeyDictionary in Python): every worker and its executor's queue.
pub static _threads_queues: Mutex<Vec<(Thread, WorkQueue)>> = Mutex::new(Vec::new());
/// `len(_threads_queues)`, mirrored as a plain integer for debuggers.
pub static _threads_queues_len: AtomicUsize = AtomicUsize::new(0);
/// The queue of the worker registered last, for debuggers: LLDB cannot index a `Vec`, but it
/// follows this pointer (`scenarios::thread::_threads_queues_last.p.value->_qsize.v.value`).
/// It stays valid because the registry keeps every queue alive until the process exits.
pub static _threads_queues_last: AtomicPtr<SimpleQueue<Option<Box<dyn WorkItem>>>> =
    AtomicPtr::new(std::ptr::null_mut());

/// `threading._register_atexit(_python_exit)` runs when thread.py is imported; the port
/// registers on first use of the module.
static _registered: Once = Once::new();

fn _import() {
    _registered.call_once(|| {
        // Registration only fails after interpreter shutdown began, when `submit` refuses
        // anyway because `_shutdown` is set.
        let _ = threading::_register_atexit(_python_exit);
    });
}

/// `_python_exit()`: the thread pool's exit hook. Sets the global flag under the lock, wakes
/// every worker with a `None`, then joins them all — this join is where a deadlock hangs.
pub fn _python_exit() {
    // Line numbers are CPython 3.10.13's Lib/concurrent/futures/thread.py.
    // `def _python_exit():` (23) starts a frame: the eval breaker is checked before
    // `with _global_shutdown_lock:`, so a worker that asked for the GIL gets it here, while
    // `_shutdown` is still false.
    gil::tick();
    {
        // `with _global_shutdown_lock:` (25) and `_shutdown = True` (26) are SETUP_WITH and
        // STORE_GLOBAL: no check between them.
        let _with = _global_shutdown_lock.enter(); // @bp exit-hook
        _shutdown.store(true, SeqCst); // @bp exit-flag-store
    }
    // `items = list(_threads_queues.items())` (27): two calls, each checked on return.
    let items: Vec<(Thread, WorkQueue)> = plain_lock(&_threads_queues).clone();
    gil::tick();
    gil::tick();
    for (_t, q) in &items {
        // `q.put(None)` (29; checked in `put` and on return), then the back-edge.
        q.put(None);
        gil::tick();
        gil::tick();
    }
    for (t, _q) in &items {
        // `t.join()` (31): blocks without the GIL, checked on return and at the back-edge.
        let _ = t.join(None); // @bp exit-join
        gil::tick();
        gil::tick();
    }
}

/// `_WorkItem(future, fn, args, kwargs)`: the call and the future it completes.
pub struct _WorkItem<T> {
    pub future: Future<T>,
    func: Box<dyn FnOnce() -> PyResult<T> + Send>,
}

impl<T: Clone + Send + 'static> WorkItem for _WorkItem<T> {
    fn run(self: Box<Self>) {
        let this = *self;
        if !matches!(this.future.set_running_or_notify_cancel(), Ok(true)) {
            return;
        }
        match (this.func)() {
            Err(exc) => {
                // The exception is stored, not raised: unless someone asks the future, it is
                // gone (the talk's swallowed RuntimeError).
                let _ = this.future.set_exception(exc); // @bp workitem-exception
            }
            Ok(result) => {
                let _ = this.future.set_result(result);
            }
        }
    }

    fn cancel(&self) -> bool {
        self.future.cancel()
    }
}

/// `_worker(executor_reference, work_queue, ...)`: the loop every worker thread runs.
pub fn _worker(executor_reference: Weak<ExecutorState>, work_queue: WorkQueue) {
    // `def _worker(...)` (thread.py 69) starts a frame with a check; `while True:` (80) jumps
    // back (JUMP_ABSOLUTE)
    // to the `tick` at the top of the loop.
    loop {
        gil::tick();
        let work_item = work_queue.get(); // @bp worker-get
        if let Some(work_item) = work_item {
            // `work_item.run()` (thread.py 83): the frame of `_WorkItem.run` starts with a check.
            gil::tick();
            work_item.run(); // @bp worker-run
                             // The call returns checked.
            gil::tick();

            // The work item (and what its call captured) is gone here, like `del work_item`.
            // Attempt to increment idle count.
            // `executor = executor_reference()` (88), `executor._idle_semaphore.release()` (90):
            // each call returns checked (the loop's back-edge is the `tick` at its top).
            if let Some(executor) = executor_reference.upgrade() {
                gil::tick();
                executor._idle_semaphore.release(1);
                gil::tick();
            }
            continue;
        }
        // `work_item = work_queue.get(block=True)` (81) returned, checked.
        gil::tick();
        let executor = executor_reference.upgrade();
        // `executor = executor_reference()` (94), checked on return.
        gil::tick();
        // Exit if:
        //   - The interpreter is shutting down OR
        //   - The executor that owns the worker has been collected OR
        //   - The executor that owns the worker has been shutdown.
        let executor_gone = executor.as_ref().is_none_or(|e| e._shutdown.load(SeqCst));
        if _shutdown.load(SeqCst) || executor_gone {
            // Flag the executor as shutting down as early as possible if it is not gc-ed yet.
            if let Some(executor) = &executor {
                executor._shutdown.store(true, SeqCst);
            }
            // Notice other workers.
            work_queue.put(None); // @bp worker-exit
            return;
        }
    }
}

/// The state of a `ThreadPoolExecutor` (the Python object's attributes).
pub struct ExecutorState {
    pub _max_workers: usize,
    pub _work_queue: WorkQueue,
    pub _idle_semaphore: Semaphore,
    pub _threads: Mutex<Vec<Thread>>,
    /// `self._broken`: only an initializer can break a pool, and the port has none.
    pub _broken: AtomicBool,
    /// `self._shutdown`: set by `shutdown()`, or by a worker leaving on a sentinel.
    pub _shutdown: AtomicBool,
    pub _shutdown_lock: Lock,
    pub _thread_name_prefix: String,
    /// The kernel's 15-byte form of the prefix, `TPExecutor-N`.
    pub _os_name_prefix: String,
    /// For debuggers: the executor's number among all the program's executors, whatever
    /// their prefix. Its queued futures and its workers record it (`threading::_waiting`).
    pub _index: usize,
}

impl Drop for ExecutorState {
    /// The weakref callback: when the executor is collected, wake the workers so they exit.
    fn drop(&mut self) {
        self._work_queue.put(None);
    }
}

/// `ThreadPoolExecutor._counter`.
static _counter: AtomicUsize = AtomicUsize::new(0);
/// How many executors the program created, for `ExecutorState::_index`.
static _executors: AtomicUsize = AtomicUsize::new(0);

/// `concurrent.futures.ThreadPoolExecutor`: a cheap handle (`Arc` inside) so closures can
/// capture it as Python code captures a reference. In a debugger, the state is
/// `executor.__0.ptr.pointer->data`.
#[derive(Clone)]
pub struct ThreadPoolExecutor(pub Arc<ExecutorState>);

impl std::ops::Deref for ThreadPoolExecutor {
    type Target = ExecutorState;
    fn deref(&self) -> &ExecutorState {
        &self.0
    }
}

impl ThreadPoolExecutor {
    /// `ThreadPoolExecutor(max_workers=max_workers)`.
    pub fn new(max_workers: usize) -> Self {
        Self::with_prefix(max_workers, "")
    }

    /// `ThreadPoolExecutor(max_workers, thread_name_prefix)`; an empty prefix means
    /// `ThreadPoolExecutor-N`.
    pub fn with_prefix(max_workers: usize, thread_name_prefix: &str) -> Self {
        _import();
        let (prefix, os_prefix) = if thread_name_prefix.is_empty() {
            let n = _counter.fetch_add(1, SeqCst);
            (format!("ThreadPoolExecutor-{n}"), format!("TPExecutor-{n}"))
        } else {
            (
                thread_name_prefix.to_string(),
                thread_name_prefix.to_string(),
            )
        };
        ThreadPoolExecutor(Arc::new(ExecutorState {
            _max_workers: max_workers.max(1),
            _work_queue: Arc::new(SimpleQueue::new()),
            _idle_semaphore: Semaphore::new(0),
            _threads: Mutex::new(Vec::new()),
            _broken: AtomicBool::new(false),
            _shutdown: AtomicBool::new(false),
            _shutdown_lock: Lock::new(),
            _thread_name_prefix: prefix,
            _os_name_prefix: os_prefix,
            _index: _executors.fetch_add(1, SeqCst),
        }))
    }

    /// `with ThreadPoolExecutor(max_workers=n) as executor: body` — `__exit__` calls
    /// `shutdown(wait=True)` when the body ends, also when it raised.
    pub fn with<R>(
        max_workers: usize,
        body: impl FnOnce(&ThreadPoolExecutor) -> PyResult<R>,
    ) -> PyResult<R> {
        let executor = ThreadPoolExecutor::new(max_workers);
        let result = body(&executor);
        executor.shutdown(true, false)?;
        result
    }

    /// `submit(fn, /, *args, **kwargs)`: both locks are held across the checks, the put and
    /// the thread spawning, exactly as in 3.10. The caller's line names the future for a
    /// debugger (Python would show the callable).
    #[track_caller]
    pub fn submit<T, F>(&self, func: F) -> PyResult<Future<T>>
    where
        T: Clone + Send + 'static,
        F: FnOnce() -> PyResult<T> + Send + 'static,
    {
        gil::tick();
        let _with = threading::with2(&self._shutdown_lock, &_global_shutdown_lock); // @bp submit-locks
        if self._broken.load(SeqCst) {
            return Err(RuntimeError("A thread initializer failed"));
        }
        if self._shutdown.load(SeqCst) {
            return Err(RuntimeError(AFTER_SHUTDOWN)); // @bp submit-refuse-shutdown
        }
        if _shutdown.load(SeqCst) {
            return Err(RuntimeError(INTERPRETER_SHUTDOWN)); // @bp submit-refuse-interpreter
        }
        // `f = _base.Future()` (thread.py 172), `w = _WorkItem(f, fn, args, kwargs)` (173): two
        // calls of Python
        // `__init__`s, each checked at its frame's start and on return. Both locks are held, so
        // a thread that takes the GIL here cannot get past them.
        gil::tick();
        let f = Future::new();
        gil::tick();
        gil::tick();
        let site = std::panic::Location::caller();
        f._queued(self._index, &format!("{}:{}", site.file(), site.line()));
        let w = _WorkItem {
            future: f.clone(),
            func: Box::new(func),
        };
        gil::tick();
        self._work_queue.put(Some(Box::new(w))); // @bp submit-enqueue
                                                 // `self._work_queue.put(w)` (175) returned; `self._adjust_thread_count()` (176) starts
                                                 // its frame.
        gil::tick();
        gil::tick();
        self._adjust_thread_count()?;
        // `self._adjust_thread_count()` returned.
        gil::tick();
        Ok(f)
    }

    /// `_adjust_thread_count()`: reuse an idle worker if there is one, else start another
    /// thread up to `max_workers`.
    pub fn _adjust_thread_count(&self) -> PyResult<()> {
        // If idle threads are available, don't spin new threads.
        if self._idle_semaphore.acquire(true, Some(Duration::ZERO)) {
            return Ok(());
        }
        let num_threads = plain_lock(&self._threads).len();
        if num_threads < self._max_workers {
            let thread_name = format!("{}_{}", self._thread_name_prefix, num_threads);
            let os_name = format!("{}_{}", self._os_name_prefix, num_threads);
            let executor_reference = Arc::downgrade(&self.0);
            let work_queue = self._work_queue.clone();
            let index = self._index;
            let t = Thread::new(thread_name, Some(os_name), false, move || {
                threading::works_for(index);
                _worker(executor_reference, work_queue)
            });
            t.start()?;
            // The new worker is running; this thread still holds both of submit's locks.
            plain_lock(&self._threads).push(t.clone()); // @bp thread-started
            let mut registry = plain_lock(&_threads_queues);
            registry.push((t, self._work_queue.clone()));
            _threads_queues_len.store(registry.len(), SeqCst);
            _threads_queues_last.store(Arc::as_ptr(&self._work_queue).cast_mut(), SeqCst);
        }
        Ok(())
    }

    /// `shutdown(wait=True, *, cancel_futures=False)`.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) -> PyResult<()> {
        gil::tick();
        {
            let _with = self._shutdown_lock.enter();
            self._shutdown.store(true, SeqCst); // @bp shutdown-flag-store
            if cancel_futures {
                // Drain all work items from the queue, and then cancel their associated
                // futures.
                while let Some(work_item) = self._work_queue.get_nowait() {
                    if let Some(work_item) = work_item {
                        work_item.cancel();
                    }
                }
            }
            // Send a wake-up to prevent threads calling _work_queue.get(block=True) from
            // permanently blocking.
            self._work_queue.put(None);
        }
        if wait {
            let threads: Vec<Thread> = plain_lock(&self._threads).clone();
            for t in &threads {
                t.join(None)?; // @bp shutdown-join
            }
        }
        Ok(())
    }
}

/// The text of the executor-level refusal.
pub const AFTER_SHUTDOWN: &str = "cannot schedule new futures after shutdown";
/// The text of the interpreter-level refusal.
pub const INTERPRETER_SHUTDOWN: &str = "cannot schedule new futures after interpreter shutdown";
