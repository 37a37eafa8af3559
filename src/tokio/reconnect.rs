//! A client that reconnects by itself: [`ReconnectingClient`].
//!
//! The client connects to a `ws://` or `wss://` URL and, when the
//! connection is lost (the transport fails, the peer goes silent past the
//! keepalive, or the server closes it), waits a [`Backoff`] delay and
//! connects again, for as long as it takes or up to
//! [`Builder::max_attempts`] failed attempts in a row. It ends on a close we
//! asked for ([`ReconnectingClient::close`]), on a server close code its
//! [`Retry`] policy says not to come back after (1008 by default), or after
//! `max_attempts`.
//!
//! The waits grow until a connection has stayed up for
//! [`Builder::healthy_after`] (10 s by default): a server that accepts and
//! then drops every connection at once is not hammered, and such
//! short-lived connections count against `max_attempts` like failed ones
//! (RFC 6455 §7.2.3 asks clients to back off after abnormal closes). A
//! close with 1013 (Try Again Later) never resets the backoff.
//!
//! What a server's close code means is a [`Retry`] policy
//! ([`Builder::retry`]): by default 1001 (Going Away) and 1012 (Service
//! Restart) reconnect after the first, jittered wait; 1008 (Policy
//! Violation) ends the client with [`ReconnectError::Refused`]; every other
//! code backs off.
//!
//! - **Restoring state**: a hook set with [`Builder::on_connect`] runs after
//!   every (re)connection, before anything else is sent or received, so it
//!   can log in again or rejoin rooms.
//! - **Observable**: [`ReconnectingClient::watch`] gives a [`StateWatcher`]
//!   of the [`ConnectionState`] that another task can follow.
//! - **No hidden queue**: [`send`](ReconnectingClient::send) while there is
//!   no open connection fails at once with
//!   [`ReconnectError::NotConnected`], which hands the message back unsent.
//!   The caller decides whether to drop it, keep it for later, or wait
//!   (`watch().wait_for(ConnectionState::is_open)`) and send it again.
//! - **Driven by `recv`**: like [`WebSocketStream`], nothing happens while
//!   nobody polls the client. Keep a [`recv`](ReconnectingClient::recv)
//!   loop running: it reads messages, notices a lost connection, waits the
//!   backoff delay and reconnects. Every method is cancel-safe, so `recv`
//!   can sit in a `select!` beside the code that sends.
//!
//! ```no_run
//! use std::time::Duration;
//! use rfc6455::tokio::reconnect::{Backoff, ReconnectingClient};
//! use rfc6455::{Config, Event};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut client = ReconnectingClient::builder("ws://127.0.0.1:9001/chat")?
//!     .config(Config::default().keepalive(Duration::from_secs(20), Duration::from_secs(10)))
//!     .backoff(Backoff::default())
//!     // Runs after every connection: rejoin the room.
//!     .on_connect(|ws| Box::pin(async move { ws.send(r#"{"type":"join","room":"rust"}"#).await }))
//!     .connect()
//!     .await?;
//! client.send("hello").await?;
//! loop {
//!     match client.recv().await? {
//!         Event::Text(text) => println!("{text}"),
//!         _ => {}
//!     }
//! }
//! # }
//! ```

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::Duration;

use super::{connect, MaybeTlsStream, WebSocketStream};
use crate::handshake::{self, ClientRequest};
use crate::tls::ClientTls;
use crate::{CloseCode, Config, Event, Message, SendError, StreamError, MAX_REASON_LEN};

/// A boxed, sendable future: what an [`on_connect`](Builder::on_connect)
/// hook returns.
///
/// ```
/// use rfc6455::tokio::reconnect::BoxFuture;
///
/// let future: BoxFuture<'static, u32> = Box::pin(async { 7 });
/// # drop(future);
/// ```
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The stream a [`ReconnectingClient`] runs over.
type Ws = WebSocketStream<MaybeTlsStream>;
type Hook = dyn for<'a> Fn(&'a mut Ws) -> BoxFuture<'a, Result<(), StreamError>> + Send + Sync;
type RequestFactory = dyn Fn() -> Result<ClientRequest, handshake::Error> + Send + Sync;

// ---- backoff ---------------------------------------------------------------

/// How long to wait before each reconnection attempt: exponential growth
/// with a cap, and random jitter so that many clients that lost the same
/// server do not all come back at the same instant.
///
/// The `n`-th wait of an outage (counting from 0) is
/// `min(max, initial * multiplier^n)`, shortened by a random fraction of up
/// to `jitter` of itself: it always lies in
/// `[base * (1 - jitter), base]`, so it never exceeds `max`.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::tokio::reconnect::Backoff;
///
/// let backoff = Backoff {
///     initial: Duration::from_millis(100),
///     max: Duration::from_secs(1),
///     multiplier: 2.0,
///     jitter: 0.5,
/// };
/// assert_eq!(backoff.base(0), Duration::from_millis(100));
/// assert_eq!(backoff.base(3), Duration::from_millis(800));
/// assert_eq!(backoff.base(10), Duration::from_secs(1)); // capped
/// // With jitter 0.5 a wait lies between half the base and the base.
/// assert_eq!(backoff.delay(3, 0.0), Duration::from_millis(800));
/// assert_eq!(backoff.delay(3, 1.0), Duration::from_millis(400));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The first wait. Default 250 ms.
    pub initial: Duration,
    /// The longest wait. Default 10 s.
    pub max: Duration,
    /// Each wait is this many times the one before (at least 1). Default 2.
    pub multiplier: f64,
    /// The fraction, from 0 to 1, by which a wait may be randomly
    /// shortened. Default 0.5.
    pub jitter: f64,
}

