//! Helpers for the two handshake targets: reading back what a handshake
//! machine wrote as HTTP, and summarising the connection it gave.

use rfc6455::handshake::{ClientRequest, Error, Limits};
use rfc6455::{Connection, Event, Extensions};

/// The four `Limits` profiles the targets choose from with two bits.
pub fn limits(selector: u8) -> Limits {
    match selector & 3 {
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
    }
}

/// An HTTP/1.1 response as httparse reads it.
#[derive(Debug)]
pub struct HttpResponse {
    /// The status code.
    pub code: u16,
    /// The fields, names lower-cased, in order.
    pub fields: Vec<(String, Vec<u8>)>,
    /// The head's length in bytes.
    pub head_len: usize,
}

impl HttpResponse {
    /// Parses `bytes` with httparse; the head must be complete.
    pub fn parse(bytes: &[u8]) -> HttpResponse {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut slots);
        let head_len = match response.parse(bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!("not a complete HTTP response ({other:?}): {bytes:?}"),
        };
        assert_eq!(response.version, Some(1), "not HTTP/1.1: {bytes:?}");
        HttpResponse {
            code: response.code.expect("a status"),
            fields: response
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
                .collect(),
            head_len,
        }
    }

    /// The values of the fields called `name` (lower case).
    pub fn all(&self, name: &str) -> Vec<&[u8]> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// The value of the one field called `name` (lower case); panics if it
    /// appears more than once.
    pub fn one(&self, name: &str) -> Option<&[u8]> {
        let all = self.all(name);
        assert!(all.len() <= 1, "{name} appears {} times", all.len());
        all.first().copied()
    }
}

/// Checks a refusal a server wrote: one complete HTTP/1.1 response with
/// `status`, `Connection: close`, a `Content-Length` that frames exactly
/// `body` and ends the bytes, each field of `required` exactly once with
/// its value, and no field it was not meant to have (`forbidden`); names
/// in lower case. A client reads it back as a [`Error::Rejected`] with the
/// same status and body.
pub fn check_refusal(
    bytes: &[u8],
    status: u16,
    body: &[u8],
    required: &[(&str, &[u8])],
    forbidden: &[&str],
) {
    let response = HttpResponse::parse(bytes);
    assert_eq!(response.code, status, "refusal {bytes:?}");
    assert_eq!(response.one("connection"), Some(&b"close"[..]));
    let length = response.one("content-length").expect("a Content-Length");
    assert_eq!(length, body.len().to_string().as_bytes());
    assert_eq!(&bytes[response.head_len..], body, "refusal {bytes:?}");
    assert!(response.all("transfer-encoding").is_empty());
    for (name, value) in required {
        assert_eq!(response.one(name), Some(*value), "{name} in {bytes:?}");
    }
    for name in forbidden {
        assert!(response.all(name).is_empty(), "{name} in {bytes:?}");
    }

    let client = ClientRequest::new("ws://example.com/").expect("a valid URL");
    let roomy = Limits {
        max_size: 1 << 20,
        max_headers: 64,
    };
    match client.parse_response(bytes, &roomy) {
        Err(Error::Rejected(rejection)) => {
            assert_eq!(rejection.status, status);
            assert_eq!(rejection.body, body);
        }
        other => panic!("refusal {bytes:?} read back as {other:?}"),
    }
}

/// What a connection that came out of a handshake holds: the extensions it
/// runs and the events the bytes after the head gave.
#[derive(Debug, PartialEq, Eq)]
pub struct ConnectionSummary {
    /// `Connection::extensions`.
    pub extensions: Extensions,
    /// The events polled, up to the first `Ok(None)` or error (at most 64).
    pub events: Vec<Result<Event, rfc6455::Error>>,
}

impl ConnectionSummary {
    /// Feeds `rest` (and EOF if `eof`) to `conn` and polls its events.
    pub fn new(mut conn: Connection, rest: &[&[u8]], eof: bool) -> ConnectionSummary {
        for chunk in rest {
            conn.recv(chunk);
        }
        if eof {
            conn.recv_eof();
        }
        let mut events = Vec::new();
        for _ in 0..64 {
            match conn.poll_event() {
                Ok(Some(event)) => events.push(Ok(event)),
                Ok(None) => break,
                Err(e) => {
                    events.push(Err(e));
                    break;
                }
            }
        }
        ConnectionSummary {
            extensions: *conn.extensions(),
            events,
        }
    }
}
