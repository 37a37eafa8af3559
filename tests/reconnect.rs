//! The reconnecting client against a real server on 127.0.0.1 that is
//! stopped (listener dropped, live connections killed) and started again on
//! the same port.
#![cfg(feature = "tokio")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rfc6455::handshake::{AcceptOptions, ClientRequest};
use rfc6455::tokio::accept;
use rfc6455::tokio::reconnect::{
    Backoff, LinkState, ReconnectError, ReconnectingClient, Retry, StateWatcher,
};
use rfc6455::{CloseCode, Config, Event, Message, SendError, StreamError};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

/// Bound on every single wait; the whole file runs in well under that.
const LIMIT: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An echo server that reports every text it receives. A text `close 1012`
/// makes it close the connection with 1012 (service restart).
struct Server {
    port: u16,
    task: JoinHandle<()>,
    texts: mpsc::UnboundedReceiver<String>,
    connections: Arc<AtomicUsize>,
}

impl Server {
    /// Listens on 127.0.0.1:`port` (0: any free port).
    async fn start(port: u16) -> Server {
        let socket = TcpSocket::new_v4().unwrap();
        // The stopped server's connections may linger in TIME_WAIT.
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .unwrap();
        let listener = socket.listen(64).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, texts) = mpsc::unbounded_channel();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops every live connection.
            let mut live = JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let tx = tx.clone();
                live.spawn(async move {
                    let Ok(mut ws) = accept(tcp).await else {
                        return;
                    };
                    while let Ok(Some(message)) = ws.recv_message().await {
                        let Message::Text(text) = message else {
                            continue;
                        };
                        let _ = tx.send(text.to_string());
                        if text == "close 1012" {
                            let _ = ws.close(CloseCode::SERVICE_RESTART, "restarting").await;
                        } else if ws.send(text).await.is_err() {
                            break;
                        }
                    }
                });
                while live.try_join_next().is_some() {}
            }
        });
        Server {
            port,
            task,
            texts,
            connections,
        }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    async fn next_text(&mut self) -> String {
        timeout(LIMIT, self.texts.recv()).await.unwrap().unwrap()
    }

    /// Drops the listener and kills every connection without a close frame.
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A hook that sends `join N` on the N-th connection.
fn joining(
    builder: rfc6455::tokio::reconnect::Builder,
) -> (rfc6455::tokio::reconnect::Builder, Arc<AtomicUsize>) {
    let joins = Arc::new(AtomicUsize::new(0));
    let counter = joins.clone();
    let builder = builder.on_connect(move |ws| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move { ws.send(format!("join {n}")).await })
    });
    (builder, joins)
}

/// Records every state the watcher sees, in a background task.
fn record(mut watcher: StateWatcher) -> Arc<Mutex<Vec<LinkState>>> {
    let seen = Arc::new(Mutex::new(vec![watcher.get()]));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Some(state) = watcher.changed().await {
            log.lock().unwrap().push(state);
        }
    });
    seen
}

fn no_jitter(initial: u64, max: u64) -> Backoff {
    Backoff {
        initial: ms(initial),
        max: ms(max),
        multiplier: 2.0,
        jitter: 0.0,
    }
}

async fn recv_text(client: &mut ReconnectingClient) -> String {
    match timeout(LIMIT, client.recv()).await.unwrap().unwrap() {
        Event::Text(text) => text.to_string(),
        other => panic!("expected a text, got {other:?}"),
    }
}

