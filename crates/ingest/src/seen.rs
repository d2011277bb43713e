//! The de-duplication keys of every record in the log (the top 96 bits of XXH3-128 of
//! write key and message id), kept compact: most sit in one sorted array, 12 bytes a key
//! with no buckets or pointers, found through an index of their top bits (the keys are
//! hashes, so they spread evenly and each slot of the index covers a handful); the newest
//! sit in a small hash set of bounded size, merged into the array in place when it grows
//! past an eighth of it or its bound. A hash set of nine million 128-bit keys takes about
//! 270 MB; this takes about 115.
//!
//! 96 bits: two distinct messages share a key with a chance of about n²/2⁹⁷, one in
//! three hundred million for ten billion messages.

use rustc_hash::FxHashSet as HashSet;

/// A de-duplication key: the top 96 bits of a 128-bit hash, 12 bytes with no padding,
/// ordered as the number they make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(C, packed(4))]
pub(crate) struct Key {
    high: u64,
    low: u32,
}

impl Key {
    /// Its size in a snapshot.
    pub const BYTES: usize = 12;

    /// The key of a 128-bit hash.
    pub fn of(hash: u128) -> Self {
        Self {
            high: (hash >> 64) as u64,
            low: (hash >> 32) as u32,
        }
    }

    /// Its bytes in a snapshot (little-endian: the low word, then the high one).
    pub fn to_bytes(self) -> [u8; Self::BYTES] {
        let mut bytes = [0u8; Self::BYTES];
        let (low, high) = bytes.split_at_mut(4);
        low.copy_from_slice(&{ self.low }.to_le_bytes());
        high.copy_from_slice(&{ self.high }.to_le_bytes());
        bytes
    }

    /// A key read back from [`Key::to_bytes`]; none unless `bytes` has the right length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let low = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
        let high = u64::from_le_bytes(bytes.get(4..Self::BYTES)?.try_into().ok()?);
        (bytes.len() == Self::BYTES).then_some(Self { high, low })
    }
}

/// A set of de-duplication keys.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Keys merged so far, ascending, without repeats.
    sorted: Vec<Key>,
    /// `index[b]` is where the keys whose top `bits` bits are `b` start in `sorted`
    /// (`2^bits + 1` entries; the last is `sorted.len()`).
    index: Vec<u32>,
    bits: u32,
    /// Keys added since the last merge (none of them in `sorted`).
    recent: HashSet<Key>,
}

/// Recent keys are merged into the array past this many, or an eighth of the array...
const MIN_RECENT: usize = 1 << 16;
/// ...but never past this many, which a hash set holds in 2^20 buckets (13 MiB) without
/// growing to twice that.
const MAX_RECENT: usize = 900_000;

impl Seen {
    /// A set of `keys` (in any order; repeats are kept once).
    pub fn from_keys(mut keys: Vec<Key>) -> Self {
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
    pub fn contains(&self, hash: u128) -> bool {
        let key = Key::of(hash);
        self.recent.contains(&key) || self.in_sorted(key).is_ok()
    }

    /// Adds the key of `hash`; false when it was in already.
    pub fn insert(&mut self, hash: u128) -> bool {
        let key = Key::of(hash);
        if self.in_sorted(key).is_ok() || !self.recent.insert(key) {
            return false;
        }
        if self.recent.len() > MIN_RECENT.max(self.sorted.len() / 8).min(MAX_RECENT) {
            self.merge();
        }
        true
    }

    /// Takes the key of `hash` out (an append that failed forgets its keys).
    pub fn remove(&mut self, hash: u128) {
        let key = Key::of(hash);
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
    pub fn sorted(&mut self) -> &[Key] {
        self.merge();
        &self.sorted
    }

    /// Where `key` is in `sorted`, or where it would go.
    fn in_sorted(&self, key: Key) -> Result<usize, usize> {
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

    fn slot(&self, key: Key) -> usize {
        { key.high }.checked_shr(64 - self.bits).unwrap_or(0) as usize
    }

    /// Puts the recent keys into the array: one merge from the back, in place.
    fn merge(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        let mut added: Vec<Key> = self.recent.drain().collect();
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
        keys.extend([
            0,
            1 << 32,
            2 << 32,
            u128::MAX,
            u128::MAX - (1 << 32),
            1 << 127,
        ]);
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
        for key in &sorted {
            assert_eq!(Key::from_bytes(&key.to_bytes()), Some(*key));
        }
        assert_eq!(Key::from_bytes(&[0; 11]), None);
        assert_eq!(Key::from_bytes(&[0; 13]), None);
        let again = Seen::from_keys(sorted.iter().rev().copied().collect());
        for k in &keys {
            assert_eq!(again.contains(*k), reference.contains(k) || *k == key(7));
        }
        assert!(!again.contains(key(250_001)));
        assert!(Seen::default().len() == 0 && !Seen::default().contains(0));
    }
}
