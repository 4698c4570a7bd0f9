//! One debug session from start to teardown: the handshake that works on lldb-dap, CodeLLDB
//! and debugpy, grouped stops, steps that never land, and a teardown that leaves no adapter,
//! debuggee or helper process behind, whichever way the session ends.

#[cfg(any(test, feature = "test-support"))]
pub mod fake;

use crate::adapters::{Adapter, AdapterError, Connect, Dialect, LaunchTarget};
use crate::dap::client::{Client, Event, Events, RequestError, Stopped};
use crate::dap::protocol::{self, parse_breakpoints, EvalContext, Motion};
pub use crate::dap::protocol::{
    BreakpointResult, Evaluated, Frame, FrameSource, Scope, ThreadInfo, Variable,
};
use crate::dap::transport::TransportError;
use crate::os::procs;
use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Why a session could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("could not start the adapter {program}: {source}", program = .program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("timed out after {}s waiting for {what}", .after.as_secs_f64())]
    Timeout { what: String, after: Duration },
    #[error("the adapter went away while waiting for {what}: {reason}{}", stderr_suffix(.stderr))]
    AdapterGone {
        what: String,
        reason: String,
        stderr: String,
    },
    #[error("the debuggee exited (code {}) while waiting for {what}", .exit_code.map_or("unknown".to_string(), |c| c.to_string()))]
    Exited {
        what: String,
        exit_code: Option<i64>,
    },
}

use crate::dap::client::stderr_suffix;

impl SessionError {
    /// True when the adapter (or its connection) is gone: nothing more can be asked of this
    /// session, so a caller that tolerates a failed request must not tolerate this one.
    pub fn adapter_gone(&self) -> bool {
        matches!(
            self,
            SessionError::AdapterGone { .. }
                | SessionError::Transport(_)
                | SessionError::Request(RequestError::AdapterGone { .. })
        )
    }
}

/// Timeouts of a session. None of them is a sleep: each bounds a wait for something the
/// adapter should send, so a healthy session runs at the adapter's pace.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// One request's response.
    pub request: Duration,
    /// From `launch` to the launch response (debugpy starts a Python: seconds).
    pub launch: Duration,
    /// After the first `stopped` event, how long at most to keep collecting the others of
    /// the same stop (lldb-dap sends one per thread that has a reason).
    pub stop_tail: Duration,
    /// The others come in one burst: the stop is complete once no `stopped` event has come
    /// for this long (or `stop_tail` has passed).
    pub stop_quiet: Duration,
    /// A `pause` until its `stopped` event (debugpy sends none on a real deadlock).
    pub pause: Duration,
    /// Teardown: `disconnect`, then the adapter's exit, each.
    pub teardown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: Duration::from_secs(10),
            launch: Duration::from_secs(30),
            stop_tail: Duration::from_millis(50),
            stop_quiet: Duration::from_millis(5),
            pause: Duration::from_secs(3),
            teardown: Duration::from_secs(3),
        }
    }
}

/// Breakpoints set during the handshake, before `configurationDone`.
#[derive(Debug, Clone, Default)]
pub struct Breakpoints {
    /// Source breakpoints: file and 1-based lines.
    pub source: Vec<(PathBuf, Vec<i64>)>,
    /// Function breakpoints by name.
    pub functions: Vec<String>,
    /// Raw `setExceptionBreakpoints` arguments, when wanted.
    pub exceptions: Option<Value>,
}

/// One stop, with every thread that reported stopping in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stop {
    /// The reason as the adapter gave it (a `pause` shows as `exception` / `signal SIGSTOP`
    /// on the LLDB adapters).
    pub reason: String,
    pub description: Option<String>,
    /// The thread that caused the stop.
    pub thread_id: Option<i64>,
    /// Every thread named by a `stopped` event of this stop.
    pub thread_ids: Vec<i64>,
    pub hit_breakpoint_ids: Vec<i64>,
    pub all_threads_stopped: bool,
    /// Each reporting thread with the reason its own event gave, in arrival order.
    pub reasons: Vec<(i64, String)>,
}

impl Stop {
    fn from_event(s: &Stopped) -> Stop {
        Stop {
            reason: s.reason.clone(),
            description: s.description.clone(),
            thread_id: s.thread_id,
            thread_ids: s.thread_id.into_iter().collect(),
            hit_breakpoint_ids: s.hit_breakpoint_ids.clone(),
            all_threads_stopped: s.all_threads_stopped,
            reasons: s
                .thread_id
                .map(|t| (t, s.reason.clone()))
                .into_iter()
                .collect(),
        }
    }

    /// The stop as seen from `thread_id`, when that thread reported in it: LLDB repeats a
    /// suspended thread's old stop reason with every stop, so a caller that held threads
    /// picks the thread that actually ran.
    pub fn focused_on(&self, thread_id: i64) -> Option<Stop> {
        let reason = self
            .reasons
            .iter()
            .find(|(t, _)| *t == thread_id)?
            .1
            .clone();
        Some(Stop {
            reason,
            thread_id: Some(thread_id),
            ..self.clone()
        })
    }

    fn merge(&mut self, s: &Stopped) {
        if let Some(t) = s.thread_id {
            if !self.thread_ids.contains(&t) {
                self.thread_ids.push(t);
                self.reasons.push((t, s.reason.clone()));
            }
        }
        for id in &s.hit_breakpoint_ids {
            if !self.hit_breakpoint_ids.contains(id) {
                self.hit_breakpoint_ids.push(*id);
            }
        }
        self.all_threads_stopped |= s.all_threads_stopped;
    }
}

