//! Test harness for the sans-IO core, in the style of quinn-proto's
//! `Pair`: a client and a server wired back to back through in-memory
//! buffers, under a virtual clock that only the test moves.
//!
//! Nothing here touches a socket or sleeps, so a test of a 30-second
//! keepalive runs in microseconds and gives the same result on every run.
//! With [`crate::rng::seed`] the client's masking keys and handshake key
//! are reproducible too, and whole frames can be compared byte for byte.
//!
//! It lives in the crate, under `cfg(test)`, rather than in `tests/`:
//! the seeded generator is a `cfg(test)` seam that release builds do not
//! contain (integration tests link the crate as users do, without it), and
//! unit tests can check internal state (`Connection::poll_timeout`, the
//! exact deadline) as well as what goes over the wire. The integration
//! tests keep their own, smaller helpers in `tests/common`.
//!
//! - [`HandshakePair`]: the opening handshake, client and server machines.
//! - [`Pair`]: two connections, after the handshake.

mod handshake;
mod pair;

mod connection_tests;
mod handshake_tests;

pub(crate) use handshake::HandshakePair;
pub(crate) use pair::{Pair, Side};
