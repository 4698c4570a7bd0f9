//! Finding walkthrough files and loading them all at once, every error of every file.

#[cfg(test)]
use super::load;
use super::{prepare_checked, read_partial, LoadError, Prepared};
use crate::project::Project;
use std::path::{Path, PathBuf};

/// Every walkthrough file named by `paths` (files, or folders searched recursively);
/// default: the project's `walkthroughs/`.
pub fn collect(project: &Project, paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let roots = if paths.is_empty() {
        vec![project.walkthroughs_dir()]
    } else {
        paths.to_vec()
    };
    let mut out = Vec::new();
    for r in roots {
        match std::fs::metadata(&r) {
            Ok(m) if m.is_dir() => walk(&r, &mut out)?,
            Ok(m) if m.is_file() => out.push(r),
            Ok(_) => {
                return Err(format!(
                    "{}: not a walkthrough file (a named pipe or a device?)",
                    r.display()
                ))
            }
            Err(_) => {
                return Err(format!(
                    "{}: no such walkthrough file or folder",
                    r.display()
                ))
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Every regular `*.toml` file below `dir`. The type is the entry's own (symbolic links
/// are followed, with loops detected by walkdir): a named pipe called `x.toml` would block
/// the read that loads it forever, so anything but a file is passed over.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    // A folder of a user's own program also holds cargo's and Python's TOML files and
    // build output: none of them is a walkthrough.
    let not_walkthroughs = |e: &walkdir::DirEntry| {
        let n = e.file_name().to_string_lossy();
        e.depth() > 0
            && ((e.file_type().is_dir() && (n == "target" || n.starts_with('.')))
                || matches!(n.as_ref(), "Cargo.toml" | "pyproject.toml"))
    };
    for e in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| !not_walkthroughs(e))
    {
        let e = e.map_err(|e| match e.path() {
            Some(p) => format!("{}: {e}", p.display()),
            None => format!("{}: {e}", dir.display()),
        })?;
        if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "toml") {
            out.push(e.into_path());
        }
    }
    Ok(())
}

/// Loads and resolves every file; all errors at once, each with file:line.
pub fn load_all(project: &Project, files: &[PathBuf]) -> Result<Vec<Prepared>, Vec<LoadError>> {
    let (ok, bad) = load_each(project, files);
    if bad.is_empty() {
        Ok(ok)
    } else {
        Err(bad.into_iter().flat_map(|b| b.errors).collect())
    }
}

/// Loads and resolves every file: the walkthroughs that are ready to play, and every error
/// of the others (a file with an error is not played, the good ones still are). A file that
/// parses only in part is still checked against its sources, so that one run shows its
/// marker errors beside its syntax ones.
pub fn load_each(project: &Project, files: &[PathBuf]) -> (Vec<Prepared>, Vec<BadFile>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for f in files {
        let (w, mut found) = read_partial(f);
        match w.map(|w| prepare_checked(project, w)) {
            Some(Ok(p)) if found.is_empty() => ok.push(p),
            Some(Ok(_)) | None => {}
            Some(Err(more)) => found.extend(more),
        }
        if !found.is_empty() {
            found.sort_by_key(|e| e.line);
            bad.push(BadFile {
                path: f.clone(),
                errors: found,
            });
        }
    }
    (ok, bad)
}

/// A walkthrough file that cannot be played, with every error found in it (at least one).
#[derive(Debug, Clone, PartialEq)]
pub struct BadFile {
    pub path: PathBuf,
    pub errors: Vec<LoadError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_pipe_called_toml_is_passed_over_and_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("dapwalk-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        std::fs::write(dir.join("sub/a.toml"), "").expect("write");
        let fifo = dir.join("sub/pipe.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        let project = Project::new(dir.clone());
        let found = collect(&project, std::slice::from_ref(&dir)).expect("walks");
        assert_eq!(found, vec![dir.join("sub/a.toml")]);
        let e = collect(&project, std::slice::from_ref(&fifo)).expect_err("a pipe");
        assert!(e.contains("not a walkthrough file"), "{e}");
        let e = load(&fifo).expect_err("a pipe is not read");
        assert!(e.message.contains("not a regular file"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
