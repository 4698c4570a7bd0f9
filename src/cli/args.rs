//! The command line's shape (clap): every subcommand and flag, with one shared
//! [`AdapterArgs`] for the flags that choose debug adapters.

use crate::adapters::{Explicit, Registry};
use clap::builder::PossibleValue;
use clap::{Parser, Subcommand, ValueEnum};

use std::path::PathBuf;

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
    pub command: Option<Command>,
    /// The project folder (the one holding walkthroughs/ and scenarios/). Default: the
    /// current folder or the nearest parent that has them.
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

const EXAMPLES: &str = "\
Examples:
  dapwalk run                                   play every walkthrough
  dapwalk run walkthroughs/rust/02-always-deadlock.toml -v
  dapwalk run --junit report.xml                CI: JUnit for the dashboard
  dapwalk run --jobs 1                          one at a time (default: one per core)
  dapwalk list                                  what there is to play
  dapwalk show walkthroughs/rust/01-no-deadlock.toml   the narrative as Markdown
  dapwalk present walkthroughs/rust/02-always-deadlock.toml --record talk.md
  dapwalk adapters                              which debuggers were found
  dapwalk new my_script.py                      a first walkthrough of your own program

Exit codes: 0 all passed, 1 a walkthrough departed from its narrative,
2 could not check (bad file, missing or dead adapter, build failure), 130 interrupted.";

#[derive(Subcommand)]
pub enum Command {
    /// Write a first walkthrough for a program of your own: a draft to edit, then play.
    #[command(long_about = NEW_ABOUT, after_help = NEW_EXAMPLES)]
    New(NewArgs),
    /// Play walkthroughs against a real debugger and check every step (default: all).
    Run(RunArgs),
    /// List the walkthroughs: file, scenario, language, steps, title.
    List {
        /// Walkthrough files or folders (default: walkthroughs/).
        paths: Vec<PathBuf>,
    },
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
    Present(PresentArgs),
    /// Show the last runs of a Rust and a Python walkthrough side by side, and where the
    /// languages differ (play both with `run` first).
    Compare {
        /// One walkthrough file (say walkthroughs/rust/01-no-deadlock.toml).
        first: PathBuf,
        /// Its twin on the other track (say walkthroughs/python/01-no-deadlock.toml).
        second: PathBuf,
    },
    /// Measure how often each racy program deadlocks, per implementation and condition, with
    /// a Wilson 95 % interval per cell (Markdown on stdout; --json, --svg for the rest).
    Spectrum(SpectrumArgs),
    /// Coach a learner's own VS Code session live: listen on a loopback port for VS Code
    /// (a launch configuration's `debugServer`), start the adapter its `type` names, forward
    /// everything, and say in the Debug Console how each stop compares with the walkthrough
    /// and what to do next.
    Coach(CoachArgs),
    /// List the debug adapters found (version, path) and what to install for missing ones.
    Adapters {
        #[command(flatten)]
        adapters: AdapterArgs,
    },
}

const NEW_ABOUT: &str = "\
Write a first walkthrough for a program of your own: a draft to edit, then play with
`dapwalk run FILE`.

PROGRAM is a Python script, a cargo package (its folder or Cargo.toml; --bin picks one of its
binaries) or a built executable. The draft stops at the program's markers, comments
`# @bp NAME` (Python) or `// @bp NAME` (Rust) on the lines to break on, one step per marked
line. A program without markers stops at the first statement of each of its functions,
named by text (`file:PATH:TEXT`, the first line that begins with TEXT), so the program
itself need not change. The last step expects the end that one real run of the program
showed: its exit code and first lines of output, or a hang (every thread blocked for good
within --wait seconds).

dapwalk builds a cargo package into its own cache ($XDG_CACHE_HOME/dapwalk), runs the program
once in its folder, and writes nothing but FILE (and the Cargo.lock cargo writes when a
package has none).";

