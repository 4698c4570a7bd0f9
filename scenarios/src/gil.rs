//! A model of CPython 3.10's global interpreter lock (`Python/ceval_gil.h`).
//!
//! Python-level code of the port runs while its thread holds this lock. The lock is released
//! where CPython releases it: around blocking calls (`allow_threads`, the
//! `Py_BEGIN_ALLOW_THREADS`/`Py_END_ALLOW_THREADS` pair) and at an eval-breaker check
//! (`tick`) when another thread has waited a whole switch interval and set
//! `gil_drop_request`. A forced drop waits until another thread has taken the lock
//! (FORCE_SWITCHING); a voluntary release does not hand off, so the releasing thread takes the
//! lock back if nobody grabbed it in the meantime.
//!
//! `PYTHON_GIL=0` selects the free-threaded mode (like Python 3.13t): every function here then
//! does nothing. The state lives in the static [`_gil`] as plain atomics so a debugger can read
//! it: `(bool)scenarios::gil::_gil.locked.v.value`, `scenarios::gil::_gil.holder.v.value`.

#![allow(non_upper_case_globals)]

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::plain_lock;

/// `sys.getswitchinterval()`: how long a thread waits for the GIL before it asks the holder to
/// drop it.
pub const SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// `struct _gil_runtime_state`. The atomics are written under `mutex`; they are atomics only so
/// that a debugger (and `holds`) can read them at any time. They are `usize`, not `u64`:
/// LLDB 22 cannot parse the debug info of `AtomicU64`'s inner cell, but reads `AtomicUsize`.
pub struct GilRuntimeState {
    /// 1 while some thread holds the GIL.
    pub locked: AtomicBool,
    /// Ident (OS thread id) of the holder, 0 when nobody holds it.
    pub holder: AtomicUsize,
    /// Ident of the last thread that took the GIL; FORCE_SWITCHING waits for it to change.
    pub last_holder: AtomicUsize,
    /// Counts the times the GIL changed hands.
    pub switch_number: AtomicUsize,
    /// Set by a waiter whose switch interval ran out; the holder drops the GIL at its next tick.
    pub gil_drop_request: AtomicBool,
    /// 0 not decided yet, 1 GIL on, 2 free-threaded (`PYTHON_GIL=0`).
    pub mode: AtomicU8,
    mutex: Mutex<()>,
    /// Signalled when the GIL is released (`gil->cond`).
    cond: Condvar,
    /// Signalled when a thread takes the GIL (`gil->switch_cond`).
    switch_cond: Condvar,
}

/// The one interpreter lock of the process (`_PyRuntime.ceval.gil`).
pub static _gil: GilRuntimeState = GilRuntimeState {
    locked: AtomicBool::new(false),
    holder: AtomicUsize::new(0),
    last_holder: AtomicUsize::new(0),
    switch_number: AtomicUsize::new(0),
    gil_drop_request: AtomicBool::new(false),
    mode: AtomicU8::new(0),
    mutex: Mutex::new(()),
    cond: Condvar::new(),
    switch_cond: Condvar::new(),
};

thread_local! {
    /// Whether this thread holds the GIL (CPython: the thread state is current).
    static HOLDS: Cell<bool> = const { Cell::new(false) };
    /// This thread's ident, computed once.
    static IDENT: Cell<u64> = const { Cell::new(0) };
}

/// Whether the GIL is modelled at all (false in the free-threaded mode, `PYTHON_GIL=0`).
pub fn enabled() -> bool {
    match _gil.mode.load(SeqCst) {
        1 => true,
        2 => false,
        _ => {
            let on = std::env::var("PYTHON_GIL").map_or(true, |v| v.trim() != "0");
            _gil.mode.store(if on { 1 } else { 2 }, SeqCst);
            on
        }
    }
}

/// `threading.get_ident()`: the OS thread id, so it matches the thread ids LLDB shows.
pub fn ident() -> u64 {
    IDENT.with(|cell| {
        if cell.get() == 0 {
            cell.set(os_thread_id());
        }
        cell.get()
    })
}

