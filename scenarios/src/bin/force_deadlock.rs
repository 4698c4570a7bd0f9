//! force_deadlock: main blocks on the outer future's `result()`; deadlocks every run.
//!
//! main never reaches the end of its body, the exit hook never runs, `_shutdown` stays false,
//! the inner submit succeeds and the only worker waits on itself. Prints `Running wait_on_future`
//! (on a pipe it stays in the buffer, never flushed), never exits.
use scenarios::prelude::*;

fn wait_on_future(executor: &ThreadPoolExecutor) -> PyResult<()> {
    print("Running wait_on_future"); // @bp wait-on-future
    let f = executor.submit(|| pow(5, 2))?; // @bp inner-submit

    // This will never complete because there is only one worker thread and
    // it is executing this function.
    print(f.result(None)?); // @bp inner-result
    Ok(())
}

fn main() {
    interpreter::run(|| {
        let executor = ThreadPoolExecutor::new(1);
        let e = executor.clone();
        let f = executor.submit(move || wait_on_future(&e))?; // @bp outer-submit
        f.result(None)?; // @bp main-result @bp main-end
        Ok(())
    })
}
