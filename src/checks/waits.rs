//! The wait-for graph of a stopped or hung program, and its verdict: pure functions over what
//! the engine read (or inferred) about each thread.
//!
//! Each thread waits on at most one object; an object leads to the threads that could end the
//! wait (a lock's owner, the thread running a future, the workers of the executor whose queue
//! holds it, the thread being joined, the GIL's holder). Following those edges from
//! `MainThread` either comes back to a thread already on the path (a cycle: a deadlock) or
//! ends at an object nobody holds or can complete (starvation, or a lost wake-up).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of object a thread waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitKind {
    Lock,
    Future,
    /// A thread being joined.
    Thread,
    Queue,
    Condition,
    /// The model GIL of the Rust port.
    Gil,
}

/// One thread's wait, as read from the program (or inferred from its stack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawWait {
    /// The thread's portable name.
    pub thread: String,
    pub kind: WaitKind,
    /// The object's name: `_global_shutdown_lock`, the call behind a future (`pow(5, 2)`), the
    /// joined thread's name. Empty when the program gave it none.
    pub object: String,
    /// Where the object came from (`always_deadlock.rs:29` for a submitted future).
    pub site: Option<String>,
    /// The thread (portable name) that holds the object or is running it.
    pub owner: Option<String>,
    /// For a future still in a work queue: the workers of the pool whose queue holds it
    /// (portable names; empty when it has none left), whatever the pool's name prefix.
    pub queued_in: Option<Vec<String>>,
    /// When the object itself is unknown (inferred from a stack): the threads one of which
    /// must end the wait. A cycle is named through such a wait only when there is one.
    #[serde(default)]
    pub candidates: Vec<String>,
    /// The frame that called the blocking primitive (`_python_exit`, `wait_on_future`).
    #[serde(default)]
    pub called_from: Option<String>,
}

/// Who waits on whom at one stop, and the verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Every thread that waits, with who could end its wait, in the order of `lines`.
    pub waits: Vec<ExplainedWait>,
    /// Threads that wait on nothing the program recorded (running, or stopped by the debugger).
    pub free: Vec<String>,
    /// The wait chain from the first thread whose waits lead back to a thread already on it;
    /// the thread that closes it is `closes_at`.
    pub cycle: Option<Cycle>,
    /// Where the facts came from, in words: read from the program through the debugger, or
    /// inferred from stacks.
    pub source: String,
    /// How long gathering took, in milliseconds.
    pub cost_ms: Option<u64>,
}

/// One thread's wait with the threads that could end it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainedWait {
    pub wait: RawWait,
    /// Who could end the wait (portable names); empty when nobody can.
    pub by: Vec<String>,
    /// Why those threads, in words: `held by X`, `queued in the work queue of the pool whose
    /// only worker is X`, `no thread holds it`.
    pub why: String,
    /// For a queue nobody holds: no live thread can put to it, because every other thread
    /// that still exists waits itself (the producer that would have put has ended). Derived
    /// from which threads exist and which wait, never from the walkthrough.
    #[serde(default)]
    pub no_live_putter: bool,
}

/// A cycle of waits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    /// The chain, in order, from where it was entered.
    pub chain: Vec<String>,
    /// The thread on `chain` the last one waits on.
    pub closes_at: String,
}

impl Explanation {
    /// The narrative line of each wait (`MainThread joins TPExecutor-0_0`), thread by thread:
    /// what `expect.waits` is compared with.
    /// A queue no live thread can put to says so in its line (`Consumer waits on queue Queue,
    /// which no live thread can put to`), so a walkthrough checks it.
    pub fn lines(&self) -> Vec<String> {
        self.waits.iter().map(explained_line).collect()
    }

