//! The hub: who is connected, under which name, in which room, and
//! delivery into each client's bounded queue.
//!
//! All state sits behind one `std` mutex that is never held across an
//! await: every operation is a few map updates and `try_send`s. A client
//! whose queue is full (it stopped reading) is not waited for: it is
//! removed and told to close with 1008.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use rfc6455::Utf8Bytes;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

use crate::protocol::{valid_name, ServerMessage, MAX_NAME, MAX_ROOM, MAX_TEXT};

pub type ClientId = u64;

/// Why the server ends a connection by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// Its queue filled up: close with 1008 (policy violation).
    TooSlow,
    /// Cut without a close frame (the test-only admin route).
    Cut,
    /// The server is shutting down: close with 1001 (going away).
    Shutdown,
}

/// What a connection gets when it registers.
pub struct Handle {
    pub id: ClientId,
    /// Messages to write, in order. Bounded.
    pub queue: mpsc::Receiver<Utf8Bytes>,
    /// Set when the hub wants the connection gone.
    pub kick: watch::Receiver<Option<Kick>>,
}

struct Client {
    name: Option<String>,
    room: Option<String>,
    queue: mpsc::Sender<Utf8Bytes>,
    kick: watch::Sender<Option<Kick>>,
}

#[derive(Default)]
struct State {
    clients: HashMap<ClientId, Client>,
    names: HashMap<String, ClientId>,
    /// Members by id; ordered so that member lists are stable.
    rooms: HashMap<String, BTreeSet<ClientId>>,
    /// Clients whose queue overflowed during the current operation.
    overflowed: Vec<ClientId>,
}

pub struct Hub {
    state: Mutex<State>,
    next_id: AtomicU64,
    queue_capacity: usize,
}

impl Hub {
    pub fn new(queue_capacity: usize) -> Hub {
        Hub {
            state: Mutex::default(),
            next_id: AtomicU64::new(1),
            queue_capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then removes the clients it overflowed (which
    /// may overflow others in turn).
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.lock();
        let result = f(&mut state);
        while let Some(id) = state.overflowed.pop() {
            if let Some(client) = state.clients.get(&id) {
                eprintln!("chat: client {id} is not reading; dropping it");
                let _ = client.kick.send(Some(Kick::TooSlow));
                state.remove(id, "dropped");
            }
        }
        result
    }

    /// A new connection, not yet named and in no room.
    pub fn connect(&self) -> Handle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue_tx, queue) = mpsc::channel(self.queue_capacity);
        let (kick_tx, kick) = watch::channel(None);
        self.with(|state| {
            state.clients.insert(
                id,
                Client {
                    name: None,
                    room: None,
                    queue: queue_tx,
                    kick: kick_tx,
                },
            )
        });
        Handle { id, queue, kick }
    }

    /// How many connections are registered.
    pub fn len(&self) -> usize {
        self.lock().clients.len()
    }

    /// The connection ended: leave its room, free its name.
    pub fn disconnect(&self, id: ClientId) {
        self.with(|state| state.remove(id, "disconnected"));
    }

    /// Takes `name` (or keeps it) and moves into `room`.
    pub fn join(&self, id: ClientId, name: &str, room: &str) {
        self.with(|state| state.join(id, name, room));
    }

    pub fn leave(&self, id: ClientId) {
        self.with(|state| state.leave_room(id, "left"));
    }

    /// Sends `text` to everyone in the sender's room, the sender included.
    pub fn say(&self, id: ClientId, text: &str) {
        self.with(|state| state.say(id, text));
    }

    /// Sends `text` to the user called `to`, and a copy to the sender.
    pub fn dm(&self, id: ClientId, to: &str, text: &str) {
        self.with(|state| state.dm(id, to, text));
    }

    pub fn error(&self, id: ClientId, code: &str, message: &str) {
        self.with(|state| state.error(id, code, message));
    }

    /// Cuts `name`'s connection without a close frame. Test-only.
    pub fn cut(&self, name: &str) -> bool {
        self.with(|state| {
            let Some(&id) = state.names.get(name) else {
                return false;
            };
            if let Some(client) = state.clients.get(&id) {
                let _ = client.kick.send(Some(Kick::Cut));
            }
            state.remove(id, "dropped");
            true
        })
    }

    /// Asks every connection to close with 1001.
    pub fn shutdown(&self) {
        for client in self.lock().clients.values() {
            let _ = client.kick.send(Some(Kick::Shutdown));
        }
    }
}

/// Queues `payload` for `id`; a full queue marks the client for removal.
fn deliver(
    clients: &HashMap<ClientId, Client>,
    overflowed: &mut Vec<ClientId>,
    id: ClientId,
    payload: &Utf8Bytes,
) {
    if let Some(client) = clients.get(&id) {
        // A clone of `Utf8Bytes` shares the buffer: one serialisation per
        // broadcast, however many members.
        match client.queue.try_send(payload.clone()) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(_)) => overflowed.push(id),
        }
    }
}

