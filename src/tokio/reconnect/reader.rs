//! [`ReconnectingReader`]: the receiving half, which also drives the
//! reconnection: it notices a lost connection, waits the backoff delay,
//! connects again and hands each new connection's writer to the writer
//! half.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::sync::watch;
use tokio::time::Instant;

use super::attempt::{attempt, Attempt};
use super::builder::Settings;
use super::policy::{Next, Policy, Retry};
use super::state::{publish, LinkState, StateWatcher};
use super::writer::Shared;
use super::{ReconnectError, Ws};
use crate::handshake::Response;
use crate::tokio::{MaybeTlsStream, WebSocketReader};
use crate::{CloseCode, Event, Extensions, Message, StreamError};

/// The connection, or the attempt to get one.
enum Link {
    /// The reading half of the open connection, and the server's answer to
    /// its handshake (boxed: the other variants are a pointer).
    Open(Box<(WebSocketReader<MaybeTlsStream>, Response)>),
    /// Waits the backoff delay, connects, runs the hook.
    Connecting(Attempt),
    Closed,
}

/// The receiving half of a [`ReconnectingClient`](super::ReconnectingClient),
/// from [`split`](super::ReconnectingClient::split). It owns the
/// reconnection: keep a [`recv`](Self::recv) loop running, or nothing
/// reconnects. Dropping it closes the client: the
/// [`ReconnectingWriter`](super::ReconnectingWriter) then fails with
/// [`ReconnectError::Closed`].
pub struct ReconnectingReader {
    settings: Arc<Settings>,
    state: watch::Sender<LinkState>,
    shared: Arc<Shared>,
    link: Link,
    policy: Policy,
    /// Draws the backoff jitter; seeded from the OS.
    rng: SmallRng,
    /// When the open connection opened.
    opened_at: Option<Instant>,
    /// Reported by the next call: giving up after a short-lived connection.
    pending: Option<ReconnectError>,
}

