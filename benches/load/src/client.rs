//! The load generator's side of a connection: a hand-written minimal
//! WebSocket client (or the length-prefixed TCP framing of the reference
//! server) that sends one message, waits for its echo and checks every
//! byte of it.
//!
//! With permessage-deflate (`--deflate`) the client offers
//! `permessage-deflate; client_no_context_takeover;
//! server_no_context_takeover`, requires the server to agree to both, and
//! sends text frames with RSV1 set, precompressed (see [`DeflateRing`]);
//! it inflates every echo and compares it with the JSON it sent.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use flate2::{Compress, Compression, Decompress, FlushCompress};
use rfc6455::frame::{apply_mask, FrameHeader, OpCode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// RFC 6455 §1.3's sample key and the answer it must get.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The extension offer of the deflate runs: each message stands alone in
/// both directions.
const DEFLATE_OFFER: &str =
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover";

/// Connects and, for a WebSocket server, completes the opening handshake;
/// with `deflate`, offers [`DEFLATE_OFFER`] and fails unless the server
/// agrees to permessage-deflate with `server_no_context_takeover`.
pub async fn open(
    addr: SocketAddr,
    websocket: bool,
    deflate: bool,
) -> io::Result<BufReader<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut stream = BufReader::with_capacity(64 * 1024, tcp);
    if !websocket {
        return Ok(stream);
    }
    let offer = if deflate {
        format!("Sec-WebSocket-Extensions: {DEFLATE_OFFER}\r\n")
    } else {
        String::new()
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    stream.get_mut().write_all(request.as_bytes()).await?;
    let mut head = String::new();
    loop {
        let before = head.len();
        if stream.read_line(&mut head).await? == 0 {
            return Err(bad("connection closed during the handshake"));
        }
        if &head[before..] == "\r\n" {
            break;
        }
    }
    if !head.starts_with("HTTP/1.1 101") || !head.contains(ACCEPT) {
        return Err(bad(&format!("handshake refused: {head:?}")));
    }
    let extensions: Vec<String> = head
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_ascii_lowercase())
        })
        .collect();
    if deflate {
        let agreed = extensions.iter().any(|e| {
            e.starts_with("permessage-deflate") && e.contains("server_no_context_takeover")
        });
        if !agreed {
            return Err(bad(&format!(
                "the server did not agree to permessage-deflate with server_no_context_takeover: {head:?}"
            )));
        }
    } else if !extensions.is_empty() {
        return Err(bad(&format!("extensions nobody offered: {head:?}")));
    }
    Ok(stream)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// What one round trip saw.
pub struct Echo {
    /// From just before the write to the echo's last byte read.
    pub ns: u64,
    /// The echo's payload bytes as they came on the wire (compressed when
    /// `compressed`), frame headers not included.
    pub wire_bytes: usize,
    /// The echo came with RSV1 (compressed).
    pub compressed: bool,
}

/// What a connection sends.
enum Traffic {
    /// One binary message (or length-prefixed TCP message) of `size`
    /// bytes, its first eight bytes a fresh sequence number every time.
    Binary {
        /// Header (WebSocket: masked frame; TCP: length prefix), then the
        /// payload.
        wire: Vec<u8>,
        header_len: usize,
        mask: [u8; 4],
        /// The payload in clear, which the echo must equal.
        payload: Vec<u8>,
    },
    /// Compressed JSON texts from a ring, in turn.
    Deflate {
        ring: Arc<DeflateRing>,
        next: usize,
        /// Raw inflate, reset before every echo: the server promised
        /// `server_no_context_takeover`, so every echo must inflate alone.
        inflate: Box<Decompress>,
        inflated: Vec<u8>,
    },
}

/// One connection of the load test.
pub struct Conn {
    stream: BufReader<TcpStream>,
    websocket: bool,
    traffic: Traffic,
    /// The echo's payload as received.
    received: Vec<u8>,
    sequence: u64,
}