    /// The explanation as a person reads it: each wait with who could end it, the threads
    /// that wait on nothing, then the verdict.
    pub fn report_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for w in &self.waits {
            let site = w
                .wait
                .site
                .as_ref()
                .map(|s| format!(", submitted at {s}"))
                .unwrap_or_default();
            let from = w
                .wait
                .called_from
                .as_ref()
                // An inferred future is already named after that frame.
                .filter(|f| !w.wait.object.ends_with(&format!("in {f}")))
                .map(|f| format!(" in {f}"))
                .unwrap_or_default();
            out.push(format!("{}{from}{site} ({})", wait_line(&w.wait), w.why));
        }
        if !self.free.is_empty() {
            out.push(format!(
                "waiting on nothing recorded: {}",
                self.free.join(", ")
            ));
        }
        out.push(self.verdict());
        out
    }

    /// The verdict in one sentence.
    pub fn verdict(&self) -> String {
        match &self.cycle {
            Some(c) => {
                let mut path = c.chain.join(" → ");
                path.push_str(&format!(" → {}", c.closes_at));
                let after: Vec<&str> = c
                    .chain
                    .iter()
                    .skip_while(|t| **t != c.closes_at)
                    .skip(1)
                    .map(String::as_str)
                    .collect();
                if after.is_empty() {
                    format!("deadlock: {path} ({} waits on itself)", c.closes_at)
                } else if let Some(pool) = self.exhausted_pool(c) {
                    format!(
                        "deadlock: a cycle of waits {path} (the pool {} is exhausted: each of \
                         its workers waits on a future queued behind them in its work queue)",
                        pool_words(&pool)
                    )
                } else {
                    format!(
                        "deadlock: a cycle of waits {path} ({} waits on itself through {})",
                        c.closes_at,
                        after.join(" and ")
                    )
                }
            }
            None if self.waits.is_empty() => "no thread waits on anything recorded".into(),
            None => {
                let stuck = stuck_threads(&self.waits);
                if !stuck.is_empty() && self.waits.iter().all(|w| !w.by.is_empty()) {
                    return format!(
                        "deadlock: {} wait only on each other, but the stacks cannot say which \
                         future each waits on, so no cycle is named",
                        stuck.join(", ")
                    );
                }
                let stuck: Vec<&ExplainedWait> =
                    self.waits.iter().filter(|w| w.by.is_empty()).collect();
                match stuck.first() {
                    Some(w) if w.no_live_putter => format!(
                        "no cycle: {} and no live thread can put to it (starvation: a lost \
                         sentinel or wake-up)",
                        wait_line(&w.wait)
                    ),
                    Some(w) => format!(
                        "no cycle: {} and nothing can end that wait (starvation or a lost \
                         wake-up)",
                        wait_line(&w.wait)
                    ),
                    None => "no cycle: every wait has a thread that could end it".into(),
                }
            }
        }
    }

    /// The workers of the pool the cycle goes round, when every thread of its loop (from
    /// `closes_at` on) is a worker of one pool of several, waiting on a future queued in that
    /// pool's own work queue, and all its workers are on the loop.
    fn exhausted_pool(&self, c: &Cycle) -> Option<Vec<String>> {
        let looped: Vec<&String> = c.chain.iter().skip_while(|t| **t != c.closes_at).collect();
        let pools: Vec<&Vec<String>> = looped
            .iter()
            .map(|t| {
                let w = self.waits.iter().find(|w| &w.wait.thread == *t)?;
                w.wait.queued_in.as_ref().map(|_| &w.by)
            })
            .collect::<Option<_>>()?;
        let pool = pools.first()?;
        let same = pools.iter().all(|p| p == pool);
        let all_on_loop = pool.len() == looped.len() && pool.iter().all(|w| looped.contains(&w));
        (same && all_on_loop && pool.len() > 1).then(|| pool.to_vec())
    }

    /// `cycle: MainThread -> TPExecutor-0_0` or `cycle: none`: what `expect.cycle` is compared
    /// with.
    pub fn cycle_line(&self) -> String {
        cycle_line(self.cycle.as_ref().map(|c| c.chain.as_slice()))
    }

    /// The graph in Mermaid (`graph LR`), threads as boxes and objects as rounded nodes.
    pub fn mermaid(&self) -> String {
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        let mut out = String::from("graph LR\n");
        let id = |name: &str, ids: &mut BTreeMap<String, String>| -> String {
            let n = ids.len();
            ids.entry(name.to_string())
                .or_insert_with(|| format!("n{n}"))
                .clone()
        };
        for (i, w) in self.waits.iter().enumerate() {
            let known = ids.contains_key(&w.wait.thread);
            let t = id(&w.wait.thread, &mut ids);
            if !known {
                out.push_str(&format!("  {t}[\"{}\"]\n", mermaid_text(&w.wait.thread)));
            }
            let o = format!("o{i}");
            out.push_str(&format!(
                "  {o}([\"{}\"])\n",
                mermaid_text(&object_text(&w.wait))
            ));
            out.push_str(&format!("  {t} -->|{}| {o}\n", verb(w.wait.kind)));
            if w.no_live_putter {
                out.push_str(&format!(
                    "  {o} -.->|put to by| x{i}((\"no live thread\"))\n"
                ));
            }
            for b in &w.by {
                let known = ids.contains_key(b);
                let bt = id(b, &mut ids);
                if !known {
                    out.push_str(&format!("  {bt}[\"{}\"]\n", mermaid_text(b)));
                }
                let label = match (w.wait.kind, w.wait.owner.as_deref() == Some(b.as_str())) {
                    (WaitKind::Thread, true) => "is",
                    (WaitKind::Future, true) => "run by",
                    (_, true) => "held by",
                    (_, false) if w.by.len() == 1 => "only runnable by",
                    (_, false) => "runnable by",
                };
                out.push_str(&format!("  {o} -.->|{label}| {bt}\n"));
            }
        }
        out
    }
}

