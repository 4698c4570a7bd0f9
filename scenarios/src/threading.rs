//! Port of the parts of CPython 3.10's `threading` module (and `_thread`'s lock) the thread
//! pool uses: `Lock`, `RLock`, `Condition`, `Event`, `Semaphore`, `Thread`, `current_thread`,
//! `_register_atexit` and `_shutdown`.
//!
//! Locks are barging, like CPython's `sem_t`-based locks: a release wakes a waiter, but a
//! thread that tries first takes the lock. `acquire` first tries without blocking while
//! holding the GIL; only if that fails does it release the GIL and block.

#![allow(non_upper_case_globals)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering::SeqCst,
};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::builtins::{PyResult, RuntimeError};
use crate::{gil, plain_lock};

// ---------------------------------------------------------------------------------------------
// Wait state a debugger can read, the way a runtime records it (the JVM keeps a monitor's owner
// in its header, Go a goroutine's wait reason): every object a thread can block on carries a
// `WaitTarget`, and every thread that blocks points its slot of `_waiting` at the target for as
// long as it waits. Only plain integers, bools, a pointer and a fixed byte array: LLDB's C++
// evaluator reads them as `scenarios::threading::_waiting[i].target.p.value->owner.v.value`.
// ---------------------------------------------------------------------------------------------

/// What kind of object a `WaitTarget` belongs to (`WaitTarget::kind`).
pub mod wait_kind {
    pub const NONE: u8 = 0;
    pub const LOCK: u8 = 1;
    pub const FUTURE: u8 = 2;
    pub const THREAD: u8 = 3;
    pub const QUEUE: u8 = 4;
    pub const CONDITION: u8 = 5;
}

/// How many bytes of a description a `WaitTarget` keeps (the rest is cut).
pub const WAIT_DESC_LEN: usize = 48;

/// The debugger-facing header of a blockable object.
pub struct WaitTarget {
    /// One of `wait_kind`.
    pub kind: AtomicU8,
    /// Who holds the object (a lock's owner, the thread running a future, the thread a join
    /// waits for), as an OS thread id; 0 when nobody does.
    pub owner: AtomicUsize,
    /// For a queued future: 1 + the number (`ExecutorState::_index`) of the executor whose
    /// work queue holds it; 0 otherwise. The slots of that executor's workers carry the same.
    pub executor: AtomicUsize,
    /// A NUL-terminated name: `_global_shutdown_lock`, `pow(5, 2)` at `file.rs:12`, a thread's
    /// name.
    pub desc: [AtomicU8; WAIT_DESC_LEN],
}

impl WaitTarget {
    pub const fn new(kind: u8, desc: &str) -> Self {
        let mut bytes = [const { AtomicU8::new(0) }; WAIT_DESC_LEN];
        let src = desc.as_bytes();
        let mut i = 0;
        while i < src.len() && i < WAIT_DESC_LEN - 1 {
            bytes[i] = AtomicU8::new(src[i]);
            i += 1;
        }
        WaitTarget {
            kind: AtomicU8::new(kind),
            owner: AtomicUsize::new(0),
            executor: AtomicUsize::new(0),
            desc: bytes,
        }
    }

    /// Replaces the description (cut on a character boundary, NUL-terminated).
    pub fn describe(&self, desc: &str) {
        let mut end = desc.len().min(WAIT_DESC_LEN - 1);
        while !desc.is_char_boundary(end) {
            end -= 1;
        }
        for (i, cell) in self.desc.iter().enumerate() {
            cell.store(
                desc.as_bytes()
                    .get(i)
                    .copied()
                    .filter(|_| i < end)
                    .unwrap_or(0),
                SeqCst,
            );
        }
    }
}

