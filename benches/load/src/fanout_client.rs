//! The fan-out load generator's connections: subscribers that parse the
//! server's unmasked frames in place (no allocation per message), check
//! every sequence number and count deliveries; and the publisher, which
//! keeps at most `window` messages in flight, a message being done when
//! every subscriber has it.

use std::cell::RefCell;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use flate2::{Decompress, FlushDecompress, Status};
use rfc6455::frame::apply_mask;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::sys::now_ns;

/// RFC 6455 §1.3's sample key and the answer it must get.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Every message is this long: `{"seq":N,"t":T,"pad":"xx…"}`.
pub const MSG_LEN: usize = 64;
/// Every subscriber records its latency for every this many messages.
pub const SAMPLE_EVERY: u64 = 16;
/// Per-message delivery counters, indexed by `seq % RING`; the window must
/// stay below it.
pub const RING: usize = 4096;
/// A subscriber's read buffer.
const READ_BUF: usize = 4096;

/// The state the subscribers and the publisher of one run share.
pub struct Shared {
    subs: u32,
    /// Subscribers that have message `seq`, at `seq % RING`; reset to 0 by
    /// the subscriber that completes it.
    counts: Box<[AtomicU32]>,
    /// Messages every subscriber has (they complete in order: each
    /// subscriber receives in order).
    pub completed: AtomicU64,
    /// Messages received by subscribers, all counted: deliveries.
    pub received: AtomicU64,
    /// Messages the publisher has written.
    pub sent: AtomicU64,
    pub stop: AtomicBool,
    notify: Notify,
    /// Latency samples are taken while this is set.
    pub sampling: AtomicBool,
    pub latency: Histogram,
    pub errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// Bytes of data frames (headers included) the subscribers received.
    pub wire_bytes: AtomicU64,
    /// Data frames the subscribers received.
    pub data_frames: AtomicU64,
    /// Data frames the subscribers received with RSV1 (compressed).
    pub compressed_frames: AtomicU64,
    pub pings: AtomicU64,
}

impl Shared {
    pub fn new(subs: usize) -> Shared {
        Shared {
            subs: subs as u32,
            counts: (0..RING).map(|_| AtomicU32::new(0)).collect(),
            completed: AtomicU64::new(0),
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            notify: Notify::new(),
            sampling: AtomicBool::new(false),
            latency: Histogram::new(),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
            wire_bytes: AtomicU64::new(0),
            data_frames: AtomicU64::new(0),
            compressed_frames: AtomicU64::new(0),
            pings: AtomicU64::new(0),
        }
    }

    pub fn fail(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap();
        if first.is_none() {
            *first = Some(what);
        }
        drop(first);
        // The publisher may wait for a message that will now never complete.
        self.notify.notify_one();
    }

    pub fn first_error(&self) -> Option<String> {
        self.first_error.lock().unwrap().clone()
    }

    /// One more subscriber has message `seq`.
    fn delivered(&self, seq: u64) -> Result<(), String> {
        self.received.fetch_add(1, Ordering::Relaxed);
        let slot = &self.counts[(seq % RING as u64) as usize];
        if slot.fetch_add(1, Ordering::Relaxed) + 1 == self.subs {
            slot.store(0, Ordering::Relaxed);
            let before = self.completed.fetch_add(1, Ordering::Relaxed);
            if before != seq {
                return Err(format!(
                    "message {seq} completed after only {before} earlier ones"
                ));
            }
            self.notify.notify_one();
        }
        Ok(())
    }
}

/// Latencies in nanoseconds, log-linear buckets (64 per power of two,
/// under 1.6 % apart), preallocated. Also used by the echo test.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
}

