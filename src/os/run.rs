//! What makes every process of a run findable and ends it whatever kills dapwalk: a mark in
//! the environment every child inherits, dapwalk as the subreaper of its orphans, and a
//! guardian process that sweeps the run's marked processes the moment dapwalk is gone.
//!
//! Why not `PR_SET_PDEATHSIG` on the adapter: it fires when the *thread* that forked the
//! child exits (tokio spawns from worker threads that may end), and it would only reach the
//! adapter; the debuggee is lldb-server's child, not ours, and a dead tracer detaches it
//! rather than killing it. The mark reaches every process however deep it is started, and
//! the guardian needs nothing from dapwalk at the moment it dies, so it also covers SIGKILL.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};

/// The variable whose value names the run: `<dapwalk pid>-<its start time in ticks>`.
pub const RUN_VAR: &str = "DAPWALK_RUN";
/// The variable whose value names one session of the run (set on each adapter).
pub const SESSION_VAR: &str = "DAPWALK_SESSION";

/// This run's mark, once [`arm`] has set it.
pub fn mark() -> Option<String> {
    std::env::var(RUN_VAR)
        .ok()
        .filter(|m| m.starts_with(&format!("{}-", std::process::id())))
}

/// The start time of `pid` (field 22 of its `stat`, in clock ticks since boot), which tells
/// a process from a later one that reused its pid.
pub fn start_time(pid: u32) -> Option<u64> {
    super::procs::start_ticks(pid)
}

/// Marks this process's future children, makes it their subreaper and starts the guardian.
/// Call it first thing in `main`, while the process has a single thread (it forks).
pub fn arm() {
    let me = std::process::id();
    let Some(start) = start_time(me) else {
        return;
    };
    let mark = format!("{me}-{start}");
    // Children inherit it, and their children, down to the debuggee and its pool workers.
    std::env::set_var(RUN_VAR, &mark);
    // Orphaned grandchildren (a debuggee whose adapter died) are reparented to dapwalk,
    // where the descendant scan still finds them, instead of to init.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    start_guardian(&mark);
}

/// Forks the guardian: it holds the read end of a pipe whose write end only dapwalk holds
/// (close-on-exec, so no adapter inherits it). End of file means dapwalk is gone, by any
/// death; the guardian then kills every process bearing the mark and exits.
fn start_guardian(mark: &str) {
    let Ok((read, write)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        return;
    };
    // SAFETY: `arm` runs before any other thread exists, so the child may run Rust code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(write);
            guard(read, mark);
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(read);
            // Kept open for the life of the process (the kernel closes it at death), or
            // until `disarm` closes it on an orderly exit.
            if let Ok(mut g) = GUARDIAN.lock() {
                *g = Some((write, child));
            }
        }
        Err(_) => {}
    }
}

/// The write end of the guardian's pipe and the guardian's pid.
static GUARDIAN: std::sync::Mutex<Option<(OwnedFd, nix::unistd::Pid)>> =
    std::sync::Mutex::new(None);

/// On an orderly exit: lets the guardian make its sweep now and waits (briefly) for it to
/// finish, so that when dapwalk has exited nothing of its run, the guardian included, is
/// still running.
pub fn disarm() {
    let Some((write, pid)) = GUARDIAN.lock().ok().and_then(|mut g| g.take()) else {
        return;
    };
    drop(write);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            _ => return,
        }
    }
}