/// One thread's wait record: which thread, and the target it is blocked on (null while it
/// runs).
pub struct WaitSlot {
    /// The OS thread id (LLDB's thread id); 0 while the slot is free.
    pub tid: AtomicUsize,
    pub target: AtomicPtr<WaitTarget>,
    /// For a pool's worker: 1 + the number (`ExecutorState::_index`) of the executor it works
    /// for, so a debugger finds a queued future's workers whatever their names; 0 otherwise.
    pub executor: AtomicUsize,
}

/// How many threads of one program can record their waits; later threads go unrecorded.
pub const WAIT_SLOTS: usize = 32;

/// Every thread's wait record; slots are taken in order, so only the first `_waiting_len` are
/// in use.
pub static _waiting: [WaitSlot; WAIT_SLOTS] = [const {
    WaitSlot {
        tid: AtomicUsize::new(0),
        target: AtomicPtr::new(std::ptr::null_mut()),
        executor: AtomicUsize::new(0),
    }
}; WAIT_SLOTS];
/// How many slots of `_waiting` are taken.
pub static _waiting_len: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot in `_waiting`, once taken.
    static WAIT_SLOT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

fn wait_slot() -> Option<&'static WaitSlot> {
    let index = WAIT_SLOT.with(|cell| {
        if cell.get().is_none() {
            let i = _waiting_len.fetch_add(1, SeqCst);
            if i < WAIT_SLOTS {
                _waiting[i].tid.store(get_ident() as usize, SeqCst);
                cell.set(Some(i));
            }
        }
        cell.get()
    })?;
    _waiting.get(index)
}

/// Records that the calling thread is a worker of the executor numbered `executor`
/// (`ExecutorState::_index`): it takes its slot in `_waiting` now, before it ever waits.
pub fn works_for(executor: usize) {
    if let Some(slot) = wait_slot() {
        slot.executor.store(executor + 1, SeqCst);
    }
}

/// Records that the calling thread is about to block on `target` until the returned guard is
/// dropped. The outermost wait wins: `Future::result` blocks inside `Condition::wait`, which
/// blocks on a waiter `Lock`, and what the thread waits for is the future.
pub fn waiting_on(target: &WaitTarget) -> WaitGuard {
    let Some(slot) = wait_slot() else {
        return WaitGuard { slot: None };
    };
    let fresh = slot
        .target
        .compare_exchange(
            std::ptr::null_mut(),
            (target as *const WaitTarget).cast_mut(),
            SeqCst,
            SeqCst,
        )
        .is_ok();
    WaitGuard {
        slot: fresh.then_some(slot),
    }
}

/// Clears a thread's wait record when its wait ends.
pub struct WaitGuard {
    slot: Option<&'static WaitSlot>,
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            slot.target.store(std::ptr::null_mut(), SeqCst);
        }
    }
}

/// `threading.get_ident()`.
pub fn get_ident() -> u64 {
    gil::ident()
}

/// What a `Condition` needs from its lock (threading.py duck-types `_release_save`,
/// `_acquire_restore` and `_is_owned`).
pub trait PyLock: Send + Sync {
    fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool;
    fn release(&self);
    /// Releases the lock completely, returning what `_acquire_restore` needs.
    fn _release_save(&self) -> (u64, u64);
    fn _acquire_restore(&self, state: (u64, u64));
    fn _is_owned(&self) -> bool;
}

