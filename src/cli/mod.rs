//! The command line: parse ([`args`]), resolve the flags into a plan, call the library, and
//! turn the outcome into an exit code in one place ([`error`]). Nothing imports this module.

pub mod args;
pub mod error;
mod new;

use crate::adapters::{Adapter, Dialect, Language, Registry};
use crate::engine::{Outcome, RunOptions, WalkthroughResult};
use crate::output::human::{self as report};
use crate::output::palette::Palette;
use crate::output::progress::Progress;
use crate::project::{display_path, Project};
use crate::session::Launcher;
use crate::walkthrough::{self, Prepared};
use args::{AdapterChoice, Cli, CoachArgs, Command, Format, PresentArgs, RunArgs, SpectrumArgs};
use clap::Parser;
use error::{CliError, Exit};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// `dapwalk`'s entry point: parses the command line, runs it, prints an error once.
pub fn main() -> ExitCode {
    // First, while single-threaded: it forks the guardian that ends this run's processes
    // even if dapwalk is killed.
    crate::os::run::arm();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help, a version or a usage error: clap prints it and exits; the guardian is
            // retired first so that it does not outlive the answer.
            crate::os::run::disarm();
            e.exit()
        }
    };
    let code = match run(cli) {
        Ok(exit) => exit.into(),
        Err(e) => error::report(&e),
    };
    crate::os::run::disarm();
    code
}

fn run(cli: Cli) -> Result<Exit, CliError> {
    // Walkthroughs of programs named by path need no project: the current folder stands in.
    let project = Project::find_or_here(cli.project.as_deref()).map_err(|e| e.to_string())?;
    let registry = Registry::builtin();
    let command = cli.command.unwrap_or(Command::Run(RunArgs::default_args()));
    let needs_project = match &command {
        Command::Tour { .. } | Command::Spectrum(_) => true,
        Command::Run(a) => a.paths.is_empty() && a.config.is_none(),
        Command::List { paths } => paths.is_empty(),
        _ => false,
    };
    if needs_project && !project.is_project() {
        return Err(CliError::Setup(format!(
            "{}; to play a walkthrough of your own program, name its file: dapwalk run FILE (dapwalk new PROGRAM writes a first one)",
            crate::project::ProjectError::NotFound(project.root.clone())
        )));
    }
    match command {
        Command::New(args) => new::new(&project, args),
        Command::Adapters { adapters } => {
            let survey = crate::adapters::survey(&registry, &project.root, &adapters.explicit());
            crate::adapters::render_survey(&survey, &mut std::io::stdout().lock())
                .map_err(|e| e.to_string())?;
            Ok(Exit::Passed)
        }
        Command::List { paths } => list(&project, &paths),
        Command::Show { path } => show(&project, &path),
        Command::Compare { first, second } => compare(&project, &first, &second),
        Command::Present(args) => present(&project, &registry, args),
        Command::Run(args) => run_walkthroughs(&project, &registry, args),
        Command::Tour { check } => tour(&project, check),
        Command::Spectrum(args) => spectrum(&project, args),
        Command::Coach(args) => coach(&project, &registry, args),
    }
}

