//! The crate's only `unsafe`: running the masking loop compiled for CPU
//! features found at run time.
//!
//! The loop itself is the safe one in [`super::mask`]; this module only
//! compiles it a second time with AVX2 enabled and picks that copy when the
//! CPU supports it. Calling a function built for a feature the CPU lacks
//! would be undefined behaviour, hence the check before each call. The
//! mask benchmark (`benches/mask.rs`) shows why: at 16 KiB the AVX2 copy
//! runs at memcpy speed, the baseline SSE2 one at about half of it.
#![allow(unsafe_code)]

/// Below this many bytes the baseline loop is as fast and the dispatch
/// would only add a branch.
#[cfg(target_arch = "x86_64")]
const WIDE_FROM: usize = 128;

/// XORs every whole 8-byte word of `buf` with `word`, with the widest
/// vector unit available; returns how many bytes that covered.
#[inline]
pub(super) fn xor_words(buf: &mut [u8], word: u64) -> usize {
    #[cfg(target_arch = "x86_64")]
    if buf.len() >= WIDE_FROM && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `xor_words_avx2` needs nothing but AVX2 support, which
        // was detected on this CPU just above. The body is safe code.
        return unsafe { xor_words_avx2(buf, word) };
    }
    super::mask::xor_words(buf, word)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xor_words_avx2(buf: &mut [u8], word: u64) -> usize {
    super::mask::xor_words(buf, word)
}
