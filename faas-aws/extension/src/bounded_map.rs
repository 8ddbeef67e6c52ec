//! [`BoundedMap`]: a map that forgets its oldest entries beyond a capacity.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map holding at most `capacity` entries; inserting a new key beyond that evicts the key
/// inserted longest ago (first in, first out; updating an existing key keeps its place).
///
/// Used for everything the extension remembers per request id or trace id (platform events and
/// tail sampling), so that memory
/// stays bounded however long the execution environment lives.
#[derive(Debug, Clone)]
pub(crate) struct BoundedMap<K, V> {
    capacity: usize,
    entries: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    /// An empty map keeping at most `capacity` entries (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Inserts or updates `key`; returns the previous value.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some(existing) = self.entries.get_mut(&key) {
            return Some(std::mem::replace(existing, value));
        }
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.entries.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.entries.insert(key, value);
        None
    }

    /// The value of `key`.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_oldest_insertion() {
        let mut map = BoundedMap::new(2);
        assert_eq!(map.insert("a".to_owned(), 1), None);
        map.insert("b".to_owned(), 2);
        // Updating keeps "a" the oldest.
        assert_eq!(map.insert("a".to_owned(), 10), Some(1));
        map.insert("c".to_owned(), 3);
        assert_eq!(map.get("a"), None);
        assert_eq!(map.get("b"), Some(&2));
        assert_eq!(map.get("c"), Some(&3));
        let mut one = BoundedMap::new(0);
        one.insert(1, ());
        one.insert(2, ());
        assert!(one.get(&1).is_none());
        assert!(one.get(&2).is_some());
    }
}
