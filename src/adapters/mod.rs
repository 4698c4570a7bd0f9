//! Debug adapters as dialects: everything dapwalk knows about one adapter lives in that
//! adapter's file, behind the [`Dialect`] trait, and the [`Registry`] lists them.
//!
//! A dialect says how to find its adapter and read its version, what to put in `launch`, how
//! it names threads and frames, which frames a learner sees, how the talk's watch values and
//! console expressions are spelled in it, how to hold one thread while the others run, how it
//! reports stop reasons and program output, and how a hang is recognised under it. The engine,
//! the editor files and the command line ask the dialect; none of them matches on an adapter.
//! Adding an adapter is a new file here implementing [`Dialect`] and one line in
//! [`Registry::builtin`].

pub mod codelldb;
pub mod debugpy;
pub mod lldb;
pub mod lldb_dap;

use crate::dap::protocol::Frame;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Which track a program belongs to; it decides the adapter family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// The Rust scenarios, debugged with lldb-dap or CodeLLDB.
    Rust,
    /// The Python twins, debugged with debugpy.
    Python,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
        }
    }
}

/// The talk's watch list, by portable name. Each dialect spells every one of them.
pub const PORTABLE_WATCHES: &[(&str, &str)] = &[
    (
        "global_shutdown",
        "the module-global `_shutdown` of concurrent.futures.thread",
    ),
    ("executor_shutdown", "the executor's own `_shutdown` flag"),
    (
        "global_shutdown_lock_locked",
        "`_global_shutdown_lock.locked()`",
    ),
    ("work_queue_size", "the executor's work-queue size"),
    (
        "registry_size",
        "how many (thread, queue) pairs `_threads_queues` holds",
    ),
];

/// How a hang is told apart from a slow program under an adapter (see [`crate::os::hang`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangRule {
    /// Every thread of the debuggee is blocked for good or held; the program is then paused
    /// to show where each thread is.
    EveryThread,
    /// The adapter runs threads of its own inside the debuggee (debugpy): the program is
    /// stuck when the threads it lists (told apart by py-spy where it can read the process,
    /// else counted) are all blocked for good. The adapter answers `threads` and `stackTrace`
    /// without a pause (and answers no pause).
    AdapterListedThreads,
}

impl HangRule {
    /// How many equal looks make a hang, given the looks a program with every thread in view
    /// needs (`base`). Under debugpy, one more: its own threads run inside the program, and a
    /// program thread can wait a moment on one of them (the exit join on its
    /// CheckAliveThread, which also has a hold of its own in the engine).
    pub fn looks(self, base: usize) -> usize {
        match self {
            HangRule::EveryThread => base,
            HangRule::AdapterListedThreads => base + 1,
        }
    }
}

/// In which frame watches and console expressions are evaluated when a thread stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchFrame {
    /// The innermost frame of the program (the LLDB adapters: the top frames are std's).
    InnermostUser,
    /// The top frame, as the editor selects it (debugpy, where the stdlib frames are the
    /// talk's subject).
    Top,
}

/// One field of the wait records a program keeps for debuggers (the Rust port's
/// `scenarios::threading::_waiting`), by slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitField {
    /// How many slots are in use.
    Count,
    /// The OS thread id a slot belongs to.
    Tid(usize),
    /// The address of the object the thread waits on (0 while it runs).
    Target(usize),
    /// The object's kind (the port's `wait_kind`).
    Kind(usize),
    /// The OS thread id holding or running the object.
    Owner(usize),
    /// 1 + the number of the executor whose work queue holds a pending future.
    Executor(usize),
    /// 1 + the number of the executor the slot's thread is a worker of (0: no worker).
    WorkerOf(usize),
    /// Eight bytes of the object's NUL-terminated name, as a little-endian integer: word `k`
    /// of slot `i`. (Read as integers: lldb-dap never answered a `char*` evaluate there.)
    DescWord(usize, usize),
    /// The OS thread id holding the model GIL.
    GilHolder,
}

/// Who an adapter is, as data: what differs between adapters only by value.
#[derive(Debug)]
pub struct Identity {
    /// The name on the command line and in reports (`lldb-dap`).
    pub name: &'static str,
    /// The name people know it by, in editor text (`CodeLLDB`).
    pub display_name: &'static str,
    /// The track it debugs.
    pub language: Language,
    /// The `type` values of VS Code launch configurations that select it.
    pub vscode_types: &'static [&'static str],
    /// The `adapterID` of `initialize` (the launch configuration `type`).
    pub adapter_id: &'static str,
    /// What to install when it is missing.
    pub install_hint: &'static str,
}

