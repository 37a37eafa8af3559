//! Attacks on the tokio `Stream` of events: the peer's Close last, then
//! `None`, for ever; errors mid-stream; invalid close payloads; the split
//! reader.
#![cfg(feature = "tokio")]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rfc6455::tokio::connect;
use rfc6455::{CloseCode, Config, Event, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

mod loopback;
use loopback::{accept_one, listener, raw_client};

const LIMIT: Duration = Duration::from_secs(5);

fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let key = [1u8, 2, 3, 4];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// Collects the stream's items until `None`, then polls three more times.
async fn drain<S>(ws: &mut S) -> (Vec<Result<Event, String>>, Vec<bool>)
where
    S: futures_util::Stream<Item = Result<Event, StreamError>> + Unpin,
{
    let mut items = Vec::new();
    loop {
        match timeout(LIMIT, ws.next()).await.expect("the stream hung") {
            Some(item) => items.push(item.map_err(|e| format!("{e:?}"))),
            None => break,
        }
        assert!(items.len() < 1000);
    }
    let mut after = Vec::new();
    for _ in 0..3 {
        after.push(
            timeout(LIMIT, ws.next())
                .await
                .expect("poll after None hung")
                .is_none(),
        );
    }
    (items, after)
}

/// PASSES: messages and a Close in one write: every message, the Close
/// last, then None for ever.
/// A short close timeout, so that a peer that never closes costs little.
fn config() -> Config {
    Config::default().close_timeout(Duration::from_millis(300))
}

#[tokio::test]
async fn messages_then_close_in_one_write() {
    let (listener, url) = listener().await;
    let peer = tokio::spawn(async move {
        let mut tcp = raw_client(&url).await;
        let mut bytes = masked(0x1, b"a");
        bytes.extend(masked(0x9, b"p"));
        bytes.extend(masked(0x2, b"b"));
        bytes.extend(masked(0x8, &[0x0f, 0xa0, b'x'])); // 4000 "x"
        bytes.extend(masked(0x1, b"after close")); // must not surface
        tcp.write_all(&bytes).await.unwrap();
        let mut sink = Vec::new();
        let _ = timeout(LIMIT, tcp.read_to_end(&mut sink)).await;
        sink
    });
    let mut ws = accept_one(&listener, config()).await;
    let (items, after) = drain(&mut ws).await;
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(
        matches!(&items[3], Ok(Event::Close(Some(f))) if f.code == CloseCode(4000) && f.reason == "x"),
        "{items:?}"
    );
    assert_eq!(after, [true, true, true]);
    drop(ws);
    peer.await.unwrap();
}

/// PASSES: a close frame with an invalid payload (1 byte, code 1005, bad
/// UTF-8): one error item, then None for ever.
#[tokio::test]
async fn invalid_close_payloads_give_one_error_then_none() {
    for payload in [
        vec![0x03],
        vec![0x03, 0xed],
        vec![0x03, 0xe8, 0xff],
        vec![0x03, 0xee],
    ] {
        let (listener, url) = listener().await;
        let p = payload.clone();
        let peer = tokio::spawn(async move {
            let mut tcp = raw_client(&url).await;
            tcp.write_all(&masked(0x8, &p)).await.unwrap();
            let mut sink = Vec::new();
            let _ = timeout(LIMIT, tcp.read_to_end(&mut sink)).await;
            sink
        });
        let mut ws = accept_one(&listener, config()).await;
        let (items, after) = drain(&mut ws).await;
        assert_eq!(items.len(), 1, "{payload:?}: {items:?}");
        assert!(items[0].is_err(), "{payload:?}: {items:?}");
        assert_eq!(after, [true, true, true]);
        drop(ws);
        let sent = peer.await.unwrap();
        // The server's close: 0x88, len, code 1002 or 1007.
        assert!(sent.len() >= 4 && sent[0] == 0x88, "{payload:?}: {sent:?}");
        let code = u16::from_be_bytes([sent[2], sent[3]]);
        assert!(code == 1002 || code == 1007, "{payload:?}: {code}");
    }
}

/// PASSES: the peer vanishes (TCP FIN, no Close): an error item, not a bare
/// None that would look like a clean end.
#[tokio::test]
async fn a_vanishing_peer_is_an_error_not_a_clean_end() {
    let (listener, url) = listener().await;
    let peer = tokio::spawn(async move {
        let mut tcp = raw_client(&url).await;
        tcp.write_all(&masked(0x1, b"one")).await.unwrap();
        // Half a frame, then gone.
        tcp.write_all(&masked(0x1, b"two")[..3]).await.unwrap();
        drop(tcp);
    });
    let mut ws = accept_one(&listener, config()).await;
    let (items, after) = drain(&mut ws).await;
    peer.await.unwrap();
    assert!(
        matches!(&items[0], Ok(Event::Text(t)) if t == "one"),
        "{items:?}"
    );
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items[1].is_err(), "{items:?}");
    assert_eq!(after, [true, true, true]);
}

/// PASSES: split reader as a Stream while the writer closes through the
/// Sink: the peer's reply last, then None.
#[tokio::test]
async fn split_reader_stream_ends_after_the_writers_close() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let mut ws = accept_one(&listener, config()).await;
        ws.send("hi").await.unwrap();
        while let Ok(event) = ws.recv().await {
            if let Event::Close(_) = event {
                break;
            }
        }
    });
    let (ws, _) = connect(&url).await.unwrap();
    let (mut reader, mut writer) = ws.split();
    let first = timeout(LIMIT, reader.next()).await.unwrap();
    assert!(
        matches!(first, Some(Ok(Event::Text(ref t))) if t == "hi"),
        "{first:?}"
    );
    timeout(LIMIT, SinkExt::close(&mut writer))
        .await
        .unwrap()
        .unwrap();
    let (items, after) = drain(&mut reader).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(
        matches!(&items[0], Ok(Event::Close(Some(f))) if f.code == CloseCode::NORMAL),
        "{items:?}"
    );
    assert_eq!(after, [true, true, true]);
    // Sending after the end is an error, not a hang.
    let sent = timeout(LIMIT, writer.send("late")).await.unwrap();
    assert!(sent.is_err(), "{sent:?}");
    timeout(LIMIT, server).await.unwrap().unwrap();
}
