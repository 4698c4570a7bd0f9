//! debugpy, the Python twins' debugger: `python -m debugpy.adapter` speaks DAP on stdio.
//!
//! Its quirks: it is a Python module, found through the Python that will run the program;
//! breaking in the standard library needs `justMyCode: false`; its `continue` resumes every
//! thread (no holding); exceptions break through `exceptionOptions`; it runs threads of its
//! own inside the debuggee, so a hang is judged against the threads it lists, and it answers
//! no `pause` of threads blocked in C; the talk's stdlib frames are what a learner sees.

use super::{
    on_path, run_for_output, Adapter, AdapterError, Connect, Dialect, HangRule, Identity, Language,
    LaunchTarget, WatchFrame,
};
use crate::dap::protocol::Frame;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The debugpy dialect.
#[derive(Debug)]
pub struct Debugpy;

pub static DEBUGPY: Debugpy = Debugpy;

/// debugpy's identity.
static IDENTITY: Identity = Identity {
    name: "debugpy",
    display_name: "debugpy",
    language: Language::Python,
    vscode_types: &["debugpy", "python"],
    adapter_id: "debugpy",
    install_hint: "run scripts/setup (creates .venv with debugpy), or `pip install debugpy` into the Python you pass with --python",
};

impl Dialect for Debugpy {
    fn identity(&self) -> &'static Identity {
        &IDENTITY
    }
    fn looked_for(&self) -> String {
        "$DAPWALK_PYTHON, $VIRTUAL_ENV/bin/python, the project's .venv/bin/python, python3 and python on PATH".into()
    }

    /// A Python with debugpy, looked for where a person would have put it: the explicit one
    /// (`--python`), then `DAPWALK_PYTHON`, the active virtual environment (`VIRTUAL_ENV`),
    /// the project's `.venv`, then `python3` and `python` on PATH.
    fn discover(
        &'static self,
        python: Option<&Path>,
        project: &Path,
    ) -> Result<Adapter, AdapterError> {
        let candidates: Vec<PathBuf> = match python {
            Some(p) => vec![p.to_path_buf()],
            None => python_candidates(project, |k| std::env::var_os(k)),
        };
        for py in &candidates {
            // Importing debugpy is the check that it is there; its version comes with it.
            if let Some(version) = debugpy_version(py) {
                return Ok(Adapter {
                    dialect: self,
                    program: py.clone(),
                    args: vec!["-m".into(), "debugpy.adapter".into()],
                    env: Vec::new(),
                    connect: Connect::Stdio,
                    version: Some(version),
                });
            }
        }
        match python {
            Some(p) if !p.exists() => Err(AdapterError::Unusable {
                dialect: self,
                path: p.to_path_buf(),
                reason: "no such file".into(),
            }),
            Some(p) => Err(AdapterError::Unusable {
                dialect: self,
                path: p.to_path_buf(),
                reason: format!(
                    "this Python cannot import debugpy (`{} -m pip install debugpy` installs it)",
                    p.display()
                ),
            }),
            None => Err(AdapterError::Missing {
                dialect: self,
                looked: candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                install: install_command(project, |k| std::env::var_os(k)),
            }),
        }
    }

    fn version(&self, adapter: &Adapter) -> Option<String> {
        adapter.version.clone()
    }

    fn launch_arguments(
        &self,
        adapter: &Adapter,
        target: &LaunchTarget,
    ) -> Result<Value, AdapterError> {
        Ok(json!({
            "type": "debugpy",
            "request": "launch",
            "name": "dapwalk",
            "program": target.program,
            "args": target.args,
            "cwd": target.cwd.clone().unwrap_or_else(|| PathBuf::from(".")),
            "env": target.env.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect::<serde_json::Map<String, Value>>(),
            "python": [adapter.program],
            "console": "internalConsole",
            // The talk's breakpoints sit in concurrent/futures: outside "my code".
            "justMyCode": false,
            "stopOnEntry": false,
        }))
    }

    /// On the Python track the standard library's frames are the talk's subject (`submit`,
    /// `_python_exit`, `result`), so every Python source counts except debugpy's own.
    fn shown_frame(&self, f: &Frame) -> bool {
        f.path().is_some_and(|p| {
            p.starts_with('/') && !p.contains("/debugpy/") && !p.contains("/pydevd")
        })
    }

    fn watch_frame(&self) -> WatchFrame {
        WatchFrame::Top
    }

    /// Module globals read by their dotted name in the program's frames
    /// (`import concurrent.futures.thread as thread_module`), bare in `thread.py`'s own.
    fn watch_expressions(&self, expr: &str) -> Vec<String> {
        let list: &[&str] = match expr {
            "global_shutdown" => &["thread_module._shutdown", "_shutdown"],
            "global_shutdown_lock_locked" => &[
                "thread_module._global_shutdown_lock.locked()",
                "_global_shutdown_lock.locked()",
            ],
            "registry_size" => &["len(thread_module._threads_queues)", "len(_threads_queues)"],
            "executor_shutdown" => &["executor._shutdown", "self._shutdown"],
            "work_queue_size" => &["executor._work_queue.qsize()", "self._work_queue.qsize()"],
            _ => &[],
        };
        match list {
            [] => vec![expr.to_string()],
            list => list.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn render_value(&self, raw: &str) -> String {
        match raw.trim() {
            "True" => "true".into(),
            "False" => "false".into(),
            v => v.to_string(),
        }
    }

    /// The talk's breakpoints sit in the standard library: outside "my code".
    fn launch_config_problem(&self, keys: &serde_json::Map<String, Value>) -> Option<String> {
        (keys.get("justMyCode") != Some(&Value::Bool(false))).then(|| {
            "debugpy needs \"justMyCode\": false, or the standard-library breakpoints never bind"
                .to_string()
        })
    }

    fn hang_rule(&self) -> HangRule {
        HangRule::AdapterListedThreads
    }

    /// pydevd answers `stackTrace` for a thread it has not suspended (one blocked in C, or
    /// running in non-stop mode) only after its internal 0.5 s timeout: 643–652 ms each,
    /// measured on debugpy 1.8.22; a suspended thread's takes ~45 ms.
    fn costly_stacks(&self) -> bool {
        true
    }

    /// A thread debugpy cannot walk (it is starting or ending) shows no frames.
    fn tolerates_unwalkable_threads(&self) -> bool {
        true
    }

    /// After a hang no thread is suspended (they are blocked in C, where pydevd cannot stop
    /// them), and debugpy refuses every expression in their frames with these words.
    fn frame_cannot_evaluate(&self, message: &str) -> bool {
        message.contains("Unable to find thread for evaluation")
    }

    /// `exceptionOptions` under "Python Exceptions", breakMode always: caught or not. With
    /// no names, exception breakpoints are cleared.
    fn exception_arguments(&self, names: &[String]) -> Option<Value> {
        let options: Vec<Value> = names
            .iter()
            .map(|n| {
                json!({
                    "path": [{ "names": ["Python Exceptions"] }, { "names": [n] }],
                    "breakMode": "always",
                })
            })
            .collect();
        Some(json!({ "filters": [], "exceptionOptions": options }))
    }
}

/// Where a Python with debugpy may be, in order, without the explicit one.
/// `env` reads the environment (a parameter so tests need not change the process's own).
fn python_candidates(
    project: &Path,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(p) = env("DAPWALK_PYTHON").filter(|p| !p.is_empty()) {
        c.push(PathBuf::from(p));
    }
    if let Some(v) = env("VIRTUAL_ENV").filter(|p| !p.is_empty()) {
        c.push(PathBuf::from(v).join("bin/python"));
    }
    c.push(project.join(".venv/bin/python"));
    c.extend(on_path("python3"));
    c.extend(on_path("python"));
    c.dedup();
    c
}

/// The one command that puts debugpy where the next run looks: into the Python chosen by
/// `DAPWALK_PYTHON` or the active virtual environment, else the project's own setup script
/// (dapwalk's repository has one), else the folder's `.venv` (made first when missing).
fn install_command(project: &Path, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> String {
    let chosen = ["DAPWALK_PYTHON", "VIRTUAL_ENV"].into_iter().find_map(|k| {
        let v = PathBuf::from(env(k).filter(|v| !v.is_empty())?);
        let py = if k == "VIRTUAL_ENV" {
            v.join("bin/python")
        } else {
            v
        };
        super::is_executable(&py).then_some(py)
    });
    if let Some(py) = chosen {
        return format!("{} -m pip install debugpy", py.display());
    }
    if super::is_executable(&project.join("scripts/setup")) {
        return "run scripts/setup (creates .venv with debugpy)".into();
    }
    let venv = project.join(".venv/bin/python");
    if super::is_executable(&venv) {
        return format!("{} -m pip install debugpy", venv.display());
    }
    format!(
        "python3 -m venv {0}/.venv && {0}/.venv/bin/pip install debugpy (or pass --python PATH, a Python that has it)",
        project.display()
    )
}

/// debugpy's version as `1.8.22 (Python 3.11.7)`, or `None` if it cannot be imported.
pub fn debugpy_version(python: &Path) -> Option<String> {
    if !super::is_executable(python) {
        return None;
    }
    let out = run_for_output(
        python,
        &[
            "-c",
            "import debugpy, sys; print('dapwalk-debugpy', debugpy.__version__, sys.version.split()[0])",
        ],
    )?;
    let line = out.lines().find(|l| l.starts_with("dapwalk-debugpy "))?;
    let mut parts = line.split_whitespace().skip(1);
    let v = parts.next()?;
    Some(match parts.next() {
        Some(py) => format!("{v} (Python {py})"),
        None => v.to_string(),
    })
}

/// The standard library folder of `python`, asked once per interpreter: `stdlib:` markers
/// resolve against the Python that plays.
pub fn stdlib_dir(python: &Path) -> Result<PathBuf, String> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<BTreeMap<PathBuf, PathBuf>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().ok().and_then(|c| c.get(python).cloned()) {
        return Ok(p);
    }
    let out = run_for_output(
        python,
        &[
            "-c",
            "import os, concurrent.futures.thread as m; print('dapwalk-stdlib', os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))",
        ],
    )
    .ok_or_else(|| format!("cannot run {} to find its standard library", python.display()))?;
    let dir = out
        .lines()
        .find_map(|l| l.strip_prefix("dapwalk-stdlib "))
        .map(|d| PathBuf::from(d.trim()))
        .ok_or_else(|| {
            format!(
                "{} did not name its standard library: {}",
                python.display(),
                out.trim()
            )
        })?;
    if let Ok(mut c) = cache.lock() {
        c.insert(python.to_path_buf(), dir.clone());
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pythons_are_looked_for_where_people_put_them() {
        let env = |k: &str| match k {
            "DAPWALK_PYTHON" => Some("/opt/py/bin/python3".into()),
            "VIRTUAL_ENV" => Some("/home/u/venv".into()),
            _ => None,
        };
        let c = python_candidates(Path::new("/p"), env);
        assert_eq!(
            &c[..3],
            [
                PathBuf::from("/opt/py/bin/python3"),
                PathBuf::from("/home/u/venv/bin/python"),
                PathBuf::from("/p/.venv/bin/python"),
            ]
        );
        let none = python_candidates(Path::new("/p"), |_| None);
        assert_eq!(none[0], PathBuf::from("/p/.venv/bin/python"));
    }

    #[test]
    fn a_frame_of_a_thread_blocked_in_c_evaluates_nothing() {
        // debugpy 1.8's words at a hang, where no thread could be suspended.
        assert!(DEBUGPY.frame_cannot_evaluate(
            "adapter refused \"evaluate\": Unable to find thread for evaluation."
        ));
        assert!(!DEBUGPY.frame_cannot_evaluate("NameError: name 'executor' is not defined"));
    }

    #[test]
    fn the_install_command_puts_debugpy_where_the_next_run_looks() {
        let here = std::env::temp_dir().join(format!("dapwalk-install-{}", std::process::id()));
        std::fs::create_dir_all(&here).expect("mkdir");
        // No chosen Python, no setup script, no .venv: make one in the folder.
        let c = install_command(&here, |_| None);
        assert_eq!(
            c,
            format!(
                "python3 -m venv {0}/.venv && {0}/.venv/bin/pip install debugpy (or pass --python PATH, a Python that has it)",
                here.display()
            )
        );
        // An active virtual environment is where it goes.
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv");
        let c = install_command(&here, |k| (k == "VIRTUAL_ENV").then(|| venv.clone().into()));
        assert_eq!(
            c,
            format!("{}/bin/python -m pip install debugpy", venv.display())
        );
        // dapwalk's own repository has its setup script.
        let c = install_command(Path::new(env!("CARGO_MANIFEST_DIR")), |_| None);
        assert!(c.starts_with("run scripts/setup"), "{c}");
        let _ = std::fs::remove_dir_all(&here);
    }

    #[test]
    fn a_missing_python_is_said_plainly() {
        let e = DEBUGPY
            .discover(Some(Path::new("/nonexistent/python")), Path::new("/p"))
            .expect_err("no such python");
        assert!(e.to_string().contains("no such file"), "{e}");
    }

    #[test]
    fn portable_names_in_python() {
        assert_eq!(
            DEBUGPY.watch_expressions("global_shutdown")[0],
            "thread_module._shutdown"
        );
        assert_eq!(DEBUGPY.render_value("True"), "true");
        assert_eq!(DEBUGPY.stop_reason("exception"), "exception");
    }
}