/// One debug adapter's discovery, launch arguments and quirks.
pub trait Dialect: Send + Sync + std::fmt::Debug {
    /// Who the adapter is: names, track, launch configuration types, what to install.
    fn identity(&self) -> &'static Identity;
    /// The adapter's name on the command line and in reports (`lldb-dap`).
    fn name(&self) -> &'static str {
        self.identity().name
    }
    /// The name people know it by, in editor text (`CodeLLDB`).
    fn display_name(&self) -> &'static str {
        self.identity().display_name
    }
    /// The track it debugs.
    fn language(&self) -> Language {
        self.identity().language
    }
    /// The `type` values of VS Code launch configurations that select it.
    fn vscode_types(&self) -> &'static [&'static str] {
        self.identity().vscode_types
    }
    /// The `adapterID` of `initialize` (the launch configuration `type`).
    fn adapter_id(&self) -> &'static str {
        self.identity().adapter_id
    }
    /// What to install when it is missing.
    fn install_hint(&self) -> &'static str {
        self.identity().install_hint
    }
    /// Where it looks, in words, for "not found" messages.
    fn looked_for(&self) -> String;
    /// Finds the adapter: `explicit` is a path the user gave (for debugpy: the Python to use),
    /// `project` the folder whose own environment (say `.venv`) comes first.
    fn discover(
        &'static self,
        explicit: Option<&Path>,
        project: &Path,
    ) -> Result<Adapter, AdapterError>;
    /// The adapter's version, asked only where it is shown (`dapwalk adapters`): probing
    /// costs a process start.
    fn version(&self, adapter: &Adapter) -> Option<String>;
    /// The `launch` arguments for `target`.
    fn launch_arguments(
        &self,
        adapter: &Adapter,
        target: &LaunchTarget,
    ) -> Result<Value, AdapterError>;

    /// A thread name as the program named it, without the adapter's decoration.
    fn thread_name(&self, raw: &str) -> String {
        raw.to_string()
    }
    /// A stable frame name (legacy Rust mangling leaves `::h<hash>`; see [`strip_rust_hash`]).
    fn frame_name(&self, raw: &str) -> String {
        raw.to_string()
    }
    /// Whether a frame is one the learner's walkthrough shows.
    fn shown_frame(&self, f: &Frame) -> bool {
        f.is_user_frame()
    }
    /// Where watches are read.
    fn watch_frame(&self) -> WatchFrame {
        WatchFrame::InnermostUser
    }
    /// The Watch-pane expressions to try, in order, for a portable watch name or a raw
    /// expression (a raw one is used as written).
    fn watch_expressions(&self, expr: &str) -> Vec<String>;
    /// The expression that reads an `AtomicBool` global (in Python: a plain bool) as
    /// `true`/`false`.
    fn atomic_bool_expr(&self, path: &str) -> String {
        path.to_string()
    }
    /// An evaluated value rendered the same on every adapter (`true`, `25`).
    fn render_value(&self, raw: &str) -> String {
        raw.trim().to_string()
    }
    /// What a walkthrough's debug-console expression is sent as (the console's own syntax).
    fn console_expression(&self, text: &str) -> String {
        text.to_string()
    }
    /// A debug-console answer without the adapter's bookkeeping.
    fn console_value(&self, raw: &str) -> String {
        raw.trim().to_string()
    }
    /// The debug-console line that keeps a thread suspended (or lets it run again) across
    /// the next resume; `None` when the adapter cannot hold one thread.
    fn hold_command(&self, _thread_id: i64, _held: bool) -> Option<String> {
        None
    }
    /// The expression reading one field of the program's wait records, or `None` when the
    /// adapter cannot read them (debugpy cannot evaluate in threads blocked in C): the engine
    /// then infers the waits from the stacks.
    fn wait_record_expr(&self, _field: WaitField) -> Option<String> {
        None
    }
    /// An evaluated wait-record field as a number (`'\x02'`, `0x00007ffff0000ee8`, `26410`)
    /// or, for [`WaitField::Desc`], the text.
    fn wait_record_value(&self, raw: &str) -> String {
        raw.trim().to_string()
    }
    /// The stop reason as walkthroughs name it (a pause reads `pause` everywhere).
    fn stop_reason(&self, reason: &str) -> String {
        reason.to_string()
    }
    /// Whether the program's stderr arrives merged into stdout (a terminal).
    fn stderr_merged(&self) -> bool {
        false
    }
    fn hang_rule(&self) -> HangRule {
        HangRule::EveryThread
    }
    /// Whether a program found hung is better stopped by sending it SIGSTOP than by `pause`
    /// (the adapter reports the signal's stop as it reports its own pause, sooner).
    fn halts_by_signal(&self) -> bool {
        false
    }
    /// Whether a stack of a thread the adapter has not suspended costs it much, so that only
    /// the stacks a step needs are worth asking.
    fn costly_stacks(&self) -> bool {
        false
    }
    /// Whether a thread whose stack cannot be walked (starting or ending) shows no frames
    /// instead of failing the observation.
    fn tolerates_unwalkable_threads(&self) -> bool {
        false
    }
    /// Whether an `evaluate` refused with `message` says the frame cannot evaluate anything
    /// now (its thread is not suspended), so every other expression there would be refused
    /// the same way and is not worth asking.
    fn frame_cannot_evaluate(&self, _message: &str) -> bool {
        false
    }
    /// When an `exited` event is the debugger losing the program rather than the program's
    /// exit: the adapter's own words for it, from its console output (`console`).
    fn lost_program(&self, _exit_code: Option<i64>, _console: &str) -> Option<String> {
        None
    }
    /// Whether the adapter exits by itself after `disconnect` (else when its stdin closes).
    fn exits_on_disconnect(&self) -> bool {
        false
    }
    /// `setExceptionBreakpoints` arguments that stop whenever one of `names` is raised.
    fn exception_arguments(&self, _names: &[String]) -> Option<Value> {
        None
    }
    /// The debuggee's pid, from console text, for adapters that send no `process` event.
    fn pid_from_console(&self, _text: &str) -> Option<u32> {
        None
    }
    /// Whether the adapter reports one `stopped` event per stop, for the thread it selects,
    /// so a held thread can be named with a stale reason (CodeLLDB); then the real reason of
    /// each thread let run is asked with `exceptionInfo`.
    fn names_one_thread_per_stop(&self) -> bool {
        false
    }
    /// A thread's own stop reason from its `exceptionInfo` answer, in the walkthroughs' words
    /// (`breakpoint`, `step`), when it stopped on its own; `None` otherwise. Asked only of
    /// adapters that name one thread per stop.
    fn stop_reason_from_exception_info(&self, _body: &Value) -> Option<String> {
        None
    }

    /// What is wrong with a VS Code launch configuration's keys for this adapter, if anything.
    fn launch_config_problem(&self, _keys: &serde_json::Map<String, Value>) -> Option<String> {
        None
    }

    /// For the editor files: the Debug Console line that lists the threads with their ids,
    /// in the console's own syntax; `None` when the console has none.
    fn editor_thread_list(&self) -> Option<String> {
        None
    }
    /// For the editor files: the Debug Console line that holds (or releases) a thread, with
    /// `TID` for its id: the very line the driver sends ([`Dialect::hold_command`]).
    fn editor_hold_command(&self, held: bool) -> Option<String> {
        // A number no thread has, so that replacing it cannot touch the rest of the line.
        const SENTINEL: i64 = 987_654_321_987;
        self.hold_command(SENTINEL, held)
            .map(|c| c.replace(&SENTINEL.to_string(), "TID"))
    }
    /// For the editor files: how a person holds a thread in VS Code's Debug Console with
    /// this adapter (Markdown).
    fn editor_hold_hint(&self) -> String {
        match (
            self.editor_thread_list(),
            self.editor_hold_command(true),
            self.editor_hold_command(false),
        ) {
            (Some(list), Some(hold), Some(release)) => format!(
                "in the Debug Console, {} shows each thread's tid; {} holds one, {} releases it after this step",
                markdown_code(&list),
                markdown_code(&hold),
                markdown_code(&release)
            ),
            _ => format!(
                "{} cannot hold one thread while the others run: follow the walkthrough's note",
                self.name()
            ),
        }
    }
    /// For the editor files: what to type into the Debug Console to evaluate `expr`.
    fn editor_console_expression(&self, expr: &str) -> String {
        self.console_expression(expr)
    }
}

