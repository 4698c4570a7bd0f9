//! A first walkthrough for a program of one's own (`dapwalk new`): where to stop (the
//! program's markers or, without any, the first line of each of its functions), one step per
//! stop, and the end as one real run showed it. Pure: the caller finds the program, runs it
//! and writes the text.

use super::markers::{find_pattern_line, scan};
use super::Language;
use std::fmt::Write;
use std::path::Path;

/// Where a draft stops: a marker, or a text pattern on a function's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftStop {
    /// The reference a walkthrough writes: `inner-submit` or `file:main.py:f = x()`.
    pub reference: String,
    /// What the stop is, for its title: the marker's or the function's name.
    pub what: String,
    /// The file (as shown to people) and the line.
    pub file: String,
    pub line: usize,
}

/// How the program ended when it was run once without a debugger.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservedRun {
    Exit {
        code: i64,
        stdout: String,
    },
    /// Every thread blocked for good after `after_secs`: a deadlock.
    Hang {
        after_secs: f64,
    },
    /// Still running after `after_secs`, not every thread blocked (a long sleep, a loop).
    StillRunning {
        after_secs: f64,
    },
    /// Killed by a signal, or it could not be run at all.
    Other {
        what: String,
    },
}

/// Everything the draft says.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    /// The program's short name (`force_deadlock.py`, the binary's name).
    pub name: &'a str,
    /// `program = "..."` as written: relative to the walkthrough file.
    pub program: &'a str,
    pub bin: Option<&'a str>,
    pub language: Language,
    pub stops: &'a [DraftStop],
    /// Functions passed over, with why (their first line's text appears earlier).
    pub skipped: &'a [String],
    pub end: &'a ObservedRun,
    /// The walkthrough file's name, for the comment that says how to play it.
    pub file_name: &'a str,
}

/// The stops a program's markers name: one per marked line (the first marker of a line),
/// in file order. `files` are (shown name, text).
pub fn marker_stops(files: &[(String, String)]) -> Vec<DraftStop> {
    let mut out = Vec::new();
    for (shown, text) in files {
        let mut last_line = 0;
        for (name, line) in scan(text) {
            if line == last_line {
                continue;
            }
            last_line = line;
            out.push(DraftStop {
                reference: name.clone(),
                what: name,
                file: shown.clone(),
                line,
            });
        }
    }
    out
}

/// Without markers: a stop on the first statement of each function (`def` in Python, `fn`
/// in Rust), as a `file:` pattern; `main` first on the Rust track (it runs first). A function
/// whose first line's text appears earlier in its file cannot be named by text and is
/// returned among the skipped.
pub fn function_stops(
    language: Language,
    files: &[(String, String)],
) -> (Vec<DraftStop>, Vec<String>) {
    let mut stops = Vec::new();
    let mut skipped = Vec::new();
    for (shown, text) in files {
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let Some(name) = function_name(language, l) else {
                continue;
            };
            let Some(body) = first_statement(language, &lines, i) else {
                continue;
            };
            let pattern = lines[body].trim();
            if find_pattern_line(text, pattern) != Some(body + 1) {
                skipped.push(format!(
                    "{name} ({shown}:{}): its first line's text appears earlier in the file; mark it with `{} @bp NAME`",
                    body + 1,
                    comment(language)
                ));
                continue;
            }
            stops.push(DraftStop {
                reference: format!("file:{shown}:{pattern}"),
                what: name,
                file: shown.clone(),
                line: body + 1,
            });
        }
    }
    if language == Language::Rust {
        if let Some(i) = stops.iter().position(|s| s.what == "main") {
            let main = stops.remove(i);
            stops.insert(0, main);
        }
    }
    (stops, skipped)
}

fn comment(language: Language) -> &'static str {
    match language {
        Language::Rust => "//",
        Language::Python => "#",
    }
}

