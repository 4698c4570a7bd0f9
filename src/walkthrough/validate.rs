//! Resolving a parsed walkthrough against the project's sources, before any debugger starts:
//! every marker it names must exist once, `stdlib:` patterns resolve against the Python that
//! plays, and combinations no adapter can play are refused, each at its file and line — all
//! of them in one pass.

use super::parse::marker_hint;
use super::{Language, LoadError, MarkerIndex, MarkerRef, Walkthrough};
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

/// Resolves a walkthrough against the sources; the first error if there are any (see
/// [`prepare_checked`] for all of them).
pub fn prepare(project: &Project, w: Walkthrough) -> Result<Prepared, LoadError> {
    prepare_checked(project, w).map_err(|mut errs| errs.remove(0))
}

/// Resolves a walkthrough against the sources: every marker it names must exist once.
/// Every error, each at the walkthrough's file and line, before any debugger starts.
pub fn prepare_checked(project: &Project, w: Walkthrough) -> Result<Prepared, Vec<LoadError>> {
    let source = project.program_source(w.language, &w.scenario);
    let mut errors = Vec::new();
    let mut err = |line: usize, message: String, hint: Option<String>| {
        errors.push(LoadError {
            path: w.path.clone(),
            line,
            message,
            hint,
        })
    };
    let port = match w.language {
        Language::Rust => Some(project.port_dir()),
        Language::Python => None,
    };
    let markers = MarkerIndex::build(&source, port.as_deref());
    let mut markers = match markers {
        Ok(m) => Some(m),
        Err(e) => {
            err(
                w.scenario_line,
                format!(
                    "scenario {:?}: cannot read {}: {e}",
                    w.scenario,
                    source.display()
                ),
                Some(format!(
                    "scenarios live in {}/<name>.{}",
                    Project::programs_dir_rel(w.language),
                    match w.language {
                        Language::Rust => "rs",
                        Language::Python => "py",
                    }
                )),
            );
            None
        }
    };
    // Asked once: a missing Python is one error, not one per stdlib marker.
    let mut stdlib: Option<Result<PathBuf, String>> = None;
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
            let Some(markers) = markers.as_mut() else {
                break;
            };
            if let MarkerRef::Stdlib(_) = r {
                let first = stdlib.is_none();
                match stdlib.get_or_insert_with(|| project.python_stdlib()) {
                    Ok(dir) => {
                        if let Err(m) = markers.add_stdlib(dir, r) {
                            err(
                                line,
                                m,
                                Some("stdlib:<module path>:<text>: the first line that begins with the text, indentation aside".into()),
                            );
                            continue;
                        }
                    }
                    Err(m) => {
                        if first {
                            err(line, m.clone(), None);
                        }
                        continue;
                    }
                }
            }
            if let Err(m) = markers.resolve(r) {
                err(
                    line,
                    m,
                    Some(format!(
                        "{}; the program is {}",
                        marker_hint(Some(w.language)),
                        project.display(&source)
                    )),
                );
            }
        }
    }
    for watch in &w.watch {
        if watch.expr.trim().is_empty() {
            err(
                watch.line,
                format!("watch {:?} has an empty expression", watch.name),
                None,
            );
        }
    }
    match markers {
        Some(markers) if errors.is_empty() => {
            let program = project.launch_program(w.language, &w.scenario);
            Ok(Prepared {
                walkthrough: w,
                root: project.root.clone(),
                markers,
                source,
                program,
            })
        }
        _ => Err(errors),
    }
}
