//! lock_order: two threads take the same two locks in opposite order (the dining philosophers
//! with two); deadlocks every run, with no thread pool at all.
//!
//! Each thread takes its first lock, sleeps 0.1 s (releasing the GIL, so the other takes its
//! own first lock), then reaches for the other's. Thread-1 waits on `lock_b`, held by
//! Thread-2, which waits on `lock_a`, held by Thread-1; main waits to join Thread-1.
use scenarios::prelude::*;
use scenarios::threading::{Lock, Thread};

static LOCK_A: Lock = Lock::named("lock_a");
static LOCK_B: Lock = Lock::named("lock_b");

fn philosopher(first: &'static Lock, second: &'static Lock) {
    let _first = first.enter(); // @bp took-first
    time::sleep(0.1);
    let _second = second.enter(); // @bp take-second
    print("ate");
}

fn main() {
    interpreter::run(|| {
        let t1 = Thread::new("Thread-1".into(), None, false, || {
            philosopher(&LOCK_A, &LOCK_B)
        });
        let t2 = Thread::new("Thread-2".into(), None, false, || {
            philosopher(&LOCK_B, &LOCK_A)
        });
        t1.start()?;
        t2.start()?;
        t1.join(None)?; // @bp main-join
        t2.join(None)?;
        Ok(())
    })
}
