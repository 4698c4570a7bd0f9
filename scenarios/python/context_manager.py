"""The context-manager form: leaving the `with` block calls executor.shutdown(wait=True).

shutdown usually sets the executor's `_shutdown` flag before the worker's inner submit, which
then raises RuntimeError('cannot schedule new futures after shutdown'), swallowed by the
future: exit 0, no output. Racy at executor level: if the inner submit wins, the join at the
end of the `with` block hangs.
"""
from concurrent.futures import ThreadPoolExecutor
import concurrent.futures.thread as thread_module
import time


def wait_on_future():
    f = executor.submit(pow, 5, 2)  # @bp inner-submit
    # This will never complete because there is only one worker thread and
    # it is executing this function.
    print(f.result())  # @bp inner-result


with ThreadPoolExecutor(max_workers=1) as executor:  # @bp with-enter
    executor.submit(wait_on_future)  # @bp outer-submit @bp main-end
