//! Attacks on the pub/sub hub, prepared messages, the shared compressor and
//! the tokio adapter's delivery loop: what a hostile peer, a flood of
//! publishes or an unlucky interleaving can do.
//!
//! Every test is bounded in time and
//! deterministic: races are forced with barriers inside `Bus` callbacks,
//! and the multi-threaded tests check invariants that hold under every
//! interleaving.
#![cfg(feature = "tokio")]

mod common;
mod counting;
mod harness;

use std::collections::BTreeSet;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::drain;
use counting::{live, peak, reset_peak};
use harness::{attached, attached_with, drive, member, next_text, nothing_within};
use rfc6455::hub::{Bus, Hub, HubConfig, SlowSubscriber, Subscriber};
use rfc6455::tokio::WebSocketStream;
use rfc6455::{CloseCode, Config, Connection, Event, MessageKind, PreparedMessage, Role};
use tokio::time::timeout;

// ---- helpers --------------------------------------------------------------

const LIMIT: Duration = Duration::from_secs(5);

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ---- bounds and memory ----------------------------------------------------

/// Under `DropOldest`, a message larger than the whole byte bound goes
/// into an empty queue only (as a connection's send queue takes any one
/// message): the older ones make room for it, and nothing is over the
/// bound by more than that one message.
#[test]
fn drop_oldest_an_oversized_message_replaces_the_backlog() {
    let hub = Hub::new(
        HubConfig::default()
            .max_queue_bytes(100)
            .slow_subscriber(SlowSubscriber::DropOldest),
    );
    let s = hub.subscriber();
    s.subscribe("t");
    for i in 0..3 {
        assert_eq!(hub.publish("t", format!("small {i}")), 1);
    }
    assert_eq!(s.queued(), (3, 21));
    assert_eq!(hub.publish("t", "x".repeat(101)), 1, "the newest is kept");
    assert_eq!(s.dropped(), 3, "the backlog made room");
    assert_eq!(s.queued(), (1, 101));
    // The same through a mailbox.
    assert!(s.mailbox().send("y".repeat(101)));
    assert_eq!((s.queued(), s.dropped()), ((1, 101), 4));
}

/// Under a message bound of zero a queue still holds one message (an
/// empty queue takes any one); nothing panics or loops.
#[test]
fn a_zero_message_bound_holds_at_most_one_message() {
    for policy in [SlowSubscriber::DropOldest, SlowSubscriber::Disconnect] {
        let hub = Hub::new(
            HubConfig::default()
                .max_queue_messages(0)
                .slow_subscriber(policy),
        );
        let s = hub.subscriber();
        assert!(s.subscribe("t"));
        assert_eq!(hub.publish("t", ""), 1);
        assert_eq!(s.queued(), (1, 0));
        hub.publish("t", "second");
        match policy {
            SlowSubscriber::DropOldest => {
                assert_eq!((s.queued(), s.dropped()), ((1, 6), 1));
                assert_eq!(hub.subscriber_count("t"), 1);
            }
            _ => {
                assert!(s.is_evicted());
                assert_eq!(hub.subscriber_count("t"), 0);
                assert!(!s.subscribe("u"), "an evicted subscriber takes no topic");
            }
        }
    }
}

/// A subscriber that never reads, under a flood of publishes (large and
/// small, to many topics, and direct sends): the memory it makes the server
/// hold stays within the hub's bound, the high-water mark, one message and
/// the pipe, whatever the policy.
#[tokio::test]
async fn a_reader_that_never_reads_holds_bounded_memory_under_a_flood() {
    const QUEUE_BYTES: usize = 64 * 1024;
    const HIGH_WATER: usize = 16 * 1024;
    const PIPE: usize = 4096;
    const MESSAGE: usize = 10 * 1024;
    for policy in [SlowSubscriber::DropOldest, SlowSubscriber::Disconnect] {
        let hub = Hub::new(
            HubConfig::default()
                .max_queue_bytes(QUEUE_BYTES)
                .slow_subscriber(policy),
        );
        let config = Config::default()
            .send_high_water(HIGH_WATER)
            .close_timeout(Duration::from_secs(3600));
        let (slow, _never_read, _task) = member(&hub, config, PIPE);
        let topics: Vec<String> = (0..50).map(|i| format!("topic {i}")).collect();
        for topic in &topics {
            slow.subscribe(topic);
        }
        let mailbox = slow.mailbox();
        let big = "b".repeat(MESSAGE);
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        let base = reset_peak();
        for i in 0..3000 {
            let topic = &topics[i % topics.len()];
            match i % 3 {
                0 => hub.publish(topic, big.as_str()),
                1 => hub.publish(topic, format!("small {i}")),
                _ => usize::from(mailbox.send(format!("direct {i}"))),
            };
            if i % 7 == 0 {
                tokio::task::yield_now().await;
            }
            let (messages, bytes) = slow.queued();
            assert!(messages <= 1024 && bytes <= QUEUE_BYTES);
        }
        let held = peak() - base;
        // Queue + high water + one message + pipe, and room for the fixed
        // costs (a message being built, the coalescing buffer, queue
        // slots).
        let bound = (QUEUE_BYTES + HIGH_WATER + MESSAGE + PIPE + 64 * 1024) as isize;
        assert!(held < bound, "{policy:?}: peak {held} bytes > {bound}");
        if policy == SlowSubscriber::Disconnect {
            assert!(slow.is_evicted());
            assert_eq!(hub.topic_count(), 0);
        } else {
            assert!(slow.dropped() > 2000, "dropped {}", slow.dropped());
        }
    }
}

/// Empty messages cost no payload bytes: the message bound alone must keep
/// their number (and memory) in check, with direct sends too. Each queued
/// message that is not shared costs its `PreparedMessage` (about 420 bytes
/// with the `deflate` feature: the cache of eight compressed frames, empty;
/// about 100 without), which `max_queue_bytes` does not count.
#[test]
fn empty_messages_are_bounded_by_the_message_count() {
    let hub = Hub::new(
        HubConfig::default()
            .max_queue_messages(100)
            .slow_subscriber(SlowSubscriber::DropOldest),
    );
    let s = hub.subscriber();
    s.subscribe("t");
    let mailbox = s.mailbox();
    let base = reset_peak();
    for i in 0..100_000 {
        if i % 2 == 0 {
            hub.publish("t", "");
        } else {
            mailbox.send(Bytes::new());
        }
    }
    assert_eq!(s.queued(), (100, 0));
    assert_eq!(s.dropped(), 100_000 - 100);
    let held = peak() - base;
    assert!(
        held < 100 * 512 + 8 * 1024,
        "peak {held} bytes for 100 empty messages"
    );
}

