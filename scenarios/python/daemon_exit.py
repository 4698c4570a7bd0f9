"""A daemon thread does not hold the process at exit; a non-daemon thread does.

The daemon thread waits on an event nobody sets. The non-daemon thread waits for main to
finish its body, then works 0.2 s and prints. threading._shutdown joins the non-daemon thread
only, so the process waits for it and leaves the daemon blocked: prints `main done` and
`non-daemon done`, exits 0.
"""
import threading
import time

never = threading.Event()
go = threading.Event()


def daemon_work():
    never.wait()  # @bp daemon-wait


def non_daemon_work():
    go.wait()
    time.sleep(0.2)
    print("non-daemon done")  # @bp non-daemon-done


daemon = threading.Thread(target=daemon_work, name="Daemon", daemon=True)
worker = threading.Thread(target=non_daemon_work, name="NonDaemon")
daemon.start()
worker.start()
print("main done")  # @bp main-end
go.set()
