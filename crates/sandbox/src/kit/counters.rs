//! Calls counted per command or action, so a benchmark can tell where its calls go.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Serialize)]
pub struct CallCounter {
    total: u64,
    by_name: BTreeMap<String, u64>,
}

impl CallCounter {
    /// Counts one request and returns its number (0-based).
    pub fn request(&mut self) -> u64 {
        self.total += 1;
        self.total - 1
    }

    /// Counts a call of `name` (a request already counted by [`request`](Self::request)).
    pub fn count(&mut self, name: &str) {
        *self.by_name.entry(name.to_string()).or_default() += 1;
    }

    /// Requests counted so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Calls per name.
    pub fn by_name(&self) -> &BTreeMap<String, u64> {
        &self.by_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_requests_and_counts_names() {
        let mut calls = CallCounter::default();
        assert_eq!(calls.request(), 0);
        calls.count("A");
        assert_eq!(calls.request(), 1);
        calls.count("A");
        assert_eq!(calls.total(), 2);
        assert_eq!(calls.by_name()["A"], 2);
    }
}