impl Default for Backoff {
    /// 250 ms, doubling up to 10 s, with jitter 0.5.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::Backoff;
    ///
    /// let backoff = Backoff { max: Duration::from_secs(30), ..Backoff::default() };
    /// assert_eq!(backoff.initial, Duration::from_millis(250));
    /// ```
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The `n`-th wait (from 0) before jitter: `min(max, initial *
    /// multiplier^n)`. A multiplier below 1 (or NaN) counts as 1.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::Backoff;
    ///
    /// let backoff = Backoff { initial: Duration::from_millis(50), ..Backoff::default() };
    /// assert_eq!(backoff.base(1), Duration::from_millis(100));
    /// assert_eq!(backoff.base(u32::MAX), backoff.max);
    /// ```
    pub fn base(&self, n: u32) -> Duration {
        let initial = self.initial.min(self.max);
        if initial.is_zero() {
            return Duration::ZERO;
        }
        // `max` also turns NaN into 1.
        let multiplier = self.multiplier.max(1.0);
        let exponent = i32::try_from(n).unwrap_or(i32::MAX);
        let nanos = initial.as_nanos() as f64 * multiplier.powi(exponent);
        let max = self.max.as_nanos() as f64;
        if nanos >= max {
            return self.max;
        }
        // Rounding to whole nanoseconds keeps `100 ms * 2^3` exactly 800 ms.
        Duration::from_nanos(nanos.round() as u64).min(self.max)
    }

    /// The `n`-th wait (from 0) with jitter: `random`, from 0 to 1 (clamped),
    /// picks how much of [`jitter`](Backoff::jitter) to take off
    /// [`base(n)`](Backoff::base). The client passes a fresh uniform random
    /// number; tests can pass fixed ones.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::Backoff;
    ///
    /// let backoff = Backoff { jitter: 0.2, ..Backoff::default() };
    /// let wait = backoff.delay(2, rand::random());
    /// assert!(wait <= backoff.base(2) && wait >= backoff.base(2).mul_f64(0.8));
    /// ```
    pub fn delay(&self, n: u32, random: f64) -> Duration {
        let jitter = if self.jitter >= 0.0 {
            self.jitter.min(1.0)
        } else {
            0.0 // negative or NaN
        };
        let random = if random >= 0.0 { random.min(1.0) } else { 0.0 };
        self.base(n).mul_f64(1.0 - jitter * random)
    }
}

// ---- state -------------------------------------------------------------------

/// Where a [`ReconnectingClient`] is.
///
/// Attempts are counted from 1 since the connection was last open (or since
/// the start), so `attempt` is also how many tries this outage has taken.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::tokio::reconnect::ConnectionState;
///
/// let state = ConnectionState::Reconnecting { attempt: 2, delay: Duration::from_millis(500) };
/// assert!(!state.is_open());
/// assert_eq!(state.to_string(), "reconnecting (attempt 2) in 0.5 s");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Connection attempt `attempt` is under way: TCP, the handshake, then
    /// the [`on_connect`](Builder::on_connect) hook.
    Connecting {
        /// Which attempt, from 1.
        attempt: u32,
    },
    /// Connected, and the hook has run: messages flow.
    Open,
    /// The connection was lost or an attempt failed; attempt `attempt`
    /// starts after `delay`.
    Reconnecting {
        /// The attempt that comes next, from 1.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// Closed for good: by [`ReconnectingClient::close`], by giving up
    /// after [`Builder::max_attempts`], or because the client was dropped.
    Closed,
}

impl ConnectionState {
    /// `true` in [`ConnectionState::Open`].
    ///
    /// ```
    /// use rfc6455::tokio::reconnect::ConnectionState;
    /// assert!(ConnectionState::Open.is_open());
    /// assert!(!ConnectionState::Closed.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self, ConnectionState::Open)
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            ConnectionState::Open => f.write_str("open"),
            ConnectionState::Reconnecting { attempt, delay } => write!(
                f,
                "reconnecting (attempt {attempt}) in {:.1} s",
                delay.as_secs_f64()
            ),
            ConnectionState::Closed => f.write_str("closed"),
        }
    }
}

/// The shared cell behind [`StateWatcher`]s: the latest state and the tasks
/// waiting for the next one.
#[derive(Debug)]
struct Watch {
    slot: Mutex<Slot>,
}

#[derive(Debug)]
struct Slot {
    state: ConnectionState,
    /// Bumped on every change, so a watcher knows what it has seen.
    version: u64,
    /// `false` once the client is gone: no change will come.
    live: bool,
    wakers: Vec<Waker>,
}

