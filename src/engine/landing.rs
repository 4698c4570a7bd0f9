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
        let dialect = self.launcher.dialect();
        let rule = dialect.hang_rule();
        let mut detector = HangDetector::new(rule.looks(opts.hang_samples));
        let pyspy = match rule {
            HangRule::AdapterListedThreads => {
                let root = self.prep.root.clone();
                crate::os::pyspy::find(&self.session()?.adapter_program, &root)
            }
            HangRule::EveryThread => None,
        };
        let waiting = Instant::now();
        let mut next_look = waiting + opts.hang_poll;
        loop {
            let session = self.session()?;
            // Looks `hang_poll` apart, whatever a look itself cost.
            let wait = next_look.saturating_duration_since(Instant::now());
            next_look = Instant::now().max(next_look) + opts.hang_poll;
            match session.wait_for_stop(wait).await {
                Ok(StopOutcome::Stopped(stop)) => {
                    self.program_time += waiting.elapsed();
                    return Ok(Landing::Stopped(stop));
                }
                Ok(StopOutcome::Exited { exit_code }) => {
                    let lost = dialect.lost_program(exit_code, &session.output);
                    self.program_time += waiting.elapsed();
                    if let Some(words) = lost {
                        return Err(StepError::Walkthrough(format!(
                            "{} lost the program, so its end could not be checked: \"{words}\" \
                             (the debugger's failure, not the program's exit; play it again)",
                            dialect.name()
                        )));
                    }
                    return Ok(Landing::Exited(exit_code));
                }
                Err(SessionError::Timeout { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let pid = session.debuggee_pid();
            let hung = look(rule, &mut detector, pid, pyspy.as_deref(), || async {
                match session.threads().await {
                    Ok(t) => t.into_iter().map(|t| t.name).collect(),
                    Err(_) => Vec::new(),
                }
            })
            .await;
            if hung {
                let declared_after = detector.stuck_for();
                self.program_time += detector
                    .stuck_since()
                    .map_or(waiting.elapsed(), |t| t.saturating_duration_since(waiting));
                // debugpy answers a pause of threads blocked in C lock acquires with no stop
                // (and `threads`/`stackTrace` answer without one): do not wait for it.
                if rule == HangRule::AdapterListedThreads {
                    self.settle_output().await?;
                    return Ok(Landing::Hung { declared_after });
                }
                let any = self.any_thread().await?;
                if let Some(stop) = self.session()?.halt(any).await? {
                    self.last_stop = Some(stop);
                }
                return Ok(Landing::Hung { declared_after });
            }
            if Instant::now() >= deadline {
                self.program_time += waiting.elapsed();
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

    /// After a hang on debugpy: what the program printed before it blocked is relayed by
    /// debugpy's launcher on its own schedule, so a line printed just before the last thread
    /// blocked may still be on its way. The program prints nothing more: its output is taken
    /// once OUTPUT_QUIET passes without any (at most OUTPUT_SETTLE in all).
    async fn settle_output(&mut self) -> Result<(), StepError> {
        const OUTPUT_QUIET: Duration = Duration::from_millis(50);
        const OUTPUT_SETTLE: Duration = Duration::from_secs(1);
        let until = Instant::now() + OUTPUT_SETTLE;
        loop {
            let session = self.session()?;
            let before = session.stdout.len() + session.stderr.len();
            match session.wait_for_stop(OUTPUT_QUIET).await {
                Err(SessionError::Timeout { .. }) => {}
                Ok(StopOutcome::Exited { .. }) => return Ok(()),
                Ok(StopOutcome::Stopped(_)) => {}
                Err(e) => return Err(e.into()),
            }
            let session = self.session()?;
            if session.stdout.len() + session.stderr.len() == before || Instant::now() >= until {
                return Ok(());
            }
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

/// One look at the debuggee for a hang under the dialect's rule, fed to `detector`; true once
/// the detector declares the program hung. Under [`HangRule::AdapterListedThreads`] the
/// adapter is asked which threads the program has (`listed`, their names) only at the look
/// that would declare the hang: the looks before it compare pictures, which cost nothing.
pub(crate) async fn look<F, Fut>(
    rule: HangRule,
    detector: &mut HangDetector,
    pid: Option<u32>,
    pyspy: Option<&Path>,
    listed: F,
) -> bool
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let sample = pid.and_then(hang::sample);
    match rule {
        HangRule::EveryThread => {
            let stuck = sample.as_ref().is_some_and(hang::is_stuck);
            detector.observe_judged(sample, stuck)
        }
        HangRule::AdapterListedThreads => {
            // debugpy's own threads come and go between running and timed waits: the
            // picture that must hold is the threads blocked for good.
            let blocked = sample.as_ref().map(hang::blocked_part);
            let mut hold = Duration::ZERO;
            let stuck = match (&sample, &blocked, pid) {
                (Some(s), Some(b), Some(pid)) if !b.is_empty() => {
                    // Asked at the deciding look, never kept: the list changes while the
                    // blocked picture stays the same (a program thread starts, or sleeps
                    // through the looks), and a count kept from an earlier look declared a
                    // sleeping program hung on Python 3.12.
                    if detector.would_declare(b) {
                        match python_stuck(s, pid, &listed().await, pyspy).await {
                            Some(h) => {
                                hold = h;
                                true
                            }
                            None => false,
                        }
                    } else {
                        true
                    }
                }
                _ => false,
            };
            detector.observe_judged(blocked, stuck) && detector.stuck_for() >= hold
        }
    }
}

/// How long a Python program whose main thread is in CPython's last exit join must look stuck
/// before it is declared hung. That join (`threading._shutdown`, after main's body and the
/// `atexit` hooks, when debugpy no longer lists `MainThread`) also waits for debugpy's
/// non-daemon `pydevd.CheckAliveThread`, which looks every 0.2 s (`TIMEOUT_SLOW`) whether a
/// user thread is still alive and ends when none is. So main blocked there for good for less
/// than that is debugpy's wait, not the program's (seen on `daemon_exit.py`: main blocked for
/// more than 60 ms after the last non-daemon thread had ended, then the process exited 0).
const EXIT_JOIN_HOLD: Duration = Duration::from_millis(500);

/// How long the picture must hold when the program's threads are counted rather than named
/// (no py-spy, or no right to read the process): long enough for a short timed wait or sleep
/// of a program thread to end while one of debugpy's idle threads stands in for it.
const COUNTED_HOLD: Duration = Duration::from_millis(1500);

/// Whether every thread of a Python program run by debugpy is blocked for good: `None` if
/// not, else how long the picture must hold first. `listed`: the names debugpy lists as the
/// program's threads.
async fn python_stuck(
    sample: &hang::Sample,
    pid: u32,
    listed: &[String],
    pyspy: Option<&Path>,
) -> Option<Duration> {
    if listed.is_empty() {
        // A program on its way out may take debugpy's server with it: no answer is no
        // hang, and the exit event follows.
        return None;
    }
    let alive = |tid: &u32| {
        sample
            .get(tid)
            .is_some_and(|t| t.state != hang::ThreadState::Gone)
    };
    let main_unlisted = alive(&pid) && !listed.iter().any(|n| n == "MainThread");
    let hold = if main_unlisted {
        EXIT_JOIN_HOLD
    } else {
        Duration::ZERO
    };
    if let Some(names) = match pyspy {
        Some(p) => crate::os::pyspy::thread_names(p, pid).await,
        None => None,
    } {
        // The program's threads by OS id: the listed names, and the main thread while it
        // lives (CPython unlists it once its body is over and it joins the others).
        let program: Vec<u32> = names
            .iter()
            .filter(|(tid, name)| listed.contains(name) || **tid == pid)
            .map(|(tid, _)| *tid)
            .filter(alive)
            .collect();
        let every_listed_found = listed.iter().all(|n| names.values().any(|m| m == n));
        let stuck = every_listed_found
            && !program.is_empty()
            && program.iter().all(|tid| {
                sample
                    .get(tid)
                    .is_some_and(|t| t.state == hang::ThreadState::BlockedForever)
            });
        return stuck.then_some(hold);
    }
    // Without py-spy: as many threads blocked for good as the program has, the main thread
    // counted while it lives even when debugpy no longer lists it. An idle _TimeoutThread of
    // pydevd is then counted as one of the program's (it declared `12-solution4-timeout` hung
    // while main was still in its one-second timed wait), so the picture must hold longer.
    hang::is_stuck_python(sample, listed.len() + usize::from(main_unlisted))
        .then_some(hold.max(COUNTED_HOLD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::hang::{Sample, Seen, ThreadState};

    fn sample(threads: &[(u32, ThreadState)]) -> Sample {
        threads
            .iter()
            .map(|&(tid, state)| (tid, Seen { state, runs: 3 }))
            .collect()
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn without_py_spy_the_blocked_threads_are_counted_against_the_listed_ones() {
        use ThreadState::*;
        // Main (tid = pid 10) and a worker blocked; debugpy's reader waiting.
        let s = sample(&[(10, BlockedForever), (11, Waiting), (12, BlockedForever)]);
        let listed = names(&["MainThread", "W"]);
        assert_eq!(
            python_stuck(&s, 10, &listed, None).await,
            Some(COUNTED_HOLD),
            "counted, not named: the picture must hold longer"
        );
        let three = names(&["MainThread", "W", "V"]);
        assert_eq!(python_stuck(&s, 10, &three, None).await, None, "V can run");
        assert_eq!(
            python_stuck(&s, 10, &[], None).await,
            None,
            "no answer, no hang"
        );
    }

    #[tokio::test]
    async fn main_in_the_last_exit_join_counts_and_must_stay_blocked_longer() {
        use ThreadState::*;
        // CPython has taken MainThread off the list; the daemon thread waits for good; the
        // program's last non-daemon thread sleeps. Counting only the listed two would
        // declare a hang.
        let s = sample(&[
            (10, BlockedForever),
            (11, Waiting),
            (12, BlockedForever),
            (13, Waiting),
        ]);
        let listed = names(&["Daemon", "NonDaemon"]);
        assert_eq!(python_stuck(&s, 10, &listed, None).await, None);
        // Once the non-daemon thread has gone, main still waits on debugpy's own non-daemon
        // thread for up to 0.2 s: stuck only if it holds for EXIT_JOIN_HOLD (and, counted,
        // for the longer COUNTED_HOLD).
        let s = sample(&[(10, BlockedForever), (11, Waiting), (12, BlockedForever)]);
        let listed = names(&["Daemon"]);
        assert_eq!(
            python_stuck(&s, 10, &listed, None).await,
            Some(EXIT_JOIN_HOLD.max(COUNTED_HOLD))
        );
    }
}
