//! The scripted fake adapter ([`crate::dap::fake`]) as a dialect and a launcher, so that the
//! engine plays walkthroughs on it as on any real adapter.
//!
//! [`FAKE_DIALECT`] implements only what the trait requires plus the hold command of the
//! fake's console; registered with `Registry::builtin().with(&FAKE_DIALECT)` it is a fourth
//! adapter, which is all a new adapter takes. [`FakeLauncher`] starts each session over
//! in-memory pipes instead of a process.

use super::{Breakpoints, LaunchFuture, Launcher, Session, Timeouts};
use crate::adapters::{Adapter, AdapterError, Connect, Dialect, Identity, Language, LaunchTarget};
use crate::dap::fake::{connect, Script, Transcript};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The dialect of the scripted fake adapter.
#[derive(Debug)]
pub struct FakeDialect;

pub static FAKE_DIALECT: FakeDialect = FakeDialect;

/// The fake's identity.
static IDENTITY: Identity = Identity {
    name: "fake",
    display_name: "fake",
    language: Language::Rust,
    vscode_types: &["dapwalk-fake"],
    adapter_id: "dapwalk-fake",
    install_hint: "nothing to install: the fake adapter is compiled into the tests",
};

impl Dialect for FakeDialect {
    fn identity(&self) -> &'static Identity {
        &IDENTITY
    }
    fn looked_for(&self) -> String {
        "nowhere: the fake adapter runs in memory".into()
    }
    /// Always found: there is no program to look for.
    fn discover(
        &'static self,
        _explicit: Option<&Path>,
        _project: &Path,
    ) -> Result<Adapter, AdapterError> {
        Ok(fake_adapter(self))
    }
    fn version(&self, _adapter: &Adapter) -> Option<String> {
        Some(env!("CARGO_PKG_VERSION").to_string())
    }
    fn launch_arguments(
        &self,
        _adapter: &Adapter,
        target: &LaunchTarget,
    ) -> Result<Value, AdapterError> {
        Ok(json!({
            "program": target.program,
            "cwd": target.cwd,
            "env": target.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        }))
    }
    /// The fake evaluates what it was scripted to answer, so expressions go as written.
    fn watch_expressions(&self, expr: &str) -> Vec<String> {
        vec![expr.to_string()]
    }
    fn hold_command(&self, thread_id: i64, held: bool) -> Option<String> {
        Some(format!(
            "{} {thread_id}",
            if held { "hold" } else { "release" }
        ))
    }
}

/// An adapter profile that names no program: sessions over it are started by
/// [`FakeLauncher`].
fn fake_adapter(dialect: &'static dyn Dialect) -> Adapter {
    Adapter {
        dialect,
        program: PathBuf::from("(in memory)"),
        args: Vec::new(),
        env: Vec::new(),
        connect: Connect::Stdio,
        version: None,
    }
}

/// Launches every session on a fresh fake adapter playing `script`, read through `dialect`
/// (usually [`FAKE_DIALECT`], or the same dialect looked up in a registry).
pub struct FakeLauncher {
    pub dialect: &'static dyn Dialect,
    pub script: Script,
    /// Every request the fake adapters received.
    pub transcript: Transcript,
}

impl FakeLauncher {
    pub fn new(script: Script) -> FakeLauncher {
        FakeLauncher {
            dialect: &FAKE_DIALECT,
            script,
            transcript: Transcript::default(),
        }
    }
}

impl Launcher for FakeLauncher {
    fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    fn launch<'a>(
        &'a self,
        target: &'a LaunchTarget,
        breakpoints: &'a Breakpoints,
        timeouts: Timeouts,
    ) -> LaunchFuture<'a> {
        Box::pin(async move {
            let (client, events) = connect(
                self.script.clone(),
                self.transcript.clone(),
                timeouts.request,
            );
            let adapter = fake_adapter(self.dialect);
            Session::over(&adapter, client, events, target, breakpoints, timeouts).await
        })
    }
}
