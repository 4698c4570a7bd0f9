//! atexit_order: exit hooks run last registered first — and the thread pool's before them all.
//!
//! The user registers `first`, then creates a pool and uses it, then registers `second`. At
//! exit `threading._shutdown` runs the pool's `_python_exit` (a threading exit hook) before the
//! interpreter calls any `atexit` handler; those run in reverse: `second`, then `first`. By
//! then the pool refuses work: its worker, leaving on the exit hook's `None`, flagged the
//! executor shut down (`executor._shutdown = True`), so `second`'s submit is refused.
//! Prints `25`, `atexit second: cannot schedule new futures after shutdown`,
//! `atexit first: _shutdown = True`, exits 0.
use std::sync::atomic::Ordering::SeqCst;
use std::sync::OnceLock;

use scenarios::prelude::*;

static EXECUTOR: OnceLock<ThreadPoolExecutor> = OnceLock::new();

fn first() {
    let flag = if scenarios::thread::_shutdown.load(SeqCst) {
        "True"
    } else {
        "False"
    };
    print(format!("atexit first: _shutdown = {flag}")); // @bp first-hook
}

fn second() {
    let Some(executor) = EXECUTOR.get() else {
        return;
    };
    let refused = executor.submit(|| pow(2, 3)); // @bp second-hook
    if let Err(e) = refused {
        print(format!("atexit second: {}", e.message));
    }
}

fn main() {
    interpreter::run(|| {
        interpreter::atexit_register(first);
        let executor = EXECUTOR.get_or_init(|| ThreadPoolExecutor::new(1));
        let f = executor.submit(|| pow(5, 2))?;
        print(f.result(None)?); // @bp main-result
        interpreter::atexit_register(second); // @bp main-end
        Ok(())
    })
}