impl Conn {
    /// Connects; `ring` (the connection's own messages) makes it a
    /// permessage-deflate connection sending JSON texts.
    pub async fn open(
        addr: SocketAddr,
        websocket: bool,
        size: usize,
        id: u64,
        ring: Option<Arc<DeflateRing>>,
    ) -> io::Result<Conn> {
        let stream = open(addr, websocket, ring.is_some()).await?;
        if let Some(ring) = ring {
            return Ok(Conn {
                stream,
                websocket,
                received: Vec::with_capacity(ring.size + SLACK),
                sequence: 0,
                traffic: Traffic::Deflate {
                    inflated: vec![0; ring.size + SLACK],
                    ring,
                    next: 0,
                    inflate: Box::new(Decompress::new(false)),
                },
            });
        }
        let payload: Vec<u8> = (0..size)
            .map(|i| (i as u64).wrapping_mul(2654435761).wrapping_add(id) as u8)
            .collect();
        let mask = (id as u32).wrapping_mul(0x9E37_79B9).to_be_bytes();
        let mut wire = Vec::with_capacity(size + 14);
        if websocket {
            let mut header = FrameHeader::new(OpCode::Binary, size as u64);
            header.mask = Some(mask);
            header.encode(&mut wire);
        } else {
            wire.extend_from_slice(&(size as u32).to_be_bytes());
        }
        let header_len = wire.len();
        wire.extend_from_slice(&payload);
        if websocket {
            apply_mask(&mut wire[header_len..], mask, 0);
        }
        Ok(Conn {
            stream,
            websocket,
            received: Vec::with_capacity(size),
            sequence: 0,
            traffic: Traffic::Binary {
                wire,
                header_len,
                mask,
                payload,
            },
        })
    }

    /// Sends the next message, reads its echo and checks it: byte for
    /// byte, after inflating it when it came compressed. The time is
    /// taken before the check.
    pub async fn round_trip(&mut self) -> io::Result<Echo> {
        self.sequence += 1;
        match &mut self.traffic {
            Traffic::Binary {
                wire,
                header_len,
                mask,
                payload,
            } => {
                // A fresh sequence number in the first bytes.
                let stamp = self.sequence.to_le_bytes();
                let n = stamp.len().min(payload.len());
                payload[..n].copy_from_slice(&stamp[..n]);
                let start = *header_len;
                wire[start..start + n].copy_from_slice(&stamp[..n]);
                if self.websocket {
                    apply_mask(&mut wire[start..start + n], *mask, 0);
                }
                let limit = payload.len();
                let sent = Instant::now();
                self.stream.get_mut().write_all(wire).await?;
                self.received.clear();
                if self.websocket {
                    let compressed = read_message(
                        &mut self.stream,
                        &mut self.received,
                        OpCode::Binary,
                        false,
                        limit,
                    )
                    .await?;
                    debug_assert!(!compressed);
                } else {
                    let len = self.stream.read_u32().await? as usize;
                    if len > limit {
                        return Err(bad("echo longer than the message sent"));
                    }
                    self.received.resize(len, 0);
                    self.stream.read_exact(&mut self.received).await?;
                }
                let ns = sent.elapsed().as_nanos() as u64;
                let Traffic::Binary { payload, .. } = &self.traffic else {
                    unreachable!()
                };
                compare(&self.received, payload, self.sequence)?;
                Ok(Echo {
                    ns,
                    wire_bytes: self.received.len(),
                    compressed: false,
                })
            }
            Traffic::Deflate {
                ring,
                next,
                inflate,
                inflated,
            } => {
                let k = *next;
                *next = (k + 1) % ring.len();
                let sent = Instant::now();
                self.stream.get_mut().write_all(ring.frame(k)).await?;
                self.received.clear();
                let compressed = read_message(
                    &mut self.stream,
                    &mut self.received,
                    OpCode::Text,
                    true,
                    ring.size + SLACK,
                )
                .await?;
                let ns = sent.elapsed().as_nanos() as u64;
                let json = ring.json(k);
                let echo = if compressed {
                    inflate.reset(false);
                    let n = crate::fanout_client::inflate_into(inflate, &self.received, inflated)
                        .map_err(|e| {
                        bad(&format!(
                            "message {}: inflating the echo: {e}",
                            self.sequence
                        ))
                    })?;
                    &inflated[..n]
                } else {
                    &self.received[..]
                };
                compare(echo, json, self.sequence)?;
                Ok(Echo {
                    ns,
                    wire_bytes: self.received.len(),
                    compressed,
                })
            }
        }
    }
}

/// Room past the message size for what deflate may add to a message that
/// does not compress, and for the inflater to see the end.
const SLACK: usize = 64 + 1024;

fn compare(received: &[u8], sent: &[u8], sequence: u64) -> io::Result<()> {
    if received == sent {
        return Ok(());
    }
    let at = received.iter().zip(sent).position(|(a, b)| a != b);
    Err(bad(&format!(
        "echo mismatch on message {sequence}: sent {} bytes, got {} (first difference at {at:?})",
        sent.len(),
        received.len()
    )))
}

