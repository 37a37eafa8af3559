//! Broadcast and rooms: topics that connections subscribe to, messages
//! framed once for all their subscribers, a bound on what a slow subscriber
//! can hold, and topics that span server instances (feature `tokio`).
//!
//! A [`Hub`] holds the topics. Each connection gets a [`Subscriber`],
//! [attaches](crate::tokio::WebSocketStream::attach) it to its stream and
//! subscribes to topics; [`Hub::publish`] then queues a
//! [`PreparedMessage`] on every subscriber of a topic, and each stream
//! writes its queue while its `recv` is polled, the same loop that answers
//! pings. No lock is held across an await, and none while writing.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rfc6455::hub::{Hub, HubConfig};
//! use rfc6455::Event;
//!
//! let hub = Hub::new(HubConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     let hub = hub.clone();
//!     tokio::spawn(async move {
//!         let mut ws = rfc6455::tokio::accept(tcp).await?;
//!         let me = hub.subscriber();
//!         ws.attach(&me);
//!         me.subscribe("lobby");
//!         // Everything said in the lobby reaches everyone in it but the
//!         // speaker, framed once for all of them. Keep `me` for as long as
//!         // the connection: dropping it leaves every topic.
//!         loop {
//!             match ws.recv().await? {
//!                 Event::Text(text) => {
//!                     me.publish("lobby", text);
//!                 }
//!                 Event::Close(_) => break,
//!                 _ => {} // binary, ping, pong
//!             }
//!         }
//!         Ok::<_, rfc6455::StreamError>(())
//!     });
//! }
//! # }
//! ```
//!
//! # Encode once
//!
//! A server's frames are not masked, so every subscriber gets the same
//! bytes: a [`PreparedMessage`] is framed once, and a queued message costs
//! a subscriber one pointer. With permessage-deflate, a subscriber whose
//! server side has no context takeover (`server_no_context_takeover`, as
//! `DeflateConfig::default()` announces)
//! shares one compressed frame per message with all such subscribers; one
//! with context takeover compresses each message itself. See
//! [`PreparedMessage`] for the trade.
//!
//! # Slow subscribers
//!
//! A subscriber that does not read cannot make the server hold more than
//! its bounds: [`HubConfig::max_queue_messages`] and
//! [`HubConfig::max_queue_bytes`] in the hub's queue, plus the stream's own
//! [`Config::send_high_water`](crate::Config::send_high_water) of written
//! but unsent bytes (and one message past it). On overflow the hub applies
//! [`HubConfig::slow_subscriber`]: drop the subscriber, whose connection
//! then closes with 1008 (Policy Violation, RFC 6455 §7.4.1) within its
//! close timeout (the default), or drop its oldest queued messages.
//!
//! A burst is what reaches one subscriber between two wake-ups of its
//! connection's task: publishing is synchronous, so a producer that
//! publishes 100 updates in one loop puts all 100 in a queue before that
//! connection runs. Make `max_queue_messages` larger than your largest
//! such loop, or a subscriber that keeps up will still overflow (and,
//! under `DropOldest`, lose messages silently).
//!
//! Which to choose: `Disconnect` when every message matters (chat: a
//! client that reconnects can fetch history; one that silently misses
//! lines cannot know), `DropOldest` when only the latest state matters
//! (prices, positions, presence). Size the bounds by burst, not by rate: a
//! subscriber that keeps up drains its queue at every wake-up, so the
//! queue only holds what arrives while its connection waits for the
//! network. Keepalive still applies under `DropOldest`: a peer that reads
//! nothing also does not answer pings (its pong would queue behind the
//! backlog), so [`Config::keepalive`](crate::Config::keepalive) ends it with
//! 1011.
//!
//! # Many instances
//!
//! When one process is not enough, run several behind a load balancer and
//! let an existing pub/sub engine (Redis, NATS, Postgres `LISTEN`) carry
//! publishes between them, as Socket.IO's Redis adapter or Action Cable
//! do. A [`Bus`] is that link: [`Hub::publish`] and [`Subscriber::publish`]
//! deliver here and hand the message to the bus; the bus sends it on, and
//! each other instance gives what its bus receives to
//! [`Hub::publish_local`], which does not send it on again. The engine
//! decides the guarantees: Redis pub/sub, for one, keeps each publisher's
//! order and delivers at most once.
//!
//! ```
//! use std::sync::Arc;
//! use rfc6455::hub::{Bus, Hub, HubConfig};
//! use rfc6455::PreparedMessage;
//! use tokio::sync::mpsc;
//!
//! /// Hands publishes to a task that sends them to the engine.
//! struct ToEngine(mpsc::Sender<(String, PreparedMessage)>);
//!
//! impl Bus for ToEngine {
//!     fn publish(&self, topic: &str, message: &PreparedMessage) {
//!         // Never block a publisher: a full backlog drops (and should count).
//!         let _ = self.0.try_send((topic.to_owned(), message.clone()));
//!     }
//! }
//!
//! let (to_engine, mut backlog) = mpsc::channel(4096);
//! let hub = Hub::with_bus(HubConfig::default(), Arc::new(ToEngine(to_engine)));
//! hub.publish("lobby", "hello, everyone everywhere");
//! let (topic, message) = backlog.try_recv().unwrap(); // the engine's task sends this
//! assert_eq!(topic, "lobby");
//! // ... and another instance, receiving it, delivers it to its members:
//! # let other = Hub::new(HubConfig::default());
//! other.publish_local(&topic, message);
//! ```
//!
//! The `chat` example's `--redis redis://HOST:PORT` runs such a bus on
//! Redis pub/sub (`examples/chat/redis_bus.rs`): one pattern subscription
//! for all rooms, its own messages skipped by an instance id, and
//! reconnection with backoff while local rooms keep working.
//! `tests/cluster/run.sh` checks it with two instances behind haproxy.
//!
//! # Cost
//!
//! A topic costs its name, a table slot and a `Vec` of pointers to its
//! subscribers; a subscriber maps its topics to its index in each, so
//! leaving a topic of any size, from any number of topics, is O(1).
//! Counted by `tests/hub_memory.rs`: 10,000 topics of 3 subscribers cost
//! 159 bytes per membership, topics included, and an idle subscriber 176
//! bytes. Publishing to `n` subscribers takes one short lock per subscriber
//! and wakes those that were waiting.

