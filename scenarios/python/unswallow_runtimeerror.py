"""The Heisenbug undone: shutdown(wait=False) before f.result() brings the RuntimeError back.

shutdown(wait=False) sets the executor's `_shutdown` flag, the worker's inner submit raises
RuntimeError('cannot schedule new futures after shutdown'), and f.result() re-raises it in
main: a traceback on stderr and exit code 1. Racy, rarely hangs.
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
executor.shutdown(wait=False)  # @bp main-shutdown
f.result()  # @bp main-result @bp main-end
