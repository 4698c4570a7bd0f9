//! Guided tours for the editor, generated from the walkthroughs so they never drift.
//!
//! `dapwalk tour` writes one CodeTour file per walkthrough under `.tours/` (each step sits on
//! the marker line the walkthrough breaks on, and says what to set, what to do, what the
//! debugger will show and which watch expressions to add), the talk's breakpoints and watch
//! list as `.vscode/dapwalk-breakpoints.md`, and the README's "Follow along in VS Code"
//! section, and the `Coach: …` blocks of `.vscode/launch.json` and `.vscode/tasks.json`
//! ([`super::coach`]). `dapwalk tour --check` regenerates in memory and names every file that differs.

use super::coach;
use super::vscode::{self, Config};
use crate::adapters::{markdown_code, Dialect, Language, Registry};
use crate::checks::{check, Observation};
use crate::project::{display_path, Project};
use crate::walkthrough::{Action, MarkerRef, Prepared, Step};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

pub const TOURS_DIR: &str = ".tours";
pub const BREAKPOINTS_MD: &str = ".vscode/dapwalk-breakpoints.md";
pub const README: &str = "README.md";
pub const README_BEGIN: &str = "<!-- vscode:begin -->";
pub const README_END: &str = "<!-- vscode:end -->";

/// A generated file: its path relative to the project root, and its full text.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub path: PathBuf,
    pub text: String,
}

#[derive(Serialize)]
struct Tour {
    #[serde(rename = "$schema")]
    schema: &'static str,
    title: String,
    description: String,
    steps: Vec<TourStep>,
}

#[derive(Serialize)]
struct TourStep {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    title: String,
    description: String,
}

/// A marker's place as the learner sees it: a workspace file and line, or (for markers
/// outside the workspace, such as the standard library's) only its name.
struct Place {
    file: Option<String>,
    line: usize,
}

fn place(prep: &Prepared, root: &Path, r: &MarkerRef) -> Place {
    match prep.markers.resolve(r) {
        Ok(site) => match site.file.strip_prefix(root) {
            Ok(rel) => Place {
                file: Some(rel.display().to_string()),
                line: site.line,
            },
            Err(_) => Place {
                file: None,
                line: site.line,
            },
        },
        Err(_) => Place {
            file: None,
            line: 0,
        },
    }
}

fn describe(prep: &Prepared, root: &Path, r: &MarkerRef) -> String {
    let p = place(prep, root, r);
    match p.file {
        Some(f) => format!("`{r}` at `{f}:{}`", p.line),
        None => format!("`{r}`"),
    }
}

/// The adapter a tour is written for: the one CI checks each language on.
fn tour_dialect(lang: Language) -> &'static dyn Dialect {
    match Registry::builtin().default_for(lang) {
        Some(d) => d,
        // Every track has a default dialect in the builtin registry.
        None => &crate::adapters::lldb_dap::LLDB_DAP,
    }
}

fn tour_name(prep: &Prepared) -> String {
    let stem = prep
        .walkthrough
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{}-{stem}", prep.walkthrough.language.as_str())
}

/// A tour's title, "Rust 02: …": the track, the walkthrough's number and its title.
fn tour_title(prep: &Prepared) -> String {
    let stem = tour_name(prep);
    let number = stem
        .split('-')
        .nth(1)
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    format!(
        "{}{number}: {}",
        title_case(prep.walkthrough.language),
        prep.walkthrough.title
    )
}

fn title_case(lang: Language) -> &'static str {
    match lang {
        Language::Rust => "Rust",
        Language::Python => "Python",
    }
}

/// The configuration names a learner picks for `prep`, per adapter.
fn configs_for(prep: &Prepared, configs: &[Config]) -> Vec<(&'static dyn Dialect, String)> {
    Registry::builtin()
        .for_language(prep.walkthrough.language)
        .into_iter()
        .filter_map(|d| {
            vscode::for_walkthrough(configs, &prep.walkthrough, d).map(|c| (d, c.name.clone()))
        })
        .collect()
}

