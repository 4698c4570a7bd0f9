"""Nested concurrency, pattern 2 — batch processing (thread pool -> process pool).

The outer thread pool fetches batches (I/O: a thread waits cheaply); each batch's task learns
its compute jobs only once it has the batch (dynamic task discovery) and sends them to a
process pool (CPU work: processes, resource matching), then sums them per batch (result
grouping). The data is in memory; `fetch_batch` sleeps 0.1 s for the network, so both batch
tasks are running when they submit their jobs.

Safe (the default) prints each batch's sum of squares and exits 0; no child process outlives
it. `NESTED=trap` submits the jobs to the batches' own thread pool instead: both of its workers
run a batch task that waits on jobs queued behind them, and main waits on the batches: a hang.
Like solution2_processpool, it relies on Linux's default `fork` start method (3.10-3.13).
"""
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
import os
import threading
import time

# How many workers of the batches pool run a task right now: what the walkthrough watches.
busy = {"batches": 0}
busy_lock = threading.Lock()


def count(pool, delta):
    with busy_lock:
        busy[pool] += delta


BATCHES = [[1, 2, 3], [4, 5]]


def fetch_batch(number):
    time.sleep(0.1)
    return BATCHES[number]


def process_batch(number, compute):
    """One batch's task: `compute` is the pool its jobs go to."""
    count("batches", 1)
    batch = fetch_batch(number)  # @bp batch-fetch
    futures = []
    for x in batch:
        futures.append(compute.submit(pow, x, 2))  # @bp job-submit
    total = 0
    for f in futures:
        total += f.result()  # @bp job-result
    count("batches", -1)
    return f"batch {number}: sum of squares {total}"


trap = os.environ.get("NESTED") == "trap"
batches = ThreadPoolExecutor(max_workers=2, thread_name_prefix="Batches")
processes = ProcessPoolExecutor(max_workers=2)
compute = batches if trap else processes
futures = []
for number in range(len(BATCHES)):
    futures.append(batches.submit(process_batch, number, compute))  # @bp batch-submit
for f in futures:
    print(f.result())  # @bp batch-result
processes.shutdown(wait=True)
batches.shutdown(wait=True)
