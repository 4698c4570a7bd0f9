//! Plays a walkthrough against a real debugger and reports what it saw, step by step.
//!
//! The runner is the only async consumer of a [`Session`]. It never prints: it emits
//! [`RunEvent`]s and returns a [`WalkthroughResult`]; reporters render them. Each step sets its
//! breakpoints (resolved from source markers), performs its action, waits for the outcome — a
//! stop, the program's exit, or a hang told apart from a slow program by [`crate::hang`] — then
//! gathers an [`Observation`] (every thread's user frames, the watch values, new output) and
//! checks it against the step's expectations. The first step that departs ends the
//! walkthrough; the session is always torn down, leaving no adapter or debuggee behind.

use crate::adapters::{Adapter, AdapterKind, LaunchTarget};
use crate::checks::{
    check, normalize_frame_name, Observation, ObservedEnd, ObservedFrame, ObservedStop,
    ObservedThread, Verdict,
};
use crate::hang::{self, HangDetector};
use crate::session::{Breakpoints, Session, SessionError, StepKind, Stop, StopOutcome, Timeouts};
use crate::walkthrough::{Action, Language, MarkerIndex, MarkerRef, Step, Walkthrough};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the project's parts live.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// The Python that runs the Python track (`--python`); default: the project's `.venv`,
    /// else `python3`. Its standard library resolves `stdlib:` markers.
    pub python: Option<PathBuf>,
}

impl Project {
    pub fn new(root: impl Into<PathBuf>) -> Project {
        Project {
            root: root.into(),
            python: None,
        }
    }

    /// The same project played with another Python.
    pub fn with_python(mut self, python: Option<PathBuf>) -> Project {
        self.python = python;
        self
    }

    /// The source file of a scenario: a Rust binary or a Python twin.
    pub fn program_source(&self, w: &Walkthrough) -> PathBuf {
        match w.language {
            Language::Rust => self
                .root
                .join("scenarios/src/bin")
                .join(format!("{}.rs", w.scenario)),
            Language::Python => self
                .root
                .join("scenarios/python")
                .join(format!("{}.py", w.scenario)),
        }
    }

    /// The Rust port's sources, home of the `port:` markers.
    pub fn port_dir(&self) -> PathBuf {
        self.root.join("scenarios/src")
    }

    /// What the adapter launches: the built binary, or the twin's script.
    pub fn launch_program(&self, w: &Walkthrough) -> PathBuf {
        match w.language {
            Language::Rust => self.root.join("target/debug").join(&w.scenario),
            Language::Python => self.program_source(w),
        }
    }

    pub fn walkthroughs_dir(&self) -> PathBuf {
        self.root.join("walkthroughs")
    }
}

/// A walkthrough with every marker it names resolved.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub walkthrough: Walkthrough,
    /// The project folder: the program's working directory.
    pub root: PathBuf,
    pub markers: MarkerIndex,
    pub source: PathBuf,
    pub program: PathBuf,
}

