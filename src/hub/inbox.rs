//! One subscriber's bounded queue of messages waiting to be written.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Waker;

use super::{HubConfig, Shared, SlowSubscriber, SubscriberId};
use crate::PreparedMessage;

/// Where a subscriber's queue stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Takes messages.
    Open,
    /// Its queue overflowed under [`SlowSubscriber::Disconnect`]: the
    /// connection is to close with 1008; nothing more is queued.
    Evicted,
    /// The subscriber or its connection is gone: nothing more is queued,
    /// what is queued may still be written.
    Closed,
}

/// What [`Inbox::push`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// Not queued: the subscriber is evicted or gone.
    Refused,
    /// This push overflowed the queue and evicted the subscriber.
    Evicted,
}

/// What [`Inbox::drain`] left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// Nothing waits; the waker is registered for the next message.
    Empty,
    /// The sink took no more: messages still wait.
    More,
    /// The hub evicted this subscriber as too slow.
    Evicted,
}

#[derive(Debug)]
pub(crate) struct Inbox {
    pub(crate) id: SubscriberId,
    pub(crate) hub: Weak<Shared>,
    state: Mutex<State>,
}

#[derive(Debug)]
pub(crate) struct State {
    queue: VecDeque<PreparedMessage>,
    /// Payload bytes in `queue`.
    bytes: usize,
    waker: Option<Waker>,
    pub(crate) status: Status,
    /// The topics it is in, with its index in each topic's member list: a
    /// map, so that a subscriber in thousands of topics leaves one quickly.
    pub(crate) topics: HashMap<Arc<str>, usize>,
    /// Messages dropped to make room under [`SlowSubscriber::DropOldest`].
    dropped: u64,
}

impl Inbox {
    pub(crate) fn new(id: SubscriberId, hub: Weak<Shared>) -> Inbox {
        Inbox {
            id,
            hub,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                waker: None,
                status: Status::Open,
                topics: HashMap::new(),
                dropped: 0,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent between statements that
        // can panic, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `message` within `config`'s bounds, applying its policy on
    /// overflow, and wakes the connection.
    ///
    /// An empty queue takes any one message, as a connection's send queue
    /// does: a subscriber that keeps up gets even a message larger than the
    /// byte bound, and only one with a backlog overflows.
    pub(crate) fn push(&self, message: &PreparedMessage, config: &HubConfig) -> Pushed {
        let waker;
        let pushed;
        {
            let mut state = self.lock();
            if state.status != Status::Open {
                return Pushed::Refused;
            }
            let len = message.len();
            let fits = |s: &State| {
                s.queue.is_empty()
                    || (s.queue.len() < config.max_queue_messages
                        && s.bytes.saturating_add(len) <= config.max_queue_bytes)
            };
            if fits(&state) {
                pushed = Pushed::Queued;
            } else {
                match config.slow_subscriber {
                    SlowSubscriber::Disconnect => {
                        state.status = Status::Evicted;
                        state.queue = VecDeque::new();
                        state.bytes = 0;
                        pushed = Pushed::Evicted;
                    }
                    SlowSubscriber::DropOldest => {
                        // Ends at the latest with an empty queue, which fits.
                        while !fits(&state) {
                            if let Some(old) = state.queue.pop_front() {
                                state.bytes -= old.len();
                                state.dropped += 1;
                            }
                        }
                        pushed = Pushed::Queued;
                    }
                }
            }
            if pushed == Pushed::Queued {
                state.bytes += len;
                state.queue.push_back(message.clone());
            }
            waker = state.waker.take();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
        pushed
    }

    /// Hands queued messages, oldest first, to `sink` until it returns
    /// `false` (it is full) or none is left, and registers `waker` to hear
    /// of the next one.
    ///
    /// The lock is not held while `sink` runs (it may compress): a message
    /// is taken out first, and put back in front if `sink` refuses it.
    pub(crate) fn drain(
        &self,
        waker: &Waker,
        mut sink: impl FnMut(&PreparedMessage) -> bool,
    ) -> Drained {
        loop {
            let message = {
                let mut state = self.lock();
                if state.status == Status::Evicted {
                    return Drained::Evicted;
                }
                if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    state.waker = Some(waker.clone());
                }
                match state.queue.pop_front() {
                    Some(message) => {
                        state.bytes -= message.len();
                        message
                    }
                    None => {
                        if state.queue.capacity() > 64 {
                            // A burst is over: give its memory back.
                            state.queue = VecDeque::new();
                        }
                        return Drained::Empty;
                    }
                }
            };
            if !sink(&message) {
                let mut state = self.lock();
                if state.status != Status::Evicted {
                    state.bytes += message.len();
                    state.queue.push_front(message);
                }
                return Drained::More;
            }
        }
    }

    /// Stops taking messages; those queued may still be drained.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        if state.status == Status::Open {
            state.status = Status::Closed;
        }
    }

    pub(crate) fn status(&self) -> Status {
        self.lock().status
    }

    /// Messages and payload bytes queued.
    pub(crate) fn queued(&self) -> (usize, usize) {
        let state = self.lock();
        (state.queue.len(), state.bytes)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}
