//! The DAP messages dapwalk sends and the answers it reads: one builder per request, and
//! lenient response types.
//!
//! Requests are built here and nowhere else, with the `dap` crate's argument types where it
//! has them (`SetBreakpointsArguments`, `StackTraceArguments`, ...), serialized without the
//! `null` members that crate writes for absent options. Responses are parsed with our own
//! lenient types instead of the `dap` crate's: adapters add members, leave required ones out
//! (CodeLLDB's disassembly frames have no path) and spell enums their own way (lldb-dap's
//! `deemphasize` where the crate wants `deEmphasize`), and a strict parse would turn each of
//! those into a lost observation.

use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;

/// A request ready to send: the command and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub command: &'static str,
    pub arguments: Option<Value>,
}

impl Request {
    fn new(command: &'static str, arguments: Option<Value>) -> Request {
        Request { command, arguments }
    }
}

/// Strips `null` members from serialized arguments. The `dap` crate serializes absent
/// optional arguments as `null`, which the specification does not allow and some adapters
/// reject; absent is what we mean.
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Serializes typed arguments (e.g. from the `dap` crate).
pub fn args<T: serde::Serialize>(arguments: &T) -> Option<Value> {
    serde_json::to_value(arguments).ok().map(without_nulls)
}

/// `initialize`, as dapwalk introduces itself. `adapter_id` is the adapter's `type`.
pub fn initialize(adapter_id: &str) -> Request {
    let a = dap::requests::InitializeArguments {
        client_id: Some("dapwalk".into()),
        client_name: Some("dapwalk".into()),
        adapter_id: adapter_id.into(),
        locale: Some("en-us".into()),
        lines_start_at1: Some(true),
        columns_start_at1: Some(true),
        path_format: Some(dap::requests::PathFormat::Path),
        supports_variable_type: Some(true),
        supports_run_in_terminal_request: Some(true),
        ..Default::default()
    };
    Request::new("initialize", args(&a))
}

/// `launch` with the dialect's own arguments.
pub fn launch(arguments: Value) -> Request {
    Request::new("launch", Some(arguments))
}

pub fn configuration_done() -> Request {
    Request::new("configurationDone", None)
}

/// `setBreakpoints` for one file: DAP sets a file's whole list at once.
#[allow(deprecated)] // `lines` is a deprecated member of the dap crate's struct; we leave it unset.
pub fn set_breakpoints(path: &Path, lines: &[i64]) -> Request {
    let a = dap::requests::SetBreakpointsArguments {
        source: dap::types::Source {
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            path: Some(path.display().to_string()),
            ..Default::default()
        },
        breakpoints: Some(
            lines
                .iter()
                .map(|&line| dap::types::SourceBreakpoint {
                    line,
                    ..Default::default()
                })
                .collect(),
        ),
        lines: None,
        source_modified: None,
    };
    Request::new("setBreakpoints", args(&a))
}

/// `setFunctionBreakpoints`: replaces every function breakpoint.
pub fn set_function_breakpoints(names: &[String]) -> Request {
    let a = dap::requests::SetFunctionBreakpointsArguments {
        breakpoints: names
            .iter()
            .map(|name| dap::types::FunctionBreakpoint {
                name: name.clone(),
                condition: None,
                hit_condition: None,
            })
            .collect(),
    };
    Request::new("setFunctionBreakpoints", args(&a))
}

/// `setExceptionBreakpoints` with arguments in the adapter's dialect (filters and options
/// differ per adapter; see the dialects).
pub fn set_exception_breakpoints(arguments: Value) -> Request {
    Request::new("setExceptionBreakpoints", Some(arguments))
}

pub fn threads() -> Request {
    Request::new("threads", None)
}

/// `stackTrace`: the top `levels` frames of a thread.
pub fn stack_trace(thread_id: i64, levels: i64) -> Request {
    let a = dap::requests::StackTraceArguments {
        thread_id,
        start_frame: Some(0),
        levels: Some(levels),
        format: None,
    };
    Request::new("stackTrace", args(&a))
}

pub fn scopes(frame_id: i64) -> Request {
    Request::new("scopes", Some(json!({ "frameId": frame_id })))
}

pub fn variables(reference: i64) -> Request {
    Request::new(
        "variables",
        Some(json!({ "variablesReference": reference })),
    )
}

/// Where an expression is evaluated: the Watch pane or the Debug Console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalContext {
    Watch,
    Repl,
}

/// `evaluate`, in `frame_id` when one is given.
pub fn evaluate(expression: &str, frame_id: Option<i64>, context: EvalContext) -> Request {
    let mut a = json!({
        "expression": expression,
        "context": match context { EvalContext::Watch => "watch", EvalContext::Repl => "repl" },
    });
    if let Some(f) = frame_id {
        a["frameId"] = json!(f);
    }
    Request::new("evaluate", Some(a))
}

