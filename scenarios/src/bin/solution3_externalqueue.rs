//! Solution 3: the worker hands the inner future to main through a `queue.Queue`.
//!
//! The worker returns right after the inner submit, so the single worker is free to run pow;
//! main waits on the inner future instead. Prints 25, exits 0.
use scenarios::prelude::*;

fn wait_on_future(
    executor: &ThreadPoolExecutor,
    result_queue: &Queue<Future<i64>>,
) -> PyResult<()> {
    let f = executor.submit(|| pow(5, 2))?; // @bp inner-submit

    // Put the Future object in the queue
    result_queue.put(f); // @bp queue-put
    Ok(())
}

// The `with` line keeps its marker: rustfmt would move a comment after `{` into the block.
#[rustfmt::skip]
fn main() {
    interpreter::run(|| {
        let result_queue = Queue::new();
        ThreadPoolExecutor::with(1, |executor| { // @bp with-enter
            let (e, q) = (executor.clone(), result_queue.clone());
            executor.submit(move || wait_on_future(&e, &q))?; // @bp outer-submit

            // Retrieve result in the main thread
            let future = result_queue.get(true, None)?; // @bp queue-get
            print(future.result(None)?); // @bp main-result @bp main-end
            Ok(())
        })
    })
}
