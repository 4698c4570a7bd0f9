//! always_deadlock: no_deadlock with a sleep in main after the submit; deadlocks every run.
//!
//! While main sleeps, `_shutdown` is still false, so the worker's inner submit succeeds and the
//! worker waits on a future only it could run; the exit hook's join then hangs. The sleep is
//! 0.1 s as a plain run and 3600 s when a debugger is attached (`TracerPid` in
//! `/proc/self/status` is not 0), so stepping never outruns it. The environment variable
//! `ALWAYS_DEADLOCK_SLEEP=<seconds>` overrides both.
use scenarios::prelude::*;

/// Whether a tracer (a debugger) is attached to this process.
fn debugger_attached() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("TracerPid:"))
            .is_some_and(|pid| pid.trim() != "0")
    })
}

fn seconds() -> f64 {
    let default = if debugger_attached() { 3600.0 } else { 0.1 };
    std::env::var("ALWAYS_DEADLOCK_SLEEP")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

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
        let seconds = seconds();
        let executor = ThreadPoolExecutor::new(1);
        let e = executor.clone();
        executor.submit(move || wait_on_future(&e))?; // @bp outer-submit
        time::sleep(seconds); // @bp main-sleep @bp main-end
        Ok(())
    })
}
