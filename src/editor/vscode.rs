//! VS Code's launch configurations as the one source of truth for how a scenario is debugged.
//!
//! `.vscode/launch.json` is what a learner clicks; `dapwalk run --config NAME` plays
//! walkthroughs through the same configuration, so CI checks exactly that. The file is JSONC
//! (comments, trailing commas), read with `jsonc-parser`. VS Code's variables that make sense
//! outside the editor (`${workspaceFolder}`, `${workspaceFolderBasename}`, `${userHome}`,
//! `${env:X}`, `${pathSeparator}`) are substituted; any other is an error rather than a guess.
//! A configuration's keys become the `launch` request's arguments, minus the keys VS Code
//! itself consumes (`preLaunchTask`, `presentation`, ...); CodeLLDB's `cargo` key is honoured
//! the way CodeLLDB does it: build, then launch the artifact the filter selects.

use crate::adapters::{Dialect, Language, Registry};
use crate::project::{display_path, Project};
use crate::walkthrough::{self, Walkthrough};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the launch configurations live, relative to the project root.
pub const LAUNCH_JSON: &str = ".vscode/launch.json";
/// Where the tasks (`preLaunchTask` targets) live.
pub const TASKS_JSON: &str = ".vscode/tasks.json";

/// Keys that VS Code (not the debug adapter) acts on; they are not sent in `launch`.
const EDITOR_KEYS: &[&str] = &[
    "name",
    "type",
    "request",
    "preLaunchTask",
    "postDebugTask",
    "presentation",
    "internalConsoleOptions",
    "serverReadyAction",
    "debugServer",
    "cargo",
    "env",
    "linux",
    "osx",
    "windows",
];

/// A launch configuration with every variable substituted.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    /// The adapter its `type` selects.
    pub dialect: &'static dyn Dialect,
    /// The program as written (`program`), absent for CodeLLDB's `cargo` builds.
    pub program: Option<PathBuf>,
    pub cargo: Option<Cargo>,
    /// The environment, in the order written.
    pub env: Vec<(String, String)>,
    /// Whether `env` was written as `["K=V", ...]` (lldb-dap's older form) rather than an
    /// object; the merged environment is sent back the same way.
    pub env_as_list: bool,
    pub pre_launch_task: Option<String>,
    /// `debugServer`: VS Code connects to this port instead of starting the adapter (the
    /// generated `Coach: …` configurations, [`super::coach`]).
    pub debug_server: Option<u16>,
    /// Every other key, passed to the adapter as written.
    pub keys: Map<String, Value>,
}

/// CodeLLDB's `cargo` key: the build to run and which artifact to launch.
#[derive(Debug, Clone, PartialEq)]
pub struct Cargo {
    pub args: Vec<String>,
    pub filter_name: Option<String>,
    pub filter_kind: Option<String>,
}

impl Config {
    /// The language of the programs this configuration debugs.
    pub fn language(&self) -> Language {
        self.dialect.language()
    }

    /// The scenario it debugs: `target/debug/NAME`, `scenarios/python/NAME.py`, or the
    /// `cargo` filter's name.
    pub fn scenario(&self) -> Option<String> {
        if let Some(c) = &self.cargo {
            if let Some(n) = &c.filter_name {
                return Some(n.clone());
            }
            let i = c.args.iter().position(|a| a == "--bin")?;
            return c.args.get(i + 1).cloned();
        }
        let p = self.program.as_ref()?;
        Some(p.file_stem()?.to_string_lossy().into_owned())
    }

