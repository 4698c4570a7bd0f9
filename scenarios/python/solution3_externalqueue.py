"""Solution 3: the worker hands the inner future to main through a queue.Queue.

The worker returns right after the inner submit, so the single worker is free to run pow;
main waits on the inner future instead. Prints 25, exits 0.
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import queue
import time


def wait_on_future(result_queue):
    f = executor.submit(pow, 5, 2)  # @bp inner-submit
    # Put the Future object in the queue
    result_queue.put(f)  # @bp queue-put


result_queue = queue.Queue()
with ThreadPoolExecutor(max_workers=1) as executor:  # @bp with-enter
    executor.submit(wait_on_future, result_queue)  # @bp outer-submit
    # Retrieve result in the main thread
    future = result_queue.get()  # @bp queue-get
    print(future.result())  # @bp main-result @bp main-end
