//! `dapwalk spectrum`: how often each racy program of the talk deadlocks, per implementation
//! and condition, with a Wilson 95 % interval per cell.
//!
//! A cell is a program × an implementation (the Rust port with its model GIL, the port
//! free-threaded with `PYTHON_GIL=0`, each Python found in the project's venvs) × where stdout
//! goes (a pipe, a terminal) × CPU pinning (free, one core) × `PYTHONUNBUFFERED`. Runs go one
//! at a time: a parallel run loads the CPUs and moves the very race being measured. A run alive
//! after `hang_after` counts as deadlocked and its process group is killed. The module measures
//! and renders; the command line only chooses the cells and where the results go.

pub mod render;
pub mod run;
pub mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::project::Project;
pub use run::Stdout;

/// The racy programs of the talk, in the order of its spectrum slide (plus context_manager).
pub const RACY: [&str; 5] = [
    "no_deadlock",
    "sometimes_deadlock",
    "discourage_deadlock",
    "unswallow_runtimeerror",
    "context_manager",
];

const RUNNING: &str = "Running wait_on_future\n";
const AFTER_SHUTDOWN: &str = "RuntimeError: cannot schedule new futures after shutdown";

/// A racy program's documented clean exit: (exit code, stdout, last line of stderr or None for
/// an empty stderr). Its other documented outcome is a hang whose stdout so far is a prefix of
/// that stdout (a hung process never flushes what its buffer holds) and whose stderr is empty.
fn documented_exit(program: &str) -> Option<(i32, &'static str, Option<&'static str>)> {
    match program {
        "no_deadlock" | "context_manager" => Some((0, "", None)),
        "sometimes_deadlock" | "discourage_deadlock" => Some((0, RUNNING, None)),
        "unswallow_runtimeerror" => Some((1, RUNNING, Some(AFTER_SHUTDOWN))),
        _ => None,
    }
}

/// How one implementation runs a program.
#[derive(Clone, Debug, Serialize)]
pub struct Implementation {
    /// The name flags use: `rust-gil`, `rust-ft`, or a venv's folder without its dot
    /// (`venv-3.10`).
    pub name: String,
    /// What it is, for the table: `Rust, model GIL`, `CPython 3.10.13 (.venv-3.10)`.
    pub describe: String,
    #[serde(skip)]
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Rust { free_threaded: bool },
    Python(PathBuf),
}

/// CPU pinning of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pinning {
    Free,
    /// `taskset -c 0`: one core, so the threads only ever run in turn.
    One,
}

/// Everything one measurement runs.
#[derive(Clone, Debug)]
pub struct Plan {
    pub programs: Vec<String>,
    pub implementations: Vec<Implementation>,
    pub stdouts: Vec<Stdout>,
    pub pinnings: Vec<Pinning>,
    /// `PYTHONUNBUFFERED` unset (false) and/or `=1` (true).
    pub unbuffered: Vec<bool>,
    pub runs: u64,
    pub hang_after: Duration,
}

/// The conditions of one cell besides the program.
#[derive(Clone, Debug, Serialize)]
pub struct Condition {
    pub implementation: String,
    pub stdout: Stdout,
    pub pinning: Pinning,
    pub unbuffered: bool,
}

impl Condition {
    /// `rust-gil/pipe`, `venv-3.10/pty/one-core/unbuffered`.
    pub fn label(&self) -> String {
        let mut label = format!("{}/{}", self.implementation, self.stdout.name());
        if self.pinning == Pinning::One {
            label.push_str("/one-core");
        }
        if self.unbuffered {
            label.push_str("/unbuffered");
        }
        label
    }
}

/// One cell's counts.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub program: String,
    pub condition: Condition,
    pub runs: u64,
    pub deadlocked: u64,
    pub exited: u64,
    /// Neither documented outcome: a short description of each.
    pub other: Vec<String>,
    pub seconds: f64,
}

impl Cell {
    pub fn rate(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            self.deadlocked as f64 / self.runs as f64
        }
    }

    /// The Wilson 95 % interval of the deadlock rate.
    pub fn interval(&self) -> (f64, f64) {
        stats::wilson(self.deadlocked, self.runs, stats::Z95)
    }
}