mod inbox;
mod topics;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::PreparedMessage;
pub(crate) use inbox::{Drained, Inbox};
use inbox::{Pushed, Status};
use topics::Topics;

/// What to do with a subscriber whose queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SlowSubscriber {
    /// Drop it: it leaves every topic, its queue is freed, and its
    /// connection closes with 1008 (Policy Violation). The default: the
    /// subscriber misses nothing silently.
    #[default]
    Disconnect,
    /// Drop its oldest queued messages to make room (a live feed where
    /// only the latest matters). [`Subscriber::dropped`] counts them.
    DropOldest,
}

/// A hub's bounds per subscriber and its policy when they are reached.
///
/// ```
/// use rfc6455::hub::{HubConfig, SlowSubscriber};
///
/// let config = HubConfig::default()
///     .max_queue_bytes(64 * 1024)
///     .slow_subscriber(SlowSubscriber::DropOldest);
/// assert_eq!(config.max_queue_messages, 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubConfig {
    /// Messages one subscriber may have waiting in the hub. Default 1024.
    pub max_queue_messages: usize,
    /// Payload bytes one subscriber may have waiting in the hub. Default
    /// 256 KiB. An empty queue takes any one message, as a connection's
    /// send queue does, so a subscriber that keeps up gets even a larger
    /// one; a subscriber with a backlog overflows. When clients' messages
    /// are published to others, keep
    /// [`Config::max_message_size`](crate::Config::max_message_size) well
    /// under this bound, or one large message overflows every member that
    /// has anything queued.
    ///
    /// The bound counts payloads. With permessage-deflate, a queued
    /// message also holds its one shared compressed frame, so a full queue
    /// holds at most about twice the bound.
    pub max_queue_bytes: usize,
    /// What to do when a subscriber's queue would overflow. Default
    /// [`SlowSubscriber::Disconnect`].
    pub slow_subscriber: SlowSubscriber,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            max_queue_messages: 1024,
            max_queue_bytes: 256 * 1024,
            slow_subscriber: SlowSubscriber::Disconnect,
        }
    }
}

