"""lost_sentinel: a consumer reads a queue until a `None` sentinel, and its producer fails
before putting it; hangs every run, with no cycle: nobody holds what the consumer waits for,
nobody is left to put it.

Main joins the consumer; the consumer waits in `Queue.get`; the producer thread has ended (its
exception reported on stderr by `threading.excepthook`).
"""
import queue
import threading


def produce(q):
    for i in range(1, 4):
        q.put(i)
    # The sentinel would come next; the producer fails first.
    raise RuntimeError("the producer failed before its sentinel")
    q.put(None)


def consume(q):
    while (item := q.get()) is not None:
        print(item)  # @bp consumed


q = queue.Queue()
producer = threading.Thread(target=produce, args=(q,), name="Producer")
consumer = threading.Thread(target=consume, args=(q,), name="Consumer")
producer.start()
consumer.start()
consumer.join()  # @bp main-join
