//! Walkthroughs of programs outside the project, as a user brings them: the talk's
//! `force_deadlock.py` and a cargo package made with `cargo new`, each copied into a
//! temporary folder outside the project, drafted with `dapwalk new`, edited by a script and
//! played against the real debugger (debugpy, lldb-dap). Nothing may appear in the user's
//! folder but the walkthrough they asked for (and the Cargo.lock cargo writes).

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::{leftovers, root, serial, text};

/// A folder outside the project, emptied first: where a user keeps their own program.
fn user_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dapwalk-own-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the user's folder");
    let dir = dir.canonicalize().expect("canonical");
    assert!(
        !dir.starts_with(root()),
        "the folder must be outside the project"
    );
    dir
}

/// dapwalk's cache for this test: under the project's target/, not the home folder.
fn cache(name: &str) -> PathBuf {
    support::scratch(&format!("own-cache-{name}"))
}

/// Every file below `dir`, relative to it.
fn files(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("below")
                .display()
                .to_string()
        })
        .collect()
}

/// dapwalk run in the user's folder with the test's cache.
fn dapwalk_in(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    support::command(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("dapwalk runs")
}

fn python() -> String {
    root().join(".venv/bin/python").display().to_string()
}

fn assert_ok(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Inserts `steps` before the draft's last step and `end_extra` after its `expect.end`.
fn edit(draft: &str, steps: &str, end_extra: &str) -> String {
    let last = draft.rfind("[[step]]").expect("the draft has steps");
    let (head, tail) = draft.split_at(last);
    let end = tail
        .find("expect.end")
        .expect("the last step expects the end");
    let eol = tail[end..].find('\n').map_or(tail.len(), |i| end + i + 1);
    format!("{head}{steps}{}{end_extra}{}", &tail[..eol], &tail[eol..])
}

/// A user's folder holding the talk's `force_deadlock.py`, unmodified, and a cache.
fn with_force_deadlock(name: &str) -> (PathBuf, PathBuf) {
    let dir = user_folder(name);
    std::fs::copy(
        root().join("tests/fixtures/own-program/force_deadlock.py"),
        dir.join("force_deadlock.py"),
    )
    .expect("copy the program");
    (dir, cache(name))
}

#[test]
fn the_talks_force_deadlock_gets_a_walkthrough_that_passes() {
    let _one = serial();
    let (dir, cache) = with_force_deadlock("python");
    let before = files(&dir);

    let out = dapwalk_in(
        &dir,
        &cache,
        &["new", "force_deadlock.py", "--python", &python()],
    );
    assert_ok(&out, "dapwalk new");
    let draft_path = dir.join("force_deadlock.walkthrough.toml");
    let draft = std::fs::read_to_string(&draft_path).expect("the draft is written");
    // No markers in the talk's program: the draft stops at its function's first line, by
    // text, and expects the hang the real run showed.
    assert!(
        draft.contains(r#"break = ['file:force_deadlock.py:print("Running wait_on_future")']"#),
        "{draft}"
    );
    assert!(draft.contains("expect.end = \"hang\""), "{draft}");
    assert!(
        text(&out.stderr).contains("it hung"),
        "{}",
        text(&out.stderr)
    );

    // The edit a user makes: a watch of the talk (it needs the program's
    // `import concurrent.futures.thread as thread_module`), the worker's and main's thread
    // selected for the console, and where each thread blocks.
    let edited = edit(
        &draft
            .replacen(
                "\n[[step]]\n",
                "\n[[watch]]\nname = \"_shutdown\"\nexpr = \"global_shutdown\"\n\n[[step]]\n",
                1,
            )
        .replacen(
            "expect.stopped = {",
            "expect.watch = { _shutdown = false }\nexpect.stopped = {",
            1,
        ),
        r#"[[step]]
title = "The worker's own thread"
thread = "ThreadPoolExecutor-0_0"
evaluate = ["__import__('threading').current_thread().name"]
expect.evaluate = ["'ThreadPoolExecutor-0_0'"]

"#,
        "expect.stacks = { MainThread = [\"result\", \"<module>\"], ThreadPoolExecutor-0_0 = [\"result\", \"wait_on_future\"] }\n",
    );
    std::fs::write(&draft_path, &edited).expect("edit the draft");

    let out = dapwalk_in(
        &dir,
        &cache,
        &[
            "run",
            "-v",
            "--python",
            &python(),
            "force_deadlock.walkthrough.toml",
        ],
    );
    assert_ok(&out, &edited);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("PASS force_deadlock.walkthrough.toml"),
        "{stdout}"
    );
    assert!(stdout.contains("end: hang"), "{stdout}");

    // With main selected, the console reads in main's frame, never the worker's. Main may
    // still be running Python between `submit` and `f.result()` when the worker stops (then
    // debugpy suspends it and answers 'MainThread'), or already be blocked in C in
    // f.result()'s lock (then debugpy refuses, in its own words): a race of the unmodified
    // program, seen both ways under load. The worker's frame would have said its own name.
    let main_step = r#"[[step]]
title = "Main, blocked in f.result()"
thread = "MainThread"
evaluate = ["__import__('threading').current_thread().name"]
expect.evaluate = ["'MainThread'"]

"#;
    let variant = edit(&edited, main_step, "");
    std::fs::write(dir.join("main-thread.toml"), &variant).expect("write the variant");
    let out = dapwalk_in(
        &dir,
        &cache,
        &["run", "--python", &python(), "main-thread.toml"],
    );
    let stdout = text(&out.stdout);
    match out.status.code() {
        Some(0) => assert!(stdout.contains("PASS main-thread.toml"), "{stdout}"),
        Some(1) => assert!(
            stdout.contains("+evaluate #1: error: adapter refused \"evaluate\"")
                && stdout.contains("Unable to find thread for evaluation"),
            "{stdout}"
        ),
        other => panic!("exit {other:?}: {stdout}{}", text(&out.stderr)),
    }
    assert!(!stdout.contains("ThreadPoolExecutor-0_0'"), "{stdout}");
    std::fs::remove_file(dir.join("main-thread.toml")).expect("remove the variant");

    // Only the walkthrough was added; the last run went to the cache.
    let mut expected = before;
    expected.insert("force_deadlock.walkthrough.toml".into());
    assert_eq!(files(&dir), expected);
    assert!(
        files(&cache)
            .iter()
            .any(|f| f.starts_with("dapwalk/last-run/")),
        "{:?}",
        files(&cache)
    );
    assert!(leftovers().is_empty(), "left running: {:?}", leftovers());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cargo_new_package_gets_a_walkthrough_that_passes() {
    let _one = serial();
    let dir = user_folder("rust");
    let cache = cache("rust");
    let made = std::process::Command::new(env!("CARGO"))
        .args([
            "new",
            "--quiet",
            "--offline",
            "--vcs",
            "none",
            "philosophers",
        ])
        .current_dir(&dir)
        .status()
        .expect("cargo new runs");
    assert!(made.success(), "cargo new failed");
    std::fs::copy(
        root().join("tests/fixtures/own-program/philosophers.rs"),
        dir.join("philosophers/src/main.rs"),
    )
    .expect("copy the program");
    let before = files(&dir);

    let out = dapwalk_in(&dir, &cache, &["new", "philosophers", "-o", "walk.toml"]);
    assert_ok(&out, "dapwalk new");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("building philosophers"), "{stderr}");
    let draft = std::fs::read_to_string(dir.join("walk.toml")).expect("the draft is written");
    assert!(draft.contains("program = \"philosophers\""), "{draft}");
    assert!(
        draft.contains(r#"at = "file:src/main.rs:let fork_a = Arc::new(Mutex::new(0));""#),
        "main comes first: {draft}"
    );
    assert!(draft.contains("expect.end = \"hang\""), "{draft}");

    // Both philosophers pass the breakpoint in `philosopher`; each thread's own `seat` is
    // read by selecting it.
    let edited = edit(
        &draft,
        r#"[[step]]
title = "The other philosopher"
do = "continue"
expect.stopped = { reason = "breakpoint", at = "file:src/main.rs:let _left = first.lock().unwrap();" }

[[step]]
title = "Philosopher 1's seat"
thread = "philosopher-1"
evaluate = ["seat"]
expect.evaluate = ["1"]

[[step]]
title = "Philosopher 2's seat"
thread = "philosopher-2"
evaluate = ["seat"]
expect.evaluate = ["2"]

"#,
        "expect.stacks = { philosopher-1 = [\"philosopher\"], philosopher-2 = [\"philosopher\"], MainThread = [\"main\"] }\n",
    );
    std::fs::write(dir.join("walk.toml"), &edited).expect("edit the draft");
    let out = dapwalk_in(&dir, &cache, &["run", "-v", "walk.toml"]);
    assert_ok(&out, &edited);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("PASS walk.toml"), "{stdout}");

    // The walkthrough and the Cargo.lock cargo writes for a package without one; the build
    // went to dapwalk's cache, the last run too.
    let mut expected = before;
    expected.insert("walk.toml".into());
    expected.insert("philosophers/Cargo.lock".into());
    assert_eq!(files(&dir), expected);
    let cached = files(&cache);
    assert!(
        cached
            .iter()
            .any(|f| f.starts_with("dapwalk/cargo-target/philosophers-")),
        "the build is in the cache"
    );
    assert!(cached.iter().any(|f| f.starts_with("dapwalk/last-run/")));
    assert!(leftovers().is_empty(), "left running: {:?}", leftovers());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_thread_to_look_from_is_refused_at_its_line() {
    let _one = serial();
    let (dir, cache) = with_force_deadlock("thread");
    std::fs::write(
        dir.join("w.toml"),
        r#"title = "an unknown thread"
program = "force_deadlock.py"

[[step]]
title = "stop in the worker"
break = ["file:force_deadlock.py:f = executor.submit(pow, 5, 2)"]

[[step]]
title = "look from a thread that does not exist"
thread = "philosopher-9"
evaluate = ["1"]

[[step]]
title = "end"
do = "continue"
expect.end = "hang"
"#,
    )
    .expect("write");
    let out = dapwalk_in(&dir, &cache, &["run", "--python", &python(), "w.toml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("w.toml:8: thread = \"philosopher-9\": no such thread")
            && stdout.contains("threads now: MainThread, ThreadPoolExecutor-0_0"),
        "{stdout}"
    );
    assert!(leftovers().is_empty(), "left running: {:?}", leftovers());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_debugpy_the_error_names_what_it_tried_and_the_command_that_installs_it() {
    let dir = user_folder("nodebugpy");
    let cache = cache("nodebugpy");
    let empty_path = dir.join("bin");
    std::fs::create_dir_all(&empty_path).expect("mkdir");
    std::fs::write(dir.join("a.py"), "print('hi')\n").expect("write");
    std::fs::write(
        dir.join("a.toml"),
        "title = \"a\"\nprogram = \"a.py\"\n\n[[step]]\ntitle = \"run\"\nexpect.end = { exit = 0 }\n",
    )
    .expect("write");
    let out = support::command(&["run", "a.toml"])
        .current_dir(&dir)
        .env("XDG_CACHE_HOME", &cache)
        .env("PATH", &empty_path)
        .env_remove("VIRTUAL_ENV")
        .env_remove("DAPWALK_PYTHON")
        .output()
        .expect("dapwalk runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let d = dir.display();
    assert!(
        stderr.contains(&format!("debugpy not found (tried {d}/.venv/bin/python)"))
            && stderr.contains(&format!(
                "to install: python3 -m venv {d}/.venv && {d}/.venv/bin/pip install debugpy"
            ))
            && !stderr.contains("scripts/setup"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn walkthroughs_of_two_folders_play_in_one_call_each_with_its_own_program() {
    let _one = serial();
    let a = user_folder("two-a");
    let b = user_folder("two-b");
    let cache = cache("two");
    std::fs::write(a.join("hello.py"), "print('hello from a')\n").expect("write");
    std::fs::write(
        a.join("hello.toml"),
        "title = \"a\"\nprogram = \"hello.py\"\n\n[[step]]\ntitle = \"run\"\nexpect.stdout = [\"hello from a\"]\nexpect.end = { exit = 0 }\n",
    )
    .expect("write");
    let made = std::process::Command::new(env!("CARGO"))
        .args(["new", "--quiet", "--offline", "--vcs", "none", "hello"])
        .current_dir(&b)
        .status()
        .expect("cargo new runs");
    assert!(made.success(), "cargo new failed");
    std::fs::write(
        b.join("walk.toml"),
        "title = \"b\"\nprogram = \"hello\"\n\n[[step]]\ntitle = \"break in main\"\nbreak = [\"file:src/main.rs:println!\"]\nexpect.stopped = { reason = \"breakpoint\", at = \"file:src/main.rs:println!\" }\n\n[[step]]\ntitle = \"run\"\ndo = \"continue\"\nexpect.stdout = [\"Hello, world!\"]\nexpect.end = { exit = 0 }\n",
    )
    .expect("write");
    let (a_s, b_s) = (a.display().to_string(), b.display().to_string());
    // From a third folder: neither walkthrough depends on where dapwalk runs.
    let out = dapwalk_in(
        &std::env::temp_dir(),
        &cache,
        &["run", "--python", &python(), &a_s, &b_s],
    );
    let stdout = text(&out.stdout);
    assert_ok(&out, "two folders");
    assert!(stdout.contains("walkthroughs: 2 passed"), "{stdout}");
    assert!(
        text(&out.stderr).contains("building hello"),
        "{}",
        text(&out.stderr)
    );
    assert!(leftovers().is_empty(), "left running: {:?}", leftovers());
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}
