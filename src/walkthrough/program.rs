//! Which program a walkthrough plays: one of the project's scenarios (`scenario = "NAME"`,
//! with `language`) or a program named by path (`program = "PATH"`, relative to the
//! walkthrough file, optionally `bin = "NAME"`; `language` inferred when left out).

use super::{Language, ProgramSpec};
use std::path::Path;

/// A key as written: its text and line.
pub(super) type Key<'a> = Option<(&'a str, usize)>;

/// What the program keys say: the short name, the track, the program named by path if any,
/// and the line of the key that names the program.
pub(super) struct Chosen {
    pub scenario: String,
    pub language: Language,
    pub program: Option<ProgramSpec>,
    pub line: usize,
}

/// An error at a line, with a hint.
pub(super) type KeyError = (usize, String, Option<String>);

/// Reads the `scenario`, `program`, `bin` and `language` keys of the walkthrough at `file`.
pub(super) fn choose(
    file: &Path,
    scenario: Key,
    program: Key,
    bin: Key,
    language: Key,
) -> Result<Chosen, KeyError> {
    let written = match language {
        None => None,
        Some((l, line)) => Some(parse_language(l).ok_or_else(|| {
            (
                line,
                format!("unknown language {l:?}"),
                Some("language is \"rust\" (lldb-dap, CodeLLDB) or \"python\" (debugpy); with program = \"PATH\" it may be left out".into()),
            )
        })?),
    };
    match (scenario, program) {
        (Some(_), Some((_, line))) => Err((
            line,
            "a walkthrough names its program once: scenario or program, not both".into(),
            Some("scenario = \"NAME\" for the project's own programs, program = \"PATH\" for any other".into()),
        )),
        (None, None) => Err((
            1,
            "no program: write program = \"PATH\" (a script, a cargo package or an executable, relative to this file) or scenario = \"NAME\"".into(),
            None,
        )),
        (Some((name, line)), None) => {
            if let Some((_, l)) = bin {
                return Err((l, "bin goes with program = \"PATH\" (a cargo package)".into(), None));
            }
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err((
                    line,
                    format!("scenario {name:?} is not a program name"),
                    Some("scenario names a binary of scenarios/src/bin or a twin in scenarios/python, without extension; name any other program with program = \"PATH\"".into()),
                ));
            }
            let language = written.ok_or_else(|| {
                (line, "a scenario walkthrough needs language = \"rust\" or \"python\"".into(), None)
            })?;
            Ok(Chosen { scenario: name.to_owned(), language, program: None, line })
        }
        (None, Some((p, line))) => {
            if p.is_empty() {
                return Err((line, "program is empty".into(), None));
            }
            let dir = file.parent().unwrap_or(Path::new("."));
            let path = dir.join(p);
            let language = match written {
                Some(l) => l,
                None => crate::project::infer_language(&path).map_err(|m| {
                    (line, m, Some("program is relative to the walkthrough file; write language = \"python\" or \"rust\" when it cannot be told".into()))
                })?,
            };
            let bin = bin.map(|(b, _)| b.to_owned());
            let name = bin.clone().unwrap_or_else(|| short_name(&path));
            Ok(Chosen {
                scenario: name,
                language,
                program: Some(ProgramSpec { path, bin }),
                line,
            })
        }
    }
}

fn parse_language(s: &str) -> Option<Language> {
    match s {
        "rust" => Some(Language::Rust),
        "python" => Some(Language::Python),
        _ => None,
    }
}

/// A script's stem, a package folder's name.
fn short_name(path: &Path) -> String {
    let p = if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".into())
}
