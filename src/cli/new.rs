//! `dapwalk new PROGRAM`: a first walkthrough for a program of one's own. Finds the program
//! (as `program = "PATH"` would), builds it if it is a cargo package, runs it once without a
//! debugger to see how it ends, and writes the draft ([`crate::walkthrough::draft`]).

use super::args::NewArgs;
use super::error::{CliError, Exit};
use crate::adapters::{debugpy, Dialect, Language};
use crate::project::Project;
use crate::walkthrough::draft::{self, Draft, ObservedRun};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn new(project: &Project, args: NewArgs) -> Result<Exit, CliError> {
    let language = crate::project::infer_language(&args.program)?;
    let own = crate::project::own_program(&args.program, args.bin.as_deref(), language)?;
    let cwd = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
    let out: Option<PathBuf> = match &args.output {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(cwd.join(p)),
        None => Some(cwd.join(format!("{}.walkthrough.toml", own.name))),
    };
    if let Some(o) = &out {
        if o.exists() && !args.force {
            return Err(CliError::Setup(format!(
                "{} exists; pass --force to replace it, or -o FILE",
                o.display()
            )));
        }
    }
    crate::project::build_own(&own)?;

    // Stops are named relative to the program's folder, where `file:` patterns resolve.
    let sources: Vec<(String, String)> = own
        .marker_files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            Some((draft::relative_to(f, &own.root), text))
        })
        .collect();
    let mut stops = draft::marker_stops(&sources);
    let mut skipped = Vec::new();
    if stops.is_empty() {
        (stops, skipped) = draft::function_stops(language, &sources);
    }

    let python = match language {
        Language::Python => Some(python_for(project, args.adapters.python.as_deref())),
        Language::Rust => None,
    };
    let wait = Duration::from_secs_f64(args.wait.clamp(0.5, 600.0));
    eprintln!(
        "dapwalk: running {} once (up to {}s) to see how it ends…",
        project.display(&own.launch),
        wait.as_secs()
    );
    let end = run_once(&own.launch, python.as_deref(), &own.root, wait);

    let base = out.as_deref().and_then(Path::parent).unwrap_or(&cwd);
    let program_text = draft::relative_to(
        &args.program.canonicalize().unwrap_or(args.program.clone()),
        &base.canonicalize().unwrap_or(base.to_path_buf()),
    );
    let file_name = out
        .as_deref()
        .map(|o| project.display(o))
        .unwrap_or_else(|| "FILE".into());
    let shown_name = own
        .source
        .file_name()
        .filter(|_| language == Language::Python)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| own.name.clone());
    let text = draft::render(&Draft {
        name: &shown_name,
        program: &program_text,
        bin: args.bin.as_deref(),
        language,
        stops: &stops,
        skipped: &skipped,
        end: &end,
        file_name: &file_name,
    });
    match &out {
        None => print!("{text}"),
        Some(o) => {
            std::fs::write(o, &text).map_err(|e| format!("cannot write {}: {e}", o.display()))?;
            eprintln!(
                "dapwalk: wrote {} ({} stop(s), {}); edit it, then: dapwalk run {}",
                project.display(o),
                stops.len(),
                describe(&end),
                project.display(o)
            );
        }
    }
    Ok(Exit::Passed)
}

/// The Python that would play: the one with debugpy the run would find, else `python3`.
fn python_for(project: &Project, explicit: Option<&Path>) -> PathBuf {
    debugpy::DEBUGPY
        .discover(explicit, &project.root)
        .map(|a| a.program)
        .unwrap_or_else(|_| {
            explicit
                .map(Path::to_path_buf)
                .unwrap_or_else(|| "python3".into())
        })
}

fn describe(end: &ObservedRun) -> String {
    match end {
        ObservedRun::Exit { code, .. } => format!("it exited with code {code}"),
        ObservedRun::Hang { after_secs } => {
            format!("it hung: every thread blocked after {after_secs:.1}s")
        }
        ObservedRun::StillRunning { after_secs } => format!("still running after {after_secs:.0}s"),
        ObservedRun::Other { what } => what.clone(),
    }
}

/// How often a running program is looked at, and how many looks in a row with every thread
/// blocked for good make a hang.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
const STUCK_LOOKS: usize = 5;

/// Runs the program once in its own process group, stdout captured, until it exits, every
/// thread is blocked for good, or `wait` passes; the group is then killed and reaped.
fn run_once(program: &Path, python: Option<&Path>, cwd: &Path, wait: Duration) -> ObservedRun {
    let mut cmd = match python {
        Some(py) => {
            let mut c = std::process::Command::new(py);
            c.arg(program).env("PYTHONDONTWRITEBYTECODE", "1");
            c
        }
        None => std::process::Command::new(program),
    };
    cmd.current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ObservedRun::Other {
                what: format!("it could not be run: {e}"),
            }
        }
    };
    let pid = child.id();
    // Read stdout on the side: a program that fills the pipe must not block on it.
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        })
    });
    let started = Instant::now();
    let mut detector = crate::os::hang::HangDetector::new(STUCK_LOOKS);
    let mut stuck = false;
    let verdict = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => {
                crate::os::procs::kill_group(pid);
                let _ = child.wait();
                return ObservedRun::Other {
                    what: format!("cannot wait for it: {e}"),
                };
            }
        }
        if detector.observe(crate::os::hang::sample(pid)) {
            stuck = true;
            break None;
        }
        if started.elapsed() >= wait {
            break None;
        }
        std::thread::sleep(SAMPLE_EVERY);
    };
    let after_secs = started.elapsed().as_secs_f64();
    // Whatever it left (children in its group included) ends here.
    crate::os::procs::kill_group(pid);
    let status = match verdict {
        Some(s) => s,
        None => match child.wait() {
            Ok(s) => s,
            Err(e) => {
                return ObservedRun::Other {
                    what: format!("cannot reap it: {e}"),
                }
            }
        },
    };
    let stdout = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    if verdict.is_none() {
        return if stuck {
            ObservedRun::Hang { after_secs }
        } else {
            ObservedRun::StillRunning { after_secs }
        };
    }
    match status.code() {
        Some(code) => ObservedRun::Exit {
            code: i64::from(code),
            stdout,
        },
        None => ObservedRun::Other {
            what: format!("it ended by a signal ({status})"),
        },
    }
}
