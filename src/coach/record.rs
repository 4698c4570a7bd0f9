//! `dapwalk coach --record NEW.toml`: the learner's (or instructor's) session turned into a
//! walkthrough. Each stop is a step; the breakpoints set since the previous stop are its
//! `break` and `clear` lists (by marker where a `@bp` marker is on the line, else as a
//! `stdlib:` text pattern for the Python standard library); what the coach observed is its
//! expectations; the exit code or the hang is the end.

use super::narrate::Landing;
use crate::checks::{Observation, ObservedEnd};
use crate::walkthrough::{Action, MarkerRef, Prepared};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How many user frames of each thread a recorded step expects (the innermost ones): enough
/// to say where the thread is, few enough to survive a change in the port.
const FRAMES: usize = 3;

/// One recorded stop.
#[derive(Debug, Clone)]
struct Recorded {
    action: Action,
    thread: Option<String>,
    breakpoints: BTreeSet<(PathBuf, i64)>,
    landing: Landing,
    obs: Observation,
}

/// What a session has shown so far.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Source breakpoints as the editor last set them, per file.
    breakpoints: BTreeMap<PathBuf, Vec<i64>>,
    action: Option<(Action, Option<String>)>,
    steps: Vec<Recorded>,
    /// The standard library of the Python that plays, for `stdlib:` patterns.
    stdlib: Option<PathBuf>,
}

impl Recorder {
    pub fn new(stdlib: Option<PathBuf>) -> Recorder {
        Recorder {
            stdlib,
            ..Recorder::default()
        }
    }

    /// A request from the editor: breakpoints are kept as it sets them.
    pub fn request(&mut self, command: &str, args: &Value) {
        if command == "setBreakpoints" {
            let Some(path) = args["source"]["path"].as_str() else {
                return;
            };
            let lines: Vec<i64> = args["breakpoints"]
                .as_array()
                .map(|a| a.iter().filter_map(|b| b["line"].as_i64()).collect())
                .unwrap_or_default();
            self.breakpoints.insert(PathBuf::from(path), lines);
        }
    }

    /// The learner moved the program: the next stop is this action's.
    pub fn action(&mut self, action: Action, thread: Option<String>) {
        self.action = Some((action, thread));
    }

    /// Where the program landed, with what the coach saw there.
    pub fn landing(&mut self, landing: Landing, obs: &Observation) {
        let (action, thread) = match self.action.take() {
            Some(a) => a,
            None if self.steps.is_empty() => (Action::Start, None),
            // A second look at the same stop (no action since): not a step of its own.
            None => return,
        };
        let breakpoints = self
            .breakpoints
            .iter()
            .flat_map(|(p, ls)| ls.iter().map(move |l| (p.clone(), *l)))
            .collect();
        self.steps.push(Recorded {
            action,
            thread,
            breakpoints,
            landing,
            obs: obs.clone(),
        });
    }

    /// The walkthrough, as TOML, for the program and watches of `prep`.
    pub fn render(&self, prep: &Prepared) -> String {
        let w = &prep.walkthrough;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Recorded by `dapwalk coach --record` from a session of {}.",
            crate::project::display_path(&w.path, &prep.root)
        );
        let _ = writeln!(out, "title = {}", quote(&format!("{} (recorded)", w.title)));
        let _ = writeln!(out, "scenario = {}", quote(&w.scenario));
        let _ = writeln!(out, "language = {}", quote(w.language.as_str()));
        let _ = writeln!(
            out,
            "intro = {}",
            quote(&format!(
                "A session played by hand and recorded: {} stops.",
                self.steps.len()
            ))
        );
        if !w.env.is_empty() {
            let env: Vec<String> = w
                .env
                .iter()
                .map(|(k, v)| format!("{k} = {}", quote(v)))
                .collect();
            let _ = writeln!(out, "env = {{ {} }}", env.join(", "));
        }
        if !w.launch.is_empty() {
            let launch: Vec<String> = w
                .launch
                .iter()
                .map(|(k, v)| format!("{k} = {}", toml_value(v)))
                .collect();
            let _ = writeln!(out, "launch = {{ {} }}", launch.join(", "));
        }
        for watch in &w.watch {
            let _ = writeln!(
                out,
                "\n[[watch]]\nname = {}\nexpr = {}",
                quote(&watch.name),
                quote(&watch.expr)
            );
        }
        let mut before: BTreeSet<(PathBuf, i64)> = BTreeSet::new();
        for (i, s) in self.steps.iter().enumerate() {
            let _ = writeln!(out, "\n[[step]]");
            let _ = writeln!(out, "title = {}", quote(&format!("Stop {}", i + 1)));
            let _ = writeln!(out, "say = {}", quote(&describe(s)));
            let clear: Vec<String> = before
                .difference(&s.breakpoints)
                .filter_map(|(p, l)| self.marker(prep, p, *l))
                .collect();
            let add: Vec<String> = s
                .breakpoints
                .difference(&before)
                .filter_map(|(p, l)| self.marker(prep, p, *l))
                .collect();
            for (p, l) in s.breakpoints.difference(&before) {
                if self.marker(prep, p, *l).is_none() {
                    let _ = writeln!(
                        out,
                        "# A breakpoint at {}:{l} has no marker on its line: not recorded.",
                        p.display()
                    );
                }
            }
            if !clear.is_empty() {
                let _ = writeln!(out, "clear = {}", list(&clear));
            }
            if !add.is_empty() {
                let _ = writeln!(out, "break = {}", list(&add));
            }
            if s.action != Action::Start {
                let _ = writeln!(out, "do = {}", quote(s.action.as_str()));
            }
            if let (Some(t), Action::Next | Action::StepIn | Action::StepOut) =
                (&s.thread, s.action)
            {
                let _ = writeln!(out, "thread = {}", quote(t));
            }
            expectations(&mut out, s);
            before = s.breakpoints.clone();
        }
        out
    }

    /// The marker (or stdlib pattern) a breakpoint line stands for.
    fn marker(&self, prep: &Prepared, path: &Path, line: i64) -> Option<String> {
        let line = usize::try_from(line).ok()?;
        if let Some(m) = prep.markers.at(path, line).first() {
            return Some(m.to_string());
        }
        let rel = path.strip_prefix(self.stdlib.as_ref()?).ok()?;
        let text = std::fs::read_to_string(path).ok()?;
        let code = text.lines().nth(line.checked_sub(1)?)?.trim();
        (!code.is_empty())
            .then(|| MarkerRef::Stdlib(format!("{}:{code}", rel.display())).to_string())
    }
}

