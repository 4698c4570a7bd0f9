"""PEP 3148's second example, as the talk runs it: usually no deadlock.

The worker's inner submit usually runs after the main body has ended and the exit hook
(`_python_exit`) has set `thread_module._shutdown`: submit raises RuntimeError('cannot
schedule new futures after interpreter shutdown'), the future swallows it, and the process
exits 0 with no output. Racy: if the inner submit wins, the exit hook's join hangs.
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import time


def wait_on_future():
    f = executor.submit(pow, 5, 2)  # @bp inner-submit
    # This will never complete because there is only one worker thread and
    # it is executing this function.
    print(f.result())  # @bp inner-result


executor = ThreadPoolExecutor(max_workers=1)
executor.submit(wait_on_future)  # @bp outer-submit @bp main-end
