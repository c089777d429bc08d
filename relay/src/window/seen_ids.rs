//! The `meta.id`s one window counted, for dropping repeats (several relays reading the same
//! upstream, a client retrying a batch, a resume repeating its boundary).
//!
//! Ids are anyone's input (the gateway is open by default), so two things hold against a poster
//! who chooses them:
//!
//! - **Ids are compared, not hashes of them.** A repeat is the same bytes; two different ids
//!   are never taken as one, whatever their hashes.
//! - **The set's hash is seeded**: foldhash, a fresh seed per window. Its outputs never leave
//!   the process, so a poster cannot choose ids that pile into one bucket.
//!
//! Laid out for the counter's hot path: the ids are appended to a list in arrival order and
//! the table holds only each one's hash and place in the list (16 bytes, against 40 for the id
//! itself). A new id, nearly every record, touches the table's small slots and the list's end;
//! the id it might repeat is read only when the full 64-bit hashes agree. Catching up on a
//! backlog, a window holds hundreds of thousands of ids, and this measured ~60 ns an id against
//! ~165 ns for a `HashSet` of the ids themselves, whose slots no cache holds.

use codec::summary::EventId;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::hash::BuildHasher;

#[derive(Debug, Clone, Default)]
pub struct SeenIds {
    /// Every id taken, in arrival order.
    ids: Vec<EventId>,
    /// Per id: its hash, and its place in `ids`.
    table: HashTable<(u64, u32)>,
    hasher: RandomState,
}

impl SeenIds {
    /// True the first time an id is offered; false for a repeat, which is not remembered again.
    pub fn first_time(&mut self, id: &EventId) -> bool {
        let hash = self.hasher.hash_one(id.as_bytes());
        let ids = &self.ids;
        let same = |&(h, at): &(u64, u32)| h == hash && ids[at as usize] == *id;
        match self.table.entry(hash, same, |&(h, _)| h) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                // A window of over 4 billion events would take the host's memory long before.
                let at = u32::try_from(self.ids.len()).expect("fewer than 2^32 ids a window");
                slot.insert((hash, at));
                self.ids.push(id.clone());
                true
            }
        }
    }

    /// Whether `first_time` would call `id` a repeat, without remembering it.
    pub fn contains(&self, id: &EventId) -> bool {
        let hash = self.hasher.hash_one(id.as_bytes());
        self.table
            .find(hash, |&(h, at)| h == hash && self.ids[at as usize] == *id)
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Two ids with the same 64-bit FNV-1a hash (found by a collision search): the hash a
    /// weak table would put them under.
    const COLLIDING: (&str, &str) = ("1c86250014731b7a", "b3ab5660ac93a162");

    fn fnv1a_64(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn different_ids_with_the_same_fnv_hash_are_both_new() {
        let (a, b) = COLLIDING;
        assert_eq!(fnv1a_64(a.as_bytes()), fnv1a_64(b.as_bytes()));
        let mut seen = SeenIds::default();
        assert!(seen.first_time(&EventId::exact(a)));
        assert!(seen.first_time(&EventId::exact(b)));
        assert!(!seen.first_time(&EventId::exact(a)));
        assert!(!seen.first_time(&EventId::exact(b)));
    }

    /// Ids whose FNV-1a hashes agree in their low `bits`: `prefix-N-` and two characters chosen
    /// for it. With the hash itself as the set's hash (an identity hasher), every one of them
    /// would go to the same bucket of a table of up to 2^`bits` buckets.
    fn same_low_bits(n: usize, bits: u32) -> Vec<String> {
        const CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let step = |h: u64, b: u8| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        let mask = (1u64 << bits) - 1;
        let mut out = Vec::new();
        for prefix in 0.. {
            let prefix = format!("flood-{prefix}-");
            let h = prefix.bytes().fold(0xcbf2_9ce4_8422_2325, step);
            for &c1 in CHARS {
                let h1 = step(h, c1);
                for &c2 in CHARS.iter().filter(|&&c2| step(h1, c2) & mask == 0) {
                    out.push(format!("{prefix}{}{}", c1 as char, c2 as char));
                    if out.len() == n {
                        return out;
                    }
                }
            }
        }
        unreachable!()
    }

    #[test]
    fn ids_crafted_to_share_a_bucket_spread_over_the_table() {
        const N: usize = 1024;
        const BITS: u32 = 12;
        let mask = (1u64 << BITS) - 1;
        let ids = same_low_bits(N, BITS);
        assert!(ids.iter().all(|id| fnv1a_64(id.as_bytes()) & mask == 0));

        let mut seen = SeenIds::default();
        for id in &ids {
            assert!(seen.first_time(&EventId::exact(id)), "{id}");
        }
        assert_eq!(seen.ids.len(), N);
        // The set's own hash puts them where a table of 2^BITS buckets puts random keys: about
        // 4096 × (1 - e^(-1/4)) ≈ 906 distinct buckets, not one. Fewer than half would take a
        // seed-independent flaw; it is not a matter of chance.
        let buckets: HashSet<u64> = ids
            .iter()
            .map(|id| seen.hasher.hash_one(id.as_bytes()) & mask)
            .collect();
        assert!(buckets.len() > N / 2, "{} buckets", buckets.len());
        for id in &ids {
            assert!(!seen.first_time(&EventId::exact(id)), "{id}");
        }
    }
}