impl Watch {
    fn new(state: ConnectionState) -> Watch {
        Watch {
            slot: Mutex::new(Slot {
                state,
                version: 0,
                live: true,
                wakers: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes `state`, unless it is the current one.
    fn set(&self, state: ConnectionState) {
        self.update(state, true);
    }

    /// The client is gone: the state is `Closed` for good.
    fn end(&self) {
        self.update(ConnectionState::Closed, false);
    }

    fn update(&self, state: ConnectionState, live: bool) {
        let wakers = {
            let mut slot = self.lock();
            if slot.state == state && slot.live == live {
                return;
            }
            if slot.state != state {
                slot.state = state;
                slot.version += 1;
            }
            slot.live = live;
            std::mem::take(&mut slot.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Follows a [`ReconnectingClient`]'s [`ConnectionState`] from any task,
/// like a watch channel: it holds the latest state only, so a state that
/// lasted between two looks can be missed.
///
/// ```no_run
/// use rfc6455::tokio::reconnect::ReconnectingClient;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.build();
/// let mut watcher = client.watch();
/// tokio::spawn(async move {
///     while let Some(state) = watcher.changed().await {
///         println!("connection: {state}");
///     }
/// });
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct StateWatcher {
    watch: Arc<Watch>,
    seen: u64,
}

impl StateWatcher {
    /// The current state, without marking it seen.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::{ConnectionState, ReconnectingClient};
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.build();
    /// assert_eq!(client.watch().get(), ConnectionState::Connecting { attempt: 1 });
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> ConnectionState {
        self.watch.lock().state.clone()
    }

    /// Waits until the state changes after the last one this watcher saw,
    /// and returns it. `None` once the client is dropped and its final
    /// `Closed` has been seen. Cancel-safe.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::StateWatcher;
    /// # async fn demo(mut watcher: StateWatcher) {
    /// while let Some(state) = watcher.changed().await {
    ///     println!("{state}");
    /// }
    /// # }
    /// ```
    pub async fn changed(&mut self) -> Option<ConnectionState> {
        poll_fn(|cx| {
            let mut slot = self.watch.lock();
            if slot.version != self.seen {
                self.seen = slot.version;
                return Poll::Ready(Some(slot.state.clone()));
            }
            if !slot.live {
                return Poll::Ready(None);
            }
            register(&mut slot.wakers, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Waits until the current state satisfies `accept` (checking the
    /// current one first), and returns it. `None` if the client is dropped
    /// before that. Cancel-safe.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::{ConnectionState, StateWatcher};
    /// # async fn demo(mut watcher: StateWatcher) {
    /// watcher.wait_for(ConnectionState::is_open).await;
    /// # }
    /// ```
    pub async fn wait_for(
        &mut self,
        mut accept: impl FnMut(&ConnectionState) -> bool,
    ) -> Option<ConnectionState> {
        poll_fn(|cx| {
            let mut slot = self.watch.lock();
            self.seen = slot.version;
            if accept(&slot.state) {
                return Poll::Ready(Some(slot.state.clone()));
            }
            if !slot.live {
                return Poll::Ready(None);
            }
            register(&mut slot.wakers, cx.waker());
            Poll::Pending
        })
        .await
    }
}

/// Keeps one waker per task: a future polled again does not add another.
fn register(wakers: &mut Vec<Waker>, waker: &Waker) {
    if !wakers.iter().any(|w| w.will_wake(waker)) {
        wakers.push(waker.clone());
    }
}

// ---- errors ----------------------------------------------------------------

/// What a [`ReconnectingClient`] call can fail with.
///
/// ```no_run
/// use rfc6455::tokio::reconnect::{ReconnectError, ReconnectingClient};
///
/// # async fn demo(client: &mut ReconnectingClient) {
/// match client.send("hello").await {
///     Ok(()) => {}
///     // Not sent: keep it and try again once the client is open.
///     Err(ReconnectError::NotConnected(message)) => drop(message),
///     Err(error) => eprintln!("{error}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ReconnectError {
    /// `send` found no open connection (the client is connecting or
    /// waiting to reconnect). The message was not sent and is handed back.
    NotConnected(Message),
    /// The open connection failed while sending, or the message or close
    /// code was refused. `recv` reconnects if the connection is gone; the
    /// message may or may not have reached the peer.
    Stream(StreamError),
    /// [`Builder::max_attempts`] connection attempts in a row failed; the
    /// last one failed with `last`. The client is closed.
    GaveUp {
        /// How many attempts failed in a row.
        attempts: u32,
        /// Why the last one failed.
        last: StreamError,
    },
    /// The server closed with `code`, which the [`Retry`] policy says not
    /// to come back after (by default 1008, Policy Violation). The client
    /// is closed.
    Refused {
        /// The server's close code.
        code: CloseCode,
    },
    /// The client is closed: [`ReconnectingClient::close`] was called or it
    /// gave up earlier.
    Closed,
}

impl fmt::Display for ReconnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconnectError::NotConnected(_) => {
                f.write_str("not connected: the message was not sent")
            }
            ReconnectError::Stream(e) => fmt::Display::fmt(e, f),
            ReconnectError::GaveUp { attempts, last } => {
                write!(f, "gave up after {attempts} failed attempts: {last}")
            }
            ReconnectError::Refused { code } => write!(
                f,
                "the server closed with {code}, after which the retry policy does not reconnect"
            ),
            ReconnectError::Closed => f.write_str("the client is closed"),
        }
    }
}

impl std::error::Error for ReconnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReconnectError::Stream(e) | ReconnectError::GaveUp { last: e, .. } => Some(e),
            ReconnectError::NotConnected(_)
            | ReconnectError::Refused { .. }
            | ReconnectError::Closed => None,
        }
    }
}

impl From<StreamError> for ReconnectError {
    fn from(e: StreamError) -> ReconnectError {
        ReconnectError::Stream(e)
    }
}

// ---- retry policy --------------------------------------------------------------

/// What the client does after the server closes the connection with a
/// given code (see [`Builder::retry`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// The server is going away on purpose (1001 Going Away, 1012 Service
    /// Restart): reconnect after the first backoff wait, jittered so that
    /// a restart's clients do not all come back at once. Once per outage:
    /// a server that keeps closing short-lived connections this way sees
    /// the waits grow again, and each such connection counts toward
    /// [`Builder::max_attempts`].
    Soon,
    /// Reconnect after the backoff wait, which grows until a connection
    /// has stayed up for [`Builder::healthy_after`] (1013 Try Again Later
    /// never resets it).
    Backoff,
    /// Do not reconnect: `recv` returns the server's close, then
    /// [`ReconnectError::Refused`].
    Stop,
}

impl Retry {
    /// The default policy: [`Retry::Soon`] for 1001 and 1012,
    /// [`Retry::Stop`] for 1008 (Policy Violation: the server refuses this
    /// client, and coming back would be refused again), [`Retry::Backoff`]
    /// for everything else, 1003 and application codes (4000-4999)
    /// included.
    ///
    /// ```
    /// use rfc6455::tokio::reconnect::Retry;
    /// use rfc6455::CloseCode;
    ///
    /// assert_eq!(Retry::default_for(CloseCode::SERVICE_RESTART), Retry::Soon);
    /// assert_eq!(Retry::default_for(CloseCode::POLICY_VIOLATION), Retry::Stop);
    /// assert_eq!(Retry::default_for(CloseCode(4000)), Retry::Backoff);
    /// ```
    pub fn default_for(code: CloseCode) -> Retry {
        match code {
            CloseCode::GOING_AWAY | CloseCode::SERVICE_RESTART => Retry::Soon,
            CloseCode::POLICY_VIOLATION => Retry::Stop,
            _ => Retry::Backoff,
        }
    }
}

type RetryPolicy = dyn Fn(CloseCode) -> Retry + Send + Sync;

// ---- builder -------------------------------------------------------------------

/// Everything a connection attempt needs, shared with the attempt futures.
struct Settings {
    request: Box<RequestFactory>,
    config: Config,
    backoff: Backoff,
    max_attempts: Option<u32>,
    connect_timeout: Duration,
    healthy_after: Duration,
    retry: Box<RetryPolicy>,
    hook: Option<Box<Hook>>,
    tls: ClientTls,
}

/// Sets up a [`ReconnectingClient`]; from [`ReconnectingClient::builder`]
/// or [`ReconnectingClient::builder_with`].
///
/// ```no_run
/// use std::time::Duration;
/// use rfc6455::tokio::reconnect::{Backoff, ReconnectingClient};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?
///     .backoff(Backoff { max: Duration::from_secs(30), ..Backoff::default() })
///     .max_attempts(20)
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
pub struct Builder {
    settings: Settings,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.settings.config)
            .field("backoff", &self.settings.backoff)
            .field("max_attempts", &self.settings.max_attempts)
            .field("connect_timeout", &self.settings.connect_timeout)
            .field("on_connect", &self.settings.hook.is_some())
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// The connection's [`Config`] (limits, keepalive, close timeout).
    /// Keepalive is what notices a peer that went silent without closing:
    /// turn it on. Default: [`Config::default`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rfc6455::{tokio::reconnect::ReconnectingClient, Config};
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = Config::default().keepalive(Duration::from_secs(15), Duration::from_secs(5));
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.config(config).build();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn config(mut self, config: Config) -> Builder {
        self.settings.config = config;
        self
    }

    /// The waits between attempts. Default: [`Backoff::default`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::{Backoff, ReconnectingClient};
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let backoff = Backoff { initial: Duration::from_secs(1), ..Backoff::default() };
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.backoff(backoff).build();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Builder {
        self.settings.backoff = backoff;
        self
    }

    /// Gives up after this many failed attempts in a row (at least 1). A
    /// connection that ends before [`healthy_after`](Builder::healthy_after)
    /// counts as a failed attempt too, so the count starts again only after
    /// a connection that stayed up. Default: never give up.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.max_attempts(5).build();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Builder {
        self.settings.max_attempts = Some(attempts.max(1));
        self
    }

    /// Fails an attempt that has not finished (TCP, handshake and hook)
    /// within `timeout`. Default 10 s.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .build();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long a connection must stay up before the backoff starts over.
    /// A connection that ends sooner counts as a failed attempt: the next
    /// wait grows, and it counts toward
    /// [`max_attempts`](Builder::max_attempts). Default: 10 s.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?
    ///     .healthy_after(Duration::from_secs(30))
    ///     .build();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn healthy_after(mut self, after: Duration) -> Builder {
        self.settings.healthy_after = after;
        self
    }

    /// What to do after the server closes with each code. Default:
    /// [`Retry::default_for`].
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::{ReconnectingClient, Retry};
    /// use rfc6455::CloseCode;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// // Our server closes with 4001 when the session expired: stop there.
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?
    ///     .retry(|code| match code.0 {
    ///         4001 => Retry::Stop,
    ///         _ => Retry::default_for(code),
    ///     })
    ///     .build();
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn retry<F>(mut self, policy: F) -> Builder
    where
        F: Fn(CloseCode) -> Retry + Send + Sync + 'static,
    {
        self.settings.retry = Box::new(policy);
        self
    }

    /// The rustls config for a `wss://` URL (feature `tls`). Default:
    /// [`default_client_config`](crate::tls::default_client_config).
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = rfc6455::tls::default_client_config()?; // or a config of your own
    /// let client = ReconnectingClient::builder("wss://example.com/feed")?.tls_config(tls).build();
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Builder {
        self.settings.tls = ClientTls::Config(config);
        self
    }

    /// A hook that runs after every successful handshake, before the
    /// client reports [`ConnectionState::Open`] and before anything else is
    /// sent or received: log in, rejoin rooms, resubscribe. It gets the new
    /// connection and may send and receive on it. If it fails, the attempt
    /// counts as failed and the client tries again after the backoff.
    ///
    /// The hook returns a boxed future ([`BoxFuture`]) that may borrow the
    /// connection: write `Box::pin(async move { ... })`, cloning what it
    /// needs from the closure's state before the `async move`. State that
    /// changes over time (the current room) can live in an
    /// `Arc<Mutex<...>>` shared with the rest of the program.
    ///
    /// ```no_run
    /// use std::sync::{Arc, Mutex};
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let room = Arc::new(Mutex::new(String::from("lobby")));
    /// let current = room.clone();
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?
    ///     .on_connect(move |ws| {
    ///         let join = format!(r#"{{"type":"join","room":"{}"}}"#, current.lock().unwrap());
    ///         Box::pin(async move { ws.send(join).await })
    ///     })
    ///     .build();
    /// *room.lock().unwrap() = "rust".into(); // the next reconnect joins "rust"
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn on_connect<F>(mut self, hook: F) -> Builder
    where
        F: for<'a> Fn(
                &'a mut WebSocketStream<MaybeTlsStream>,
            ) -> BoxFuture<'a, Result<(), StreamError>>
            + Send
            + Sync
            + 'static,
    {
        self.settings.hook = Some(Box::new(hook));
        self
    }

    /// The client, not yet connected: the first
    /// [`recv`](ReconnectingClient::recv) connects (and reconnects after
    /// failures). Its state starts as `Connecting { attempt: 1 }`.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.build();
    /// let first = client.recv().await?; // connects, then waits for an event
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> ReconnectingClient {
        let settings = Arc::new(self.settings);
        let watch = Arc::new(Watch::new(ConnectionState::Connecting { attempt: 1 }));
        let first = attempt(settings.clone(), watch.clone(), 1, Duration::ZERO);
        ReconnectingClient {
            settings,
            watch,
            link: Link::Connecting(first),
            failures: 0,
            opened_at: None,
            pending: None,
            waits: 0,
            closing: false,
        }
    }

    /// Builds the client and waits until it is open, retrying with the
    /// backoff: until the first connection succeeds, or
    /// [`max_attempts`](Builder::max_attempts) attempts fail
    /// ([`ReconnectError::GaveUp`]). Without `max_attempts` it waits for
    /// as long as the server stays unreachable; wrap it in a timeout if
    /// that is not what you want.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?
    ///     .max_attempts(3)
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self) -> Result<ReconnectingClient, ReconnectError> {
        let mut client = self.build();
        while let Link::Connecting(_) = client.link {
            client.drive_attempt().await?;
        }
        Ok(client)
    }
}