fn guard(read: OwnedFd, mark: &str) -> ! {
    // Its own session: a signal to dapwalk's process group or terminal does not reach it.
    let _ = nix::unistd::setsid();
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
        nix::sys::signal::Signal::SIGPIPE,
    ] {
        // SAFETY: ignoring a signal installs no handler code.
        unsafe {
            let _ = nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigIgn);
        }
    }
    // Close everything inherited but the pipe, so that no pipe of an adapter stays open
    // because of us.
    let keep = read.as_raw_fd();
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        let fds: Vec<i32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        for fd in fds {
            if fd != keep {
                let _ = nix::unistd::close(fd);
            }
        }
    }
    let mut file = std::fs::File::from(read);
    let mut buf = [0u8; 64];
    while !matches!(file.read(&mut buf), Ok(0)) {}
    sweep(mark);
    // SAFETY: `_exit` skips the parent's atexit handlers and buffered output, which belong
    // to dapwalk, not to the guardian.
    unsafe { nix::libc::_exit(0) }
}

/// Kills every process bearing `mark` until none is left (a process may fork while being
/// swept), for at most a few rounds.
fn sweep(mark: &str) {
    for _ in 0..50 {
        let left = marked(mark, None);
        if left.is_empty() {
            return;
        }
        for pid in left {
            super::procs::kill(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The variables of `pid`'s environment as it started (empty if unreadable or a zombie).
fn environ(pid: u32) -> Vec<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|v| !v.is_empty())
                .map(<[u8]>::to_vec)
                .collect()
        })
        .unwrap_or_default()
}

fn value_of(env: &[Vec<u8>], var: &str) -> Option<String> {
    let prefix = format!("{var}=");
    env.iter()
        .find_map(|v| v.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Live processes (not zombies) bearing the run mark `mark`, and, if `session` is given,
/// that session's mark too. Never this process.
pub fn marked(mark: &str, session: Option<&str>) -> Vec<u32> {
    let me = std::process::id();
    super::procs::table()
        .into_iter()
        .filter(|p| p.pid != me && p.state != 'Z' && p.state != 'X')
        .filter(|p| {
            let env = environ(p.pid);
            value_of(&env, RUN_VAR).as_deref() == Some(mark)
                && session.is_none_or(|s| value_of(&env, SESSION_VAR).as_deref() == Some(s))
        })
        .map(|p| p.pid)
        .collect()
}

/// A process left by an earlier dapwalk run that is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    pub pid: u32,
    pub mark: String,
    pub cmdline: String,
}

/// True while the dapwalk that `mark` names still runs (same pid, same start time).
pub fn owner_alive(mark: &str) -> bool {
    let Some((pid, start)) = mark.split_once('-') else {
        return false;
    };
    match (pid.parse::<u32>(), start.parse::<u64>()) {
        (Ok(pid), Ok(start)) => start_time(pid) == Some(start) && super::procs::alive(pid),
        _ => false,
    }
}

/// Kills every process marked by a run whose dapwalk is gone, and returns them.
pub fn end_strays() -> Vec<Stray> {
    let mine = mark();
    let mut found = Vec::new();
    for p in super::procs::table() {
        if p.pid == std::process::id() || p.state == 'Z' || p.state == 'X' {
            continue;
        }
        let Some(m) = value_of(&environ(p.pid), RUN_VAR) else {
            continue;
        };
        if Some(&m) == mine.as_ref() || owner_alive(&m) {
            continue;
        }
        super::procs::kill(p.pid);
        found.push(Stray {
            pid: p.pid,
            mark: m,
            cmdline: p.cmdline,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_start_time_and_is_its_marks_owner() {
        let me = std::process::id();
        let start = start_time(me).expect("own stat");
        assert!(owner_alive(&format!("{me}-{start}")));
        assert!(!owner_alive(&format!("{me}-{}", start + 1)));
        assert!(!owner_alive("garbage"));
    }

    #[test]
    fn a_child_is_found_by_the_mark_it_inherits() {
        let mark = format!("test-{}", std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env(RUN_VAR, &mark)
            .env(SESSION_VAR, "7")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        assert_eq!(marked(&mark, None), vec![pid]);
        assert_eq!(marked(&mark, Some("7")), vec![pid]);
        assert_eq!(marked(&mark, Some("8")), Vec::<u32>::new());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(marked(&mark, None), Vec::<u32>::new());
    }
}
