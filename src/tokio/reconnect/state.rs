//! [`LinkState`]: where a reconnecting client is, published over a
//! `tokio::sync::watch` channel and followed with a [`StateWatcher`].
//!
//! "Link" rather than "connection state": the core's
//! [`State`](crate::State) is the state of one WebSocket connection (open,
//! closing, closed), while a reconnecting client goes through many
//! connections and the waits between them.

use std::fmt;
use std::time::Duration;

use tokio::sync::watch;

/// Where a [`ReconnectingClient`](super::ReconnectingClient) is: its link
/// to the server, across connections.
///
/// Attempts are counted from 1 since the connection was last open (or since
/// the start), so `attempt` is also how many tries this outage has taken.
/// A connection that was open for less than
/// [`Builder::healthy_after`](super::Builder::healthy_after) counts as a
/// failed attempt, so after losing it the first `Reconnecting` is attempt 2.
/// A [`StateWatcher`] sees the latest state only and may miss one that
/// lasted between two looks.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::tokio::reconnect::LinkState;
///
/// let state = LinkState::Reconnecting { attempt: 2, delay: Duration::from_millis(500) };
/// assert!(!state.is_open());
/// assert_eq!(state.to_string(), "reconnecting (attempt 2) in 0.5 s");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkState {
    /// Connection attempt `attempt` is under way: TCP, the handshake, then
    /// the [`on_connect`](super::Builder::on_connect) hook.
    Connecting {
        /// Which attempt, from 1.
        attempt: u32,
    },
    /// Connected, and the hook has run: messages flow.
    Open,
    /// The connection was lost or an attempt failed; attempt `attempt`
    /// starts after `delay`.
    Reconnecting {
        /// The attempt that comes next, from 1.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// Closed for good: by `close`, by giving up after
    /// [`Builder::max_attempts`](super::Builder::max_attempts), on a close
    /// code the retry policy stops at, or because the client (its reader,
    /// once split) was dropped.
    Closed,
}

impl LinkState {
    /// `true` in [`LinkState::Open`].
    ///
    /// ```
    /// use rfc6455::tokio::reconnect::LinkState;
    /// assert!(LinkState::Open.is_open());
    /// assert!(!LinkState::Closed.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self, LinkState::Open)
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkState::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            LinkState::Open => f.write_str("open"),
            LinkState::Reconnecting { attempt, delay } => write!(
                f,
                "reconnecting (attempt {attempt}) in {:.1} s",
                delay.as_secs_f64()
            ),
            LinkState::Closed => f.write_str("closed"),
        }
    }
}

/// Publishes `state` unless it is the current one, so that watchers wake
/// only for changes. Works with no watcher at all.
pub(super) fn publish(sender: &watch::Sender<LinkState>, state: LinkState) {
    sender.send_if_modified(|current| {
        if *current == state {
            return false;
        }
        *current = state;
        true
    });
}

/// Follows a client's [`LinkState`] from any task: a `tokio::sync::watch`
/// receiver, so it holds the latest state only and a state that lasted
/// between two looks can be missed.
///
/// ```no_run
/// use rfc6455::tokio::reconnect::ReconnectingClient;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.build();
/// let mut watcher = client.watch();
/// tokio::spawn(async move {
///     while let Some(state) = watcher.changed().await {
///         println!("link: {state}");
///     }
/// });
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct StateWatcher {
    receiver: watch::Receiver<LinkState>,
}

impl StateWatcher {
    pub(super) fn new(receiver: watch::Receiver<LinkState>) -> StateWatcher {
        StateWatcher { receiver }
    }

    /// The current state, without marking it seen.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::{LinkState, ReconnectingClient};
    ///
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = ReconnectingClient::builder("ws://127.0.0.1:9001/")?.build();
    /// assert_eq!(client.watch().get(), LinkState::Connecting { attempt: 1 });
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> LinkState {
        self.receiver.borrow().clone()
    }

    /// Waits until the state changes after the last one this watcher saw,
    /// and returns it. `None` once the client is dropped and its final
    /// `Closed` has been seen. Cancel-safe.
    ///
    /// ```no_run
    /// # use rfc6455::tokio::reconnect::StateWatcher;
    /// # async fn demo(mut watcher: StateWatcher) {
    /// while let Some(state) = watcher.changed().await {
    ///     println!("{state}");
    /// }
    /// # }
    /// ```
    pub async fn changed(&mut self) -> Option<LinkState> {
        // A change made before the client was dropped still comes first.
        self.receiver.changed().await.ok()?;
        Some(self.receiver.borrow_and_update().clone())
    }

    /// Waits until the current state satisfies `accept` (checking the
    /// current one first), and returns it. `None` if the client is dropped
    /// before that. Cancel-safe.
    ///
    /// ```no_run
    /// use rfc6455::tokio::reconnect::{LinkState, StateWatcher};
    /// # async fn demo(mut watcher: StateWatcher) {
    /// watcher.wait_for(LinkState::is_open).await;
    /// # }
    /// ```
    pub async fn wait_for(
        &mut self,
        mut accept: impl FnMut(&LinkState) -> bool,
    ) -> Option<LinkState> {
        let state = self.receiver.wait_for(|state| accept(state)).await.ok()?;
        Some(state.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    #[test]
    fn watcher_sees_changes_and_the_end() {
        let (sender, receiver) = watch::channel(LinkState::Connecting { attempt: 1 });
        let mut watcher = StateWatcher::new(receiver);
        let mut cx = Context::from_waker(Waker::noop());
        {
            let mut changed = pin!(watcher.changed());
            assert!(changed.as_mut().poll(&mut cx).is_pending());
            publish(&sender, LinkState::Open);
            assert_eq!(
                changed.as_mut().poll(&mut cx),
                Poll::Ready(Some(LinkState::Open))
            );
        }
        // The same state again is no change.
        publish(&sender, LinkState::Open);
        assert!(pin!(watcher.changed()).poll(&mut cx).is_pending());
        // The client's last word, then it is gone.
        publish(&sender, LinkState::Closed);
        drop(sender);
        assert_eq!(
            pin!(watcher.changed()).poll(&mut cx),
            Poll::Ready(Some(LinkState::Closed))
        );
        assert_eq!(pin!(watcher.changed()).poll(&mut cx), Poll::Ready(None));
        assert_eq!(watcher.get(), LinkState::Closed);
    }

    #[test]
    fn wait_for_checks_the_current_state_first() {
        let (sender, receiver) = watch::channel(LinkState::Open);
        let mut watcher = StateWatcher::new(receiver);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(
            pin!(watcher.wait_for(LinkState::is_open)).poll(&mut cx),
            Poll::Ready(Some(LinkState::Open))
        );
        publish(&sender, LinkState::Closed);
        drop(sender);
        assert_eq!(
            pin!(watcher.wait_for(LinkState::is_open)).poll(&mut cx),
            Poll::Ready(None)
        );
    }
}