#[tokio::test]
async fn reconnects_after_the_server_restarts_and_the_hook_rejoins() {
    let started = Instant::now();
    let mut server = Server::start(0).await;
    let port = server.port;
    // The first connection counts as healthy at once, so the outage's
    // waits start from the first (see the tests of `healthy_after` below).
    let builder = ReconnectingClient::builder(&server.url())
        .unwrap()
        .backoff(no_jitter(20, 100))
        .healthy_after(Duration::ZERO);
    let (builder, joins) = joining(builder);
    let mut client = timeout(LIMIT, builder.connect()).await.unwrap().unwrap();
    assert_eq!(client.state(), LinkState::Open);
    let history = record(client.watch());

    assert_eq!(server.next_text().await, "join 1");
    assert_eq!(recv_text(&mut client).await, "join 1");
    client.send("hello").await.unwrap();
    assert_eq!(recv_text(&mut client).await, "hello");

    server.stop().await;
    // recv notices the loss and starts backing off; it is cancelled here
    // (cancel-safe) with the client still waiting to reconnect.
    assert!(timeout(ms(150), client.recv()).await.is_err());
    assert!(
        matches!(
            client.state(),
            LinkState::Reconnecting { .. } | LinkState::Connecting { .. }
        ),
        "{:?}",
        client.state()
    );
    // Nothing is queued while disconnected: the message comes back.
    match client.send("lost").await {
        Err(ReconnectError::NotConnected(message)) => assert_eq!(message, Message::from("lost")),
        other => panic!("expected NotConnected, got {other:?}"),
    }

    // Restart on the same port while the client keeps trying, with recv
    // in a select loop that cancels it every few milliseconds.
    let restart = tokio::spawn(async move {
        tokio::time::sleep(ms(150)).await;
        Server::start(port).await
    });
    let mut cancelled = 0;
    let deadline = Instant::now() + LIMIT;
    let event = loop {
        assert!(Instant::now() < deadline, "no reconnection");
        tokio::select! {
            event = client.recv() => break event.unwrap(),
            _ = tokio::time::sleep(ms(7)) => cancelled += 1,
        }
    };
    assert!(cancelled > 0);
    // The hook ran again and re-sent its join before anything else.
    assert_eq!(event, Event::Text("join 2".into()));
    assert_eq!(joins.load(Ordering::SeqCst), 2);
    let mut server = restart.await.unwrap();
    assert_eq!(server.next_text().await, "join 2");
    assert_eq!(client.state(), LinkState::Open);

    // Messages flow again.
    client.send("after").await.unwrap();
    assert_eq!(recv_text(&mut client).await, "after");
    assert_eq!(server.next_text().await, "after");

    // The client saw Reconnecting, then failed attempts backing off
    // (20, 40, 80, 100, 100... ms without jitter), then Open.
    let history = history.lock().unwrap().clone();
    let waits: Vec<(u32, Duration)> = history
        .iter()
        .filter_map(|s| match s {
            LinkState::Reconnecting { attempt, delay } => Some((*attempt, *delay)),
            _ => None,
        })
        .collect();
    assert!(
        waits.len() >= 2,
        "some attempts failed while the server was down: {history:?}"
    );
    for (i, &(attempt, delay)) in waits.iter().enumerate() {
        assert_eq!(attempt as usize, i + 1, "{history:?}");
        assert_eq!(delay, no_jitter(20, 100).base(i as u32), "{history:?}");
    }
    let first_wait = history
        .iter()
        .position(|s| matches!(s, LinkState::Reconnecting { .. }))
        .unwrap();
    let reopened = history.iter().rposition(LinkState::is_open).unwrap();
    assert!(first_wait < reopened, "{history:?}");
    assert_eq!(history.last(), Some(&LinkState::Open), "{history:?}");

    client.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_clean_close_by_us_does_not_reconnect() {
    let mut server = Server::start(0).await;
    let builder = ReconnectingClient::builder(&server.url())
        .unwrap()
        .backoff(no_jitter(10, 50));
    let (builder, joins) = joining(builder);
    let mut client = timeout(LIMIT, builder.connect()).await.unwrap().unwrap();
    let mut watcher = client.watch();
    assert_eq!(server.next_text().await, "join 1");

    timeout(LIMIT, client.close(CloseCode::NORMAL, "done"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.state(), LinkState::Closed);
    assert_eq!(
        timeout(LIMIT, watcher.changed()).await.unwrap(),
        Some(LinkState::Closed)
    );
    assert!(matches!(client.recv().await, Err(ReconnectError::Closed)));
    assert!(matches!(
        client.send("x").await,
        Err(ReconnectError::Closed)
    ));
    // A second close does nothing.
    client.close(CloseCode::NORMAL, "").await.unwrap();

    // Well past several backoff periods: no new connection, no new join.
    tokio::time::sleep(ms(250)).await;
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert_eq!(joins.load(Ordering::SeqCst), 1);
    assert!(server.texts.try_recv().is_err());
    assert_eq!(client.state(), LinkState::Closed);

    drop(client);
    assert_eq!(timeout(LIMIT, watcher.changed()).await.unwrap(), None);
}

#[tokio::test]
async fn a_close_by_the_server_is_reported_then_reconnected() {
    let mut server = Server::start(0).await;
    let builder = ReconnectingClient::builder(&server.url())
        .unwrap()
        .backoff(no_jitter(10, 50))
        .healthy_after(Duration::ZERO);
    let (builder, joins) = joining(builder);
    let mut client = timeout(LIMIT, builder.connect()).await.unwrap().unwrap();
    assert_eq!(recv_text(&mut client).await, "join 1");

    client.send("close 1012").await.unwrap();
    match timeout(LIMIT, client.recv()).await.unwrap().unwrap() {
        Event::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::SERVICE_RESTART),
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert!(matches!(
        client.state(),
        LinkState::Reconnecting { attempt: 1, .. }
    ));
    assert_eq!(recv_text(&mut client).await, "join 2");
    assert_eq!(joins.load(Ordering::SeqCst), 2);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    assert_eq!(server.next_text().await, "join 1");
    assert_eq!(server.next_text().await, "close 1012");
    assert_eq!(server.next_text().await, "join 2");
    client.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn connection_failures_back_off_then_give_up() {
    // A port with nothing listening: every attempt is refused at once.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let client = ReconnectingClient::builder(&format!("ws://127.0.0.1:{port}/"))
        .unwrap()
        .backoff(no_jitter(40, 1_000))
        .max_attempts(4)
        .build();
    let history = record(client.watch());
    let mut client = client;
    let started = Instant::now();
    let result = timeout(LIMIT, client.recv()).await.unwrap();
    let took = started.elapsed();
    match result {
        Err(ReconnectError::GaveUp {
            attempts: 4,
            last: StreamError::Io(e),
        }) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("expected GaveUp after 4 attempts, got {other:?}"),
    }
    // Waits of 40 + 80 + 160 ms between the four attempts.
    assert!(took >= ms(280) && took < Duration::from_secs(2), "{took:?}");
    assert_eq!(client.state(), LinkState::Closed);
    assert!(matches!(client.recv().await, Err(ReconnectError::Closed)));

    tokio::task::yield_now().await;
    let history = history.lock().unwrap().clone();
    let expected_waits = [(2, ms(40)), (3, ms(80)), (4, ms(160))];
    let waits: Vec<(u32, Duration)> = history
        .iter()
        .filter_map(|s| match s {
            LinkState::Reconnecting { attempt, delay } => Some((*attempt, *delay)),
            _ => None,
        })
        .collect();
    assert_eq!(waits, expected_waits, "{history:?}");
    assert_eq!(history.first(), Some(&LinkState::Connecting { attempt: 1 }));
    assert_eq!(history.last(), Some(&LinkState::Closed), "{history:?}");
}

#[tokio::test]
async fn a_failing_hook_counts_as_a_failed_attempt() {
    let mut server = Server::start(0).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mut client = ReconnectingClient::builder(&server.url())
        .unwrap()
        .backoff(no_jitter(10, 50))
        .on_connect(move |ws| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                if n < 3 {
                    // Refuse the first two connections.
                    return Err(StreamError::Closed);
                }
                ws.send(format!("join {n}")).await
            })
        })
        .connect()
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    assert_eq!(server.next_text().await, "join 3");
    assert_eq!(recv_text(&mut client).await, "join 3");
    client.close(CloseCode::NORMAL, "").await.unwrap();
}