/// `_thread.lock` (`threading.Lock`): non-reentrant, releasable by any thread (Condition's
/// waiter locks rely on that). `locked` is a plain bool a debugger reads as
/// `(bool)<lock>.locked.v.value`.
pub struct Lock {
    pub locked: AtomicBool,
    /// Who took the lock last while it is held (its `owner`), for the debugger.
    pub _wait: WaitTarget,
    mutex: Mutex<()>,
    cond: Condvar,
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl Lock {
    pub const fn new() -> Self {
        Lock::named("")
    }

    /// A lock a debugger names `name` (`_global_shutdown_lock`).
    pub const fn named(name: &str) -> Self {
        Lock {
            locked: AtomicBool::new(false),
            _wait: WaitTarget::new(wait_kind::LOCK, name),
            mutex: Mutex::new(()),
            cond: Condvar::new(),
        }
    }

    fn try_acquire(&self) -> bool {
        let took = self
            .locked
            .compare_exchange(false, true, SeqCst, SeqCst)
            .is_ok();
        if took {
            self._wait.owner.store(get_ident() as usize, SeqCst);
        }
        took
    }

    /// `lock.acquire(blocking=True, timeout=-1)`: `timeout` None waits forever. Like
    /// `acquire_timed()` in `_threadmodule.c`, the GIL is released only after a non-blocking
    /// try failed and only if the call may actually wait.
    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        if self.try_acquire() {
            return true;
        }
        if !blocking || timeout == Some(Duration::ZERO) {
            return false;
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let _wait_record = waiting_on(&self._wait);
        gil::allow_threads(|| {
            // The thread is about to block without the GIL: a safe place to hold it.
            let mut guard = plain_lock(&self.mutex); // @bp lock-wait
            loop {
                if self.try_acquire() {
                    return true;
                }
                guard = match deadline {
                    None => self.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
                    Some(deadline) => {
                        let now = Instant::now();
                        if now >= deadline {
                            return false;
                        }
                        self.cond
                            .wait_timeout(guard, deadline - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                };
            }
        })
    }

    /// `lock.release()`: wakes one waiter but hands nothing over (barging). Releasing an
    /// unlocked lock is a RuntimeError in Python; here it is a no-op, the port never does it.
    pub fn release(&self) {
        self._wait.owner.store(0, SeqCst);
        self.locked.store(false, SeqCst);
        // Taking the mutex orders this release after a waiter's failed try, so the waiter is
        // already waiting on `cond` and cannot miss the notification.
        drop(plain_lock(&self.mutex));
        self.cond.notify_one();
    }

    /// `lock.locked()`.
    pub fn locked(&self) -> bool {
        self.locked.load(SeqCst)
    }

    /// `with lock:` — acquires now, releases when the guard is dropped.
    pub fn enter(&self) -> With<'_, Self> {
        self.acquire(true, None);
        With { lock: self }
    }
}

impl PyLock for Lock {
    fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        Lock::acquire(self, blocking, timeout)
    }
    fn release(&self) {
        Lock::release(self)
    }
    fn _release_save(&self) -> (u64, u64) {
        Lock::release(self);
        (0, 0)
    }
    fn _acquire_restore(&self, _state: (u64, u64)) {
        Lock::acquire(self, true, None);
    }
    fn _is_owned(&self) -> bool {
        // threading.Condition's fallback: a lock we cannot take is taken by us.
        if Lock::acquire(self, false, None) {
            Lock::release(self);
            false
        } else {
            true
        }
    }
}

/// The guard of a `with` statement over one lock.
pub struct With<'a, L: PyLock> {
    lock: &'a L,
}

impl<L: PyLock> Drop for With<'_, L> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

/// `with a, b:` — acquires `a` then `b`; on scope exit releases `b` then `a`.
pub fn with2<'a>(a: &'a Lock, b: &'a Lock) -> With2<'a> {
    a.acquire(true, None);
    b.acquire(true, None);
    With2 { a, b }
}

/// The guard of `with a, b:`.
pub struct With2<'a> {
    a: &'a Lock,
    b: &'a Lock,
}

impl Drop for With2<'_> {
    fn drop(&mut self) {
        self.b.release();
        self.a.release();
    }
}

/// `threading.RLock` (the pure-Python `_RLock`): a lock the owning thread may take again.
pub struct RLock {
    _block: Lock,
    pub _owner: AtomicU64,
    pub _count: AtomicU64,
}

impl Default for RLock {
    fn default() -> Self {
        RLock::new()
    }
}

impl RLock {
    pub const fn new() -> Self {
        RLock {
            _block: Lock::new(),
            _owner: AtomicU64::new(0),
            _count: AtomicU64::new(0),
        }
    }