// ---- the client ---------------------------------------------------------------

/// The connection, or the attempt to get one.
enum Link {
    /// Boxed: a stream is about a kilobyte, the other variants a pointer.
    Open(Box<Ws>),
    /// Waits the backoff delay, connects, runs the hook. Kept here rather
    /// than in a `recv` future so that a cancelled `recv` loses nothing.
    Connecting(BoxFuture<'static, Result<Ws, StreamError>>),
    Closed,
}

/// A WebSocket client over TCP (`ws://`) or TLS (`wss://`) that reconnects
/// after the connection is lost; see the [module docs](self).
///
/// Dropping the client drops its connection without a close frame; call
/// [`close`](Self::close) first for a clean close.
///
/// ```no_run
/// use rfc6455::tokio::reconnect::ReconnectingClient;
/// use rfc6455::Event;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.connect().await?;
/// let (tx, mut outgoing) = tokio::sync::mpsc::channel::<String>(16);
/// # drop(tx);
/// loop {
///     tokio::select! {
///         event = client.recv() => match event? {
///             Event::Text(text) => println!("< {text}"),
///             Event::Close(frame) => println!("server closed ({frame:?}); reconnecting"),
///             _ => {}
///         },
///         Some(line) = outgoing.recv() => {
///             if let Err(e) = client.send(line).await {
///                 eprintln!("not sent: {e}");
///             }
///         }
///     }
/// }
/// # }
/// ```
pub struct ReconnectingClient {
    settings: Arc<Settings>,
    watch: Arc<Watch>,
    link: Link,
    /// Failed attempts (and short-lived connections) in a row since the
    /// last healthy connection.
    failures: u32,
    /// When the open connection opened.
    opened_at: Option<tokio::time::Instant>,
    /// Reported by the next call: giving up after a short-lived connection.
    pending: Option<ReconnectError>,
    /// Backoff waits so far in this outage.
    waits: u32,
    /// `close()` was called: the end of this connection is the end.
    closing: bool,
}

impl fmt::Debug for ReconnectingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingClient")
            .field("state", &self.state())
            .field("failures", &self.failures)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl ReconnectingClient {
    /// A builder for a client of a `ws://` or `wss://` URL. Each attempt
    /// sends a fresh handshake (with a new `Sec-WebSocket-Key`) for this
    /// URL; to add headers or subprotocols, use
    /// [`builder_with`](Self::builder_with).
    ///
    /// Fails at once if the URL is invalid, or `wss://` without the feature
    /// `tls` ([`TlsError::NotEnabled`](crate::TlsError::NotEnabled)).
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let builder = ReconnectingClient::builder("ws://127.0.0.1:9001/chat")?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: &str) -> Result<Builder, StreamError> {
        if ClientRequest::new(url)?.is_tls() && cfg!(not(feature = "tls")) {
            return Err(crate::TlsError::NotEnabled.into());
        }
        let url = url.to_owned();
        Ok(Self::builder_with(move || Ok(ClientRequest::new(&url)?)))
    }

