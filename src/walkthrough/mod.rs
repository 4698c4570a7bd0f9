//! The walkthrough format: what a learner reads and what the debugger must show.
//!
//! A walkthrough is a TOML file in `walkthroughs/`: a title, the scenario it debugs, an
//! introduction, the watch list, then steps. Each step has its narrative, what to do in the
//! debugger and what must be observed afterwards. Breakpoints name source markers
//! (`// @bp inner-submit`), never line numbers, so editing a scenario does not break its
//! walkthroughs. Parsing and validation are plain functions: every error names the file and the
//! line, before any debugger starts.

mod discover;
pub mod draft;
mod fields;
mod markers;
mod parse;
mod program;
mod validate;

pub use crate::adapters::{Language, PORTABLE_WATCHES};
pub use discover::{collect, load_all, load_each, BadFile};
pub use markers::{marker_line, MarkerIndex, MarkerRef, MarkerSite};
pub use parse::{load, parse_str, parse_text, read, read_partial, LoadError, REASONS};
pub use validate::{prepare, prepare_checked, Build, Prepared};

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One walkthrough file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Walkthrough {
    pub path: PathBuf,
    pub title: String,
    /// The program's name: `scenarios/src/bin/<scenario>.rs` or `scenarios/python/<scenario>.py`;
    /// for a program named by path, its short name (the script's stem, the binary's name).
    pub scenario: String,
    /// A program named by path (`program = "..."`) instead of one of the project's scenarios.
    pub program: Option<ProgramSpec>,
    /// The line of the `scenario` or `program` key, where errors about the program point.
    pub program_line: usize,
    pub language: Language,
    pub intro: String,
    /// Environment for the program (`PYTHON_GIL = "0"` runs the port free-threaded).
    pub env: Vec<(String, String)>,
    /// Adapter launch keys merged over the profile's: how a Python walkthrough turns on
    /// debugpy's non-stop mode (`stopAllThreadsOnSuspend = false`).
    pub launch: serde_json::Map<String, serde_json::Value>,
    /// Watch values evaluated at every stop, in the order written.
    pub watch: Vec<WatchSpec>,
    pub steps: Vec<Step>,
}

/// A program named by path in a walkthrough: a Python script, a cargo package (`bin` picks
/// one of its binaries) or a built executable.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramSpec {
    /// As written, joined to the walkthrough's folder.
    pub path: PathBuf,
    pub bin: Option<String>,
}

/// A watch value: a name shown to the learner and the expression to evaluate.
///
/// `expr` is either one of the talk's portable watch names (see [`PORTABLE_WATCHES`]), which
/// each adapter's dialect spells its own way, or a raw expression for this walkthrough's
/// language.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSpec {
    pub name: String,
    pub expr: String,
    pub line: usize,
}

/// One step: narrative, actions, expectations.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Line of the `[[step]]` header in the file, for reports.
    pub line: usize,
    pub title: String,
    pub say: String,
    pub breakpoints: Vec<Located<MarkerRef>>,
    pub clear: Vec<Located<MarkerRef>>,
    pub function_breakpoints: Vec<String>,
    pub action: Action,
    /// The thread the action applies to, by portable name (`MainThread`,
    /// `ThreadPoolExecutor-0_0`); the stopped thread when absent.
    pub thread: Option<String>,
    /// Threads kept suspended while the action lets the others run: how a walkthrough
    /// forces one side of a race.
    pub hold: Vec<String>,
    pub evaluate: Vec<String>,
    /// Exception breakpoints from this step on, by exception class name (`RuntimeError`):
    /// the debugger stops whenever one is raised, caught or not. An empty list clears them.
    pub exceptions: Option<Vec<String>>,
    /// Threads (portable names) that must each stop at their marker before the step looks:
    /// how a walkthrough in debugpy's non-stop mode lines threads up to force a race.
    pub wait_for: Vec<(String, Located<MarkerRef>)>,
    /// How long the action may run before dapwalk pauses the program to look (default: the
    /// run's step timeout). A step that shows a program stuck in a timed wait sets it short.
    pub timeout: Option<std::time::Duration>,
    pub expect: Expect,
}

/// A value with the line it was written on.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub line: usize,
}

/// What the step asks the debugger to do once its breakpoints are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Launch the program (the first step's default).
    Start,
    Continue,
    /// Step over (F10).
    Next,
    /// Step in (F11).
    StepIn,
    /// Step out (Shift+F11).
    StepOut,
    Pause,
    /// Only set breakpoints, evaluate, or observe again; the program does not move.
    Stay,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Continue => "continue",
            Action::Next => "next",
            Action::StepIn => "step-in",
            Action::StepOut => "step-out",
            Action::Pause => "pause",
            Action::Stay => "stay",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "start" => Action::Start,
            "continue" => Action::Continue,
            "next" | "step-over" => Action::Next,
            "step-in" => Action::StepIn,
            "step-out" => Action::StepOut,
            "pause" => Action::Pause,
            "stay" => Action::Stay,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &[
        "start", "continue", "next", "step-in", "step-out", "pause", "stay",
    ];
}

/// What must be observed after a step's action. Every field is optional: a step checks only
/// what its narrative talks about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expect {
    pub stopped: Option<Located<ExpectStop>>,
    /// Per thread (portable name), the user frames that must appear, top first, as a
    /// subsequence of the observed call stack.
    pub stacks: BTreeMap<String, Located<Vec<String>>>,
    /// The set of threads alive at the stop, by portable name.
    pub threads: Option<Located<Vec<String>>>,
    /// Watch name → expected rendered value.
    pub watch: BTreeMap<String, Located<String>>,
    /// Lines that must appear, in order, in everything the program wrote to stdout so far.
    pub stdout: Option<Located<Vec<String>>>,
    /// Lines that must appear, in order, in everything the program wrote to stderr so far.
    pub stderr: Option<Located<Vec<String>>>,
    /// Debug-console results of this step's `evaluate` list, in order.
    pub evaluate: Option<Located<Vec<String>>>,
    /// What each waiting thread waits on, one narrative line per thread
    /// (`MainThread joins TPExecutor-0_0`), in any order. Asking for it makes dapwalk explain
    /// the stop even when it is not a hang.
    pub waits: Option<Located<Vec<String>>>,
    /// The cycle of waits, in order from where it is entered (`["MainThread",
    /// "TPExecutor-0_0"]`); an empty list expects no cycle.
    pub cycle: Option<Located<Vec<String>>>,
    pub end: Option<Located<ExpectEnd>>,
}

impl Expect {
    /// Whether the step asks who waits on whom.
    pub fn wants_explanation(&self) -> bool {
        self.waits.is_some() || self.cycle.is_some()
    }
}

/// The expected stop.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectStop {
    pub thread: Option<String>,
    /// DAP stop reason: `breakpoint`, `step`, `pause`, `exception`, `data breakpoint`, ...
    pub reason: Option<String>,
    /// The marker the stopped thread's top user frame sits on.
    pub at: Option<MarkerRef>,
    /// The adapter's description of the stop: an exception's message.
    pub description: Option<String>,
}

/// How the program ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectEnd {
    /// The program exited by itself with this code.
    Exit(i64),
    /// Every thread blocked and nothing can wake them: a deadlock. The step's `stacks` say where
    /// each thread blocks.
    Hang,
}