    pub fn enter(&self) -> With<'_, Self> {
        PyLock::acquire(self, true, None);
        With { lock: self }
    }
}

impl PyLock for RLock {
    fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        let me = get_ident();
        if self._owner.load(SeqCst) == me {
            self._count.fetch_add(1, SeqCst);
            return true;
        }
        let rc = self._block.acquire(blocking, timeout);
        if rc {
            self._owner.store(me, SeqCst);
            self._count.store(1, SeqCst);
        }
        rc
    }
    fn release(&self) {
        // Python raises "cannot release un-acquired lock"; the port never does that.
        if self._owner.load(SeqCst) != get_ident() {
            return;
        }
        if self._count.fetch_sub(1, SeqCst) == 1 {
            self._owner.store(0, SeqCst);
            self._block.release();
        }
    }
    fn _release_save(&self) -> (u64, u64) {
        let state = (self._count.swap(0, SeqCst), self._owner.swap(0, SeqCst));
        self._block.release();
        state
    }
    fn _acquire_restore(&self, (count, owner): (u64, u64)) {
        self._block.acquire(true, None);
        self._owner.store(owner, SeqCst);
        self._count.store(count, SeqCst);
    }
    fn _is_owned(&self) -> bool {
        self._owner.load(SeqCst) == get_ident()
    }
}

/// `threading.Condition`, faithful to threading.py: each waiter blocks on its own lock, which
/// `notify` releases.
pub struct Condition<L: PyLock = RLock> {
    pub _lock: Arc<L>,
    /// What a bare `wait` waits on; a future's or a queue's own target comes first.
    pub _wait: WaitTarget,
    _waiters: Mutex<VecDeque<Arc<Lock>>>,
}

impl Default for Condition<RLock> {
    fn default() -> Self {
        Condition::new(Arc::new(RLock::new()))
    }
}

impl<L: PyLock> Condition<L> {
    pub fn new(lock: Arc<L>) -> Self {
        Condition {
            _lock: lock,
            _wait: WaitTarget::new(wait_kind::CONDITION, "condition"),
            _waiters: Mutex::new(VecDeque::new()),
        }
    }

    /// `with condition:`.
    pub fn enter(&self) -> With<'_, L> {
        self._lock.acquire(true, None);
        With { lock: &self._lock }
    }

    /// `condition.wait(timeout)`: the caller holds the lock; returns false on timeout.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let waiter = Arc::new(Lock::new());
        waiter.acquire(true, None);
        plain_lock(&self._waiters).push_back(waiter.clone());
        let _wait_record = waiting_on(&self._wait);
        let saved_state = self._lock._release_save();
        let gotit = match timeout {
            None => waiter.acquire(true, None),
            Some(t) if t > Duration::ZERO => waiter.acquire(true, Some(t)),
            Some(_) => waiter.acquire(false, None),
        };
        self._lock._acquire_restore(saved_state);
        if !gotit {
            plain_lock(&self._waiters).retain(|w| !Arc::ptr_eq(w, &waiter));
        }
        gotit
    }

    /// `condition.notify(n)`: wakes up to `n` waiters by releasing their locks.
    pub fn notify(&self, n: usize) {
        let mut waiters = plain_lock(&self._waiters);
        for _ in 0..n {
            match waiters.pop_front() {
                Some(waiter) => waiter.release(),
                None => break,
            }
        }
    }

    /// `condition.notify_all()`.
    pub fn notify_all(&self) {
        self.notify(usize::MAX);
    }
}

/// `threading.Event`.
pub struct Event {
    _cond: Condition<Lock>,
    pub _flag: AtomicBool,
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    pub fn new() -> Self {
        Event {
            _cond: Condition::new(Arc::new(Lock::new())),
            _flag: AtomicBool::new(false),
        }
    }

    pub fn is_set(&self) -> bool {
        self._flag.load(SeqCst)
    }