/// `text` as a Markdown code span, fenced with two backquotes when it holds one.
pub fn markdown_code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// The dialects dapwalk knows, in order of preference per track.
#[derive(Debug, Clone)]
pub struct Registry {
    dialects: Vec<&'static dyn Dialect>,
}

impl Registry {
    /// The adapters dapwalk ships with: lldb-dap (the Rust track's default), CodeLLDB, debugpy.
    pub fn builtin() -> Registry {
        Registry {
            dialects: vec![&lldb_dap::LLDB_DAP, &codelldb::CODELLDB, &debugpy::DEBUGPY],
        }
    }

    /// The same registry with one more dialect (last in preference).
    pub fn with(mut self, d: &'static dyn Dialect) -> Registry {
        self.dialects.push(d);
        self
    }

    pub fn all(&self) -> &[&'static dyn Dialect] {
        &self.dialects
    }

    pub fn by_name(&self, name: &str) -> Option<&'static dyn Dialect> {
        self.dialects.iter().copied().find(|d| d.name() == name)
    }

    /// The dialect a VS Code launch configuration's `type` selects.
    pub fn for_vscode_type(&self, t: &str) -> Option<&'static dyn Dialect> {
        self.dialects
            .iter()
            .copied()
            .find(|d| d.vscode_types().contains(&t))
    }

    /// Every dialect of a track, preferred first.
    pub fn for_language(&self, lang: Language) -> Vec<&'static dyn Dialect> {
        self.dialects
            .iter()
            .copied()
            .filter(|d| d.language() == lang)
            .collect()
    }

    /// The dialect a track plays on when nothing else is asked.
    pub fn default_for(&self, lang: Language) -> Option<&'static dyn Dialect> {
        self.for_language(lang).into_iter().next()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.dialects.iter().map(|d| d.name()).collect()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

