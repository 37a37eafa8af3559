//! The sans-IO connection: bytes in, events out; commands in, bytes out.

mod compression;
mod config;
mod event;
mod extensions;
mod outgoing;
mod prepared;
mod recv;
mod state;
mod timer;

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use config::Settings;
pub use config::{Config, Role};
pub use event::{Event, Message, MessageKind};
pub use extensions::Extensions;
pub use outgoing::Outgoing;
pub use prepared::PreparedMessage;
pub use state::{CloseStatus, State};

use crate::frame::RSV1;
use crate::frame::{FrameHeader, OpCode};
use crate::utf8::Utf8Validator;
use crate::{CloseCode, CloseFrame, Error, SendError, Utf8Bytes};
use compression::Deflater;
use recv::{Incoming, Receiver};
use timer::{Due, Timers};

/// How the transport ends: what it should do once the queued bytes are
/// written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Teardown {
    /// Keep reading and writing.
    Open,
    /// The closing handshake is done; a client waits for the server to
    /// close the transport first (RFC 6455 §7.1.1), bounded by the close
    /// timeout.
    AwaitEof,
    /// The connection failed: once the close frame is written, shut the
    /// write half down, and read and discard input until the peer closes
    /// too (EOF), `budget` more bytes or the close timeout, whichever comes
    /// first; then close. Closing with unread input would make the kernel
    /// reset the connection, and the peer could lose our close frame
    /// (RFC 6455 §7.1.1).
    Linger { budget: usize },
    /// Shut the transport down once the queued bytes are written: nothing
    /// more will be read.
    Shutdown,
    /// The close timeout ran out with bytes still queued (the peer does not
    /// read): shut down without writing them.
    Abort,
}

/// One WebSocket connection, after the handshake, with no I/O and no clock.
///
/// Feed it the bytes the transport read ([`recv`](Connection::recv) or
/// [`read_buf`](Connection::read_buf)), take events out with
/// [`poll_event`](Connection::poll_event), give it commands
/// ([`send`](Connection::send), [`ping`](Connection::ping),
/// [`close`](Connection::close)) and write what
/// [`transmit`](Connection::transmit) holds. Report the time with
/// [`handle_timeout`](Connection::handle_timeout) before waiting, and wait
/// no longer than [`poll_timeout`](Connection::poll_timeout).
///
/// The connection does what RFC 6455 requires by itself: it answers pings,
/// echoes a close, and when the peer breaks a rule it queues a close frame
/// with the right code before returning the [`Error`].
///
/// ```
/// use bytes::Buf;
/// use rfc6455::{Config, Connection, Event, Role};
///
/// let mut server = Connection::new(Role::Server, Config::default());
/// // A masked text frame "Hello" from RFC 6455 §5.7.
/// server.recv(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// let Some(Event::Text(text)) = server.poll_event()? else { panic!() };
/// assert_eq!(text, "Hello");
///
/// server.send(text)?; // echo it
/// let out = server.transmit();
/// assert_eq!(out.chunk(), b"\x81\x05Hello");
/// # out.advance(7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    role: Role,
    settings: Settings,
    receiver: Receiver,
    outgoing: Outgoing,
    state: State,
    teardown: Teardown,
    timers: Timers,
    /// A failure found outside `poll_event` (a timer), reported by it.
    pending_error: Option<Error>,
    /// The transport reported end of input.
    eof: bool,
    /// Input bytes buffered at the end of the last `poll_event`; growth
    /// since means the peer is alive.
    buffered_after_poll: usize,
    /// A fragmented message we are sending: its kind, and its text so far.
    sending: Option<(MessageKind, Utf8Validator)>,
    /// Present when permessage-deflate was negotiated; boxed, so that
    /// connections without it do not carry its room.
    deflater: Option<Box<Deflater>>,
    /// What the handshake agreed.
    extensions: Extensions,
}

impl Connection {
    /// A connection in `role`, open, with no extensions.
    pub fn new(role: Role, config: Config) -> Connection {
        Connection::with_extensions(role, config, &Extensions::none())
    }