    pub fn set(&self) {
        let _with = self._cond.enter();
        self._flag.store(true, SeqCst);
        self._cond.notify_all();
    }

    pub fn clear(&self) {
        let _with = self._cond.enter();
        self._flag.store(false, SeqCst);
    }

    /// `event.wait(timeout)`: returns the flag.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let _with = self._cond.enter();
        let mut signaled = self._flag.load(SeqCst);
        if !signaled {
            signaled = self._cond.wait(timeout);
        }
        signaled
    }
}

/// `threading.Semaphore`.
pub struct Semaphore {
    _cond: Condition<Lock>,
    pub _value: AtomicUsize,
}

impl Semaphore {
    pub fn new(value: usize) -> Self {
        Semaphore {
            _cond: Condition::new(Arc::new(Lock::new())),
            _value: AtomicUsize::new(value),
        }
    }

    /// `sem.acquire(blocking=True, timeout=None)`; `timeout=Some(0)` is the thread pool's
    /// "is a worker idle?" probe.
    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        let mut rc = false;
        let mut endtime: Option<Instant> = None;
        let mut timeout = timeout;
        let _with = self._cond.enter();
        loop {
            if self._value.load(SeqCst) != 0 {
                self._value.fetch_sub(1, SeqCst);
                rc = true;
                break;
            }
            if !blocking {
                break;
            }
            if let Some(t) = timeout {
                match endtime {
                    None => endtime = Some(Instant::now() + t),
                    Some(end) => {
                        let now = Instant::now();
                        if end <= now {
                            break;
                        }
                        timeout = Some(end - now);
                    }
                }
            }
            self._cond.wait(timeout);
        }
        rc
    }

    /// `sem.release(n=1)`.
    pub fn release(&self, n: usize) {
        let _with = self._cond.enter();
        self._value.fetch_add(n, SeqCst);
        for _ in 0..n {
            self._cond.notify(1);
        }
    }
}

/// The state of a `threading.Thread`; a `Thread` is a cheap handle to it.
pub struct ThreadState {
    /// The full Python name, e.g. `ThreadPoolExecutor-0_0`.
    pub _name: String,
    /// The kernel's name (at most 15 bytes on Linux), what LLDB shows, e.g. `TPExecutor-0_0`.
    pub _os_name: String,
    pub _ident: AtomicU64,
    pub _daemonic: bool,
    pub _started: Event,
    pub _is_stopped: AtomicBool,
    /// Held by the running thread and released when it ends; `join` waits on it, like
    /// CPython's `_tstate_lock`.
    pub _tstate_lock: Lock,
    /// What a joiner waits on: this thread (`owner` is its OS id once it runs).
    pub _wait: WaitTarget,
    _target: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// `threading.Thread`.
#[derive(Clone)]
pub struct Thread(pub Arc<ThreadState>);

impl std::ops::Deref for Thread {
    type Target = ThreadState;
    fn deref(&self) -> &ThreadState {
        &self.0
    }
}

/// `threading._shutdown_locks`: the non-daemon threads `_shutdown` joins.
static _shutdown_threads: Mutex<Vec<Thread>> = Mutex::new(Vec::new());
/// `threading._threading_atexits`.
static _threading_atexits: Mutex<Vec<fn()>> = Mutex::new(Vec::new());
/// `threading._SHUTTING_DOWN`.
pub static _SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
static _counter: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static CURRENT: RefCell<Option<Thread>> = const { RefCell::new(None) };
}

