//! [`ReconnectingWriter`]: the sending half, which always sends on the
//! reader's current connection.
//!
//! The reader splits every new connection and leaves its writer in a slot
//! shared with this half. A call takes the writer out of the slot for the
//! duration of one send and puts it back after, unless the reader has
//! moved on to another connection meanwhile: no lock is held across an
//! await, so a send stuck on a dead socket never holds up a reconnection.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;

use super::ReconnectError;
use crate::tokio::{MaybeTlsStream, WebSocketWriter};
use crate::{CloseCode, CloseFrame, Message, SendError, StreamError};

type Writer = WebSocketWriter<MaybeTlsStream>;

/// What the reader and the writer share.
#[derive(Debug, Default)]
pub(super) struct Shared {
    slot: Mutex<Slot>,
    /// Wakes the reader when `close` finds no open connection, so that it
    /// abandons the attempt under way.
    closed: Notify,
}

#[derive(Debug, Default)]
struct Slot {
    /// The open connection's writer; `None` between connections, and while
    /// a send has it out.
    writer: Option<Writer>,
    /// Bumped whenever a connection opens or ends, so that a writer out for
    /// a send goes back only to the connection it came from.
    generation: u64,
    /// `close` was called, or the client ended: no more connections.
    closing: bool,
}

/// Why there is no writer to send with.
enum Missing {
    /// Between connections.
    NotOpen,
    /// For good.
    Closed,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic elsewhere leaves the slot as consistent as any call does.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `close` was called or the client ended.
    pub(super) fn closing(&self) -> bool {
        self.lock().closing
    }

    /// A connection opened: its writer is the one to send with. `false`
    /// (and the writer dropped) if `close` was called meanwhile.
    pub(super) fn open(&self, writer: Writer) -> bool {
        let mut slot = self.lock();
        if slot.closing {
            return false;
        }
        slot.generation += 1;
        slot.writer = Some(writer);
        true
    }

    /// The connection ended: nothing to send with until the next one.
    pub(super) fn lost(&self) {
        let mut slot = self.lock();
        slot.generation += 1;
        slot.writer = None;
    }

    /// The client ended for good.
    pub(super) fn finish(&self) {
        self.lost();
        self.lock().closing = true;
    }

    /// Resolves once `close` has found no open connection (a permit is
    /// kept if nobody waits yet).
    pub(super) async fn close_requested(&self) {
        self.closed.notified().await;
    }

    /// The current writer, out of the slot until the lease is dropped.
    fn lease(&self) -> Result<Lease<'_>, Missing> {
        let mut slot = self.lock();
        if slot.closing {
            return Err(Missing::Closed);
        }
        let writer = slot.writer.take().ok_or(Missing::NotOpen)?;
        Ok(Lease {
            shared: self,
            generation: slot.generation,
            writer: Some(writer),
        })
    }

    /// Marks the client closing and leases the writer, if a connection is
    /// open; otherwise tells the reader to stop.
    fn lease_to_close(&self) -> Option<Lease<'_>> {
        let mut slot = self.lock();
        slot.closing = true;
        match slot.writer.take() {
            Some(writer) => Some(Lease {
                shared: self,
                generation: slot.generation,
                writer: Some(writer),
            }),
            None => {
                self.closed.notify_one();
                None
            }
        }
    }
}

/// A writer taken out of the slot. Dropping it (even with its call
/// cancelled half-way, which the writer's own calls allow) puts it back if
/// its connection is still the current one.
struct Lease<'a> {
    shared: &'a Shared,
    generation: u64,
    writer: Option<Writer>,
}

impl Lease<'_> {
    fn writer(&mut self) -> &mut Writer {
        self.writer
            .as_mut()
            .expect("a lease holds its writer until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut slot = self.shared.lock();
        if slot.generation == self.generation && slot.writer.is_none() {
            slot.writer = self.writer.take();
        }
    }
}

/// `true` for the errors that mean the connection is closing or gone, as
/// opposed to a refused message or a failed write.
fn ended(e: &StreamError) -> bool {
    matches!(
        e,
        StreamError::Closed | StreamError::Send(SendError::Closed)
    )
}

/// The sending half of a [`ReconnectingClient`](super::ReconnectingClient),
/// from [`split`](super::ReconnectingClient::split): sends on whichever
/// connection the [`ReconnectingReader`](super::ReconnectingReader) has
/// open, and never queues while there is none.
///
/// The reader does the reconnecting: keep its `recv` loop running.
/// Once the reader is dropped the client is closed, and every call fails
/// with [`ReconnectError::Closed`].
///
/// ```no_run
/// use rfc6455::tokio::reconnect::{ReconnectError, ReconnectingClient};
/// use rfc6455::CloseCode;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.connect().await?;
/// let (mut reader, mut writer) = client.split();
/// tokio::spawn(async move {
///     while let Ok(event) = reader.recv().await {
///         println!("{event:?}");
///     }
/// });
/// match writer.send("hello").await {
///     Err(ReconnectError::NotConnected(message)) => println!("not sent: {message:?}"),
///     other => other?,
/// }
/// writer.ping("are you there").await?;
/// writer.close(CloseCode::NORMAL, "bye").await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReconnectingWriter {
    shared: Arc<Shared>,
}