    /// A connection running exactly the `extensions` agreed in the
    /// handshake (see [`Extensions`]); `config` only tunes them (how hard
    /// permessage-deflate compresses), so an agreed extension is never off.
    pub fn with_extensions(role: Role, config: Config, extensions: &Extensions) -> Connection {
        let (inflater, deflater) = compression::build(role, &config, extensions);
        Connection {
            role,
            receiver: Receiver::new(
                role,
                config.max_frame_size,
                config.max_message_size,
                config.max_empty_fragments,
                inflater,
            ),
            outgoing: Outgoing::default(),
            state: State::Open,
            teardown: Teardown::Open,
            timers: Timers::new(
                config.ping_interval,
                config.pong_timeout,
                config.close_timeout,
            ),
            pending_error: None,
            eof: false,
            buffered_after_poll: 0,
            sending: None,
            deflater: deflater.map(Box::new),
            extensions: *extensions,
            settings: Settings::from(&config),
        }
    }

    /// The extensions this connection runs, as agreed in the handshake.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// A connection that starts with `leftover`: bytes read past the end of
    /// the handshake, which already belong to the WebSocket stream.
    pub fn with_leftover(role: Role, config: Config, leftover: &[u8]) -> Connection {
        let mut conn = Connection::new(role, config);
        conn.recv(leftover);
        conn
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// How many queued bytes an adapter lets build up before it waits for
    /// the transport ([`Config::send_high_water`]), in bytes.
    pub fn send_high_water(&self) -> usize {
        self.settings.send_high_water
    }

    /// How long the closing handshake may take
    /// ([`Config::close_timeout`]), after which the transport is closed
    /// anyway (RFC 6455 §7.1.1).
    pub fn close_timeout(&self) -> std::time::Duration {
        self.timers.close_timeout()
    }

    /// Where the connection is in its lifecycle.
    pub fn state(&self) -> &State {
        &self.state
    }

    // ---- inbound -------------------------------------------------------

    /// The input buffer: an adapter may read from the transport straight
    /// into its spare capacity instead of calling [`Connection::recv`].
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.receiver.buf_mut()
    }

    /// How many more bytes the frame being received needs (its announced
    /// length minus what is buffered), 0 between frames: a hint for how
    /// much to read next. It is what the peer *announced*, up to
    /// [`Config::max_frame_size`]: an adapter should cap what it reserves
    /// on its word (the tokio adapter reads ahead at most 64 KiB).
    pub fn read_hint(&self) -> usize {
        self.receiver.frame_bytes_missing()
    }

    /// Hands the connection bytes read from the transport.
    pub fn recv(&mut self, data: &[u8]) {
        if self.state.is_closed() {
            self.count_dropped(data.len());
        } else {
            self.receiver.buf_mut().extend_from_slice(data);
        }
    }

    /// The transport has no more input.
    pub fn recv_eof(&mut self) {
        self.eof = true;
        if matches!(self.teardown, Teardown::AwaitEof | Teardown::Linger { .. }) {
            self.teardown = Teardown::Shutdown;
            self.timers.stop();
        }
    }

    /// The next event, `Ok(None)` when the buffered input holds none.
    ///
    /// An `Err` fails the connection: the close frame it calls for is
    /// queued, the state is [`State::Closed`], and later calls return
    /// `Ok(None)`.
    pub fn poll_event(&mut self) -> Result<Option<Event>, Error> {
        if let Some(error) = self.pending_error.take() {
            return Err(error);
        }
        if self.state.is_closed() {
            self.drop_input();
            return Ok(None);
        }
        self.note_new_input();
        let polled = self.receiver.poll();
        self.buffered_after_poll = self.receiver.buffered();
        match polled {
            Ok(Some(incoming)) => self.handle_incoming(incoming).map(Some),
            Ok(None) if self.eof => Err(self.fail(Error::AbnormalClosure)),
            Ok(None) => Ok(None),
            Err(error) => Err(self.fail(error)),
        }
    }

    /// Input that arrived since the last look means the peer is alive.
    fn note_new_input(&mut self) {
        if self.receiver.buffered() > self.buffered_after_poll {
            self.timers.heard_from_peer();
            self.buffered_after_poll = self.receiver.buffered();
        }
    }

