//! daemon_exit: a daemon thread does not hold the process at exit; a non-daemon thread does.
//!
//! The daemon thread waits on an event nobody sets. The non-daemon thread waits for main to
//! finish its body, then works 0.2 s and prints. `threading._shutdown` joins the non-daemon
//! thread only, so the process waits for it and leaves the daemon blocked: prints `main done`
//! and `non-daemon done`, exits 0.
use std::sync::Arc;

use scenarios::prelude::*;
use scenarios::threading::{Event, Thread};

fn main() {
    interpreter::run(|| {
        let never = Arc::new(Event::new());
        let go = Arc::new(Event::new());
        let daemon = Thread::new("Daemon".into(), None, true, move || {
            never.wait(None); // @bp daemon-wait
        });
        let g = go.clone();
        let worker = Thread::new("NonDaemon".into(), None, false, move || {
            g.wait(None);
            time::sleep(0.2);
            print("non-daemon done"); // @bp non-daemon-done
        });
        daemon.start()?;
        worker.start()?;
        print("main done"); // @bp main-end
        go.set();
        Ok(())
    })
}
