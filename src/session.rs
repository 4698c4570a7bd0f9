//! One debug session from start to teardown: the handshake that works on lldb-dap, CodeLLDB
//! and debugpy, grouped stops, steps that never land, and a teardown that leaves no adapter,
//! debuggee or helper process behind, whichever way the session ends.

use crate::adapters::{Adapter, AdapterError, AdapterKind, Connect, LaunchTarget};
use crate::client::{args, Client, Event, Events, RequestError, Stopped};
use crate::procs;
use crate::transport::TransportError;
use serde::Deserialize;
use serde_json::{json, Value};
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
    #[error("the adapter went away while waiting for {what}: {reason}{}", stderr_tail(.stderr))]
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

fn stderr_tail(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        "; it printed nothing on stderr".into()
    } else {
        format!("; its stderr ends with:\n{t}")
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
    /// After the first `stopped` event, how long to keep collecting the others of the same
    /// stop (lldb-dap sends one per thread).
    pub stop_tail: Duration,
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

/// What the adapter said about one breakpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BreakpointResult {
    pub id: Option<i64>,
    pub verified: bool,
    pub line: Option<i64>,
    pub message: Option<String>,
}

/// A thread, with its name as the program named it (adapter decorations removed).
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadInfo {
    pub id: i64,
    pub name: String,
    pub raw_name: String,
}

/// The source of a frame.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct FrameSource {
    pub name: Option<String>,
    pub path: Option<String>,
    pub source_reference: Option<i64>,
    /// lldb-dap marks sources without a file (`module`symbol` pseudo-paths) `deemphasize`.
    /// Kept as text: the `dap` crate's enum spells it `deEmphasize` and would reject it.
    pub presentation_hint: Option<String>,
}

/// A stack frame. Parsed leniently: adapters add fields, and CodeLLDB's disassembly frames
/// carry no path.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Frame {
    pub id: i64,
    /// The name with adapter noise removed (e.g. the `::h<hash>` of legacy Rust mangling).
    pub name: String,
    pub source: Option<FrameSource>,
    pub line: i64,
    pub column: i64,
    pub presentation_hint: Option<String>,
}

impl Frame {
    pub fn path(&self) -> Option<&str> {
        self.source.as_ref()?.path.as_deref()
    }

    /// The file name of the frame's source, if it has one on disk.
    pub fn file_name(&self) -> Option<&str> {
        self.path().and_then(|p| p.rsplit('/').next())
    }

    /// A frame in the program being debugged, not the toolchain's or the system's library.
    pub fn is_user_frame(&self) -> bool {
        if matches!(self.presentation_hint.as_deref(), Some("subtle" | "label")) {
            return false;
        }
        let Some(source) = &self.source else {
            return false;
        };
        // A source the adapter serves itself (disassembly, `module`symbol`) is no file of
        // the program's.
        if source.source_reference.unwrap_or(0) > 0
            || source.presentation_hint.as_deref() == Some("deemphasize")
        {
            return false;
        }
        let Some(path) = source.path.as_deref() else {
            return false;
        };
        let system = [
            "/rustc/",
            "/usr/",
            "/.cargo/registry/",
            "/.rustup/",
            "/lib/python",
            "/site-packages/",
            "<frozen",
        ];
        path.starts_with('/') && !path.contains('`') && !system.iter().any(|s| path.contains(s))
    }
}

/// A scope of a frame.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Scope {
    pub name: String,
    pub variables_reference: i64,
    pub expensive: bool,
}

/// A variable (or a child of one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Variable {
    pub name: String,
    pub value: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub variables_reference: i64,
    pub evaluate_name: Option<String>,
}

