//! A Debug Adapter Protocol client: sequence numbers, responses matched to requests,
//! per-request timeouts, the event stream and the adapter's reverse requests.
//!
//! The client owns no process: it talks over any pair of byte streams (an adapter's stdio,
//! a TCP socket, an in-memory pipe in tests). Three tasks do the I/O: a reader that routes
//! what the adapter sends, a writer that frames what we send, and a stderr collector whose
//! tail goes into error messages when the adapter dies.

use super::protocol::Request;
use super::transport::{write_message, FrameReader, TransportError};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::sync::{mpsc, oneshot};

/// How much of the adapter's stderr we keep for error messages (the tail).
const STDERR_TAIL_BYTES: usize = 16 * 1024;

/// Why a request did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("timed out after {}s waiting for {command:?} (seq {seq})", secs(.after))]
    Timeout {
        command: String,
        seq: i64,
        after: Duration,
    },
    #[error("adapter refused {command:?} (seq {seq}): {message}")]
    Failed {
        command: String,
        seq: i64,
        message: String,
    },
    #[error("adapter went away before answering {command:?} (seq {seq}): {reason}{}", stderr_suffix(.stderr))]
    AdapterGone {
        command: String,
        seq: i64,
        reason: String,
        stderr: String,
    },
    #[error("unexpected body in the response to {command:?} (seq {seq}): {detail}")]
    BadBody {
        command: String,
        seq: i64,
        detail: String,
    },
}

fn secs(d: &Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

/// The end of an adapter error message: what the adapter printed on stderr, if anything.
pub(crate) fn stderr_suffix(stderr: &str) -> String {
    let t = stderr.trim();
    if t.is_empty() {
        "; it printed nothing on stderr".to_string()
    } else {
        format!("; its stderr ends with:\n{t}")
    }
}

/// An event from the adapter. The ones the session acts on are typed; every other event
/// (and adapter-specific ones such as CodeLLDB's) is kept whole as `Other`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Initialized,
    Stopped(Stopped),
    Continued {
        thread_id: Option<i64>,
        all_threads: bool,
    },
    /// The debuggee started. lldb-dap and debugpy send it; CodeLLDB does not.
    Process {
        pid: Option<u32>,
        name: String,
    },
    Output {
        category: String,
        output: String,
    },
    Thread {
        reason: String,
        thread_id: i64,
    },
    Exited {
        exit_code: i64,
    },
    Terminated,
    Other {
        name: String,
        body: Value,
    },
}

/// The body of a `stopped` event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stopped {
    pub reason: String,
    pub description: Option<String>,
    pub thread_id: Option<i64>,
    pub all_threads_stopped: bool,
    pub hit_breakpoint_ids: Vec<i64>,
    pub text: Option<String>,
}

