//! The interpreter around a program: `Py_RunMain` in miniature.
//!
//! `run` takes the GIL, runs the main body, flushes stdout (`flush_io()`), prints an uncaught
//! exception like `PyErr_Print`, then finalizes like `Py_FinalizeEx`: `threading._shutdown`
//! (the thread pools' exit hooks, in reverse registration order, then a join of every
//! non-daemon thread), the `atexit` handlers, a last flush, and the exit code. Any of the hooks
//! may hang: that is what the talk is about.

#![allow(non_upper_case_globals)]

use std::sync::Mutex;

use crate::builtins::{Exception, PyResult};
use crate::{gil, plain_lock, process, sys, threading};

/// `atexit._exithandlers`.
static _exithandlers: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// `atexit.register(func)`: runs after the threads were joined, last registered first.
pub fn atexit_register(func: fn()) {
    plain_lock(&_exithandlers).push(func);
}

/// Runs a program's main body as the interpreter runs a script, then exits the process with
/// Python's exit code (0, or 1 after an uncaught exception). Never returns.
pub fn run(body: impl FnOnce() -> PyResult<()>) -> ! {
    // A process-pool child serves tasks instead of running the program.
    if process::is_pool_worker() {
        std::process::exit(process::_process_worker_main());
    }
    gil::acquire();
    threading::_init_main_thread();
    let outcome = body();
    // `flush_io()` right after the module ran: a write happens (and the GIL is released) only
    // if the buffer holds something.
    sys::stdout.flush(); // @bp flush-io
    sys::stderr.flush();
    let mut exitcode = 0;
    if let Err(exc) = outcome {
        print_exception(&exc);
        exitcode = 1;
    }
    std::process::exit(finalize(exitcode));
}

/// `Py_FinalizeEx`'s part that matters here; returns the exit code.
pub fn finalize(exitcode: i32) -> i32 {
    // `wait_for_thread_shutdown()`: threading._shutdown runs the exit hooks and joins.
    threading::_shutdown();
    let handlers: Vec<fn()> = plain_lock(&_exithandlers).clone();
    // `atexit_callfuncs()` is C: the only checks are the handlers' own, each a Python function
    // whose frame starts with one.
    for handler in handlers.iter().rev() {
        gil::tick();
        handler();
    }
    // `flush_std_files()`.
    sys::stdout.flush();
    sys::stderr.flush();
    exitcode
}

/// `PyErr_Print()`: a traceback-like report on stderr. The port has no Python frames; the
/// line that raised stands in for the innermost one.
pub fn print_exception(exc: &Exception) {
    let location = exc.raised_at;
    sys::stderr.write("Traceback (most recent call last):\n");
    sys::stderr.write(&format!(
        "  File \"{}\", line {}, in <module>\n",
        location.file(),
        location.line()
    ));
    sys::stderr.write(&format!("{exc}\n"));
}
