//! A scripted in-memory debug adapter, for tests of everything above the client without a
//! debugger.
//!
//! It runs as a tokio task on the far end of in-memory pipes and speaks real DAP framing
//! ([`super::transport`]), so a [`Client`] cannot tell it from an adapter process. A
//! [`Script`] says what the "program" does each time it runs (stop somewhere, hang, exit),
//! which pid the `process` event names, what `evaluate` answers, what the program prints, and
//! at which request the adapter dies with which last words on its stderr. The launch
//! response comes only after `configurationDone`, as with real adapters, and a stop can be
//! told as LLDB tells it while a thread is held: first an event naming the held thread with
//! its stale reason, then the thread that really stopped.
//!
//! Its debug console knows two commands, `hold TID` and `release TID`, the fake's own way
//! of keeping a thread suspended across a resume.

use super::client::{Client, Events};
use super::transport::{write_message, FrameReader};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};

/// One frame of a scripted stack.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeFrame {
    pub name: String,
    /// An absolute path: the frame then counts as the program's own.
    pub path: String,
    pub line: i64,
}

impl FakeFrame {
    pub fn new(name: &str, path: impl Into<String>, line: usize) -> FakeFrame {
        FakeFrame {
            name: name.to_string(),
            path: path.into(),
            line: i64::try_from(line).unwrap_or(i64::MAX),
        }
    }
}

/// A scripted stop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptedStop {
    /// The thread that really stopped.
    pub thread: i64,
    pub reason: String,
    pub description: Option<String>,
    /// Each thread's stack at this stop, top first. A thread left out keeps the stack it had
    /// at the stop before.
    pub frames: Vec<(i64, Vec<FakeFrame>)>,
    /// A held thread the adapter names first, with the reason of its earlier stop, as LLDB
    /// repeats a suspended thread's old reason with every stop.
    pub stale: Option<(i64, String)>,
}

impl ScriptedStop {
    pub fn new(thread: i64, reason: &str) -> ScriptedStop {
        ScriptedStop {
            thread,
            reason: reason.to_string(),
            ..Default::default()
        }
    }

    /// This stop with `thread`'s stack.
    pub fn frames(mut self, thread: i64, frames: Vec<FakeFrame>) -> ScriptedStop {
        self.frames.push((thread, frames));
        self
    }

    /// This stop told first through the held thread `held` with its `stale` reason.
    pub fn lying(mut self, held: i64, stale: &str) -> ScriptedStop {
        self.stale = Some((held, stale.to_string()));
        self
    }
}

/// What the program does when it runs: at launch, then after every resume.
#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    Stop(ScriptedStop),
    /// It never stops by itself: only a `pause` stops it.
    Hang,
    Exit(i64),
}

/// The adapter dies when the request `at` arrives, after printing `last_words` on stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Death {
    pub at: String,
    pub last_words: String,
}

/// Everything the fake adapter does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    /// The threads `threads` lists: id and name.
    pub threads: Vec<(i64, String)>,
    /// What each run of the program leads to, in order; when they are used up, it exits 0.
    pub runs: Vec<Run>,
    /// The pid the `process` event names.
    pub pid: Option<u32>,
    pub die: Option<Death>,
    /// Answers of `evaluate` (watch or console), by expression; other expressions fail.
    pub answers: Vec<(String, String)>,
    /// `output` events sent when the program starts: category and text.
    pub output: Vec<(String, String)>,
}

/// Every request the fake received, in order, for tests that check what was asked.
#[derive(Debug, Clone, Default)]
pub struct Transcript(Arc<Mutex<Vec<Value>>>);

impl Transcript {
    fn record(&self, request: &Value) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request.clone());
    }

    /// Every request received, oldest first.
    pub fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The requests received for `command`, oldest first.
    pub fn requests(&self, command: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|r| r["command"] == command)
            .cloned()
            .collect()
    }
}

/// Starts a fake adapter playing `script` and a client connected to it; every request is
/// recorded in `transcript`. Must be called inside a tokio runtime.
pub fn connect(script: Script, transcript: Transcript, timeout: Duration) -> (Client, Events) {
    let (client_end, adapter_end) = tokio::io::duplex(256 * 1024);
    let (adapter_reader, adapter_writer) = tokio::io::split(adapter_end);
    let (client_reader, client_writer) = tokio::io::split(client_end);
    let (stderr_tx, stderr_rx) = mpsc::unbounded_channel();
    let (read_all_tx, read_all_rx) = oneshot::channel();
    let (client, events) = Client::start(client_reader, client_writer, timeout);
    client.collect_stderr(Stderr {
        rx: stderr_rx,
        pending: Vec::new(),
        read_all: Some(read_all_tx),
    });
    let fake = Fake::new(script, transcript, Some((stderr_tx, read_all_rx)));
    tokio::spawn(fake.serve(adapter_reader, adapter_writer));
    (client, events)
}

