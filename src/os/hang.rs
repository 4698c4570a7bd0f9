//! Telling a deadlock from a slow program, from the outside, in a fraction of a second.
//!
//! A step that resumes a deadlocking program never gets a `stopped` event. Waiting for a
//! multi-second timeout would make every hang cost seconds and still guess. Instead the runner
//! samples the debuggee's threads in `/proc/<pid>/task/*`: the program is hung when no thread
//! can run again by itself — every thread is either blocked in a `futex` wait without a
//! timeout (a lock, a condition variable, a join) or held stopped by the debugger — and that
//! picture stays the same across consecutive samples. A thread in `nanosleep` or a timed wait
//! will wake up, so a sleeping program is not hung.
//!
//! "The same picture" includes how many times each thread has been scheduled
//! (`/proc/…/schedstat`): two looks that find the same threads blocked, none of them having run
//! in between, show a program that did not move at all for that interval, not one whose
//! threads happened to be caught blocked twice. So two looks one polling interval apart are
//! enough.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What one thread is doing, as far as deadlock detection cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// Running or runnable.
    Running,
    /// Blocked in `futex` with no timeout: only another thread can wake it.
    BlockedForever,
    /// Blocked in something that ends by itself (sleep, timed wait) or in I/O.
    Waiting,
    /// Stopped by the debugger (ptrace stop) or by a signal.
    Held,
    /// Exited, or a zombie.
    Gone,
}

/// x86-64 and aarch64 syscall numbers of `futex`.
const FUTEX_NR: &[i64] = if cfg!(target_arch = "aarch64") {
    &[98]
} else {
    &[202]
};

/// Classifies a thread from the texts of its `stat` and `syscall` files.
pub fn classify(stat: &str, syscall: &str) -> ThreadState {
    // `stat` is "pid (comm) S ...": the state follows the last ')' (comm may hold spaces or
    // parentheses).
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .and_then(|s| s.chars().next());
    match state {
        Some('R') => ThreadState::Running,
        Some('t' | 'T') => ThreadState::Held,
        Some('Z' | 'X' | 'x') | None => ThreadState::Gone,
        Some('S' | 'D' | 'I' | 'W' | 'P' | 'K') => {
            // `syscall` is "nr arg1 arg2 arg3 arg4 arg5 arg6 sp pc", or "running", or "-1 sp pc"
            // when blocked outside a syscall.
            let mut f = syscall.split_whitespace();
            let nr = f.next().and_then(|n| n.parse::<i64>().ok());
            let args: Vec<u64> = f
                .take(6)
                .map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap_or(1))
                .collect();
            match nr {
                Some(n) if FUTEX_NR.contains(&n) => {
                    // futex(uaddr, op, val, timeout, ...): a null timeout waits forever.
                    if args.get(3).copied() == Some(0) {
                        ThreadState::BlockedForever
                    } else {
                        ThreadState::Waiting
                    }
                }
                _ => ThreadState::Waiting,
            }
        }
        Some(_) => ThreadState::Waiting,
    }
}

/// One thread at one look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub state: ThreadState,
    /// How many times the thread has been scheduled so far (`schedstat`'s third field, or its
    /// context switches from `status` where the kernel keeps no schedstat). Unchanged between
    /// two looks: the thread did not run in between.
    pub runs: u64,
}

/// One look at every thread of a process: tid → what it was doing.
pub type Sample = BTreeMap<u32, Seen>;

