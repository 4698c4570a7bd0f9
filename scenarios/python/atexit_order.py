"""atexit order: exit hooks run last registered first, and the thread pool's before them all.

The user registers `first`, then creates a pool and uses it, then registers `second`. At exit
threading._shutdown runs the pool's _python_exit (a threading exit hook) before the
interpreter calls any atexit handler; those run in reverse: `second`, then `first`. By then
the pool refuses work: its worker, leaving on the exit hook's None, flagged the executor shut
down (`executor._shutdown = True`), so `second`'s submit is refused. Prints `25`,
`atexit second: cannot schedule new futures after shutdown`, `atexit first: _shutdown = True`,
exits 0.
"""
import atexit
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module


def first():
    print(f"atexit first: _shutdown = {thread_module._shutdown}")  # @bp first-hook


def second():
    try:
        executor.submit(pow, 2, 3)  # @bp second-hook
    except RuntimeError as e:
        print(f"atexit second: {e}")


atexit.register(first)
executor = ThreadPoolExecutor(max_workers=1)
f = executor.submit(pow, 5, 2)
print(f.result())  # @bp main-result
atexit.register(second)  # @bp main-end
