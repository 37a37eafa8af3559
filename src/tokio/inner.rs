//! The adapter's engine: moves bytes between a stream and the connection,
//! and drives its timers. No protocol decisions are made here.
//!
//! Every method is a `poll_*` function whose state lives in [`Inner`], not
//! in a future, so dropping a pending future (a `select!` branch that lost)
//! loses nothing: the next call picks up where the last one stopped.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Instant;

use bytes::Buf;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use super::read_buffers;
use crate::hub::{Drained, Inbox, Subscriber};
use crate::{CloseFrame, Connection, Error, Event, Message, SendError, StreamError};

/// How many queued segments one vectored write takes.
const MAX_IOVECS: usize = 32;
/// Read at least this much at a time; the buffer grows for large frames.
const MIN_READ: usize = 4096;
/// Reserve at most this much ahead on a frame header's word: enough to
/// take a 64 KiB frame in one read, not enough for a peer that announces
/// 16 MiB and sends nothing to cost more than it sends.
const MAX_READ_AHEAD: usize = 64 * 1024;

/// Which handle is polling. A stream used whole is always `Reader`; split
/// halves use their own, so that each keeps its own write waker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Reader = 0,
    Writer = 1,
}

/// How the connection ended, held until the transport is shut down.
#[derive(Debug)]
enum Ending {
    Closed(Option<CloseFrame>),
    Failed(Error),
}

#[derive(Debug)]
pub(crate) struct Inner<S> {
    pub(crate) io: S,
    pub(crate) conn: Connection,
    /// Armed only while the connection has a deadline.
    timer: Option<Pin<Box<Sleep>>>,
    timer_deadline: Option<Instant>,
    ending: Option<Box<Ending>>,
    /// The write half was shut down (reading may go on: a failed
    /// connection lingers until the peer's end).
    write_shut: bool,
    /// The transport was shut down: nothing more will happen.
    finished: bool,
    /// Closes the connection with 1001 when its server shuts down.
    pub(crate) shutdown: Option<crate::ShutdownGuard>,
    /// Bounds a transport shutdown that does not complete; only while one
    /// is pending.
    shutdown_timer: Option<Pin<Box<Sleep>>>,
    /// Set once split: both halves may write (the reader sends pongs and
    /// close replies), but a stream keeps a single write waker, so writes
    /// register a waker that wakes every waiting half.
    write_wakers: Option<Arc<WriteWakers>>,
    /// The hub subscriber whose queue this stream writes.
    attached: Option<Attachment>,
    /// Bytes read for the last message (or burst of messages), at most
    /// `MAX_READ_AHEAD - MIN_READ`: a peer that sends 16 KiB messages gets
    /// room for one in the first read of the next, not a 4 KiB read and
    /// then the rest. It follows the peer down as well as up, so one large
    /// frame does not make every later read reserve 64 KiB.
    expected: u32,
    /// Bytes read since the read buffer was last empty.
    read_since_empty: u32,
}

/// What [`Inner::poll_deliveries`] left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deliveries {
    /// Nothing waits, or nothing can be taken now; a new message wakes us.
    Done,
    /// The high-water mark stopped it with more waiting.
    More,
    /// The hub dropped the subscriber: its close was just queued.
    Closed,
}

/// A subscriber's queue attached to a stream; leaves the hub when the
/// stream ends or is dropped.
#[derive(Debug)]
struct Attachment(Arc<Inbox>);

impl Drop for Attachment {
    fn drop(&mut self) {
        self.0.close();
        if let Some(hub) = self.0.hub.upgrade() {
            hub.leave_all(&self.0);
        }
    }
}

/// The write wakers of a split stream's halves, woken together.
#[derive(Debug, Default)]
pub(crate) struct WriteWakers {
    slots: Mutex<[Option<Waker>; 2]>,
}

