//! Which program a walkthrough plays: one of the project's scenarios (`scenario = "NAME"`,
//! with `language`) or a program named by path (`program = "PATH"`, relative to the
//! walkthrough file, optionally `bin = "NAME"`; `language` inferred when left out).

use super::{Language, ProgramSpec};
use std::path::Path;

/// A key as written: its text and line.
pub(super) type Key<'a> = Option<(&'a str, usize)>;

/// The `language` key as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Written {
    /// Left out.
    Absent,
    /// Written, but not a track (or misspelt as a key): already reported.
    Wrong,
    /// A track, at its line.
    Is(Language),
}

/// What the program keys say: the short name, the track, the program named by path if any,
/// and the line of the key that names the program.
#[derive(Debug)]
pub(super) struct Chosen {
    pub scenario: String,
    pub language: Language,
    pub program: Option<ProgramSpec>,
    pub line: usize,
}

/// An error at a line, with a hint.
pub(super) type KeyError = (usize, String, Option<String>);

/// How `scenario` names a program, for hints.
pub(super) const SCENARIO_HINT: &str = "scenario names a binary of scenarios/src/bin or a twin in scenarios/python, without extension; name any other program with program = \"PATH\"";

/// Reads the `scenario`, `program` and `bin` keys of the walkthrough at `file`, with its
/// `language`: the program, or every error of these keys (none when all of them were said
/// already, as a `language` that is not a track is).
pub(super) fn choose(
    file: &Path,
    scenario: Key,
    program: Key,
    bin: Key,
    language: Written,
) -> Result<Chosen, Vec<KeyError>> {
    let mut errors: Vec<KeyError> = Vec::new();
    let chosen = match (scenario, program) {
        (Some(_), Some((_, line))) => {
            errors.push((
                line,
                "a walkthrough names its program once: scenario or program, not both".into(),
                Some("scenario = \"NAME\" for the project's own programs, program = \"PATH\" for any other".into()),
            ));
            None
        }
        (None, None) => {
            errors.push((
                1,
                "no program: write program = \"PATH\" (a script, a cargo package or an executable, relative to this file) or scenario = \"NAME\"".into(),
                None,
            ));
            None
        }
        (Some((name, line)), None) => {
            if let Some((_, l)) = bin {
                errors.push((
                    l,
                    "bin goes with program = \"PATH\" (a cargo package)".into(),
                    None,
                ));
            }
            let named =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !named {
                errors.push((
                    line,
                    format!("scenario {name:?} is not a program name"),
                    Some(SCENARIO_HINT.into()),
                ));
            }
            let language = match language {
                Written::Is(l) => Some(l),
                Written::Wrong => None,
                Written::Absent => {
                    errors.push((
                        line,
                        "a scenario walkthrough needs language = \"rust\" or \"python\"".into(),
                        None,
                    ));
                    None
                }
            };
            language.filter(|_| named).map(|language| Chosen {
                scenario: name.to_owned(),
                language,
                program: None,
                line,
            })
        }
        (None, Some((p, line))) => {
            if p.is_empty() {
                errors.push((line, "program is empty".into(), None));
                None
            } else {
                let dir = file.parent().unwrap_or(Path::new("."));
                let path = dir.join(p);
                let language = match language {
                    Written::Is(l) => Some(l),
                    Written::Wrong => None,
                    Written::Absent => match crate::project::infer_language(&path) {
                        Ok(l) => Some(l),
                        Err(m) => {
                            errors.push((line, m, Some("program is relative to the walkthrough file; write language = \"python\" or \"rust\" when it cannot be told".into())));
                            None
                        }
                    },
                };
                language.map(|language| {
                    let bin = bin.map(|(b, _)| b.to_owned());
                    Chosen {
                        scenario: bin.clone().unwrap_or_else(|| short_name(&path)),
                        language,
                        program: Some(ProgramSpec { path, bin }),
                        line,
                    }
                })
            }
        }
    };
    match chosen {
        Some(c) if errors.is_empty() => Ok(c),
        _ => Err(errors),
    }
}

/// A track's name as a `language` key writes it.
pub(super) fn parse_language(s: &str) -> Option<Language> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/own-program")
            .join(name)
    }

    #[test]
    fn a_program_by_path_is_joined_to_the_walkthrough_s_folder_and_its_language_inferred() {
        let file = fixture("walk.toml");
        let c = choose(
            &file,
            None,
            Some(("force_deadlock.py", 3)),
            None,
            Written::Absent,
        )
        .expect("a program");
        assert_eq!(c.language, Language::Python);
        assert_eq!(c.scenario, "force_deadlock");
        assert_eq!(c.line, 3);
        assert_eq!(
            c.program,
            Some(ProgramSpec {
                path: fixture("force_deadlock.py"),
                bin: None
            })
        );
    }

    #[test]
    fn a_scenario_keeps_its_line_and_needs_its_language() {
        let file = Path::new("walkthroughs/rust/x.toml");
        let c = choose(
            file,
            Some(("no_deadlock", 2)),
            None,
            None,
            Written::Is(Language::Rust),
        )
        .expect("a scenario");
        assert_eq!(
            (c.scenario.as_str(), c.line, c.program),
            ("no_deadlock", 2, None)
        );
        let e = choose(file, Some(("no_deadlock", 2)), None, None, Written::Absent)
            .expect_err("no language");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, 2);
        assert!(e[0].1.contains("needs language"), "{e:?}");
        // A language already reported as wrong is not reported again.
        let e = choose(file, Some(("no_deadlock", 2)), None, None, Written::Wrong)
            .expect_err("no language");
        assert_eq!(e, Vec::new());
    }

    #[test]
    fn every_mistake_of_the_program_keys_is_said_at_its_line() {
        let file = Path::new("walkthroughs/rust/x.toml");
        let e = choose(
            file,
            Some(("no_deadlock", 2)),
            Some(("x.py", 3)),
            None,
            Written::Absent,
        )
        .expect_err("both");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, 3);
        assert!(e[0].1.contains("scenario or program, not both"), "{e:?}");
        let e = choose(
            file,
            Some(("/path/force_deadlock.py", 2)),
            None,
            Some(("main", 4)),
            Written::Absent,
        )
        .expect_err("three mistakes");
        let lines: Vec<usize> = e.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(lines, vec![4, 2, 2], "{e:?}");
        assert!(e[1]
            .2
            .as_deref()
            .is_some_and(|h| h.contains("program = \"PATH\"")));
        let e = choose(file, None, None, None, Written::Absent).expect_err("none");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].1.starts_with("no program: write program = \"PATH\""),
            "{e:?}"
        );
    }
}