/// A flood of messages larger than the byte bound under `DropOldest`
/// holds one of them at a time, never more.
#[test]
fn oversized_messages_hold_one_at_a_time() {
    let hub = Hub::new(
        HubConfig::default()
            .max_queue_bytes(1000)
            .slow_subscriber(SlowSubscriber::DropOldest),
    );
    let s = hub.subscriber();
    s.subscribe("t");
    let base = live();
    for i in 0..1000 {
        let big = PreparedMessage::new(vec![i as u8; 100_000]);
        assert_eq!(hub.publish("t", big), 1);
        assert_eq!(s.queued(), (1, 100_000));
        assert!(live() - base < 200_000, "one message held, not more");
    }
    assert_eq!(s.dropped(), 999);
}

/// A prepared message keeps at most one compressed frame, whatever window
/// sizes its subscribers use: a slow subscriber holding `max_queue_bytes`
/// of incompressible payload holds about twice that (the payload and its
/// compressed frame, which is a little larger), not once per window size.
#[cfg(feature = "deflate")]
#[test]
fn a_slow_subscriber_pins_no_more_than_its_bound_whatever_the_windows() {
    use rfc6455::deflate::{DeflateConfig, DeflateParams};
    use rfc6455::Extensions;
    const QUEUE_BYTES: usize = 256 * 1024;
    let hub = Hub::new(
        HubConfig::default()
            .max_queue_bytes(QUEUE_BYTES)
            .slow_subscriber(SlowSubscriber::DropOldest),
    );
    let slow = hub.subscriber();
    slow.subscribe("t");
    // Fast subscribers, one per window size, written at once.
    let mut fast: Vec<Connection> = (8..=15)
        .map(|bits| {
            let ext = Extensions::with_deflate(DeflateParams {
                server_no_context_takeover: true,
                server_max_window_bits: bits,
                ..DeflateParams::default()
            });
            Connection::with_extensions(
                Role::Server,
                Config::default().deflate(DeflateConfig::default()),
                &ext,
            )
        })
        .collect();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    // Warm the thread's shared compressors up before measuring.
    let warm = PreparedMessage::new(rng.bytes(4096));
    for conn in &mut fast {
        conn.send_prepared(&warm).unwrap();
        drain(conn);
    }
    let base = live();
    for _ in 0..200 {
        let message = PreparedMessage::new(rng.bytes(4096));
        hub.publish("t", message.clone());
        for conn in &mut fast {
            conn.send_prepared(&message).unwrap();
            drain(conn);
        }
    }
    let (_, queued_bytes) = slow.queued();
    let held = live() - base;
    assert!(queued_bytes <= QUEUE_BYTES);
    assert!(
        held < (5 * QUEUE_BYTES / 2) as isize,
        "a queue of {queued_bytes} payload bytes holds {held} bytes"
    );
}

/// With the default `Config` (64 MiB messages) and `HubConfig` (256 KiB
/// queues), the module's own example (re-publish what a client says to the
/// lobby) lets one client disconnect every other member with a single
/// message over 256 KiB, though their queues are empty and they keep up.
#[tokio::test]
async fn one_oversized_publish_does_not_evict_members_that_keep_up() {
    let hub = Hub::new(HubConfig::default());
    let (alice, mut alice_client, _a) = member(&hub, Config::default(), 64 * 1024);
    let (bob, mut bob_client, _b) = member(&hub, Config::default(), 64 * 1024);
    let mallory = hub.subscriber();
    for s in [&alice, &bob, &mallory] {
        s.subscribe("lobby");
    }
    mallory.publish("lobby", "hi");
    assert_eq!(next_text(&mut alice_client).await, "hi");
    assert_eq!(next_text(&mut bob_client).await, "hi");
    // What a client may send under the default Config.
    mallory.publish("lobby", "x".repeat(300 * 1024));
    tokio::task::yield_now().await;
    assert!(
        !alice.is_evicted() && !bob.is_evicted(),
        "members with empty queues were dropped by one large message"
    );
}

// ---- ordering and exactly-once ---------------------------------------------

/// Direct sends and publishes share one queue, in the order they were made;
/// a subscriber in two topics gets a message published to both twice.
#[tokio::test]
async fn direct_sends_and_publishes_keep_their_order() {
    let hub = Hub::new(HubConfig::default());
    let (s, mut client, _t) = member(&hub, Config::default(), 64 * 1024);
    s.subscribe("a");
    s.subscribe("b");
    let mailbox = s.mailbox();
    let mut expected = Vec::new();
    for i in 0..200 {
        let text = format!("{i}");
        match i % 4 {
            0 => assert_eq!(hub.publish("a", text.as_str()), 1),
            1 => assert!(mailbox.send(text.as_str())),
            2 => assert!(s.send(text.as_str())),
            _ => assert_eq!(hub.publish("b", text.as_str()), 1),
        }
        expected.push(text);
    }
    let both = PreparedMessage::new("to both");
    assert_eq!(hub.publish("a", both.clone()), 1);
    assert_eq!(hub.publish("b", both), 1);
    expected.push("to both".into());
    expected.push("to both".into());
    for text in expected {
        assert_eq!(next_text(&mut client).await, text);
    }
    nothing_within(&mut client, Duration::from_millis(20)).await;
}

