//! Nested concurrency, pattern 2 — batch processing (thread pool → process pool).
//!
//! The outer thread pool fetches batches (I/O: a thread waits cheaply); each batch's task learns
//! its compute jobs only once it has the batch (dynamic task discovery) and sends them to a
//! process pool (CPU work: processes, resource matching), then sums them per batch (result
//! grouping). The data is in memory; `fetch_batch` sleeps 0.1 s for the network, so both batch
//! tasks are running when they submit their jobs. The process pool's workers are real child
//! processes (the port re-executes this program as a pool worker, see `scenarios::process`).
//!
//! Safe (the default) prints each batch's sum of squares and exits 0; no child process outlives
//! it. `NESTED=trap` submits the jobs to the batches' own thread pool instead: both of its
//! workers run a batch task that waits on jobs queued behind them, and main waits on the
//! batches: a hang.
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use scenarios::prelude::*;

/// How many workers of the batches pool run a task right now: what the walkthrough watches.
static BATCHES_BUSY: AtomicUsize = AtomicUsize::new(0);

const BATCHES: [&[i64]; 2] = [&[1, 2, 3], &[4, 5]];

fn fetch_batch(number: usize) -> &'static [i64] {
    time::sleep(0.1);
    BATCHES[number]
}

/// Where a batch's compute jobs go: Python calls `executor.submit(pow, x, 2)` on either.
#[derive(Clone)]
enum Compute {
    Processes(ProcessPoolExecutor),
    Threads(ThreadPoolExecutor),
}

impl Compute {
    fn submit_square(&self, x: i64) -> PyResult<Future<i64>> {
        match self {
            Compute::Processes(executor) => executor.submit("pow", &[x, 2]),
            Compute::Threads(executor) => executor.submit(move || pow(x, 2)),
        }
    }
}

/// One batch's task: `compute` is the pool its jobs go to.
fn process_batch(number: usize, compute: Compute) -> PyResult<String> {
    BATCHES_BUSY.fetch_add(1, SeqCst);
    let batch = fetch_batch(number); // @bp batch-fetch
    let mut futures = Vec::new();
    for &x in batch {
        futures.push(compute.submit_square(x)?); // @bp job-submit
    }
    let mut total = 0;
    for f in futures {
        total += f.result(None)?; // @bp job-result
    }
    BATCHES_BUSY.fetch_sub(1, SeqCst);
    Ok(format!("batch {number}: sum of squares {total}"))
}

fn main() {
    interpreter::run(|| {
        let trap = std::env::var("NESTED").is_ok_and(|mode| mode == "trap");
        let batches = ThreadPoolExecutor::with_prefix(2, "Batches");
        let processes = ProcessPoolExecutor::new(2);
        let compute = if trap {
            Compute::Threads(batches.clone())
        } else {
            Compute::Processes(processes.clone())
        };
        let mut futures = Vec::new();
        for number in 0..BATCHES.len() {
            let compute = compute.clone();
            futures.push(batches.submit(move || process_batch(number, compute))?);
            // @bp batch-submit
        }
        for f in futures {
            print(f.result(None)?); // @bp batch-result
        }
        processes.shutdown(true)?;
        batches.shutdown(true, false)?;
        Ok(())
    })
}
