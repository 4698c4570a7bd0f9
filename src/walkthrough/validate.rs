//! Resolving a parsed walkthrough against its program's sources, before any debugger starts:
//! every marker it names must exist once, `stdlib:` patterns resolve against the Python that
//! plays, `file:` patterns in the program's folder, and combinations no adapter can play are
//! refused, each at its file and line.

use super::{Action, Language, LoadError, MarkerIndex, MarkerRef, Walkthrough};
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

/// Resolves a walkthrough against the sources: every marker it names must exist once. Errors
/// carry the walkthrough's file and line, before any debugger starts.
pub fn prepare(project: &Project, mut w: Walkthrough) -> Result<Prepared, LoadError> {
    let path = w.path.clone();
    let err = |line: usize, message: String, hint: Option<String>| LoadError {
        path: path.clone(),
        line,
        message,
        hint,
    };
    let (root, source, program, mut markers, build, marker_hint) = match &w.program {
        Some(spec) => {
            let own = crate::project::own_program(&spec.path, spec.bin.as_deref(), w.language)
                .map_err(|m| err(w.program_line, m, None))?;
            let markers = MarkerIndex::build_files(&own.marker_files).map_err(|e| {
                err(
                    w.program_line,
                    format!("cannot read the program's sources: {e}"),
                    None,
                )
            })?;
            let hint = format!(
                "markers are comments `{} @bp NAME` in the program's files ({}); a file you may not edit is broken on by text: file:<path>:<the line's text>",
                comment_of(w.language),
                project.display(&own.root)
            );
            // A Python program run by dapwalk writes no bytecode caches into its folder.
            if w.language == Language::Python
                && !w.env.iter().any(|(k, _)| k == "PYTHONDONTWRITEBYTECODE")
            {
                w.env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
            }
            let build = matches!(own.kind, OwnKind::Cargo { .. }).then(|| Build::Own(own.clone()));
            (own.root, own.source, own.launch, markers, build, hint)
        }
        None => {
            let project = project.for_walkthrough(&w.path);
            let source = project.program_source(w.language, &w.scenario);
            let port = match w.language {
                Language::Rust => Some(project.port_dir()),
                Language::Python => None,
            };
            let markers = MarkerIndex::build(&source, port.as_deref()).map_err(|e| {
                if !project.is_project() {
                    return err(
                        w.program_line,
                        format!(
                            "scenario {:?}: no project holds this walkthrough ({} has no scenarios/ and walkthroughs/)",
                            w.scenario,
                            project.root.display()
                        ),
                        Some("name your own program by path: program = \"my_script.py\" (relative to this file)".into()),
                    );
                }
                err(
                    w.program_line,
                    format!("scenario {:?}: cannot read {}: {e}", w.scenario, source.display()),
                    Some("scenarios live in scenarios/src/bin/<name>.rs and scenarios/python/<name>.py; name any other program with program = \"PATH\"".into()),
                )
            })?;
            let hint = format!(
                "markers are comments `{} @bp NAME` in {}{}",
                comment_of(w.language),
                source.display(),
                match w.language {
                    Language::Rust => " or, with `port:`, in scenarios/src/*.rs",
                    Language::Python => "; the standard library is broken on by text: stdlib:<module path>:<the line's text>",
                }
            );
            let build =
                (w.language == Language::Rust).then(|| Build::Scenarios(project.root.clone()));
            let program = project.launch_program(w.language, &w.scenario);
            (project.root.clone(), source, program, markers, build, hint)
        }
    };
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
            match r {
                MarkerRef::Stdlib(_) => {
                    let stdlib = project.python_stdlib().map_err(|m| err(line, m, None))?;
                    markers.add_stdlib(&stdlib, r).map_err(|m| {
                        err(
                            line,
                            m,
                            Some("stdlib:<module path>:<text>: the first line that begins with the text, indentation aside".into()),
                        )
                    })?;
                }
                MarkerRef::File(_) => {
                    markers.add_file_pattern(&root, r).map_err(|m| {
                        err(
                            line,
                            m,
                            Some(format!("file:<path relative to {}>:<text>: the first line that begins with the text, indentation aside", project.display(&root))),
                        )
                    })?;
                }
                MarkerRef::Program(_) | MarkerRef::Port(_) => {}
            }
            markers
                .resolve(r)
                .map_err(|m| err(line, m, Some(marker_hint.clone())))?;
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
    Ok(Prepared {
        walkthrough: w,
        root,
        markers,
        source,
        program,
        build,
    })
}

/// How a line comment starts on a track.
fn comment_of(language: Language) -> &'static str {
    match language {
        Language::Rust => "//",
        Language::Python => "#",
    }
}
