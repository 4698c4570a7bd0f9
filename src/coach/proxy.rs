//! The forwarding between an editor (VS Code, or any DAP client) and the real adapter: every
//! message passes unchanged but for its sequence numbers. Each side numbers the messages it
//! receives on its own counter, so the coach can send requests of its own to the adapter and
//! events of its own to the editor without either side seeing a number twice (DAP
//! specification, "Base Protocol": `seq` is per sender, `request_seq` names the request).
//!
//! The editor's requests go to the adapter under new numbers; the adapter's responses come
//! back under the editor's numbers. The coach's own requests are answered to the coach only.
//! Reverse requests (`runInTerminal`, `startDebugging`) go to the editor, and its response
//! back to the adapter under the adapter's number.
//!
//! From each `stopped` event until the coach has looked at the stop ([`Link::release`]), the
//! editor's requests that let the program run on wait, in order, and then go as they came;
//! all other requests pass at once. A learner who presses F5 the moment the program stops
//! still gets the stop checked. The wait is bounded: past it the requests go anyway and the
//! Debug Console says the stop was not checked.

use crate::dap::transport::{write_message, FrameReader, TransportError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// The requests that let a stopped program run on (DAP specification, "Requests"): while
/// the coach looks at a stop they wait for it.
const RESUMING: &[&str] = &[
    "continue",
    "next",
    "stepIn",
    "stepOut",
    "stepBack",
    "reverseContinue",
    "goto",
    "restartFrame",
];

/// Requests that end the debuggee or the session: what waits goes before them.
const ENDING: &[&str] = &["disconnect", "terminate"];

/// What the follower sees of the session: the editor's requests and the adapter's events,
/// in the order they passed.
#[derive(Debug, Clone)]
pub enum Tap {
    /// A request from the editor, as it sent it.
    Request(Value),
    /// An event from the adapter, as it sent it.
    Event(Value),
    /// A response the adapter gave the editor, under the editor's numbers.
    Response(Value),
    /// A `stopped` event from the adapter, and the look it opened: the editor's resuming
    /// requests wait until [`Link::release`] of this number.
    Stop { event: Value, look: u64 },
}

/// Whom a request sent to the adapter belongs to.
enum Owner {
    /// The editor's, under its own `seq`.
    Editor(i64),
    /// The coach's: the response goes to this waiter.
    Coach(oneshot::Sender<Value>),
}

#[derive(Default)]
struct Numbers {
    next_to_adapter: i64,
    next_to_editor: i64,
    /// Adapter-side seq of a request → who sent it.
    pending: HashMap<i64, Owner>,
    /// Editor-side seq of a reverse request → the adapter's own seq for it.
    reverse: HashMap<i64, i64>,
    /// The coach's looks at stops, numbered from 1; the last one's number.
    look: u64,
    /// Whether that look is still going on (the editor's resuming requests wait).
    looking: bool,
    /// The editor's requests waiting for the look to end, in the order they came.
    held: Vec<Value>,
}

/// Both directions of one proxied connection.
#[derive(Clone)]
pub struct Link {
    numbers: Arc<Mutex<Numbers>>,
    to_adapter: mpsc::UnboundedSender<Value>,
    to_editor: mpsc::UnboundedSender<Value>,
    /// How long a resuming request may wait for the coach's look.
    bound: Duration,
    /// Each look that holds a request, and when its wait runs out, for [`pump`].
    deadlines: mpsc::UnboundedSender<(u64, Instant)>,
}

/// Why a request of the coach's own got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the adapter went away before answering {0:?}")]
    Gone(String),
    #[error("timed out after {}s waiting for {command:?}", .after.as_secs_f64())]
    Timeout { command: String, after: Duration },
    #[error("{command:?} failed: {message}")]
    Failed { command: String, message: String },
}

impl Link {
    fn lock(&self) -> std::sync::MutexGuard<'_, Numbers> {
        self.numbers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends `msg` to the editor under the next editor-side number; returns that number.
    fn to_editor(&self, mut msg: Value, numbers: &mut Numbers) -> i64 {
        numbers.next_to_editor += 1;
        let seq = numbers.next_to_editor;
        msg["seq"] = json!(seq);
        let _ = self.to_editor.send(msg);
        seq
    }