/// The function a line defines, if it does.
fn function_name(language: Language, line: &str) -> Option<String> {
    let t = line.trim_start();
    let rest = match language {
        Language::Python => t
            .strip_prefix("async def ")
            .or_else(|| t.strip_prefix("def "))?,
        Language::Rust => {
            let mut r = t;
            for q in [
                "pub(crate) ",
                "pub ",
                "const ",
                "async ",
                "unsafe ",
                "extern \"C\" ",
            ] {
                r = r.strip_prefix(q).unwrap_or(r);
            }
            r.strip_prefix("fn ")?
        }
    };
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The index of the first statement of the function defined at `def`: the first line after
/// its header that is not blank, a comment or (in Python) a docstring.
fn first_statement(language: Language, lines: &[&str], def: usize) -> Option<usize> {
    let mut i = def;
    // The header may span lines: up to the `:` (Python) or `{` (Rust) that ends it.
    let opener = match language {
        Language::Python => ':',
        Language::Rust => '{',
    };
    while !lines.get(i)?.trim_end().ends_with(opener) {
        if language == Language::Rust && lines[i].trim_end().ends_with(';') {
            return None; // a declaration without a body
        }
        i += 1;
    }
    let mut in_docstring: Option<&str> = None;
    for (j, l) in lines.iter().enumerate().skip(i + 1) {
        let t = l.trim();
        if let Some(q) = in_docstring {
            if t.contains(q) {
                in_docstring = None;
            }
            continue;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        if language == Language::Python {
            if let Some(q) = ["\"\"\"", "'''"].into_iter().find(|q| t.starts_with(q)) {
                if !(t.len() > 3 && t[3..].contains(q)) {
                    in_docstring = Some(q);
                }
                continue;
            }
        }
        if t == "}" || t.starts_with("} ") {
            return None; // an empty body
        }
        return Some(j);
    }
    None
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The walkthrough text.
pub fn render(d: &Draft) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# A first walkthrough of {}, written by `dapwalk new`: a draft to edit.",
        d.name
    );
    let _ = writeln!(s, "# Play it with: dapwalk run {}", d.file_name);
    s.push_str(
        "#\n\
         # What to edit: the title and intro; each step's title and `say` (what the learner\n\
         # should notice); what the debugger must show at each stop (expect.stacks, [[watch]]\n\
         # values, `evaluate` with expect.evaluate); remove the stops you do not need. Breakpoints\n\
         # name markers (a comment `@bp NAME` on the line) or text (file:PATH:TEXT, the first\n\
         # line that begins with TEXT); never line numbers. The README's \"Walkthroughs for your\n\
         # own code\" lists every key.\n\n",
    );
    let _ = writeln!(
        s,
        "title = {}",
        quoted(&format!("What {} does under a debugger", d.name))
    );
    let _ = writeln!(s, "program = {}", quoted(d.program));
    if let Some(b) = d.bin {
        let _ = writeln!(s, "bin = {}", quoted(b));
    }
    let _ = writeln!(
        s,
        "# language = {}  (inferred from the program)",
        quoted(d.language.as_str())
    );
    s.push_str(
        "intro = \"\"\"\nWhat this walkthrough shows, in a sentence or two. (Edit me.)\n\"\"\"\n",
    );
    if !d.skipped.is_empty() {
        s.push_str("\n# Passed over:\n");
        for k in d.skipped {
            let _ = writeln!(s, "#   {k}");
        }
    }
    let refs: Vec<String> = d.stops.iter().map(|st| quoted(&st.reference)).collect();
    for (i, st) in d.stops.iter().enumerate() {
        s.push_str("\n[[step]]\n");
        let _ = writeln!(s, "title = {}", quoted(&format!("Stop at {}", st.what)));
        let _ = writeln!(
            s,
            "say = {}",
            quoted(&format!(
                "The program reaches {}:{}. (Say what to look at.)",
                st.file, st.line
            ))
        );
        if i == 0 {
            let _ = writeln!(s, "break = [{}]", refs.join(", "));
        } else {
            s.push_str("do = \"continue\"\n");
        }
        let _ = writeln!(
            s,
            "expect.stopped = {{ reason = \"breakpoint\", at = {} }}",
            quoted(&st.reference)
        );
    }
    s.push_str("\n[[step]]\n");
    if d.stops.is_empty() {
        s.push_str("title = \"Run to the end\"\n");
        s.push_str("say = \"No markers and no functions were found: add breakpoints to stop on the way. (Edit me.)\"\n");
    } else {
        s.push_str("title = \"Run on to the end\"\n");
        s.push_str("say = \"How the program ends, and why. (Edit me.)\"\n");
        s.push_str("do = \"continue\"\n");
    }
    match d.end {
        ObservedRun::Exit { code, stdout } => {
            let _ = writeln!(
                s,
                "# Observed on one run without a debugger: exit code {code}."
            );
            let lines: Vec<String> = stdout.lines().take(10).map(quoted).collect();
            if !lines.is_empty() {
                let _ = writeln!(s, "expect.stdout = [{}]", lines.join(", "));
            }
            let _ = writeln!(s, "expect.end = {{ exit = {code} }}");
        }
        ObservedRun::Hang { after_secs } => {
            let _ = writeln!(s, "# Observed on one run without a debugger: every thread blocked for good after {after_secs:.1} s, a deadlock.");
            s.push_str("# Add expect.stacks (where each thread blocks) to say why.\n");
            s.push_str("expect.end = \"hang\"\n");
        }
        ObservedRun::StillRunning { after_secs } => {
            let _ = writeln!(s, "# Observed on one run without a debugger: still running after {after_secs:.0} s, not every");
            s.push_str("# thread blocked (a long sleep, a loop?). If it ends by itself, write its exit code:\n");
            s.push_str("# expect.end = { exit = 0 }, and give the step a longer timeout (timeout = SECONDS).\n");
            s.push_str("expect.end = \"hang\"\n");
        }
        ObservedRun::Other { what } => {
            let _ = writeln!(
                s,
                "# Observed on one run without a debugger: {what}. Write how it should end:"
            );
            s.push_str("expect.end = { exit = 0 }\n");
        }
    }
    s
}

/// `path` relative to the folder `base` (both absolute), with `..` where needed.
pub fn relative_to(path: &Path, base: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return path.display().to_string();
    }
    let mut parts: Vec<String> = vec!["..".into(); b.len() - common];
    parts.extend(
        p[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORCE: &str = "from concurrent.futures import ThreadPoolExecutor\n\n\ndef wait_on_future():\n    \"\"\"Waits.\"\"\"\n    # a comment\n    f = executor.submit(pow, 5, 2)\n    print(f.result())\n\n\nexecutor = ThreadPoolExecutor(max_workers=1)\nf = executor.submit(wait_on_future)\nf.result()\n";

    #[test]
    fn without_markers_each_function_stops_on_its_first_statement() {
        let (stops, skipped) =
            function_stops(Language::Python, &[("force.py".into(), FORCE.into())]);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(
            stops,
            vec![DraftStop {
                reference: "file:force.py:f = executor.submit(pow, 5, 2)".into(),
                what: "wait_on_future".into(),
                file: "force.py".into(),
                line: 7,
            }]
        );
    }

    #[test]
    fn rust_main_comes_first_and_a_repeated_first_line_is_passed_over() {
        let src = "fn helper() {\n    let x = 1;\n}\n\nfn other() {\n    let x = 1;\n}\n\nfn main() {\n    helper();\n}\n";
        let (stops, skipped) =
            function_stops(Language::Rust, &[("src/main.rs".into(), src.into())]);
        let names: Vec<&str> = stops.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(names, ["main", "helper"]);
        assert_eq!(stops[0].reference, "file:src/main.rs:helper();");
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].starts_with("other (src/main.rs:6)"),
            "{skipped:?}"
        );
    }

    #[test]
    fn one_stop_per_marked_line() {
        let src = "a()  # @bp one\nb()  # @bp two @bp three\n";
        let stops = marker_stops(&[("p.py".into(), src.into())]);
        let refs: Vec<&str> = stops.iter().map(|s| s.reference.as_str()).collect();
        assert_eq!(refs, ["one", "two"]);
    }

    #[test]
    fn the_draft_parses_and_ends_as_observed() {
        let stops = vec![DraftStop {
            reference: "file:force.py:f = executor.submit(pow, 5, 2)".into(),
            what: "wait_on_future".into(),
            file: "force.py".into(),
            line: 7,
        }];
        let end = ObservedRun::Hang { after_secs: 0.6 };
        let text = render(&Draft {
            name: "force.py",
            program: "force.py",
            bin: None,
            language: Language::Python,
            stops: &stops,
            skipped: &[],
            end: &end,
            file_name: "force.toml",
        });
        let value: toml::Table = toml::from_str(&text).expect("the draft is TOML");
        assert_eq!(value["program"].as_str(), Some("force.py"));
        let steps = value["step"].as_array().expect("steps");
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1]["expect"]["end"].as_str(), Some("hang"));
        assert_eq!(
            steps[0]["break"][0].as_str(),
            Some("file:force.py:f = executor.submit(pow, 5, 2)")
        );
        let exit = ObservedRun::Exit {
            code: 3,
            stdout: "a \"quoted\" line\n".into(),
        };
        let text = render(&Draft {
            end: &exit,
            stops: &[],
            ..Draft {
                name: "x",
                program: "x.py",
                bin: None,
                language: Language::Python,
                stops: &[],
                skipped: &[],
                end: &exit,
                file_name: "x.toml",
            }
        });
        let value: toml::Table = toml::from_str(&text).expect("the draft is TOML");
        let last = &value["step"].as_array().expect("steps")[0];
        assert_eq!(last["expect"]["end"]["exit"].as_integer(), Some(3));
        assert_eq!(
            last["expect"]["stdout"][0].as_str(),
            Some("a \"quoted\" line")
        );
    }

    #[test]
    fn relative_paths_climb_where_needed() {
        assert_eq!(
            relative_to(Path::new("/a/b/c.py"), Path::new("/a/b")),
            "c.py"
        );
        assert_eq!(
            relative_to(Path::new("/a/b/c.py"), Path::new("/a/d")),
            "../b/c.py"
        );
        assert_eq!(relative_to(Path::new("/a/b"), Path::new("/a/b")), ".");
    }
}