/// The configuration names a learner picks for `prep`, as inline code joined by "or".
fn config_names(prep: &Prepared, configs: &[Config]) -> String {
    configs_for(prep, configs)
        .iter()
        .map(|(_, n)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The watch expressions to type into the Watch pane for `expr` on `kind`.
fn watch_exprs(dialect: &dyn Dialect, expr: &str) -> String {
    dialect
        .watch_expressions(expr)
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// One text per dialect, said once when every dialect spells it the same, else each with
/// its adapter's name (`lldb-dap: …; CodeLLDB: …`).
fn per_dialect(dialects: &[&'static dyn Dialect], text: impl Fn(&dyn Dialect) -> String) -> String {
    let texts: Vec<(&'static str, String)> = dialects
        .iter()
        .map(|&d| (d.display_name(), text(d)))
        .collect();
    match texts.first() {
        Some((_, first)) if texts.iter().all(|(_, t)| t == first) => first.clone(),
        _ => texts
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The dialects a walkthrough's editor text is written for: each one it has a launch
/// configuration for, else the one CI checks its track on.
fn text_dialects(prep: &Prepared, configs: &[Config]) -> Vec<&'static dyn Dialect> {
    let mut ds: Vec<&'static dyn Dialect> = configs_for(prep, configs)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    if ds.is_empty() {
        ds.push(tour_dialect(prep.walkthrough.language));
    }
    ds
}

fn action_text(step: &Step, dialects: &[&'static dyn Dialect]) -> String {
    let on = step
        .thread
        .as_ref()
        .map(|t| format!(" with **{t}** selected in the Call Stack pane"))
        .unwrap_or_default();
    let mut s = match step.action {
        Action::Start => format!("Start debugging (F5) with the configuration above{on}."),
        Action::Continue => format!("Continue (F5){on}."),
        Action::Next => format!("Step over (F10){on}."),
        Action::StepIn => format!("Step into (F11){on}."),
        Action::StepOut => format!("Step out (Shift+F11){on}."),
        Action::Pause => format!("Pause (F6){on}."),
        Action::Stay => "Do not run: look at the panes again.".to_string(),
    };
    if !step.hold.is_empty() {
        let how = per_dialect(dialects, |d| d.editor_hold_hint());
        let _ = write!(
            s,
            " Before that, keep {} suspended ({how}).",
            step.hold.join(", ")
        );
    }
    if !step.evaluate.is_empty() {
        let ex = per_dialect(dialects, |d| {
            step.evaluate
                .iter()
                .map(|e| markdown_code(&d.editor_console_expression(e)))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let _ = write!(s, " Then type into the Debug Console: {ex}.");
    }
    if step.expect.end.as_ref().map(|e| &e.value) == Some(&crate::walkthrough::ExpectEnd::Hang) {
        s.push_str(
            " The program hangs: press Pause (F6) after a moment and look at every thread's stack.",
        );
    }
    s
}

fn step_description(
    prep: &Prepared,
    root: &Path,
    i: usize,
    dialects: &[&'static dyn Dialect],
) -> String {
    let w = &prep.walkthrough;
    let step = &w.steps[i];
    let mut d = String::new();
    let _ = writeln!(d, "**Step {} of {}**\n", i + 1, w.steps.len());
    if !step.say.trim().is_empty() {
        let _ = writeln!(d, "{}\n", step.say.trim());
    }
    if !step.breakpoints.is_empty()
        || !step.clear.is_empty()
        || !step.function_breakpoints.is_empty()
    {
        let _ = writeln!(d, "**Breakpoints (F9):**\n");
        for m in &step.breakpoints {
            let _ = writeln!(d, "- set {}", describe(prep, root, &m.value));
        }
        for m in &step.clear {
            let _ = writeln!(d, "- remove {}", describe(prep, root, &m.value));
        }
        for f in &step.function_breakpoints {
            let _ = writeln!(d, "- add a function breakpoint on `{f}`");
        }
        let _ = writeln!(d);
    }
    let _ = writeln!(d, "**Do:** {}\n", action_text(step, dialects));
    let expected = check(&step.expect, &Observation::default()).expected;
    if !expected.is_empty() {
        let _ = writeln!(
            d,
            "**The debugger shows** (Call Stack, Watch, Debug Console):\n"
        );
        for l in expected {
            let _ = writeln!(d, "- {l}");
        }
        let _ = writeln!(d);
    }
    let watches: Vec<_> = if i == 0 {
        w.watch.iter().collect()
    } else {
        w.watch
            .iter()
            .filter(|x| step.expect.watch.contains_key(&x.name))
            .collect()
    };
    if !watches.is_empty() {
        let _ = writeln!(
            d,
            "**Watch pane{}:**\n",
            if i == 0 { " (add these now)" } else { "" }
        );
        for x in watches {
            let _ = writeln!(
                d,
                "- {}: {}",
                x.name,
                per_dialect(dialects, |dl| watch_exprs(dl, &x.expr))
            );
        }
        let _ = writeln!(d);
    }
    d.trim_end().to_string()
}

/// Where a step's tour stop sits: the first breakpoint it sets, else where it expects to
/// stop, else where the previous step sat.
fn step_marker(step: &Step) -> Option<&MarkerRef> {
    step.breakpoints.first().map(|m| &m.value).or_else(|| {
        step.expect
            .stopped
            .as_ref()
            .and_then(|s| s.value.at.as_ref())
    })
}

fn tour(prep: &Prepared, root: &Path, configs: &[Config]) -> String {
    let w = &prep.walkthrough;
    let dialects = text_dialects(prep, configs);
    let program = display_path(&prep.source, root);
    let mut steps = Vec::new();
    // Before any breakpoint: the program's first marker, else its first line.
    let first_marker = prep
        .markers
        .iter()
        .filter(|(_, s)| s.file == prep.source)
        .map(|(_, s)| s.line)
        .min()
        .unwrap_or(1);
    let mut at = Place {
        file: Some(program.clone()),
        line: first_marker,
    };
    let cfgs = configs_for(prep, configs);
    let mut intro = String::new();
    let _ = writeln!(intro, "**{}**\n", w.title);
    if !w.intro.trim().is_empty() {
        let _ = writeln!(intro, "{}\n", w.intro.trim());
    }
    if let Some((_, name)) = cfgs.first() {
        let _ = writeln!(
            intro,
            "**Configuration:** pick `{name}` in Run and Debug{}.\n",
            cfgs.iter()
                .skip(1)
                .map(|(_, n)| format!(" (or `{n}`)"))
                .collect::<String>()
        );
    }
    if !w.env.is_empty() {
        let env: Vec<String> = w.env.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        let _ = writeln!(intro, "It sets the environment {}.\n", env.join(", "));
    }
    let _ = writeln!(
        intro,
        "Checked on a real debugger by `dapwalk run {}`.",
        display_path(&w.path, root)
    );
    let first = w
        .steps
        .first()
        .and_then(step_marker)
        .map(|r| place(prep, root, r));
    let intro_at = match &first {
        Some(p) if p.file.is_some() => Place {
            file: p.file.clone(),
            line: p.line,
        },
        _ => Place {
            file: at.file.clone(),
            line: at.line,
        },
    };
    steps.push(TourStep {
        file: intro_at.file,
        line: Some(intro_at.line),
        title: "Introduction".into(),
        description: intro.trim_end().to_string(),
    });
    for (i, step) in w.steps.iter().enumerate() {
        if let Some(r) = step_marker(step) {
            let p = place(prep, root, r);
            if p.file.is_some() {
                at = p;
            }
        }
        let mut description = step_description(prep, root, i, &dialects);
        // A stop outside the workspace (the standard library) is named in the text.
        if let Some(r) = step_marker(step) {
            if place(prep, root, r).file.is_none() {
                description.push_str(&format!("\n\n(The breakpoint `{r}` is outside this workspace; the tour stays on the program.)"));
            }
        }
        steps.push(TourStep {
            file: at.file.clone(),
            line: Some(at.line),
            title: format!("{}. {}", i + 1, step.title),
            description,
        });
    }
    let t = Tour {
        schema: "https://aka.ms/codetour-schema",
        title: tour_title(prep),
        description: format!(
            "Generated by `dapwalk tour` from {}; edit the walkthrough, not this file.",
            display_path(&w.path, root)
        ),
        steps,
    };
    serde_json::to_string_pretty(&t).unwrap_or_default() + "\n"
}

fn link(file: &str, line: usize, from_vscode_dir: bool) -> String {
    let prefix = if from_vscode_dir { "../" } else { "" };
    format!("[`{file}:{line}`]({prefix}{file}#L{line})")
}

fn breakpoints_md(preps: &[Prepared], root: &Path, configs: &[Config]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!-- Generated by `dapwalk tour` from walkthroughs/; edit those, not this file. -->"
    );
    let _ = writeln!(s, "# The talk's breakpoints and watch list\n");
    let _ = writeln!(
        s,
        "VS Code cannot import breakpoints, so here they are as links: open this file's preview \
         (Ctrl+Shift+V), click a location, press F9. The tours in `.tours/` (CodeTour extension) \
         walk you to each one in order. Watch expressions: copy them into the Watch pane (+).\n"
    );
    let _ = writeln!(s, "## Breakpoints\n");
    let _ = writeln!(s, "| Marker | Location | Walkthroughs |");
    let _ = writeln!(s, "| --- | --- | --- |");
    let mut all: BTreeMap<(String, usize, String), Vec<String>> = BTreeMap::new();
    for prep in preps {
        for step in &prep.walkthrough.steps {
            for m in &step.breakpoints {
                let p = place(prep, root, &m.value);
                let key = (
                    p.file.unwrap_or_else(|| "(outside the workspace)".into()),
                    p.line,
                    m.value.to_string(),
                );
                let users = all.entry(key).or_default();
                let name = tour_name(prep);
                if !users.contains(&name) {
                    users.push(name);
                }
            }
        }
    }
    for ((file, line, marker), users) in &all {
        let loc = if file.starts_with('(') {
            file.clone()
        } else {
            link(file, *line, true)
        };
        let _ = writeln!(s, "| `{marker}` | {loc} | {} |", users.join(", "));
    }
    let _ = writeln!(s, "\n## Watch expressions\n");
    let registry = Registry::builtin();
    let _ = writeln!(
        s,
        "| Watch | {} |",
        registry
            .all()
            .iter()
            .map(|d| d.display_name())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(s, "| --- |{}", " --- |".repeat(registry.all().len()));
    let mut seen: Vec<(String, String)> = Vec::new();
    for prep in preps {
        for x in &prep.walkthrough.watch {
            if !seen.iter().any(|(n, e)| *n == x.name && *e == x.expr) {
                seen.push((x.name.clone(), x.expr.clone()));
            }
        }
    }
    seen.sort();
    for (name, expr) in &seen {
        let cells: Vec<String> = registry
            .all()
            .iter()
            .map(|&d| watch_exprs(d, expr))
            .collect();
        let _ = writeln!(s, "| {name} | {} |", cells.join(" | "));
    }
    for lang in [Language::Rust, Language::Python] {
        debug_console_table(&mut s, preps, root, lang);
    }
    let _ = writeln!(s, "\n## By walkthrough\n");
    for prep in preps {
        let w = &prep.walkthrough;
        let cfgs = config_names(prep, configs);
        let _ = writeln!(
            s,
            "- **{}** ({}; tour `{TOURS_DIR}/{}.tour`; configuration {}): {}",
            w.title,
            display_path(&w.path, root),
            tour_name(prep),
            cfgs,
            breakpoint_sequence(prep, root, true)
        );
    }
    s
}

/// The Debug Console lines of one track, in each of its adapters' own syntax: listing the
/// threads, holding and releasing one, and every expression a walkthrough evaluates.
fn debug_console_table(s: &mut String, preps: &[Prepared], root: &Path, lang: Language) {
    let dialects = Registry::builtin().for_language(lang);
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let cell = |t: Option<String>| t.map(|t| markdown_code(&t)).unwrap_or_else(|| "—".into());
    if dialects
        .iter()
        .any(|d| d.editor_hold_command(true).is_some())
    {
        rows.push((
            "list the threads and their tids".into(),
            dialects
                .iter()
                .map(|d| cell(d.editor_thread_list()))
                .collect(),
        ));
        rows.push((
            "hold a thread".into(),
            dialects
                .iter()
                .map(|d| cell(d.editor_hold_command(true)))
                .collect(),
        ));
        rows.push((
            "release it".into(),
            dialects
                .iter()
                .map(|d| cell(d.editor_hold_command(false)))
                .collect(),
        ));
    }
    for prep in preps.iter().filter(|p| p.walkthrough.language == lang) {
        for (i, step) in prep.walkthrough.steps.iter().enumerate() {
            for e in &step.evaluate {
                rows.push((
                    format!(
                        "{} step {}",
                        display_path(&prep.walkthrough.path, root),
                        i + 1
                    ),
                    dialects
                        .iter()
                        .map(|d| cell(Some(d.editor_console_expression(e))))
                        .collect(),
                ));
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Debug Console ({})\n", title_case(lang));
    let _ = writeln!(
        s,
        "| To | {} |",
        dialects
            .iter()
            .map(|d| d.display_name())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(s, "| --- |{}", " --- |".repeat(dialects.len()));
    for (what, cells) in rows {
        let _ = writeln!(s, "| {what} | {} |", cells.join(" | "));
    }
}

/// Where a person types a spelling in VS Code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpellingPlace {
    /// The Watch pane (DAP `evaluate` in the `watch` context).
    Watch,
    /// The Debug Console (`evaluate` in the `repl` context); `TID` stands for a thread id.
    Console,
}

/// Everything the generated files tell a user of `dialect` to type, each with where: so a
/// test can check each one against what that adapter accepted in a recorded session.
pub fn spellings(
    project: &Project,
    dialect: &dyn Dialect,
) -> Result<Vec<(SpellingPlace, String)>, String> {
    let files = crate::walkthrough::collect(project, &[])?;
    let preps = crate::walkthrough::load_all(project, &files).map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut out: Vec<(SpellingPlace, String)> = Vec::new();
    let mut add = |place, text: String| {
        if !out.contains(&(place, text.clone())) {
            out.push((place, text));
        }
    };
    for prep in preps
        .iter()
        .filter(|p| p.walkthrough.language == dialect.language())
    {
        for x in &prep.walkthrough.watch {
            for e in dialect.watch_expressions(&x.expr) {
                add(SpellingPlace::Watch, e);
            }
        }
        for step in &prep.walkthrough.steps {
            for e in &step.evaluate {
                add(SpellingPlace::Console, dialect.editor_console_expression(e));
            }
        }
    }
    for line in [
        dialect.editor_thread_list(),
        dialect.editor_hold_command(true),
        dialect.editor_hold_command(false),
    ]
    .into_iter()
    .flatten()
    {
        add(SpellingPlace::Console, line);
    }
    Ok(out)
}

fn breakpoint_sequence(prep: &Prepared, root: &Path, from_vscode_dir: bool) -> String {
    let mut parts = Vec::new();
    for (i, step) in prep.walkthrough.steps.iter().enumerate() {
        for m in &step.breakpoints {
            let p = place(prep, root, &m.value);
            let loc = match p.file {
                Some(f) => link(&f, p.line, from_vscode_dir),
                None => "outside the workspace".into(),
            };
            parts.push(format!("step {}: `{}` {loc}", i + 1, m.value));
        }
    }
    if parts.is_empty() {
        "no breakpoints".into()
    } else {
        parts.join("; ")
    }
}

fn readme_section(preps: &[Prepared], root: &Path, configs: &[Config]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{README_BEGIN}");
    let _ = writeln!(
        s,
        "<!-- Generated by `dapwalk tour`; `dapwalk tour --check` fails when it drifts. -->"
    );
    let _ = writeln!(s, "## Follow along in VS Code\n");
    let _ = writeln!(
        s,
        "1. Open the folder in VS Code and accept the recommended extensions \
         (`.vscode/extensions.json`): **CodeLLDB** (`vadimcn.vscode-lldb`) or LLVM's **lldb-dap** \
         (`llvm-vs-code-extensions.lldb-dap`) for the Rust scenarios, **Python Debugger** \
         (`ms-python.debugpy`) for the Python twins, and **CodeTour** (`vsls-contrib.codetour`) \
         for the guided tours. lldb-dap needs an `lldb-dap` binary (`scripts/setup` installs \
         `lldb-dap-22`; set the extension's `lldb-dap.executable-path` to it)."
    );
    let _ = writeln!(
        s,
        "2. In Run and Debug, pick the configuration the table names. Each is in \
         `.vscode/launch.json`, and CI plays walkthroughs through them \
         (`dapwalk run --config \"NAME (lldb-dap)\"`)."
    );
    let _ = writeln!(
        s,
        "3. Open the CodeTour pane and start the walkthrough's tour: each step sits on the line \
         to break on and says what to do and what the Call Stack and Watch panes will show. \
         All breakpoints and watch expressions in one place: `{BREAKPOINTS_MD}`.\n"
    );
    let spelled: Vec<String> = Registry::builtin()
        .for_language(Language::Rust)
        .iter()
        .map(|d| {
            let watch = d
                .watch_expressions("global_shutdown")
                .first()
                .map(|e| format!("the Watch pane takes {}", markdown_code(e)))
                .unwrap_or_default();
            let command = d
                .editor_thread_list()
                .map(|c| format!(", an LLDB command {}", markdown_code(&c)))
                .unwrap_or_default();
            format!(
                "with **{}** {watch}, a Debug Console expression {}{command}",
                d.display_name(),
                markdown_code(&d.editor_console_expression("EXPR"))
            )
        })
        .collect();
    let _ = writeln!(
        s,
        "Each Rust adapter has its own spelling for what you type (the tours give each; \
         `{BREAKPOINTS_MD}` lists them all): {}.\n",
        spelled.join("; ")
    );
    let _ = writeln!(s, "| Walkthrough | Configuration | Tour | Ends |");
    let _ = writeln!(s, "| --- | --- | --- | --- |");
    for prep in preps {
        let w = &prep.walkthrough;
        let cfgs = config_names(prep, configs);
        let end = w
            .steps
            .iter()
            .rev()
            .find_map(|st| st.expect.end.as_ref())
            .map(|e| match &e.value {
                crate::walkthrough::ExpectEnd::Exit(c) => format!("exits {c}"),
                crate::walkthrough::ExpectEnd::Hang => "deadlock".into(),
            })
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            s,
            "| [{}]({}) | {} | `{}` | {end} |",
            w.title.replace('|', "\\|"),
            display_path(&w.path, root),
            cfgs,
            tour_name(prep)
        );
    }
    let _ = writeln!(s);
    for prep in preps {
        let w = &prep.walkthrough;
        let dialects = text_dialects(prep, configs);
        let _ = writeln!(
            s,
            "<details><summary>{}: breakpoints, call stacks, watch values</summary>\n",
            tour_name(prep)
        );
        if !w.watch.is_empty() {
            for &dialect in &dialects {
                let list: Vec<String> = w
                    .watch
                    .iter()
                    .map(|x| format!("{} = {}", x.name, watch_exprs(dialect, &x.expr)))
                    .collect();
                let _ = writeln!(
                    s,
                    "Watch ({}): {}\n",
                    dialect.display_name(),
                    list.join("; ")
                );
            }
        }
        for (i, step) in w.steps.iter().enumerate() {
            let mut bps: Vec<String> = step
                .breakpoints
                .iter()
                .map(|m| {
                    let p = place(prep, root, &m.value);
                    match p.file {
                        Some(f) => format!("break {}", link(&f, p.line, false)),
                        None => format!("break `{}`", m.value),
                    }
                })
                .collect();
            bps.extend(step.clear.iter().map(|m| format!("clear `{}`", m.value)));
            let expected = check(&step.expect, &Observation::default()).expected;
            let _ = writeln!(
                s,
                "{}. **{}** — {}{} Shows: {}",
                i + 1,
                step.title,
                if bps.is_empty() {
                    String::new()
                } else {
                    format!("{}; ", bps.join(", "))
                },
                action_text(step, &dialects)
                    .split(". ")
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('.')
                    .to_string()
                    + ".",
                if expected.is_empty() {
                    "—".to_string()
                } else {
                    expected
                        .iter()
                        .map(|l| format!("`{l}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        }
        let _ = writeln!(s, "\n</details>\n");
    }
    let _ = write!(s, "{README_END}");
    s
}

/// Replaces the section between the markers, appending the markers when absent.
pub fn splice_readme(readme: &str, section: &str) -> String {
    match (readme.find(README_BEGIN), readme.find(README_END)) {
        (Some(b), Some(e)) if e > b => {
            format!(
                "{}{section}{}",
                &readme[..b],
                &readme[e + README_END.len()..]
            )
        }
        _ => {
            let mut out = readme.to_string();
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
            }
            out.push_str(section);
            out.push('\n');
            out
        }
    }
}

/// Everything `dapwalk tour` writes, from the walkthroughs as they are now.
pub fn generate(project: &Project) -> Result<Vec<Generated>, String> {
    let root = &project.root;
    let files = crate::walkthrough::collect(project, &[])?;
    let preps = crate::walkthrough::load_all(project, &files).map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let configs = vscode::load(root)?;
    let mut out = Vec::new();
    for prep in &preps {
        out.push(Generated {
            path: Path::new(TOURS_DIR).join(format!("{}.tour", tour_name(prep))),
            text: tour(prep, root, &configs),
        });
    }
    out.push(Generated {
        path: PathBuf::from(BREAKPOINTS_MD),
        text: breakpoints_md(&preps, root, &configs),
    });
    let entries: Vec<coach::Entry> = preps
        .iter()
        .map(|prep| coach::Entry {
            prep,
            tour_name: tour_name(prep),
            short_title: format!(
                "{} {}",
                title_case(prep.walkthrough.language),
                prep.walkthrough
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        })
        .collect();
    let read =
        |rel: &str| std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"));
    out.push(Generated {
        path: PathBuf::from(vscode::LAUNCH_JSON),
        text: coach::launch_json(&read(vscode::LAUNCH_JSON)?, &entries, &configs)?,
    });
    out.push(Generated {
        path: PathBuf::from(vscode::TASKS_JSON),
        text: coach::tasks_json(&read(vscode::TASKS_JSON)?, &entries, root)?,
    });
    let readme = std::fs::read_to_string(root.join(README)).unwrap_or_default();
    out.push(Generated {
        path: PathBuf::from(README),
        text: splice_readme(&readme, &readme_section(&preps, root, &configs)),
    });
    Ok(out)
}

/// Tour files in `.tours/` that no walkthrough generates any more.
fn stale_tours(root: &Path, generated: &[Generated]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root.join(TOURS_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| Path::new(TOURS_DIR).join(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "tour"))
        .filter(|p| !generated.iter().any(|g| g.path == *p))
        .collect();
    out.sort();
    out
}

/// Writes what differs; returns the paths written or removed.
pub fn write(project: &Project) -> Result<Vec<PathBuf>, String> {
    let root = &project.root;
    let generated = generate(project)?;
    let mut changed = Vec::new();
    std::fs::create_dir_all(root.join(TOURS_DIR)).map_err(|e| format!("{TOURS_DIR}: {e}"))?;
    for g in &generated {
        let path = root.join(&g.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(g.text.as_str()) {
            std::fs::write(&path, &g.text).map_err(|e| format!("{}: {e}", path.display()))?;
            changed.push(g.path.clone());
        }
    }
    for p in stale_tours(root, &generated) {
        std::fs::remove_file(root.join(&p)).map_err(|e| format!("{}: {e}", p.display()))?;
        changed.push(p);
    }
    Ok(changed)
}

/// The committed files that differ from what the walkthroughs generate (empty: in step).
pub fn check_files(project: &Project) -> Result<Vec<PathBuf>, String> {
    let root = &project.root;
    let generated = generate(project)?;
    let mut out: Vec<PathBuf> = generated
        .iter()
        .filter(|g| {
            std::fs::read_to_string(root.join(&g.path)).ok().as_deref() != Some(g.text.as_str())
        })
        .map(|g| g.path.clone())
        .collect();
    out.extend(stale_tours(root, &generated));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_section_is_replaced_or_appended() {
        let section = format!("{README_BEGIN}\nnew\n{README_END}");
        let with = format!("# T\n\n{README_BEGIN}\nold\n{README_END}\n\nafter\n");
        assert_eq!(
            splice_readme(&with, &section),
            format!("# T\n\n{section}\n\nafter\n")
        );
        assert_eq!(
            splice_readme("# T\n", &section),
            format!("# T\n\n{section}\n")
        );
        assert_eq!(splice_readme("", &section), format!("{section}\n"));
    }
}
