"""submit returns at once; shutdown(wait=True) blocks until the work is done.

The task waits on an event. Main submits it and gets its future back at once, not done; then
starts a `Releaser` thread that sets the event after 0.5 s and calls shutdown(wait=True),
which joins the worker and so returns only once the task finished. Prints
`submit returned, done: False`, `task done`, `shutdown returned, done: True`, exits 0.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module

release = threading.Event()


def task():
    release.wait()
    print("task done")  # @bp task-done
    return 25


def release_later():
    time.sleep(0.5)
    release.set()


executor = ThreadPoolExecutor(max_workers=1)
f = executor.submit(task)  # @bp submit
print(f"submit returned, done: {f.done()}")  # @bp submitted
threading.Thread(target=release_later, name="Releaser").start()
executor.shutdown(wait=True)  # @bp shutdown
print(f"shutdown returned, done: {f.done()}")  # @bp shutdown-returned
