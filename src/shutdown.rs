//! Graceful shutdown for servers: every WebSocket closes with 1001 (Going
//! Away, RFC 6455 §7.4.1) and a reason, and the server waits for their
//! closing handshakes up to a deadline.
//!
//! Give each connection a [`ShutdownGuard`] with
//! `set_shutdown` (both adapters); when the server stops, [`Shutdown::signal`]
//! makes every guarded connection start its closing handshake with 1001 as
//! soon as it is next polled or woken: `recv` then goes on to return the
//! peer's [`Event::Close`](crate::Event::Close), as for any close, and the
//! connection's loop ends the usual way. [`Shutdown::wait`] (blocking) or
//! [`Shutdown::wait_async`] (feature `tokio`) waits until every guard is
//! dropped or the deadline passes.
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use rfc6455::Shutdown;
//!
//! let shutdown = Shutdown::new();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     tokio::select! {
//!         accepted = listener.accept() => {
//!             let (tcp, _) = accepted?;
//!             let guard = shutdown.guard();
//!             tokio::spawn(async move {
//!                 let mut ws = rfc6455::tokio::accept(tcp).await?;
//!                 ws.set_shutdown(guard);
//!                 while let Some(message) = ws.recv_message().await? {
//!                     ws.send(message).await?;
//!                 }
//!                 Ok::<_, rfc6455::StreamError>(())
//!             });
//!         }
//!         _ = tokio::signal::ctrl_c() => break, // or SIGTERM: tokio::signal::unix
//!     }
//! }
//! shutdown.signal("server restarting");
//! let left = shutdown.wait_async(Duration::from_secs(5)).await;
//! println!("{left} connections did not finish closing");
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A server's shutdown switch; cheap to clone (all clones are one switch).
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    signaled: AtomicBool,
    next_id: AtomicU64,
    state: Mutex<State>,
    /// Wakes [`Shutdown::wait`] when the last guard goes.
    drained: Condvar,
}

#[derive(Debug, Default)]
struct State {
    reason: String,
    /// Live guards, with the waker of the task polling each, if any.
    guards: HashMap<u64, Option<Waker>>,
    /// The tasks in [`Shutdown::wait_async`].
    waiters: Vec<Waker>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Shutdown {
    /// A switch that has not been thrown.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// A guard for one connection; the connection counts as open until the
    /// guard is dropped (with the connection that holds it). A guard taken
    /// after [`signal`](Shutdown::signal) makes its connection close with
    /// 1001 at once.
    pub fn guard(&self) -> ShutdownGuard {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        self.shared.lock().guards.insert(id, None);
        ShutdownGuard {
            shared: self.shared.clone(),
            id,
            registered: None,
        }
    }

    /// Throws the switch: every guarded connection closes with 1001 and
    /// `reason` (at most 123 bytes are sent, cut at a character boundary).
    /// A second call does nothing.
    pub fn signal(&self, reason: &str) {
        let wakers: Vec<Waker> = {
            let mut state = self.shared.lock();
            if self.shared.signaled.swap(true, Ordering::SeqCst) {
                return;
            }
            state.reason = truncate(reason, crate::MAX_REASON_LEN).to_owned();
            state.guards.values_mut().filter_map(Option::take).collect()
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// Whether [`signal`](Shutdown::signal) was called.
    pub fn is_signaled(&self) -> bool {
        self.shared.signaled.load(Ordering::SeqCst)
    }

    /// How many guarded connections are still open.
    pub fn open(&self) -> usize {
        self.shared.lock().guards.len()
    }

    /// Blocks until every guard is dropped or `timeout` passes; gives how
    /// many connections were still open.
    pub fn wait(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while !state.guards.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .drained
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.guards.len()
    }

    /// Waits until every guard is dropped or `timeout` passes; gives how
    /// many connections were still open.
    #[cfg(feature = "tokio")]
    pub async fn wait_async(&self, timeout: Duration) -> usize {
        let drained = std::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.guards.is_empty() {
                return Poll::Ready(());
            }
            if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                state.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        });
        let _ = tokio::time::timeout(timeout, drained).await;
        self.open()
    }
}

/// One connection's part in a [`Shutdown`]; hand it to the connection with
/// `set_shutdown` (blocking or tokio `WebSocketStream`).
#[derive(Debug)]
pub struct ShutdownGuard {
    shared: Arc<Shared>,
    id: u64,
    /// The waker last left with the switch: polling again from the same
    /// task costs one atomic load, no lock (it runs on every `recv`).
    registered: Option<Waker>,
}

impl ShutdownGuard {
    /// The reason to close with, once the switch is thrown.
    pub fn reason(&self) -> Option<String> {
        self.is_signaled()
            .then(|| self.shared.lock().reason.clone())
    }

    /// Whether the switch is thrown.
    pub fn is_signaled(&self) -> bool {
        self.shared.signaled.load(Ordering::SeqCst)
    }

    /// Ready with the reason once the switch is thrown; otherwise wakes the
    /// task when it is.
    pub fn poll_signaled(&mut self, cx: &mut Context<'_>) -> Poll<String> {
        let known = self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if known && !self.is_signaled() {
            return Poll::Pending;
        }
        let mut state = self.shared.lock();
        if self.is_signaled() {
            return Poll::Ready(state.reason.clone());
        }
        if let Some(slot) = state.guards.get_mut(&self.id) {
            *slot = Some(cx.waker().clone());
            self.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Waits until the switch is thrown; gives the reason. Cancel-safe.
    pub async fn signaled(&mut self) -> String {
        std::future::poll_fn(|cx| self.poll_signaled(cx)).await
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        let waiters = {
            let mut state = self.shared.lock();
            state.guards.remove(&self.id);
            if !state.guards.is_empty() {
                return;
            }
            std::mem::take(&mut state.waiters)
        };
        self.shared.drained.notify_all();
        for waker in waiters {
            waker.wake();
        }
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_hear_the_signal_and_the_wait_sees_them_go() {
        let shutdown = Shutdown::new();
        let mut a = shutdown.guard();
        let b = shutdown.guard();
        assert_eq!(shutdown.open(), 2);
        assert!(!a.is_signaled() && a.reason().is_none());
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(a.poll_signaled(&mut cx).is_pending());
        shutdown.signal(&"é".repeat(100));
        shutdown.signal("second call ignored");
        let reason = b.reason().unwrap();
        assert_eq!(reason.len(), 122, "cut at a character boundary");
        assert_eq!(a.poll_signaled(&mut cx), Poll::Ready(reason));
        let waiter = {
            let shutdown = shutdown.clone();
            std::thread::spawn(move || shutdown.wait(Duration::from_secs(5)))
        };
        drop(a);
        std::thread::sleep(Duration::from_millis(20));
        drop(b);
        assert_eq!(waiter.join().unwrap(), 0);
        assert_eq!(shutdown.open(), 0);
    }

    #[test]
    fn the_wait_is_bounded() {
        let shutdown = Shutdown::new();
        let _stuck = shutdown.guard();
        shutdown.signal("bye");
        let started = Instant::now();
        assert_eq!(shutdown.wait(Duration::from_millis(100)), 1);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
