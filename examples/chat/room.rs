//! The chat's state on top of `rfc6455::hub`: who is here under which
//! name, in which room; the hub does the delivery.
//!
//! A room is the hub topic `room:NAME`. Each connection is a hub
//! `Subscriber` attached to its WebSocket: what the hub queues for it is
//! written by the connection's own `recv` loop, and a connection that does
//! not keep up is dropped by the hub with close code 1008. Every broadcast
//! is serialised and framed once for all members, and, with `--redis`, also
//! goes to the other chat instances through the hub's bus.
//!
//! The names and member lists here are this instance's: `welcome` lists
//! the members connected to this instance, and a name is unique per
//! instance. Messages, `joined` and `left` reach the members on every
//! instance.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rfc6455::hub::{Hub, Mailbox, Subscriber, SubscriberId};
use tokio::sync::Notify;

use crate::protocol::{valid_name, ServerMessage, MAX_NAME, MAX_ROOM, MAX_TEXT};

/// The hub topic of `room`.
pub fn topic(room: &str) -> String {
    format!("room:{room}")
}

struct Client {
    name: Option<String>,
    room: Option<String>,
    mailbox: Mailbox,
    /// Wakes the connection's task to cut it (test-only admin route).
    cut: Arc<Notify>,
}

#[derive(Default)]
struct State {
    clients: HashMap<SubscriberId, Client>,
    names: HashMap<String, SubscriberId>,
    /// This instance's members by id; ordered so that lists are stable.
    rooms: HashMap<String, BTreeSet<SubscriberId>>,
}

pub struct Chat {
    hub: Hub,
    state: Mutex<State>,
}

/// What the session learns when it registers.
pub struct Registration {
    pub cut: Arc<Notify>,
}

