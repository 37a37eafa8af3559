//! The connection's view of permessage-deflate: present with the `deflate`
//! feature and a negotiated extension, and an uninhabited type otherwise,
//! so that the receive and send paths need no `cfg`.

use bytes::{Bytes, BytesMut};

use super::{PreparedMessage, Role};
use crate::{Config, Error, Extensions};

#[cfg(feature = "deflate")]
mod imp {
    use super::*;
    use std::cell::RefCell;

    use crate::deflate::{Compressor, Decompressor, DeflateError};

    /// Inflates the compressed messages the peer sends. zlib's inflate
    /// state is about 47 KiB, so a connection holds one only while it
    /// needs it: from its first compressed message on when the peer keeps
    /// its context between messages, and otherwise only while a compressed
    /// message is arriving, borrowed from the thread's pool.
    #[derive(Debug)]
    pub(crate) struct Inflater {
        window_bits: u8,
        state: InflateState,
    }

    #[derive(Debug)]
    enum InflateState {
        /// The peer's context takeover: messages refer back to earlier ones,
        /// so the decompressor, once made, stays for the connection's life.
        Kept(Option<Box<Decompressor>>),
        /// No context takeover: each message inflates on its own, with a
        /// decompressor from the thread's pool, given back at its end.
        Borrowed(Option<Box<Decompressor>>),
    }

    /// Idle context-free decompressors kept per thread, at most.
    const POOL_MAX: usize = 8;

    thread_local! {
        /// Reset, context-free decompressors by window bits, for the
        /// connections of this thread that have a compressed message
        /// arriving.
        static POOL: RefCell<Vec<(u8, Box<Decompressor>)>> = const { RefCell::new(Vec::new()) };
    }

    /// Deflates the messages we send.
    #[derive(Debug)]
    pub(crate) struct Deflater {
        compressor: SendCompressor,
        min_size: usize,
        level: u32,
    }

    /// How our messages are compressed.
    #[derive(Debug)]
    enum SendCompressor {
        /// With context takeover each message refers back to the ones
        /// before: the connection keeps its own compressor.
        Own(Box<Compressor>),
        /// Without it every message is compressed on its own, with the
        /// thread's shared compressor for this window, so the connection
        /// holds none (zlib's state is about 300 KiB), and prepared
        /// messages share one compressed frame.
        Shared { window_bits: u8 },
    }

    fn map(e: DeflateError) -> Error {
        match e {
            DeflateError::TooLarge { limit } => Error::MessageTooLarge {
                len: limit as u64 + 1,
            },
            _ => Error::InvalidCompressedData,
        }
    }

    impl Inflater {
        fn new(window_bits: u8, no_context_takeover: bool) -> Inflater {
            let state = if no_context_takeover {
                InflateState::Borrowed(None)
            } else {
                InflateState::Kept(None)
            };
            Inflater { window_bits, state }
        }

        /// The decompressor for the message arriving, made or borrowed on
        /// its first frame.
        fn decompressor(&mut self) -> &mut Decompressor {
            let bits = self.window_bits;
            match &mut self.state {
                InflateState::Kept(kept) => {
                    kept.get_or_insert_with(|| Box::new(Decompressor::new(bits, false)))
                }
                InflateState::Borrowed(borrowed) => borrowed.get_or_insert_with(|| {
                    let pooled = POOL.with_borrow_mut(|pool| {
                        let at = pool.iter().position(|(b, _)| *b == bits)?;
                        Some(pool.swap_remove(at).1)
                    });
                    pooled.unwrap_or_else(|| Box::new(Decompressor::new(bits, true)))
                }),
            }
        }

        /// Inflates one frame's payload onto `out`; the whole message stays
        /// within `max` bytes.
        pub(crate) fn inflate(
            &mut self,
            input: &[u8],
            out: &mut BytesMut,
            max: usize,
        ) -> Result<(), Error> {
            self.decompressor().decompress(input, out, max).map_err(map)
        }

        /// Ends the message (the `00 00 ff ff` tail of RFC 7692 §7.2.2). A
        /// borrowed decompressor, reset by the end of the message, goes
        /// back to the thread's pool; after an error it is dropped instead.
        pub(crate) fn finish(&mut self, out: &mut BytesMut, max: usize) -> Result<(), Error> {
            let finished = self.decompressor().finish_message(out, max).map_err(map);
            if let InflateState::Borrowed(borrowed) = &mut self.state {
                let decompressor = borrowed.take();
                if let (Ok(()), Some(decompressor)) = (&finished, decompressor) {
                    let bits = self.window_bits;
                    POOL.with_borrow_mut(|pool| {
                        if pool.len() < POOL_MAX {
                            pool.push((bits, decompressor));
                        }
                    });
                }
            }
            finished
        }
    }

