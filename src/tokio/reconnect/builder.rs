//! [`Builder`]: how a [`ReconnectingClient`] connects, waits and gives up.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use super::LinkState;
use super::{Backoff, BoxFuture, Hook, ReconnectError, ReconnectingClient, Retry};
use crate::handshake::{self, ClientRequest};
use crate::tls::ClientTls;
use crate::tokio::{MaybeTlsStream, WebSocketStream};
use crate::{CloseCode, Config, StreamError};

type RequestFactory = dyn Fn() -> Result<ClientRequest, handshake::Error> + Send + Sync;
type RetryPolicy = dyn Fn(CloseCode) -> Retry + Send + Sync;

/// Everything a connection attempt needs, shared with the attempt futures.
pub(super) struct Settings {
    pub(super) request: Box<RequestFactory>,
    pub(super) config: Config,
    pub(super) backoff: Backoff,
    pub(super) max_attempts: Option<u32>,
    pub(super) connect_timeout: Duration,
    pub(super) healthy_after: Duration,
    pub(super) retry: Box<RetryPolicy>,
    pub(super) hook: Option<Box<Hook>>,
    pub(super) tls: ClientTls,
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
    /// Defaults around `request`, the maker of each attempt's handshake.
    pub(super) fn new<F>(request: F) -> Builder
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
    /// client reports [`LinkState::Open`] and before anything else is
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
        ReconnectingClient::new(Arc::new(self.settings))
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
        client.reader_mut().connect().await?;
        Ok(client)
    }
}
