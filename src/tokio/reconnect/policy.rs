//! When to reconnect: [`Retry`] (what a server's close code means) and
//! [`Policy`], the count of failures and waits across an outage.
//!
//! Pure like [`Backoff`]: the client reads the clock (how long a
//! connection lived) and draws the random numbers, and this module decides.

use std::time::Duration;

use rand::Rng;

use super::Backoff;
use crate::CloseCode;

/// What the client does after the server closes the connection with a
/// given code (see [`Builder::retry`](super::Builder::retry)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// The server is going away on purpose (1001 Going Away, 1012 Service
    /// Restart): reconnect after the first backoff wait, jittered so that
    /// a restart's clients do not all come back at once. Once per outage:
    /// a server that keeps closing short-lived connections this way sees
    /// the waits grow again, and each such connection counts toward
    /// [`Builder::max_attempts`](super::Builder::max_attempts).
    Soon,
    /// Reconnect after the backoff wait, which grows until a connection
    /// has stayed up for
    /// [`Builder::healthy_after`](super::Builder::healthy_after) (1013 Try
    /// Again Later never resets it).
    Backoff,
    /// Do not reconnect: `recv` returns the server's close, then
    /// [`ReconnectError::Stopped`](super::ReconnectError::Stopped).
    Stop,
}

impl Retry {
    /// The default policy: [`Retry::Soon`] for 1001 and 1012,
    /// [`Retry::Stop`] for 1008 (Policy Violation: the server refuses this
    /// client, and coming back would be refused again), [`Retry::Backoff`]
    /// for everything else, 1003 and application codes (4000-4999)
    /// included.
    ///
    /// ```
    /// use rfc6455::tokio::reconnect::Retry;
    /// use rfc6455::CloseCode;
    ///
    /// assert_eq!(Retry::default_for(CloseCode::SERVICE_RESTART), Retry::Soon);
    /// assert_eq!(Retry::default_for(CloseCode::POLICY_VIOLATION), Retry::Stop);
    /// assert_eq!(Retry::default_for(CloseCode(4000)), Retry::Backoff);
    /// ```
    pub fn default_for(code: CloseCode) -> Retry {
        match code {
            CloseCode::GOING_AWAY | CloseCode::SERVICE_RESTART => Retry::Soon,
            CloseCode::POLICY_VIOLATION => Retry::Stop,
            _ => Retry::Backoff,
        }
    }
}

/// What comes after a failed attempt or a lost connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Attempt `attempt` (from 1 since the last healthy connection) after
    /// `delay`.
    Wait { attempt: u32, delay: Duration },
    /// `attempts` attempts in a row failed: the client ends.
    GiveUp { attempts: u32 },
    /// The server closed with `code`, after which [`Retry::Stop`]: the
    /// client ends.
    Stop { code: CloseCode },
}

/// The reconnection policy's memory across an outage.
///
/// A short-lived connection (up less than `healthy_after`) counts as a
/// failed attempt, so a server that accepts and drops every connection at
/// once is backed off from like an unreachable one (RFC 6455 §7.2.3).
#[derive(Clone, Debug)]
pub(super) struct Policy {
    backoff: Backoff,
    max_attempts: Option<u32>,
    healthy_after: Duration,
    /// Failed attempts (and short-lived connections) in a row since the
    /// last healthy connection.
    failures: u32,
    /// Backoff waits so far in this outage: the next wait is `waits`-th.
    waits: u32,
}

impl Policy {
    pub(super) fn new(
        backoff: Backoff,
        max_attempts: Option<u32>,
        healthy_after: Duration,
    ) -> Self {
        Policy {
            backoff,
            max_attempts,
            healthy_after,
            failures: 0,
            waits: 0,
        }
    }

    /// An attempt failed: wait longer, or give up after `max_attempts` in
    /// a row.
    pub(super) fn attempt_failed(&mut self, rng: &mut impl Rng) -> Next {
        self.failures = self.failures.saturating_add(1);
        if let Some(max) = self.max_attempts {
            if self.failures >= max {
                return Next::GiveUp {
                    attempts: self.failures,
                };
            }
        }
        self.wait(rng)
    }

    /// The open connection ended after `lived`, with the server's close
    /// `code` if any, which the user's policy answered with `retry`.
    pub(super) fn connection_lost(
        &mut self,
        lived: Duration,
        code: Option<CloseCode>,
        retry: Retry,
        rng: &mut impl Rng,
    ) -> Next {
        if let (Retry::Stop, Some(code)) = (retry, code) {
            return Next::Stop { code };
        }
        if lived >= self.healthy_after {
            // It was up: not a failed attempt. Told to try later, keep
            // waiting longer all the same.
            self.failures = 0;
            if code != Some(CloseCode::TRY_AGAIN_LATER) {
                self.waits = 0;
            }
            return self.wait(rng);
        }
        // Short-lived counts as a failed attempt. A server going away on
        // purpose gets us back after the first wait, once per outage: the
        // waits grow again if it keeps doing so.
        if retry == Retry::Soon && self.failures == 0 {
            self.waits = 0;
        }
        self.attempt_failed(rng)
    }

