//! Solution 2: the inner task runs on a process pool, not on the busy thread pool.
//!
//! The child process is this program re-executed as a pool worker. Prints
//! `Running wait_on_future` and 25, exits 0.
use scenarios::prelude::*;

fn wait_on_future() -> PyResult<()> {
    print("Running wait_on_future"); // @bp wait-on-future
    let executor = ProcessPoolExecutor::new(1);
    let f = executor.submit("pow", &[5, 2])?; // @bp inner-submit
    print(f.result(None)?); // @bp inner-result
    Ok(())
}

fn main() {
    interpreter::run(|| {
        let executor = ThreadPoolExecutor::new(1);
        let f = executor.submit(wait_on_future)?; // @bp outer-submit
        f.result(None)?; // @bp main-result @bp main-end
        Ok(())
    })
}