impl Event {
    /// Parses an event message leniently: missing or `{}` bodies and unknown fields are fine.
    pub fn from_message(msg: &Value) -> Event {
        let name = msg["event"].as_str().unwrap_or_default().to_string();
        let body = msg.get("body").cloned().unwrap_or(Value::Null);
        let s = |k: &str| body[k].as_str().map(str::to_string);
        match name.as_str() {
            "initialized" => Event::Initialized,
            "stopped" => Event::Stopped(Stopped {
                reason: s("reason").unwrap_or_default(),
                description: s("description"),
                thread_id: body["threadId"].as_i64(),
                all_threads_stopped: body["allThreadsStopped"].as_bool().unwrap_or(false),
                hit_breakpoint_ids: body["hitBreakpointIds"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default(),
                text: s("text"),
            }),
            "continued" => Event::Continued {
                thread_id: body["threadId"].as_i64(),
                all_threads: body["allThreadsContinued"].as_bool().unwrap_or(false),
            },
            "process" => Event::Process {
                pid: body["systemProcessId"]
                    .as_u64()
                    .and_then(|p| u32::try_from(p).ok()),
                name: s("name").unwrap_or_default(),
            },
            "output" => Event::Output {
                category: s("category").unwrap_or_else(|| "console".to_string()),
                output: s("output").unwrap_or_default(),
            },
            "thread" => Event::Thread {
                reason: s("reason").unwrap_or_default(),
                thread_id: body["threadId"].as_i64().unwrap_or_default(),
            },
            "exited" => Event::Exited {
                exit_code: body["exitCode"].as_i64().unwrap_or_default(),
            },
            "terminated" => Event::Terminated,
            _ => Event::Other { name, body },
        }
    }
}

/// The text of a failed response. Adapters disagree on where it goes: the specification's
/// `message`, lldb-dap's `body.error.format` (with `{name}` variables), CodeLLDB's bare
/// `message` with `command: ""`.
pub fn error_message(response: &Value) -> String {
    let err = &response["body"]["error"];
    if let Some(format) = err["format"].as_str() {
        let mut text = format.to_string();
        if let Some(vars) = err["variables"].as_object() {
            for (k, v) in vars {
                let v = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                text = text.replace(&format!("{{{k}}}"), &v);
            }
        }
        return text.trim().to_string();
    }
    match response["message"].as_str() {
        Some(m) if !m.trim().is_empty() => m.trim().to_string(),
        _ => "no reason given".to_string(),
    }
}

/// State shared by the client and its I/O tasks.
#[derive(Default)]
struct Shared {
    pending: Mutex<HashMap<i64, (String, oneshot::Sender<Value>)>>,
    stderr: Mutex<String>,
    /// Why the adapter stream ended, once it has.
    closed: Mutex<Option<String>>,
    /// Pids of programs started for `runInTerminal`: the session kills them at teardown.
    spawned: Mutex<Vec<u32>>,
    /// Whether a stderr collector runs, and its end of file (see [`STDERR_GRACE`]).
    stderr_collected: std::sync::atomic::AtomicBool,
    stderr_done: tokio::sync::Notify,
}

/// How long a dead adapter's stderr may take to reach its end once its DAP stream closed.
/// A dying adapter's last words (its stderr) and the end of its stdout race each other
/// through two pipes; the error message should carry the words, so the reader waits for them
/// briefly before it fails the pending requests.
const STDERR_GRACE: Duration = Duration::from_millis(500);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked while holding it; the data is
    // still the best we have, and refusing it would turn one failure into two.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The receiving end of the adapter's events. `None` means the adapter stream has ended.
pub type Events = mpsc::UnboundedReceiver<Event>;

/// A request that was sent and whose response has not been awaited yet (e.g. `launch`,
/// whose response only comes after `configurationDone`).
pub struct PendingRequest {
    command: String,
    seq: i64,
    rx: oneshot::Receiver<Value>,
    shared: Arc<Shared>,
}

impl PendingRequest {
    pub fn seq(&self) -> i64 {
        self.seq
    }

    /// Waits for the response; on timeout the request is forgotten.
    pub async fn wait(self, timeout: Duration) -> Result<Value, RequestError> {
        let PendingRequest {
            command,
            seq,
            rx,
            shared,
        } = self;
        let response = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => {
                return Err(RequestError::AdapterGone {
                    command,
                    seq,
                    reason: lock(&shared.closed)
                        .clone()
                        .unwrap_or_else(|| "the stream closed".into()),
                    stderr: lock(&shared.stderr).clone(),
                })
            }
            Err(_) => {
                lock(&shared.pending).remove(&seq);
                return Err(RequestError::Timeout {
                    command,
                    seq,
                    after: timeout,
                });
            }
        };
        if response["success"].as_bool() == Some(true) {
            Ok(response.get("body").cloned().unwrap_or(Value::Null))
        } else {
            Err(RequestError::Failed {
                command,
                seq,
                message: error_message(&response),
            })
        }
    }
}

/// A DAP client over one connection.
pub struct Client {
    seq: AtomicI64,
    out: Mutex<Option<mpsc::UnboundedSender<Value>>>,
    shared: Arc<Shared>,
    /// The default per-request timeout.
    pub timeout: Duration,
}

