//! What topics and memberships cost, counted by a counting allocator: many
//! small rooms (10,000 topics of 3 subscribers) must stay cheap.
#![cfg(feature = "tokio")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use rfc6455::hub::{Hub, HubConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; the
// counter is only bookkeeping.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

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
