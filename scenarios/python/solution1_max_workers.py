"""Solution 1: two workers, so the inner task has a thread to run on.

Prints `Running wait_on_future` and 25, exits 0.
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import time


def wait_on_future():
    print("Running wait_on_future")  # @bp wait-on-future
    f = executor.submit(pow, 5, 2)  # @bp inner-submit

    print(f.result())  # @bp inner-result


executor = ThreadPoolExecutor(max_workers=2)  # with 2 workers, this will not deadlock
f = executor.submit(wait_on_future)  # @bp outer-submit
f.result()  # @bp main-result @bp main-end
