//! The read-buffer reservation in the tokio adapter against the core's
//! shrink threshold. It once remembered the largest frame that took
//! several reads for the connection's life, so after one frame of 60 KiB
//! or more every wake-up from idle reserved 68 KiB, above what the core
//! keeps (64 KiB): each small message then cost a fresh 68 KiB allocation,
//! and a kept small message pinned one. It now expects what the last
//! message brought, up to 60 KiB.
#![cfg(feature = "tokio")]

use std::time::Duration;

use rfc6455::tokio::{accept_with, WebSocketStream};
use rfc6455::{Config, Event};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

mod loopback;
use loopback::{listener, raw_client};

mod counting;

const LIMIT: Duration = Duration::from_secs(5);

fn masked_binary(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x82];
    if payload.len() < 126 {
        f.push(0x80 | payload.len() as u8);
    } else if payload.len() <= 0xffff {
        f.push(0x80 | 126);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    }
    f.extend_from_slice(&[0, 0, 0, 0]); // a zero key: payload unchanged
    f.extend_from_slice(payload);
    f
}

/// Bytes allocated on this thread per small message, each arriving while
/// the server is idle, after `primer` (if any) was received in two reads.
async fn per_message(primer: Option<usize>) -> u64 {
    per_message_keeping(primer, false).await.0
}

/// As `per_message`, and the live bytes per message when the application
/// keeps every received message.
async fn per_message_keeping(primer: Option<usize>, keep: bool) -> (u64, i64) {
    let (listener, url) = listener().await;
    let (mut tcp, accepted) = tokio::join!(raw_client(&url), async {
        let (tcp, _) = listener.accept().await.unwrap();
        accept_with(tcp, Config::default(), |_| Ok(Default::default()))
            .await
            .unwrap()
    });
    let mut ws: WebSocketStream<TcpStream> = accepted;
    if let Some(size) = primer {
        let frame = masked_binary(&vec![7u8; size]);
        tcp.write_all(&frame[..100]).await.unwrap();
        let recv = tokio::spawn(async move {
            let e = timeout(LIMIT, ws.recv()).await.unwrap().unwrap();
            assert!(matches!(e, Event::Binary(ref b) if b.len() == size));
            ws
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        tcp.write_all(&frame[100..]).await.unwrap();
        ws = recv.await.unwrap();
    }
    let small = masked_binary(b"hello");
    // Warm up, then measure.
    for _ in 0..5 {
        tcp.write_all(&small).await.unwrap();
        timeout(LIMIT, ws.recv()).await.unwrap().unwrap();
    }
    const N: u64 = 200;
    let mut kept = Vec::new();
    let live_before = counting::live();
    let before = counting::allocated();
    for _ in 0..N {
        tcp.write_all(&small).await.unwrap();
        let e = timeout(LIMIT, ws.recv()).await.unwrap().unwrap();
        assert!(matches!(e, Event::Binary(_)));
        if keep {
            kept.push(e);
        }
    }
    let per = (counting::allocated() - before) as u64 / N;
    let live = (counting::live() - live_before) as i64 / N as i64;
    drop(kept);
    (per, live)
}

/// An application that keeps small messages (a chat history, a cache)
/// holds, for each 5-byte message, at most about one small read buffer,
/// even after the peer sent one 64 KiB frame. (It once held the 68 KiB
/// buffer that every later read reserved: a hostile peer multiplied what
/// its kept messages cost by several hundred.) A fresh connection's figure
/// depends on what this thread's kept read buffers hold, so the bound is
/// absolute: two 4 KiB reads.
#[tokio::test]
async fn kept_small_messages_do_not_pin_a_large_buffer_after_one_large_frame() {
    let (_, fresh) = per_message_keeping(None, true).await;
    let (_, primed) = per_message_keeping(Some(64 * 1024), true).await;
    println!("live bytes per kept 5-byte message: fresh {fresh}, after one 64 KiB frame {primed}");
    assert!(
        primed <= 2 * 4096,
        "each kept 5-byte message holds {primed} bytes (fresh connection: {fresh})"
    );
}

/// A connection that once received a 64 KiB frame (in two reads) goes
/// back to allocating about what a fresh one does per 5-byte message. (It
/// once allocated ~68 KiB for each: every read reserved room for another
/// 64 KiB frame, above what the core keeps once the buffer empties.)
#[tokio::test]
async fn one_large_frame_does_not_make_later_messages_allocate() {
    let fresh = per_message(None).await;
    let primed = per_message(Some(64 * 1024)).await;
    println!("bytes allocated per 5-byte message: fresh {fresh}, after one 64 KiB frame {primed}");
    assert!(
        primed <= fresh + 4096,
        "after one 64 KiB frame every 5-byte message allocates {primed} bytes (fresh connection: {fresh})"
    );
}

/// Control: a 16 KiB frame (the workload) does not churn.
#[tokio::test]
async fn a_16_kib_frame_does_not_churn() {
    let fresh = per_message(None).await;
    let primed = per_message(Some(16 * 1024)).await;
    println!("bytes allocated per 5-byte message: fresh {fresh}, after one 16 KiB frame {primed}");
    assert!(primed <= fresh + 4096, "{primed} vs {fresh}");
}
