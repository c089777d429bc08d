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
//! Records tagged `editpulse-summary-v2` carry only a 64-bit FNV-1a hash of their id. Within a
//! window, such a record is a repeat of any record whose id has that hash, and the other way
//! round; that comparison is only as exact as the hash, which a poster can collide. The hashes
//! are kept only once a window sees such a record, so a window without any pays nothing for it.

use std::collections::HashSet;

use codec::summary::{EventId, IdBytes};
use foldhash::fast::RandomState;

#[derive(Debug, Clone, Default)]
pub struct SeenIds {
    exact: HashSet<IdBytes, RandomState>,
    legacy: Option<Box<Legacy>>,
}

#[derive(Debug, Clone, Default)]
struct Legacy {
    /// The hashes v2 records carried.
    hashed: HashSet<u64, RandomState>,
    /// The FNV-1a hashes of the ids in `exact`.
    exact_hashes: HashSet<u64, RandomState>,
}

impl SeenIds {
    /// True the first time an id is offered; false for a repeat, which is not remembered again.
    pub fn first_time(&mut self, id: &EventId) -> bool {
        match (id, &mut self.legacy) {
            (EventId::Exact(id), None) => self.exact.insert(id.clone()),
            (EventId::Exact(id), Some(legacy)) => {
                let h = id.fnv();
                if legacy.hashed.contains(&h) || !self.exact.insert(id.clone()) {
                    return false;
                }
                legacy.exact_hashes.insert(h);
                true
            }
            (EventId::Fnv(h), legacy) => {
                let exact = &self.exact;
                let legacy = legacy.get_or_insert_with(|| {
                    Box::new(Legacy {
                        hashed: HashSet::default(),
                        exact_hashes: exact.iter().map(IdBytes::fnv).collect(),
                    })
                });
                !legacy.exact_hashes.contains(h) && legacy.hashed.insert(*h)
            }
        }
    }
}

impl SeenIds {
    /// Whether `first_time` would call `id` a repeat, without remembering it.
    pub fn contains(&self, id: &EventId) -> bool {
        match (id, &self.legacy) {
            (EventId::Exact(id), None) => self.exact.contains(id),
            (EventId::Exact(id), Some(legacy)) => {
                self.exact.contains(id) || legacy.hashed.contains(&id.fnv())
            }
            (EventId::Fnv(h), None) => self.exact.iter().any(|id| id.fnv() == *h),
            (EventId::Fnv(h), Some(legacy)) => {
                legacy.exact_hashes.contains(h) || legacy.hashed.contains(h)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use codec::summary::fnv1a_64;

    use super::*;

    /// Two ids with the same 64-bit FNV-1a hash (found by a collision search).
    const COLLIDING: (&str, &str) = ("1c86250014731b7a", "b3ab5660ac93a162");

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

    #[test]
    fn a_v2_record_repeats_any_id_with_its_hash() {
        let (a, b) = COLLIDING;
        let h = fnv1a_64(a.as_bytes());
        // Exact first, then the hash: built from the exact ids seen so far.
        let mut seen = SeenIds::default();
        assert!(seen.first_time(&EventId::exact(a)));
        assert!(!seen.first_time(&EventId::Fnv(h)));
        assert!(seen.first_time(&EventId::Fnv(h + 1)));
        assert!(!seen.first_time(&EventId::Fnv(h + 1)));
        // Ids with bytes still compare exactly among themselves...
        assert!(!seen.first_time(&EventId::exact(a)));
        assert!(seen.first_time(&EventId::exact("c")));
        assert!(!seen.first_time(&EventId::Fnv(fnv1a_64(b"c"))));
        // ...but one hashing like a v2 record's is taken for it: all that record tells.
        let mut seen = SeenIds::default();
        assert!(seen.first_time(&EventId::Fnv(h)));
        assert!(!seen.first_time(&EventId::exact(b)));
        assert!(!seen.first_time(&EventId::exact(a)));
        assert!(seen.first_time(&EventId::exact("d")));
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
        assert_eq!(seen.exact.len(), N);
        // The set's own hash puts them where a table of 2^BITS buckets puts random keys: about
        // 4096 × (1 - e^(-1/4)) ≈ 906 distinct buckets, not one. Fewer than half would take a
        // seed-independent flaw; it is not a matter of chance.
        let buckets: HashSet<u64> = ids
            .iter()
            .map(|id| seen.exact.hasher().hash_one(IdBytes::new(id.as_bytes())) & mask)
            .collect();
        assert!(buckets.len() > N / 2, "{} buckets", buckets.len());
        for id in &ids {
            assert!(!seen.first_time(&EventId::exact(id)), "{id}");
        }
    }
}