    /// Whether this configuration runs `w` as the walkthrough means it: same language, same
    /// scenario, exactly the walkthrough's environment. `Err` says what differs.
    pub fn fits(&self, w: &Walkthrough) -> Result<(), String> {
        if self.language() != w.language {
            return Err(format!(
                "configuration {:?} debugs {} programs, the walkthrough is {}",
                self.name,
                self.language().as_str(),
                w.language.as_str()
            ));
        }
        let scenario = self.scenario().unwrap_or_default();
        if scenario != w.scenario {
            return Err(format!(
                "configuration {:?} launches {scenario:?}, the walkthrough debugs {:?}",
                self.name, w.scenario
            ));
        }
        let mine: BTreeMap<&str, &str> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let theirs: BTreeMap<&str, &str> = w
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if mine != theirs {
            let show = |m: &BTreeMap<&str, &str>| {
                if m.is_empty() {
                    "none".to_string()
                } else {
                    m.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            };
            return Err(format!(
                "configuration {:?} sets environment {}, the walkthrough needs {}",
                self.name,
                show(&mine),
                show(&theirs)
            ));
        }
        Ok(())
    }

    /// The keys to merge over the adapter profile's `launch` arguments, with `program` the
    /// binary to launch (for `cargo` configurations: the one cargo built).
    pub fn launch_keys(&self, program: &Path) -> Map<String, Value> {
        let mut m = self.keys.clone();
        m.insert("program".into(), Value::from(program.display().to_string()));
        if !self.env.is_empty() {
            let env = if self.env_as_list {
                Value::Array(
                    self.env
                        .iter()
                        .map(|(k, v)| Value::from(format!("{k}={v}")))
                        .collect(),
                )
            } else {
                Value::Object(
                    self.env
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                        .collect(),
                )
            };
            m.insert("env".into(), env);
        }
        m
    }
}

/// Reads and resolves every configuration of the project's `.vscode/launch.json`.
pub fn load(root: &Path) -> Result<Vec<Config>, String> {
    let path = root.join(LAUNCH_JSON);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, root).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses launch.json text; `root` is `${workspaceFolder}`.
pub fn parse(text: &str, root: &Path) -> Result<Vec<Config>, String> {
    let doc = parse_jsonc(text)?;
    let list = doc
        .get("configurations")
        .and_then(Value::as_array)
        .ok_or("no \"configurations\" array")?;
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let obj = c
            .as_object()
            .ok_or_else(|| format!("configuration {} is not an object", i + 1))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("configuration {} has no \"name\"", i + 1))?
            .to_string();
        let resolved = resolve(obj, root).map_err(|e| format!("configuration {name:?}: {e}"))?;
        if out.iter().any(|x: &Config| x.name == name) {
            return Err(format!("two configurations are named {name:?}"));
        }
        out.push(resolved);
    }
    Ok(out)
}

/// JSON with comments and trailing commas, as VS Code reads its settings files.
pub fn parse_jsonc(text: &str) -> Result<Value, String> {
    let opts = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        ..Default::default()
    };
    jsonc_parser::parse_to_serde_value::<Value>(text, &opts).map_err(|e| e.to_string())
}

fn resolve(obj: &Map<String, Value>, root: &Path) -> Result<Config, String> {
    let mut obj = obj.clone();
    // VS Code applies the current platform's block over the common keys.
    if let Some(Value::Object(linux)) = obj
        .get(std::env::consts::OS.replace("macos", "osx").as_str())
        .cloned()
    {
        for (k, v) in linux {
            obj.insert(k, v);
        }
    }
    let obj = match substitute_value(&Value::Object(obj), root)? {
        Value::Object(o) => o,
        _ => unreachable_object(),
    };
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let registry = Registry::builtin();
    let dialect = match obj.get("type").and_then(Value::as_str) {
        Some(t) => match registry.for_vscode_type(t) {
            Some(d) => d,
            None => {
                let types: Vec<&str> = registry
                    .all()
                    .iter()
                    .flat_map(|d| d.vscode_types().iter().copied())
                    .collect();
                return Err(format!(
                    "type {t:?} is not a debugger dapwalk drives ({})",
                    types.join(", ")
                ));
            }
        },
        None => return Err("no \"type\"".into()),
    };
    match obj.get("request").and_then(Value::as_str) {
        Some("launch") => {}
        other => {
            return Err(format!(
                "request {:?}: dapwalk plays walkthroughs by launching, not attaching",
                other.unwrap_or("(none)")
            ))
        }
    }
    let program = obj
        .get("program")
        .and_then(Value::as_str)
        .map(PathBuf::from);
    let cargo = match obj.get("cargo") {
        None => None,
        Some(c) => Some(parse_cargo(c)?),
    };
    if program.is_none() && cargo.is_none() {
        return Err("neither \"program\" nor \"cargo\": nothing to launch".into());
    }
    let (env, env_as_list) = match obj.get("env") {
        None => (Vec::new(), false),
        Some(Value::Object(m)) => {
            let mut env = Vec::new();
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("env {k}: a string value, please"))?;
                env.push((k.clone(), v.to_string()));
            }
            (env, false)
        }
        Some(Value::Array(a)) => {
            let mut env = Vec::new();
            for item in a {
                let s = item.as_str().unwrap_or_default();
                let (k, v) = s
                    .split_once('=')
                    .ok_or_else(|| format!("env entry {item} is not \"NAME=VALUE\""))?;
                env.push((k.to_string(), v.to_string()));
            }
            (env, true)
        }
        Some(other) => return Err(format!("env {other} is neither an object nor a list")),
    };
    let pre_launch_task = obj
        .get("preLaunchTask")
        .and_then(Value::as_str)
        .map(str::to_string);
    let debug_server = match obj.get("debugServer") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| format!("debugServer {v} is not a port number"))?,
        ),
    };
    let keys = obj
        .into_iter()
        .filter(|(k, _)| !EDITOR_KEYS.contains(&k.as_str()) && k != "program")
        .collect();
    Ok(Config {
        name,
        dialect,
        program,
        cargo,
        env,
        env_as_list,
        pre_launch_task,
        debug_server,
        keys,
    })
}

