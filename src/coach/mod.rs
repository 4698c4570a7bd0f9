//! `dapwalk coach WALKTHROUGH`: sits between the learner's VS Code and the real debug adapter
//! and follows the walkthrough as they debug. VS Code connects to the coach's loopback port (a
//! launch configuration's `debugServer`); for each connection the coach starts the adapter the
//! configuration's `type` names, forwards every message both ways ([`proxy`]), looks at each
//! stop with requests of its own and writes to the Debug Console how the stop compares with
//! the walkthrough and what to do next ([`follow`], [`narrate`]). `--record` turns the session
//! into a walkthrough ([`record`]).
//!
//! One session at a time: a second connection while one is served is answered with an error
//! response saying so, and closed.

mod follow;
pub mod narrate;
pub mod proxy;
pub mod record;

use crate::adapters::{Adapter, Dialect, Explicit, Registry};
use crate::dap::transport::{write_message, FrameReader};
use crate::session::{AdapterProcess, Signals};
use crate::walkthrough::Prepared;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How the coach runs.
pub struct CoachOptions {
    /// The port to listen on (127.0.0.1 only); 0 lets the system choose. The command line's
    /// default is the walkthrough's port in the generated configurations
    /// (`editor::coach::port`).
    pub port: u16,
    /// Paths given on the command line for the adapters.
    pub explicit: Explicit,
    /// Where `--record` writes the walkthrough, after each session.
    pub record: Option<PathBuf>,
    /// The Python's standard library, for recording breakpoints there as `stdlib:` patterns.
    pub stdlib: Option<PathBuf>,
    /// Serve this many sessions, then exit (tests); `None`: until interrupted.
    pub sessions: Option<usize>,
}

/// Why the coach stopped.
#[derive(Debug, thiserror::Error)]
pub enum CoachError {
    #[error("cannot listen on 127.0.0.1:{port}: {source} (if another dapwalk coach listens there, stop it or pass another --port)")]
    Listen {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Interrupted(#[from] crate::session::Interrupted),
    #[error("cannot write {path}: {source}", path = .path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How long an adapter may take to exit after the session's end before it is killed.
const GRACE: Duration = Duration::from_secs(3);

/// Listens and coaches until interrupted (or `sessions` were served). Prints the port and
/// the `debugServer` line to paste on stdout.
pub async fn serve(
    prep: &Prepared,
    registry: &Registry,
    opts: &CoachOptions,
    signals: &mut Signals,
) -> Result<(), CoachError> {
    let listener = TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|source| CoachError::Listen {
            port: opts.port,
            source,
        })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(opts.port);
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "dapwalk coach: {} — listening on 127.0.0.1:{port}",
            prep.walkthrough.title
        );
        let _ = writeln!(
            out,
            "In the launch configuration you debug with, add:  \"debugServer\": {port},"
        );
        let _ = out.flush();
    }
    let work = async {
        let mut served = 0;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("dapwalk coach: accept failed: {e}");
                    continue;
                }
            };
            // While a session runs, later connections are refused with a reason.
            let session = coach_one(stream, prep, registry, opts);
            tokio::pin!(session);
            let result = loop {
                tokio::select! {
                    r = &mut session => break r,
                    c = listener.accept() => if let Ok((other, _)) = c {
                        tokio::spawn(refuse(other));
                    }
                }
            };
            result?;
            served += 1;
            if opts.sessions.is_some_and(|n| served >= n) {
                return Ok(());
            }
        }
    };
    crate::session::until_signal(signals, work).await?
}

/// Answers a second connection's first request with an error that says why, and closes it.
async fn refuse(stream: TcpStream) {
    let (r, mut w) = stream.into_split();
    let mut reader = FrameReader::new(r);
    let first = tokio::time::timeout(Duration::from_secs(10), reader.read()).await;
    let (seq, command) = match first {
        Ok(Ok(Some(m))) => (
            m["seq"].as_i64().unwrap_or(0),
            m["command"].as_str().unwrap_or("initialize").to_string(),
        ),
        _ => return,
    };
    let _ = write_message(&mut w, &error_response(1, seq, &command, "dapwalk coach is already coaching a session on this port (one at a time): end that debug session first, or start a second coach with another --port")).await;
}

fn error_response(seq: i64, request_seq: i64, command: &str, message: &str) -> Value {
    json!({
        "type": "response", "seq": seq, "request_seq": request_seq, "command": command,
        "success": false, "message": message,
        "body": {"error": {"id": 1, "format": message, "showUser": true}},
    })
}

