//! Solution 1: two workers, so the inner task has a thread of its own.
//!
//! Prints `Running wait_on_future` and 25, exits 0.
use scenarios::prelude::*;

fn wait_on_future(executor: &ThreadPoolExecutor) -> PyResult<()> {
    print("Running wait_on_future"); // @bp wait-on-future
    let f = executor.submit(|| pow(5, 2))?; // @bp inner-submit

    // The second worker thread runs pow while this one waits.
    print(f.result(None)?); // @bp inner-result
    Ok(())
}

fn main() {
    interpreter::run(|| {
        let executor = ThreadPoolExecutor::new(2);
        let e = executor.clone();
        let f = executor.submit(move || wait_on_future(&e))?; // @bp outer-submit
        f.result(None)?; // @bp main-result @bp main-end
        Ok(())
    })
}
