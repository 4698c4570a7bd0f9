//! The Debug Adapter Protocol: framing ([`transport`]), the messages dapwalk sends and reads
//! ([`protocol`]), a client that owns no process ([`client`]), and, for tests, a scripted
//! in-memory adapter ([`fake`]) and a replay of recorded sessions ([`replay`]).

pub mod client;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod protocol;
#[cfg(any(test, feature = "test-support"))]
pub mod replay;
pub mod transport;
