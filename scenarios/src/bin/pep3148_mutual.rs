//! pep3148_mutual: PEP 3148's first example; a waits on b, b waits on a, on two workers.
//!
//! Each worker sleeps 5 s, then waits on the other's future; neither can finish. No output;
//! never exits (the exit hook joins both workers).
use std::sync::{Arc, OnceLock};

use scenarios::prelude::*;

/// A module-level name bound after the submit, like Python's globals `a` and `b`.
type Global = Arc<OnceLock<Future<i64>>>;

/// Reads a global; Python would raise NameError if it were not bound yet.
fn bound(name: &Global) -> PyResult<&Future<i64>> {
    name.get()
        .ok_or_else(|| RuntimeError("name is not defined"))
}

fn wait_on_b(b: &Global) -> PyResult<i64> {
    time::sleep(5.0);
    // b will never complete because it is waiting on a.
    print(bound(b)?.result(None)?); // @bp wait-on-b
    Ok(5)
}

fn wait_on_a(a: &Global) -> PyResult<i64> {
    time::sleep(5.0);
    // a will never complete because it is waiting on b.
    print(bound(a)?.result(None)?); // @bp wait-on-a
    Ok(6)
}

fn main() {
    interpreter::run(|| {
        let (a, b): (Global, Global) = Default::default();
        let executor = ThreadPoolExecutor::new(2);
        let b2 = b.clone();
        let _ = a.set(executor.submit(move || wait_on_b(&b2))?);
        let a2 = a.clone();
        let _ = b.set(executor.submit(move || wait_on_a(&a2))?); // @bp main-end
        Ok(())
    })
}
