//! What a walkthrough author sees when a file is wrong, and what `--bless` does to a file
//! whose expectations departed.
//!
//! The corpus `tests/fixtures/bad-walkthroughs/` holds one deliberately wrong walkthrough per
//! mistake; each file opens with `# expect-error: LINE: TEXT` lines, every error it must
//! produce (LINE 0: the file as a whole), and no other. The bless tests play departed copies
//! of the talk's walkthroughs on real lldb-dap, bless them, and play them again.

use crate::support::{self, dapwalk, leftovers, scratch, serial, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CORPUS: &str = "tests/fixtures/bad-walkthroughs";
const GOOD: &str = "walkthroughs/rust/01-no-deadlock.toml";

/// One expected error: its line and the text its message begins with.
#[derive(Debug, Clone)]
struct Expected {
    line: usize,
    text: String,
}

/// Every corpus file (as the command line names it) with the errors it must produce.
fn corpus() -> BTreeMap<String, Vec<Expected>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(support::root().join(CORPUS)).expect("the corpus folder") {
        let path = e.expect("entry").path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read");
        let expected: Vec<Expected> = source
            .lines()
            .filter_map(|l| l.strip_prefix("# expect-error: "))
            .map(|rest| {
                let (line, text) = rest.split_once(": ").expect("LINE: TEXT");
                Expected {
                    line: line.parse().expect("a line number"),
                    text: text.to_owned(),
                }
            })
            .collect();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(!expected.is_empty(), "{name} says no expect-error");
        out.insert(format!("{CORPUS}/{name}"), expected);
    }
    out
}

/// How dapwalk prints an error: `file:line: message` (`file: message` for the whole file).
fn printed(file: &str, e: &Expected) -> String {
    if e.line == 0 {
        format!("{file}: {}", e.text)
    } else {
        format!("{file}:{}: {}", e.line, e.text)
    }
}

