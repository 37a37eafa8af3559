//! The tokio adapter over real TCP on 127.0.0.1: echo, split halves under
//! load, cancel safety, backpressure, keepalive, close timeout.
#![cfg(feature = "tokio")]

mod common;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rfc6455::tokio::{accept, connect, WebSocketStream};
use rfc6455::{CloseCode, CloseFrame, Config, Error, Event, Message, SendError, StreamError};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn echo_round_trip() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let mut ws = accept(listener.accept().await.unwrap().0).await.unwrap();
        while let Some(message) = ws.recv_message().await.unwrap() {
            ws.send(message).await.unwrap();
        }
        assert!(matches!(ws.state(), rfc6455::State::Closed(s) if s.clean));
    });
    let (mut ws, _) = connect(&url).await.unwrap();
    ws.send("hello").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Event::Text("hello".into()));
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(big.clone()).await.unwrap();
    assert_eq!(
        ws.recv_message().await.unwrap(),
        Some(Message::Binary(big.into()))
    );
    ws.ping("p").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Event::Pong("p".into()));
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap(),
        Event::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))
    );
    assert!(matches!(ws.recv().await, Err(StreamError::Closed)));
    timeout(LIMIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn stream_and_sink() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let ws = accept(listener.accept().await.unwrap().0).await.unwrap();
        let (mut sink, mut stream) = ws.split_sink_stream();
        while let Some(event) = stream.next().await {
            if let Some(message) = event.unwrap().into_message() {
                sink.send(message).await.unwrap();
            }
        }
    });
    let (mut ws, _) = connect(&url).await.unwrap();
    for i in 0..100 {
        ws.feed(format!("m{i}")).await.unwrap();
    }
    ws.flush().await.unwrap();
    for i in 0..100 {
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Event::Text(format!("m{i}").into())
        );
    }
    SinkExt::close(&mut ws).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Event::Close(Some(CloseFrame::new(CloseCode::NORMAL, ""))),
        "the peer's reply to our close is the last item"
    );
    assert!(ws.next().await.is_none(), "the stream ends after the close");
    timeout(LIMIT, server).await.unwrap().unwrap();
}

/// Issue 16: the `Stream` yields what `recv` does, the peer's Close with
/// its code and reason last, then `None`: one loop sees how it ended.
#[tokio::test]
async fn the_stream_yields_the_peer_close_last() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let mut ws = accept(listener.accept().await.unwrap().0).await.unwrap();
        ws.send("hi").await.unwrap();
        ws.ping("p").await.unwrap();
        ws.close(CloseCode(4001), "bye").await.unwrap();
        loop {
            if let Event::Close(frame) = ws.recv().await.unwrap() {
                return frame;
            }
        }
    });
    let (mut ws, _) = connect(&url).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = timeout(LIMIT, ws.next()).await.unwrap() {
        events.push(event.unwrap());
    }
    assert_eq!(
        events,
        [
            Event::Text("hi".into()),
            Event::Ping("p".into()),
            Event::Close(Some(CloseFrame::new(CloseCode(4001), "bye"))),
        ]
    );
    assert!(ws.next().await.is_none(), "the stream stays ended");
    assert!(matches!(ws.recv().await, Err(StreamError::Closed)));
    assert_eq!(
        timeout(LIMIT, server).await.unwrap().unwrap(),
        Some(CloseFrame::new(CloseCode(4001), "")),
        "the close was answered with the same code"
    );
}

