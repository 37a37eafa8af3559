//! Owned HTTP header fields and the small amount of header-value grammar
//! the handshake needs (RFC 7230 §3.2 and §7).

use std::fmt;

/// One HTTP header field, copied out of the parsed buffer.
///
/// The name is kept as received (HTTP names are ASCII tokens, so it is always
/// valid UTF-8); compare it with [`str::eq_ignore_ascii_case`]. The value is
/// raw bytes, because HTTP allows non-UTF-8 `obs-text` in values.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The field name, e.g. `Sec-WebSocket-Key`.
    pub name: String,
    /// The field value with surrounding whitespace removed.
    pub value: Vec<u8>,
}

impl Header {
    /// The value as `&str`, or `None` when it is not valid UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }

    /// Whether this header is called `name` (ASCII case-insensitively).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Copies an `httparse` header, trimming optional whitespace (OWS) around
    /// the value so that later comparisons need not care.
    pub(crate) fn from_httparse(h: &httparse::Header<'_>) -> Self {
        Header {
            name: h.name.to_owned(),
            value: trim_ows(h.value).to_vec(),
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lossy so that binary values still show up readably in test output.
        write!(
            f,
            "{}: {:?}",
            self.name,
            String::from_utf8_lossy(&self.value)
        )
    }
}

/// The value of the first header called `name` (case-insensitive).
pub(crate) fn find<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    find_all(headers, name).next()
}

/// Every value of a header that may be repeated, in order of appearance.
pub(crate) fn find_all<'a, 'n>(
    headers: &'a [Header],
    name: &'n str,
) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
    headers
        .iter()
        .filter(move |h| h.is(name))
        .map(|h| h.value.as_slice())
}

/// How many times the header `name` appears.
pub(crate) fn count(headers: &[Header], name: &str) -> usize {
    find_all(headers, name).count()
}

/// The elements of a comma-separated list value (RFC 7230 §7), trimmed, with
/// empty elements skipped as §7 asks recipients to do.
///
/// This is a plain split: it is right for lists of tokens (`Connection`,
/// `Upgrade`, `Sec-WebSocket-Protocol`) but not for values that may contain
/// quoted strings, which is why `Sec-WebSocket-Extensions` has its own parser.
pub(crate) fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|item| !item.is_empty())
}

/// All list elements of a header that may be both repeated and a comma list;
/// several field lines are equivalent to one joined with commas (RFC 7230
/// §3.2.2).
pub(crate) fn list_elements<'a, 'n>(
    headers: &'a [Header],
    name: &'n str,
) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
    find_all(headers, name).flat_map(split_list)
}

/// Strips leading and trailing spaces and tabs (OWS).
pub(crate) fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// `tchar` of RFC 7230 §3.2.6.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `token = 1*tchar` (RFC 7230 §3.2.6).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Whether `value` can be written as a field value without changing the
/// message framing: no CR, LF, NUL or other control byte except HTAB. This
/// is what makes header injection impossible for caller-supplied headers.
pub(crate) fn is_safe_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Appends `name: value\r\n`. Callers validate both parts first.
pub(crate) fn write_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.as_bytes().to_vec(),
        }
    }

    #[test]
    fn find_is_case_insensitive_and_returns_first() {
        let hs = [h("Host", "a"), h("x-a", "1"), h("X-A", "2")];
        assert_eq!(find(&hs, "HOST"), Some(&b"a"[..]));
        assert_eq!(find(&hs, "X-a"), Some(&b"1"[..]));
        assert_eq!(find(&hs, "missing"), None);
        assert_eq!(count(&hs, "x-A"), 2);
    }

    #[test]
    fn repeated_and_comma_lists_merge() {
        let hs = [
            h("Sec-WebSocket-Protocol", "chat, superchat"),
            h("Other", "x"),
            h("sec-websocket-protocol", " , v2 ,,v3,"),
        ];
        let all: Vec<&[u8]> = list_elements(&hs, "Sec-WebSocket-Protocol").collect();
        assert_eq!(all, [&b"chat"[..], b"superchat", b"v2", b"v3"]);
    }

    #[test]
    fn trim_and_token_rules() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert!(is_token(b"permessage-deflate"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a;b"));
        assert!(!is_token("é".as_bytes()));
    }

    #[test]
    fn safe_values() {
        assert!(is_safe_value(b"ok value\twith tab"));
        assert!(is_safe_value("obs-text é".as_bytes()));
        assert!(!is_safe_value(b"a\r\nX-Injected: 1"));
        assert!(!is_safe_value(b"a\nb"));
        assert!(!is_safe_value(b"a\0b"));
        assert!(!is_safe_value(b"a\x7fb"));
    }

    #[test]
    fn header_helpers() {
        let header = h("Content-Type", "text/plain");
        assert!(header.is("content-type"));
        assert_eq!(header.value_str(), Some("text/plain"));
        let bin = Header {
            name: "X".into(),
            value: vec![0xff],
        };
        assert_eq!(bin.value_str(), None);
        assert_eq!(format!("{bin:?}"), "X: \"\u{fffd}\"");
    }
}