#[test]
fn each_wrong_walkthrough_alone_says_its_errors_at_their_lines_and_exits_2() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 25,
        "only {} wrong walkthroughs",
        corpus.len()
    );
    for (file, expected) in &corpus {
        let out = dapwalk(&["run", "--no-build", file]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        for e in expected {
            assert!(
                stderr.lines().any(|l| l.starts_with(&printed(file, e))),
                "{file}: expected {:?} in:\n{stderr}",
                printed(file, e)
            );
        }
        let said = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{file}:")))
            .count();
        assert_eq!(said, expected.len(), "{file}: other errors too:\n{stderr}");
        assert!(
            text(&out.stdout).contains("not played: 1 walkthrough file(s)"),
            "{}",
            text(&out.stdout)
        );
        // Every one is found before a debugger starts: nothing was started.
        assert_eq!(leftovers(), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn a_run_with_every_wrong_walkthrough_still_plays_the_good_one_and_reports_each_bad_one() {
    let corpus = corpus();
    let dir = scratch("errors-corpus");
    let junit = dir.join("report.xml");
    let _serial = serial();
    let out = dapwalk(&[
        "run",
        "--no-build",
        "--format",
        "json",
        "--junit",
        junit.to_str().expect("utf8"),
        CORPUS,
        GOOD,
    ]);
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    // Could not check them all: 2, though the good one passed.
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    for (file, expected) in &corpus {
        for e in expected {
            assert!(
                stderr.lines().any(|l| l.starts_with(&printed(file, e))),
                "expected {:?} in:\n{stderr}",
                printed(file, e)
            );
        }
    }
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v: &serde_json::Value| v["type"] == "walkthrough")
        .collect();
    let good = records
        .iter()
        .find(|r| r["walkthrough"] == GOOD)
        .unwrap_or_else(|| panic!("no record of {GOOD} in {stdout}"));
    assert_eq!(good["outcome"], "passed", "{good}");
    for (file, expected) in &corpus {
        let r = records
            .iter()
            .find(|r| r["walkthrough"] == file.as_str())
            .unwrap_or_else(|| panic!("no JSON record of {file}"));
        assert_eq!(r["outcome"], "error", "{r}");
        let errors = r["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), expected.len(), "{file}: {r}");
        for e in expected {
            assert!(
                errors.iter().any(|x| x["line"] == e.line
                    && x["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(&e.text))),
                "{file}: {e:?} not in {r}"
            );
        }
    }
    assert_eq!(records.len(), corpus.len() + 1, "{stdout}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert!(
        xml.contains(&format!(r#"tests="{}""#, corpus.len() + 1)),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(r#"errors="{}""#, corpus.len())),
        "{xml}"
    );
    for file in corpus.keys() {
        assert!(
            xml.contains(&format!(r#"<testcase name="{file}""#)),
            "{file} in {xml}"
        );
    }
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn an_unknown_thread_on_an_action_is_reported_at_its_step_line() {
    let dir = scratch("errors-unknown-thread");
    let path = dir.join("unknown-thread.toml");
    std::fs::write(
        &path,
        r#"title = "Act on a thread that is not there"
scenario = "no_deadlock"
language = "rust"

[[step]]
title = "Break at the inner submit"
break = ["inner-submit"]
expect.stopped = { thread = "TPExecutor-0_0" }

[[step]]
title = "Step a thread that does not exist"
thread = "Consumer"
do = "next"
expect.end = { exit = 0 }
"#,
    )
    .expect("write");
    let _serial = serial();
    let out = dapwalk(&["run", "--no-build", path.to_str().expect("utf8")]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "could not play at step 2 ({}:10)",
            path.strip_prefix(support::root())
                .expect("in the project")
                .display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("no thread \"Consumer\" to act on"),
        "{stdout}"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// A copy of `walkthrough` in a scratch folder with each `(from, to)` applied once.
fn departed_copy(name: &str, walkthrough: &str, edits: &[(&str, &str)]) -> (PathBuf, String) {
    let dir = scratch(name);
    let source = std::fs::read_to_string(support::root().join(walkthrough)).expect("read");
    let mut wrong = source.clone();
    for (from, to) in edits {
        assert!(wrong.contains(from), "{walkthrough} no longer has {from:?}");
        wrong = wrong.replacen(from, to, 1);
    }
    let path = dir.join(Path::new(walkthrough).file_name().expect("name"));
    std::fs::write(&path, &wrong).expect("write");
    (path, source)
}

fn run(path: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["run", "--no-build"];
    args.extend_from_slice(extra);
    args.push(path.to_str().expect("utf8"));
    let out = dapwalk(&args);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn bless_rewrites_only_what_departed_and_keeps_a_short_stack_short() {
    // In the hang step: a two-frame stack whose first frame is wrong, and a wrong watch.
    // The third frame of the real stack, and the worker's stack that passes, stay as written.
    let (path, source) = departed_copy(
        "bless-short-stack",
        "walkthroughs/rust/07-force-deadlock.toml",
        &[
            (
                r#"expect.stacks.MainThread = ["Condition::wait", "Future::result", "main::{closure}"]"#,
                r#"expect.stacks.MainThread = ["Condvar::wait", "Future::result"]"#,
            ),
            (
                "expect.watch = { _shutdown = false }\n# Read",
                "expect.watch = { _shutdown = true }\n# Read",
            ),
        ],
    );
    let _serial = serial();
    let (code, stdout, stderr) = run(&path, &["--bless"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr
            .contains("step 3 (line 37): stacks.MainThread, watch _shutdown; review with git diff"),
        "{stderr}"
    );
    let blessed = std::fs::read_to_string(&path).expect("read");
    let expected = source.replacen(
        r#"expect.stacks.MainThread = ["Condition::wait", "Future::result", "main::{closure}"]"#,
        r#"expect.stacks.MainThread = ["Condition::wait", "Future::result"]"#,
        1,
    );
    assert_eq!(
        blessed, expected,
        "only the departed lines change, in their form"
    );
    let (code, stdout, _) = run(&path, &[]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn bless_refuses_an_adapter_error_and_says_so() {
    let (path, _) = departed_copy(
        "bless-adapter-error",
        "walkthroughs/rust/07-force-deadlock.toml",
        &[
            (
                "[[step]]\n",
                "[[watch]]\nname = \"broken\"\nexpr = \"no_such_variable_anywhere\"\n\n[[step]]\n",
            ),
            (
                "expect.watch = { _shutdown = false }",
                "expect.watch = { _shutdown = false, broken = 1 }",
            ),
        ],
    );
    let wrong = std::fs::read_to_string(&path).expect("read");
    let _serial = serial();
    let (code, stdout, stderr) = run(&path, &["--bless"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("+watch broken = (not available here:"),
        "{stdout}"
    );
    assert!(
        stderr.contains("did not bless")
            && stderr.contains("watch broken: the adapter could not evaluate it"),
        "{stderr}"
    );
    assert!(!stderr.contains("dapwalk: blessed"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        wrong,
        "the adapter's error is not written as the expected value"
    );
}

#[test]
fn a_step_at_its_time_limit_names_step_timeout_and_is_not_blessed() {
    // The issue's forgotten ALWAYS_DEADLOCK_SLEEP: under a debugger main sleeps an hour, so
    // the step that expects the hang reaches its time limit instead.
    let (path, _) = departed_copy(
        "bless-still-running",
        "walkthroughs/rust/02-always-deadlock.toml",
        &[("env = { ALWAYS_DEADLOCK_SLEEP = \"1\" }\n", "")],
    );
    let wrong = std::fs::read_to_string(&path).expect("read");
    let _serial = serial();
    let (code, stdout, stderr) = run(&path, &["--bless", "--step-timeout", "3"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "+end: still running after 3s, the step's time limit: --step-timeout SECONDS"
        ),
        "{stdout}"
    );
    assert!(stderr.contains("did not bless"), "{stderr}");
    assert!(
        stderr
            .lines()
            .filter(|l| l.contains("did not bless"))
            .all(|l| l.contains("--step-timeout")),
        "every refusal says why: {stderr}"
    );
    assert!(
        stderr.contains(" end: the program was still running"),
        "{stderr}"
    );
    assert!(!stderr.contains("dapwalk: blessed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), wrong);
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn bless_moves_a_stack_expected_of_a_thread_that_does_not_exist() {
    let (path, source) = departed_copy(
        "bless-thread-key",
        "walkthroughs/rust/07-force-deadlock.toml",
        &[(
            r#"expect.stacks."TPExecutor-0_0" = ["Condition::wait", "Future::result", "wait_on_future"]"#,
            r#"expect.stacks.Worker = ["Condition::wait", "Future::result", "wait_on_future"]"#,
        )],
    );
    let _serial = serial();
    let (code, stdout, stderr) = run(&path, &["--bless"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Worker: (no such thread)"), "{stdout}");
    assert!(
        stderr.contains(
            r#"stacks.Worker renamed to stacks."TPExecutor-0_0" (no thread is named "Worker")"#
        ),
        "{stderr}"
    );
    // The stack moves back to the thread it was written for, and the file is the original.
    assert_eq!(std::fs::read_to_string(&path).expect("read"), source);
    let (code, stdout, _) = run(&path, &[]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn bless_refuses_a_name_error_from_debugpy() {
    // The issue's broken watch on the Python track: a name the program does not have.
    let (path, _) = departed_copy(
        "bless-python-name-error",
        "walkthroughs/python/06-force-deadlock.toml",
        &[(
            "expr = \"global_shutdown\"",
            "expr = \"_shutdown_of_a_module_not_imported\"",
        )],
    );
    let wrong = std::fs::read_to_string(&path).expect("read");
    let _serial = serial();
    let (code, stdout, stderr) = run(&path, &["--bless"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("+watch _shutdown = (not available here:"),
        "{stdout}"
    );
    assert!(
        stderr.contains("step 1 (line 19) watch _shutdown: the adapter could not evaluate it"),
        "{stderr}"
    );
    assert!(!stderr.contains("dapwalk: blessed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), wrong);
    assert_eq!(leftovers(), Vec::<String>::new());
}
