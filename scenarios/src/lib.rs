//! A Rust port of CPython 3.10's `concurrent.futures` thread pool, with the parts of the
//! interpreter the talk's deadlocks depend on: the GIL, buffered `sys.stdout`, `threading`, and
//! the interpreter's exit sequence.
//!
//! Modules keep CPython's names so the talk's vocabulary maps one to one onto what a debugger
//! shows: `scenarios::thread` is `concurrent/futures/thread.py`, `scenarios::_base` is
//! `concurrent/futures/_base.py`, and so on.

pub mod _base;
pub mod builtins;
pub mod gil;
pub mod interpreter;
pub mod process;
pub mod queue;
pub mod sys;
pub mod thread;
pub mod threading;
pub mod time;

/// What every program imports: the names a Python script would have at hand.
pub mod prelude {
    pub use crate::_base::Future;
    pub use crate::builtins::{pow, ExcKind, Exception, PyResult, RuntimeError};
    pub use crate::interpreter;
    pub use crate::process::ProcessPoolExecutor;
    pub use crate::queue::Queue;
    pub use crate::sys::print;
    pub use crate::thread::ThreadPoolExecutor;
    pub use crate::time;
    pub use std::time::Duration;
}

/// Locks a std mutex that only guards short, non-blocking data updates of the port. A panic in
/// another thread while it held the mutex leaves the data consistent enough for a model whose
/// Python-level state is guarded by Python-level locks, so poisoning is recovered, not fatal.
pub(crate) fn plain_lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
