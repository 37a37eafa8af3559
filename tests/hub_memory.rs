//! What topics and memberships cost, counted by a counting allocator: many
//! small rooms (10,000 topics of 3 subscribers) must stay cheap.
#![cfg(feature = "tokio")]

mod counting;

use counting::live;
use rfc6455::hub::{Hub, HubConfig};

#[test]
fn ten_thousand_small_rooms_cost_little_per_membership() {
    const TOPICS: usize = 10_000;
    const PER_TOPIC: usize = 3;
    let hub = Hub::new(HubConfig::default());

    let before_subscribers = live();
    let subscribers: Vec<_> = (0..TOPICS * PER_TOPIC).map(|_| hub.subscriber()).collect();
    let per_subscriber = (live() - before_subscribers) as usize / subscribers.len();

    let before = live();
    for (i, subscriber) in subscribers.iter().enumerate() {
        assert!(subscriber.subscribe(&format!("room-{}", i / PER_TOPIC)));
    }
    let per_membership = (live() - before) as usize / subscribers.len();
    assert_eq!(hub.topic_count(), TOPICS);
    println!("{per_subscriber} bytes per idle subscriber, {per_membership} per membership (topics included)");
    assert!(
        per_subscriber <= 256,
        "{per_subscriber} bytes per subscriber"
    );
    assert!(
        per_membership <= 200,
        "{per_membership} bytes per membership"
    );

    drop(subscribers);
    assert_eq!(hub.topic_count(), 0);
    assert!(
        live() - before_subscribers <= 64 * 1024,
        "everything given back"
    );
}