impl Chat {
    pub fn new(hub: Hub) -> Chat {
        Chat {
            hub,
            state: Mutex::default(),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection, not yet named and in no room.
    pub fn connect(&self, me: &Subscriber) -> Registration {
        let cut = Arc::new(Notify::new());
        self.lock().clients.insert(
            me.id(),
            Client {
                name: None,
                room: None,
                mailbox: me.mailbox(),
                cut: cut.clone(),
            },
        );
        Registration { cut }
    }

    /// Connections on this instance.
    pub fn len(&self) -> usize {
        self.lock().clients.len()
    }

    /// The connection ended: leave the room (the others are told
    /// `reason`), free the name.
    pub fn disconnect(&self, me: &Subscriber, reason: &str) {
        self.leave_room(me, reason, false);
        let mut state = self.lock();
        if let Some(client) = state.clients.remove(&me.id()) {
            if let Some(name) = client.name {
                if state.names.get(&name) == Some(&me.id()) {
                    state.names.remove(&name);
                }
            }
        }
    }

    /// Takes `name` (or keeps it) and moves into `room`.
    pub fn join(&self, me: &Subscriber, name: &str, room: &str) {
        if !valid_name(name, MAX_NAME) {
            let reason = "a name is 1 to 24 letters, digits, '-', '_' or '.'";
            return error(me, "bad_name", reason);
        }
        if !valid_name(room, MAX_ROOM) {
            let reason = "a room is 1 to 32 letters, digits, '-', '_' or '.'";
            return error(me, "bad_room", reason);
        }
        {
            let state = self.lock();
            if state.names.get(name).is_some_and(|&owner| owner != me.id()) {
                drop(state);
                return error(me, "name_taken", "that name is taken");
            }
            let Some(client) = state.clients.get(&me.id()) else {
                return;
            };
            if client.name.as_deref() == Some(name) && client.room.as_deref() == Some(room) {
                let members = member_names(&state, room);
                drop(state);
                return welcome(me, name, room, members);
            }
        }
        // Leave under the old name, then come in under the new one.
        self.leave_room(me, "left", true);
        let members = {
            let mut state = self.lock();
            let state = &mut *state;
            // Checked again: another join may have taken the name while
            // this one left its old room.
            if state.names.get(name).is_some_and(|&owner| owner != me.id()) {
                None
            } else {
                let Some(client) = state.clients.get_mut(&me.id()) else {
                    return;
                };
                if let Some(old) = client.name.replace(name.to_owned()) {
                    state.names.remove(&old);
                }
                client.room = Some(room.to_owned());
                state.names.insert(name.to_owned(), me.id());
                let members = state.rooms.entry(room.to_owned()).or_default();
                members.insert(me.id());
                Some(member_names(state, room))
            }
        };
        let Some(members) = members else {
            return error(me, "name_taken", "that name is taken");
        };
        // The welcome first, so that everything from the room follows it.
        welcome(me, name, room, members);
        me.subscribe(&topic(room));
        me.publish(&topic(room), ServerMessage::Joined { room, name }.encode());
    }

    pub fn leave(&self, me: &Subscriber) {
        self.leave_room(me, "left", true);
    }

    fn leave_room(&self, me: &Subscriber, reason: &str, confirm: bool) {
        let (room, name) = {
            let mut state = self.lock();
            let Some(client) = state.clients.get_mut(&me.id()) else {
                return;
            };
            let Some(room) = client.room.take() else {
                return;
            };
            let name = client.name.clone().unwrap_or_default();
            if let Some(members) = state.rooms.get_mut(&room) {
                members.remove(&me.id());
                if members.is_empty() {
                    state.rooms.remove(&room);
                }
            }
            (room, name)
        };
        me.unsubscribe(&topic(&room));
        let left = ServerMessage::Left {
            room: &room,
            name: &name,
            reason,
        }
        .encode();
        self.hub.publish(&topic(&room), left.clone());
        if confirm {
            me.send(left); // confirms it to the one who left
        }
    }

    /// Sends `text` to everyone in the sender's room, on every instance,
    /// the sender included.
    pub fn say(&self, me: &Subscriber, text: &str) {
        let Some(text) = checked_text(text) else {
            return error(me, "bad_text", "a message is 1 to 4000 characters");
        };
        let (name, room) = {
            let state = self.lock();
            let Some(client) = state.clients.get(&me.id()) else {
                return;
            };
            (client.name.clone(), client.room.clone())
        };
        let (Some(name), Some(room)) = (name, room) else {
            return error(me, "not_in_room", "join a room first");
        };
        let message = ServerMessage::Message {
            room: &room,
            from: &name,
            text,
        };
        self.hub.publish(&topic(&room), message.encode());
    }

    /// Sends `text` to the user called `to` on this instance, and a copy
    /// to the sender.
    pub fn dm(&self, me: &Subscriber, to: &str, text: &str) {
        let Some(text) = checked_text(text) else {
            return error(me, "bad_text", "a message is 1 to 4000 characters");
        };
        let (from, target) = {
            let state = self.lock();
            let from = state.clients.get(&me.id()).and_then(|c| c.name.clone());
            let target = state
                .names
                .get(to)
                .and_then(|id| state.clients.get(id))
                .map(|c| c.mailbox.clone());
            (from, target)
        };
        let Some(from) = from else {
            return error(me, "not_in_room", "join with a name first");
        };
        let Some(target) = target else {
            return error(me, "no_such_user", "nobody of that name is here");
        };
        let dm = ServerMessage::Dm {
            from: &from,
            to,
            text,
        }
        .encode();
        if target.id() != me.id() {
            target.send(dm.clone());
        }
        me.send(dm);
    }

    /// Cuts `name`'s connection without a close frame. Test-only.
    pub fn cut(&self, name: &str) -> bool {
        let state = self.lock();
        let Some(client) = state.names.get(name).and_then(|id| state.clients.get(id)) else {
            return false;
        };
        client.cut.notify_one();
        true
    }
}

pub fn error(me: &Subscriber, code: &str, message: &str) {
    me.send(ServerMessage::Error { code, message }.encode());
}

fn welcome(me: &Subscriber, name: &str, room: &str, members: Vec<String>) {
    let members = members.iter().map(String::as_str).collect();
    me.send(
        ServerMessage::Welcome {
            name,
            room,
            members,
        }
        .encode(),
    );
}

fn member_names(state: &State, room: &str) -> Vec<String> {
    let mut names: Vec<String> = state
        .rooms
        .get(room)
        .into_iter()
        .flatten()
        .filter_map(|id| state.clients.get(id)?.name.clone())
        .collect();
    names.sort_unstable();
    names
}

fn checked_text(text: &str) -> Option<&str> {
    let text = text.trim();
    let count = text.chars().count();
    (1..=MAX_TEXT).contains(&count).then_some(text)
}
