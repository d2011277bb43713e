//! The rollups as frames of bytes and back, for a snapshot kept beside the log (the ingest
//! crate writes the frames to a file, with the log position they cover and a checksum).
//! Frames are postcard-encoded: a head (names, identity, the catalogue, filters, counters),
//! then the accounts and the users in slices, so neither side holds the whole encoding in
//! memory. Whatever does not fit what the rollups can hold is refused, never guessed.

use super::{
    AccountRollup, CatalogEntry, Day, DayAggregates, DayChanges, DayUsers, Interner, Rollups,
    Tally, UserRollup, name_hash,
};
use crate::filter::EventFilter;
use crate::position::Position;
use jiff::tz::TimeZone;

/// A snapshot that cannot be used: the rollups are then rebuilt from the log.
#[derive(Debug, thiserror::Error)]
#[error("the rollup snapshot cannot be used: {0}")]
pub struct BadSnapshot(String);

impl BadSnapshot {
    /// Why a snapshot cannot be used.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// Accounts per frame.
const ACCOUNTS_PER_FRAME: usize = 128;
/// Users per frame.
const USERS_PER_FRAME: usize = 1 << 13;

/// Everything but the accounts and users.
#[derive(serde::Serialize, serde::Deserialize)]
struct Head {
    /// Accounts, users, events and properties: each interner's names and their ends.
    names: Vec<(String, Vec<usize>)>,
    /// Traits as JSON text.
    traits: Vec<(u32, String)>,
    waiting: Vec<(u32, Vec<Tally>)>,
    aliases: Vec<(u32, Vec<u32>)>,
    catalog: Vec<Option<CatalogEntry>>,
    /// Each filter's key (its aggregate is the event name of that key).
    filters: Vec<String>,
    events_applied: u64,
    changes: (Day, Vec<u64>),
    last_sequence: Option<u64>,
    last_position: Option<Position>,
    accounts: usize,
    users: usize,
}

fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, BadSnapshot> {
    postcard::to_stdvec(value).map_err(|error| BadSnapshot::new(error.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, BadSnapshot> {
    postcard::from_bytes(bytes).map_err(|error| BadSnapshot::new(error.to_string()))
}

impl Interner {
    fn parts(&self) -> (String, Vec<usize>) {
        (self.arena.clone(), self.ends.clone())
    }

    fn from_parts((arena, ends): (String, Vec<usize>)) -> Result<Interner, BadSnapshot> {
        let mut start = 0;
        for end in &ends {
            if *end < start || !arena.is_char_boundary(*end) {
                return Err(BadSnapshot::new("a name table is damaged"));
            }
            start = *end;
        }
        let mut interner = Interner {
            table: hashbrown::HashTable::with_capacity(ends.len()),
            arena,
            ends,
        };
        for id in 0..interner.ends.len() as u32 {
            let hash = name_hash(interner.name(id));
            let (arena, ends) = (&interner.arena, &interner.ends);
            interner
                .table
                .insert_unique(hash, id, |id| name_hash(super::name_in(arena, ends, *id)));
        }
        Ok(interner)
    }
}

impl DayAggregates {
    fn is_whole(&self) -> bool {
        self.days.len() == self.counts.len()
    }
}

impl DayUsers {
    fn is_whole(&self) -> bool {
        self.days.len() == self.ends.len()
            && self.ends.windows(2).all(|pair| pair[0] <= pair[1])
            && self
                .ends
                .last()
                .is_none_or(|end| *end as usize <= self.users.len())
    }
}

impl AccountRollup {
    fn is_whole(&self) -> bool {
        self.events
            .iter()
            .chain(&self.filtered)
            .all(|(_, days)| days.is_whole())
            && self.users.is_whole()
    }
}

impl Rollups {
    /// The rollups as frames, handed to `frame` in order; [`Rollups::from_frames`] reads
    /// them back.
    pub fn to_frames<E: From<BadSnapshot>>(
        &self,
        mut frame: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let head = Head {
            names: [&self.accounts, &self.users, &self.events, &self.properties]
                .iter()
                .map(|names| names.parts())
                .collect(),
            traits: self
                .traits
                .iter()
                .map(|(user, traits)| (*user, traits.to_string()))
                .collect(),
            waiting: self
                .waiting
                .iter()
                .map(|(user, tallies)| (*user, tallies.clone()))
                .collect(),
            aliases: self
                .aliases
                .iter()
                .map(|(user, others)| (*user, others.clone()))
                .collect(),
            catalog: self.catalog.clone(),
            filters: self
                .filters
                .iter()
                .map(|(filter, _)| filter.key().to_owned())
                .collect(),
            events_applied: self.events_applied,
            changes: (self.changes.base, self.changes.counts.clone()),
            last_sequence: self.last_sequence,
            last_position: self.last_position,
            accounts: self.by_account.len(),
            users: self.by_user.len(),
        };
        frame(&encode(&head)?)?;
        for accounts in self.by_account.chunks(ACCOUNTS_PER_FRAME) {
            frame(&encode(accounts)?)?;
        }
        for users in self.by_user.chunks(USERS_PER_FRAME) {
            frame(&encode(users)?)?;
        }
        Ok(())
    }

    /// Rollups read back from frames ([`Rollups::to_frames`]), counting days in
    /// `time_zone` and keeping `filters`; `next` fills the buffer with the next frame.
    /// Refused when a filter is not in them, or anything does not fit.
    pub fn from_frames(
        time_zone: TimeZone,
        filters: &[EventFilter],
        mut next: impl FnMut(&mut Vec<u8>) -> Result<(), BadSnapshot>,
    ) -> Result<Rollups, BadSnapshot> {
        let mut buffer = Vec::new();
        next(&mut buffer)?;
        let head: Head = decode(&buffer)?;
        let mut rollups = Rollups::new(time_zone);
        let mut names = head.names.into_iter().map(Interner::from_parts);
        let mut interner = || {
            names
                .next()
                .unwrap_or_else(|| Err(BadSnapshot::new("a name table is missing")))
        };
        rollups.accounts = interner()?;
        rollups.users = interner()?;
        rollups.events = interner()?;
        rollups.properties = interner()?;
        rollups.traits = head
            .traits
            .into_iter()
            .map(|(user, text)| {
                (
                    user,
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                )
            })
            .collect();
        rollups.waiting = head.waiting.into_iter().collect();
        rollups.aliases = head.aliases.into_iter().collect();
        rollups.catalog = head.catalog;
        rollups.events_applied = head.events_applied;
        rollups.changes = DayChanges {
            base: head.changes.0,
            counts: head.changes.1,
        };
        rollups.last_sequence = head.last_sequence;
        rollups.last_position = head.last_position;
        for filter in filters {
            // Its aggregate's number comes back with the event names.
            if !head.filters.iter().any(|key| key == filter.key()) {
                return Err(BadSnapshot::new(format!(
                    "it was made without the filter {}",
                    filter.key()
                )));
            }
            rollups.keep_filter(filter);
        }
        rollups.by_account.reserve_exact(head.accounts);
        while rollups.by_account.len() < head.accounts {
            next(&mut buffer)?;
            let accounts: Vec<AccountRollup> = decode(&buffer)?;
            if accounts.is_empty() || !accounts.iter().all(AccountRollup::is_whole) {
                return Err(BadSnapshot::new("an account's rollup is damaged"));
            }
            rollups.by_account.extend(accounts);
        }
        rollups.by_user.reserve_exact(head.users);
        while rollups.by_user.len() < head.users {
            next(&mut buffer)?;
            let users: Vec<UserRollup> = decode(&buffer)?;
            if users.is_empty() {
                return Err(BadSnapshot::new("a frame of users is empty"));
            }
            rollups.by_user.extend(users);
        }
        if rollups.by_account.len() != head.accounts || rollups.by_user.len() != head.users {
            return Err(BadSnapshot::new(
                "it holds more accounts or users than it says",
            ));
        }
        Ok(rollups)
    }
}
