//! discourage_deadlock: no_deadlock plus `executor.shutdown(wait=False)` after the submit.
//!
//! The executor-level flag is set right away, so the worker's inner submit usually raises
//! RuntimeError('cannot schedule new futures after shutdown'), swallowed by the outer future:
//! prints `Running wait_on_future`, exit 0. Racy, rarely hangs.
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
        executor.submit(move || wait_on_future(&e))?; // @bp outer-submit
        executor.shutdown(false, false)?; // @bp main-shutdown @bp main-end
        Ok(())
    })
}