impl Thread {
    /// `threading.Thread(name=name, target=target, daemon=daemon)`. The kernel name is the
    /// Python name cut to 15 bytes unless `os_name` gives a better short form.
    pub fn new(
        name: String,
        os_name: Option<String>,
        daemon: bool,
        target: impl FnOnce() + Send + 'static,
    ) -> Thread {
        let os_name = os_name.unwrap_or_else(|| truncate_15(&name));
        let wait = WaitTarget::new(wait_kind::THREAD, "");
        wait.describe(&name);
        Thread(Arc::new(ThreadState {
            _name: name,
            _os_name: os_name,
            _ident: AtomicU64::new(0),
            _daemonic: daemon,
            _started: Event::new(),
            _is_stopped: AtomicBool::new(false),
            _tstate_lock: Lock::new(),
            _wait: wait,
            _target: Mutex::new(Some(Box::new(target))),
        }))
    }

    /// `threading._newname()`: `Thread-N`.
    pub fn _newname() -> String {
        format!("Thread-{}", _counter.fetch_add(1, SeqCst) + 1)
    }

    fn bare(name: &str) -> Thread {
        let t = Thread::new(name.to_string(), None, true, || {});
        t._ident.store(get_ident(), SeqCst);
        t._wait.owner.store(get_ident() as usize, SeqCst);
        t._tstate_lock.acquire(false, None);
        t
    }

    pub fn name(&self) -> &str {
        &self._name
    }

    pub fn ident(&self) -> u64 {
        self._ident.load(SeqCst)
    }

    /// `thread.start()`: starts the OS thread and waits (GIL released) until it runs.
    pub fn start(&self) -> PyResult<()> {
        if self._started.is_set() {
            return Err(RuntimeError("threads can only be started once"));
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name(self._os_name.clone())
            .spawn(move || me._bootstrap());
        if spawned.is_err() {
            return Err(RuntimeError("can't start new thread"));
        }
        self._started.wait(None);
        Ok(())
    }

    /// `Thread._bootstrap_inner`: the first thing a new thread does is take the GIL.
    fn _bootstrap(self) {
        gil::acquire();
        self._ident.store(get_ident(), SeqCst);
        self._wait.owner.store(get_ident() as usize, SeqCst);
        self._tstate_lock.acquire(true, None);
        if !self._daemonic {
            plain_lock(&_shutdown_threads).push(self.clone());
        }
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
        self._started.set();
        let target = plain_lock(&self._target).take();
        if let Some(target) = target {
            // A panic ends the thread like an uncaught exception ends a Python thread: it is
            // reported, and the thread still gives up the GIL below, so the others go on.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(target));
            if outcome.is_err() {
                crate::sys::stderr.write(&format!("Exception in thread {}\n", self._name));
            }
        }
        self._is_stopped.store(true, SeqCst);
        // Like CPython, the thread state's lock is released after the GIL is given up.
        gil::release();
        self._tstate_lock.release();
    }

    /// `thread.join(timeout=None)`.
    pub fn join(&self, timeout: Option<Duration>) -> PyResult<()> {
        if !self._started.is_set() {
            return Err(RuntimeError("cannot join thread before it is started"));
        }
        if self.ident() == get_ident() {
            return Err(RuntimeError("cannot join current thread"));
        }
        let _wait_record = waiting_on(&self._wait);
        if self._tstate_lock.acquire(true, timeout) {
            self._tstate_lock.release();
        }
        Ok(())
    }

    pub fn is_alive(&self) -> bool {
        self._started.is_set() && !self._is_stopped.load(SeqCst)
    }
}

fn truncate_15(name: &str) -> String {
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// `threading.current_thread()`. A thread the port did not start is a `Dummy-N` thread.
pub fn current_thread() -> Thread {
    CURRENT.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| {
                Thread::bare(&format!("Dummy-{}", _counter.fetch_add(1, SeqCst) + 1))
            })
            .clone()
    })
}

/// Makes the calling thread `MainThread` (`threading._main_thread`).
pub(crate) fn _init_main_thread() {
    CURRENT.with(|c| *c.borrow_mut() = Some(Thread::bare("MainThread")));
}

