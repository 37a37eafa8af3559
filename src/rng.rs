//! Where the crate's randomness comes from: masking keys (RFC 6455 §5.3)
//! and the client's `Sec-WebSocket-Key` nonce (§4.1).
//!
//! Both come from `rand`'s thread-local generator, seeded by the operating
//! system, in every build a user can make. Unit tests may swap in a seeded
//! generator for their own thread with [`seed`] to get byte-exact,
//! reproducible frames; that code exists only under `cfg(test)`, so a
//! release build has neither the branch nor a way to make keys
//! predictable.

/// A fresh masking key for one client frame.
#[inline]
pub(crate) fn mask_key() -> [u8; 4] {
    #[cfg(test)]
    if let Some(key) = seeded::take() {
        return key;
    }
    rand::random()
}

/// The 16 random bytes behind a client's `Sec-WebSocket-Key`.
pub(crate) fn handshake_nonce() -> [u8; 16] {
    #[cfg(test)]
    if let Some(nonce) = seeded::take() {
        return nonce;
    }
    rand::random()
}

#[cfg(test)]
pub(crate) use seeded::seed;

#[cfg(test)]
mod seeded {
    use std::cell::Cell;

    thread_local! {
        /// The SplitMix64 state of this thread's seeded generator, if any.
        static STATE: Cell<Option<u64>> = const { Cell::new(None) };
    }

    /// Makes this thread's keys come from a generator seeded with `seed`
    /// until the guard is dropped (also on a panic, so the next test on
    /// the thread is not affected).
    ///
    /// The generator is SplitMix64, written here rather than taken from
    /// `rand`: `rand` may change its seeded algorithms between versions,
    /// and tests pin the exact bytes these produce.
    pub(crate) fn seed(seed: u64) -> Seeded {
        let previous = STATE.with(|s| s.replace(Some(seed)));
        Seeded { previous }
    }

    /// Restores the previous generator when dropped.
    #[must_use = "the seed applies until the guard is dropped"]
    pub(crate) struct Seeded {
        previous: Option<u64>,
    }

    impl Drop for Seeded {
        fn drop(&mut self) {
            STATE.with(|s| s.set(self.previous));
        }
    }

    /// `N` bytes from the seeded generator, `None` when none is set.
    pub(super) fn take<const N: usize>() -> Option<[u8; N]> {
        STATE.with(|s| {
            let mut state = s.get()?;
            let mut out = [0; N];
            for chunk in out.chunks_mut(8) {
                let word = next(&mut state).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            s.set(Some(state));
            Some(out)
        })
    }

    /// One SplitMix64 step.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_repeats_and_the_guard_restores_os_randomness() {
        let first = {
            let _seeded = seed(42);
            (mask_key(), handshake_nonce())
        };
        let again = {
            let _seeded = seed(42);
            (mask_key(), handshake_nonce())
        };
        assert_eq!(first, again);
        let other = {
            let _seeded = seed(43);
            (mask_key(), handshake_nonce())
        };
        assert_ne!(first, other);
        // SplitMix64's first output for seed 42, low bytes first.
        assert_eq!(first.0, [0x95, 0x6e, 0xeb, 0x2f]);
        // Unseeded again: 16 OS-random bytes repeat with probability 2^-128.
        assert_ne!(handshake_nonce(), handshake_nonce());
    }
}
