//! no_deadlock: PEP 3148's deadlock example, which usually does not deadlock.
//!
//! main submits `wait_on_future` and ends. The exit hook then sets `_shutdown`, so the
//! worker's inner submit raises RuntimeError('cannot schedule new futures after interpreter
//! shutdown'), which the outer future swallows: no output, exit 0. Racy: if the inner submit
//! gets in before the flag is set, the exit hook's join hangs.
use scenarios::prelude::*;

fn wait_on_future(executor: &ThreadPoolExecutor) -> PyResult<()> {
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