impl HubConfig {
    /// Sets [`max_queue_messages`](Self::max_queue_messages).
    pub fn max_queue_messages(mut self, messages: usize) -> HubConfig {
        self.max_queue_messages = messages;
        self
    }

    /// Sets [`max_queue_bytes`](Self::max_queue_bytes).
    pub fn max_queue_bytes(mut self, bytes: usize) -> HubConfig {
        self.max_queue_bytes = bytes;
        self
    }

    /// Sets [`slow_subscriber`](Self::slow_subscriber).
    pub fn slow_subscriber(mut self, policy: SlowSubscriber) -> HubConfig {
        self.slow_subscriber = policy;
        self
    }
}

/// An external pub/sub engine that carries a hub's publishes to the hubs of
/// other server instances.
///
/// [`Hub::publish`] and [`Subscriber::publish`] deliver to this instance's
/// subscribers, then hand the message to the bus. The bus sends it on (to a
/// Redis channel named after the topic, say), and each other instance gives
/// what it receives to its own [`Hub::publish_local`]. The bus must drop
/// the copies of its own instance's messages that come back to it.
///
/// The methods run on the caller's task, inside `publish`, `subscribe`,
/// `unsubscribe` and the removal of a subscriber: they must not block.
/// Hand the change to a task of the bus (a bounded channel, counting what
/// it cannot take) and return. [`topic_opened`](Bus::topic_opened) and
/// [`topic_closed`](Bus::topic_closed) run while the hub's topic registry
/// is locked, so that they arrive in the order of the changes (a topic
/// closed and at once reopened by another subscriber is never seen closed
/// last); calling the hub from them deadlocks. [`publish`](Bus::publish)
/// runs under no lock of the hub.
pub trait Bus: Send + Sync + 'static {
    /// Carries `message`, published here to `topic`, to the other
    /// instances.
    fn publish(&self, topic: &str, message: &PreparedMessage);

    /// This instance has its first subscriber to `topic`: a bus that
    /// listens per topic starts listening to it. Does nothing by default.
    fn topic_opened(&self, topic: &str) {
        let _ = topic;
    }

    /// This instance's last subscriber to `topic` left. Does nothing by
    /// default.
    fn topic_closed(&self, topic: &str) {
        let _ = topic;
    }
}

/// A subscriber's number in its hub, unique for the hub's lifetime.
pub type SubscriberId = u64;