/// What a measurement was made under.
#[derive(Clone, Debug, Serialize)]
pub struct Conditions {
    pub started: String,
    pub finished: String,
    pub machine: String,
    pub cores: usize,
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
    pub implementations: Vec<Implementation>,
    pub runs_per_cell: u64,
    pub hang_after_seconds: f64,
    pub command: String,
}

/// A whole measurement.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub cells: Vec<Cell>,
    pub conditions: Conditions,
}

/// What the measurement tells its caller as it goes (the caller draws the progress).
pub enum Progress<'a> {
    /// A cell begins; `index` of `cells`.
    Cell {
        index: usize,
        cells: usize,
        label: &'a str,
    },
    /// One more run is done.
    Run,
}

/// The implementations available in this project: the port both ways, then every venv with a
/// Python in it (`.venv`, `.venv-3.10`, ...), named by the version it reports.
pub fn available(project: &Project) -> Vec<Implementation> {
    let mut found = vec![
        Implementation {
            name: "rust-gil".into(),
            describe: "Rust port, model GIL".into(),
            kind: Kind::Rust {
                free_threaded: false,
            },
        },
        Implementation {
            name: "rust-ft".into(),
            describe: "Rust port, free-threaded (PYTHON_GIL=0)".into(),
            kind: Kind::Rust {
                free_threaded: true,
            },
        },
    ];
    let mut venvs: Vec<PathBuf> = std::fs::read_dir(&project.root)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    venvs.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n == ".venv" || n.starts_with(".venv-"))
    });
    venvs.sort();
    for venv in venvs {
        let python = venv.join("bin/python");
        let Some(version) = python_version(&python) else {
            continue;
        };
        let folder = venv
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(".venv")
            .to_string();
        found.push(Implementation {
            name: folder.trim_start_matches('.').to_string(),
            describe: format!("CPython {version} ({folder})"),
            kind: Kind::Python(python),
        });
    }
    found
}