/// Several publishers on a multi-threaded runtime, while other subscribers
/// join, leave, get dropped and have their connections dropped: every
/// stable member gets every message exactly once, in each publisher's
/// order, and the registry ends consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishers_and_churn_deliver_exactly_once() {
    const PUBLISHERS: usize = 4;
    const MESSAGES: usize = 300;
    let hub = Hub::new(
        HubConfig::default()
            .max_queue_messages(1 << 20)
            .max_queue_bytes(1 << 30),
    );
    let mut readers = Vec::new();
    let mut stable = Vec::new();
    for _ in 0..4 {
        let (s, mut client, _t) = member(&hub, Config::default(), 16 * 1024);
        s.subscribe("t");
        s.subscribe("other");
        stable.push(s);
        readers.push(tokio::spawn(async move {
            let mut seen: Vec<Vec<usize>> = vec![Vec::new(); PUBLISHERS];
            loop {
                let text = next_text(&mut client).await;
                if text == "end" {
                    return seen;
                }
                let (p, n) = text.split_once(':').unwrap();
                seen[p.parse::<usize>().unwrap()].push(n.parse().unwrap());
            }
        }));
    }
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let hub = hub.clone();
            tokio::spawn(async move {
                // Half publish as a non-member subscriber (the `except` path).
                let me = hub.subscriber();
                for n in 0..MESSAGES {
                    let text = format!("{p}:{n}");
                    if p % 2 == 0 {
                        hub.publish("t", text);
                    } else {
                        me.publish("t", text);
                    }
                    if n % 16 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    let churners: Vec<_> = (0..4)
        .map(|c| {
            let hub = hub.clone();
            tokio::spawn(async move {
                for round in 0..60 {
                    match (round + c) % 3 {
                        0 => {
                            // Joins and leaves again.
                            let s = hub.subscriber();
                            s.subscribe("t");
                            s.subscribe(&format!("mine {c}"));
                            tokio::task::yield_now().await;
                            assert!(s.unsubscribe("t"));
                        }
                        1 => {
                            // Dropped while in the topic.
                            let s = hub.subscriber();
                            s.subscribe("other");
                            s.subscribe("t");
                            tokio::task::yield_now().await;
                        }
                        _ => {
                            // An attached connection, dropped mid-stream.
                            let (s, client, task) = member(&hub, Config::default(), 1024);
                            s.subscribe("t");
                            tokio::task::yield_now().await;
                            task.abort();
                            drop(client);
                            let _ = task.await;
                            drop(s);
                        }
                    }
                }
            })
        })
        .collect();
    for task in publishers.into_iter().chain(churners) {
        timeout(LIMIT, task).await.unwrap().unwrap();
    }
    assert_eq!(hub.subscriber_count("t"), 4);
    assert_eq!(
        hub.topic_count(),
        2,
        "only the stable members' topics are left"
    );
    hub.publish("t", "end");
    for reader in readers {
        let seen = timeout(LIMIT, reader).await.unwrap().unwrap();
        for numbers in seen {
            assert_eq!(numbers, (0..MESSAGES).collect::<Vec<_>>());
        }
    }
    drop(stable);
    assert_eq!(hub.topic_count(), 0);
}

/// The registry against a model: one subscriber in many topics, leaving in
/// varied orders while others join and leave (the `swap_remove` index
/// bookkeeping), publishes counted per subscriber.
#[test]
fn the_registry_matches_a_model_under_random_churn() {
    let hub = Hub::new(
        HubConfig::default()
            .max_queue_messages(1 << 20)
            .max_queue_bytes(1 << 30),
    );
    const SUBSCRIBERS: usize = 12;
    const TOPICS: usize = 9;
    let topic = |t: usize| format!("topic-{t}");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut subs: Vec<Subscriber> = (0..SUBSCRIBERS).map(|_| hub.subscriber()).collect();
    let mut model: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); SUBSCRIBERS];
    let mut received = [0usize; SUBSCRIBERS];
    for step in 0..20_000 {
        let i = rng.below(SUBSCRIBERS);
        let t = rng.below(TOPICS);
        match rng.below(10) {
            0..=3 => {
                assert_eq!(
                    subs[i].subscribe(&topic(t)),
                    model[i].insert(t),
                    "step {step}"
                );
            }
            4..=6 => {
                assert_eq!(
                    subs[i].unsubscribe(&topic(t)),
                    model[i].remove(&t),
                    "step {step}"
                );
            }
            7 => {
                // Dropped and replaced: leaves everything at once.
                subs[i] = hub.subscriber();
                model[i].clear();
                received[i] = 0;
            }
            _ => {
                let members: Vec<usize> = (0..SUBSCRIBERS)
                    .filter(|&j| model[j].contains(&t))
                    .collect();
                assert_eq!(hub.publish(&topic(t), "m"), members.len(), "step {step}");
                for j in members {
                    received[j] += 1;
                }
            }
        }
        if step % 97 == 0 {
            for t in 0..TOPICS {
                let n = model.iter().filter(|m| m.contains(&t)).count();
                assert_eq!(hub.subscriber_count(&topic(t)), n, "step {step}");
            }
            let open = (0..TOPICS)
                .filter(|t| model.iter().any(|m| m.contains(t)))
                .count();
            assert_eq!(hub.topic_count(), open, "step {step}");
            for (j, s) in subs.iter().enumerate() {
                let mut topics = s.topics();
                topics.sort();
                let mut want: Vec<String> = model[j].iter().map(|&t| topic(t)).collect();
                want.sort();
                assert_eq!(topics, want, "step {step}");
                assert_eq!(s.topic_count(), model[j].len(), "step {step}");
                for t in 0..TOPICS {
                    assert_eq!(s.is_subscribed(&topic(t)), model[j].contains(&t));
                }
                assert_eq!(s.mailbox().queued(), s.queued());
                assert_eq!(s.queued().0, received[j], "step {step}");
            }
        }
    }
    drop(subs);
    assert_eq!(hub.topic_count(), 0);
}

