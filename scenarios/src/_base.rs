//! Port of CPython 3.10's `concurrent/futures/_base.py`: the `Future` and its states.
//!
//! An exception set on a future stays there until someone calls `result()` or `exception()`:
//! that is how the talk's RuntimeError is swallowed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::builtins::{ExcKind, Exception, PyResult};
use crate::threading::{wait_kind, waiting_on, Condition, RLock, WaitTarget};
use crate::{gil, plain_lock};
use std::sync::atomic::Ordering::SeqCst;

/// `_base.PENDING` ... `_base.FINISHED`.
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FutureState {
    PENDING,
    RUNNING,
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
}

use FutureState::*;

/// The fields `Future` guards with `_condition` (Python keeps them on `self`).
pub struct FutureFields<T> {
    pub _state: FutureState,
    pub _result: Option<T>,
    pub _exception: Option<Exception>,
}

/// The shared state of a future.
pub struct FutureCore<T> {
    pub _condition: Condition<RLock>,
    /// For the debugger: where the future was submitted, the executor whose queue holds it
    /// while pending, and the thread running it (`owner`) once it runs.
    pub _wait: WaitTarget,
    /// Only touched while `_condition` is held; the std mutex merely makes that safe in Rust.
    pub fields: Mutex<FutureFields<T>>,
}

/// `concurrent.futures.Future`: a cheap handle shared by the submitter and the worker.
pub struct Future<T>(pub Arc<FutureCore<T>>);

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future(self.0.clone())
    }
}

impl<T: Clone> Default for Future<T> {
    fn default() -> Self {
        Future::new()
    }
}

impl<T: Clone> Future<T> {
    /// `Future()`: pending.
    pub fn new() -> Self {
        Future(Arc::new(FutureCore {
            _condition: Condition::default(),
            _wait: WaitTarget::new(wait_kind::FUTURE, "future"),
            fields: Mutex::new(FutureFields {
                _state: PENDING,
                _result: None,
                _exception: None,
            }),
        }))
    }

    /// Records for the debugger that the future waits in the work queue of the executor
    /// numbered `executor` (`ExecutorState::_index`) and was submitted at `site`
    /// (`file.rs:line`).
    pub fn _queued(&self, executor: usize, site: &str) {
        self.0._wait.describe(site);
        self.0._wait.executor.store(executor + 1, SeqCst);
    }

    fn state(&self) -> FutureState {
        plain_lock(&self.0.fields)._state
    }

    fn set_state(&self, state: FutureState) {
        plain_lock(&self.0.fields)._state = state;
    }

    /// `cancel()`: true unless the call is running or finished.
    pub fn cancel(&self) -> bool {
        let _with = self.0._condition.enter();
        match self.state() {
            RUNNING | FINISHED => return false,
            CANCELLED | CANCELLED_AND_NOTIFIED => return true,
            PENDING => {}
        }
        self.set_state(CANCELLED);
        self.0._condition.notify_all();
        true
    }

    pub fn cancelled(&self) -> bool {
        let _with = self.0._condition.enter();
        matches!(self.state(), CANCELLED | CANCELLED_AND_NOTIFIED)
    }

    pub fn running(&self) -> bool {
        let _with = self.0._condition.enter();
        self.state() == RUNNING
    }

    pub fn done(&self) -> bool {
        let _with = self.0._condition.enter();
        matches!(self.state(), CANCELLED | CANCELLED_AND_NOTIFIED | FINISHED)
    }

    /// `__get_result()`: the stored exception is raised here, in the caller's thread.
    fn __get_result(&self) -> PyResult<T> {
        let fields = plain_lock(&self.0.fields);
        if let Some(exc) = fields._exception {
            return Err(exc);
        }
        fields
            ._result
            .clone()
            .ok_or_else(|| Exception::new(ExcKind::InvalidStateError, "no result"))
    }

