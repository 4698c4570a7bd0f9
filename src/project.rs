//! The one place that knows where a project's parts live: the Rust programs in
//! `scenarios/src/bin/`, the Python twins in `scenarios/python/`, the port's sources in
//! `scenarios/src/`, the built binaries in `target/debug/`, the walkthroughs in
//! `walkthroughs/`; and how to build the programs and find the Python that plays the Python
//! track.

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
        for dir in cwd.ancestors() {
            if dir.join("walkthroughs").is_dir() && dir.join("scenarios").is_dir() {
                return Ok(Project::new(dir));
            }
        }
        Err(ProjectError::NotFound(cwd))
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

    /// Builds the Rust programs (`cargo build -p scenarios --bins`).
    pub fn build_programs(&self) -> Result<(), String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "-p", "scenarios", "--bins"])
            .current_dir(&self.root)
            .status()
            .map_err(|e| format!("cannot run cargo to build the scenarios: {e} (install Rust with rustup, or pass --no-build)"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("building the scenarios failed ({status})"))
        }
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

/// A path relative to `root` when inside it, else as given.
pub fn display_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
