//! Adapter profiles: how to find each debug adapter, start it, what to put in its `launch`
//! request, and the quirks of its dialect (thread and frame names, error shapes, how to read
//! a global and an atomic).

pub mod codelldb;
pub mod debugpy;
pub mod lldb_dap;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The adapters dapwalk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdapterKind {
    LldbDap,
    CodeLldb,
    Debugpy,
}

impl AdapterKind {
    pub const ALL: [AdapterKind; 3] = [
        AdapterKind::LldbDap,
        AdapterKind::CodeLldb,
        AdapterKind::Debugpy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AdapterKind::LldbDap => "lldb-dap",
            AdapterKind::CodeLldb => "codelldb",
            AdapterKind::Debugpy => "debugpy",
        }
    }

    /// What to install when the adapter is missing.
    pub fn install_hint(self) -> &'static str {
        match self {
            AdapterKind::LldbDap => {
                "run scripts/setup, or `apt-get install lldb-22` (gives /usr/bin/lldb-dap-22)"
            }
            AdapterKind::CodeLldb => {
                "install the VS Code extension vadimcn.vscode-lldb (`code --install-extension vadimcn.vscode-lldb`), or pass its adapter/codelldb path"
            }
            AdapterKind::Debugpy => {
                "run scripts/setup (creates .venv with debugpy), or `pip install debugpy` into the Python you pass with --python"
            }
        }
    }

    /// Turns a thread name as the adapter shows it into the program's own name.
    pub fn thread_name(self, raw: &str) -> String {
        match self {
            AdapterKind::CodeLldb => codelldb::thread_name(raw),
            _ => raw.to_string(),
        }
    }

    /// Turns a frame name into a stable one: legacy-mangled Rust names lose their
    /// `::h<16 hex>` suffix (both LLDB adapters keep it).
    pub fn frame_name(self, raw: &str) -> String {
        match self {
            AdapterKind::Debugpy => raw.to_string(),
            _ => strip_rust_hash(raw),
        }
    }

    /// The expression that reads a global (a module static, or a Python module attribute).
    pub fn global_expr(self, path: &str) -> String {
        match self {
            AdapterKind::LldbDap => lldb_dap::global_expr(path),
            AdapterKind::CodeLldb => codelldb::global_expr(path),
            AdapterKind::Debugpy => debugpy::global_expr(path),
        }
    }

    /// The expression that reads an `AtomicBool` (in Python: a plain bool) as `true`/`false`.
    pub fn atomic_bool_expr(self, path: &str) -> String {
        match self {
            AdapterKind::LldbDap => lldb_dap::atomic_bool_expr(path),
            AdapterKind::CodeLldb => codelldb::atomic_bool_expr(path),
            AdapterKind::Debugpy => debugpy::global_expr(path),
        }
    }

    /// Whether the adapter exits by itself after `disconnect` (lldb-dap) or only when its
    /// stdin closes (CodeLLDB, debugpy). Teardown closes stdin in every case.
    pub fn exits_on_disconnect(self) -> bool {
        matches!(self, AdapterKind::LldbDap)
    }
}

/// Removes the `::h0123456789abcdef` hash that legacy Rust mangling leaves on names.
pub fn strip_rust_hash(name: &str) -> String {
    let mut out = name.to_string();
    while let Some(i) = out.rfind("::h") {
        let tail = &out[i + 3..];
        let hex: String = tail.chars().take_while(char::is_ascii_hexdigit).collect();
        if hex.len() == 16 {
            out.replace_range(i..i + 3 + 16, "");
        } else {
            break;
        }
    }
    out
}

/// How to talk to a started adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    /// DAP over the adapter's stdin/stdout.
    Stdio,
    /// The adapter listens on 127.0.0.1:port.
    Tcp { port: u16 },
}

/// A found adapter: what to run and how to talk to it.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub kind: AdapterKind,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub connect: Connect,
    /// The version it reported, when it reports one.
    pub version: Option<String>,
}

/// What to debug.
#[derive(Debug, Clone, Default)]
pub struct LaunchTarget {
    /// The binary (LLDB adapters) or the script (debugpy).
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Adapter-specific launch keys merged over the profile's defaults.
    pub extra: serde_json::Map<String, Value>,
}

impl Adapter {
    /// The `initialize` arguments. `adapterID` is the adapter's `type`.
    pub fn initialize_arguments(&self) -> Value {
        let args = dap::requests::InitializeArguments {
            client_id: Some("dapwalk".into()),
            client_name: Some("dapwalk".into()),
            adapter_id: match self.kind {
                AdapterKind::LldbDap => "lldb-dap",
                AdapterKind::CodeLldb => "lldb",
                AdapterKind::Debugpy => "debugpy",
            }
            .into(),
            locale: Some("en-us".into()),
            lines_start_at1: Some(true),
            columns_start_at1: Some(true),
            path_format: Some(dap::requests::PathFormat::Path),
            supports_variable_type: Some(true),
            supports_run_in_terminal_request: Some(true),
            ..Default::default()
        };
        crate::client::args(&args).unwrap_or_default()
    }