/// Reads one data message (any number of frames) into `received`, at
/// most `limit` bytes. Returns whether its first frame had RSV1 (allowed
/// only with `rsv1_allowed`: permessage-deflate agreed).
async fn read_message(
    stream: &mut BufReader<TcpStream>,
    received: &mut Vec<u8>,
    opcode: OpCode,
    rsv1_allowed: bool,
    limit: usize,
) -> io::Result<bool> {
    let mut first = true;
    let mut compressed = false;
    loop {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await?;
        let fin = head[0] & 0x80 != 0;
        let rsv1 = head[0] & 0x40 != 0;
        if head[0] & 0x30 != 0 || (rsv1 && !(rsv1_allowed && first)) || head[1] & 0x80 != 0 {
            return Err(bad(&format!(
                "server frame with RSV bits or a mask: {:#04x} {:#04x}",
                head[0], head[1]
            )));
        }
        if first {
            compressed = rsv1;
        }
        let got = OpCode::from_bits(head[0]);
        let expected = if first { opcode } else { OpCode::Continuation };
        if got != expected {
            return Err(bad(&format!("unexpected {got} frame")));
        }
        let len = match head[1] & 0x7F {
            126 => u64::from(stream.read_u16().await?),
            127 => stream.read_u64().await?,
            n => u64::from(n),
        } as usize;
        let at = received.len();
        if at + len > limit {
            return Err(bad("echo longer than the message sent"));
        }
        received.resize(at + len, 0);
        stream.read_exact(&mut received[at..]).await?;
        if fin {
            return Ok(compressed);
        }
        first = false;
    }
}

/// The ring of precompressed JSON texts one connection of a deflate
/// scenario sends in turn, built once per scenario (so the generator
/// spends nothing on compressing during the measurement).
///
/// Message `k` is a chat-like JSON document of exactly `size` bytes:
/// `{"seq":k,"conn":ID,"events":[…lines of benches/corpus/chat.jsonl…],"pad":"…words…"}`,
/// every one different (its own `seq` and `conn`, lines from its own
/// place in the corpus). Each is compressed alone (raw deflate, 15-bit
/// window, zlib level 6 as zlib's default, `Z_SYNC_FLUSH`, the final
/// `00 00 ff ff` removed: RFC 7692 §7.2.1, no context takeover) and
/// framed as a final text frame with RSV1, masked with its own key.
pub struct DeflateRing {
    size: usize,
    /// Every message's JSON, `size` bytes each.
    json: Vec<u8>,
    /// Every message's whole masked frame, back to back.
    wire: Vec<u8>,
    frames: Vec<Range<usize>>,
    /// Compressed payload bytes, all messages.
    compressed_bytes: usize,
}

/// Chat events to build the JSON messages from.
const CORPUS: &str = include_str!("../../corpus/chat.jsonl");

/// The smallest message size a deflate scenario takes.
pub const DEFLATE_MIN_SIZE: usize = 64;

impl DeflateRing {
    /// Messages per connection: 256, fewer when the rings of `conns`
    /// connections would pass about 64 MiB of JSON; at least 4.
    pub fn len_for(conns: usize, size: usize) -> usize {
        ((64 << 20) / (conns.max(1) * size.max(1))).clamp(4, 256)
    }

