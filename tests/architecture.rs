//! The layering of `src/` (docs/ARCHITECTURE.md), checked: each layer imports only the
//! layers before it in [`LAYERS`], so there is no import cycle and nothing imports the CLI.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bottom first. A module may use `crate::X` only for an X listed before it.
const LAYERS: &[&str] = &[
    "dap",
    "os",
    "adapters",
    "session",
    "project",
    "walkthrough",
    "checks",
    "engine",
    "spectrum",
    "store",
    "output",
    "editor",
    "present",
    "coach",
    "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The layer a file of `src/` belongs to: its top folder, or its own name.
fn layer_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src/");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// Every `crate::NAME` a file mentions, comments included: a doc link upwards is a sign
/// of a dependency upwards too.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn every_layer_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for f in &files {
        let layer = layer_of(&src, f);
        if layer == "lib" || layer == "main" {
            continue;
        }
        let Some(rank) = LAYERS.iter().position(|l| *l == layer) else {
            problems.push(format!(
                "{}: layer {layer:?} is not in LAYERS (docs/ARCHITECTURE.md)",
                f.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).expect("readable");
        for r in crate_refs(&text) {
            match LAYERS.iter().position(|l| *l == r) {
                Some(t) if t > rank => problems.push(format!(
                    "{}: layer {layer} uses crate::{r}, a layer above it",
                    f.display()
                )),
                Some(_) => {}
                None => problems.push(format!("{}: crate::{r} is no layer of LAYERS", f.display())),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_an_upward_import() {
    // The check itself must be able to fail: a reference upwards is found.
    let refs = crate_refs("use crate::cli::args::Cli; // and crate::dap::protocol");
    assert!(refs.contains("cli") && refs.contains("dap"));
    assert!(LAYERS.iter().position(|l| *l == "cli") > LAYERS.iter().position(|l| *l == "dap"));
}
