//! In-memory hub members for the hub tests: a server stream attached to a
//! subscriber and driven by a task, and its client end.
#![allow(dead_code)]

use std::time::Duration;

use rfc6455::hub::{Hub, Subscriber};
use rfc6455::tokio::WebSocketStream;
use rfc6455::{Config, Event, Extensions, Role, StreamError};
use tokio::io::DuplexStream;
use tokio::task::JoinHandle;
use tokio::time::timeout;

pub type Ws = WebSocketStream<DuplexStream>;

/// How long a message sent over memory may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(5);

/// A new subscriber of `hub` attached to a server stream (see
/// [`attached`]), and the client end.
pub fn member(
    hub: &Hub,
    config: Config,
    pipe: usize,
) -> (Subscriber, Ws, JoinHandle<Result<Event, StreamError>>) {
    let subscriber = hub.subscriber();
    let (client, task) = attached(&subscriber, config, pipe);
    (subscriber, client, task)
}

/// Attaches `subscriber` to a new server stream over a `pipe`-byte duplex,
/// read by a task until the close (its result) or an error.
pub fn attached(
    subscriber: &Subscriber,
    config: Config,
    pipe: usize,
) -> (Ws, JoinHandle<Result<Event, StreamError>>) {
    attached_with(subscriber, config, &Extensions::none(), pipe)
}

/// [`attached`], both ends running the agreed `extensions`.
pub fn attached_with(
    subscriber: &Subscriber,
    config: Config,
    extensions: &Extensions,
    pipe: usize,
) -> (Ws, JoinHandle<Result<Event, StreamError>>) {
    let (server_io, client_io) = tokio::io::duplex(pipe);
    let mut server =
        WebSocketStream::from_raw_with_extensions(server_io, Role::Server, config, extensions, &[]);
    server.attach(subscriber);
    let task = drive(server);
    let client = WebSocketStream::from_raw_with_extensions(
        client_io,
        Role::Client,
        Config::default(),
        extensions,
        &[],
    );
    (client, task)
}

/// Reads `server` in a task until the close (the task's result) or an
/// error: what keeps a server stream's deliveries and replies going.
pub fn drive(mut server: Ws) -> JoinHandle<Result<Event, StreamError>> {
    tokio::spawn(async move {
        loop {
            match server.recv().await {
                Ok(Event::Close(frame)) => return Ok(Event::Close(frame)),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
}

/// The next event, which must be a text message arriving in time.
pub async fn next_text(client: &mut Ws) -> String {
    match timeout(ARRIVAL, client.recv())
        .await
        .expect("a message in time")
    {
        Ok(Event::Text(text)) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Nothing arrives within `wait`.
pub async fn nothing_within(client: &mut Ws, wait: Duration) {
    if let Ok(event) = timeout(wait, client.recv()).await {
        panic!("expected nothing, got {event:?}");
    }
}
