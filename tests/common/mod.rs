//! Helpers shared by the integration tests: raw frames, draining a
//! connection, and an in-memory client/server pair.
#![allow(dead_code)]

use bytes::Buf;
use rfc6455::frame::{apply_mask, FrameHeader, OpCode};
use rfc6455::{CloseCode, Config, Connection, Error, Event, Role};

pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A raw frame, masked with `KEY` when `masked`.
pub fn frame(opcode: u8, fin: bool, payload: &[u8], masked: bool) -> Vec<u8> {
    frame_rsv(opcode, fin, 0, payload, masked)
}

pub fn frame_rsv(opcode: u8, fin: bool, rsv: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv,
        opcode: OpCode::from_bits(opcode),
        mask: masked.then_some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    header.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if masked {
        apply_mask(&mut out[start..], KEY, 0);
    }
    out
}

/// A frame as a client sends it (masked).
pub fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame(opcode, fin, payload, true)
}

/// A close payload.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// Takes every queued outgoing byte.
pub fn drain(conn: &mut Connection) -> Vec<u8> {
    let out = conn.transmit();
    let mut bytes = Vec::new();
    while out.has_remaining() {
        let chunk = out.chunk();
        bytes.extend_from_slice(chunk);
        let n = chunk.len();
        out.advance(n);
    }
    bytes
}

/// Polls until the connection has no more events or fails.
pub fn events(conn: &mut Connection) -> (Vec<Event>, Option<Error>) {
    let mut events = Vec::new();
    loop {
        match conn.poll_event() {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// A decoded frame read back from a connection's output.
#[derive(Debug, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub opcode: OpCode,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// Decodes every frame in `bytes` (the connection's own output).
pub fn decode_all(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let rfc6455::Parsed::Complete(header, len) = FrameHeader::parse(bytes).unwrap() else {
            panic!("truncated frame in output");
        };
        let end = len + header.payload_len as usize;
        let mut payload = bytes[len..end].to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push(WireFrame {
            fin: header.fin,
            opcode: header.opcode,
            masked: header.mask.is_some(),
            payload,
        });
        bytes = &bytes[end..];
    }
    frames
}

/// The close code in the single close frame among `frames`.
pub fn sent_close_code(frames: &[WireFrame]) -> Option<u16> {
    frames
        .iter()
        .find(|f| f.opcode == OpCode::Close)
        .map(|f| u16::from_be_bytes([f.payload[0], f.payload[1]]))
}

/// Feeds `input` to a fresh server and returns what happened and what it
/// wrote back.
pub fn server_reacts(config: Config, input: &[u8]) -> (Vec<Event>, Option<Error>, Vec<WireFrame>) {
    let mut server = Connection::new(Role::Server, config);
    server.recv(input);
    let (events, error) = events(&mut server);
    let out = drain(&mut server);
    (events, error, decode_all(&out))
}

/// A client and a server wired back to back in memory.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Pair {
        Pair {
            client: Connection::new(Role::Client, config.clone()),
            server: Connection::new(Role::Server, config),
        }
    }

    /// Moves bytes both ways and collects events until nothing moves.
    pub fn pump(&mut self) -> PumpResult {
        let mut result = PumpResult::default();
        loop {
            let to_server = drain(&mut self.client);
            let to_client = drain(&mut self.server);
            if to_server.is_empty() && to_client.is_empty() {
                let (e1, err1) = events(&mut self.server);
                let (e2, err2) = events(&mut self.client);
                let idle = e1.is_empty() && e2.is_empty() && err1.is_none() && err2.is_none();
                result.absorb(e1, err1, e2, err2);
                if idle && !self.client.wants_write() && !self.server.wants_write() {
                    return result;
                }
                continue;
            }
            self.server.recv(&to_server);
            self.client.recv(&to_client);
            let (e1, err1) = events(&mut self.server);
            let (e2, err2) = events(&mut self.client);
            result.absorb(e1, err1, e2, err2);
        }
    }

    pub fn close_from_client(&mut self) {
        self.client.close(CloseCode::NORMAL, "bye").unwrap();
    }
}

#[derive(Debug, Default)]
pub struct PumpResult {
    pub server_events: Vec<Event>,
    pub client_events: Vec<Event>,
    pub server_errors: Vec<Error>,
    pub client_errors: Vec<Error>,
}

impl PumpResult {
    fn absorb(&mut self, e1: Vec<Event>, err1: Option<Error>, e2: Vec<Event>, err2: Option<Error>) {
        self.server_events.extend(e1);
        self.client_events.extend(e2);
        self.server_errors.extend(err1);
        self.client_errors.extend(err2);
    }
}
