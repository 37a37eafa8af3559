//! The pub/sub hub over in-memory connections: delivery, order, leaving,
//! the slow-subscriber bounds and the bus.
#![cfg(feature = "tokio")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

mod harness;

use harness::{attached, attached_with, member, next_text};
use rfc6455::hub::{Bus, Hub, HubConfig, SlowSubscriber};
use rfc6455::tokio::WebSocketStream;
use rfc6455::{CloseCode, Config, Event, PreparedMessage, Role};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn every_subscriber_gets_every_message_in_order() {
    let hub = Hub::new(HubConfig::default());
    let mut members: Vec<_> = (0..20)
        .map(|_| member(&hub, Config::default(), 64 * 1024))
        .collect();
    for (subscriber, _, _) in &members {
        assert!(subscriber.subscribe("news"));
        assert!(!subscriber.subscribe("news"), "already in it");
    }
    assert_eq!(hub.subscriber_count("news"), 20);
    for i in 0..500 {
        assert_eq!(hub.publish("news", format!("item {i}")), 20);
    }
    for (_, client, _) in &mut members {
        for i in 0..500 {
            assert_eq!(next_text(client).await, format!("item {i}"));
        }
    }
}

#[tokio::test]
async fn a_subscriber_publishes_to_all_but_itself() {
    let hub = Hub::new(HubConfig::default());
    let (alice, mut alice_client, _a) = member(&hub, Config::default(), 4096);
    let (bob, mut bob_client, _b) = member(&hub, Config::default(), 4096);
    alice.subscribe("room");
    bob.subscribe("room");
    assert_eq!(alice.publish("room", "from alice"), 1);
    assert_eq!(next_text(&mut bob_client).await, "from alice");
    // Alice's own queue holds only what is sent to her directly.
    assert!(alice.send("just for alice"));
    assert_eq!(next_text(&mut alice_client).await, "just for alice");
    assert_eq!(alice.queued(), (0, 0));
}

#[tokio::test]
async fn leaving_dropping_and_disconnecting_take_a_subscriber_out() {
    let hub = Hub::new(HubConfig::default());
    let (a, _ac, _at) = member(&hub, Config::default(), 4096);
    let (b, mut bc, bt) = member(&hub, Config::default(), 4096);
    let (c, _cc, _ct) = member(&hub, Config::default(), 4096);
    for s in [&a, &b, &c] {
        s.subscribe("t1");
        s.subscribe("t2");
    }
    assert_eq!(hub.topic_count(), 2);
    assert!(a.unsubscribe("t1"));
    assert!(!a.unsubscribe("t1"));
    assert_eq!(a.topics(), vec!["t2".to_string()]);
    assert_eq!(hub.publish("t1", "x"), 2);

    drop(c); // the subscriber handle goes
    assert_eq!(hub.subscriber_count("t2"), 2);

    // b's connection ends: the stream leaves the hub though `b` lives on.
    bc.close(CloseCode::NORMAL, "").await.unwrap();
    while !matches!(
        timeout(LIMIT, bc.recv()).await.unwrap(),
        Ok(Event::Close(_)) | Err(_)
    ) {}
    timeout(LIMIT, bt).await.unwrap().unwrap().unwrap();
    assert_eq!(hub.subscriber_count("t2"), 1);
    assert_eq!(hub.subscriber_count("t1"), 0);
    assert!(
        !b.subscribe("t3"),
        "a finished connection takes no new topic"
    );

    drop(a);
    assert_eq!(hub.topic_count(), 0, "empty topics are gone");
}

