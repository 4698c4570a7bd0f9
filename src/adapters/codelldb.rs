//! CodeLLDB (the vadimcn.vscode-lldb VS Code extension), written from its documented
//! dialect and checked against recorded sessions.

use super::{
    is_executable, version_key, Adapter, AdapterError, AdapterKind, Connect, LaunchTarget,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The extension folders of the editors that install VS Code extensions, per OS.
const EXTENSION_ROOTS: &[&str] = &[
    ".vscode/extensions",
    ".vscode-server/extensions",
    ".vscode-oss/extensions",
    ".vscode-insiders/extensions",
    ".vscode-server-insiders/extensions",
    ".cursor/extensions",
    ".cursor-server/extensions",
    ".windsurf/extensions",
];

/// Finds `adapter/codelldb` in the newest `vadimcn.vscode-lldb-<version>` folder.
pub fn discover(explicit: Option<&Path>, home: Option<&Path>) -> Result<Adapter, AdapterError> {
    let (program, version) = match explicit {
        Some(p) if is_executable(p) => (p.to_path_buf(), version_from_path(p)),
        Some(p) => {
            return Err(AdapterError::Unusable {
                kind: AdapterKind::CodeLldb,
                path: p.to_path_buf(),
                reason: "not an executable file".into(),
            })
        }
        None => candidates(home).into_iter().next().ok_or_else(|| AdapterError::NotFound {
            kind: AdapterKind::CodeLldb,
            looked: "the vadimcn.vscode-lldb-* folders of ~/.vscode, ~/.vscode-server, ~/.vscode-oss, ~/.vscode-insiders, ~/.cursor".into(),
        })?,
    };
    Ok(Adapter {
        kind: AdapterKind::CodeLldb,
        program,
        args: Vec::new(),
        env: Vec::new(),
        connect: Connect::Stdio,
        version,
    })
}

/// Every installed CodeLLDB adapter, newest first, with the version from its folder name.
pub fn candidates(home: Option<&Path>) -> Vec<(PathBuf, Option<String>)> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(home) = home {
        roots.extend(EXTENSION_ROOTS.iter().map(|r| home.join(r)));
    }
    // Windows keeps extensions under %USERPROFILE%\.vscode\extensions too.
    if let Some(profile) = std::env::var_os("USERPROFILE") {
        roots.push(PathBuf::from(profile).join(".vscode").join("extensions"));
    }
    let exe = if cfg!(windows) {
        "codelldb.exe"
    } else {
        "codelldb"
    };
    let mut found = Vec::new();
    for root in roots {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(v) = name.strip_prefix("vadimcn.vscode-lldb-") {
                let program = e.path().join("adapter").join(exe);
                if is_executable(&program) {
                    found.push((version_key(v), program, Some(v.to_string())));
                }
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p, v)| (p, v)).collect()
}

fn version_from_path(p: &Path) -> Option<String> {
    p.ancestors()
        .filter_map(|a| {
            a.file_name()?
                .to_str()?
                .strip_prefix("vadimcn.vscode-lldb-")
        })
        .map(str::to_string)
        .next()
}

pub fn launch_arguments(target: &LaunchTarget) -> Value {
    json!({
        "type": "lldb",
        "request": "launch",
        "name": "dapwalk",
        "program": target.program,
        "args": target.args,
        "cwd": target.cwd.clone().unwrap_or_else(|| PathBuf::from(".")),
        "env": target.env.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect::<serde_json::Map<String, Value>>(),
        "stopOnEntry": false,
        "sourceLanguages": ["rust"],
        "terminal": "console",
    })
}

/// `2: tid=4712 "ThreadPoolExecu"` → `ThreadPoolExecu`; other names pass through.
pub fn thread_name(raw: &str) -> String {
    let Some(rest) = raw.split_once(": tid=").map(|(_, r)| r) else {
        return raw.to_string();
    };
    match rest.split_once(' ') {
        Some((_, quoted)) => quoted.trim().trim_matches('"').to_string(),
        None => raw.to_string(),
    }
}

/// CodeLLDB's "simple" expressions read statics by path.
pub fn global_expr(path: &str) -> String {
    path.to_string()
}

/// The simple evaluator shows an `AtomicBool` as `{...}`: go native to read its byte.
pub fn atomic_bool_expr(path: &str) -> String {
    format!("/nat (bool){path}.v.value")
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_names() {
        assert_eq!(super::thread_name("1: tid=4711 \"main\""), "main");
        assert_eq!(
            super::thread_name("2: tid=4712 \"ThreadPoolExecu\""),
            "ThreadPoolExecu"
        );
        assert_eq!(super::thread_name("plain"), "plain");
    }
}
