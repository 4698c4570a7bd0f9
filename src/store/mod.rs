//! What dapwalk keeps between runs: each walkthrough's last run ([`lastrun`], read by `show`,
//! `compare` and the presenter's record) and rewriting expectations from it ([`bless`]).

pub mod bless;
pub mod lastrun;
