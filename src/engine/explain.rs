//! Who waits on whom at a stop, gathered from the debugger: the program's own wait records
//! where the dialect can read them (the Rust port on the LLDB adapters), else inferred from the
//! stacks the adapter still returns (debugpy after a hang). The graph and its verdict are
//! [`crate::checks::explain`]'s, a pure function of what is gathered here.

use super::player::{Player, StepError};
use crate::adapters::WaitField;
use crate::checks::{explain, Explanation, ObservedThread, RawWait, WaitKind};
use std::path::Path;
use std::time::Instant;

/// A thread as the debugger lists it: its id (the OS thread id on the LLDB adapters) and its
/// portable name.
pub(super) struct Listed {
    pub id: i64,
    pub name: String,
}

/// How many wait slots are read at most: the port's `WAIT_SLOTS`.
const MAX_SLOTS: usize = 32;
/// A name is at most 48 bytes: six words (the port's `WAIT_DESC_LEN`).
const DESC_WORDS: usize = 6;

impl Player<'_> {
    /// The explanation of the current stop. `frame` is where expressions are evaluated (any
    /// frame: the records are globals); `threads` the observation's threads with their frames.
    pub(super) async fn explain(
        &mut self,
        listed: &[Listed],
        observed: &[ObservedThread],
        frame: Option<i64>,
    ) -> Result<Explanation, StepError> {
        let t0 = Instant::now();
        let names: Vec<String> = listed.iter().map(|t| t.name.clone()).collect();
        let dialect = self.launcher.dialect();
        let mut e = match dialect.wait_record_expr(WaitField::Count) {
            Some(_) => {
                let raw = self.read_records(listed, observed, frame).await?;
                explain(
                    &names,
                    raw,
                    "read from the program's wait records through the debugger",
                )
            }
            None => explain(
                &names,
                infer_from_stacks(observed),
                "inferred from the call stacks: the adapter cannot evaluate in blocked threads",
            ),
        };
        for w in &mut e.waits {
            w.wait.called_from = observed
                .iter()
                .find(|t| t.name == w.wait.thread)
                .and_then(caller_of_wait);
        }
        e.cost_ms = Some(t0.elapsed().as_millis() as u64);
        Ok(e)
    }

    async fn field(&mut self, field: WaitField, frame: Option<i64>) -> Option<String> {
        let dialect = self.launcher.dialect();
        let expr = dialect.wait_record_expr(field)?;
        let session = self.session.as_ref()?;
        match session.evaluate(&expr, frame).await {
            Ok(v) => Some(dialect.wait_record_value(&v.result)),
            Err(_) => None,
        }
    }

    async fn number(&mut self, field: WaitField, frame: Option<i64>) -> u64 {
        self.field(field, frame)
            .await
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// A target's name, eight bytes at a time up to its NUL.
    async fn desc(&mut self, slot: usize, frame: Option<i64>) -> String {
        let mut bytes = Vec::new();
        for k in 0..DESC_WORDS {
            let word = self.number(WaitField::DescWord(slot, k), frame).await;
            let chunk = word.to_le_bytes();
            match chunk.iter().position(|&b| b == 0) {
                Some(end) => {
                    bytes.extend_from_slice(&chunk[..end]);
                    break;
                }
                None => bytes.extend_from_slice(&chunk),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Reads every used slot of the port's wait records; a thread without a record that is
    /// blocked taking the GIL (its stack says so) waits on the GIL's holder.
    async fn read_records(
        &mut self,
        listed: &[Listed],
        observed: &[ObservedThread],
        frame: Option<i64>,
    ) -> Result<Vec<RawWait>, StepError> {
        let name_of = |tid: u64| -> Option<String> {
            if tid == 0 {
                return None;
            }
            Some(
                listed
                    .iter()
                    .find(|t| t.id as u64 == tid)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| format!("an ended thread (tid {tid})")),
            )
        };
        let count = (self.number(WaitField::Count, frame).await as usize).min(MAX_SLOTS);
        let mut out = Vec::new();
        for i in 0..count {
            let target = self.number(WaitField::Target(i), frame).await;
            if target == 0 {
                continue;
            }
            let tid = self.number(WaitField::Tid(i), frame).await;
            // A slot of a thread that has ended is no wait of the program's any more.
            let Some(thread) = listed.iter().find(|t| t.id as u64 == tid) else {
                continue;
            };
            let kind = match self.number(WaitField::Kind(i), frame).await {
                1 => WaitKind::Lock,
                2 => WaitKind::Future,
                3 => WaitKind::Thread,
                4 => WaitKind::Queue,
                _ => WaitKind::Condition,
            };
            let owner = name_of(self.number(WaitField::Owner(i), frame).await);
            let executor = self.number(WaitField::Executor(i), frame).await;
            let desc = self.desc(i, frame).await;
            let (object, site) = match kind {
                WaitKind::Future => self.future_call(&desc),
                // The joined thread by the name the debugger shows, when it still runs.
                WaitKind::Thread => (owner.clone().unwrap_or(desc), None),
                _ => (desc, None),
            };
            out.push(RawWait {
                thread: thread.name.clone(),
                kind,
                object,
                site,
                owner,
                queued_in: (executor > 0).then(|| executor as usize - 1),
                candidates: Vec::new(),
                called_from: None,
            });
        }
        for t in observed {
            let recorded = out.iter().any(|w| w.thread == t.name);
            let taking_gil = t
                .frames
                .iter()
                .take(12)
                .any(|f| f.name == "gil::acquire" || f.name.ends_with("gil::acquire"));
            if !recorded && taking_gil {
                let holder = self.number(WaitField::GilHolder, frame).await;
                out.push(RawWait {
                    thread: t.name.clone(),
                    kind: WaitKind::Gil,
                    object: String::new(),
                    site: None,
                    owner: name_of(holder),
                    queued_in: None,
                    candidates: Vec::new(),
                    called_from: None,
                });
            }
        }
        Ok(out)
    }

    /// A future's record names where it was submitted (`scenarios/src/bin/x.rs:29`); the call
    /// behind it is read from that line of the program's source, as a learner would.
    fn future_call(&self, site: &str) -> (String, Option<String>) {
        let Some((path, line)) = site.rsplit_once(':') else {
            return (site.to_string(), None);
        };
        let short = Path::new(path)
            .file_name()
            .map(|n| format!("{}:{line}", n.to_string_lossy()))
            .unwrap_or_else(|| site.to_string());
        let text = line
            .parse::<usize>()
            .ok()
            .and_then(|n| {
                let source = std::fs::read_to_string(self.prep.root.join(path)).ok()?;
                source.lines().nth(n.checked_sub(1)?).map(str::to_string)
            })
            .and_then(|l| submitted_call(&l));
        match text {
            Some(call) => (call, Some(short)),
            None => (short.clone(), Some(short)),
        }
    }
}

/// The call a `submit(...)` line hands over: `executor.submit(|| pow(5, 2))?;` → `pow(5, 2)`,
/// `submit(move || wait_on_future(&e))` → `wait_on_future(&e)`.
pub fn submitted_call(line: &str) -> Option<String> {
    let code = line.split("//").next()?;
    let start = code.find("submit(")? + "submit(".len();
    let rest = &code[start..];
    // The argument ends where its parenthesis closes.
    let mut depth = 0usize;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' => depth -= 1,
            _ => {}
        }
    }
    let arg = rest[..end].trim();
    let arg = arg.strip_prefix("move").map(str::trim).unwrap_or(arg);
    let arg = arg.strip_prefix("||").map(str::trim).unwrap_or(arg);
    (!arg.is_empty()).then(|| arg.to_string())
}