/// How many times a thread has been scheduled, from the texts of its `schedstat` ("ns on cpu,
/// ns waiting, timeslices") or, failing that, its `status` (voluntary + involuntary switches).
pub fn runs(schedstat: &str, status: &str) -> u64 {
    if let Some(n) = schedstat
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
    {
        return n;
    }
    status
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// Reads every thread of `pid`. `None` when the process is gone or unreadable.
pub fn sample(pid: u32) -> Option<Sample> {
    sample_in(Path::new("/proc"), pid)
}

fn sample_in(proc_root: &Path, pid: u32) -> Option<Sample> {
    let task_dir = proc_root.join(pid.to_string()).join("task");
    let mut out = Sample::new();
    for entry in std::fs::read_dir(task_dir).ok()? {
        let Ok(entry) = entry else { continue };
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let syscall = std::fs::read_to_string(entry.path().join("syscall")).unwrap_or_default();
        let schedstat = std::fs::read_to_string(entry.path().join("schedstat")).unwrap_or_default();
        let status = if schedstat.is_empty() {
            std::fs::read_to_string(entry.path().join("status")).unwrap_or_default()
        } else {
            String::new()
        };
        out.insert(
            tid,
            Seen {
                state: classify(&stat, &syscall),
                runs: runs(&schedstat, &status),
            },
        );
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// Whether a sample shows a program that cannot move by itself: at least one thread blocked
/// forever, and every other thread blocked forever, held by the debugger, or gone.
pub fn is_stuck(sample: &Sample) -> bool {
    let live: Vec<ThreadState> = sample
        .values()
        .map(|s| s.state)
        .filter(|s| *s != ThreadState::Gone)
        .collect();
    live.contains(&ThreadState::BlockedForever)
        && live
            .iter()
            .all(|s| matches!(s, ThreadState::BlockedForever | ThreadState::Held))
}

/// Whether a sample of a program run by debugpy shows every program thread blocked for good.
///
/// debugpy runs threads of its own inside the debuggee (a socket reader, a writer, timers);
/// they wait in socket reads or in timed waits, never in a wait without a timeout (measured on
/// debugpy 1.8.22, Python 3.10–3.12). So the threads blocked forever are program threads, and
/// the program is stuck when there are at least as many of them as the adapter lists program
/// threads (`threads` answers while the program runs).
pub fn is_stuck_python(sample: &Sample, program_threads: usize) -> bool {
    let blocked = sample
        .values()
        .filter(|s| s.state == ThreadState::BlockedForever)
        .count();
    program_threads > 0 && blocked >= program_threads
}

/// The part of a sample that must stay the same for a Python hang: the threads blocked
/// forever (debugpy's own threads come and go between running and timed waits).
pub fn blocked_part(sample: &Sample) -> Sample {
    sample
        .iter()
        .filter(|(_, s)| s.state == ThreadState::BlockedForever)
        .map(|(t, s)| (*t, *s))
        .collect()
}

/// Decides hangs from consecutive samples: stuck, with the same threads in the same states and
/// none of them scheduled in between, `needed` times in a row.
#[derive(Debug)]
pub struct HangDetector {
    needed: usize,
    last: Option<Sample>,
    streak: usize,
    /// When the first look of the current streak was taken.
    since: Option<Instant>,
}

impl HangDetector {
    pub fn new(needed: usize) -> HangDetector {
        HangDetector {
            needed: needed.max(1),
            last: None,
            streak: 0,
            since: None,
        }
    }

    /// Feeds one sample; true once the program has looked stuck `needed` times in a row.
    pub fn observe(&mut self, sample: Option<Sample>) -> bool {
        let stuck = sample.as_ref().is_some_and(is_stuck);
        self.observe_judged(sample, stuck)
    }

    /// Like [`HangDetector::observe`], with the stuck-or-not judgement made by the caller.
    pub fn observe_judged(&mut self, sample: Option<Sample>, stuck: bool) -> bool {
        match sample {
            Some(s) if stuck => {
                if self.last.as_ref() == Some(&s) {
                    self.streak += 1;
                } else {
                    self.streak = 1;
                    self.since = Some(Instant::now());
                }
                self.last = Some(s);
            }
            _ => {
                self.streak = 0;
                self.last = None;
                self.since = None;
            }
        }
        self.streak >= self.needed
    }

    /// Whether `sample`, judged stuck, would complete the streak: the one look at which a
    /// judgement that costs something (asking the adapter how many threads the program has)
    /// is worth making. The looks before it are taken as stuck on their picture alone.
    pub fn would_declare(&self, sample: &Sample) -> bool {
        let streak = if self.last.as_ref() == Some(sample) {
            self.streak + 1
        } else {
            1
        };
        streak >= self.needed
    }

    /// When the current streak's first look was taken (the first look that saw the program
    /// as it is now), if there is a streak.
    pub fn stuck_since(&self) -> Option<Instant> {
        self.since
    }

    /// How long the program has looked the way it does now.
    pub fn stuck_for(&self) -> Duration {
        self.since.map(|t| t.elapsed()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUTEX_FOREVER: &str = "202 0x55d0 0x89 0x0 0x0 0x0 0xffffffff 0x7ffd 0x7f12\n";
    const FUTEX_TIMED: &str = "202 0x55d0 0x89 0x0 0x7ffd1000 0x0 0xffffffff 0x7ffd 0x7f12\n";
    const NANOSLEEP: &str = "230 0x1 0x0 0x7ffd 0x7ffd 0x0 0x0 0x7ffd 0x7f12\n";

    fn stat(state: char) -> String {
        format!("4711 (TPExecutor-0 (x)) {state} 1 4711 4711 0 -1 4194368 120 0\n")
    }

    #[test]
    fn classifies_threads() {
        assert_eq!(
            classify(&stat('S'), FUTEX_FOREVER),
            ThreadState::BlockedForever
        );
        assert_eq!(classify(&stat('S'), FUTEX_TIMED), ThreadState::Waiting);
        assert_eq!(classify(&stat('S'), NANOSLEEP), ThreadState::Waiting);
        assert_eq!(classify(&stat('R'), "running\n"), ThreadState::Running);
        assert_eq!(classify(&stat('t'), FUTEX_FOREVER), ThreadState::Held);
        assert_eq!(classify(&stat('Z'), ""), ThreadState::Gone);
        assert_eq!(classify("", ""), ThreadState::Gone);
    }

    fn s(states: &[ThreadState]) -> Sample {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u32 + 1, Seen { state: *s, runs: 7 }))
            .collect()
    }

    #[test]
    fn stuck_needs_one_thread_blocked_forever_and_nobody_able_to_run() {
        use ThreadState::*;
        assert!(is_stuck(&s(&[BlockedForever, BlockedForever])));
        assert!(is_stuck(&s(&[BlockedForever, Held])));
        assert!(
            !is_stuck(&s(&[Held, Held])),
            "a stop in progress is not a hang"
        );
        assert!(
            !is_stuck(&s(&[BlockedForever, Waiting])),
            "a sleeper will wake up"
        );
        assert!(!is_stuck(&s(&[BlockedForever, Running])));
    }

    #[test]
    fn a_hang_needs_the_same_picture_several_times() {
        use ThreadState::*;
        let mut d = HangDetector::new(3);
        assert!(!d.observe(Some(s(&[BlockedForever, Running]))));
        assert!(!d.observe(Some(s(&[BlockedForever, BlockedForever]))));
        assert!(!d.observe(Some(s(&[BlockedForever, BlockedForever]))));
        assert!(d.observe(Some(s(&[BlockedForever, BlockedForever]))));
        assert!(!d.observe(None), "a process that went away is not hung");
    }

    #[test]
    fn a_thread_that_ran_between_two_looks_breaks_the_streak() {
        use ThreadState::*;
        let mut d = HangDetector::new(2);
        let mut look = s(&[BlockedForever, BlockedForever]);
        assert!(!d.observe(Some(look.clone())));
        // Thread 2 was woken, ran, and blocked again where it was: same states, one more run.
        look.get_mut(&2).expect("thread 2").runs += 1;
        assert!(!d.would_declare(&look));
        assert!(!d.observe(Some(look.clone())), "it moved: not a hang yet");
        assert!(d.would_declare(&look));
        assert!(
            d.observe(Some(look)),
            "then nothing ran for an interval: hung"
        );
        assert!(d.stuck_since().is_some());
    }

    #[test]
    fn counts_runs_from_schedstat_or_from_context_switches() {
        assert_eq!(runs("187868844 11560024 361\n", ""), 361);
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t40\nnonvoluntary_ctxt_switches:\t2\n";
        assert_eq!(runs("", status), 42);
    }

    #[test]
    fn a_python_program_is_stuck_when_its_threads_all_block_forever() {
        use ThreadState::*;
        // Main and the worker blocked; debugpy's reader and timers waiting.
        let sample = s(&[BlockedForever, Waiting, Waiting, BlockedForever, Running]);
        assert!(is_stuck_python(&sample, 2));
        assert!(
            !is_stuck_python(&sample, 3),
            "a third program thread can still run"
        );
        assert!(!is_stuck_python(&s(&[Waiting, Waiting]), 0));
        assert_eq!(blocked_part(&sample).len(), 2);
    }

    #[test]
    fn reads_a_real_process() {
        // This test process itself: its threads are running or waiting, never all stuck.
        let me = std::process::id();
        let sample = sample(me).expect("own /proc entry");
        assert!(sample.contains_key(&me));
        assert!(!is_stuck(&sample));
    }

    #[test]
    fn a_sleeping_process_is_not_stuck() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        let mut seen = None;
        for _ in 0..100 {
            seen = sample(pid);
            if seen
                .as_ref()
                .is_some_and(|s| s.values().all(|t| t.state == ThreadState::Waiting))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        let seen = seen.expect("sampled");
        assert!(!is_stuck(&seen), "{seen:?}");
    }
}
