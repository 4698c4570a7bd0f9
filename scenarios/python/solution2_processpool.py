"""Solution 2: the inner task runs on a separate ProcessPoolExecutor (real child processes).

The thread pool's only worker no longer waits on its own pool. Prints
`Running wait_on_future` and 25, exits 0.
"""
from concurrent.futures import ThreadPoolExecutor, ProcessPoolExecutor
import concurrent.futures.thread as thread_module
import time


def wait_on_future():
    print("Running wait_on_future")  # @bp wait-on-future
    executor = ProcessPoolExecutor(max_workers=1)
    f = executor.submit(pow, 5, 2)  # @bp inner-submit

    print(f.result())  # @bp inner-result


executor = ThreadPoolExecutor(max_workers=1)
f = executor.submit(wait_on_future)  # @bp outer-submit
f.result()  # @bp main-result @bp main-end
