//! `sys.stdout` and `sys.stderr` modelled on CPython's TextIOWrapper over a BufferedWriter,
//! and the builtin `print`.
//!
//! What matters for the talk's race is where a write releases the GIL. The buffer is guarded by
//! a Python-level lock (the BufferedWriter's lock: taking it while another thread holds it
//! releases the GIL), and every real write syscall runs under `gil::allow_threads` while that
//! lock is held. stdout is line-buffered on a terminal, block-buffered (8 KiB) on a pipe or a
//! file, and write-through with `PYTHONUNBUFFERED=1`; stderr is always line-buffered.

#![allow(non_upper_case_globals)]

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use crate::threading::Lock;
use crate::{gil, plain_lock};

/// `io.DEFAULT_BUFFER_SIZE`.
pub const DEFAULT_BUFFER_SIZE: usize = 8192;

/// How a stream decides when to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Buffering {
    /// Not decided yet (decided on first use, from isatty and the environment).
    Undecided = 0,
    /// Flush after every write containing a newline (a terminal; stderr always).
    Line = 1,
    /// Flush when 8 KiB have gathered, and at exit (a pipe or a file).
    Block = 2,
    /// Every write is a syscall (`PYTHONUNBUFFERED=1`).
    Unbuffered = 3,
}

/// Which file descriptor a stream writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fd {
    Stdout,
    Stderr,
}

/// A text stream. `_pending` (bytes waiting in the buffer) and `_mode` are plain integers a
/// debugger can read, e.g. `scenarios::sys::stdout._pending.v.value`.
pub struct TextIOWrapper {
    fd: Fd,
    /// A `Buffering` as u8.
    pub _mode: AtomicU8,
    /// The BufferedWriter's lock (`self->lock` in `bufferedio.c`).
    pub _lock: Lock,
    pub _pending: AtomicUsize,
    buffer: Mutex<Vec<u8>>,
}

/// `sys.stdout`.
pub static stdout: TextIOWrapper = TextIOWrapper::new(Fd::Stdout);
/// `sys.stderr`.
pub static stderr: TextIOWrapper = TextIOWrapper::new(Fd::Stderr);

impl TextIOWrapper {
    const fn new(fd: Fd) -> Self {
        TextIOWrapper {
            fd,
            _mode: AtomicU8::new(Buffering::Undecided as u8),
            _lock: Lock::new(),
            _pending: AtomicUsize::new(0),
            buffer: Mutex::new(Vec::new()),
        }
    }

    /// The stream's buffering, decided once like `create_stdio()` in `pylifecycle.c`.
    pub fn buffering(&self) -> Buffering {
        match self._mode.load(SeqCst) {
            1 => Buffering::Line,
            2 => Buffering::Block,
            3 => Buffering::Unbuffered,
            _ => {
                let unbuffered = std::env::var("PYTHONUNBUFFERED").is_ok_and(|v| !v.is_empty());
                let mode = if unbuffered {
                    Buffering::Unbuffered
                } else if self.fd == Fd::Stderr || std::io::stdout().is_terminal() {
                    Buffering::Line
                } else {
                    Buffering::Block
                };
                self._mode.store(mode as u8, SeqCst);
                mode
            }
        }
    }

    /// `stream.write(text)`.
    pub fn write(&self, text: &str) {
        let mode = self.buffering();
        // The BufferedWriter's lock: uncontended, it is taken without releasing the GIL.
        let _with = self._lock.enter();
        if mode == Buffering::Unbuffered {
            self._raw_write(text.as_bytes());
            return;
        }
        let mut buffer = plain_lock(&self.buffer);
        buffer.extend_from_slice(text.as_bytes());
        let full = buffer.len() >= DEFAULT_BUFFER_SIZE;
        let needflush = full || (mode == Buffering::Line && text.contains('\n'));
        self._pending.store(buffer.len(), SeqCst);
        drop(buffer);
        if needflush {
            self._flush_unlocked();
        }
    }

    /// `stream.flush()`: a syscall, and so a GIL release, only if something is buffered.
    pub fn flush(&self) {
        let _with = self._lock.enter();
        self._flush_unlocked();
    }

    /// `_bufferedwriter_flush_unlocked`: the caller holds `_lock`.
    fn _flush_unlocked(&self) {
        let data = std::mem::take(&mut *plain_lock(&self.buffer));
        self._pending.store(0, SeqCst);
        if !data.is_empty() {
            self._raw_write(&data);
        }
    }

    /// `FileIO.write`: the syscall, with the GIL released around it.
    fn _raw_write(&self, data: &[u8]) {
        gil::allow_threads(|| {
            // A closed or broken stream loses the output, as Python's would at exit; there is
            // nobody left to report the error to.
            let _ = match self.fd {
                Fd::Stdout => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(data).and_then(|()| out.flush())
                }
                Fd::Stderr => std::io::stderr().lock().write_all(data),
            };
        });
    }
}

/// The builtin `print(value)`: `sys.stdout.write(str(value))`, then `write("\n")`.
pub fn print(value: impl Display) {
    gil::tick();
    stdout.write(&value.to_string());
    stdout.write("\n");
}
