//! Solution 4: `f.result(timeout=1)` in main.
//!
//! Prints `Running wait_on_future`; after about 1 s main raises TimeoutError (a traceback on
//! stderr), but the exit hook still joins the stuck worker: the process then hangs. The
//! timeout only makes the deadlock fail loudly.
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
        f.result(Some(Duration::from_secs(1)))?; // @bp main-result @bp main-end
        Ok(())
    })
}