    /// `result(timeout=None)`: waits on `_condition` (GIL released) until the future is done.
    pub fn result(&self, timeout: Option<Duration>) -> PyResult<T> {
        // `def result(...)` (CPython 3.10.13 _base.py 430) starts a frame: checked.
        gil::tick();
        let _with = self.0._condition.enter();
        // `with self._condition:` (447) calls the Python `Condition.__enter__`: checked at its start
        // and on return.
        gil::tick();
        gil::tick();
        match self.state() {
            CANCELLED | CANCELLED_AND_NOTIFIED => return Err(cancelled_error()),
            FINISHED => return self.__get_result(),
            _ => {}
        }
        let _wait_record = waiting_on(&self.0._wait);
        self.0._condition.wait(timeout); // @bp result-wait
        drop(_wait_record);
        // `self._condition.wait(timeout)` (453) returned, checked.
        gil::tick();
        match self.state() {
            CANCELLED | CANCELLED_AND_NOTIFIED => Err(cancelled_error()),
            FINISHED => self.__get_result(),
            _ => Err(Exception::new(ExcKind::TimeoutError, "")),
        }
    }

    /// `exception(timeout=None)`: the stored exception, if any, without raising it.
    pub fn exception(&self, timeout: Option<Duration>) -> PyResult<Option<Exception>> {
        gil::tick();
        let _with = self.0._condition.enter();
        match self.state() {
            CANCELLED | CANCELLED_AND_NOTIFIED => return Err(cancelled_error()),
            FINISHED => return Ok(plain_lock(&self.0.fields)._exception),
            _ => {}
        }
        let _wait_record = waiting_on(&self.0._wait);
        self.0._condition.wait(timeout);
        drop(_wait_record);
        match self.state() {
            CANCELLED | CANCELLED_AND_NOTIFIED => Err(cancelled_error()),
            FINISHED => Ok(plain_lock(&self.0.fields)._exception),
            _ => Err(Exception::new(ExcKind::TimeoutError, "")),
        }
    }

    /// `set_running_or_notify_cancel()`: false if the future was cancelled before it ran.
    pub fn set_running_or_notify_cancel(&self) -> PyResult<bool> {
        let _with = self.0._condition.enter();
        match self.state() {
            CANCELLED => {
                self.set_state(CANCELLED_AND_NOTIFIED);
                // `self._condition.notify_all()` is not necessary because `cancel()` notified.
                Ok(false)
            }
            PENDING => {
                // Out of the queue, run by this thread: it is the one that completes it.
                self.0._wait.executor.store(0, SeqCst);
                self.0
                    ._wait
                    .owner
                    .store(crate::threading::get_ident() as usize, SeqCst);
                self.set_state(RUNNING);
                Ok(true)
            }
            _ => Err(crate::builtins::RuntimeError("Future in unexpected state")),
        }
    }

    /// `set_result(result)`.
    pub fn set_result(&self, result: T) -> PyResult<()> {
        let _with = self.0._condition.enter();
        let mut fields = plain_lock(&self.0.fields);
        if matches!(fields._state, CANCELLED | CANCELLED_AND_NOTIFIED | FINISHED) {
            return Err(Exception::new(
                ExcKind::InvalidStateError,
                "future already done",
            ));
        }
        fields._result = Some(result);
        fields._state = FINISHED;
        self.0._wait.owner.store(0, SeqCst);
        drop(fields);
        self.0._condition.notify_all();
        Ok(())
    }

    /// `set_exception(exception)`: stored, not raised; nobody sees it unless they ask.
    pub fn set_exception(&self, exception: Exception) -> PyResult<()> {
        let _with = self.0._condition.enter();
        let mut fields = plain_lock(&self.0.fields);
        if matches!(fields._state, CANCELLED | CANCELLED_AND_NOTIFIED | FINISHED) {
            return Err(Exception::new(
                ExcKind::InvalidStateError,
                "future already done",
            ));
        }
        fields._exception = Some(exception);
        fields._state = FINISHED;
        self.0._wait.owner.store(0, SeqCst);
        drop(fields);
        self.0._condition.notify_all();
        Ok(())
    }
}

#[track_caller]
fn cancelled_error() -> Exception {
    Exception::new(ExcKind::CancelledError, "")
}