/// One subscriber in many topics, leaving them in reverse, random and
/// forward order while a second subscriber is in each.
#[test]
fn a_subscriber_in_many_topics_leaves_them_in_any_order() {
    let hub = Hub::new(HubConfig::default());
    let mut rng = Rng(42);
    for order in 0..3 {
        let many = hub.subscriber();
        let others: Vec<Subscriber> = (0..3).map(|_| hub.subscriber()).collect();
        let names: Vec<String> = (0..500).map(|i| format!("t{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            // Before or after `many` in the member list.
            if i % 2 == 0 {
                others[i % 3].subscribe(name);
            }
            many.subscribe(name);
            others[(i + 1) % 3].subscribe(name);
        }
        let mut leaving: Vec<usize> = (0..names.len()).collect();
        match order {
            0 => leaving.reverse(),
            1 => {
                for k in (1..leaving.len()).rev() {
                    leaving.swap(k, rng.below(k + 1));
                }
            }
            _ => {}
        }
        for (n, &i) in leaving.iter().enumerate() {
            assert!(many.unsubscribe(&names[i]));
            if n % 3 == 0 {
                // Another member leaves too, moving `many` if it is last.
                others[(i + 1) % 3].unsubscribe(&names[i]);
            }
        }
        assert!(many.topics().is_empty());
        for (i, name) in names.iter().enumerate() {
            let others_in = others.iter().filter(|o| o.topics().contains(name)).count();
            assert_eq!(hub.subscriber_count(name), others_in, "{name}");
            assert_eq!(hub.publish(name, "x"), others_in, "{i}");
        }
        drop(others);
        assert_eq!(hub.topic_count(), 0);
    }
}

// ---- the bus -------------------------------------------------------------

/// `Bus::publish` runs under no lock of the hub: it may call the hub
/// (here it mirrors every publish into another topic, and evictions happen
/// inside the calls). `topic_opened`/`topic_closed` run under the registry
/// lock by design (so that they arrive in order) and are documented as not
/// calling the hub.
#[test]
fn bus_publish_may_call_the_hub() {
    struct Mirror {
        hub: Mutex<Option<Hub>>,
        log: Mutex<Vec<String>>,
    }
    impl Bus for Mirror {
        fn publish(&self, topic: &str, message: &PreparedMessage) {
            self.log.lock().unwrap().push(format!("publish {topic}"));
            let hub = self.hub.lock().unwrap().clone().unwrap();
            if !topic.starts_with("mirror:") {
                hub.publish(&format!("mirror:{topic}"), message.clone());
            }
        }
        fn topic_opened(&self, topic: &str) {
            self.log.lock().unwrap().push(format!("opened {topic}"));
        }
        fn topic_closed(&self, topic: &str) {
            self.log.lock().unwrap().push(format!("closed {topic}"));
        }
    }
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let bus = Arc::new(Mirror {
            hub: Mutex::new(None),
            log: Mutex::new(Vec::new()),
        });
        let hub = Hub::with_bus(HubConfig::default().max_queue_messages(3), bus.clone());
        *bus.hub.lock().unwrap() = Some(hub.clone());
        let a = hub.subscriber();
        let b = hub.subscriber();
        let shadow = hub.subscriber();
        a.subscribe("room");
        b.subscribe("room");
        shadow.subscribe("mirror:room");
        b.publish("room", "hi");
        assert_eq!(shadow.queued().0, 1);
        // Nobody reads: the flood evicts everyone from inside publishes,
        // the mirror's included, and closes both topics.
        for _ in 0..5 {
            hub.publish("room", "flood");
        }
        assert!(a.is_evicted() && b.is_evicted() && shadow.is_evicted());
        assert_eq!(hub.topic_count(), 0);
        *bus.hub.lock().unwrap() = None; // breaks the cycle
        done.send(bus.log.lock().unwrap().clone()).unwrap();
    });
    let log = finished
        .recv_timeout(LIMIT)
        .expect("a bus publishing into the hub deadlocked");
    for line in [
        "opened room",
        "opened mirror:room",
        "closed room",
        "closed mirror:room",
    ] {
        assert_eq!(
            log.iter().filter(|l| *l == line).count(),
            1,
            "{line}: {log:?}"
        );
    }
}

/// The last member leaves (its `topic_closed` is running) while a new
/// member joins: the join waits for the close to be told, so the bus hears
/// "closed" then "opened" and keeps listening to a topic with a member.
#[test]
fn bus_topic_callbacks_arrive_in_the_order_of_the_changes() {
    /// Tracks the topics it was told are open; blocks in `topic_closed`
    /// while `gate` holds a sender, to force the interleaving.
    struct Listening {
        open: Mutex<BTreeSet<String>>,
        entered: Mutex<Option<mpsc::Sender<()>>>,
        gate: Mutex<Option<mpsc::Receiver<()>>>,
    }
    impl Bus for Listening {
        fn publish(&self, _: &str, _: &PreparedMessage) {}
        fn topic_opened(&self, topic: &str) {
            self.open.lock().unwrap().insert(topic.to_owned());
        }
        fn topic_closed(&self, topic: &str) {
            if let Some(entered) = self.entered.lock().unwrap().take() {
                entered.send(()).unwrap();
                let gate = self.gate.lock().unwrap().take().unwrap();
                let _ = gate.recv_timeout(LIMIT);
            }
            self.open.lock().unwrap().remove(topic);
        }
    }
    let (entered_tx, entered) = mpsc::channel();
    let (release, gate) = mpsc::channel();
    let bus = Arc::new(Listening {
        open: Mutex::default(),
        entered: Mutex::new(Some(entered_tx)),
        gate: Mutex::new(Some(gate)),
    });
    let hub = Hub::with_bus(HubConfig::default(), bus.clone());
    let first = hub.subscriber();
    first.subscribe("room");
    let leaving = std::thread::spawn(move || {
        first.unsubscribe("room"); // the last one: topic_closed blocks
    });
    entered.recv_timeout(LIMIT).unwrap();
    let joining = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            let second = hub.subscriber();
            assert!(second.subscribe("room")); // waits for the close
            second
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    release.send(()).unwrap();
    leaving.join().unwrap();
    let _second = joining.join().unwrap();
    assert_eq!(hub.subscriber_count("room"), 1);
    assert!(
        bus.open.lock().unwrap().contains("room"),
        "the bus was told the topic closed after it reopened: it stopped \
         listening to a topic with a member"
    );
}

// ---- attaching -------------------------------------------------------------

