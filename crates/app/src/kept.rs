//! Sums over the whole book kept while what they were computed from stands, so a leader's
//! page opened again (or by another leader) does not sum 100,000 accounts again. Each is
//! keyed by the store's book stamp (`Store::book_stamp`, moved in the transaction of every
//! change to accounts, subscriptions, the change log, the accounts' signals and the names
//! of people and partners, but not by touchpoints, answers or pulses, which these sums do
//! not read) and by whatever else it read; a key that no longer comes up ages out. The
//! rule is the backtest's (`backtest::HistoryCache`, keyed by the history stamp, which
//! touchpoints move too).

use crate::Result;
use std::sync::{Arc, Mutex, MutexGuard};

/// Entries kept per kind of sum (visibilities, days and periods asked).
const KEPT: usize = 16;

/// The latest results of one computation, by key.
pub struct Kept<K, V> {
    entries: Mutex<Vec<(K, Arc<V>)>>,
}

impl<K, V> Default for Kept<K, V> {
    fn default() -> Self {
        Kept {
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl<K: PartialEq, V> Kept<K, V> {
    /// The result kept under `key`, else `compute`'s (then kept; the oldest entry goes
    /// when there are [`KEPT`]). A failed computation keeps nothing.
    pub fn get_or(&self, key: K, compute: impl FnOnce() -> Result<V>) -> Result<Arc<V>> {
        if let Some((_, found)) = self.lock().iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(found));
        }
        let value = Arc::new(compute()?);
        let mut entries = self.lock();
        if entries.len() >= KEPT {
            entries.remove(0);
        }
        entries.push((key, Arc::clone(&value)));
        Ok(value)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(K, Arc<V>)>> {
        // A panic while holding the lock leaves a list that is still whole.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The leaders' sums a server keeps: the team's workload and the cohorts page.
#[derive(Default)]
pub struct Sums {
    /// The book summed per owner and tier (`team::team`).
    pub team: Kept<crate::team::BookKey, Vec<mikawaya_store::BookGroup>>,
    /// Churn per cohort and activity churn (`churn::cohort_table`).
    pub cohorts: Kept<crate::churn::CohortKey, crate::churn::CohortTable>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_computed_once_per_key_and_old_keys_age_out() {
        let kept: Kept<u32, u32> = Kept::default();
        let computed = std::cell::Cell::new(0);
        let compute = |value: u32| {
            computed.set(computed.get() + 1);
            Ok(value * 10)
        };
        assert_eq!(*kept.get_or(1, || compute(1)).unwrap_or_default(), 10);
        assert_eq!(*kept.get_or(1, || compute(1)).unwrap_or_default(), 10);
        assert_eq!(computed.get(), 1);
        for key in 2..=(KEPT as u32 + 1) {
            kept.get_or(key, || compute(key)).unwrap_or_default();
        }
        // Key 1 was the oldest: computed again.
        kept.get_or(1, || compute(1)).unwrap_or_default();
        assert_eq!(computed.get(), KEPT as u32 + 2);
        // A failure keeps nothing.
        let failed = kept.get_or(99, || Err(mikawaya_domain::Invalid::new("x", "no").into()));
        assert!(failed.is_err());
        assert_eq!(*kept.get_or(99, || compute(99)).unwrap_or_default(), 990);
    }
}
