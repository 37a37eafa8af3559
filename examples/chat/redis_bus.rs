//! Rooms across chat instances: an `rfc6455::hub::Bus` on Redis pub/sub,
//! through the `redis` crate (a maintained client; Redis's protocol is not
//! this project's business).
//!
//! Every publish of this instance's hub goes to the Redis channel
//! `chat:<topic>` as `<instance id> <message>`. One pattern subscription,
//! `chat:*`, brings every instance's publishes back; this instance's own
//! are skipped (its members had them already) and the others go to
//! `Hub::publish_local`. One subscription for all rooms means no room can
//! miss messages while a per-room subscription is still being set up.
//!
//! Redis pub/sub delivers each publisher connection's messages in order,
//! and one task publishes for the whole instance, so each sender's
//! messages arrive everywhere in the order sent. Delivery is at most once:
//! while Redis is unreachable, local rooms keep working, and publishes are
//! dropped (and counted in the log) rather than delivered late: what was
//! published before the current connection opened, or waited more than
//! `MAX_DELAY`, is not sent. Both connections are retried with backoff
//! from 100 ms to 5 s; losing the subscription (which notices at once)
//! makes the publisher reconnect too, so the first line after an outage is
//! not lost on a dead connection. `/healthz` says `"up"` only while both
//! connections are.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use rfc6455::hub::{Bus, Hub};
use rfc6455::{Message, PreparedMessage, Utf8Bytes};
use tokio::sync::{mpsc, watch};

/// Channel names are this prefix and the hub topic.
const PREFIX: &str = "chat:";
/// Publishes waiting for the Redis connection; past this they are dropped.
const BACKLOG: usize = 4096;
/// A publish that waited longer than this for Redis is dropped: in a chat,
/// a line seconds late is worse than a line missed.
const MAX_DELAY: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// A publish on its way to Redis: channel, payload, when it was made.
type Publish = (String, Bytes, Instant);

pub struct RedisBus {
    /// Tells this instance's messages from the others'.
    instance: String,
    outgoing: mpsc::Sender<Publish>,
    links: Arc<Links>,
}

/// The state of the two Redis connections, shared by their tasks.
#[derive(Default)]
struct Links {
    /// The pattern subscription is up: other instances' messages arrive.
    subscribed: AtomicBool,
    /// The publishing connection is up.
    publishing: AtomicBool,
    /// Publishes dropped because Redis was unreachable.
    dropped: AtomicU64,
}

impl Links {
    /// Counts a dropped publish, and says so now and then.
    fn count_drop(&self) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped == 1 || dropped % 1000 == 0 {
            eprintln!("chat: redis: {dropped} publishes dropped while it was unreachable");
        }
    }
}

impl Bus for RedisBus {
    fn publish(&self, topic: &str, message: &PreparedMessage) {
        let Message::Text(text) = message.message() else {
            return; // the chat only broadcasts JSON text
        };
        let mut payload = BytesMut::with_capacity(self.instance.len() + 1 + text.len());
        payload.put_slice(self.instance.as_bytes());
        payload.put_u8(b' ');
        payload.put_slice(text.as_bytes());
        let channel = format!("{PREFIX}{topic}");
        let publish = (channel, payload.freeze(), Instant::now());
        if self.outgoing.try_send(publish).is_err() {
            self.links.count_drop();
        }
    }
}

impl RedisBus {
    /// `true` while both connections are up: this instance's messages go
    /// out and the others' come in.
    pub fn is_up(&self) -> bool {
        self.links.subscribed.load(Ordering::Relaxed)
            && self.links.publishing.load(Ordering::Relaxed)
    }
}

