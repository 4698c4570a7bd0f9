"""Main blocks on f.result(): deadlocks every run.

f.result() waits on a condition variable with no time limit, so the main body never ends,
the exit hook never sets `thread_module._shutdown`, the worker's inner submit succeeds and
the worker waits on a future only it could run. Prints
`Running wait_on_future` (on a pipe it stays in the buffer, never flushed); never exits.
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import time


def wait_on_future():
    print("Running wait_on_future")  # @bp wait-on-future
    f = executor.submit(pow, 5, 2)  # @bp inner-submit
    # This will never complete because there is only one worker thread and
    # it is executing this function.
    print(f.result())  # @bp inner-result


executor = ThreadPoolExecutor(max_workers=1)
f = executor.submit(wait_on_future)  # @bp outer-submit
f.result()  # @bp main-result @bp main-end
