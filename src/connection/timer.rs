//! Deadlines: the close timeout and keepalive.
//!
//! The core never reads a clock. Adapters report the time with
//! `handle_timeout(now)` before they wait; that call fires what is due and
//! arms what was requested since, relative to `now`.

use std::time::{Duration, Instant};

/// What came due in [`Timers::tick`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Due {
    Nothing,
    /// Send a keepalive ping.
    Ping,
    /// Nothing arrived within the pong timeout.
    KeepaliveTimeout,
    /// The closing handshake (or the wait for the server to close the
    /// transport) took too long.
    Close,
}

#[derive(Debug)]
pub(crate) struct Timers {
    ping_interval: Option<Duration>,
    pong_timeout: Duration,
    close_timeout: Duration,
    /// The last time reported, or `None` before the first report.
    now: Option<Instant>,
    /// When the peer was last heard from.
    last_heard: Option<Instant>,
    /// Bytes arrived since the last tick.
    heard: bool,
    /// When the pong timeout of an outstanding keepalive ping expires.
    pong_deadline: Option<Instant>,
    /// Set by `start_close`; becomes a deadline at the next tick.
    close_requested: bool,
    close_deadline: Option<Instant>,
}

impl Timers {
    pub(crate) fn new(
        ping_interval: Option<Duration>,
        pong_timeout: Duration,
        close_timeout: Duration,
    ) -> Timers {
        Timers {
            ping_interval,
            pong_timeout,
            close_timeout,
            now: None,
            last_heard: None,
            heard: false,
            pong_deadline: None,
            close_requested: false,
            close_deadline: None,
        }
    }

    /// How long the closing handshake may take.
    pub(crate) fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// The peer sent something: it is alive.
    pub(crate) fn heard_from_peer(&mut self) {
        self.heard = true;
    }

    /// Starts the close timer (once); keepalive stops.
    ///
    /// It is armed at the next tick, from that tick's time: the last time
    /// reported may be long past (an idle connection without keepalive
    /// waits without a deadline), and counting from it would make the
    /// timeout expire at once.
    pub(crate) fn start_close(&mut self) {
        if self.close_deadline.is_none() {
            self.close_requested = true;
        }
        self.ping_interval = None;
        self.pong_deadline = None;
    }

    /// Stops every timer: the connection is over.
    pub(crate) fn stop(&mut self) {
        self.ping_interval = None;
        self.pong_deadline = None;
        self.close_requested = false;
        self.close_deadline = None;
    }

    /// Whether a timer is configured or running: when not, a tick can
    /// change nothing.
    pub(crate) fn is_running(&self) -> bool {
        self.ping_interval.is_some()
            || self.pong_deadline.is_some()
            || self.close_requested
            || self.close_deadline.is_some()
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        // A close timer waiting to be armed: tick now (the last time known,
        // already past) so that it is.
        if self.close_requested && self.close_deadline.is_none() {
            if let Some(now) = self.now {
                return Some(now);
            }
        }
        let keepalive = match (self.pong_deadline, self.ping_interval, self.last_heard) {
            (Some(deadline), _, _) => Some(deadline),
            (None, Some(interval), Some(heard)) => Some(heard + interval),
            _ => None,
        };
        [keepalive, self.close_deadline].into_iter().flatten().min()
    }

    /// Records the time, arms pending timers and reports what is due.
    pub(crate) fn tick(&mut self, now: Instant) -> Due {
        self.now = Some(now);
        if self.heard || self.last_heard.is_none() {
            self.heard = false;
            self.last_heard = Some(now);
            self.pong_deadline = None;
        }
        if self.close_requested && self.close_deadline.is_none() {
            self.close_deadline = Some(now + self.close_timeout);
        }
        if self.close_deadline.is_some_and(|d| now >= d) {
            self.stop();
            return Due::Close;
        }
        if self.pong_deadline.is_some_and(|d| now >= d) {
            self.stop();
            return Due::KeepaliveTimeout;
        }
        if let (None, Some(interval), Some(heard)) =
            (self.pong_deadline, self.ping_interval, self.last_heard)
        {
            if now >= heard + interval {
                self.pong_deadline = Some(now + self.pong_timeout);
                return Due::Ping;
            }
        }
        Due::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_pings_after_silence_then_times_out() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut timers = Timers::new(Some(s(30)), s(10), s(5));
        assert_eq!(timers.tick(t0), Due::Nothing);
        assert_eq!(timers.next_deadline(), Some(t0 + s(30)));
        assert_eq!(timers.tick(t0 + s(30)), Due::Ping);
        assert_eq!(timers.next_deadline(), Some(t0 + s(40)));
        assert_eq!(timers.tick(t0 + s(39)), Due::Nothing);
        assert_eq!(timers.tick(t0 + s(40)), Due::KeepaliveTimeout);
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn hearing_from_the_peer_resets_keepalive() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut timers = Timers::new(Some(s(30)), s(10), s(5));
        timers.tick(t0);
        assert_eq!(timers.tick(t0 + s(30)), Due::Ping);
        timers.heard_from_peer();
        assert_eq!(timers.tick(t0 + s(35)), Due::Nothing);
        assert_eq!(timers.next_deadline(), Some(t0 + s(65)));
    }

    #[test]
    fn close_timer_arms_at_the_next_tick() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut timers = Timers::new(None, s(10), s(5));
        timers.start_close();
        assert_eq!(timers.next_deadline(), None);
        assert_eq!(timers.tick(t0), Due::Nothing);
        assert_eq!(timers.next_deadline(), Some(t0 + s(5)));
        assert_eq!(timers.tick(t0 + s(5)), Due::Close);
    }
}