/// Attaching the subscriber a stream already writes for changes nothing.
#[tokio::test]
async fn attaching_the_same_subscriber_again_keeps_it() {
    let hub = Hub::new(HubConfig::default());
    let s = hub.subscriber();
    s.subscribe("t");
    let (server_io, client_io) = tokio::io::duplex(4096);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    server.attach(&s);
    server.attach(&s);
    assert_eq!(hub.subscriber_count("t"), 1, "still in its topic");
    assert!(s.subscribe("u"), "still takes topics");
    tokio::spawn(async move { while server.recv().await.is_ok() {} });
    let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default(), &[]);
    assert_eq!(hub.publish("t", "hello"), 1);
    assert_eq!(next_text(&mut client).await, "hello");
}

/// Attaching another subscriber replaces the first, which leaves the hub.
#[tokio::test]
async fn attaching_another_subscriber_replaces_the_first() {
    let hub = Hub::new(HubConfig::default());
    let first = hub.subscriber();
    let second = hub.subscriber();
    first.subscribe("t");
    second.subscribe("t");
    let (server_io, client_io) = tokio::io::duplex(4096);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    server.attach(&first);
    server.attach(&second);
    assert_eq!(hub.subscriber_count("t"), 1);
    assert!(!first.subscribe("u"));
    tokio::spawn(async move { while server.recv().await.is_ok() {} });
    let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default(), &[]);
    assert!(!first.send("lost"));
    assert!(second.send("kept"));
    assert_eq!(next_text(&mut client).await, "kept");
}

/// One subscriber attached to two streams: each message goes out once, on
/// one of them; when one connection ends the subscriber leaves the hub for
/// both.
#[tokio::test]
async fn one_subscriber_on_two_streams_delivers_each_message_once() {
    let hub = Hub::new(HubConfig::default());
    let s = hub.subscriber();
    s.subscribe("t");
    let (mut one, task_one) = attached(&s, Config::default(), 64 * 1024);
    let (mut two, _task_two) = attached(&s, Config::default(), 64 * 1024);
    for i in 0..100 {
        hub.publish("t", format!("{i}"));
        if i % 10 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let mut got = Vec::new();
    for client in [&mut one, &mut two] {
        while let Ok(Ok(Event::Text(text))) =
            timeout(Duration::from_millis(50), client.recv()).await
        {
            got.push(text.parse::<usize>().unwrap());
        }
    }
    got.sort_unstable();
    assert_eq!(got, (0..100).collect::<Vec<_>>(), "each exactly once");
    // The first connection ends: the subscriber is out of the hub, though
    // the second stream still writes for it.
    one.close(CloseCode::NORMAL, "").await.unwrap();
    while !matches!(
        timeout(LIMIT, one.recv()).await.unwrap(),
        Ok(Event::Close(_)) | Err(_)
    ) {}
    timeout(LIMIT, task_one).await.unwrap().unwrap().unwrap();
    assert_eq!(hub.subscriber_count("t"), 0);
    assert!(!s.send("after"), "closed for both");
}

/// Attached, then split: the reader's `recv` delivers.
#[tokio::test]
async fn attaching_then_splitting_keeps_delivering() {
    let hub = Hub::new(HubConfig::default());
    let s = hub.subscriber();
    s.subscribe("t");
    let (server_io, client_io) = tokio::io::duplex(4096);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    server.attach(&s);
    let (mut reader, mut writer) = server.split();
    tokio::spawn(async move { while reader.recv().await.is_ok() {} });
    let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default(), &[]);
    for i in 0..50 {
        hub.publish("t", format!("hub {i}"));
        writer.send(format!("writer {i}")).await.unwrap();
    }
    let mut hub_seen = 0;
    let mut writer_seen = 0;
    while hub_seen < 50 || writer_seen < 50 {
        let text = next_text(&mut client).await;
        if let Some(n) = text.strip_prefix("hub ") {
            assert_eq!(n.parse::<usize>().unwrap(), hub_seen);
            hub_seen += 1;
        } else {
            let n = text.strip_prefix("writer ").unwrap();
            assert_eq!(n.parse::<usize>().unwrap(), writer_seen);
            writer_seen += 1;
        }
    }
}

/// Split first, then attached through the reader (and attached again):
/// the reader's `recv` delivers, and the subscriber stays in its topics.
#[tokio::test]
async fn attaching_to_a_split_reader_delivers() {
    let hub = Hub::new(HubConfig::default());
    let s = hub.subscriber();
    s.subscribe("t");
    let (server_io, client_io) = tokio::io::duplex(4096);
    let server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    let (mut reader, _writer) = server.split();
    reader.attach(&s);
    let other = hub.subscriber();
    other.subscribe("t");
    reader.attach(&other); // replaces `s`, which leaves the hub
    assert!(!s.is_subscribed("t"));
    assert!(other.is_subscribed("t"));
    tokio::spawn(async move { while reader.recv().await.is_ok() {} });
    let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default(), &[]);
    assert_eq!(hub.publish("t", "to other"), 1);
    assert_eq!(next_text(&mut client).await, "to other");
}