    fn handle_incoming(&mut self, incoming: Incoming) -> Result<Event, Error> {
        Ok(match incoming {
            Incoming::Text(text) => Event::Text(text),
            Incoming::Binary(data) => Event::Binary(data),
            Incoming::Ping(payload) => {
                if self.settings.auto_pong && self.state.is_open() {
                    let mask = self.mask_key();
                    self.outgoing.push_pong(payload.clone(), mask);
                }
                Event::Ping(payload)
            }
            Incoming::Pong(payload) => Event::Pong(payload),
            Incoming::Close(payload) => {
                let frame = match CloseFrame::parse(payload) {
                    Ok(frame) => frame,
                    Err(e) => return Err(self.fail(e)),
                };
                self.on_peer_close(frame.clone());
                Event::Close(frame)
            }
        })
    }

    /// The peer's close frame arrived: answer it if we have not closed
    /// yet, and move to `Closed`.
    fn on_peer_close(&mut self, frame: Option<CloseFrame>) {
        let initiated_locally = match self.state {
            State::Open => {
                // Echo the code (§5.5.1); no reason, nothing after it.
                let reply = frame
                    .as_ref()
                    .map(|f| CloseFrame::new(f.code, Utf8Bytes::new()));
                self.queue_close(reply.as_ref());
                false
            }
            _ => true,
        };
        let (code, reason) = match frame {
            Some(f) => (f.code, f.reason),
            None => (CloseCode::NO_STATUS, Utf8Bytes::new()),
        };
        self.state = State::Closed(CloseStatus {
            code,
            reason,
            clean: true,
            initiated_locally,
        });
        self.receiver.discard();
        self.teardown = match (self.role, self.eof) {
            (Role::Client, false) => Teardown::AwaitEof,
            _ => Teardown::Shutdown,
        };
        // Bounds the wait for the server's EOF, or for the peer to read our
        // close reply.
        self.timers.start_close();
    }

    /// Once closed, input is dropped as it comes; while lingering it counts
    /// against the budget, and past it the transport closes.
    fn drop_input(&mut self) {
        let dropped = self.receiver.drop_input();
        self.count_dropped(dropped);
    }

    fn count_dropped(&mut self, dropped: usize) {
        if let Teardown::Linger { budget } = &mut self.teardown {
            match budget.checked_sub(dropped) {
                Some(left) => *budget = left,
                None => self.teardown = Teardown::Shutdown,
            }
        }
    }

    /// Fails the connection (§7.1.7): queues the close frame `error` calls
    /// for, unless one was sent already or the transport is gone, and
    /// lingers for the peer's end (see [`Connection::should_close`]).
    fn fail(&mut self, error: Error) -> Error {
        let code = error.close_code();
        if self.state.is_open() && code != CloseCode::ABNORMAL {
            self.queue_close(Some(&CloseFrame::new(
                code,
                Utf8Bytes::from_static(error.close_reason()),
            )));
        }
        self.state = State::Closed(CloseStatus {
            code,
            reason: Utf8Bytes::from_static(error.close_reason()),
            clean: false,
            initiated_locally: error != Error::AbnormalClosure,
        });
        // A peer that is gone or silent has nothing left to say.
        let linger = !self.eof
            && self.settings.max_linger_bytes > 0
            && !matches!(error, Error::AbnormalClosure | Error::CloseTimeout);
        self.teardown = if linger {
            Teardown::Linger {
                budget: self.settings.max_linger_bytes,
            }
        } else {
            Teardown::Shutdown
        };
        // A fresh close timeout bounds writing the close frame to a peer
        // that may not read, and the linger after it.
        self.timers.stop();
        self.timers.start_close();
        self.receiver.discard();
        error
    }

    // ---- commands ------------------------------------------------------

