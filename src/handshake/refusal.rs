//! A server's decision not to upgrade: the HTTP response to send instead.

use super::server::encode_refusal;

/// An HTTP refusal of an upgrade request, returned by an accept hook.
///
/// ```
/// use rfc6455::handshake::Refusal;
/// let refusal = Refusal::new(401).header("WWW-Authenticate", "Bearer").body("log in first");
/// let bytes = refusal.encode();
/// assert!(bytes.starts_with(b"HTTP/1.1 401 Unauthorized\r\n"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The status code, such as 403.
    pub status: u16,
    /// Extra headers. Header names and values containing CR or LF are
    /// dropped when encoding.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Refusal {
    /// A refusal with `status`, no extra headers and no body.
    pub fn new(status: u16) -> Refusal {
        Refusal {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Refusal {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Refusal {
        self.body = body.into();
        self
    }

    /// The status [`encode`](Refusal::encode) writes: `status`, or 500
    /// when it is outside `200..=999` (a 1xx cannot refuse anything).
    pub fn sent_status(&self) -> u16 {
        super::server::refusal_status(self.status)
    }

    /// The response bytes.
    pub fn encode(&self) -> Vec<u8> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        encode_refusal(self.status, &headers, &self.body)
    }
}