/// `cycle: A -> B` for a chain, `cycle: none` without one.
pub fn cycle_line(chain: Option<&[String]>) -> String {
    match chain {
        Some(c) => format!("cycle: {}", c.join(" -> ")),
        None => "cycle: none".into(),
    }
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "'")
}

fn verb(kind: WaitKind) -> &'static str {
    match kind {
        WaitKind::Thread => "joins",
        WaitKind::Lock => "acquires",
        _ => "waits on",
    }
}

/// `future pow(5, 2)`, `lock _global_shutdown_lock`, `thread TPExecutor-0_0`.
fn object_text(w: &RawWait) -> String {
    let kind = match w.kind {
        WaitKind::Lock => "lock",
        WaitKind::Future => "future",
        WaitKind::Thread => "thread",
        WaitKind::Queue => "queue",
        WaitKind::Condition => "condition",
        WaitKind::Gil => return "the GIL".into(),
    };
    if w.object.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {}", w.object)
    }
}

/// The narrative line of one wait with what its explanation adds to it.
fn explained_line(w: &ExplainedWait) -> String {
    if w.no_live_putter {
        format!("{}, {NO_LIVE_PUTTER}", wait_line(&w.wait))
    } else {
        wait_line(&w.wait)
    }
}

const NO_LIVE_PUTTER: &str = "which no live thread can put to";

/// The narrative line of one wait.
pub fn wait_line(w: &RawWait) -> String {
    match w.kind {
        WaitKind::Thread => format!("{} joins {}", w.thread, w.object),
        _ => format!("{} waits on {}", w.thread, object_text(w)),
    }
}

