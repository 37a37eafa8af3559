//! The blocking adapter: a WebSocket over any [`Read`] + [`Write`] stream.
//!
//! It moves bytes between a stream and a [`Connection`] and reports the
//! time; every protocol decision is the core's. A stream that implements
//! [`Transport::set_read_timeout`] (as `TcpStream` does) gets the close
//! timeout and keepalive; on others those timers fire only between reads.
//!
//! ```no_run
//! use rfc6455::blocking;
//!
//! let (mut ws, _response) = blocking::connect("ws://127.0.0.1:9001/")?;
//! ws.send("hello")?;
//! if let Some(reply) = ws.recv_message()? {
//!     println!("{reply:?}");
//! }
//! ws.close(rfc6455::CloseCode::NORMAL, "done")?;
//! # Ok::<(), rfc6455::StreamError>(())
//! ```
//!
//! The shape is the tokio adapter's: free functions open a connection
//! ([`connect`], [`connect_with`], [`client`] over a stream you connected;
//! [`accept`], [`accept_with`] for servers) and return a [`WebSocket`];
//! its constructors (`from_raw`, `from_connection`) wrap a stream whose
//! handshake was done elsewhere.
//!
//! `wss://` URLs connect over TLS with the feature `tls` ([`connect_tls`]
//! takes your own rustls config); servers use [`accept_tls`].

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};

mod connect;
#[cfg(feature = "tls")]
mod tls;

pub use connect::MaybeTlsStream;
#[cfg(feature = "tls")]
pub use tls::{accept_tls, accept_tls_with, connect_tls, TlsServerStream};

use crate::handshake::{
    AcceptOptions, ClientAction, ClientHandshake, ClientRequest, Refusal, Request, Response,
    ServerAction, ServerHandshake, Transfer,
};
use crate::{CloseCode, Config, Connection, Event, Message, MessageKind, Role, State, StreamError};

/// How often a blocked read looks at the [`Shutdown`](crate::Shutdown)
/// switch of a connection that has one.
pub const SHUTDOWN_TICK: Duration = Duration::from_millis(100);

/// How much a single read asks for.
const READ_CHUNK: usize = 16 * 1024;
/// How many queued segments one vectored write takes.
const MAX_IOVECS: usize = 32;

/// A stream the blocking adapter can run over: any `Read + Write`, plus two
/// optional abilities with do-nothing defaults.
///
/// Implemented for `TcpStream` and `UnixStream`. For another stream,
/// `impl Transport for MyStream {}` is enough; implement
/// `set_read_timeout` to get the close timeout and keepalive.
pub trait Transport: Read + Write {
    /// Bounds how long the next reads may block (`None`: no bound).
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Bounds how long the next writes may block (`None`: no bound). Used
    /// to bound writing a close frame to a peer that does not read.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Closes the write half, telling the peer no more bytes will come.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        match self.shutdown(std::net::Shutdown::Write) {
            // The peer may have gone already; that is the goal anyway.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Connects to a `ws://` or `wss://` URL over TCP, with the default
/// [`Config`].
///
/// `wss://` needs the feature `tls` (else [`StreamError::Tls`] with
/// [`TlsError::NotEnabled`](crate::TlsError::NotEnabled), before any
/// connection) and verifies the server against the webpki roots.
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response), StreamError> {
    connect_with(ClientRequest::new(url)?, Config::default())
}

/// Connects with a prepared request (subprotocols, extra headers) and a
/// config; `wss://` as in [`connect`].
pub fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<MaybeTlsStream>, Response), StreamError> {
    connect::over_tcp(&request, config, crate::tls::ClientTls::Default)
}

/// Runs the server handshake over `stream`, accepting any valid request,
/// with the default [`Config`].
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, StreamError> {
    accept_with(stream, Config::default(), |_| Ok(AcceptOptions::default()))
}

