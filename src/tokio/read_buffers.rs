//! Read buffers kept per thread for connections that go idle.
//!
//! A connection waiting for input holds no read buffer, so 10,000 quiet
//! connections cost no buffer memory. Freeing the buffer and allocating a
//! new one at every wait, though, is a `free` and a `malloc` of several
//! kilobytes per message on a busy connection. Instead an idle connection
//! hands its empty buffer to this thread's small stack, and the next
//! connection that has bytes to read takes it back. The stack is bounded
//! in count and in buffer size, so it holds at most
//! `MAX_KEPT * MAX_KEPT_CAPACITY` bytes per thread whatever the number of
//! connections.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers kept per thread.
const MAX_KEPT: usize = 16;

/// Larger buffers (after a large message) are freed, not kept.
const MAX_KEPT_CAPACITY: usize = 128 * 1024;

thread_local! {
    static KEPT: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// A buffer to read into: a kept one if this thread has one, else a new
/// (unallocated) one.
pub(crate) fn take() -> BytesMut {
    KEPT.with(|kept| kept.borrow_mut().pop())
        .unwrap_or_default()
}

/// Gives back an empty buffer for another connection, or frees it.
///
/// A buffer that still shares its allocation with a message the
/// application holds is kept too: `BytesMut` reuses the allocation only
/// once it is the last owner, and allocates afresh before that, so
/// nothing is ever written under a live message.
pub(crate) fn give_back(buf: BytesMut) {
    debug_assert!(buf.is_empty());
    if buf.capacity() == 0 || buf.capacity() > MAX_KEPT_CAPACITY {
        return;
    }
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.len() < MAX_KEPT {
            kept.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain() {
        while take().capacity() > 0 {}
    }

    #[test]
    fn a_buffer_given_back_is_taken_again() {
        drain();
        let buf = BytesMut::with_capacity(4096);
        let at = buf.as_ptr();
        give_back(buf);
        let again = take();
        assert_eq!(again.as_ptr(), at);
        assert!(again.capacity() >= 4096);
        assert_eq!(take().capacity(), 0, "only one was kept");
    }

    #[test]
    fn the_stack_is_bounded_in_count_and_size() {
        drain();
        give_back(BytesMut::with_capacity(MAX_KEPT_CAPACITY + 1));
        assert_eq!(take().capacity(), 0, "a large buffer is freed");
        for _ in 0..MAX_KEPT + 5 {
            give_back(BytesMut::with_capacity(1024));
        }
        let mut kept = 0;
        while take().capacity() > 0 {
            kept += 1;
        }
        assert_eq!(kept, MAX_KEPT);
    }

    #[test]
    fn a_kept_buffer_never_writes_under_a_live_message() {
        drain();
        let mut buf = BytesMut::with_capacity(4096);
        buf.extend_from_slice(b"hello");
        let message = buf.split_to(5).freeze();
        give_back(buf);
        let mut again = take();
        again.reserve(4096);
        again.extend_from_slice(b"world");
        assert_eq!(&message[..], b"hello");
    }
}
