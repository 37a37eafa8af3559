//! The client's parse of an arbitrary answer to a fixed `ClientRequest`.
//!
//! Input: `[limits, response bytes...]`. The request's key is random, so
//! every occurrence of the RFC 6455 §1.3 sample accept value
//! (`s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`, same length) is replaced by the value
//! that matches this run's key: the fuzzer can then reach the checks after
//! the accept key.
//!
//! - `parse_response` never panics and never uses more than it was given or
//!   more than `max_size` (head and refusal body together).
//! - An accepted answer carries only offered subprotocols and extensions,
//!   depends only on its head, and the permessage-deflate parameters
//!   derived from it build a connection that then reads the bytes after the
//!   head without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{accept_key, ClientRequest, Error, Limits, Parsed};
use rfc6455::{Config, Connection, Extensions, Role};

const SAMPLE_ACCEPT: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fuzz_target!(|data: &[u8]| {
    let [selector, response @ ..] = data else {
        return;
    };
    let limits = match selector % 3 {
        0 => Limits::default(),
        1 => Limits {
            max_size: 300,
            max_headers: 8,
        },
        _ => Limits {
            max_size: 1 << 16,
            max_headers: 300,
        },
    };
    let deflate =
        DeflateConfig::default().server_max_window_bits(if selector & 4 != 0 { 10 } else { 15 });
    let config = Config::default()
        .max_frame_size(256)
        .max_message_size(1024)
        .deflate(deflate.clone());
    let request = ClientRequest::new("ws://example.com/chat")
        .and_then(|r| r.protocols(["chat", "superchat"]))
        .and_then(|r| Extensions::offer(r, &config))
        .expect("a valid request");
    let offered = request
        .extensions_offered()
        .expect("deflate is offered")
        .to_owned();
    let request = request
        .extensions(format!("{offered}, x-test; level=1"))
        .expect("a valid offer");

    let accept = accept_key(request.key().as_bytes());
    let mut buf = response.to_vec();
    for i in 0..buf.len().saturating_sub(SAMPLE_ACCEPT.len() - 1) {
        if buf[i..].starts_with(SAMPLE_ACCEPT) {
            buf[i..i + SAMPLE_ACCEPT.len()].copy_from_slice(accept.as_bytes());
        }
    }

    match request.parse_response(&buf, &limits) {
        Ok(Parsed::Complete(response, len)) => {
            assert!(len <= buf.len() && len <= limits.max_size);
            assert_eq!(response.status(), 101);
            assert_eq!(
                request.parse_response(&buf[..len], &limits),
                Ok(Parsed::Complete(response.clone(), len))
            );
            if let Some(protocol) = response.protocol() {
                assert!(["chat", "superchat"].contains(&protocol));
            }
            for extension in response.extensions() {
                let name = extension.name.to_ascii_lowercase();
                assert!(name == "permessage-deflate" || name == "x-test", "{name}");
            }
            let Ok(extensions) = Extensions::from_response(&response, &config) else {
                return;
            };
            if let Some(params) = extensions.deflate() {
                for bits in [params.server_max_window_bits, params.client_max_window_bits] {
                    assert!((8..=15).contains(&bits));
                }
                assert!(params.server_max_window_bits <= deflate.server_max_window_bits);
            }
            // The bytes after the head are the server's first frames.
            let mut conn = Connection::with_extensions(Role::Client, config, &extensions);
            conn.recv(&buf[len..]);
            while let Ok(Some(_)) = conn.poll_event() {}
        }
        Ok(Parsed::Partial) => assert!(buf.len() < limits.max_size),
        Err(Error::Rejected(rejection)) => {
            assert_ne!(rejection.status, 101);
            assert!(rejection.body.len() <= limits.max_size);
        }
        Err(_) => {}
    }
});