    /// A builder whose `request` makes the handshake request of each
    /// attempt: headers such as a fresh `Authorization` token, subprotocols.
    /// It is called once per attempt; an error fails that attempt.
    ///
    /// ```no_run
    /// use rfc6455::handshake::ClientRequest;
    /// use rfc6455::tokio::reconnect::ReconnectingClient;
    ///
    /// # fn demo() {
    /// let client = ReconnectingClient::builder_with(|| {
    ///     Ok(ClientRequest::new("ws://127.0.0.1:9001/chat")?
    ///         .protocol("chat.v1")?
    ///         .header("Authorization", "Bearer token")?)
    /// })
    /// .build();
    /// # }
    /// ```
    pub fn builder_with<F>(request: F) -> Builder
    where
        F: Fn() -> Result<ClientRequest, handshake::Error> + Send + Sync + 'static,
    {
        Builder {
            settings: Settings {
                request: Box::new(request),
                config: Config::default(),
                backoff: Backoff::default(),
                max_attempts: None,
                connect_timeout: Duration::from_secs(10),
                healthy_after: Duration::from_secs(10),
                retry: Box::new(Retry::default_for),
                hook: None,
                tls: ClientTls::Default,
            },
        }
    }

    /// The next event from the current connection, reconnecting as needed
    /// in between: a lost connection is not an error, the call just goes
    /// on (see [`watch`](Self::watch) to follow that). Cancel-safe.
    ///
    /// When the server closes the connection, its [`Event::Close`] is
    /// returned and the next call reconnects (servers close with 1001 or
    /// 1012 when they restart); call [`close`](Self::close) to stop instead.
    ///
    /// Errors: [`ReconnectError::GaveUp`] once, when
    /// [`max_attempts`](Builder::max_attempts) attempts in a row failed,
    /// then [`ReconnectError::Closed`], as after `close`.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::ReconnectingClient;
    /// use rfc6455::Event;
    ///
    /// # async fn demo(mut client: ReconnectingClient) -> Result<(), Box<dyn std::error::Error>> {
    /// loop {
    ///     match client.recv().await? {
    ///         Event::Text(text) => println!("{text}"),
    ///         Event::Binary(data) => println!("{} bytes", data.len()),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Result<Event, ReconnectError> {
        loop {
            if let Some(e) = self.pending.take() {
                return Err(e);
            }
            match &mut self.link {
                Link::Open(ws) => match ws.recv().await {
                    Ok(Event::Close(frame)) => {
                        if self.closing {
                            self.finish();
                        } else {
                            let code = frame.as_ref().map(|f| f.code);
                            self.lost(code, StreamError::Closed);
                        }
                        return Ok(Event::Close(frame));
                    }
                    Ok(event) => return Ok(event),
                    Err(_) if self.closing => {
                        self.finish();
                        return Err(ReconnectError::Closed);
                    }
                    Err(e) => self.lost(None, e),
                },
                Link::Connecting(_) => self.drive_attempt().await?,
                Link::Closed => return Err(ReconnectError::Closed),
            }
        }
    }

    /// The next data message, reconnecting as needed in between; pings,
    /// pongs and the server's close frames are skipped. Cancel-safe.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::ReconnectingClient;
    /// # async fn demo(mut client: ReconnectingClient) {
    /// while let Ok(message) = client.recv_message().await {
    ///     println!("{} bytes", message.len());
    /// }
    /// # }
    /// ```
    pub async fn recv_message(&mut self) -> Result<Message, ReconnectError> {
        loop {
            if let Some(message) = self.recv().await?.into_message() {
                return Ok(message);
            }
        }
    }

    /// Sends a message on the open connection and waits until it is
    /// written.
    ///
    /// While there is no open connection (connecting, waiting to
    /// reconnect, or the hook still running) nothing is queued: the call
    /// fails at once with [`ReconnectError::NotConnected`], which hands the
    /// message back. After [`close`](Self::close) it fails with
    /// [`ReconnectError::Closed`]. Cancel-safe: a call dropped before it
    /// returns either queued its message or did not.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::{ReconnectError, ReconnectingClient};
    /// use rfc6455::Message;
    ///
    /// # async fn demo(mut client: ReconnectingClient) -> Result<(), ReconnectError> {
    /// // Keep what could not be sent, and send it once the client is open again.
    /// let mut unsent: Vec<Message> = Vec::new();
    /// match client.send("hello").await {
    ///     Err(ReconnectError::NotConnected(message)) => unsent.push(message),
    ///     other => other?,
    /// }
    /// loop {
    ///     let event = client.recv().await?; // reconnects when needed
    ///     if client.state().is_open() {
    ///         for message in unsent.drain(..) {
    ///             client.send(message).await?;
    ///         }
    ///     }
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), ReconnectError> {
        let message = message.into();
        if self.closing {
            return Err(ReconnectError::Closed);
        }
        match &mut self.link {
            Link::Open(ws) if ws.state().is_open() => {
                ws.send(message).await.map_err(ReconnectError::Stream)
            }
            Link::Closed => Err(ReconnectError::Closed),
            _ => Err(ReconnectError::NotConnected(message)),
        }
    }

    /// Closes for good: sends a close frame with `code` and `reason`, waits
    /// for the server's reply (bounded by [`Config::close_timeout`];
    /// messages that arrive meanwhile are dropped) and does not reconnect.
    /// A connection attempt under way is abandoned. Calling it again does
    /// nothing. Cancel-safe: if it is dropped early the client still never
    /// reconnects, and `recv` finishes the closing handshake.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::ReconnectingClient;
    /// use rfc6455::CloseCode;
    ///
    /// # async fn demo(mut client: ReconnectingClient) -> Result<(), Box<dyn std::error::Error>> {
    /// client.close(CloseCode::NORMAL, "bye").await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), ReconnectError> {
        if !code.is_sendable() {
            return Err(StreamError::Send(SendError::InvalidCloseCode(code.0)).into());
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(StreamError::Send(SendError::CloseReasonTooLong(reason.len())).into());
        }
        let Link::Open(ws) = &mut self.link else {
            self.finish();
            return Ok(());
        };
        if !self.closing {
            self.closing = true;
            // An error means the connection is already gone: closed anyway.
            let _ = ws.close(code, reason).await;
        }
        while let Ok(event) = ws.recv().await {
            if let Event::Close(_) = event {
                break;
            }
        }
        self.finish();
        Ok(())
    }

    /// The current state.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::{ConnectionState, ReconnectingClient};
    /// # fn demo(client: ReconnectingClient) {
    /// if client.state() == ConnectionState::Open {
    ///     println!("connected");
    /// }
    /// # }
    /// ```
    pub fn state(&self) -> ConnectionState {
        self.watch.lock().state.clone()
    }

    /// A watcher of the state for another task; its
    /// [`changed`](StateWatcher::changed) waits for the next change after
    /// the current state.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::{ConnectionState, ReconnectingClient};
    ///
    /// # async fn demo(client: ReconnectingClient) {
    /// let mut watcher = client.watch();
    /// tokio::spawn(async move {
    ///     while let Some(state) = watcher.changed().await {
    ///         if let ConnectionState::Reconnecting { delay, .. } = state {
    ///             println!("lost the server; trying again in {delay:?}");
    ///         }
    ///     }
    /// });
    /// # }
    /// ```
    pub fn watch(&self) -> StateWatcher {
        let seen = self.watch.lock().version;
        StateWatcher {
            watch: self.watch.clone(),
            seen,
        }
    }

    /// Awaits the attempt under way and records its outcome: open, or a
    /// failure followed by the next attempt or by giving up.
    async fn drive_attempt(&mut self) -> Result<(), ReconnectError> {
        let Link::Connecting(attempt) = &mut self.link else {
            return Ok(());
        };
        // Awaiting through a reference: if this future is dropped, the
        // attempt stays in `self.link` and resumes at the next call.
        match attempt.as_mut().await {
            Ok(ws) => {
                // The backoff starts over only once this connection has
                // proved healthy (see `lost`).
                self.link = Link::Open(Box::new(ws));
                self.opened_at = Some(tokio::time::Instant::now());
                self.watch.set(ConnectionState::Open);
                Ok(())
            }
            Err(last) => self.failed(last),
        }
    }

    /// An attempt failed, or a connection was too short-lived to count as
    /// up: wait longer, or give up after `max_attempts` in a row.
    fn failed(&mut self, last: StreamError) -> Result<(), ReconnectError> {
        self.failures = self.failures.saturating_add(1);
        if let Some(max) = self.settings.max_attempts {
            if self.failures >= max {
                let attempts = self.failures;
                self.finish();
                return Err(ReconnectError::GaveUp { attempts, last });
            }
        }
        self.schedule();
        Ok(())
    }

    /// The open connection ended without our asking (with the server's
    /// close `code`, if any): start over, from the first wait only if it
    /// stayed up for `healthy_after` and was not told to try again later.
    fn lost(&mut self, code: Option<CloseCode>, why: StreamError) {
        let lived = self
            .opened_at
            .take()
            .map_or(Duration::ZERO, |opened| opened.elapsed());
        let retry = code.map_or(Retry::Backoff, |c| (self.settings.retry)(c));
        if let (Retry::Stop, Some(code)) = (retry, code) {
            self.finish();
            self.pending = Some(ReconnectError::Refused { code });
            return;
        }
        if lived >= self.settings.healthy_after {
            // It was up: not a failed attempt. Told to try later, keep
            // waiting longer all the same.
            self.failures = 0;
            if code != Some(CloseCode::TRY_AGAIN_LATER) {
                self.waits = 0;
            }
            self.schedule();
            return;
        }
        // Short-lived counts as a failed attempt. A server going away on
        // purpose gets us back after the first wait, once per outage: the
        // waits grow again if it keeps doing so.
        if retry == Retry::Soon && self.failures == 0 {
            self.waits = 0;
        }
        if let Err(e) = self.failed(why) {
            self.pending = Some(e);
        }
    }

    /// Starts the next attempt after the next backoff wait.
    fn schedule(&mut self) {
        let delay = self.settings.backoff.delay(self.waits, rand::random());
        self.waits = self.waits.saturating_add(1);
        let next = self.failures.saturating_add(1);
        self.watch.set(ConnectionState::Reconnecting {
            attempt: next,
            delay,
        });
        self.link = Link::Connecting(attempt(
            self.settings.clone(),
            self.watch.clone(),
            next,
            delay,
        ));
    }

    fn finish(&mut self) {
        self.link = Link::Closed;
        self.closing = true;
        self.watch.set(ConnectionState::Closed);
    }
}

