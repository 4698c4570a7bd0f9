"""no_deadlock with a print at the top of wait_on_future: deadlocks more often than not.

The print sits in stdout's buffer; the end-of-script flush releases the GIL before the exit
hook sets `thread_module._shutdown`, so the worker's inner submit often gets in first and the
exit hook's join hangs. Prints `Running wait_on_future`, then exits 0 or hangs.
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
executor.submit(wait_on_future)  # @bp outer-submit @bp main-end