/// The split reader's `Stream` ends the same way; the writer sends pongs.
#[tokio::test]
async fn the_split_reader_yields_the_peer_close_last_and_the_writer_pongs() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let mut ws = accept(listener.accept().await.unwrap().0).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Event::Pong("heartbeat".into()));
        ws.close(CloseCode(4001), "bye").await.unwrap();
        while !matches!(ws.recv().await.unwrap(), Event::Close(_)) {}
    });
    let (ws, _) = connect(&url).await.unwrap();
    let (mut reader, mut writer) = ws.split();
    writer.pong("heartbeat").await.unwrap();
    assert!(writer.state().is_open());
    let last = timeout(LIMIT, reader.next()).await.unwrap().unwrap();
    assert_eq!(
        last.unwrap(),
        Event::Close(Some(CloseFrame::new(CloseCode(4001), "bye")))
    );
    assert!(reader.next().await.is_none());
    assert!(!writer.state().is_open());
    assert!(
        writer.pong("late").await.is_err(),
        "nothing is sent after the close"
    );
    timeout(LIMIT, server).await.unwrap().unwrap();
}

/// Helper trait so the test above reads naturally: a whole stream used as
/// both `Sink` and `Stream` through the split halves.
trait SplitSinkStream<S> {
    fn split_sink_stream(
        self,
    ) -> (
        rfc6455::tokio::WebSocketWriter<S>,
        rfc6455::tokio::WebSocketReader<S>,
    );
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> SplitSinkStream<S>
    for WebSocketStream<S>
{
    fn split_sink_stream(
        self,
    ) -> (
        rfc6455::tokio::WebSocketWriter<S>,
        rfc6455::tokio::WebSocketReader<S>,
    ) {
        let (reader, writer) = self.split();
        (writer, reader)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_run_full_duplex_under_load() {
    const N: usize = 3000;
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let ws = accept(listener.accept().await.unwrap().0).await.unwrap();
        let (mut reader, mut writer) = ws.split();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(64);
        let echo = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                writer.send(message).await.unwrap();
            }
            writer
        });
        while let Some(message) = reader.recv_message().await.unwrap() {
            tx.send(message).await.unwrap();
        }
        drop(tx);
        echo.await.unwrap();
    });

    let (ws, _) = connect(&url).await.unwrap();
    let (mut reader, mut writer) = ws.split();
    let sender = tokio::spawn(async move {
        for i in 0..N {
            let size = [1, 100, 5000, 70_000][i % 4];
            let payload = vec![(i % 256) as u8; size];
            writer.send(payload).await.unwrap();
            if i % 500 == 0 {
                writer.ping(i.to_string()).await.unwrap();
            }
        }
        writer
    });
    let mut pongs = 0;
    let mut received = 0;
    while received < N {
        match timeout(LIMIT, reader.recv()).await.unwrap().unwrap() {
            Event::Binary(data) => {
                let size = [1, 100, 5000, 70_000][received % 4];
                assert_eq!(data.len(), size, "message {received}");
                assert!(data.iter().all(|&b| b == (received % 256) as u8));
                received += 1;
            }
            Event::Pong(_) => pongs += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut writer = sender.await.unwrap();
    assert_eq!(
        pongs,
        N.div_ceil(500),
        "every ping answered while the server's writer was busy"
    );
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    while !matches!(reader.recv().await, Ok(Event::Close(_)) | Err(_)) {}
    timeout(LIMIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn pongs_go_out_while_the_writer_half_is_idle() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let ws = accept(listener.accept().await.unwrap().0).await.unwrap();
        let (mut reader, _idle_writer) = ws.split();
        while reader.recv_message().await.unwrap().is_some() {}
    });
    let (mut ws, _) = connect(&url).await.unwrap();
    for i in 0..10 {
        ws.ping(format!("{i}")).await.unwrap();
        assert_eq!(
            timeout(LIMIT, ws.recv()).await.unwrap().unwrap(),
            Event::Pong(format!("{i}").into())
        );
    }
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    while !matches!(ws.recv().await, Ok(Event::Close(_)) | Err(_)) {}
    timeout(LIMIT, server).await.unwrap().unwrap();
}