/// Builds the graph from every thread's wait. `threads` are all the program's threads
/// (portable names), waiting or not: a thread that waits on nothing could still end a wait.
pub fn explain(threads: &[String], raw: Vec<RawWait>, source: &str) -> Explanation {
    // A thread that waits on nothing recorded is still running (or stopped by the debugger):
    // it could put to a queue.
    let free: Vec<String> = threads
        .iter()
        .filter(|t| !raw.iter().any(|w| &w.thread == *t))
        .cloned()
        .collect();
    let mut waits: Vec<ExplainedWait> = raw
        .iter()
        .map(|w| {
            let (by, why) = completers(w, threads, &free);
            let no_live_putter = w.kind == WaitKind::Queue && w.owner.is_none() && by.is_empty();
            let why = if no_live_putter {
                no_putter_why(w, &raw)
            } else {
                why
            };
            ExplainedWait {
                wait: w.clone(),
                by,
                why,
                no_live_putter,
            }
        })
        .collect();
    // MainThread first, then by name: the order a reader follows and `expect.waits` lists.
    waits.sort_by(|a, b| {
        (a.wait.thread != "MainThread", &a.wait.thread)
            .cmp(&(b.wait.thread != "MainThread", &b.wait.thread))
    });
    let cycle = find_cycle(&waits);
    Explanation {
        waits,
        free,
        cycle,
        source: source.to_string(),
        cost_ms: None,
    }
}

/// Who could end `w`, and why in words.
fn completers(w: &RawWait, threads: &[String], free: &[String]) -> (Vec<String>, String) {
    if let Some(owner) = &w.owner {
        let how = match w.kind {
            WaitKind::Future => "run by",
            WaitKind::Thread => "still running:",
            _ => "held by",
        };
        return (vec![owner.clone()], format!("{how} {owner}"));
    }
    if let Some(workers) = &w.queued_in {
        // Only workers that still exist can take it.
        let mut workers: Vec<String> = workers
            .iter()
            .filter(|t| threads.contains(t))
            .cloned()
            .collect();
        workers.sort();
        workers.dedup();
        let why = match workers.as_slice() {
            [] => "queued in the work queue of a pool that has no worker left".to_string(),
            many => format!("queued in the work queue of the pool {}", pool_words(many)),
        };
        return (workers, why);
    }
    if !w.candidates.is_empty() {
        let why = format!(
            "the stack does not say which future; only a worker can complete it: {}",
            w.candidates.join(" or ")
        );
        return (w.candidates.clone(), why);
    }
    if w.kind == WaitKind::Queue {
        let putters: Vec<String> = free.iter().filter(|t| **t != w.thread).cloned().collect();
        if !putters.is_empty() {
            let why = format!(
                "nobody holds it; a thread that waits on nothing could still put to it: {}",
                putters.join(", ")
            );
            return (putters, why);
        }
    }
    let why = match w.kind {
        WaitKind::Queue => "no live thread can put to it",
        WaitKind::Future => "no thread runs it and no work queue holds it",
        _ => "no thread holds it",
    };
    (Vec::new(), why.to_string())
}

/// `whose only worker is X`, `whose workers are X, Y`.
fn pool_words(workers: &[String]) -> String {
    match workers {
        [only] => format!("whose only worker is {only}"),
        many => format!("whose workers are {}", many.join(", ")),
    }
}

/// Why no live thread can put to `w`'s queue: the other threads that exist, each with its own
/// wait, or that there is none.
fn no_putter_why(w: &RawWait, all: &[RawWait]) -> String {
    let others: Vec<String> = all
        .iter()
        .filter(|o| o.thread != w.thread)
        .map(wait_line)
        .collect();
    if others.is_empty() {
        "no live thread can put to it: no other thread exists".into()
    } else {
        format!(
            "no live thread can put to it: every other live thread waits itself ({})",
            others.join("; ")
        )
    }
}

