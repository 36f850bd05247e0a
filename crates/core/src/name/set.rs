//! Sets of domain names as the cycle needs them.

use super::DomainName;
use std::collections::HashSet;

/// Anything that can say whether a domain is in it: the store asks only this of a scope.
pub trait NameSet {
    fn contains_name(&self, name: &DomainName) -> bool;
}

impl NameSet for HashSet<DomainName> {
    fn contains_name(&self, name: &DomainName) -> bool {
        self.contains(name)
    }
}

/// The domains a cycle observed completely, kept sorted by name.
///
/// The join meets the names in order, so building the set is a push per name: a million
/// names cost no hashing and no table written all over (and half the memory of a hash
/// set). Look-ups, a few per case, search the sorted list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    names: Vec<DomainName>,
}

impl Scope {
    /// Room for `n` names.
    pub fn with_capacity(n: usize) -> Self {
        Scope {
            names: Vec::with_capacity(n),
        }
    }

    /// Adds `name`: a push when it sorts after every name held (the join's case), else an
    /// insertion at its place. A name held already is not added twice.
    pub fn insert(&mut self, name: DomainName) {
        if self.names.last().is_none_or(|last| *last < name) {
            self.names.push(name);
        } else if let Err(at) = self.names.binary_search(&name) {
            self.names.insert(at, name);
        }
    }

    pub fn contains(&self, name: &DomainName) -> bool {
        self.names.binary_search(name).is_ok()
    }

    /// Keeps the names for which `keep` says yes (the order stays).
    pub fn retain(&mut self, keep: impl FnMut(&DomainName) -> bool) {
        self.names.retain(keep);
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names in order.
    pub fn iter(&self) -> impl Iterator<Item = &DomainName> {
        self.names.iter()
    }
}

impl NameSet for Scope {
    fn contains_name(&self, name: &DomainName) -> bool {
        self.contains(name)
    }
}

impl FromIterator<DomainName> for Scope {
    fn from_iter<I: IntoIterator<Item = DomainName>>(names: I) -> Self {
        let mut names: Vec<DomainName> = names.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        Scope { names }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    #[test]
    fn in_order_out_of_order_and_twice() {
        let mut scope = Scope::with_capacity(4);
        for name in ["a.com", "c.com", "b.com", "c.com", "0.com"] {
            scope.insert(n(name));
        }
        let held: Vec<&str> = scope.iter().map(DomainName::ascii).collect();
        assert_eq!(held, ["0.com", "a.com", "b.com", "c.com"]);
        assert!(scope.contains(&n("b.com")) && !scope.contains(&n("d.com")));
        scope.retain(|name| name.ascii() != "a.com");
        assert_eq!(scope.len(), 3);
        assert!(!scope.contains_name(&n("a.com")) && scope.contains_name(&n("0.com")));
    }

    #[test]
    fn collected_sorted_and_unique() {
        let scope: Scope = [n("z.de"), n("a.de"), n("z.de")].into_iter().collect();
        assert_eq!(scope.len(), 2);
        assert!(scope.contains(&n("z.de")) && !Scope::default().contains(&n("z.de")));
        let hashed: HashSet<DomainName> = [n("a.de")].into();
        assert!(hashed.contains_name(&n("a.de")));
    }
}