    /// The `launch` arguments for `target` in this adapter's dialect.
    pub fn launch_arguments(&self, target: &LaunchTarget) -> Result<Value, AdapterError> {
        let mut args = match self.kind {
            AdapterKind::LldbDap => lldb_dap::launch_arguments(target)?,
            AdapterKind::CodeLldb => codelldb::launch_arguments(target),
            AdapterKind::Debugpy => debugpy::launch_arguments(self, target),
        };
        if let Value::Object(map) = &mut args {
            for (k, v) in &target.extra {
                map.insert(k.clone(), v.clone());
            }
        }
        Ok(args)
    }

    /// Finds an adapter of `kind`. `explicit` is a path given by the user (for debugpy: the
    /// Python to use); `project` is where to look for the project's own `.venv`.
    pub fn discover(
        kind: AdapterKind,
        explicit: Option<&Path>,
        project: &Path,
    ) -> Result<Adapter, AdapterError> {
        match kind {
            AdapterKind::LldbDap => lldb_dap::discover(explicit),
            AdapterKind::CodeLldb => codelldb::discover(explicit, home_dir().as_deref()),
            AdapterKind::Debugpy => debugpy::discover(explicit, project),
        }
    }
}

/// Why an adapter cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{kind} not found (looked at {looked}); to install: {hint}", kind = .kind.name(), hint = .kind.install_hint())]
    NotFound { kind: AdapterKind, looked: String },
    #[error("{path} is not a usable {kind}: {reason}; to install: {hint}", path = .path.display(), kind = .kind.name(), hint = .kind.install_hint())]
    Unusable {
        kind: AdapterKind,
        path: PathBuf,
        reason: String,
    },
    #[error("could not write the LLDB formatters to {path}: {source}", path = .path.display())]
    Formatters {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Every executable named `name` on PATH, in PATH order.
pub(crate) fn on_path(name: &str) -> Vec<PathBuf> {
    path_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .filter(|p| is_executable(p))
        .collect()
}

pub(crate) fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `program args` briefly and returns its stdout (and stderr) text, for versions.
pub(crate) fn run_for_output(program: &Path, args: &[&str]) -> Option<String> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    // A version query that hangs must not hang `dapwalk adapters`.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text)
}

/// Orders version-like strings (`22`, `1.12.2`) numerically, for "newest first".
pub(crate) fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_suffix_is_stripped() {
        assert_eq!(
            strip_rust_hash("scenarios::thread::_python_exit::h0123456789abcdef"),
            "scenarios::thread::_python_exit"
        );
        assert_eq!(strip_rust_hash("main::{closure#1}"), "main::{closure#1}");
        assert_eq!(strip_rust_hash("a::hello"), "a::hello");
    }
}

/// Explicit adapter paths given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Explicit {
    pub lldb_dap: Option<PathBuf>,
    pub codelldb: Option<PathBuf>,
    pub python: Option<PathBuf>,
}

/// One adapter's discovery result.
#[derive(Debug)]
pub struct AdapterStatus {
    pub kind: AdapterKind,
    pub found: Result<Adapter, AdapterError>,
}

/// Looks for every adapter.
pub fn survey(project: &Path, explicit: &Explicit) -> Vec<AdapterStatus> {
    AdapterKind::ALL
        .iter()
        .map(|&kind| {
            let path = match kind {
                AdapterKind::LldbDap => explicit.lldb_dap.as_deref(),
                AdapterKind::CodeLldb => explicit.codelldb.as_deref(),
                AdapterKind::Debugpy => explicit.python.as_deref(),
            };
            AdapterStatus {
                kind,
                found: Adapter::discover(kind, path, project),
            }
        })
        .collect()
}

/// Writes the survey as a table: each adapter found with its version and path, and for
/// each missing one what to install.
pub fn render_survey(
    statuses: &[AdapterStatus],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    for s in statuses {
        match &s.found {
            Ok(a) => {
                let mut line = format!(
                    "{:<9} {:<26} {}",
                    s.kind.name(),
                    a.version.as_deref().unwrap_or("version unknown"),
                    a.program.display()
                );
                if !a.args.is_empty() {
                    line.push(' ');
                    line.push_str(&a.args.join(" "));
                }
                writeln!(out, "{line}")?;
            }
            Err(e) => {
                writeln!(out, "{:<9} {:<26} {e}", s.kind.name(), "missing")?;
            }
        }
    }
    Ok(())
}
