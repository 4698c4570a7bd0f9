//! Resolving a parsed walkthrough against the project's sources, before any debugger starts:
//! every marker it names must exist once, `stdlib:` patterns resolve against the Python that
//! plays, and combinations no adapter can play are refused, each at its file and line.

use super::{Action, Language, LoadError, MarkerIndex, MarkerRef, Walkthrough};
use crate::project::Project;
use std::path::PathBuf;

/// A walkthrough with every marker it names resolved.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub walkthrough: Walkthrough,
    /// The project folder: the program's working directory.
    pub root: PathBuf,
    pub markers: MarkerIndex,
    pub source: PathBuf,
    pub program: PathBuf,
}

/// Resolves a walkthrough against the sources: every marker it names must exist once. Errors
/// carry the walkthrough's file and line, before any debugger starts.
pub fn prepare(project: &Project, w: Walkthrough) -> Result<Prepared, LoadError> {
    let source = project.program_source(w.language, &w.scenario);
    let err = |line: usize, message: String, hint: Option<String>| LoadError {
        path: w.path.clone(),
        line,
        message,
        hint,
    };
    let port = match w.language {
        Language::Rust => Some(project.port_dir()),
        Language::Python => None,
    };
    let mut markers = MarkerIndex::build(&source, port.as_deref()).map_err(|e| {
        err(
            1,
            format!(
                "scenario {:?}: cannot read {}: {e}",
                w.scenario,
                source.display()
            ),
            Some(
                "scenarios live in scenarios/src/bin/<name>.rs and scenarios/python/<name>.py"
                    .into(),
            ),
        )
    })?;
    for step in &w.steps {
        let refs = step
            .breakpoints
            .iter()
            .chain(&step.clear)
            .chain(step.wait_for.iter().map(|(_, m)| m))
            .map(|m| (&m.value, m.line))
            .chain(
                step.expect
                    .stopped
                    .as_ref()
                    .and_then(|s| s.value.at.as_ref().map(|a| (a, s.line))),
            );
        for (r, line) in refs {
            if let MarkerRef::Stdlib(_) = r {
                let stdlib = project.python_stdlib().map_err(|m| err(line, m, None))?;
                markers.add_stdlib(&stdlib, r).map_err(|m| {
                    err(
                        line,
                        m,
                        Some("stdlib:<module path>:<text>: the first line that begins with the text, indentation aside".into()),
                    )
                })?;
            }
            markers
                .resolve(r)
                .map_err(|m| err(line, m, Some(format!("markers are comments `// @bp NAME` in {} or, with `port:`, in scenarios/src/*.rs", source.display()))))?;
        }
        for t in step.hold.iter().chain(step.thread.iter()) {
            if t.is_empty() {
                return Err(err(step.line, "an empty thread name".into(), None));
            }
        }
        if !step.hold.is_empty() && w.language == Language::Python {
            return Err(err(
                step.line,
                "`hold` needs an LLDB adapter: debugpy's continue resumes every thread".into(),
                Some("in debugpy's non-stop mode (launch = { stopAllThreadsOnSuspend = false }) line the threads up with wait_for, then continue".into()),
            ));
        }
        if !step.hold.is_empty() && step.action != Action::Continue {
            return Err(err(
                step.line,
                format!(
                    "`hold` goes with do = \"continue\", not {:?}",
                    step.action.as_str()
                ),
                None,
            ));
        }
    }
    for watch in &w.watch {
        if watch.expr.trim().is_empty() {
            return Err(err(
                watch.line,
                format!("watch {:?} has an empty expression", watch.name),
                None,
            ));
        }
    }
    let program = project.launch_program(w.language, &w.scenario);
    Ok(Prepared {
        walkthrough: w,
        root: project.root.clone(),
        markers,
        source,
        program,
    })
}