const SUB_BITS: u32 = 6;
const SUBS: usize = 1 << SUB_BITS;

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            buckets: (0..SUBS * 64).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * SUBS as u64 {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() - SUB_BITS;
        (shift as usize + 1) * SUBS + ((v >> shift) as usize - SUBS)
    }

    /// The middle of bucket `i`.
    fn value(i: usize) -> f64 {
        if i < 2 * SUBS {
            return i as f64;
        }
        let shift = i / SUBS - 1;
        let low = ((i % SUBS + SUBS) as u64) << shift;
        low as f64 + ((1u64 << shift) as f64 - 1.0) / 2.0
    }

    pub fn record(&self, v: u64) {
        self.buckets[Self::index(v)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn clear(&self) {
        for b in self.buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0..=1) in nanoseconds; NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Self::value(i);
            }
        }
        f64::NAN
    }
}

/// How a subscriber inflates compressed frames.
enum Inflate {
    /// The server agreed to no deflate.
    Off,
    /// Context takeover: the window carries over, a decompressor per
    /// connection.
    Own(Box<Decompress>),
    /// `server_no_context_takeover`: no message refers to an earlier one,
    /// so one decompressor serves every such connection.
    Shared,
}

thread_local! {
    static SHARED_INFLATE: RefCell<SharedInflate> = RefCell::new(SharedInflate::new());
}

/// The decompressor for connections without server context takeover, and
/// what it inflated lately: such a server sends every subscriber the same
/// compressed bytes for a message, and without context those bytes always
/// inflate to the same message, so a subscriber whose payload equals a
/// recent one copies that result instead of inflating again.
struct SharedInflate {
    inflate: Decompress,
    recent: Vec<(Vec<u8>, [u8; MSG_LEN])>,
}

const RECENT: usize = 64;

impl SharedInflate {
    fn new() -> SharedInflate {
        SharedInflate {
            inflate: Decompress::new(false),
            recent: vec![(Vec::new(), [0; MSG_LEN]); RECENT],
        }
    }

    fn inflate(&mut self, payload: &[u8], out: &mut [u8]) -> io::Result<usize> {
        // FNV-1a over the compressed bytes picks the slot.
        let hash = payload.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let slot = &mut self.recent[(hash % RECENT as u64) as usize];
        if !slot.0.is_empty() && slot.0 == payload {
            out[..MSG_LEN].copy_from_slice(&slot.1);
            return Ok(MSG_LEN);
        }
        let n = inflate_into(&mut self.inflate, payload, out)?;
        if n == MSG_LEN {
            slot.0.clear();
            slot.0.extend_from_slice(payload);
            slot.1.copy_from_slice(&out[..MSG_LEN]);
        }
        Ok(n)
    }
}

