//! debugpy, the Python twins' debugger: `python -m debugpy.adapter` speaks DAP on stdio.

use super::{on_path, run_for_output, Adapter, AdapterError, AdapterKind, Connect, LaunchTarget};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Finds a Python with debugpy: the explicit one, the project's `.venv`, then `python3`.
pub fn discover(python: Option<&Path>, project: &Path) -> Result<Adapter, AdapterError> {
    let candidates: Vec<PathBuf> = match python {
        Some(p) => vec![p.to_path_buf()],
        None => {
            let mut c = vec![project.join(".venv/bin/python")];
            c.extend(on_path("python3"));
            c.extend(on_path("python"));
            c
        }
    };
    for py in &candidates {
        if let Some(version) = debugpy_version(py) {
            return Ok(Adapter {
                kind: AdapterKind::Debugpy,
                program: py.clone(),
                args: vec!["-m".into(), "debugpy.adapter".into()],
                env: Vec::new(),
                connect: Connect::Stdio,
                version: Some(version),
            });
        }
    }
    match python {
        Some(p) => Err(AdapterError::Unusable {
            kind: AdapterKind::Debugpy,
            path: p.to_path_buf(),
            reason: "this Python cannot import debugpy".into(),
        }),
        None => Err(AdapterError::NotFound {
            kind: AdapterKind::Debugpy,
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
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

pub fn launch_arguments(adapter: &Adapter, target: &LaunchTarget) -> Value {
    json!({
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
    })
}

/// Python reads module globals by their dotted name in frames that import the module.
pub fn global_expr(path: &str) -> String {
    path.to_string()
}