/// Runs the server handshake; `decide` sees the request before any byte is
/// written and accepts it (choosing a subprotocol and extra headers) or
/// refuses it. Every answer, refusals included, is written within
/// [`Config::handshake_timeout`] (refusals get
/// [`REFUSAL_GRACE`](crate::handshake::REFUSAL_GRACE) more).
///
/// ```no_run
/// use rfc6455::blocking;
/// use rfc6455::handshake::{AcceptOptions, Refusal};
/// # fn demo(stream: std::net::TcpStream) -> Result<(), rfc6455::StreamError> {
/// let ws = blocking::accept_with(stream, Default::default(), |request| {
///     if request.origin() != Some("https://example.com") {
///         return Err(Refusal::new(403));
///     }
///     let chat = request.protocols().iter().any(|p| p == "chat");
///     Ok(if chat { AcceptOptions::default().protocol("chat") } else { AcceptOptions::default() })
/// })?;
/// # Ok(()) }
/// ```
pub fn accept_with<S, F>(
    mut stream: S,
    config: Config,
    decide: F,
) -> Result<WebSocket<S>, StreamError>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<AcceptOptions, Refusal>,
{
    let mut hs = ServerHandshake::new(config, Instant::now());
    let mut decide = Some(decide);
    let mut chunk = [0u8; 2048];
    loop {
        match hs.poll_action() {
            ServerAction::Done => break,
            ServerAction::Decide => {
                if let Some(decide) = decide.take() {
                    hs.decide(decide);
                }
            }
            ServerAction::Read => handshake_step(&mut hs, &mut stream, true, &mut chunk)?,
            ServerAction::Write => handshake_step(&mut hs, &mut stream, false, &mut chunk)?,
        }
    }
    match hs.finish() {
        Ok(conn) => {
            disarm(&mut stream)?;
            Ok(WebSocket::from_connection(stream, conn))
        }
        Err(e) => {
            crate::trace::server_handshake_failed(&e, None);
            let _ = stream.shutdown_write();
            Err(e.into())
        }
    }
}

/// Runs the client handshake over `stream` (already connected, TLS already
/// set up if any).
pub fn client<S: Transport>(
    mut stream: S,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, Response), StreamError> {
    let mut hs = ClientHandshake::new(request.clone(), config, Instant::now())?;
    let mut chunk = [0u8; 2048];
    loop {
        match hs.poll_action() {
            ClientAction::Done => break,
            ClientAction::Read => handshake_step(&mut hs, &mut stream, true, &mut chunk)?,
            ClientAction::Write => handshake_step(&mut hs, &mut stream, false, &mut chunk)?,
        }
    }
    let (conn, response) = hs
        .finish()
        .inspect_err(|e| crate::trace::client_handshake_failed(e, None))?;
    disarm(&mut stream)?;
    Ok((WebSocket::from_connection(stream, conn), response))
}

/// A WebSocket connection over a blocking stream, from [`connect`],
/// [`accept`], [`client`] or a constructor below.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    /// The read timeout last given to the stream, to skip repeat syscalls.
    read_timeout: Option<Duration>,
    /// The transport was shut down; nothing more will happen.
    finished: bool,
    scratch: Scratch,
    /// Closes the connection with 1001 when its server shuts down.
    shutdown: Option<crate::ShutdownGuard>,
}

/// The buffer every read goes into, zeroed once. std's `Read` wants
/// initialised memory; zeroing a fresh 16 KiB before each read cost more
/// than copying the few bytes a small message brings.
struct Scratch(Box<[u8]>);

impl Scratch {
    fn new() -> Scratch {
        Scratch(vec![0; READ_CHUNK].into_boxed_slice())
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scratch({} bytes)", self.0.len())
    }
}

impl<S: Transport> WebSocket<S> {
    /// Wraps a stream whose handshake is already done. `leftover` holds
    /// bytes read past the end of the handshake.
    pub fn from_raw(stream: S, role: Role, config: Config, leftover: &[u8]) -> WebSocket<S> {
        WebSocket::from_connection(stream, Connection::with_leftover(role, config, leftover))
    }

    /// Wraps a stream whose handshake was done elsewhere and agreed on
    /// `extensions` (for example permessage-deflate, with
    /// [`Extensions::with_deflate`](crate::Extensions)): the connection
    /// runs exactly those. `leftover` holds bytes read past the handshake.
    pub fn from_raw_with_extensions(
        stream: S,
        role: Role,
        config: Config,
        extensions: &crate::Extensions,
        leftover: &[u8],
    ) -> WebSocket<S> {
        let mut conn = Connection::with_extensions(role, config, extensions);
        conn.recv(leftover);
        WebSocket::from_connection(stream, conn)
    }

    /// Wraps a stream and a connection built for it (for example by a
    /// [`ServerHandshake`]).
    pub fn from_connection(stream: S, conn: Connection) -> WebSocket<S> {
        WebSocket {
            stream,
            conn,
            read_timeout: None,
            finished: false,
            scratch: Scratch::new(),
            shutdown: None,
        }
    }

