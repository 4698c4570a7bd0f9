//! Python's built-in exceptions and functions the programs use (`pow`, `RuntimeError`, ...).
//!
//! An exception is a C-like kind plus a `&'static str` message: no `String` inside anything a
//! debugger may display, because rustc's LLDB formatters hang on niche-optimised enums holding
//! a `String` (see ADAPTERS.md).

use std::fmt;
use std::panic::Location;

/// `PyResult<T>`: a Python call returns a value or raises an exception.
pub type PyResult<T> = Result<T, Exception>;

/// The exception classes the port raises, named as Python 3.10 prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExcKind {
    RuntimeError,
    /// `concurrent.futures._base.TimeoutError` (an alias of the builtin only from 3.11 on).
    TimeoutError,
    /// `concurrent.futures._base.CancelledError`.
    CancelledError,
    /// `concurrent.futures._base.InvalidStateError`.
    InvalidStateError,
    /// `concurrent.futures.process.BrokenProcessPool`.
    BrokenProcessPool,
    /// `_queue.Empty`, raised by a non-blocking get on an empty queue.
    Empty,
    ValueError,
    OverflowError,
}

impl ExcKind {
    /// The qualified name Python 3.10's traceback printer shows for the class.
    pub fn python_name(self) -> &'static str {
        match self {
            ExcKind::RuntimeError => "RuntimeError",
            ExcKind::TimeoutError => "concurrent.futures._base.TimeoutError",
            ExcKind::CancelledError => "concurrent.futures._base.CancelledError",
            ExcKind::InvalidStateError => "concurrent.futures._base.InvalidStateError",
            ExcKind::BrokenProcessPool => "concurrent.futures.process.BrokenProcessPool",
            ExcKind::Empty => "_queue.Empty",
            ExcKind::ValueError => "ValueError",
            ExcKind::OverflowError => "OverflowError",
        }
    }
}

/// A raised Python exception: its class, its message and the source line that raised it (what
/// the traceback's last frame would show).
#[derive(Clone, Copy, Debug)]
pub struct Exception {
    pub kind: ExcKind,
    pub message: &'static str,
    pub raised_at: &'static Location<'static>,
}

impl Exception {
    /// `raise kind(message)`; the caller's line is recorded for the traceback.
    #[track_caller]
    pub fn new(kind: ExcKind, message: &'static str) -> Self {
        Exception {
            kind,
            message,
            raised_at: Location::caller(),
        }
    }
}

impl PartialEq for Exception {
    /// Two exceptions are equal when Python would print them the same way.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl fmt::Display for Exception {
    /// The last line of a Python traceback: `RuntimeError: message`, or the bare class name
    /// when the message is empty (`concurrent.futures._base.TimeoutError`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.kind.python_name())
        } else {
            write!(f, "{}: {}", self.kind.python_name(), self.message)
        }
    }
}

impl std::error::Error for Exception {}

/// `RuntimeError(message)`, spelled like Python so `return Err(RuntimeError("..."))` reads
/// like `raise RuntimeError('...')`.
#[allow(non_snake_case)]
#[track_caller]
pub fn RuntimeError(message: &'static str) -> Exception {
    Exception::new(ExcKind::RuntimeError, message)
}

/// The builtin `pow(base, exp)` for the integers the programs use. Python's integers never
/// overflow; an `i64` can, and then this raises OverflowError instead of wrapping.
pub fn pow(base: i64, exp: i64) -> PyResult<i64> {
    let exp = u32::try_from(exp)
        .map_err(|_| Exception::new(ExcKind::ValueError, "negative or huge exponent"))?;
    base.checked_pow(exp)
        .ok_or_else(|| Exception::new(ExcKind::OverflowError, "integer overflow"))
}
