//! One run of one program: in its own process group, stdout to a pipe or a terminal, stderr to
//! a pipe, killed with its whole group when it is still alive at the deadline.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Where the program's stdout goes: Python buffers a pipe by blocks, a terminal by lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stdout {
    Pipe,
    Pty,
}

impl Stdout {
    pub fn name(self) -> &'static str {
        match self {
            Stdout::Pipe => "pipe",
            Stdout::Pty => "pty",
        }
    }
}

/// How one run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Exited by itself with this code (None: killed by a signal).
    Exited(Option<i32>),
    /// Still alive at the deadline; its group was killed.
    Hung,
}

/// What one run did.
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub ended: Ended,
    pub stdout: String,
    pub stderr: String,
}

/// Collects everything a reader yields until end of file or an error (a terminal's master
/// reads EIO once the last process holding the terminal is gone).
fn drain(mut from: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let into = Arc::clone(&sink);
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match from.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => match into.lock() {
                    Ok(mut v) => v.extend_from_slice(&chunk[..n]),
                    Err(_) => break,
                },
            }
        }
    });
    (sink, handle)
}

fn text(sink: &Arc<Mutex<Vec<u8>>>) -> String {
    let bytes = sink.lock().map(|v| v.clone()).unwrap_or_default();
    // A terminal turns "\n" into "\r\n"; the documented outputs are written with "\n".
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

/// Runs `argv` with `env` changes once and waits at most `hang_after`; a run still alive then
/// is `Ended::Hung` and its process group gets SIGKILL. Every run's group is killed at the
/// end, so a leftover child of an exited run cannot load the next one.
pub fn run_once(
    argv: &[String],
    env: &[(String, Option<String>)],
    stdout: Stdout,
    hang_after: Duration,
) -> Result<RunOutput, String> {
    let (program, args) = argv.split_first().ok_or("empty command line")?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
    for (name, value) in env {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    // A new session: the run is its own process group (and a terminal's session leader).
    cmd.process_group(0);
    let mut master: Option<OwnedFd> = None;
    match stdout {
        Stdout::Pipe => {
            cmd.stdout(Stdio::piped());
        }
        Stdout::Pty => {
            let pty = nix::pty::openpty(None, None).map_err(|e| format!("openpty: {e}"))?;
            cmd.stdout(Stdio::from(pty.slave));
            master = Some(pty.master);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    // The command still holds the terminal's slave side; without dropping it the master never
    // reads end of file.
    drop(cmd);
    let (out, out_reader) = match (child.stdout.take(), master) {
        (Some(pipe), _) => drain(pipe),
        (None, Some(master)) => drain(std::fs::File::from(master)),
        (None, None) => return Err("no stdout to read".into()),
    };
    let err_pipe = child.stderr.take().ok_or("no stderr to read")?;
    let (err, err_reader) = drain(err_pipe);
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let deadline = Instant::now() + hang_after;
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ended::Exited(status.code()),
            Ok(None) if Instant::now() >= deadline => break Ended::Hung,
            Ok(None) => thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("waiting for {program}: {e}")),
        }
    };
    // ESRCH (the group is already gone) is the usual answer for a run that exited.
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    let _ = out_reader.join();
    let _ = err_reader.join();
    Ok(RunOutput {
        ended,
        stdout: text(&out),
        stderr: text(&err),
    })
}
