//! Programs that are not the project's scenarios, named by path in a walkthrough
//! (`program = "force_deadlock.py"`): a Python script, a cargo package (or one binary of it,
//! `bin = "NAME"`), or an executable already built. What each one runs, where its markers are,
//! and how it is built; nothing here writes into the program's folder but what cargo itself
//! writes there (a `Cargo.lock` when the package has none): the build goes to dapwalk's cache.

use crate::adapters::Language;
use std::path::{Path, PathBuf};

/// A program named by path, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnProgram {
    pub kind: OwnKind,
    pub language: Language,
    /// A short name for reports: the script's stem, the binary's name.
    pub name: String,
    /// The folder the program runs in, and where `file:` patterns resolve: the script's
    /// folder, the package's, the executable's.
    pub root: PathBuf,
    /// The program's main source (the script, the binary's `main.rs`); the executable itself
    /// when its sources are unknown.
    pub source: PathBuf,
    /// What the adapter launches: the script, or the built executable.
    pub launch: PathBuf,
    /// The files whose `@bp` markers a walkthrough may name.
    pub marker_files: Vec<PathBuf>,
}

/// What kind of program a path names.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnKind {
    Script,
    /// A cargo package, built with `cargo build --bin NAME` into `target_dir`.
    Cargo {
        manifest: PathBuf,
        bin: String,
        target_dir: PathBuf,
    },
    Executable,
}

/// The first bytes of an ELF file.
const ELF_MAGIC: &[u8] = b"\x7fELF";

/// The track a program's path implies: `.py` is Python; a folder with `Cargo.toml`, a
/// `Cargo.toml` or an ELF executable is the native track (lldb-dap, CodeLLDB).
pub fn infer_language(path: &Path) -> Result<Language, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("program {}: {e}", path.display()))?;
    if meta.is_dir() {
        return if path.join("Cargo.toml").is_file() {
            Ok(Language::Rust)
        } else {
            Err(format!(
                "program {}: a folder without Cargo.toml (name a script, a cargo package or an executable)",
                path.display()
            ))
        };
    }
    if path.extension().is_some_and(|e| e == "py") {
        return Ok(Language::Python);
    }
    if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        return Ok(Language::Rust);
    }
    let mut head = [0u8; 4];
    let is_elf = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && head == ELF_MAGIC;
    if is_elf {
        Ok(Language::Rust)
    } else {
        Err(format!(
            "program {}: cannot tell its language (not .py, not a cargo package, not an ELF executable)",
            path.display()
        ))
    }
}

/// Resolves a program path (absolute, or already joined to the walkthrough's folder).
pub fn resolve(path: &Path, bin: Option<&str>, language: Language) -> Result<OwnProgram, String> {
    let path = path
        .canonicalize()
        .map_err(|e| format!("program {}: {e}", path.display()))?;
    let package = if path.is_dir() {
        Some(path.clone())
    } else if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        path.parent().map(Path::to_path_buf)
    } else {
        None
    };
    if let Some(dir) = package {
        return cargo_package(&dir, bin);
    }
    if bin.is_some() {
        return Err(format!(
            "bin names a binary of a cargo package; program {} is a file",
            path.display()
        ));
    }
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match language {
        Language::Python => Ok(OwnProgram {
            kind: OwnKind::Script,
            language,
            name,
            marker_files: python_files(&root, &path),
            source: path.clone(),
            launch: path,
            root,
        }),
        Language::Rust => {
            // An executable under a package's target/ has that package's sources.
            let sources = path
                .ancestors()
                .find(|a| a.file_name().is_some_and(|n| n == "target"))
                .and_then(Path::parent)
                .filter(|p| p.join("Cargo.toml").is_file())
                .map(|p| rust_files(&p.join("src")))
                .unwrap_or_default();
            Ok(OwnProgram {
                kind: OwnKind::Executable,
                language,
                name,
                marker_files: sources,
                source: path.clone(),
                launch: path,
                root,
            })
        }
    }
}

fn cargo_package(dir: &Path, bin: Option<&str>) -> Result<OwnProgram, String> {
    let manifest = dir.join("Cargo.toml");
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .map_err(|e| {
            format!(
                "cargo package {}: {}",
                dir.display(),
                first_line(&e.to_string())
            )
        })?;
    let package = meta
        .packages
        .iter()
        .find(|p| p.manifest_path.as_std_path() == manifest)
        .ok_or_else(|| {
            format!(
                "{}: no [package] (a workspace? name one of its packages)",
                manifest.display()
            )
        })?;
    let bins: Vec<&cargo_metadata::Target> =
        package.targets.iter().filter(|t| t.is_bin()).collect();
    let names: Vec<&str> = bins.iter().map(|t| t.name.as_str()).collect();
    let chosen = match (bin, bins.as_slice()) {
        (Some(b), _) => bins.iter().find(|t| t.name == b).ok_or_else(|| {
            format!(
                "package {} has no binary {b:?}; its binaries: {}",
                package.name,
                names.join(", ")
            )
        })?,
        (None, [one]) => one,
        (None, []) => return Err(format!("package {} has no binary to run", package.name)),
        (None, _) => {
            return Err(format!(
                "package {} has several binaries ({}): say which with bin = \"NAME\"",
                package.name,
                names.join(", ")
            ))
        }
    };
    let target_dir = target_dir_for(dir);
    Ok(OwnProgram {
        language: Language::Rust,
        name: chosen.name.clone(),
        source: chosen.src_path.clone().into_std_path_buf(),
        launch: target_dir.join("debug").join(&chosen.name),
        marker_files: rust_files(&dir.join("src")),
        root: dir.to_path_buf(),
        kind: OwnKind::Cargo {
            manifest,
            bin: chosen.name.clone(),
            target_dir,
        },
    })
}