fn unreachable_object() -> Map<String, Value> {
    // Substitution maps an object to an object; this only satisfies the type checker.
    Map::new()
}

fn parse_cargo(v: &Value) -> Result<Cargo, String> {
    let args = v
        .get("args")
        .and_then(Value::as_array)
        .ok_or("\"cargo\" has no \"args\" list")?
        .iter()
        .map(|a| a.as_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
        .ok_or("\"cargo.args\" holds a non-string")?;
    let filter = v.get("filter");
    let field = |k: &str| {
        filter
            .and_then(|f| f.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(Cargo {
        args,
        filter_name: field("name"),
        filter_kind: field("kind"),
    })
}

fn substitute_value(v: &Value, root: &Path) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(s, root)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_value(x, root))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), substitute_value(x, root)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Substitutes VS Code's predefined variables in `s`; `root` is the workspace folder.
pub fn substitute(s: &str, root: &Path) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed variable in {s:?}"))?;
        let var = &after[..end];
        let value = match var {
            "workspaceFolder" | "workspaceRoot" => root.display().to_string(),
            "workspaceFolderBasename" => root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            "userHome" => std::env::var("HOME").unwrap_or_default(),
            "pathSeparator" | "/" => std::path::MAIN_SEPARATOR.to_string(),
            _ => match var.strip_prefix("env:") {
                // VS Code substitutes an unset variable with the empty string.
                Some(name) => std::env::var(name).unwrap_or_default(),
                None => {
                    return Err(format!(
                        "${{{var}}} in {s:?} has a value only inside the editor; dapwalk knows workspaceFolder, workspaceFolderBasename, userHome, env:NAME, pathSeparator"
                    ))
                }
            },
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Runs a `cargo` key's build the way CodeLLDB does and returns the executable its filter
/// selects.
pub fn cargo_build(root: &Path, cargo: &Cargo) -> Result<PathBuf, String> {
    let exe = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(exe)
        .args(&cargo.args)
        .arg("--message-format=json")
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo {} failed ({})",
            cargo.args.join(" "),
            out.status
        ));
    }
    // cargo's JSON messages, read by cargo_metadata's typed parser.
    let mut found = Vec::new();
    for msg in cargo_metadata::Message::parse_stream(out.stdout.as_slice()).flatten() {
        let cargo_metadata::Message::CompilerArtifact(artifact) = msg else {
            continue;
        };
        let Some(exe) = artifact.executable else {
            continue;
        };
        let name_ok = cargo
            .filter_name
            .as_deref()
            .is_none_or(|n| artifact.target.name == n);
        let kind_ok = cargo
            .filter_kind
            .as_deref()
            .is_none_or(|k| artifact.target.kind.iter().any(|x| x.to_string() == k));
        if name_ok && kind_ok {
            found.push(exe.into_std_path_buf());
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "cargo {} built no executable matching the filter",
            cargo.args.join(" ")
        )),
        _ => Err(format!(
            "cargo {} built {} executables matching the filter; CodeLLDB wants exactly one",
            cargo.args.join(" "),
            found.len()
        )),
    }
}

