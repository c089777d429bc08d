//! Drops events already seen, by `meta.id`.
//!
//! EventStreams resumes by timestamp, so the events at the resume boundary arrive twice; a
//! bounded memory of recent ids (oldest forgotten first) is enough to catch them.

use std::collections::{HashSet, VecDeque};

pub struct Dedupe {
    seen: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl Dedupe {
    pub fn new(capacity: usize) -> Self {
        Dedupe {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Whether the id was remembered already.
    pub fn seen(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// True the first time an id is offered.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        self.seen.insert(id.to_string());
        self.order.push_back(id.to_string());
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    /// The most recent ids, oldest first, for persisting across a restart.
    pub fn recent(&self, n: usize) -> Vec<String> {
        self.order
            .iter()
            .skip(self.order.len().saturating_sub(n))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_first() {
        let mut d = Dedupe::new(2);
        assert!(d.first_time("a"));
        assert!(!d.first_time("a"));
        assert!(d.first_time("b"));
        assert!(d.first_time("c"));
        assert!(d.first_time("a"), "a was the oldest and is forgotten");
        assert!(!d.first_time("c"));
        assert_eq!(d.recent(5), vec!["c", "a"]);
    }
}