    /// Sends `msg` to the adapter under the next adapter-side number; returns that number.
    fn to_adapter(&self, mut msg: Value, numbers: &mut Numbers) -> i64 {
        numbers.next_to_adapter += 1;
        let seq = numbers.next_to_adapter;
        msg["seq"] = json!(seq);
        let _ = self.to_adapter.send(msg);
        seq
    }

    /// A message from the editor, on its way to the adapter (a resuming request during a
    /// look, after it).
    pub fn from_editor(&self, msg: Value) {
        let mut n = self.lock();
        match msg["type"].as_str() {
            Some("request") => {
                let command = msg["command"].as_str().unwrap_or_default();
                if n.looking && RESUMING.contains(&command) {
                    if n.held.is_empty() {
                        let _ = self.deadlines.send((n.look, Instant::now() + self.bound));
                    }
                    n.held.push(msg);
                    return;
                }
                if ENDING.contains(&command) {
                    // The learner's resume goes first, as they sent it; the look is moot.
                    self.end_look(&mut n);
                }
                self.request_to_adapter(msg, &mut n);
            }
            Some("response") => {
                let mut msg = msg;
                let editor_seq = msg["request_seq"].as_i64().unwrap_or(0);
                if let Some(adapter_seq) = n.reverse.remove(&editor_seq) {
                    msg["request_seq"] = json!(adapter_seq);
                }
                self.to_adapter(msg, &mut n);
            }
            _ => {
                self.to_adapter(msg, &mut n);
            }
        }
    }

    /// Sends an editor's request to the adapter, remembering whose it is.
    fn request_to_adapter(&self, msg: Value, numbers: &mut Numbers) {
        let editor_seq = msg["seq"].as_i64().unwrap_or(0);
        // The number is taken before the send, so a fast response finds its owner.
        let seq = numbers.next_to_adapter + 1;
        numbers.pending.insert(seq, Owner::Editor(editor_seq));
        self.to_adapter(msg, numbers);
    }

    /// Ends the look under way: the requests that waited go, in order.
    fn end_look(&self, numbers: &mut Numbers) {
        numbers.looking = false;
        for msg in std::mem::take(&mut numbers.held) {
            self.request_to_adapter(msg, numbers);
        }
    }

    /// The coach has looked at the stop `look` opened: what waited for it goes on.
    pub fn release(&self, look: u64) {
        let mut n = self.lock();
        if n.looking && n.look == look {
            self.end_look(&mut n);
        }
    }

    /// The editor's requests waited out the bound for `look`: they go, and the Debug
    /// Console says the stop went unchecked. Nothing happens if the look ended in time.
    fn expire(&self, look: u64) {
        let mut n = self.lock();
        if !(n.looking && n.look == look && !n.held.is_empty()) {
            return;
        }
        let held: Vec<&str> = n
            .held
            .iter()
            .filter_map(|m| m["command"].as_str())
            .collect();
        let text = format!(
            "dapwalk coach: the debugger did not answer the coach's look at this stop within {}s; your {} went on without it, so this stop was not checked (and --record leaves it out).\n",
            self.bound.as_secs_f64(),
            held.join(", ")
        );
        self.end_look(&mut n);
        self.console(text, &mut n);
    }

    /// Whether the look `look` is still going on: the program is where it stopped.
    pub fn in_time(&self, look: u64) -> bool {
        let n = self.lock();
        n.looking && n.look == look
    }

    /// Says `text` in the Debug Console if the look `look` is still going on (otherwise the
    /// program has moved on and the console said so); whether it was.
    pub fn say_in_time(&self, look: u64, text: &str) -> bool {
        let mut n = self.lock();
        let in_time = n.looking && n.look == look;
        if in_time {
            self.console(text.to_string(), &mut n);
        }
        in_time
    }

    /// A message from the adapter: a response goes to whoever asked, the rest to the editor.
    /// Returns what the follower should see (nothing for the coach's own responses).
    pub fn from_adapter(&self, msg: Value) -> Option<Tap> {
        let mut n = self.lock();
        match msg["type"].as_str() {
            Some("response") => {
                let adapter_seq = msg["request_seq"].as_i64().unwrap_or(0);
                match n.pending.remove(&adapter_seq) {
                    Some(Owner::Coach(tx)) => {
                        let _ = tx.send(msg);
                        None
                    }
                    Some(Owner::Editor(editor_seq)) => {
                        let mut msg = msg;
                        msg["request_seq"] = json!(editor_seq);
                        self.to_editor(msg.clone(), &mut n);
                        Some(Tap::Response(msg))
                    }
                    // A response to nothing we sent: the editor may know what it is.
                    None => {
                        self.to_editor(msg, &mut n);
                        None
                    }
                }
            }
            Some("request") => {
                let adapter_seq = msg["seq"].as_i64().unwrap_or(0);
                let seq = self.to_editor(msg, &mut n);
                n.reverse.insert(seq, adapter_seq);
                None
            }
            _ if msg["event"] == "stopped" => {
                // A look begins (lldb-dap's further events for the same stop join it).
                if !n.looking {
                    n.look += 1;
                    n.looking = true;
                }
                let look = n.look;
                self.to_editor(msg.clone(), &mut n);
                Some(Tap::Stop { event: msg, look })
            }
            _ => {
                self.to_editor(msg.clone(), &mut n);
                Some(Tap::Event(msg))
            }
        }
    }

