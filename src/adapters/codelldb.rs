//! CodeLLDB (the vadimcn.vscode-lldb VS Code extension): what VS Code users debug Rust with.
//!
//! Its quirks: found in the editors' extension folders, versioned by its folder name or the
//! extension's `package.json`; no `process` event (the console names the pid); threads named
//! `2: tid=4712 "name"`; its expressions default to its own "simple" syntax (`/nat ` selects
//! LLDB's native evaluator); its debug console is in commands mode (`?` prefixes an
//! expression); one `stopped` event per stop, for the thread LLDB selects; it exits when its
//! stdin closes.

use super::{
    is_executable, lldb, strip_rust_hash, version_key, Adapter, AdapterError, Connect, Dialect,
    Identity, Language, LaunchTarget,
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

/// CodeLLDB's identity.
static IDENTITY: Identity = Identity {
    name: "codelldb",
    display_name: "CodeLLDB",
    language: Language::Rust,
    vscode_types: &["lldb"],
    adapter_id: "lldb",
    install_hint: "install the VS Code extension vadimcn.vscode-lldb (`code --install-extension vadimcn.vscode-lldb`), or pass its adapter/codelldb path",
};

impl Dialect for CodeLldb {
    fn identity(&self) -> &'static Identity {
        &IDENTITY
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
            Some(p) => (
                super::explicit_executable(self, p)?,
                version_from_path(p).or_else(|| version_from_package_json(p)),
            ),
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

    /// Its console is in commands mode: `?` makes the line an expression, and `/nat` has
    /// LLDB's native evaluator read it (the walkthroughs' expressions are LLDB's spelling).
    fn console_expression(&self, text: &str) -> String {
        format!("?/nat {text}")
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

    /// CodeLLDB sends one `stopped` event per stop, for the thread LLDB selects: with threads
    /// held that can be a held one repeating its stale reason.
    fn names_one_thread_per_stop(&self) -> bool {
        true
    }

    /// CodeLLDB's `exceptionInfo` names LLDB's stop reason of the thread
    /// (`{exceptionId: "Breakpoint", description: "breakpoint 3.2"}`).
    fn stop_reason_from_exception_info(&self, body: &Value) -> Option<String> {
        lldb::stop_reason_from_exception_id(body["exceptionId"].as_str()?)
    }

    /// Its console takes LLDB commands as typed in its default commands mode: no backquote,
    /// no `/cmd` (both are refused there).
    fn editor_thread_list(&self) -> Option<String> {
        Some(lldb::THREAD_LIST.to_string())
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

/// The `version` of the extension's `package.json`, two folders above `adapter/codelldb`, for
/// an install whose folder name carries no version (a copy, a build of its own).
fn version_from_package_json(program: &Path) -> Option<String> {
    let extension = program.parent()?.parent()?;
    let text = std::fs::read_to_string(extension.join("package.json")).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    let v = json["version"].as_str()?.trim();
    (!v.is_empty()).then(|| v.to_string())
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

    fn fake_install(folder: &str, package_json: Option<&str>) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!(
            "dapwalk-codelldb-version-{}-{n}",
            std::process::id()
        ));
        let ext = base.join(folder);
        std::fs::create_dir_all(ext.join("adapter")).expect("make the fake extension");
        let exe = ext.join("adapter").join("codelldb");
        std::fs::write(&exe, "#!/bin/sh\n").expect("write the fake adapter");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
        if let Some(p) = package_json {
            std::fs::write(ext.join("package.json"), p).expect("write package.json");
        }
        (base, exe)
    }

    #[test]
    fn the_version_comes_from_the_folder_name() {
        let (base, exe) = fake_install("vadimcn.vscode-lldb-1.11.0", None);
        let a = CODELLDB.discover(Some(&exe), &base).expect("found");
        assert_eq!(CODELLDB.version(&a).as_deref(), Some("1.11.0"));
        let _ = std::fs::remove_dir_all(base);
    }

    #[test]
    fn the_version_comes_from_package_json_when_the_folder_has_none() {
        let (base, exe) = fake_install(
            "codelldb-build",
            Some(r#"{"name": "vscode-lldb", "version": "1.12.2", "publisher": "vadimcn"}"#),
        );
        let a = CODELLDB.discover(Some(&exe), &base).expect("found");
        assert_eq!(CODELLDB.version(&a).as_deref(), Some("1.12.2"));
        let mut table = Vec::new();
        crate::adapters::render_survey(
            &[crate::adapters::AdapterStatus {
                dialect: &CODELLDB,
                version: CODELLDB.version(&a),
                found: Ok(a),
            }],
            &mut table,
        )
        .expect("render");
        assert!(String::from_utf8_lossy(&table).contains("1.12.2"));
        let (base2, exe2) = fake_install("codelldb-bare", None);
        let a = CODELLDB.discover(Some(&exe2), &base2).expect("found");
        assert_eq!(CODELLDB.version(&a), None);
        let _ = std::fs::remove_dir_all(base);
        let _ = std::fs::remove_dir_all(base2);
    }

    #[test]
    fn console_lines_are_expressions_in_commands_mode() {
        assert_eq!(
            CODELLDB.console_expression("executor->__0.ptr.pointer->data._max_workers"),
            "?/nat executor->__0.ptr.pointer->data._max_workers"
        );
        assert_eq!(CODELLDB.editor_console_expression("1 + 1"), "?/nat 1 + 1");
        // Commands mode refuses a backquote prefix and `/cmd`: the hint types commands plainly.
        let hint = CODELLDB.editor_hold_hint();
        assert!(!hint.contains("/cmd") && !hint.contains("`` `"), "{hint}");
        assert!(
            hint.contains("`script lldb.process.GetThreadByID(TID).Suspend()`"),
            "{hint}"
        );
    }

    #[test]
    fn exception_info_names_the_real_reason() {
        let body = serde_json::json!({"breakMode": "always", "description": "breakpoint 3.2", "exceptionId": "Breakpoint"});
        assert_eq!(
            CODELLDB.stop_reason_from_exception_info(&body).as_deref(),
            Some("breakpoint")
        );
        let signal = serde_json::json!({"exceptionId": "Signal", "description": "signal SIGSTOP"});
        assert_eq!(CODELLDB.stop_reason_from_exception_info(&signal), None);
    }

    #[test]
    fn watches_go_native() {
        assert_eq!(
            CODELLDB.watch_expressions("global_shutdown"),
            vec!["/nat (bool)scenarios::thread::_shutdown.v.value"]
        );
    }
}