/// Resolves a walkthrough against the sources: every marker it names must exist once. Errors
/// carry the walkthrough's file and line, before any debugger starts.
pub fn prepare(
    project: &Project,
    w: Walkthrough,
) -> Result<Prepared, crate::walkthrough::LoadError> {
    let source = project.program_source(&w);
    let err = |line: usize, message: String, hint: Option<String>| crate::walkthrough::LoadError {
        path: w.path.clone(),
        line,
        message,
        hint,
    };
    let port = match w.language {
        Language::Rust => Some(project.port_dir()),
        Language::Python => None,
    };
    let mut markers = MarkerIndex::build(&source, port.as_deref()).map_err(|e| {
        err(
            1,
            format!(
                "scenario {:?}: cannot read {}: {e}",
                w.scenario,
                source.display()
            ),
            Some(
                "scenarios live in scenarios/src/bin/<name>.rs and scenarios/python/<name>.py"
                    .into(),
            ),
        )
    })?;
    for step in &w.steps {
        let refs = step
            .breakpoints
            .iter()
            .chain(&step.clear)
            .chain(step.wait_for.iter().map(|(_, m)| m))
            .map(|m| (&m.value, m.line))
            .chain(
                step.expect
                    .stopped
                    .as_ref()
                    .and_then(|s| s.value.at.as_ref().map(|a| (a, s.line))),
            );
        for (r, line) in refs {
            if let MarkerRef::Stdlib(_) = r {
                let stdlib = python_stdlib(project).map_err(|m| err(line, m, None))?;
                markers.add_stdlib(&stdlib, r).map_err(|m| {
                    err(
                        line,
                        m,
                        Some("stdlib:<module path>:<text>: the first line that begins with the text, indentation aside".into()),
                    )
                })?;
            }
            markers
                .resolve(r)
                .map_err(|m| err(line, m, Some(format!("markers are comments `// @bp NAME` in {} or, with `port:`, in scenarios/src/*.rs", source.display()))))?;
        }
        for t in step.hold.iter().chain(step.thread.iter()) {
            if t.is_empty() {
                return Err(err(step.line, "an empty thread name".into(), None));
            }
        }
        if !step.hold.is_empty() && w.language == Language::Python {
            return Err(err(
                step.line,
                "`hold` needs an LLDB adapter: debugpy's continue resumes every thread".into(),
                Some("in debugpy's non-stop mode (launch = { stopAllThreadsOnSuspend = false }) line the threads up with wait_for, then continue".into()),
            ));
        }
        if !step.hold.is_empty() && step.action != Action::Continue {
            return Err(err(
                step.line,
                format!(
                    "`hold` goes with do = \"continue\", not {:?}",
                    step.action.as_str()
                ),
                None,
            ));
        }
    }
    for watch in &w.watch {
        if watch.expr.trim().is_empty() {
            return Err(err(
                watch.line,
                format!("watch {:?} has an empty expression", watch.name),
                None,
            ));
        }
    }
    let program = project.launch_program(&w);
    Ok(Prepared {
        walkthrough: w,
        root: project.root.clone(),
        markers,
        source,
        program,
    })
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub timeouts: Timeouts,
    /// How long a step may take before dapwalk stops waiting (the program neither stopped,
    /// exited, nor hung: a long sleep, say).
    pub step_timeout: Duration,
    /// Interval between looks at the debuggee's threads when nothing happens.
    pub hang_poll: Duration,
    /// How many identical "stuck" looks in a row make a hang.
    pub hang_samples: usize,
    /// Frames fetched per thread.
    pub stack_levels: i64,
    /// Extra environment for the debuggee.
    pub env: Vec<(String, String)>,
    /// Launch keys merged over the adapter profile's own (from a VS Code launch
    /// configuration, say).
    pub launch_extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeouts: Timeouts::default(),
            step_timeout: Duration::from_secs(20),
            hang_poll: Duration::from_millis(50),
            hang_samples: 4,
            stack_levels: 64,
            env: Vec::new(),
            launch_extra: serde_json::Map::new(),
        }
    }
}

/// What the runner tells reporters as it goes.
#[derive(Debug, Clone)]
pub enum RunEvent {
    StepStarted { index: usize, title: String },
    StepFinished(Box<StepResult>),
}

/// One step's outcome.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub index: usize,
    pub title: String,
    /// Line of the step in the walkthrough file.
    pub line: usize,
    pub observation: Observation,
    pub verdict: Verdict,
    /// How long the step took, action to checked observation.
    pub elapsed: Duration,
    /// For hangs: how long after the last thread blocked the hang was declared (an upper
    /// bound: the detector's polling window).
    pub hang_declared_after: Option<Duration>,
}

/// How a walkthrough ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    /// A step's observation departed from its expectation.
    Mismatch {
        step: usize,
    },
    /// The walkthrough could not be played (adapter missing or dead, timeout...).
    Error {
        step: Option<usize>,
        message: String,
    },
}