    impl Deflater {
        /// The compressed payload, or `None` when the message is too small
        /// to be worth it.
        pub(crate) fn deflate(&mut self, payload: &[u8]) -> Option<Bytes> {
            if payload.len() < self.min_size {
                return None;
            }
            Some(match &mut self.compressor {
                SendCompressor::Own(own) => compress_message(own, payload),
                SendCompressor::Shared { window_bits } => {
                    compress_without_context(*window_bits, self.level, payload)
                }
            })
        }
    }

    impl Deflater {
        /// The frame to queue for `message`: shared by every connection
        /// with the same window when we have no context takeover; `None`
        /// when this connection must compress it against its own context.
        pub(crate) fn prepared_frame(&mut self, message: &PreparedMessage) -> Option<Bytes> {
            let SendCompressor::Shared { window_bits: bits } = self.compressor else {
                return None;
            };
            if message.len() < self.min_size {
                return Some(message.frame().clone());
            }
            let level = self.level;
            Some(message.compressed_frame(bits, |payload| {
                compress_without_context(bits, level, payload)
            }))
        }
    }

    thread_local! {
        /// Context-free compressors by (window bits, level), shared by every
        /// prepared message compressed on this thread: zlib's state is
        /// about 300 KiB, too much to build per message.
        static SHARED: RefCell<Vec<(u8, u32, Compressor)>> = const { RefCell::new(Vec::new()) };
    }

    /// `payload` compressed on its own, as a connection without context
    /// takeover would.
    fn compress_without_context(bits: u8, level: u32, payload: &[u8]) -> Bytes {
        SHARED.with_borrow_mut(|shared| {
            let at = match shared
                .iter()
                .position(|(b, l, _)| (*b, *l) == (bits, level))
            {
                Some(at) => at,
                None => {
                    shared.push((bits, level, Compressor::new(bits, true, level)));
                    shared.len() - 1
                }
            };
            compress_message(&mut shared[at].2, payload)
        })
    }

    /// One whole message through `compressor`, as a frame payload.
    fn compress_message(compressor: &mut Compressor, payload: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(payload.len() / 2 + 16);
        compressor.compress(payload, &mut out);
        out.freeze()
    }

    pub(crate) fn build(
        role: Role,
        config: &Config,
        extensions: &Extensions,
    ) -> (Option<Inflater>, Option<Deflater>) {
        let Some(agreed) = &extensions.deflate else {
            return (None, None);
        };
        // A negotiation never agrees to bits outside 8..=15; parameters
        // built by hand are held to the same range rather than panic later.
        let range = crate::deflate::MIN_WINDOW_BITS..=crate::deflate::MAX_WINDOW_BITS;
        let params = &crate::deflate::DeflateParams {
            server_max_window_bits: agreed
                .server_max_window_bits
                .clamp(*range.start(), *range.end()),
            client_max_window_bits: agreed
                .client_max_window_bits
                .clamp(*range.start(), *range.end()),
            ..*agreed
        };
        // What was agreed always runs; the config only tunes how hard we
        // compress, so a negotiated extension can never be silently off.
        let default = crate::deflate::DeflateConfig::default();
        let deflate = config.deflate.as_ref().unwrap_or(&default);
        let is_server = role == Role::Server;
        let ours = params.for_role(is_server);
        let inflater = Inflater::new(
            ours.decompress_window_bits,
            ours.decompress_no_context_takeover,
        );
        let deflater = Deflater {
            compressor: if ours.compress_no_context_takeover {
                SendCompressor::Shared {
                    window_bits: ours.compress_window_bits,
                }
            } else {
                SendCompressor::Own(Box::new(
                    params.compressor(is_server, deflate.compression_level),
                ))
            },
            min_size: deflate.min_compress_size,
            level: deflate.compression_level,
        };
        (Some(inflater), Some(deflater))
    }
}

#[cfg(not(feature = "deflate"))]
mod imp {
    use super::*;

    /// Without the `deflate` feature there is nothing to inflate.
    #[derive(Debug)]
    pub(crate) enum Inflater {}

    /// Without the `deflate` feature there is nothing to deflate.
    #[derive(Debug)]
    pub(crate) enum Deflater {}

    impl Inflater {
        pub(crate) fn inflate(
            &mut self,
            _: &[u8],
            _: &mut BytesMut,
            _: usize,
        ) -> Result<(), Error> {
            match *self {}
        }

        pub(crate) fn finish(&mut self, _: &mut BytesMut, _: usize) -> Result<(), Error> {
            match *self {}
        }
    }

    impl Deflater {
        pub(crate) fn deflate(&mut self, _: &[u8]) -> Option<Bytes> {
            match *self {}
        }

        pub(crate) fn prepared_frame(&mut self, _: &PreparedMessage) -> Option<Bytes> {
            match *self {}
        }
    }

    pub(crate) fn build(
        _: Role,
        _: &Config,
        _: &Extensions,
    ) -> (Option<Inflater>, Option<Deflater>) {
        (None, None)
    }
}

pub(crate) use imp::{build, Deflater, Inflater};
