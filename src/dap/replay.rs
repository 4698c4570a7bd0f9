//! A replaying debug adapter: answers a client from a recorded session (`DAPWALK_TRACE`
//! lines) and checks that the client asks exactly what was recorded, in the recorded order.
//!
//! CI has no CodeLLDB, but it has real CodeLLDB sessions recorded on a machine that had one.
//! Replaying them through the engine shows that the driver still sends what CodeLLDB was seen
//! to accept: each request the client sends is compared with the next recorded one (its
//! command and arguments; sequence numbers and the recording's path placeholders aside), and
//! the first that differs is kept as a [`Divergence`] that names both. That request is
//! answered with an error carrying the same words, so the client's own report shows it too.
//! Requests that match get the recorded answers, with `request_seq` renumbered to the
//! client's and the placeholders turned back into this machine's paths.

use super::client::{Client, Events};
use super::transport::{write_message, FrameReader};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One recorded request with what the adapter sent after it, until the next request.
#[derive(Debug, Clone)]
struct Exchange {
    request: Value,
    replies: Vec<Value>,
}

/// A recorded session, as the exchanges of its requests.
#[derive(Debug, Clone)]
pub struct Recording {
    exchanges: Vec<Exchange>,
    /// What the adapter sent before the first request (nothing, usually).
    preamble: Vec<Value>,
}

impl Recording {
    /// Reads a trace file (`{"dir": "out"|"in", "t_ms": .., "msg": {..}}` per line).
    pub fn load(path: &Path) -> Result<Recording, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Recording::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Recording, String> {
        let mut rec = Recording {
            exchanges: Vec::new(),
            preamble: Vec::new(),
        };
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Value = serde_json::from_str(line)
                .map_err(|e| format!("line {}: not a JSON trace line: {e}", n + 1))?;
            let msg = entry["msg"].clone();
            match entry["dir"].as_str() {
                // The client's answers to reverse requests are not requests to match.
                Some("out") if msg["type"] == "request" => rec.exchanges.push(Exchange {
                    request: msg,
                    replies: Vec::new(),
                }),
                Some("out") => {}
                Some("in") => match rec.exchanges.last_mut() {
                    Some(last) => last.replies.push(msg),
                    None => rec.preamble.push(msg),
                },
                other => return Err(format!("line {}: unknown direction {other:?}", n + 1)),
            }
        }
        Ok(rec)
    }

    /// The recorded requests, in order.
    pub fn requests(&self) -> impl Iterator<Item = &Value> {
        self.exchanges.iter().map(|e| &e.request)
    }

    /// The recorded requests each with the response the adapter gave it, if any.
    pub fn answered(&self) -> Vec<(&Value, Option<&Value>)> {
        let mut by_seq: HashMap<i64, &Value> = HashMap::new();
        for e in &self.exchanges {
            for r in &e.replies {
                if r["type"] == "response" {
                    if let Some(s) = r["request_seq"].as_i64() {
                        by_seq.insert(s, r);
                    }
                }
            }
        }
        self.exchanges
            .iter()
            .map(|e| {
                let seq = e.request["seq"].as_i64();
                (&e.request, seq.and_then(|s| by_seq.get(&s).copied()))
            })
            .collect()
    }

    /// Every message the adapter sent, in order.
    pub fn replies(&self) -> impl Iterator<Item = &Value> {
        self.preamble
            .iter()
            .chain(self.exchanges.iter().flat_map(|e| e.replies.iter()))
    }

    /// Whether `n` occurs anywhere in the recording: as a JSON number or as a whole number
    /// inside a string (a thread named `tid=4711`, a console line).
    pub fn mentions_number(&self, n: i64) -> bool {
        let mut found = false;
        let mut visit = |v: &Value| found |= mentions(v, n);
        for m in self.replies() {
            visit(m);
        }
        for r in self.requests() {
            visit(r);
        }
        found
    }

    /// Replaces the number `from` by `to` everywhere it stands for itself: JSON numbers under
    /// `threadId` and `id` keys, and whole numbers in strings. A replay gives the recorded
    /// debuggee's pid (which is also its main thread's id) to a process of this machine.
    pub fn replace_number(&mut self, from: i64, to: i64) {
        for m in self.preamble.iter_mut() {
            replace_in(m, from, to, None, false);
        }
        for e in self.exchanges.iter_mut() {
            replace_in(&mut e.request, from, to, None, false);
            for m in e.replies.iter_mut() {
                replace_in(m, from, to, None, false);
            }
        }
    }
}

