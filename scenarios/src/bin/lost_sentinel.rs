//! lost_sentinel: a consumer reads a queue until a `None` sentinel, and its producer fails
//! before putting it; hangs every run, with no cycle: nobody holds what the consumer waits
//! for, nobody is left to put it.
//!
//! Main joins the consumer; the consumer waits in `Queue::get`; the producer thread has ended
//! (its exception reported on stderr, as Python reports an uncaught exception in a thread).
use scenarios::prelude::*;
use scenarios::threading::Thread;

fn produce(q: &Queue<Option<i64>>) -> PyResult<()> {
    for i in 1..=3 {
        q.put(Some(i));
    }
    // The sentinel would come next; the producer fails first.
    Err(RuntimeError("the producer failed before its sentinel"))?;
    q.put(None);
    Ok(())
}

fn consume(q: &Queue<Option<i64>>) -> PyResult<()> {
    while let Some(item) = q.get(true, None)? {
        print(item); // @bp consumed
    }
    Ok(())
}

fn main() {
    interpreter::run(|| {
        let q: Queue<Option<i64>> = Queue::new();
        let (pq, cq) = (q.clone(), q.clone());
        let producer = Thread::new("Producer".into(), None, false, move || {
            if let Err(e) = produce(&pq) {
                scenarios::sys::stderr.write(&format!("Exception in thread Producer:\n{e}\n"));
            }
        });
        let consumer = Thread::new("Consumer".into(), None, false, move || {
            let _ = consume(&cq);
        });
        producer.start()?;
        consumer.start()?;
        consumer.join(None)?; // @bp main-join
        Ok(())
    })
}
