//! [`Backoff`]: how long to wait before the `n`-th reconnection attempt.
//!
//! Pure arithmetic: no clock, no runtime, no randomness of its own. The
//! caller passes the attempt number and a uniform random number, so the
//! policy is the same in tests (fixed or seeded numbers) and in the client
//! (a generator seeded from the OS).

use std::time::Duration;

/// How long to wait before each reconnection attempt: exponential growth
/// with a cap, and random jitter so that many clients that lost the same
/// server do not all come back at the same instant.
///
/// The `n`-th wait of an outage (counting from 0) is
/// `min(max, initial * multiplier^n)`, shortened by a random fraction of up
/// to `jitter` of itself: it always lies in
/// `[base * (1 - jitter), base]`, so it never exceeds `max`.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::tokio::reconnect::Backoff;
///
/// let backoff = Backoff {
///     initial: Duration::from_millis(100),
///     max: Duration::from_secs(1),
///     multiplier: 2.0,
///     jitter: 0.5,
/// };
/// assert_eq!(backoff.base(0), Duration::from_millis(100));
/// assert_eq!(backoff.base(3), Duration::from_millis(800));
/// assert_eq!(backoff.base(10), Duration::from_secs(1)); // capped
/// // With jitter 0.5 a wait lies between half the base and the base.
/// assert_eq!(backoff.delay(3, 0.0), Duration::from_millis(800));
/// assert_eq!(backoff.delay(3, 1.0), Duration::from_millis(400));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The first wait. Default 250 ms.
    pub initial: Duration,
    /// The longest wait. Default 10 s.
    pub max: Duration,
    /// Each wait is this many times the one before (at least 1). Default 2.
    pub multiplier: f64,
    /// The fraction, from 0 to 1, by which a wait may be randomly
    /// shortened. Default 0.5.
    pub jitter: f64,
}

impl Default for Backoff {
    /// 250 ms, doubling up to 10 s, with jitter 0.5.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::Backoff;
    ///
    /// let backoff = Backoff { max: Duration::from_secs(30), ..Backoff::default() };
    /// assert_eq!(backoff.initial, Duration::from_millis(250));
    /// ```
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The `n`-th wait (from 0) before jitter: `min(max, initial *
    /// multiplier^n)`. A multiplier below 1 (or NaN) counts as 1.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::Backoff;
    ///
    /// let backoff = Backoff { initial: Duration::from_millis(50), ..Backoff::default() };
    /// assert_eq!(backoff.base(1), Duration::from_millis(100));
    /// assert_eq!(backoff.base(u32::MAX), backoff.max);
    /// ```
    pub fn base(&self, n: u32) -> Duration {
        let initial = self.initial.min(self.max);
        if initial.is_zero() {
            return Duration::ZERO;
        }
        // `max` also turns NaN into 1.
        let multiplier = self.multiplier.max(1.0);
        let exponent = i32::try_from(n).unwrap_or(i32::MAX);
        let nanos = initial.as_nanos() as f64 * multiplier.powi(exponent);
        let max = self.max.as_nanos() as f64;
        if nanos >= max {
            return self.max;
        }
        // Rounding to whole nanoseconds keeps `100 ms * 2^3` exactly 800 ms.
        Duration::from_nanos(nanos.round() as u64).min(self.max)
    }

