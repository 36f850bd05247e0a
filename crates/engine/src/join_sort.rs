//! Sorting a snapshot by domain name for the join, with each element moved once.
//!
//! Sorting a million rows in place compared names through their shared heap copies (a
//! cache miss per comparison, scattered over the heap) and moved every row (a few hundred
//! bytes) many times. Here the sort runs over small keys that hold the first 16 bytes of
//! each name, so most comparisons never leave the key list, and the rows are then put in
//! place by one permutation.

use domwatch_core::DomainName;
use std::cmp::Ordering;

/// A row's place in the sort: the first 16 bytes of its name (zero-padded, big-endian, so
/// comparing them compares the names' first bytes) and where the row stands now.
struct Key {
    prefix: [u64; 2],
    index: usize,
}

fn prefix(name: &DomainName) -> [u64; 2] {
    let bytes = name.ascii().as_bytes();
    let mut head = [0u8; 16];
    let n = bytes.len().min(16);
    head[..n].copy_from_slice(&bytes[..n]);
    let (high, low) = head.split_at(8);
    [
        u64::from_be_bytes(high.try_into().expect("8 bytes")),
        u64::from_be_bytes(low.try_into().expect("8 bytes")),
    ]
}

/// Sorts `rows` by name, largest first; rows of the same name by `tie` (the one it
/// orders last ends up last). Same order as
/// `rows.sort_unstable_by(|a, b| name(b).cmp(name(a)).then_with(|| tie(a, b)))`.
pub(crate) fn sort_by_name_descending<T>(
    rows: &mut [T],
    name: impl Fn(&T) -> &DomainName,
    tie: impl Fn(&T, &T) -> Ordering,
) {
    let mut keys: Vec<Key> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| Key {
            prefix: prefix(name(row)),
            index,
        })
        .collect();
    keys.sort_unstable_by(|a, b| {
        b.prefix.cmp(&a.prefix).then_with(|| {
            // Names no byte apart in 16: compare them whole (domain names hold no NUL,
            // so the zero padding orders a shorter name first, as `str` does).
            let (x, y) = (&rows[a.index], &rows[b.index]);
            name(y).cmp(name(x)).then_with(|| tie(x, y))
        })
    });
    let mut from: Vec<usize> = keys.into_iter().map(|k| k.index).collect();
    permute(rows, &mut from);
}

/// Puts `rows[from[k]]` at `k` for every `k`, each row swapped into place once; `from`
/// is used up as the record of finished places.
fn permute<T>(rows: &mut [T], from: &mut [usize]) {
    const DONE: usize = usize::MAX;
    for start in 0..rows.len() {
        let mut at = start;
        while from[at] != DONE {
            let source = from[at];
            from[at] = DONE;
            if source == start {
                break;
            }
            rows.swap(at, source);
            at = source;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Rows of a name and their place in the input.
    type Rows = Vec<(DomainName, u32)>;

    fn names(list: &[&str]) -> Rows {
        list.iter()
            .enumerate()
            .map(|(i, n)| (DomainName::parse(n).unwrap(), i as u32))
            .collect()
    }

    fn sorted_both_ways(rows: Rows) -> (Rows, Rows) {
        let mut keyed = rows.clone();
        sort_by_name_descending(&mut keyed, |r| &r.0, |a, b| a.1.cmp(&b.1));
        let mut plain = rows;
        plain.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        (keyed, plain)
    }

    #[test]
    fn long_shared_prefixes_short_names_and_ties() {
        let rows = names(&[
            "adjective-noun-12.com",
            "adjective-noun-1.com",
            "adjective-noun-12.co",
            "a.de",
            "ab.de",
            "adjective-noun-12.com",
            "xn--mller-kva.de",
            "zz.io",
            "a.de",
        ]);
        let (keyed, plain) = sorted_both_ways(rows);
        assert_eq!(keyed, plain);
        assert_eq!(keyed.first().unwrap().0.ascii(), "zz.io");
        // Same name: the tie order puts the higher number last.
        let ties: Vec<u32> = keyed
            .iter()
            .filter(|r| r.0.ascii() == "a.de")
            .map(|r| r.1)
            .collect();
        assert_eq!(ties, [3, 8]);
    }

    #[test]
    fn empty_and_single() {
        for rows in [names(&[]), names(&["a.com"])] {
            let (keyed, plain) = sorted_both_ways(rows);
            assert_eq!(keyed, plain);
        }
    }

    proptest! {
        #[test]
        fn same_order_as_a_plain_sort(
            labels in proptest::collection::vec("[a-c]{1,3}(-[a-c]{1,14})?", 0..60),
        ) {
            let list: Vec<String> = labels.iter().map(|l| format!("{l}.com")).collect();
            let refs: Vec<&str> = list.iter().map(String::as_str).collect();
            let (keyed, plain) = sorted_both_ways(names(&refs));
            prop_assert_eq!(keyed, plain);
        }
    }
}
