//! What this endpoint is willing to negotiate, and how hard it compresses.

/// The smallest LZ77 window RFC 7692 allows: 2^8 = 256 bytes.
pub const MIN_WINDOW_BITS: u8 = 8;
/// The largest LZ77 window RFC 7692 allows: 2^15 = 32 KiB, the default.
pub const MAX_WINDOW_BITS: u8 = 15;

/// permessage-deflate settings of one endpoint (RFC 7692).
///
/// The same settings serve both roles. Each field names the direction it
/// limits, as the RFC's parameters do: `server_*` is about what the server
/// compresses (and the client decompresses), `client_*` the other way.
///
/// - As a **client**, `client_*` is how we compress: we promise it in the
///   offer (`client_no_context_takeover`, `client_max_window_bits=N`), and
///   `server_*` is what we ask of the server.
/// - As a **server**, `server_*` is how we compress (announced in the
///   response even if the client did not ask), and `client_*` is what we
///   require of the client. The stricter of the client's request and this
///   config always wins.
///
/// # Memory and ratio: the defaults
///
/// zlib's state is large: with the zlib-rs backend (zlib's memLevel 8) a
/// compressor holds 245-371 KiB (a 128 KiB hash table and a 64 KiB symbol
/// buffer whatever the window) and a decompressor 46 KiB. Kept per
/// connection, that is about 420 KiB each: 4 GB for 10,000 connections.
///
/// So by default neither side keeps a context between messages
/// (`server_no_context_takeover` and `client_no_context_takeover`, which
/// a server may announce whatever the client offered, RFC 7692 §7.1.1):
/// each message is compressed on its own by one compressor per thread,
/// shared by every connection, and inflated by a decompressor borrowed
/// from a per-thread pool while it arrives. A connection then holds no
/// compression state at all between messages. The price is the ratio on
/// streams of small, similar messages, which context takeover compresses
/// against each other. Measured by `tests/deflate_memory.rs` on
/// `benches/corpus/chat.jsonl` (500 chat messages as the chat example
/// sends them, 113 bytes on average; ratio = compressed / raw, lower is
/// better), and the heap a server connection holds after one echo of a
/// 600-byte message (the thread's shared compressor and pool are the
/// thread's, not the connection's):
///
/// | setting | server memory | ratio |
/// |---|---:|---:|
/// | default (no context takeover, level 1) | 2.2 KiB (uncompressed: 2.5) | 0.918 |
/// | no context takeover, level 6 | 1.8 KiB | 0.799 |
/// | context takeover both ways, level 1 | 467 KiB | 0.345 |
/// | context takeover both ways, level 6 | 466 KiB | 0.261 |
/// | Python websockets' server defaults (12-bit windows, memLevel 5, level 6, context takeover; Python's zlib, `benches/corpus/python_ratio.py`) | | 0.287 |
///
/// On messages this small, compressing each on its own saves little (8 %
/// at level 1, 20 % at level 6): most of the gain of compression on chat
/// traffic comes from context takeover. Messages of a few KiB compress
/// well on their own. Where bandwidth costs more than memory (few
/// connections, chatty small messages over slow links), turn context
/// takeover back on with `.server_no_context_takeover(false)
/// .client_no_context_takeover(false)`, and consider level 6.
///
/// ```
/// use rfc6455::deflate::DeflateConfig;
///
/// let config = DeflateConfig::default()
///     .server_no_context_takeover(true)
///     .client_max_window_bits(12)
///     .compression_level(6);
/// assert_eq!(config.server_max_window_bits, 15);
/// assert_eq!(config.client_max_window_bits, 12);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server resets its compression context after every message
    /// (`server_no_context_takeover`). Default `true` (see the memory
    /// table above). A client asks for it; a server announces it.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after every message
    /// (`client_no_context_takeover`). Default `true` (see the memory
    /// table above). A client promises it; a server requires it.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, as a power of two,
    /// 8..=15. Default 15. A client asks for it (when below 15); a server
    /// limits itself to it.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with, 8..=15. Default 15.
    /// A client compresses with it; a server requires it when below 15, and
    /// then declines offers from clients that cannot limit their window.
    pub client_max_window_bits: u8,
    /// zlib compression level, 0 (store only) to 9 (smallest). Default 1,
    /// as a server compresses for many connections at once: measured on
    /// 4 KiB messages with zlib-rs, level 1 keeps 87% (JSON) to 98% (prose)
    /// of level 6's savings at 4 to 7 times its speed. zlib-rs's level 1
    /// uses fixed Huffman codes only, so incompressible data (already
    /// compressed media) grows by about 5%; levels 2 and up fall back to
    /// stored blocks instead, but are 6 to 13 times slower on 256-byte
    /// JSON messages.
    pub compression_level: u32,
    /// Messages shorter than this many bytes are sent uncompressed (RSV1
    /// clear). Default 32: below that the deflate overhead (a block header,
    /// Huffman codes) usually eats the gain.
    pub min_compress_size: usize,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            compression_level: 1,
            min_compress_size: 32,
        }
    }
}

