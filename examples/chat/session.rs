//! One WebSocket connection: a reader (this task) that turns JSON commands
//! into hub calls, and a writer task that drains the client's bounded
//! queue into the socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rfc6455::axum::WebSocket;
use rfc6455::handshake::HttpVersion;
use rfc6455::hyper::UpgradedIo;
use rfc6455::tokio::{WebSocketReader, WebSocketWriter};
use rfc6455::{CloseCode, Event, Message, StreamError, Utf8Bytes};
use tokio::sync::{mpsc, watch};

use crate::protocol::ClientMessage;
use crate::room::{Handle, Hub, Kick};

/// How long the writer tries to get a close frame out to a peer that may
/// not be reading.
const CLOSE_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs a session on `ws`, which came from `peer` over `version`.
pub async fn run(ws: WebSocket, hub: Arc<Hub>, peer: SocketAddr, version: HttpVersion) {
    let Handle { id, queue, kick } = hub.connect();
    eprintln!("chat: session {peer} over {version}: client {id}");
    let (mut reader, writer) = ws.split();
    let writer = tokio::spawn(write_loop(writer, queue, kick.clone()));
    let ending = read_loop(&mut reader, &hub, id, kick).await;
    hub.disconnect(id); // no-op if the hub removed it already
                        // The writer ends once its queue sender is gone (above) or on a kick.
    let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT * 2, writer).await;
    eprintln!("chat: client {id} gone: {ending}");
}

/// Reads until the connection ends; returns how it ended.
async fn read_loop(
    reader: &mut WebSocketReader<UpgradedIo>,
    hub: &Hub,
    id: u64,
    mut kick: watch::Receiver<Option<Kick>>,
) -> String {
    let mut kicked = false;
    loop {
        tokio::select! {
            // `recv` is cancel-safe: losing the race to a kick loses nothing.
            event = reader.recv() => match event {
                Ok(Event::Text(text)) => handle(hub, id, &text),
                Ok(Event::Binary(_)) => hub.error(id, "binary", "send JSON text messages"),
                Ok(Event::Ping(_) | Event::Pong(_)) => {}
                Ok(Event::Close(frame)) => return format!("closed {frame:?}"),
                Err(StreamError::Closed) => return "closed".into(),
                Err(e) => return format!("failed: {e}"),
            },
            _ = kick.changed(), if !kicked => {
                kicked = true;
                // Cut: stop at once and drop the socket, no close frame.
                // Otherwise the writer sends the close frame; keep reading
                // for the reply (the close timeout bounds it).
                if *kick.borrow() == Some(Kick::Cut) {
                    return "cut by the admin route".into();
                }
            }
        }
    }
}

fn handle(hub: &Hub, id: u64, text: &str) {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Join { name, room }) => hub.join(id, &name, &room),
        Ok(ClientMessage::Leave) => hub.leave(id),
        Ok(ClientMessage::Say { text }) => hub.say(id, &text),
        Ok(ClientMessage::Dm { to, text }) => hub.dm(id, &to, &text),
        Err(e) => hub.error(id, "bad_request", &e.to_string()),
    }
}

/// Writes queued messages, several per flush when they pile up, until the
/// queue ends or a kick arrives.
async fn write_loop(
    mut writer: WebSocketWriter<UpgradedIo>,
    mut queue: mpsc::Receiver<Utf8Bytes>,
    mut kick: watch::Receiver<Option<Kick>>,
) {
    loop {
        let written = tokio::select! {
            biased;
            _ = kick.changed() => break,
            next = queue.recv() => match next {
                Some(first) => {
                    let batch = async {
                        writer.feed(Message::Text(first)).await?;
                        while let Ok(more) = queue.try_recv() {
                            writer.feed(Message::Text(more)).await?;
                        }
                        writer.flush().await
                    };
                    // A peer that stops reading blocks the flush; the kick
                    // for its full queue must still get through.
                    tokio::select! {
                        result = batch => result,
                        _ = kick.changed() => break,
                    }
                }
                // Removed from the hub: the reader has ended.
                None => break,
            },
        };
        if written.is_err() {
            return; // the reader sees the failure too
        }
    }
    let (code, reason) = match *kick.borrow() {
        Some(Kick::Cut) => return,
        Some(Kick::TooSlow) => (
            CloseCode::POLICY_VIOLATION,
            "too slow: messages were not read in time",
        ),
        Some(Kick::Shutdown) => (CloseCode::GOING_AWAY, "server shutting down"),
        None => (CloseCode::NORMAL, ""),
    };
    // Does nothing if the connection is already closed.
    let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, writer.close(code, reason)).await;
}
