//! Payload masking (RFC 6455 §5.3), the hot loop of every client-to-server byte.
//!
//! Masking XORs each payload byte with `key[i % 4]`. The fast path works on
//! eight bytes at a time with the key rotated to the payload position and
//! repeated into a `u64`; the compiler turns the fixed-size chunk loop into
//! vector instructions, and `crate::unchecked` runs the same loop compiled for
//! AVX2 where the CPU has it. It is checked against [`apply_mask_bytewise`]
//! at every length and offset.

/// XORs `buf` with the masking `key`, in place.
///
/// `offset` is the position of `buf[0]` within the frame payload, so a
/// payload that arrives in pieces can be unmasked piece by piece: unmasking
/// `a` at offset 0 and then `b` at offset `a.len()` equals unmasking `a ++ b`.
/// Masking is its own inverse.
///
/// ```
/// use rfc6455::frame::apply_mask;
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut data = *b"Hello";
/// apply_mask(&mut data, key, 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// apply_mask(&mut data, key, 0);
/// assert_eq!(&data, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = rotate_key(key, offset);
    if buf.len() < 16 {
        return apply_mask_bytewise(buf, key, 0);
    }
    let mut buf = buf;
    if buf.len() >= 256 {
        // Up to a 32-byte boundary one byte at a time: wide loads and
        // stores that never straddle cache lines run about a third faster
        // on payloads that start anywhere after a frame header.
        let head = buf.as_ptr().align_offset(32).min(buf.len());
        let (first, rest) = buf.split_at_mut(head);
        apply_mask_bytewise(first, key, 0);
        key = rotate_key(key, head);
        buf = rest;
    }
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    // Whole words keep the key phase at 0, so the byte loop finishes the
    // tail with the same key.
    let done = crate::unchecked::xor_words(buf, word);
    apply_mask_bytewise(&mut buf[done..], key, 0);
}

/// XORs every whole 8-byte word of `buf` with `word` and returns how many
/// bytes that covered (a multiple of 8).
///
/// Blocks of 64 bytes give the vectoriser room; the 8-byte loop finishes.
/// Always inlined, so that `crate::unchecked` can compile this same safe
/// loop for wider vector units.
#[inline(always)]
pub(crate) fn xor_words(buf: &mut [u8], word: u64) -> usize {
    let mut blocks = buf.chunks_exact_mut(64);
    for block in &mut blocks {
        for lane in block.chunks_exact_mut(8) {
            xor_word(lane, word);
        }
    }
    let rest = blocks.into_remainder();
    let mut lanes = rest.chunks_exact_mut(8);
    for lane in &mut lanes {
        xor_word(lane, word);
    }
    let tail = lanes.into_remainder().len();
    buf.len() - tail
}

#[inline(always)]
fn xor_word(lane: &mut [u8], word: u64) {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(lane);
    let masked = u64::from_ne_bytes(bytes) ^ word;
    lane.copy_from_slice(&masked.to_ne_bytes());
}

/// The reference implementation: one byte at a time.
///
/// Kept public for tests and benchmarks; [`apply_mask`] gives the same
/// result faster.
pub fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) & 3];
    }
}

/// The key as seen from payload position `offset`.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Byte i of the result is byte (i + offset) % 4 of the key: a rotation
    // of the little-endian word, not a slice rotation.
    let word = u32::from_le_bytes(key).rotate_right(8 * (offset & 3) as u32);
    word.to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_length_and_offset_matches_the_byte_loop() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in 0..300 {
            for offset in 0..8 {
                let original: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut fast = original.clone();
                let mut slow = original.clone();
                apply_mask(&mut fast, key, offset);
                apply_mask_bytewise(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    proptest! {
        #[test]
        fn matches_the_byte_loop_at_any_alignment(
            data in proptest::collection::vec(any::<u8>(), 0..5000),
            key in any::<[u8; 4]>(),
            start in 0usize..16,
            offset in 0usize..64,
        ) {
            let start = start.min(data.len());
            let mut fast = data.clone();
            let mut slow = data.clone();
            // Slicing at `start` moves the buffer's alignment in memory.
            apply_mask(&mut fast[start..], key, offset);
            apply_mask_bytewise(&mut slow[start..], key, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn piecewise_equals_whole(
            data in proptest::collection::vec(any::<u8>(), 0..500),
            key in any::<[u8; 4]>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let cut = cut.index(data.len() + 1);
            let mut whole = data.clone();
            apply_mask(&mut whole, key, 0);
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            prop_assert_eq!(whole, pieces);
        }
    }
}