#[tokio::test]
async fn recv_is_cancel_safe_in_select() {
    const N: usize = 2000;
    let (listener, url) = listener().await;
    let client = tokio::spawn(async move {
        let (mut ws, _) = connect(&url).await.unwrap();
        for i in 0..N {
            // Sizes that often split frames across reads.
            ws.feed(format!("{i:05}-{}", "x".repeat(i % 3000)))
                .await
                .unwrap();
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        while !matches!(ws.recv().await, Ok(Event::Close(_)) | Err(_)) {}
    });
    let mut ws = accept_one(&listener, Config::default()).await;
    let mut received = Vec::new();
    let mut cancelled = 0u32;
    let deadline = Instant::now() + LIMIT;
    loop {
        assert!(Instant::now() < deadline);
        tokio::select! {
            event = ws.recv() => match event.unwrap() {
                Event::Text(text) => received.push(text),
                Event::Close(_) => break,
                _ => {}
            },
            _ = tokio::task::yield_now() => cancelled += 1,
        }
    }
    assert!(cancelled > 0, "the test must actually cancel recv");
    assert_eq!(received.len(), N);
    for (i, text) in received.iter().enumerate() {
        assert_eq!(text.as_str(), format!("{i:05}-{}", "x".repeat(i % 3000)));
    }
    timeout(LIMIT, client).await.unwrap().unwrap();
}

#[tokio::test]
async fn backpressure_bounds_memory_when_the_peer_does_not_read() {
    let (listener, url) = listener().await;
    let _silent = tokio::spawn(async move {
        let tcp = raw_client(&url).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    });
    let high_water = 64 * 1024;
    let mut ws = accept_one(&listener, Config::default().send_high_water(high_water)).await;
    let message = vec![7u8; 16 * 1024];
    let mut queued = 0usize;
    loop {
        match timeout(Duration::from_millis(500), ws.feed(message.clone())).await {
            Ok(result) => {
                result.unwrap();
                queued += 1;
                assert!(ws.buffered_amount() <= high_water + message.len() + 14);
            }
            Err(_) => break, // feed waits: the queue is full and the socket too
        }
        assert!(queued < 100_000, "feed never waited");
    }
    assert!(ws.buffered_amount() > high_water - message.len());
    assert!(ws.buffered_amount() <= high_water + message.len() + 14);
}

#[tokio::test]
async fn hard_cap_errors_instead_of_waiting() {
    let (listener, url) = listener().await;
    let _silent = tokio::spawn(async move {
        let tcp = raw_client(&url).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    });
    let config = Config::default()
        .send_high_water(usize::MAX)
        .max_send_queue(Some(256 * 1024));
    let mut ws = accept_one(&listener, config).await;
    let message = vec![7u8; 16 * 1024];
    let error = loop {
        match timeout(LIMIT, ws.feed(message.clone())).await.unwrap() {
            Ok(()) => ws.flush_now(),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(error, StreamError::Send(SendError::QueueFull { .. })),
        "{error:?}"
    );
    assert!(ws.buffered_amount() <= 256 * 1024);
}

/// Writes what the socket takes right now, without waiting.
trait FlushNow {
    fn flush_now(&mut self);
}

impl FlushNow for WebSocketStream<TcpStream> {
    fn flush_now(&mut self) {
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let _ = std::pin::pin!(self.flush()).as_mut().poll(&mut cx);
    }
}

use std::future::Future;

mod loopback;
use loopback::{accept_one, listener, raw_client};

#[tokio::test]
async fn keepalive_detects_a_silent_peer() {
    let (listener, url) = listener().await;
    let silent = tokio::spawn(async move {
        let mut tcp = raw_client(&url).await;
        let mut seen = Vec::new();
        let _ = timeout(LIMIT, tcp.read_to_end(&mut seen)).await;
        seen
    });
    let config =
        Config::default().keepalive(Duration::from_millis(200), Duration::from_millis(200));
    let mut ws = accept_one(&listener, config).await;
    let started = Instant::now();
    let result = timeout(LIMIT, ws.recv()).await.unwrap();
    assert!(
        matches!(result, Err(StreamError::Protocol(Error::KeepaliveTimeout))),
        "{result:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    drop(ws);
    let frames = common::decode_all(&silent.await.unwrap());
    assert_eq!(frames[0].opcode, rfc6455::frame::OpCode::Ping);
    assert_eq!(common::sent_close_code(&frames), Some(1011));
}

#[tokio::test]
async fn close_timeout_ends_the_wait() {
    let (listener, url) = listener().await;
    let _silent = tokio::spawn(async move {
        let tcp = raw_client(&url).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    });
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let mut ws = accept_one(&listener, config).await;
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    let started = Instant::now();
    let result = timeout(LIMIT, ws.recv()).await.unwrap();
    assert!(
        matches!(result, Err(StreamError::Protocol(Error::CloseTimeout))),
        "{result:?}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

/// A transport whose write shutdown never completes, like TLS flushing
/// close_notify to a peer that does not read, or an HTTP/2 stream with no
/// flow-control window.
struct StuckShutdown(tokio::io::DuplexStream);

impl tokio::io::AsyncRead for StuckShutdown {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for StuckShutdown {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Pending
    }
}

#[tokio::test]
async fn a_transport_shutdown_that_never_completes_is_bounded_by_the_close_timeout() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let mut server =
        WebSocketStream::from_raw(StuckShutdown(a), rfc6455::Role::Server, config.clone(), b"");
    let mut client = WebSocketStream::from_raw(b, rfc6455::Role::Client, config, b"");
    let peer = tokio::spawn(async move {
        client.close(CloseCode::NORMAL, "bye").await.unwrap();
        while client.recv().await.is_ok() {}
    });
    let started = Instant::now();
    let event = timeout(LIMIT, server.recv()).await.expect("recv returned");
    assert!(
        matches!(
            event,
            Ok(Event::Close(Some(CloseFrame {
                code: CloseCode::NORMAL,
                ..
            })))
        ),
        "{event:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(server.recv().await, Err(StreamError::Closed)));
    drop(server);
    peer.await.unwrap();
}

#[tokio::test]
async fn the_close_timeout_counts_from_the_close_not_from_the_last_wake_up() {
    // An idle connection without keepalive last saw the time long before
    // it closes: the timeout must still give the peer its full time.
    let (a, b) = tokio::io::duplex(64 * 1024);
    let config = Config::default().close_timeout(Duration::from_millis(500));
    let mut server = WebSocketStream::from_raw(a, rfc6455::Role::Server, config.clone(), b"");
    let mut client = WebSocketStream::from_raw(b, rfc6455::Role::Client, config, b"");
    client.send("once").await.unwrap();
    assert!(server.recv().await.is_ok());
    tokio::time::sleep(Duration::from_millis(800)).await; // idle, longer than the timeout
    server.close(CloseCode::NORMAL, "bye").await.unwrap();
    let peer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await; // a slow but live peer
        while client.recv().await.is_ok() {}
    });
    let event = timeout(LIMIT, server.recv()).await.unwrap();
    assert!(matches!(event, Ok(Event::Close(_))), "{event:?}");
    peer.await.unwrap();
}

#[tokio::test]
async fn a_shutdown_close_to_a_silent_peer_is_bounded_by_the_close_timeout() {
    let (a, _b) = tokio::io::duplex(64 * 1024); // the peer never answers
    let config = Config::default().close_timeout(Duration::from_millis(300));
    let mut server = WebSocketStream::from_raw(a, rfc6455::Role::Server, config, b"");
    let shutdown = rfc6455::Shutdown::new();
    server.set_shutdown(shutdown.guard());
    let started = Instant::now();
    let waiting = tokio::spawn(async move { timeout(LIMIT, server.recv()).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(50)).await;
    shutdown.signal("restarting");
    let result = waiting.await.unwrap();
    assert!(
        matches!(result, Err(StreamError::Protocol(Error::CloseTimeout))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(shutdown.wait_async(Duration::from_secs(1)).await, 0);
}
