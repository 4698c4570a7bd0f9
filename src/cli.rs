//! The command line: parse, call the library, choose the exit code.
//!
//! Exit codes, for CI: 0 every walkthrough passed; 1 at least one departed from its narrative;
//! 2 something prevented checking (a bad walkthrough file, a missing adapter, an adapter that
//! died, the scenarios failing to build); 130 interrupted by Ctrl-C.

use crate::adapters::{self, Adapter, AdapterKind};
use crate::report::{self, Style};
use crate::runner::{self, Outcome, Prepared, Project, RunEvent, RunOptions, WalkthroughResult};
use crate::walkthrough::{self, Language, LoadError};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

pub const EXIT_MISMATCH: u8 = 1;
pub const EXIT_SETUP: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Debugger-verified walkthroughs of the thread-pool deadlocks from PEP 3148.
///
/// Each walkthrough in walkthroughs/ tells a learner where to break, what to step and what the
/// debugger will show (threads, call stacks, watch values, output, the exit or the hang).
/// `dapwalk run` plays them against a real debugger (lldb-dap for the Rust scenarios, debugpy
/// for the Python twins) and shows a diff wherever the debugger departs from the narrative.
#[derive(Parser)]
#[command(version, about, long_about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The project folder (the one holding walkthroughs/ and scenarios/). Default: the
    /// current folder or the nearest parent that has them.
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
}

const EXAMPLES: &str = "\
Examples:
  dapwalk run                                   play every walkthrough
  dapwalk run walkthroughs/rust/02-always-deadlock.toml -v
  dapwalk run --jobs 2 --junit report.xml       CI: two at a time, JUnit for the dashboard
  dapwalk list                                  what there is to play
  dapwalk show walkthroughs/rust/01-no-deadlock.toml   the narrative as Markdown
  dapwalk present walkthroughs/rust/02-always-deadlock.toml --record talk.md
  dapwalk adapters                              which debuggers were found

Exit codes: 0 all passed, 1 a walkthrough departed from its narrative,
2 could not check (bad file, missing or dead adapter, build failure), 130 interrupted.";

#[derive(Subcommand)]
enum Command {
    /// Play walkthroughs against a real debugger and check every step (default: all).
    Run(RunArgs),
    /// List the walkthroughs: file, scenario, language, steps, title.
    List,
    /// Print a walkthrough as Markdown, with what the debugger showed on its last run.
    Show {
        /// The walkthrough file.
        path: PathBuf,
    },
    /// Write the CodeTour tours (.tours/), the breakpoint and watch list
    /// (.vscode/dapwalk-breakpoints.md) and the README's VS Code section from the walkthroughs.
    Tour {
        /// Write nothing; exit 1 when a committed file differs from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Play one walkthrough step by step, a key press per step, for presenting the talk.
    Present(crate::present::PresentArgs),
    /// Show the last runs of a Rust and a Python walkthrough side by side, and where the
    /// languages differ (play both with `run` first).
    Compare {
        /// One walkthrough file (say walkthroughs/rust/01-no-deadlock.toml).
        first: PathBuf,
        /// Its twin on the other track (say walkthroughs/python/01-no-deadlock.toml).
        second: PathBuf,
    },
    /// List the debug adapters found (version, path) and what to install for missing ones.
    Adapters {
        #[command(flatten)]
        adapters: AdapterArgs,
    },
}

#[derive(clap::Args, Clone, Default)]
struct AdapterArgs {
    /// Use this lldb-dap instead of searching PATH (lldb-dap, lldb-dap-NN).
    #[arg(long, value_name = "PATH")]
    lldb_dap: Option<PathBuf>,
    /// Use this CodeLLDB adapter (…/adapter/codelldb) instead of searching the editors'
    /// extension folders.
    #[arg(long, value_name = "PATH")]
    codelldb: Option<PathBuf>,
    /// Use this Python (with debugpy installed) instead of the project's .venv.
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum AdapterChoice {
    /// lldb-dap for Rust walkthroughs, debugpy for Python ones.
    Auto,
    LldbDap,
    Codelldb,
    Debugpy,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A line per walkthrough, a diff for each departure.
    Human,
    /// One JSON object per step and per walkthrough.
    Json,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Walkthrough files or folders (default: walkthroughs/).
    paths: Vec<PathBuf>,
    /// Which debug adapter plays the Rust walkthroughs (Python ones always use debugpy).
    #[arg(long, value_enum, default_value = "auto")]
    adapter: AdapterChoice,
    /// Play through this launch configuration of .vscode/launch.json (its type chooses the
    /// adapter, its keys go into the launch request); without PATHS, every walkthrough it fits.
    #[arg(long, value_name = "NAME", conflicts_with = "adapter")]
    config: Option<String>,
    #[command(flatten)]
    adapters: AdapterArgs,
    /// How many walkthroughs to play at once.
    #[arg(long, short = 'j', default_value_t = 1, value_name = "N")]
    jobs: usize,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Show every step's observation, not only departures.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Rewrite the expectations of departed steps from what the debugger showed, for review
    /// with `git diff`.
    #[arg(long)]
    bless: bool,
    /// Do not build the scenarios first (`cargo build -p scenarios --bins`).
    #[arg(long)]
    no_build: bool,
    /// Seconds a step may run before dapwalk pauses the program to look.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    step_timeout: u64,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let project = match find_project(cli.project.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("dapwalk: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    match cli.command.unwrap_or(Command::Run(RunArgs::default_args())) {
        Command::Adapters { adapters } => {
            let explicit = adapters::Explicit {
                lldb_dap: adapters.lldb_dap,
                codelldb: adapters.codelldb,
                python: adapters.python,
            };
            let survey = adapters::survey(&project.root, &explicit);
            match adapters::render_survey(&survey, &mut std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("dapwalk: {e}");
                    ExitCode::from(EXIT_SETUP)
                }
            }
        }
        Command::List => list(&project),
        Command::Show { path } => show(&project, &path),
        Command::Compare { first, second } => compare(&project, &first, &second),
        Command::Present(args) => crate::present::main(&project, args),
        Command::Run(args) => run(&project, args),
        Command::Tour { check } => tour(&project, check),
    }
}

