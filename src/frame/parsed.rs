//! The result of an incremental parse.

/// What an incremental parser found in the bytes it was given.
///
/// Parsers in this crate never buffer: they look at the bytes the caller
/// has, and either need more ([`Parsed::Partial`]) or return the value and
/// how many bytes it took ([`Parsed::Complete`]). Bytes after those belong
/// to whatever comes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// The input ends before the item does; call again with more bytes.
    Partial,
    /// The item, and the number of input bytes it used.
    Complete(T, usize),
}

impl<T> Parsed<T> {
    /// `true` for [`Parsed::Complete`].
    pub fn is_complete(&self) -> bool {
        matches!(self, Parsed::Complete(..))
    }
}
