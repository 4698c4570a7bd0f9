"""Nested concurrency, pattern 3 — compute + upload (process pool -> thread pool).

The outer process pool runs the heavy computation; each job learns how many result files it
makes only by computing them (dynamic task discovery), writes them, and uploads them on a
thread pool of its own inside its worker process (uploads wait on I/O: threads, resource
matching), counting them per job (result grouping). Files go to a temporary folder that main
makes and removes: `outbox/` stands for the job's disk, `uploaded/` for the server.

Prints each job's upload count and the server's total, exits 0; no child process outlives it.
`NESTED=trap` tries the trap — hand the outer pool to the job so it can submit its uploads
there — and shows why a process pool has none: the executor cannot cross the process boundary,
pickling it fails (`TypeError: cannot pickle '_thread.lock' object`), the job's future holds
that error, main raises it and exits 1. Relies on Linux's default `fork` start method.
"""
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
import os
import shutil
import tempfile
import threading

# How many upload workers (in this process) run a task right now.
busy = {"uploads": 0}
busy_lock = threading.Lock()


def count(pool, delta):
    with busy_lock:
        busy[pool] += delta


JOBS = [2, 3]


def upload(path, server):
    count("uploads", 1)
    shutil.copy(path, os.path.join(server, os.path.basename(path)))  # @bp upload
    count("uploads", -1)
    return 1


def compute_and_upload(files, root, executor=None):
    """A job in a worker process; in the trap, `executor` is the outer pool."""
    paths = []
    for i in range(files):
        value = pow(files, i)
        path = os.path.join(root, "outbox", f"job{files}-{i}.txt")
        with open(path, "w") as out:
            out.write(f"{value}\n")  # @bp compute
        paths.append(path)
    uploads = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="Uploads")
    futures = []
    for path in paths:
        futures.append(uploads.submit(upload, path, os.path.join(root, "uploaded")))  # @bp upload-submit
    uploaded = 0
    for f in futures:
        uploaded += f.result()  # @bp upload-result
    uploads.shutdown(wait=True)
    return uploaded


trap = os.environ.get("NESTED") == "trap"
root = tempfile.mkdtemp(prefix="nested_upload-")
try:
    for sub in ["outbox", "uploaded"]:
        os.mkdir(os.path.join(root, sub))
    jobs = ProcessPoolExecutor(max_workers=2)
    futures = []
    for files in JOBS:
        extra = (jobs,) if trap else ()
        futures.append(jobs.submit(compute_and_upload, files, root, *extra))  # @bp job-submit
    for files, f in zip(JOBS, futures):
        uploaded = f.result()  # @bp job-result
        print(f"job {files}: {uploaded} of {files} files uploaded")
    jobs.shutdown(wait=True)
    on_server = len(os.listdir(os.path.join(root, "uploaded")))
    print(f"server holds {on_server} files")
finally:
    shutil.rmtree(root)
