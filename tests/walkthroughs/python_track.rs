//! The Python track end to end: every walkthrough in walkthroughs/python on real debugpy, on
//! the project's .venv and on a second Python version, and the stdlib markers that keep them
//! independent of the standard library's line numbers.

use crate::support::{self, dapwalk, leftovers, scratch, serial, text};
use dapwalk::project::Project;
use dapwalk::walkthrough::prepare;
use dapwalk::walkthrough::{self, MarkerRef};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv `scripts/setup` makes for a Python version; missing means setup was not run.
fn venv_python(version: &str) -> PathBuf {
    let py = support::root().join(format!(".venv-{version}/bin/python"));
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup (it makes a venv with debugpy for each Python CI uses)",
        py.display()
    );
    py
}

fn assert_every_python_walkthrough_passes(extra: &[&str]) {
    support::assert_every_walkthrough_passes("walkthroughs/python", extra, 16);
}

#[test]
fn every_python_walkthrough_passes_on_the_default_venv() {
    let _serial = serial();
    assert_every_python_walkthrough_passes(&[]);
}

#[test]
fn every_python_walkthrough_passes_on_python_3_12() {
    let _serial = serial();
    let py = venv_python("3.12");
    assert_every_python_walkthrough_passes(&["--python", &py.display().to_string()]);
}

/// The line a stdlib reference in a walkthrough resolves to with `python`.
fn resolved_line(python: &Path, walkthrough: &str, reference: &str) -> usize {
    let path = support::root().join(walkthrough);
    let w = walkthrough::load(&path).expect("walkthrough loads");
    let project = Project::new(support::root()).with_python(Some(python.to_path_buf()));
    let prep = prepare(&project, w).expect("walkthrough resolves");
    let r = MarkerRef::parse(reference).expect("a stdlib reference");
    prep.markers.resolve(&r).expect("resolved").line
}

#[test]
fn a_stdlib_pattern_follows_the_interpreter() {
    let refusal = "stdlib:concurrent/futures/thread.py:raise RuntimeError('cannot schedule new futures after shutdown')";
    let w = "walkthroughs/python/05-heisenbug-unswallow.toml";
    let on_310 = resolved_line(&venv_python("3.10"), w, refusal);
    let on_312 = resolved_line(&venv_python("3.12"), w, refusal);
    assert_ne!(
        on_310, on_312,
        "3.10 and 3.12 put submit's refusal on other lines"
    );
    for (py, line) in [("3.10", on_310), ("3.12", on_312)] {
        let file = venv_python(py);
        let out = std::process::Command::new(&file)
            .args([
                "-c",
                "import concurrent.futures.thread as m; print(m.__file__)",
            ])
            .output()
            .expect("python runs");
        let source = std::fs::read_to_string(text(&out.stdout).trim()).expect("thread.py");
        let text_at = source.lines().nth(line - 1).unwrap_or_default().trim();
        assert_eq!(
            text_at, "raise RuntimeError('cannot schedule new futures after shutdown')",
            "Python {py}, line {line}"
        );
    }
}

#[test]
fn a_pattern_that_matches_nothing_is_an_error_with_its_line() {
    let _serial = serial();
    let dir = scratch("python-bad-pattern");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "title = \"t\"\nscenario = \"no_deadlock\"\nlanguage = \"python\"\n\n[[step]]\ntitle = \"s\"\nbreak = [\"stdlib:concurrent/futures/thread.py:_shutdown = Maybe\"]\nexpect.end = \"hang\"\n",
    )
    .expect("write");
    let out = dapwalk(&["run", "--no-build", &file.display().to_string()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:7: ", file.display())),
        "the error names the file and line: {stderr}"
    );
    assert!(
        stderr.contains("begins with \"_shutdown = Maybe\""),
        "{stderr}"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// A project holding one Python twin with `from` replaced by `to`, and the walkthrough that
/// describes the original; the project's .venv is the real one.
fn mutated_python_project(
    name: &str,
    program: &str,
    from: &str,
    to: &str,
    walkthrough: &str,
) -> PathBuf {
    let dir = scratch(name);
    let root = support::root();
    std::fs::create_dir_all(dir.join("scenarios/python")).expect("mkdir");
    std::fs::create_dir_all(dir.join("walkthroughs/python")).expect("mkdir");
    let source = std::fs::read_to_string(root.join(format!("scenarios/python/{program}.py")))
        .expect("read twin");
    assert!(
        source.contains(from),
        "{program}.py no longer contains {from:?}"
    );
    std::fs::write(
        dir.join(format!("scenarios/python/{program}.py")),
        source.replacen(from, to, 1),
    )
    .expect("write mutated twin");
    std::fs::copy(root.join(walkthrough), dir.join(walkthrough)).expect("copy walkthrough");
    std::os::unix::fs::symlink(root.join(".venv"), dir.join(".venv")).expect("link .venv");
    dir
}

#[test]
fn python_locks_taken_in_one_order_exit_and_the_forced_walkthrough_departs() {
    // The fix for lock_order: both threads take lock_a first.
    let walkthrough = "walkthroughs/python/14-lock-order.toml";
    let project = mutated_python_project(
        "mutation-python-lock-order",
        "lock_order",
        "args=(lock_b, lock_a)",
        "args=(lock_a, lock_b)",
        walkthrough,
    );
    // As a plain process the fixed program finishes: both threads eat.
    let run = Command::new(support::root().join(".venv/bin/python"))
        .arg(project.join("scenarios/python/lock_order.py"))
        .output()
        .expect("python runs");
    assert_eq!(
        (run.status.code(), text(&run.stdout).as_str()),
        (Some(0), "ate\nate\n")
    );
    // The walkthrough forces both threads to the second lock each holding its first: with
    // one order Thread-2 never gets there (Thread-1 is held holding lock_a), and it says so.
    let _serial = serial();
    let (code, stdout) = support::run_in_project(&project, &project.join(walkthrough), &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("departed step 1"), "{stdout}");
    assert!(
        stdout.contains("-stopped: Thread-1, breakpoint, at take-second"),
        "{stdout}"
    );
    assert!(stdout.contains("+stopped: no thread stopped"), "{stdout}");
}

/// A watch at a hang on debugpy cannot be read (nothing evaluates in blocked threads); the
/// report says so, in debugpy's words, and what replaces it.
#[test]
fn a_watch_at_a_python_hang_says_why_it_is_missing_and_what_replaces_it() {
    let dir = scratch("python-watch-at-a-hang");
    let root = support::root();
    for linked in ["scenarios", ".venv"] {
        std::os::unix::fs::symlink(root.join(linked), dir.join(linked)).expect("symlink");
    }
    std::fs::create_dir_all(dir.join("walkthroughs/python")).expect("mkdir");
    let file = dir.join("walkthroughs/python/watch-at-a-hang.toml");
    std::fs::write(
        &file,
        r#"title = "a watch at a hang"
scenario = "lock_order"
language = "python"

[[watch]]
name = "lock_a held"
expr = "lock_a.locked()"

[[step]]
title = "run to the hang"
expect.watch = { "lock_a held" = true }
expect.end = "hang"
"#,
    )
    .expect("write walkthrough");
    let _serial = serial();
    let (code, stdout) = support::run_in_project(&dir, &file, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("+watch lock_a held = (not available at a hang: adapter refused"),
        "{stdout}"
    );
    assert!(
        stdout.contains("who waits on whom is inferred from the stacks)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+end: hang") || stdout.contains(" end: hang"),
        "{stdout}"
    );
}
