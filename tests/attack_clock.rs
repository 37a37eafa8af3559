//! Attacks on `Connection::needs_clock()` and the tokio adapter skipping
//! the clock read: every timeout must still fire, in every path, with
//! silent or vanishing peers. All over 127.0.0.1 or in-memory duplexes.
#![cfg(feature = "tokio")]

use std::time::{Duration, Instant};

use rfc6455::{CloseCode, Config, Error, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

mod loopback;
use loopback::{accept_one, listener, raw_client};

const LIMIT: Duration = Duration::from_secs(5);

/// A peer that reads everything and never answers, holding TCP open;
/// gives back when it saw EOF (None if it never did within 10 s).
fn silent_peer(url: String) -> tokio::task::JoinHandle<Option<Duration>> {
    tokio::spawn(async move {
        let mut tcp = raw_client(&url).await;
        let mut sink = Vec::new();
        let started = Instant::now();
        match timeout(Duration::from_secs(10), tcp.read_to_end(&mut sink)).await {
            Ok(_) => Some(started.elapsed()),
            Err(_) => None,
        }
    })
}

/// The split reader is idle (no keepalive: no timer, no clock) when the
/// writer starts the close; the peer never answers. The reader must end
/// within the close timeout, not wait for ever.
#[tokio::test]
async fn split_writer_close_to_a_silent_peer_ends_the_idle_reader() {
    let (listener, url) = listener().await;
    let peer = silent_peer(url);
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let ws = accept_one(&listener, config).await;
    let (mut reader, mut writer) = ws.split();
    let reading = tokio::spawn(async move {
        let started = Instant::now();
        loop {
            match timeout(LIMIT, reader.recv()).await {
                Err(_) => return (None, started.elapsed()),
                Ok(Ok(_event)) => continue,
                Ok(Err(e)) => return (Some(e), started.elapsed()),
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await; // idle a while first
    let closed_at = Instant::now();
    timeout(LIMIT, writer.close(CloseCode::NORMAL, "bye"))
        .await
        .unwrap()
        .unwrap();
    let (result, _) = reading.await.unwrap();
    let waited = closed_at.elapsed();
    assert!(
        matches!(result, Some(StreamError::Protocol(Error::CloseTimeout))),
        "{result:?} after {waited:?}"
    );
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    drop(writer);
    let eof = peer.await.unwrap();
    assert!(eof.is_some(), "the silent peer never saw the transport end");
}

/// Keepalive through the split reader with a silent peer.
#[tokio::test]
async fn split_reader_keepalive_detects_a_silent_peer() {
    let (listener, url) = listener().await;
    let _peer = silent_peer(url);
    let config =
        Config::default().keepalive(Duration::from_millis(200), Duration::from_millis(200));
    let ws = accept_one(&listener, config).await;
    let (mut reader, _writer) = ws.split();
    let started = Instant::now();
    let result = timeout(LIMIT, reader.recv()).await;
    assert!(
        matches!(
            result,
            Ok(Err(StreamError::Protocol(Error::KeepaliveTimeout)))
        ),
        "{result:?} after {:?}",
        started.elapsed()
    );
}

/// A protocol error (an unmasked frame from a client) with a peer that
/// keeps TCP open and says nothing more: the server's stream must end, and
/// the peer must see the transport end, within the close timeout.
#[tokio::test]
async fn protocol_error_with_a_peer_that_keeps_tcp_open_is_bounded() {
    let (listener, url) = listener().await;
    let peer = tokio::spawn(async move {
        let mut tcp = raw_client(&url).await;
        tcp.write_all(&[0x82, 0x01, 0xAA]).await.unwrap(); // unmasked
        let mut sink = Vec::new();
        let started = Instant::now();
        match timeout(Duration::from_secs(10), tcp.read_to_end(&mut sink)).await {
            Ok(_) => (Some(started.elapsed()), sink),
            Err(_) => (None, sink),
        }
    });
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let mut ws = accept_one(&listener, config).await;
    let started = Instant::now();
    let first = timeout(LIMIT, ws.recv()).await.unwrap();
    assert!(matches!(first, Err(StreamError::Protocol(_))), "{first:?}");
    // The application keeps polling: the stream must stay ended.
    let again = timeout(LIMIT, ws.recv()).await;
    assert!(matches!(again, Ok(Err(_))), "{again:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Keep the stream alive: the transport must still end on its own terms
    // (the linger is bounded by the close timeout).
    let (eof, seen) = peer.await.unwrap();
    drop(ws);
    assert!(eof.is_some(), "the peer never saw EOF; it got {seen:?}");
}

/// A Shutdown while the split reader is idle, the peer silent.
#[tokio::test]
async fn shutdown_with_split_halves_and_a_silent_peer_is_bounded() {
    let (listener, url) = listener().await;
    let _peer = silent_peer(url);
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let mut ws = accept_one(&listener, config).await;
    let shutdown = rfc6455::Shutdown::new();
    ws.set_shutdown(shutdown.guard());
    let (mut reader, _writer) = ws.split();
    let reading = tokio::spawn(async move { timeout(LIMIT, reader.recv()).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    shutdown.signal("restarting");
    let result = reading.await.unwrap();
    assert!(
        matches!(result, Ok(Err(StreamError::Protocol(Error::CloseTimeout)))),
        "{result:?} after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A connection idle for a long time (no clock read while idle) that then
/// gets a close from us: the timeout counts from the close.
#[tokio::test]
async fn close_after_long_idle_gets_the_whole_timeout_and_no_more() {
    let (listener, url) = listener().await;
    let _peer = silent_peer(url);
    let config = Config::default().close_timeout(Duration::from_millis(400));
    let mut ws = accept_one(&listener, config).await;
    assert!(timeout(Duration::from_millis(600), ws.recv())
        .await
        .is_err());
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    let started = Instant::now();
    let result = timeout(LIMIT, ws.recv()).await.unwrap();
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(StreamError::Protocol(Error::CloseTimeout))),
        "{result:?}"
    );
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}
