//! CodeLLDB (the vadimcn.vscode-lldb VS Code extension): what VS Code users debug Rust with.
//!
//! Its quirks: found in the editors' extension folders, versioned by its folder name; no
//! `process` event (the console names the pid); threads named `2: tid=4712 "name"`; its
//! expressions default to its own "simple" syntax (`/nat ` selects LLDB's native evaluator);
//! its debug console is in commands mode; it exits when its stdin closes.

use super::{
    is_executable, lldb, strip_rust_hash, version_key, Adapter, AdapterError, Connect, Dialect,
    Language, LaunchTarget,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The CodeLLDB dialect.
#[derive(Debug)]
pub struct CodeLldb;

pub static CODELLDB: CodeLldb = CodeLldb;

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

impl Dialect for CodeLldb {
    fn name(&self) -> &'static str {
        "codelldb"
    }
    fn display_name(&self) -> &'static str {
        "CodeLLDB"
    }
    fn language(&self) -> Language {
        Language::Rust
    }
    fn vscode_types(&self) -> &'static [&'static str] {
        &["lldb"]
    }
    fn adapter_id(&self) -> &'static str {
        "lldb"
    }
    fn install_hint(&self) -> &'static str {
        "install the VS Code extension vadimcn.vscode-lldb (`code --install-extension vadimcn.vscode-lldb`), or pass its adapter/codelldb path"
    }
    fn looked_for(&self) -> String {
        "the vadimcn.vscode-lldb-* folders of ~/.vscode, ~/.vscode-server, ~/.vscode-oss, ~/.vscode-insiders, ~/.cursor".into()
    }

    /// `adapter/codelldb` in the newest `vadimcn.vscode-lldb-<version>` folder.
    fn discover(
        &'static self,
        explicit: Option<&Path>,
        _project: &Path,
    ) -> Result<Adapter, AdapterError> {
        let (program, version) = match explicit {
            Some(p) => (super::explicit_executable(self, p)?, version_from_path(p)),
            None => candidates(super::home_dir().as_deref())
                .into_iter()
                .next()
                .ok_or_else(|| AdapterError::NotFound {
                    dialect: self,
                    looked: self.looked_for(),
                })?,
        };
        Ok(Adapter {
            dialect: self,
            program,
            args: Vec::new(),
            env: Vec::new(),
            connect: Connect::Stdio,
            version,
        })
    }

    fn version(&self, adapter: &Adapter) -> Option<String> {
        adapter.version.clone()
    }

    fn launch_arguments(
        &self,
        _adapter: &Adapter,
        target: &LaunchTarget,
    ) -> Result<Value, AdapterError> {
        Ok(json!({
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
        }))
    }

    fn thread_name(&self, raw: &str) -> String {
        thread_name(raw)
    }

    fn frame_name(&self, raw: &str) -> String {
        strip_rust_hash(raw)
    }

    /// The port's wait records, in LLDB's native spelling (CodeLLDB's `/nat `).
    fn wait_record_expr(&self, field: super::WaitField) -> Option<String> {
        Some(format!("/nat {}", lldb::native_wait_expr(field)))
    }

    fn wait_record_value(&self, raw: &str) -> String {
        lldb::wait_value(raw)
    }

    /// CodeLLDB's default expression syntax is its own "simple" one; `/nat ` selects LLDB's
    /// native evaluator, which is what the shared LLDB spellings are written for.
    fn watch_expressions(&self, expr: &str) -> Vec<String> {
        match lldb::native_watch(expr) {
            [] => vec![expr.to_string()],
            list => list.iter().map(|e| format!("/nat {e}")).collect(),
        }
    }

    /// The simple evaluator shows an `AtomicBool` as `{...}`: go native to read its byte.
    fn atomic_bool_expr(&self, path: &str) -> String {
        format!("/nat (bool){path}.v.value")
    }

    fn console_value(&self, raw: &str) -> String {
        lldb::console_value(raw)
    }

    /// Its console takes LLDB commands as typed (its default "commands" mode).
    fn hold_command(&self, thread_id: i64, held: bool) -> Option<String> {
        Some(lldb::suspend_script(thread_id, held))
    }

    fn stop_reason(&self, reason: &str) -> String {
        lldb::stop_reason(reason)
    }

    fn stderr_merged(&self) -> bool {
        true
    }

    /// CodeLLDB sends no `process` event: its console names the pid.
    fn pid_from_console(&self, text: &str) -> Option<u32> {
        crate::os::procs::pid_in_console_text(text)
    }

    fn editor_hold_hint(&self) -> String {
        "in the Debug Console, `/cmd thread list` shows each thread's tid; \
         `/cmd script lldb.process.GetThreadByID(TID).Suspend()` holds one, `.Resume()` releases it after this step"
            .into()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_names() {
        assert_eq!(thread_name("1: tid=4711 \"main\""), "main");
        assert_eq!(
            thread_name("2: tid=4712 \"ThreadPoolExecu\""),
            "ThreadPoolExecu"
        );
        assert_eq!(thread_name("plain"), "plain");
    }

    #[test]
    fn watches_go_native() {
        assert_eq!(
            CODELLDB.watch_expressions("global_shutdown"),
            vec!["/nat (bool)scenarios::thread::_shutdown.v.value"]
        );
    }
}
