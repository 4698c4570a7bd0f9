//! A fake debug adapter for what a real one cannot do on demand: crash at a chosen request,
//! send garbage, never answer, leave a debuggee running, or replay a recorded session.
//!
//! It runs in-process over an in-memory pipe, or as a child process (this test binary
//! started again with `DAPWALK_FAKE_ADAPTER` set) listening on TCP, so that crashes and
//! teardown are real.

use dapwalk::adapters::{Adapter, Connect, Dialect};
use dapwalk::dap::transport::{write_message, FrameReader};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncRead, AsyncWrite};

/// What the fake does.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Behave, but exit (status 3) when this command arrives.
    CrashOn(String),
    /// Behave, but answer this command with bytes that are no DAP frame.
    GarbageOn(String),
    /// Behave, but never answer this command.
    SilentOn(String),
    /// Behave, and at launch start a `sleep` in its own process group, as a debuggee that
    /// outlives the adapter; report its pid in a `process` event.
    Debuggee,
    /// Answer requests with a recorded session's responses and events.
    Replay(PathBuf),
    /// Behave, and at launch send the reverse requests `runInTerminal` (a `sleep`) and
    /// `startDebugging`; echo the client's answers as console output.
    Reverse,
}

impl Mode {
    fn encode(&self) -> String {
        match self {
            Mode::CrashOn(c) => format!("crash:{c}"),
            Mode::GarbageOn(c) => format!("garbage:{c}"),
            Mode::SilentOn(c) => format!("silent:{c}"),
            Mode::Debuggee => "debuggee:".into(),
            Mode::Replay(p) => format!("replay:{}", p.display()),
            Mode::Reverse => "reverse:".into(),
        }
    }

    fn decode(s: &str) -> Option<Mode> {
        let (kind, arg) = s.split_once(':')?;
        Some(match kind {
            "crash" => Mode::CrashOn(arg.into()),
            "garbage" => Mode::GarbageOn(arg.into()),
            "silent" => Mode::SilentOn(arg.into()),
            "debuggee" => Mode::Debuggee,
            "replay" => Mode::Replay(arg.into()),
            "reverse" => Mode::Reverse,
            _ => return None,
        })
    }
}

/// An adapter profile that starts this test binary as a fake adapter on a free TCP port.
pub fn process_adapter(mode: &Mode, dialect: &'static dyn Dialect) -> Adapter {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port");
    Adapter {
        dialect,
        program: std::env::current_exe().expect("the test binary's path"),
        args: [
            "fake::fake_adapter_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ]
        .map(String::from)
        .to_vec(),
        env: vec![
            ("DAPWALK_FAKE_ADAPTER".into(), mode.encode()),
            ("DAPWALK_FAKE_PORT".into(), port.to_string()),
        ],
        connect: Connect::Tcp { port },
        version: None,
    }
}

/// The entry point of the fake adapter process. As an ordinary test (no environment
/// variable) it does nothing.
#[test]
fn fake_adapter_process() {
    let (Ok(mode), Ok(port)) = (
        std::env::var("DAPWALK_FAKE_ADAPTER"),
        std::env::var("DAPWALK_FAKE_PORT"),
    ) else {
        return;
    };
    let mode = Mode::decode(&mode).expect("a known fake adapter mode");
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .expect("bind the fake adapter's port");
        let (stream, _) = listener.accept().await.expect("a client");
        let (r, w) = stream.into_split();
        serve(r, w, mode, true).await;
    });
    std::process::exit(0);
}

