//! [`RecentIds`]: a bounded set of recent request ids.

use std::collections::{HashSet, VecDeque};

/// How many request ids are remembered.
const REMEMBERED: usize = 256;

/// The last [`REMEMBERED`] request ids inserted (oldest forgotten first). Looked up by hash:
/// the lifecycle asks after every request and Telemetry API batch whether its invocation's
/// data is in, and comparing against every remembered id was 3 % of the extension's CPU at
/// 10,000 spans/s.
#[derive(Debug, Default)]
pub(crate) struct RecentIds {
    /// Insertion order, for forgetting the oldest.
    order: VecDeque<String>,
    /// The same ids, for lookups.
    set: HashSet<String>,
}

impl RecentIds {
    /// Remembers `id`, forgetting the oldest beyond the bound.
    pub(crate) fn insert(&mut self, id: String) {
        if self.set.contains(&id) {
            return;
        }
        if self.order.len() == REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.set.insert(id.clone());
        self.order.push_back(id);
    }

    /// Whether `id` is remembered.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_the_bound() {
        let mut ids = RecentIds::default();
        for i in 0..=REMEMBERED {
            ids.insert(i.to_string());
        }
        ids.insert("1".to_owned());
        assert!(!ids.contains("0"));
        assert!(ids.contains("1"));
        assert!(ids.contains(&REMEMBERED.to_string()));
        for i in 0..3 * REMEMBERED {
            ids.insert((i % (2 * REMEMBERED)).to_string());
        }
        assert_eq!((ids.order.len(), ids.set.len()), (REMEMBERED, REMEMBERED));
        assert!(ids.order.iter().all(|id| ids.set.contains(id)));
    }
}