/// The configuration a learner uses for `w` with `dialect`: the one whose program and
/// environment fit it (not a `Coach: …` one, which is generated from it).
pub fn for_walkthrough<'a>(
    configs: &'a [Config],
    w: &Walkthrough,
    dialect: &dyn Dialect,
) -> Option<&'a Config> {
    configs
        .iter()
        .filter(|c| c.dialect.name() == dialect.name() && c.debug_server.is_none())
        .find(|c| c.fits(w).is_ok())
}

/// A `dapwalk run --config` resolved: which adapter, which walkthroughs, which launch keys.
#[derive(Debug)]
pub struct ConfigRun {
    pub dialect: &'static dyn Dialect,
    pub files: Vec<PathBuf>,
    pub launch_keys: Map<String, Value>,
}

/// Resolves `--config NAME` with the walkthroughs named by `paths` (default: every
/// walkthrough the configuration fits). A named walkthrough the configuration does not fit
/// is an error, not a silent skip: it would be checked under conditions it was not written
/// for.
pub fn for_run(project: &Project, name: &str, paths: &[PathBuf]) -> Result<ConfigRun, String> {
    let configs = load(&project.root)?;
    let config = configs.iter().find(|c| c.name == name).ok_or_else(|| {
        let names: Vec<String> = configs.iter().map(|c| format!("  {}", c.name)).collect();
        format!(
            "no launch configuration {name:?} in {LAUNCH_JSON}; there are:\n{}",
            names.join("\n")
        )
    })?;
    let files = walkthrough::collect(project, paths)?;
    let mut chosen = Vec::new();
    for f in files {
        let w = walkthrough::load(&f).map_err(|e| e.to_string())?;
        match config.fits(&w) {
            Ok(()) => chosen.push(f),
            Err(why) if !paths.is_empty() => {
                return Err(format!("{}: {why}", f.display()));
            }
            Err(_) => {}
        }
    }
    if chosen.is_empty() {
        return Err(format!("no walkthrough fits configuration {name:?}"));
    }
    let program = match (&config.cargo, &config.program) {
        (Some(cargo), _) => cargo_build(&project.root, cargo)?,
        (None, Some(p)) => p.clone(),
        (None, None) => return Err(format!("configuration {name:?} launches nothing")),
    };
    Ok(ConfigRun {
        dialect: config.dialect,
        files: chosen,
        launch_keys: config.launch_keys(&program),
    })
}

/// Everything wrong between the launch configurations, the programs and the walkthroughs:
/// a program or twin without a configuration, a configuration pointing at nothing, a
/// walkthrough no configuration fits. Empty when all is consistent.
pub fn consistency(project: &Project) -> Result<Vec<String>, String> {
    let root = &project.root;
    let configs = load(root)?;
    let mut problems = Vec::new();
    let tasks = tasks(root)?;
    let labels: Vec<&str> = tasks
        .iter()
        .filter_map(|t| t.get("label").and_then(Value::as_str))
        .collect();
    for c in &configs {
        let scenario = c.scenario().unwrap_or_default();
        let source = project.program_source(c.language(), &scenario);
        if !source.is_file() {
            problems.push(format!(
                "{:?}: its program's source {} does not exist",
                c.name,
                source.display()
            ));
        }
        if let Some(p) = &c.program {
            if !p.is_file() {
                problems.push(format!(
                    "{:?}: program {} does not exist (for Rust: build the scenarios)",
                    c.name,
                    p.display()
                ));
            }
        }
        if let Some(cwd) = c.keys.get("cwd").and_then(Value::as_str) {
            if !Path::new(cwd).is_dir() {
                problems.push(format!("{:?}: cwd {cwd} is not a folder", c.name));
            }
        }
        for cmd in c
            .keys
            .get("initCommands")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(file) = cmd.strip_prefix("command script import ") {
                if !Path::new(file.trim()).is_file() {
                    problems.push(format!(
                        "{:?}: initCommands import {file}, which does not exist",
                        c.name
                    ));
                }
            }
        }
        if let Some(t) = &c.pre_launch_task {
            if !labels.contains(&t.as_str()) {
                problems.push(format!(
                    "{:?}: preLaunchTask {t:?} is not a task in {TASKS_JSON}",
                    c.name
                ));
            }
        }
        if let Some(p) = c.dialect.launch_config_problem(&c.keys) {
            problems.push(format!("{:?}: {p}", c.name));
        }
    }
    let registry = Registry::builtin();
    for lang in [Language::Rust, Language::Python] {
        let dir = Project::programs_dir_rel(lang);
        let ext = Project::program_extension(lang);
        for name in stems(&root.join(dir), ext) {
            for d in registry.for_language(lang) {
                let any = configs.iter().any(|c| {
                    c.dialect.name() == d.name()
                        && c.debug_server.is_none()
                        && c.language() == lang
                        && c.scenario().as_deref() == Some(&name)
                });
                if !any {
                    problems.push(format!(
                        "{dir}/{name}.{ext} has no {} configuration",
                        d.name()
                    ));
                }
            }
        }
    }
    problems.extend(super::coach::problems(project, &configs, &tasks));
    let files = walkthrough::collect(project, &[])?;
    for f in files {
        let w = walkthrough::load(&f).map_err(|e| e.to_string())?;
        for d in registry.for_language(w.language) {
            if for_walkthrough(&configs, &w, d).is_none() {
                let env: Vec<String> = w.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                problems.push(format!(
                    "{}: no {} configuration launches {:?}{}",
                    display_path(&f, root),
                    d.name(),
                    w.scenario,
                    if env.is_empty() {
                        " without extra environment".to_string()
                    } else {
                        format!(" with environment {}", env.join(" "))
                    }
                ));
            }
        }
    }
    Ok(problems)
}