const NEW_EXAMPLES: &str = "\
Examples:
  dapwalk new force_deadlock.py                 writes force_deadlock.walkthrough.toml
  dapwalk new ~/src/philosophers -o walk.toml   a cargo package
  dapwalk new target/debug/server --wait 3 -o -     print the draft instead

Then edit the draft (titles, `say`, expect.stacks, [[watch]]) and play it:
  dapwalk run force_deadlock.walkthrough.toml";

/// `dapwalk new` options.
#[derive(clap::Args)]
pub struct NewArgs {
    /// The program: a Python script, a cargo package (folder or Cargo.toml) or an executable.
    pub program: PathBuf,
    /// The binary to run, for a cargo package with several.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Where to write the walkthrough; `-` prints it. Default: NAME.walkthrough.toml in the
    /// current folder.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Seconds the program runs before the draft calls it a hang (or still running).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub wait: f64,
    #[command(flatten)]
    pub adapters: AdapterArgs,
}

/// The flags that point at debug adapters, shared by every command that starts one.
#[derive(clap::Args, Clone, Default)]
pub struct AdapterArgs {
    /// Use this lldb-dap instead of searching PATH (lldb-dap, lldb-dap-NN).
    #[arg(long, value_name = "PATH")]
    pub lldb_dap: Option<PathBuf>,
    /// Use this CodeLLDB adapter (…/adapter/codelldb) instead of searching the editors'
    /// extension folders.
    #[arg(long, value_name = "PATH")]
    pub codelldb: Option<PathBuf>,
    /// Use this Python (with debugpy installed) instead of the project's .venv.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

impl AdapterArgs {
    /// The paths given, keyed by the dialect they are for.
    pub fn explicit(&self) -> Explicit {
        let mut e = Explicit::default();
        for (name, path) in [
            ("lldb-dap", &self.lldb_dap),
            ("codelldb", &self.codelldb),
            ("debugpy", &self.python),
        ] {
            if let Some(p) = path {
                e.set(name, p.clone());
            }
        }
        e
    }
}

/// `--adapter`: `auto`, or the name of a dialect in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterChoice(pub Option<&'static str>);

impl ValueEnum for AdapterChoice {
    fn value_variants<'a>() -> &'a [Self] {
        use std::sync::OnceLock;
        static ALL: OnceLock<Vec<AdapterChoice>> = OnceLock::new();
        ALL.get_or_init(|| {
            let mut v = vec![AdapterChoice(None)];
            v.extend(
                Registry::builtin()
                    .names()
                    .into_iter()
                    .map(|n| AdapterChoice(Some(n))),
            );
            v
        })
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match &self.0 {
            None => PossibleValue::new("auto")
                .help("lldb-dap for Rust walkthroughs, debugpy for Python ones."),
            Some(n) => PossibleValue::new(*n),
        })
    }
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A line per walkthrough, a diff for each departure.
    Human,
    /// One JSON object per step and per walkthrough.
    Json,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// Walkthrough files or folders (default: walkthroughs/).
    pub paths: Vec<PathBuf>,
    /// Which debug adapter plays the Rust walkthroughs (Python ones always use debugpy).
    #[arg(long, value_enum, default_value = "auto")]
    pub adapter: AdapterChoice,
    /// Play through this launch configuration of .vscode/launch.json (its type chooses the
    /// adapter, its keys go into the launch request); without PATHS, every walkthrough it fits.
    #[arg(long, value_name = "NAME", conflicts_with = "adapter")]
    pub config: Option<String>,
    #[command(flatten)]
    pub adapters: AdapterArgs,
    /// How many walkthroughs to play at once (default: one per core; `--jobs 1` plays them
    /// one after the other). Each walkthrough has its own adapter and program; the suite's
    /// outcomes were measured to be the same either way (BENCHMARKS.md).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Show every step's observation, not only departures.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Rewrite the expectations of departed steps from what the debugger showed, for review
    /// with `git diff`.
    #[arg(long)]
    pub bless: bool,
    /// Do not build the scenarios first (`cargo build -p scenarios --bins`).
    #[arg(long)]
    pub no_build: bool,
    /// Seconds a step may run before dapwalk pauses the program to look.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub step_timeout: u64,
}

