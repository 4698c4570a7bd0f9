//! What dapwalk asks of the operating system (Linux): the process table and killing
//! ([`procs`]), reading whether a program's threads are blocked for good ([`hang`]), and the
//! mark and guardian that end a run's processes whatever ends dapwalk ([`run`]).

pub mod hang;
pub mod procs;
pub mod pyspy;
pub mod run;