    /// Text in the editor's Debug Console.
    pub fn say(&self, text: &str) {
        let mut n = self.lock();
        self.console(text.to_string(), &mut n);
    }

    fn console(&self, mut text: String, numbers: &mut Numbers) {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        self.to_editor(
            json!({"type": "event", "event": "output", "body": {"category": "console", "output": text}}),
            numbers,
        );
    }

    /// Sends a request of the coach's own to the adapter and waits for its answer's body.
    pub async fn ask(
        &self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, AskError> {
        let (tx, rx) = oneshot::channel();
        let seq = {
            let mut n = self.lock();
            let seq = n.next_to_adapter + 1;
            n.pending.insert(seq, Owner::Coach(tx));
            let mut msg = json!({"type": "request", "command": command});
            if let Some(a) = arguments {
                msg["arguments"] = a;
            }
            self.to_adapter(msg, &mut n)
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(resp)) if resp["success"].as_bool().unwrap_or(false) => {
                Ok(resp.get("body").cloned().unwrap_or(Value::Null))
            }
            Ok(Ok(resp)) => Err(AskError::Failed {
                command: command.to_string(),
                message: crate::dap::client::error_message(&resp),
            }),
            Ok(Err(_)) => Err(AskError::Gone(command.to_string())),
            Err(_) => {
                self.lock().pending.remove(&seq);
                Err(AskError::Timeout {
                    command: command.to_string(),
                    after: timeout,
                })
            }
        }
    }

    /// Ends every pending request of the coach's own (the adapter is gone).
    pub fn forget_pending(&self) {
        self.lock()
            .pending
            .retain(|_, o| matches!(o, Owner::Editor(_)));
    }
}

/// The queues behind a [`Link`], for [`pump`] to drain into the two connections.
pub struct Queues {
    to_adapter: mpsc::UnboundedReceiver<Value>,
    to_editor: mpsc::UnboundedReceiver<Value>,
    deadlines: mpsc::UnboundedReceiver<(u64, Instant)>,
}

/// A new link and the queues its messages wait in; a resuming request waits at most
/// `bound` for the coach's look at a stop.
pub fn link(bound: Duration) -> (Link, Queues) {
    let (ta, ra) = mpsc::unbounded_channel();
    let (te, re) = mpsc::unbounded_channel();
    let (td, rd) = mpsc::unbounded_channel();
    (
        Link {
            numbers: Arc::default(),
            to_adapter: ta,
            to_editor: te,
            bound,
            deadlines: td,
        },
        Queues {
            to_adapter: ra,
            to_editor: re,
            deadlines: rd,
        },
    )
}

/// Lets the editor's held requests go when their look outlasts its bound; never ends (the
/// other sides of [`pump`] do).
async fn bound_looks(
    link: &Link,
    deadlines: &mut mpsc::UnboundedReceiver<(u64, Instant)>,
) -> Ended {
    // Deadlines come in the order they run out: one bound after each look's first hold.
    while let Some((look, deadline)) = deadlines.recv().await {
        tokio::time::sleep_until(deadline).await;
        link.expire(look);
    }
    std::future::pending().await
}

/// Which side ended a connection, and how.
#[derive(Debug)]
pub enum Ended {
    /// The editor closed its connection (or it broke).
    Editor(Option<TransportError>),
    /// The adapter closed its output (it exited, or crashed).
    Adapter(Option<TransportError>),
}

