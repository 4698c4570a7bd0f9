//! Python's `time.sleep`, which releases the GIL while it sleeps.

use std::time::Duration;

use crate::gil;

/// `time.sleep(secs)`.
pub fn sleep(secs: f64) {
    gil::tick();
    let duration = Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO);
    gil::allow_threads(|| std::thread::sleep(duration));
}
