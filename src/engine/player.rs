//! Plays a walkthrough against a debug session and reports what it saw, step by step.
//!
//! The player is the only async consumer of a [`Session`]. It never prints: it emits
//! [`RunEvent`]s and returns a [`WalkthroughResult`]; reporters render them. Each step sets its
//! breakpoints (resolved from source markers), performs its action, waits for the outcome
//! ([`super::landing`]: a stop, the program's exit, or a hang told apart from a slow program by
//! [`crate::os::hang`]) then gathers an [`Observation`] ([`super::observe`]) and checks it
//! against the step's expectations. The first step that departs ends the walkthrough; the
//! session is always torn down, leaving no adapter or debuggee behind. Sessions come from a
//! [`Launcher`]: a real adapter process, or in tests a scripted fake.

use super::observe::portable_thread_name;
use super::results::{Outcome, RunEvent, RunOptions, StepResult, WalkthroughResult};
use crate::adapters::LaunchTarget;
use crate::checks::{check, Observation, ObservedEnd};
use crate::dap::protocol::Motion;
use crate::session::{Breakpoints, Launcher, Session, SessionError, StepKind, Stop};
use crate::walkthrough::{Action, Prepared, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What ended the wait after an action.
pub(super) enum Landing {
    Stopped(Stop),
    Exited(Option<i64>),
    /// Every thread blocked for good (or held): dapwalk paused the program to look.
    Hung {
        declared_after: Duration,
    },
    /// Nothing happened within the step timeout; dapwalk paused the program to look.
    StillRunning(Duration),
    /// The action does not move the program.
    Stayed,
}

/// Plays `prep` on sessions from `launcher`. Always tears the session down.
pub async fn play(
    prep: &Prepared,
    launcher: &dyn Launcher,
    opts: &RunOptions,
    emit: &mut (dyn FnMut(RunEvent) + Send),
) -> WalkthroughResult {
    play_releasing(prep, launcher, opts, emit, Box::new(|| {})).await
}

/// [`play`], calling `release` once teardown has killed everything the walkthrough started and
/// only waits for it to be gone (its result still says whether anything survived).
pub async fn play_releasing(
    prep: &Prepared,
    launcher: &dyn Launcher,
    opts: &RunOptions,
    emit: &mut (dyn FnMut(RunEvent) + Send),
    release: Box<dyn FnOnce() + Send + '_>,
) -> WalkthroughResult {
    let started = Instant::now();
    let w = &prep.walkthrough;
    let mut player = Player::new(prep, launcher, opts);
    let mut steps = Vec::new();
    let mut outcome = Outcome::Passed;
    for (index, step) in w.steps.iter().enumerate() {
        emit(RunEvent::StepStarted {
            index,
            title: step.title.clone(),
        });
        match player.step(index).await {
            Ok(result) => {
                let passed = result.verdict.passed();
                emit(RunEvent::StepFinished(Box::new(result.clone())));
                steps.push(result);
                if !passed {
                    outcome = Outcome::Mismatch { step: index };
                    break;
                }
            }
            Err(message) => {
                outcome = Outcome::Error {
                    step: Some(index),
                    line: Some(step.line),
                    message,
                };
                break;
            }
        }
    }
    let leftovers = player.finish_then(release).await;
    WalkthroughResult {
        path: w.path.clone(),
        title: w.title.clone(),
        adapter: launcher.dialect().name(),
        steps,
        outcome,
        elapsed: started.elapsed(),
        leftovers,
    }
}

impl<'a> Player<'a> {
    /// A player for one walkthrough; nothing starts until the first step.
    pub fn new(prep: &'a Prepared, launcher: &'a dyn Launcher, opts: &'a RunOptions) -> Player<'a> {
        Player {
            prep,
            launcher,
            opts,
            session: None,
            source_bps: BTreeMap::new(),
            function_bps: BTreeSet::new(),
            last_stop: None,
            ended: None,
            program_time: Duration::ZERO,
            unfetched: Vec::new(),
        }
    }

    /// Plays step `index` (steps go in order: each builds on the debugger state the previous
    /// one left) and checks it. An `Err` is a reason the step could not be played at all,
    /// with the adapter's last words when it has any.
    pub async fn step(&mut self, index: usize) -> Result<StepResult, String> {
        let w = &self.prep.walkthrough;
        let step = w
            .steps
            .get(index)
            .ok_or_else(|| format!("no step {} in {}", index + 1, w.path.display()))?;
        let t0 = Instant::now();
        self.program_time = Duration::ZERO;
        match self.play_step(step).await {
            Ok((mut observation, hang_declared_after)) => {
                let verdict = check(&step.expect, &observation);
                if !verdict.passed() {
                    self.fetch_skipped_stacks(&mut observation).await;
                }
                Ok(StepResult {
                    index,
                    title: step.title.clone(),
                    line: step.line,
                    observation,
                    verdict,
                    elapsed: t0.elapsed(),
                    hang_declared_after,
                    program_time: self.program_time,
                })
            }
            Err(e) => {
                let mut message = e.to_string();
                if let Some(s) = &self.session {
                    let stderr = s.adapter_stderr();
                    if !stderr.trim().is_empty() && !message.contains(stderr.trim()) {
                        message.push_str(&format!(
                            "\nthe adapter's stderr ends with:\n{}",
                            tail(&stderr, 12)
                        ));
                    }
                }
                Err(message)
            }
        }
    }

    /// Tears the session down; returns the pids that were still alive afterwards (none,
    /// unless something escaped teardown).
    pub async fn finish(self) -> Vec<u32> {
        self.finish_then(Box::new(|| {})).await
    }

    /// [`Player::finish`], calling `killed` as [`Session::end_then`] does.
    pub async fn finish_then(mut self, killed: Box<dyn FnOnce() + Send + '_>) -> Vec<u32> {
        match self.session.take() {
            Some(session) => {
                let report = session.end_then(killed).await;
                report
                    .pids
                    .iter()
                    .copied()
                    .filter(|&p| crate::os::procs::alive(p))
                    .collect()
            }
            None => {
                killed();
                Vec::new()
            }
        }
    }
}

pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Plays one walkthrough step by step: what `play` drives to the end, and what an
/// interactive presenter drives one key press at a time.
pub struct Player<'a> {
    pub(super) prep: &'a Prepared,
    pub(super) launcher: &'a dyn Launcher,
    pub(super) opts: &'a RunOptions,
    pub(super) session: Option<Session>,
    source_bps: BTreeMap<PathBuf, BTreeSet<i64>>,
    function_bps: BTreeSet<String>,
    pub(super) last_stop: Option<Stop>,
    pub(super) ended: Option<ObservedEnd>,
    /// This step's time waiting for the program and adapter (see `StepResult::program_time`).
    pub(super) program_time: Duration,
    /// Threads whose stacks this step's observation did not ask for: (index in the
    /// observation's threads, thread id).
    pub(super) unfetched: Vec<(usize, i64)>,
}

/// Errors that end a walkthrough without a verdict.
#[derive(Debug, thiserror::Error)]
pub(super) enum StepError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("{0}")]
    Walkthrough(String),
}