/// Moves messages until one side ends: the editor's (after `first`, already read) to the
/// adapter, the adapter's to the editor, each side's queue to its writer. `tap` receives
/// what the follower should see.
#[allow(clippy::too_many_arguments)]
pub async fn pump<ER, EW, AR, AW>(
    link: &Link,
    queues: Queues,
    mut editor_in: FrameReader<ER>,
    mut editor_out: EW,
    mut adapter_in: FrameReader<AR>,
    mut adapter_out: AW,
    tap: mpsc::UnboundedSender<Tap>,
) -> Ended
where
    ER: AsyncRead + Unpin,
    EW: AsyncWrite + Unpin,
    AR: AsyncRead + Unpin,
    AW: AsyncWrite + Unpin,
{
    let Queues {
        mut to_adapter,
        mut to_editor,
        mut deadlines,
    } = queues;
    let from_editor = async {
        loop {
            match editor_in.read().await {
                Ok(Some(msg)) => {
                    if msg["type"] == "request" {
                        let _ = tap.send(Tap::Request(msg.clone()));
                    }
                    link.from_editor(msg);
                }
                Ok(None) => return Ended::Editor(None),
                Err(e) => return Ended::Editor(Some(e)),
            }
        }
    };
    let from_adapter = async {
        loop {
            match adapter_in.read().await {
                Ok(Some(msg)) => {
                    if let Some(t) = link.from_adapter(msg) {
                        let _ = tap.send(t);
                    }
                }
                Ok(None) => return Ended::Adapter(None),
                Err(e) => return Ended::Adapter(Some(e)),
            }
        }
    };
    let write_adapter = async {
        while let Some(msg) = to_adapter.recv().await {
            if let Err(e) = write_message(&mut adapter_out, &msg).await {
                return Ended::Adapter(Some(e));
            }
        }
        Ended::Adapter(None)
    };
    let write_editor = async {
        while let Some(msg) = to_editor.recv().await {
            if let Err(e) = write_message(&mut editor_out, &msg).await {
                return Ended::Editor(Some(e));
            }
        }
        Ended::Editor(None)
    };
    tokio::select! {
        e = from_editor => e,
        e = from_adapter => {
            // The adapter's last words (`terminated`, the disconnect response) are already
            // queued for the editor: deliver them before the connection ends.
            flush(&mut to_editor, &mut editor_out).await;
            e
        }
        e = write_adapter => e,
        e = write_editor => e,
        e = bound_looks(link, &mut deadlines) => e,
    }
}

