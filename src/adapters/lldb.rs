//! What the two LLDB adapters (lldb-dap and CodeLLDB) share: the same LLDB underneath, so
//! the same expressions for the talk's watch values, the same way to hold a thread, the same
//! pause reason and the same terminal for the program's output. Each dialect file says how
//! its adapter spells these.

/// The project's own LLDB formatters: summaries only, bounded reads. rustc's bundled ones can
/// make lldb-dap spin forever on a niche-optimised enum holding a `String`.
pub const FORMATTERS: &str = include_str!("lldb_formatters.py");

/// The talk's watch values in LLDB's native (C++) evaluator, by portable name. These are the
/// spellings `scenarios/DEBUGGING.md` verified: LLDB reads an `AtomicBool` through its inner
/// byte and cannot index a `Vec`, so the port keeps plain mirrors for the registry. Several
/// spellings are tried in order, because some values are reachable only through the frame's
/// own variables (`self` in `submit`, `executor` in `wait_on_future`) — as in the talk,
/// "defined or not depends on current scope".
pub fn native_watch(expr: &str) -> &'static [&'static str] {
    match expr {
        "global_shutdown" => &["(bool)scenarios::thread::_shutdown.v.value"],
        "global_shutdown_lock_locked" => {
            &["(bool)scenarios::thread::_global_shutdown_lock.locked.v.value"]
        }
        "registry_size" => &["scenarios::thread::_threads_queues_len.v.value"],
        "executor_shutdown" => &[
            "(bool)self->__0.ptr.pointer->data._shutdown.v.value",
            "(bool)executor->__0.ptr.pointer->data._shutdown.v.value",
        ],
        "work_queue_size" => &[
            "self->__0.ptr.pointer->data._work_queue.ptr.pointer->data._qsize.v.value",
            "executor->__0.ptr.pointer->data._work_queue.ptr.pointer->data._qsize.v.value",
        ],
        "gil_holder" => &["scenarios::gil::_gil.holder.v.value"],
        "gil_locked" => &["(bool)scenarios::gil::_gil.locked.v.value"],
        _ => &[],
    }
}

/// The wait records of the Rust port (`scenarios/src/threading.rs`) in LLDB's native
/// evaluator: a fixed array of slots, each pointing at the `WaitTarget` its thread blocks on.
pub fn native_wait_expr(field: super::WaitField) -> String {
    use super::WaitField::*;
    let slot = |i: usize| format!("scenarios::threading::_waiting[{i}]");
    let target = |i: usize| format!("{}.target.p.value", slot(i));
    match field {
        Count => "scenarios::threading::_waiting_len.v.value".into(),
        Tid(i) => format!("{}.tid.v.value", slot(i)),
        Target(i) => format!("(unsigned long){}", target(i)),
        Kind(i) => format!("(int){}->kind.v.value", target(i)),
        Owner(i) => format!("{}->owner.v.value", target(i)),
        Executor(i) => format!("{}->executor.v.value", target(i)),
        WorkerOf(i) => format!("{}.executor.v.value", slot(i)),
        DescWord(i, k) => format!("((unsigned long*)&{}->desc)[{k}]", target(i)),
        GilHolder => "scenarios::gil::_gil.holder.v.value".into(),
    }
}

/// An evaluated wait field as a decimal number (LLDB shows pointers in hex).
pub fn wait_value(raw: &str) -> String {
    let t = console_value(raw);
    match t.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).map_or(t.clone(), |v| v.to_string()),
        None => t.to_string(),
    }
}

/// LLDB's Python call that keeps a thread suspended across resumes (`SBThread::Suspend`), or
/// lets it run again. lldb-dap's `singleThread` continue only marks a thread runnable without
/// resuming the process, so it cannot do this.
pub fn suspend_script(thread_id: i64, held: bool) -> String {
    let call = if held { "Suspend" } else { "Resume" };
    format!("script lldb.process.GetThreadByID({thread_id}).{call}()")
}

/// The LLDB command that lists each thread with its tid, for the editor's hold hints.
pub const THREAD_LIST: &str = "thread list";

/// LLDB's stop reason of one thread, as `exceptionInfo` names it (`Breakpoint`,
/// `PlanComplete` after a step), in the walkthroughs' words; `None` for a thread that did not
/// stop on its own (a signal, no reason).
pub fn stop_reason_from_exception_id(id: &str) -> Option<String> {
    match id {
        "Breakpoint" => Some("breakpoint".into()),
        "PlanComplete" | "Trace" | "Step" => Some("step".into()),
        _ => None,
    }
}

/// A debug-console answer without LLDB's bookkeeping: `(unsigned long) $3 = 1` reads `1`
/// (the `$N` counter depends on how many expressions ran before).
pub fn console_value(raw: &str) -> String {
    let t = raw.trim();
    if t.starts_with('(') {
        if let Some(close) = t.find(") $") {
            if let Some(eq) = t[close..].find(" = ") {
                return t[close + eq + 3..].trim().to_string();
            }
        }
    }
    t.to_string()
}

/// The LLDB adapters report a `pause` as an `exception` (`signal SIGSTOP`).
pub fn stop_reason(reason: &str) -> String {
    match reason {
        "exception" => "pause".into(),
        other => other.to_string(),
    }
}

/// Writes the formatters where lldb can import them and returns the path. The file name
/// carries a hash of the content, so concurrent sessions share one file safely.
pub fn formatters_path() -> Result<std::path::PathBuf, super::AdapterError> {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in FORMATTERS.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    let dir = std::env::temp_dir().join("dapwalk");
    let path = dir.join(format!("dapwalk_rust_formatters_{h:016x}.py"));
    if std::fs::read_to_string(&path).is_ok_and(|c| c == FORMATTERS) {
        return Ok(path);
    }
    let err = |source| super::AdapterError::Formatters {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(err)?;
    // Write to a private name and rename, so a reader never sees half a file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!("formatters.{}.{n}.tmp", std::process::id()));
    std::fs::write(&tmp, FORMATTERS).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_values_lose_lldb_bookkeeping() {
        assert_eq!(console_value("(unsigned long) $0 = 1\n"), "1");
        assert_eq!(console_value("(bool) $12 = true"), "true");
        assert_eq!(console_value("25"), "25");
    }

    #[test]
    fn wait_fields_read_as_numbers_and_text() {
        assert_eq!(wait_value("26410"), "26410");
        assert_eq!(wait_value("2"), "2");
        assert_eq!(wait_value("0x0000000000000010"), "16");
        assert_eq!(
            native_wait_expr(super::super::WaitField::Owner(1)),
            "scenarios::threading::_waiting[1].target.p.value->owner.v.value"
        );
    }

    #[test]
    fn a_pause_reads_as_pause() {
        assert_eq!(stop_reason("exception"), "pause");
        assert_eq!(stop_reason("breakpoint"), "breakpoint");
    }
}
