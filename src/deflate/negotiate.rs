//! Negotiating permessage-deflate in the opening handshake (RFC 7692 §5,
//! §7.1).
//!
//! The client offers the extension with [`client_offer`] and checks the
//! server's answer with [`client_accept`]; the server picks an offer with
//! [`server_accept`]. Both end with the same [`DeflateParams`], from which
//! each side builds its [`Compressor`] and [`Decompressor`].

use std::fmt;

use super::codec::{Compressor, Decompressor};
use super::config::{DeflateConfig, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
use crate::handshake::ExtensionOffer;

/// The extension token (RFC 7692 §7).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The parameters both ends agreed on: how each direction is compressed.
///
/// `server_*` describes messages from the server to the client,
/// `client_*` those from the client to the server. Window bits are 8..=15;
/// 15 (32 KiB) when the handshake did not limit them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message.
    pub client_no_context_takeover: bool,
    /// The server compresses with a window of at most 2^this bytes.
    pub server_max_window_bits: u8,
    /// The client compresses with a window of at most 2^this bytes.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// permessage-deflate with no parameters: 32 KiB windows, context
    /// takeover both ways.
    fn default() -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// [`DeflateParams`] seen from one end: what it compresses with, and what
/// it must expect from its peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoleParams {
    /// Window bits of our compressor.
    pub compress_window_bits: u8,
    /// Our compressor resets after each message.
    pub compress_no_context_takeover: bool,
    /// Window bits the peer compresses with (our decompressor's window).
    pub decompress_window_bits: u8,
    /// The peer resets after each message, so our decompressor does too.
    pub decompress_no_context_takeover: bool,
}

impl DeflateParams {
    /// The parameters from the point of view of the server (`is_server`)
    /// or of the client.
    ///
    /// ```
    /// use rfc6455::deflate::DeflateParams;
    ///
    /// let params = DeflateParams {
    ///     server_max_window_bits: 10,
    ///     client_no_context_takeover: true,
    ///     ..DeflateParams::default()
    /// };
    /// let server = params.for_role(true);
    /// assert_eq!((server.compress_window_bits, server.decompress_no_context_takeover), (10, true));
    /// let client = params.for_role(false);
    /// assert_eq!((client.compress_window_bits, client.decompress_window_bits), (15, 10));
    /// ```
    pub fn for_role(&self, is_server: bool) -> RoleParams {
        let server = (self.server_max_window_bits, self.server_no_context_takeover);
        let client = (self.client_max_window_bits, self.client_no_context_takeover);
        let (ours, theirs) = if is_server {
            (server, client)
        } else {
            (client, server)
        };
        RoleParams {
            compress_window_bits: ours.0,
            compress_no_context_takeover: ours.1,
            decompress_window_bits: theirs.0,
            decompress_no_context_takeover: theirs.1,
        }
    }

    /// The compressor for messages this end sends, at zlib `level`.
    pub fn compressor(&self, is_server: bool, level: u32) -> Compressor {
        let p = self.for_role(is_server);
        Compressor::new(
            p.compress_window_bits,
            p.compress_no_context_takeover,
            level,
        )
    }

    /// The decompressor for messages this end receives.
    pub fn decompressor(&self, is_server: bool) -> Decompressor {
        let p = self.for_role(is_server);
        Decompressor::new(p.decompress_window_bits, p.decompress_no_context_takeover)
    }
}