/// Frames of the blocking primitives themselves, in the port and in CPython's stdlib.
const PRIMITIVE_FRAMES: &[&str] = &[
    "allow_threads",
    "Lock::acquire",
    "Lock::enter",
    "RLock::acquire",
    "Condition::wait",
    "Thread::join",
    "Future::result",
    "Future::exception",
    "Queue::get",
    "SimpleQueue::get",
    "Event::wait",
    "Semaphore::acquire",
    "acquire",
    "wait",
    "_wait_for_tstate_lock",
    "join",
    "result",
    "get",
];

/// The frame that called the blocking primitive a thread waits in: the first frame below the
/// primitives' own.
pub fn caller_of_wait(t: &ObservedThread) -> Option<String> {
    let is_primitive = |name: &str| {
        PRIMITIVE_FRAMES.iter().any(|p| {
            name == *p || name.starts_with(&format!("{p}::")) || name.ends_with(&format!("::{p}"))
        })
    };
    let mut seen = false;
    for f in &t.frames {
        if is_primitive(&f.name) {
            seen = true;
        } else if seen {
            return Some(f.name.clone());
        }
    }
    None
}

/// What the Python stacks say each thread waits on, when nothing can be evaluated: frame names
/// only, no objects. The exit hook's join names the first worker still alive (it joins them
/// in order); a `result` call waits on a future whose runner the stack cannot tell.
pub fn infer_from_stacks(threads: &[ObservedThread]) -> Vec<RawWait> {
    let mut out = Vec::new();
    let workers: Vec<&str> = threads
        .iter()
        .map(|t| t.name.as_str())
        .filter(|n| n.starts_with("ThreadPoolExecutor-"))
        .collect();
    for t in threads {
        let names: Vec<&str> = t.frames.iter().map(|f| f.name.as_str()).collect();
        let below = |frame: &str| {
            names
                .iter()
                .position(|n| *n == frame)
                .and_then(|i| names.get(i + 1).copied())
        };
        if names.contains(&"_python_exit") && names.contains(&"join") {
            let mut alive: Vec<&str> = workers.iter().copied().filter(|w| *w != t.name).collect();
            alive.sort();
            if let Some(first) = alive.first() {
                out.push(RawWait {
                    thread: t.name.clone(),
                    kind: WaitKind::Thread,
                    object: first.to_string(),
                    site: None,
                    owner: Some(first.to_string()),
                    queued_in: None,
                    candidates: Vec::new(),
                    called_from: None,
                });
            }
        } else if let Some(caller) = below("result") {
            // Which future is not on the stack; whoever completes it must be a worker, and at
            // a hang every worker is blocked too.
            let mut candidates: Vec<String> = workers.iter().map(|w| w.to_string()).collect();
            candidates.sort();
            out.push(RawWait {
                thread: t.name.clone(),
                kind: WaitKind::Future,
                object: format!("awaited in {caller}"),
                site: None,
                owner: None,
                queued_in: None,
                candidates,
                called_from: None,
            });
        } else if names.contains(&"join") {
            out.push(RawWait {
                thread: t.name.clone(),
                kind: WaitKind::Thread,
                object: "a thread".into(),
                site: None,
                owner: None,
                queued_in: None,
                candidates: Vec::new(),
                called_from: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_behind_a_submit_line() {
        assert_eq!(
            submitted_call("    let f = executor.submit(|| pow(5, 2))?; // @bp inner-submit"),
            Some("pow(5, 2)".into())
        );
        assert_eq!(
            submitted_call("executor.submit(move || wait_on_future(&e))?; // @bp outer-submit"),
            Some("wait_on_future(&e)".into())
        );
        assert_eq!(submitted_call("let x = 1;"), None);
    }

    fn thread(name: &str, frames: &[&str]) -> ObservedThread {
        ObservedThread::of_user_frames(name, frames)
    }

    #[test]
    fn the_wait_is_placed_in_the_frame_that_called_the_primitive() {
        let t = thread(
            "MainThread",
            &[
                "futex_wait",
                "Lock::acquire::{closure}",
                "allow_threads",
                "Lock::acquire",
                "Thread::join",
                "_python_exit",
                "run",
            ],
        );
        assert_eq!(caller_of_wait(&t), Some("_python_exit".into()));
        let t = thread(
            "ThreadPoolExecutor-0_0",
            &["wait", "result", "wait_on_future"],
        );
        assert_eq!(caller_of_wait(&t), Some("wait_on_future".into()));
    }

    #[test]
    fn python_stacks_give_the_join_and_the_future_wait() {
        let got = infer_from_stacks(&[
            thread(
                "MainThread",
                &["_wait_for_tstate_lock", "join", "_python_exit", "_shutdown"],
            ),
            thread(
                "ThreadPoolExecutor-0_0",
                &["wait", "result", "wait_on_future", "run", "_worker"],
            ),
        ]);
        let lines: Vec<String> = got.iter().map(crate::checks::wait_line).collect();
        assert_eq!(
            lines,
            vec![
                "MainThread joins ThreadPoolExecutor-0_0",
                "ThreadPoolExecutor-0_0 waits on future awaited in wait_on_future"
            ]
        );
    }
}
