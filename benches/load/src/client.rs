//! The load generator's side of a connection: a hand-written minimal
//! WebSocket client (or the length-prefixed TCP framing of the reference
//! server) that sends one message, waits for its echo and checks every
//! byte of it.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use rfc6455::frame::{apply_mask, FrameHeader, OpCode};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// RFC 6455 §1.3's sample key and the answer it must get.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Connects and, for a WebSocket server, completes the opening handshake.
pub async fn open(addr: SocketAddr, websocket: bool) -> io::Result<BufReader<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut stream = BufReader::with_capacity(64 * 1024, tcp);
    if !websocket {
        return Ok(stream);
    }
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
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
    Ok(stream)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// One connection of the load test.
pub struct Conn {
    stream: BufReader<TcpStream>,
    websocket: bool,
    /// The message as sent: header (WebSocket: masked frame; TCP: length
    /// prefix), then the payload.
    wire: Vec<u8>,
    header_len: usize,
    mask: [u8; 4],
    /// The payload in clear, which the echo must equal.
    payload: Vec<u8>,
    received: Vec<u8>,
    sequence: u64,
}

impl Conn {
    pub async fn open(addr: SocketAddr, websocket: bool, size: usize, id: u64) -> io::Result<Conn> {
        let stream = open(addr, websocket).await?;
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
            wire,
            header_len,
            mask,
            payload,
            received: Vec::with_capacity(size),
            sequence: 0,
        })
    }

    /// Sends the message with a fresh sequence number in its first bytes,
    /// reads the echo and compares it byte for byte. Returns the round-trip
    /// time in nanoseconds: from just before the write to the echo's last
    /// byte read (the comparison is not included).
    pub async fn round_trip(&mut self) -> io::Result<u64> {
        self.sequence += 1;
        let stamp = self.sequence.to_le_bytes();
        let n = stamp.len().min(self.payload.len());
        self.payload[..n].copy_from_slice(&stamp[..n]);
        let start = self.header_len;
        self.wire[start..start + n].copy_from_slice(&stamp[..n]);
        if self.websocket {
            apply_mask(&mut self.wire[start..start + n], self.mask, 0);
        }
        let sent = Instant::now();
        self.stream.get_mut().write_all(&self.wire).await?;

        self.received.clear();
        if self.websocket {
            self.read_message().await?;
        } else {
            let len = self.stream.read_u32().await? as usize;
            self.received.resize(len, 0);
            self.stream.read_exact(&mut self.received).await?;
        }
        let elapsed = sent.elapsed().as_nanos() as u64;
        if self.received != self.payload {
            let at = self
                .received
                .iter()
                .zip(&self.payload)
                .position(|(a, b)| a != b);
            return Err(bad(&format!(
                "echo mismatch on message {}: sent {} bytes, got {} (first difference at {at:?})",
                self.sequence,
                self.payload.len(),
                self.received.len()
            )));
        }
        Ok(elapsed)
    }

    /// Reads one data message (any number of frames) into `received`.
    async fn read_message(&mut self) -> io::Result<()> {
        let mut first = true;
        loop {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).await?;
            let fin = head[0] & 0x80 != 0;
            let opcode = OpCode::from_bits(head[0]);
            if head[0] & 0x70 != 0 || head[1] & 0x80 != 0 {
                return Err(bad("server frame with RSV bits or a mask"));
            }
            let expected = if first {
                OpCode::Binary
            } else {
                OpCode::Continuation
            };
            if opcode != expected {
                return Err(bad(&format!("unexpected {opcode} frame")));
            }
            let len = match head[1] & 0x7F {
                126 => u64::from(self.stream.read_u16().await?),
                127 => self.stream.read_u64().await?,
                n => u64::from(n),
            } as usize;
            let at = self.received.len();
            if at + len > self.payload.len() {
                return Err(bad("echo longer than the message sent"));
            }
            self.received.resize(at + len, 0);
            self.stream.read_exact(&mut self.received[at..]).await?;
            if fin {
                return Ok(());
            }
            first = false;
        }
    }
}