/// What ended a wait for a stop.
#[derive(Debug, Clone, PartialEq)]
pub enum StopOutcome {
    Stopped(Stop),
    /// The debuggee exited (or the adapter said the session terminated).
    Exited {
        exit_code: Option<i64>,
    },
}

/// Kinds of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Over,
    In,
    Out,
}

impl StepKind {
    /// The DAP request that performs this step.
    pub fn motion(self) -> Motion {
        match self {
            StepKind::Over => Motion::Next,
            StepKind::In => Motion::StepIn,
            StepKind::Out => Motion::StepOut,
        }
    }
}

/// Where one thread is, top frame first.
#[derive(Debug, Clone)]
pub struct ThreadReport {
    pub thread: ThreadInfo,
    pub frames: Vec<Frame>,
}

impl ThreadReport {
    /// The innermost frame of the program itself: where the thread blocks, in user terms.
    pub fn user_frame(&self) -> Option<&Frame> {
        self.frames.iter().find(|f| f.is_user_frame())
    }
}

/// The answer to a step.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    Stopped(Stop),
    Exited {
        exit_code: Option<i64>,
    },
    /// The step did not land within its timeout: the session paused the program and reports
    /// where each thread blocks.
    Blocked {
        after: Duration,
        pause: Option<Stop>,
        threads: Vec<ThreadReport>,
    },
}

/// What teardown did, for reports and tests.
#[derive(Debug, Clone, Default)]
pub struct Teardown {
    /// Every pid the session knew of (adapter, its descendants, the debuggee).
    pub pids: Vec<u32>,
    /// Those that were still running at the end of the polite steps and had to be killed.
    pub killed: Vec<u32>,
    pub disconnect_error: Option<String>,
}

/// A session being launched.
pub type LaunchFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Session, SessionError>> + Send + 'a>>;

/// Where sessions come from: the engine asks a launcher for each walkthrough's session. A
/// found [`Adapter`] launches its process; tests launch sessions over an in-memory scripted
/// adapter ([`crate::dap::fake`]).
pub trait Launcher: Send + Sync {
    /// The dialect of the sessions it launches.
    fn dialect(&self) -> &'static dyn Dialect;
    /// Starts a session that has launched `target` with `breakpoints` set.
    fn launch<'a>(
        &'a self,
        target: &'a LaunchTarget,
        breakpoints: &'a Breakpoints,
        timeouts: Timeouts,
    ) -> LaunchFuture<'a>;
}

impl Launcher for Adapter {
    fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    fn launch<'a>(
        &'a self,
        target: &'a LaunchTarget,
        breakpoints: &'a Breakpoints,
        timeouts: Timeouts,
    ) -> LaunchFuture<'a> {
        Box::pin(Session::start(self, target, breakpoints, timeouts))
    }
}

/// A running debug session.
pub struct Session {
    pub dialect: &'static dyn Dialect,
    /// The adapter's program (debugpy: the Python it runs in, whose folder may hold py-spy).
    pub adapter_program: PathBuf,
    client: Client,
    events: Events,
    child: Option<tokio::process::Child>,
    adapter_pid: Option<u32>,
    debuggee_pid: Option<u32>,
    known_pids: Vec<u32>,
    /// When the session began, in clock ticks since boot: a pid the adapter names is only
    /// taken as the session's (and killed at the end) if it started after this.
    born: Option<u64>,
    /// The value of [`crate::os::run::SESSION_VAR`] every process of this session inherits,
    /// when the session started its adapter.
    session_mark: Option<String>,
    /// The adapter's capabilities (the `initialize` body, updated by `capabilities` events).
    pub capabilities: Value,
    /// What the adapter said about the breakpoints set during the handshake, in order.
    pub breakpoints: Vec<BreakpointResult>,
    /// Everything the adapter printed through `output` events.
    pub output: String,
    /// The debuggee's stdout as relayed by the adapter.
    pub stdout: String,
    /// The debuggee's stderr as relayed by the adapter.
    pub stderr: String,
    exit_code: Option<i64>,
    ended: bool,
    torn_down: bool,
    pub timeouts: Timeouts,
    /// The stacks asked since the program last moved, by thread: how many levels were asked
    /// and what came back. On debugpy a thread blocked in C costs ~650 ms per `stackTrace`
    /// (pydevd waits for it to suspend), so a stop never asks for the same stack twice.
    stacks: std::sync::Mutex<std::collections::HashMap<i64, (i64, Vec<Frame>)>>,
}

impl Session {
    /// Starts `adapter`, launches `target` with `breakpoints` set and returns once the
    /// launch has been answered (the program runs).
    pub async fn start(
        adapter: &Adapter,
        target: &LaunchTarget,
        breakpoints: &Breakpoints,
        timeouts: Timeouts,
    ) -> Result<Session, SessionError> {
        let launch_args = adapter.launch_arguments(target)?;
        let spawned = spawn(adapter, timeouts.request).await?;
        let mut child = spawned.child;
        let stderr = child.stderr.take();
        let (client, events) = Client::start(spawned.reader, spawned.writer, timeouts.request);
        let adapter_pid = spawned.pid;
        let session_mark = spawned.mark;
        if let Some(stderr) = stderr {
            client.collect_stderr(stderr);
        }
        Session::handshake(
            adapter,
            client,
            events,
            Some(child),
            adapter_pid,
            Some(session_mark),
            launch_args,
            breakpoints,
            timeouts,
        )
        .await
    }

