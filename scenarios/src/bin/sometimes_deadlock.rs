//! sometimes_deadlock: no_deadlock with a print at the top of `wait_on_future`.
//!
//! With stdout a pipe the print sits in the buffer; the end-of-body flush releases the GIL
//! before the exit hook sets `_shutdown`, and the worker's inner submit may get in first.
//! Prints `Running wait_on_future`, then exits 0 or hangs.
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
        executor.submit(move || wait_on_future(&e))?; // @bp outer-submit @bp main-end
        Ok(())
    })
}
