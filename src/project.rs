//! The one place that knows where a project's parts live: the Rust programs in
//! `scenarios/src/bin/`, the Python twins in `scenarios/python/`, the port's sources in
//! `scenarios/src/`, the built binaries in `target/debug/`, the walkthroughs in
//! `walkthroughs/`; and how to build the programs and find the Python that plays the Python
//! track.

mod own;

pub use own::build as build_own;
pub use own::{infer_language, resolve as own_program, target_dir_for, OwnKind, OwnProgram};

use crate::adapters::{debugpy, Dialect, Language};
use std::path::{Path, PathBuf};

/// Where the project's parts live.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// The Python that runs the Python track (`--python`); default: the project's `.venv`,
    /// else `python3`. Its standard library resolves `stdlib:` markers.
    pub python: Option<PathBuf>,
}

/// Why no project was found.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("no current folder: {0}")]
    NoCurrentDir(std::io::Error),
    #[error("no project here: neither {} nor a parent holds walkthroughs/ and scenarios/ (use --project DIR)", .0.display())]
    NotFound(PathBuf),
}

impl Project {
    pub fn new(root: impl Into<PathBuf>) -> Project {
        Project {
            root: root.into(),
            python: None,
        }
    }

    /// The project named by `explicit`, else the current folder or the nearest parent that
    /// holds `walkthroughs/` and `scenarios/`.
    pub fn find(explicit: Option<&Path>) -> Result<Project, ProjectError> {
        if let Some(p) = explicit {
            return Ok(Project::new(p));
        }
        let cwd = std::env::current_dir().map_err(ProjectError::NoCurrentDir)?;
        Self::enclosing(&cwd).ok_or(ProjectError::NotFound(cwd))
    }

    /// The project around `cwd`, else the current folder standing in for one: walkthroughs
    /// of programs named by path (`program = "..."`) need no project.
    pub fn find_or_here(explicit: Option<&Path>) -> Result<Project, ProjectError> {
        match Self::find(explicit) {
            Err(ProjectError::NotFound(cwd)) => Ok(Project::new(cwd)),
            other => other,
        }
    }

    /// The nearest folder at or above `path` that holds `walkthroughs/` and `scenarios/`.
    pub fn enclosing(path: &Path) -> Option<Project> {
        path.ancestors()
            .find(|d| Self::is_project_dir(d))
            .map(Project::new)
    }

    fn is_project_dir(dir: &Path) -> bool {
        dir.join("walkthroughs").is_dir() && dir.join("scenarios").is_dir()
    }

    /// Whether this folder is a project (holds `walkthroughs/` and `scenarios/`), not a
    /// folder standing in for one.
    pub fn is_project(&self) -> bool {
        Self::is_project_dir(&self.root)
    }

    /// The project whose scenarios a walkthrough file names: the one around the file, else
    /// this one; the Python chosen for the run is kept.
    pub fn for_walkthrough(&self, file: &Path) -> Project {
        // The folders around the file as it was named come first: a project whose
        // `walkthroughs/` is a link to another's is still the project it was named in.
        let named = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let enclosing = Self::enclosing(&named).or_else(|| {
            let real = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
            Self::enclosing(&real)
        });
        match enclosing {
            Some(p) if p.root.canonicalize().ok() != self.root.canonicalize().ok() => {
                p.with_python(self.python.clone())
            }
            _ => self.clone(),
        }
    }

    /// The same project played with another Python.
    pub fn with_python(mut self, python: Option<PathBuf>) -> Project {
        self.python = python;
        self
    }

    /// A program's source relative to the project (`scenarios/src/bin/NAME.rs`,
    /// `scenarios/python/NAME.py`), as shown to people.
    pub fn program_source_rel(language: Language, scenario: &str) -> String {
        match language {
            Language::Rust => format!("{}/{scenario}.rs", Self::programs_dir_rel(language)),
            Language::Python => format!("{}/{scenario}.py", Self::programs_dir_rel(language)),
        }
    }

