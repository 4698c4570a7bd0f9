//! Source markers: the stable names walkthroughs break on instead of line numbers.
//!
//! A marker is a comment on the line it names, `// @bp inner-submit` in Rust or
//! `# @bp inner-submit` in Python; one line may carry several. Markers in a program are
//! referred to by their bare name; markers in the Rust port (`scenarios/src/*.rs`, outside
//! `bin/`) by `port:<name>`.
//!
//! Files nobody may edit (the standard library, a program the walkthrough must not change) are
//! broken on by text instead: `stdlib:<module path>:<text>` in the Python that plays,
//! `file:<path>:<text>` in a file of the program's folder; either names the first line whose
//! text, indentation aside, begins with `<text>`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a walkthrough points: a marker in the scenario's own file or in the port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MarkerRef {
    Program(String),
    Port(String),
    /// `module path:text` in the Python standard library (see the module comment).
    Stdlib(String),
    /// `path:text` in a file of the program's folder (see the module comment).
    File(String),
}

impl MarkerRef {
    /// Parses `inner-submit` or `port:exit-flag-store`.
    pub fn parse(s: &str) -> Result<MarkerRef, String> {
        if let Some(spec) = s.strip_prefix("stdlib:") {
            return match stdlib_parts(spec) {
                Some(_) => Ok(MarkerRef::Stdlib(spec.to_owned())),
                None => Err(format!(
                    "{s:?} is not a stdlib reference: write stdlib:<module path ending in .py>:<the line's text>"
                )),
            };
        }
        if let Some(spec) = s.strip_prefix("file:") {
            return match file_parts(spec) {
                Some(_) => Ok(MarkerRef::File(spec.to_owned())),
                None => Err(format!(
                    "{s:?} is not a file reference: write file:<path in the program's folder>:<the line's text>"
                )),
            };
        }
        let (port, name) = match s.strip_prefix("port:") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if name.is_empty() || !name.chars().all(is_marker_char) {
            return Err(format!(
                "{s:?} is not a marker name (lowercase letters, digits and '-', optionally prefixed by 'port:')"
            ));
        }
        Ok(if port {
            MarkerRef::Port(name.to_owned())
        } else {
            MarkerRef::Program(name.to_owned())
        })
    }

    pub fn name(&self) -> &str {
        match self {
            MarkerRef::Program(n)
            | MarkerRef::Port(n)
            | MarkerRef::Stdlib(n)
            | MarkerRef::File(n) => n,
        }
    }
}

/// Splits a stdlib reference's spec into the module file and the line's text.
pub fn stdlib_parts(spec: &str) -> Option<(&str, &str)> {
    let i = spec.find(".py:")?;
    let (file, text) = (&spec[..i + 3], spec[i + 4..].trim());
    let relative = !file.starts_with('/') && !file.split('/').any(|c| c == "..");
    (relative && !text.is_empty()).then_some((file, text))
}

/// Splits a file reference's spec at its first `:` into a relative path and the line's text.
pub fn file_parts(spec: &str) -> Option<(&str, &str)> {
    let (file, text) = spec.split_once(':')?;
    let text = text.trim();
    let relative =
        !file.is_empty() && !file.starts_with('/') && !file.split('/').any(|c| c == "..");
    (relative && !text.is_empty()).then_some((file, text))
}

/// The first line (1-based) of `source` whose text, without indentation, begins with `text`.
pub fn find_pattern_line(source: &str, text: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| l.trim_start().starts_with(text))
        .map(|i| i + 1)
}

impl fmt::Display for MarkerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarkerRef::Program(n) => f.write_str(n),
            MarkerRef::Port(n) => write!(f, "port:{n}"),
            MarkerRef::Stdlib(n) => write!(f, "stdlib:{n}"),
            MarkerRef::File(n) => write!(f, "file:{n}"),
        }
    }
}

fn is_marker_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// A marker's place in a source file (1-based line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerSite {
    pub file: PathBuf,
    pub line: usize,
}

/// Every marker of one program and of the port, by reference.
#[derive(Debug, Clone, Default)]
pub struct MarkerIndex {
    sites: BTreeMap<MarkerRef, MarkerSite>,
    /// Markers written twice in the same scope: an error in the sources, reported when a
    /// walkthrough uses one.
    duplicates: BTreeMap<MarkerRef, Vec<MarkerSite>>,
}