    /// Runs a session over an existing connection (an in-memory fake adapter, a TCP adapter
    /// started elsewhere). The session then owns no adapter process.
    pub async fn over(
        adapter: &Adapter,
        client: Client,
        events: Events,
        target: &LaunchTarget,
        breakpoints: &Breakpoints,
        timeouts: Timeouts,
    ) -> Result<Session, SessionError> {
        let launch_args = adapter.launch_arguments(target)?;
        Session::handshake(
            adapter,
            client,
            events,
            None,
            None,
            None,
            launch_args,
            breakpoints,
            timeouts,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn handshake(
        adapter: &Adapter,
        client: Client,
        events: Events,
        child: Option<tokio::process::Child>,
        adapter_pid: Option<u32>,
        session_mark: Option<String>,
        launch_args: Value,
        breakpoints: &Breakpoints,
        timeouts: Timeouts,
    ) -> Result<Session, SessionError> {
        let mut s = Session {
            dialect: adapter.dialect,
            adapter_program: adapter.program.clone(),
            client,
            events,
            child,
            adapter_pid,
            debuggee_pid: None,
            known_pids: adapter_pid.into_iter().collect(),
            born: procs::ticks_since_boot(),
            session_mark,
            capabilities: Value::Null,
            breakpoints: Vec::new(),
            output: String::new(),
            stdout: String::new(),
            stderr: String::new(),
            exit_code: None,
            stacks: Default::default(),
            ended: false,
            torn_down: false,
            timeouts,
        };
        // On any failure below, dropping `s` kills what was started.
        s.capabilities = s
            .client
            .call(protocol::initialize(adapter.dialect.adapter_id()))
            .await?;
        // The launch response comes only after configurationDone on all three adapters, so
        // it is sent now and awaited last (DAP specification, "Launch Sequencing").
        let launch = s.client.send_request(protocol::launch(launch_args));
        let launch = launch.wait(s.timeouts.launch);
        tokio::pin!(launch);
        let mut launched: Option<Value> = None;
        let deadline = Instant::now() + s.timeouts.launch;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::select! {
                r = &mut launch, if launched.is_none() => { launched = Some(r?); }
                ev = tokio::time::timeout(left, s.events.recv()) => match ev {
                    Ok(Some(Event::Initialized)) => break,
                    Ok(Some(ev)) => s.absorb(&ev),
                    Ok(None) => return Err(s.gone("the initialized event")),
                    Err(_) => return Err(SessionError::Timeout { what: "the initialized event".into(), after: s.timeouts.launch }),
                }
            }
        }
        for (path, lines) in &breakpoints.source {
            let body = s
                .client
                .call(protocol::set_breakpoints(path, lines))
                .await?;
            s.breakpoints.extend(parse_breakpoints(&body));
        }
        if !breakpoints.functions.is_empty() {
            let body = s
                .client
                .call(protocol::set_function_breakpoints(&breakpoints.functions))
                .await?;
            s.breakpoints.extend(parse_breakpoints(&body));
        }
        if let Some(exceptions) = &breakpoints.exceptions {
            s.client
                .call(protocol::set_exception_breakpoints(exceptions.clone()))
                .await?;
        }
        s.client.call(protocol::configuration_done()).await?;
        // lldb-dap answers the first `threads` with a list cached at launch; one throw-away
        // request (as VS Code sends) makes later ones current. Its answer does not matter.
        let _ = s.client.call(protocol::threads()).await;
        if launched.is_none() {
            (&mut launch).await?;
        }
        Ok(s)
    }

    fn gone(&self, what: &str) -> SessionError {
        SessionError::AdapterGone {
            what: what.to_string(),
            reason: self
                .client
                .closed_reason()
                .unwrap_or_else(|| "the event stream ended".into()),
            stderr: self.client.stderr(),
        }
    }

    /// Records what an event tells about the session (pids, output, exit).
    fn absorb(&mut self, ev: &Event) {
        match ev {
            Event::Process { pid: Some(pid), .. } => self.note_debuggee(*pid),
            Event::Output { category, output } => {
                if category == "stdout" {
                    self.stdout.push_str(output);
                }
                if category == "stderr" {
                    self.stderr.push_str(output);
                }
                if category == "console" && self.debuggee_pid.is_none() {
                    // An adapter that sends no `process` event may name the pid here.
                    if let Some(pid) = self.dialect.pid_from_console(output) {
                        self.note_debuggee(pid);
                    }
                }
                self.output.push_str(output);
            }
            Event::Exited { exit_code } => {
                self.exit_code = Some(*exit_code);
                self.ended = true;
            }
            Event::Terminated => self.ended = true,
            Event::Other { name, body } if name == "capabilities" => {
                if let (Some(caps), Value::Object(new)) =
                    (self.capabilities.as_object_mut(), &body["capabilities"])
                {
                    for (k, v) in new {
                        caps.insert(k.clone(), v.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn note_debuggee(&mut self, pid: u32) {
        self.debuggee_pid = Some(pid);
        // Only a process started during this session can be its debuggee. A replayed
        // recording names pids of the machine it was made on; one of them may be a process
        // of this machine (a test harness was killed that way), which is not ours to end.
        let ours = self.born.is_some_and(|b| procs::started_since(pid, b));
        if ours && !self.known_pids.contains(&pid) {
            self.known_pids.push(pid);
        }
    }

    /// Handles events already received without waiting. Before a resume this also drops
    /// stopped events left from an earlier stop, which must not answer the next step.
    fn drain(&mut self) {
        while let Ok(ev) = self.events.try_recv() {
            self.absorb(&ev);
        }
    }

    /// The debuggee's pid, once known (from the `process` event or the console text).
    pub fn debuggee_pid(&mut self) -> Option<u32> {
        self.drain();
        self.debuggee_pid
    }

    /// The adapter's pid, when the session started it.
    pub fn adapter_pid(&self) -> Option<u32> {
        self.adapter_pid
    }

    /// Every pid the session knows of now (adapter, its descendants, debuggee).
    pub fn pids(&mut self) -> Vec<u32> {
        self.drain();
        self.refresh_descendants();
        self.known_pids.clone()
    }

    fn refresh_descendants(&mut self) {
        if let Some(pid) = self.adapter_pid {
            for d in procs::descendants(pid) {
                if !self.known_pids.contains(&d) {
                    self.known_pids.push(d);
                }
            }
        }
        for pid in self.client.spawned_pids() {
            if !self.known_pids.contains(&pid) {
                self.known_pids.push(pid);
            }
        }
    }

    /// The exit code, once the debuggee has exited.
    pub fn exit_code(&self) -> Option<i64> {
        self.exit_code
    }

    /// What the adapter printed on stderr.
    pub fn adapter_stderr(&self) -> String {
        self.client.stderr()
    }

    /// The underlying client, for requests the session has no method for.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits for the next stop and collects the `stopped` events of the same stop.
    pub async fn wait_for_stop(&mut self, timeout: Duration) -> Result<StopOutcome, SessionError> {
        self.forget_stacks();
        let deadline = Instant::now() + timeout;
        let mut stop = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Event::Stopped(s))) => break Stop::from_event(&s),
                Ok(Some(ev)) => {
                    self.absorb(&ev);
                    if self.ended {
                        return Ok(StopOutcome::Exited {
                            exit_code: self.exit_code,
                        });
                    }
                }
                Ok(None) => return Err(self.gone("a stop")),
                Err(_) => {
                    return Err(SessionError::Timeout {
                        what: "the program to stop".into(),
                        after: timeout,
                    })
                }
            }
        };
        // Several threads stop at once and each may get its own event. They come in one
        // burst (measured on lldb-dap 22: every later event of a stop within 1 ms of the
        // first), so the stop is complete after a short quiet, bounded by `stop_tail`.
        let tail = Instant::now() + self.timeouts.stop_tail;
        let mut quiet = Instant::now() + self.timeouts.stop_quiet;
        loop {
            let left = quiet.min(tail).saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Event::Stopped(s))) => {
                    stop.merge(&s);
                    quiet = Instant::now() + self.timeouts.stop_quiet;
                }
                Ok(Some(ev)) => self.absorb(&ev),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(StopOutcome::Stopped(stop))
    }

    /// Waits for a stop and fails if the program exits instead.
    pub async fn expect_stop(&mut self, timeout: Duration) -> Result<Stop, SessionError> {
        match self.wait_for_stop(timeout).await? {
            StopOutcome::Stopped(s) => Ok(s),
            StopOutcome::Exited { exit_code } => Err(SessionError::Exited {
                what: "a stop".into(),
                exit_code,
            }),
        }
    }

    /// Waits until the debuggee exits.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Result<Option<i64>, SessionError> {
        let deadline = Instant::now() + timeout;
        while !self.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(ev)) => self.absorb(&ev),
                Ok(None) => return Err(self.gone("the program to exit")),
                Err(_) => {
                    return Err(SessionError::Timeout {
                        what: "the program to exit".into(),
                        after: timeout,
                    })
                }
            }
        }
        Ok(self.exit_code)
    }

    pub async fn threads(&self) -> Result<Vec<ThreadInfo>, SessionError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Body {
            threads: Vec<dap::types::Thread>,
        }
        let body: Body = self.client.call_as(protocol::threads()).await?;
        Ok(body
            .threads
            .into_iter()
            .map(|t| ThreadInfo {
                id: t.id,
                name: self.dialect.thread_name(&t.name),
                raw_name: t.name,
            })
            .collect())
    }

    /// The top `levels` frames of a thread.
    pub async fn stack(&self, thread_id: i64, levels: i64) -> Result<Vec<Frame>, SessionError> {
        #[derive(Deserialize, Default)]
        #[serde(default, rename_all = "camelCase")]
        struct Body {
            stack_frames: Vec<Frame>,
        }
        if let Some(frames) = self.known_stack(thread_id, levels) {
            return Ok(frames);
        }
        let body: Body = self
            .client
            .call_as(protocol::stack_trace(thread_id, levels))
            .await?;
        let frames: Vec<Frame> = body
            .stack_frames
            .into_iter()
            .map(|mut f| {
                f.name = self.dialect.frame_name(&f.name);
                f
            })
            .collect();
        if let Ok(mut known) = self.stacks.lock() {
            known.insert(thread_id, (levels, frames.clone()));
        }
        Ok(frames)
    }

    /// The top `levels` frames of a thread, if a stack asked since the program last moved
    /// holds them: as many levels or more, or the whole stack.
    fn known_stack(&self, thread_id: i64, levels: i64) -> Option<Vec<Frame>> {
        let known = self.stacks.lock().ok()?;
        let (asked, frames) = known.get(&thread_id)?;
        // DAP: `levels` 0 (or less) asks for the whole stack.
        let whole = *asked <= 0 || (frames.len() as i64) < *asked;
        let enough = whole || (levels > 0 && *asked >= levels);
        enough.then(|| {
            let n = usize::try_from(levels).ok().filter(|&n| n > 0);
            frames
                .iter()
                .take(n.unwrap_or(usize::MAX))
                .cloned()
                .collect()
        })
    }

    /// The program moves (or may have): every stack known so far is stale.
    fn forget_stacks(&self) {
        if let Ok(mut known) = self.stacks.lock() {
            known.clear();
        }
    }

    pub async fn scopes(&self, frame_id: i64) -> Result<Vec<Scope>, SessionError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Body {
            scopes: Vec<Scope>,
        }
        let body: Body = self.client.call_as(protocol::scopes(frame_id)).await?;
        Ok(body.scopes)
    }

    pub async fn variables(&self, reference: i64) -> Result<Vec<Variable>, SessionError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Body {
            variables: Vec<Variable>,
        }
        let body: Body = self.client.call_as(protocol::variables(reference)).await?;
        Ok(body.variables)
    }

    /// The locals of a frame (the first scope, which every adapter makes the locals).
    pub async fn locals(&self, frame_id: i64) -> Result<Vec<Variable>, SessionError> {
        let scopes = self.scopes(frame_id).await?;
        let Some(scope) = scopes
            .iter()
            .find(|s| s.name.starts_with("Local"))
            .or(scopes.first())
        else {
            return Ok(Vec::new());
        };
        self.variables(scope.variables_reference).await
    }

    /// Evaluates an expression as a watch in `frame_id`.
    pub async fn evaluate(
        &self,
        expression: &str,
        frame_id: Option<i64>,
    ) -> Result<Evaluated, SessionError> {
        Ok(self
            .client
            .call_as(protocol::evaluate(expression, frame_id, EvalContext::Watch))
            .await?)
    }

    /// Evaluates a line typed into the debug console (the REPL context) in `frame_id`, as
    /// written: the caller spells it in the dialect's console syntax.
    pub async fn console(&self, text: &str, frame_id: Option<i64>) -> Result<Value, SessionError> {
        Ok(self
            .client
            .call(protocol::evaluate(text, frame_id, EvalContext::Repl))
            .await?)
    }

    /// Reads a global (`scenarios::thread::_shutdown`) in this adapter's dialect.
    pub async fn read_global(
        &self,
        path: &str,
        frame_id: Option<i64>,
    ) -> Result<Evaluated, SessionError> {
        self.evaluate(path, frame_id).await
    }

    /// Reads an `AtomicBool` global as `true`/`false`.
    pub async fn read_atomic_bool(
        &self,
        path: &str,
        frame_id: Option<i64>,
    ) -> Result<Evaluated, SessionError> {
        self.evaluate(&self.dialect.atomic_bool_expr(path), frame_id)
            .await
    }

    /// Resumes the program (every thread, on every adapter we drive).
    pub async fn continue_(&mut self, thread_id: i64) -> Result<(), SessionError> {
        self.drain();
        self.forget_stacks();
        self.client
            .call(protocol::motion(Motion::Continue, thread_id))
            .await?;
        Ok(())
    }

    /// Steps `thread_id`. A step over a call that blocks forever never stops: after
    /// `timeout` the program is paused and the outcome says where each thread blocks.
    pub async fn step(
        &mut self,
        thread_id: i64,
        kind: StepKind,
        timeout: Duration,
    ) -> Result<StepOutcome, SessionError> {
        self.drain();
        self.forget_stacks();
        self.client
            .call(protocol::motion(kind.motion(), thread_id))
            .await?;
        match self.wait_for_stop(timeout).await {
            Ok(StopOutcome::Stopped(s)) => Ok(StepOutcome::Stopped(s)),
            Ok(StopOutcome::Exited { exit_code }) => Ok(StepOutcome::Exited { exit_code }),
            Err(SessionError::Timeout { .. }) => {
                let pause = self.pause(thread_id).await?;
                let threads = self.where_threads_are(50).await?;
                Ok(StepOutcome::Blocked {
                    after: timeout,
                    pause,
                    threads,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Sends a resuming request (`continue`, `next`, `stepIn`, `stepOut`) for `thread_id`
    /// without waiting for where it lands: the caller watches for the stop, the exit or a hang.
    pub async fn resume(&mut self, motion: Motion, thread_id: i64) -> Result<(), SessionError> {
        self.drain();
        self.forget_stacks();
        self.client
            .call(protocol::motion(motion, thread_id))
            .await?;
        Ok(())
    }

    /// Replaces the source breakpoints of one file (DAP `setBreakpoints` sets a file's whole
    /// list at once).
    pub async fn set_breakpoints(
        &mut self,
        path: &std::path::Path,
        lines: &[i64],
    ) -> Result<Vec<BreakpointResult>, SessionError> {
        let body = self
            .client
            .call(protocol::set_breakpoints(path, lines))
            .await?;
        Ok(parse_breakpoints(&body))
    }

    /// Replaces the exception breakpoints with `arguments` in the dialect's own form.
    pub async fn set_exception_breakpoints(
        &mut self,
        arguments: Value,
    ) -> Result<(), SessionError> {
        self.client
            .call(protocol::set_exception_breakpoints(arguments))
            .await?;
        Ok(())
    }

    /// Why a thread stopped, as the adapter knows it now (`exceptionInfo`): the
    /// `exceptionId` and `description`, for adapters that name one thread per stop.
    pub async fn exception_info(&self, thread_id: i64) -> Result<Value, SessionError> {
        Ok(self
            .client
            .call(protocol::exception_info(thread_id))
            .await?)
    }

    /// Replaces every function breakpoint.
    pub async fn set_function_breakpoints(
        &mut self,
        names: &[String],
    ) -> Result<Vec<BreakpointResult>, SessionError> {
        let body = self
            .client
            .call(protocol::set_function_breakpoints(names))
            .await?;
        Ok(parse_breakpoints(&body))
    }

    /// Pauses the program and returns the stop with the reason the adapter gave. `None`
    /// when the adapter sent no `stopped` event (debugpy on threads blocked in C lock
    /// acquires); `threads` and `stackTrace` still answer then.
    pub async fn pause(&mut self, thread_id: i64) -> Result<Option<Stop>, SessionError> {
        self.drain();
        self.forget_stacks();
        self.client
            .call(protocol::motion(Motion::Pause, thread_id))
            .await?;
        self.stop_after_pause().await
    }

    /// The stop a pause (or SIGSTOP) leads to, `None` if none comes within the pause timeout.
    async fn stop_after_pause(&mut self) -> Result<Option<Stop>, SessionError> {
        match self.wait_for_stop(self.timeouts.pause).await {
            Ok(StopOutcome::Stopped(s)) => Ok(Some(s)),
            Ok(StopOutcome::Exited { exit_code }) => Err(SessionError::Exited {
                what: "a pause".into(),
                exit_code,
            }),
            Err(SessionError::Timeout { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stops a program that dapwalk found hung, to show its stacks: by sending the debuggee
    /// SIGSTOP where the dialect stops as quickly that way ([`Dialect::halts_by_signal`]:
    /// lldb-dap reports the same "signal SIGSTOP" stop as for its `pause`, ~15 ms after the
    /// signal instead of ~115 ms after the request), else, or if no stop follows, by `pause`.
    /// Only a debuggee this session started is signalled (a replayed recording names pids of
    /// another machine).
    pub async fn halt(&mut self, thread_id: i64) -> Result<Option<Stop>, SessionError> {
        self.drain();
        let pid = self.debuggee_pid.filter(|&p| {
            self.dialect.halts_by_signal() && self.born.is_some_and(|b| procs::started_since(p, b))
        });
        if let Some(pid) = pid {
            self.forget_stacks();
            let sent = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGSTOP,
            );
            if sent.is_ok() {
                if let Some(stop) = self.stop_after_pause().await? {
                    return Ok(Some(stop));
                }
            }
        }
        self.pause(thread_id).await
    }

    /// Every thread with its top `levels` frames.
    pub async fn where_threads_are(&self, levels: i64) -> Result<Vec<ThreadReport>, SessionError> {
        let mut out = Vec::new();
        for thread in self.threads().await? {
            let frames = self.stack(thread.id, levels).await?;
            out.push(ThreadReport { thread, frames });
        }
        Ok(out)
    }

    /// Ends the session and leaves nothing behind: `disconnect {terminateDebuggee}`, close
    /// the adapter's stdin, give it a moment to exit, then kill whatever still runs (the
    /// adapter's process group, its descendants, the debuggee by pid).
    pub async fn end(self) -> Teardown {
        self.end_then(Box::new(|| {})).await
    }

    /// Like [`Session::end`], calling `killed` once everything has been sent its SIGKILL and
    /// before waiting for it all to be gone (lldb-dap takes ~25 ms to exit): the scheduler
    /// lets the next walkthrough start meanwhile.
    pub async fn end_then(mut self, killed: Box<dyn FnOnce() + Send + '_>) -> Teardown {
        let mut report = Teardown::default();
        self.drain();
        self.refresh_descendants();
        let adapter_alive = self.client.closed_reason().is_none();
        let mut disconnected = false;
        if adapter_alive {
            match self
                .client
                .call_within(protocol::disconnect(true), self.timeouts.teardown)
                .await
            {
                Ok(_) => disconnected = true,
                Err(e) => report.disconnect_error = Some(e.to_string()),
            }
        }
        self.drain();
        self.refresh_descendants();
        self.client.close();
        if let Some(child) = self.child.as_mut() {
            // A TCP adapter's stdin is still ours: closing it is how it learns to exit.
            drop(child.stdin.take());
            // An adapter that answered `disconnect` has ended the debuggee and has nothing
            // left to say: it is killed at once (lldb-dap took 30-270 ms more to exit by
            // itself). One that did not answer gets the time to exit on its own.
            if !disconnected {
                let _ = tokio::time::timeout(self.timeouts.teardown, child.wait()).await;
            }
        }
        report.pids = self.known_pids.clone();
        report.killed = self.kill_everything();
        killed();
        if let Some(child) = self.child.as_mut() {
            // Collect the exit status so no zombie of ours stays in the table.
            let _ = tokio::time::timeout(self.timeouts.teardown, child.wait()).await;
        }
        // The debuggee may take a moment to vanish after SIGKILL (its tracer must let go).
        let deadline = Instant::now() + self.timeouts.teardown;
        while report.pids.iter().any(|&p| procs::alive(p)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        report
    }

    /// Kills every known process that still runs; returns which ones it had to kill.
    fn kill_everything(&mut self) -> Vec<u32> {
        self.torn_down = true;
        self.refresh_descendants();
        kill_all(
            self.adapter_pid,
            &mut self.known_pids,
            self.session_mark.as_deref(),
        )
    }
}

/// An adapter process started as a session starts its own, with its DAP connection.
struct Spawned {
    child: tokio::process::Child,
    pid: Option<u32>,
    mark: String,
    reader: Box<dyn tokio::io::AsyncRead + Unpin + Send>,
    writer: Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
}

/// Starts `adapter` in its own process group, marked with a fresh session mark, and
/// connects to it (its stdio, or its TCP port within `connect_timeout`).
async fn spawn(adapter: &Adapter, connect_timeout: Duration) -> Result<Spawned, SessionError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mark = NEXT
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string();
    let mut cmd = tokio::process::Command::new(&adapter.program);
    cmd.args(&adapter.args)
        // Every process of the session inherits it, so teardown finds the debuggee even
        // when the adapter died before naming it.
        .env(crate::os::run::SESSION_VAR, &mark)
        // The program inherits the adapter's environment. Variables that decide the
        // scenarios' races come only from the walkthrough, never from the user's shell.
        .env_remove("PYTHONUNBUFFERED")
        .env_remove("PYTHON_GIL")
        .env_remove("ALWAYS_DEADLOCK_SLEEP")
        .envs(adapter.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so that teardown can kill helpers that stay in it.
        .process_group(0);
    cmd.stdout(match adapter.connect {
        Connect::Stdio => Stdio::piped(),
        Connect::Tcp { .. } => Stdio::null(),
    });
    let mut child = cmd.spawn().map_err(|source| SessionError::Spawn {
        program: adapter.program.clone(),
        source,
    })?;
    let pid = child.id();
    let (reader, writer): (
        Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box<dyn tokio::io::AsyncWrite + Unpin + Send>,
    ) = match &adapter.connect {
        Connect::Stdio => match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => (Box::new(stdout), Box::new(stdin)),
            _ => {
                return Err(SessionError::Spawn {
                    program: adapter.program.clone(),
                    source: std::io::Error::other("no stdio pipes"),
                })
            }
        },
        Connect::Tcp { port } => {
            let addr = format!("127.0.0.1:{port}");
            match crate::dap::transport::connect_tcp(&addr, connect_timeout).await {
                // Stdin stays with the child for the adapter's lifetime (some exit when it
                // closes): teardown closes it.
                Ok(stream) => {
                    let (r, w) = stream.into_split();
                    (Box::new(r), Box::new(w))
                }
                Err(e) => {
                    if let Some(pid) = pid {
                        procs::kill_group(pid);
                    }
                    return Err(e.into());
                }
            }
        }
    };
    Ok(Spawned {
        child,
        pid,
        mark,
        reader,
        writer,
    })
}

/// An adapter process for a caller that speaks DAP with it itself (the coach, which forwards
/// an editor's messages): started like a session's, and ended like one — its process group,
/// its descendants, the pids it was told of and whatever bears its mark — by [`end`] or,
/// failing that, on drop.
///
/// [`end`]: AdapterProcess::end
pub struct AdapterProcess {
    child: tokio::process::Child,
    pid: Option<u32>,
    mark: String,
    born: Option<u64>,
    known: Vec<u32>,
    torn_down: bool,
    /// The adapter's DAP output; taken by the caller.
    pub reader: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>,
    /// The adapter's DAP input; taken by the caller.
    pub writer: Option<Box<dyn tokio::io::AsyncWrite + Unpin + Send>>,
    /// What the adapter prints on stderr; taken by the caller.
    pub stderr: Option<tokio::process::ChildStderr>,
}

impl AdapterProcess {
    /// Starts `adapter`; a TCP adapter must accept within `connect_timeout`.
    pub async fn spawn(
        adapter: &Adapter,
        connect_timeout: Duration,
    ) -> Result<AdapterProcess, SessionError> {
        let born = procs::ticks_since_boot();
        let mut s = spawn(adapter, connect_timeout).await?;
        let stderr = s.child.stderr.take();
        Ok(AdapterProcess {
            child: s.child,
            pid: s.pid,
            mark: s.mark,
            born,
            known: s.pid.into_iter().collect(),
            torn_down: false,
            reader: Some(s.reader),
            writer: Some(s.writer),
            stderr,
        })
    }

    /// The adapter's pid.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Takes `pid` (a debuggee the adapter named) as this process's to end, if it started
    /// after the adapter did.
    pub fn note_pid(&mut self, pid: u32) {
        let ours = self.born.is_some_and(|b| procs::started_since(pid, b));
        if ours && !self.known.contains(&pid) {
            self.known.push(pid);
        }
    }

    /// Every pid known now: the adapter, its descendants, the pids it was told of.
    pub fn pids(&mut self) -> Vec<u32> {
        if let Some(pid) = self.pid {
            for d in procs::descendants(pid) {
                if !self.known.contains(&d) {
                    self.known.push(d);
                }
            }
        }
        self.known.clone()
    }

    /// Gives the adapter `grace` to exit by itself (its stdin closed: the caller has sent
    /// `disconnect`, or cannot), then kills whatever of it still runs.
    pub async fn end(mut self, grace: Duration) -> Teardown {
        let mut report = Teardown {
            pids: self.pids(),
            ..Teardown::default()
        };
        drop(self.writer.take());
        drop(self.child.stdin.take());
        let _ = tokio::time::timeout(grace, self.child.wait()).await;
        self.torn_down = true;
        report.pids = self.pids();
        report.killed = kill_all(self.pid, &mut self.known, Some(&self.mark));
        let _ = tokio::time::timeout(grace, self.child.wait()).await;
        report.pids = self.known.clone();
        let deadline = Instant::now() + grace;
        while report.pids.iter().any(|&p| procs::alive(p)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        report
    }
}

impl Drop for AdapterProcess {
    /// Dropped without `end` (Ctrl-C cancelling the future that held it): still kills
    /// everything it started.
    fn drop(&mut self) {
        if !self.torn_down {
            self.pids();
            kill_all(self.pid, &mut self.known, Some(&self.mark));
        }
    }
}

/// Kills the process group `pgid`, every pid of `known` that still runs and every process
/// bearing the session `mark` (adding those to `known`); returns which ones it had to kill.
fn kill_all(pgid: Option<u32>, known: &mut Vec<u32>, mark: Option<&str>) -> Vec<u32> {
    let mut killed = Vec::new();
    if let Some(pgid) = pgid {
        if procs::alive(pgid) {
            killed.push(pgid);
        }
        procs::kill_group(pgid);
    }
    for &pid in known.iter() {
        if procs::alive(pid) {
            procs::kill(pid);
            if !killed.contains(&pid) {
                killed.push(pid);
            }
        }
    }
    // What the pids above miss: a debuggee whose adapter died before naming it, after
    // the tree that led to it broke. It still bears the session's mark.
    if let (Some(run), Some(session)) = (crate::os::run::mark(), mark) {
        for pid in crate::os::run::marked(&run, Some(session)) {
            procs::kill(pid);
            if !known.contains(&pid) {
                let name = procs::info(pid).map(|p| p.cmdline).unwrap_or_default();
                eprintln!(
                    "dapwalk: killed pid {pid} ({name}), which the adapter had not named; found by its mark"
                );
                known.push(pid);
            }
            if !killed.contains(&pid) {
                killed.push(pid);
            }
        }
    }
    reap(&killed);
    killed
}

impl Drop for Session {
    /// A session dropped without `end` (an error, a panic, Ctrl-C cancelling the future)
    /// still kills what it started.
    fn drop(&mut self) {
        if !self.torn_down {
            self.drain();
            self.client.close();
            self.kill_everything();
        }
    }
}

/// Collects the exit status of those of `pids` that were orphans reparented to dapwalk (its
/// subreaper role), so that they leave no zombie. The adapter, tokio's child, is skipped
/// by the caller's `wait`; waiting on a pid that is not our child fails harmlessly.
fn reap(pids: &[u32]) {
    let me = std::process::id();
    for &pid in pids {
        let orphan = procs::info(pid).is_some_and(|p| p.ppid == me && p.state == 'Z');
        if orphan {
            if let Ok(raw) = i32::try_from(pid) {
                let _ = nix::sys::wait::waitpid(
                    nix::unistd::Pid::from_raw(raw),
                    Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                );
            }
        }
    }
}

/// A signal that ends a run the way Ctrl-C does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("interrupted (SIGINT)")]
    Int,
    #[error("terminated (SIGTERM)")]
    Term,
    #[error("hung up (SIGHUP)")]
    Hup,
}

impl Interrupted {
    /// The signal's number (the shell's exit code for it is 128 plus this).
    pub fn number(self) -> i32 {
        match self {
            Interrupted::Int => 2,
            Interrupted::Term => 15,
            Interrupted::Hup => 1,
        }
    }

    /// The signal with that number, if it is one of the three.
    pub fn from_number(n: i32) -> Option<Interrupted> {
        [Interrupted::Int, Interrupted::Term, Interrupted::Hup]
            .into_iter()
            .find(|s| s.number() == n)
    }
}

/// SIGINT, SIGTERM and SIGHUP, watched from the moment this is made: one that arrives
/// before [`until_signal`] runs (while walkthroughs load or the programs build) is kept and
/// ends the run as soon as it starts, instead of killing dapwalk where it stands.
pub struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Starts watching; call it inside a tokio runtime. A signal that cannot be watched
    /// keeps its default action (death), which the run's guardian still cleans up after.
    pub fn watch() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }
}

/// Runs `work` until it finishes or SIGINT, SIGTERM or SIGHUP arrives (or arrived since
/// `signals` was made). On a signal the future is dropped, and with it every [`Session`] it
/// holds, whose `Drop` kills adapter, helpers and debuggee.
pub async fn until_signal<F: std::future::Future>(
    signals: &mut Signals,
    work: F,
) -> Result<F::Output, Interrupted> {
    async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    tokio::select! {
        // A signal already received wins over work that could also finish at once.
        biased;
        _ = next(&mut signals.int) => Err(Interrupted::Int),
        _ = next(&mut signals.term) => Err(Interrupted::Term),
        _ = next(&mut signals.hup) => Err(Interrupted::Hup),
        out = work => Ok(out),
    }
}