/// Writes what is queued now, for a connection about to end.
async fn flush<W: AsyncWrite + Unpin>(queue: &mut mpsc::UnboundedReceiver<Value>, out: &mut W) {
    while let Ok(msg) = queue.try_recv() {
        if write_message(out, &msg).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_sees_its_own_numbers() {
        let (link, mut q) = link(Duration::from_secs(10));
        // The editor's request 7 reaches the adapter as 1; the coach's own as 2.
        link.from_editor(json!({"type": "request", "seq": 7, "command": "threads"}));
        let sent = q.to_adapter.try_recv().expect("in this test");
        assert_eq!(sent["seq"], 1);
        assert_eq!(sent["command"], "threads");
        let (tx, mut rx) = oneshot::channel();
        {
            let mut n = link.lock();
            n.pending.insert(2, Owner::Coach(tx));
            link.to_adapter(json!({"type": "request", "command": "evaluate"}), &mut n);
        }
        assert_eq!(q.to_adapter.try_recv().expect("in this test")["seq"], 2);
        // The coach's answer never reaches the editor; the editor's comes back as 7.
        assert!(link
            .from_adapter(json!({"type": "response", "seq": 10, "request_seq": 2, "success": true}))
            .is_none());
        assert!(rx.try_recv().is_ok());
        assert!(q.to_editor.try_recv().is_err());
        link.from_adapter(json!({"type": "response", "seq": 11, "request_seq": 1, "success": true, "command": "threads"}));
        let back = q.to_editor.try_recv().expect("in this test");
        assert_eq!(back["request_seq"], 7);
        assert_eq!(back["seq"], 1);
        // The coach's event takes the next editor-side number.
        link.say("hello");
        assert_eq!(q.to_editor.try_recv().expect("in this test")["seq"], 2);
    }

    #[test]
    fn a_reverse_request_is_answered_under_the_adapters_number() {
        let (link, mut q) = link(Duration::from_secs(10));
        link.say("first");
        let _ = q.to_editor.try_recv();
        link.from_adapter(json!({"type": "request", "seq": 40, "command": "runInTerminal"}));
        let rev = q.to_editor.try_recv().expect("in this test");
        assert_eq!(rev["seq"], 2);
        assert_eq!(rev["command"], "runInTerminal");
        link.from_editor(
            json!({"type": "response", "seq": 3, "request_seq": 2, "success": true, "command": "runInTerminal"}),
        );
        let resp = q.to_adapter.try_recv().expect("in this test");
        assert_eq!(resp["request_seq"], 40);
    }

    /// The adapter's `stopped` event, through `link`; the look it opened.
    fn stopped(link: &Link, q: &mut Queues) -> u64 {
        let tap = link.from_adapter(
            json!({"type": "event", "seq": 1, "event": "stopped", "body": {"threadId": 1}}),
        );
        let _ = q.to_editor.try_recv();
        match tap {
            Some(Tap::Stop { look, .. }) => look,
            other => panic!("not a stop: {other:?}"),
        }
    }

    fn request(seq: i64, command: &str) -> Value {
        json!({"type": "request", "seq": seq, "command": command, "arguments": {"threadId": 1}})
    }

    #[test]
    fn resuming_requests_wait_for_the_look_and_then_go_in_order() {
        let (link, mut q) = link(Duration::from_secs(10));
        let look = stopped(&link, &mut q);
        link.from_editor(request(5, "continue"));
        // Other requests pass at once, under the next adapter-side number.
        link.from_editor(request(6, "threads"));
        link.from_editor(request(7, "next"));
        let passed = q.to_adapter.try_recv().expect("in this test");
        assert_eq!(
            (passed["command"].as_str(), passed["seq"].as_i64()),
            (Some("threads"), Some(1))
        );
        assert!(
            q.to_adapter.try_recv().is_err(),
            "a resume went during the look"
        );
        assert!(link.in_time(look));
        link.release(look);
        assert!(!link.in_time(look));
        let sent: Vec<(String, i64)> = std::iter::from_fn(|| q.to_adapter.try_recv().ok())
            .map(|m| {
                (
                    m["command"].as_str().unwrap_or_default().to_string(),
                    m["seq"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(sent, [("continue".to_string(), 2), ("next".to_string(), 3)]);
        // Their responses come back under the editor's numbers.
        link.from_adapter(json!({"type": "response", "seq": 9, "request_seq": 2, "success": true, "command": "continue"}));
        assert_eq!(
            q.to_editor.try_recv().expect("in this test")["request_seq"],
            5
        );
        // After the look, a resume goes at once.
        link.from_editor(request(8, "stepIn"));
        assert_eq!(
            q.to_adapter.try_recv().expect("in this test")["command"],
            "stepIn"
        );
        // The next stop opens a new look; releasing the old one does not end it.
        let next = stopped(&link, &mut q);
        assert_ne!(next, look);
        link.release(look);
        assert!(link.in_time(next));
    }

    #[test]
    fn a_disconnect_lets_the_held_resume_go_first() {
        let (link, mut q) = link(Duration::from_secs(10));
        let look = stopped(&link, &mut q);
        link.from_editor(request(5, "continue"));
        link.from_editor(json!({"type": "request", "seq": 6, "command": "disconnect"}));
        let sent: Vec<String> = std::iter::from_fn(|| q.to_adapter.try_recv().ok())
            .map(|m| m["command"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(sent, ["continue", "disconnect"]);
        // The look is over: the coach says nothing more about the stop.
        assert!(!link.say_in_time(look, "✓"));
        assert!(q.to_editor.try_recv().is_err());
    }

    #[tokio::test]
    async fn past_the_bound_the_resume_goes_and_the_stop_is_said_unchecked() {
        let (link, mut q) = link(Duration::from_millis(20));
        let look = stopped(&link, &mut q);
        link.from_editor(request(5, "continue"));
        let watch = link.clone();
        let bound = tokio::spawn(async move {
            let mut deadlines = q.deadlines;
            bound_looks(&watch, &mut deadlines).await
        });
        let sent = q.to_adapter.recv().await.expect("the resume goes");
        assert_eq!(sent["command"], "continue");
        let said = q.to_editor.recv().await.expect("the console says why");
        let text = said["body"]["output"].as_str().unwrap_or_default();
        assert!(
            text.contains("your continue went on without it, so this stop was not checked"),
            "{text}"
        );
        // The coach's late verdict is not said.
        assert!(!link.say_in_time(look, "✓"));
        assert!(q.to_editor.try_recv().is_err());
        bound.abort();
    }
}
