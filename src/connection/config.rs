//! Connection settings: limits and timers.

use std::time::Duration;

/// Which end of the connection this is. It decides masking (§5.1) and who
/// closes the transport first (§7.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends masked frames; waits for the server to close TCP.
    Client,
    /// Requires masked frames; closes TCP after the closing handshake.
    Server,
}

/// Limits and timers of a [`Connection`](crate::Connection).
///
/// The defaults stop a hostile peer from using more than about
/// `max_message_size + max_frame_size` bytes of a connection's memory, and
/// keep every timer off except the close timeout.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::Config;
///
/// let config = Config::default()
///     .max_message_size(1 << 20)
///     .keepalive(Duration::from_secs(30), Duration::from_secs(10));
/// assert_eq!(config.max_frame_size, 16 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame payload accepted. Default 16 MiB. A larger header
    /// fails the connection with 1009 before any payload is buffered.
    pub max_frame_size: usize,
    /// The largest message accepted, summed over its fragments. Default
    /// 64 MiB. Past it: close 1009.
    pub max_message_size: usize,
    /// Most non-final data frames without payload accepted in one message.
    /// Default 64. Such frames cost a peer 6 bytes each and never grow the
    /// message, so no size limit ends a stream of them (the CPU attack of
    /// endless empty continuations); past the limit: close 1008.
    pub max_empty_fragments: usize,
    /// Answer each ping with a pong automatically. Default `true`.
    pub auto_pong: bool,
    /// How long to wait for the peer's close frame after sending ours, and
    /// (as a client) for the server to close the transport after the
    /// closing handshake. Default 5 s.
    pub close_timeout: Duration,
    /// Send a ping after this much silence from the peer. Default `None`.
    pub ping_interval: Option<Duration>,
    /// With `ping_interval` set: fail the connection (1011) when nothing at
    /// all arrives this long after a keepalive ping. Default 10 s.
    pub pong_timeout: Duration,
    /// Refuse data messages with [`SendError::QueueFull`](crate::SendError)
    /// while this many bytes wait to be written. Default `None`: adapters
    /// apply backpressure by waiting instead.
    pub max_send_queue: Option<usize>,
    /// Backpressure for async adapters: `feed`/`Sink::poll_ready` wait
    /// while more than this many bytes are queued. Default 64 KiB.
    pub send_high_water: usize,
    /// permessage-deflate (RFC 7692): offered by a client, accepted by a
    /// server when the peer offers it. Default `None` (off).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
    /// How long the adapters give the opening handshake, from the first
    /// byte read (server) or the connect (client) to the complete head.
    /// Default 10 s. Ends slowloris peers that trickle a request; a server
    /// answers them with HTTP 408.
    pub handshake_timeout: Duration,
    /// Size and field-count bounds on the handshake head the adapters
    /// read. Default 8 KiB and 64 fields; past them a server answers 431.
    pub handshake_limits: crate::handshake::Limits,
    /// After failing the connection, how many more bytes to read and
    /// discard while waiting for the peer to close (the lingering close of
    /// RFC 6455 §7.1.1: closing with unread input would reset the
    /// connection, and the peer could lose our close frame). The wait is
    /// also bounded by [`close_timeout`](Config::close_timeout). Default
    /// 64 MiB; 0 closes at once.
    pub max_linger_bytes: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_empty_fragments: 64,
            auto_pong: true,
            close_timeout: Duration::from_secs(5),
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            max_send_queue: None,
            send_high_water: 64 * 1024,
            #[cfg(feature = "deflate")]
            deflate: None,
            handshake_timeout: Duration::from_secs(10),
            handshake_limits: crate::handshake::Limits::default(),
            max_linger_bytes: 64 << 20,
        }
    }
}

/// What a running connection still reads of its [`Config`]: the rest is
/// used when it is built (limits go to the receiver, timeouts to the
/// timers, deflate settings to the compressor), so a connection keeps
/// these few words rather than the whole config.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) auto_pong: bool,
    pub(crate) max_linger_bytes: usize,
    pub(crate) max_send_queue: Option<usize>,
    pub(crate) send_high_water: usize,
}

impl From<&Config> for Settings {
    fn from(config: &Config) -> Settings {
        Settings {
            auto_pong: config.auto_pong,
            max_linger_bytes: config.max_linger_bytes,
            max_send_queue: config.max_send_queue,
            send_high_water: config.send_high_water,
        }
    }
}

impl Config {
    /// Sets [`Config::max_linger_bytes`].
    pub fn max_linger_bytes(mut self, bytes: usize) -> Config {
        self.max_linger_bytes = bytes;
        self
    }

    /// Sets [`Config::max_frame_size`].
    pub fn max_frame_size(mut self, bytes: usize) -> Config {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`Config::max_message_size`].
    pub fn max_message_size(mut self, bytes: usize) -> Config {
        self.max_message_size = bytes;
        self
    }

    /// When a handshake started at `now` runs out of time. A timeout too
    /// large to add (say `Duration::MAX`, meaning "never") gives a deadline
    /// decades away instead of overflowing.
    pub(crate) fn handshake_deadline(&self, now: std::time::Instant) -> std::time::Instant {
        const DECADES: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
        now.checked_add(self.handshake_timeout)
            .unwrap_or_else(|| now + DECADES)
    }

    /// Sets [`Config::max_empty_fragments`].
    pub fn max_empty_fragments(mut self, frames: usize) -> Config {
        self.max_empty_fragments = frames;
        self
    }

    /// Sets [`Config::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Config {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`Config::handshake_limits`].
    pub fn handshake_limits(mut self, limits: crate::handshake::Limits) -> Config {
        self.handshake_limits = limits;
        self
    }

    /// Sets [`Config::auto_pong`].
    pub fn auto_pong(mut self, on: bool) -> Config {
        self.auto_pong = on;
        self
    }

    /// Sets [`Config::close_timeout`].
    pub fn close_timeout(mut self, timeout: Duration) -> Config {
        self.close_timeout = timeout;
        self
    }

    /// Turns keepalive on: a ping after `interval` of silence, failure when
    /// nothing arrives within `timeout` of it.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Config {
        self.ping_interval = Some(interval);
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`Config::send_high_water`].
    pub fn send_high_water(mut self, bytes: usize) -> Config {
        self.send_high_water = bytes;
        self
    }

    /// Turns permessage-deflate on with `deflate`'s settings.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, deflate: crate::deflate::DeflateConfig) -> Config {
        self.deflate = Some(deflate);
        self
    }

    /// Sets [`Config::max_send_queue`].
    pub fn max_send_queue(mut self, bytes: Option<usize>) -> Config {
        self.max_send_queue = bytes;
        self
    }
}