    /// The next event. Pongs to pings and the reply to a close are sent
    /// before it returns. After [`Event::Close`] (or an error) the
    /// connection is over and this returns [`StreamError::Closed`].
    ///
    /// When the peer breaks a rule, the error comes back only once the
    /// connection has sent its Close and lingered for the peer's end
    /// (within the close timeout and [`Config::max_linger_bytes`]), so
    /// dropping the stream then cannot reset a connection whose Close is
    /// still in flight (RFC 6455 §7.1.1).
    pub fn recv(&mut self) -> Result<Event, StreamError> {
        loop {
            if self.finished {
                return Err(StreamError::Closed);
            }
            match self.conn.poll_event() {
                Ok(Some(Event::Close(frame))) => {
                    self.finish_closing();
                    return Ok(Event::Close(frame));
                }
                Ok(Some(event)) => {
                    self.flush()?;
                    return Ok(event);
                }
                Ok(None) => {}
                Err(e) => {
                    crate::trace::connection_failed(&e, None);
                    // Best effort: the close frame explaining the failure,
                    // then the peer's end, so that it is not lost to a reset.
                    let _ = self.flush_bounded();
                    self.linger();
                    return Err(e.into());
                }
            }
            if self.conn.should_shutdown() {
                self.linger();
                return Err(StreamError::Closed);
            }
            self.flush()?;
            self.read_once()?;
        }
    }

    /// The next data message, answering pings on the way; `None` once the
    /// peer closed cleanly, with its code and reason then in
    /// [`state`](WebSocket::state) (`State::Closed`).
    pub fn recv_message(&mut self) -> Result<Option<Message>, StreamError> {
        loop {
            if let Some(next) = self.recv()?.message_or_end() {
                return Ok(next);
            }
        }
    }