/// Topics and their subscribers. Cheap to clone: clones share the topics.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    config: HubConfig,
    topics: RwLock<Topics>,
    next_id: AtomicU64,
    bus: Option<Arc<dyn Bus>>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.shared.config)
            .field("topics", &self.topic_count())
            .field("bus", &self.shared.bus.is_some())
            .finish()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub with no topics and no bus.
    pub fn new(config: HubConfig) -> Hub {
        Hub::build(config, None)
    }

    /// A hub whose publishes also go to `bus`, for topics that span server
    /// instances.
    pub fn with_bus(config: HubConfig, bus: Arc<dyn Bus>) -> Hub {
        Hub::build(config, Some(bus))
    }

    fn build(config: HubConfig, bus: Option<Arc<dyn Bus>>) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                config,
                topics: RwLock::default(),
                next_id: AtomicU64::new(1),
                bus,
            }),
        }
    }

    /// The bounds and policy.
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// A new subscriber, in no topic. Attach it to a connection with
    /// [`WebSocketStream::attach`](crate::tokio::WebSocketStream::attach)
    /// and keep it while the connection lives: dropping it (or the
    /// connection ending) takes it out of every topic.
    #[must_use = "dropping a Subscriber takes it out of every topic"]
    pub fn subscriber(&self) -> Subscriber {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        Subscriber {
            inbox: Arc::new(Inbox::new(id, Arc::downgrade(&self.shared))),
            hub: self.clone(),
        }
    }

    /// Queues `message` for every subscriber of `topic` here, then hands it
    /// to the bus, if any. Returns how many subscribers here took it (not
    /// counting those it overflowed; see [`HubConfig::slow_subscriber`]).
    pub fn publish(&self, topic: &str, message: impl Into<PreparedMessage>) -> usize {
        let message = message.into();
        let receivers = self.shared.deliver(topic, &message, None);
        self.shared.forward(topic, &message);
        receivers
    }

    /// Queues `message` for every subscriber of `topic` here, and not to
    /// the bus: for messages the bus brings from other instances.
    pub fn publish_local(&self, topic: &str, message: impl Into<PreparedMessage>) -> usize {
        self.shared.deliver(topic, &message.into(), None)
    }

    /// Topics with at least one subscriber here.
    pub fn topic_count(&self) -> usize {
        self.shared.read().len()
    }

    /// Subscribers of `topic` here.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.shared.read().members(topic).len()
    }
}

impl Shared {
    fn read(&self) -> RwLockReadGuard<'_, Topics> {
        // No update leaves the registry half-done across a panic point.
        self.topics.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Topics> {
        self.topics.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `message` on the members of `topic` but `except`; removes
    /// those it overflowed. Returns how many took it.
    fn deliver(&self, topic: &str, message: &PreparedMessage, except: Option<&Inbox>) -> usize {
        let mut receivers = 0;
        let mut evicted = Vec::new();
        for member in self.read().members(topic) {
            if except.is_some_and(|e| std::ptr::eq(e, &**member)) {
                continue;
            }
            match member.push(message, &self.config) {
                Pushed::Queued => receivers += 1,
                Pushed::Refused => {}
                Pushed::Evicted => evicted.push(member.clone()),
            }
        }
        for inbox in evicted {
            self.leave_all(&inbox);
        }
        receivers
    }

    fn forward(&self, topic: &str, message: &PreparedMessage) {
        if let Some(bus) = &self.bus {
            bus.publish(topic, message);
        }
    }

    /// Takes `inbox` out of every topic.
    pub(crate) fn leave_all(&self, inbox: &Inbox) {
        let mut topics = self.write();
        let closed = topics.unsubscribe_all(inbox);
        if let Some(bus) = &self.bus {
            // Under the lock: in the order of the changes.
            for topic in closed {
                bus.topic_closed(&topic);
            }
        }
    }
}

/// One connection's place in a [`Hub`]: the topics it is in and its queue
/// of messages to write.
///
/// Attach it to the connection's stream with
/// [`WebSocketStream::attach`](crate::tokio::WebSocketStream::attach).
/// Dropping it takes it out of every topic; messages already queued are
/// still written.
#[derive(Debug)]
pub struct Subscriber {
    inbox: Arc<Inbox>,
    hub: Hub,
}

impl Subscriber {
    /// Its number, unique in its hub.
    pub fn id(&self) -> SubscriberId {
        self.inbox.id
    }

    /// The hub it belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Joins `topic`. Returns `false` when already in it, or when the
    /// subscriber was dropped as too slow or its connection ended.
    pub fn subscribe(&self, topic: &str) -> bool {
        let shared = &self.hub.shared;
        let mut topics = shared.write();
        let created = topics.subscribe(topic, &self.inbox);
        if created == Some(true) {
            if let Some(bus) = &shared.bus {
                bus.topic_opened(topic); // under the lock: in order
            }
        }
        created.is_some()
    }

