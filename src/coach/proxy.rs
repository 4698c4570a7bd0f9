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

use crate::dap::transport::{write_message, FrameReader, TransportError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

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
}

/// Both directions of one proxied connection.
#[derive(Clone)]
pub struct Link {
    numbers: Arc<Mutex<Numbers>>,
    to_adapter: mpsc::UnboundedSender<Value>,
    to_editor: mpsc::UnboundedSender<Value>,
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

    /// A message from the editor, on its way to the adapter.
    pub fn from_editor(&self, msg: Value) {
        let mut n = self.lock();
        match msg["type"].as_str() {
            Some("request") => {
                let editor_seq = msg["seq"].as_i64().unwrap_or(0);
                // The number is taken before the send, so a fast response finds its owner.
                let seq = n.next_to_adapter + 1;
                n.pending.insert(seq, Owner::Editor(editor_seq));
                self.to_adapter(msg, &mut n);
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
            _ => {
                self.to_editor(msg.clone(), &mut n);
                Some(Tap::Event(msg))
            }
        }
    }

    /// Writes an event of the coach's own to the editor.
    pub fn event_to_editor(&self, event: &str, body: Value) {
        let mut n = self.lock();
        self.to_editor(
            json!({"type": "event", "event": event, "body": body}),
            &mut n,
        );
    }

    /// Text in the editor's Debug Console.
    pub fn say(&self, text: &str) {
        let mut text = text.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        self.event_to_editor("output", json!({"category": "console", "output": text}));
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
}

/// A new link and the queues its messages wait in.
pub fn link() -> (Link, Queues) {
    let (ta, ra) = mpsc::unbounded_channel();
    let (te, re) = mpsc::unbounded_channel();
    (
        Link {
            numbers: Arc::default(),
            to_adapter: ta,
            to_editor: te,
        },
        Queues {
            to_adapter: ra,
            to_editor: re,
        },
    )
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
        let (link, mut q) = link();
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
        let (link, mut q) = link();
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
}