/// Where a package outside the project is built: `CARGO_TARGET_DIR` when the user set one,
/// else a folder of dapwalk's cache named after the package's path, so that nothing but
/// cargo's `Cargo.lock` lands in the user's folder.
pub fn target_dir_for(package: &Path) -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        return PathBuf::from(t);
    }
    super::cache_dir()
        .join("cargo-target")
        .join(path_key(package))
}

/// A file name that stands for a path: its last component and a hash of the whole.
pub fn path_key(path: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut h);
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{stem}-{:016x}", h.finish())
}

/// Builds a program that needs it (a cargo package), saying so on stderr.
pub fn build(p: &OwnProgram) -> Result<(), String> {
    let OwnKind::Cargo {
        manifest,
        bin,
        target_dir,
    } = &p.kind
    else {
        return Ok(());
    };
    let mut cmd = std::process::Command::new(super::cargo());
    cmd.args(["build", "--bin", bin, "--manifest-path"])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(&p.root);
    super::run_build(cmd, &format!("{bin} ({})", p.root.display()))
}

/// The `.py` files of a script's folder and its subfolders (not hidden ones, virtual
/// environments or caches), the script first: a program's markers may sit in its modules.
fn python_files(root: &Path, script: &Path) -> Vec<PathBuf> {
    let mut files = vec![script.to_path_buf()];
    files.extend(
        source_files(root, "py", 3)
            .into_iter()
            .filter(|f| f != script),
    );
    files
}

fn rust_files(src: &Path) -> Vec<PathBuf> {
    source_files(src, "rs", 8)
}

/// At most this many files are scanned for markers: a script in a home folder must not
/// make dapwalk read the whole disk.
const MAX_SOURCE_FILES: usize = 500;

fn source_files(dir: &Path, ext: &str, depth: usize) -> Vec<PathBuf> {
    let skip = |e: &walkdir::DirEntry| {
        let n = e.file_name().to_string_lossy();
        e.depth() > 0
            && e.file_type().is_dir()
            && (n.starts_with('.')
                || n == "__pycache__"
                || n == "target"
                || n == "node_modules"
                || n == "venv")
    };
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .max_depth(depth)
        .into_iter()
        .filter_entry(|e| !skip(e))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == ext))
        .map(|e| e.into_path())
        .take(MAX_SOURCE_FILES)
        .collect();
    files.sort();
    files
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dapwalk-own-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    #[test]
    fn the_language_follows_the_path() {
        let d = scratch("lang");
        std::fs::write(d.join("a.py"), "print(1)\n").expect("write");
        std::fs::write(d.join("notes.txt"), "hello").expect("write");
        assert_eq!(infer_language(&d.join("a.py")), Ok(Language::Python));
        let e = infer_language(&d.join("notes.txt")).expect_err("text");
        assert!(e.contains("cannot tell its language"), "{e}");
        let e = infer_language(&d).expect_err("a bare folder");
        assert!(e.contains("without Cargo.toml"), "{e}");
        std::fs::write(d.join("Cargo.toml"), "[package]\nname = \"x\"\n").expect("write");
        assert_eq!(infer_language(&d), Ok(Language::Rust));
        assert_eq!(
            infer_language(Path::new("/proc/self/exe")),
            Ok(Language::Rust)
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_script_runs_in_its_folder_with_its_modules_markers() {
        let d = scratch("script");
        std::fs::create_dir_all(d.join("lib")).expect("mkdir");
        std::fs::create_dir_all(d.join(".venv/lib")).expect("mkdir");
        std::fs::write(d.join("main.py"), "import lib.forks\n").expect("write");
        std::fs::write(d.join("lib/forks.py"), "x = 1  # @bp x\n").expect("write");
        std::fs::write(d.join(".venv/lib/site.py"), "y = 1  # @bp y\n").expect("write");
        let p = resolve(&d.join("main.py"), None, Language::Python).expect("resolves");
        let d = d.canonicalize().expect("canonical");
        assert_eq!(p.root, d);
        assert_eq!(p.name, "main");
        assert_eq!(
            p.marker_files,
            vec![d.join("main.py"), d.join("lib/forks.py")]
        );
        let e = resolve(&d.join("main.py"), Some("x"), Language::Python).expect_err("bin");
        assert!(e.contains("bin names a binary"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
