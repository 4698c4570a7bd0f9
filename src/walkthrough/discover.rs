//! Finding walkthrough files and loading them all at once, every error of every file.

use super::{load, prepare, LoadError, Prepared};
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
        if r.is_dir() {
            walk(&r, &mut out).map_err(|e| format!("{}: {e}", r.display()))?;
        } else if r.is_file() {
            out.push(r);
        } else {
            return Err(format!(
                "{}: no such walkthrough file or folder",
                r.display()
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Loads and resolves every file; all errors at once, each with file:line.
pub fn load_all(project: &Project, files: &[PathBuf]) -> Result<Vec<Prepared>, Vec<LoadError>> {
    let mut ok = Vec::new();
    let mut errs = Vec::new();
    for f in files {
        match load(f).and_then(|w| prepare(project, w)) {
            Ok(p) => ok.push(p),
            Err(e) => errs.push(e),
        }
    }
    if errs.is_empty() {
        Ok(ok)
    } else {
        Err(errs)
    }
}