    /// The `n`-th wait (from 0) with jitter: `random`, from 0 to 1 (clamped),
    /// picks how much of [`jitter`](Backoff::jitter) to take off
    /// [`base(n)`](Backoff::base). The client passes a fresh uniform random
    /// number; tests can pass fixed ones.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::tokio::reconnect::Backoff;
    ///
    /// let backoff = Backoff { jitter: 0.2, ..Backoff::default() };
    /// let wait = backoff.delay(2, rand::random());
    /// assert!(wait <= backoff.base(2) && wait >= backoff.base(2).mul_f64(0.8));
    /// ```
    pub fn delay(&self, n: u32, random: f64) -> Duration {
        let jitter = if self.jitter >= 0.0 {
            self.jitter.min(1.0)
        } else {
            0.0 // negative or NaN
        };
        let random = if random >= 0.0 { random.min(1.0) } else { 0.0 };
        self.base(n).mul_f64(1.0 - jitter * random)
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn backoff(initial: u64, max: u64, multiplier: f64, jitter: f64) -> Backoff {
        Backoff {
            initial: ms(initial),
            max: ms(max),
            multiplier,
            jitter,
        }
    }

    #[test]
    fn grows_geometrically_then_caps() {
        let b = backoff(100, 5_000, 2.0, 0.0);
        let waits: Vec<u64> = (0..9).map(|n| b.base(n).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        let b = backoff(100, 10_000, 1.5, 0.0);
        assert_eq!(b.base(2), ms(225));
        // With jitter 0 the random number changes nothing.
        for n in 0..9 {
            assert_eq!(b.delay(n, 0.0), b.base(n));
            assert_eq!(b.delay(n, 0.99), b.base(n));
        }
    }

    #[test]
    fn never_exceeds_the_cap_even_at_extremes() {
        let b = backoff(100, 1_000, 2.0, 0.5);
        for n in [20, 63, 64, 1000, u32::MAX] {
            assert_eq!(b.base(n), ms(1_000), "n = {n}");
        }
        // Initial above the cap: the cap.
        assert_eq!(backoff(5_000, 1_000, 2.0, 0.0).base(0), ms(1_000));
        // Infinite or NaN multipliers.
        assert_eq!(backoff(100, 1_000, f64::INFINITY, 0.0).base(1), ms(1_000));
        assert_eq!(backoff(100, 1_000, f64::NAN, 0.0).base(5), ms(100));
        // A multiplier below 1 counts as 1: never shrinking.
        assert_eq!(backoff(100, 1_000, 0.5, 0.0).base(3), ms(100));
        // Zero initial stays zero.
        assert_eq!(backoff(0, 1_000, 2.0, 0.5).delay(4, 0.3), Duration::ZERO);
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let b = backoff(100, 10_000, 2.0, 0.25);
        // Injected randomness: the extremes and the middle.
        assert_eq!(b.delay(2, 0.0), ms(400));
        assert_eq!(b.delay(2, 0.5), ms(350));
        assert_eq!(b.delay(2, 1.0), ms(300));
        // Out-of-range random numbers are clamped.
        assert_eq!(b.delay(2, -3.0), ms(400));
        assert_eq!(b.delay(2, 7.0), ms(300));
        assert_eq!(b.delay(2, f64::NAN), ms(400));
        // A seeded source: always in [base * 0.75, base], and spread out.
        let mut rng = SmallRng::seed_from_u64(6455);
        for n in 0..12 {
            let base = b.base(n);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let wait = b.delay(n, rng.random());
                assert!(
                    wait <= base && wait >= base.mul_f64(0.75),
                    "{wait:?} vs {base:?}"
                );
                seen.insert(wait);
            }
            assert!(seen.len() > 10, "jitter should spread the waits");
        }
        // Jitter outside 0..=1 is clamped.
        assert_eq!(backoff(100, 1_000, 2.0, 3.0).delay(0, 1.0), Duration::ZERO);
        assert_eq!(backoff(100, 1_000, 2.0, -1.0).delay(0, 1.0), ms(100));
        assert_eq!(backoff(100, 1_000, 2.0, f64::NAN).delay(0, 1.0), ms(100));
    }

    #[test]
    fn the_same_seed_gives_the_same_waits() {
        let b = Backoff::default();
        let waits = |seed| {
            let mut rng = SmallRng::seed_from_u64(seed);
            (0..8).map(|n| b.delay(n, rng.random())).collect::<Vec<_>>()
        };
        assert_eq!(waits(1), waits(1));
        assert_ne!(waits(1), waits(2));
    }

    #[test]
    fn the_default_doubles_from_250_ms_to_10_s() {
        let b = Backoff::default();
        assert_eq!(b.base(0), ms(250));
        assert_eq!(b.base(3), ms(2_000));
        assert_eq!(b.base(6), ms(10_000));
        assert!(b.delay(0, 1.0) >= ms(125));
    }
}
