//! The `Sec-WebSocket-Extensions` header grammar (RFC 6455 §9.1):
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-token = registered-token
//! extension-param = token [ "=" (token | quoted-string) ]
//!     ; a quoted-string value must itself be a token once unescaped
//! ```
//!
//! Optional whitespace is allowed around `,`, `;` and `=`, and empty list
//! elements (`a, , b`) are ignored as RFC 7230 §7 requires of recipients.

use std::fmt;

use super::headers::{is_tchar, is_token};

/// One extension offered (by a client) or accepted (by a server), such as
/// `permessage-deflate; client_max_window_bits; server_max_window_bits=10`.
///
/// Parameter values are stored unquoted. Several offers may name the same
/// extension (a client lists alternatives in order of preference).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order of appearance: name and optional value.
    pub params: Vec<(String, Option<String>)>,
}

impl ExtensionOffer {
    /// An offer with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        ExtensionOffer {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter (builder style).
    pub fn with_param(mut self, name: impl Into<String>, value: Option<&str>) -> Self {
        self.params.push((name.into(), value.map(str::to_owned)));
        self
    }

    /// The first parameter called `name` (ASCII case-insensitive): `None` if
    /// absent, `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

/// Serializes as `name; param; param=value`. A value that is not a token
/// is written as a quoted string with `"` and `\` escaped, so that the output
/// is always parseable; names are written as they are.
impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            match value {
                None => {}
                Some(v) if is_token(v.as_bytes()) => write!(f, "={v}")?,
                Some(v) => {
                    f.write_str("=\"")?;
                    for c in v.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"")?;
                }
            }
        }
        Ok(())
    }
}

/// Joins several offers into one header value, separated by `, `.
pub fn format_extensions(offers: &[ExtensionOffer]) -> String {
    let mut out = String::new();
    for (i, offer) in offers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&offer.to_string());
    }
    out
}

/// Why a `Sec-WebSocket-Extensions` value is malformed. Positions are byte
/// offsets into the parsed string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionParseError {
    /// The value lists no extension at all (`1#extension` needs one).
    Empty,
    /// A token (extension or parameter name, or a bare value) was expected.
    ExpectedToken {
        /// Byte offset where the token should start.
        position: usize,
    },
    /// A character that the grammar does not allow at this point.
    UnexpectedChar {
        /// Byte offset of the character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A quoted string has no closing `"`.
    UnterminatedQuote {
        /// Byte offset of the opening quote.
        position: usize,
    },
    /// A quoted string holds a character that `qdtext`/`quoted-pair` forbid
    /// (a control character, or `\` before one).
    InvalidQuotedChar {
        /// Byte offset of the character.
        position: usize,
    },
    /// A quoted parameter value is not a token once unescaped, which §9.1
    /// requires.
    QuotedValueNotToken {
        /// Byte offset of the opening quote.
        position: usize,
    },
}

impl fmt::Display for ExtensionParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no extension is listed"),
            Self::ExpectedToken { position } => {
                write!(f, "expected a token at byte {position}")
            }
            Self::UnexpectedChar { position, found } => {
                write!(f, "unexpected character {found:?} at byte {position}")
            }
            Self::UnterminatedQuote { position } => {
                write!(f, "quoted string opened at byte {position} is not closed")
            }
            Self::InvalidQuotedChar { position } => {
                write!(f, "invalid character in quoted string at byte {position}")
            }
            Self::QuotedValueNotToken { position } => write!(
                f,
                "quoted value at byte {position} is not a token once unquoted"
            ),
        }
    }
}

impl std::error::Error for ExtensionParseError {}

/// Parses a `Sec-WebSocket-Extensions` value into its offers, in order.
///
/// ```
/// # use rfc6455::handshake::parse_extensions;
/// let offers = parse_extensions(
///     "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\"",
/// ).unwrap();
/// assert_eq!(offers.len(), 2);
/// assert_eq!(offers[0].param("client_max_window_bits"), Some(None));
/// assert_eq!(offers[1].param("server_max_window_bits"), Some(Some("10")));
/// ```
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, ExtensionParseError> {
    let mut p = Parser {
        s: value.as_bytes(),
        text: value,
        pos: 0,
    };
    let mut offers = Vec::new();
    loop {
        // Skip empty list elements (`, ,`) before the next extension.
        p.skip_ows();
        while p.eat(b',') {
            p.skip_ows();
        }
        if p.at_end() {
            break;
        }
        let mut offer = ExtensionOffer::new(p.token()?);
        loop {
            p.skip_ows();
            if p.at_end() || p.eat(b',') {
                break;
            }
            if !p.eat(b';') {
                return Err(p.unexpected());
            }
            p.skip_ows();
            let name = p.token()?;
            p.skip_ows();
            let value = if p.eat(b'=') {
                p.skip_ows();
                Some(if p.peek() == Some(b'"') {
                    p.quoted_token()?
                } else {
                    p.token()?
                })
            } else {
                None
            };
            offer.params.push((name, value));
        }
        offers.push(offer);
    }
    if offers.is_empty() {
        return Err(ExtensionParseError::Empty);
    }
    Ok(offers)
}

