//! Resolving a parsed walkthrough against its program's sources, before any debugger starts:
//! every marker it names must exist once, `stdlib:` patterns resolve against the Python that
//! plays, `file:` patterns in the program's folder, and combinations no adapter can play are
//! refused, each at its file and line — all of them in one pass.

use super::parse::marker_hint;
use super::{Language, LoadError, MarkerIndex, MarkerRef, Walkthrough};
use crate::project::{OwnKind, OwnProgram, Project};
use std::path::PathBuf;

/// A walkthrough with every marker it names resolved.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub walkthrough: Walkthrough,
    /// The program's working directory: the project folder for a scenario, the program's
    /// own folder for a program named by path.
    pub root: PathBuf,
    pub markers: MarkerIndex,
    pub source: PathBuf,
    pub program: PathBuf,
    /// What must be built before it plays.
    pub build: Option<Build>,
}

/// What a walkthrough needs built.
#[derive(Debug, Clone, PartialEq)]
pub enum Build {
    /// The scenarios of the project at this root (`cargo build -p scenarios --bins`).
    Scenarios(PathBuf),
    /// A cargo package named by path.
    Own(OwnProgram),
}

/// Resolves a walkthrough against the sources; the first error if there are any (see
/// [`prepare_checked`] for all of them).
pub fn prepare(project: &Project, w: Walkthrough) -> Result<Prepared, LoadError> {
    prepare_checked(project, w).map_err(|mut errs| errs.remove(0))
}

/// Where a walkthrough's program is, as far as it could be found.
struct Found {
    root: PathBuf,
    source: PathBuf,
    program: PathBuf,
    markers: MarkerIndex,
    build: Option<Build>,
    /// Where the program's markers are, for hints.
    sources: String,
}

/// Resolves a walkthrough against the sources of its program (one of the project's
/// scenarios, or one named by path): every marker it names must exist once. Every error,
/// each at the walkthrough's file and line, before any debugger starts.
pub fn prepare_checked(project: &Project, mut w: Walkthrough) -> Result<Prepared, Vec<LoadError>> {
    let path = w.path.clone();
    let mut errors = Vec::new();
    let mut err = |line: usize, message: String, hint: Option<String>| {
        errors.push(LoadError {
            path: path.clone(),
            line,
            message,
            hint,
        })
    };
    let mut found = match &w.program {
        Some(spec) => own(project, &w, spec, &mut err),
        None => scenario(project, &w, &mut err),
    };
    // A Python program run by dapwalk writes no bytecode caches into its folder.
    if w.program.is_some()
        && w.language == Language::Python
        && !w.env.iter().any(|(k, _)| k == "PYTHONDONTWRITEBYTECODE")
    {
        w.env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
    }
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
            let Some(found) = found.as_mut() else {
                break;
            };
            let markers = &mut found.markers;
            match r {
                MarkerRef::Stdlib(_) => {
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
                MarkerRef::File(_) => {
                    if let Err(m) = markers.add_file_pattern(&found.root, r) {
                        err(
                            line,
                            m,
                            Some(format!("file:<path relative to {}>:<text>: the first line that begins with the text, indentation aside", project.display(&found.root))),
                        );
                        continue;
                    }
                }
                MarkerRef::Program(_) | MarkerRef::Port(_) => {}
            }
            if let Err(m) = markers.resolve(r) {
                err(
                    line,
                    m,
                    Some(format!(
                        "{}; {}",
                        marker_hint(Some(w.language), w.program.is_some()),
                        found.sources
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
    match found {
        Some(f) if errors.is_empty() => Ok(Prepared {
            walkthrough: w,
            root: f.root,
            markers: f.markers,
            source: f.source,
            program: f.program,
            build: f.build,
        }),
        _ => Err(errors),
    }
}

/// A program named by path: its files and markers, and what to build.
fn own(
    project: &Project,
    w: &Walkthrough,
    spec: &super::ProgramSpec,
    err: &mut impl FnMut(usize, String, Option<String>),
) -> Option<Found> {
    let own = crate::project::own_program(&spec.path, spec.bin.as_deref(), w.language)
        .map_err(|m| err(w.program_line, m, None))
        .ok()?;
    let markers = MarkerIndex::build_files(&own.marker_files)
        .map_err(|e| {
            err(
                w.program_line,
                format!("cannot read the program's sources: {e}"),
                None,
            )
        })
        .ok()?;
    Some(Found {
        sources: format!("the program's files are in {}", project.display(&own.root)),
        build: matches!(own.kind, OwnKind::Cargo { .. }).then(|| Build::Own(own.clone())),
        root: own.root,
        source: own.source,
        program: own.launch,
        markers,
    })
}

/// One of the project's scenarios, in the project that holds the walkthrough.
fn scenario(
    project: &Project,
    w: &Walkthrough,
    err: &mut impl FnMut(usize, String, Option<String>),
) -> Option<Found> {
    let project = project.for_walkthrough(&w.path);
    let source = project.program_source(w.language, &w.scenario);
    let port = match w.language {
        Language::Rust => Some(project.port_dir()),
        Language::Python => None,
    };
    let markers = match MarkerIndex::build(&source, port.as_deref()) {
        Ok(m) => m,
        Err(_) if !project.is_project() => {
            err(
                w.program_line,
                format!(
                    "scenario {:?}: no project holds this walkthrough ({} has no scenarios/ and walkthroughs/)",
                    w.scenario,
                    project.root.display()
                ),
                Some("name your own program by path: program = \"my_script.py\" (relative to this file)".into()),
            );
            return None;
        }
        Err(e) => {
            err(
                w.program_line,
                format!(
                    "scenario {:?}: cannot read {}: {e}",
                    w.scenario,
                    source.display()
                ),
                Some(format!(
                    "scenarios live in {}/<name>.{}; name any other program with program = \"PATH\"",
                    Project::programs_dir_rel(w.language),
                    match w.language {
                        Language::Rust => "rs",
                        Language::Python => "py",
                    }
                )),
            );
            return None;
        }
    };
    Some(Found {
        sources: format!("the program is {}", project.display(&source)),
        build: (w.language == Language::Rust).then(|| Build::Scenarios(project.root.clone())),
        program: project.launch_program(w.language, &w.scenario),
        root: project.root.clone(),
        source,
        markers,
    })
}