    /// Queues a whole message as one frame.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentedMessageInProgress);
        }
        self.check_queue(message.len())?;
        let mut header = FrameHeader::new(message.kind().opcode(), 0);
        let mut payload = message.into_bytes();
        if let Some(compressed) = self.deflater.as_mut().and_then(|d| d.deflate(&payload)) {
            payload = compressed;
            header.rsv = RSV1;
        }
        let mask = self.mask_key();
        self.outgoing.push_frame(header, payload, mask);
        Ok(())
    }

    /// Queues a message framed once for many connections (broadcast; see
    /// [`PreparedMessage`]). A server queues the shared frame, or the
    /// shared compressed frame when permessage-deflate runs without context
    /// takeover on its side; a server with context takeover compresses it
    /// for this connection, and a client masks it with a fresh key
    /// (RFC 6455 §5.3), as [`send`](Connection::send) does.
    ///
    /// Fails like [`send`](Connection::send): [`SendError::Closed`] once
    /// closing, [`SendError::FragmentedMessageInProgress`] in the middle of
    /// a fragmented message, [`SendError::QueueFull`] past
    /// [`Config::max_send_queue`].
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        if self.role == Role::Client {
            return self.send(message.message());
        }
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(SendError::FragmentedMessageInProgress);
        }
        self.check_queue(message.len())?;
        let shared;
        let frame = match self.deflater.as_mut() {
            None => message.frame(),
            Some(deflater) => match deflater.prepared_frame(message) {
                Some(frame) => {
                    shared = frame;
                    &shared
                }
                None => return self.send(message.message()),
            },
        };
        self.outgoing.push_encoded_frame(frame);
        Ok(())
    }

    /// Queues one fragment of a message sent in pieces (§5.4): the first
    /// call starts a message of `kind`, later calls continue it, and the
    /// call with `fin` ends it. Control frames may be sent in between.
    ///
    /// Text may be cut anywhere, even inside a character; the fragments
    /// together must be UTF-8. Fragmented messages are sent uncompressed.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, MessageKind, Role};
    /// let mut conn = Connection::new(Role::Server, Config::default());
    /// conn.send_fragment(MessageKind::Text, "Hel".into(), false)?;
    /// conn.ping("between".into())?;
    /// conn.send_fragment(MessageKind::Text, "lo".into(), true)?;
    /// # Ok::<(), rfc6455::SendError>(())
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: Bytes,
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let (opcode, mut utf8) = match self.sending {
            None => (kind.opcode(), Utf8Validator::new()),
            Some((started, _)) if started != kind => return Err(SendError::FragmentKindMismatch),
            Some((_, utf8)) => (OpCode::Continuation, utf8),
        };
        if kind == MessageKind::Text {
            utf8.feed(&payload).map_err(|_| SendError::InvalidUtf8)?;
            if fin {
                utf8.finish().map_err(|_| SendError::InvalidUtf8)?;
            }
        }
        self.check_queue(payload.len())?;
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        let mask = self.mask_key();
        self.outgoing.push_frame(header, payload, mask);
        self.sending = if fin { None } else { Some((kind, utf8)) };
        Ok(())
    }

    /// Queues a ping (payload at most 125 bytes).
    pub fn ping(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues an unsolicited pong, a one-way heartbeat (§5.5.3).
    pub fn pong(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake with `code` and `reason`.
    ///
    /// Once the connection is closing or closed this does nothing and
    /// returns `Ok`: a second close is not an error. The close timeout
    /// starts at the next [`handle_timeout`](Connection::handle_timeout).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !self.state.is_open() {
            return Ok(());
        }
        CloseFrame::check_sendable(code, reason)?;
        self.queue_close(Some(&CloseFrame::new(code, reason)));
        self.state = State::Closing;
        self.timers.start_close();
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > 125 {
            return Err(SendError::ControlPayloadTooLarge(payload.len()));
        }
        let mask = self.mask_key();
        self.outgoing.push_frame(
            FrameHeader::new(opcode, payload.len() as u64),
            payload,
            mask,
        );
        Ok(())
    }

    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        let mut payload = BytesMut::new();
        if let Some(frame) = frame {
            frame.encode(&mut payload);
        }
        let mask = self.mask_key();
        self.outgoing.release_deferred_pong();
        let len = payload.len() as u64;
        self.outgoing
            .push_frame(FrameHeader::new(OpCode::Close, len), payload.freeze(), mask);
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.state.is_open() {
            Ok(())
        } else {
            Err(SendError::Closed)
        }
    }

    fn check_queue(&self, additional: usize) -> Result<(), SendError> {
        let buffered = self.outgoing.len();
        match self.settings.max_send_queue {
            // An empty queue takes any one message, so none is unsendable.
            Some(max) if buffered > 0 && buffered + additional > max => {
                Err(SendError::QueueFull { buffered })
            }
            _ => Ok(()),
        }
    }

    fn mask_key(&self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(crate::rng::mask_key()),
            Role::Server => None,
        }
    }

    // ---- outbound ------------------------------------------------------

    /// The bytes to write, as a [`bytes::Buf`]: write its chunks, then
    /// `advance` by what the transport accepted.
    pub fn transmit(&mut self) -> &mut Outgoing {
        &mut self.outgoing
    }

    /// `true` while queued bytes wait to be written.
    pub fn wants_write(&self) -> bool {
        bytes::Buf::has_remaining(&self.outgoing)
    }

    /// Bytes queued and not yet written, like a browser's `bufferedAmount`.
    pub fn buffered_amount(&self) -> usize {
        self.outgoing.len()
    }

    /// `true` when the adapter should shut the transport down (and stop
    /// reading): the connection is over and every queued byte is written.
    ///
    /// Also `true`, with bytes still queued, when the close timeout ran out
    /// while a peer that does not read kept them from being written: the
    /// adapter then shuts down without writing them.
    pub fn should_shutdown(&self) -> bool {
        match self.teardown {
            Teardown::Shutdown | Teardown::Linger { .. } => !self.wants_write(),
            Teardown::Abort => true,
            Teardown::Open | Teardown::AwaitEof => false,
        }
    }

    /// `true` when the adapter should close the transport: nothing more
    /// will be written or read. Until then, after
    /// [`should_shutdown`](Connection::should_shutdown), keep reading and
    /// passing input (and EOF) on: a failed connection lingers, discarding
    /// input until the peer closes, within the close timeout and
    /// [`Config::max_linger_bytes`], so that its close frame is not lost
    /// to a reset (RFC 6455 §7.1.1).
    pub fn should_close(&self) -> bool {
        match self.teardown {
            Teardown::Linger { .. } => false,
            _ => self.should_shutdown(),
        }
    }

    // ---- time ----------------------------------------------------------

    /// The time [`handle_timeout`](Connection::handle_timeout) should next
    /// be called, relative to the last time it was given.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Whether a timer is configured or running (keepalive, a close
    /// timeout). While it is `false`, [`handle_timeout`] changes nothing,
    /// so an adapter need not read the clock before every wait: on a busy
    /// connection without keepalive that read is a measurable share of
    /// the time per message.
    ///
    /// [`handle_timeout`]: Connection::handle_timeout
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::{CloseCode, Config, Connection, Role};
    ///
    /// let mut conn = Connection::new(Role::Server, Config::default());
    /// assert!(!conn.needs_clock()); // no keepalive by default
    /// conn.close(CloseCode::NORMAL, "bye").unwrap();
    /// assert!(conn.needs_clock()); // the close timeout (RFC 6455 §7.1.1)
    ///
    /// let keepalive = Config::default().keepalive(Duration::from_secs(30), Duration::from_secs(10));
    /// assert!(Connection::new(Role::Server, keepalive).needs_clock());
    /// ```
    pub fn needs_clock(&self) -> bool {
        self.timers.is_running()
    }

    /// Reports the current time: fires what is due (keepalive ping,
    /// keepalive failure, close timeout) and arms timers requested since
    /// the last call. Call it before every wait.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.note_new_input();
        match self.timers.tick(now) {
            Due::Nothing => {}
            Due::Ping => {
                if self.state.is_open() {
                    let mask = self.mask_key();
                    self.outgoing
                        .push_frame(FrameHeader::new(OpCode::Ping, 0), Bytes::new(), mask);
                }
            }
            Due::KeepaliveTimeout => {
                let error = self.fail(Error::KeepaliveTimeout);
                self.pending_error = Some(error);
            }
            Due::Close => match self.state {
                State::Closed(_) if self.wants_write() => self.teardown = Teardown::Abort,
                // Also ends a linger: the peer had its time to close.
                State::Closed(_) => self.teardown = Teardown::Shutdown,
                _ => {
                    let error = self.fail(Error::CloseTimeout);
                    if self.wants_write() {
                        // Our close frame is still unwritten after a whole
                        // close timeout: the peer does not read. Waiting
                        // another one to write it would change nothing.
                        self.teardown = Teardown::Abort;
                    }
                    self.pending_error = Some(error);
                }
            },
        }
    }
}

/// An idle connection's memory is mostly this struct: 10,000 idle
/// connections cost 10,000 of it, so it is kept small and checked.
#[cfg(all(test, target_pointer_width = "64"))]
mod size {
    #[test]
    fn connection_stays_small() {
        let size = std::mem::size_of::<super::Connection>();
        assert!(size <= 480, "Connection is {size} bytes");
    }
}