/// A cursor over the value. It only ever advances over ASCII bytes, so every
/// position it reports is a char boundary of `text`.
struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn unexpected(&self) -> ExtensionParseError {
        match self
            .text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            Some(found) => ExtensionParseError::UnexpectedChar {
                position: self.pos,
                found,
            },
            None => ExtensionParseError::ExpectedToken { position: self.pos },
        }
    }

    fn token(&mut self) -> Result<String, ExtensionParseError> {
        let start = self.pos;
        while matches!(self.peek(), Some(b) if is_tchar(b)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(match self.peek() {
                Some(_) => self.unexpected(),
                None => ExtensionParseError::ExpectedToken { position: start },
            });
        }
        Ok(self.text[start..self.pos].to_owned())
    }

    /// A quoted-string (RFC 7230 §3.2.6) whose unescaped content must be a
    /// token (RFC 6455 §9.1).
    fn quoted_token(&mut self) -> Result<String, ExtensionParseError> {
        let open = self.pos;
        self.pos += 1; // the opening quote, checked by the caller
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(ExtensionParseError::UnterminatedQuote { position: open });
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        None => {
                            return Err(ExtensionParseError::UnterminatedQuote { position: open })
                        }
                        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                        Some(e) if e == b'\t' || e == b' ' || e >= 0x21 && e != 0x7f => {
                            out.push(e);
                            self.pos += 1;
                        }
                        Some(_) => {
                            return Err(ExtensionParseError::InvalidQuotedChar {
                                position: self.pos,
                            })
                        }
                    }
                }
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                b'\t' | b' ' => {
                    out.push(b);
                    self.pos += 1;
                }
                _ if b >= 0x21 && b != 0x7f => {
                    out.push(b);
                    self.pos += 1;
                }
                _ => return Err(ExtensionParseError::InvalidQuotedChar { position: self.pos }),
            }
        }
        // A token is ASCII, so after this check `out` is valid UTF-8; obs-text
        // bytes (which could split a multi-byte char) are rejected here.
        if !is_token(&out) {
            return Err(ExtensionParseError::QuotedValueNotToken { position: open });
        }
        Ok(out.into_iter().map(char::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExtensionParseError as E;

    fn offer(name: &str, params: &[(&str, Option<&str>)]) -> ExtensionOffer {
        ExtensionOffer {
            name: name.into(),
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(str::to_owned)))
                .collect(),
        }
    }

    #[test]
    fn single_bare_extension() {
        assert_eq!(parse_extensions("foo").unwrap(), [offer("foo", &[])]);
        assert_eq!(parse_extensions("  foo \t").unwrap(), [offer("foo", &[])]);
    }

    #[test]
    fn parameters_with_and_without_values() {
        let got = parse_extensions(
            "permessage-deflate; client_max_window_bits ;server_max_window_bits = 10",
        )
        .unwrap();
        assert_eq!(
            got,
            [offer(
                "permessage-deflate",
                &[
                    ("client_max_window_bits", None),
                    ("server_max_window_bits", Some("10"))
                ]
            )]
        );
    }

    #[test]
    fn several_offers_and_empty_elements() {
        let got = parse_extensions(", a; x=1 ,, b , c;y,").unwrap();
        assert_eq!(
            got,
            [
                offer("a", &[("x", Some("1"))]),
                offer("b", &[]),
                offer("c", &[("y", None)])
            ]
        );
    }

    #[test]
    fn quoted_values_and_escapes() {
        let got = parse_extensions(r#"a; x="10"; y="a\bc"; z="\"""#);
        // `\"` unescapes to `"`, which is not a token.
        assert_eq!(got, Err(E::QuotedValueNotToken { position: 23 }));
        let got = parse_extensions(r#"a; x="10"; y="a\bc""#).unwrap();
        assert_eq!(got, [offer("a", &[("x", Some("10")), ("y", Some("abc"))])]);
    }

    #[test]
    fn quoted_value_must_be_token() {
        assert_eq!(
            parse_extensions(r#"a; x="1 0""#),
            Err(E::QuotedValueNotToken { position: 5 })
        );
        assert_eq!(
            parse_extensions(r#"a; x="""#),
            Err(E::QuotedValueNotToken { position: 5 })
        );
        assert_eq!(
            parse_extensions("a; x=\"\u{e9}\""),
            Err(E::QuotedValueNotToken { position: 5 })
        );
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(parse_extensions(""), Err(E::Empty));
        assert_eq!(parse_extensions(" , ,"), Err(E::Empty));
        assert_eq!(
            parse_extensions(";a"),
            Err(E::UnexpectedChar {
                position: 0,
                found: ';'
            })
        );
        assert_eq!(
            parse_extensions("a;"),
            Err(E::ExpectedToken { position: 2 })
        );
        assert_eq!(
            parse_extensions("a; x="),
            Err(E::ExpectedToken { position: 5 })
        );
        assert_eq!(
            parse_extensions("a b"),
            Err(E::UnexpectedChar {
                position: 2,
                found: 'b'
            })
        );
        assert_eq!(
            parse_extensions("a; x=1=2"),
            Err(E::UnexpectedChar {
                position: 6,
                found: '='
            })
        );
        assert_eq!(
            parse_extensions("a; x=\"10"),
            Err(E::UnterminatedQuote { position: 5 })
        );
        assert_eq!(
            parse_extensions("a; x=\"10\\"),
            Err(E::UnterminatedQuote { position: 5 })
        );
        assert_eq!(
            parse_extensions("a; x=\"1\n\""),
            Err(E::InvalidQuotedChar { position: 7 })
        );
        assert_eq!(
            parse_extensions("a; x=\"1\\\n\""),
            Err(E::InvalidQuotedChar { position: 8 })
        );
        assert_eq!(
            parse_extensions("d\u{e9}flate"),
            Err(E::UnexpectedChar {
                position: 1,
                found: '\u{e9}'
            })
        );
        assert_eq!(
            parse_extensions("a; x\"1\""),
            Err(E::UnexpectedChar {
                position: 4,
                found: '"'
            })
        );
    }

    #[test]
    fn display_round_trips() {
        let offers = [
            offer("permessage-deflate", &[("client_max_window_bits", None)]),
            offer("x", &[("a", Some("1")), ("b", Some("two words"))]),
        ];
        assert_eq!(
            offers[0].to_string(),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(offers[1].to_string(), r#"x; a=1; b="two words""#);
        let text = format_extensions(&offers[..1]);
        assert_eq!(parse_extensions(&text).unwrap(), offers[..1]);
        assert_eq!(
            offer("y", &[("q", Some(r#"a"b\c"#))]).to_string(),
            r#"y; q="a\"b\\c""#
        );
    }

    #[test]
    fn builders_and_lookup() {
        let o = ExtensionOffer::new("permessage-deflate")
            .with_param("Server_No_Context_Takeover", None)
            .with_param("client_max_window_bits", Some("12"));
        assert_eq!(o.param("server_no_context_takeover"), Some(None));
        assert_eq!(o.param("client_max_window_bits"), Some(Some("12")));
        assert_eq!(o.param("other"), None);
        assert_eq!(format_extensions(&[]), "");
    }

    #[test]
    fn errors_display() {
        for e in [
            E::Empty,
            E::ExpectedToken { position: 1 },
            E::UnexpectedChar {
                position: 1,
                found: 'x',
            },
            E::UnterminatedQuote { position: 1 },
            E::InvalidQuotedChar { position: 1 },
            E::QuotedValueNotToken { position: 1 },
        ] {
            assert!(!e.to_string().is_empty());
        }
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        fn token() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,12}"
        }

        fn offer() -> impl Strategy<Value = ExtensionOffer> {
            (
                token(),
                proptest::collection::vec((token(), proptest::option::of(token())), 0..4),
            )
                .prop_map(|(name, params)| ExtensionOffer { name, params })
        }

        proptest! {
            #[test]
            fn never_panics(s in "\\PC{0,64}|[ -~\t]{0,64}") {
                let _ = parse_extensions(&s);
            }

            #[test]
            fn format_then_parse_is_identity(offers in proptest::collection::vec(offer(), 1..4)) {
                let text = format_extensions(&offers);
                prop_assert_eq!(parse_extensions(&text).unwrap(), offers);
            }
        }
    }
}