fn mentions(v: &Value, n: i64) -> bool {
    match v {
        Value::Number(x) => x.as_i64() == Some(n),
        Value::String(s) => replace_whole_number(s, n, n).1,
        Value::Array(a) => a.iter().any(|x| mentions(x, n)),
        Value::Object(o) => o.values().any(|x| mentions(x, n)),
        _ => false,
    }
}

/// `key` is the field `v` sits under; `thread` whether `v` is an element of a `threads` list
/// (whose `id` is a thread id, unlike a frame's or a breakpoint's).
fn replace_in(v: &mut Value, from: i64, to: i64, key: Option<&str>, thread: bool) {
    match v {
        Value::Number(x)
            if x.as_i64() == Some(from)
                && (key == Some("threadId") || (thread && key == Some("id"))) =>
        {
            *v = json!(to);
        }
        Value::String(s) => {
            let (new, changed) = replace_whole_number(s, from, to);
            if changed {
                *s = new;
            }
        }
        Value::Array(a) => {
            let threads = key == Some("threads");
            a.iter_mut()
                .for_each(|x| replace_in(x, from, to, None, threads))
        }
        Value::Object(o) => o
            .iter_mut()
            .for_each(|(k, x)| replace_in(x, from, to, Some(k.as_str()), thread)),
        _ => {}
    }
}