fn describe(s: &Recorded) -> String {
    match (&s.landing, &s.obs.stop) {
        (Landing::Exited, _) => "The program ends.".into(),
        (Landing::Hung, _) => "Every thread is blocked: the program hangs.".into(),
        (Landing::Stopped, Some(stop)) => format!("{} stops ({}).", stop.thread, stop.reason),
        (Landing::Stopped, None) => "The program stops.".into(),
    }
}

fn expectations(out: &mut String, s: &Recorded) {
    let obs = &s.obs;
    match (&s.landing, &obs.end) {
        (Landing::Exited, Some(ObservedEnd::Exit(c))) => {
            let _ = writeln!(out, "expect.end = {{ exit = {c} }}");
            return;
        }
        (Landing::Exited, _) => return,
        _ => {}
    }
    if let (Landing::Stopped, Some(stop)) = (&s.landing, &obs.stop) {
        let mut fields = vec![
            format!("thread = {}", quote(&stop.thread)),
            format!("reason = {}", quote(&stop.reason)),
        ];
        if let Some(m) = stop.at.first() {
            fields.push(format!("at = {}", quote(&m.to_string())));
        }
        let _ = writeln!(out, "expect.stopped = {{ {} }}", fields.join(", "));
        let mut names: Vec<String> = obs.threads.iter().map(|t| t.name.clone()).collect();
        names.sort();
        let _ = writeln!(out, "expect.threads = {}", list(&names));
    }
    // Where the other threads are at a breakpoint is a race; at a hang it is not.
    let stopped = obs.stop.as_ref().map(|s| s.thread.as_str());
    for t in obs
        .threads
        .iter()
        .filter(|t| s.landing == Landing::Hung || Some(t.name.as_str()) == stopped)
    {
        let frames: Vec<String> = t
            .user_frames()
            .take(FRAMES)
            .map(|f| f.name.clone())
            .collect();
        if !frames.is_empty() {
            let _ = writeln!(out, "expect.stacks.{} = {}", quote(&t.name), list(&frames));
        }
    }
    let watch: Vec<String> = obs
        .watch
        .iter()
        .filter(|(_, v)| !v.starts_with('('))
        .map(|(k, v)| format!("{} = {}", quote(k), toml_scalar(v)))
        .collect();
    if !watch.is_empty() {
        let _ = writeln!(out, "expect.watch = {{ {} }}", watch.join(", "));
    }
    if s.landing == Landing::Hung {
        let _ = writeln!(out, "expect.end = \"hang\"");
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A watch value as the walkthroughs write it: booleans and numbers bare, the rest quoted.
fn toml_scalar(v: &str) -> String {
    if v == "true" || v == "false" || v.parse::<i64>().is_ok() {
        v.to_string()
    } else {
        quote(v)
    }
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_walkthroughs_write_them() {
        assert_eq!(toml_scalar("false"), "false");
        assert_eq!(toml_scalar("25"), "25");
        assert_eq!(toml_scalar("pow(5, 2)"), "\"pow(5, 2)\"");
        assert_eq!(quote("a \"b\""), "'a \"b\"'");
    }
}