impl WriteWakers {
    fn park(&self, side: Side, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut slots[side as usize];
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    fn wake_side(&self, side: Side) {
        let waker = self.slots.lock().unwrap_or_else(|e| e.into_inner())[side as usize].take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Wake for WriteWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let taken = std::mem::take(&mut *self.slots.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in taken.into_iter().flatten() {
            waker.wake();
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    pub(crate) fn new(io: S, conn: Connection) -> Inner<S> {
        Inner {
            io,
            conn,
            timer: None,
            timer_deadline: None,
            ending: None,
            write_shut: false,
            finished: false,
            shutdown: None,
            shutdown_timer: None,
            write_wakers: None,
            attached: None,
            expected: 0,
            read_since_empty: 0,
        }
    }

    /// Writes what the hub queues for `subscriber` from now on.
    pub(crate) fn attach(&mut self, subscriber: &Subscriber) {
        if let Some(Attachment(current)) = &self.attached {
            if Arc::ptr_eq(current, subscriber.inbox()) {
                return; // replacing it by itself would drop it from the hub
            }
        }
        self.attached = Some(Attachment(subscriber.inbox().clone()));
    }

    /// Moves messages the hub queued into the connection, up to the
    /// high-water mark. A subscriber the hub dropped as too slow is closed
    /// with 1008.
    fn poll_deliveries(&mut self, cx: &mut Context<'_>) -> Deliveries {
        if self.attached.is_some() && !self.conn.state().is_open() {
            // Closing: nothing more can be sent, so stop taking messages
            // and leave every topic now.
            self.attached = None;
        }
        let Some(Attachment(inbox)) = &self.attached else {
            return Deliveries::Done;
        };
        let conn = &mut self.conn;
        let high_water = conn.send_high_water();
        let mut blocked = false;
        let drained = inbox.drain(cx.waker(), |message| {
            if conn.buffered_amount() > high_water {
                blocked = true;
                return false;
            }
            match conn.send_prepared(message) {
                Ok(()) => true,
                Err(SendError::QueueFull { .. }) => {
                    blocked = true;
                    false
                }
                // A fragmented message is being sent: deliveries wait for
                // its end.
                Err(_) => false,
            }
        });
        match drained {
            Drained::More if blocked => Deliveries::More,
            Drained::Empty | Drained::More => Deliveries::Done,
            Drained::Evicted => {
                crate::trace::subscriber_evicted(None);
                let _ = self.conn.close(
                    crate::CloseCode::POLICY_VIOLATION,
                    "too slow: messages were not read in time",
                );
                Deliveries::Closed
            }
        }
    }

    /// Prepares for use by two halves at once.
    pub(crate) fn enable_split(&mut self) {
        self.write_wakers = Some(Arc::default());
    }

    /// The next event. Cancel-safe: see the module docs.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
    ) -> Poll<Result<Event, StreamError>> {
        loop {
            if self.finished {
                return Poll::Ready(Err(StreamError::Closed));
            }
            // Timers first: a timeout may have failed the connection, and
            // `poll_event` below reports that.
            // A shutdown's close first, so that its timer is armed below.
            self.poll_shutdown_signal(cx);
            let fired = self.poll_timers(cx);
            if self.ending.is_some() {
                // Lingering: the connection drops what arrived.
                let _ = self.conn.poll_event();
            } else {
                match self.conn.poll_event() {
                    Ok(Some(Event::Close(frame))) => {
                        self.ending = Some(Box::new(Ending::Closed(frame)));
                        continue; // arms the close timer the ending started
                    }
                    Ok(Some(event)) => {
                        // Pongs go out now if the transport takes them; if
                        // not, the waker is registered and a later poll
                        // finishes the job.
                        if let Poll::Ready(Err(e)) = self.poll_write_queued(cx, side) {
                            return Poll::Ready(Err(self.transport_failed(e)));
                        }
                        return Poll::Ready(Ok(event));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        crate::trace::connection_failed(&e, None);
                        self.ending = Some(Box::new(Ending::Failed(e)));
                        continue; // arms the close timer bounding the linger
                    }
                }
            }
            if fired {
                continue; // re-arm the timer for the next deadline
            }
            let deliveries = self.poll_deliveries(cx);
            if deliveries == Deliveries::Closed {
                continue; // arms the close timer
            }
            match self.poll_write_queued(cx, side) {
                // All written: take more.
                Poll::Ready(Ok(())) if deliveries == Deliveries::More => continue,
                Poll::Ready(Err(e)) if self.ending.is_none() => {
                    return Poll::Ready(Err(self.transport_failed(e)))
                }
                // Ending anyway, and the transport is gone: nothing left to
                // write, wait for or read.
                Poll::Ready(Err(_)) => return Poll::Ready(self.finish()),
                _ => {}
            }
            if self.conn.should_shutdown() && !self.write_shut {
                ready!(self.poll_shutdown_bounded(cx));
                self.write_shut = true;
            }
            if self.conn.should_close() {
                return Poll::Ready(self.finish());
            }
            if self.conn.wants_write() && self.ending.is_some() {
                return Poll::Pending; // writing our close frame; the timer bounds it
            }
            match ready!(self.poll_read_some(cx)) {
                Ok(0) => self.conn.recv_eof(),
                Ok(_) => {}
                Err(e) if self.ending.is_some() => {
                    let _ = e;
                    self.conn.recv_eof();
                }
                Err(e) => return Poll::Ready(Err(self.transport_failed(e))),
            }
        }
    }

    /// Shuts the write half down, giving up after the close timeout: a
    /// shutdown may have to flush (TLS close_notify, an HTTP/2 stream
    /// waiting for flow-control window) to a peer that does not read, and
    /// once the connection's own timers are done nothing else would end the
    /// wait. Errors change nothing either: the connection is over.
    fn poll_shutdown_bounded(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if Pin::new(&mut self.io).poll_shutdown(cx).is_ready() {
            self.shutdown_timer = None;
            return Poll::Ready(());
        }
        let timeout = self.conn.close_timeout();
        let timer = self
            .shutdown_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.shutdown_timer = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Once the server shuts down, starts the closing handshake with 1001
    /// (Going Away); until then, the signal wakes this task.
    fn poll_shutdown_signal(&mut self, cx: &mut Context<'_>) {
        if !self.conn.state().is_open() {
            return;
        }
        if let Some(Poll::Ready(reason)) = self.shutdown.as_mut().map(|g| g.poll_signaled(cx)) {
            let _ = self.conn.close(crate::CloseCode::GOING_AWAY, &reason);
        }
    }

    /// The transport failed: nothing more will be delivered, so leave the
    /// hub now rather than when the stream is dropped.
    fn transport_failed(&mut self, error: io::Error) -> StreamError {
        self.attached = None;
        error.into()
    }

    fn finish(&mut self) -> Result<Event, StreamError> {
        self.finished = true;
        self.timer = None;
        self.attached = None; // leaves the hub
        match self.ending.take().map(|ending| *ending) {
            Some(Ending::Closed(frame)) => Ok(Event::Close(frame)),
            Some(Ending::Failed(e)) => Err(e.into()),
            None => Err(StreamError::Closed),
        }
    }

    /// Reads once into the connection's buffer, without zero-filling it.
    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let hint = self.conn.read_hint().min(MAX_READ_AHEAD);
        let buf = self.conn.read_buf();
        if buf.is_empty() && hint == 0 && self.read_since_empty > 0 {
            // A new message starts: expect one like the last.
            self.expected = self
                .read_since_empty
                .min((MAX_READ_AHEAD - MIN_READ) as u32);
            self.read_since_empty = 0;
        }
        // Room past what is awaited, so that a read that brings it all does
        // not fill the buffer: tokio then knows the socket is drained and
        // spares the read that would only say "would block". At most
        // `MAX_READ_AHEAD`, which the core keeps when the buffer empties.
        let wanted = (MIN_READ + hint.max(self.expected as usize)).min(MAX_READ_AHEAD);
        if buf.capacity() == 0 {
            *buf = read_buffers::take();
        }
        if buf.capacity() - buf.len() < wanted {
            // The rest of the frame at once, up to the read-ahead bound;
            // doubling past it; the core shrinks the buffer back later.
            buf.reserve(buf.len().max(wanted));
        }
        let polled = {
            let read = tokio::io::AsyncReadExt::read_buf(&mut self.io, &mut *buf);
            std::pin::pin!(read).poll(cx)
        };
        if let Poll::Ready(Ok(n)) = polled {
            self.read_since_empty = self.read_since_empty.saturating_add(n as u32);
        }
        if polled.is_pending() && buf.is_empty() {
            // Idle: hold no read buffer while waiting, so that quiet
            // connections cost no buffer memory; the thread keeps it for
            // the next connection with bytes to read.
            read_buffers::give_back(std::mem::take(buf));
        }
        polled
    }

    /// Reports the time to the connection and sleeps until its next
    /// deadline. Returns `true` when a deadline passed.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.conn.needs_clock() && self.timer.is_none() {
            return false; // nothing to time: spare the clock read
        }
        let now = tokio::time::Instant::now();
        self.conn.handle_timeout(now.into_std());
        let deadline = self.conn.poll_timeout();
        if deadline != self.timer_deadline {
            self.timer_deadline = deadline;
            match (deadline, &mut self.timer) {
                (None, _) => self.timer = None,
                (Some(at), Some(timer)) => timer.as_mut().reset(at.into()),
                (Some(at), None) => {
                    self.timer = Some(Box::pin(tokio::time::sleep_until(at.into())))
                }
            }
        }
        match &mut self.timer {
            Some(timer) => {
                let fired = timer.as_mut().poll(cx).is_ready();
                if fired {
                    // Dropped, not kept to re-arm: a spent `Sleep` stays
                    // ready, and if the next pass finds no deadline it
                    // would fire on every pass. Timers fire rarely.
                    self.timer = None;
                    self.timer_deadline = None;
                }
                fired
            }
            None => false,
        }
    }

    /// Writes queued bytes until none are left or the transport is full.
    pub(crate) fn poll_write_queued(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
    ) -> Poll<io::Result<()>> {
        let Some(wakers) = self.write_wakers.clone() else {
            return self.write_loop(cx).0;
        };
        // A split stream registers the fan-out waker with the transport, so
        // that whichever half is waiting hears that it became writable.
        wakers.park(side, cx.waker());
        let fanout = Waker::from(wakers.clone());
        let (result, progressed) = self.write_loop(&mut Context::from_waker(&fanout));
        if progressed {
            // The other half may be waiting for the queue to drain.
            wakers.wake_side(match side {
                Side::Reader => Side::Writer,
                Side::Writer => Side::Reader,
            });
        }
        result
    }

    /// Writes until the queue is empty (then flushes the stream) or the
    /// transport is full; also says whether any byte was written.
    fn write_loop(&mut self, cx: &mut Context<'_>) -> (Poll<io::Result<()>>, bool) {
        let mut progressed = false;
        loop {
            if !self.conn.wants_write() {
                return (Pin::new(&mut self.io).poll_flush(cx), progressed);
            }
            let out = self.conn.transmit();
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = out.chunks_vectored(&mut slices);
            // One chunk (the common case: small frames are coalesced) goes
            // out with a plain write, which the kernel takes a little
            // faster than a one-element writev.
            let written = match &slices[..count] {
                [one] => Pin::new(&mut self.io).poll_write(cx, one),
                many => Pin::new(&mut self.io).poll_write_vectored(cx, many),
            };
            match written {
                Poll::Ready(Ok(0)) => {
                    return (
                        Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                        progressed,
                    )
                }
                Poll::Ready(Ok(n)) => {
                    out.advance(n);
                    progressed = true;
                }
                Poll::Ready(Err(e)) => return (Poll::Ready(Err(e)), progressed),
                Poll::Pending => return (Poll::Pending, progressed),
            }
        }
    }

    /// Waits until the queue is at or below the high-water mark (writing
    /// meanwhile), so a peer that does not read cannot grow it without
    /// bound.
    pub(crate) fn poll_ready(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
    ) -> Poll<Result<(), StreamError>> {
        if self.finished || !self.conn.state().is_open() {
            return Poll::Ready(Err(StreamError::Closed));
        }
        let high_water = self.conn.send_high_water();
        while self.conn.buffered_amount() > high_water {
            ready!(self.poll_write_queued(cx, side))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Queues a message (after [`Inner::poll_ready`]).
    pub(crate) fn queue(&mut self, message: Message) -> Result<(), StreamError> {
        self.conn.send(message)?;
        Ok(())
    }

    /// Writes everything queued.
    pub(crate) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        side: Side,
    ) -> Poll<Result<(), StreamError>> {
        if self.finished {
            return Poll::Ready(Ok(()));
        }
        if !self.conn.state().is_open() {
            // Closing: a peer that does not read must not hold us past the
            // close timeout. Once it passes, nothing is left to write and
            // the next `recv` reports the timeout.
            self.poll_timers(cx);
            if self.conn.should_shutdown() {
                return Poll::Ready(Ok(()));
            }
        }
        ready!(self.poll_write_queued(cx, side))?;
        Poll::Ready(Ok(()))
    }
}

/// An idle connection's task holds this (with the connection inside) and
/// little else; 10,000 idle connections cost 10,000 of it.
#[cfg(all(test, target_pointer_width = "64"))]
mod size {
    #[test]
    fn stream_stays_small() {
        let size = std::mem::size_of::<super::Inner<tokio::net::TcpStream>>();
        assert!(size <= 624, "Inner<TcpStream> is {size} bytes");
    }
}