/// A server that upgrades every connection, keeps it `hold`, then ends it:
/// with a Close of `code`, or with a bare FIN when `code` is `None`.
/// Returns its address and a count of the connections it took.
async fn accept_then_end(hold: Duration, code: Option<CloseCode>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = accept(tcp).await else {
                    return;
                };
                tokio::time::sleep(hold).await;
                match code {
                    Some(code) => {
                        let _ = ws.close(code, "later").await;
                        while ws.recv().await.is_ok() {}
                    }
                    None => drop(ws), // FIN, no Close
                }
            });
        }
    });
    (url, count)
}

fn fast_backoff() -> Backoff {
    Backoff {
        initial: ms(20),
        max: Duration::from_secs(2),
        multiplier: 2.0,
        jitter: 0.0,
    }
}

#[tokio::test]
async fn a_server_that_accepts_then_closes_at_once_is_not_hammered() {
    for code in [Some(CloseCode::TRY_AGAIN_LATER), None] {
        let (url, connections) = accept_then_end(Duration::ZERO, code).await;
        let mut client = ReconnectingClient::builder(&url)
            .unwrap()
            .backoff(fast_backoff())
            .build();
        // At a constant 20 ms this would be about 75 connections.
        let _ = timeout(Duration::from_millis(1500), async {
            loop {
                let _ = client.recv().await;
            }
        })
        .await;
        let n = connections.load(Ordering::SeqCst);
        // Waits 20, 40, 80, 160, 320, 640 ms: about 7 in 1.5 s.
        assert!((4..=9).contains(&n), "{code:?}: {n} connections in 1.5 s");
    }
}