    pub fn new(id: u64, size: usize, len: usize) -> Result<DeflateRing, String> {
        if size < DEFLATE_MIN_SIZE {
            return Err(format!(
                "deflate messages are JSON of at least {DEFLATE_MIN_SIZE} bytes, not {size}"
            ));
        }
        let lines: Vec<&str> = CORPUS.lines().filter(|l| !l.is_empty()).collect();
        let mut compressor = Compress::new(Compression::default(), false);
        let mut ring = DeflateRing {
            size,
            json: Vec::with_capacity(len * size),
            wire: Vec::new(),
            frames: Vec::with_capacity(len),
            compressed_bytes: 0,
        };
        let mut compressed = Vec::new();
        for k in 0..len {
            let json = chat_json(&lines, id, k as u64, size);
            debug_assert_eq!(json.len(), size);
            compressor.reset();
            compressed.clear();
            compressed.reserve(size + size / 8 + 64);
            compressor
                .compress_vec(&json, &mut compressed, FlushCompress::Sync)
                .map_err(|e| format!("deflate: {e}"))?;
            if compressor.total_in() != size as u64 || !compressed.ends_with(&[0, 0, 0xff, 0xff]) {
                return Err("deflate: message not compressed whole".into());
            }
            compressed.truncate(compressed.len() - 4);
            let mask = (id as u32 ^ (k as u32).wrapping_mul(0x85EB_CA6B))
                .wrapping_mul(0x9E37_79B9)
                .to_be_bytes();
            let mut header = FrameHeader::new(OpCode::Text, compressed.len() as u64);
            header.rsv = 0b100; // RSV1: compressed
            header.mask = Some(mask);
            let start = ring.wire.len();
            header.encode(&mut ring.wire);
            let at = ring.wire.len();
            ring.wire.extend_from_slice(&compressed);
            apply_mask(&mut ring.wire[at..], mask, 0);
            ring.frames.push(start..ring.wire.len());
            ring.compressed_bytes += compressed.len();
            ring.json.extend_from_slice(&json);
        }
        Ok(ring)
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    fn frame(&self, k: usize) -> &[u8] {
        &self.wire[self.frames[k].clone()]
    }

    fn json(&self, k: usize) -> &[u8] {
        &self.json[k * self.size..(k + 1) * self.size]
    }

    /// Compressed payload bytes over JSON bytes, over the whole ring.
    pub fn ratio(&self) -> f64 {
        self.compressed_bytes as f64 / self.json.len() as f64
    }
}

/// Message `seq` of connection `conn`: exactly `size` bytes of JSON (see
/// [`DeflateRing`]).
fn chat_json(lines: &[&str], conn: u64, seq: u64, size: usize) -> Vec<u8> {
    const TAIL_OPEN: &str = "],\"pad\":\"";
    const TAIL_CLOSE: &str = "\"}";
    let mut out = format!("{{\"seq\":{seq},\"conn\":{conn},\"events\":[").into_bytes();
    let fixed = TAIL_OPEN.len() + TAIL_CLOSE.len();
    let mut i = (conn as usize * 131 + seq as usize * 17) % lines.len();
    let mut first = true;
    loop {
        let line = lines[i].as_bytes();
        let comma = usize::from(!first);
        if out.len() + comma + line.len() + fixed > size {
            break;
        }
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(line);
        first = false;
        i = (i + 1) % lines.len();
    }
    out.extend_from_slice(TAIL_OPEN.as_bytes());
    // Padding: the words of the following lines (letters, digits, spaces).
    let pad = size.saturating_sub(out.len() + TAIL_CLOSE.len());
    let mut words = lines[i..]
        .iter()
        .chain(lines[..i].iter())
        .cycle()
        .flat_map(|l| {
            l.bytes()
                .filter(|b| b.is_ascii_alphanumeric() || *b == b' ')
        });
    out.extend((0..pad).map(|_| words.next().unwrap_or(b'x')));
    out.extend_from_slice(TAIL_CLOSE.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_messages_have_the_size_and_differ() {
        let lines: Vec<&str> = CORPUS.lines().collect();
        for size in [DEFLATE_MIN_SIZE, 100, 1024, 16 * 1024] {
            let a = chat_json(&lines, 3, 0, size);
            let b = chat_json(&lines, 3, 1, size);
            let c = chat_json(&lines, 4, 0, size);
            for m in [&a, &b, &c] {
                assert_eq!(m.len(), size);
                assert!(std::str::from_utf8(m).is_ok());
                assert!(m.starts_with(b"{\"seq\":") && m.ends_with(b"\"}"));
            }
            assert!(a != b && a != c);
        }
        let m = chat_json(&lines, 7, 42, 1024);
        assert!(m.starts_with(b"{\"seq\":42,\"conn\":7,\"events\":[{\"type\":"));
    }

    #[test]
    fn ring_frames_inflate_to_their_json() {
        let ring = DeflateRing::new(5, 1024, 8).unwrap();
        assert_eq!(ring.len(), 8);
        let ratio = ring.ratio();
        assert!(ratio > 0.2 && ratio < 0.8, "{ratio}");
        let mut d = Decompress::new(false);
        let mut out = vec![0; 1024 + SLACK];
        for k in 0..ring.len() {
            let frame = ring.frame(k).to_vec();
            assert_eq!(frame[0], 0xC1, "FIN, RSV1, text");
            let (len, at) = match frame[1] & 0x7F {
                126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
                n => (n as usize, 2),
            };
            let mask: [u8; 4] = frame[at..at + 4].try_into().unwrap();
            let mut payload = frame[at + 4..].to_vec();
            assert_eq!(payload.len(), len);
            apply_mask(&mut payload, mask, 0);
            d.reset(false);
            let n = crate::fanout_client::inflate_into(&mut d, &payload, &mut out).unwrap();
            assert_eq!(&out[..n], ring.json(k));
        }
    }
}