/// Connects and completes the opening handshake to `path`, offering
/// permessage-deflate when asked. Returns the stream, whether and how the
/// server agreed to deflate, and bytes read past the 101.
async fn handshake(
    addr: SocketAddr,
    path: &str,
    offer_deflate: bool,
) -> io::Result<(TcpStream, Option<bool>, Vec<u8>)> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let offer = if offer_deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(512);
    let end = loop {
        if tcp.read_buf(&mut buf).await? == 0 {
            return Err(bad("connection closed during the handshake"));
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > 8192 {
            return Err(bad("handshake answer too long"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    if !head.starts_with("HTTP/1.1 101") || !head.contains(ACCEPT) {
        return Err(bad(&format!("handshake refused: {head:?}")));
    }
    // None: no deflate; Some(true): the server resets its context per message.
    let deflate = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("sec-websocket-extensions") {
            return None;
        }
        let value = value.to_ascii_lowercase();
        value
            .contains("permessage-deflate")
            .then(|| value.contains("server_no_context_takeover"))
    });
    Ok((tcp, deflate, buf[end..].to_vec()))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// One subscriber connection, handshake done.
pub struct Subscriber {
    id: usize,
    tcp: TcpStream,
    inflate: Inflate,
    leftover: Vec<u8>,
}

impl Subscriber {
    pub async fn open(
        addr: SocketAddr,
        id: usize,
        offer_deflate: bool,
    ) -> io::Result<(Subscriber, Option<bool>)> {
        let (tcp, deflate, leftover) = handshake(addr, "/sub", offer_deflate).await?;
        let inflate = match deflate {
            None => Inflate::Off,
            Some(true) => Inflate::Shared,
            Some(false) => Inflate::Own(Box::new(Decompress::new(false))),
        };
        Ok((
            Subscriber {
                id,
                tcp,
                inflate,
                leftover,
            },
            deflate,
        ))
    }

    /// Reads until the connection fails; records the failure in `shared`.
    pub async fn run(mut self, shared: std::sync::Arc<Shared>) {
        let mut next_seq = 0u64;
        if let Err(e) = self.read_loop(&shared, &mut next_seq).await {
            shared.fail(format!(
                "subscriber {} (next expected seq {next_seq}): {e}",
                self.id
            ));
        }
    }

    async fn read_loop(&mut self, shared: &Shared, next_seq: &mut u64) -> io::Result<()> {
        let mut buf = vec![0u8; READ_BUF].into_boxed_slice();
        let mut filled = self.leftover.len();
        buf[..filled].copy_from_slice(&self.leftover);
        self.leftover = Vec::new();
        let mut pong: Vec<u8> = Vec::new();
        let mut inflated = [0u8; 2 * MSG_LEN];
        loop {
            let now = now_ns();
            let mut at = 0;
            while let Some((b0, payload_at, len)) = server_frame(&buf[at..filled])? {
                let start = at + payload_at;
                let payload = &buf[start..start + len];
                at = start + len;
                match b0 & 0x0F {
                    0x1 if b0 & 0x80 != 0 => {
                        shared
                            .wire_bytes
                            .fetch_add((payload_at + len) as u64, Ordering::Relaxed);
                        shared.data_frames.fetch_add(1, Ordering::Relaxed);
                        let message = if b0 & 0x40 != 0 {
                            shared.compressed_frames.fetch_add(1, Ordering::Relaxed);
                            let n = self.inflate(payload, &mut inflated)?;
                            &inflated[..n]
                        } else {
                            payload
                        };
                        self.on_message(message, now, shared, next_seq)?;
                    }
                    0x9 => {
                        // A ping (sockudo-ws pings after 30 s of silence):
                        // answer it, masked, after this batch.
                        shared.pings.fetch_add(1, Ordering::Relaxed);
                        let mask = [0x5a, 0x17, 0x3c, 0x99];
                        let from = pong.len();
                        pong.extend_from_slice(&[0x8A, 0x80 | len as u8]);
                        pong.extend_from_slice(&mask);
                        pong.extend_from_slice(payload);
                        apply_mask(&mut pong[from + 6..], mask, 0);
                    }
                    0xA => {}
                    0x8 => return Err(bad("the server closed the connection")),
                    _ => {
                        return Err(bad(&format!(
                            "unexpected frame: first byte {b0:#04x}, {len} bytes"
                        )))
                    }
                }
            }
            buf.copy_within(at..filled, 0);
            filled -= at;
            if !pong.is_empty() {
                self.tcp.write_all(&pong).await?;
                pong.clear();
            }
            if filled == buf.len() {
                return Err(bad("frame larger than the read buffer"));
            }
            let n = self.tcp.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Err(bad("connection closed by the server"));
            }
            filled += n;
        }
    }

    /// Inflates one message (RFC 7692 §7.2.2: the payload, then
    /// 00 00 ff ff) into `out`.
    fn inflate(&mut self, payload: &[u8], out: &mut [u8]) -> io::Result<usize> {
        match &mut self.inflate {
            Inflate::Off => Err(bad("RSV1 frame without permessage-deflate")),
            Inflate::Own(d) => inflate_into(d, payload, out),
            Inflate::Shared => SHARED_INFLATE.with(|d| d.borrow_mut().inflate(payload, out)),
        }
    }

    fn on_message(
        &self,
        message: &[u8],
        now: u64,
        shared: &Shared,
        next_seq: &mut u64,
    ) -> io::Result<()> {
        let (seq, t) = parse_message(message).ok_or_else(|| {
            bad(&format!(
                "malformed message {:?}",
                String::from_utf8_lossy(message)
            ))
        })?;
        if seq != *next_seq {
            return Err(bad(&format!("got seq {seq}")));
        }
        *next_seq += 1;
        if seq % SAMPLE_EVERY == 0 && shared.sampling.load(Ordering::Relaxed) {
            shared.latency.record(now.saturating_sub(t));
        }
        shared.delivered(seq).map_err(|e| bad(&e))
    }
}

pub(crate) fn inflate_into(
    d: &mut Decompress,
    payload: &[u8],
    out: &mut [u8],
) -> io::Result<usize> {
    const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];
    let start_out = d.total_out();
    let mut status = Status::Ok;
    for (input, flush) in [
        (payload, FlushDecompress::None),
        (&TAIL[..], FlushDecompress::Sync),
    ] {
        let mut used = 0;
        while used < input.len() && status != Status::StreamEnd {
            let before_in = d.total_in();
            let written = (d.total_out() - start_out) as usize;
            if written == out.len() {
                return Err(bad("inflated message longer than expected"));
            }
            status = d
                .decompress(&input[used..], &mut out[written..], flush)
                .map_err(|e| bad(&format!("inflate: {e}")))?;
            let took = (d.total_in() - before_in) as usize;
            if took == 0 && (d.total_out() - start_out) as usize == written {
                return Err(bad("inflate made no progress"));
            }
            used += took;
        }
    }
    let n = (d.total_out() - start_out) as usize;
    if status == Status::StreamEnd {
        // A final block (BFINAL): the next message starts a new stream.
        d.reset(false);
    }
    Ok(n)
}

/// A complete unmasked server frame at the start of `data`: (first byte,
/// payload offset, payload length).
fn server_frame(data: &[u8]) -> io::Result<Option<(u8, usize, usize)>> {
    if data.len() < 2 {
        return Ok(None);
    }
    if data[1] & 0x80 != 0 {
        return Err(bad("masked server frame"));
    }
    let (len, at) = match data[1] & 0x7F {
        126 if data.len() >= 4 => (u16::from_be_bytes([data[2], data[3]]) as usize, 4),
        127 if data.len() >= 10 => (
            u64::from_be_bytes(data[2..10].try_into().unwrap()) as usize,
            10,
        ),
        126 | 127 => return Ok(None),
        n => (n as usize, 2),
    };
    if len > READ_BUF - 10 {
        return Err(bad(&format!("frame of {len} bytes")));
    }
    Ok((data.len() >= at + len).then_some((data[0], at, len)))
}

/// Writes message `seq` stamped `t` into `out`: exactly [`MSG_LEN`] bytes.
pub fn format_message(seq: u64, t: u64, out: &mut [u8; MSG_LEN]) {
    out.fill(b'x');
    let mut w = &mut out[..];
    write!(w, "{{\"seq\":{seq},\"t\":{t},\"pad\":\"").expect("fits in 64 bytes");
    let used = MSG_LEN - w.len();
    assert!(used <= MSG_LEN - 2, "message header too long");
    out[MSG_LEN - 2] = b'"';
    out[MSG_LEN - 1] = b'}';
}

/// `(seq, t)` from a message, checking its shape but not the padding.
fn parse_message(m: &[u8]) -> Option<(u64, u64)> {
    if m.len() != MSG_LEN || !m.ends_with(b"\"}") {
        return None;
    }
    let rest = m.strip_prefix(b"{\"seq\":")?;
    let (seq, rest) = parse_u64(rest)?;
    let rest = rest.strip_prefix(b",\"t\":")?;
    let (t, rest) = parse_u64(rest)?;
    rest.strip_prefix(b",\"pad\":\"")?;
    Some((seq, t))
}

fn parse_u64(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let mut v = 0u64;
    for &d in &s[..digits] {
        v = v * 10 + u64::from(d - b'0');
    }
    Some((v, &s[digits..]))
}

/// The publisher connection, handshake done.
pub struct Publisher {
    tcp: TcpStream,
}

impl Publisher {
    pub async fn open(addr: SocketAddr) -> io::Result<Publisher> {
        let (tcp, _, _) = handshake(addr, "/pub", false).await?;
        Ok(Publisher { tcp })
    }

    /// Publishes messages 0, 1, … as fast as they complete, never more
    /// than `window` in flight, until `shared.stop`.
    pub async fn run(mut self, shared: std::sync::Arc<Shared>, window: usize) -> io::Result<()> {
        assert!(window > 0 && window < RING);
        let mut buf = Vec::with_capacity(window * (MSG_LEN + 6));
        let mut seq = 0u64;
        let mut message = [0u8; MSG_LEN];
        while !shared.stop.load(Ordering::Relaxed) && shared.errors.load(Ordering::Relaxed) == 0 {
            let in_flight = (seq - shared.completed.load(Ordering::Relaxed)) as usize;
            if in_flight >= window {
                shared.notify.notified().await;
                continue;
            }
            buf.clear();
            let t = now_ns();
            for _ in in_flight..window {
                format_message(seq, t, &mut message);
                let mask = (seq as u32).wrapping_mul(0x9E37_79B9).to_be_bytes();
                buf.extend_from_slice(&[0x81, 0x80 | MSG_LEN as u8]);
                buf.extend_from_slice(&mask);
                let at = buf.len();
                buf.extend_from_slice(&message);
                apply_mask(&mut buf[at..], mask, 0);
                seq += 1;
            }
            shared.sent.store(seq, Ordering::Relaxed);
            self.tcp.write_all(&buf).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trip() {
        let mut m = [0u8; MSG_LEN];
        for (seq, t) in [
            (0, 0),
            (123, 1_234_567_890_123),
            (u32::MAX as u64, u64::MAX / 2),
        ] {
            format_message(seq, t, &mut m);
            assert_eq!(
                parse_message(&m),
                Some((seq, t)),
                "{}",
                String::from_utf8_lossy(&m)
            );
        }
        format_message(7, 99, &mut m);
        assert!(m.starts_with(b"{\"seq\":7,\"t\":99,\"pad\":\"xxx"));
    }

    #[test]
    fn histogram_buckets() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 20, 1 << 40, u64::MAX]) {
            let i = Histogram::index(v);
            assert!(i >= last || v >= 1 << 20);
            last = i;
            let mid = Histogram::value(i);
            assert!(
                (mid - v as f64).abs() <= v as f64 / 60.0 + 1.0,
                "{v} -> {mid}"
            );
        }
        let h = Histogram::new();
        for v in 1..=100 {
            h.record(v * 1000);
        }
        assert!((h.quantile(0.5) - 50_000.0).abs() < 1000.0);
        assert!((h.quantile(0.99) - 99_000.0).abs() < 2000.0);
    }

    #[test]
    fn inflate_shared_and_own() {
        use flate2::{Compress, Compression, FlushCompress};
        let mut m = [0u8; MSG_LEN];
        let mut c = Compress::new(Compression::fast(), false);
        let mut d = Decompress::new(false);
        let mut out = [0u8; 2 * MSG_LEN];
        for seq in 0..5 {
            format_message(seq, 42, &mut m);
            let mut z = Vec::with_capacity(128);
            c.compress_vec(&m, &mut z, FlushCompress::Sync).unwrap();
            assert!(z.ends_with(&[0, 0, 0xff, 0xff]));
            z.truncate(z.len() - 4);
            let n = inflate_into(&mut d, &z, &mut out).unwrap();
            assert_eq!(&out[..n], &m[..]);
        }
    }
}
