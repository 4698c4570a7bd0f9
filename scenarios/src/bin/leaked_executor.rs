//! leaked_executor: an executor never shut down still holds the process at exit until its
//! work finishes.
//!
//! Main submits a task that takes 0.5 s and ends its body without `shutdown()`. The exit hook
//! `_python_exit` puts a `None` on the leaked pool's queue and joins its worker, which first
//! finishes the task: prints `main done`, then `task done`, exits 0.
use scenarios::prelude::*;

fn task() -> PyResult<()> {
    time::sleep(0.5); // @bp task-sleep
    print("task done"); // @bp task-done
    Ok(())
}

fn main() {
    interpreter::run(|| {
        let executor = ThreadPoolExecutor::new(1);
        executor.submit(task)?; // @bp submit
        print("main done"); // @bp main-end
        Ok(())
    })
}