    /// Leaves `topic`; `false` if it was not in it.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        let shared = &self.hub.shared;
        let mut topics = shared.write();
        let closed = topics.unsubscribe(topic, &self.inbox);
        if closed == Some(true) {
            if let Some(bus) = &shared.bus {
                bus.topic_closed(topic);
            }
        }
        closed.is_some()
    }

    /// `true` when it is in `topic`.
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.inbox.lock().topics.contains_key(topic)
    }

    /// How many topics it is in.
    pub fn topic_count(&self) -> usize {
        self.inbox.lock().topics.len()
    }

    /// The topics it is in.
    pub fn topics(&self) -> Vec<String> {
        let state = self.inbox.lock();
        state.topics.keys().map(|t| t.to_string()).collect()
    }

    /// Publishes `message` to every subscriber of `topic` but this one, and
    /// to the bus. Returns how many subscribers here took it.
    pub fn publish(&self, topic: &str, message: impl Into<PreparedMessage>) -> usize {
        let message = message.into();
        let receivers = self.hub.shared.deliver(topic, &message, Some(&self.inbox));
        self.hub.shared.forward(topic, &message);
        receivers
    }

    /// Queues `message` for this subscriber alone, in order with what its
    /// topics bring. Returns `false` if it was not queued (see
    /// [`Mailbox::send`]).
    pub fn send(&self, message: impl Into<PreparedMessage>) -> bool {
        self.mailbox().send(message)
    }

    /// A handle that queues messages for this subscriber from anywhere (a
    /// direct message from another connection's task).
    pub fn mailbox(&self) -> Mailbox {
        Mailbox {
            inbox: self.inbox.clone(),
        }
    }

    /// `true` once the hub dropped it for not keeping up
    /// ([`SlowSubscriber::Disconnect`]).
    pub fn is_evicted(&self) -> bool {
        self.inbox.status() == Status::Evicted
    }

    /// Messages and payload bytes waiting in its queue.
    pub fn queued(&self) -> (usize, usize) {
        self.inbox.queued()
    }

    /// Messages dropped to make room ([`SlowSubscriber::DropOldest`]).
    pub fn dropped(&self) -> u64 {
        self.inbox.dropped()
    }

    pub(crate) fn inbox(&self) -> &Arc<Inbox> {
        &self.inbox
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.inbox.close();
        self.hub.shared.leave_all(&self.inbox);
    }
}

/// Queues messages for one subscriber; cheap to clone. Holding one does not
/// keep the subscriber in its topics.
#[derive(Clone, Debug)]
pub struct Mailbox {
    inbox: Arc<Inbox>,
}

impl Mailbox {
    /// Queues `message`, within the hub's bounds and policy. Returns
    /// `false` when it was not queued: the subscriber is gone or was
    /// dropped as too slow, or (under [`SlowSubscriber::DropOldest`]) the
    /// message is larger than the whole queue. Overflowing the queue under
    /// [`SlowSubscriber::Disconnect`] drops the subscriber, as a publish
    /// would.
    pub fn send(&self, message: impl Into<PreparedMessage>) -> bool {
        let Some(shared) = self.inbox.hub.upgrade() else {
            return false;
        };
        match self.inbox.push(&message.into(), &shared.config) {
            Pushed::Queued => true,
            Pushed::Refused => false,
            Pushed::Evicted => {
                shared.leave_all(&self.inbox);
                false
            }
        }
    }

    /// The subscriber's number.
    pub fn id(&self) -> SubscriberId {
        self.inbox.id
    }

    /// Messages and payload bytes waiting in the subscriber's queue (what
    /// its connection has not taken yet; see [`Subscriber::queued`]).
    pub fn queued(&self) -> (usize, usize) {
        self.inbox.queued()
    }

    /// Messages dropped to make room ([`SlowSubscriber::DropOldest`]).
    pub fn dropped(&self) -> u64 {
        self.inbox.dropped()
    }

    /// `true` once the hub dropped the subscriber for not keeping up.
    pub fn is_evicted(&self) -> bool {
        self.inbox.status() == Status::Evicted
    }
}