impl Player<'_> {
    async fn play_step(
        &mut self,
        step: &Step,
    ) -> Result<(Observation, Option<Duration>), StepError> {
        let changed = self.apply_breakpoints(step)?;
        let landing = match step.action {
            Action::Start => {
                let target = self.launch_target();
                let bps = Breakpoints {
                    source: self
                        .source_bps
                        .iter()
                        .map(|(p, l)| (p.clone(), l.iter().copied().collect()))
                        .collect(),
                    functions: self.function_bps.iter().cloned().collect(),
                    exceptions: step
                        .exceptions
                        .as_deref()
                        .and_then(|n| self.launcher.dialect().exception_arguments(n)),
                };
                let launched = Instant::now();
                let session = self
                    .launcher
                    .launch(&target, &bps, self.opts.timeouts.clone())
                    .await?;
                self.program_time += launched.elapsed();
                self.session = Some(session);
                self.wait_landing(step.timeout).await?
            }
            action => {
                if self.ended.is_some() {
                    return Err(StepError::Walkthrough(format!(
                        "step {:?} wants to {} but the program has already ended",
                        step.title,
                        action.as_str()
                    )));
                }
                self.push_breakpoints(&changed).await?;
                if let Some(names) = &step.exceptions {
                    if let Some(a) = self.launcher.dialect().exception_arguments(names) {
                        self.session()?.set_exception_breakpoints(a).await?;
                    }
                }
                self.act(step).await?
            }
        };
        let landing = self.gather(step, landing).await?;
        let mut hang_after = None;
        match &landing {
            Landing::Stopped(stop) => self.last_stop = Some(stop.clone()),
            Landing::Exited(code) => {
                self.ended = Some(match code {
                    Some(c) => ObservedEnd::Exit(*c),
                    None => ObservedEnd::Terminated,
                });
            }
            Landing::Hung { declared_after } => {
                hang_after = Some(*declared_after);
            }
            Landing::StillRunning(_) | Landing::Stayed => {}
        }
        let obs = self.observe(step, &landing).await?;
        Ok((obs, hang_after))
    }

    fn launch_target(&self) -> LaunchTarget {
        let root = Some(self.prep.root.clone());
        let mut env = self.prep.walkthrough.env.clone();
        env.extend(self.opts.env.iter().cloned());
        // The walkthrough's own launch keys win: its forcing depends on them.
        let mut extra = self.opts.launch_extra.clone();
        for (k, v) in &self.prep.walkthrough.launch {
            extra.insert(k.clone(), v.clone());
        }
        LaunchTarget {
            program: self.prep.program.clone(),
            args: Vec::new(),
            cwd: root,
            env,
            extra,
        }
    }

    pub(super) fn session(&mut self) -> Result<&mut Session, StepError> {
        self.session.as_mut().ok_or_else(|| {
            StepError::Walkthrough("no debug session: the first step starts one".into())
        })
    }

    /// Applies the step's `break` and `clear` to the wanted breakpoints; returns the files
    /// whose set changed (and `None` for function breakpoints).
    fn apply_breakpoints(&mut self, step: &Step) -> Result<BTreeSet<Option<PathBuf>>, StepError> {
        let mut changed = BTreeSet::new();
        for (list, add) in [(&step.clear, false), (&step.breakpoints, true)] {
            for m in list {
                let site = self
                    .prep
                    .markers
                    .resolve(&m.value)
                    .map_err(StepError::Walkthrough)?;
                let set = self.source_bps.entry(site.file.clone()).or_default();
                let line = site.line as i64;
                let did = if add {
                    set.insert(line)
                } else {
                    set.remove(&line)
                };
                if did {
                    changed.insert(Some(site.file.clone()));
                }
            }
        }
        for f in &step.function_breakpoints {
            if self.function_bps.insert(f.clone()) {
                changed.insert(None);
            }
        }
        Ok(changed)
    }

    async fn push_breakpoints(
        &mut self,
        changed: &BTreeSet<Option<PathBuf>>,
    ) -> Result<(), StepError> {
        let wanted: Vec<(PathBuf, Vec<i64>)> = changed
            .iter()
            .flatten()
            .map(|f| {
                (
                    f.clone(),
                    self.source_bps
                        .get(f)
                        .map(|s| s.iter().copied().collect())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let functions: Vec<String> = self.function_bps.iter().cloned().collect();
        let session = self.session()?;
        for (file, lines) in wanted {
            session.set_breakpoints(&file, &lines).await?;
        }
        if changed.contains(&None) {
            session.set_function_breakpoints(&functions).await?;
        }
        Ok(())
    }

    /// Resolves a thread named in a walkthrough (`MainThread`, `TPExecutor-0_0`) to its id;
    /// `line` is where the walkthrough names it.
    async fn thread_id(&mut self, name: &str, line: usize) -> Result<i64, StepError> {
        let pid = self.session()?.debuggee_pid();
        let threads = self.session()?.threads().await?;
        threads
            .iter()
            .find(|t| portable_thread_name(&t.name, t.id, pid) == name)
            .map(|t| t.id)
            .ok_or_else(|| {
                let names: Vec<String> = threads
                    .iter()
                    .map(|t| portable_thread_name(&t.name, t.id, pid))
                    .collect();
                StepError::Walkthrough(format!(
                    "{}:{line}: no thread {name:?} to act on; threads now: {}",
                    self.prep.walkthrough.path.display(),
                    names.join(", ")
                ))
            })
    }

    /// The thread a step acts on: the one it names, else the one that stopped last.
    async fn acting_thread(&mut self, step: &Step) -> Result<i64, StepError> {
        if let Some(name) = &step.thread {
            return self.thread_id(name, step.line).await;
        }
        if let Some(id) = self.last_stop.as_ref().and_then(|s| s.thread_id) {
            return Ok(id);
        }
        let threads = self.session()?.threads().await?;
        threads
            .first()
            .map(|t| t.id)
            .ok_or_else(|| StepError::Walkthrough("the program has no threads".into()))
    }

    async fn act(&mut self, step: &Step) -> Result<Landing, StepError> {
        match step.action {
            Action::Start => Err(StepError::Walkthrough(
                "only the first step starts the program".into(),
            )),
            Action::Stay => Ok(Landing::Stayed),
            Action::Pause => {
                let id = self.acting_thread(step).await?;
                match self.session()?.pause(id).await? {
                    Some(stop) => Ok(Landing::Stopped(stop)),
                    None => Ok(Landing::StillRunning(Duration::ZERO)),
                }
            }
            Action::Continue => {
                let id = self.acting_thread(step).await?;
                let mut held = Vec::new();
                for name in &step.hold {
                    held.push(self.thread_id(name, step.line).await?);
                }
                for &h in &held {
                    self.set_held(h, true).await?;
                }
                self.session()?.resume(Motion::Continue, id).await?;
                let landing = match self.wait_landing(step.timeout).await {
                    // A held thread did not run, whatever stale reason LLDB repeats for it.
                    Ok(Landing::Stopped(stop)) if !held.is_empty() => {
                        let ran = stop
                            .thread_ids
                            .iter()
                            .copied()
                            .find(|t| !held.contains(t))
                            .and_then(|t| stop.focused_on(t));
                        match ran {
                            Some(ran) => Ok(Landing::Stopped(ran)),
                            None => self.stop_of_a_thread_let_run(stop, &held).await,
                        }
                    }
                    other => other,
                };
                // Whatever happened, a held thread must run again on the next resume.
                if self.ended.is_none() && !matches!(landing, Ok(Landing::Exited(_))) {
                    for &h in &held {
                        self.set_held(h, false).await?;
                    }
                }
                landing
            }
            Action::Next | Action::StepIn | Action::StepOut => {
                let id = self.acting_thread(step).await?;
                let kind = match step.action {
                    Action::Next => StepKind::Over,
                    Action::StepIn => StepKind::In,
                    _ => StepKind::Out,
                };
                self.session()?.resume(kind.motion(), id).await?;
                self.wait_landing(step.timeout).await
            }
        }
    }

    /// A stop that named only held threads, resolved from the threads that ran. An adapter
    /// that sends one `stopped` event per stop (CodeLLDB) names the thread LLDB selects, which
    /// can be a held one with a stale reason while a thread let run really stopped: each thread
    /// let run is asked its own reason (`exceptionInfo`) and the first that stopped at a
    /// breakpoint or after a step is the stop. Adapters that report every stopping thread
    /// (lldb-dap) keep the stop as reported.
    async fn stop_of_a_thread_let_run(
        &mut self,
        stop: Stop,
        held: &[i64],
    ) -> Result<Landing, StepError> {
        let dialect = self.launcher.dialect();
        if !dialect.names_one_thread_per_stop() {
            return Ok(Landing::Stopped(stop));
        }
        let threads = self.session()?.threads().await?;
        for t in threads.iter().filter(|t| !held.contains(&t.id)) {
            // A thread that cannot say why it stopped (starting, ending) did not cause it.
            let Ok(info) = self.session()?.exception_info(t.id).await else {
                continue;
            };
            if let Some(reason) = dialect.stop_reason_from_exception_info(&info) {
                let mut reasons = stop.reasons.clone();
                reasons.push((t.id, reason.clone()));
                let mut thread_ids = vec![t.id];
                thread_ids.extend(stop.thread_ids.iter().copied().filter(|&i| i != t.id));
                return Ok(Landing::Stopped(Stop {
                    reason,
                    description: info["description"].as_str().map(str::to_string),
                    thread_id: Some(t.id),
                    thread_ids,
                    reasons,
                    // The ids the stale event named belong to the held thread's old stop.
                    hit_breakpoint_ids: Vec::new(),
                    all_threads_stopped: stop.all_threads_stopped,
                }));
            }
        }
        Ok(Landing::Stopped(stop))
    }

    /// Keeps a thread suspended (or lets it run again) across the next resume, through the
    /// adapter's debugger console, in the dialect's own command.
    async fn set_held(&mut self, thread_id: i64, held: bool) -> Result<(), StepError> {
        let dialect = self.launcher.dialect();
        let command = dialect.hold_command(thread_id, held).ok_or_else(|| {
            StepError::Walkthrough(format!(
                "`hold` needs an adapter that can hold one thread; {} resumes every thread",
                dialect.name()
            ))
        })?;
        let frame = self.top_frame_id().await;
        self.session()?
            .console(&command, frame)
            .await
            .map_err(|e| {
                StepError::Walkthrough(format!(
                    "could not {} thread {thread_id}: {e}",
                    if held { "hold" } else { "release" }
                ))
            })?;
        Ok(())
    }

    pub(super) async fn top_frame_id(&mut self) -> Option<i64> {
        let id = self.last_stop.as_ref().and_then(|s| s.thread_id)?;
        let session = self.session.as_ref()?;
        session.stack(id, 1).await.ok()?.first().map(|f| f.id)
    }
}
