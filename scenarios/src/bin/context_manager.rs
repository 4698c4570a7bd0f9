//! context_manager: `with ThreadPoolExecutor(max_workers=1) as executor:` around the submit.
//!
//! Leaving the `with` block calls `shutdown(wait=True)`, which usually sets the executor flag
//! before the inner submit: RuntimeError after shutdown, swallowed, exit 0 without output.
//! Racy: if the inner submit wins, the join at the end of the block hangs.
use scenarios::prelude::*;

fn wait_on_future(executor: &ThreadPoolExecutor) -> PyResult<()> {
    let f = executor.submit(|| pow(5, 2))?; // @bp inner-submit

    // This will never complete because there is only one worker thread and
    // it is executing this function.
    print(f.result(None)?); // @bp inner-result
    Ok(())
}

// The `with` line keeps its marker: rustfmt would move a comment after `{` into the block.
#[rustfmt::skip]
fn main() {
    interpreter::run(|| {
        ThreadPoolExecutor::with(1, |executor| { // @bp with-enter
            let e = executor.clone();
            executor.submit(move || wait_on_future(&e))?; // @bp outer-submit @bp main-end
            Ok(())
        })
    })
}
