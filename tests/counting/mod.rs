//! A counting global allocator for the memory tests, per thread: a test's
//! allocations (a current-thread runtime keeps them on its thread) are
//! counted apart from other tests running at the same time.
//!
//! `mod counting;` in a test crate installs it.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    if delta > 0 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + delta as usize));
    }
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every call forwards to the system allocator unchanged; the
// counters are only bookkeeping (const thread-locals without destructors,
// so they never allocate).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated and not freed by this thread.
pub fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Bytes this thread has allocated so far, freed or not: what a path
/// costs the allocator, not what it keeps.
pub fn allocated() -> usize {
    ALLOCATED.with(Cell::get)
}

/// Starts a peak measurement at the current level; returns that level.
pub fn reset_peak() -> isize {
    let now = live();
    PEAK.with(|p| p.set(now));
    now
}

/// The highest `live()` since the last `reset_peak`.
pub fn peak() -> isize {
    PEAK.with(Cell::get)
}
