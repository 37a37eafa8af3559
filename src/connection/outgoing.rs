//! The queue of bytes waiting for the transport.
//!
//! Small frames are coalesced into one buffer so that many small messages
//! leave in one write; large payloads stay separate `Bytes` so that an
//! adapter can send header and payload with one vectored write and no copy.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};

/// Payloads at least this large are queued by reference, not copied.
const COPY_THRESHOLD: usize = 4096;
/// An idle queue gives back a coalescing buffer larger than this.
const SHRINK_ABOVE: usize = 64 * 1024;
/// While more than this waits, a newer pong replaces an unsent one instead
/// of queueing behind it, so a ping flood from a peer that does not read
/// cannot grow the queue (RFC 6455 §5.5.3 allows answering only the latest).
const PONG_QUEUE_LIMIT: usize = 64 * 1024;

/// Bytes waiting to be written, in order. Implements [`Buf`]: an adapter
/// writes [`Buf::chunk`] or [`Buf::chunks_vectored`] and then calls
/// [`Buf::advance`] with what the transport took.
///
/// ```
/// use bytes::Buf;
/// use rfc6455::{Connection, Role, Config};
///
/// let mut conn = Connection::new(Role::Server, Config::default());
/// conn.send("hi").unwrap();
/// let out = conn.transmit();
/// assert_eq!(out.chunk(), &[0x81, 0x02, b'h', b'i']);
/// out.advance(4);
/// assert!(!conn.wants_write());
/// ```
#[derive(Debug, Default)]
pub struct Outgoing {
    /// Full segments, oldest first; `tail` follows them.
    segments: VecDeque<Bytes>,
    /// Where headers and small payloads are coalesced.
    tail: BytesMut,
    /// Bytes in `segments` and `tail`.
    len: usize,
    /// An encoded pong held back while the queue is long.
    deferred_pong: Option<Box<Bytes>>,
}

impl Outgoing {
    /// Queues one frame. `mask` is the client's masking key, if any.
    pub(crate) fn push_frame(
        &mut self,
        mut header: FrameHeader,
        payload: Bytes,
        mask: Option<[u8; 4]>,
    ) {
        header.mask = mask;
        header.payload_len = payload.len() as u64;
        self.tail.reserve(MAX_HEADER_LEN);
        header.encode(&mut self.tail);
        self.len += header.encoded_len() + payload.len();
        match mask {
            None if payload.len() >= COPY_THRESHOLD => {
                self.seal_tail();
                self.segments.push_back(payload);
            }
            None => self.tail.extend_from_slice(&payload),
            Some(key) if payload.len() >= COPY_THRESHOLD => {
                // Mask in place when we own the only reference, else copy
                // and mask in one pass over a fresh buffer.
                let mut owned = payload
                    .try_into_mut()
                    .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
                apply_mask(&mut owned, key, 0);
                self.seal_tail();
                self.segments.push_back(owned.freeze());
            }
            Some(key) => append_masked(&mut self.tail, &payload, key),
        }
    }

    /// Queues a frame encoded elsewhere (a prepared message): a small one is
    /// copied into the coalescing buffer, to leave in the same write as its
    /// neighbours; a large one is queued by reference, shared with every
    /// other connection sending it.
    pub(crate) fn push_encoded_frame(&mut self, frame: &Bytes) {
        if frame.len() >= COPY_THRESHOLD {
            self.seal_tail();
            self.segments.push_back(frame.clone());
            self.len += frame.len();
        } else {
            self.push_encoded(frame);
        }
    }

    /// Queues a pong (payload at most 125 bytes) now, or holds it,
    /// replacing an older held one, while the queue is long.
    pub(crate) fn push_pong(&mut self, payload: Bytes, mask: Option<[u8; 4]>) {
        let header = FrameHeader::new(OpCode::Pong, 0);
        if self.len < PONG_QUEUE_LIMIT {
            self.push_frame(header, payload, mask);
        } else {
            let mut frame = BytesMut::with_capacity(MAX_HEADER_LEN + payload.len());
            encode_small(&mut frame, header, &payload, mask);
            self.deferred_pong = Some(Box::new(frame.freeze()));
        }
    }

    /// Queues a held pong now, ahead of a close frame: nothing may follow
    /// the close, and the ping it answers came before it.
    pub(crate) fn release_deferred_pong(&mut self) {
        if let Some(pong) = self.deferred_pong.take() {
            self.push_encoded(&pong);
        }
    }

    fn push_encoded(&mut self, frame: &[u8]) {
        self.tail.extend_from_slice(frame);
        self.len += frame.len();
    }

    /// Moves the coalescing buffer into the segment list.
    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            self.segments.push_back(self.tail.split().freeze());
        }
    }

    /// Bytes queued, including a held pong.
    pub fn len(&self) -> usize {
        self.len + self.deferred_pong.as_ref().map_or(0, |pong| pong.len())
    }

    /// `true` when nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Called when the queue has drained.
    fn on_drained(&mut self) {
        if self.tail.capacity() > SHRINK_ABOVE {
            self.tail = BytesMut::new();
        }
        self.release_deferred_pong();
    }
}

impl Buf for Outgoing {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        match self.segments.front() {
            Some(segment) => segment,
            None => &self.tail,
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for segment in &self.segments {
            if n == dst.len() {
                return n;
            }
            dst[n] = IoSlice::new(segment);
            n += 1;
        }
        if n < dst.len() && !self.tail.is_empty() {
            dst[n] = IoSlice::new(&self.tail);
            n += 1;
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.len, "advance past the end of the queue");
        self.len -= cnt;
        while cnt > 0 {
            match self.segments.front_mut() {
                Some(segment) if cnt >= segment.len() => {
                    cnt -= segment.len();
                    self.segments.pop_front();
                }
                Some(segment) => {
                    segment.advance(cnt);
                    cnt = 0;
                }
                None => {
                    self.tail.advance(cnt);
                    cnt = 0;
                }
            }
        }
        if self.len == 0 {
            self.on_drained();
        }
    }
}

/// Appends `payload` masked with `key`.
fn append_masked(dst: &mut BytesMut, payload: &[u8], key: [u8; 4]) {
    let start = dst.len();
    dst.extend_from_slice(payload);
    apply_mask(&mut dst[start..], key, 0);
}

/// Appends a whole small frame: header, then the payload (masked with
/// `mask`, if any).
fn encode_small(
    dst: &mut BytesMut,
    mut header: FrameHeader,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    header.mask = mask;
    header.payload_len = payload.len() as u64;
    header.encode(dst);
    match mask {
        Some(key) => append_masked(dst, payload, key),
        None => dst.extend_from_slice(payload),
    }
}
