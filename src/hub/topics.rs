//! The topic registry: which subscribers are in which topic.
//!
//! Each topic holds its members in a `Vec` (publishing walks it), and each
//! member remembers its index there, so leaving is a `swap_remove` that
//! fixes one moved member's index: no scan, even in a topic of 100,000.

use std::collections::HashMap;
use std::sync::Arc;

use super::inbox::{Inbox, Status};

#[derive(Debug, Default)]
pub(crate) struct Topics {
    map: HashMap<Arc<str>, Vec<Arc<Inbox>>>,
}

impl Topics {
    /// Adds `inbox` to `topic`; `false` if it is in it already or closed.
    /// Returns whether the topic is new, for the bus.
    pub(crate) fn subscribe(&mut self, topic: &str, inbox: &Arc<Inbox>) -> Option<bool> {
        let mut state = inbox.lock();
        if state.status != Status::Open || state.topics.contains_key(topic) {
            return None;
        }
        let (name, members, created) = match self.map.get_key_value(topic) {
            Some((name, _)) => {
                let name = name.clone();
                let members = self.map.get_mut(topic).expect("just found");
                (name, members, false)
            }
            None => {
                let name: Arc<str> = Arc::from(topic);
                let members = self.map.entry(name.clone()).or_default();
                (name, members, true)
            }
        };
        state.topics.insert(name, members.len());
        members.push(inbox.clone());
        Some(created)
    }

    /// Takes `inbox` out of `topic`; returns whether the topic is now gone
    /// (it had no one else), `None` if it was not in it.
    pub(crate) fn unsubscribe(&mut self, topic: &str, inbox: &Inbox) -> Option<bool> {
        let index = inbox.lock().topics.remove(topic)?;
        Some(self.remove_at(topic, index))
    }

    /// Takes `inbox` out of every topic; returns the topics now gone.
    pub(crate) fn unsubscribe_all(&mut self, inbox: &Inbox) -> Vec<Arc<str>> {
        let memberships = std::mem::take(&mut inbox.lock().topics);
        memberships
            .into_iter()
            .filter(|(topic, index)| self.remove_at(topic, *index))
            .map(|(topic, _)| topic)
            .collect()
    }

    /// Removes the member at `index` of `topic`, moving the last member
    /// into its place; returns whether the topic is now empty (and gone).
    fn remove_at(&mut self, topic: &str, index: usize) -> bool {
        let Some(members) = self.map.get_mut(topic) else {
            return false;
        };
        members.swap_remove(index);
        if let Some(moved) = members.get(index) {
            let mut state = moved.lock();
            if let Some(entry) = state.topics.get_mut(topic) {
                *entry = index;
            }
        }
        if members.is_empty() {
            self.map.remove(topic);
            if self.map.capacity() > 4 * self.map.len() + 64 {
                // Most topics are gone: give the table back.
                self.map.shrink_to(2 * self.map.len());
            }
            return true;
        }
        if members.capacity() > 4 * members.len() {
            members.shrink_to(2 * members.len());
        }
        false
    }

    pub(crate) fn members(&self, topic: &str) -> &[Arc<Inbox>] {
        self.map.get(topic).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}
