//! Where an action lands: a stop, the program's exit, a hang, or the step timeout.
//!
//! A hang is declared from the outside ([`crate::os::hang`]) under the dialect's
//! [`HangRule`]; with `wait_for`, a step keeps waiting until every named thread stopped at its
//! marker (debugpy's non-stop mode).

use super::observe::portable_thread_name;
use super::player::{Landing, Player, StepError};
use crate::adapters::HangRule;
use crate::os::hang::{self, HangDetector};
use crate::session::{SessionError, StopOutcome};
use crate::walkthrough::{MarkerRef, Step};
use std::path::Path;
use std::time::{Duration, Instant};

/// Waits for what the last action leads to: a stop, the exit, a hang, or the step timeout.
impl Player<'_> {
    pub(super) async fn wait_landing(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Landing, StepError> {
        let opts = self.opts;
        let step_timeout = timeout.unwrap_or(opts.step_timeout);
        let deadline = Instant::now() + step_timeout;
        let mut detector = HangDetector::new(opts.hang_samples);
        let mut first_stuck: Option<Instant> = None;
        loop {
            let session = self.session()?;
            match session.wait_for_stop(opts.hang_poll).await {
                Ok(StopOutcome::Stopped(stop)) => return Ok(Landing::Stopped(stop)),
                Ok(StopOutcome::Exited { exit_code }) => return Ok(Landing::Exited(exit_code)),
                Err(SessionError::Timeout { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let pid = session.debuggee_pid();
            let mut sample = pid.and_then(hang::sample);
            let rule = self.launcher.dialect().hang_rule();
            let stuck = match rule {
                HangRule::AdapterListedThreads => match &sample {
                    // Asking the adapter costs a request: only when the picture suggests it.
                    Some(s) if !hang::blocked_part(s).is_empty() => {
                        // Asked at every such look: the count changes while the blocked
                        // picture stays the same (a program thread starts, or sleeps through
                        // the looks), and a count kept from an earlier look declared a
                        // sleeping program hung on Python 3.12.
                        // A program on its way out may take the adapter's server with it:
                        // no answer is no hang, and the exit event follows.
                        let n = match self.session()?.threads().await {
                            Ok(t) => t.len(),
                            Err(_) => 0,
                        };
                        hang::is_stuck_python(s, n)
                    }
                    _ => false,
                },
                HangRule::EveryThread => sample.as_ref().is_some_and(hang::is_stuck),
            };
            if rule == HangRule::AdapterListedThreads {
                sample = sample.as_ref().map(hang::blocked_part);
            }
            if stuck {
                first_stuck.get_or_insert_with(Instant::now);
            } else {
                first_stuck = None;
            }
            if detector.observe_judged(sample, stuck) {
                let declared_after = first_stuck.map(|t| t.elapsed()).unwrap_or_default();
                // debugpy answers a pause of threads blocked in C lock acquires with no stop
                // (and `threads`/`stackTrace` answer without one): do not wait for it.
                if rule == HangRule::AdapterListedThreads {
                    return Ok(Landing::Hung { declared_after });
                }
                let any = self.any_thread().await?;
                if let Some(stop) = self.session()?.pause(any).await? {
                    self.last_stop = Some(stop);
                }
                return Ok(Landing::Hung { declared_after });
            }
            if Instant::now() >= deadline {
                let any = self.any_thread().await?;
                if let Some(stop) = self.session()?.pause(any).await? {
                    self.last_stop = Some(stop);
                }
                return Ok(Landing::StillRunning(step_timeout));
            }
        }
    }

    /// With `wait_for`, keeps waiting after the first stop until every named thread has
    /// stopped at its marker (debugpy's non-stop mode suspends only the thread that hits a
    /// breakpoint; the others run on until theirs). A stop anywhere else ends the wait: the
    /// step's checks then show where it happened.
    pub(super) async fn gather(
        &mut self,
        step: &Step,
        landing: Landing,
    ) -> Result<Landing, StepError> {
        let mut waiting: Vec<(String, MarkerRef)> = step
            .wait_for
            .iter()
            .map(|(t, m)| (t.clone(), m.value.clone()))
            .collect();
        if waiting.is_empty() {
            return Ok(landing);
        }
        let mut landing = landing;
        let mut arrived = Vec::new();
        loop {
            let Landing::Stopped(stop) = &landing else {
                return Ok(landing);
            };
            let pid = self.session()?.debuggee_pid();
            let threads = self.session()?.threads().await?;
            for id in stop.thread_ids.iter().copied().chain(stop.thread_id) {
                if arrived.contains(&id) {
                    continue;
                }
                let name = threads
                    .iter()
                    .find(|t| t.id == id)
                    .map(|t| portable_thread_name(&t.name, t.id, pid))
                    .unwrap_or_default();
                let top = self.session()?.stack(id, 1).await?;
                let at: Vec<MarkerRef> = top
                    .first()
                    .and_then(|f| Some((f.path()?.to_string(), f.line)))
                    .map(|(p, l)| {
                        self.prep
                            .markers
                            .at(Path::new(&p), l as usize)
                            .into_iter()
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                match waiting
                    .iter()
                    .position(|(t, m)| *t == name && at.contains(m))
                {
                    Some(i) => {
                        waiting.remove(i);
                        arrived.push(id);
                    }
                    None => return Ok(landing),
                }
            }
            if waiting.is_empty() {
                // The step looks from the first thread it named, whichever arrived last.
                let first = step.wait_for.first().map(|(t, _)| t.as_str());
                let mut stop = stop.clone();
                for &id in &arrived {
                    let name = threads
                        .iter()
                        .find(|t| t.id == id)
                        .map(|t| portable_thread_name(&t.name, t.id, pid));
                    if name.as_deref() == first {
                        stop.thread_id = Some(id);
                    }
                }
                stop.thread_ids = arrived;
                return Ok(Landing::Stopped(stop));
            }
            self.last_stop = Some(stop.clone());
            landing = self.wait_landing(step.timeout).await?;
        }
    }

    pub(super) async fn any_thread(&mut self) -> Result<i64, StepError> {
        if let Some(pid) = self.session()?.debuggee_pid() {
            return Ok(i64::from(pid));
        }
        let threads = self.session()?.threads().await?;
        Ok(threads.first().map(|t| t.id).unwrap_or(0))
    }
}