fn python_version(python: &Path) -> Option<String> {
    let out = std::process::Command::new(python)
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Plan {
    /// A plan from the command line's lists; an empty list means every choice (programs,
    /// implementations).
    #[allow(clippy::too_many_arguments)]
    pub fn resolve(
        project: &Project,
        programs: &[String],
        implementations: &[String],
        stdouts: &[String],
        pinnings: &[String],
        unbuffered: &[String],
        runs: u64,
        hang_after: f64,
    ) -> Result<Plan, String> {
        let programs = if programs.is_empty() {
            RACY.iter().map(|p| p.to_string()).collect()
        } else {
            programs.to_vec()
        };
        for program in &programs {
            documented_exit(program).ok_or_else(|| {
                format!(
                    "unknown racy program {program:?} (one of {})",
                    RACY.join(", ")
                )
            })?;
        }
        let found = available(project);
        let implementations = if implementations.is_empty() {
            found
        } else {
            implementations
                .iter()
                .map(|name| {
                    found
                        .iter()
                        .find(|i| &i.name == name)
                        .cloned()
                        .ok_or_else(|| {
                            let names: Vec<_> = found.iter().map(|i| i.name.as_str()).collect();
                            format!(
                                "unknown implementation {name:?} (found: {})",
                                names.join(", ")
                            )
                        })
                })
                .collect::<Result<_, _>>()?
        };
        let pick =
            |values: &[String], what: &str, choices: &[&str]| -> Result<Vec<usize>, String> {
                values
                    .iter()
                    .map(|v| {
                        choices.iter().position(|c| c == v).ok_or_else(|| {
                            format!("unknown {what} {v:?} (one of {})", choices.join(", "))
                        })
                    })
                    .collect()
            };
        let stdouts = pick(stdouts, "stdout", &["pipe", "pty"])?
            .into_iter()
            .map(|i| [Stdout::Pipe, Stdout::Pty][i])
            .collect();
        let pinnings = pick(pinnings, "pinning", &["free", "one"])?
            .into_iter()
            .map(|i| [Pinning::Free, Pinning::One][i])
            .collect();
        let unbuffered = pick(unbuffered, "PYTHONUNBUFFERED choice", &["unset", "set"])?
            .into_iter()
            .map(|i| i == 1)
            .collect();
        if runs == 0 || hang_after.is_nan() || hang_after <= 0.0 {
            return Err("--runs must be at least 1 and --hang-after positive".into());
        }
        Ok(Plan {
            programs,
            implementations,
            stdouts,
            pinnings,
            unbuffered,
            runs,
            hang_after: Duration::from_secs_f64(hang_after),
        })
    }
}

/// [`measure`] with a progress bar on stderr: the cell being measured and every run.
pub fn measure_with_bar(project: &Project, plan: &Plan, command: &str) -> Result<Report, String> {
    let cells = plan.programs.len()
        * plan.implementations.len()
        * plan.stdouts.len()
        * plan.pinnings.len()
        * plan.unbuffered.len();
    let bar = indicatif::ProgressBar::new(cells as u64 * plan.runs);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} (eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix("spectrum");
    let report = measure(project, plan, command, &mut |p| match p {
        Progress::Cell {
            index,
            cells,
            label,
        } => bar.set_message(format!("cell {}/{cells}: {label}", index + 1)),
        Progress::Run => bar.inc(1),
    });
    bar.finish_and_clear();
    report
}

/// Whether the plan needs the Rust binaries built.
pub fn needs_rust(plan: &Plan) -> bool {
    plan.implementations
        .iter()
        .any(|i| matches!(i.kind, Kind::Rust { .. }))
}

/// Whether one run ended in one of the program's two documented outcomes: `Ok(true)` a
/// deadlock, `Ok(false)` the clean exit, `Err` a description of anything else.
pub fn classify(program: &str, output: &run::RunOutput) -> Result<bool, String> {
    let (code, stdout, last_err) =
        documented_exit(program).ok_or_else(|| format!("{program} is not a racy program"))?;
    let last_line = output
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim_end();
    let short = |s: &str| {
        s.chars()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    };
    match &output.ended {
        run::Ended::Hung => {
            if stdout.starts_with(output.stdout.as_str()) && output.stderr.is_empty() {
                Ok(true)
            } else {
                Err(format!(
                    "hang, stdout {:?}, stderr {:?}",
                    short(&output.stdout),
                    short(last_line)
                ))
            }
        }
        run::Ended::Exited(got) => {
            let err_ok = match last_err {
                None => output.stderr.is_empty(),
                Some(want) => last_line == want,
            };
            if *got == Some(code) && output.stdout == stdout && err_ok {
                Ok(false)
            } else {
                Err(format!(
                    "exit {got:?}, stdout {:?}, stderr {:?}",
                    short(&output.stdout),
                    short(last_line)
                ))
            }
        }
    }
}

fn command_line(project: &Project, program: &str, implementation: &Implementation) -> Vec<String> {
    match &implementation.kind {
        Kind::Rust { .. } => vec![project
            .root
            .join("target/debug")
            .join(program)
            .to_string_lossy()
            .into_owned()],
        Kind::Python(python) => vec![
            python.to_string_lossy().into_owned(),
            project
                .root
                .join("scenarios/python")
                .join(format!("{program}.py"))
                .to_string_lossy()
                .into_owned(),
        ],
    }
}

fn environment(implementation: &Implementation, unbuffered: bool) -> Vec<(String, Option<String>)> {
    // Overrides that would change the programs are cleared; only the cell's own are set.
    let mut env = vec![
        ("ALWAYS_DEADLOCK_SLEEP".to_string(), None),
        ("PYTHON_GIL".to_string(), None),
        (
            "PYTHONUNBUFFERED".to_string(),
            unbuffered.then(|| "1".to_string()),
        ),
    ];
    if let Kind::Rust {
        free_threaded: true,
    } = implementation.kind
    {
        env[1].1 = Some("0".into());
    }
    env
}

fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .map(|s| s.parse::<f64>().unwrap_or(f64::NAN));
    [
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
    ]
}

fn machine() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{} {} {}, {cpu}",
        std::env::consts::OS,
        release.trim(),
        std::env::consts::ARCH
    )
}

