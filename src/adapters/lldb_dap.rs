//! LLVM's lldb-dap (22 is the version CI uses; 19 crashes on requests it does not know).
//!
//! Its quirks: the version comes from `--version`; the project's LLDB summaries are loaded
//! through `initCommands`; the debug console takes expressions as typed and LLDB commands
//! behind a backquote; the program runs on a terminal, so its stderr arrives merged with
//! stdout; it exits by itself after `disconnect`.

use super::{
    lldb, on_path, path_dirs, run_for_output, strip_rust_hash, version_key, Adapter, AdapterError,
    Connect, Dialect, Identity, Language, LaunchTarget,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The lldb-dap dialect.
#[derive(Debug)]
pub struct LldbDap;

pub static LLDB_DAP: LldbDap = LldbDap;

/// lldb-dap's identity.
static IDENTITY: Identity = Identity {
    name: "lldb-dap",
    display_name: "lldb-dap",
    language: Language::Rust,
    vscode_types: &["lldb-dap"],
    adapter_id: "lldb-dap",
    install_hint: "run scripts/setup, or `apt-get install lldb-22` (gives /usr/bin/lldb-dap-22)",
};

/// The LLDB command that lets SIGCHLD through without a stop (see `launch_arguments`).
pub(crate) const SIGCHLD_PASSED: &str =
    "process handle SIGCHLD --notify false --stop false --pass true";

impl Dialect for LldbDap {
    /// lldb-dap 22 stops a program sent SIGSTOP ~15 ms after the signal, with the same
    /// "signal SIGSTOP" stop its `pause` reports ~115 ms after the request (measured on a
    /// program whose threads all wait on a mutex); resuming afterwards does not deliver the
    /// signal again.
    fn halts_by_signal(&self) -> bool {
        true
    }

    /// "Process N exited with status = -1 (0xffffffff) lost connection": lldb-server gone,
    /// not the program's exit.
    fn lost_program(&self, exit_code: Option<i64>, console: &str) -> Option<String> {
        super::lldb_lost_program(exit_code, console)
    }

    fn identity(&self) -> &'static Identity {
        &IDENTITY
    }
    fn looked_for(&self) -> String {
        "PATH for lldb-dap and lldb-dap-NN".into()
    }

    /// An explicit path, else `lldb-dap` on PATH, else the newest `lldb-dap-NN`.
    fn discover(
        &'static self,
        explicit: Option<&Path>,
        _project: &Path,
    ) -> Result<Adapter, AdapterError> {
        let program = match explicit {
            Some(p) => super::explicit_executable(self, p)?,
            None => candidates()
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
            version: None,
        })
    }

    fn version(&self, adapter: &Adapter) -> Option<String> {
        run_for_output(&adapter.program, &["--version"]).and_then(|t| parse_version(&t))
    }

    fn launch_arguments(
        &self,
        _adapter: &Adapter,
        target: &LaunchTarget,
    ) -> Result<Value, AdapterError> {
        let formatters = lldb::formatters_path()?;
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
            // SIGCHLD passed straight to the program instead of stopping it: LLDB's default
            // (notify) makes lldb-server stop every thread at each SIGCHLD and resume them,
            // and when a child's SIGCHLD arrives while the program exits, resuming a thread
            // that has just died ends the session: "exited with status = -1 (0xffffffff) lost
            // connection" (the process-pool solution, about once in 15 runs, lldb-dap 22.1.8).
            "preRunCommands": [SIGCHLD_PASSED],
        }))
    }

    fn frame_name(&self, raw: &str) -> String {
        strip_rust_hash(raw)
    }

    /// The port's wait records, in LLDB's native spelling.
    fn wait_record_expr(&self, field: super::WaitField) -> Option<String> {
        Some(lldb::native_wait_expr(field).to_string())
    }

    fn wait_record_value(&self, raw: &str) -> String {
        lldb::wait_value(raw)
    }

    /// The native spellings as they are: lldb-dap's Watch pane uses LLDB's evaluator.
    fn watch_expressions(&self, expr: &str) -> Vec<String> {
        match lldb::native_watch(expr) {
            [] => vec![expr.to_string()],
            list => list.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// An `AtomicBool` is read through its inner byte, cast so it prints `true`/`false`.
    fn atomic_bool_expr(&self, path: &str) -> String {
        format!("(bool){path}.v.value")
    }

    fn console_value(&self, raw: &str) -> String {
        lldb::console_value(raw)
    }

    /// lldb-dap's console evaluates expressions; a command goes behind a backquote.
    fn hold_command(&self, thread_id: i64, held: bool) -> Option<String> {
        Some(format!("`{}", lldb::suspend_script(thread_id, held)))
    }

    fn stop_reason(&self, reason: &str) -> String {
        lldb::stop_reason(reason)
    }

    fn stderr_merged(&self) -> bool {
        true
    }

    fn exits_on_disconnect(&self) -> bool {
        true
    }

    fn pid_from_console(&self, text: &str) -> Option<u32> {
        crate::os::procs::pid_in_console_text(text)
    }

    /// An LLDB command goes behind a backquote in lldb-dap's console.
    fn editor_thread_list(&self) -> Option<String> {
        Some(format!("`{}", lldb::THREAD_LIST))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version() {
        assert_eq!(
            parse_version("lldb-dap: Debian LLVM version 22.1.8\n  Optimized build.\nliblldb: lldb version 22.1.8\n").as_deref(),
            Some("22.1.8")
        );
    }

    #[test]
    fn portable_names_map_to_native_spellings() {
        assert_eq!(
            LLDB_DAP.watch_expressions("global_shutdown"),
            vec!["(bool)scenarios::thread::_shutdown.v.value"]
        );
        assert_eq!(LLDB_DAP.watch_expressions("executor_shutdown").len(), 2);
        assert_eq!(LLDB_DAP.watch_expressions("1 + 1"), vec!["1 + 1"]);
        assert_eq!(LLDB_DAP.render_value(" false "), "false");
        assert_eq!(
            LLDB_DAP.editor_hold_command(true).as_deref(),
            Some("`script lldb.process.GetThreadByID(TID).Suspend()")
        );
    }
}