/// The adapter a connection asks for: `initialize`'s `adapterID` is the launch
/// configuration's `type` in VS Code.
fn adapter_for(
    registry: &Registry,
    prep: &Prepared,
    adapter_id: &str,
    explicit: &Explicit,
) -> Result<Adapter, String> {
    let lang = prep.walkthrough.language;
    let dialect: &'static dyn Dialect = match registry.for_vscode_type(adapter_id) {
        Some(d) if d.language() == lang => d,
        Some(d) => {
            return Err(format!(
                "the launch configuration's type {adapter_id:?} is {}, which debugs {} programs; {} is a {} walkthrough",
                d.name(),
                d.language().as_str(),
                crate::project::display_path(&prep.walkthrough.path, &prep.root),
                lang.as_str()
            ))
        }
        None => {
            let known: Vec<&str> = registry
                .for_language(lang)
                .iter()
                .flat_map(|d| d.vscode_types().iter().copied())
                .collect();
            return Err(format!(
                "the launch configuration's type {adapter_id:?} names no adapter dapwalk knows; for this walkthrough use one of: {}",
                known.join(", ")
            ));
        }
    };
    dialect
        .discover(explicit.get(dialect.name()), &prep.root)
        .map_err(|e| e.to_string())
}

/// One VS Code session, from its connection to the adapter's end.
async fn coach_one(
    stream: TcpStream,
    prep: &Prepared,
    registry: &Registry,
    opts: &CoachOptions,
) -> Result<(), CoachError> {
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut editor_in = FrameReader::new(r);
    let first = match editor_in.read().await {
        Ok(Some(m)) => m,
        _ => return Ok(()),
    };
    let seq = first["seq"].as_i64().unwrap_or(0);
    let command = first["command"].as_str().unwrap_or_default().to_string();
    if command != "initialize" {
        let _ = write_message(
            &mut w,
            &error_response(
                1,
                seq,
                &command,
                "dapwalk coach: the first request must be initialize",
            ),
        )
        .await;
        return Ok(());
    }
    let adapter_id = first["arguments"]["adapterID"].as_str().unwrap_or_default();
    let adapter = match adapter_for(registry, prep, adapter_id, &opts.explicit) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("dapwalk coach: {message}");
            let _ = write_message(&mut w, &error_response(1, seq, &command, &message)).await;
            return Ok(());
        }
    };
    let mut process = match AdapterProcess::spawn(&adapter, Duration::from_secs(10)).await {
        Ok(p) => p,
        Err(e) => {
            let message = format!("dapwalk coach: {e}");
            eprintln!("{message}");
            let _ = write_message(&mut w, &error_response(1, seq, &command, &message)).await;
            return Ok(());
        }
    };
    eprintln!(
        "dapwalk coach: a session on {} ({})",
        adapter.name(),
        adapter.program.display()
    );
    let (Some(adapter_in), Some(adapter_out)) = (process.reader.take(), process.writer.take())
    else {
        return Ok(());
    };
    if let Some(stderr) = process.stderr.take() {
        // The adapter's own complaints go to the coach's terminal, as they would go to the
        // editor's log.
        tokio::spawn(async move {
            let mut stderr = stderr;
            let _ = tokio::io::copy(&mut stderr, &mut tokio::io::stderr()).await;
        });
    }
    let (link, queues) = proxy::link(follow::ASK);
    let (tap_tx, mut taps) = mpsc::unbounded_channel();
    let _ = tap_tx.send(proxy::Tap::Request(first.clone()));
    link.from_editor(first);
    let (pid_tx, mut pid_rx) = mpsc::unbounded_channel();
    let recorder = opts
        .record
        .as_ref()
        .map(|_| record::Recorder::new(opts.stdlib.clone()));
    let mut follower = follow::Follower::new(prep, adapter.dialect, link.clone(), pid_tx, recorder);
    follower.pyspy = crate::os::pyspy::find(&adapter.program, &prep.root);
    let pump = proxy::pump(
        &link,
        queues,
        editor_in,
        w,
        FrameReader::new(adapter_in),
        adapter_out,
        tap_tx,
    );
    let ended = {
        let follow = follower.run(&mut taps);
        tokio::pin!(follow);
        tokio::pin!(pump);
        let ended = loop {
            tokio::select! {
                e = &mut pump => break e,
                _ = &mut follow, if true => {
                    // The follower ends only when the taps do, with the pump.
                    break (&mut pump).await;
                }
                Some(pid) = pid_rx.recv() => process.note_pid(pid),
            }
        };
        ended
    };
    link.forget_pending();
    while let Ok(pid) = pid_rx.try_recv() {
        process.note_pid(pid);
    }
    let teardown = process.end(GRACE).await;
    match &ended {
        proxy::Ended::Editor(e) => eprintln!(
            "dapwalk coach: the editor closed the session{}; ended the adapter ({} processes, {} killed)",
            e.as_ref().map(|e| format!(" ({e})")).unwrap_or_default(),
            teardown.pids.len(),
            teardown.killed.len()
        ),
        proxy::Ended::Adapter(e) => eprintln!(
            "dapwalk coach: the adapter ended the session{}",
            e.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
        ),
    }
    if let (Some(path), Some(rec)) = (&opts.record, &follower.recorder) {
        std::fs::write(path, rec.render(prep)).map_err(|source| CoachError::Record {
            path: path.clone(),
            source,
        })?;
        eprintln!("dapwalk coach: recorded the session as {}", path.display());
    }
    Ok(())
}