fn list(project: &Project, paths: &[std::path::PathBuf]) -> Result<Exit, CliError> {
    let files = walkthrough::collect(project, paths)?;
    let mut status = Exit::Passed;
    let mut rows = Vec::new();
    for f in files {
        match walkthrough::read(&f) {
            Ok(w) => rows.push((display_path(&f, &project.root), w)),
            Err(errs) => {
                for e in errs {
                    eprintln!("{e}");
                }
                status = Exit::CouldNotCheck;
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
    Ok(status)
}

fn tour(project: &Project, check: bool) -> Result<Exit, CliError> {
    let paths = if check {
        crate::editor::tour::check_files(project)?
    } else {
        crate::editor::tour::write(project)?
    };
    if check && !paths.is_empty() {
        for p in &paths {
            eprintln!("dapwalk: {} differs from the walkthroughs", p.display());
        }
        eprintln!("dapwalk: run `dapwalk tour` and commit the result");
        return Ok(Exit::Departed);
    }
    for p in &paths {
        println!("wrote {}", p.display());
    }
    Ok(Exit::Passed)
}

fn show(project: &Project, path: &Path) -> Result<Exit, CliError> {
    let w = walkthrough::load(path).map_err(CliError::Located)?;
    let last = crate::store::lastrun::load(&project.for_walkthrough(path).root, &w);
    let text = crate::output::markdown::render(&w, last.as_ref(), &project.root);
    print!("{text}");
    Ok(Exit::Passed)
}

fn compare(project: &Project, first: &Path, second: &Path) -> Result<Exit, CliError> {
    let mut sides = Vec::new();
    for path in [first, second] {
        let w = walkthrough::load(path).map_err(CliError::Located)?;
        let Some(last) = crate::store::lastrun::load(&project.for_walkthrough(path).root, &w)
        else {
            return Err(CliError::Setup(format!(
                "{} has no last run; play it first: dapwalk run {}",
                path.display(),
                path.display()
            )));
        };
        sides.push((w, last));
    }
    let text =
        crate::output::compare::render((&sides[0].0, &sides[0].1), (&sides[1].0, &sides[1].1));
    print!("{text}");
    Ok(Exit::Passed)
}

/// The dialect `--adapter` names, if any.
fn chosen(
    registry: &Registry,
    choice: &AdapterChoice,
) -> Result<Option<&'static dyn Dialect>, CliError> {
    match &choice.0 {
        None => Ok(None),
        Some(name) => registry.by_name(name).map(Some).ok_or_else(|| {
            CliError::Setup(format!(
                "no adapter {name:?}; known: {}",
                registry.names().join(", ")
            ))
        }),
    }
}

/// The dialect that plays each track needed. A Rust track's adapter chosen with `--adapter`
/// (or a launch configuration) plays the Rust walkthroughs and leaves the others to their
/// defaults; choosing the Python track's adapter plays the Python walkthroughs only.
fn plan_dialects(
    registry: &Registry,
    chosen: Option<&'static dyn Dialect>,
    needed: &[Language],
) -> Vec<&'static dyn Dialect> {
    let mut out = Vec::new();
    for &lang in needed {
        let d = match chosen {
            Some(c) if c.language() == lang => Some(c),
            Some(c) if c.language() == Language::Python => None,
            _ => registry.default_for(lang),
        };
        out.extend(d);
    }
    out
}

fn run_walkthroughs(
    project: &Project,
    registry: &Registry,
    args: RunArgs,
) -> Result<Exit, CliError> {
    // Watched from the start, so that a signal while files load or programs build still
    // ends the run with its own exit code.
    let rt = runtime()?;
    let mut signals = {
        let _in_runtime = rt.enter();
        crate::session::Signals::watch()
    };
    end_strays();
    check_python(args.adapters.python.as_deref())?;
    // The Python that plays the Python track also resolves its stdlib markers.
    let project = &project.clone().with_python(args.adapters.python.clone());
    let config = match args.config.as_deref() {
        Some(name) => Some(crate::editor::vscode::for_run(project, name, &args.paths)?),
        None => None,
    };
    let paths = config
        .as_ref()
        .map_or(args.paths.clone(), |c| c.files.clone());
    let files = walkthrough::collect(project, &paths)?;
    if files.is_empty() {
        return Err(CliError::Setup("no walkthrough files found".into()));
    }
    // A file with errors is not played, and says every error it has; the good files still
    // play, and the run ends with exit 2 (could not check them all).
    let (prepared, bad) = walkthrough::load_each(project, &files);
    for b in &bad {
        for e in &b.errors {
            eprintln!("{e}");
        }
    }

    // Find every adapter needed before starting any, so a missing one is said once, up front.
    let mut needed: Vec<Language> = prepared.iter().map(|p| p.walkthrough.language).collect();
    needed.sort();
    needed.dedup();
    let chosen = match &config {
        Some(c) => Some(c.dialect),
        None => chosen(registry, &args.adapter)?,
    };
    let explicit = args.adapters.explicit();
    let mut launchers: Vec<Arc<dyn Launcher>> = Vec::new();
    for d in plan_dialects(registry, chosen, &needed) {
        let adapter = d
            .discover(explicit.get(d.name()), &project.root)
            .map_err(|e| e.to_string())?;
        launchers.push(Arc::new(adapter));
    }
    let prepared: Vec<Prepared> = prepared
        .into_iter()
        .filter(|p| {
            launchers
                .iter()
                .any(|l| l.dialect().language() == p.walkthrough.language)
        })
        .collect();

    build_all(project, &prepared, args.no_build)?;

    let opts = RunOptions {
        step_timeout: std::time::Duration::from_secs(args.step_timeout.max(1)),
        launch_extra: config.map(|c| c.launch_keys).unwrap_or_default(),
        // Blessing writes what the debugger showed, every thread of it.
        every_stack: args.bless,
        ..RunOptions::default()
    };
    let progress = Progress::new(prepared.len());
    let results = rt.block_on(crate::session::until_signal(
        &mut signals,
        crate::engine::play_all(prepared, launchers, opts, args.jobs(), progress.callback()),
    ));
    progress.clear();
    let results = results.map_err(CliError::Interrupted)?;

    let palette = Palette::for_stdout();
    let mut out = std::io::stdout().lock();
    for (prep, r) in &results {
        let _ = match args.format {
            Format::Human => report::human(&mut out, r, &project.root, palette, args.verbose),
            Format::Json => crate::output::json::json_lines(&mut out, r, &project.root),
        };
        let home = project.for_walkthrough(&prep.walkthrough.path);
        let _ = crate::store::lastrun::save(&home.root, &prep.walkthrough, r);
    }
    let only: Vec<WalkthroughResult> = results.iter().map(|(_, r)| r.clone()).collect();
    if args.format == Format::Human {
        let _ = report::summary(&mut out, &only, &bad);
    }
    if args.format == Format::Json {
        for b in &bad {
            let _ = crate::output::json::bad_file(&mut out, b, &project.root);
        }
    }
    if let Some(path) = &args.junit {
        std::fs::File::create(path)
            .and_then(|mut f| crate::output::junit::junit(&mut f, &only, &bad, &project.root))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if args.bless {
        for (prep, r) in &results {
            let shown = display_path(&prep.walkthrough.path, &project.root);
            match crate::store::bless::bless(&prep.walkthrough, r) {
                Ok(done) => {
                    for line in crate::store::bless::report_lines(&done, &shown) {
                        eprintln!("dapwalk: {line}");
                    }
                }
                Err(e) => eprintln!(
                    "dapwalk: cannot bless {}: {e}",
                    prep.walkthrough.path.display()
                ),
            }
        }
    }
    if !bad.is_empty() {
        return Ok(Exit::CouldNotCheck);
    }
    Ok(exit_for(&only))
}

/// What `present` and `coach` do first with their one walkthrough: end what earlier runs left,
/// check the Python asked for, and load and prepare the file against the project.
fn one_walkthrough(
    project: &Project,
    path: &Path,
    python: Option<&Path>,
) -> Result<(Project, walkthrough::Prepared), CliError> {
    end_strays();
    check_python(python)?;
    let project = project.clone().with_python(python.map(Path::to_path_buf));
    let prep = walkthrough::load(path)
        .and_then(|w| walkthrough::prepare(&project, w))
        .map_err(CliError::Located)?;
    Ok((project, prep))
}

fn present(project: &Project, registry: &Registry, args: PresentArgs) -> Result<Exit, CliError> {
    let (project, prep) = &one_walkthrough(project, &args.path, args.adapters.python.as_deref())?;
    let lang = prep.walkthrough.language;
    let dialect = plan_dialects(registry, chosen(registry, &args.adapter)?, &[lang])
        .into_iter()
        .next()
        .ok_or_else(|| {
            CliError::Setup(format!(
                "no adapter chosen plays a {} walkthrough",
                lang.as_str()
            ))
        })?;
    let adapter: Adapter = dialect
        .discover(args.adapters.explicit().get(dialect.name()), &project.root)
        .map_err(|e| e.to_string())?;
    build_all(project, std::slice::from_ref(prep), args.no_build)?;
    let options = crate::present::PresentOptions {
        auto: args
            .auto
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(std::time::Duration::from_secs_f64),
        record: args.record.clone(),
        step_timeout: std::time::Duration::from_secs(args.step_timeout),
    };
    use crate::present::Presented;
    match crate::present::present(project, prep, &adapter, &options)? {
        Presented::AsWritten => Ok(Exit::Passed),
        Presented::Departed => Ok(Exit::Departed),
        Presented::CouldNotPlay => Ok(Exit::CouldNotCheck),
        Presented::Interrupted(s) => Err(CliError::Interrupted(s)),
    }
}

fn coach(project: &Project, registry: &Registry, args: CoachArgs) -> Result<Exit, CliError> {
    let (project, prep) = &one_walkthrough(project, &args.path, args.adapters.python.as_deref())?;
    let stdlib = match prep.walkthrough.language {
        Language::Python => project.python_stdlib().ok(),
        Language::Rust => None,
    };
    let options = crate::coach::CoachOptions {
        port: args
            .port
            .unwrap_or_else(|| crate::editor::coach::port(&prep.walkthrough)),
        explicit: args.adapters.explicit(),
        record: args.record.clone(),
        stdlib,
        sessions: args.sessions,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let mut signals = crate::session::Signals::watch();
        match crate::coach::serve(prep, registry, &options, &mut signals).await {
            Ok(()) => Ok(Exit::Passed),
            Err(crate::coach::CoachError::Interrupted(s)) => Err(CliError::Interrupted(s)),
            Err(e) => Err(CliError::Setup(e.to_string())),
        }
    })
}

/// Ends what an earlier dapwalk run left (its dapwalk and its guardian both gone, say after
/// a SIGKILL of the whole group), and says so: those processes are deadlocked programs and
/// debuggers nobody will ever end otherwise.
fn end_strays() {
    for s in crate::os::run::end_strays() {
        let owner = s.mark.split('-').next().unwrap_or("?");
        eprintln!(
            "dapwalk: ended pid {} ({}), left by an earlier dapwalk run (pid {owner}) that is gone",
            s.pid,
            cut(&s.cmdline, 80)
        );
    }
}

/// An explicit `--python` that is not there is said as such, before anything asks it for
/// its standard library or debugpy.
fn check_python(python: Option<&Path>) -> Result<(), CliError> {
    let Some(p) = python else { return Ok(()) };
    match std::fs::metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::Setup(format!(
            "--python {}: no such file",
            p.display()
        ))),
        Err(e) => Err(CliError::Setup(format!("--python {}: {e}", p.display()))),
        Ok(m) if m.is_dir() => Err(CliError::Setup(format!(
            "--python {}: is a folder, not a Python",
            p.display()
        ))),
        Ok(_) => Ok(()),
    }
}