/// `s` with every maximal run of digits equal to `from` replaced by `to`, and whether any was.
fn replace_whole_number(s: &str, from: i64, to: i64) -> (String, bool) {
    let from = from.to_string();
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut digits = String::new();
    let mut flush = |digits: &mut String, out: &mut String| {
        if *digits == from {
            out.push_str(&to.to_string());
            changed = true;
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    (out, changed)
}

/// The recording's stand-ins for paths of the machine it was made on, each with this
/// machine's path (`/workspace/dapwalk` for the project folder, `/home/user` for the home).
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    pairs: Vec<(String, String)>,
}

impl Placeholders {
    /// Adds a placeholder with the real path it stands for.
    pub fn with(mut self, placeholder: &str, real: &Path) -> Placeholders {
        let real = real.display().to_string();
        // A root folder as home (some containers) would stand for every path: not a stand-in.
        if real.trim_end_matches('/').len() > 1 && real != placeholder {
            self.pairs.push((placeholder.to_string(), real));
            // The longer real path first, so that one inside another is recognised whole.
            self.pairs
                .sort_by_key(|(_, real)| std::cmp::Reverse(real.len()));
        }
        self
    }

    /// A client's message in the recording's terms.
    fn to_recorded(&self, v: &Value) -> Value {
        map_strings(v, &|s| {
            let mut s = s.to_string();
            for (p, r) in &self.pairs {
                s = s.replace(r.as_str(), p);
            }
            s
        })
    }

    /// A recorded message in this machine's terms.
    fn to_real(&self, v: &Value) -> Value {
        map_strings(v, &|s| {
            let mut s = s.to_string();
            for (p, r) in &self.pairs {
                s = s.replace(p.as_str(), r);
            }
            s
        })
    }
}

fn map_strings(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| map_strings(x, f)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), map_strings(x, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The first request the client sent that the recording does not have at that point.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// 1-based position of the request in the session.
    pub index: usize,
    /// What the client sent (in the recording's terms, without its `seq`).
    pub sent: Value,
    /// What the recording has there; `None` when the recording had ended.
    pub recorded: Option<Value>,
}

fn describe(request: &Value) -> String {
    let command = request["command"].as_str().unwrap_or("?");
    match request.get("arguments") {
        Some(a) if !a.is_null() => format!("`{command}` {a}"),
        _ => format!("`{command}`"),
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.recorded {
            Some(r) => write!(
                f,
                "request {} differs from the recording: sent {}; the recording has {}",
                self.index,
                describe(&self.sent),
                describe(r)
            ),
            None => write!(
                f,
                "request {} is not in the recording (it ended): sent {}",
                self.index,
                describe(&self.sent)
            ),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    matched: usize,
    total: usize,
    divergence: Option<Divergence>,
    next_recorded: Option<Value>,
}

/// What a replay saw, readable while and after it runs.
#[derive(Debug, Clone, Default)]
pub struct ReplayLog(Arc<Mutex<State>>);

impl ReplayLog {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.0.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// The first request that differed from the recording, if one did.
    pub fn divergence(&self) -> Option<Divergence> {
        self.with(|s| s.divergence.clone())
    }

    /// The recorded requests the client never sent: how many, and the first of them.
    pub fn unsent(&self) -> Option<(usize, Value)> {
        self.with(|s| {
            let left = s.total.saturating_sub(s.matched);
            match (&s.divergence, &s.next_recorded) {
                (None, Some(next)) if left > 0 => Some((left, next.clone())),
                _ => None,
            }
        })
    }

    /// A sentence for a test's failure: the divergence, else the unsent requests, else
    /// `None` (the client asked exactly what was recorded).
    pub fn problem(&self) -> Option<String> {
        if let Some(d) = self.divergence() {
            return Some(d.to_string());
        }
        self.unsent().map(|(n, next)| {
            format!(
                "the client stopped before the recording did: {n} recorded request(s) never sent, the first {}",
                describe(&next)
            )
        })
    }
}

/// A client connected to a replay of `recording` over an in-memory pipe, and the log that
/// tells whether the client kept to the recording.
pub fn connect(
    recording: Recording,
    placeholders: Placeholders,
    request_timeout: Duration,
) -> (Client, Events, ReplayLog) {
    let (client_end, adapter_end) = tokio::io::duplex(1 << 22);
    let log = ReplayLog::default();
    let (ar, aw) = tokio::io::split(adapter_end);
    tokio::spawn(serve(recording, placeholders, ar, aw, log.clone()));
    let (cr, cw) = tokio::io::split(client_end);
    let (client, events) = Client::start(cr, cw, request_timeout);
    (client, events, log)
}

fn without_seq(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("seq");
    }
    v
}

async fn serve<R, W>(
    recording: Recording,
    placeholders: Placeholders,
    reader: R,
    mut writer: W,
    log: ReplayLog,
) where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut reader = FrameReader::new(reader);
    let exchanges = recording.exchanges;
    log.with(|s| {
        s.total = exchanges.len();
        s.next_recorded = exchanges.first().map(|e| without_seq(&e.request));
    });
    for m in &recording.preamble {
        if write_message(&mut writer, &placeholders.to_real(m))
            .await
            .is_err()
        {
            return;
        }
    }
    // Recorded request seq -> the client's seq of the same request.
    let mut seqs: HashMap<i64, i64> = HashMap::new();
    let mut next = 0usize;
    let mut sent = 0usize;
    let mut own_seq = 1_000_000i64;
    while let Ok(Some(msg)) = reader.read().await {
        if msg["type"] != "request" {
            continue;
        }
        sent += 1;
        let client_seq = msg["seq"].as_i64().unwrap_or_default();
        let command = msg["command"].as_str().unwrap_or_default().to_string();
        let asked = without_seq(&placeholders.to_recorded(&msg));
        let diverged = log.with(|s| s.divergence.is_some());
        let recorded = exchanges.get(next);
        let matches = !diverged && recorded.is_some_and(|e| without_seq(&e.request) == asked);
        let out: Vec<Value> = if matches {
            let Some(e) = recorded else { return };
            if let Some(s) = e.request["seq"].as_i64() {
                seqs.insert(s, client_seq);
            }
            next += 1;
            log.with(|s| {
                s.matched = next;
                s.next_recorded = exchanges.get(next).map(|e| without_seq(&e.request));
            });
            e.replies
                .iter()
                .filter_map(|r| {
                    let mut r = placeholders.to_real(r);
                    if r["type"] == "response" {
                        // A response to a request the client never sent stays unsent.
                        let s = seqs.get(&r["request_seq"].as_i64()?)?;
                        r["request_seq"] = json!(s);
                    }
                    Some(r)
                })
                .collect()
        } else {
            let message = if diverged {
                format!(
                    "replay: stopped at the first difference from the recording ({})",
                    log.divergence().map(|d| d.to_string()).unwrap_or_default()
                )
            } else {
                let d = Divergence {
                    index: sent,
                    sent: asked.clone(),
                    recorded: recorded.map(|e| without_seq(&e.request)),
                };
                let text = format!("replay: {d}");
                log.with(|s| s.divergence = Some(d));
                text
            };
            own_seq += 1;
            // Teardown still succeeds, so the client ends as it would with the adapter.
            let success = command == "disconnect";
            vec![json!({
                "seq": own_seq, "type": "response", "request_seq": client_seq,
                "command": command, "success": success, "message": message,
            })]
        };
        for m in out {
            if write_message(&mut writer, &m).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"{"dir":"out","t_ms":0,"msg":{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"lldb"}}}
{"dir":"in","t_ms":1,"msg":{"seq":1,"type":"response","request_seq":1,"command":"initialize","success":true,"body":{}}}
{"dir":"out","t_ms":2,"msg":{"seq":2,"type":"request","command":"evaluate","arguments":{"expression":"?/nat 1","context":"repl"}}}
{"dir":"in","t_ms":3,"msg":{"seq":2,"type":"event","event":"output","body":{"output":"Launched process 4711 from /workspace/dapwalk/target/debug/x\n"}}}
{"dir":"in","t_ms":3,"msg":{"seq":3,"type":"response","request_seq":2,"command":"evaluate","success":true,"body":{"result":"1"}}}
{"dir":"out","t_ms":4,"msg":{"seq":3,"type":"request","command":"stackTrace","arguments":{"threadId":4711}}}
{"dir":"in","t_ms":5,"msg":{"seq":4,"type":"response","request_seq":3,"command":"stackTrace","success":true,"body":{"stackFrames":[{"id":4711,"name":"tid=47110"}]}}}
"#;

    #[test]
    fn whole_numbers_are_replaced_and_parts_of_numbers_are_not() {
        assert_eq!(
            replace_whole_number("tid=4711 \"x\" 47110 14711", 4711, 99),
            ("tid=99 \"x\" 47110 14711".to_string(), true)
        );
        let mut rec = Recording::parse(TRACE).expect("parse");
        assert!(rec.mentions_number(4711));
        rec.replace_number(4711, 99);
        let console = rec.exchanges[1].replies[0]["body"]["output"].as_str();
        assert_eq!(
            console,
            Some("Launched process 99 from /workspace/dapwalk/target/debug/x\n")
        );
        let frames = &rec.exchanges[2].replies[0]["body"]["stackFrames"][0];
        // A frame id is not a thread id, even when it has the same digits.
        assert_eq!(frames["id"], json!(4711));
        assert_eq!(rec.exchanges[2].request["arguments"]["threadId"], json!(99));
    }

    async fn ask(client: &Client, command: &str, args: Value) -> Result<Value, String> {
        client
            .request(command, Some(args))
            .await
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn requests_that_match_get_the_recorded_answers_in_this_machines_paths() {
        let rec = Recording::parse(TRACE).expect("parse");
        let ph = Placeholders::default().with("/workspace/dapwalk", Path::new("/here/project"));
        let (client, mut events, log) = connect(rec, ph, Duration::from_secs(5));
        ask(&client, "initialize", json!({"adapterID": "lldb"}))
            .await
            .expect("initialize");
        let body = ask(
            &client,
            "evaluate",
            json!({"expression": "?/nat 1", "context": "repl"}),
        )
        .await
        .expect("evaluate");
        assert_eq!(body["result"], "1");
        let ev = events.recv().await.expect("the output event");
        assert!(
            format!("{ev:?}").contains("/here/project/target/debug/x"),
            "{ev:?}"
        );
        assert_eq!(
            log.problem().as_deref(),
            Some("the client stopped before the recording did: 1 recorded request(s) never sent, the first `stackTrace` {\"threadId\":4711}")
        );
    }

    #[tokio::test]
    async fn the_first_request_that_differs_is_named() {
        let rec = Recording::parse(TRACE).expect("parse");
        let (client, _events, log) = connect(rec, Placeholders::default(), Duration::from_secs(5));
        ask(&client, "initialize", json!({"adapterID": "lldb"}))
            .await
            .expect("initialize");
        let err = ask(
            &client,
            "evaluate",
            json!({"expression": "1", "context": "repl"}),
        )
        .await
        .expect_err("a request the recording does not have");
        let d = log.divergence().expect("a divergence");
        assert_eq!(d.index, 2);
        let text = d.to_string();
        assert!(
            text.contains(r#"sent `evaluate` {"context":"repl","expression":"1"}"#)
                && text.contains(
                    r#"the recording has `evaluate` {"context":"repl","expression":"?/nat 1"}"#
                ),
            "{text}"
        );
        assert!(err.contains("differs from the recording"), "{err}");
        // Later requests are refused, and the first difference stays the one reported.
        ask(&client, "stackTrace", json!({"threadId": 4711}))
            .await
            .expect_err("after the divergence");
        assert_eq!(log.divergence().map(|d| d.index), Some(2));
    }
}
