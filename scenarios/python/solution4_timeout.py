"""Solution 4: f.result(timeout=1) in main. It fails loudly, it does not fix the deadlock.

Prints `Running wait_on_future`; after about 1 s main raises TimeoutError (a traceback on
stderr: `concurrent.futures._base.TimeoutError` on 3.10, `TimeoutError` on 3.11+). The worker
still waits on its own pool, so the exit hook's join then hangs: the process never exits.
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import time


def wait_on_future():
    print("Running wait_on_future")  # @bp wait-on-future
    f = executor.submit(pow, 5, 2)  # @bp inner-submit

    print(f.result())  # @bp inner-result


executor = ThreadPoolExecutor(max_workers=1)
f = executor.submit(wait_on_future)  # @bp outer-submit
f.result(timeout=1)  # @bp main-result @bp main-end