/// The tasks of `.vscode/tasks.json` as written (none without the file).
pub fn tasks(root: &Path) -> Result<Vec<Value>, String> {
    let path = root.join(TASKS_JSON);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let doc = parse_jsonc(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(doc
        .get("tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

fn stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_comments_trailing_commas_and_variables() {
        let text = r#"
        // a comment
        { "version": "0.2.0", "configurations": [
            { "name": "a (lldb-dap)", "type": "lldb-dap", "request": "launch",
              /* block */ "program": "${workspaceFolder}/target/debug/a",
              "cwd": "${workspaceFolder}", "preLaunchTask": "build",
              "env": ["X=1",], "stopOnEntry": false, },
        ], }"#;
        let c = parse(text, Path::new("/p/proj")).expect("parses");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].dialect.name(), "lldb-dap");
        assert_eq!(
            c[0].program.as_deref(),
            Some(Path::new("/p/proj/target/debug/a"))
        );
        assert_eq!(c[0].env, vec![("X".to_string(), "1".to_string())]);
        assert!(c[0].env_as_list);
        assert_eq!(c[0].keys.get("cwd"), Some(&Value::from("/p/proj")));
        assert!(!c[0].keys.contains_key("preLaunchTask"));
        let keys = c[0].launch_keys(Path::new("/bin/x"));
        assert_eq!(keys["env"], serde_json::json!(["X=1"]));
        assert_eq!(keys["program"], "/bin/x");
    }

    #[test]
    fn substitutes_the_predefined_variables() {
        let root = Path::new("/w/dapwalk");
        assert_eq!(
            substitute("${workspaceFolderBasename}:${pathSeparator}", root).as_deref(),
            Ok("dapwalk:/")
        );
        assert_eq!(
            substitute("${env:DAPWALK_SURELY_UNSET_VARIABLE}x", root).as_deref(),
            Ok("x")
        );
        assert!(substitute("${file}", root).is_err());
        assert!(substitute("${workspaceFolder", root).is_err());
    }

    #[test]
    fn cargo_configurations_name_their_scenario() {
        let text = r#"{ "configurations": [ { "name": "n (CodeLLDB)", "type": "lldb",
            "request": "launch", "cargo": { "args": ["build", "--bin", "no_deadlock"],
            "filter": { "name": "no_deadlock", "kind": "bin" } } } ] }"#;
        let c = parse(text, Path::new("/p")).expect("parses");
        assert_eq!(c[0].scenario().as_deref(), Some("no_deadlock"));
        assert_eq!(c[0].dialect.name(), "codelldb");
    }

    #[test]
    fn attach_and_unknown_types_are_refused() {
        let attach = r#"{ "configurations": [ { "name": "x", "type": "lldb-dap", "request": "attach", "program": "/x" } ] }"#;
        assert!(parse(attach, Path::new("/p")).is_err());
        let node = r#"{ "configurations": [ { "name": "x", "type": "node", "request": "launch", "program": "/x" } ] }"#;
        assert!(parse(node, Path::new("/p")).is_err());
    }
}
