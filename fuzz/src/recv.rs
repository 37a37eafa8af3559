//! The `recv_server` and `recv_client` targets: a peer's arbitrary bytes,
//! in arbitrary chunks, into a connection already past the handshake.
//!
//! Input: `[flags, split seed, stream...]`.
//!
//! - flags bits 0-1: the limits profile ([`LIMITS`]).
//! - bit 2: permessage-deflate was negotiated; bit 3: with
//!   `*_no_context_takeover`.
//! - bit 4: leave the transmit queue alone until the end (a peer that does
//!   not read) instead of draining it after every chunk.
//! - bit 5: feed through `read_buf()` instead of `recv()`.
//! - bit 6: `auto_pong` off.
//! - bit 7: the transport reports EOF after the last chunk.
//!
//! The split seed cuts the stream into chunks ([`Splitter::chunks`]).

use bytes::BufMut;
use rfc6455::deflate::{DeflateConfig, DeflateParams};
use rfc6455::frame::{OpCode, MAX_HEADER_LEN};
use rfc6455::{CloseCode, Config, Connection, Error, Event, Extensions, Role, State};

use crate::{take_output, Splitter, Wire};

/// `(max_frame_size, max_message_size)`: small, so that fuzz inputs reach
/// the limits; the last is the default.
pub const LIMITS: [(usize, usize); 4] = [(64, 128), (16, 1024), (1000, 300), (16 << 20, 64 << 20)];

/// The most a connection queues for a peer that sends pings and never
/// reads: pongs are held back past 64 KiB (see the crate docs), plus one
/// held pong, plus the close frame.
const PONG_QUEUE_BOUND: usize = 64 * 1024 + 2 * (125 + MAX_HEADER_LEN) + 125 + MAX_HEADER_LEN;

struct Run {
    conn: Connection,
    max_frame: usize,
    max_message: usize,
    /// What the connection wrote.
    wire: Wire,
    /// Ping payloads received, for checking pongs.
    pings: Vec<Vec<u8>>,
    /// The error `poll_event` returned, if any.
    error: Option<Error>,
    /// The peer's close frame arrived.
    peer_closed: Option<Option<rfc6455::CloseFrame>>,
}

impl Run {
    /// Drains every event the buffered input holds, checking each.
    fn drain_events(&mut self) {
        loop {
            match self.conn.poll_event() {
                Ok(Some(event)) => {
                    assert!(
                        self.error.is_none() && self.peer_closed.is_none(),
                        "event after the end: {event:?}"
                    );
                    self.check_event(event);
                }
                Ok(None) => break,
                Err(error) => {
                    assert!(
                        self.error.is_none() && self.peer_closed.is_none(),
                        "second error or error after close: {error:?}"
                    );
                    self.on_error(error);
                }
            }
        }
        // Whole frames are consumed; what stays is a partial header or the
        // partial payload of one frame within the limits.
        let bound = self.max_frame.max(125).max(MAX_HEADER_LEN);
        let buffered = self.conn.read_buf().len();
        assert!(
            buffered <= bound,
            "{buffered} input bytes buffered, above {bound}"
        );
        if self.error.is_some() || self.peer_closed.is_some() {
            assert!(self.conn.state().is_closed());
            assert_eq!(buffered, 0, "input kept after the end");
        }
    }

    fn check_event(&mut self, event: Event) {
        match event {
            Event::Text(text) => assert!(text.as_bytes().len() <= self.max_message),
            Event::Binary(data) => assert!(data.len() <= self.max_message),
            Event::Ping(payload) => {
                assert!(payload.len() <= 125);
                self.pings.push(payload.to_vec());
            }
            Event::Pong(payload) => assert!(payload.len() <= 125),
            Event::Close(frame) => {
                if let Some(frame) = &frame {
                    assert!(frame.code.is_sendable());
                    assert!(frame.reason.as_bytes().len() <= 123);
                }
                assert!(self.conn.state().is_closed());
                self.peer_closed = Some(frame);
            }
        }
    }