/// The fake adapter's stderr as the client reads it. It tells the adapter when the client
/// has read everything (end of file), so that the adapter closes its DAP stream only after
/// its last words are in the client's hands, as they would be from a real process whose
/// stderr pipe was read before its stdout closed.
struct Stderr {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    pending: Vec<u8>,
    read_all: Option<oneshot::Sender<()>>,
}

impl AsyncRead for Stderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.drain(..n);
                return Poll::Ready(Ok(()));
            }
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(bytes)) => this.pending = bytes,
                Poll::Ready(None) => {
                    if let Some(tx) = this.read_all.take() {
                        let _ = tx.send(());
                    }
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

struct Fake {
    script: Script,
    transcript: Transcript,
    stderr: Option<(mpsc::UnboundedSender<Vec<u8>>, oneshot::Receiver<()>)>,
    runs: VecDeque<Run>,
    /// Each thread's current stack.
    stacks: BTreeMap<i64, Vec<FakeFrame>>,
    /// Each thread's reason at its last stop, for `exceptionInfo`.
    reasons: BTreeMap<i64, String>,
    held: BTreeSet<i64>,
    launch_seq: Option<i64>,
    seq: i64,
}

/// What one request leads to.
enum Reply {
    /// Messages to send (responses, events).
    Send(Vec<Value>),
    /// Send these, then close the stream (a `disconnect`).
    SendAndClose(Vec<Value>),
    /// Die now.
    Die,
}

impl Fake {
    fn new(
        script: Script,
        transcript: Transcript,
        stderr: Option<(mpsc::UnboundedSender<Vec<u8>>, oneshot::Receiver<()>)>,
    ) -> Fake {
        Fake {
            runs: script.runs.iter().cloned().collect(),
            script,
            transcript,
            stderr,
            stacks: BTreeMap::new(),
            reasons: BTreeMap::new(),
            held: BTreeSet::new(),
            launch_seq: None,
            seq: 0,
        }
    }

    async fn serve<R, W>(mut self, reader: R, mut writer: W)
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut reader = FrameReader::new(reader);
        while let Ok(Some(msg)) = reader.read().await {
            if msg["type"] != "request" {
                continue;
            }
            self.transcript.record(&msg);
            let (messages, close) = match self.answer(&msg) {
                Reply::Send(m) => (m, false),
                Reply::SendAndClose(m) => (m, true),
                Reply::Die => {
                    self.die().await;
                    return;
                }
            };
            for m in &messages {
                if write_message(&mut writer, m).await.is_err() {
                    return;
                }
            }
            if close {
                return;
            }
        }
    }

    /// Prints the last words, waits until the client has read them, and returns: dropping
    /// the streams closes them.
    async fn die(&mut self) {
        if let Some((tx, read_all)) = self.stderr.take() {
            let words = self
                .script
                .die
                .as_ref()
                .map(|d| d.last_words.clone())
                .unwrap_or_default();
            if !words.is_empty() {
                let _ = tx.send(format!("{}\n", words.trim_end()).into_bytes());
            }
            drop(tx);
            let _ = read_all.await;
        }
    }

    fn next_seq(&mut self) -> i64 {
        self.seq += 1;
        self.seq
    }

    fn event(&mut self, event: &str, body: Value) -> Value {
        json!({"seq": self.next_seq(), "type": "event", "event": event, "body": body})
    }

    fn response(&mut self, request_seq: i64, command: &str, body: Value) -> Value {
        json!({"seq": self.next_seq(), "type": "response", "request_seq": request_seq,
            "command": command, "success": true, "body": body})
    }

    fn refusal(&mut self, request_seq: i64, command: &str, message: String) -> Value {
        json!({"seq": self.next_seq(), "type": "response", "request_seq": request_seq,
            "command": command, "success": false, "message": message})
    }

    fn answer(&mut self, req: &Value) -> Reply {
        let command = req["command"].as_str().unwrap_or_default().to_string();
        let seq = req["seq"].as_i64().unwrap_or_default();
        let args = &req["arguments"];
        if self.script.die.as_ref().is_some_and(|d| d.at == command) {
            return Reply::Die;
        }
        let thread = args["threadId"].as_i64().unwrap_or_default();
        let mut out = Vec::new();
        match command.as_str() {
            "initialize" => {
                let caps = json!({"supportsConfigurationDoneRequest": true,
                    "supportsFunctionBreakpoints": true, "supportsExceptionInfoRequest": true});
                out.push(self.response(seq, &command, caps));
            }
            "launch" => {
                // Answered after configurationDone, as every real adapter does.
                self.launch_seq = Some(seq);
                if let Some(pid) = self.script.pid {
                    let body =
                        json!({"name": "fake", "systemProcessId": pid, "startMethod": "launch"});
                    out.push(self.event("process", body));
                }
                out.push(self.event("initialized", json!({})));
            }
            "setBreakpoints" | "setFunctionBreakpoints" => {
                let wanted = args["breakpoints"].as_array().cloned().unwrap_or_default();
                let bps: Vec<Value> = wanted
                    .iter()
                    .enumerate()
                    .map(|(i, b)| json!({"id": i + 1, "verified": true, "line": b["line"]}))
                    .collect();
                out.push(self.response(seq, &command, json!({ "breakpoints": bps })));
            }
            "setExceptionBreakpoints" => out.push(self.response(seq, &command, json!({}))),
            "configurationDone" => {
                out.push(self.response(seq, &command, Value::Null));
                if let Some(launch) = self.launch_seq.take() {
                    out.push(self.response(launch, "launch", Value::Null));
                    for (category, text) in self.script.output.clone() {
                        out.push(
                            self.event("output", json!({"category": category, "output": text})),
                        );
                    }
                    out.extend(self.run());
                }
            }
            "threads" => {
                let threads: Vec<Value> = self
                    .script
                    .threads
                    .iter()
                    .map(|(id, name)| json!({"id": id, "name": name}))
                    .collect();
                out.push(self.response(seq, &command, json!({ "threads": threads })));
            }
            "stackTrace" => {
                let frames: Vec<Value> = self
                    .stacks
                    .get(&thread)
                    .map(|s| s.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        json!({"id": thread * 1000 + i as i64, "name": f.name, "line": f.line,
                            "column": 1, "source": {"name": f.path.rsplit('/').next(), "path": f.path}})
                    })
                    .collect();
                let total = frames.len();
                out.push(self.response(
                    seq,
                    &command,
                    json!({"stackFrames": frames, "totalFrames": total}),
                ));
            }
            "scopes" => {
                let frame = args["frameId"].as_i64().unwrap_or_default();
                let scopes = json!({"scopes": [{"name": "Locals", "variablesReference": frame + 1, "expensive": false}]});
                out.push(self.response(seq, &command, scopes));
            }
            "variables" => out.push(self.response(seq, &command, json!({"variables": []}))),
            "evaluate" => out.push(self.evaluate(seq, args)),
            "continue" | "next" | "stepIn" | "stepOut" => {
                let body = if command == "continue" {
                    json!({"allThreadsContinued": true})
                } else {
                    Value::Null
                };
                out.push(self.response(seq, &command, body));
                out.extend(self.run());
            }
            "pause" => {
                out.push(self.response(seq, &command, Value::Null));
                let body =
                    json!({"reason": "pause", "threadId": thread, "allThreadsStopped": true});
                out.push(self.event("stopped", body));
            }
            "exceptionInfo" => {
                let reason = self.reasons.get(&thread).cloned().unwrap_or_default();
                let body = json!({"exceptionId": reason, "breakMode": "always"});
                out.push(self.response(seq, &command, body));
            }
            "disconnect" => {
                out.push(self.response(seq, &command, Value::Null));
                return Reply::SendAndClose(out);
            }
            other => {
                let message = format!("the fake adapter does not know {other:?}");
                out.push(self.refusal(seq, &command, message));
            }
        }
        Reply::Send(out)
    }

    /// The console's `hold`/`release`, else the scripted answers.
    fn evaluate(&mut self, seq: i64, args: &Value) -> Value {
        let expression = args["expression"].as_str().unwrap_or_default().trim();
        let hold = expression
            .split_once(' ')
            .filter(|(verb, _)| args["context"] == "repl" && matches!(*verb, "hold" | "release"))
            .and_then(|(verb, id)| Some((verb == "hold", id.trim().parse::<i64>().ok()?)));
        if let Some((held, id)) = hold {
            if held {
                self.held.insert(id);
            } else {
                self.held.remove(&id);
            }
            return self.response(
                seq,
                "evaluate",
                json!({"result": "", "variablesReference": 0}),
            );
        }
        let found = self
            .script
            .answers
            .iter()
            .find(|(e, _)| e == expression)
            .map(|(_, r)| r.clone());
        match found {
            Some(result) => self.response(
                seq,
                "evaluate",
                json!({"result": result, "variablesReference": 0}),
            ),
            None => self.refusal(
                seq,
                "evaluate",
                format!("no value for {expression:?} in this script"),
            ),
        }
    }

    /// The program runs: the next scripted run's events.
    fn run(&mut self) -> Vec<Value> {
        match self.runs.pop_front().unwrap_or(Run::Exit(0)) {
            Run::Stop(stop) => {
                for (t, frames) in &stop.frames {
                    self.stacks.insert(*t, frames.clone());
                }
                let mut out = Vec::new();
                if let Some((held, stale)) = &stop.stale {
                    let body =
                        json!({"reason": stale, "threadId": held, "allThreadsStopped": true});
                    out.push(self.event("stopped", body));
                }
                self.reasons.insert(stop.thread, stop.reason.clone());
                let mut body = json!({"reason": stop.reason, "threadId": stop.thread, "allThreadsStopped": true});
                if let Some(d) = &stop.description {
                    body["description"] = json!(d);
                }
                out.push(self.event("stopped", body));
                out
            }
            Run::Hang => Vec::new(),
            Run::Exit(code) => {
                self.stacks.clear();
                vec![
                    self.event("exited", json!({ "exitCode": code })),
                    self.event("terminated", json!({})),
                ]
            }
        }
    }

    /// The threads held by the console's `hold`, for tests of the fake itself.
    #[cfg(test)]
    fn held(&self) -> Vec<i64> {
        self.held.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(line: usize) -> FakeFrame {
        FakeFrame::new("demo::main", "/src/demo.rs", line)
    }

    #[tokio::test]
    async fn launch_is_answered_after_configuration_done_then_the_program_stops() {
        let script = Script {
            threads: vec![(1, "MainThread".into())],
            runs: vec![Run::Stop(
                ScriptedStop::new(1, "breakpoint").frames(1, vec![frame(3)]),
            )],
            pid: Some(4242),
            ..Default::default()
        };
        let transcript = Transcript::default();
        let (client, mut events) = connect(script, transcript.clone(), Duration::from_secs(5));
        client
            .request("initialize", None)
            .await
            .expect("initialize");
        let launch = client.send("launch", Some(json!({})));
        let mut seen = Vec::new();
        while let Some(ev) = events.recv().await {
            let initialized = ev == super::super::client::Event::Initialized;
            seen.push(ev);
            if initialized {
                break;
            }
        }
        assert!(seen.contains(&super::super::client::Event::Process {
            pid: Some(4242),
            name: "fake".into()
        }));
        client
            .request("configurationDone", None)
            .await
            .expect("configurationDone");
        launch
            .wait(Duration::from_secs(5))
            .await
            .expect("the launch answer");
        match events.recv().await {
            Some(super::super::client::Event::Stopped(s)) => {
                assert_eq!((s.reason.as_str(), s.thread_id), ("breakpoint", Some(1)))
            }
            other => panic!("expected a stop, got {other:?}"),
        }
        let stack = client
            .request("stackTrace", Some(json!({"threadId": 1})))
            .await
            .expect("stackTrace");
        assert_eq!(stack["stackFrames"][0]["line"], 3);
        let refused = client.request("gotoTargets", None).await;
        assert!(
            refused.is_err_and(|e| e.to_string().contains("does not know")),
            "unknown requests are refused"
        );
        assert_eq!(transcript.requests("launch").len(), 1);
    }

    #[tokio::test]
    async fn a_death_leaves_its_last_words_with_the_client() {
        let script = Script {
            die: Some(Death {
                at: "threads".into(),
                last_words: "fake: segmentation fault in the adapter".into(),
            }),
            ..Default::default()
        };
        let (client, _events) = connect(script, Transcript::default(), Duration::from_secs(5));
        let err = client
            .request("threads", None)
            .await
            .expect_err("the adapter died");
        let text = err.to_string();
        assert!(text.contains("went away"), "{text}");
        assert!(text.contains("segmentation fault in the adapter"), "{text}");
    }

    #[test]
    fn the_console_holds_and_releases_threads() {
        let mut fake = Fake::new(Script::default(), Transcript::default(), None);
        let repl = |e: &str| json!({"expression": e, "context": "repl"});
        assert_eq!(fake.evaluate(1, &repl("hold 7"))["success"], true);
        assert_eq!(fake.held(), vec![7]);
        assert_eq!(fake.evaluate(2, &repl("release 7"))["success"], true);
        assert!(fake.held().is_empty());
        assert_eq!(fake.evaluate(3, &repl("x + 1"))["success"], false);
    }
}