impl Client {
    /// Starts the I/O tasks. Must be called inside a tokio runtime.
    pub fn start<R, W>(reader: R, writer: W, timeout: Duration) -> (Client, Events)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared::default());
        let (out_tx, out_rx) = mpsc::unbounded_channel::<Value>();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel::<Event>();
        tokio::spawn(write_loop(writer, out_rx, shared.clone()));
        tokio::spawn(read_loop(
            FrameReader::new(reader),
            out_tx.downgrade(),
            ev_tx,
            shared.clone(),
        ));
        let client = Client {
            seq: AtomicI64::new(1),
            out: Mutex::new(Some(out_tx)),
            shared,
            timeout,
        };
        (client, ev_rx)
    }

    /// Keeps the tail of what the adapter prints on stderr, for error messages.
    pub fn collect_stderr<E: AsyncRead + Unpin + Send + 'static>(&self, stderr: E) {
        let shared = self.shared.clone();
        shared
            .stderr_collected
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut buf = lock(&shared.stderr);
                buf.push_str(&line);
                buf.push('\n');
                if buf.len() > STDERR_TAIL_BYTES {
                    let mut cut = buf.len() - STDERR_TAIL_BYTES;
                    while !buf.is_char_boundary(cut) {
                        cut += 1;
                    }
                    buf.drain(..cut);
                }
            }
            shared.stderr_done.notify_one();
        });
    }

    /// What the adapter printed on stderr so far (the last 16 KiB).
    pub fn stderr(&self) -> String {
        lock(&self.shared.stderr).clone()
    }

    /// Why the connection ended, if it has.
    pub fn closed_reason(&self) -> Option<String> {
        lock(&self.shared.closed).clone()
    }

    /// Pids started for `runInTerminal` reverse requests.
    pub fn spawned_pids(&self) -> Vec<u32> {
        lock(&self.shared.spawned).clone()
    }

    /// Sends a request without waiting for its response.
    pub fn send(&self, command: &str, arguments: Option<Value>) -> PendingRequest {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        let mut msg = json!({"seq": seq, "type": "request", "command": command});
        if let Some(args) = arguments {
            msg["arguments"] = args;
        }
        lock(&self.shared.pending).insert(seq, (command.to_string(), tx));
        let sent = lock(&self.out)
            .as_ref()
            .map(|out| out.send(msg).is_ok())
            .unwrap_or(false);
        // The reader sets `closed` before it clears the pending map, so a request sent
        // after the stream died is failed here instead of waiting for its timeout.
        if !sent || lock(&self.shared.closed).is_some() {
            // Dropping the sender makes `wait` report the adapter as gone, with the reason.
            lock(&self.shared.pending).remove(&seq);
        }
        PendingRequest {
            command: command.to_string(),
            seq,
            rx,
            shared: self.shared.clone(),
        }
    }

    /// Sends a request and waits for its body, within the default timeout.
    pub async fn request(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Value, RequestError> {
        self.send(command, arguments).wait(self.timeout).await
    }

    /// Sends a request and waits for its body, within `timeout`.
    pub async fn request_within(
        &self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, RequestError> {
        self.send(command, arguments).wait(timeout).await
    }

    /// Sends a request and decodes its body into `T` (an absent body decodes as `{}`).
    pub async fn request_as<T: DeserializeOwned>(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<T, RequestError> {
        let pending = self.send(command, arguments);
        let seq = pending.seq();
        let body = pending.wait(self.timeout).await?;
        let body = if body.is_null() { json!({}) } else { body };
        serde_json::from_value(body).map_err(|e| RequestError::BadBody {
            command: command.to_string(),
            seq,
            detail: e.to_string(),
        })
    }

    /// Sends a built request (see [`super::protocol`]) and waits for its body.
    pub async fn call(&self, r: Request) -> Result<Value, RequestError> {
        self.request(r.command, r.arguments).await
    }

    /// Sends a built request and waits for its body within `timeout`.
    pub async fn call_within(&self, r: Request, timeout: Duration) -> Result<Value, RequestError> {
        self.request_within(r.command, r.arguments, timeout).await
    }

    /// Sends a built request and decodes its body into `T`.
    pub async fn call_as<T: DeserializeOwned>(&self, r: Request) -> Result<T, RequestError> {
        self.request_as(r.command, r.arguments).await
    }

    /// Sends a built request without waiting for its response.
    pub fn send_request(&self, r: Request) -> PendingRequest {
        self.send(r.command, r.arguments)
    }

    /// Closes our side of the stream: the adapter's stdin sees end of file, which is how
    /// CodeLLDB and debugpy learn that the session is over.
    pub fn close(&self) {
        lock(&self.out).take();
    }
}

/// With `DAPWALK_TRACE=FILE`, every message to and from adapters is appended to FILE as one
/// JSON line `{"dir": "out"|"in", "t_ms": ..., "msg": ...}` (the format of the recorded
/// sessions in the shared fixtures), for diagnosing an adapter's behaviour.
fn trace(dir: &str, msg: &Value) {
    use std::io::Write as _;
    static SINK: std::sync::OnceLock<Option<(std::time::Instant, Mutex<std::fs::File>)>> =
        std::sync::OnceLock::new();
    let sink = SINK.get_or_init(|| {
        let path = std::env::var_os("DAPWALK_TRACE")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()?;
        Some((std::time::Instant::now(), Mutex::new(file)))
    });
    if let Some((t0, file)) = sink {
        let line = json!({"dir": dir, "t_ms": t0.elapsed().as_millis() as u64, "msg": msg});
        let _ = writeln!(lock(file), "{line}");
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::UnboundedReceiver<Value>,
    shared: Arc<Shared>,
) {
    while let Some(msg) = rx.recv().await {
        trace("out", &msg);
        if let Err(e) = write_message(&mut writer, &msg).await {
            lock(&shared.closed)
                .get_or_insert_with(|| format!("writing to the adapter failed: {e}"));
            break;
        }
    }
    // Dropping the writer closes the adapter's stdin (or our half of the socket).
    drop(writer);
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: FrameReader<R>,
    out: mpsc::WeakUnboundedSender<Value>,
    events: mpsc::UnboundedSender<Event>,
    shared: Arc<Shared>,
) {
    let reason = loop {
        let msg = match reader.read().await {
            Ok(Some(msg)) => msg,
            Ok(None) => break "the adapter closed its output".to_string(),
            Err(e @ TransportError::Io(_)) => break e.to_string(),
            Err(e) => break format!("the adapter sent a malformed frame: {e}"),
        };
        trace("in", &msg);
        match msg["type"].as_str() {
            Some("response") => {
                let Some(request_seq) = msg["request_seq"].as_i64() else {
                    continue;
                };
                // Responses are matched by `request_seq` only: CodeLLDB answers failed
                // requests with `command: ""`.
                let waiter = lock(&shared.pending).remove(&request_seq);
                if let Some((_, tx)) = waiter {
                    let _ = tx.send(msg);
                }
            }
            Some("event") => {
                let _ = events.send(Event::from_message(&msg));
            }
            Some("request") => {
                let response = answer_reverse_request(&msg, &shared);
                if let Some(out) = out.upgrade() {
                    let _ = out.send(response);
                }
            }
            _ => {}
        }
    };
    if shared
        .stderr_collected
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        // `notify_one` keeps a permit, so an end of file that came first is not missed.
        let _ = tokio::time::timeout(STDERR_GRACE, shared.stderr_done.notified()).await;
    }
    lock(&shared.closed).get_or_insert(reason);
    // Dropping the senders wakes every waiter with "adapter gone".
    lock(&shared.pending).clear();
}

fn answer_reverse_request(msg: &Value, shared: &Shared) -> Value {
    let command = msg["command"].as_str().unwrap_or_default();
    let mut response = json!({
        "type": "response",
        "seq": 0,
        "request_seq": msg["seq"].as_i64().unwrap_or_default(),
        "command": command,
        "success": true,
    });
    let result = match command {
        "runInTerminal" => run_in_terminal(&msg["arguments"]).map(|pid| {
            lock(&shared.spawned).push(pid);
            json!({ "processId": pid })
        }),
        // A child session would need its own adapter connection; the walkthroughs never
        // need one, so we say no instead of leaving the adapter waiting.
        "startDebugging" => Err("dapwalk does not start child debug sessions".to_string()),
        other => Err(format!(
            "dapwalk does not handle the reverse request {other:?}"
        )),
    };
    match result {
        Ok(body) => response["body"] = body,
        Err(message) => {
            response["success"] = json!(false);
            response["message"] = json!(message);
        }
    }
    response
}

/// Runs the command of a `runInTerminal` request for real, without a terminal: the
/// program's output goes nowhere, its pid goes back to the adapter.
fn run_in_terminal(arguments: &Value) -> Result<u32, String> {
    let argv: Vec<String> = arguments["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let (program, rest) = argv
        .split_first()
        .ok_or_else(|| "runInTerminal without a command".to_string())?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(cwd) = arguments["cwd"].as_str().filter(|c| !c.is_empty()) {
        cmd.current_dir(cwd);
    }
    if let Some(env) = arguments["env"].as_object() {
        for (k, v) in env {
            match v.as_str() {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("could not run {program:?}: {e}"))?;
    let pid = child.id();
    // Reap it in the background so it does not stay a zombie once it exits.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(pid)
}