/// Connects `hub_for` (the hub built on the returned bus) to Redis at
/// `url`. The URL is checked here; the connections are made, and remade,
/// in the background.
pub fn start(
    url: &str,
    hub_for: impl FnOnce(Arc<RedisBus>) -> Hub,
) -> Result<(Arc<RedisBus>, Hub), redis::RedisError> {
    let client = redis::Client::open(url)?;
    let (outgoing, backlog) = mpsc::channel(BACKLOG);
    let bus = Arc::new(RedisBus {
        instance: format!("{:016x}", rand_id()),
        outgoing,
        links: Arc::default(),
    });
    let hub = hub_for(bus.clone());
    // Bumped each time the subscription is lost: Redis went away, so the
    // publishing connection is dead too, though it learns that only when it
    // next writes (and loses that message).
    let (lost_tx, lost) = watch::channel(0u64);
    tokio::spawn(publish_loop(
        client.clone(),
        backlog,
        bus.links.clone(),
        lost,
    ));
    tokio::spawn(subscribe_loop(
        client,
        hub.clone(),
        bus.instance.clone(),
        bus.links.clone(),
        lost_tx,
    ));
    Ok((bus, hub))
}

/// Sends this instance's publishes, one at a time, in order. What was
/// published while there was no connection is dropped, not sent late.
async fn publish_loop(
    client: redis::Client,
    mut backlog: mpsc::Receiver<Publish>,
    links: Arc<Links>,
    mut lost: watch::Receiver<u64>,
) {
    let mut retry = FIRST_RETRY;
    loop {
        match client.get_multiplexed_async_connection().await {
            Ok(mut conn) => {
                let opened = Instant::now();
                lost.borrow_and_update(); // losses before now are over
                links.publishing.store(true, Ordering::Relaxed);
                retry = FIRST_RETRY;
                loop {
                    let next = tokio::select! {
                        next = backlog.recv() => next,
                        _ = lost.changed() => {
                            eprintln!("chat: redis: subscription lost, so reconnecting the publisher too");
                            break;
                        }
                    };
                    let Some((channel, payload, made)) = next else {
                        return; // the bus is gone
                    };
                    if made < opened || made.elapsed() > MAX_DELAY {
                        links.count_drop();
                        continue;
                    }
                    let sent: redis::RedisResult<()> =
                        redis::AsyncCommands::publish(&mut conn, &channel, payload.as_ref()).await;
                    if let Err(e) = sent {
                        links.count_drop();
                        eprintln!("chat: redis: publish failed: {e}; reconnecting");
                        break;
                    }
                }
                links.publishing.store(false, Ordering::Relaxed);
            }
            Err(e) => {
                eprintln!("chat: redis: cannot connect to publish: {e}; retrying in {retry:?}")
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Brings the other instances' publishes to this instance's hub.
async fn subscribe_loop(
    client: redis::Client,
    hub: Hub,
    instance: String,
    links: Arc<Links>,
    lost: watch::Sender<u64>,
) {
    let mut retry = FIRST_RETRY;
    let pattern = format!("{PREFIX}*");
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe(&pattern).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match subscribed.await {
            Ok(pubsub) => {
                eprintln!("chat: redis: subscribed to {pattern}");
                links.subscribed.store(true, Ordering::Relaxed);
                retry = FIRST_RETRY;
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    deliver(
                        &hub,
                        &instance,
                        message.get_channel_name(),
                        message.get_payload_bytes(),
                    );
                }
                links.subscribed.store(false, Ordering::Relaxed);
                lost.send_modify(|n| *n += 1);
                eprintln!("chat: redis: subscription lost; reconnecting");
            }
            Err(e) => eprintln!("chat: redis: cannot subscribe: {e}; retrying in {retry:?}"),
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}
/// One message from Redis: another instance's publish, for this hub.
fn deliver(hub: &Hub, instance: &str, channel: &str, payload: &[u8]) {
    let Some(topic) = channel.strip_prefix(PREFIX) else {
        return;
    };
    let Some(space) = payload.iter().position(|&b| b == b' ') else {
        return;
    };
    let (from, text) = (&payload[..space], &payload[space + 1..]);
    if from == instance.as_bytes() {
        return; // ours: delivered locally when published
    }
    match std::str::from_utf8(text) {
        Ok(text) => {
            hub.publish_local(topic, Utf8Bytes::from(text));
        }
        Err(_) => eprintln!("chat: redis: dropped a message that is not UTF-8 on {channel}"),
    }
}

/// An instance id: random enough that two instances never share one.
fn rand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // `RandomState` is seeded from the OS per process.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}