fn now() -> String {
    std::process::Command::new("date")
        .arg("+%Y-%m-%d %H:%M:%S %Z")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Runs every cell of `plan`, one run at a time. `command` is recorded with the conditions.
pub fn measure(
    project: &Project,
    plan: &Plan,
    command: &str,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Report, String> {
    for program in &plan.programs {
        documented_exit(program).ok_or_else(|| {
            format!(
                "unknown racy program {program:?} (one of {})",
                RACY.join(", ")
            )
        })?;
    }
    let started = now();
    let load_before = load_average();
    let mut conditions = Vec::new();
    for implementation in &plan.implementations {
        for &stdout in &plan.stdouts {
            for &pinning in &plan.pinnings {
                for &unbuffered in &plan.unbuffered {
                    conditions.push((implementation, stdout, pinning, unbuffered));
                }
            }
        }
    }
    let total = plan.programs.len() * conditions.len();
    let mut cells = Vec::new();
    for program in &plan.programs {
        for &(implementation, stdout, pinning, unbuffered) in &conditions {
            let condition = Condition {
                implementation: implementation.name.clone(),
                stdout,
                pinning,
                unbuffered,
            };
            let label = format!("{program} {}", condition.label());
            progress(Progress::Cell {
                index: cells.len(),
                cells: total,
                label: &label,
            });
            let mut argv = Vec::new();
            if pinning == Pinning::One {
                argv.extend(["taskset".to_string(), "-c".into(), "0".into()]);
            }
            argv.extend(command_line(project, program, implementation));
            let env = environment(implementation, unbuffered);
            let mut cell = Cell {
                program: program.clone(),
                condition,
                runs: 0,
                deadlocked: 0,
                exited: 0,
                other: Vec::new(),
                seconds: 0.0,
            };
            let t0 = Instant::now();
            for _ in 0..plan.runs {
                let output = run::run_once(&argv, &env, stdout, plan.hang_after)?;
                cell.runs += 1;
                match classify(program, &output) {
                    Ok(true) => cell.deadlocked += 1,
                    Ok(false) => cell.exited += 1,
                    Err(what) => cell.other.push(what),
                }
                progress(Progress::Run);
            }
            cell.seconds = t0.elapsed().as_secs_f64();
            cells.push(cell);
        }
    }
    Ok(Report {
        cells,
        conditions: Conditions {
            started,
            finished: now(),
            machine: machine(),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_before,
            load_after: load_average(),
            implementations: plan.implementations.clone(),
            runs_per_cell: plan.runs,
            hang_after_seconds: plan.hang_after.as_secs_f64(),
            command: command.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(ended: run::Ended, stdout: &str, stderr: &str) -> run::RunOutput {
        run::RunOutput {
            ended,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn a_hang_may_show_less_than_the_documented_output_never_more() {
        let p = "sometimes_deadlock";
        assert_eq!(classify(p, &out(run::Ended::Hung, "", "")), Ok(true));
        assert_eq!(classify(p, &out(run::Ended::Hung, RUNNING, "")), Ok(true));
        assert!(classify(p, &out(run::Ended::Hung, "25\n", "")).is_err());
        assert!(classify(p, &out(run::Ended::Hung, "", "Traceback\n")).is_err());
    }

    #[test]
    fn an_exit_must_match_the_documented_one() {
        let tb = "Traceback (most recent call last):\n  File \"x\", line 1\nRuntimeError: cannot schedule new futures after shutdown\n";
        let p = "unswallow_runtimeerror";
        assert_eq!(
            classify(p, &out(run::Ended::Exited(Some(1)), RUNNING, tb)),
            Ok(false)
        );
        assert!(classify(p, &out(run::Ended::Exited(Some(0)), RUNNING, tb)).is_err());
        assert!(classify(p, &out(run::Ended::Exited(Some(1)), "", tb)).is_err());
        assert_eq!(
            classify("no_deadlock", &out(run::Ended::Exited(Some(0)), "", "")),
            Ok(false)
        );
        assert!(classify("force_deadlock", &out(run::Ended::Hung, "", "")).is_err());
    }

    #[test]
    fn labels_name_only_what_differs_from_the_default() {
        let mut c = Condition {
            implementation: "rust-gil".into(),
            stdout: Stdout::Pipe,
            pinning: Pinning::Free,
            unbuffered: false,
        };
        assert_eq!(c.label(), "rust-gil/pipe");
        c.pinning = Pinning::One;
        c.unbuffered = true;
        c.stdout = Stdout::Pty;
        assert_eq!(c.label(), "rust-gil/pty/one-core/unbuffered");
    }
}
