//! The talk's watch list, written once per walkthrough and read in each adapter's dialect.
//!
//! A walkthrough names a watch by a portable name (`global_shutdown`) or gives a raw
//! expression. Portable names map to one or more expressions per adapter; the first that
//! evaluates in the stopped frame wins, because some values are reachable only through the
//! frame's own variables (`self` in `submit`, `executor` in `wait_on_future`) — as in the
//! talk, "defined or not depends on current scope". The LLDB spellings are the ones
//! `scenarios/DEBUGGING.md` verified: LLDB's C++ evaluator reads an `AtomicBool` through its
//! inner byte and cannot index a `Vec`, so the port keeps plain mirrors for the registry.

use crate::adapters::AdapterKind;

/// The expressions to try, in order, for `expr` on `kind`. A name that is not portable is
/// used as written.
pub fn expressions(kind: AdapterKind, expr: &str) -> Vec<String> {
    let lldb: &[&str] = match expr {
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
    };
    let python: &[&str] = match expr {
        "global_shutdown" => &["thread_module._shutdown", "_shutdown"],
        "global_shutdown_lock_locked" => &[
            "thread_module._global_shutdown_lock.locked()",
            "_global_shutdown_lock.locked()",
        ],
        "registry_size" => &["len(thread_module._threads_queues)", "len(_threads_queues)"],
        "executor_shutdown" => &["executor._shutdown", "self._shutdown"],
        "work_queue_size" => &["executor._work_queue.qsize()", "self._work_queue.qsize()"],
        _ => &[],
    };
    let chosen = match kind {
        AdapterKind::Debugpy => python,
        AdapterKind::LldbDap | AdapterKind::CodeLldb => lldb,
    };
    if chosen.is_empty() {
        return vec![expr.to_string()];
    }
    chosen
        .iter()
        .map(|e| match kind {
            // CodeLLDB's default expression syntax is its own "simple" one; `/nat ` selects
            // LLDB's native evaluator, which is what the spellings above are written for.
            AdapterKind::CodeLldb => format!("/nat {e}"),
            _ => (*e).to_string(),
        })
        .collect()
}

/// Renders an evaluated value the same way on every adapter: booleans as `true`/`false`,
/// numbers plain, strings without the adapter's decoration.
pub fn render_value(kind: AdapterKind, raw: &str) -> String {
    let v = raw.trim();
    match (kind, v) {
        (AdapterKind::Debugpy, "True") => "true".into(),
        (AdapterKind::Debugpy, "False") => "false".into(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_names_map_per_dialect() {
        assert_eq!(
            expressions(AdapterKind::LldbDap, "global_shutdown"),
            vec!["(bool)scenarios::thread::_shutdown.v.value"]
        );
        assert_eq!(
            expressions(AdapterKind::CodeLldb, "global_shutdown"),
            vec!["/nat (bool)scenarios::thread::_shutdown.v.value"]
        );
        assert_eq!(
            expressions(AdapterKind::Debugpy, "global_shutdown")[0],
            "thread_module._shutdown"
        );
        assert_eq!(
            expressions(AdapterKind::LldbDap, "executor_shutdown").len(),
            2
        );
    }

    #[test]
    fn raw_expressions_pass_through() {
        assert_eq!(expressions(AdapterKind::LldbDap, "1 + 1"), vec!["1 + 1"]);
    }

    #[test]
    fn python_booleans_read_like_rust_ones() {
        assert_eq!(render_value(AdapterKind::Debugpy, "True"), "true");
        assert_eq!(render_value(AdapterKind::LldbDap, " false "), "false");
    }
}
