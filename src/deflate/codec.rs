//! Per-message compression and decompression (RFC 7692 §7.2).
//!
//! A compressed message is a raw DEFLATE stream (RFC 1951, no zlib header)
//! flushed with a sync flush, minus the four bytes `00 00 ff ff` that the
//! flush's empty stored block ends with. The receiver appends them again
//! before inflating. With context takeover both sides keep their LZ77
//! window from one message to the next; without it they reset after each
//! message.

use std::fmt;

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::config::{MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// The tail of a sync flush, stripped by the sender and restored by the
/// receiver (RFC 7692 §7.2.1, §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// What an empty message compresses to: the first byte of an empty stored
/// block, whose `LEN`/`NLEN` are the tail the receiver appends (RFC 7692
/// §7.2.3.6).
const EMPTY_MESSAGE: u8 = 0x00;

/// The most output space the decompressor hands zlib at once: what a
/// message may overshoot its limit by is bounded by this.
const CHUNK: usize = 16 * 1024;

/// The most output space the compressor hands zlib at once.
const MAX_STEP: usize = 64 * 1024;

/// The window zlib is given for `bits`. zlib cannot deflate with an 8-bit
/// window, so 8 becomes 9: zlib (and zlib-rs) never emit a distance beyond
/// `2^bits - 262` (its `MAX_DIST`), which for 9 bits is 250, so the output
/// still fits the 256-byte window a peer was promised. Inflating with 9
/// bits where 8 would do is always safe.
fn zlib_bits(bits: u8) -> u8 {
    assert!(
        (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits),
        "window bits {bits} are not in 8..=15"
    );
    bits.max(9)
}

/// Compresses messages for one direction of a connection.
///
/// ```
/// use bytes::BytesMut;
/// use rfc6455::deflate::{Compressor, Decompressor};
///
/// let mut compressor = Compressor::new(15, false, 1);
/// let mut decompressor = Decompressor::new(15, false);
/// let mut wire = BytesMut::new();
/// compressor.compress(b"Hello", &mut wire);
/// assert_eq!(&wire[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]); // RFC 7692 §7.2.3.1
///
/// let mut message = BytesMut::new();
/// decompressor.decompress(&wire, &mut message, 1 << 20)?;
/// decompressor.finish_message(&mut message, 1 << 20)?;
/// assert_eq!(&message[..], b"Hello");
/// # Ok::<(), rfc6455::deflate::DeflateError>(())
/// ```
pub struct Compressor {
    inner: Compress,
    no_context_takeover: bool,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor whose LZ77 window is at most `2^window_bits` bytes,
    /// that forgets its context after every message if
    /// `no_context_takeover`, at zlib `level` (0..=9, clamped).
    ///
    /// `window_bits` 8 is honoured with zlib's 9-bit window, whose matches
    /// reach back at most 250 bytes.
    ///
    /// # Panics
    ///
    /// If `window_bits` is not in 8..=15.
    pub fn new(window_bits: u8, no_context_takeover: bool, level: u32) -> Compressor {
        Compressor {
            inner: Compress::new_with_window_bits(
                Compression::new(level.min(9)),
                false,
                zlib_bits(window_bits),
            ),
            no_context_takeover,
        }
    }

    /// Appends the compressed form of the message `payload` to `out`: a
    /// sync-flushed DEFLATE stream without its `00 00 ff ff` tail, ready to
    /// be the payload of a frame with RSV1 set (or split over several).
    ///
    /// Everything appended must be sent: with context takeover the next
    /// message may refer back to this one.
    pub fn compress(&mut self, payload: &[u8], out: &mut BytesMut) {
        self.compress_fragment(payload, true, out);
    }

    /// Compresses a message given in parts, such as the fragments of a
    /// message streamed by the application: appends the compressed form of
    /// `part` to `out`, and ends the message if `fin`. The output of each
    /// call can go in a frame of its own (RSV1 on the first only).
    ///
    /// A part that is not the last is sync-flushed too, so that the peer can
    /// inflate each frame as it arrives; that costs about 5 bytes a part.
    /// An empty part that is not the last appends nothing.
    pub fn compress_fragment(&mut self, part: &[u8], fin: bool, out: &mut BytesMut) {
        if part.is_empty() {
            if fin {
                // zlib writes nothing for an empty sync flush right after
                // another one, and nothing would not inflate: the tail the
                // receiver appends must follow a stored block's header. The
                // stream is at a flush point, so emit that header.
                out.extend_from_slice(&[EMPTY_MESSAGE]);
                self.end_message();
            }
            return;
        }
        let start = out.len();
        let mut consumed = 0;
        let mut step = 0;
        loop {
            let rest = &part[consumed..];
            // Enough for the rest even when it does not compress (level 1's
            // fixed Huffman codes grow random bytes by about 6%), up to
            // 64 KiB a step; a full step means the next is as large.
            let room = (rest.len() + rest.len() / 8 + 64).max(step).min(MAX_STEP);
            step = room;
            let at = out.len();
            out.resize(at + room, 0);
            let (in_before, out_before) = (self.inner.total_in(), self.inner.total_out());
            let status = self
                .inner
                .compress(rest, &mut out[at..], FlushCompress::Sync)
                .expect("deflate cannot fail on a valid stream");
            let read = (self.inner.total_in() - in_before) as usize;
            let written = (self.inner.total_out() - out_before) as usize;
            out.truncate(at + written);
            consumed += read;
            // zlib has finished the flush once it returns with input used up
            // and output space to spare.
            let done = consumed == part.len() && written < room;
            if done || (status == Status::BufError && read == 0 && written == 0) {
                break;
            }
        }
        debug_assert!(
            out[start..].ends_with(&TAIL),
            "a sync flush ends with 00 00 ff ff"
        );
        if fin {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            self.end_message();
        }
    }

    /// Forgets the message just ended if there is no context takeover:
    /// earlier parts of it may be in the window.
    fn end_message(&mut self) {
        if self.no_context_takeover {
            self.inner.reset();
        }
    }
}

/// Decompresses messages for one direction of a connection, frame by frame.
///
/// Feed each frame's payload of a compressed message (the one with RSV1 on
/// its first frame) to [`decompress`](Self::decompress), then call
/// [`finish_message`](Self::finish_message) once after the final frame.
/// Output is bounded by `max_output` bytes per message: the buffer grows a
/// chunk at a time as data is inflated, never by what the input claims.
///
/// After an error the connection is to be failed; the decompressor is in
/// an unspecified state and should be dropped.
pub struct Decompressor {
    inner: Decompress,
    no_context_takeover: bool,
    /// Bytes written for the message in progress.
    produced: usize,
    /// Compressed bytes fed for the message in progress.
    fed: usize,
    /// The DEFLATE stream ended (a block with BFINAL set) in this message:
    /// what follows is ignored and the inflater restarts afterwards.
    ended: bool,
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor for a peer whose window is at most `2^window_bits`
    /// bytes and that resets its context after every message if
    /// `no_context_takeover`. A larger window than the peer's is harmless
    /// (8 bits use zlib's smallest window, 9).
    ///
    /// # Panics
    ///
    /// If `window_bits` is not in 8..=15.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Decompressor {
        Decompressor {
            inner: Decompress::new_with_window_bits(false, zlib_bits(window_bits)),
            no_context_takeover,
            produced: 0,
            fed: 0,
            ended: false,
        }
    }

    /// Inflates one frame's worth of a compressed message, appending to
    /// `out`. `max_output` bounds the whole message: once more than that
    /// has been inflated, [`DeflateError::TooLarge`], with `out` holding at
    /// most `max_output + 1` bytes of this message.
    pub fn decompress(
        &mut self,
        input: &[u8],
        out: &mut BytesMut,
        max_output: usize,
    ) -> Result<(), DeflateError> {
        self.fed = self.fed.saturating_add(input.len());
        self.inflate(input, out, max_output, FlushDecompress::None)
    }

    /// Ends the message: inflates the restored `00 00 ff ff` tail (which
    /// flushes what zlib still held), then resets the context if the peer
    /// does not take it over. Call it once after the final frame, with the
    /// same `out` and `max_output`.
    ///
    /// A message with an empty compressed payload is taken to be empty;
    /// some senders produce it for empty messages.
    pub fn finish_message(
        &mut self,
        out: &mut BytesMut,
        max_output: usize,
    ) -> Result<(), DeflateError> {
        let result = if self.fed == 0 {
            Ok(())
        } else {
            self.inflate(&TAIL, out, max_output, FlushDecompress::Sync)
        };
        if self.no_context_takeover || self.ended {
            self.inner.reset(false);
        }
        self.produced = 0;
        self.fed = 0;
        self.ended = false;
        result
    }

    fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut BytesMut,
        max_output: usize,
        flush: FlushDecompress,
    ) -> Result<(), DeflateError> {
        // Start from a guess at what the input inflates to, so that small
        // messages take small buffers, then go a chunk at a time.
        let mut step = input.len().saturating_mul(4).clamp(256, CHUNK);
        while !self.ended {
            // One byte past the limit tells "exactly at the limit" from
            // "over it" without inflating further.
            let room = max_output
                .saturating_sub(self.produced)
                .saturating_add(1)
                .min(step);
            let at = out.len();
            out.resize(at + room, 0);
            let (in_before, out_before) = (self.inner.total_in(), self.inner.total_out());
            let result = self.inner.decompress(input, &mut out[at..], flush);
            let read = (self.inner.total_in() - in_before) as usize;
            let written = (self.inner.total_out() - out_before) as usize;
            out.truncate(at + written);
            let status = result.map_err(|_| DeflateError::Corrupt)?;
            input = &input[read..];
            self.produced += written;
            if self.produced > max_output {
                return Err(DeflateError::TooLarge { limit: max_output });
            }
            match status {
                Status::StreamEnd => self.ended = true,
                // zlib stops when the input is used up or the output is
                // full; with room to spare, it has given all it can.
                _ if written < room => break,
                _ if read == 0 && written == 0 => break,
                _ => step = CHUNK,
            }
        }
        Ok(())
    }
}