#[tokio::test]
async fn short_lived_connections_count_toward_max_attempts() {
    let (url, connections) = accept_then_end(Duration::ZERO, None).await;
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .backoff(fast_backoff())
        .max_attempts(3)
        .build();
    let gave_up = timeout(LIMIT, first_error(&mut client)).await.unwrap();
    assert!(
        matches!(gave_up, ReconnectError::GaveUp { attempts: 3, .. }),
        "{gave_up}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    assert_eq!(client.state(), LinkState::Closed);
}

#[tokio::test]
async fn a_healthy_connection_starts_the_backoff_over() {
    // Each connection lives 150 ms, past `healthy_after`: the client never
    // gives up, and each reconnection waits only the first delay.
    let (url, connections) = accept_then_end(ms(150), Some(CloseCode::GOING_AWAY)).await;
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .backoff(fast_backoff())
        .healthy_after(ms(100))
        .max_attempts(2)
        .build();
    let result = timeout(Duration::from_millis(1200), first_error(&mut client)).await;
    assert!(
        result.is_err(),
        "gave up: {:?}",
        result.map(|e| e.to_string())
    );
    // About one connection every 150 + 20 ms.
    let n = connections.load(Ordering::SeqCst);
    assert!(n >= 5, "{n} connections in 1.2 s");

    // 1013 after a healthy connection: not a failed attempt (no giving
    // up), but the waits keep growing, as the server asked.
    let (url, _connections) = accept_then_end(ms(150), Some(CloseCode::TRY_AGAIN_LATER)).await;
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .backoff(fast_backoff())
        .healthy_after(ms(100))
        .max_attempts(2)
        .build();
    let history = record(client.watch());
    let result = timeout(Duration::from_millis(1500), first_error(&mut client)).await;
    assert!(
        result.is_err(),
        "gave up: {:?}",
        result.map(|e| e.to_string())
    );
    let waits = waits_of(&history);
    assert!(waits.len() >= 3, "{waits:?}");
    assert!(waits.windows(2).all(|w| w[1] > w[0]), "growing: {waits:?}");
}

/// Receives until the client reports an error (it gave up, or was told to
/// stop), and gives that error.
async fn first_error(client: &mut ReconnectingClient) -> ReconnectError {
    loop {
        if let Err(e) = client.recv().await {
            return e;
        }
    }
}

/// The waits a client announced, in order.
fn waits_of(history: &Mutex<Vec<LinkState>>) -> Vec<Duration> {
    history
        .lock()
        .unwrap()
        .iter()
        .filter_map(|s| match s {
            LinkState::Reconnecting { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn policy_violation_is_not_retried_by_default() {
    let (url, connections) = accept_then_end(ms(50), Some(CloseCode::POLICY_VIOLATION)).await;
    let mut client = ReconnectingClient::builder(&url)
        .unwrap()
        .backoff(fast_backoff())
        .build();
    let code = match timeout(LIMIT, client.recv()).await.unwrap() {
        Ok(Event::Close(Some(frame))) => frame.code,
        other => panic!("{other:?}"),
    };
    assert_eq!(code, CloseCode::POLICY_VIOLATION);
    match timeout(LIMIT, client.recv()).await.unwrap() {
        Err(ReconnectError::Stopped { code }) => assert_eq!(code, CloseCode::POLICY_VIOLATION),
        other => panic!("{other:?}"),
    }
    assert!(matches!(client.recv().await, Err(ReconnectError::Closed)));
    tokio::time::sleep(ms(200)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "no second connection"
    );
    assert_eq!(client.state(), LinkState::Closed);
}

#[tokio::test]
async fn the_retry_policy_is_the_users() {
    // 1008 retried, an application code refused.
    for (code, retried) in [
        (CloseCode::POLICY_VIOLATION, true),
        (CloseCode(4001), false),
    ] {
        let (url, connections) = accept_then_end(ms(20), Some(code)).await;
        let mut client = ReconnectingClient::builder(&url)
            .unwrap()
            .backoff(fast_backoff())
            .retry(|code| match code.0 {
                4001 => Retry::Stop,
                _ => Retry::Backoff,
            })
            .build();
        let _ = timeout(Duration::from_millis(600), async {
            while client.recv().await.is_ok() {}
        })
        .await;
        let n = connections.load(Ordering::SeqCst);
        assert_eq!(n > 1, retried, "{code:?}: {n} connections");
    }
}

#[tokio::test]
async fn going_away_and_restart_come_back_after_the_first_wait_once() {
    for code in [CloseCode::GOING_AWAY, CloseCode::SERVICE_RESTART] {
        // Short-lived connections, each closed with `code`: the waits stay
        // back at the first wait only once; after that they grow again (a
        // server that keeps doing it is not hammered), and each counts
        // toward max_attempts.
        let (url, connections) = accept_then_end(ms(20), Some(code)).await;
        let backoff = Backoff {
            jitter: 0.5,
            ..fast_backoff()
        };
        let mut client = ReconnectingClient::builder(&url)
            .unwrap()
            .backoff(backoff)
            .max_attempts(6)
            .build();
        let history = record(client.watch());
        let ended = timeout(LIMIT, first_error(&mut client)).await.unwrap();
        assert!(
            matches!(ended, ReconnectError::GaveUp { attempts: 6, .. }),
            "{ended}"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 6);
        let waits = waits_of(&history);
        assert_eq!(waits.len(), 5, "{waits:?}");
        // 20 ms halved at most by the jitter, then 40, 80, 160, 320 likewise.
        for (i, wait) in waits.iter().enumerate() {
            let base = ms(20 << i);
            assert!(
                *wait >= base / 2 && *wait <= base,
                "{code:?} {i}: {waits:?}"
            );
        }
    }
}

/// Receives until a pong, skipping anything else, and gives its payload.
async fn next_pong(client: &mut ReconnectingClient) -> Vec<u8> {
    loop {
        match timeout(LIMIT, client.recv()).await.unwrap().unwrap() {
            Event::Pong(payload) => return payload.to_vec(),
            Event::Text(_) => {}
            other => panic!("expected a pong, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn ping_goes_out_on_the_open_connection_only() {
    let server = Server::start(0).await;
    let port = server.port;
    let mut client = timeout(
        LIMIT,
        ReconnectingClient::builder(&server.url())
            .unwrap()
            .backoff(no_jitter(20, 100))
            .connect(),
    )
    .await
    .unwrap()
    .unwrap();

    // The server's core answers the ping; its pong comes through recv.
    client.ping("probe 1").await.unwrap();
    assert_eq!(next_pong(&mut client).await, b"probe 1");
    client.pong("one-way").await.unwrap();
    client.ping(&b"probe 2"[..]).await.unwrap();
    assert_eq!(next_pong(&mut client).await, b"probe 2");
    // The core's rule for control frames (at most 125 bytes) applies.
    match client.ping(vec![0u8; 126]).await {
        Err(ReconnectError::Stream(StreamError::Send(SendError::ControlPayloadTooLarge(126)))) => {}
        other => panic!("expected ControlPayloadTooLarge, got {other:?}"),
    }

    // With the server gone, nothing is sent or queued.
    server.stop().await;
    assert!(timeout(ms(150), client.recv()).await.is_err());
    assert!(!client.state().is_open(), "{:?}", client.state());
    assert!(matches!(
        client.ping("lost").await,
        Err(ReconnectError::NoConnection)
    ));
    assert!(matches!(
        client.pong("lost").await,
        Err(ReconnectError::NoConnection)
    ));

    // Back on the same port: pings work on the new connection.
    let _server = Server::start(port).await;
    let mut watcher = client.watch();
    timeout(LIMIT, async {
        loop {
            tokio::select! {
                _ = client.recv() => {}
                _ = watcher.wait_for(LinkState::is_open) => break,
            }
        }
    })
    .await
    .unwrap();
    client.ping("probe 3").await.unwrap();
    assert_eq!(next_pong(&mut client).await, b"probe 3");

    client.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(
        client.ping("late").await,
        Err(ReconnectError::Closed)
    ));
}

/// A server that selects `chat.v2` (with the extensions its config
/// offers) on odd connections and `chat.v1` without extensions on even
/// ones, holds each connection 50 ms and then closes it with 1012.
async fn negotiating_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        for n in 1.. {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let accepted = rfc6455::tokio::accept_with(tcp, config(), |request| {
                    assert_eq!(request.protocols(), ["chat.v2", "chat.v1"]);
                    Ok(if n % 2 == 1 {
                        AcceptOptions::default().protocol("chat.v2")
                    } else {
                        AcceptOptions::default()
                            .protocol("chat.v1")
                            .decline_extensions()
                    })
                });
                let Ok(mut ws) = accepted.await else {
                    return;
                };
                tokio::time::sleep(ms(50)).await;
                let _ = ws.close(CloseCode::SERVICE_RESTART, "").await;
                while ws.recv().await.is_ok() {}
            });
        }
    });
    url
}

/// With the feature `deflate`, a config that offers (and accepts)
/// permessage-deflate.
fn config() -> Config {
    #[cfg(feature = "deflate")]
    return Config::default().deflate(rfc6455::deflate::DeflateConfig::default());
    #[cfg(not(feature = "deflate"))]
    Config::default()
}

#[tokio::test]
async fn protocol_and_extensions_are_the_current_connections() {
    let url = negotiating_server().await;
    let client = ReconnectingClient::builder_with(move || {
        Ok(ClientRequest::new(&url)?.protocols(["chat.v2", "chat.v1"])?)
    })
    .config(config())
    .backoff(no_jitter(10, 50))
    .build();
    // Nothing is agreed before the first connection.
    assert_eq!(client.protocol(), None);
    assert!(client.agreed_extensions().is_none());

    let mut client = client;
    // The first recv connects, then gets the server's 1012.
    assert!(matches!(
        timeout(LIMIT, client.recv()).await.unwrap(),
        Ok(Event::Close(Some(_)))
    ));
    // Closed by the server: nothing agreed until the next connection.
    assert_eq!(client.protocol(), None);
    assert!(client.agreed_extensions().is_none());

    let mut watcher = client.watch();
    let mut seen = Vec::new();
    timeout(LIMIT, async {
        while seen.len() < 2 {
            tokio::select! {
                _ = client.recv() => {}
                _ = watcher.changed() => {
                    if client.state().is_open() {
                        let extended = !client.agreed_extensions().unwrap().is_empty();
                        seen.push((client.protocol().map(str::to_owned), extended));
                    }
                }
            }
        }
    })
    .await
    .unwrap();
    // The second connection agreed on chat.v1 without extensions, the
    // third on chat.v2 with deflate (when the feature offers it).
    let with_deflate = cfg!(feature = "deflate");
    assert_eq!(
        seen,
        [
            (Some("chat.v1".to_owned()), false),
            (Some("chat.v2".to_owned()), with_deflate),
        ]
    );
    client.close(CloseCode::NORMAL, "").await.unwrap();
    assert_eq!(client.protocol(), None);
}

/// A server that reports every event it receives, echoes data messages,
/// and can be stopped (listener dropped, connections killed).
struct Recorder {
    port: u16,
    task: JoinHandle<()>,
    events: mpsc::UnboundedReceiver<Event>,
}

impl Recorder {
    async fn start(port: u16) -> Recorder {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .unwrap();
        let listener = socket.listen(64).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut live = JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let tx = tx.clone();
                live.spawn(async move {
                    let Ok(mut ws) = accept(tcp).await else {
                        return;
                    };
                    while let Ok(event) = ws.recv().await {
                        let _ = tx.send(event.clone());
                        if let Some(message) = event.into_message() {
                            if ws.send(message).await.is_err() {
                                break;
                            }
                        }
                    }
                });
                while live.try_join_next().is_some() {}
            }
        });
        Recorder { port, task, events }
    }

    async fn next(&mut self) -> Event {
        timeout(LIMIT, self.events.recv()).await.unwrap().unwrap()
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

#[tokio::test]
async fn split_halves_work_from_two_tasks_across_a_reconnection() {
    let mut server = Recorder::start(0).await;
    let port = server.port;
    let client = timeout(
        LIMIT,
        ReconnectingClient::builder(&format!("ws://127.0.0.1:{port}/"))
            .unwrap()
            .backoff(no_jitter(20, 100))
            .healthy_after(Duration::ZERO)
            .connect(),
    )
    .await
    .unwrap()
    .unwrap();
    let mut watcher = client.watch();
    let (mut reader, mut writer) = client.split();
    assert_eq!(reader.state(), LinkState::Open);

    // The reader runs in its own task and reports what it receives.
    let (tx, mut received) = mpsc::unbounded_channel();
    let reading = tokio::spawn(async move {
        loop {
            let event = reader.recv().await;
            let end = event.is_err();
            let _ = tx.send(event);
            if end {
                return reader;
            }
        }
    });
    let mut next = async || timeout(LIMIT, received.recv()).await.unwrap().unwrap();

    // Every kind of frame the writer sends.
    writer.send("text").await.unwrap();
    writer.send(Bytes::from_static(b"\x00\x01")).await.unwrap();
    writer
        .send(Message::Binary(Bytes::from_static(b"\x02")))
        .await
        .unwrap();
    writer.ping("ping").await.unwrap();
    writer.pong("pong").await.unwrap();
    assert_eq!(server.next().await, Event::Text("text".into()));
    assert_eq!(
        server.next().await,
        Event::Binary(Bytes::from_static(b"\x00\x01"))
    );
    assert_eq!(
        server.next().await,
        Event::Binary(Bytes::from_static(b"\x02"))
    );
    assert_eq!(
        server.next().await,
        Event::Ping(Bytes::from_static(b"ping"))
    );
    assert_eq!(
        server.next().await,
        Event::Pong(Bytes::from_static(b"pong"))
    );
    assert_eq!(next().await.unwrap(), Event::Text("text".into()));
    assert_eq!(
        next().await.unwrap(),
        Event::Binary(Bytes::from_static(b"\x00\x01"))
    );
    assert_eq!(
        next().await.unwrap(),
        Event::Binary(Bytes::from_static(b"\x02"))
    );
    assert_eq!(
        next().await.unwrap(),
        Event::Pong(Bytes::from_static(b"ping"))
    );

    // The server goes away: the writer hands messages back and sends no
    // control frame while the reader reconnects.
    server.stop().await;
    timeout(LIMIT, watcher.wait_for(|state| !state.is_open()))
        .await
        .unwrap()
        .unwrap();
    match writer.send("lost").await {
        Err(ReconnectError::NotConnected(message)) => assert_eq!(message, Message::from("lost")),
        other => panic!("expected NotConnected, got {other:?}"),
    }
    assert!(matches!(
        writer.ping("lost").await,
        Err(ReconnectError::NoConnection)
    ));

    // Back: the writer sends on the reader's new connection.
    let mut server = Recorder::start(port).await;
    timeout(LIMIT, watcher.wait_for(LinkState::is_open))
        .await
        .unwrap()
        .unwrap();
    writer.send("again").await.unwrap();
    assert_eq!(server.next().await, Event::Text("again".into()));
    assert_eq!(next().await.unwrap(), Event::Text("again".into()));

    // The writer's close ends the client: the reader gets the server's
    // reply, then Closed, and nothing reconnects.
    writer.close(CloseCode::NORMAL, "bye").await.unwrap();
    match next().await {
        Ok(Event::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::NORMAL),
        other => panic!("expected the close reply, got {other:?}"),
    }
    assert!(matches!(next().await, Err(ReconnectError::Closed)));
    let reader = timeout(LIMIT, reading).await.unwrap().unwrap();
    assert_eq!(reader.state(), LinkState::Closed);
    assert!(matches!(
        writer.send("late").await,
        Err(ReconnectError::Closed)
    ));
    writer.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn the_writers_close_stops_a_reader_waiting_to_reconnect() {
    // Nothing listens: the reader waits a long backoff between attempts.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let client = ReconnectingClient::builder(&format!("ws://127.0.0.1:{port}/"))
        .unwrap()
        .backoff(no_jitter(60_000, 60_000))
        .build();
    let mut watcher = client.watch();
    let (mut reader, mut writer) = client.split();
    let reading = tokio::spawn(async move { reader.recv().await });
    timeout(
        LIMIT,
        watcher.wait_for(|state| matches!(state, LinkState::Reconnecting { .. })),
    )
    .await
    .unwrap()
    .unwrap();
    // The close code is checked by the core's rule even with no connection.
    match writer.close(CloseCode::NO_STATUS, "").await {
        Err(ReconnectError::Stream(StreamError::Send(SendError::InvalidCloseCode(1005)))) => {}
        other => panic!("expected InvalidCloseCode, got {other:?}"),
    }
    match writer.close(CloseCode::NORMAL, &"x".repeat(124)).await {
        Err(ReconnectError::Stream(StreamError::Send(SendError::CloseReasonTooLong(124)))) => {}
        other => panic!("expected CloseReasonTooLong, got {other:?}"),
    }
    assert!(!reading.is_finished());
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    let ended = timeout(LIMIT, reading).await.unwrap().unwrap();
    assert!(matches!(ended, Err(ReconnectError::Closed)), "{ended:?}");
    // The reader, dropped with its task, was the last to publish.
    assert_eq!(
        timeout(LIMIT, watcher.changed()).await.unwrap(),
        Some(LinkState::Closed)
    );
    assert_eq!(timeout(LIMIT, watcher.changed()).await.unwrap(), None);
}

#[tokio::test]
async fn dropping_the_reader_closes_the_writer() {
    let server = Server::start(0).await;
    let client = timeout(
        LIMIT,
        ReconnectingClient::builder(&server.url())
            .unwrap()
            .connect(),
    )
    .await
    .unwrap()
    .unwrap();
    let mut watcher = client.watch();
    let (reader, mut writer) = client.split();
    writer.send("before").await.unwrap();
    drop(reader);
    assert_eq!(
        timeout(LIMIT, watcher.changed()).await.unwrap(),
        Some(LinkState::Closed)
    );
    assert!(matches!(
        writer.send("after").await,
        Err(ReconnectError::Closed)
    ));
    assert!(matches!(
        writer.ping("after").await,
        Err(ReconnectError::Closed)
    ));
}