/// Builds what the walkthroughs need, each thing once: the scenarios of every project they
/// belong to, every cargo package they name. With `--no-build`, checks instead that it is
/// built.
fn build_all(project: &Project, prepared: &[Prepared], no_build: bool) -> Result<(), CliError> {
    let mut done: Vec<&walkthrough::Build> = Vec::new();
    for p in prepared {
        let Some(build) = &p.build else { continue };
        // Each binary is checked for staleness; each build is run once.
        if done.contains(&build) && !no_build {
            continue;
        }
        done.push(build);
        match (build, no_build) {
            (walkthrough::Build::Scenarios(root), false) => Project::new(root).build_programs()?,
            (walkthrough::Build::Own(own), false) => crate::project::build_own(own)?,
            (walkthrough::Build::Scenarios(_), true) => check_built(
                &project.for_walkthrough(&p.walkthrough.path),
                &p.walkthrough,
            )?,
            (walkthrough::Build::Own(own), true) if !own.launch.is_file() => {
                return Err(CliError::Setup(format!(
                    "--no-build: {} is not built; drop --no-build",
                    own.launch.display()
                )))
            }
            (walkthrough::Build::Own(_), true) => {}
        }
    }
    Ok(())
}

/// With `--no-build` the Rust program must already be built, and from the sources as they
/// are: a missing binary otherwise surfaces as an adapter's puzzling launch error, and a
/// stale one plays a program the walkthrough was not written for.
fn check_built(project: &Project, w: &walkthrough::Walkthrough) -> Result<(), CliError> {
    if w.language != Language::Rust {
        return Ok(());
    }
    let binary = project.launch_program(w.language, &w.scenario);
    let shown = display_path(&binary, &project.root);
    let built = match std::fs::metadata(&binary).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(_) => {
            return Err(CliError::Setup(format!(
                "--no-build: {shown} is not built; run cargo build -p scenarios --bins, or drop --no-build"
            )))
        }
    };
    let mut newest: Option<(std::time::SystemTime, std::path::PathBuf)> = None;
    // The binary depends on the port and on its own source, not on the other programs'
    // sources: cargo does not relink it when another binary changes.
    let bins = project.port_dir().join("bin");
    let own = project.program_source(w.language, &w.scenario);
    let sources = walkdir::WalkDir::new(project.port_dir())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.into_path())
        .filter(|p| !p.starts_with(&bins) || *p == own)
        .chain(std::iter::once(project.root.join("scenarios/Cargo.toml")));
    for src in sources {
        if let Ok(t) = std::fs::metadata(&src).and_then(|m| m.modified()) {
            if newest.as_ref().is_none_or(|(n, _)| t > *n) {
                newest = Some((t, src));
            }
        }
    }
    match newest {
        Some((t, src)) if t > built => Err(CliError::Setup(format!(
            "--no-build: {shown} is stale ({} changed after it was built); run cargo build -p scenarios --bins, or drop --no-build",
            display_path(&src, &project.root)
        ))),
        _ => Ok(()),
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Setup(format!("cannot start the async runtime: {e}")))
}