/// The client goes away without a close (its end of the pipe dropped): the
/// subscriber leaves the hub as the server's task notices, not when the
/// stream is dropped later.
#[tokio::test]
async fn a_vanished_client_takes_its_subscriber_out() {
    let hub = Hub::new(HubConfig::default());
    let s = hub.subscriber();
    s.subscribe("t");
    let (server_io, client_io) = tokio::io::duplex(1024);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    server.attach(&s);
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    // The stream is kept (not dropped) after its end.
    let _keep = tokio::spawn(async move {
        let result = loop {
            match server.recv().await {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        let _ = ended_tx.send(result);
        std::future::pending::<()>().await;
        drop(server);
    });
    hub.publish("t", "x".repeat(600));
    tokio::task::yield_now().await;
    drop(client_io);
    hub.publish("t", "x".repeat(600));
    let error = timeout(LIMIT, ended).await.unwrap().unwrap();
    let _ = error;
    assert_eq!(hub.topic_count(), 0);
    assert!(!s.send("after"));
    assert!(!s.mailbox().is_evicted());
}

/// A fragmented message in progress on the split writer holds deliveries
/// back; once its last fragment is sent they go out, without another
/// publish to wake the reader.
#[tokio::test]
async fn deliveries_resume_after_a_fragmented_message_without_a_new_publish() {
    let hub = Hub::new(HubConfig::default());
    let s = hub.subscriber();
    s.subscribe("t");
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    server.attach(&s);
    let (mut reader, mut writer) = server.split();
    tokio::spawn(async move { while reader.recv().await.is_ok() {} });
    let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default(), &[]);

    writer
        .send_fragment(MessageKind::Text, Bytes::from_static(b"frag"), false)
        .await
        .unwrap();
    hub.publish("t", "waits");
    hub.publish("t", "waits too");
    // Let the reader try (and fail) to deliver.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(s.queued().0, 2, "held back while the fragment is open");
    writer
        .send_fragment(MessageKind::Text, Bytes::from_static(b"ment"), true)
        .await
        .unwrap();
    assert_eq!(next_text(&mut client).await, "fragment");
    assert_eq!(next_text(&mut client).await, "waits");
    assert_eq!(next_text(&mut client).await, "waits too");
}

/// The same on a whole stream, through its own `send_fragment`: the next
/// `recv` delivers what waited.
#[tokio::test]
async fn a_whole_stream_delivers_after_its_fragmented_message() {
    let hub = Hub::new(HubConfig::default());
    let s = hub.subscriber();
    s.subscribe("t");
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    server.attach(&s);
    let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default(), &[]);
    server
        .send_fragment(MessageKind::Binary, Bytes::from_static(b"ab"), false)
        .await
        .unwrap();
    hub.publish("t", "after");
    // recv runs deliveries, which must wait for the fragment's end.
    assert!(timeout(Duration::from_millis(20), server.recv())
        .await
        .is_err());
    server
        .send_fragment(MessageKind::Binary, Bytes::from_static(b"cd"), true)
        .await
        .unwrap();
    tokio::spawn(async move { while server.recv().await.is_ok() {} });
    match timeout(LIMIT, client.recv()).await.unwrap() {
        Ok(Event::Binary(data)) => assert_eq!(&data[..], b"abcd"),
        other => panic!("{other:?}"),
    }
    assert_eq!(next_text(&mut client).await, "after");
}

// ---- the hub's lifetime -----------------------------------------------------

/// Dropping every `Hub` handle while subscribers and streams live: the
/// subscribers keep the topics; once they go too, streams still write what
/// was queued and mailboxes refuse politely.
#[tokio::test]
async fn dropping_the_hub_while_subscribers_live() {
    let hub = Hub::new(HubConfig::default());
    let (s, mut client, _t) = member(&hub, Config::default(), 4096);
    s.subscribe("t");
    let mailbox = s.mailbox();
    drop(hub);
    assert_eq!(s.hub().publish("t", "still here"), 1);
    assert_eq!(next_text(&mut client).await, "still here");
    assert!(mailbox.send("queued"));
    drop(s); // the last handle to the hub
    assert!(!mailbox.send("gone"));
    assert_eq!(next_text(&mut client).await, "queued");
}

// ---- eviction and closing --------------------------------------------------

/// An evicted subscriber whose client reads slowly but in time gets what was
/// already written, then the 1008; its connection then ends.
#[tokio::test]
async fn a_slow_reader_gets_the_1008_then_the_connection_ends() {
    let hub = Hub::new(HubConfig::default().max_queue_messages(8));
    let config = Config::default()
        .send_high_water(1024)
        .close_timeout(Duration::from_secs(60));
    let (s, mut client, task) = member(&hub, config, 512);
    s.subscribe("t");
    let mut sent = 0;
    while !s.is_evicted() {
        hub.publish("t", format!("{sent:0>100}"));
        sent += 1;
        tokio::task::yield_now().await;
        assert!(sent < 200);
    }
    let mut received = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(1)).await; // slow
        match timeout(LIMIT, client.recv()).await.unwrap() {
            Ok(Event::Text(text)) => {
                assert_eq!(text.as_str(), format!("{received:0>100}"));
                received += 1;
            }
            Ok(Event::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::POLICY_VIOLATION);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(received < sent);
    // The client answered the close: the server's task ends cleanly.
    let ended = timeout(LIMIT, task).await.unwrap().unwrap();
    assert!(matches!(ended, Ok(Event::Close(_))), "{ended:?}");
    assert_eq!(hub.topic_count(), 0);
}

/// A peer that never reads: after eviction the connection ends within the
/// close timeout, and the subscriber is out of the hub.
#[tokio::test]
async fn a_peer_that_never_reads_is_gone_within_the_close_timeout() {
    let hub = Hub::new(HubConfig::default().max_queue_messages(16));
    let close_timeout = Duration::from_millis(200);
    let config = Config::default()
        .send_high_water(4096)
        .close_timeout(close_timeout);
    let (s, _never_read, task) = member(&hub, config, 1024);
    s.subscribe("t");
    let mut n = 0;
    while !s.is_evicted() {
        hub.publish("t", "z".repeat(200));
        tokio::task::yield_now().await;
        n += 1;
        assert!(n < 1000);
    }
    let evicted_at = tokio::time::Instant::now();
    let ended = timeout(close_timeout * 3, task)
        .await
        .expect("ends within the close timeout")
        .unwrap();
    assert!(ended.is_err(), "{ended:?}");
    let took = evicted_at.elapsed();
    assert!(
        took <= close_timeout + Duration::from_millis(150),
        "{took:?}"
    );
    assert_eq!(hub.topic_count(), 0);
}