impl RunArgs {
    fn default_args() -> RunArgs {
        RunArgs {
            paths: Vec::new(),
            adapter: AdapterChoice::Auto,
            config: None,
            adapters: AdapterArgs::default(),
            jobs: 1,
            format: Format::Human,
            junit: None,
            verbose: false,
            bless: false,
            no_build: false,
            step_timeout: 20,
        }
    }
}

fn find_project(explicit: Option<&Path>) -> Result<Project, String> {
    if let Some(p) = explicit {
        return Ok(Project::new(p));
    }
    let cwd = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
    for dir in cwd.ancestors() {
        if dir.join("walkthroughs").is_dir() && dir.join("scenarios").is_dir() {
            return Ok(Project::new(dir));
        }
    }
    Err(format!(
        "no project here: neither {} nor a parent holds walkthroughs/ and scenarios/ (use --project DIR)",
        cwd.display()
    ))
}

/// Every walkthrough file named by `paths` (files, or folders searched recursively).
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
        match walkthrough::load(f).and_then(|w| runner::prepare(project, w)) {
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

fn list(project: &Project) -> ExitCode {
    let files = match collect(project, &[]) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("dapwalk: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let mut status = ExitCode::SUCCESS;
    let mut rows = Vec::new();
    for f in files {
        match walkthrough::load(&f) {
            Ok(w) => rows.push((report::display_path(&f, &project.root), w)),
            Err(e) => {
                eprintln!("{e}");
                status = ExitCode::from(EXIT_SETUP);
            }
        }
    }
    let width = rows.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    let swidth = rows
        .iter()
        .map(|(_, w)| w.scenario.len())
        .max()
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (path, w) in rows {
        let _ = writeln!(
            out,
            "{path:<width$}  {:<swidth$}  {:<6} {:>2} steps  {}",
            w.scenario,
            w.language.as_str(),
            w.steps.len(),
            w.title
        );
    }
    status
}

fn tour(project: &Project, check: bool) -> ExitCode {
    let result = if check {
        crate::tour::check_files(project)
    } else {
        crate::tour::write(project)
    };
    match result {
        Ok(paths) if check && !paths.is_empty() => {
            for p in &paths {
                eprintln!("dapwalk: {} differs from the walkthroughs", p.display());
            }
            eprintln!("dapwalk: run `dapwalk tour` and commit the result");
            ExitCode::from(EXIT_MISMATCH)
        }
        Ok(paths) => {
            for p in &paths {
                println!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dapwalk: {e}");
            ExitCode::from(EXIT_SETUP)
        }
    }
}

fn show(project: &Project, path: &Path) -> ExitCode {
    let w = match walkthrough::load(path) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let last = crate::lastrun::load(&project.root, &w);
    let text = crate::markdown::render(&w, last.as_ref(), &project.root);
    print!("{text}");
    ExitCode::SUCCESS
}

fn compare(project: &Project, first: &Path, second: &Path) -> ExitCode {
    let mut sides = Vec::new();
    for path in [first, second] {
        let w = match walkthrough::load(path) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(EXIT_SETUP);
            }
        };
        let Some(last) = crate::lastrun::load(&project.root, &w) else {
            eprintln!(
                "dapwalk: {} has no last run; play it first: dapwalk run {}",
                path.display(),
                path.display()
            );
            return ExitCode::from(EXIT_SETUP);
        };
        sides.push((w, last));
    }
    let text = crate::compare::render((&sides[0].0, &sides[0].1), (&sides[1].0, &sides[1].1));
    print!("{text}");
    ExitCode::SUCCESS
}

fn run(project: &Project, args: RunArgs) -> ExitCode {
    // The Python that plays the Python track also resolves its stdlib markers.
    let project = &project.clone().with_python(args.adapters.python.clone());
    let config = match args.config.as_deref() {
        Some(name) => match crate::vscode::for_run(project, name, &args.paths) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("dapwalk: {e}");
                return ExitCode::from(EXIT_SETUP);
            }
        },
        None => None,
    };
    let paths = config
        .as_ref()
        .map_or(args.paths.clone(), |c| c.files.clone());
    let files = match collect(project, &paths) {
        Ok(f) if f.is_empty() => {
            eprintln!("dapwalk: no walkthrough files found");
            return ExitCode::from(EXIT_SETUP);
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("dapwalk: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let prepared = match load_all(project, &files) {
        Ok(p) => p,
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            eprintln!(
                "dapwalk: {} walkthrough file(s) have errors; nothing was run",
                errs.len()
            );
            return ExitCode::from(EXIT_SETUP);
        }
    };

    // Find every adapter needed before starting any, so a missing one is said once, up front.
    let needs_rust = prepared
        .iter()
        .any(|p| p.walkthrough.language == Language::Rust);
    let needs_python = prepared
        .iter()
        .any(|p| p.walkthrough.language == Language::Python);
    let rust_kind = match (args.adapter, config.as_ref().map(|c| c.kind)) {
        (_, Some(AdapterKind::CodeLldb)) | (AdapterChoice::Codelldb, None) => AdapterKind::CodeLldb,
        _ => AdapterKind::LldbDap,
    };
    let only_python = args.adapter == AdapterChoice::Debugpy
        || config
            .as_ref()
            .is_some_and(|c| c.kind == AdapterKind::Debugpy);
    let mut found: Vec<(Language, Adapter)> = Vec::new();
    let explicit = |k: AdapterKind| match k {
        AdapterKind::LldbDap => args.adapters.lldb_dap.clone(),
        AdapterKind::CodeLldb => args.adapters.codelldb.clone(),
        AdapterKind::Debugpy => args.adapters.python.clone(),
    };
    for (lang, needed, kind) in [
        (Language::Rust, needs_rust && !only_python, rust_kind),
        (Language::Python, needs_python, AdapterKind::Debugpy),
    ] {
        if !needed {
            continue;
        }
        match Adapter::discover(kind, explicit(kind).as_deref(), &project.root) {
            Ok(a) => found.push((lang, a)),
            Err(e) => {
                eprintln!("dapwalk: {e}");
                return ExitCode::from(EXIT_SETUP);
            }
        }
    }
    let prepared: Vec<Prepared> = prepared
        .into_iter()
        .filter(|p| found.iter().any(|(l, _)| *l == p.walkthrough.language))
        .collect();

    if needs_rust && !args.no_build {
        if let Err(e) = build_scenarios(&project.root) {
            eprintln!("dapwalk: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    }

    let opts = RunOptions {
        step_timeout: std::time::Duration::from_secs(args.step_timeout.max(1)),
        launch_extra: config.map(|c| c.launch_keys).unwrap_or_default(),
        ..RunOptions::default()
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dapwalk: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_SETUP);
        }
    };
    let progress = Progress::new(prepared.len(), std::io::stderr().is_terminal());
    let results = rt.block_on(crate::session::until_ctrl_c(play_all(
        prepared,
        found,
        opts,
        args.jobs.max(1),
        progress.clone(),
    )));
    progress.clear();
    let results = match results {
        Ok(r) => r,
        Err(_) => {
            eprintln!("dapwalk: interrupted; every debugger and program it started was stopped");
            return ExitCode::from(EXIT_INTERRUPTED);
        }
    };

    let style = Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut out = std::io::stdout().lock();
    for (prep, r) in &results {
        let _ = match args.format {
            Format::Human => report::human(&mut out, r, &project.root, style, args.verbose),
            Format::Json => report::json_lines(&mut out, r, &project.root),
        };
        let _ = crate::lastrun::save(&project.root, &prep.walkthrough, r);
    }
    let only: Vec<WalkthroughResult> = results.iter().map(|(_, r)| r.clone()).collect();
    if args.format == Format::Human {
        let _ = report::summary(&mut out, &only);
    }
    if let Some(path) = &args.junit {
        let written = std::fs::File::create(path)
            .and_then(|mut f| report::junit(&mut f, &only, &project.root));
        if let Err(e) = written {
            eprintln!("dapwalk: cannot write {}: {e}", path.display());
            return ExitCode::from(EXIT_SETUP);
        }
    }
    if args.bless {
        for (prep, r) in &results {
            match crate::bless::bless(&prep.walkthrough, r) {
                Ok(0) => {}
                Ok(n) => eprintln!(
                    "dapwalk: blessed {n} step(s) of {}; review with git diff",
                    report::display_path(&prep.walkthrough.path, &project.root)
                ),
                Err(e) => eprintln!(
                    "dapwalk: cannot bless {}: {e}",
                    prep.walkthrough.path.display()
                ),
            }
        }
    }
    exit_code(&only)
}

/// The process exit code for a set of results.
pub fn exit_code(results: &[WalkthroughResult]) -> ExitCode {
    if results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Error { .. }) || !r.leftovers.is_empty())
    {
        ExitCode::from(EXIT_SETUP)
    } else if results.iter().any(|r| r.outcome != Outcome::Passed) {
        ExitCode::from(EXIT_MISMATCH)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn build_scenarios(root: &Path) -> Result<(), String> {
    let status = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--quiet", "-p", "scenarios", "--bins"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo to build the scenarios: {e} (install Rust with rustup, or pass --no-build)"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building the scenarios failed ({status})"))
    }
}

