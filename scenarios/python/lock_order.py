"""lock_order: two threads take the same two locks in opposite order (the dining philosophers
with two); deadlocks every run, with no thread pool at all.

Each thread takes its first lock, sleeps 0.1 s (releasing the GIL, so the other takes its own
first lock), then reaches for the other's. Thread-1 waits on `lock_b`, held by Thread-2, which
waits on `lock_a`, held by Thread-1; main waits to join Thread-1.
"""
import threading
import time

lock_a = threading.Lock()
lock_b = threading.Lock()


def philosopher(first, second):
    with first:  # @bp took-first
        time.sleep(0.1)
        with second:  # @bp take-second
            print("ate")


t1 = threading.Thread(target=philosopher, args=(lock_a, lock_b), name="Thread-1")
t2 = threading.Thread(target=philosopher, args=(lock_b, lock_a), name="Thread-2")
t1.start()
t2.start()
t1.join()  # @bp main-join
t2.join()