/// Why a server's permessage-deflate answer is unacceptable: the client
/// must fail the connection (RFC 7692 §7, and §5 for a repeated extension).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// permessage-deflate appears more than once in the response.
    DuplicateExtension,
    /// A parameter that RFC 7692 does not define for a response.
    UnknownParameter {
        /// The parameter name, as received.
        name: String,
    },
    /// The same parameter twice.
    DuplicateParameter {
        /// The parameter name, as received.
        name: String,
    },
    /// A parameter with a value it may not have, or without one it needs.
    InvalidValue {
        /// The parameter name, as received.
        name: String,
        /// The value received, if any.
        value: Option<String>,
    },
    /// `server_max_window_bits` larger than the client asked for.
    ServerWindowTooLarge {
        /// What the client offered.
        requested: u8,
        /// What the server answered.
        answered: u8,
    },
    /// The client asked for `server_max_window_bits` and the server
    /// accepted without it.
    ServerWindowMissing {
        /// What the client offered.
        requested: u8,
    },
    /// The client asked for `server_no_context_takeover` and the server
    /// accepted without it.
    ServerNoContextTakeoverMissing,
    /// The answer has `client_max_window_bits` but the offer did not.
    ClientWindowNotOffered {
        /// What the server answered.
        answered: u8,
    },
    /// `client_max_window_bits` larger than the client offered.
    ClientWindowTooLarge {
        /// What the client offered.
        offered: u8,
        /// What the server answered.
        answered: u8,
    },
    /// The server accepted permessage-deflate, which was not offered.
    NotOffered,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateExtension => f.write_str(
                "permessage-deflate accepted more than once; both would use RSV1 (RFC 7692 §5)",
            ),
            Self::UnknownParameter { name } => write!(
                f,
                "permessage-deflate response has parameter {name:?}, \
                 which is not defined for a response (RFC 7692 §7)"
            ),
            Self::DuplicateParameter { name } => write!(
                f,
                "permessage-deflate response has parameter {name:?} more than once (RFC 7692 §7)"
            ),
            Self::InvalidValue { name, value: None } => write!(
                f,
                "permessage-deflate parameter {name:?} needs a value (RFC 7692 §7.1)"
            ),
            Self::InvalidValue {
                name,
                value: Some(v),
            } => write!(
                f,
                "permessage-deflate parameter {name:?} has invalid value {v:?} (RFC 7692 §7.1)"
            ),
            Self::ServerWindowTooLarge {
                requested,
                answered,
            } => write!(
                f,
                "server_max_window_bits={answered} is larger than the {requested} offered \
                 (RFC 7692 §7.1.2.1)"
            ),
            Self::ServerWindowMissing { requested } => write!(
                f,
                "server accepted server_max_window_bits={requested} without including it \
                 (RFC 7692 §7.1.2.1)"
            ),
            Self::ServerNoContextTakeoverMissing => f.write_str(
                "server accepted server_no_context_takeover without including it \
                 (RFC 7692 §7.1.1.1)",
            ),
            Self::ClientWindowNotOffered { answered } => write!(
                f,
                "server answered client_max_window_bits={answered}, which the offer did not \
                 name (RFC 7692 §7.1.2.2)"
            ),
            Self::ClientWindowTooLarge { offered, answered } => write!(
                f,
                "server answered client_max_window_bits={answered}, larger than the {offered} \
                 offered (RFC 7692 §7.1.2.2)"
            ),
            Self::NotOffered => f.write_str(
                "server accepted permessage-deflate, which was not offered (RFC 6455 §9.1)",
            ),
        }
    }
}

impl std::error::Error for NegotiationError {}

/// The parameters of one offer or response, checked for syntax.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: named without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

/// Which side wrote the parameters: `client_max_window_bits` needs a value
/// in a response only.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Response,
}

/// `1*DIGIT` without leading zeroes, 8..=15 (RFC 7692 §7.1.2.1, §7.1.2.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.is_empty() || value.len() > 2 || value.starts_with('0') {
        return None;
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS)
        .contains(&bits)
        .then_some(bits)
}

fn parse_params(ext: &ExtensionOffer, side: Side) -> Result<Params, NegotiationError> {
    let mut p = Params::default();
    let mut seen = [false; 4];
    for (name, value) in &ext.params {
        let invalid = || NegotiationError::InvalidValue {
            name: name.clone(),
            value: value.clone(),
        };
        let index = [
            SERVER_NO_CONTEXT_TAKEOVER,
            CLIENT_NO_CONTEXT_TAKEOVER,
            SERVER_MAX_WINDOW_BITS,
            CLIENT_MAX_WINDOW_BITS,
        ]
        .iter()
        .position(|known| known.eq_ignore_ascii_case(name))
        .ok_or_else(|| NegotiationError::UnknownParameter { name: name.clone() })?;
        if std::mem::replace(&mut seen[index], true) {
            return Err(NegotiationError::DuplicateParameter { name: name.clone() });
        }
        let bits = value.as_deref().map(window_bits);
        match (index, bits) {
            // The two flags have no value (§7.1.1.1, §7.1.1.2).
            (0, None) => p.server_no_context_takeover = true,
            (1, None) => p.client_no_context_takeover = true,
            // server_max_window_bits always has one (§7.1.2.1).
            (2, Some(Some(b))) => p.server_max_window_bits = Some(b),
            // client_max_window_bits may come bare in an offer (§7.1.2.2).
            (3, Some(Some(b))) => p.client_max_window_bits = Some(Some(b)),
            (3, None) if side == Side::Offer => p.client_max_window_bits = Some(None),
            _ => return Err(invalid()),
        }
    }
    Ok(p)
}

fn is_deflate(ext: &ExtensionOffer) -> bool {
    ext.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)
}

