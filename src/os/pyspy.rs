//! Which OS thread of a Python program is which, read from outside with py-spy.
//!
//! debugpy runs threads of its own inside the debuggee and lists only the program's in
//! `threads`, by name; `/proc` knows the threads by id only. Most of debugpy's threads wait on
//! its socket or with a timeout, but pydevd's `_TimeoutThread` waits without one whenever it has
//! nothing scheduled, and while the program exits CPython takes `MainThread` off the list
//! debugpy answers from. Counting blocked threads against the listed number is then fooled (a
//! program thread asleep, one of debugpy's idle), so where py-spy can read the process, its
//! `dump --json --nonblocking` names every thread by its OS id (18 ms measured, the process is
//! not paused) and the rule looks at the program's own threads only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set once py-spy was refused the right to read a process (ptrace): not asked again.
static UNUSABLE: AtomicBool = AtomicBool::new(false);

/// py-spy beside `python` (a virtual environment's `bin/`), else in the project's `.venv`
/// (where `scripts/setup` installs it; one py-spy reads every CPython version), else on PATH.
pub fn find(python: &Path, project: &Path) -> Option<PathBuf> {
    if UNUSABLE.load(Ordering::Relaxed) {
        return None;
    }
    python
        .parent()
        .map(|d| d.join("py-spy"))
        .into_iter()
        .chain([project.join(".venv/bin/py-spy")])
        .find(|p| p.is_file())
        .or_else(|| which::which("py-spy").ok())
}

/// OS thread id → Python thread name for every thread of `pid`, or `None` when py-spy cannot
/// read it (if it was refused permission, it is not tried again in this process).
pub async fn thread_names(pyspy: &Path, pid: u32) -> Option<BTreeMap<u32, String>> {
    let run = tokio::process::Command::new(pyspy)
        .args(["dump", "--json", "--nonblocking", "--pid", &pid.to_string()])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(Duration::from_secs(2), run).await {
        Ok(Ok(out)) if out.status.success() => out,
        // Only a refusal to read the process rules py-spy out for the rest of the run; a
        // process on its way out, or a dump that failed under load, is no answer this once.
        Ok(Ok(out)) => {
            let said = String::from_utf8_lossy(&out.stderr).to_lowercase();
            if said.contains("permission denied") || said.contains("operation not permitted") {
                UNUSABLE.store(true, Ordering::Relaxed);
            }
            return None;
        }
        _ => return None,
    };
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// The names in a `py-spy dump --json` text.
pub fn parse(json: &str) -> Option<BTreeMap<u32, String>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let names: BTreeMap<u32, String> = v
        .as_array()?
        .iter()
        .filter_map(|t| {
            Some((
                u32::try_from(t["os_thread_id"].as_u64()?).ok()?,
                t["thread_name"].as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_by_os_thread_id() {
        let dump = r#"[{"pid": 5, "thread_id": 1402, "thread_name": "W2", "os_thread_id": 19829,
            "active": false, "owns_gil": false, "frames": []},
            {"pid": 5, "thread_id": 1403, "thread_name": "MainThread", "os_thread_id": 5,
            "active": false, "owns_gil": false, "frames": []}]"#;
        let names = parse(dump).expect("a dump");
        assert_eq!(names.get(&19829).map(String::as_str), Some("W2"));
        assert_eq!(names.get(&5).map(String::as_str), Some("MainThread"));
        assert_eq!(parse("not json"), None);
    }

    #[tokio::test]
    async fn names_the_threads_of_a_real_python_program() {
        // scripts/setup installs py-spy into the project's .venv.
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        let pyspy = find(&python, Path::new(env!("CARGO_MANIFEST_DIR")))
            .expect("py-spy in .venv (scripts/setup)");
        let mut child = std::process::Command::new(&python)
            .args([
                "-c",
                "import threading, time\n\
                 threading.Thread(target=time.sleep, args=(30,), name='Sleeper', daemon=True).start()\n\
                 print('up', flush=True)\n\
                 time.sleep(30)",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("piped stdout")),
            &mut line,
        )
        .expect("the program's first line");
        let names = thread_names(&pyspy, child.id()).await;
        let _ = child.kill();
        let _ = child.wait();
        let names = names.expect("py-spy read the process");
        assert_eq!(
            names.get(&child.id()).map(String::as_str),
            Some("MainThread")
        );
        assert!(names.values().any(|n| n == "Sleeper"), "{names:?}");
    }
}
