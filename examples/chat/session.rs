//! One WebSocket connection: its `recv` loop turns JSON commands into chat
//! calls and, through the attached hub subscriber, writes what the rooms
//! send it. No second task, no lock held while writing.

use std::net::SocketAddr;
use std::sync::Arc;

use rfc6455::axum::WebSocket;
use rfc6455::handshake::HttpVersion;
use rfc6455::{Event, ShutdownGuard, StreamError};

use crate::protocol::ClientMessage;
use crate::room::{error, Chat};

/// Runs a session on `ws`, which came from `peer` over `version`.
pub async fn run(
    mut ws: WebSocket,
    chat: Arc<Chat>,
    shutdown: ShutdownGuard,
    peer: SocketAddr,
    version: HttpVersion,
) {
    let me = chat.hub().subscriber();
    ws.attach(&me);
    // Ctrl-C or SIGTERM: the stream closes itself with 1001.
    ws.set_shutdown(shutdown);
    let registration = chat.connect(&me);
    let id = me.id();
    eprintln!("chat: session {peer} over {version}: client {id}");
    let ending = loop {
        tokio::select! {
            // `recv` is cancel-safe: losing the race to a cut loses nothing.
            event = ws.recv() => match event {
                Ok(Event::Text(text)) => handle(&chat, &me, &text),
                Ok(Event::Binary(_)) => error(&me, "binary", "send JSON text messages"),
                Ok(Event::Ping(_) | Event::Pong(_)) => {}
                Ok(Event::Close(frame)) => break format!("closed {frame:?}"),
                Err(StreamError::Closed) => break "closed".into(),
                Err(e) => break format!("failed: {e}"),
            },
            // Cut: drop the socket, no close frame.
            () = registration.cut.notified() => break "cut by the admin route".into(),
        }
    };
    // Too slow (the hub closed it with 1008) or cut: dropped by the server.
    let dropped = me.is_evicted() || ending.starts_with("cut");
    let reason = if dropped { "dropped" } else { "disconnected" };
    if me.is_evicted() {
        eprintln!("chat: client {id} was not reading; dropped with 1008");
    }
    chat.disconnect(&me, reason);
    eprintln!("chat: client {id} gone: {ending}");
}

fn handle(chat: &Chat, me: &rfc6455::hub::Subscriber, text: &str) {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Join { name, room }) => chat.join(me, &name, &room),
        Ok(ClientMessage::Leave) => chat.leave(me),
        Ok(ClientMessage::Say { text }) => chat.say(me, &text),
        Ok(ClientMessage::Dm { to, text }) => chat.dm(me, &to, &text),
        Err(e) => error(me, "bad_request", &e.to_string()),
    }
}
