//! The VS Code integration: launch configurations that cover every program and walkthrough,
//! walkthroughs played through them on real debuggers, and tours that match the walkthroughs.

use crate::support::{self, dapwalk, text};
use dapwalk::project::Project;
use serde_json::Value;
use std::path::Path;

fn project() -> Project {
    Project::new(support::root())
}

#[test]
fn every_program_twin_and_walkthrough_has_a_launch_configuration() {
    support::build_scenarios();
    let problems = dapwalk::editor::vscode::consistency(&project()).expect("launch.json parses");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A scratch project whose sources are the real ones (linked) and whose .vscode/ is a copy
/// that `edit` may change.
fn scratch_project(name: &str, edit: impl Fn(&str) -> String) -> std::path::PathBuf {
    let dir = support::scratch(name);
    let root = support::root();
    for linked in ["scenarios", "walkthroughs", "src", "target", ".venv"] {
        std::os::unix::fs::symlink(root.join(linked), dir.join(linked)).expect("symlink");
    }
    std::fs::create_dir_all(dir.join(".vscode")).expect("mkdir");
    for f in ["launch.json", "tasks.json"] {
        let t = std::fs::read_to_string(root.join(".vscode").join(f)).expect("read");
        let t = if f == "launch.json" { edit(&t) } else { t };
        std::fs::write(dir.join(".vscode").join(f), t).expect("write");
    }
    dir
}

#[test]
fn a_missing_or_dangling_configuration_is_reported() {
    support::build_scenarios();
    // The twin's configuration points at a file that does not exist: the twin loses its
    // configuration and so does its walkthrough.
    let dir = scratch_project("vscode-dangling", |t| {
        t.replace(
            "scenarios/python/no_deadlock.py",
            "scenarios/python/no_such_twin.py",
        )
    });
    let problems = dapwalk::editor::vscode::consistency(&Project::new(&dir)).expect("parses");
    let all = problems.join("\n");
    assert!(all.contains("no_such_twin.py does not exist"), "{all}");
    assert!(
        all.contains("scenarios/python/no_deadlock.py has no debugpy configuration"),
        "{all}"
    );

    // The free-threaded configuration changed: walkthrough 04 has no configuration left.
    let dir = scratch_project("vscode-env", |t| {
        t.replace("\"PYTHON_GIL\": \"0\"", "\"PYTHON_GIL\": \"1\"")
    });
    let problems = dapwalk::editor::vscode::consistency(&Project::new(&dir)).expect("parses");
    let all = problems.join("\n");
    assert!(
        all.contains("04-sometimes-deadlock-forced-deadlock.toml: no lldb-dap configuration launches \"sometimes_deadlock\" with environment PYTHON_GIL=0"),
        "{all}"
    );

    // A program without any configuration.
    let dir = scratch_project("vscode-missing", |t| {
        t.replace("\"name\": \"force_deadlock (CodeLLDB)\"", "\"name\": \"x\"")
            .replace(
                "\"--bin\", \"force_deadlock\"",
                "\"--bin\", \"no_deadlock\"",
            )
            .replace(
                "\"filter\": { \"name\": \"force_deadlock\"",
                "\"filter\": { \"name\": \"no_deadlock\"",
            )
    });
    let problems = dapwalk::editor::vscode::consistency(&Project::new(&dir)).expect("parses");
    assert!(
        problems
            .iter()
            .any(|p| p == "scenarios/src/bin/force_deadlock.rs has no codelldb configuration"),
        "{}",
        problems.join("\n")
    );
}

#[test]
fn a_walkthrough_plays_through_the_lldb_dap_configuration() {
    let _serial = support::serial();
    let out = dapwalk(&[
        "run",
        "--no-build",
        "--config",
        "always_deadlock (lldb-dap)",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("PASS walkthroughs/rust/02-always-deadlock.toml"),
        "{stdout}"
    );
    assert!(stdout.contains("(lldb-dap,"), "{stdout}");
    assert!(
        support::leftovers().is_empty(),
        "{:?}",
        support::leftovers()
    );
}

#[test]
fn a_walkthrough_plays_through_the_debugpy_configuration() {
    let _serial = support::serial();
    let out = dapwalk(&[
        "run",
        "--config",
        "no_deadlock (debugpy)",
        "walkthroughs/python/01-no-deadlock.toml",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("PASS walkthroughs/python/01-no-deadlock.toml"),
        "{stdout}"
    );
    assert!(stdout.contains("(debugpy,"), "{stdout}");
    assert!(
        support::leftovers().is_empty(),
        "{:?}",
        support::leftovers()
    );
}

#[test]
fn a_configuration_that_does_not_fit_the_walkthrough_is_refused() {
    let out = dapwalk(&[
        "run",
        "--no-build",
        "--config",
        "sometimes_deadlock (lldb-dap)",
        "walkthroughs/rust/04-sometimes-deadlock-forced-deadlock.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the walkthrough needs PYTHON_GIL=0"),
        "{stderr}"
    );
    let out = dapwalk(&["run", "--config", "no such configuration"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no_deadlock (lldb-dap)"),
        "the error lists the configurations: {}",
        text(&out.stderr)
    );
}

#[test]
fn a_codelldb_cargo_key_builds_the_binary_it_names() {
    let configs = dapwalk::editor::vscode::load(support::root()).expect("parses");
    let c = configs
        .iter()
        .find(|c| c.name == "no_deadlock (CodeLLDB)")
        .expect("configuration exists");
    let cargo = c.cargo.as_ref().expect("a cargo key");
    let exe = dapwalk::editor::vscode::cargo_build(support::root(), cargo).expect("builds");
    assert_eq!(exe, support::root().join("target/debug/no_deadlock"));
    assert!(exe.is_file());
}

#[test]
fn committed_tours_and_readme_match_the_walkthroughs() {
    let out = dapwalk(&["tour", "--check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn tours_follow_the_codetour_schema_and_sit_on_marker_lines() {
    let root = support::root();
    let mut tours = 0;
    for e in std::fs::read_dir(root.join(".tours")).expect(".tours exists") {
        let path = e.expect("entry").path();
        if path.extension().is_none_or(|x| x != "tour") {
            continue;
        }
        tours += 1;
        let name = path.display().to_string();
        let tour: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        assert!(
            tour["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: title"
        );
        let steps = tour["steps"].as_array().expect("steps");
        assert!(!steps.is_empty(), "{name}: no steps");
        for (i, s) in steps.iter().enumerate() {
            assert!(
                s["description"]
                    .as_str()
                    .is_some_and(|d| !d.trim().is_empty()),
                "{name} step {i}: description"
            );
            let file = s["file"].as_str().expect("every step names a file");
            let line = s["line"].as_u64().expect("and a line") as usize;
            let source = std::fs::read_to_string(root.join(file))
                .unwrap_or_else(|e| panic!("{name} step {i}: {file}: {e}"));
            let text = source
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or_else(|| panic!("{name} step {i}: {file} has no line {line}"));
            assert!(
                text.contains("@bp "),
                "{name} step {i}: {file}:{line} is not a marker line: {text}"
            );
        }
    }
    let walkthroughs = dapwalk::walkthrough::collect(&project(), &[]).expect("walkthroughs");
    assert_eq!(tours, walkthroughs.len(), "one tour per walkthrough");
}

#[test]
fn tour_check_fails_when_a_tour_drifts_and_tour_repairs_it() {
    let dir = scratch_project("vscode-tours", |t| t.to_string());
    let root = support::root();
    for copied in [".tours", ".vscode/dapwalk-breakpoints.md", "README.md"] {
        copy(&root.join(copied), &dir.join(copied));
    }
    let project = dir.display().to_string();
    let tour = dir.join(".tours/rust-02-always-deadlock.tour");
    let edited = std::fs::read_to_string(&tour)
        .expect("read")
        .replace("Main reaches its sleep", "Main reaches its nap");
    std::fs::write(&tour, edited).expect("write");
    let out = dapwalk(&["--project", &project, "tour", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(".tours/rust-02-always-deadlock.tour differs"),
        "{}",
        text(&out.stderr)
    );
    let out = dapwalk(&["--project", &project, "tour"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "wrote .tours/rust-02-always-deadlock.tour"
    );
    let out = dapwalk(&["--project", &project, "tour", "--check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read dir") {
            let e = e.expect("entry");
            copy(&e.path(), &to.join(e.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(from, to).expect("copy");
    }
}

/// The generated coach tasks, by label.
fn coach_tasks() -> Vec<Value> {
    dapwalk::editor::vscode::tasks(support::root())
        .expect("tasks.json parses")
        .into_iter()
        .filter(|t| {
            t["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("dapwalk: coach "))
        })
        .collect()
}

#[test]
fn every_walkthrough_has_coach_configurations_on_its_own_port() {
    let configs = dapwalk::editor::vscode::load(support::root()).expect("parses");
    let tasks = coach_tasks();
    let walkthroughs = dapwalk::walkthrough::collect(&project(), &[]).expect("walkthroughs");
    assert_eq!(
        tasks.len(),
        walkthroughs.len(),
        "one coach task per walkthrough"
    );
    let mut ports: Vec<String> = tasks
        .iter()
        .map(|t| {
            let args = t["args"].as_array().expect("args");
            args[args.len() - 1].as_str().expect("a port").to_string()
        })
        .collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), tasks.len(), "each coach on its own port");
    let registry = dapwalk::adapters::Registry::builtin();
    for f in &walkthroughs {
        let w = dapwalk::walkthrough::load(f).expect("loads");
        let coached: Vec<_> = configs
            .iter()
            .filter(|c| c.debug_server.is_some() && c.fits(&w).is_ok())
            .filter(|c| {
                let label = c.pre_launch_task.as_deref().unwrap_or_default();
                tasks.iter().any(|t| {
                    t["label"] == label
                        && t["args"].as_array().is_some_and(|a| {
                            a.iter().any(|x| x.as_str().is_some_and(|x| f.ends_with(x)))
                        })
                })
            })
            .collect();
        for d in registry.for_language(w.language) {
            assert!(
                coached.iter().any(|c| c.dialect.name() == d.name()),
                "{}: no Coach configuration on {}",
                f.display(),
                d.name()
            );
        }
    }
}

#[test]
fn a_coach_configuration_off_its_tasks_port_is_reported_and_drifts() {
    let dir = scratch_project("vscode-coach-port", |t| {
        t.replacen("\"debugServer\": 4702,", "\"debugServer\": 4799,", 1)
    });
    let problems = dapwalk::editor::vscode::consistency(&Project::new(&dir)).expect("parses");
    let all = problems.join("\n");
    assert!(
        all.contains("debugServer 4799, but its task \"dapwalk: coach rust-02-always-deadlock\" starts the coach on port 4702"),
        "{all}"
    );
    let root = support::root();
    for copied in [".tours", ".vscode/dapwalk-breakpoints.md", "README.md"] {
        copy(&root.join(copied), &dir.join(copied));
    }
    let out = dapwalk(&["--project", &dir.display().to_string(), "tour", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(".vscode/launch.json differs"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_coach_task_is_ready_on_the_line_the_coach_prints() {
    let _serial = support::serial();
    support::build_scenarios();
    let task = coach_tasks()
        .into_iter()
        .find(|t| t["label"] == "dapwalk: coach rust-02-always-deadlock")
        .expect("the task exists");
    let matcher = &task["problemMatcher"]["background"];
    assert_eq!(task["isBackground"], true);
    let ends =
        regex::Regex::new(matcher["endsPattern"].as_str().expect("endsPattern")).expect("a regex");
    // The task's own command line, after `./dev run`, on a port the system chooses (the
    // task's may be taken on this machine).
    let args: Vec<String> = task["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("strings").to_string())
        .collect();
    assert_eq!(&args[..2], ["run", "coach"]);
    let mut args: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let at = args.iter().position(|a| *a == "--port").expect("--port");
    assert_eq!(args[at + 1], "4702");
    args[at + 1] = "0";
    let mut child = support::command(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the coach starts");
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut first,
    )
    .expect("a line");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal");
    let status = child.wait().expect("the coach exits");
    assert!(ends.is_match(&first), "{first:?} does not match {ends}");
    let begins = regex::Regex::new(matcher["beginsPattern"].as_str().expect("beginsPattern"))
        .expect("a regex");
    assert!(begins.is_match(&first), "{first:?}");
    assert_eq!(status.code(), Some(130));
    assert!(
        support::leftovers().is_empty(),
        "{:?}",
        support::leftovers()
    );
}
