//! The process table, read from `/proc`: which processes descend from an adapter, whether a
//! pid still runs, and killing by pid. Teardown relies on it to leave nothing behind.

use std::path::Path;

/// One row of the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    pub ppid: u32,
    /// The kernel's one-letter state (`R`, `S`, `Z`, ...).
    pub state: char,
    pub cmdline: String,
}

/// Reads one process, or `None` if it is gone (or unreadable).
pub fn info(pid: u32) -> Option<ProcessInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold spaces or parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(ProcessInfo {
        pid,
        ppid,
        state,
        cmdline,
    })
}

/// The environment a process started with, as `NAME=value` entries; empty when it is gone
/// or not ours to read. Tests find what a run started by a variable every descendant
/// inherits.
pub fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|e| !e.is_empty())
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every process on the machine.
pub fn table() -> Vec<ProcessInfo> {
    let Ok(dir) = std::fs::read_dir(Path::new("/proc")) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(info)
        .collect()
}

/// True while `pid` exists and is not a zombie (a zombie has finished; only its exit status
/// waits to be collected).
pub fn alive(pid: u32) -> bool {
    info(pid).is_some_and(|p| p.state != 'Z' && p.state != 'X')
}

/// All processes below `pid` (children, grandchildren, ...), not `pid` itself.
pub fn descendants(pid: u32) -> Vec<u32> {
    let table = table();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for p in table.iter().filter(|p| p.ppid == parent) {
            if !found.contains(&p.pid) {
                found.push(p.pid);
                frontier.push(p.pid);
            }
        }
    }
    found
}

/// When `pid` started, in clock ticks since boot (field 22 of its `stat`); with
/// [`ticks_since_boot`] it tells a process started during a session from an older one that
/// happens to hold a pid someone named.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // After the command name: state is field 3, start time field 22.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Now, in the unit of [`start_ticks`].
pub fn ticks_since_boot() -> Option<u64> {
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let seconds: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    let ticks = seconds * per_second as f64;
    (ticks >= 0.0).then_some(ticks as u64)
}

/// True if `pid` runs and started no earlier than `since` (ticks since boot). A pid named
/// by an adapter is only ever killed when this holds: a replayed recording names the pids
/// of another machine, and one of them may be a process of this one (the test harness
/// itself, once).
pub fn started_since(pid: u32, since: u64) -> bool {
    // /proc/uptime has hundredths of a second; one tick of slack covers the rounding.
    start_ticks(pid).is_some_and(|t| t + 1 >= since) && alive(pid)
}

/// Sends SIGKILL to `pid`; a process that is already gone is not an error.
pub fn kill(pid: u32) {
    if let Ok(raw) = i32::try_from(pid) {
        if raw > 1 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(raw),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Sends SIGKILL to the process group `pgid` (adapters are started in their own group, so
/// this also reaches helpers such as lldb-server that stayed in it).
pub fn kill_group(pgid: u32) {
    if let Ok(raw) = i32::try_from(pgid) {
        if raw > 1 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(raw),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Finds a debuggee pid in console text. CodeLLDB prints `Launched process 19101 from ...`,
/// lldb-dap `Attached to process 19507.` and `Process 19507 exited ...`.
pub fn pid_in_console_text(text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("process ") {
        rest = &rest[i + "process ".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(pid) = digits.parse::<u32>() {
            if pid > 1 {
                return Some(pid);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_in_console_text() {
        assert_eq!(
            pid_in_console_text("Launched process 19101 from '/w/x'\n"),
            Some(19101)
        );
        assert_eq!(
            pid_in_console_text("Attached to process 19507.\r\n"),
            Some(19507)
        );
        assert_eq!(
            pid_in_console_text("Process 19507 exited with status = 0"),
            Some(19507)
        );
        assert_eq!(pid_in_console_text("Process exited with code 9."), None);
    }

    #[test]
    fn this_process_is_alive() {
        assert!(alive(std::process::id()));
    }

    #[test]
    fn a_child_inherits_an_environment_entry_we_can_read() {
        use std::io::BufRead;
        // The kernel fills in a new program's environment while `exec` is still under way,
        // after `spawn` has returned: the child says when it runs, then waits on its stdin.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "echo ready; read _"])
            .env("DAPWALK_PROCS_TEST", "seen")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the child's ready line");
        assert_eq!(line.trim(), "ready");
        let env = environ(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            env.iter().any(|e| e == "DAPWALK_PROCS_TEST=seen"),
            "{env:?}"
        );
        assert!(environ(u32::MAX).is_empty(), "no such process");
    }
}