async fn play_all(
    prepared: Vec<Prepared>,
    adapters: Vec<(Language, Adapter)>,
    opts: RunOptions,
    jobs: usize,
    progress: Progress,
) -> Vec<(Prepared, WalkthroughResult)> {
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs));
    let opts = Arc::new(opts);
    let mut set = tokio::task::JoinSet::new();
    for (i, prep) in prepared.into_iter().enumerate() {
        let Some(adapter) = adapters
            .iter()
            .find(|(l, _)| *l == prep.walkthrough.language)
            .map(|(_, a)| a.clone())
        else {
            continue;
        };
        let sem = sem.clone();
        let opts = opts.clone();
        let progress = progress.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let name = prep
                .walkthrough
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let total = prep.walkthrough.steps.len();
            progress.started(&name);
            let mut emit = |ev: RunEvent| {
                if let RunEvent::StepStarted { index, .. } = ev {
                    progress.step(&name, index + 1, total);
                }
            };
            let r = runner::play(&prep, &adapter, &opts, &mut emit).await;
            progress.finished(&name);
            (i, prep, r)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(x) = joined {
            out.push(x);
        }
    }
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, p, r)| (p, r)).collect()
}

/// A one-line progress display on stderr, only when it is a terminal.
#[derive(Clone)]
struct Progress {
    inner: Arc<Mutex<ProgressState>>,
}

