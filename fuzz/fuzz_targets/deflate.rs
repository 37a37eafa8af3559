//! permessage-deflate (RFC 7692): the codec and the negotiation.
//!
//! The first byte picks a mode:
//!
//! - `0 mod 3`, inflate: `[mode, params, max_lo, max_hi, seed, data...]`.
//!   Arbitrary bytes, cut into frames and messages by `seed`, through a
//!   `Decompressor` bounded by `max`. Output stays within the bound, and
//!   the result does not depend on how the messages were cut into frames
//!   (a second decompressor gets each message whole).
//! - `1 mod 3`, round trip: `[mode, params, level, seed, data...]`. The
//!   data, cut into messages (and, with a flag, each message into parts
//!   for `compress_fragment`), compressed and inflated again frame by frame
//!   with the message's exact size as the limit, equals the input; one
//!   byte less of limit is `TooLarge`.
//! - `2 mod 3`, negotiation: `[mode, client, server, text...]`. The text
//!   parses as extension offers, or not; offers re-parse from their
//!   formatted form; whatever `server_accept` and `client_accept` agree to
//!   is within 8..=15 bits. And the two configs negotiate with each other:
//!   the server accepts the client's own offer, both ends agree on the same
//!   parameters, and a message crosses with them.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{
    client_accept, client_offer, server_accept, Compressor, Decompressor, DeflateConfig,
    DeflateError, DeflateParams, PERMESSAGE_DEFLATE,
};
use rfc6455::handshake::{format_extensions, parse_extensions};
use rfc6455_fuzz::Splitter;

fuzz_target!(|data: &[u8]| {
    match data.first().map(|m| m % 3) {
        Some(0) => inflate(&data[1..]),
        Some(1) => round_trip(&data[1..]),
        Some(_) => negotiate(&data[1..]),
        None => {}
    }
});

fn inflate(data: &[u8]) {
    let [params, lo, hi, seed, input @ ..] = data else {
        return;
    };
    let bits = 8 + (params & 7);
    let no_context_takeover = params & 8 != 0;
    let max = usize::from(u16::from_le_bytes([*lo, *hi]));
    let mut framed = Decompressor::new(bits, no_context_takeover);
    let mut whole = Decompressor::new(bits, no_context_takeover);
    let mut ends = Splitter::new(seed.wrapping_add(1));

    let mut message: Vec<&[u8]> = Vec::new();
    let chunks = Splitter::chunks(*seed, input);
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        message.push(chunk);
        if i != last && !ends.next_u32().is_multiple_of(4) {
            continue;
        }
        let frames = std::mem::take(&mut message);

        let mut out = BytesMut::new();
        let framed_result = frames
            .iter()
            .try_for_each(|frame| framed.decompress(frame, &mut out, max))
            .and_then(|()| framed.finish_message(&mut out, max));
        match &framed_result {
            Ok(()) => assert!(out.len() <= max, "{} bytes inflated past {max}", out.len()),
            Err(DeflateError::TooLarge { limit }) => {
                assert_eq!(*limit, max);
                assert!(out.len() <= max + 1, "{} bytes kept past {max}", out.len());
            }
            Err(_) => {}
        }

        let joined = frames.concat();
        let mut out_whole = BytesMut::new();
        let whole_result = whole
            .decompress(&joined, &mut out_whole, max)
            .and_then(|()| whole.finish_message(&mut out_whole, max));
        if framed_result.is_err() {
            // Both must fail. Which error comes first may depend on the
            // cuts when a message is both corrupt and over the limit: zlib
            // can hold output back until the next frame's bytes, where it
            // then meets the corruption before that output counts against
            // the limit. Either failure closes the connection (1009 or
            // 1007), so the kind is not compared.
            assert!(
                whole_result.is_err(),
                "cutting a message into frames turned success into {framed_result:?}"
            );
            if let Err(DeflateError::TooLarge { limit }) = &whole_result {
                assert_eq!(*limit, max);
            }
            // The decompressors are now in an unspecified state.
            return;
        }
        assert_eq!(
            framed_result, whole_result,
            "cutting a message into frames changed the result"
        );
        assert_eq!(out, out_whole, "cutting a message into frames changed it");
    }
}