/// How to talk to a started adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    /// DAP over the adapter's stdin/stdout.
    Stdio,
    /// The adapter listens on 127.0.0.1:port.
    Tcp { port: u16 },
}

/// A found adapter: its dialect, what to run and how to talk to it.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub dialect: &'static dyn Dialect,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub connect: Connect,
    /// The version, when discovery learned it for free (a folder name, a module import).
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
    /// Adapter-specific launch keys merged over the dialect's defaults.
    pub extra: serde_json::Map<String, Value>,
}

impl Adapter {
    /// The adapter's name (its dialect's).
    pub fn name(&self) -> &'static str {
        self.dialect.name()
    }

    /// The `launch` arguments for `target` in this adapter's dialect, with `target.extra`
    /// merged over them.
    pub fn launch_arguments(&self, target: &LaunchTarget) -> Result<Value, AdapterError> {
        let mut args = self.dialect.launch_arguments(self, target)?;
        if let Value::Object(map) = &mut args {
            for (k, v) in &target.extra {
                map.insert(k.clone(), v.clone());
            }
        }
        Ok(args)
    }
}

/// Why an adapter cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{name} not found (looked at {looked}); to install: {hint}", name = .dialect.name(), hint = .dialect.install_hint())]
    NotFound {
        dialect: &'static dyn Dialect,
        looked: String,
    },
    /// Not found, with the one command that installs it where it would be looked for.
    #[error("{name} not found (tried {looked}); to install: {install}", name = .dialect.name())]
    Missing {
        dialect: &'static dyn Dialect,
        looked: String,
        install: String,
    },
    #[error("{path} is not a usable {name}: {reason}; to install: {hint}", path = .path.display(), name = .dialect.name(), hint = .dialect.install_hint())]
    Unusable {
        dialect: &'static dyn Dialect,
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

/// Explicit adapter paths given on the command line, by dialect name.
#[derive(Debug, Clone, Default)]
pub struct Explicit {
    paths: Vec<(String, PathBuf)>,
}

impl Explicit {
    pub fn set(&mut self, dialect: &str, path: PathBuf) {
        self.paths.retain(|(d, _)| d != dialect);
        self.paths.push((dialect.to_string(), path));
    }

    pub fn get(&self, dialect: &str) -> Option<&Path> {
        self.paths
            .iter()
            .find(|(d, _)| d == dialect)
            .map(|(_, p)| p.as_path())
    }
}

/// One adapter's discovery result.
#[derive(Debug)]
pub struct AdapterStatus {
    pub dialect: &'static dyn Dialect,
    pub found: Result<Adapter, AdapterError>,
    pub version: Option<String>,
}

/// Looks for every adapter of the registry, with its version.
pub fn survey(registry: &Registry, project: &Path, explicit: &Explicit) -> Vec<AdapterStatus> {
    registry
        .all()
        .iter()
        .map(|&dialect| {
            let found = dialect.discover(explicit.get(dialect.name()), project);
            let version = found.as_ref().ok().and_then(|a| dialect.version(a));
            AdapterStatus {
                dialect,
                found,
                version,
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
                    s.dialect.name(),
                    s.version.as_deref().unwrap_or("version unknown"),
                    a.program.display()
                );
                if !a.args.is_empty() {
                    line.push(' ');
                    line.push_str(&a.args.join(" "));
                }
                writeln!(out, "{line}")?;
            }
            Err(e) => {
                writeln!(out, "{:<9} {:<26} {e}", s.dialect.name(), "missing")?;
            }
        }
    }
    Ok(())
}

