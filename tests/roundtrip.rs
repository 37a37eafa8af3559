//! Whatever one side sends, the other receives, in both directions.

mod common;

use common::*;
use proptest::prelude::*;
use rfc6455::{Event, Message, MessageKind};

fn any_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        any::<String>().prop_map(Message::from),
        proptest::collection::vec(any::<u8>(), 0..70_000).prop_map(Message::from),
    ]
}

fn as_event(message: Message) -> Event {
    match message {
        Message::Text(t) => Event::Text(t),
        Message::Binary(b) => Event::Binary(b),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn messages_arrive_intact_both_ways(to_server in proptest::collection::vec(any_message(), 0..6),
                                        to_client in proptest::collection::vec(any_message(), 0..6)) {
        let mut pair = Pair::new();
        for m in &to_server {
            pair.client.send(m.clone()).unwrap();
        }
        for m in &to_client {
            pair.server.send(m.clone()).unwrap();
        }
        let result = pair.pump();
        prop_assert_eq!(result.server_events, to_server.into_iter().map(as_event).collect::<Vec<_>>());
        prop_assert_eq!(result.client_events, to_client.into_iter().map(as_event).collect::<Vec<_>>());
        prop_assert!(result.server_errors.is_empty() && result.client_errors.is_empty());
    }

    #[test]
    fn fragments_reassemble(text in any::<String>(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..5)) {
        let bytes = bytes::Bytes::from(text.clone());
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(bytes.len());
        let mut pair = Pair::new();
        let mut start = 0;
        for (i, &end) in cuts.iter().enumerate() {
            pair.client.send_fragment(MessageKind::Text, bytes.slice(start..end), i + 1 == cuts.len()).unwrap();
            start = end;
        }
        let result = pair.pump();
        prop_assert_eq!(result.server_events, vec![Event::Text(text.into())]);
    }
}

#[test]
fn client_frames_are_masked_server_frames_are_not() {
    let mut pair = Pair::new();
    pair.client.send("a").unwrap();
    pair.server.send("b").unwrap();
    assert!(decode_all(&drain(&mut pair.client))
        .iter()
        .all(|f| f.masked));
    assert!(decode_all(&drain(&mut pair.server))
        .iter()
        .all(|f| !f.masked));
}

#[test]
fn large_payloads_go_out_by_reference() {
    use bytes::Buf;
    use std::io::IoSlice;
    let mut pair = Pair::new();
    let payload = bytes::Bytes::from(vec![9u8; 100_000]);
    pair.server.send(payload.clone()).unwrap();
    let out = pair.server.transmit();
    let mut slices = [IoSlice::new(&[]); 4];
    assert_eq!(
        out.chunks_vectored(&mut slices),
        2,
        "header, then the payload itself"
    );
    assert_eq!(slices[1].as_ptr(), payload.as_ptr());
}
