"""no_deadlock with executor.shutdown(wait=False) after the submit: usually no deadlock.

shutdown(wait=False) sets the executor's own `_shutdown` flag at once, so the worker's inner
submit raises RuntimeError('cannot schedule new futures after shutdown') (executor level),
the future swallows it, and the process exits 0 having printed `Running wait_on_future`. Racy, rarely hangs.
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
executor.submit(wait_on_future)  # @bp outer-submit
executor.shutdown(wait=False)  # @bp main-shutdown @bp main-end