/// Everything about one played walkthrough.
#[derive(Debug, Clone)]
pub struct WalkthroughResult {
    pub path: PathBuf,
    pub title: String,
    pub adapter: AdapterKind,
    pub steps: Vec<StepResult>,
    pub outcome: Outcome,
    pub elapsed: Duration,
    /// Processes that teardown had to kill, and whether any survived it.
    pub leftovers: Vec<u32>,
}

/// What ended the wait after an action.
enum Landing {
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

/// Plays `prep` on `adapter`. Always tears the session down.
pub async fn play(
    prep: &Prepared,
    adapter: &Adapter,
    opts: &RunOptions,
    emit: &mut (dyn FnMut(RunEvent) + Send),
) -> WalkthroughResult {
    let started = Instant::now();
    let w = &prep.walkthrough;
    let mut player = Player::new(prep, adapter, opts);
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
                    message,
                };
                break;
            }
        }
    }
    let leftovers = player.finish().await;
    WalkthroughResult {
        path: w.path.clone(),
        title: w.title.clone(),
        adapter: adapter.kind,
        steps,
        outcome,
        elapsed: started.elapsed(),
        leftovers,
    }
}

impl<'a> Player<'a> {
    /// A player for one walkthrough; nothing starts until the first step.
    pub fn new(prep: &'a Prepared, adapter: &'a Adapter, opts: &'a RunOptions) -> Player<'a> {
        Player {
            prep,
            adapter,
            opts,
            session: None,
            source_bps: BTreeMap::new(),
            function_bps: BTreeSet::new(),
            last_stop: None,
            ended: None,
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
        match self.play_step(step).await {
            Ok((observation, hang_declared_after)) => {
                let verdict = check(&step.expect, &observation);
                Ok(StepResult {
                    index,
                    title: step.title.clone(),
                    line: step.line,
                    observation,
                    verdict,
                    elapsed: t0.elapsed(),
                    hang_declared_after,
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
    pub async fn finish(mut self) -> Vec<u32> {
        match self.session.take() {
            Some(session) => {
                let report = session.end().await;
                report
                    .pids
                    .iter()
                    .copied()
                    .filter(|&p| crate::procs::alive(p))
                    .collect()
            }
            None => Vec::new(),
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Plays one walkthrough step by step: what `play` drives to the end, and what an
/// interactive presenter drives one key press at a time.
pub struct Player<'a> {
    prep: &'a Prepared,
    adapter: &'a Adapter,
    opts: &'a RunOptions,
    session: Option<Session>,
    source_bps: BTreeMap<PathBuf, BTreeSet<i64>>,
    function_bps: BTreeSet<String>,
    last_stop: Option<Stop>,
    ended: Option<ObservedEnd>,
}

/// Errors that end a walkthrough without a verdict.
#[derive(Debug, thiserror::Error)]
enum StepError {
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
                    exceptions: step.exceptions.as_deref().map(exception_arguments),
                };
                let session =
                    Session::start(self.adapter, &target, &bps, self.opts.timeouts.clone()).await?;
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
                    let a = exception_arguments(names);
                    self.session()?
                        .client()
                        .request("setExceptionBreakpoints", Some(a))
                        .await
                        .map_err(SessionError::from)?;
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

    fn session(&mut self) -> Result<&mut Session, StepError> {
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

    /// Resolves a thread named in a walkthrough (`MainThread`, `TPExecutor-0_0`) to its id.
    async fn thread_id(&mut self, name: &str) -> Result<i64, StepError> {
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
                    "no thread {name:?} to act on; threads now: {}",
                    names.join(", ")
                ))
            })
    }

    /// The thread a step acts on: the one it names, else the one that stopped last.
    async fn acting_thread(&mut self, step: &Step) -> Result<i64, StepError> {
        if let Some(name) = &step.thread {
            return self.thread_id(name).await;
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
                    held.push(self.thread_id(name).await?);
                }
                for &h in &held {
                    self.set_held(h, true).await?;
                }
                self.session()?.resume("continue", id).await?;
                let landing = match self.wait_landing(step.timeout).await {
                    // A held thread did not run, whatever stale reason LLDB repeats for it.
                    Ok(Landing::Stopped(stop)) if !held.is_empty() => {
                        let ran = stop
                            .thread_ids
                            .iter()
                            .copied()
                            .find(|t| !held.contains(t))
                            .and_then(|t| stop.focused_on(t));
                        Ok(Landing::Stopped(ran.unwrap_or(stop)))
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
                self.session()?.resume(kind.command(), id).await?;
                self.wait_landing(step.timeout).await
            }
        }
    }

    /// Keeps a thread suspended (or lets it run again) across the next resume, through the
    /// adapter's debugger console: LLDB's `SBThread::Suspend`. lldb-dap's `singleThread`
    /// continue only marks a thread runnable without resuming the process, so it cannot do
    /// this.
    async fn set_held(&mut self, thread_id: i64, held: bool) -> Result<(), StepError> {
        let kind = self.adapter.kind;
        let call = if held { "Suspend" } else { "Resume" };
        let command = match kind {
            AdapterKind::LldbDap => {
                format!("`script lldb.process.GetThreadByID({thread_id}).{call}()")
            }
            AdapterKind::CodeLldb => {
                // CodeLLDB's console takes LLDB commands as typed (its default "commands" mode).
                format!("script lldb.process.GetThreadByID({thread_id}).{call}()")
            }
            AdapterKind::Debugpy => {
                return Err(StepError::Walkthrough(
                    "`hold` needs an LLDB adapter; debugpy resumes every thread".into(),
                ))
            }
        };
        let frame = self.top_frame_id().await;
        let session = self.session()?;
        let mut args = json!({ "expression": command, "context": "repl" });
        if let Some(f) = frame {
            args["frameId"] = json!(f);
        }
        session
            .client()
            .request("evaluate", Some(args))
            .await
            .map_err(|e| {
                StepError::Walkthrough(format!(
                    "could not {} thread {thread_id}: {e}",
                    if held { "hold" } else { "release" }
                ))
            })?;
        Ok(())
    }

    async fn top_frame_id(&mut self) -> Option<i64> {
        let id = self.last_stop.as_ref().and_then(|s| s.thread_id)?;
        let session = self.session.as_ref()?;
        session.stack(id, 1).await.ok()?.first().map(|f| f.id)
    }

    /// Waits for what the last action leads to: a stop, the exit, a hang, or the step timeout.
    async fn wait_landing(&mut self, timeout: Option<Duration>) -> Result<Landing, StepError> {
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
            let stuck = match self.adapter.kind {
                AdapterKind::Debugpy => match &sample {
                    // Asking the adapter costs a request: only when the picture suggests it.
                    Some(s) if !hang::blocked_part(s).is_empty() => {
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
                _ => sample.as_ref().is_some_and(hang::is_stuck),
            };
            if self.adapter.kind == AdapterKind::Debugpy {
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
                if self.adapter.kind == AdapterKind::Debugpy {
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
    async fn gather(&mut self, step: &Step, landing: Landing) -> Result<Landing, StepError> {
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

    async fn any_thread(&mut self) -> Result<i64, StepError> {
        if let Some(pid) = self.session()?.debuggee_pid() {
            return Ok(i64::from(pid));
        }
        let threads = self.session()?.threads().await?;
        Ok(threads.first().map(|t| t.id).unwrap_or(0))
    }

    async fn observe(&mut self, step: &Step, landing: &Landing) -> Result<Observation, StepError> {
        let kind = self.adapter.kind;
        let mut obs = Observation::default();
        {
            // Output is compared cumulatively: adapters relay it on their own schedule, so
            // a line may arrive just after the stop that followed it.
            let session = self.session()?;
            obs.stdout = session.stdout.clone();
            obs.stderr = if stderr_is_merged(kind) {
                session.stdout.clone()
            } else {
                session.stderr.clone()
            };
        }
        // With threads held by the debugger, "nothing can move" is the debugger's doing, not
        // the program's deadlock.
        let holding = !step.hold.is_empty();
        obs.end = match landing {
            Landing::Exited(Some(c)) => Some(ObservedEnd::Exit(*c)),
            Landing::Exited(None) => Some(ObservedEnd::Terminated),
            Landing::Hung { .. } if !holding => Some(ObservedEnd::Hang),
            _ => None,
        };
        if obs.end.as_ref().is_some_and(|e| *e != ObservedEnd::Hang) {
            obs.stop_note = Some(match &obs.end {
                Some(ObservedEnd::Exit(c)) => format!("the program exited with code {c}"),
                _ => "the session ended".into(),
            });
            return Ok(obs);
        }
        obs.stop_note = match landing {
            Landing::Hung { .. } if holding => {
                Some("the threads let run are blocked and the others held".into())
            }
            Landing::Hung { .. } => Some("every thread blocked: a hang".into()),
            Landing::StillRunning(after) => Some(format!(
                "still running after {}s; paused to look",
                after.as_secs_f64()
            )),
            _ => None,
        };

        let pid = self.session()?.debuggee_pid();
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| StepError::Walkthrough("no session".into()))?;
        let threads = session.threads().await?;
        let mut top_user_frame: Option<(i64, Option<String>, i64)> = None;
        let stopped_id = match landing {
            Landing::Stopped(s) => s.thread_id,
            Landing::Stayed => self.last_stop.as_ref().and_then(|s| s.thread_id),
            _ => None,
        };
        // The frame a stop is named after: the first frame with a source whose line
        // carries a marker (a stdlib breakpoint's frame on the Python track), else the top
        // user frame.
        let mut marked_frame: Option<(i64, String, i64)> = None;
        for t in &threads {
            let frames = match session.stack(t.id, self.opts.stack_levels).await {
                Ok(f) => f,
                // A thread debugpy cannot walk (it is starting or ending) shows no frames.
                Err(_) if kind == AdapterKind::Debugpy => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            let name = portable_thread_name(&t.name, t.id, pid);
            if Some(t.id) == stopped_id {
                let shown = frames.iter().find(|f| shown_frame(kind, f));
                if kind == AdapterKind::Debugpy {
                    // As in the editor, watches read in the selected frame: the top one.
                    top_user_frame = frames
                        .first()
                        .map(|f| (f.id, f.path().map(str::to_string), f.line));
                } else if let Some(f) = shown {
                    top_user_frame = Some((f.id, f.path().map(str::to_string), f.line));
                }
                marked_frame = frames
                    .iter()
                    .find(|f| f.path().is_some())
                    .and_then(|f| Some((f.id, f.path()?.to_string(), f.line)))
                    .filter(|(_, p, l)| !self.prep.markers.at(Path::new(p), *l as usize).is_empty())
                    .or_else(|| shown.and_then(|f| Some((f.id, f.path()?.to_string(), f.line))));
            }
            obs.threads.push(ObservedThread {
                name,
                frames: frames
                    .iter()
                    .map(|f| ObservedFrame {
                        name: normalize_frame_name(&f.name),
                        user: shown_frame(kind, f),
                        location: f.file_name().map(|n| format!("{n}:{}", f.line)),
                    })
                    .collect(),
            });
        }
        if let (Landing::Stopped(_) | Landing::Stayed, Some(id)) = (landing, stopped_id) {
            let reason = match landing {
                Landing::Stopped(s) => s.reason.clone(),
                _ => self
                    .last_stop
                    .as_ref()
                    .map(|s| s.reason.clone())
                    .unwrap_or_default(),
            };
            let (at, location) = match &marked_frame {
                Some((_, path, line)) => (
                    self.prep
                        .markers
                        .at(Path::new(path), *line as usize)
                        .into_iter()
                        .cloned()
                        .collect::<Vec<MarkerRef>>(),
                    Some(format!(
                        "{}:{line}",
                        Path::new(path)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    )),
                ),
                _ => (Vec::new(), None),
            };
            obs.stop = Some(ObservedStop {
                thread: portable_thread_name(
                    &threads
                        .iter()
                        .find(|t| t.id == id)
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                    id,
                    pid,
                ),
                reason: normalize_reason(kind, &reason),
                at,
                location,
                description: match landing {
                    Landing::Stopped(s) => s.description.clone(),
                    _ => self.last_stop.as_ref().and_then(|s| s.description.clone()),
                },
            });
        }

        // Watches and the console are evaluated in the stopped thread's innermost user frame,
        // as a learner's watch pane is. After a hang or a pause there is no such thread:
        // main's innermost user frame stands in (globals read the same from any frame).
        let mut frame = top_user_frame.as_ref().map(|(id, _, _)| *id);
        if frame.is_none() {
            if let Some(main) = threads
                .iter()
                .find(|t| portable_thread_name(&t.name, t.id, pid) == "MainThread")
            {
                let frames = session.stack(main.id, self.opts.stack_levels).await?;
                frame = frames
                    .iter()
                    .find(|f| f.is_user_frame())
                    .or(frames.first())
                    .map(|f| f.id);
            }
        }
        for w in &self.prep.walkthrough.watch {
            let mut value = None;
            let mut last_err = String::new();
            for expr in crate::watch::expressions(kind, &w.expr) {
                match session.evaluate(&expr, frame).await {
                    Ok(v) => {
                        value = Some(crate::watch::render_value(kind, &v.result));
                        break;
                    }
                    Err(e) => last_err = e.to_string(),
                }
            }
            obs.watch.push((
                w.name.clone(),
                value.unwrap_or_else(|| format!("(not available here: {})", first_line(&last_err))),
            ));
        }
        for expr in &step.evaluate {
            let mut a = json!({ "expression": expr, "context": "repl" });
            if let Some(f) = frame {
                a["frameId"] = json!(f);
            }
            let text = match session.client().request("evaluate", Some(a)).await {
                Ok(body) => console_value(body["result"].as_str().unwrap_or_default()),
                Err(e) => format!("error: {e}"),
            };
            obs.evaluate.push(text);
        }
        Ok(obs)
    }
}

/// Whether a frame is shown in the walkthrough's stacks. On the Python track the standard
/// library's frames are the talk's subject (`submit`, `_python_exit`, `result`), so every
/// Python source counts except debugpy's own; elsewhere, the program's and the port's frames.
pub fn shown_frame(kind: AdapterKind, f: &crate::session::Frame) -> bool {
    match kind {
        AdapterKind::Debugpy => f.path().is_some_and(|p| {
            p.starts_with('/') && !p.contains("/debugpy/") && !p.contains("/pydevd")
        }),
        _ => f.is_user_frame(),
    }
}

/// `setExceptionBreakpoints` arguments that stop whenever one of `names` is raised, caught
/// or not, in debugpy's dialect (`exceptionOptions` under "Python Exceptions"). With no
/// names, exception breakpoints are cleared.
pub fn exception_arguments(names: &[String]) -> serde_json::Value {
    let options: Vec<serde_json::Value> = names
        .iter()
        .map(|n| {
            json!({
                "path": [{ "names": ["Python Exceptions"] }, { "names": [n] }],
                "breakMode": "always",
            })
        })
        .collect();
    json!({ "filters": [], "exceptionOptions": options })
}

/// The standard library folder of the interpreter that plays the Python track, asked once
/// per interpreter.
fn python_stdlib(project: &Project) -> Result<PathBuf, String> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<BTreeMap<Option<PathBuf>, PathBuf>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache
        .lock()
        .ok()
        .and_then(|c| c.get(&project.python).cloned())
    {
        return Ok(p);
    }
    let python = match &project.python {
        Some(p) => p.clone(),
        None => crate::adapters::debugpy::discover(None, &project.root)
            .map(|a| a.program)
            .map_err(|e| format!("cannot resolve stdlib markers: {e}"))?,
    };
    let out = crate::adapters::run_for_output(
        &python,
        &[
            "-c",
            "import os, concurrent.futures.thread as m; print('dapwalk-stdlib', os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))",
        ],
    )
    .ok_or_else(|| format!("cannot run {} to find its standard library", python.display()))?;
    let dir = out
        .lines()
        .find_map(|l| l.strip_prefix("dapwalk-stdlib "))
        .map(|d| PathBuf::from(d.trim()))
        .ok_or_else(|| {
            format!(
                "{} did not name its standard library: {}",
                python.display(),
                out.trim()
            )
        })?;
    if let Ok(mut c) = cache.lock() {
        c.insert(project.python.clone(), dir.clone());
    }
    Ok(dir)
}

/// The LLDB adapters run the program on a terminal, where stdout and stderr are one stream
/// and come back as one; there, stderr expectations are checked against that stream.
pub fn stderr_is_merged(kind: AdapterKind) -> bool {
    matches!(kind, AdapterKind::LldbDap | AdapterKind::CodeLldb)
}

/// A debug-console answer without LLDB's bookkeeping: `(unsigned long) $3 = 1` reads `1`
/// (the `$N` counter depends on how many expressions ran before).
pub fn console_value(raw: &str) -> String {
    let t = raw.trim();
    if t.starts_with('(') {
        if let Some(close) = t.find(") $") {
            if let Some(eq) = t[close..].find(" = ") {
                return t[close + eq + 3..].trim().to_string();
            }
        }
    }
    t.to_string()
}

/// The stop reasons walkthroughs name, the same on every adapter: a `pause` is reported by
/// the LLDB adapters as an `exception` (`signal SIGSTOP`).
fn normalize_reason(kind: AdapterKind, reason: &str) -> String {
    match (kind, reason) {
        (AdapterKind::LldbDap | AdapterKind::CodeLldb, "exception") => "pause".into(),
        _ => reason.to_string(),
    }
}

/// The name a walkthrough uses for a thread. The main thread is `MainThread` whatever the
/// adapter calls it (LLDB shows the program's name, cut to 15 characters); other threads keep
/// the name the learner sees in the editor's call stack.
pub fn portable_thread_name(name: &str, id: i64, debuggee_pid: Option<u32>) -> String {
    if debuggee_pid.is_some_and(|p| i64::from(p) == id) || name == "MainThread" {
        "MainThread".into()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_thread_is_main_thread_everywhere() {
        assert_eq!(
            portable_thread_name("sometimes_deadl", 4711, Some(4711)),
            "MainThread"
        );
        assert_eq!(portable_thread_name("MainThread", 1, None), "MainThread");
        assert_eq!(
            portable_thread_name("TPExecutor-0_0", 4712, Some(4711)),
            "TPExecutor-0_0"
        );
    }

    #[test]
    fn console_values_lose_lldb_bookkeeping() {
        assert_eq!(console_value("(unsigned long) $0 = 1\n"), "1");
        assert_eq!(console_value("(bool) $12 = true"), "true");
        assert_eq!(console_value("25"), "25");
    }

    #[test]
    fn a_pause_reads_as_pause() {
        assert_eq!(normalize_reason(AdapterKind::LldbDap, "exception"), "pause");
        assert_eq!(
            normalize_reason(AdapterKind::Debugpy, "exception"),
            "exception"
        );
        assert_eq!(
            normalize_reason(AdapterKind::LldbDap, "breakpoint"),
            "breakpoint"
        );
    }
}
