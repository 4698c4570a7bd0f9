"""Nested concurrency, pattern 4 — ML ensemble (process pool -> process pool).

The outer process pool draws each ensemble's bootstrap samples; each ensemble learns its
samples only by drawing them (dynamic task discovery), trains one model per sample on a process
pool of its own inside its worker process (CPU work: processes), and averages its models
(result grouping). A "sample" is a few integers from a seeded generator and "training" sums it:
small stand-ins for real data and a real model. The inner pools' workers are grandchildren.

Prints each ensemble's score, exits 0; no child or grandchild outlives it. `NESTED=trap` tries
the trap — hand the outer pool to the ensemble so it can train there — and shows why a process
pool has none: pickling the executor fails (`TypeError: cannot pickle '_thread.lock' object`),
main raises it and exits 1. Relies on Linux's default `fork` start method.
"""
from concurrent.futures import ProcessPoolExecutor
import os

ENSEMBLES = [1, 2]
MODELS = 3
SAMPLE = 4


def train(*sample):
    """A model trained on one sample."""
    return sum(sample)  # @bp train


def bootstrap_and_train(seed, executor=None):
    """An ensemble in a worker process; in the trap, `executor` is the outer pool."""
    state = seed
    samples = []
    for _ in range(MODELS):
        sample = []
        for _ in range(SAMPLE):
            state = (state * 1103 + 12345) % 101
            sample.append(state)
        samples.append(sample)  # @bp bootstrap
    models = executor or ProcessPoolExecutor(max_workers=2)
    futures = []
    for sample in samples:
        futures.append(models.submit(train, *sample))  # @bp train-submit
    total = 0
    for f in futures:
        total += f.result()  # @bp train-result
    models.shutdown(wait=True)
    return total // MODELS


trap = os.environ.get("NESTED") == "trap"
ensembles = ProcessPoolExecutor(max_workers=2)
futures = []
for seed in ENSEMBLES:
    extra = (ensembles,) if trap else ()
    futures.append(ensembles.submit(bootstrap_and_train, seed, *extra))  # @bp ensemble-submit
for seed, f in zip(ENSEMBLES, futures):
    score = f.result()  # @bp ensemble-result
    print(f"ensemble {seed}: {MODELS} models, score {score}")
ensembles.shutdown(wait=True)