impl RunArgs {
    /// `--jobs`, or one per core.
    pub fn jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    /// `dapwalk` alone: `run` with every default.
    pub fn default_args() -> RunArgs {
        RunArgs {
            paths: Vec::new(),
            adapter: AdapterChoice(None),
            config: None,
            adapters: AdapterArgs::default(),
            jobs: None,
            format: Format::Human,
            junit: None,
            verbose: false,
            bless: false,
            no_build: false,
            step_timeout: 20,
        }
    }
}

/// `dapwalk present` options.
#[derive(clap::Args)]
pub struct PresentArgs {
    /// The walkthrough file.
    pub path: PathBuf,
    /// Advance by itself after SECONDS at each step (for recordings and rehearsal); the keys
    /// still work.
    #[arg(long, value_name = "SECONDS")]
    pub auto: Option<f64>,
    /// Write the session as Markdown to FILE: the `dapwalk show` rendering, with what the
    /// debugger showed at each step played.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Do not build the scenarios first (`cargo build -p scenarios --bins`).
    #[arg(long)]
    pub no_build: bool,
    /// Seconds a step may run before dapwalk pauses the program to look.
    #[arg(long, default_value_t = 20, value_name = "SECONDS")]
    pub step_timeout: u64,
    /// Which debug adapter plays a Rust walkthrough.
    #[arg(long, value_enum, default_value = "auto")]
    pub adapter: AdapterChoice,
    #[command(flatten)]
    pub adapters: AdapterArgs,
}

/// `dapwalk coach`: the walkthrough to follow and where to listen.
#[derive(clap::Args)]
pub struct CoachArgs {
    /// The walkthrough to follow.
    pub path: PathBuf,
    /// The port on 127.0.0.1 to listen on (0: one the system chooses). Default: the one the
    /// walkthrough's `Coach: …` launch configurations name, 4700 + its number for Rust,
    /// 4800 + its number for Python.
    #[arg(long)]
    pub port: Option<u16>,
    /// Write the session as a new walkthrough to FILE when it ends (each stop a step).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Exit after this many sessions (default: serve until interrupted).
    #[arg(long, value_name = "N")]
    pub sessions: Option<usize>,
    #[command(flatten)]
    pub adapters: AdapterArgs,
}

/// `dapwalk spectrum`: the cells to measure and where the results go. Each list flag takes
/// comma-separated values; the cells are every combination of them.
#[derive(clap::Args)]
pub struct SpectrumArgs {
    /// Runs per cell.
    #[arg(long, short = 'n', default_value_t = 200)]
    pub runs: u64,
    /// A run alive after this many seconds counts as deadlocked (its process group is killed).
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub hang_after: f64,
    /// Racy programs (default: no_deadlock, sometimes_deadlock, discourage_deadlock,
    /// unswallow_runtimeerror, context_manager).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub programs: Vec<String>,
    /// Implementations: rust-gil, rust-ft (PYTHON_GIL=0), and one per venv found (venv,
    /// venv-3.10, venv-3.12, ...). Default: all found.
    #[arg(long = "impl", value_delimiter = ',', value_name = "LIST")]
    pub implementations: Vec<String>,
    /// Where stdout goes: pipe, pty.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "pipe,pty"
    )]
    pub stdout: Vec<String>,
    /// CPU pinning: free, one (taskset -c 0).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "free"
    )]
    pub pin: Vec<String>,
    /// PYTHONUNBUFFERED: unset, set (=1).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "unset"
    )]
    pub unbuffered: Vec<String>,
    /// Use the Rust binaries already in target/debug (skip cargo build).
    #[arg(long)]
    pub no_build: bool,
    /// Also write the report as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also write the SVG plot here.
    #[arg(long, value_name = "PATH")]
    pub svg: Option<PathBuf>,
    /// Write the Markdown here instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
}