/// The offer a client sends, as an extension: the `client_*` settings
/// promised, the `server_*` ones requested.
fn offer(config: &DeflateConfig) -> ExtensionOffer {
    let mut offer = ExtensionOffer::new(PERMESSAGE_DEFLATE);
    if config.server_no_context_takeover {
        offer = offer.with_param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if config.client_no_context_takeover {
        offer = offer.with_param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    let server_bits = config.server_bits();
    if server_bits < MAX_WINDOW_BITS {
        offer = offer.with_param(SERVER_MAX_WINDOW_BITS, Some(&server_bits.to_string()));
    }
    // Always named, so that the server may limit our window; with a value
    // when we limit it ourselves.
    let client_bits = config.client_bits();
    let value = (client_bits < MAX_WINDOW_BITS).then(|| client_bits.to_string());
    offer.with_param(CLIENT_MAX_WINDOW_BITS, value.as_deref())
}

/// The `Sec-WebSocket-Extensions` value a client sends to offer
/// permessage-deflate with `config`.
///
/// It always names `client_max_window_bits`, so that the server may limit
/// the client's window; with a value when `config` limits it already.
/// `server_*` settings become requests to the server, `client_*` ones
/// promises.
///
/// ```
/// use rfc6455::deflate::{client_offer, DeflateConfig};
///
/// assert_eq!(
///     client_offer(&DeflateConfig::default()),
///     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
///      client_max_window_bits"
/// );
/// let config = DeflateConfig::default()
///     .client_no_context_takeover(false)
///     .server_max_window_bits(10)
///     .client_max_window_bits(12);
/// assert_eq!(
///     client_offer(&config),
///     "permessage-deflate; server_no_context_takeover; \
///      server_max_window_bits=10; client_max_window_bits=12"
/// );
/// ```
pub fn client_offer(config: &DeflateConfig) -> String {
    offer(config).to_string()
}

/// Checks the server's `Sec-WebSocket-Extensions` answer to
/// [`client_offer`]`(config)` and gives the agreed parameters:
/// `Ok(None)` if the server did not accept permessage-deflate. The same as
/// [`client_accept_offers`] with that one offer.
///
/// ```
/// use rfc6455::deflate::{client_accept, DeflateConfig, DeflateParams};
/// use rfc6455::handshake::parse_extensions;
///
/// let config = DeflateConfig::default();
/// let answer = parse_extensions(
///     "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
/// )?;
/// let params = client_accept(&answer, &config)?.expect("accepted");
/// assert_eq!(params.client_max_window_bits, 10);
/// assert_eq!(params.server_max_window_bits, 15);
///
/// let bad = parse_extensions("permessage-deflate; server_max_window_bits=16")?;
/// assert!(client_accept(&bad, &config).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_accept(
    response: &[ExtensionOffer],
    config: &DeflateConfig,
) -> Result<Option<DeflateParams>, NegotiationError> {
    client_accept_offers(response, &[offer(config)])
}

/// Checks the server's `Sec-WebSocket-Extensions` answer against the
/// permessage-deflate `offers` actually sent (other extensions in either
/// list are ignored) and gives the agreed parameters: `Ok(None)` if the
/// server did not accept permessage-deflate.
///
/// The answer must fit one of the offers (RFC 7692 §5.1), else the client
/// must fail the connection. It is refused if it names permessage-deflate
/// twice, has an unknown, repeated or malformed parameter, a window bits
/// value outside 8..=15, leaves out `server_no_context_takeover` or
/// `server_max_window_bits` when the offer asked for them or answers a
/// larger `server_max_window_bits` (§7.1.1.1, §7.1.2.1), or names
/// `client_max_window_bits` when the offer did not, or with a larger value
/// than the offer's (§7.1.2.2). The server may add
/// `server_no_context_takeover`, `client_no_context_takeover` and a
/// `server_max_window_bits` it was not asked for.
///
/// The parameters keep what the offer promised: a client that offered
/// `client_no_context_takeover` or `client_max_window_bits=12` keeps to it
/// whatever the answer says.
///
/// ```
/// use rfc6455::deflate::client_accept_offers;
/// use rfc6455::handshake::parse_extensions;
///
/// let sent = parse_extensions("permessage-deflate")?;
/// // Not offered, so not allowed (RFC 7692 §7.1.2.2).
/// let answer = parse_extensions("permessage-deflate; client_max_window_bits=15")?;
/// assert!(client_accept_offers(&answer, &sent).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_accept_offers(
    response: &[ExtensionOffer],
    offers: &[ExtensionOffer],
) -> Result<Option<DeflateParams>, NegotiationError> {
    let mut answers = response.iter().filter(|e| is_deflate(e));
    let Some(answer) = answers.next() else {
        return Ok(None);
    };
    if answers.next().is_some() {
        return Err(NegotiationError::DuplicateExtension);
    }
    let got = parse_params(answer, Side::Response)?;
    let mut first_error = None;
    for offer in offers.iter().filter(|e| is_deflate(e)) {
        // An offer we could not have meant is never the one answered.
        let Ok(asked) = parse_params(offer, Side::Offer) else {
            continue;
        };
        match answer_fits(&got, &asked) {
            Ok(params) => return Ok(Some(params)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(NegotiationError::NotOffered))
}

/// The parameters agreed when answer `got` replies to offer `asked`.
fn answer_fits(got: &Params, asked: &Params) -> Result<DeflateParams, NegotiationError> {
    if asked.server_no_context_takeover && !got.server_no_context_takeover {
        return Err(NegotiationError::ServerNoContextTakeoverMissing);
    }
    let server_bits = match (asked.server_max_window_bits, got.server_max_window_bits) {
        (Some(requested), Some(answered)) if answered > requested => {
            return Err(NegotiationError::ServerWindowTooLarge {
                requested,
                answered,
            })
        }
        (Some(requested), None) => return Err(NegotiationError::ServerWindowMissing { requested }),
        (_, Some(answered)) => answered,
        (None, None) => MAX_WINDOW_BITS,
    };
    let answered = got.client_max_window_bits.flatten();
    let client_bits = match (asked.client_max_window_bits, answered) {
        (None, Some(answered)) => {
            return Err(NegotiationError::ClientWindowNotOffered { answered })
        }
        (Some(Some(offered)), Some(answered)) if answered > offered => {
            return Err(NegotiationError::ClientWindowTooLarge { offered, answered })
        }
        (Some(promised), answered) => answered
            .unwrap_or(MAX_WINDOW_BITS)
            .min(promised.unwrap_or(MAX_WINDOW_BITS)),
        (None, None) => MAX_WINDOW_BITS,
    };
    Ok(DeflateParams {
        server_no_context_takeover: got.server_no_context_takeover,
        client_no_context_takeover: got.client_no_context_takeover
            || asked.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    })
}

/// Picks the first permessage-deflate offer from the client's
/// `Sec-WebSocket-Extensions` that this server can honour with `config`,
/// and gives the response value to send with the agreed parameters.
/// `None`: decline the extension (send no permessage-deflate at all).
///
/// Offers are tried in the client's order of preference. One is skipped
/// (RFC 7692 §7: the server declines it) when it has an unknown or repeated
/// parameter, a value on a `*_no_context_takeover` flag, a missing or
/// malformed window bits value, or when `config` limits the client's
/// window below 15 and the offer does not name `client_max_window_bits`
/// (the server then has no way to limit it).
///
/// Otherwise the stricter of the client's request and `config` wins for
/// each parameter. The response names `server_no_context_takeover` and
/// `server_max_window_bits` when asked for or when `config` sets them,
/// `client_no_context_takeover` when the client offered it (a promise) or
/// `config` requires it, and `client_max_window_bits` when the window
/// agreed for the client is below 15.
///
/// A `server_max_window_bits=8` request is granted: zlib deflates with at
/// least a 9-bit window, but never reaches back more than 250 bytes with
/// it, so the output is valid for a 256-byte window.
///
/// ```
/// use rfc6455::deflate::{server_accept, DeflateConfig};
/// use rfc6455::handshake::parse_extensions;
///
/// let offers = parse_extensions(
///     "permessage-deflate; server_max_window_bits=10; client_max_window_bits, \
///      permessage-deflate",
/// )?;
/// let (response, params) = server_accept(&offers, &DeflateConfig::default()).unwrap();
/// assert_eq!(
///     response,
///     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
///      server_max_window_bits=10"
/// );
/// assert_eq!(params.server_max_window_bits, 10);
/// # Ok::<(), rfc6455::handshake::ExtensionParseError>(())
/// ```
pub fn server_accept(
    offers: &[ExtensionOffer],
    config: &DeflateConfig,
) -> Option<(String, DeflateParams)> {
    offers
        .iter()
        .filter(|e| is_deflate(e))
        .find_map(|offer| accept_one(offer, config))
}

fn accept_one(offer: &ExtensionOffer, config: &DeflateConfig) -> Option<(String, DeflateParams)> {
    let asked = parse_params(offer, Side::Offer).ok()?;

    let server_no_context_takeover =
        asked.server_no_context_takeover || config.server_no_context_takeover;
    let client_no_context_takeover =
        asked.client_no_context_takeover || config.client_no_context_takeover;
    let server_bits = asked
        .server_max_window_bits
        .unwrap_or(MAX_WINDOW_BITS)
        .min(config.server_bits());
    let limit = client_limit(config);
    let client_bits = match asked.client_max_window_bits {
        // The client cannot be told to limit its window (§7.1.2.2).
        None if limit < MAX_WINDOW_BITS => return None,
        None => MAX_WINDOW_BITS,
        Some(offered) => offered.unwrap_or(MAX_WINDOW_BITS).min(limit),
    };

    let mut response = ExtensionOffer::new(PERMESSAGE_DEFLATE);
    if server_no_context_takeover {
        response = response.with_param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if client_no_context_takeover {
        response = response.with_param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if asked.server_max_window_bits.is_some() || server_bits < MAX_WINDOW_BITS {
        response = response.with_param(SERVER_MAX_WINDOW_BITS, Some(&server_bits.to_string()));
    }
    if client_bits < MAX_WINDOW_BITS {
        response = response.with_param(CLIENT_MAX_WINDOW_BITS, Some(&client_bits.to_string()));
    }
    let params = DeflateParams {
        server_no_context_takeover,
        client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    };
    Some((response.to_string(), params))
}

/// The window a server lets clients use. A configured 8 counts as 9: our
/// decompressor cannot use less than 9 bits anyway, and zlib-based clients
/// (since zlib 1.2.9) refuse to deflate with 8. A client that offers 8
/// itself still gets 8.
fn client_limit(config: &DeflateConfig) -> u8 {
    config.client_bits().max(9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;
    use proptest::prelude::*;

    /// RFC 7692's own defaults: context takeover both ways. The crate's
    /// defaults add no context takeover (tested by `default_offer_and_answer`).
    fn takeover() -> DeflateConfig {
        DeflateConfig::default()
            .server_no_context_takeover(false)
            .client_no_context_takeover(false)
    }

    #[test]
    fn default_offer_and_answer() {
        let config = DeflateConfig::default();
        assert_eq!(
            client_offer(&config),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             client_max_window_bits"
        );
        // What browsers, Node's ws and Python's websockets offer.
        let (answer, params) =
            server_accept(&exts("permessage-deflate; client_max_window_bits"), &config).unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
    }

    fn exts(s: &str) -> Vec<ExtensionOffer> {
        parse_extensions(s).unwrap()
    }

    fn accept(offers: &str, config: &DeflateConfig) -> Option<(String, DeflateParams)> {
        server_accept(&exts(offers), config)
    }

    fn params(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: sbits,
            client_max_window_bits: cbits,
        }
    }

    #[test]
    fn window_bits_values() {
        for (s, want) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("15", Some(15)),
            ("7", None),
            ("16", None),
            ("08", None),
            ("010", None),
            ("0", None),
            ("+9", None),
            ("9a", None),
            ("", None),
            ("255", None),
        ] {
            assert_eq!(window_bits(s), want, "{s:?}");
        }
    }

    #[test]
    fn client_offers() {
        let d = takeover();
        assert_eq!(
            client_offer(&d),
            "permessage-deflate; client_max_window_bits"
        );
        let all = d
            .clone()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(8)
            .client_max_window_bits(9);
        assert_eq!(
            client_offer(&all),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=8; client_max_window_bits=9"
        );
        // What we offer is what a server of ours accepts, unchanged.
        for config in [d, all] {
            let offer = exts(&client_offer(&config));
            assert_eq!(parse_params(&offer[0], Side::Offer).map(|_| ()), Ok(()));
            let (response, server_side) = server_accept(&offer, &takeover()).unwrap();
            let client_side = client_accept(&exts(&response), &config).unwrap().unwrap();
            assert_eq!(client_side, server_side);
        }
    }

    #[test]
    fn server_accepts_rfc_7692_examples() {
        let d = takeover();
        // §7.1.3 / §5.1: the plain offer.
        assert_eq!(
            accept("permessage-deflate", &d),
            Some(("permessage-deflate".into(), DeflateParams::default()))
        );
        // §7.1.2.2: the client lets us limit its window; we do not need to.
        assert_eq!(
            accept("permessage-deflate; client_max_window_bits", &d),
            Some(("permessage-deflate".into(), DeflateParams::default()))
        );
        // §5.2 example: two offers, the first one acceptable.
        let (r, p) = accept(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, \
             permessage-deflate; client_max_window_bits",
            &d,
        )
        .unwrap();
        assert_eq!(r, "permessage-deflate; server_max_window_bits=10");
        assert_eq!(p, params(false, false, 10, 15));
        // A quoted value (RFC 6455 §9.1 allows a quoted token).
        let (r, p) = accept(r#"permessage-deflate; client_max_window_bits="10""#, &d).unwrap();
        assert_eq!(r, "permessage-deflate; client_max_window_bits=10");
        assert_eq!(p, params(false, false, 15, 10));
    }

    #[test]
    fn server_skips_malformed_offers() {
        let d = takeover();
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits; CLIENT_MAX_WINDOW_BITS=9",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=true",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=09",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; client_max_window_bits=abc",
        ] {
            assert_eq!(accept(bad, &d), None, "{bad}");
            // The next offer is taken instead.
            let (r, _) = accept(&format!("{bad}, x-other, permessage-deflate"), &d).unwrap();
            assert_eq!(r, "permessage-deflate", "{bad}");
        }
        assert_eq!(accept("x-webkit-deflate-frame, deflate", &d), None);
        assert_eq!(server_accept(&[], &d), None);
    }

    #[test]
    fn server_names_are_case_insensitive() {
        let (r, p) = accept(
            "PerMessage-Deflate; Server_No_Context_Takeover",
            &takeover(),
        )
        .unwrap();
        assert_eq!(r, "permessage-deflate; server_no_context_takeover");
        assert!(p.server_no_context_takeover);
    }

    #[test]
    fn server_combines_offer_and_config() {
        let d = takeover();
        let strict = takeover()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(11)
            .client_max_window_bits(12);
        // Config alone.
        let (r, p) = accept("permessage-deflate; client_max_window_bits", &strict).unwrap();
        assert_eq!(
            r,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=11; client_max_window_bits=12"
        );
        assert_eq!(p, params(true, true, 11, 12));
        // The client is stricter on every point.
        let offer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                     server_max_window_bits=9; client_max_window_bits=10";
        let (r, p) = accept(offer, &strict).unwrap();
        assert_eq!(
            r,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9; client_max_window_bits=10"
        );
        assert_eq!(p, params(true, true, 9, 10));
        // A lax config follows the client's requests and promises.
        let (_, p) = accept(offer, &d).unwrap();
        assert_eq!(p, params(true, true, 9, 10));
        // server_max_window_bits=15 asked for is answered.
        let (r, p) = accept("permessage-deflate; server_max_window_bits=15", &d).unwrap();
        assert_eq!(r, "permessage-deflate; server_max_window_bits=15");
        assert_eq!(p, DeflateParams::default());
        let (r, _) = accept(
            "permessage-deflate; server_max_window_bits=15",
            &strict.clone().client_max_window_bits(15),
        )
        .unwrap();
        assert!(r.contains("server_max_window_bits=11"), "{r}");
    }

    #[test]
    fn server_declines_when_it_cannot_limit_the_client() {
        let limited = takeover().client_max_window_bits(10);
        assert_eq!(accept("permessage-deflate", &limited), None);
        let (r, p) = accept(
            "permessage-deflate, permessage-deflate; client_max_window_bits",
            &limited,
        )
        .unwrap();
        assert_eq!(r, "permessage-deflate; client_max_window_bits=10");
        assert_eq!(p.client_max_window_bits, 10);
    }

    #[test]
    fn window_bits_8() {
        let d = takeover();
        // A client asking for 8 gets 8, which its own client_accept takes.
        let (r, p) = accept("permessage-deflate; server_max_window_bits=8", &d).unwrap();
        assert_eq!(r, "permessage-deflate; server_max_window_bits=8");
        assert_eq!(p.server_max_window_bits, 8);
        let ours = takeover().server_max_window_bits(8);
        assert_eq!(client_accept(&exts(&r), &ours), Ok(Some(p)));
        // A client promising 8 is held to 8.
        let (r, p) = accept("permessage-deflate; client_max_window_bits=8", &d).unwrap();
        assert_eq!(r, "permessage-deflate; client_max_window_bits=8");
        assert_eq!(p.client_max_window_bits, 8);
        // A server configured with 8 does not impose 8 on clients (zlib
        // refuses to deflate with it), but 9, the same memory for us.
        let eight = takeover().client_max_window_bits(8);
        let (r, _) = accept("permessage-deflate; client_max_window_bits", &eight).unwrap();
        assert_eq!(r, "permessage-deflate; client_max_window_bits=9");
        // Both directions build working codecs.
        let mut c = p.compressor(false, 1);
        let mut dec = p.decompressor(true);
        let mut wire = bytes::BytesMut::new();
        c.compress(b"abcabcabc", &mut wire);
        let mut out = bytes::BytesMut::new();
        dec.decompress(&wire, &mut out, 100).unwrap();
        dec.finish_message(&mut out, 100).unwrap();
        assert_eq!(&out[..], b"abcabcabc");
    }

    #[test]
    fn autobahn_13_offers_are_accepted() {
        // wstest's client offers for cases 13.1-13.7.
        let d = takeover();
        for (offer, want) in [
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits",
                params(false, true, 15, 15),
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover",
                params(true, true, 15, 15),
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_max_window_bits=9",
                params(false, true, 9, 15),
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover; server_max_window_bits=15",
                params(true, true, 15, 15),
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover; server_max_window_bits=8",
                params(true, true, 8, 15),
            ),
        ] {
            let (_, p) = accept(offer, &d).unwrap();
            assert_eq!(p, want, "{offer}");
        }
    }

    #[test]
    fn client_accepts_valid_answers() {
        let d = takeover();
        assert_eq!(client_accept(&[], &d), Ok(None));
        assert_eq!(client_accept(&exts("x-other; a=1"), &d), Ok(None));
        assert_eq!(
            client_accept(&exts("permessage-deflate"), &d),
            Ok(Some(DeflateParams::default()))
        );
        // The server may add anything that only constrains itself, or us.
        assert_eq!(
            client_accept(
                &exts(
                    "x-other, Permessage-Deflate; server_no_context_takeover; \
                     client_no_context_takeover; server_max_window_bits=\"9\"; \
                     client_max_window_bits=8"
                ),
                &d
            ),
            Ok(Some(params(true, true, 9, 8)))
        );
        // What we asked for, granted; smaller windows than asked are fine.
        let asking = takeover()
            .server_no_context_takeover(true)
            .server_max_window_bits(10)
            .client_no_context_takeover(true)
            .client_max_window_bits(11);
        assert_eq!(
            client_accept(
                &exts("permessage-deflate; server_no_context_takeover; server_max_window_bits=9"),
                &asking
            ),
            Ok(Some(params(true, true, 9, 11)))
        );
        // A client window above the one offered breaks §7.1.2.2.
        assert_eq!(
            client_accept(
                &exts(
                    "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
                     client_max_window_bits=15"
                ),
                &asking
            ),
            Err(NegotiationError::ClientWindowTooLarge {
                offered: 11,
                answered: 15
            })
        );
    }

    #[test]
    fn client_rejects_invalid_answers() {
        use NegotiationError as E;
        let d = takeover();
        let name = |s: &str| s.to_string();
        for (answer, err) in [
            (
                "permessage-deflate, permessage-deflate",
                E::DuplicateExtension,
            ),
            (
                "permessage-deflate; foo",
                E::UnknownParameter { name: name("foo") },
            ),
            (
                "permessage-deflate; server_no_context_takeover; Server_No_Context_Takeover",
                E::DuplicateParameter {
                    name: name("Server_No_Context_Takeover"),
                },
            ),
            (
                "permessage-deflate; client_no_context_takeover=1",
                E::InvalidValue {
                    name: name("client_no_context_takeover"),
                    value: Some(name("1")),
                },
            ),
            (
                // A value is required in a response (§7.1.2.2).
                "permessage-deflate; client_max_window_bits",
                E::InvalidValue {
                    name: name("client_max_window_bits"),
                    value: None,
                },
            ),
            (
                "permessage-deflate; server_max_window_bits=16",
                E::InvalidValue {
                    name: name("server_max_window_bits"),
                    value: Some(name("16")),
                },
            ),
            (
                "permessage-deflate; client_max_window_bits=7",
                E::InvalidValue {
                    name: name("client_max_window_bits"),
                    value: Some(name("7")),
                },
            ),
        ] {
            assert_eq!(client_accept(&exts(answer), &d), Err(err), "{answer}");
        }

        let asking = takeover().server_max_window_bits(10);
        assert_eq!(
            client_accept(
                &exts("permessage-deflate; server_max_window_bits=11"),
                &asking
            ),
            Err(E::ServerWindowTooLarge {
                requested: 10,
                answered: 11
            })
        );
        assert_eq!(
            client_accept(&exts("permessage-deflate"), &asking),
            Err(E::ServerWindowMissing { requested: 10 })
        );
        let asking = takeover().server_no_context_takeover(true);
        assert_eq!(
            client_accept(&exts("permessage-deflate"), &asking),
            Err(E::ServerNoContextTakeoverMissing)
        );
    }

    #[test]
    fn errors_display_their_rule() {
        use NegotiationError as E;
        for e in [
            E::DuplicateExtension,
            E::UnknownParameter { name: "a".into() },
            E::DuplicateParameter { name: "a".into() },
            E::InvalidValue {
                name: "a".into(),
                value: None,
            },
            E::InvalidValue {
                name: "a".into(),
                value: Some("b".into()),
            },
            E::ServerWindowTooLarge {
                requested: 9,
                answered: 10,
            },
            E::ServerWindowMissing { requested: 9 },
            E::ServerNoContextTakeoverMissing,
        ] {
            assert!(e.to_string().contains("RFC 7692 §"), "{e}");
        }
    }

    #[test]
    fn for_role_swaps_directions() {
        let p = params(true, false, 9, 12);
        assert_eq!(
            p.for_role(true),
            RoleParams {
                compress_window_bits: 9,
                compress_no_context_takeover: true,
                decompress_window_bits: 12,
                decompress_no_context_takeover: false,
            }
        );
        assert_eq!(
            p.for_role(false),
            RoleParams {
                compress_window_bits: 12,
                compress_no_context_takeover: false,
                decompress_window_bits: 9,
                decompress_no_context_takeover: true,
            }
        );
    }

    fn config() -> impl Strategy<Value = DeflateConfig> {
        (any::<bool>(), any::<bool>(), 8u8..=15, 8u8..=15, 0u32..=9).prop_map(
            |(snct, cnct, sbits, cbits, level)| {
                takeover()
                    .server_no_context_takeover(snct)
                    .client_no_context_takeover(cnct)
                    .server_max_window_bits(sbits)
                    .client_max_window_bits(cbits)
                    .compression_level(level)
            },
        )
    }

    fn param() -> impl Strategy<Value = (String, Option<String>)> {
        let names = prop_oneof![
            Just(SERVER_NO_CONTEXT_TAKEOVER.to_string()),
            Just(CLIENT_NO_CONTEXT_TAKEOVER.to_string()),
            Just(SERVER_MAX_WINDOW_BITS.to_string()),
            Just(CLIENT_MAX_WINDOW_BITS.to_string()),
            Just("x".to_string()),
        ];
        let values = proptest::option::of(prop_oneof![
            (6u8..=17).prop_map(|b| b.to_string()),
            Just("09".to_string()),
            Just("y".to_string()),
        ]);
        (names, values)
    }

    fn any_offer() -> impl Strategy<Value = ExtensionOffer> {
        proptest::collection::vec(param(), 0..5).prop_map(|params| ExtensionOffer {
            name: PERMESSAGE_DEFLATE.to_string(),
            params,
        })
    }

    proptest! {
        /// Whatever our client offers, our server accepts, and the two
        /// agree; the result honours both configs.
        #[test]
        fn prop_our_client_and_server_agree(client in config(), server in config()) {
            let offer = exts(&client_offer(&client));
            let accepted = server_accept(&offer, &server);
            let Some((response, server_side)) = accepted else {
                // Only possible refusal: none, since our offer always names
                // client_max_window_bits.
                return Err(TestCaseError::fail("declined"));
            };
            let client_side = client_accept(&exts(&response), &client).unwrap().unwrap();
            prop_assert_eq!(client_side, server_side);
            let p = client_side;
            prop_assert!(p.server_max_window_bits <= client.server_max_window_bits);
            prop_assert!(p.server_max_window_bits <= server.server_max_window_bits);
            prop_assert!(p.client_max_window_bits <= client.client_max_window_bits);
            prop_assert!(p.client_max_window_bits <= server.client_max_window_bits.max(9));
            prop_assert!(p.server_no_context_takeover >= client.server_no_context_takeover);
            prop_assert!(p.server_no_context_takeover >= server.server_no_context_takeover);
            prop_assert!(p.client_no_context_takeover >= client.client_no_context_takeover);
            prop_assert!(p.client_no_context_takeover >= server.client_no_context_takeover);
        }

        /// Any response our server writes, to any offer it takes, is one
        /// a client of ours would accept (given the client asked for
        /// nothing), and means the same parameters.
        #[test]
        fn prop_server_answers_are_valid(offers in proptest::collection::vec(any_offer(), 1..4), server in config()) {
            if let Some((response, p)) = server_accept(&offers, &server) {
                let parsed = exts(&response);
                prop_assert_eq!(parsed.len(), 1);
                let got = parse_params(&parsed[0], Side::Response).unwrap();
                prop_assert_eq!(got.server_no_context_takeover, p.server_no_context_takeover);
                prop_assert_eq!(got.client_no_context_takeover, p.client_no_context_takeover);
                prop_assert_eq!(got.server_max_window_bits.unwrap_or(15), p.server_max_window_bits);
                prop_assert_eq!(got.client_max_window_bits.flatten().unwrap_or(15), p.client_max_window_bits);
                // The taken offer is one that parses, and the answer grants it.
                let taken = offers
                    .iter()
                    .filter_map(|o| parse_params(o, Side::Offer).ok())
                    .find(|t| t.client_max_window_bits.is_some() || client_limit(&server) == 15)
                    .unwrap();
                prop_assert!(!taken.server_no_context_takeover || p.server_no_context_takeover);
                if let Some(b) = taken.server_max_window_bits {
                    prop_assert!(got.server_max_window_bits.is_some_and(|g| g <= b));
                }
                if let Some(Some(b)) = taken.client_max_window_bits {
                    prop_assert!(p.client_max_window_bits <= b);
                }
                if taken.client_max_window_bits.is_none() {
                    prop_assert!(got.client_max_window_bits.is_none());
                }
            } else {
                let all_unusable = offers.iter().all(|o| {
                    parse_params(o, Side::Offer).map_or(true, |p| {
                        p.client_max_window_bits.is_none() && client_limit(&server) < 15
                    })
                });
                prop_assert!(all_unusable);
            }
        }
    }
}
