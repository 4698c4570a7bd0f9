//! Port of CPython 3.10's `queue` module: `SimpleQueue` (the C `_queue.SimpleQueue`, the thread
//! pool's work queue) and `Queue` (queue.py, built on `threading.Condition`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::builtins::{ExcKind, Exception, PyResult};
use crate::threading::{wait_kind, waiting_on, Condition, Lock, WaitTarget};
use crate::{gil, plain_lock};

/// `queue.SimpleQueue`: an unbounded FIFO whose `put` never blocks and whose blocking `get`
/// releases the GIL. `_qsize` mirrors the length as a plain integer for debuggers.
pub struct SimpleQueue<T> {
    pub _qsize: AtomicUsize,
    /// What a blocked `get` waits on, for the debugger.
    pub _wait: WaitTarget,
    lst: Mutex<VecDeque<T>>,
    not_empty: Condvar,
}

impl<T> Default for SimpleQueue<T> {
    fn default() -> Self {
        SimpleQueue::new()
    }
}

impl<T> SimpleQueue<T> {
    pub const fn new() -> Self {
        SimpleQueue {
            _qsize: AtomicUsize::new(0),
            _wait: WaitTarget::new(wait_kind::QUEUE, "SimpleQueue"),
            lst: Mutex::new(VecDeque::new()),
            not_empty: Condvar::new(),
        }
    }

    /// `put(item)`.
    pub fn put(&self, item: T) {
        let mut lst = plain_lock(&self.lst);
        lst.push_back(item);
        self._qsize.store(lst.len(), SeqCst);
        drop(lst);
        self.not_empty.notify_one();
    }

    /// `get(block=True)`: waits without the GIL until an item is there. After waking, the
    /// thread needs the GIL again before it pops, like `_queue_SimpleQueue_get_impl`.
    pub fn get(&self) -> T {
        loop {
            if let Some(item) = self.get_nowait() {
                return item;
            }
            let _wait_record = waiting_on(&self._wait);
            gil::allow_threads(|| {
                let mut lst = plain_lock(&self.lst);
                while lst.is_empty() {
                    lst = self.not_empty.wait(lst).unwrap_or_else(|e| e.into_inner());
                }
            });
        }
    }

    /// `get_nowait()`; `None` stands for `queue.Empty`.
    pub fn get_nowait(&self) -> Option<T> {
        let mut lst = plain_lock(&self.lst);
        let item = lst.pop_front();
        self._qsize.store(lst.len(), SeqCst);
        item
    }

    /// `qsize()`.
    pub fn qsize(&self) -> usize {
        plain_lock(&self.lst).len()
    }
}

/// The state of a `queue.Queue`.
pub struct QueueState<T> {
    /// `self.mutex`, shared by the condition below.
    pub mutex: Arc<Lock>,
    /// What a blocked `get` waits on, for the debugger.
    pub _wait: WaitTarget,
    not_empty: Condition<Lock>,
    queue: Mutex<VecDeque<T>>,
    pub unfinished_tasks: AtomicUsize,
}

/// `queue.Queue()` (unbounded): a cheap handle, so closures can capture it like a Python
/// reference.
pub struct Queue<T>(pub Arc<QueueState<T>>);

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue(self.0.clone())
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T> Queue<T> {
    pub fn new() -> Self {
        let mutex = Arc::new(Lock::new());
        Queue(Arc::new(QueueState {
            not_empty: Condition::new(mutex.clone()),
            _wait: WaitTarget::new(wait_kind::QUEUE, "Queue"),
            mutex,
            queue: Mutex::new(VecDeque::new()),
            unfinished_tasks: AtomicUsize::new(0),
        }))
    }

    /// `put(item)`.
    pub fn put(&self, item: T) {
        gil::tick();
        let _with = self.0.not_empty.enter();
        plain_lock(&self.0.queue).push_back(item);
        self.0.unfinished_tasks.fetch_add(1, SeqCst);
        self.0.not_empty.notify(1);
    }

    /// `get(block=True, timeout=None)`: waits on the `not_empty` condition (GIL released).
    pub fn get(&self, block: bool, timeout: Option<Duration>) -> PyResult<T> {
        gil::tick();
        let _wait_record = block.then(|| waiting_on(&self.0._wait));
        let _with = self.0.not_empty.enter();
        let empty = || plain_lock(&self.0.queue).is_empty();
        if !block {
            if empty() {
                return Err(Exception::new(ExcKind::Empty, ""));
            }
        } else if let Some(timeout) = timeout {
            let endtime = std::time::Instant::now() + timeout;
            while empty() {
                let now = std::time::Instant::now();
                if endtime <= now {
                    return Err(Exception::new(ExcKind::Empty, ""));
                }
                self.0.not_empty.wait(Some(endtime - now));
            }
        } else {
            while empty() {
                self.0.not_empty.wait(None);
            }
        }
        plain_lock(&self.0.queue)
            .pop_front()
            .ok_or_else(|| Exception::new(ExcKind::Empty, ""))
    }

    /// `qsize()`.
    pub fn qsize(&self) -> usize {
        plain_lock(&self.0.queue).len()
    }
}
