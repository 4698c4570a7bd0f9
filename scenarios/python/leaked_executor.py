"""A leaked executor: never shut down, it still holds the process at exit until its work ends.

Main submits a task that takes 0.5 s and ends without shutdown(). The exit hook _python_exit
puts a None on the leaked pool's queue and joins its worker, which first finishes the task:
prints `main done`, then `task done`, exits 0.
"""
import time
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module


def task():
    time.sleep(0.5)  # @bp task-sleep
    print("task done")  # @bp task-done


executor = ThreadPoolExecutor(max_workers=1)
executor.submit(task)  # @bp submit
print("main done")  # @bp main-end