    fn on_error(&mut self, error: Error) {
        let code = error.close_code();
        match self.conn.state() {
            State::Closed(status) => {
                assert_eq!(status.code, code, "state code differs from {error:?}");
                assert!(!status.clean);
            }
            state => panic!("{error:?} left the connection {state:?}"),
        }
        match code {
            CloseCode::ABNORMAL => assert!(matches!(error, Error::AbnormalClosure)),
            CloseCode::MESSAGE_TOO_BIG => {
                // A limit error is only for input past the limits.
                if let Error::FrameTooLarge { len } = error {
                    assert!(len > self.max_frame as u64, "{error:?}");
                }
                if let Error::MessageTooLarge { len } = error {
                    assert!(len > self.max_message as u64, "{error:?}");
                }
            }
            CloseCode::PROTOCOL_ERROR | CloseCode::INVALID_PAYLOAD => {}
            CloseCode::POLICY_VIOLATION => {}
            other => panic!("unexpected close code {other} for {error:?}"),
        }
        self.error = Some(error);
    }

    fn transmit(&mut self) {
        let out = take_output(&mut self.conn, usize::MAX);
        self.wire.push(&out);
    }
}

/// Runs one input against a connection in `role`.
pub fn run(role: Role, data: &[u8]) {
    let [flags, seed, stream @ ..] = data else {
        return;
    };
    let (max_frame, max_message) = LIMITS[usize::from(flags & 3)];
    let deflate = flags & 4 != 0;
    let no_context_takeover = flags & 8 != 0;
    let hold_output = flags & 16 != 0;
    let use_read_buf = flags & 32 != 0;
    let auto_pong = flags & 64 == 0;
    let eof = flags & 128 != 0;

    let mut config = Config::default()
        .max_frame_size(max_frame)
        .max_message_size(max_message)
        .auto_pong(auto_pong);
    let extensions = if deflate {
        config = config.deflate(DeflateConfig::default().min_compress_size(0));
        Extensions::with_deflate(DeflateParams {
            server_no_context_takeover: no_context_takeover,
            client_no_context_takeover: no_context_takeover,
            // Different windows for the two directions.
            server_max_window_bits: 15,
            client_max_window_bits: 9,
        })
    } else {
        Extensions::none()
    };
    let mut run = Run {
        conn: Connection::with_extensions(role, config, &extensions),
        max_frame,
        max_message,
        wire: Wire::new(role, deflate),
        pings: Vec::new(),
        error: None,
        peer_closed: None,
    };

    for chunk in Splitter::chunks(*seed, stream) {
        if use_read_buf {
            if !run.conn.state().is_closed() {
                run.conn.read_buf().put_slice(chunk);
            }
        } else {
            run.conn.recv(chunk);
        }
        run.drain_events();
        if hold_output {
            assert!(
                run.conn.buffered_amount() <= PONG_QUEUE_BOUND,
                "{} bytes queued",
                run.conn.buffered_amount()
            );
        } else {
            run.transmit();
        }
    }
    if eof {
        let was_open = !run.conn.state().is_closed();
        run.conn.recv_eof();
        run.drain_events();
        if was_open {
            assert!(matches!(run.error, Some(Error::AbnormalClosure)));
        }
    }
    // Nothing more, ever, once the connection is over.
    run.drain_events();
    run.transmit();
    assert_eq!(run.wire.pending(), 0, "a partial frame was written");

    let closes: Vec<_> = run
        .wire
        .frames
        .iter()
        .filter(|f| f.header.opcode == OpCode::Close)
        .collect();
    // Only the peer's close or a failure makes this endpoint close.
    match (&run.error, &run.peer_closed) {
        (Some(error), None) if error.close_code() != CloseCode::ABNORMAL => {
            assert_eq!(closes.len(), 1, "{error:?}: close frames {closes:?}");
            let last = run.wire.frames.last().expect("a close frame");
            assert_eq!(
                last.close_code(),
                Some(error.close_code()),
                "close frame for {error:?}"
            );
        }
        (None, Some(frame)) => {
            // The reply echoes the code, or is empty for an empty close.
            assert_eq!(closes.len(), 1);
            let last = run.wire.frames.last().expect("a close frame");
            assert_eq!(last.close_code(), frame.as_ref().map(|f| f.code));
        }
        (Some(_), Some(_)) => panic!("both an error and a close event"),
        _ => assert!(closes.is_empty(), "unprovoked close: {closes:?}"),
    }
    for frame in &run.wire.frames {
        match frame.header.opcode {
            OpCode::Pong => {
                assert!(auto_pong, "pong without auto_pong");
                assert!(
                    run.pings.contains(&frame.payload),
                    "pong {:?} answers no ping",
                    frame.payload
                );
            }
            op => assert_eq!(op, OpCode::Close, "unprovoked {op:?} frame"),
        }
    }
}