/// The threads whose waits can never end, then a cycle among them. A thread can still move
/// when it waits on nothing recorded, or when one of the threads that could end its wait can
/// move (a queued future needs only one free worker); what is left after that fixed point is
/// stuck. From `MainThread` (then every other stuck thread) the path follows the first stuck
/// way out of each wait until it returns to a thread already on it.
fn find_cycle(waits: &[ExplainedWait]) -> Option<Cycle> {
    let stuck = stuck_threads(waits);
    let stuck: Vec<&str> = stuck.iter().map(String::as_str).collect();
    // A wait that several stuck threads could end (a queued future and its pool's workers)
    // goes on to one not yet on the chain, so the cycle goes round the whole pool; when all
    // are on it, it closes at the earliest, the longest loop.
    let next = |t: &str, chain: &[String]| -> Option<String> {
        let w = waits
            .iter()
            .find(|w| w.wait.thread == t)
            // An inferred wait among several candidates names no edge: which one is unknown.
            .filter(|w| w.wait.candidates.len() <= 1)?;
        let stuck_by: Vec<&String> =
            w.by.iter()
                .filter(|b| stuck.contains(&b.as_str()))
                .collect();
        stuck_by
            .iter()
            .find(|b| !chain.contains(b))
            .or_else(|| {
                stuck_by
                    .iter()
                    .min_by_key(|b| chain.iter().position(|c| c == **b))
            })
            .map(|b| b.to_string())
    };
    for start in waits
        .iter()
        .map(|w| &w.wait.thread)
        .filter(|t| stuck.contains(&t.as_str()))
    {
        let mut chain: Vec<String> = vec![start.clone()];
        let mut current = start.clone();
        while let Some(n) = next(&current, &chain) {
            if chain.contains(&n) {
                return Some(Cycle {
                    chain,
                    closes_at: n,
                });
            }
            chain.push(n.clone());
            current = n;
        }
    }
    None
}