/// Removes the `::h0123456789abcdef` hash that legacy Rust mangling leaves on names.
/// LLDB reports a process it lost (lldb-server gone or its connection closed) as an exit with
/// status -1 and says "lost connection" on the console: "Process 8365 exited with status = -1
/// (0xffffffff) lost connection" (lldb-dap 22, seen as the program exited). A program's own
/// exit never carries those words.
pub(crate) fn lldb_lost_program(exit_code: Option<i64>, console: &str) -> Option<String> {
    if exit_code != Some(-1) {
        return None;
    }
    console
        .lines()
        .rev()
        .find(|l| l.contains("exited with status = -1") && l.contains("lost connection"))
        .map(|l| l.trim().to_string())
}

#[cfg(test)]
mod lost_tests {
    #[test]
    fn lldb_losing_the_program_is_not_an_exit_code() {
        let console = "25\nProcess 8365 exited with status = -1 (0xffffffff) lost connection\n";
        assert_eq!(
            super::lldb_lost_program(Some(-1), console).as_deref(),
            Some("Process 8365 exited with status = -1 (0xffffffff) lost connection")
        );
        assert_eq!(super::lldb_lost_program(Some(0), console), None);
        let own = "Process 8365 exited with status = -1 (0xffffffff)\n";
        assert_eq!(
            super::lldb_lost_program(Some(-1), own),
            None,
            "the program's own -1"
        );
    }
}

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

pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Every executable named `name` on PATH, in PATH order (found by `which`, which follows
/// the same rules as a shell, including PATH entries that are relative or missing).
pub(crate) fn on_path(name: &str) -> Vec<PathBuf> {
    which::which_all(name)
        .map(|found| found.collect())
        .unwrap_or_default()
}

pub(crate) fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// An explicit adapter path, refused unless it is an executable file.
pub(crate) fn explicit_executable(
    dialect: &'static dyn Dialect,
    path: &Path,
) -> Result<PathBuf, AdapterError> {
    if is_executable(path) {
        Ok(path.to_path_buf())
    } else {
        Err(AdapterError::Unusable {
            dialect,
            path: path.to_path_buf(),
            reason: "not an executable file".into(),
        })
    }
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `program args` briefly and returns its stdout (and stderr) text, for versions.
///
/// The probe runs in its own process group, and its pipes are read on threads: a child it
/// leaves behind holding stdout open must neither keep this waiting past the guard nor
/// outlive it (the whole group is killed once the probe exits or the guard runs out).
pub(crate) fn run_for_output(program: &Path, args: &[&str]) -> Option<String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::sync::{Arc, Mutex};
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .ok()?;
    let pgid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let mut buffers = Vec::new();
    let streams: Vec<Box<dyn Read + Send>> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for mut stream in streams {
        let buf = Arc::new(Mutex::new(Vec::new()));
        buffers.push(buf.clone());
        let done = done_tx.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut b) = buf.lock() {
                    b.extend_from_slice(&chunk[..n]);
                }
            }
            let _ = done.send(());
        });
    }
    drop(done_tx);
    // A version query that hangs must not hang `dapwalk adapters`.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let exited = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => break false,
        }
    };
    // Give the pipes a moment to drain what the probe wrote, then end whatever of its group
    // still runs; its helpers' ends of the pipes close with them.
    let drain = std::time::Instant::now() + std::time::Duration::from_millis(200);
    let mut open = buffers.len();
    while open > 0 && exited {
        let left = drain.saturating_duration_since(std::time::Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(()) => open -= 1,
            Err(_) => break,
        }
    }
    crate::os::procs::kill_group(pgid);
    let _ = child.kill();
    let _ = child.wait();
    let settle = std::time::Instant::now() + std::time::Duration::from_millis(500);
    while open > 0 {
        let left = settle.saturating_duration_since(std::time::Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(()) => open -= 1,
            Err(_) => break,
        }
    }
    if !exited {
        return None;
    }
    let mut text = String::new();
    for b in buffers {
        if let Ok(b) = b.lock() {
            text.push_str(&String::from_utf8_lossy(&b));
        }
    }
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