/// `threading._register_atexit(func)`: `func` runs in `_shutdown`, before the non-daemon
/// threads are joined, in reverse registration order.
pub fn _register_atexit(func: fn()) -> PyResult<()> {
    if _SHUTTING_DOWN.load(SeqCst) {
        return Err(RuntimeError("can't register atexit after shutdown"));
    }
    plain_lock(&_threading_atexits).push(func);
    Ok(())
}

/// `threading._shutdown()`, called by the interpreter's exit sequence: runs the threading
/// atexit hooks (the thread pools' `_python_exit`), then joins every non-daemon thread.
pub fn _shutdown() {
    // Line numbers are CPython 3.10.13's Lib/threading.py. `def _shutdown():` (1518) is
    // Python code: its frame starts with an eval-breaker check.
    gil::tick();
    _SHUTTING_DOWN.store(true, SeqCst);
    let hooks: Vec<fn()> = plain_lock(&_threading_atexits).clone();
    // `for atexit_call in reversed(_threading_atexits):` (1536): the `reversed()` call.
    gil::tick();
    for atexit_call in hooks.iter().rev() {
        // `atexit_call()` (1537): checked when the hook's frame starts (in the hook) and on
        // return.
        atexit_call();
        gil::tick();
        // The loop's back-edge (`JUMP_ABSOLUTE`).
        gil::tick();
    }
    // `_main_thread.ident == get_ident()` (1540), `assert tlock.locked()` (1545),
    // `tlock.release()` (1546), `_main_thread._stop()` (1547): four calls, each checked on
    // return.
    for _call in 0..4 {
        gil::tick();
    }
    let me = get_ident();
    // `while True:` joining the non-daemon threads.
    loop {
        // `locks = list(_shutdown_locks)`, `_shutdown_locks.clear()` (1559-1560).
        gil::tick();
        let threads: Vec<Thread> = std::mem::take(&mut *plain_lock(&_shutdown_threads));
        if threads.is_empty() {
            break;
        }
        for t in threads.iter().filter(|t| t.ident() != me) {
            // `lock.acquire()` (1567) blocks without the GIL; `lock.release()` (1568) returns
            // checked.
            let _ = t.join(None);
            gil::tick();
        }
        // The `while True:` back-edge.
        gil::tick();
    }
}

#[cfg(test)]
mod wait_state_tests {
    use super::*;

    /// The slot of the thread whose OS id is `tid`, as a debugger finds it.
    fn slot_of(tid: u64) -> Option<&'static WaitSlot> {
        let n = _waiting_len.load(SeqCst).min(WAIT_SLOTS);
        _waiting[..n]
            .iter()
            .find(|s| s.tid.load(SeqCst) == tid as usize)
    }

    #[test]
    fn a_blocked_acquire_names_the_lock_and_its_owner() {
        static HELD: Lock = Lock::named("held");
        HELD.acquire(true, None);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(get_ident());
            HELD.acquire(true, None);
            HELD.release();
        });
        let Ok(tid) = rx.recv() else {
            panic!("the waiter never started")
        };
        // The waiter records its wait before it blocks; give it a moment to get there.
        let mut target = std::ptr::null_mut();
        for _ in 0..200 {
            target = slot_of(tid).map_or(std::ptr::null_mut(), |s| s.target.load(SeqCst));
            if !target.is_null() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(target.cast_const(), &HELD._wait as *const WaitTarget);
        assert_eq!(HELD._wait.owner.load(SeqCst), get_ident() as usize);
        HELD.release();
        let _ = waiter.join();
        let cleared = slot_of(tid).map(|s| s.target.load(SeqCst).is_null());
        assert_eq!(cleared, Some(true));
    }

    #[test]
    fn descriptions_are_cut_and_nul_terminated() {
        let t = WaitTarget::new(wait_kind::LOCK, "x");
        t.describe(&"é".repeat(40));
        let bytes: Vec<u8> = t.desc.iter().map(|b| b.load(SeqCst)).collect();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        assert!(end < WAIT_DESC_LEN);
        assert!(std::str::from_utf8(&bytes[..end]).is_ok());
    }
}