/// Reads the kernel's id for the calling thread from `/proc/thread-self` (a link to
/// `<pid>/task/<tid>`). Without procfs a process-unique counter stands in.
fn os_thread_id() -> u64 {
    static FALLBACK: AtomicU64 = AtomicU64::new(1 << 32);
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .unwrap_or_else(|| FALLBACK.fetch_add(1, SeqCst))
}

/// Whether the calling thread holds the GIL.
pub fn holds() -> bool {
    HOLDS.with(Cell::get)
}

/// `take_gil()`: blocks until the calling thread owns the GIL. A waiter that sees no switch
/// during a whole interval sets `gil_drop_request` so the holder yields at its next tick.
pub fn acquire() {
    if !enabled() || holds() {
        return;
    }
    let me = ident() as usize;
    let mut guard = plain_lock(&_gil.mutex);
    while _gil.locked.load(SeqCst) {
        let saved_switchnum = _gil.switch_number.load(SeqCst);
        let (g, res) = _gil
            .cond
            .wait_timeout(guard, SWITCH_INTERVAL)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard = g;
        // Only ask for a drop when nobody else took the GIL during the whole interval.
        if res.timed_out()
            && _gil.locked.load(SeqCst)
            && _gil.switch_number.load(SeqCst) == saved_switchnum
        {
            _gil.gil_drop_request.store(true, SeqCst);
        }
    }
    _gil.locked.store(true, SeqCst);
    _gil.holder.store(me, SeqCst);
    if _gil.last_holder.load(SeqCst) != me {
        _gil.last_holder.store(me, SeqCst);
        _gil.switch_number.fetch_add(1, SeqCst);
    }
    // FORCE_SWITCHING: tell a thread that dropped the GIL on request that it changed hands.
    _gil.switch_cond.notify_all();
    // The request was for whoever held it before; this thread starts a fresh interval.
    _gil.gil_drop_request.store(false, SeqCst);
    drop(guard);
    HOLDS.with(|h| h.set(true));
}

/// `drop_gil()`: releases the GIL and wakes one waiter. If the release answers a drop request,
/// waits until another thread has taken the GIL, so the requester really gets its turn.
pub fn release() {
    if !enabled() || !holds() {
        return;
    }
    let me = ident() as usize;
    HOLDS.with(|h| h.set(false));
    let mut guard = plain_lock(&_gil.mutex);
    _gil.locked.store(false, SeqCst);
    _gil.holder.store(0, SeqCst);
    _gil.cond.notify_one();
    if _gil.gil_drop_request.load(SeqCst) && _gil.last_holder.load(SeqCst) == me {
        _gil.gil_drop_request.store(false, SeqCst);
        while _gil.last_holder.load(SeqCst) == me {
            guard = _gil
                .switch_cond
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
    drop(guard);
}

/// The eval breaker: if another thread asked for the GIL, drop it (waiting for the switch) and
/// queue up to take it back.
///
/// The port calls it where CPython 3.10's `Python/ceval.c` looks at `eval_breaker`: on entry
/// to every Python function (the first pass of `main_loop` in `_PyEval_EvalFrameDefault`),
/// after every call returns (`CALL_FUNCTION`, `CALL_METHOD`, `CALL_FUNCTION_KW` end with
/// `CHECK_EVAL_BREAKER()`), and at every loop back-edge (`JUMP_ABSOLUTE`). Each call site names
/// the line of `Lib/threading.py` or `Lib/concurrent/futures/*.py` it stands for. Compiled C
/// (a `with` on a lock, `STORE_GLOBAL`, the C parts of `Py_FinalizeEx`) has no check, so
/// neither has the port's code that stands for it.
pub fn tick() {
    if !enabled() || !holds() {
        return;
    }
    if _gil.gil_drop_request.load(SeqCst) {
        release();
        acquire();
    }
}

/// `Py_BEGIN_ALLOW_THREADS ... Py_END_ALLOW_THREADS`: runs a blocking call without the GIL.
/// Every blocking wait of the port goes through here. A thread that does not hold the GIL (a
/// native helper, a test thread) simply runs the call.
pub fn allow_threads<R>(blocking_call: impl FnOnce() -> R) -> R {
    if !enabled() || !holds() {
        return blocking_call();
    }
    release();
    let result = blocking_call();
    acquire();
    result
}
