//! The connection's view of permessage-deflate: present with the `deflate`
//! feature and a negotiated extension, and an uninhabited type otherwise,
//! so that the receive and send paths need no `cfg`.

use bytes::{Bytes, BytesMut};

use super::Role;
use crate::{Config, Error, Extensions};

#[cfg(feature = "deflate")]
mod imp {
    use super::*;
    use crate::deflate::{Compressor, Decompressor, DeflateError};

    /// Inflates the compressed messages the peer sends. Boxed, like the
    /// compressor: a connection without compression then pays one pointer
    /// for each, not their size.
    #[derive(Debug)]
    pub(crate) struct Inflater(Box<Decompressor>);

    /// Deflates the messages we send.
    #[derive(Debug)]
    pub(crate) struct Deflater {
        compressor: Box<Compressor>,
        min_size: usize,
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
        /// Inflates one frame's payload onto `out`; the whole message stays
        /// within `max` bytes.
        pub(crate) fn inflate(
            &mut self,
            input: &[u8],
            out: &mut BytesMut,
            max: usize,
        ) -> Result<(), Error> {
            self.0.decompress(input, out, max).map_err(map)
        }

        /// Ends the message (the `00 00 ff ff` tail of RFC 7692 §7.2.2).
        pub(crate) fn finish(&mut self, out: &mut BytesMut, max: usize) -> Result<(), Error> {
            self.0.finish_message(out, max).map_err(map)
        }
    }

    impl Deflater {
        /// The compressed payload, or `None` when the message is too small
        /// to be worth it.
        pub(crate) fn deflate(&mut self, payload: &[u8]) -> Option<Bytes> {
            if payload.len() < self.min_size {
                return None;
            }
            let mut out = BytesMut::with_capacity(payload.len() / 2 + 16);
            self.compressor.compress(payload, &mut out);
            Some(out.freeze())
        }
    }

    pub(crate) fn build(
        role: Role,
        config: &Config,
        extensions: &Extensions,
    ) -> (Option<Inflater>, Option<Deflater>) {
        let Some(params) = &extensions.deflate else {
            return (None, None);
        };
        // What was agreed always runs; the config only tunes how hard we
        // compress, so a negotiated extension can never be silently off.
        let default = crate::deflate::DeflateConfig::default();
        let deflate = config.deflate.as_ref().unwrap_or(&default);
        let is_server = role == Role::Server;
        let inflater = Inflater(Box::new(params.decompressor(is_server)));
        let deflater = Deflater {
            compressor: Box::new(params.compressor(is_server, deflate.compression_level)),
            min_size: deflate.min_compress_size,
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
