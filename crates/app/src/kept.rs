//! Sums over the whole book kept while what they were computed from stands, so a leader's
//! page opened again (or by another leader) does not sum 100,000 accounts again. Each is
//! keyed by the store's book stamp (`Store::book_stamp`, moved in the transaction of every
//! change to accounts, subscriptions, the change log, the accounts' signals and the names
//! of people and partners, but not by touchpoints, answers or pulses, which these sums do
//! not read) and by whatever else it read; a key that no longer comes up ages out. The
//! rule is the backtest's (`backtest::HistoryCache`, keyed by the history stamp, which
//! touchpoints move too).

use crate::Result;
use mikawaya_domain::{AccountId, ReadAccess, Visibility};
use mikawaya_store::{BookFacts, Store};
use std::collections::BTreeMap;
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

/// The facts of every account of a visible book, as of a book stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Book {
    /// The book stamp they are at least as new as.
    pub stamp: i64,
    /// The book stamp at which the accounts' external ids (the usage keys) were last seen
    /// to change, as a whole: what activity churn reads of the book.
    pub keys_stamp: i64,
    /// Per account.
    pub accounts: BTreeMap<AccountId, BookFacts>,
}

/// The books read, one per visibility asked (the vendor's, each partner's), each brought
/// up to date by reading only the accounts changed since its stamp
/// ([`Store::book_changes`]): after a CSM edits an account, a leader's next view reads that
/// account, not 100,000.
#[derive(Default)]
pub struct Books {
    entries: Mutex<Vec<(Visibility, Arc<Book>)>>,
}

impl Books {
    /// Brings the vendor's book up to date when one is kept (a leader opened the team or
    /// cohorts page on this node), so the next view finds the changes applied; returns
    /// whether one was. The server's worker calls it every few seconds: one small read
    /// when nothing changed, the whole book once after the daily signals, whichever node
    /// wrote them.
    pub fn keep_current(&self, store: &dyn Store) -> Result<bool> {
        let kept = self.kept(Visibility::All).is_some();
        if kept {
            self.current(store, &mikawaya_domain::Actor::system().read())?;
        }
        Ok(kept)
    }

    /// The book kept for `visibility` as it stands, not read again.
    pub fn kept(&self, visibility: Visibility) -> Option<Arc<Book>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(v, _)| *v == visibility)
            .map(|(_, book)| Arc::clone(book))
    }

    /// The book `access` sees, as of now.
    pub fn current(&self, store: &dyn Store, access: &ReadAccess) -> Result<Arc<Book>> {
        let visibility = access.visibility();
        // Held while reading: readers of the same moment wait for one read, not one each.
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let found = entries.iter().position(|(v, _)| *v == visibility);
        let changes = store.book_changes(access, found.map(|index| entries[index].1.stamp))?;
        let Some(index) = found.filter(|_| !changes.whole) else {
            let book = Arc::new(Book {
                stamp: changes.stamp,
                keys_stamp: changes.stamp,
                accounts: changes
                    .facts
                    .into_iter()
                    .map(|facts| (facts.account_id, facts))
                    .collect(),
            });
            if let Some(index) = found {
                entries.remove(index);
            } else if entries.len() >= KEPT {
                entries.remove(0);
            }
            entries.push((visibility, Arc::clone(&book)));
            return Ok(book);
        };
        let kept = &mut entries[index].1;
        if kept.stamp != changes.stamp {
            // In place unless a reader still holds this version.
            let book = Arc::make_mut(kept);
            book.stamp = changes.stamp;
            let mut keys_moved = false;
            for gone in &changes.gone {
                keys_moved |= book.accounts.remove(gone).is_some();
            }
            for facts in changes.facts {
                let key = facts.external_id.clone();
                let before = book.accounts.insert(facts.account_id, facts);
                keys_moved |= before.is_none_or(|before| before.external_id != key);
            }
            if keys_moved {
                book.keys_stamp = changes.stamp;
            }
        }
        Ok(Arc::clone(kept))
    }
}

/// The leaders' sums a server keeps: the team's workload and the cohorts page.
#[derive(Default)]
pub struct Sums {
    /// The books the team's sums are made from.
    pub books: Books,
    /// The book summed per owner and tier (`team::team`).
    pub team: Kept<crate::team::BookKey, Vec<crate::team::BookGroup>>,
    /// Churn per cohort (`churn::cohort_table`).
    pub cohorts: Kept<crate::churn::CohortKey, crate::churn::ChurnAnalysis>,
    /// Activity churn (`churn::cohort_table`): kept while the usage keys and the usage
    /// stand, across changes to the book that do not touch a key.
    pub activity: Kept<crate::churn::ActivityKey, mikawaya_analytics::churn::ActivityChurn>,
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