impl ReconnectingWriter {
    pub(super) fn new(shared: Arc<Shared>) -> ReconnectingWriter {
        ReconnectingWriter { shared }
    }

    /// Sends a message (text from `&str`/`String`, binary from
    /// `Vec<u8>`/`Bytes`, or a [`Message`]) on the open connection and
    /// waits until it is written.
    ///
    /// With no open connection (connecting, waiting to reconnect, or the
    /// connection closing) nothing is queued: the call fails at once with
    /// [`ReconnectError::NotConnected`], which hands the message back.
    /// After `close` it fails with [`ReconnectError::Closed`]. Cancel-safe:
    /// a call dropped before it returns either queued its message or did
    /// not.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), ReconnectError> {
        let message = message.into();
        let mut lease = match self.shared.lease() {
            Ok(lease) => lease,
            Err(Missing::NotOpen) => return Err(ReconnectError::NotConnected(message)),
            Err(Missing::Closed) => return Err(ReconnectError::Closed),
        };
        // A clone is a reference count: it is how the message comes back
        // if the connection turns out to be closing.
        match lease.writer().send(message.clone()).await {
            Ok(()) => Ok(()),
            Err(e) if ended(&e) => Err(self.not_open(ReconnectError::NotConnected(message))),
            Err(e) => Err(ReconnectError::Stream(e)),
        }
    }

    /// Sends a ping (payload at most 125 bytes) on the open connection and
    /// waits until it is written. The pong comes back through the reader's
    /// `recv` as [`Event::Pong`](crate::Event::Pong).
    ///
    /// Fails with [`ReconnectError::NoConnection`] while no connection is
    /// open, [`ReconnectError::Closed`] after `close`, and
    /// [`ReconnectError::Stream`] with
    /// [`SendError::ControlPayloadTooLarge`] for a long payload.
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), ReconnectError> {
        let payload = payload.into();
        let mut lease = self.control_lease()?;
        let sent = lease.writer().ping(payload).await;
        drop(lease);
        self.control_sent(sent)
    }

    /// Sends an unsolicited pong (a one-way heartbeat, RFC 6455 §5.5.3;
    /// payload at most 125 bytes). Pings from the server are answered
    /// without this. Errors as for [`ping`](Self::ping).
    pub async fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), ReconnectError> {
        let payload = payload.into();
        let mut lease = self.control_lease()?;
        let sent = lease.writer().pong(payload).await;
        drop(lease);
        self.control_sent(sent)
    }

    /// Closes for good: no reconnection after this. Sends a close frame
    /// with `code` and `reason` on the open connection, if any, and
    /// returns once it is written; the reader then receives the server's
    /// reply ([`Event::Close`](crate::Event::Close)) and ends with
    /// [`ReconnectError::Closed`]. With no open connection, the attempt
    /// under way is abandoned. Calling it again does nothing.
    ///
    /// `code` and `reason` are checked as for any close frame (RFC 6455
    /// §7.4, reason at most [`MAX_REASON_LEN`](crate::MAX_REASON_LEN)
    /// bytes), connected or not: [`ReconnectError::Stream`] with
    /// [`SendError::InvalidCloseCode`] or
    /// [`SendError::CloseReasonTooLong`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), ReconnectError> {
        CloseFrame::check_sendable(code, reason).map_err(StreamError::from)?;
        if let Some(mut lease) = self.shared.lease_to_close() {
            // An error means the connection is already gone: closed anyway.
            let _ = lease.writer().close(code, reason).await;
        }
        Ok(())
    }

    /// The writer for a ping or pong, or why there is none.
    fn control_lease(&self) -> Result<Lease<'_>, ReconnectError> {
        self.shared.lease().map_err(|missing| match missing {
            Missing::NotOpen => ReconnectError::NoConnection,
            Missing::Closed => ReconnectError::Closed,
        })
    }

    fn control_sent(&self, sent: Result<(), StreamError>) -> Result<(), ReconnectError> {
        match sent {
            Ok(()) => Ok(()),
            Err(e) if ended(&e) => Err(self.not_open(ReconnectError::NoConnection)),
            Err(e) => Err(ReconnectError::Stream(e)),
        }
    }

    /// The connection ended under a call: `Closed` if that was ours.
    fn not_open(&self, otherwise: ReconnectError) -> ReconnectError {
        if self.shared.closing() {
            ReconnectError::Closed
        } else {
            otherwise
        }
    }
}
