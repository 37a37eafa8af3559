//! What the adapters tell an operator through `tracing` (feature
//! `tracing`): handshake refusals and failures, connections failed by a
//! broken rule or a timeout, and hub evictions.
//!
//! The sans-IO core logs nothing: it reports through its errors and
//! events, and the adapters call these functions where such an error
//! surfaces. Each is called at most once per connection (when the
//! handshake or the connection ends), never per message, so a healthy
//! connection emits nothing. Without the feature every function is empty
//! and inlined away.
//!
//! Levels: `debug` for what a peer did (refusals, broken rules, timeouts:
//! routine on a public server), `warn` for a subscriber evicted by the hub
//! (the server is shedding load). Every event carries `peer` when the
//! adapter knows the address (the axum extractor, with
//! `into_make_service_with_connect_info`); otherwise run the connection
//! inside a span that names it.

use std::net::SocketAddr;

use crate::{handshake, Error};

/// A server handshake ended without a connection: a refusal was sent (its
/// status and the rule the request broke), the deadline passed (408), or
/// the client went away.
#[inline]
pub(crate) fn server_handshake_failed(error: &handshake::Error, peer: Option<SocketAddr>) {
    #[cfg(feature = "tracing")]
    {
        let peer = peer.map(tracing::field::display);
        match error {
            handshake::Error::Timeout => tracing::debug!(
                peer,
                status = 408u16,
                "opening handshake timed out: the request was not complete in time"
            ),
            handshake::Error::ClosedDuringHandshake => {
                tracing::debug!(
                    peer,
                    "client closed the connection during the opening handshake"
                )
            }
            _ => tracing::debug!(
                peer,
                // The status the refusal went out with.
                status = match error {
                    handshake::Error::Request(e) => e.status(),
                    handshake::Error::Refused { status } => *status,
                    _ => 500,
                },
                reason = %error,
                "refused an opening handshake"
            ),
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (error, peer);
}

/// The application refused an opening handshake with `status` (a
/// [`Refusal`](handshake::Refusal) it chose, answered by an HTTP stack).
#[cfg(feature = "axum")]
#[inline]
pub(crate) fn refusal_sent(status: u16, peer: Option<SocketAddr>) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        peer = peer.map(tracing::field::display),
        status,
        reason = "refused by the application",
        "refused an opening handshake"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (status, peer);
}

/// A client handshake ended without a connection: the server rejected it
/// (status), broke a rule in its answer, or did not answer in time.
#[inline]
pub(crate) fn client_handshake_failed(error: &handshake::Error, peer: Option<SocketAddr>) {
    #[cfg(feature = "tracing")]
    {
        let peer = peer.map(tracing::field::display);
        match error {
            handshake::Error::Rejected(rejection) => tracing::debug!(
                peer,
                status = rejection.status,
                reason = %error,
                "the server rejected the opening handshake"
            ),
            handshake::Error::Timeout => {
                tracing::debug!(peer, "opening handshake timed out: no answer in time")
            }
            _ => tracing::debug!(peer, reason = %error, "opening handshake failed"),
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (error, peer);
}

/// The connection failed: the peer broke a rule (the close code sent and
/// the rule, RFC section included), a keepalive or close timeout ran out,
/// or the transport closed without a close frame.
#[inline]
pub(crate) fn connection_failed(error: &Error, peer: Option<SocketAddr>) {
    #[cfg(feature = "tracing")]
    {
        let peer = peer.map(tracing::field::display);
        let close_code = error.close_code().0;
        match error {
            Error::KeepaliveTimeout => tracing::debug!(
                peer,
                close_code,
                "keepalive timed out: nothing arrived within the pong timeout"
            ),
            Error::CloseTimeout => tracing::debug!(
                peer,
                close_code,
                "close timed out: the closing handshake did not finish in time"
            ),
            Error::AbnormalClosure => tracing::debug!(
                peer,
                close_code,
                "the transport closed without a close frame"
            ),
            _ => tracing::debug!(
                peer,
                close_code,
                rule = %error,
                "failed the connection: the peer broke a rule"
            ),
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (error, peer);
}

/// The hub evicted a subscriber whose queue overflowed; its connection
/// closes with 1008.
#[cfg(feature = "tokio")]
#[inline]
pub(crate) fn subscriber_evicted(peer: Option<SocketAddr>) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        peer = peer.map(tracing::field::display),
        close_code = 1008u16,
        "hub evicted a slow subscriber: its queue overflowed"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = peer;
}