/// Why a compressed message could not be inflated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateError {
    /// The payload is not valid DEFLATE data (RFC 1951), or refers back
    /// beyond the window. RFC 7692 §7.2.2 requires failing the connection;
    /// close code 1007 (invalid payload data) fits.
    Corrupt,
    /// The message inflates to more than `limit` bytes. Close code 1009
    /// (message too big).
    TooLarge {
        /// The limit that was passed.
        limit: usize,
    },
}

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeflateError::Corrupt => f.write_str("compressed message is not valid DEFLATE data"),
            DeflateError::TooLarge { limit } => {
                write!(f, "compressed message inflates to more than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for DeflateError {}

#[cfg(test)]
mod tests {
    use super::super::reference;
    use super::*;
    use proptest::prelude::*;

    const BIG: usize = 64 << 20;

    /// Compresses each message, then inflates it through a fresh or kept
    /// decompressor, feeding the compressed bytes in pieces cut at `cuts`.
    fn round_trip(bits: u8, nct: bool, level: u32, messages: &[Vec<u8>], cuts: &[usize]) {
        let mut c = Compressor::new(bits, nct, level);
        let mut d = Decompressor::new(bits, nct);
        for m in messages {
            let mut wire = BytesMut::new();
            c.compress(m, &mut wire);
            assert!(!wire.is_empty());
            let mut got = BytesMut::new();
            let mut rest = &wire[..];
            for &cut in cuts {
                let (piece, tail) = rest.split_at(cut.min(rest.len()));
                d.decompress(piece, &mut got, BIG).unwrap();
                rest = tail;
            }
            d.decompress(rest, &mut got, BIG).unwrap();
            d.finish_message(&mut got, BIG).unwrap();
            assert_eq!(&got[..], &m[..]);
        }
    }

    /// `wire` with the tail restored.
    fn with_tail(wire: &[u8]) -> Vec<u8> {
        let mut v = wire.to_vec();
        v.extend_from_slice(&TAIL);
        v
    }

    /// Inflates one message (tail stripped) with zlib directly, as a peer
    /// that appends the tail and inflates would.
    fn zlib_inflate(inflate: &mut Decompress, wire: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 << 20);
        let status = inflate
            .decompress_vec(&with_tail(wire), &mut out, FlushDecompress::Sync)
            .unwrap();
        assert_eq!(status, Status::Ok);
        out
    }

    /// Text with repeats at every distance up to a few KiB.
    fn sample(len: usize, seed: u32) -> Vec<u8> {
        let words: [&[u8]; 8] = [
            b"alpha ",
            b"beta ",
            b"gamma ",
            b"delta ",
            b"{\"id\":",
            b"42,",
            b"\"x\"}",
            b"\n",
        ];
        let mut s = seed;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if s >> 28 == 0 {
                out.extend_from_slice(&(s % 9973).to_be_bytes());
            } else {
                out.extend_from_slice(words[(s >> 16) as usize % 8]);
            }
        }
        out.truncate(len);
        out
    }

    #[test]
    fn rfc_7692_hello_examples() {
        // §7.2.3.1: "Hello" in one message.
        let mut c = Compressor::new(15, false, 6);
        let mut wire = BytesMut::new();
        c.compress(b"Hello", &mut wire);
        assert_eq!(&wire[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        // §7.2.3.2: the second "Hello" refers back to the first.
        let mut second = BytesMut::new();
        c.compress(b"Hello", &mut second);
        assert_eq!(&second[..], [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut d = Decompressor::new(15, false);
        for w in [&wire, &second] {
            let mut got = BytesMut::new();
            d.decompress(w, &mut got, 100).unwrap();
            d.finish_message(&mut got, 100).unwrap();
            assert_eq!(&got[..], b"Hello");
        }
        // Without context takeover both are the first form.
        let mut c = Compressor::new(15, true, 6);
        for _ in 0..2 {
            let mut w = BytesMut::new();
            c.compress(b"Hello", &mut w);
            assert_eq!(&w[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        }
    }

    #[test]
    fn rfc_7692_receiver_examples() {
        let mut d = Decompressor::new(15, true);
        // §7.2.3.1 split over two frames.
        let mut got = BytesMut::new();
        d.decompress(&[0xf2, 0x48, 0xcd], &mut got, 100).unwrap();
        d.decompress(&[0xc9, 0xc9, 0x07, 0x00], &mut got, 100)
            .unwrap();
        d.finish_message(&mut got, 100).unwrap();
        assert_eq!(&got[..], b"Hello");
        // §7.2.3.3: a stored (uncompressed) block.
        let mut got = BytesMut::new();
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        d.decompress(&stored, &mut got, 100).unwrap();
        d.finish_message(&mut got, 100).unwrap();
        assert_eq!(&got[..], b"Hello");
        // §7.2.3.4: BFINAL set, then the receiver's tail is ignored.
        let mut got = BytesMut::new();
        d.decompress(&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut got, 100)
            .unwrap();
        d.finish_message(&mut got, 100).unwrap();
        assert_eq!(&got[..], b"Hello");
        // §7.2.3.5: two DEFLATE blocks in one message.
        let mut got = BytesMut::new();
        let two = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        d.decompress(&two, &mut got, 100).unwrap();
        d.finish_message(&mut got, 100).unwrap();
        assert_eq!(&got[..], b"Hello");
    }

    #[test]
    fn bfinal_with_context_takeover_restarts_the_stream() {
        let mut d = Decompressor::new(15, false);
        for _ in 0..3 {
            let mut got = BytesMut::new();
            d.decompress(&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut got, 100)
                .unwrap();
            d.finish_message(&mut got, 100).unwrap();
            assert_eq!(&got[..], b"Hello");
        }
    }

    #[test]
    fn empty_messages() {
        for nct in [false, true] {
            let mut c = Compressor::new(15, nct, 1);
            let mut d = Decompressor::new(15, nct);
            for m in [&b""[..], b"", b"abc abc abc", b"", b"abc abc abc", b""] {
                let mut wire = BytesMut::new();
                c.compress(m, &mut wire);
                if m.is_empty() {
                    assert_eq!(&wire[..], [0x00]);
                }
                let mut got = BytesMut::new();
                d.decompress(&wire, &mut got, 100).unwrap();
                d.finish_message(&mut got, 100).unwrap();
                assert_eq!(&got[..], m);
            }
        }
        // An empty compressed payload (zlib-based senders produce it) is an
        // empty message and leaves the context alone.
        let mut c = Compressor::new(15, false, 1);
        let mut d = Decompressor::new(15, false);
        for m in [&b"Hello"[..], b"", b"Hello"] {
            let mut wire = BytesMut::new();
            if !m.is_empty() {
                c.compress(m, &mut wire);
            }
            let mut got = BytesMut::new();
            d.decompress(&wire, &mut got, 100).unwrap();
            d.finish_message(&mut got, 100).unwrap();
            assert_eq!(&got[..], m);
        }
    }

    #[test]
    fn fragments_with_empty_parts() {
        for nct in [false, true] {
            let mut c = Compressor::new(15, nct, 6);
            let mut d = Decompressor::new(15, nct);
            let messages: [&[&[u8]]; 5] = [
                &[b"", b"abc", b"", b"abcabc"],
                &[b"Hello", b""],
                &[b"", b""],
                &[b"", b"", b"Hello"],
                &[b"x"],
            ];
            for parts in messages {
                let mut got = BytesMut::new();
                for (i, part) in parts.iter().enumerate() {
                    let fin = i + 1 == parts.len();
                    let mut frame = BytesMut::new();
                    c.compress_fragment(part, fin, &mut frame);
                    if part.is_empty() {
                        assert_eq!(frame.len(), usize::from(fin));
                    }
                    d.decompress(&frame, &mut got, 100).unwrap();
                }
                d.finish_message(&mut got, 100).unwrap();
                assert_eq!(got, parts.concat());
                // Through zlib as well.
                let mut z = Decompress::new(false);
                let mut wire = BytesMut::new();
                let mut c = Compressor::new(15, true, 6);
                for (i, part) in parts.iter().enumerate() {
                    c.compress_fragment(part, i + 1 == parts.len(), &mut wire);
                }
                assert_eq!(zlib_inflate(&mut z, &wire), parts.concat());
            }
        }
    }

    #[test]
    fn empty_message_inflates_with_zlib() {
        // A lone 0x00 plus the tail is an empty stored block for any
        // inflater, fresh or mid-stream.
        let mut c = Compressor::new(15, false, 1);
        let mut z = Decompress::new(false);
        for m in [&b""[..], b"text text text", b"", b""] {
            let mut wire = BytesMut::new();
            c.compress(m, &mut wire);
            assert_eq!(zlib_inflate(&mut z, &wire), m);
        }
    }

    #[test]
    fn every_window_and_level_round_trips() {
        let messages: Vec<Vec<u8>> = (0..6).map(|i| sample(3000 + i * 7000, i as u32)).collect();
        for bits in 8..=15 {
            for nct in [false, true] {
                for level in [0, 1, 6, 9] {
                    round_trip(bits, nct, level, &messages, &[1, 7, 100]);
                }
            }
        }
    }

    /// Random blocks, each repeated at once, of lengths around every
    /// interesting distance: just below and above 250 (zlib's furthest
    /// match with a 9-bit window), 256, 262 (its lookahead), and longer.
    fn long_repeats(seed: u32) -> Vec<u8> {
        let mut s = seed | 1;
        let mut out = Vec::new();
        for len in [
            240, 250, 251, 255, 256, 257, 262, 300, 511, 512, 1000, 5000, 20_000,
        ] {
            let block: Vec<u8> = (0..len)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    s as u8
                })
                .collect();
            out.extend_from_slice(&block);
            out.extend_from_slice(&block);
        }
        out
    }

    #[test]
    fn compressor_window_fits_what_was_announced() {
        // Decode with the reference decoder, which measures how far back
        // each match reaches: never past 2^bits. 8 bits is the interesting
        // case: zlib deflates with 9 bits and must stay within 256 bytes.
        let messages = [long_repeats(1), sample(40_000, 2), long_repeats(3)];
        for bits in 8..=15u8 {
            for level in 0..=9 {
                for nct in [false, true] {
                    let mut c = Compressor::new(bits, nct, level);
                    let mut stream = Vec::new();
                    for m in &messages {
                        let mut wire = BytesMut::new();
                        c.compress(m, &mut wire);
                        if nct {
                            stream.clear();
                        }
                        stream.extend_from_slice(&with_tail(&wire));
                        let decoded = reference::decode(&stream).unwrap();
                        assert!(decoded.data.ends_with(m));
                        assert!(
                            decoded.max_distance <= 1 << bits,
                            "bits {bits} level {level}: distance {}",
                            decoded.max_distance
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn reference_decoder_sees_long_matches() {
        // The check above is meaningful: with a 15-bit window the same data
        // has matches more than 16 KiB back.
        let data = long_repeats(7);
        let mut c = Compressor::new(15, false, 6);
        let mut wire = BytesMut::new();
        c.compress(&data, &mut wire);
        let decoded = reference::decode(&with_tail(&wire)).unwrap();
        assert_eq!(decoded.data, data);
        assert!(decoded.max_distance > 1 << 14, "{}", decoded.max_distance);
    }

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        let zeros = vec![0u8; 10 << 20];
        let mut c = Compressor::new(15, false, 9);
        let mut wire = BytesMut::new();
        c.compress(&zeros, &mut wire);
        assert!(wire.len() < 20 << 10, "{} bytes", wire.len());
        let limit = 1 << 20;
        let mut d = Decompressor::new(15, false);
        let mut got = BytesMut::new();
        // In frames of 1 KiB, as a peer would send it.
        let err = wire
            .chunks(1024)
            .try_for_each(|frame| d.decompress(frame, &mut got, limit))
            .unwrap_err();
        assert_eq!(err, DeflateError::TooLarge { limit });
        assert!(got.len() <= limit + 1, "{}", got.len());
        assert!(got.capacity() <= 2 * limit + CHUNK, "{}", got.capacity());
    }

    #[test]
    fn limit_is_inclusive_and_spans_frames() {
        let m = sample(10_000, 3);
        let mut c = Compressor::new(15, true, 1);
        let mut wire = BytesMut::new();
        c.compress(&m, &mut wire);
        let (a, b) = wire.split_at(wire.len() / 2);
        let mut d = Decompressor::new(15, true);
        let mut got = BytesMut::new();
        d.decompress(a, &mut got, m.len()).unwrap();
        d.decompress(b, &mut got, m.len()).unwrap();
        d.finish_message(&mut got, m.len()).unwrap();
        assert_eq!(&got[..], &m[..]);
        // One byte less fails, wherever the frames are cut.
        let mut d = Decompressor::new(15, true);
        let mut got = BytesMut::new();
        let r = d
            .decompress(a, &mut got, m.len() - 1)
            .and_then(|()| d.decompress(b, &mut got, m.len() - 1))
            .and_then(|()| d.finish_message(&mut got, m.len() - 1));
        assert_eq!(r, Err(DeflateError::TooLarge { limit: m.len() - 1 }));
        // The limit is per message: the next one starts from zero.
        let mut d = Decompressor::new(15, true);
        for _ in 0..3 {
            let mut got = BytesMut::new();
            d.decompress(&wire, &mut got, m.len()).unwrap();
            d.finish_message(&mut got, m.len()).unwrap();
            assert_eq!(got.len(), m.len());
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let mut d = Decompressor::new(15, false);
        let mut got = BytesMut::new();
        // BTYPE 11 is reserved.
        assert_eq!(
            d.decompress(&[0xff, 0xff, 0xff], &mut got, 100),
            Err(DeflateError::Corrupt)
        );
        // A stored block whose NLEN is not the complement of LEN.
        let mut d = Decompressor::new(15, false);
        assert_eq!(
            d.decompress(&[0x00, 0x05, 0x00, 0x00, 0x00], &mut got, 100),
            Err(DeflateError::Corrupt)
        );
        // A distance further back than anything inflated so far.
        let mut c = Compressor::new(15, false, 6);
        let mut first = BytesMut::new();
        c.compress(b"Hello", &mut first);
        let mut second = BytesMut::new();
        c.compress(b"Hello", &mut second);
        let mut d = Decompressor::new(15, false);
        let r = d
            .decompress(&second, &mut got, 100)
            .and_then(|()| d.finish_message(&mut got, 100));
        assert_eq!(r, Err(DeflateError::Corrupt));
    }

    #[test]
    fn interop_with_plain_zlib_raw_streams() {
        // A peer using zlib directly: one raw deflate stream, sync-flushed
        // per message, tail stripped. Frames cut anywhere.
        let messages: Vec<Vec<u8>> = (0..5).map(|i| sample(5_000 * (i + 1), i as u32)).collect();
        let mut z = Compress::new(Compression::default(), false);
        let mut d = Decompressor::new(15, false);
        for m in &messages {
            let mut wire = Vec::with_capacity(m.len() + 64);
            let status = z.compress_vec(m, &mut wire, FlushCompress::Sync).unwrap();
            assert_eq!(status, Status::Ok);
            assert!(wire.ends_with(&TAIL));
            wire.truncate(wire.len() - 4);
            let mut got = BytesMut::new();
            for frame in wire.chunks(333) {
                d.decompress(frame, &mut got, BIG).unwrap();
            }
            d.finish_message(&mut got, BIG).unwrap();
            assert_eq!(&got[..], &m[..]);
        }
        // And the other way: our output through a plain zlib inflater.
        let mut c = Compressor::new(15, false, 1);
        let mut z = Decompress::new(false);
        for m in &messages {
            let mut wire = BytesMut::new();
            c.compress(m, &mut wire);
            assert_eq!(&zlib_inflate(&mut z, &wire), m);
        }
    }

    #[test]
    fn compress_appends_to_existing_output() {
        let mut c = Compressor::new(15, true, 1);
        let mut out = BytesMut::from(&b"header"[..]);
        c.compress(b"Hello", &mut out);
        assert_eq!(&out[..6], b"header");
        let mut d = Decompressor::new(15, true);
        let mut got = BytesMut::from(&b">"[..]);
        d.decompress(&out[6..], &mut got, 5).unwrap();
        d.finish_message(&mut got, 5).unwrap();
        assert_eq!(&got[..], b">Hello");
    }

    #[test]
    fn incompressible_data_round_trips() {
        let mut s = 0x1234_5678u32;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s as u8
            })
            .collect();
        // Level 1 uses fixed Huffman codes only and grows such data by
        // about 5%; the other levels fall back to stored blocks.
        for (level, growth) in [(1, 16), (2, 100), (6, 100)] {
            let mut c = Compressor::new(15, false, level);
            let mut wire = BytesMut::new();
            c.compress(&noise, &mut wire);
            assert!(wire.len() < noise.len() + noise.len() / growth, "{level}");
            round_trip(15, false, level, &[noise.clone(), noise.clone()], &[5000]);
        }
    }

    #[test]
    #[should_panic(expected = "not in 8..=15")]
    fn compressor_rejects_window_bits_16() {
        let _ = Compressor::new(16, false, 1);
    }

    #[test]
    #[should_panic(expected = "not in 8..=15")]
    fn decompressor_rejects_window_bits_7() {
        let _ = Decompressor::new(7, false);
    }

    #[test]
    fn errors_display_and_debug() {
        assert!(DeflateError::Corrupt.to_string().contains("DEFLATE"));
        assert!(DeflateError::TooLarge { limit: 7 }
            .to_string()
            .contains('7'));
        assert!(format!("{:?}", Compressor::new(9, true, 1)).contains("Compressor"));
        assert!(format!("{:?}", Decompressor::new(9, true)).contains("Decompressor"));
    }

    fn payload() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2000),
            proptest::collection::vec(0u8..4, 0..5000),
            (0usize..20_000, any::<u32>()).prop_map(|(n, s)| sample(n, s)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_round_trip(
            bits in 8u8..=15,
            nct in any::<bool>(),
            level in 0u32..=9,
            messages in proptest::collection::vec(payload(), 1..6),
            cuts in proptest::collection::vec(0usize..300, 0..6),
        ) {
            round_trip(bits, nct, level, &messages, &cuts);
        }

        #[test]
        fn prop_fragmenting_does_not_change_output(
            bits in 9u8..=15,
            message in payload(),
            cuts in proptest::collection::vec(0usize..64, 0..20),
        ) {
            let mut c = Compressor::new(bits, false, 1);
            let mut wire = BytesMut::new();
            c.compress(&message, &mut wire);
            let mut whole = BytesMut::new();
            let mut d = Decompressor::new(bits, false);
            d.decompress(&wire, &mut whole, BIG).unwrap();
            d.finish_message(&mut whole, BIG).unwrap();
            let mut pieces = BytesMut::new();
            let mut d = Decompressor::new(bits, false);
            let mut rest = &wire[..];
            for cut in cuts {
                let (a, b) = rest.split_at(cut.min(rest.len()));
                d.decompress(a, &mut pieces, BIG).unwrap();
                rest = b;
            }
            d.decompress(rest, &mut pieces, BIG).unwrap();
            d.finish_message(&mut pieces, BIG).unwrap();
            prop_assert_eq!(&whole[..], &message[..]);
            prop_assert_eq!(&pieces[..], &message[..]);
        }

        #[test]
        fn prop_fragmented_sending_round_trips(
            bits in 8u8..=15,
            nct in any::<bool>(),
            messages in proptest::collection::vec(
                (payload(), proptest::collection::vec(0usize..3000, 0..5)),
                1..5,
            ),
        ) {
            let mut c = Compressor::new(bits, nct, 1);
            let mut d = Decompressor::new(bits, nct);
            for (message, cuts) in &messages {
                // Cut the message into parts; each part's output is a frame.
                let mut parts = Vec::new();
                let mut rest = &message[..];
                for &cut in cuts {
                    let (a, b) = rest.split_at(cut.min(rest.len()));
                    parts.push(a);
                    rest = b;
                }
                parts.push(rest);
                let mut got = BytesMut::new();
                for (i, part) in parts.iter().enumerate() {
                    let mut frame = BytesMut::new();
                    c.compress_fragment(part, i + 1 == parts.len(), &mut frame);
                    d.decompress(&frame, &mut got, BIG).unwrap();
                    // Each frame inflates to its part at once.
                    prop_assert_eq!(got.len(), parts[..=i].iter().map(|p| p.len()).sum::<usize>());
                }
                d.finish_message(&mut got, BIG).unwrap();
                prop_assert_eq!(&got[..], &message[..]);
            }
        }

        #[test]
        fn prop_limit_never_overshoots(message in payload(), limit in 0usize..5000) {
            let mut c = Compressor::new(15, true, 1);
            let mut wire = BytesMut::new();
            c.compress(&message, &mut wire);
            let mut d = Decompressor::new(15, true);
            let mut got = BytesMut::new();
            let r = d
                .decompress(&wire, &mut got, limit)
                .and_then(|()| d.finish_message(&mut got, limit));
            prop_assert!(got.len() <= limit + 1);
            if message.len() <= limit {
                prop_assert_eq!(r, Ok(()));
                prop_assert_eq!(&got[..], &message[..]);
            } else {
                prop_assert_eq!(r, Err(DeflateError::TooLarge { limit }));
            }
        }

        #[test]
        fn prop_garbage_never_panics(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..4),
            nct in any::<bool>(),
        ) {
            let mut d = Decompressor::new(15, nct);
            let mut got = BytesMut::new();
            let r = frames
                .iter()
                .try_for_each(|f| d.decompress(f, &mut got, 10_000))
                .and_then(|()| d.finish_message(&mut got, 10_000));
            prop_assert!(got.len() <= 10_001);
            if let Err(e) = r {
                let known = matches!(e, DeflateError::Corrupt | DeflateError::TooLarge { .. });
                prop_assert!(known);
            }
        }
    }
}