impl fmt::Debug for ReconnectingReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingReader")
            .field("state", &self.state())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ReconnectingReader {
    /// Not connected yet: the first `recv` makes attempt 1, at once.
    pub(super) fn new(settings: Arc<Settings>, shared: Arc<Shared>) -> ReconnectingReader {
        let (state, _) = watch::channel(LinkState::Connecting { attempt: 1 });
        let first = attempt(settings.clone(), state.clone(), 1, Duration::ZERO);
        let policy = Policy::new(
            settings.backoff,
            settings.max_attempts,
            settings.healthy_after,
        );
        ReconnectingReader {
            settings,
            state,
            shared,
            link: Link::Connecting(first),
            policy,
            rng: SmallRng::from_os_rng(),
            opened_at: None,
            pending: None,
        }
    }

    /// The next event from the current connection, reconnecting as needed
    /// in between; see [`ReconnectingClient::recv`](super::ReconnectingClient::recv).
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Result<Event, ReconnectError> {
        loop {
            if let Some(e) = self.pending.take() {
                return Err(e);
            }
            match &mut self.link {
                Link::Open(open) => match open.0.recv().await {
                    Ok(Event::Close(frame)) => {
                        if self.shared.closing() {
                            self.finish();
                        } else {
                            let code = frame.as_ref().map(|f| f.code);
                            self.lost(code, StreamError::Closed);
                        }
                        return Ok(Event::Close(frame));
                    }
                    Ok(event) => return Ok(event),
                    Err(_) if self.shared.closing() => {
                        self.finish();
                        return Err(ReconnectError::Closed);
                    }
                    Err(e) => self.lost(None, e),
                },
                // Closed by the writer while no connection was open.
                Link::Connecting(_) if self.shared.closing() => self.finish(),
                Link::Connecting(_) => self.drive_attempt().await?,
                Link::Closed => return Err(ReconnectError::Closed),
            }
        }
    }

    /// The next data message, reconnecting as needed in between; pings,
    /// pongs and the server's close frames are skipped. Cancel-safe.
    pub async fn recv_message(&mut self) -> Result<Message, ReconnectError> {
        loop {
            if let Some(message) = self.recv().await?.into_message() {
                return Ok(message);
            }
        }
    }

    /// The current state.
    pub fn state(&self) -> LinkState {
        self.state.borrow().clone()
    }

    /// A watcher of the state for another task; its
    /// [`changed`](StateWatcher::changed) waits for the next change after
    /// the current state.
    pub fn watch(&self) -> StateWatcher {
        StateWatcher::new(self.state.subscribe())
    }

    /// The subprotocol the server selected for the open connection
    /// (`Sec-WebSocket-Protocol`, one of those the request offered), as
    /// [`Response::protocol`] gives it. `None` while no connection is open,
    /// or if the server selected none. Each connection may agree on a
    /// different one: read it after every reconnection.
    pub fn protocol(&self) -> Option<&str> {
        self.response().and_then(Response::protocol)
    }

    /// The extensions agreed for the open connection (such as
    /// permessage-deflate), as [`Response::agreed_extensions`] gives them;
    /// the connection runs exactly these. `None` while no connection is
    /// open.
    pub fn agreed_extensions(&self) -> Option<&Extensions> {
        self.response().map(Response::agreed_extensions)
    }

    fn response(&self) -> Option<&Response> {
        match &self.link {
            Link::Open(open) => Some(&open.1),
            _ => None,
        }
    }

    /// Drives attempts until one opens (for `Builder::connect`).
    pub(super) async fn connect(&mut self) -> Result<(), ReconnectError> {
        while let Link::Connecting(_) = self.link {
            self.drive_attempt().await?;
        }
        Ok(())
    }

    /// After our close frame went out: reads (dropping what arrives) until
    /// the server's reply, the close timeout or an error, then ends. With
    /// no open connection it ends at once.
    pub(super) async fn finish_close(&mut self) {
        if let Link::Open(open) = &mut self.link {
            while let Ok(event) = open.0.recv().await {
                if let Event::Close(_) = event {
                    break;
                }
            }
        }
        self.finish();
    }

    /// Awaits the attempt under way and records its outcome: open, or a
    /// failure followed by the next attempt or by giving up. A `close`
    /// from the writer meanwhile abandons it.
    async fn drive_attempt(&mut self) -> Result<(), ReconnectError> {
        let Link::Connecting(attempt) = &mut self.link else {
            return Ok(());
        };
        // Awaiting through a reference: if this future is dropped, the
        // attempt stays in `self.link` and resumes at the next call.
        let shared = self.shared.clone();
        let mut stop = pin!(shared.close_requested());
        let outcome = poll_fn(|cx| {
            if stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            attempt.as_mut().poll(cx).map(Some)
        })
        .await;
        match outcome {
            None => {
                self.finish();
                Ok(())
            }
            Some(Ok((ws, response))) => {
                self.opened(ws, response);
                Ok(())
            }
            Some(Err(last)) => {
                let next = self.policy.attempt_failed(&mut self.rng);
                self.follow(next, last)
            }
        }
    }

    /// A connection is up (its hook has run): hand its writer over, then
    /// announce it.
    fn opened(&mut self, ws: Ws, response: Response) {
        let (reader, writer) = ws.split();
        if !self.shared.open(writer) {
            self.finish();
            return;
        }
        // The backoff starts over only once this connection has proved
        // healthy (see `lost`).
        self.link = Link::Open(Box::new((reader, response)));
        self.opened_at = Some(Instant::now());
        publish(&self.state, LinkState::Open);
    }

    /// The open connection ended without our asking (with the server's
    /// close `code`, if any).
    fn lost(&mut self, code: Option<CloseCode>, why: StreamError) {
        self.shared.lost();
        let lived = self
            .opened_at
            .take()
            .map_or(Duration::ZERO, |opened| opened.elapsed());
        let retry = code.map_or(Retry::Backoff, |c| (self.settings.retry)(c));
        let next = self
            .policy
            .connection_lost(lived, code, retry, &mut self.rng);
        if let Err(e) = self.follow(next, why) {
            self.pending = Some(e);
        }
    }

    /// Does what the policy said: schedule the next attempt, or end.
    fn follow(&mut self, next: Next, last: StreamError) -> Result<(), ReconnectError> {
        match next {
            Next::Wait { attempt: n, delay } => {
                publish(&self.state, LinkState::Reconnecting { attempt: n, delay });
                let settings = self.settings.clone();
                self.link = Link::Connecting(attempt(settings, self.state.clone(), n, delay));
                Ok(())
            }
            Next::GiveUp { attempts } => {
                self.finish();
                Err(ReconnectError::GaveUp { attempts, last })
            }
            Next::Stop { code } => {
                self.finish();
                Err(ReconnectError::Stopped { code })
            }
        }
    }

    fn finish(&mut self) {
        self.link = Link::Closed;
        self.shared.finish();
        publish(&self.state, LinkState::Closed);
    }
}

impl Drop for ReconnectingReader {
    /// The client ends: watchers see `Closed`, then the channel closes as
    /// the last sender (this one; the attempt's went with `link`) drops.
    fn drop(&mut self) {
        self.finish();
    }
}
