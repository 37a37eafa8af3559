//! The hyper path's request checks on odd `http::Request`s built directly
//! (no network): never a panic, and the status the rule gives.
#![cfg(feature = "hyper")]

use http::{HeaderValue, Method, Request, Version};
use rfc6455::hyper::Upgrade;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn base(version: Version) -> http::request::Builder {
    Request::builder()
        .method(Method::GET)
        .uri("/chat")
        .version(version)
        .header("host", "example.com")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", "13")
}

fn status_of(mut req: Request<()>) -> u16 {
    match Upgrade::new(&mut req) {
        Ok(_) => 101,
        Err(e) => e.to_http::<Vec<u8>>().status().as_u16(),
    }
}

/// PASSES: every odd request is answered with its status; none panics.
#[test]
fn odd_http_requests_get_their_status_without_panicking() {
    let mut wrong = Vec::new();
    let mut check = |name: &str, req: Request<()>, want: &[u16]| {
        let got = status_of(req);
        if !want.contains(&got) {
            wrong.push(format!("{name}: want {want:?}, got {got}"));
        }
    };
    // A valid request without hyper's upgrade extension: 500.
    check(
        "valid, no hyper upgrade",
        base(Version::HTTP_11).body(()).unwrap(),
        &[500],
    );
    check("HTTP/1.0", base(Version::HTTP_10).body(()).unwrap(), &[400]);
    check("HTTP/0.9", base(Version::HTTP_09).body(()).unwrap(), &[400]);
    check(
        "HTTP/2 GET",
        base(Version::HTTP_2).body(()).unwrap(),
        &[400],
    );
    check(
        "HTTP/2 CONNECT without :protocol",
        Request::builder()
            .method(Method::CONNECT)
            .uri("https://example.com/chat")
            .version(Version::HTTP_2)
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap(),
        &[400],
    );
    check(
        "POST",
        base(Version::HTTP_11)
            .method(Method::POST)
            .body(())
            .unwrap(),
        &[400],
    );
    let mut bad_bytes = base(Version::HTTP_11).body(()).unwrap();
    bad_bytes.headers_mut().insert(
        "sec-websocket-key",
        HeaderValue::from_bytes(b"\xff\xfe\xfd").unwrap(),
    );
    check("key not UTF-8", bad_bytes, &[400]);
    let mut two_keys = base(Version::HTTP_11).body(()).unwrap();
    two_keys.headers_mut().append(
        "sec-websocket-key",
        HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAA=="),
    );
    check("two keys", two_keys, &[400]);
    let mut two_versions = base(Version::HTTP_11).body(()).unwrap();
    two_versions
        .headers_mut()
        .append("sec-websocket-version", HeaderValue::from_static("13"));
    check("two versions", two_versions, &[400]);
    let mut v8 = base(Version::HTTP_11).body(()).unwrap();
    v8.headers_mut()
        .insert("sec-websocket-version", HeaderValue::from_static("8"));
    check("version 8", v8, &[426]);
    let mut ver_bytes = base(Version::HTTP_11).body(()).unwrap();
    ver_bytes.headers_mut().insert(
        "sec-websocket-version",
        HeaderValue::from_bytes(b"1\xff").unwrap(),
    );
    check("version not UTF-8", ver_bytes, &[400, 426]);
    let mut origin = base(Version::HTTP_11).body(()).unwrap();
    origin.headers_mut().insert(
        "origin",
        HeaderValue::from_bytes(b"http://\xc3\xa9.com").unwrap(),
    );
    check("origin non-ASCII", origin, &[400]);
    let mut host = base(Version::HTTP_11).body(()).unwrap();
    host.headers_mut()
        .insert("host", HeaderValue::from_static(""));
    check("empty host", host, &[400]);
    let mut nohost = base(Version::HTTP_11).body(()).unwrap();
    nohost.headers_mut().remove("host");
    check("no host, relative uri", nohost, &[400]);
    let mut abs = base(Version::HTTP_11)
        .uri("http://example.com/chat")
        .body(())
        .unwrap();
    abs.headers_mut().remove("host");
    check("no host, absolute uri", abs, &[400, 500]);
    let mut ext = base(Version::HTTP_11).body(()).unwrap();
    ext.headers_mut().insert(
        "sec-websocket-extensions",
        HeaderValue::from_bytes(b"permessage-deflate; \xff").unwrap(),
    );
    check("extensions not UTF-8", ext, &[400]);
    let mut proto = base(Version::HTTP_11).body(()).unwrap();
    proto.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_bytes(b"a,,\x80").unwrap(),
    );
    check("protocol not a token", proto, &[400]);
    let mut cl = base(Version::HTTP_11).body(()).unwrap();
    cl.headers_mut().insert(
        "content-length",
        HeaderValue::from_static("18446744073709551616"),
    );
    check("huge content-length", cl, &[400]);
    let mut te = base(Version::HTTP_11).body(()).unwrap();
    te.headers_mut()
        .insert("transfer-encoding", HeaderValue::from_static("chunked"));
    check("chunked", te, &[400]);
    let star = base(Version::HTTP_11).uri("*").body(()).unwrap();
    check("target *", star, &[400]);
    let mut many = base(Version::HTTP_11).body(()).unwrap();
    for i in 0..10_000 {
        many.headers_mut()
            .append("x-many", HeaderValue::from_str(&i.to_string()).unwrap());
    }
    check("10,000 fields", many, &[400, 431, 500]);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// FAILS (low, pre-existing, not from today): an `http::Request` marked
/// HTTP/3 is read as an HTTP/1.1 upgrade (src/handshake/http.rs: anything
/// not HTTP/2 is `Http11`), so a GET with `Upgrade: websocket` passes the
/// checks and only hyper's missing upgrade makes it 500. HTTP/3 forbids
/// Connection/Upgrade (RFC 9114 §4.2); WebSockets over HTTP/3 are extended
/// CONNECT (RFC 9220). Expected: refused as a request error (400), as
/// HTTP/2 GET is.
#[test]
fn an_http3_get_is_not_taken_for_an_http11_upgrade() {
    let got = status_of(base(Version::HTTP_3).body(()).unwrap());
    assert_eq!(got, 400, "an HTTP/3 GET upgrade passed the request checks");
}