/// The threads whose waits can never end (see [`find_cycle`]).
fn stuck_threads(waits: &[ExplainedWait]) -> Vec<String> {
    let mut stuck: Vec<&str> = waits.iter().map(|w| w.wait.thread.as_str()).collect();
    loop {
        let before = stuck.len();
        let snapshot = stuck.clone();
        stuck.retain(|t| {
            waits
                .iter()
                .find(|w| w.wait.thread == *t)
                .is_some_and(|w| w.by.iter().all(|b| snapshot.contains(&b.as_str())))
        });
        if stuck.len() == before {
            break;
        }
    }
    stuck.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn join(thread: &str, target: &str) -> RawWait {
        RawWait {
            thread: thread.into(),
            kind: WaitKind::Thread,
            object: target.into(),
            site: None,
            owner: Some(target.into()),
            queued_in: None,
            candidates: Vec::new(),
            called_from: None,
        }
    }

    fn queued_future(thread: &str, call: &str, pool: &[&str]) -> RawWait {
        RawWait {
            thread: thread.into(),
            kind: WaitKind::Future,
            object: call.into(),
            site: None,
            owner: None,
            queued_in: Some(names(pool)),
            candidates: Vec::new(),
            called_from: None,
        }
    }

    #[test]
    fn always_deadlock_is_main_joining_a_worker_that_waits_on_itself() {
        let threads = names(&["MainThread", "TPExecutor-0_0"]);
        let e = explain(
            &threads,
            vec![
                queued_future("TPExecutor-0_0", "pow(5, 2)", &["TPExecutor-0_0"]),
                join("MainThread", "TPExecutor-0_0"),
            ],
            "test",
        );
        assert_eq!(
            e.lines(),
            names(&[
                "MainThread joins TPExecutor-0_0",
                "TPExecutor-0_0 waits on future pow(5, 2)"
            ])
        );
        assert_eq!(e.cycle_line(), "cycle: MainThread -> TPExecutor-0_0");
        assert_eq!(
            e.waits[1].why,
            "queued in the work queue of the pool whose only worker is TPExecutor-0_0"
        );
        assert!(e.verdict().contains("TPExecutor-0_0 waits on itself"));
        let graph = e.mermaid();
        assert!(graph.contains("-->|joins|"), "{graph}");
        assert!(graph.contains("-.->|only runnable by| n1"), "{graph}");
        assert_eq!(graph.matches("[\"TPExecutor-0_0\"]").count(), 1, "{graph}");
    }

    #[test]
    fn a_second_free_worker_breaks_the_cycle() {
        // The inner future could be run by the second worker, which waits on nothing.
        let threads = names(&["MainThread", "TPExecutor-0_1", "TPExecutor-0_0"]);
        let e = explain(
            &threads,
            vec![
                join("MainThread", "TPExecutor-0_1"),
                queued_future(
                    "TPExecutor-0_0",
                    "pow(5, 2)",
                    &["TPExecutor-0_0", "TPExecutor-0_1"],
                ),
            ],
            "test",
        );
        assert_eq!(e.waits[1].by, names(&["TPExecutor-0_0", "TPExecutor-0_1"]));
        assert_eq!(e.cycle, None);
        assert_eq!(e.free, names(&["TPExecutor-0_1"]));
    }

    /// nested_scrape's trap: main waits on the site `first` runs; both workers of the
    /// "Sites" pool wait on subpages queued in its own work queue.
    fn exhausted(first: &str, pool: &[&str]) -> Explanation {
        let mut threads = names(&["MainThread"]);
        threads.extend(names(pool));
        let mut raw = vec![RawWait {
            owner: Some(first.into()),
            queued_in: None,
            ..queued_future("MainThread", "scrape_site(site, executor)", &[])
        }];
        raw.extend(
            ["Sites_0", "Sites_1"]
                .iter()
                .map(|t| queued_future(t, "fetch_subpage(url)", pool)),
        );
        explain(&threads, raw, "test")
    }

    #[test]
    fn workers_waiting_on_futures_queued_behind_them_are_a_cycle_round_the_pool() {
        let pool = ["Sites_0", "Sites_1"];
        let e = exhausted("Sites_0", &pool);
        assert_eq!(
            e.waits[1].why,
            "queued in the work queue of the pool whose workers are Sites_0, Sites_1"
        );
        assert_eq!(e.waits[1].by, names(&pool));
        assert_eq!(e.cycle_line(), "cycle: MainThread -> Sites_0 -> Sites_1");
        assert_eq!(
            e.verdict(),
            "deadlock: a cycle of waits MainThread → Sites_0 → Sites_1 → Sites_0 (the pool \
             whose workers are Sites_0, Sites_1 is exhausted: each of its workers waits on a \
             future queued behind them in its work queue)"
        );
        // Entered through the other worker, the loop still goes round the whole pool.
        let e = exhausted("Sites_1", &pool);
        assert_eq!(e.cycle_line(), "cycle: MainThread -> Sites_1 -> Sites_0");
        assert_eq!(e.cycle.map(|c| c.closes_at).as_deref(), Some("Sites_1"));
    }

    #[test]
    fn a_third_worker_that_waits_on_nothing_could_take_the_queued_futures() {
        let e = exhausted("Sites_0", &["Sites_0", "Sites_1", "Sites_2"]);
        assert_eq!(e.cycle, None);
        assert_eq!(
            e.verdict(),
            "no cycle: every wait has a thread that could end it"
        );
    }

    #[test]
    fn a_pool_without_workers_left_can_end_no_wait() {
        let e = explain(
            &names(&["MainThread"]),
            vec![queued_future(
                "MainThread",
                "pow(5, 2)",
                &["TPExecutor-0_0"],
            )],
            "test",
        );
        assert_eq!(
            e.waits[0].why,
            "queued in the work queue of a pool that has no worker left"
        );
        assert!(e.verdict().starts_with("no cycle"), "{}", e.verdict());
    }

    #[test]
    fn a_consumer_without_a_producer_is_starvation() {
        let threads = names(&["MainThread", "Thread-1"]);
        let e = explain(
            &threads,
            vec![join("MainThread", "Thread-1"), queue_wait("Thread-1")],
            "test",
        );
        assert_eq!(e.cycle_line(), "cycle: none");
        assert!(e.verdict().contains("starvation"), "{}", e.verdict());
    }

    fn queue_wait(thread: &str) -> RawWait {
        RawWait {
            thread: thread.into(),
            kind: WaitKind::Queue,
            object: "Queue".into(),
            site: None,
            owner: None,
            queued_in: None,
            candidates: Vec::new(),
            called_from: None,
        }
    }

    #[test]
    fn a_queue_whose_producer_died_has_no_live_thread_that_can_put() {
        // lost_sentinel at its hang: the producer has ended, so only main and the consumer
        // exist, and main waits itself.
        let threads = names(&["MainThread", "Consumer"]);
        let e = explain(
            &threads,
            vec![queue_wait("Consumer"), join("MainThread", "Consumer")],
            "test",
        );
        assert_eq!(
            e.lines(),
            names(&[
                "MainThread joins Consumer",
                "Consumer waits on queue Queue, which no live thread can put to"
            ])
        );
        let consumer = &e.waits[1];
        assert!(consumer.no_live_putter);
        assert_eq!(consumer.by, Vec::<String>::new());
        assert_eq!(
            consumer.why,
            "no live thread can put to it: every other live thread waits itself \
             (MainThread joins Consumer)"
        );
        assert_eq!(
            e.verdict(),
            "no cycle: Consumer waits on queue Queue and no live thread can put to it \
             (starvation: a lost sentinel or wake-up)"
        );
        assert!(e
            .report_lines()
            .iter()
            .any(|l| l.contains("no live thread can put")));
        assert!(
            e.mermaid()
                .contains("o1 -.->|put to by| x1((\"no live thread\"))"),
            "{}",
            e.mermaid()
        );
        let json = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(json["waits"][1]["no_live_putter"], true, "{json}");
    }

    #[test]
    fn a_live_producer_could_still_put() {
        // The same consumer while its producer still runs (a breakpoint stop): no starvation.
        let threads = names(&["MainThread", "Consumer", "Producer"]);
        let e = explain(
            &threads,
            vec![queue_wait("Consumer"), join("MainThread", "Consumer")],
            "test",
        );
        let consumer = &e.waits[1];
        assert!(!consumer.no_live_putter);
        assert_eq!(consumer.by, names(&["Producer"]));
        assert!(
            consumer.why.contains("could still put to it: Producer"),
            "{}",
            consumer.why
        );
        assert_eq!(e.cycle, None);
        assert_eq!(
            e.verdict(),
            "no cycle: every wait has a thread that could end it"
        );
    }

    #[test]
    fn a_lone_consumer_has_nobody_to_put() {
        let e = explain(&names(&["Consumer"]), vec![queue_wait("Consumer")], "test");
        assert_eq!(
            e.waits[0].why,
            "no live thread can put to it: no other thread exists"
        );
    }

    #[test]
    fn two_locks_in_opposite_order_close_a_cycle_of_two() {
        let lock = |t: &str, l: &str, owner: &str| RawWait {
            thread: t.into(),
            kind: WaitKind::Lock,
            object: l.into(),
            site: None,
            owner: Some(owner.into()),
            queued_in: None,
            candidates: Vec::new(),
            called_from: None,
        };
        let threads = names(&["MainThread", "Thread-1", "Thread-2"]);
        let e = explain(
            &threads,
            vec![
                join("MainThread", "Thread-1"),
                lock("Thread-1", "b", "Thread-2"),
                lock("Thread-2", "a", "Thread-1"),
            ],
            "test",
        );
        let c = e.cycle.clone().map(|c| (c.chain, c.closes_at));
        assert_eq!(
            c,
            Some((
                names(&["MainThread", "Thread-1", "Thread-2"]),
                "Thread-1".into()
            ))
        );
        assert_eq!(
            e.verdict(),
            "deadlock: a cycle of waits MainThread → Thread-1 → Thread-2 → Thread-1 \
             (Thread-1 waits on itself through Thread-2)"
        );
    }
}
