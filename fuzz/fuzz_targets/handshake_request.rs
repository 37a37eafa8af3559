//! The server's parse of an arbitrary opening handshake, then the answer.
//!
//! Input: `[limits, request bytes...]`; the first byte picks small or
//! default [`Limits`].
//!
//! - `parse_request` never panics and never uses more than it was given or
//!   more than `max_size`.
//! - A complete parse depends only on the head: the head alone parses the
//!   same, and a head cut short is `Partial`.
//! - An accepted request answers with a well-formed 101 whose
//!   `Sec-WebSocket-Accept` matches the key, echoing a chosen subprotocol
//!   and any offered extensions; what permessage-deflate negotiation writes
//!   is always accepted; extra headers are refused or written as exactly
//!   one field each (no injection).
//! - A refusal is a well-formed HTTP response that the client side reads
//!   back as a rejection with the same status and body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{
    format_extensions, parse_extensions, parse_request, AcceptOptions, ClientRequest, Error,
    Limits, Parsed, Request,
};
use rfc6455::{Config, Extensions};

fuzz_target!(|data: &[u8]| {
    let [selector, buf @ ..] = data else {
        return;
    };
    let limits = match selector % 4 {
        0 => Limits::default(),
        1 => Limits {
            max_size: 200,
            max_headers: 8,
        },
        2 => Limits {
            max_size: 1 << 16,
            max_headers: 200,
        },
        _ => Limits {
            max_size: 64,
            max_headers: 0,
        },
    };
    match parse_request(buf, &limits) {
        Ok(Parsed::Complete(request, len)) => {
            assert!(len <= buf.len() && len <= limits.max_size);
            assert_eq!(
                parse_request(&buf[..len], &limits),
                Ok(Parsed::Complete(request.clone(), len))
            );
            if let Ok(shorter) = parse_request(&buf[..len - 1], &limits) {
                assert_eq!(shorter, Parsed::Partial, "a cut head parsed");
            }
            check_request(&request);
        }
        Ok(Parsed::Partial) => assert!(buf.len() < limits.max_size),
        Err(error) => check_refusal(&error),
    }
});

fn check_request(request: &Request) {
    assert_eq!(request.method(), "GET");
    assert_eq!(request.version(), 13);
    assert_eq!(request.key().len(), 24, "key {:?}", request.key());
    assert!(!request.host().is_empty());
    for protocol in request.protocols() {
        assert!(!protocol.is_empty());
    }

    // The plain answer.
    let answer = request
        .accept(&AcceptOptions::default())
        .expect("the default answer is always possible");
    let fields = check_101(&answer, &request.accept_key());
    assert_eq!(fields.len(), 3);

    // Choosing an offered subprotocol.
    if let Some(protocol) = request.protocols().first() {
        let options = AcceptOptions::default().protocol(protocol.clone());
        let answer = request.accept(&options).expect("an offered protocol");
        let fields = check_101(&answer, &request.accept_key());
        assert!(fields.contains(&(
            "sec-websocket-protocol".into(),
            protocol.as_bytes().to_vec()
        )));
    }

    // Echoing every extension offered must be accepted, and must reparse.
    if !request.extensions().is_empty() {
        let value = format_extensions(request.extensions());
        assert_eq!(
            parse_extensions(&value).as_deref(),
            Ok(request.extensions()),
            "extensions do not round-trip through {value:?}"
        );
        let answer = request
            .accept(&AcceptOptions::default().extensions(value))
            .expect("every extension was offered");
        check_101(&answer, &request.accept_key());
    }

    // What permessage-deflate negotiation writes is always acceptable.
    for deflate in [
        DeflateConfig::default(),
        DeflateConfig::default()
            .client_max_window_bits(10)
            .server_no_context_takeover(true),
    ] {
        let config = Config::default().deflate(deflate);
        let mut options = AcceptOptions::default();
        let extensions = Extensions::negotiate_server(request, &mut options, &config);
        assert_eq!(extensions.deflate().is_some(), options.extensions.is_some());
        let answer = request
            .accept(&options)
            .unwrap_or_else(|e| panic!("negotiated answer {options:?} refused: {e}"));
        check_101(&answer, &request.accept_key());
        if let Some(params) = extensions.deflate() {
            for bits in [params.server_max_window_bits, params.client_max_window_bits] {
                assert!((8..=15).contains(&bits));
            }
            // Both ends' codecs can be built from what was agreed.
            let _ = params.compressor(true, 1);
            let _ = params.decompressor(true);
        }
    }

    // Extra headers copied from the request: refused, or one field each.
    for header in request.headers().iter().take(4) {
        let Some(value) = header.value_str() else {
            continue;
        };
        let options = AcceptOptions::default().header(header.name.clone(), value);
        if let Ok(answer) = request.accept(&options) {
            let fields = check_101(&answer, &request.accept_key());
            assert_eq!(fields.len(), 4, "header {header:?} became {fields:?}");
        }
    }
}

/// Parses a 101 answer with httparse; returns its fields (names lower-cased).
fn check_101(answer: &[u8], accept: &str) -> Vec<(String, Vec<u8>)> {
    let mut slots = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut slots);
    let status = response.parse(answer).expect("a well-formed answer");
    assert_eq!(status, httparse::Status::Complete(answer.len()));
    assert_eq!(response.code, Some(101));
    let fields: Vec<_> = response
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    assert!(fields.contains(&("upgrade".into(), b"websocket".to_vec())));
    assert!(fields.contains(&("connection".into(), b"Upgrade".to_vec())));
    assert!(fields.contains(&("sec-websocket-accept".into(), accept.as_bytes().to_vec())));
    fields
}

/// A refusal is a complete HTTP response the client reads back.
fn check_refusal(error: &Error) {
    let response = error.response();
    let client = ClientRequest::new("ws://example.com/").expect("a valid URL");
    let roomy = Limits {
        max_size: 1 << 20,
        max_headers: 16,
    };
    match client.parse_response(&response, &roomy) {
        Err(Error::Rejected(rejection)) => {
            assert_eq!(rejection.status, error.status());
            assert_eq!(rejection.body, format!("{error}\n").into_bytes());
        }
        other => panic!("refusal {response:?} read back as {other:?}"),
    }
}