/// The exit code for a set of results: 2 when any could not be checked or left a process
/// behind, 1 when any departed, else 0.
pub fn exit_for(results: &[WalkthroughResult]) -> Exit {
    if results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Error { .. }) || !r.leftovers.is_empty())
    {
        Exit::CouldNotCheck
    } else if results.iter().any(|r| r.outcome != Outcome::Passed) {
        Exit::Departed
    } else {
        Exit::Passed
    }
}

fn spectrum(project: &Project, args: SpectrumArgs) -> Result<Exit, CliError> {
    let plan = crate::spectrum::Plan::resolve(
        project,
        &args.programs,
        &args.implementations,
        &args.stdout,
        &args.pin,
        &args.unbuffered,
        args.runs,
        args.hang_after,
    )?;
    if crate::spectrum::needs_rust(&plan) && !args.no_build {
        project.build_programs()?;
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let report = crate::spectrum::measure_with_bar(project, &plan, &command)?;
    let markdown = crate::spectrum::render::markdown(&report);
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    match &args.markdown {
        Some(path) => write(path, &markdown)?,
        None => print!("{markdown}"),
    }
    if let Some(path) = &args.json {
        write(path, &crate::spectrum::render::json(&report))?;
    }
    if let Some(path) = &args.svg {
        write(path, &crate::spectrum::render::svg(&report))?;
    }
    Ok(Exit::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_adapter_choice_plays_only_python() {
        let r = Registry::builtin();
        let d = plan_dialects(
            &r,
            r.by_name("debugpy"),
            &[Language::Rust, Language::Python],
        );
        assert_eq!(d.iter().map(|d| d.name()).collect::<Vec<_>>(), ["debugpy"]);
        let d = plan_dialects(
            &r,
            r.by_name("codelldb"),
            &[Language::Rust, Language::Python],
        );
        assert_eq!(
            d.iter().map(|d| d.name()).collect::<Vec<_>>(),
            ["codelldb", "debugpy"]
        );
        let d = plan_dialects(&r, None, &[Language::Rust]);
        assert_eq!(d.iter().map(|d| d.name()).collect::<Vec<_>>(), ["lldb-dap"]);
    }
}