struct ProgressState {
    enabled: bool,
    total: usize,
    done: usize,
    running: Vec<(String, String)>,
}

impl Progress {
    fn new(total: usize, enabled: bool) -> Progress {
        Progress {
            inner: Arc::new(Mutex::new(ProgressState {
                enabled,
                total,
                done: 0,
                running: Vec::new(),
            })),
        }
    }

    fn with(&self, f: impl FnOnce(&mut ProgressState)) {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut s);
        if s.enabled {
            let running: Vec<String> = s
                .running
                .iter()
                .map(|(n, st)| format!("{n} {st}"))
                .collect();
            let line = format!("[{}/{}] {}", s.done, s.total, running.join(", "));
            let width = 100;
            let line: String = line.chars().take(width).collect();
            eprint!("\r\x1b[K{line}");
        }
    }

    fn started(&self, name: &str) {
        self.with(|s| s.running.push((name.to_string(), "starting".into())));
    }

    fn step(&self, name: &str, n: usize, total: usize) {
        self.with(|s| {
            if let Some(r) = s.running.iter_mut().find(|(x, _)| x == name) {
                r.1 = format!("step {n}/{total}");
            }
        });
    }

    fn finished(&self, name: &str) {
        self.with(|s| {
            s.running.retain(|(x, _)| x != name);
            s.done += 1;
        });
    }

    fn clear(&self) {
        let s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.enabled {
            eprint!("\r\x1b[K");
        }
    }
}
