//! LLVM's lldb-dap (22 is the version CI uses; 19 crashes on requests it does not know).

use super::{
    on_path, path_dirs, run_for_output, version_key, Adapter, AdapterError, AdapterKind, Connect,
    LaunchTarget,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The project's own LLDB formatters: summaries only, bounded reads. rustc's bundled ones can
/// make lldb-dap spin forever on a niche-optimised enum holding a `String`.
pub const FORMATTERS: &str = include_str!("lldb_formatters.py");

/// Finds lldb-dap: an explicit path, else `lldb-dap` on PATH, else the newest `lldb-dap-NN`.
pub fn discover(explicit: Option<&Path>) -> Result<Adapter, AdapterError> {
    let program = match explicit {
        Some(p) => {
            if !super::is_executable(p) {
                return Err(AdapterError::Unusable {
                    kind: AdapterKind::LldbDap,
                    path: p.to_path_buf(),
                    reason: "not an executable file".into(),
                });
            }
            p.to_path_buf()
        }
        None => candidates()
            .into_iter()
            .next()
            .ok_or_else(|| AdapterError::NotFound {
                kind: AdapterKind::LldbDap,
                looked: "PATH for lldb-dap and lldb-dap-NN".into(),
            })?,
    };
    let version = run_for_output(&program, &["--version"]).and_then(|t| parse_version(&t));
    Ok(Adapter {
        kind: AdapterKind::LldbDap,
        program,
        args: Vec::new(),
        env: Vec::new(),
        connect: Connect::Stdio,
        version,
    })
}

/// `lldb-dap` first, then `lldb-dap-NN` newest first.
pub fn candidates() -> Vec<PathBuf> {
    let mut found = on_path("lldb-dap");
    let mut numbered: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    for dir in path_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name.strip_prefix("lldb-dap-") {
                if !n.is_empty()
                    && n.chars().all(|c| c.is_ascii_digit() || c == '.')
                    && super::is_executable(&e.path())
                {
                    numbered.push((version_key(n), e.path()));
                }
            }
        }
    }
    numbered.sort_by(|a, b| b.0.cmp(&a.0));
    found.extend(numbered.into_iter().map(|(_, p)| p));
    found.dedup();
    found
}

/// `liblldb: lldb version 22.1.8` → `22.1.8`.
pub fn parse_version(text: &str) -> Option<String> {
    let i = text.find("lldb version ")?;
    let v: String = text[i + "lldb version ".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!v.is_empty()).then_some(v)
}

/// Writes the formatters where lldb can import them and returns the path. The file name
/// carries a hash of the content, so concurrent sessions share one file safely.
pub fn formatters_path() -> Result<PathBuf, AdapterError> {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in FORMATTERS.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    let dir = std::env::temp_dir().join("dapwalk");
    let path = dir.join(format!("dapwalk_rust_formatters_{h:016x}.py"));
    if std::fs::read_to_string(&path).is_ok_and(|c| c == FORMATTERS) {
        return Ok(path);
    }
    let err = |source| AdapterError::Formatters {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(err)?;
    // Write to a private name and rename, so a reader never sees half a file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!("formatters.{}.{n}.tmp", std::process::id()));
    std::fs::write(&tmp, FORMATTERS).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(path)
}

pub fn launch_arguments(target: &LaunchTarget) -> Result<Value, AdapterError> {
    let formatters = formatters_path()?;
    Ok(json!({
        "type": "lldb-dap",
        "request": "launch",
        "name": "dapwalk",
        "program": target.program,
        "args": target.args,
        "cwd": target.cwd.clone().unwrap_or_else(|| PathBuf::from(".")),
        "env": target.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "stopOnEntry": false,
        "initCommands": [format!("command script import {}", formatters.display())],
    }))
}

/// Globals by full path (`crate::module::NAME`); LLDB's C++ evaluator reads them as is.
pub fn global_expr(path: &str) -> String {
    path.to_string()
}

/// An `AtomicBool` is read through its inner byte, cast so it prints `true`/`false`.
pub fn atomic_bool_expr(path: &str) -> String {
    format!("(bool){path}.v.value")
}

#[cfg(test)]
mod tests {
    #[test]
    fn version() {
        assert_eq!(
            super::parse_version("lldb-dap: Debian LLVM version 22.1.8\n  Optimized build.\nliblldb: lldb version 22.1.8\n").as_deref(),
            Some("22.1.8")
        );
    }
}