    /// The next wait, jittered by one draw from `rng`.
    fn wait(&mut self, rng: &mut impl Rng) -> Next {
        let delay = self.backoff.delay(self.waits, rng.random());
        self.waits = self.waits.saturating_add(1);
        Next::Wait {
            attempt: self.failures.saturating_add(1),
            delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// 100 ms doubling to 1 s, no jitter; healthy after 5 s.
    fn policy(max_attempts: Option<u32>) -> Policy {
        let backoff = Backoff {
            initial: ms(100),
            max: ms(1_000),
            multiplier: 2.0,
            jitter: 0.0,
        };
        Policy::new(backoff, max_attempts, Duration::from_secs(5))
    }

    fn rng() -> SmallRng {
        SmallRng::seed_from_u64(6455)
    }

    fn wait(attempt: u32, delay: u64) -> Next {
        Next::Wait {
            attempt,
            delay: ms(delay),
        }
    }

    #[test]
    fn failed_attempts_double_the_wait_up_to_the_cap() {
        let (mut p, mut rng) = (policy(None), rng());
        let waits: Vec<Next> = (0..7).map(|_| p.attempt_failed(&mut rng)).collect();
        let expected = [
            wait(2, 100),
            wait(3, 200),
            wait(4, 400),
            wait(5, 800),
            wait(6, 1_000),
            wait(7, 1_000),
            wait(8, 1_000),
        ];
        assert_eq!(waits, expected);
    }

    #[test]
    fn gives_up_after_max_attempts_in_a_row() {
        let (mut p, mut rng) = (policy(Some(3)), rng());
        assert_eq!(p.attempt_failed(&mut rng), wait(2, 100));
        assert_eq!(p.attempt_failed(&mut rng), wait(3, 200));
        assert_eq!(p.attempt_failed(&mut rng), Next::GiveUp { attempts: 3 });
    }

    #[test]
    fn a_healthy_connection_starts_over() {
        let (mut p, mut rng) = (policy(Some(3)), rng());
        p.attempt_failed(&mut rng);
        p.attempt_failed(&mut rng);
        // Up for 5 s: the failures and the waits start over.
        let next = p.connection_lost(Duration::from_secs(5), None, Retry::Backoff, &mut rng);
        assert_eq!(next, wait(1, 100));
        assert_eq!(p.attempt_failed(&mut rng), wait(2, 200));
        assert_eq!(p.attempt_failed(&mut rng), wait(3, 400));
    }

    #[test]
    fn short_lived_connections_count_as_failed_attempts() {
        let (mut p, mut rng) = (policy(Some(3)), rng());
        let lost = |p: &mut Policy, rng: &mut SmallRng| {
            p.connection_lost(ms(4_999), None, Retry::Backoff, rng)
        };
        assert_eq!(lost(&mut p, &mut rng), wait(2, 100));
        assert_eq!(lost(&mut p, &mut rng), wait(3, 200));
        assert_eq!(lost(&mut p, &mut rng), Next::GiveUp { attempts: 3 });
    }

    #[test]
    fn try_again_later_keeps_the_waits_growing() {
        let (mut p, mut rng) = (policy(None), rng());
        let later = Some(CloseCode::TRY_AGAIN_LATER);
        let up = Duration::from_secs(60);
        let waits: Vec<Next> = (0..4)
            .map(|_| p.connection_lost(up, later, Retry::Backoff, &mut rng))
            .collect();
        // Never a failed attempt (attempt stays 1), but longer each time.
        assert_eq!(
            waits,
            [wait(1, 100), wait(1, 200), wait(1, 400), wait(1, 800)]
        );
    }

    #[test]
    fn going_away_comes_back_after_the_first_wait_once_per_outage() {
        let (mut p, mut rng) = (policy(None), rng());
        for _ in 0..3 {
            p.attempt_failed(&mut rng);
        }
        // The first short-lived Going Away after failures: the waits keep
        // growing (failures is not 0).
        let away = Some(CloseCode::GOING_AWAY);
        assert_eq!(
            p.connection_lost(ms(10), away, Retry::Soon, &mut rng),
            wait(5, 800)
        );
        // After a healthy connection: back at the first wait, once.
        let mut p = policy(None);
        assert_eq!(
            p.connection_lost(ms(10), away, Retry::Soon, &mut rng),
            wait(2, 100)
        );
        assert_eq!(
            p.connection_lost(ms(10), away, Retry::Soon, &mut rng),
            wait(3, 200)
        );
        assert_eq!(
            p.connection_lost(ms(10), away, Retry::Soon, &mut rng),
            wait(4, 400)
        );
    }

    #[test]
    fn stop_ends_only_on_a_close_code() {
        let (mut p, mut rng) = (policy(None), rng());
        let code = CloseCode::POLICY_VIOLATION;
        assert_eq!(
            p.connection_lost(ms(10), Some(code), Retry::Stop, &mut rng),
            Next::Stop { code }
        );
        // Without a close code there is nothing to stop on: back off.
        assert_eq!(
            p.connection_lost(ms(10), None, Retry::Stop, &mut rng),
            wait(2, 100)
        );
    }

    #[test]
    fn jittered_waits_stay_between_half_and_the_base() {
        let mut p = policy(None);
        p.backoff.jitter = 0.5;
        let mut rng = rng();
        for n in 0..20u32 {
            let Next::Wait { delay, .. } = p.attempt_failed(&mut rng) else {
                panic!("no max_attempts")
            };
            let base = p.backoff.base(n);
            assert!(delay <= base && delay >= base / 2, "{n}: {delay:?}");
        }
    }
}
