//! What permessage-deflate costs a server connection in memory, counted by
//! a counting allocator, for the offers real clients send by default.
#![cfg(feature = "deflate")]

mod common;
mod counting;

use bytes::BytesMut;
use common::drain;
use counting::live;
use rfc6455::deflate::{server_accept, Compressor, DeflateConfig};
use rfc6455::handshake::parse_extensions;
use rfc6455::{Config, Connection, Event, Extensions, Role};

/// The offers real clients send by default.
const OFFERS: [(&str, &str); 3] = [
    (
        "python websockets",
        "permessage-deflate; client_max_window_bits",
    ),
    ("chromium", "permessage-deflate; client_max_window_bits"),
    ("node ws", "permessage-deflate; client_max_window_bits"),
];

const JSON: &str = r#"{"type":"message","room":"lobby","from":"alice","text":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem aperiam."}"#;

/// A server and a client connection as the handshake for `offer` with
/// the server's `config` agrees.
fn pair(offer: &str, config: &DeflateConfig) -> (Connection, Connection) {
    let offers = parse_extensions(offer).unwrap();
    let (_, params) = server_accept(&offers, config).expect("accepted");
    let ext = Extensions::with_deflate(params);
    let server = Connection::with_extensions(
        Role::Server,
        Config::default().deflate(config.clone()),
        &ext,
    );
    let client = Connection::with_extensions(
        Role::Client,
        Config::default().deflate(DeflateConfig::default()),
        &ext,
    );
    (server, client)
}

fn pump(from: &mut Connection, to: &mut Connection) {
    to.recv(&drain(from));
}

/// Bytes a server connection holds: after creation, and after echoing one
/// JSON message (about 600 bytes) from the client.
fn server_bytes(offer: Option<&str>, config: &DeflateConfig) -> (isize, isize) {
    let mut client = match offer {
        Some(offer) => pair(offer, config).1,
        None => Connection::new(Role::Client, Config::default()),
    };
    let before = live();
    let mut server = match offer {
        Some(offer) => pair(offer, config).0,
        None => Connection::new(Role::Server, Config::default()),
    };
    // `pair` built a client too: count only what the server keeps.
    let created = live() - before;
    client.send(JSON).unwrap();
    pump(&mut client, &mut server);
    let Some(Event::Text(text)) = server.poll_event().unwrap() else {
        panic!("no message")
    };
    server.send(text).unwrap();
    pump(&mut server, &mut client);
    assert_eq!(client.poll_event().unwrap(), Some(Event::Text(JSON.into())));
    let _ = server.poll_event();
    let after = live() - before;
    drop(server);
    (created, after)
}

/// The chat corpus: one message per line.
const CORPUS: &str = include_str!("../benches/corpus/chat.jsonl");

/// Compressed over raw payload bytes for the corpus sent as `config`
/// compresses (messages under `min_compress_size` go uncompressed).
fn ratio(config: &DeflateConfig) -> f64 {
    let mut own = Compressor::new(
        config.server_max_window_bits,
        false,
        config.compression_level,
    );
    let (mut raw, mut sent) = (0, 0);
    for line in CORPUS.lines() {
        raw += line.len();
        if line.len() < config.min_compress_size {
            sent += line.len();
            continue;
        }
        let mut out = BytesMut::new();
        if config.server_no_context_takeover {
            let mut fresh = Compressor::new(
                config.server_max_window_bits,
                true,
                config.compression_level,
            );
            fresh.compress(line.as_bytes(), &mut out);
        } else {
            own.compress(line.as_bytes(), &mut out);
        }
        sent += out.len();
    }
    sent as f64 / raw as f64
}

fn settings() -> Vec<(&'static str, DeflateConfig)> {
    let takeover = DeflateConfig::default()
        .server_no_context_takeover(false)
        .client_no_context_takeover(false);
    vec![
        (
            "default (no context takeover, level 1)",
            DeflateConfig::default(),
        ),
        (
            "default at level 6",
            DeflateConfig::default().compression_level(6),
        ),
        ("context takeover both ways, level 1", takeover.clone()),
        (
            "context takeover both ways, level 6",
            takeover.compression_level(6),
        ),
    ]
}

#[test]
fn defaults_hold_no_compression_state_between_messages() {
    // Warm the thread's shared compressor and decompressor pool up: they
    // belong to the thread, not to a connection.
    server_bytes(Some(OFFERS[0].1), &DeflateConfig::default());
    let (_, plain) = server_bytes(None, &DeflateConfig::default());
    for (client, offer) in OFFERS {
        let (created, after) = server_bytes(Some(offer), &DeflateConfig::default());
        println!(
            "{client}: {created} B created, {after} B after one echo (uncompressed: {plain} B)"
        );
        assert!(
            created <= 2048,
            "{client}: {created} B for a new connection"
        );
        assert!(
            after <= plain + 2048,
            "{client}: {after} B after one echo, against {plain} B uncompressed"
        );
        assert!(after <= 16 * 1024);
    }
}

#[test]
fn report() {
    server_bytes(Some(OFFERS[0].1), &DeflateConfig::default());
    println!("| setting | server memory after one echo | ratio on chat.jsonl |");
    println!("|---|---:|---:|");
    for (name, config) in settings() {
        // The first echo makes the thread's shared compressor for this
        // level; the second shows what a connection holds.
        server_bytes(Some(OFFERS[0].1), &config);
        let (_, after) = server_bytes(Some(OFFERS[0].1), &config);
        println!(
            "| {name} | {:.1} KiB | {:.3} |",
            after as f64 / 1024.0,
            ratio(&config)
        );
    }
    assert!(CORPUS.lines().count() == 500);
}