    /// Sends a message and writes it out.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), StreamError> {
        self.conn.send(message)?;
        self.flush()
    }

    /// Sends one fragment of a message (see
    /// [`Connection::send_fragment`]).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: Bytes,
        fin: bool,
    ) -> Result<(), StreamError> {
        self.conn.send_fragment(kind, payload, fin)?;
        self.flush()
    }

    /// Sends a ping.
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), StreamError> {
        self.conn.ping(payload.into())?;
        self.flush()
    }

    /// Sends an unsolicited pong.
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), StreamError> {
        self.conn.pong(payload.into())?;
        self.flush()
    }

    /// Sends a close frame. Keep calling [`recv`](WebSocket::recv) until it
    /// returns [`Event::Close`] or an error to finish the handshake; a
    /// second call does nothing.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        self.conn.close(code, reason)?;
        // A peer that does not read must not block us past the close
        // timeout.
        self.flush_bounded()
    }

    /// Ties the connection to a server's [`Shutdown`](crate::Shutdown):
    /// once it is signaled, the connection starts its closing handshake
    /// with 1001 (Going Away) and the shutdown's reason, and `recv` goes on
    /// to return the peer's [`Event::Close`] (or the close timeout's error).
    /// A blocked read notices within [`SHUTDOWN_TICK`], so the stream needs
    /// [`Transport::set_read_timeout`] (as `TcpStream` has).
    pub fn set_shutdown(&mut self, guard: crate::ShutdownGuard) {
        self.shutdown = Some(guard);
    }

    /// Writes every queued byte.
    pub fn flush(&mut self) -> Result<(), StreamError> {
        if !self.conn.wants_write() || self.finished {
            return Ok(());
        }
        while self.conn.wants_write() {
            let out = self.conn.transmit();
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = out.chunks_vectored(&mut slices);
            // One chunk goes out with a plain write (see the tokio adapter).
            let written = match &slices[..count] {
                [one] => self.stream.write(one),
                many => self.stream.write_vectored(many),
            };
            match written {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => out.advance(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.stream.flush()?;
        Ok(())
    }

    /// The connection's state.
    pub fn state(&self) -> &State {
        self.conn.state()
    }

    /// The sans-IO connection inside.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably. Reading or writing it directly corrupts the
    /// WebSocket stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// After the closing handshake: writes the reply, and as a client waits
    /// (within the close timeout) for the server to close the transport.
    fn finish_closing(&mut self) {
        while !self.conn.should_shutdown() {
            if self.flush_bounded().is_err() {
                break; // the peer does not read, or the transport is gone
            }
            if self.conn.should_shutdown() {
                break;
            }
            if let Err(StreamError::Io(_)) = self.read_once() {
                break; // the transport is gone either way
            }
            let _ = self.conn.poll_event();
        }
        self.shutdown();
    }

    /// Flushes with writes bounded by the close timeout: once the
    /// connection is ending, a peer that does not read must not block us.
    fn flush_bounded(&mut self) -> Result<(), StreamError> {
        let timeout = self.conn.close_timeout().max(Duration::from_millis(1));
        self.stream.set_write_timeout(Some(timeout))?;
        self.flush()
    }

    fn shutdown(&mut self) {
        if !self.finished {
            self.finished = true;
            let _ = self.stream.shutdown_write();
        }
    }

    /// Shuts the write half down, then reads and discards for as long as
    /// the connection says (its linger after a failure: until the peer's
    /// EOF, within the close timeout and a byte budget).
    fn linger(&mut self) {
        if self.finished {
            return;
        }
        let _ = self.stream.shutdown_write();
        while !self.conn.should_close() {
            match self.read_once() {
                // The transport is gone: nothing left to wait for.
                Err(_) => break,
                Ok(()) => {
                    let _ = self.conn.poll_event();
                }
            }
        }
        self.finished = true;
    }

    /// Reports the time, then blocks for at most the next deadline on one
    /// read, and hands what arrived to the connection.
    fn read_once(&mut self) -> Result<(), StreamError> {
        let now = Instant::now();
        self.conn.handle_timeout(now);
        let watching = self.shutdown.is_some() && self.conn.state().is_open();
        if let Some(reason) = self.shutdown.as_ref().and_then(|g| g.reason()) {
            if self.conn.state().is_open() {
                let _ = self.conn.close(CloseCode::GOING_AWAY, &reason);
            }
        }
        if self.conn.wants_write() {
            self.flush()?; // a keepalive ping or a timeout's close frame
        }
        if self.conn.should_close() {
            return Ok(()); // a timer ended the connection: nothing to wait for
        }
        let timeout = self.conn.poll_timeout().map(|deadline| {
            deadline
                .saturating_duration_since(now)
                .max(Duration::from_millis(1))
        });
        // Without a wake-up from another thread, a blocked read looks at
        // the shutdown switch every tick.
        let timeout = match (timeout, watching) {
            (Some(t), true) => Some(t.min(SHUTDOWN_TICK)),
            (None, true) => Some(SHUTDOWN_TICK),
            (t, false) => t,
        };
        if timeout != self.read_timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        match self.stream.read(&mut self.scratch.0) {
            Ok(0) => self.conn.recv_eof(),
            Ok(n) => self.conn.recv(&self.scratch.0[..n]),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// What one bounded handshake read or write did.
enum Step {
    /// Bytes read (0: end of input).
    Read(usize),
    /// Bytes written.
    Wrote(usize),
    /// The handshake's deadline passed first.
    TimedOut,
}

/// How long a blocking call may wait for `deadline`; at least 1 ms, since
/// a zero timeout means "forever" to std.
fn time_left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| {
        d.saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    })
}

/// One read (`reading`) or write for a handshake machine, bounded by its
/// deadline, with the outcome handed back to it.
fn handshake_step<H: Transfer, S: Transport>(
    hs: &mut H,
    stream: &mut S,
    reading: bool,
    chunk: &mut [u8],
) -> io::Result<()> {
    let deadline = hs.poll_timeout();
    let step = if reading {
        read_step(stream, deadline, chunk)?
    } else {
        write_step(stream, deadline, hs.transmit())?
    };
    match step {
        Step::Read(0) => hs.recv_eof(),
        Step::Read(n) => hs.recv(&chunk[..n]),
        Step::Wrote(n) => hs.advance(n),
        Step::TimedOut => hs.handle_timeout(Instant::now()),
    }
    Ok(())
}

/// One handshake read, bounded by `deadline`.
fn read_step<S: Transport>(
    stream: &mut S,
    deadline: Option<Instant>,
    chunk: &mut [u8],
) -> io::Result<Step> {
    stream.set_read_timeout(time_left(deadline))?;
    loop {
        return match stream.read(chunk) {
            Ok(n) => Ok(Step::Read(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => Ok(Step::TimedOut),
            Err(e) => Err(e),
        };
    }
}

/// One handshake write, bounded by `deadline`.
fn write_step<S: Transport>(
    stream: &mut S,
    deadline: Option<Instant>,
    bytes: &[u8],
) -> io::Result<Step> {
    stream.set_write_timeout(time_left(deadline))?;
    loop {
        return match stream.write(bytes).and_then(|n| stream.flush().map(|()| n)) {
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => Ok(Step::Wrote(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => Ok(Step::TimedOut),
            Err(e) => Err(e),
        };
    }
}

/// Lifts the handshake's bounds: the connection's own timers take over.
fn disarm<S: Transport>(stream: &mut S) -> io::Result<()> {
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)
}
