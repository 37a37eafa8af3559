//! permessage-deflate ([RFC 7692]): per-message compression.
//!
//! The building blocks, without I/O:
//!
//! - [`DeflateConfig`]: what an endpoint is willing to negotiate, and how
//!   hard it compresses.
//! - Negotiation in the opening handshake: a client sends [`client_offer`]
//!   and checks the answer with [`client_accept`]; a server picks an offer
//!   with [`server_accept`]. Either way the result is the [`DeflateParams`]
//!   both ends agreed on.
//! - [`Compressor`] and [`Decompressor`]: one message at a time, each
//!   keeping its LZ77 window between messages unless the parameters say
//!   `*_no_context_takeover`. Decompression is bounded, so a small message
//!   cannot inflate past the receiver's limit.
//!
//! On the wire (RFC 7692 §6): a compressed message has RSV1 set on its
//! first frame only; continuation frames and control frames never carry
//! RSV1, and control frames are never compressed. The payloads of all the
//! message's frames together are the output of [`Compressor::compress`]
//! (cut anywhere), or of successive [`Compressor::compress_fragment`] calls
//! for a message sent in parts. Each message may be compressed or not
//! ([`DeflateConfig::min_compress_size`]); an uncompressed one (RSV1 clear)
//! bypasses both the compressor and the decompressor.
//!
//! ```
//! use bytes::BytesMut;
//! use rfc6455::deflate::{client_accept, client_offer, server_accept, DeflateConfig};
//! use rfc6455::handshake::parse_extensions;
//!
//! // The handshake.
//! let config = DeflateConfig::default();
//! let offer = client_offer(&config);
//! let (answer, server_params) =
//!     server_accept(&parse_extensions(&offer)?, &config).expect("accepted");
//! let client_params = client_accept(&parse_extensions(&answer)?, &config)?.expect("accepted");
//! assert_eq!(client_params, server_params);
//!
//! // A message from the client to the server.
//! let mut compressor = client_params.compressor(false, config.compression_level);
//! let mut decompressor = server_params.decompressor(true);
//! let mut payload = BytesMut::new();
//! compressor.compress(b"{\"hello\":\"world\",\"hello\":\"world\"}", &mut payload);
//!
//! let mut message = BytesMut::new();
//! decompressor.decompress(&payload, &mut message, 64 << 20)?;
//! decompressor.finish_message(&mut message, 64 << 20)?;
//! assert_eq!(&message[..], b"{\"hello\":\"world\",\"hello\":\"world\"}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692

mod codec;
mod config;
mod negotiate;
#[cfg(test)]
mod reference;

pub use codec::{Compressor, Decompressor, DeflateError};
pub use config::{DeflateConfig, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
pub use negotiate::{
    client_accept, client_accept_offers, client_offer, server_accept, DeflateParams,
    NegotiationError, RoleParams, PERMESSAGE_DEFLATE,
};
