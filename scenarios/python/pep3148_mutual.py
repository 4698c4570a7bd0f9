"""PEP 3148's first example: a waits on b, b waits on a, on two workers. Deadlocks every run.

Each worker sleeps 5 s, then waits on the other's future; neither can finish. No output;
never exits (the exit hook joins both workers).
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import time


def wait_on_b():
    time.sleep(5)
    # b will never complete because it is waiting on a.
    print(b.result())  # @bp wait-on-b
    return 5


def wait_on_a():
    time.sleep(5)
    # a will never complete because it is waiting on b.
    print(a.result())  # @bp wait-on-a
    return 6


executor = ThreadPoolExecutor(max_workers=2)
a = executor.submit(wait_on_b)
b = executor.submit(wait_on_a)  # @bp main-end