#[tokio::test]
async fn a_subscriber_that_never_reads_is_dropped_with_1008_within_its_bound() {
    let config = HubConfig::default()
        .max_queue_messages(100)
        .max_queue_bytes(10_000);
    let hub = Hub::new(config);
    let server_config = Config::default()
        .send_high_water(8 * 1024)
        .close_timeout(Duration::from_millis(300));
    // A 1 KiB pipe that nobody reads: the transport fills at once.
    let (slow, _never_read, slow_task) = member(&hub, server_config.clone(), 1024);
    let (fast, mut fast_client, _ft) = member(&hub, server_config, 64 * 1024);
    slow.subscribe("feed");
    fast.subscribe("feed");
    let line = "y".repeat(100);
    let mut evicted_at = None;
    for i in 0..2000 {
        hub.publish("feed", line.as_str());
        // Let both connections write.
        tokio::task::yield_now().await;
        let (messages, bytes) = slow.queued();
        assert!(
            messages <= 100 && bytes <= 10_000,
            "bounded: {messages} messages, {bytes} bytes"
        );
        if slow.is_evicted() && evicted_at.is_none() {
            evicted_at = Some(i);
        }
        // The fast one keeps up.
        assert_eq!(next_text(&mut fast_client).await, line);
    }
    let evicted_at = evicted_at.expect("the slow subscriber was dropped");
    // Pipe (1 KiB) + high water (8 KiB) + one message + the queue bound
    // (10,000 bytes, 100 messages of 100): never more than ~200 messages.
    assert!(evicted_at < 200, "dropped after {evicted_at} messages");
    assert_eq!(hub.subscriber_count("feed"), 1);
    assert_eq!(slow.queued(), (0, 0), "its queue is freed");
    // Its connection ends within the close timeout: the close frame cannot
    // be written to a peer that does not read.
    let ended = timeout(LIMIT, slow_task).await.unwrap().unwrap();
    assert!(ended.is_err(), "{ended:?}");
}