/// The requests that move or stop threads, each taking a `threadId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    Continue,
    Next,
    StepIn,
    StepOut,
    Pause,
}

impl Motion {
    pub fn command(self) -> &'static str {
        match self {
            Motion::Continue => "continue",
            Motion::Next => "next",
            Motion::StepIn => "stepIn",
            Motion::StepOut => "stepOut",
            Motion::Pause => "pause",
        }
    }
}

/// `continue`, `next`, `stepIn`, `stepOut` or `pause` for `thread_id`.
pub fn motion(m: Motion, thread_id: i64) -> Request {
    Request::new(m.command(), Some(json!({ "threadId": thread_id })))
}

/// `exceptionInfo`: why a thread stopped, as the adapter knows it now.
pub fn exception_info(thread_id: i64) -> Request {
    Request::new("exceptionInfo", Some(json!({ "threadId": thread_id })))
}

/// `disconnect`, ending the debuggee too when `terminate`.
pub fn disconnect(terminate: bool) -> Request {
    Request::new(
        "disconnect",
        Some(json!({ "terminateDebuggee": terminate })),
    )
}

/// What the adapter said about one breakpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BreakpointResult {
    pub id: Option<i64>,
    pub verified: bool,
    pub line: Option<i64>,
    pub message: Option<String>,
}

/// A thread, with its name as the program named it (adapter decorations removed).
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadInfo {
    pub id: i64,
    pub name: String,
    pub raw_name: String,
}

/// The source of a frame.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct FrameSource {
    pub name: Option<String>,
    pub path: Option<String>,
    pub source_reference: Option<i64>,
    /// lldb-dap marks sources without a file (`module`symbol` pseudo-paths) `deemphasize`.
    /// Kept as text: the `dap` crate's enum spells it `deEmphasize` and would reject it.
    pub presentation_hint: Option<String>,
}

/// A stack frame. Parsed leniently: adapters add fields, and CodeLLDB's disassembly frames
/// carry no path.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Frame {
    pub id: i64,
    /// The name with adapter noise removed (e.g. the `::h<hash>` of legacy Rust mangling).
    pub name: String,
    pub source: Option<FrameSource>,
    pub line: i64,
    pub column: i64,
    pub presentation_hint: Option<String>,
}

impl Frame {
    pub fn path(&self) -> Option<&str> {
        self.source.as_ref()?.path.as_deref()
    }

    /// The file name of the frame's source, if it has one on disk.
    pub fn file_name(&self) -> Option<&str> {
        self.path().and_then(|p| p.rsplit('/').next())
    }

    /// A frame in the program being debugged, not the toolchain's or the system's library.
    pub fn is_user_frame(&self) -> bool {
        if matches!(self.presentation_hint.as_deref(), Some("subtle" | "label")) {
            return false;
        }
        let Some(source) = &self.source else {
            return false;
        };
        // A source the adapter serves itself (disassembly, `module`symbol`) is no file of
        // the program's.
        if source.source_reference.unwrap_or(0) > 0
            || source.presentation_hint.as_deref() == Some("deemphasize")
        {
            return false;
        }
        let Some(path) = source.path.as_deref() else {
            return false;
        };
        let system = [
            "/rustc/",
            "/usr/",
            "/.cargo/registry/",
            "/.rustup/",
            "/lib/python",
            "/site-packages/",
            "<frozen",
        ];
        path.starts_with('/') && !path.contains('`') && !system.iter().any(|s| path.contains(s))
    }
}

/// A scope of a frame.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Scope {
    pub name: String,
    pub variables_reference: i64,
    pub expensive: bool,
}

/// A variable (or a child of one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Variable {
    pub name: String,
    pub value: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub variables_reference: i64,
    pub evaluate_name: Option<String>,
}

/// The result of an `evaluate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Evaluated {
    pub result: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub variables_reference: i64,
}

/// The breakpoints of a `setBreakpoints` or `setFunctionBreakpoints` answer, in order.
pub fn parse_breakpoints(body: &Value) -> Vec<BreakpointResult> {
    body["breakpoints"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| serde_json::from_value(b.clone()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_frames() {
        let f = |p: &str| Frame {
            source: Some(FrameSource {
                path: Some(p.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(f("/work/main/scenarios/src/thread.rs").is_user_frame());
        assert!(!f("/rustc/abc/library/std/src/thread/mod.rs").is_user_frame());
        assert!(!f("/usr/lib/python3.11/threading.py").is_user_frame());
        assert!(!Frame::default().is_user_frame());
    }
}