fn round_trip(data: &[u8]) {
    let [params, level, seed, input @ ..] = data else {
        return;
    };
    let bits = 8 + (params & 7);
    let no_context_takeover = params & 8 != 0;
    let in_parts = params & 16 != 0;
    let mut compressor = Compressor::new(bits, no_context_takeover, u32::from(level % 10));
    let mut decompressor = Decompressor::new(bits, no_context_takeover);
    let mut gen = Splitter::new(*seed);

    let mut messages = Splitter::chunks(*seed, input);
    if params & 32 != 0 {
        messages.insert(usize::from(*level) % (messages.len() + 1), &[]);
    }
    for (i, message) in messages.into_iter().enumerate() {
        let mut wire = BytesMut::new();
        if in_parts {
            let parts = Splitter::chunks(seed.wrapping_mul(7).wrapping_add(1), message);
            let last = parts.len() - 1;
            for (j, part) in parts.into_iter().enumerate() {
                compressor.compress_fragment(part, j == last, &mut wire);
            }
        } else {
            compressor.compress(message, &mut wire);
        }

        if i == 0 && !message.is_empty() {
            // One byte less of room is refused, by a fresh decompressor.
            let mut tight = Decompressor::new(bits, no_context_takeover);
            let mut out = BytesMut::new();
            let limit = message.len() - 1;
            let result = tight
                .decompress(&wire, &mut out, limit)
                .and_then(|()| tight.finish_message(&mut out, limit));
            assert_eq!(result, Err(DeflateError::TooLarge { limit }));
        }

        // Frame boundaries anywhere in the compressed bytes.
        let mut out = BytesMut::new();
        let mut rest = &wire[..];
        while !rest.is_empty() {
            let n = 1 + gen.next_u32() as usize % rest.len();
            let (frame, tail) = rest.split_at(n);
            decompressor
                .decompress(frame, &mut out, message.len())
                .expect("our own output inflates");
            rest = tail;
        }
        decompressor
            .finish_message(&mut out, message.len())
            .expect("our own output inflates");
        assert_eq!(&out[..], message, "round trip changed the message");
    }
}

/// A config from one byte.
fn config(byte: u8) -> DeflateConfig {
    DeflateConfig::default()
        .server_no_context_takeover(byte & 1 != 0)
        .client_no_context_takeover(byte & 2 != 0)
        .server_max_window_bits(8 + ((byte >> 2) & 7))
        .client_max_window_bits(if byte & 0x20 != 0 {
            8 + (byte >> 6)
        } else {
            15
        })
}

fn check_params(params: &DeflateParams) {
    for bits in [params.server_max_window_bits, params.client_max_window_bits] {
        assert!((8..=15).contains(&bits), "window bits {bits}");
    }
}

fn negotiate(data: &[u8]) {
    let [client_byte, server_byte, text @ ..] = data else {
        return;
    };
    let client = config(*client_byte);
    let server = config(*server_byte);
    let text = String::from_utf8_lossy(text);

    if let Ok(offers) = parse_extensions(&text) {
        let formatted = format_extensions(&offers);
        assert_eq!(
            parse_extensions(&formatted).as_ref(),
            Ok(&offers),
            "{text:?} formatted as {formatted:?}"
        );
        if let Some((answer, params)) = server_accept(&offers, &server) {
            check_params(&params);
            assert!(params.server_max_window_bits <= server.server_max_window_bits);
            // A configured client limit of 8 counts as 9 (documented).
            assert!(params.client_max_window_bits <= server.client_max_window_bits.max(9));
            assert!(params.server_no_context_takeover || !server.server_no_context_takeover);
            assert!(params.client_no_context_takeover || !server.client_no_context_takeover);
            let parsed = parse_extensions(&answer).expect("the answer parses");
            assert_eq!(parsed.len(), 1);
            assert_eq!(parsed[0].name, PERMESSAGE_DEFLATE);
        }
        if let Ok(Some(params)) = client_accept(&offers, &client) {
            check_params(&params);
            assert!(params.client_max_window_bits <= client.client_max_window_bits);
            assert!(params.server_max_window_bits <= client.server_max_window_bits);
        }
    }

    // Our own client and server always agree.
    let offer = client_offer(&client);
    let offers = parse_extensions(&offer).expect("our offer parses");
    let (answer, server_params) =
        server_accept(&offers, &server).expect("the server accepts our own offer");
    let answer = parse_extensions(&answer).expect("the answer parses");
    let client_params = client_accept(&answer, &client)
        .unwrap_or_else(|e| panic!("{client:?} refused the answer of {server:?}: {e}"))
        .expect("accepted");
    assert_eq!(client_params, server_params);
    check_params(&client_params);

    // And a message crosses with what they agreed, both ways.
    let message = text.as_bytes();
    for from_server in [true, false] {
        let mut compressor = server_params.compressor(from_server, 1);
        let mut decompressor = client_params.decompressor(!from_server);
        for _ in 0..2 {
            let mut wire = BytesMut::new();
            compressor.compress(message, &mut wire);
            let mut out = BytesMut::new();
            decompressor
                .decompress(&wire, &mut out, message.len())
                .and_then(|()| decompressor.finish_message(&mut out, message.len()))
                .expect("the message inflates");
            assert_eq!(&out[..], message);
        }
    }
}