    /// The folder holding one program per file for a track, relative to the project.
    pub fn programs_dir_rel(language: Language) -> &'static str {
        match language {
            Language::Rust => "scenarios/src/bin",
            Language::Python => "scenarios/python",
        }
    }

    /// The source file extension of a track's programs.
    pub fn program_extension(language: Language) -> &'static str {
        match language {
            Language::Rust => "rs",
            Language::Python => "py",
        }
    }

    /// The source file of a program: a Rust binary or a Python twin.
    pub fn program_source(&self, language: Language, scenario: &str) -> PathBuf {
        self.root.join(Self::program_source_rel(language, scenario))
    }

    /// The Rust port's sources, home of the `port:` markers.
    pub fn port_dir(&self) -> PathBuf {
        self.root.join("scenarios/src")
    }

    /// What the adapter launches: the built binary, or the twin's script.
    pub fn launch_program(&self, language: Language, scenario: &str) -> PathBuf {
        match language {
            Language::Rust => self.root.join("target/debug").join(scenario),
            Language::Python => self.program_source(language, scenario),
        }
    }

    pub fn walkthroughs_dir(&self) -> PathBuf {
        self.root.join("walkthroughs")
    }

    /// Builds the Rust programs (`cargo build -p scenarios --bins`), saying so on stderr.
    pub fn build_programs(&self) -> Result<(), String> {
        let mut cmd = std::process::Command::new(cargo());
        cmd.args(["build", "-p", "scenarios", "--bins"])
            .current_dir(&self.root);
        run_build(cmd, &format!("the scenarios of {}", self.root.display()))
    }

    /// The Python that plays the Python track: `--python`, else the one debugpy's dialect
    /// finds for this project.
    pub fn python(&self) -> Result<PathBuf, String> {
        match &self.python {
            Some(p) => Ok(p.clone()),
            None => debugpy::DEBUGPY
                .discover(None, &self.root)
                .map(|a| a.program)
                .map_err(|e| format!("cannot resolve stdlib markers: {e}")),
        }
    }

    /// The standard library of the Python that plays, for `stdlib:` markers.
    pub fn python_stdlib(&self) -> Result<PathBuf, String> {
        debugpy::stdlib_dir(&self.python()?)
    }

    /// A path as shown to people: relative to the project when inside it.
    pub fn display(&self, path: &Path) -> String {
        display_path(path, &self.root)
    }
}

/// Where dapwalk keeps what it remembers between runs (each walkthrough's last run): under
/// the build folder `target/`, which git ignores and `cargo clean` empties, so nothing lands
/// among the user's own files.
pub fn last_runs_dir(root: &Path) -> PathBuf {
    root.join("target/dapwalk/last-run")
}

/// The file that keeps a walkthrough's last run: under the project's `target/` for the
/// project's own walkthroughs, else in dapwalk's cache ([`cache_dir`]), named after the
/// walkthrough's path: a walkthrough beside a user's program writes nothing beside it.
pub fn last_run_file(root: &Path, walkthrough: &Path) -> PathBuf {
    let walkthrough =
        &std::path::absolute(walkthrough).unwrap_or_else(|_| walkthrough.to_path_buf());
    let root = &std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let inside = Project::is_project_dir(root)
        .then(|| walkthrough.strip_prefix(root).ok())
        .flatten();
    match inside {
        Some(rel) => last_runs_dir(root).join(format!("{}.json", flat_name(rel))),
        None => {
            let abs = walkthrough
                .canonicalize()
                .unwrap_or_else(|_| walkthrough.to_path_buf());
            cache_dir()
                .join("last-run")
                .join(format!("{}.json", own::path_key(&abs)))
        }
    }
}

/// A relative path as one file name: separators become `_`.
fn flat_name(rel: &Path) -> String {
    rel.to_string_lossy()
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect()
}

/// dapwalk's own cache, for what belongs to no project: `$XDG_CACHE_HOME/dapwalk`, else
/// `~/.cache/dapwalk`, else a folder of the system's temporary folder.
pub fn cache_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(x) = env("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return x.join("dapwalk");
    }
    if let Some(home) = env("HOME") {
        return home.join(".cache/dapwalk");
    }
    std::env::temp_dir().join("dapwalk-cache")
}

/// The cargo that builds: the one running us under `cargo run`/`cargo test`, else PATH's.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs a `cargo build`, telling the person what is being built: on a terminal a progress
/// line that names each crate as it is compiled (and is cleared after), otherwise one line
/// `dapwalk: building X…`. Compiler messages still reach stderr as cargo renders them.
fn run_build(mut cmd: std::process::Command, what: &str) -> Result<(), String> {
    use std::io::{BufRead, IsTerminal};
    cmd.args(["--quiet", "--message-format=json-render-diagnostics"])
        .stdout(std::process::Stdio::piped());
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message(format!("building {what}…"));
        Some(bar)
    } else {
        eprintln!("dapwalk: building {what}…");
        None
    };
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot run cargo to build {what}: {e} (install Rust with rustup, or pass --no-build)"
        )
    })?;
    let mut compiled = 0usize;
    if let Some(out) = child.stdout.take() {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let Ok(cargo_metadata::Message::CompilerArtifact(a)) =
                serde_json::from_str::<cargo_metadata::Message>(&line)
            else {
                continue;
            };
            compiled += 1;
            if let Some(bar) = &bar {
                bar.set_message(format!(
                    "building {what}: {compiled} built, last {}",
                    a.target.name
                ));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cargo building {what}: {e}"))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "building {what} failed ({status}); cargo's messages are above"
        ))
    }
}

/// A path relative to `root` when inside it, else as given.
pub fn display_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
