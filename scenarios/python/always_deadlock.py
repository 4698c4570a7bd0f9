"""no_deadlock with a sleep in main after the submit: deadlocks every run.

While main sleeps, `thread_module._shutdown` is still False, so the worker's inner submit
succeeds and the worker waits on a future only it could run; the exit hook's join then hangs.
The sleep is 0.1 s as a script and 3600 s under a debugger (a trace hook, or on 3.12+ a
sys.monitoring debugger tool, is set), so stepping never outruns it. The environment
variable ALWAYS_DEADLOCK_SLEEP=<seconds> overrides both.
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import os
import sys
import time


def debugger_attached():
    if sys.gettrace() is not None:
        return True
    monitoring = getattr(sys, "monitoring", None)  # Python 3.12+
    return monitoring is not None and monitoring.get_tool(monitoring.DEBUGGER_ID) is not None


SECONDS = float(os.environ.get("ALWAYS_DEADLOCK_SLEEP", 3600 if debugger_attached() else 0.1))


def wait_on_future():
    print("Running wait_on_future")  # @bp wait-on-future
    f = executor.submit(pow, 5, 2)  # @bp inner-submit
    # This will never complete because there is only one worker thread and
    # it is executing this function.
    print(f.result())  # @bp inner-result


executor = ThreadPoolExecutor(max_workers=1)
executor.submit(wait_on_future)  # @bp outer-submit
time.sleep(SECONDS)  # @bp main-sleep @bp main-end