#[tokio::test]
async fn a_slow_reader_that_wakes_up_reads_what_was_sent_then_the_1008() {
    let hub = Hub::new(HubConfig::default().max_queue_messages(10));
    let (slow, mut slow_client, _t) = member(&hub, Config::default().send_high_water(0), 256);
    slow.subscribe("feed");
    let mut sent = 0;
    while !slow.is_evicted() {
        hub.publish("feed", format!("{sent:0>200}"));
        sent += 1;
        tokio::task::yield_now().await;
        assert!(sent < 100, "never evicted");
    }
    let mut received = 0;
    loop {
        match timeout(LIMIT, slow_client.recv()).await.unwrap() {
            Ok(Event::Text(text)) => {
                assert_eq!(
                    text.as_str(),
                    format!("{received:0>200}"),
                    "in order, none skipped"
                );
                received += 1;
            }
            Ok(Event::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::POLICY_VIOLATION);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(received < sent, "the overflow was not delivered");
}

#[tokio::test]
async fn drop_oldest_keeps_the_newest_and_counts_the_rest() {
    let hub = Hub::new(
        HubConfig::default()
            .max_queue_messages(5)
            .slow_subscriber(SlowSubscriber::DropOldest),
    );
    // Not attached to any stream: nothing drains it.
    let subscriber = hub.subscriber();
    subscriber.subscribe("prices");
    for i in 0..12 {
        assert_eq!(hub.publish("prices", format!("{i}")), 1);
    }
    assert_eq!(subscriber.queued().0, 5);
    assert_eq!(subscriber.dropped(), 7);
    assert!(!subscriber.is_evicted());

    // Now attach it: the five newest arrive.
    let (mut client, _task) = attached(&subscriber, Config::default(), 4096);
    for i in 7..12 {
        assert_eq!(next_text(&mut client).await, format!("{i}"));
    }
    // A message larger than the byte bound goes into an empty queue only:
    // everything older is dropped to make room for it, and it is dropped in
    // turn when anything follows.
    let tiny = Hub::new(
        HubConfig::default()
            .max_queue_bytes(10)
            .slow_subscriber(SlowSubscriber::DropOldest),
    );
    let s = tiny.subscriber();
    s.subscribe("t");
    assert_eq!(tiny.publish("t", "abc"), 1);
    assert_eq!(tiny.publish("t", "0123456789abc"), 1);
    assert_eq!((s.queued(), s.dropped()), ((1, 13), 1));
    assert_eq!(tiny.publish("t", "xyz"), 1);
    assert_eq!((s.queued(), s.dropped()), ((1, 3), 2));
}

#[tokio::test]
async fn one_large_message_does_not_evict_subscribers_that_keep_up() {
    let hub = Hub::new(HubConfig::default().max_queue_bytes(1000));
    let (a, mut ac, _at) = member(&hub, Config::default(), 64 * 1024);
    let (b, _bc, _bt) = member(&hub, Config::default(), 64 * 1024);
    a.subscribe("room");
    b.subscribe("room");
    let big = "z".repeat(5000);
    assert_eq!(hub.publish("room", big.as_str()), 2, "empty queues take it");
    assert!(!a.is_evicted() && !b.is_evicted());
    assert_eq!(next_text(&mut ac).await, big);
}

#[derive(Default)]
struct RecordingBus {
    log: Mutex<Vec<String>>,
}

impl Bus for RecordingBus {
    fn publish(&self, topic: &str, message: &PreparedMessage) {
        let text = match message.message() {
            rfc6455::Message::Text(text) => text.to_string(),
            rfc6455::Message::Binary(_) => "binary".into(),
        };
        self.log
            .lock()
            .unwrap()
            .push(format!("publish {topic} {text}"));
    }
    fn topic_opened(&self, topic: &str) {
        self.log.lock().unwrap().push(format!("opened {topic}"));
    }
    fn topic_closed(&self, topic: &str) {
        self.log.lock().unwrap().push(format!("closed {topic}"));
    }
}

#[tokio::test]
async fn publishes_go_to_the_bus_and_what_it_brings_stays_local() {
    let bus = Arc::new(RecordingBus::default());
    let hub = Hub::with_bus(HubConfig::default(), bus.clone());
    let (a, mut ac, _at) = member(&hub, Config::default(), 4096);
    let (b, _bc, _bt) = member(&hub, Config::default(), 4096);
    a.subscribe("room");
    b.subscribe("room");
    assert_eq!(b.publish("room", "hello"), 1);
    assert_eq!(hub.publish_local("room", "from afar"), 2);
    assert_eq!(next_text(&mut ac).await, "hello");
    assert_eq!(next_text(&mut ac).await, "from afar");
    drop(a);
    drop(b);
    assert_eq!(
        *bus.log.lock().unwrap(),
        ["opened room", "publish room hello", "closed room"]
    );
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn compressed_subscribers_get_the_shared_frame() {
    use rfc6455::deflate::DeflateParams;
    use rfc6455::Extensions;
    let hub = Hub::new(HubConfig::default());
    let params = DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let ext = Extensions::with_deflate(params);
    let mut clients = Vec::new();
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        let subscriber = hub.subscriber();
        subscriber.subscribe("json");
        let (client, _task) = attached_with(&subscriber, Config::default(), &ext, 64 * 1024);
        subscribers.push(subscriber);
        clients.push(client);
    }
    let json = r#"{"type":"message","text":"the same text, the same text, the same text"}"#;
    for _ in 0..50 {
        hub.publish("json", json);
    }
    for client in &mut clients {
        for _ in 0..50 {
            assert_eq!(next_text(client).await, json);
        }
    }
}

#[tokio::test]
async fn a_failed_transport_leaves_the_hub_before_the_stream_is_dropped() {
    let hub = Hub::new(HubConfig::default());
    let (server_io, client_io) = tokio::io::duplex(4096);
    let mut server = WebSocketStream::from_raw(server_io, Role::Server, Config::default(), &[]);
    let me = hub.subscriber();
    server.attach(&me);
    me.subscribe("t");
    drop(client_io); // the peer vanishes without a close frame
    let ended = timeout(LIMIT, server.recv()).await.unwrap();
    assert!(ended.is_err(), "{ended:?}");
    assert_eq!(
        hub.subscriber_count("t"),
        0,
        "left while `server` still exists"
    );
    assert_eq!(hub.publish("t", "nobody"), 0);
    drop(server);
}

#[tokio::test]
async fn a_closing_connection_stops_taking_messages() {
    let hub = Hub::new(HubConfig::default());
    let (me, mut client, _task) = member(&hub, Config::default(), 4096);
    me.subscribe("t");
    client.close(CloseCode::NORMAL, "bye").await.unwrap();
    // The server answers the close; from then on it takes nothing.
    let deadline = tokio::time::Instant::now() + LIMIT;
    while hub.subscriber_count("t") > 0 {
        assert!(tokio::time::Instant::now() < deadline, "still subscribed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(hub.publish("t", "too late"), 0);
    assert!(!me.is_subscribed("t"));
}
