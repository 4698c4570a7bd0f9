//! The progress line on stderr while walkthroughs play: how many are done and what each
//! running one is doing. Drawn by `indicatif`, which draws only on a terminal and rate-limits
//! redraws, so CI logs and pipes stay clean.

use crate::engine::schedule::Progress as Event;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::{Arc, Mutex};

/// A progress display for `total` walkthroughs.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    running: Arc<Mutex<Vec<(String, String)>>>,
}

impl Progress {
    /// Drawn on stderr when it is a terminal; hidden otherwise.
    pub fn new(total: usize) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("[{pos}/{len}] {wide_msg}") {
            bar.set_style(style);
        }
        Progress {
            bar,
            running: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A callback for [`crate::engine::play_all`].
    pub fn callback(&self) -> Arc<dyn Fn(Event) + Send + Sync> {
        let me = self.clone();
        Arc::new(move |ev| me.on(ev))
    }

    fn on(&self, ev: Event) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match ev {
            Event::Started { name } => running.push((name, "starting".into())),
            Event::Step { name, n, total } => {
                if let Some(r) = running.iter_mut().find(|(x, _)| *x == name) {
                    r.1 = format!("step {n}/{total}");
                }
            }
            Event::Finished { name } => {
                running.retain(|(x, _)| *x != name);
                self.bar.inc(1);
            }
        }
        let line: Vec<String> = running.iter().map(|(n, st)| format!("{n} {st}")).collect();
        self.bar.set_message(line.join(", "));
    }

    /// Removes the line before the report is printed.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}