/// Serves one client until it disconnects. `process` says whether a crash may exit the
/// process (in-process fakes just stop talking).
pub async fn serve<R, W>(reader: R, mut writer: W, mode: Mode, process: bool)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = FrameReader::new(reader);
    let mut replay = match &mode {
        Mode::Replay(path) => Some(Replay::load(path)),
        _ => None,
    };
    let mut seq = 1000;
    let mut launch_seq = None;
    while let Ok(Some(req)) = reader.read().await {
        if req["type"] == "response" {
            seq += 1;
            let echo = json!({"seq": seq, "type": "event", "event": "output",
                "body": {"category": "console", "output": format!("reverse-response: {req}\n")}});
            if write_message(&mut writer, &echo).await.is_err() {
                return;
            }
            continue;
        }
        let command = req["command"].as_str().unwrap_or_default().to_string();
        let req_seq = req["seq"].as_i64().unwrap_or_default();
        if let Some(replay) = replay.as_mut() {
            for msg in replay.answer(&command, req_seq) {
                if write_message(&mut writer, &msg).await.is_err() {
                    return;
                }
            }
            continue;
        }
        match &mode {
            Mode::CrashOn(c) if *c == command => {
                eprintln!("fake adapter: crashing on purpose at {command:?}");
                if process {
                    std::process::exit(3);
                }
                return;
            }
            Mode::GarbageOn(c) if *c == command => {
                use tokio::io::AsyncWriteExt;
                let _ = writer.write_all(b"this is not a DAP frame\r\n\r\n").await;
                let _ = writer.flush().await;
                continue;
            }
            Mode::SilentOn(c) if *c == command => continue,
            _ => {}
        }
        let mut out = Vec::new();
        let respond = |body: Value,
                       seq: &mut i64,
                       out: &mut Vec<Value>,
                       request_seq: i64,
                       command: &str| {
            *seq += 1;
            out.push(json!({"seq": *seq, "type": "response", "request_seq": request_seq, "command": command, "success": true, "body": body}));
        };
        match command.as_str() {
            "initialize" => respond(
                json!({"supportsConfigurationDoneRequest": true}),
                &mut seq,
                &mut out,
                req_seq,
                &command,
            ),
            "launch" => {
                launch_seq = Some(req_seq);
                if let Mode::Debuggee = mode {
                    let child = std::process::Command::new("sleep")
                        .arg("600")
                        .process_group(0)
                        .spawn()
                        .expect("start the fake debuggee");
                    seq += 1;
                    out.push(json!({"seq": seq, "type": "event", "event": "process", "body": {"name": "sleep", "systemProcessId": child.id(), "startMethod": "launch"}}));
                    std::mem::forget(child);
                }
                if let Mode::Reverse = mode {
                    seq += 1;
                    out.push(json!({"seq": seq, "type": "request", "command": "runInTerminal",
                        "arguments": {"kind": "integrated", "cwd": "/", "args": ["sleep", "600"], "env": {"DAPWALK_FAKE": "1", "HOME": null}}}));
                    seq += 1;
                    out.push(
                        json!({"seq": seq, "type": "request", "command": "startDebugging",
                        "arguments": {"request": "launch", "configuration": {}}}),
                    );
                }
                seq += 1;
                // An event with an empty body and one nobody knows: both must be tolerated.
                out.push(json!({"seq": seq, "type": "event", "event": "initialized", "body": {}}));
                seq += 1;
                out.push(json!({"seq": seq, "type": "event", "event": "x-fake-telemetry", "body": {"n": 1}}));
            }
            "configurationDone" => {
                respond(Value::Null, &mut seq, &mut out, req_seq, &command);
                if let Some(l) = launch_seq.take() {
                    respond(Value::Null, &mut seq, &mut out, l, "launch");
                }
            }
            "threads" => respond(
                json!({"threads": [{"id": 1, "name": "main"}]}),
                &mut seq,
                &mut out,
                req_seq,
                &command,
            ),
            "stackTrace" => respond(
                json!({"stackFrames": [], "totalFrames": 0}),
                &mut seq,
                &mut out,
                req_seq,
                &command,
            ),
            "disconnect" => {
                respond(Value::Null, &mut seq, &mut out, req_seq, &command);
            }
            _ => respond(json!({}), &mut seq, &mut out, req_seq, &command),
        }
        for msg in out {
            if write_message(&mut writer, &msg).await.is_err() {
                return;
            }
        }
    }
}

/// A recorded session, answered request by request.
struct Replay {
    /// Each recorded request with the messages the adapter sent after it (until the next
    /// request).
    segments: Vec<(String, i64, Vec<Value>)>,
    used: Vec<bool>,
    cursor: usize,
    /// Recorded request seq -> the client's seq for the same request.
    seq_map: HashMap<i64, i64>,
    /// Responses to recorded requests the client has not sent yet.
    held: Vec<Value>,
}

impl Replay {
    fn load(path: &Path) -> Replay {
        let text = std::fs::read_to_string(path).expect("read the recording");
        let mut segments: Vec<(String, i64, Vec<Value>)> = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: Value = serde_json::from_str(line).expect("a JSON line");
            let msg = entry["msg"].clone();
            if entry["dir"] == "out" {
                let command = msg["command"].as_str().unwrap_or_default().to_string();
                segments.push((command, msg["seq"].as_i64().unwrap_or_default(), Vec::new()));
            } else if let Some(last) = segments.last_mut() {
                last.2.push(msg);
            }
        }
        let n = segments.len();
        Replay {
            segments,
            used: vec![false; n],
            cursor: 0,
            seq_map: HashMap::new(),
            held: Vec::new(),
        }
    }

    fn answer(&mut self, command: &str, client_seq: i64) -> Vec<Value> {
        let found = (self.cursor..self.segments.len())
            .chain(0..self.cursor)
            .find(|&i| !self.used[i] && self.segments[i].0 == command);
        let Some(i) = found else {
            return vec![
                json!({"seq": 0, "type": "response", "request_seq": client_seq, "command": command,
                "success": false, "message": format!("fake adapter: {command:?} is not in the recording")}),
            ];
        };
        self.used[i] = true;
        self.cursor = i + 1;
        self.seq_map.insert(self.segments[i].1, client_seq);
        let mut out = Vec::new();
        let held = std::mem::take(&mut self.held);
        for msg in held.into_iter().chain(self.segments[i].2.clone()) {
            if msg["type"] == "response" {
                let recorded = msg["request_seq"].as_i64().unwrap_or_default();
                match self.seq_map.get(&recorded) {
                    Some(&s) => {
                        let mut msg = msg;
                        msg["request_seq"] = json!(s);
                        out.push(msg);
                    }
                    None => self.held.push(msg),
                }
            } else {
                out.push(msg);
            }
        }
        out
    }
}