/// The result of an `evaluate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Evaluated {
    pub result: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub variables_reference: i64,
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
    pub fn command(self) -> &'static str {
        match self {
            StepKind::Over => "next",
            StepKind::In => "stepIn",
            StepKind::Out => "stepOut",
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

/// A running debug session.
pub struct Session {
    pub kind: AdapterKind,
    client: Client,
    events: Events,
    child: Option<tokio::process::Child>,
    adapter_pid: Option<u32>,
    debuggee_pid: Option<u32>,
    known_pids: Vec<u32>,
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
        let mut cmd = tokio::process::Command::new(&adapter.program);
        cmd.args(&adapter.args)
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
        let adapter_pid = child.id();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (client, events) = match (&adapter.connect, stdin, stdout) {
            (Connect::Stdio, Some(stdin), Some(stdout)) => {
                Client::start(stdout, stdin, timeouts.request)
            }
            (Connect::Tcp { port }, stdin, _) => {
                let addr = format!("127.0.0.1:{port}");
                let stream = match crate::transport::connect_tcp(&addr, timeouts.request).await {
                    Ok(s) => s,
                    Err(e) => {
                        if let Some(pid) = adapter_pid {
                            procs::kill_group(pid);
                        }
                        return Err(e.into());
                    }
                };
                let (r, w) = stream.into_split();
                let started = Client::start(r, w, timeouts.request);
                // Keep stdin open for the adapter's lifetime (some exit when it closes): the
                // child keeps it, and teardown closes it.
                child.stdin = stdin;
                started
            }
            _ => {
                return Err(SessionError::Spawn {
                    program: adapter.program.clone(),
                    source: std::io::Error::other("no stdio pipes"),
                })
            }
        };
        if let Some(stderr) = stderr {
            client.collect_stderr(stderr);
        }
        Session::handshake(
            adapter,
            client,
            events,
            Some(child),
            adapter_pid,
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
            launch_args,
            breakpoints,
            timeouts,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    #[allow(deprecated)] // `lines` is a deprecated member of the dap crate's struct; we leave it unset.
    async fn handshake(
        adapter: &Adapter,
        client: Client,
        events: Events,
        child: Option<tokio::process::Child>,
        adapter_pid: Option<u32>,
        launch_args: Value,
        breakpoints: &Breakpoints,
        timeouts: Timeouts,
    ) -> Result<Session, SessionError> {
        let mut s = Session {
            kind: adapter.kind,
            client,
            events,
            child,
            adapter_pid,
            debuggee_pid: None,
            known_pids: adapter_pid.into_iter().collect(),
            capabilities: Value::Null,
            breakpoints: Vec::new(),
            output: String::new(),
            stdout: String::new(),
            stderr: String::new(),
            exit_code: None,
            ended: false,
            torn_down: false,
            timeouts,
        };
        // On any failure below, dropping `s` kills what was started.
        s.capabilities = s
            .client
            .request("initialize", Some(adapter.initialize_arguments()))
            .await?;
        // The launch response comes only after configurationDone on all three adapters, so
        // it is sent now and awaited last (DAP specification, "Launch Sequencing").
        let launch = s.client.send("launch", Some(launch_args));
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
            let a = dap::requests::SetBreakpointsArguments {
                source: dap::types::Source {
                    name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    path: Some(path.display().to_string()),
                    ..Default::default()
                },
                breakpoints: Some(
                    lines
                        .iter()
                        .map(|&line| dap::types::SourceBreakpoint {
                            line,
                            ..Default::default()
                        })
                        .collect(),
                ),
                lines: None,
                source_modified: None,
            };
            let body = s.client.request("setBreakpoints", args(&a)).await?;
            s.breakpoints.extend(parse_breakpoints(&body));
        }
        if !breakpoints.functions.is_empty() {
            let a = dap::requests::SetFunctionBreakpointsArguments {
                breakpoints: breakpoints
                    .functions
                    .iter()
                    .map(|name| dap::types::FunctionBreakpoint {
                        name: name.clone(),
                        condition: None,
                        hit_condition: None,
                    })
                    .collect(),
            };
            let body = s.client.request("setFunctionBreakpoints", args(&a)).await?;
            s.breakpoints.extend(parse_breakpoints(&body));
        }
        if let Some(exceptions) = &breakpoints.exceptions {
            s.client
                .request("setExceptionBreakpoints", Some(exceptions.clone()))
                .await?;
        }
        s.client.request("configurationDone", None).await?;
        // lldb-dap answers the first `threads` with a list cached at launch; one throw-away
        // request (as VS Code sends) makes later ones current. Its answer does not matter.
        let _ = s.client.request("threads", None).await;
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
                    // CodeLLDB sends no `process` event: its console names the pid.
                    if let Some(pid) = procs::pid_in_console_text(output) {
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
        if !self.known_pids.contains(&pid) {
            self.known_pids.push(pid);
        }
    }

    /// Handles events already received without waiting.
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
        // Several threads stop at once and each may get its own event.
        let tail = Instant::now() + self.timeouts.stop_tail;
        loop {
            let left = tail.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(Event::Stopped(s))) => stop.merge(&s),
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
        let body: Body = self.client.request_as("threads", None).await?;
        Ok(body
            .threads
            .into_iter()
            .map(|t| ThreadInfo {
                id: t.id,
                name: self.kind.thread_name(&t.name),
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
        let a = dap::requests::StackTraceArguments {
            thread_id,
            start_frame: Some(0),
            levels: Some(levels),
            format: None,
        };
        let body: Body = self.client.request_as("stackTrace", args(&a)).await?;
        Ok(body
            .stack_frames
            .into_iter()
            .map(|mut f| {
                f.name = self.kind.frame_name(&f.name);
                f
            })
            .collect())
    }

    pub async fn scopes(&self, frame_id: i64) -> Result<Vec<Scope>, SessionError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Body {
            scopes: Vec<Scope>,
        }
        let body: Body = self
            .client
            .request_as("scopes", Some(json!({ "frameId": frame_id })))
            .await?;
        Ok(body.scopes)
    }

    pub async fn variables(&self, reference: i64) -> Result<Vec<Variable>, SessionError> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Body {
            variables: Vec<Variable>,
        }
        let body: Body = self
            .client
            .request_as(
                "variables",
                Some(json!({ "variablesReference": reference })),
            )
            .await?;
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
        let mut a = json!({ "expression": expression, "context": "watch" });
        if let Some(f) = frame_id {
            a["frameId"] = json!(f);
        }
        Ok(self.client.request_as("evaluate", Some(a)).await?)
    }

    /// Reads a global (`scenarios::thread::_shutdown`) in this adapter's dialect.
    pub async fn read_global(
        &self,
        path: &str,
        frame_id: Option<i64>,
    ) -> Result<Evaluated, SessionError> {
        self.evaluate(&self.kind.global_expr(path), frame_id).await
    }

    /// Reads an `AtomicBool` global as `true`/`false`.
    pub async fn read_atomic_bool(
        &self,
        path: &str,
        frame_id: Option<i64>,
    ) -> Result<Evaluated, SessionError> {
        self.evaluate(&self.kind.atomic_bool_expr(path), frame_id)
            .await
    }

    /// Resumes the program (every thread, on every adapter we drive).
    pub async fn continue_(&mut self, thread_id: i64) -> Result<(), SessionError> {
        self.drain_stale_stops();
        self.client
            .request("continue", Some(json!({ "threadId": thread_id })))
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
        self.drain_stale_stops();
        self.client
            .request(kind.command(), Some(json!({ "threadId": thread_id })))
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
    pub async fn resume(&mut self, command: &str, thread_id: i64) -> Result<(), SessionError> {
        self.drain_stale_stops();
        self.client
            .request(command, Some(json!({ "threadId": thread_id })))
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
        let a = json!({
            "source": {
                "name": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "path": path.display().to_string(),
            },
            "breakpoints": lines.iter().map(|l| json!({ "line": l })).collect::<Vec<_>>(),
        });
        let body = self.client.request("setBreakpoints", Some(a)).await?;
        Ok(parse_breakpoints(&body))
    }

    /// Replaces every function breakpoint.
    pub async fn set_function_breakpoints(
        &mut self,
        names: &[String],
    ) -> Result<Vec<BreakpointResult>, SessionError> {
        let a = json!({
            "breakpoints": names.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>(),
        });
        let body = self
            .client
            .request("setFunctionBreakpoints", Some(a))
            .await?;
        Ok(parse_breakpoints(&body))
    }

    /// Pauses the program and returns the stop with the reason the adapter gave. `None`
    /// when the adapter sent no `stopped` event (debugpy on threads blocked in C lock
    /// acquires); `threads` and `stackTrace` still answer then.
    pub async fn pause(&mut self, thread_id: i64) -> Result<Option<Stop>, SessionError> {
        self.drain_stale_stops();
        self.client
            .request("pause", Some(json!({ "threadId": thread_id })))
            .await?;
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

    /// Every thread with its top `levels` frames.
    pub async fn where_threads_are(&self, levels: i64) -> Result<Vec<ThreadReport>, SessionError> {
        let mut out = Vec::new();
        for thread in self.threads().await? {
            let frames = self.stack(thread.id, levels).await?;
            out.push(ThreadReport { thread, frames });
        }
        Ok(out)
    }

    /// Stopped events left from an earlier stop must not answer the next step.
    fn drain_stale_stops(&mut self) {
        while let Ok(ev) = self.events.try_recv() {
            self.absorb(&ev);
        }
    }

    /// Ends the session and leaves nothing behind: `disconnect {terminateDebuggee}`, close
    /// the adapter's stdin, give it a moment to exit, then kill whatever still runs (the
    /// adapter's process group, its descendants, the debuggee by pid).
    pub async fn end(mut self) -> Teardown {
        let mut report = Teardown::default();
        self.drain();
        self.refresh_descendants();
        let adapter_alive = self.client.closed_reason().is_none();
        if adapter_alive {
            let a = json!({ "terminateDebuggee": true });
            if let Err(e) = self
                .client
                .request_within("disconnect", Some(a), self.timeouts.teardown)
                .await
            {
                report.disconnect_error = Some(e.to_string());
            }
        }
        self.drain();
        self.refresh_descendants();
        self.client.close();
        if let Some(child) = self.child.as_mut() {
            // A TCP adapter's stdin is still ours: closing it is how it learns to exit.
            drop(child.stdin.take());
            let _ = tokio::time::timeout(self.timeouts.teardown, child.wait()).await;
        }
        report.pids = self.known_pids.clone();
        report.killed = self.kill_everything();
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
        let mut killed = Vec::new();
        if let Some(pgid) = self.adapter_pid {
            if procs::alive(pgid) {
                killed.push(pgid);
            }
            procs::kill_group(pgid);
        }
        for &pid in &self.known_pids {
            if procs::alive(pid) {
                procs::kill(pid);
                if !killed.contains(&pid) {
                    killed.push(pid);
                }
            }
        }
        killed
    }
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

/// The user pressed Ctrl-C.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Runs `work` until it finishes or Ctrl-C arrives. On Ctrl-C the future is dropped, and
/// with it every [`Session`] it holds, whose `Drop` kills adapter, helpers and debuggee.
pub async fn until_ctrl_c<F: std::future::Future>(work: F) -> Result<F::Output, Interrupted> {
    tokio::select! {
        out = work => Ok(out),
        _ = tokio::signal::ctrl_c() => Err(Interrupted),
    }
}

fn parse_breakpoints(body: &Value) -> Vec<BreakpointResult> {
    body["breakpoints"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| serde_json::from_value(b.clone()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_frames() {
        let f = |p: &str| Frame {
            source: Some(FrameSource {
                path: Some(p.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(f("/work/main/scenarios/src/thread.rs").is_user_frame());
        assert!(!f("/rustc/abc/library/std/src/thread/mod.rs").is_user_frame());
        assert!(!f("/usr/lib/python3.11/threading.py").is_user_frame());
        assert!(!Frame::default().is_user_frame());
    }
}
