//! What dapwalk asks of the operating system (Linux): the process table and killing
//! ([`procs`]), and reading whether a program's threads are blocked for good ([`hang`]).

pub mod hang;
pub mod procs;
