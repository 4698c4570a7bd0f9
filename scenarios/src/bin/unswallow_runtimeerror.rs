//! unswallow_runtimeerror: `shutdown(wait=False)`, then `f.result()` in main.
//!
//! The executor-level flag makes the inner submit raise RuntimeError('cannot schedule new
//! futures after shutdown'); `f.result()` re-raises it in main: a traceback on stderr, exit 1.
//! Racy, rarely hangs.
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
        executor.shutdown(false, false)?; // @bp main-shutdown
        f.result(None)?; // @bp main-result @bp main-end
        Ok(())
    })
}
