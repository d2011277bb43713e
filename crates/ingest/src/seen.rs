//! The de-duplication keys of every record in the log (XXH3-128 of write key and message
//! id), kept compact: most sit in one sorted array, 16 bytes a key with no buckets or
//! pointers, found through an index of their top bits (the keys are hashes, so they spread
//! evenly and each slot of the index covers a handful); the newest sit in a small hash
//! set, merged into the array in place when it grows past an eighth of it. A hash set of
//! nine million keys takes about 270 MB; this takes about 150.

use rustc_hash::FxHashSet as HashSet;

/// A set of de-duplication keys.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Keys merged so far, ascending, without repeats.
    sorted: Vec<u128>,
    /// `index[b]` is where the keys whose top `bits` bits are `b` start in `sorted`
    /// (`2^bits + 1` entries; the last is `sorted.len()`).
    index: Vec<u32>,
    bits: u32,
    /// Keys added since the last merge (none of them in `sorted`).
    recent: HashSet<u128>,
}

/// Recent keys are merged into the array past this many, or an eighth of the array.
const MIN_RECENT: usize = 1 << 16;

impl Seen {
    /// A set of `keys` (in any order; repeats are kept once).
    pub fn from_keys(mut keys: Vec<u128>) -> Self {
        keys.sort_unstable();
        keys.dedup();
        let mut seen = Self {
            sorted: keys,
            ..Self::default()
        };
        seen.index();
        seen
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    /// Whether `key` is in.
    #[cfg(test)]
    pub fn contains(&self, key: u128) -> bool {
        self.recent.contains(&key) || self.in_sorted(key).is_ok()
    }

    /// Adds `key`; false when it was in already.
    pub fn insert(&mut self, key: u128) -> bool {
        if self.in_sorted(key).is_ok() || !self.recent.insert(key) {
            return false;
        }
        if self.recent.len() > MIN_RECENT.max(self.sorted.len() / 8) {
            self.merge();
        }
        true
    }

    /// Takes `key` out (an append that failed forgets its keys).
    pub fn remove(&mut self, key: u128) {
        if self.recent.remove(&key) {
            return;
        }
        if let Ok(at) = self.in_sorted(key) {
            self.sorted.remove(at);
            self.index();
        }
    }

    /// Makes room for `more` keys (an import says how many it expects), so the array is
    /// not copied as it grows.
    pub fn reserve(&mut self, more: usize) {
        self.sorted.reserve(more);
    }

    /// Every key, ascending (for a snapshot of the rollups).
    pub fn sorted(&mut self) -> &[u128] {
        self.merge();
        &self.sorted
    }

    /// Where `key` is in `sorted`, or where it would go.
    fn in_sorted(&self, key: u128) -> Result<usize, usize> {
        let slot = self.slot(key);
        let (Some(start), Some(end)) = (self.index.get(slot), self.index.get(slot + 1)) else {
            return self.sorted.binary_search(&key);
        };
        let (start, end) = (*start as usize, *end as usize);
        self.sorted[start..end]
            .binary_search(&key)
            .map(|at| start + at)
            .map_err(|at| start + at)
    }

    fn slot(&self, key: u128) -> usize {
        key.checked_shr(128 - self.bits).unwrap_or(0) as usize
    }

    /// Puts the recent keys into the array: one merge from the back, in place.
    fn merge(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        let mut added: Vec<u128> = self.recent.drain().collect();
        added.sort_unstable();
        let old = self.sorted.len();
        if self.sorted.capacity() - old < added.len() {
            // A quarter more, not twice as much: while it is copied, old and new coexist.
            self.sorted.reserve_exact(added.len().max(old / 4));
        }
        self.sorted.extend_from_slice(&added);
        let (mut from, mut write) = (old, self.sorted.len());
        while let Some(next) = added.last().copied() {
            write -= 1;
            match from.checked_sub(1).map(|at| (at, self.sorted[at])) {
                Some((at, existing)) if existing > next => {
                    self.sorted[write] = existing;
                    from = at;
                }
                _ => {
                    self.sorted[write] = next;
                    added.pop();
                }
            }
        }
        self.recent.shrink_to(MIN_RECENT);
        self.index();
    }

    /// Sizes the index to about four keys a slot and fills it.
    fn index(&mut self) {
        let slots = (self.sorted.len() / 4).max(1);
        self.bits = slots.ilog2().min(24);
        let size = 1usize << self.bits;
        self.index.clear();
        self.index.reserve(size + 1);
        let mut at = 0;
        for slot in 0..size {
            while at < self.sorted.len() && self.slot(self.sorted[at]) < slot {
                at += 1;
            }
            self.index.push(at as u32);
        }
        self.index.push(self.sorted.len() as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&n.to_le_bytes())
    }

    #[test]
    fn keys_are_found_across_merges_and_removals_like_a_hash_set() {
        let mut seen = Seen::default();
        let mut reference = HashSet::default();
        // Enough keys for several merges, with repeats, small keys and extremes.
        let mut keys: Vec<u128> = (0..300_000u64).map(|n| key(n % 250_000)).collect();
        keys.extend([0, 1, 2, u128::MAX, u128::MAX - 1, 1 << 127]);
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(seen.insert(*k), reference.insert(*k), "key {n}");
            if n % 40_000 == 0 {
                seen.remove(*k);
                reference.remove(k);
            }
        }
        assert_eq!(seen.len(), reference.len());
        for n in 0..300_000u64 {
            assert_eq!(seen.contains(key(n)), reference.contains(&key(n)), "{n}");
        }
        // A key merged long ago can be taken out too.
        seen.remove(key(7));
        assert!(!seen.contains(key(7)));
        assert!(seen.insert(key(7)));
        let sorted = seen.sorted().to_vec();
        assert!(sorted.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sorted.len(), reference.len());
        let again = Seen::from_keys(sorted.iter().rev().copied().collect());
        for k in &keys {
            assert_eq!(again.contains(*k), reference.contains(k) || *k == key(7));
        }
        assert!(!again.contains(key(250_001)));
        assert!(Seen::default().len() == 0 && !Seen::default().contains(0));
    }
}