/// A publish flood while the connection is closing (a shutdown's 1001 to
/// a client that is not reading yet): the subscriber leaves the hub as the
/// close starts, so it is never evicted and holds nothing; the 1001 (not a
/// 1008) reaches the client once it reads.
#[tokio::test]
async fn a_closing_connection_leaves_the_hub_and_holds_nothing() {
    let hub = Hub::new(HubConfig::default().max_queue_messages(20));
    let config = Config::default()
        .send_high_water(512)
        .close_timeout(Duration::from_secs(2));
    let (server_io, client_io) = tokio::io::duplex(256);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, config, &[]);
    let shutdown = rfc6455::Shutdown::new();
    server.set_shutdown(shutdown.guard());
    let s = hub.subscriber();
    server.attach(&s);
    s.subscribe("t");
    let task = drive(server);
    let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default(), &[]);
    // Fill the pipe and the high-water mark; the queue stays short.
    for i in 0..8 {
        hub.publish("t", format!("{i:0>100}"));
        tokio::task::yield_now().await;
    }
    assert!(!s.is_evicted());
    shutdown.signal("restarting");
    for _ in 0..5 {
        tokio::task::yield_now().await;
    }
    assert_eq!(hub.topic_count(), 0, "left as the close started");
    for _ in 0..100 {
        assert_eq!(hub.publish("t", "late"), 0);
        assert!(!s.send("late"));
    }
    assert!(!s.is_evicted());
    assert_eq!(s.queued(), (0, 0));
    // The client reads now: what was written, then the shutdown's close.
    let close = loop {
        match timeout(LIMIT, client.recv()).await.unwrap() {
            Ok(Event::Text(text)) => assert_ne!(text.as_str(), "late"),
            Ok(Event::Close(frame)) => break frame,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(close.unwrap().code, CloseCode::GOING_AWAY);
    let ended = timeout(LIMIT, task).await.unwrap().unwrap();
    assert!(matches!(ended, Ok(Event::Close(_))), "{ended:?}");
}

/// The same never-reading peer over a real TCP socket: bounded queue,
/// then gone within the close timeout.
#[tokio::test]
async fn a_tcp_peer_that_never_reads_is_dropped() {
    let hub = Hub::new(HubConfig::default().max_queue_bytes(64 * 1024));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (tcp, _) = listener.accept().await.unwrap();
    let mut server = WebSocketStream::from_raw(
        tcp,
        Role::Server,
        Config::default()
            .send_high_water(16 * 1024)
            .close_timeout(Duration::from_millis(300)),
        &[],
    );
    let s = hub.subscriber();
    server.attach(&s);
    s.subscribe("t");
    let task = tokio::spawn(async move {
        loop {
            match server.recv().await {
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    });
    let chunk = "q".repeat(16 * 1024);
    let mut n = 0;
    while !s.is_evicted() {
        hub.publish("t", chunk.as_str());
        tokio::task::yield_now().await;
        let (_, bytes) = s.queued();
        assert!(bytes <= 64 * 1024);
        n += 1;
        // Kernel buffers can take a few MiB before the queue fills.
        assert!(n < 5000, "never evicted");
    }
    let ended = timeout(LIMIT, task).await.expect("ends in time").unwrap();
    let _ = ended;
    assert_eq!(hub.topic_count(), 0);
    drop(client);
}

// ---- compression -------------------------------------------------------------

#[cfg(feature = "deflate")]
mod compression {
    use super::*;
    use rfc6455::deflate::{DeflateConfig, DeflateParams};
    use rfc6455::{Extensions, Message};

    fn pair(params: DeflateParams, server: DeflateConfig) -> (Connection, Connection) {
        let ext = Extensions::with_deflate(params);
        let s = Connection::with_extensions(Role::Server, Config::default().deflate(server), &ext);
        let c = Connection::with_extensions(
            Role::Client,
            Config::default().deflate(DeflateConfig::default()),
            &ext,
        );
        (s, c)
    }

    fn messages(rng: &mut Rng) -> Vec<Message> {
        let json = r#"{"type":"message","room":"lobby","from":"alice","text":"hello"}"#;
        vec![
            Message::from(""),
            Message::from("hi"),
            Message::from(json),
            Message::from(json.repeat(50)),
            Message::Binary(Bytes::from(rng.bytes(3000))),
            Message::Binary(Bytes::from(vec![0u8; 100_000])),
            Message::from("é".repeat(40)),
            Message::Binary(Bytes::new()),
        ]
    }

    /// Prepared messages shared by connections of every window size, with
    /// and without context takeover, at different levels and thresholds,
    /// interleaved with ordinary sends: every client decodes every byte.
    #[test]
    fn prepared_messages_decode_on_every_window_and_takeover() {
        let mut rng = Rng(7);
        let plain = messages(&mut rng);
        let prepared: Vec<PreparedMessage> =
            plain.iter().cloned().map(PreparedMessage::new).collect();
        let mut conns = Vec::new();
        for bits in 8..=15u8 {
            for no_context in [true, false] {
                for (level, min) in [(1, 32), (9, 0), (0, 1)] {
                    let params = DeflateParams {
                        server_no_context_takeover: no_context,
                        server_max_window_bits: bits,
                        client_no_context_takeover: bits % 2 == 0,
                        client_max_window_bits: 23 - bits,
                    };
                    let config = DeflateConfig::default()
                        .compression_level(level)
                        .min_compress_size(min);
                    conns.push((
                        format!("{bits}/{no_context}/{level}/{min}"),
                        pair(params, config),
                    ));
                }
            }
        }
        for round in 0..3 {
            for (name, (server, client)) in &mut conns {
                let mut expected = Vec::new();
                for (i, (p, m)) in prepared.iter().zip(&plain).enumerate() {
                    if (i + round) % 3 == 0 {
                        server.send(m.clone()).unwrap();
                    } else {
                        server.send_prepared(p).unwrap();
                    }
                    expected.push(m.clone());
                    if i % 4 == 0 {
                        server.ping(Bytes::from_static(b"between")).unwrap();
                    }
                }
                client.recv(&drain(server));
                let mut got = Vec::new();
                while let Some(event) = client
                    .poll_event()
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                {
                    match event {
                        Event::Text(t) => got.push(Message::Text(t)),
                        Event::Binary(b) => got.push(Message::Binary(b)),
                        Event::Ping(_) => {}
                        other => panic!("{name}: {other:?}"),
                    }
                }
                assert_eq!(got, expected, "{name} round {round}");
            }
        }
    }

    /// Connections on the threads of a multi-threaded runtime share their
    /// thread's compressors and the messages' cached frames: all decode.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_shared_compressor_across_threads() {
        let mut rng = Rng(99);
        let payloads: Vec<PreparedMessage> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    PreparedMessage::new(format!(
                        "{{\"n\":{i},\"pad\":\"{}\"}}",
                        "ab".repeat(i * 10)
                    ))
                } else {
                    PreparedMessage::new(rng.bytes(i * 97))
                }
            })
            .collect();
        let payloads = Arc::new(payloads);
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let payloads = payloads.clone();
                tokio::spawn(async move {
                    let bits = 8 + (t % 8) as u8;
                    let params = DeflateParams {
                        server_no_context_takeover: t % 3 != 0,
                        server_max_window_bits: bits,
                        ..DeflateParams::default()
                    };
                    let (mut server, mut client) = pair(params, DeflateConfig::default());
                    for round in 0..5 {
                        for (i, p) in payloads.iter().enumerate() {
                            if (i + t + round) % 5 == 0 {
                                server.send(p.message()).unwrap();
                            } else {
                                server.send_prepared(p).unwrap();
                            }
                            if i % 7 == 0 {
                                // Move to another worker now and then.
                                tokio::task::yield_now().await;
                            }
                        }
                        client.recv(&drain(&mut server));
                        for p in payloads.iter() {
                            let event = client.poll_event().unwrap().unwrap();
                            let got = match event {
                                Event::Text(t) => Message::Text(t),
                                Event::Binary(b) => Message::Binary(b),
                                other => panic!("{other:?}"),
                            };
                            assert_eq!(got, p.message(), "task {t}");
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            timeout(LIMIT, task).await.unwrap().unwrap();
        }
    }

    /// Through the hub and the adapter: subscribers on every window size,
    /// with and without takeover, get every broadcast intact.
    #[tokio::test]
    async fn hub_broadcasts_decode_on_every_window() {
        let hub = Hub::new(HubConfig::default());
        let mut clients = Vec::new();
        let mut subscribers = Vec::new();
        for bits in 8..=15u8 {
            for no_context in [true, false] {
                let ext = Extensions::with_deflate(DeflateParams {
                    server_no_context_takeover: no_context,
                    server_max_window_bits: bits,
                    ..DeflateParams::default()
                });
                let s = hub.subscriber();
                s.subscribe("t");
                let (client, _task) = attached_with(&s, Config::default(), &ext, 256 * 1024);
                subscribers.push(s);
                clients.push(client);
            }
        }
        let texts: Vec<String> = (0..30)
            .map(|i| format!("{i}: {}", "the same words again ".repeat(i * 7)))
            .collect();
        for text in &texts {
            assert_eq!(hub.publish("t", text.as_str()), 16);
        }
        for client in &mut clients {
            for text in &texts {
                assert_eq!(&next_text(client).await, text);
            }
        }
    }
}

// ---- the chat example --------------------------------------------------------

#[allow(dead_code)]
#[path = "../examples/chat/protocol.rs"]
mod protocol;
#[allow(dead_code)]
#[path = "../examples/chat/room.rs"]
mod room;

/// The chat checks that a name is free and takes it under two separate
/// locks, with a publish (to the bus) in between: two clients joining
/// with the same name at once can both get it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_names_stay_unique_under_concurrent_joins() {
    /// Blocks the first publish after being armed.
    struct Gate {
        armed: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
    }
    impl Bus for Gate {
        fn publish(&self, _: &str, _: &PreparedMessage) {
            let armed = self.armed.lock().unwrap().take();
            if let Some((entered, release)) = armed {
                entered.send(()).unwrap();
                let _ = release.recv_timeout(LIMIT);
            }
        }
    }
    let gate = Arc::new(Gate {
        armed: Mutex::new(None),
    });
    let hub = Hub::with_bus(HubConfig::default(), gate.clone());
    let chat = Arc::new(room::Chat::new(hub.clone()));
    let a = hub.subscriber();
    let (mut a_client, _at) = attached(&a, Config::default(), 64 * 1024);
    let b = hub.subscriber();
    let (mut b_client, _bt) = attached(&b, Config::default(), 64 * 1024);
    chat.connect(&a);
    chat.connect(&b);
    chat.join(&a, "anna", "first");
    assert!(next_text(&mut a_client).await.contains("welcome"));

    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    *gate.armed.lock().unwrap() = Some((entered_tx, release_rx));
    // `a` renames itself to "bob": it checks the name is free, then leaves
    // its room (publishing `left`, held here), then takes the name.
    let a_thread = {
        let chat = chat.clone();
        std::thread::spawn(move || {
            chat.join(&a, "bob", "second");
            a
        })
    };
    entered.recv_timeout(LIMIT).unwrap();
    // Meanwhile `b` joins as "bob" too.
    chat.join(&b, "bob", "second");
    release.send(()).unwrap();
    let _a = a_thread.join().unwrap();

    let mut welcomed = 0;
    for client in [&mut a_client, &mut b_client] {
        loop {
            let text = next_text(client).await;
            if text.contains("\"welcome\"") && text.contains("\"name\":\"bob\"") {
                welcomed += 1;
                break;
            }
            if text.contains("name_taken") {
                break;
            }
        }
    }
    assert_eq!(welcomed, 1, "two clients were both welcomed as \"bob\"");
}

/// A client that floods the chat with requests and never reads is dropped
/// by its own queue bound; the others in its room are not.
#[tokio::test]
async fn a_chat_client_flooding_requests_without_reading_drops_only_itself() {
    let hub = Hub::new(HubConfig::default().max_queue_messages(64));
    let chat = room::Chat::new(hub.clone());
    let (good, mut good_client, _gt) = member(&hub, Config::default(), 256 * 1024);
    let (bad, _never_reads, _bt) = member(&hub, Config::default().send_high_water(1024), 1024);
    chat.connect(&good);
    chat.connect(&bad);
    chat.join(&good, "good", "room");
    chat.join(&bad, "bad", "room");
    let mut seen = 0;
    for i in 0..500 {
        match i % 3 {
            0 => chat.dm(&bad, "nobody", "x"),
            1 => chat.say(&bad, ""),
            _ => chat.join(&bad, "bad", "room"),
        }
        tokio::task::yield_now().await;
        while let Ok(Ok(Event::Text(_))) =
            timeout(Duration::from_millis(0), good_client.recv()).await
        {
            seen += 1;
        }
    }
    assert!(bad.is_evicted(), "the flooder is dropped");
    assert!(!good.is_evicted(), "its room mate is not");
    assert!(seen > 0);
}
