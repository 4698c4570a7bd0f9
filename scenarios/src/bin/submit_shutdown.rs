//! submit_shutdown: `submit` returns at once; `shutdown(wait=True)` blocks until the work is
//! done.
//!
//! The task waits on an event. Main submits it and gets its future back at once, not done;
//! then starts a `Releaser` thread that sets the event after 0.5 s and calls
//! `shutdown(wait=True)`, which joins the worker and so returns only once the task finished.
//! Prints `submit returned, done: False`, `task done`, `shutdown returned, done: True`, exits 0.
use std::sync::Arc;

use scenarios::prelude::*;
use scenarios::threading::{Event, Thread};

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn task(release: &Event) -> PyResult<i64> {
    release.wait(None);
    print("task done"); // @bp task-done
    Ok(25)
}

fn main() {
    interpreter::run(|| {
        let release = Arc::new(Event::new());
        let executor = ThreadPoolExecutor::new(1);
        let r = release.clone();
        let f = executor.submit(move || task(&r))?; // @bp submit
        print(format!("submit returned, done: {}", py_bool(f.done()))); // @bp submitted
        let releaser = Thread::new("Releaser".into(), None, false, move || {
            time::sleep(0.5);
            release.set();
        });
        releaser.start()?;
        executor.shutdown(true, false)?; // @bp shutdown
        print(format!("shutdown returned, done: {}", py_bool(f.done()))); // @bp shutdown-returned
        Ok(())
    })
}
