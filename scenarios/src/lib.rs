//! A Rust port of CPython 3.10's `concurrent.futures` thread pool.