impl MarkerIndex {
    /// Indexes the markers of `program` and, when given, of every `.rs` file directly in
    /// `port_dir`.
    pub fn build(program: &Path, port_dir: Option<&Path>) -> std::io::Result<MarkerIndex> {
        let mut index = MarkerIndex::default();
        index.add_file(program, false)?;
        if let Some(dir) = port_dir {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "rs"))
                .collect();
            files.sort();
            for f in files {
                index.add_file(&f, true)?;
            }
        }
        Ok(index)
    }

    /// Indexes the markers of every file of a program that is not one of the project's
    /// scenarios: all are referred to by their bare name.
    pub fn build_files(files: &[PathBuf]) -> std::io::Result<MarkerIndex> {
        let mut index = MarkerIndex::default();
        for f in files {
            index.add_file(f, false)?;
        }
        Ok(index)
    }

    fn add_file(&mut self, path: &Path, port: bool) -> std::io::Result<()> {
        let text = std::fs::read_to_string(path)?;
        for (name, line) in scan(&text) {
            let r = if port {
                MarkerRef::Port(name)
            } else {
                MarkerRef::Program(name)
            };
            let site = MarkerSite {
                file: path.to_path_buf(),
                line,
            };
            if let Some(first) = self.sites.get(&r) {
                self.duplicates
                    .entry(r)
                    .or_insert_with(|| vec![first.clone()])
                    .push(site);
            } else {
                self.sites.insert(r, site);
            }
        }
        Ok(())
    }

    /// Resolves a stdlib reference against the standard library folder `stdlib` (the one of
    /// the interpreter that will run the program) and adds it; other references pass.
    pub fn add_stdlib(&mut self, stdlib: &Path, r: &MarkerRef) -> Result<(), String> {
        let MarkerRef::Stdlib(spec) = r else {
            return Ok(());
        };
        let Some((file, text)) = stdlib_parts(spec) else {
            return Err(format!("{r} is not a stdlib reference"));
        };
        self.add_pattern(r, &stdlib.join(file), text)
    }

    /// Resolves a file reference against the program's folder `root` and adds it; other
    /// references pass.
    pub fn add_file_pattern(&mut self, root: &Path, r: &MarkerRef) -> Result<(), String> {
        let MarkerRef::File(spec) = r else {
            return Ok(());
        };
        let Some((file, text)) = file_parts(spec) else {
            return Err(format!("{r} is not a file reference"));
        };
        self.add_pattern(r, &root.join(file), text)
    }

    /// Adds `r` at the first line of `path` that begins with `text`.
    fn add_pattern(&mut self, r: &MarkerRef, path: &Path, text: &str) -> Result<(), String> {
        let source = std::fs::read_to_string(path)
            .map_err(|e| format!("{r}: cannot read {}: {e}", path.display()))?;
        let line = find_pattern_line(&source, text)
            .ok_or_else(|| format!("{r}: no line of {} begins with {text:?}", path.display()))?;
        self.sites.insert(
            r.clone(),
            MarkerSite {
                file: path.to_path_buf(),
                line,
            },
        );
        Ok(())
    }

    /// Resolves a reference, or says why it cannot be.
    pub fn resolve(&self, r: &MarkerRef) -> Result<&MarkerSite, String> {
        if let Some(sites) = self.duplicates.get(r) {
            let places: Vec<String> = sites
                .iter()
                .map(|s| format!("{}:{}", s.file.display(), s.line))
                .collect();
            return Err(format!(
                "marker {r} is written more than once: {}",
                places.join(", ")
            ));
        }
        self.sites.get(r).ok_or_else(|| {
            let known: Vec<String> = self
                .sites
                .keys()
                .filter(|k| {
                    matches!(
                        (k, r),
                        (MarkerRef::Port(_), MarkerRef::Port(_))
                            | (MarkerRef::Program(_), MarkerRef::Program(_))
                    )
                })
                .map(|k| k.to_string())
                .collect();
            if known.is_empty() {
                format!("no marker {r}; the program has none (no `@bp` comment)")
            } else {
                format!("no marker {r}; known: {}", known.join(", "))
            }
        })
    }

    /// The markers on a given source line, for naming where a thread stopped.
    pub fn at(&self, file: &Path, line: usize) -> Vec<&MarkerRef> {
        self.sites
            .iter()
            .filter(|(_, s)| s.line == line && same_file(&s.file, file))
            .map(|(r, _)| r)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&MarkerRef, &MarkerSite)> {
        self.sites.iter()
    }
}

/// Adapters report paths as they resolved them (absolute, sometimes through symlinks); the
/// index holds the paths it read. Compare canonical forms when both exist.
fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The 1-based line of marker `name` in a source text, if it is there.
pub fn marker_line(text: &str, name: &str) -> Option<usize> {
    scan(text)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, line)| line)
}

