//! Who waits on whom at a stop, gathered from the debugger: the program's own wait records
//! where the dialect can read them (the Rust port on the LLDB adapters), else inferred from the
//! stacks the adapter still returns (debugpy after a hang). The graph and its verdict are
//! [`crate::checks::explain`]'s, a pure function of what is gathered here.

use super::player::{Player, StepError};
use crate::adapters::WaitField;
use crate::checks::{explain, Explanation, ObservedFrame, ObservedThread, RawWait, WaitKind};
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
                infer_from_stacks(observed, &|file| self.program_source(file)),
                "inferred from the call stacks and the program's source lines: the adapter cannot evaluate in \
                 blocked threads",
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
        // Each pool's live workers by the executor number their slots record, and each queued
        // future's executor number: a pool is found by its workers, whatever their names.
        let mut workers: Vec<(u64, String)> = Vec::new();
        let mut queued: Vec<(usize, u64)> = Vec::new();
        for i in 0..count {
            let tid = self.number(WaitField::Tid(i), frame).await;
            // A slot of a thread that has ended is no wait of the program's any more.
            let Some(thread) = listed.iter().find(|t| t.id as u64 == tid) else {
                continue;
            };
            let works_for = self.number(WaitField::WorkerOf(i), frame).await;
            if works_for > 0 {
                workers.push((works_for, thread.name.clone()));
            }
            let target = self.number(WaitField::Target(i), frame).await;
            if target == 0 {
                continue;
            }
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
            if executor > 0 {
                queued.push((out.len(), executor));
            }
            out.push(RawWait {
                thread: thread.name.clone(),
                kind,
                object,
                site,
                owner,
                queued_in: None,
                candidates: Vec::new(),
                called_from: None,
            });
        }
        for (i, executor) in queued {
            out[i].queued_in = Some(
                workers
                    .iter()
                    .filter(|(n, _)| *n == executor)
                    .map(|(_, name)| name.clone())
                    .collect(),
            );
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

    /// The program's source by a frame's file name: stack inference reads only the program's
    /// own file, never the standard library's.
    fn program_source(&self, file: &str) -> Option<String> {
        let own = self.prep.source.file_name()?.to_str()? == file;
        own.then(|| std::fs::read_to_string(&self.prep.source).ok())
            .flatten()
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

/// The text of a source file by the file name a frame shows (`lock_order.py`), when it is the
/// program's: what stack inference reads to name the object of a wait.
pub type SourceOf<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// What the Python stacks say each thread waits on, when nothing can be evaluated: frame names
/// and, where the program's source is at hand, the lines the frames stand on. No object is
/// read from the process, so every object is named as the source spells it and every
/// "who could end it" is a set of candidates among the threads that exist:
///
/// - the exit hook's join (`_python_exit`) names the first worker still alive (it joins them
///   in order); an executor's `shutdown` joins one of its workers, never the thread itself;
/// - `t.join()` in the program joins the thread the source created as `t = Thread(...,
///   name="N")` if `N` is alive, else one of the other threads (only one: that one);
/// - a `result` call waits on a future whose runner the stack cannot tell: any worker;
/// - `get` in `queue.py` waits on a `queue.Queue`;
/// - a thread whose innermost frame stands on `with NAME:` (or `NAME.acquire(`) is blocked in
///   C acquiring that lock; it is held by a thread standing inside a `with` block of a lock.
pub fn infer_from_stacks(threads: &[ObservedThread], source: &SourceOf) -> Vec<RawWait> {
    let mut out = Vec::new();
    // A pool's worker by its name, or, whatever `thread_name_prefix` named it, by the
    // executor's `_worker` loop on its stack.
    let mut workers: Vec<&str> = threads
        .iter()
        .filter(|t| {
            t.name.starts_with("ThreadPoolExecutor-")
                || t.frames
                    .iter()
                    .any(|f| f.name == "_worker" && in_file(f, "thread.py"))
        })
        .map(|t| t.name.as_str())
        .collect();
    workers.sort();
    let others = |me: &str| -> Vec<String> {
        threads
            .iter()
            .map(|t| t.name.clone())
            .filter(|n| n != me)
            .collect()
    };
    let holders: Vec<&str> = threads
        .iter()
        .filter(|t| !held_locks(t, source).is_empty())
        .map(|t| t.name.as_str())
        .collect();
    for t in threads {
        let names: Vec<&str> = t.frames.iter().map(|f| f.name.as_str()).collect();
        let below = |frame: &str| {
            names
                .iter()
                .position(|n| *n == frame)
                .and_then(|i| t.frames.get(i + 1))
        };
        let wait = |kind: WaitKind, object: String, candidates: Vec<String>| {
            // One thread that can end the wait is the one that holds or runs its object.
            let owner =
                (candidates.len() == 1 && kind != WaitKind::Future).then(|| candidates[0].clone());
            RawWait {
                thread: t.name.clone(),
                kind,
                object,
                site: None,
                queued_in: None,
                candidates: if owner.is_some() {
                    Vec::new()
                } else {
                    candidates
                },
                owner,
                called_from: None,
            }
        };
        if names.contains(&"_python_exit") && names.contains(&"join") {
            let alive: Vec<&str> = workers.iter().copied().filter(|w| *w != t.name).collect();
            if let Some(first) = alive.first() {
                out.push(wait(
                    WaitKind::Thread,
                    first.to_string(),
                    vec![first.to_string()],
                ));
            }
        } else if below("join").is_some_and(|f| f.name == "shutdown") {
            let alive: Vec<String> = workers
                .iter()
                .filter(|w| **w != t.name)
                .map(|w| w.to_string())
                .collect();
            let object = match alive.as_slice() {
                [only] => only.clone(),
                _ => "a worker of the executor".into(),
            };
            out.push(wait(WaitKind::Thread, object, alive));
        } else if let Some(caller) = below("result") {
            // Which future is not on the stack. The source may say what it runs (`f =
            // executor.submit(fetch, url)`): a worker whose task is that function runs it;
            // else it is queued, and a worker of its executor must take it. Without the
            // source, any worker may.
            let mut w = wait(
                WaitKind::Future,
                format!("awaited in {}", caller.name),
                workers.iter().map(|w| w.to_string()).collect(),
            );
            if let Some((call, found)) = submitted_future(caller, threads, &workers, source) {
                w.object = call;
                match found {
                    Some(Submitted::RunBy(runner)) => {
                        w.owner = Some(runner);
                        w.candidates.clear();
                    }
                    // Its pool's workers, and only they, can take it.
                    Some(Submitted::Queued(pool)) => {
                        w.candidates.clear();
                        w.queued_in = Some(pool);
                    }
                    // Nobody runs it and its pool is not known: any worker may take it.
                    None => {}
                }
            }
            out.push(w);
        } else if below("wait").is_some_and(|f| f.name == "get" && in_file(f, "queue.py")) {
            out.push(wait(WaitKind::Queue, "Queue".into(), Vec::new()));
        } else if let Some(caller) = below("join") {
            let receiver = code_at(caller, source).and_then(|l| receiver_of(&l, ".join("));
            let created = receiver
                .as_deref()
                .and_then(|r| thread_named_in_source(caller, r, source))
                .filter(|n| *n != t.name && threads.iter().any(|o| o.name == *n));
            let candidates = match created {
                Some(n) => vec![n],
                None => others(&t.name),
            };
            let object = match (candidates.as_slice(), receiver) {
                ([only], _) => only.clone(),
                (_, Some(r)) => r,
                _ => "a thread".into(),
            };
            out.push(wait(WaitKind::Thread, object, candidates));
        } else if let Some(lock) = t
            .frames
            .first()
            .and_then(|f| code_at(f, source))
            .and_then(|l| lock_taken_at(&l))
        {
            let candidates: Vec<String> = holders
                .iter()
                .filter(|h| **h != t.name)
                .map(|h| h.to_string())
                .collect();
            out.push(wait(WaitKind::Lock, lock, candidates));
        }
    }
    out
}

/// What the source says about the future a frame's `R.result(` waits on.
enum Submitted {
    /// A worker runs the submitted function now.
    RunBy(String),
    /// Nobody runs it: it waits in the work queue of the pool whose workers these are.
    Queued(Vec<String>),
}

/// The worker whose current task is `function` (the frame above `_WorkItem.run`).
fn running(threads: &[ObservedThread], function: &str) -> Option<String> {
    threads
        .iter()
        .find(|t| {
            t.frames
                .windows(3)
                .any(|w| w[0].name == function && w[1].name == "run" && w[2].name == "_worker")
        })
        .map(|t| t.name.clone())
}

/// `(executor, function, call)` of a line `... E.submit(F, a, b)`: `call` is `F(a, b)`, as
/// the future's work item will call it.
fn submit_call(code: &str) -> Option<(String, String, String)> {
    let executor = receiver_of(code, ".submit(")?;
    let args = &code[code.find(".submit(")? + ".submit(".len()..];
    let function: String = args
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    // The arguments end where submit's parenthesis closes.
    let mut depth = 0usize;
    let mut end = args.len();
    for (i, c) in args.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' if depth == 0 => {
                end = i;
                break;
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let rest = args[function.len()..end]
        .trim()
        .trim_start_matches(',')
        .trim();
    let call = format!("{function}({rest})");
    (!function.is_empty()).then_some((executor, function, call))
}

/// The `def` line whose body holds line `i`, if any (else `i` is at module level).
fn enclosing_def(lines: &[String], i: usize) -> Option<usize> {
    enclosing(lines, i)
        .find(|(_, c)| c.starts_with("def "))
        .map(|(j, _)| j)
}

/// The lines whose blocks hold line `i` (each less indented than the one before), innermost
/// first, as code without comments, up to and with the function's `def` or a line at module
/// level.
fn enclosing(lines: &[String], i: usize) -> impl Iterator<Item = (usize, &str)> {
    let mut depth = indent(&lines[i]);
    let mut done = false;
    lines[..i]
        .iter()
        .enumerate()
        .rev()
        .filter_map(move |(j, line)| {
            if done || line.trim().is_empty() || indent(line) >= depth {
                return None;
            }
            depth = indent(line);
            let c = code(line).trim();
            done = c.starts_with("def ") || depth == 0;
            Some((j, c))
        })
}

/// The future `R` of `R.result(` on the caller's line: its assignment `R = E.submit(F, ...)`
/// in the caller's function (else at module level), or, for `for R in L:`, the `L.append(
/// E.submit(F, ...))` that filled the list, names the call `F(...)`. A worker running F runs
/// it (when R is one of a list's, which one is unknown); else it is queued in the executor
/// `E`, whose workers are those of a worker running another function submitted to `E`, or
/// those of the only thread pool the stacks show (see [`only_pool`]).
fn submitted_future(
    caller: &ObservedFrame,
    threads: &[ObservedThread],
    workers: &[&str],
    source: &SourceOf,
) -> Option<(String, Option<Submitted>)> {
    let (lines, i) = lines_at(caller, source)?;
    let receiver = receiver_of(code(&lines[i]), ".result(")?;
    let scope = enclosing_def(&lines, i);
    let list = loop_list(&lines, i, &receiver);
    let assigned = |j: &usize| {
        let c = code(&lines[*j]).trim();
        let assignment = c
            .strip_prefix(receiver.as_str())
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
            .filter(|r| !r.starts_with('='));
        let appended = list.as_deref().and_then(|l| {
            c.strip_prefix(l)
                .and_then(|r| r.strip_prefix(".append("))
                .map(|_| c)
        });
        assignment.or(appended).and_then(submit_call)
    };
    let in_function = scope.and_then(|d| (d..i).rev().find_map(|j| assigned(&j)));
    let at_module = || {
        (0..lines.len())
            .rev()
            .filter(|j| enclosing_def(&lines, *j).is_none())
            .find_map(|j| assigned(&j))
    };
    let (executor, function, call) = in_function.or_else(at_module)?;
    if let Some(runner) = running(threads, &function) {
        let found = list.is_none().then_some(Submitted::RunBy(runner));
        return Some((call, found));
    }
    let queued = lines
        .iter()
        .find_map(|l| {
            let (e, f, _) = submit_call(code(l).trim())?;
            let worker = running(threads, &f).filter(|_| e == executor)?;
            Some(pool_of(&worker, workers))
        })
        .or_else(|| only_pool(threads, workers));
    Some((call, queued.map(Submitted::Queued)))
}

/// The workers of `worker`'s pool: a pool names its workers PREFIX_0, PREFIX_1, ...
fn pool_of(worker: &str, workers: &[&str]) -> Vec<String> {
    let prefix = worker.rsplit_once('_').map_or(worker, |(p, _)| p);
    workers
        .iter()
        .filter(|w| {
            w.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('_'))
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|w| w.to_string())
        .collect()
}

/// The pool a pending future must be queued in when the source cannot say which executor
/// took it: a future nobody runs sits in the work queue of a thread pool with a live worker
/// (`submit` starts one, and workers leave only on a sentinel queued behind earlier work) or
/// in a process pool's, whose manager thread then runs in `process.py`. So when no such
/// thread runs and the stacks show the workers of one thread pool only, it is that pool.
fn only_pool(threads: &[ObservedThread], workers: &[&str]) -> Option<Vec<String>> {
    let process_pool = threads
        .iter()
        .any(|t| t.frames.iter().any(|f| in_file(f, "process.py")));
    let first = pool_of(workers.first()?, workers);
    (!process_pool && first.len() == workers.len()).then_some(first)
}

/// `L` of the `for R in L:` whose body holds line `i`, in the same function.
fn loop_list(lines: &[String], i: usize, receiver: &str) -> Option<String> {
    enclosing(lines, i).find_map(|(_, c)| {
        c.strip_prefix("for ")
            .and_then(|r| r.strip_prefix(receiver))
            .and_then(|r| r.trim_start().strip_prefix("in "))
            .and_then(|r| r.strip_suffix(':'))
            .map(str::trim)
            .filter(|l| {
                l.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            })
            .map(str::to_string)
    })
}

fn in_file(f: &ObservedFrame, file: &str) -> bool {
    f.location
        .as_deref()
        .and_then(|l| l.rsplit_once(':'))
        .is_some_and(|(name, _)| name == file)
}

/// The file's lines and the frame's line in them (0-based), when the source is at hand.
fn lines_at(f: &ObservedFrame, source: &SourceOf) -> Option<(Vec<String>, usize)> {
    let (file, line) = f.location.as_deref()?.rsplit_once(':')?;
    let text = source(file)?;
    let index = line.parse::<usize>().ok()?.checked_sub(1)?;
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    (index < lines.len()).then_some((lines, index))
}

/// The code of the line a frame stands on, without its comment.
fn code_at(f: &ObservedFrame, source: &SourceOf) -> Option<String> {
    let (lines, i) = lines_at(f, source)?;
    Some(code(&lines[i]).trim().to_string())
}

fn code(line: &str) -> &str {
    line.split(" #").next().unwrap_or(line)
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `t1` in `t1.join()`.
fn receiver_of(line: &str, call: &str) -> Option<String> {
    let at = line.find(call)?;
    let start = line[..at]
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |i| i + 1);
    let r = &line[start..at];
    (!r.is_empty()).then(|| r.to_string())
}

/// The `name=` of `receiver = threading.Thread(..., name="N")` in the frame's file.
fn thread_named_in_source(f: &ObservedFrame, receiver: &str, source: &SourceOf) -> Option<String> {
    let (lines, _) = lines_at(f, source)?;
    lines.iter().map(|l| code(l).trim()).find_map(|l| {
        let rest = l.strip_prefix(receiver)?.trim_start().strip_prefix('=')?;
        if !rest.contains("Thread(") {
            return None;
        }
        let after = &rest[rest.find("name=")? + "name=".len()..];
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let name = &after[1..];
        Some(name[..name.find(quote)?].to_string())
    })
}

/// The lock a line takes: `with NAME:` (a plain name or attribute, not a call: `with
/// ThreadPoolExecutor(...) as e:` takes no lock) or `NAME.acquire(`.
fn lock_taken_at(code: &str) -> Option<String> {
    if let Some(expr) = code
        .strip_prefix("with ")
        .and_then(|r| r.strip_suffix(':'))
        .map(str::trim)
    {
        let plain = !expr.is_empty()
            && expr
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
        return plain.then(|| expr.to_string());
    }
    receiver_of(code, ".acquire(")
}

/// The locks a thread stands inside: the `with NAME:` blocks that enclose the line of each of
/// its frames in the program's source (read upwards to the function's `def`).
fn held_locks(t: &ObservedThread, source: &SourceOf) -> Vec<String> {
    let mut held = Vec::new();
    for f in &t.frames {
        let Some((lines, i)) = lines_at(f, source) else {
            continue;
        };
        for (_, c) in enclosing(&lines, i) {
            if let Some(lock) = lock_taken_at(c).filter(|_| c.starts_with("with ")) {
                held.push(lock);
            }
        }
    }
    held
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

    /// A thread whose frames are `name@file:line` or bare names.
    fn at(name: &str, frames: &[&str]) -> ObservedThread {
        let mut t = thread(name, &[]);
        t.frames = frames
            .iter()
            .map(|f| {
                let (name, location) = match f.split_once('@') {
                    Some((n, l)) => (n, Some(l.to_string())),
                    None => (*f, None),
                };
                ObservedFrame {
                    name: name.into(),
                    user: true,
                    location,
                }
            })
            .collect();
        t
    }

    fn lines(threads: &[ObservedThread], file: &'static str, text: &'static str) -> Vec<String> {
        let source = move |f: &str| (f == file).then(|| text.to_string());
        infer_from_stacks(threads, &source)
            .iter()
            .map(crate::checks::wait_line)
            .collect()
    }

    const LOCK_ORDER: &str = include_str!("../../scenarios/python/lock_order.py");

    fn line_of(text: &str, marker: &str) -> usize {
        1 + text
            .lines()
            .position(|l| l.contains(&format!("@bp {marker}")))
            .unwrap_or_default()
    }

    #[test]
    fn python_locks_taken_in_opposite_order_are_read_from_the_with_lines() {
        let take = format!(
            "philosopher@lock_order.py:{}",
            line_of(LOCK_ORDER, "take-second")
        );
        let join = format!(
            "<module>@lock_order.py:{}",
            line_of(LOCK_ORDER, "main-join")
        );
        let worker = |name: &str| at(name, &[&take, "run@threading.py:953", "_bootstrap_inner"]);
        let threads = [
            at(
                "MainThread",
                &["_wait_for_tstate_lock", "join@threading.py:1096", &join],
            ),
            worker("Thread-1"),
            worker("Thread-2"),
        ];
        let got = infer_from_stacks(&threads, &|f| {
            (f == "lock_order.py").then(|| LOCK_ORDER.to_string())
        });
        let owners: Vec<(String, Option<String>)> = got
            .iter()
            .map(|w| (crate::checks::wait_line(w), w.owner.clone()))
            .collect();
        assert_eq!(
            owners,
            vec![
                // `t1 = threading.Thread(..., name="Thread-1")` names the joined thread.
                ("MainThread joins Thread-1".into(), Some("Thread-1".into())),
                // Each stands on `with second:` inside its own `with first:`.
                (
                    "Thread-1 waits on lock second".into(),
                    Some("Thread-2".into())
                ),
                (
                    "Thread-2 waits on lock second".into(),
                    Some("Thread-1".into())
                ),
            ]
        );
        let names: Vec<String> = threads.iter().map(|t| t.name.clone()).collect();
        let e = explain(&names, got, "test");
        assert_eq!(e.cycle_line(), "cycle: MainThread -> Thread-1 -> Thread-2");
    }

    #[test]
    fn without_the_source_a_python_join_names_only_its_candidates() {
        let threads = [
            at("MainThread", &["join", "<module>@lock_order.py:26"]),
            at("Thread-1", &["philosopher@lock_order.py:18"]),
            at("Thread-2", &["philosopher@lock_order.py:18"]),
        ];
        assert_eq!(
            lines(&threads, "other.py", ""),
            vec!["MainThread joins a thread"]
        );
        let got = infer_from_stacks(&threads, &|_| None);
        assert_eq!(got[0].candidates, vec!["Thread-1", "Thread-2"]);
    }

    #[test]
    fn a_python_consumer_waits_on_a_queue_and_its_only_joiner_joins_it() {
        let threads = [
            at(
                "MainThread",
                &["_wait_for_tstate_lock", "join", "<module>@x.py:30"],
            ),
            at(
                "Consumer",
                &[
                    "wait@threading.py:320",
                    "get@queue.py:171",
                    "consume@x.py:22",
                ],
            ),
        ];
        assert_eq!(
            lines(&threads, "x.py", ""),
            vec!["MainThread joins Consumer", "Consumer waits on queue Queue"]
        );
    }

    #[test]
    fn an_executor_shutdown_joins_a_worker_other_than_itself() {
        // self_join: the outer worker leaves the inner `with` block.
        let threads = [
            at("MainThread", &["wait", "result", "<module>"]),
            at(
                "ThreadPoolExecutor-0_0",
                &[
                    "_wait_for_tstate_lock",
                    "join",
                    "shutdown",
                    "__exit__",
                    "scrape_site",
                ],
            ),
            at("ThreadPoolExecutor-1_0", &["wait", "result", "scrape_page"]),
        ];
        let got = infer_from_stacks(&threads, &|_| None);
        assert_eq!(
            crate::checks::wait_line(&got[1]),
            "ThreadPoolExecutor-0_0 joins ThreadPoolExecutor-1_0"
        );
        assert_eq!(got[1].owner.as_deref(), Some("ThreadPoolExecutor-1_0"));
    }

    const SELF_JOIN: &str = include_str!("../../scenarios/python/self_join.py");

    #[test]
    fn the_source_says_which_worker_runs_a_future_and_where_a_queued_one_waits() {
        let main = format!(
            "<module>@self_join.py:{}",
            line_of(SELF_JOIN, "main-result")
        );
        let page = format!(
            "scrape_page@self_join.py:{}",
            line_of(SELF_JOIN, "page-result")
        );
        let threads = [
            at("MainThread", &["wait", "result", &main]),
            at(
                "ThreadPoolExecutor-0_0",
                &[
                    "join",
                    "shutdown",
                    "__exit__",
                    "scrape_site",
                    "run",
                    "_worker",
                ],
            ),
            at(
                "ThreadPoolExecutor-1_0",
                &["wait", "result", &page, "run", "_worker"],
            ),
        ];
        let got = infer_from_stacks(&threads, &|f| {
            (f == "self_join.py").then(|| SELF_JOIN.to_string())
        });
        let lines: Vec<String> = got.iter().map(crate::checks::wait_line).collect();
        assert_eq!(
            lines,
            vec![
                "MainThread waits on future scrape_site(\"example.org\")",
                "ThreadPoolExecutor-0_0 joins ThreadPoolExecutor-1_0",
                "ThreadPoolExecutor-1_0 waits on future fetch(url)",
            ]
        );
        // `site = outer.submit(scrape_site, ...)`: the outer worker's task is scrape_site.
        assert_eq!(got[0].owner.as_deref(), Some("ThreadPoolExecutor-0_0"));
        // `f = outer.submit(fetch, url)`: nobody runs fetch; `outer` is the pool whose worker
        // runs scrape_site, executor 0.
        assert_eq!(
            (got[2].owner.as_deref(), got[2].queued_in.clone()),
            (None, Some(vec!["ThreadPoolExecutor-0_0".to_string()]))
        );
        let names: Vec<String> = threads.iter().map(|t| t.name.clone()).collect();
        let e = explain(&names, got, "test");
        assert_eq!(
            e.cycle_line(),
            "cycle: MainThread -> ThreadPoolExecutor-0_0 -> ThreadPoolExecutor-1_0"
        );
        // Without the source nothing names the futures' runners: no cycle.
        let blind = infer_from_stacks(&threads, &|_| None);
        assert_eq!(explain(&names, blind, "test").cycle, None);
    }

    const NESTED_SCRAPE: &str = include_str!("../../scenarios/python/nested_scrape.py");

    /// nested_scrape.py's trap as debugpy shows it: main in `f.result()` over the sites'
    /// futures, both "Sites" workers in `f.result()` over their subpages' futures; `extra`
    /// threads besides.
    fn scrape_trap(extra: Vec<ObservedThread>) -> (Vec<String>, Vec<RawWait>) {
        let main = format!(
            "<module>@nested_scrape.py:{}",
            line_of(NESTED_SCRAPE, "site-result")
        );
        let site = format!(
            "scrape_site@nested_scrape.py:{}",
            line_of(NESTED_SCRAPE, "subpage-result")
        );
        let worker = |name: &str| {
            at(
                name,
                &[
                    "wait@threading.py:320",
                    "result@_base.py:453",
                    &site,
                    "run@thread.py:58",
                    "_worker@thread.py:83",
                ],
            )
        };
        let mut threads = vec![
            at(
                "MainThread",
                &["wait@threading.py:320", "result@_base.py:453", &main],
            ),
            worker("Sites_0"),
            worker("Sites_1"),
        ];
        threads.extend(extra);
        let got = infer_from_stacks(&threads, &|f| {
            (f == "nested_scrape.py").then(|| NESTED_SCRAPE.to_string())
        });
        (threads.iter().map(|t| t.name.clone()).collect(), got)
    }

    #[test]
    fn futures_a_list_was_filled_with_wait_in_the_only_pool_the_stacks_show() {
        let (names, got) = scrape_trap(Vec::new());
        let lines: Vec<String> = got.iter().map(crate::checks::wait_line).collect();
        assert_eq!(
            lines,
            vec![
                "MainThread waits on future scrape_site(site, inner)",
                "Sites_0 waits on future fetch_subpage(link)",
                "Sites_1 waits on future fetch_subpage(link)",
            ]
        );
        // Both workers run scrape_site: which one main's future is, the stack cannot say.
        assert_eq!(got[0].candidates, vec!["Sites_0", "Sites_1"]);
        // Nobody runs fetch_subpage: it is queued, and only the "Sites" pool has workers.
        let pool = Some(vec!["Sites_0".to_string(), "Sites_1".to_string()]);
        assert_eq!((&got[1].queued_in, &got[2].queued_in), (&pool, &pool));
        let e = explain(&names, got, "test");
        assert_eq!(e.cycle_line(), "cycle: Sites_0 -> Sites_1");
        assert!(e.verdict().contains("is exhausted"), "{}", e.verdict());
    }

    #[test]
    fn with_a_process_pool_running_the_queue_of_a_future_is_not_guessed() {
        let manager = at(
            "Thread-1",
            &[
                "wait_result_broken_or_wakeup@process.py:385",
                "run@process.py:320",
            ],
        );
        let (names, got) = scrape_trap(vec![manager]);
        assert_eq!(got[1].queued_in, None);
        assert_eq!(got[1].candidates, vec!["Sites_0", "Sites_1"]);
        assert_eq!(explain(&names, got, "test").cycle, None);
    }

    #[test]
    fn a_worker_named_by_its_own_prefix_is_found_by_its_worker_loop() {
        // `ThreadPoolExecutor(max_workers=1, thread_name_prefix="scraper")`.
        let worker = "scraper_0";
        let threads = [
            at("MainThread", &["join", "_python_exit"]),
            at(
                worker,
                &[
                    "wait",
                    "result",
                    "wait_on_future",
                    "run",
                    "_worker@thread.py:83",
                ],
            ),
        ];
        let got = infer_from_stacks(&threads, &|_| None);
        assert_eq!(
            crate::checks::wait_line(&got[0]),
            "MainThread joins scraper_0"
        );
        assert_eq!(got[1].candidates, vec![worker.to_string()]);
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
        let got = infer_from_stacks(
            &[
                thread(
                    "MainThread",
                    &["_wait_for_tstate_lock", "join", "_python_exit", "_shutdown"],
                ),
                thread(
                    "ThreadPoolExecutor-0_0",
                    &["wait", "result", "wait_on_future", "run", "_worker"],
                ),
            ],
            &|_| None,
        );
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
