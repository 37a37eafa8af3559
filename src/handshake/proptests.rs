//! Property tests: the parsers never panic, never claim more bytes than they
//! were given, and treat every proper prefix of a valid head as partial.

use proptest::prelude::*;

use super::{parse_request, AcceptOptions, ClientRequest, Limits, Parsed};

fn small_limits() -> impl Strategy<Value = Limits> {
    (0usize..600, 0usize..200).prop_map(|(max_size, max_headers)| Limits {
        max_size,
        max_headers,
    })
}

/// Bytes that look enough like HTTP to get past the first line sometimes.
fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"GET / HTTP/1.1\r\n".to_vec()),
        Just(b"HTTP/1.1 101 Switching Protocols\r\n".to_vec()),
        Just(b"HTTP/1.1 400 Bad\r\n".to_vec()),
        Just(b"Upgrade: websocket\r\n".to_vec()),
        Just(b"Connection: Upgrade\r\n".to_vec()),
        Just(b"Host: h\r\n".to_vec()),
        Just(b"Sec-WebSocket-Version: 13\r\n".to_vec()),
        Just(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Content-Length: 3\r\n".to_vec()),
        Just(b"Sec-WebSocket-Extensions: a; b=\"c\"\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"5\r\nhello\r\n0\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..16),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

fn check_consumed<T, E>(result: &Result<Parsed<T>, E>, len: usize) -> Result<(), TestCaseError> {
    if let Ok(Parsed::Complete(_, n)) = result {
        prop_assert!(*n <= len);
    }
    Ok(())
}

proptest! {
    #[test]
    fn request_parser_never_panics(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..700), http_ish()],
        limits in small_limits(),
    ) {
        let r = parse_request(&bytes, &limits);
        check_consumed(&r, bytes.len())?;
        let r = parse_request(&bytes, &Limits::default());
        check_consumed(&r, bytes.len())?;
    }

    #[test]
    fn response_parser_never_panics(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..700), http_ish()],
        limits in small_limits(),
    ) {
        let client = ClientRequest::new("ws://h/").unwrap();
        let r = client.parse_response(&bytes, &limits);
        check_consumed(&r, bytes.len())?;
        let r = client.parse_response(&bytes, &Limits::default());
        check_consumed(&r, bytes.len())?;
    }

    #[test]
    fn truncations_are_partial_and_the_whole_is_complete(
        path in "/[a-z0-9/?=&]{0,20}",
        protocols in proptest::collection::vec("[a-z][a-z0-9.]{0,8}", 0..3),
        trailing in proptest::collection::vec(any::<u8>(), 0..32),
        cut in any::<prop::sample::Index>(),
    ) {
        let client = ClientRequest::new(&format!("ws://example.com:8000{path}"))
            .unwrap()
            .protocols(&protocols)
            .unwrap();
        let head = client.encode();
        let mut buf = head.clone();
        buf.extend_from_slice(&trailing);
        let limits = Limits::default();

        let end = cut.index(head.len());
        prop_assert_eq!(parse_request(&buf[..end], &limits), Ok(Parsed::Partial));
        let request = match parse_request(&buf, &limits) {
            Ok(Parsed::Complete(request, n)) => {
                prop_assert_eq!(n, head.len());
                request
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };

        let options = AcceptOptions {
            protocol: protocols.first().cloned(),
            ..AcceptOptions::default()
        };
        let answer = request.accept(&options, &crate::Config::default()).unwrap().encode();
        let mut buf = answer.clone();
        buf.extend_from_slice(&trailing);
        let end = cut.index(answer.len());
        prop_assert_eq!(client.parse_response(&buf[..end], &limits), Ok(Parsed::Partial));
        match client.parse_response(&buf, &limits) {
            Ok(Parsed::Complete(response, n)) => {
                prop_assert_eq!(n, answer.len());
                prop_assert_eq!(response.protocol(), protocols.first().map(String::as_str));
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }
}