/// Every `@bp <name>` in a source text, with its 1-based line.
pub fn scan(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // Only comments carry markers; the comment starts at the first `//` or `#`.
        let comment = match (line.find("//"), line.find('#')) {
            (Some(a), Some(b)) => &line[a.min(b)..],
            (Some(a), None) | (None, Some(a)) => &line[a..],
            (None, None) => continue,
        };
        let mut rest = comment;
        while let Some(pos) = rest.find("@bp ") {
            rest = &rest[pos + 4..];
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| is_marker_char(*c))
                .collect();
            if !name.is_empty() {
                out.push((name, i + 1));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_one_or_several_markers_per_line() {
        let text = "fn a() {\n    let f = x.submit(); // @bp inner-submit\n}\nexecutor.submit(w)  # @bp outer-submit @bp main-end\n";
        assert_eq!(
            scan(text),
            vec![
                ("inner-submit".to_owned(), 2),
                ("outer-submit".to_owned(), 4),
                ("main-end".to_owned(), 4)
            ]
        );
    }

    #[test]
    fn finds_a_marker_by_its_whole_name() {
        let src = "fn main() {\n    let f = e.submit(pow, 5, 2); // @bp inner-submit\n}\n";
        assert_eq!(marker_line(src, "inner-submit"), Some(2));
        assert_eq!(marker_line(src, "inner"), None);
        assert_eq!(marker_line("x = 1  # @bp main-end\n", "main-end"), Some(1));
        assert_eq!(
            marker_line("f(); // @bp outer-submit @bp main-end\n", "main-end"),
            Some(1)
        );
    }

    #[test]
    fn ignores_markers_outside_comments() {
        assert!(scan("let s = \"@bp not-a-marker\";\n").is_empty());
    }

    #[test]
    fn parses_references() {
        assert_eq!(
            MarkerRef::parse("port:exit-flag-store"),
            Ok(MarkerRef::Port("exit-flag-store".into()))
        );
        assert!(MarkerRef::parse("Inner Submit").is_err());
        assert!(MarkerRef::parse("port:").is_err());
        assert_eq!(
            MarkerRef::parse("stdlib:concurrent/futures/thread.py:_shutdown = True"),
            Ok(MarkerRef::Stdlib(
                "concurrent/futures/thread.py:_shutdown = True".into()
            ))
        );
        assert!(MarkerRef::parse("stdlib:thread.py").is_err());
        assert!(MarkerRef::parse("stdlib:/usr/lib/x.py:a").is_err());
        assert_eq!(
            MarkerRef::parse("file:lib/forks.py:with fork_b:"),
            Ok(MarkerRef::File("lib/forks.py:with fork_b:".into()))
        );
        assert_eq!(
            file_parts("src/main.rs:let _b = b.lock();"),
            Some(("src/main.rs", "let _b = b.lock();"))
        );
        assert!(MarkerRef::parse("file:main.py").is_err());
        assert!(MarkerRef::parse("file:../x.py:a").is_err());
        assert!(MarkerRef::parse("file:/abs.py:a").is_err());
    }

    #[test]
    fn a_file_pattern_resolves_in_the_programs_folder() {
        let dir = std::env::temp_dir().join(format!("dapwalk-markers-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("lib")).expect("mkdir");
        std::fs::write(
            dir.join("lib/forks.py"),
            "def eat():\n    with fork_a:\n        with fork_b:\n            pass\n",
        )
        .expect("write");
        let mut index = MarkerIndex::default();
        let r = MarkerRef::parse("file:lib/forks.py:with fork_b:").expect("parses");
        index.add_file_pattern(&dir, &r).expect("resolves");
        assert_eq!(index.resolve(&r).map(|s| s.line), Ok(3));
        let missing = MarkerRef::parse("file:lib/forks.py:with fork_c:").expect("parses");
        let e = index
            .add_file_pattern(&dir, &missing)
            .expect_err("no such line");
        assert!(
            e.contains("no line of") && e.contains("with fork_c:"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_pattern_names_the_first_line_beginning_with_it() {
        let src = "x = 1\n        executor._shutdown = True\n    _shutdown = True\n    self._shutdown = True\n";
        assert_eq!(find_pattern_line(src, "_shutdown = True"), Some(3));
        assert_eq!(find_pattern_line(src, "self._shutdown = True"), Some(4));
        assert_eq!(find_pattern_line(src, "nowhere"), None);
    }
}
