# dapwalk's LLDB summaries for Rust values, loaded by lldb-dap through
# `command script import`. Summaries only (no synthetic children) and every read is
# bounded: rustc's bundled formatters can loop forever on a niche-optimised enum holding a
# String, and a debugger that hangs cannot verify anything. On any surprise a summary
# returns a short fallback instead of raising.

import lldb

MAX_STRING_BYTES = 256
MAX_DEPTH = 6
CATEGORY = "dapwalk"


def _child(value, name, depth=MAX_DEPTH):
    """Finds a descendant member called `name`, breadth first, at most `depth` levels down."""
    level = [value]
    for _ in range(depth):
        following = []
        for v in level:
            n = min(v.GetNumChildren(), 16)
            for i in range(n):
                c = v.GetChildAtIndex(i)
                if c.GetName() == name:
                    return c
                following.append(c)
        level = following
    return None


def _first_pointer(value, depth=MAX_DEPTH):
    level = [value]
    for _ in range(depth):
        following = []
        for v in level:
            if v.GetType().IsPointerType():
                return v
            n = min(v.GetNumChildren(), 16)
            following.extend(v.GetChildAtIndex(i) for i in range(n))
        level = following
    return None


def _uint(value, name):
    c = _child(value, name)
    if c is None:
        return None
    # Atomics wrap their integer in `v: UnsafeCell { value }`.
    inner = _child(c, "value", 3)
    v = inner if inner is not None and c.GetNumChildren() > 0 else c
    return v.GetValueAsUnsigned()


def _read_str(process, address, length):
    if address == 0 or length == 0:
        return ""
    n = min(length, MAX_STRING_BYTES)
    err = lldb.SBError()
    data = process.ReadMemory(address, n, err)
    if not err.Success() or data is None:
        return None
    text = data.decode("utf-8", "replace")
    return text + ("..." if length > n else "")


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def string_summary(valobj, _dict):
    try:
        v = valobj.GetNonSyntheticValue()
        length = _uint(v, "len")
        ptr = _first_pointer(_child(v, "buf") or v)
        if length is None or ptr is None:
            return "<string>"
        text = _read_str(valobj.GetProcess(), ptr.GetValueAsUnsigned(), length)
        return "<unreadable string>" if text is None else _quote(text)
    except Exception:
        return "<string>"


def str_summary(valobj, _dict):
    try:
        v = valobj.GetNonSyntheticValue()
        length = _uint(v, "length")
        ptr = _child(v, "data_ptr", 1)
        if length is None or ptr is None:
            return "<str>"
        text = _read_str(valobj.GetProcess(), ptr.GetValueAsUnsigned(), length)
        return "<unreadable str>" if text is None else _quote(text)
    except Exception:
        return "<str>"


def size_summary(valobj, _dict):
    try:
        n = _uint(valobj.GetNonSyntheticValue(), "len")
        return "size=?" if n is None else "size=%d" % n
    except Exception:
        return "size=?"


def atomic_summary(valobj, _dict):
    try:
        v = _child(valobj.GetNonSyntheticValue(), "value", 3)
        if v is None:
            return "?"
        n = v.GetValueAsUnsigned()
        if "AtomicBool" in valobj.GetTypeName():
            return "true" if n else "false"
        return str(n)
    except Exception:
        return "?"


def mutex_summary(valobj, _dict):
    try:
        v = valobj.GetNonSyntheticValue()
        futex = _child(v, "futex")
        state = "?"
        if futex is not None:
            inner = _child(futex, "value", 3)
            state = "locked" if (inner or futex).GetValueAsUnsigned() else "unlocked"
        poison = _child(v, "failed")
        if poison is not None:
            inner = _child(poison, "value", 3)
            if (inner or poison).GetValueAsUnsigned():
                state += ", poisoned"
        return state
    except Exception:
        return "?"


def arc_summary(valobj, _dict):
    try:
        v = valobj.GetNonSyntheticValue()
        ptr = _first_pointer(v)
        if ptr is None:
            return "<arc>"
        inner = ptr.Dereference()
        strong = _uint(inner, "strong")
        weak = _uint(inner, "weak")
        if strong is None:
            return "<arc>"
        return "strong=%d, weak=%d" % (strong, (weak or 1) - 1)
    except Exception:
        return "<arc>"


SUMMARIES = [
    ("^alloc::string::String$", "string_summary"),
    ("^&(mut )?str$", "str_summary"),
    ("^alloc::vec::Vec<.+>$", "size_summary"),
    ("^alloc::collections::vec_deque::VecDeque<.+>$", "size_summary"),
    ("^core::sync::atomic::Atomic[A-Za-z0-9]+$", "atomic_summary"),
    ("^core::sync::atomic::Atomic<.+>$", "atomic_summary"),
    ("^std::sync::(poison::)?mutex::Mutex<.+>$", "mutex_summary"),
    ("^std::sync::(poison::)?Mutex<.+>$", "mutex_summary"),
    ("^alloc::sync::Arc<.+>$", "arc_summary"),
    ("^alloc::rc::Rc<.+>$", "arc_summary"),
]


def __lldb_init_module(debugger, _dict):
    for regex, function in SUMMARIES:
        debugger.HandleCommand(
            'type summary add -w %s -x "%s" -F %s.%s' % (CATEGORY, regex, __name__, function)
        )
    debugger.HandleCommand("type category enable %s" % CATEGORY)
