//! Nested concurrency, pattern 4 — ML ensemble (process pool → process pool).
//!
//! The outer process pool draws each ensemble's bootstrap samples; each ensemble learns its
//! samples only by drawing them (dynamic task discovery), trains one model per sample on a
//! process pool of its own inside its worker process (CPU work: processes), and averages its
//! models (result grouping). A "sample" is a few integers from a seeded generator and "training"
//! sums it: small stand-ins for real data and a real model. Every worker is a real child
//! process; the inner pools' workers are grandchildren (`scenarios::process`).
//!
//! Prints each ensemble's score, exits 0; no child or grandchild outlives it. There is no trap
//! variant: an ensemble runs in another process, where the outer pool does not exist — the
//! executor cannot cross the process boundary (Python: `TypeError: cannot pickle`,
//! `scenarios/python/nested_ensemble.py` with `NESTED=trap`; the port: a process-pool task
//! takes integers only).
use scenarios::prelude::*;
use scenarios::process;

const ENSEMBLES: [i64; 2] = [1, 2];
const MODELS: i64 = 3;
const SAMPLE: i64 = 4;

/// A model trained on one sample: `args` = the sample.
fn train(args: &[i64]) -> PyResult<i64> {
    Ok(args.iter().sum()) // @bp train
}

/// An ensemble in a worker process: `args` = [seed].
fn bootstrap_and_train(args: &[i64]) -> PyResult<i64> {
    let &[seed] = args else {
        return Err(Exception::new(ExcKind::ValueError, "expected 1 argument"));
    };
    let mut state = seed;
    let mut samples = Vec::new();
    for _ in 0..MODELS {
        let sample: Vec<i64> = (0..SAMPLE)
            .map(|_| {
                state = (state * 1103 + 12345) % 101;
                state
            })
            .collect();
        samples.push(sample); // @bp bootstrap
    }
    let models = ProcessPoolExecutor::new(2);
    let mut futures = Vec::new();
    for sample in &samples {
        futures.push(models.submit("train", sample)?); // @bp train-submit
    }
    let mut total = 0;
    for f in futures {
        total += f.result(None)?; // @bp train-result
    }
    models.shutdown(true)?;
    Ok(total / MODELS)
}

fn main() {
    process::register("bootstrap_and_train", bootstrap_and_train);
    process::register("train", train);
    interpreter::run(|| {
        if std::env::var("NESTED").is_ok_and(|mode| mode == "trap") {
            return Err(RuntimeError(
                "no trap variant: the executor cannot cross the process boundary",
            ));
        }
        let ensembles = ProcessPoolExecutor::new(2);
        let mut futures = Vec::new();
        for seed in ENSEMBLES {
            futures.push(ensembles.submit("bootstrap_and_train", &[seed])?); // @bp ensemble-submit
        }
        for (seed, f) in ENSEMBLES.iter().zip(futures) {
            let score = f.result(None)?; // @bp ensemble-result
            print(format!("ensemble {seed}: {MODELS} models, score {score}"));
        }
        ensembles.shutdown(true)?;
        Ok(())
    })
}