impl State {
    fn send(&mut self, id: ClientId, payload: &Utf8Bytes) {
        deliver(&self.clients, &mut self.overflowed, id, payload);
    }

    fn broadcast(&mut self, room: &str, payload: &Utf8Bytes, except: Option<ClientId>) {
        if let Some(members) = self.rooms.get(room) {
            for &member in members {
                if Some(member) != except {
                    deliver(&self.clients, &mut self.overflowed, member, payload);
                }
            }
        }
    }

    fn error(&mut self, id: ClientId, code: &str, message: &str) {
        self.send(id, &ServerMessage::Error { code, message }.encode());
    }

    fn name_of(&self, id: ClientId) -> Option<&str> {
        self.clients.get(&id)?.name.as_deref()
    }

    fn join(&mut self, id: ClientId, name: &str, room: &str) {
        if !valid_name(name, MAX_NAME) {
            return self.error(
                id,
                "bad_name",
                "a name is 1 to 24 letters, digits, '-', '_' or '.'",
            );
        }
        if !valid_name(room, MAX_ROOM) {
            return self.error(
                id,
                "bad_room",
                "a room is 1 to 32 letters, digits, '-', '_' or '.'",
            );
        }
        if self.names.get(name).is_some_and(|&owner| owner != id) {
            return self.error(id, "name_taken", "that name is taken");
        }
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        let same_name = client.name.as_deref() == Some(name);
        if same_name && client.room.as_deref() == Some(room) {
            return self.welcome(id, name, room);
        }
        // Leave under the old name, then come in under the new one.
        self.leave_room(id, "left");
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if let Some(old) = client.name.replace(name.to_owned()) {
            self.names.remove(&old);
        }
        client.room = Some(room.to_owned());
        self.names.insert(name.to_owned(), id);
        self.rooms.entry(room.to_owned()).or_default().insert(id);
        self.welcome(id, name, room);
        let joined = ServerMessage::Joined { room, name }.encode();
        self.broadcast(room, &joined, Some(id));
    }

    fn welcome(&mut self, id: ClientId, name: &str, room: &str) {
        let mut members: Vec<&str> = self
            .rooms
            .get(room)
            .into_iter()
            .flatten()
            .filter_map(|member| self.name_of(*member))
            .collect();
        members.sort_unstable();
        let welcome = ServerMessage::Welcome {
            name,
            room,
            members,
        }
        .encode();
        self.send(id, &welcome);
    }

    fn leave_room(&mut self, id: ClientId, reason: &str) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let Some(room) = client.room.take() else {
            return;
        };
        let name = client.name.clone().unwrap_or_default();
        if let Some(members) = self.rooms.get_mut(&room) {
            members.remove(&id);
            if members.is_empty() {
                self.rooms.remove(&room);
            }
        }
        let left = ServerMessage::Left {
            room: &room,
            name: &name,
            reason,
        }
        .encode();
        self.broadcast(&room, &left, None);
        if reason == "left" {
            self.send(id, &left); // confirms it to the one who left
        }
    }

    fn say(&mut self, id: ClientId, text: &str) {
        let Some(text) = checked_text(text) else {
            return self.error(id, "bad_text", "a message is 1 to 4000 characters");
        };
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        let (Some(name), Some(room)) = (client.name.clone(), client.room.clone()) else {
            return self.error(id, "not_in_room", "join a room first");
        };
        let message = ServerMessage::Message {
            room: &room,
            from: &name,
            text,
        }
        .encode();
        self.broadcast(&room, &message, None);
    }

    fn dm(&mut self, id: ClientId, to: &str, text: &str) {
        let Some(text) = checked_text(text) else {
            return self.error(id, "bad_text", "a message is 1 to 4000 characters");
        };
        let Some(from) = self.name_of(id).map(str::to_owned) else {
            return self.error(id, "not_in_room", "join with a name first");
        };
        let Some(&target) = self.names.get(to) else {
            return self.error(id, "no_such_user", "nobody of that name is here");
        };
        let dm = ServerMessage::Dm {
            from: &from,
            to,
            text,
        }
        .encode();
        self.send(target, &dm);
        if target != id {
            self.send(id, &dm);
        }
    }

    /// Removes a client: it leaves its room (the others are told `reason`)
    /// and its name is freed. Dropping its queue sender lets its writer end.
    fn remove(&mut self, id: ClientId, reason: &str) {
        self.leave_room(id, reason);
        if let Some(client) = self.clients.remove(&id) {
            if let Some(name) = client.name {
                if self.names.get(&name) == Some(&id) {
                    self.names.remove(&name);
                }
            }
        }
    }
}

fn checked_text(text: &str) -> Option<&str> {
    let text = text.trim();
    let count = text.chars().count();
    (1..=MAX_TEXT).contains(&count).then_some(text)
}
