//! [`RecentIds`]: a bounded set of recent request ids.

use std::collections::VecDeque;

/// How many request ids are remembered.
const REMEMBERED: usize = 256;

/// The last [`REMEMBERED`] request ids inserted (oldest forgotten first).
#[derive(Debug, Default)]
pub(crate) struct RecentIds(VecDeque<String>);

impl RecentIds {
    /// Remembers `id`, forgetting the oldest beyond the bound.
    pub(crate) fn insert(&mut self, id: String) {
        if !self.0.contains(&id) {
            if self.0.len() == REMEMBERED {
                self.0.pop_front();
            }
            self.0.push_back(id);
        }
    }

    /// Whether `id` is remembered.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|x| x == id)
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
    }
}