impl Drop for ReconnectingClient {
    fn drop(&mut self) {
        self.watch.end();
    }
}

/// One connection attempt: wait, connect, run the hook.
fn attempt(
    settings: Arc<Settings>,
    watch: Arc<Watch>,
    attempt: u32,
    delay: Duration,
) -> BoxFuture<'static, Result<Ws, StreamError>> {
    Box::pin(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        watch.set(ConnectionState::Connecting { attempt });
        let connect = async {
            let request = (settings.request)()?;
            let tls = settings.tls.clone();
            let (mut ws, _response) =
                connect::over_tcp(&request, settings.config.clone(), tls).await?;
            if let Some(hook) = &settings.hook {
                hook(&mut ws).await?;
            }
            Ok(ws)
        };
        match tokio::time::timeout(settings.connect_timeout, connect).await {
            Ok(result) => result,
            Err(_) => Err(StreamError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection attempt took longer than the connect timeout",
            ))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn backoff(initial: u64, max: u64, multiplier: f64, jitter: f64) -> Backoff {
        Backoff {
            initial: ms(initial),
            max: ms(max),
            multiplier,
            jitter,
        }
    }

    #[test]
    fn grows_geometrically_then_caps() {
        let b = backoff(100, 5_000, 2.0, 0.0);
        let waits: Vec<u64> = (0..9).map(|n| b.base(n).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        let b = backoff(100, 10_000, 1.5, 0.0);
        assert_eq!(b.base(2), ms(225));
        // With jitter 0 the random number changes nothing.
        for n in 0..9 {
            assert_eq!(b.delay(n, 0.0), b.base(n));
            assert_eq!(b.delay(n, 0.99), b.base(n));
        }
    }

    #[test]
    fn never_exceeds_the_cap_even_at_extremes() {
        let b = backoff(100, 1_000, 2.0, 0.5);
        for n in [20, 63, 64, 1000, u32::MAX] {
            assert_eq!(b.base(n), ms(1_000), "n = {n}");
        }
        // Initial above the cap: the cap.
        assert_eq!(backoff(5_000, 1_000, 2.0, 0.0).base(0), ms(1_000));
        // Infinite or NaN multipliers.
        assert_eq!(backoff(100, 1_000, f64::INFINITY, 0.0).base(1), ms(1_000));
        assert_eq!(backoff(100, 1_000, f64::NAN, 0.0).base(5), ms(100));
        // A multiplier below 1 counts as 1: never shrinking.
        assert_eq!(backoff(100, 1_000, 0.5, 0.0).base(3), ms(100));
        // Zero initial stays zero.
        assert_eq!(backoff(0, 1_000, 2.0, 0.5).delay(4, 0.3), Duration::ZERO);
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let b = backoff(100, 10_000, 2.0, 0.25);
        // Injected randomness: the extremes and the middle.
        assert_eq!(b.delay(2, 0.0), ms(400));
        assert_eq!(b.delay(2, 0.5), ms(350));
        assert_eq!(b.delay(2, 1.0), ms(300));
        // Out-of-range random numbers are clamped.
        assert_eq!(b.delay(2, -3.0), ms(400));
        assert_eq!(b.delay(2, 7.0), ms(300));
        assert_eq!(b.delay(2, f64::NAN), ms(400));
        // Real randomness: always in [base * 0.75, base], and spread out.
        for n in 0..12 {
            let base = b.base(n);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let wait = b.delay(n, rand::random());
                assert!(
                    wait <= base && wait >= base.mul_f64(0.75),
                    "{wait:?} vs {base:?}"
                );
                seen.insert(wait);
            }
            assert!(seen.len() > 10, "jitter should spread the waits");
        }
        // Jitter outside 0..=1 is clamped.
        assert_eq!(backoff(100, 1_000, 2.0, 3.0).delay(0, 1.0), Duration::ZERO);
        assert_eq!(backoff(100, 1_000, 2.0, -1.0).delay(0, 1.0), ms(100));
        assert_eq!(backoff(100, 1_000, 2.0, f64::NAN).delay(0, 1.0), ms(100));
    }

    #[test]
    fn the_default_doubles_from_250_ms_to_10_s() {
        let b = Backoff::default();
        assert_eq!(b.base(0), ms(250));
        assert_eq!(b.base(3), ms(2_000));
        assert_eq!(b.base(6), ms(10_000));
        assert!(b.delay(0, 1.0) >= ms(125));
    }

    #[test]
    fn watcher_sees_changes_and_the_end() {
        let watch = Arc::new(Watch::new(ConnectionState::Connecting { attempt: 1 }));
        let mut watcher = StateWatcher {
            watch: watch.clone(),
            seen: 0,
        };
        let waker = Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        {
            let mut changed = std::pin::pin!(watcher.changed());
            assert!(changed.as_mut().poll(&mut cx).is_pending());
            watch.set(ConnectionState::Open);
            assert_eq!(
                changed.as_mut().poll(&mut cx),
                Poll::Ready(Some(ConnectionState::Open))
            );
        }
        // The same state again is no change.
        watch.set(ConnectionState::Open);
        assert_eq!(watcher.watch.lock().version, 1);
        watch.end();
        {
            let mut changed = std::pin::pin!(watcher.changed());
            assert_eq!(
                changed.as_mut().poll(&mut cx),
                Poll::Ready(Some(ConnectionState::Closed))
            );
        }
        let mut again = std::pin::pin!(watcher.changed());
        assert_eq!(again.as_mut().poll(&mut cx), Poll::Ready(None));
    }
}