impl DeflateConfig {
    /// Sets [`server_no_context_takeover`](Self::server_no_context_takeover).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets [`client_no_context_takeover`](Self::client_no_context_takeover).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets [`server_max_window_bits`](Self::server_max_window_bits).
    ///
    /// # Panics
    ///
    /// If `bits` is not in 8..=15.
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        assert_window_bits(bits);
        self.server_max_window_bits = bits;
        self
    }

    /// Sets [`client_max_window_bits`](Self::client_max_window_bits).
    ///
    /// # Panics
    ///
    /// If `bits` is not in 8..=15.
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        assert_window_bits(bits);
        self.client_max_window_bits = bits;
        self
    }

    /// Sets [`compression_level`](Self::compression_level).
    ///
    /// # Panics
    ///
    /// If `level` is above 9.
    pub fn compression_level(mut self, level: u32) -> Self {
        assert!(level <= 9, "compression level {level} is not in 0..=9");
        self.compression_level = level;
        self
    }

    /// Sets [`min_compress_size`](Self::min_compress_size).
    pub fn min_compress_size(mut self, bytes: usize) -> Self {
        self.min_compress_size = bytes;
        self
    }

    /// `server_max_window_bits` brought into 8..=15 (the field is public,
    /// so it may hold anything).
    pub(crate) fn server_bits(&self) -> u8 {
        clamp_bits(self.server_max_window_bits)
    }

    /// `client_max_window_bits` brought into 8..=15.
    pub(crate) fn client_bits(&self) -> u8 {
        clamp_bits(self.client_max_window_bits)
    }
}

fn assert_window_bits(bits: u8) {
    assert!(
        (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits),
        "window bits {bits} are not in 8..=15"
    );
}

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = DeflateConfig::default();
        // No context takeover either way: no per-connection zlib state.
        assert!(c.server_no_context_takeover && c.client_no_context_takeover);
        assert_eq!(
            (c.server_max_window_bits, c.client_max_window_bits),
            (15, 15)
        );
        assert_eq!(c.compression_level, 1);
        assert_eq!(c.min_compress_size, 32);
    }

    #[test]
    fn builders_set_fields() {
        let c = DeflateConfig::default()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(8)
            .client_max_window_bits(9)
            .compression_level(9)
            .min_compress_size(0);
        assert!(c.server_no_context_takeover && c.client_no_context_takeover);
        assert_eq!((c.server_bits(), c.client_bits()), (8, 9));
        assert_eq!(c.compression_level, 9);
        assert_eq!(c.min_compress_size, 0);
    }

    #[test]
    fn out_of_range_window_bits_are_clamped() {
        let c = DeflateConfig {
            server_max_window_bits: 3,
            client_max_window_bits: 40,
            ..DeflateConfig::default()
        };
        assert_eq!((c.server_bits(), c.client_bits()), (8, 15));
    }

    #[test]
    #[should_panic(expected = "not in 8..=15")]
    fn builder_rejects_window_bits_7() {
        let _ = DeflateConfig::default().server_max_window_bits(7);
    }

    #[test]
    #[should_panic(expected = "not in 8..=15")]
    fn builder_rejects_window_bits_16() {
        let _ = DeflateConfig::default().client_max_window_bits(16);
    }

    #[test]
    #[should_panic(expected = "not in 0..=9")]
    fn builder_rejects_level_10() {
        let _ = DeflateConfig::default().compression_level(10);
    }
}
