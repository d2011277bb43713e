//! Daily rollups, kept in memory and current as events arrive: per account × event × day
//! the count and the sum of each numeric property; distinct active users per account per
//! day; events per user per day; the event catalogue; and where each account's raw events
//! sit in the log. They are rebuilt from the log on start, so the log is the only truth.
//!
//! Attribution rules (the account an event counts for):
//! 1. `context.groupId` (or the `groupId` of a group call), when present;
//! 2. else the account the user was last put in by a `group` call;
//! 3. else none yet: the event waits under its user and is attributed when a `group` call
//!    first places that user in an account.
//!
//! Accounts are keyed by their external id (the Segment `groupId`), so events that arrive
//! before their account exists in the store attach to it as soon as it does.

mod snapshot;

pub use snapshot::BadSnapshot;

use crate::filter::EventFilter;
use crate::message::{EventRef, Kind};
use crate::position::Position;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;

/// Strings interned to dense numbers, so keys stay small. The names sit back to back in
/// one string and the table holds only their numbers: a lookup among tens of thousands of
/// users touches a few hundred kilobytes, not megabytes of buckets and separate strings.
#[derive(Debug, Default)]
struct Interner {
    /// Numbers, found by the hash of their name.
    table: hashbrown::HashTable<u32>,
    /// Every name, back to back.
    arena: String,
    /// Where each name ends in `arena` (it starts where the one before ended).
    ends: Vec<usize>,
}

fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

/// The name of number `id`, from an interner's parts.
fn name_in<'a>(arena: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let Some(end) = ends.get(id) else {
        return "";
    };
    let start = id.checked_sub(1).map_or(0, |before| ends[before]);
    &arena[start..*end]
}

impl Interner {
    fn intern(&mut self, name: &str) -> u32 {
        let hash = name_hash(name);
        if let Some(id) = self.find(hash, name) {
            return id;
        }
        let id = self.ends.len() as u32;
        self.arena.push_str(name);
        self.ends.push(self.arena.len());
        let (arena, ends) = (&self.arena, &self.ends);
        self.table
            .insert_unique(hash, id, |id| name_hash(name_in(arena, ends, *id)));
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.find(name_hash(name), name)
    }

    fn find(&self, hash: u64, name: &str) -> Option<u32> {
        self.table.find(hash, |id| self.name(*id) == name).copied()
    }

    fn name(&self, id: u32) -> &str {
        name_in(&self.arena, &self.ends, id)
    }

    fn bytes(&self) -> usize {
        self.arena.capacity() + self.ends.capacity() * 8 + self.table.capacity() * 5
    }
}

/// Days since 1970-01-01 in the rollup time zone.
type Day = i32;

fn day_number(date: Date) -> Day {
    (date - Date::constant(1970, 1, 1)).get_days()
}

fn day_date(day: Day) -> Date {
    Date::constant(1970, 1, 1)
        .checked_add(jiff::Span::new().days(i64::from(day)))
        .unwrap_or(Date::constant(1970, 1, 1))
}

/// Where `day` is or belongs in sorted `days`: events mostly arrive in time order, so
/// this is usually the last place or one past it.
fn day_index(days: &[Day], day: Day) -> usize {
    match days.last() {
        Some(last) if *last < day => days.len(),
        Some(last) if *last == day => days.len() - 1,
        _ => days.partition_point(|d| *d < day),
    }
}

/// Counts and property sums of one key (an event, or a filter's key) of one account, by
/// day: days and counts side by side (8 bytes a day), and sums only where there are any.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct DayAggregates {
    /// Days with events, ascending.
    days: Vec<Day>,
    /// Events on each of `days`.
    counts: Vec<u32>,
    /// Property sums: (day, property, sum), sorted by day, then property.
    sums: Vec<(Day, u32, f64)>,
}

impl DayAggregates {
    /// Adds one event of `day` with its numeric properties (each sum grows in the order
    /// events are added, so its bits do not depend on how they were grouped).
    fn add(&mut self, day: Day, sums: &[(u32, f64)]) {
        let at = day_index(&self.days, day);
        if self.days.get(at) != Some(&day) {
            self.days.insert(at, day);
            self.counts.insert(at, 0);
        }
        self.counts[at] = self.counts[at].saturating_add(1);
        for (property, value) in sums {
            let key = (day, *property);
            let at = match self.sums.last() {
                Some((d, p, _)) if (*d, *p) < key => self.sums.len(),
                _ => self.sums.partition_point(|(d, p, _)| (*d, *p) < key),
            };
            match self.sums.get_mut(at) {
                Some((d, p, total)) if (*d, *p) == key => *total += value,
                _ => self.sums.insert(at, (day, *property, *value)),
            }
        }
    }

    /// The days from `from` to `to` inclusive.
    fn range(&self, from: Day, to: Day) -> DaySlice<'_> {
        let start = self.days.partition_point(|d| *d < from);
        let end = self.days.partition_point(|d| *d <= to).max(start);
        let sums_start = self.sums.partition_point(|(d, _, _)| *d < from);
        let sums_end = self
            .sums
            .partition_point(|(d, _, _)| *d <= to)
            .max(sums_start);
        DaySlice {
            days: &self.days[start..end],
            counts: &self.counts[start..end],
            sums: &self.sums[sums_start..sums_end],
        }
    }

    fn bytes(&self) -> usize {
        72 + self.days.capacity() * 4 + self.counts.capacity() * 4 + self.sums.capacity() * 16
    }

    fn shrink(&mut self) {
        self.days.shrink_to_fit();
        self.counts.shrink_to_fit();
        self.sums.shrink_to_fit();
    }
}

/// Some days of a [`DayAggregates`].
#[derive(Debug, Clone, Copy, Default)]
struct DaySlice<'a> {
    days: &'a [Day],
    counts: &'a [u32],
    sums: &'a [(Day, u32, f64)],
}

impl DaySlice<'_> {
    /// (day, events) of each day.
    fn counts(&self) -> impl Iterator<Item = (Day, u64)> + '_ {
        self.days
            .iter()
            .zip(self.counts)
            .map(|(day, count)| (*day, u64::from(*count)))
    }
}

/// Log positions in the order they were added, as zigzag varint differences from the one
/// before: positions grow along the log, so most take 2 to 4 bytes instead of 8.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Positions {
    bytes: Vec<u8>,
    last: u64,
    count: u64,
}

impl Positions {
    fn push(&mut self, position: Position) {
        let bits = position.to_bits();
        let delta = bits.wrapping_sub(self.last) as i64;
        let mut zigzag = ((delta << 1) ^ (delta >> 63)) as u64;
        while zigzag >= 0x80 {
            self.bytes.push(zigzag as u8 | 0x80);
            zigzag >>= 7;
        }
        self.bytes.push(zigzag as u8);
        self.last = bits;
        self.count += 1;
    }

    /// The positions, in the order they were added.
    fn iter(&self) -> impl Iterator<Item = Position> + '_ {
        let (mut at, mut bits) = (0, 0u64);
        std::iter::from_fn(move || {
            let (mut zigzag, mut shift) = (0u64, 0);
            loop {
                let byte = *self.bytes.get(at)?;
                at += 1;
                zigzag |= u64::from(byte & 0x7f).checked_shl(shift)?;
                if byte < 0x80 {
                    break;
                }
                shift += 7;
            }
            let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
            bits = bits.wrapping_add(delta as u64);
            Some(Position::from_bits(bits))
        })
    }
}

/// The users active each day (any event), sorted within each day, back to back.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct DayUsers {
    /// Days with active users, ascending.
    days: Vec<Day>,
    /// Where each day's users end in `users` (they start where the day before's end).
    ends: Vec<u32>,
    users: Vec<u32>,
}

impl DayUsers {
    fn insert(&mut self, day: Day, user: u32) {
        let at = day_index(&self.days, day);
        let start = at.checked_sub(1).map_or(0, |before| self.ends[before]);
        if self.days.get(at) != Some(&day) {
            self.days.insert(at, day);
            self.ends.insert(at, start);
        }
        let (start, end) = (start as usize, self.ends[at] as usize);
        if let Err(offset) = self.users[start..end].binary_search(&user) {
            self.users.insert(start + offset, user);
            for end in &mut self.ends[at..] {
                *end += 1;
            }
        }
    }

    /// (day, its users) of the days from `from` to `to` inclusive.
    fn range(&self, from: Day, to: Day) -> impl Iterator<Item = (Day, &[u32])> + '_ {
        let start = self.days.partition_point(|d| *d < from);
        let end = self.days.partition_point(|d| *d <= to).max(start);
        (start..end).map(move |at| {
            let first = at.checked_sub(1).map_or(0, |before| self.ends[before]) as usize;
            (self.days[at], &self.users[first..self.ends[at] as usize])
        })
    }

    fn bytes(&self) -> usize {
        72 + self.days.capacity() * 4 + self.ends.capacity() * 4 + self.users.capacity() * 4
    }

    fn shrink(&mut self) {
        self.days.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.users.shrink_to_fit();
    }
}

/// Values by day, sorted by day: events mostly arrive in time order, so adding is usually
/// a push, and a window is a binary search and a slice.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Days<T>(Vec<(Day, T)>);

impl<T> Default for Days<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: Default> Days<T> {
    /// The value of a day, created when absent.
    fn entry(&mut self, day: Day) -> &mut T {
        let at = match self.0.last() {
            Some((last, _)) if *last < day => self.0.len(),
            Some((last, _)) if *last == day => self.0.len() - 1,
            _ => self.0.partition_point(|(d, _)| *d < day),
        };
        if self.0.get(at).is_none_or(|(d, _)| *d != day) {
            self.0.insert(at, (day, T::default()));
        }
        &mut self.0[at].1
    }
}

impl<T> Days<T> {
    /// The days from `from` to `to` inclusive that have a value.
    fn range(&self, from: Day, to: Day) -> &[(Day, T)] {
        let start = self.0.partition_point(|(d, _)| *d < from);
        let end = self.0.partition_point(|(d, _)| *d <= to);
        self.0.get(start..end).unwrap_or(&[])
    }

    fn bytes(&self) -> usize {
        24 + self.0.capacity() * std::mem::size_of::<(Day, T)>()
    }
}

/// Additions per day, densely from the earliest day that received one.
#[derive(Debug, Default)]
struct DayChanges {
    base: Day,
    counts: Vec<u64>,
}

impl DayChanges {
    fn add(&mut self, day: Day) {
        if self.counts.is_empty() {
            self.base = day;
        }
        if day < self.base {
            let more = (self.base - day) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, more));
            self.base = day;
        }
        let at = (day - self.base) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += 1;
    }

    fn through(&self, day: Day) -> u64 {
        if day < self.base {
            return 0;
        }
        let end = ((day - self.base) as usize + 1).min(self.counts.len());
        self.counts[..end].iter().sum()
    }
}

/// What one event adds to its account's rollups; kept as is while the event waits for
/// its user to be placed in an account.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Tally {
    event: Option<u32>,
    /// Filtered aggregates (keys in the event interner) it also counts for.
    filtered: Vec<u32>,
    day: Day,
    sums: Vec<(u32, f64)>,
    position: Option<Position>,
}

/// The aggregates of one key (an event or a filter's key), in a list sorted by key.
fn keyed(list: &mut Vec<(u32, DayAggregates)>, key: u32) -> &mut DayAggregates {
    let at = match list.binary_search_by_key(&key, |(k, _)| *k) {
        Ok(at) => at,
        Err(at) => {
            list.insert(at, (key, DayAggregates::default()));
            at
        }
    };
    &mut list[at].1
}

fn find_keyed(list: &[(u32, DayAggregates)], key: u32) -> Option<&DayAggregates> {
    list.binary_search_by_key(&key, |(k, _)| *k)
        .ok()
        .map(|at| &list[at].1)
}

/// Makes one addition that was put off to its account's rollup (`sums` and `filtered`
/// hold the additions' property sums and filter keys, [`Deferred`] has the ranges).
fn add_to_account(
    rollup: &mut AccountRollup,
    addition: &Deferred,
    sums: &[(u32, f64)],
    filtered: &[u32],
) {
    let span = |(start, end): (u32, u32)| start as usize..end as usize;
    let sums = sums.get(span(addition.sums)).unwrap_or(&[]);
    for key in filtered.get(span(addition.filtered)).unwrap_or(&[]) {
        keyed(&mut rollup.filtered, *key).add(addition.day, sums);
    }
    if let Some(event) = addition.event {
        keyed(&mut rollup.events, event).add(addition.day, sums);
    }
    if let Some(user) = addition.user {
        rollup.users.insert(addition.day, user);
    }
    if let Some(position) = addition.position {
        rollup.positions.push(position);
    }
}

/// Everything kept of one account, at its interned number: an event lands in one place.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct AccountRollup {
    /// Per event name, sorted by event number.
    events: Vec<(u32, DayAggregates)>,
    /// Per property filter's aggregate key, sorted.
    filtered: Vec<(u32, DayAggregates)>,
    /// Active users per day (any event).
    users: DayUsers,
    /// Where the account's raw events sit in the log, in the order they were counted.
    positions: Positions,
}

impl AccountRollup {
    fn bytes(&self) -> usize {
        let aggregates = |list: &Vec<(u32, DayAggregates)>| {
            list.iter().map(|(_, days)| 8 + days.bytes()).sum::<usize>()
        };
        120 + aggregates(&self.events)
            + aggregates(&self.filtered)
            + self.users.bytes()
            + self.positions.bytes.capacity()
    }

    /// Gives back the room vectors grew into.
    fn shrink(&mut self) {
        for (_, days) in self.events.iter_mut().chain(self.filtered.iter_mut()) {
            days.shrink();
        }
        self.users.shrink();
        self.positions.bytes.shrink_to_fit();
    }
}

/// What every event touches of its user, at the user's interned number: kept small (32
/// bytes) so that tens of thousands of users stay close in memory; the rarer parts are in
/// maps beside it (`traits`, `waiting`).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct UserRollup {
    /// The account a `group` call last put the user in.
    account: Option<u32>,
    /// Events per day (any account), of the [`USER_DAYS_KEPT`] days up to the user's
    /// latest: what Customer 360 shows of a product user (last seen, events of the last
    /// 28 days) without a year of days per user.
    days: Days<u32>,
}

/// Days of events kept per user, up to the user's latest (28 and a margin for events
/// dated up to a day ahead).
pub const USER_DAYS_KEPT: i32 = 32;

impl UserRollup {
    fn add_day(&mut self, day: Day) {
        let newest = self.days.0.last().map(|(last, _)| *last);
        if newest.is_some_and(|newest| day <= newest - USER_DAYS_KEPT) {
            return;
        }
        *self.days.entry(day) += 1;
        if newest.is_none_or(|newest| day > newest) {
            let cut = self
                .days
                .0
                .partition_point(|(kept, _)| *kept <= day - USER_DAYS_KEPT);
            self.days.0.drain(..cut);
        }
    }
}

/// A usage period being summed up.
#[derive(Debug, Default)]
struct Period {
    count: u64,
    users: HashSet<u32>,
    sums: BTreeMap<String, f64>,
}

/// Totals of an account over a window of days.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowTotals {
    /// Events.
    pub count: u64,
    /// Sums of numeric properties.
    pub sums: BTreeMap<String, f64>,
    /// Distinct users active on any of the days (any event).
    pub active_users: u64,
}

/// One entry of the event catalogue.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CatalogEntry {
    /// Event name.
    pub name: String,
    /// First event time, milliseconds since the epoch.
    pub first_seen_ms: i64,
    /// Last event time, milliseconds since the epoch.
    pub last_seen_ms: i64,
    /// Events of that name.
    pub volume: u64,
}

/// A usage interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// Calendar days.
    Day,
    /// ISO weeks, starting Monday.
    Week,
    /// Calendar months.
    Month,
}

impl Interval {
    /// Parses `day`, `week` or `month`.
    pub fn parse(raw: &str) -> Option<Interval> {
        match raw {
            "day" => Some(Interval::Day),
            "week" => Some(Interval::Week),
            "month" => Some(Interval::Month),
            _ => None,
        }
    }

    fn start_of(self, date: Date) -> Date {
        match self {
            Interval::Day => date,
            Interval::Week => {
                let back = i64::from(date.weekday().to_monday_zero_offset());
                date.checked_sub(jiff::Span::new().days(back))
                    .unwrap_or(date)
            }
            Interval::Month => date.first_of_month(),
        }
    }
}

/// One period of an account's usage.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UsagePoint {
    /// First day of the period.
    pub period: Date,
    /// Events in the period.
    pub count: u64,
    /// Distinct users active in the period (any event).
    pub active_users: u64,
    /// Sums of numeric properties over the period.
    pub sums: BTreeMap<String, f64>,
}

/// An identity change the store should see: account fields from `group` traits, contact
/// fields from `identify` traits.
#[derive(Debug, Clone, PartialEq)]
pub enum IdentityChange {
    /// A group call's traits for an account.
    Account {
        /// Account external id.
        external_id: String,
        /// The user the group call placed in it, if a known user.
        user_id: Option<String>,
        /// Traits, raw JSON.
        traits: serde_json::Value,
    },
    /// A known user's traits, with the account they belong to.
    Contact {
        /// Account external id.
        account_external_id: String,
        /// User id (the contact's external id).
        user_id: String,
        /// Traits, raw JSON.
        traits: serde_json::Value,
    },
}

/// Events a run applies before it adds what it put off to the accounts: enough for many
/// events per account, little memory.
pub const RUN_EVENTS: usize = 1 << 16;

/// What one event adds to its account, put off to the end of a run.
#[derive(Debug, Clone, Copy)]
struct Deferred {
    user: Option<u32>,
    event: Option<u32>,
    day: Day,
    position: Option<Position>,
    /// Ranges in [`Deferrals::sums`] and [`Deferrals::filtered`].
    sums: (u32, u32),
    filtered: (u32, u32),
    /// The account's next addition in [`Deferrals::list`] ([`NONE`] if this is its last).
    next: u32,
}

/// No addition.
const NONE: u32 = u32::MAX;

/// Additions put off, with their sums and filter keys back to back.
#[derive(Debug, Default)]
struct Deferrals {
    list: Vec<Deferred>,
    /// Per account number: its first and last addition in `list` ([`NONE`] when it has
    /// none in this run); kept between runs.
    chains: Vec<(u32, u32)>,
    /// The accounts with additions in this run.
    touched: Vec<u32>,
    sums: Vec<(u32, f64)>,
    filtered: Vec<u32>,
}

impl Deferrals {
    /// The buffers kept between runs (they stay as large as the largest run needed).
    fn bytes(&self) -> usize {
        self.list.capacity() * std::mem::size_of::<Deferred>()
            + self.chains.capacity() * 8
            + self.touched.capacity() * 4
            + self.sums.capacity() * 16
            + self.filtered.capacity() * 4
    }

    /// Puts off what `tally` adds to `account`: at the end of the account's chain.
    fn push(&mut self, account: u32, user: Option<u32>, tally: &Tally) {
        let range = |start: usize, end: usize| (start as u32, end as u32);
        let sums = range(self.sums.len(), self.sums.len() + tally.sums.len());
        self.sums.extend_from_slice(&tally.sums);
        let filtered = range(
            self.filtered.len(),
            self.filtered.len() + tally.filtered.len(),
        );
        self.filtered.extend_from_slice(&tally.filtered);
        let index = self.list.len() as u32;
        let at = account as usize;
        if at >= self.chains.len() {
            self.chains.resize(at + 1, (NONE, NONE));
        }
        match self.chains[at] {
            (NONE, _) => {
                self.chains[at] = (index, index);
                self.touched.push(account);
            }
            (first, last) => {
                if let Some(previous) = self.list.get_mut(last as usize) {
                    previous.next = index;
                }
                self.chains[at] = (first, index);
            }
        }
        self.list.push(Deferred {
            user,
            event: tally.event,
            day: tally.day,
            position: tally.position,
            sums,
            filtered,
            next: NONE,
        });
    }
}

/// Applies many events as one run ([`Rollups::run`]); what they add to their accounts is
/// added when it is dropped. Reading through it, identity and traits are current but the
/// run's additions to accounts are not there yet.
#[derive(Debug)]
pub struct Run<'r>(&'r mut Rollups);

impl Run<'_> {
    /// [`Rollups::apply`] within the run, given the event's numeric properties when they
    /// were read with the message (they are then not read again from its text).
    pub fn apply_with(
        &mut self,
        stored: &EventRef<'_>,
        position: Position,
        numbers: Option<&mut dyn Iterator<Item = (&str, f64)>>,
    ) -> Option<IdentityChange> {
        self.0.apply_deferred(stored, position, numbers)
    }

    /// [`Rollups::note_record`] within the run.
    pub fn note_record(&mut self, sequence: u64, position: Position) {
        self.0.note_record(sequence, position);
    }
}

impl std::ops::Deref for Run<'_> {
    type Target = Rollups;

    fn deref(&self) -> &Rollups {
        self.0
    }
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        self.0.settle();
    }
}

/// The rollups.
#[derive(Debug)]
pub struct Rollups {
    time_zone: TimeZone,
    accounts: Interner,
    users: Interner,
    events: Interner,
    properties: Interner,
    /// Per account, at its number in `accounts`.
    by_account: Vec<AccountRollup>,
    /// Per user, at its number in `users`.
    by_user: Vec<UserRollup>,
    /// The latest `identify` traits per user number.
    traits: HashMap<u32, serde_json::Value>,
    /// Per user number, events waiting for the user to be placed in an account.
    waiting: HashMap<u32, Vec<Tally>>,
    /// Per user number, the ids an `alias` call made the same person (both ways): when
    /// one is placed in an account, the others without one follow with their events.
    aliases: HashMap<u32, Vec<u32>>,
    /// Per event name, at its number in `events` (none for a filter's key).
    catalog: Vec<Option<CatalogEntry>>,
    /// The tally being built (its buffers reused from event to event).
    scratch: Tally,
    /// Additions to accounts put off until the run settles (empty outside a run).
    deferred: Deferrals,
    /// Property filters: each with its aggregate's id in the event interner.
    filters: Vec<(EventFilter, u32)>,
    /// Event id → indexes into `filters`.
    filters_by_event: HashMap<u32, Vec<usize>>,
    events_applied: u64,
    /// How many additions each day received, for [`Rollups::changes_through`].
    changes: DayChanges,
    /// The sequence number of the last log record applied.
    last_sequence: Option<u64>,
    /// Where that record is in the log.
    last_position: Option<Position>,
    /// The last day looked up: its first and past-last instant (ms) and number.
    day_cache: (i64, i64, Day),
}

impl Rollups {
    /// Rollups of `(account, user, event, RFC 3339 instant)` track calls, days in UTC: a
    /// small usage history for tests and examples, through the same parsing and applying
    /// as real messages.
    pub fn of_track_calls(
        calls: &[(&str, &str, &str, &str)],
    ) -> Result<Self, crate::message::MessageError> {
        let batch: Vec<serde_json::Value> = calls
            .iter()
            .map(|(account, user, event, at)| {
                serde_json::json!({"type": "track", "userId": user, "event": event,
                    "timestamp": at, "context": {"groupId": account}})
            })
            .collect();
        let body = serde_json::json!({ "batch": batch }).to_string();
        let received = crate::message::Received {
            at_ms: 1_900_000_000_000,
            oldest_ms: None,
            newest_ms: None,
        };
        let mut rollups = Rollups::new(TimeZone::UTC);
        for (index, event) in crate::message::parse_batch(body.as_bytes(), 1, received)?
            .iter()
            .enumerate()
        {
            rollups.apply(&event.as_ref(), Position::for_tests(index as u64));
        }
        Ok(rollups)
    }

    /// Empty rollups counting days in `time_zone`.
    pub fn new(time_zone: TimeZone) -> Self {
        Self {
            time_zone,
            accounts: Interner::default(),
            users: Interner::default(),
            events: Interner::default(),
            properties: Interner::default(),
            by_account: Vec::new(),
            by_user: Vec::new(),
            traits: HashMap::default(),
            waiting: HashMap::default(),
            aliases: HashMap::default(),
            catalog: Vec::new(),
            scratch: Tally::default(),
            deferred: Deferrals::default(),
            filters: Vec::new(),
            filters_by_event: HashMap::default(),
            events_applied: 0,
            changes: DayChanges::default(),
            last_sequence: None,
            last_position: None,
            day_cache: (0, 0, 0),
        }
    }

    /// Empty rollups that also keep one aggregate per property filter.
    pub fn with_filters(time_zone: TimeZone, filters: &[EventFilter]) -> Self {
        let mut rollups = Self::new(time_zone);
        for filter in filters {
            rollups.keep_filter(filter);
        }
        rollups
    }

    /// Keeps an aggregate for `filter` from now on (its key is an event name of its own).
    fn keep_filter(&mut self, filter: &EventFilter) {
        if self.has_filter(filter.key()) {
            return;
        }
        let event = self.events.intern(filter.event());
        let key = self.events.intern(filter.key());
        self.filters_by_event
            .entry(event)
            .or_default()
            .push(self.filters.len());
        self.filters.push((filter.clone(), key));
    }

    /// Empty rollups with the same time zone and filters.
    pub fn emptied(&self) -> Rollups {
        let filters: Vec<EventFilter> = self.filters().cloned().collect();
        Rollups::with_filters(self.time_zone.clone(), &filters)
    }

    /// Whether a filter's aggregate is kept (by its key).
    pub fn has_filter(&self, key: &str) -> bool {
        self.filters.iter().any(|(filter, _)| filter.key() == key)
    }

    /// The property filters kept.
    pub fn filters(&self) -> impl Iterator<Item = &EventFilter> {
        self.filters.iter().map(|(filter, _)| filter)
    }

    /// How many additions to accounts' rollups fell on days up to `day` since these
    /// rollups were built: it moves only when usage on those days changes, so work that
    /// read the usage before a day (a backtest's windows) can tell whether it still holds
    /// while today's events keep arriving.
    pub fn changes_through(&self, day: Date) -> u64 {
        self.changes.through(day_number(day))
    }

    /// Notes the sequence number and position of the log record being applied.
    pub fn note_record(&mut self, sequence: u64, position: Position) {
        self.last_sequence = Some(sequence);
        self.last_position = Some(position);
    }

    /// The sequence number of the last log record applied, if any.
    pub fn last_sequence(&self) -> Option<u64> {
        self.last_sequence
    }

    /// The sequence number and position of the last log record applied, if any.
    pub fn last_record(&self) -> Option<(u64, Position)> {
        self.last_sequence.zip(self.last_position)
    }

    /// The day an instant falls on, in the rollup time zone.
    pub fn date_of(&self, millis: i64) -> Date {
        jiff::Timestamp::from_millisecond(millis).map_or(Date::constant(1970, 1, 1), |t| {
            t.to_zoned(self.time_zone.clone()).date()
        })
    }

    /// The day number of an instant, remembering the last day's bounds: events come in
    /// time order more often than not, so most lookups skip the time-zone arithmetic.
    fn day_of(&mut self, millis: i64) -> Day {
        let (start, end, day) = self.day_cache;
        if millis >= start && millis < end {
            return day;
        }
        let date = self.date_of(millis);
        let bound = |date: Date| {
            date.to_zoned(self.time_zone.clone())
                .map(|z| z.timestamp().as_millisecond())
        };
        let day = day_number(date);
        if let (Ok(start), Ok(end)) = (bound(date), bound(date.tomorrow().unwrap_or(date))) {
            self.day_cache = (start, end, day);
        }
        day
    }

    /// Events applied so far.
    pub fn events_applied(&self) -> u64 {
        self.events_applied
    }

    /// The rollup of an account, created when new (numbers are dense).
    fn account_mut(&mut self, account: u32) -> &mut AccountRollup {
        let index = account as usize;
        if index >= self.by_account.len() {
            self.by_account
                .resize_with(index + 1, AccountRollup::default);
        }
        &mut self.by_account[index]
    }

    /// The rollup of a user, created when new.
    fn user_mut(&mut self, user: u32) -> &mut UserRollup {
        let index = user as usize;
        if index >= self.by_user.len() {
            self.by_user.resize_with(index + 1, UserRollup::default);
        }
        &mut self.by_user[index]
    }

    fn account_rollup(&self, account_external_id: &str) -> Option<&AccountRollup> {
        self.accounts
            .get(account_external_id)
            .and_then(|account| self.by_account.get(account as usize))
    }

    /// Puts off what `tally` adds to `account` until the run settles ([`Rollups::settle`]).
    fn count_for(&mut self, account: u32, user: Option<u32>, tally: &Tally) {
        self.deferred.push(account, user, tally);
    }

    /// Adds what was put off to the accounts, account by account: each account's
    /// additions in the order they were made, so the result is the same as adding each at
    /// once, but an account's aggregates, users and positions are fetched from memory once
    /// per run instead of once per event.
    fn settle(&mut self) {
        if self.deferred.list.is_empty() {
            return;
        }
        let mut deferred = std::mem::take(&mut self.deferred);
        // Account by account, each along its chain: in the order its additions were made
        // (its sums and positions depend on it).
        for account in &deferred.touched {
            let Some(chain) = deferred.chains.get_mut(*account as usize) else {
                continue;
            };
            let mut at = std::mem::replace(chain, (NONE, NONE)).0;
            let rollup = self.account_mut(*account);
            while let Some(addition) = deferred.list.get(at as usize) {
                at = addition.next;
                add_to_account(rollup, addition, &deferred.sums, &deferred.filtered);
            }
        }
        for addition in &deferred.list {
            self.changes.add(addition.day);
        }
        deferred.list.clear();
        deferred.touched.clear();
        deferred.sums.clear();
        deferred.filtered.clear();
        self.deferred = deferred;
    }

    /// Starts a run: events applied through it add to their accounts when it ends (or
    /// every [`RUN_EVENTS`] events), which is faster for many events and gives the same
    /// rollups as [`Rollups::apply`] one by one.
    pub fn run(&mut self) -> Run<'_> {
        Run(self)
    }

    /// Applies one event; returns the identity change it carries, if any.
    pub fn apply(&mut self, stored: &EventRef<'_>, position: Position) -> Option<IdentityChange> {
        let change = self.apply_deferred(stored, position, None);
        self.settle();
        change
    }

    /// Applies one event, its additions to its account put off until [`Rollups::settle`];
    /// given the event's numeric properties when they were read with the message (they are
    /// then not read again from its text).
    fn apply_deferred(
        &mut self,
        stored: &EventRef<'_>,
        position: Position,
        numbers: Option<&mut dyn Iterator<Item = (&str, f64)>>,
    ) -> Option<IdentityChange> {
        if self.deferred.list.len() >= RUN_EVENTS {
            self.settle();
        }
        self.events_applied += 1;
        let day = self.day_of(stored.timestamp_ms);
        let user = stored.user_key().map(|key| self.users.intern(key));
        let event = stored.rollup_name().map(|name| self.events.intern(&name));
        if let Some(event) = event {
            let index = event as usize;
            if index >= self.catalog.len() {
                self.catalog.resize(index + 1, None);
            }
            let entry = self.catalog[index].get_or_insert_with(|| CatalogEntry {
                name: self.events.name(event).to_owned(),
                first_seen_ms: stored.timestamp_ms,
                last_seen_ms: stored.timestamp_ms,
                volume: 0,
            });
            entry.volume += 1;
            entry.first_seen_ms = entry.first_seen_ms.min(stored.timestamp_ms);
            entry.last_seen_ms = entry.last_seen_ms.max(stored.timestamp_ms);
        }
        if let Some(user) = user.filter(|_| event.is_some()) {
            self.user_mut(user).add_day(day);
        }
        let mut tally = std::mem::take(&mut self.scratch);
        tally.sums.clear();
        tally.filtered.clear();
        if event.is_some() {
            let properties = &mut self.properties;
            let mut add = |name: &str, value: f64| {
                tally.sums.push((properties.intern(name), value));
            };
            match numbers {
                Some(numbers) => numbers.for_each(|(name, value)| add(name, value)),
                None => stored.numeric_properties(&mut add),
            }
        }
        if stored.kind == Kind::Alias
            && let (Some(user), Some(previous)) = (user, stored.previous_id.as_deref())
        {
            // The same person under two ids (an anonymous id and the user id it became,
            // or an old user id and a new one), whichever of them is placed first.
            let previous = self.users.intern(previous);
            self.aliases.entry(user).or_default().push(previous);
            self.aliases.entry(previous).or_default().push(user);
            let account_of =
                |rollups: &Self, id: u32| rollups.by_user.get(id as usize).and_then(|u| u.account);
            if let Some(account) = account_of(self, previous) {
                self.place(user, account);
            } else if let Some(account) = account_of(self, user) {
                self.place(previous, account);
            }
        }
        if let Some(indexes) = event.and_then(|event| self.filters_by_event.get(&event)) {
            let properties = stored
                .properties
                .as_deref()
                .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw).ok())
                .unwrap_or(serde_json::Value::Null);
            tally.filtered.extend(
                indexes
                    .iter()
                    .map(|index| &self.filters[*index])
                    .filter(|(filter, _)| filter.matches_value(&properties))
                    .map(|(_, key)| *key),
            );
        }
        let account = match (stored.kind, stored.group_id.as_deref()) {
            (_, Some(group)) => Some(self.accounts.intern(group)),
            (_, None) => user.and_then(|u| self.by_user.get(u as usize).and_then(|u| u.account)),
        };
        tally.event = event;
        tally.day = day;
        tally.position = Some(position);
        match (account, user) {
            (Some(account), _) => self.count_for(account, user, &tally),
            (None, Some(user)) => self.waiting.entry(user).or_default().push(tally.clone()),
            (None, None) => {}
        }
        self.scratch = tally;
        let parse = |raw: &Option<std::borrow::Cow<'_, str>>| {
            raw.as_deref()
                .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        match stored.kind {
            Kind::Group => {
                let account = account?;
                if let Some(user) = user {
                    self.place(user, account);
                }
                let external_id = self.accounts.name(account).to_owned();
                Some(IdentityChange::Account {
                    external_id,
                    user_id: stored.user_id.as_deref().map(str::to_owned),
                    traits: parse(&stored.traits),
                })
            }
            Kind::Identify => {
                let user = user?;
                // RudderStack (and Segment's mobile SDKs) may put the traits in
                // `context.traits` instead.
                let traits = match parse(&stored.traits) {
                    serde_json::Value::Object(traits) if !traits.is_empty() => {
                        serde_json::Value::Object(traits)
                    }
                    _ => match parse(&stored.context) {
                        serde_json::Value::Object(mut context) => {
                            context.remove("traits").unwrap_or(serde_json::Value::Null)
                        }
                        _ => serde_json::Value::Null,
                    },
                };
                self.traits.insert(user, traits.clone());
                let account = account?;
                let user_id = stored.user_id.as_deref()?.to_owned();
                Some(IdentityChange::Contact {
                    account_external_id: self.accounts.name(account).to_owned(),
                    user_id,
                    traits,
                })
            }
            _ => None,
        }
    }

    /// Puts a user in an account and attributes the events that waited for it; the ids
    /// aliased to it that have no account yet follow.
    fn place(&mut self, user: u32, account: u32) {
        let mut next = vec![user];
        while let Some(user) = next.pop() {
            self.user_mut(user).account = Some(account);
            for tally in self.waiting.remove(&user).unwrap_or_default() {
                self.count_for(account, Some(user), &tally);
            }
            if let Some(linked) = self.aliases.get(&user) {
                next.extend(linked.iter().copied().filter(|other| {
                    self.by_user
                        .get(*other as usize)
                        .is_none_or(|u| u.account.is_none())
                }));
            }
        }
    }

    /// The latest identify traits of a user, with its user id, for a group call that just
    /// placed the user (so a contact can be written once its account is known).
    pub fn traits_of(&self, user_key: &str) -> Option<&serde_json::Value> {
        self.users
            .get(user_key)
            .and_then(|user| self.traits.get(&user))
    }

    /// The event ids an account's reads cover: one name (a filter's key included), or
    /// every event the account has.
    fn events_of(&self, account: u32, event: Option<&str>) -> Vec<u32> {
        match event {
            Some(name) => self.events.get(name).into_iter().collect(),
            None => self
                .by_account
                .get(account as usize)
                .map(|rollup| rollup.events.iter().map(|(event, _)| *event).collect())
                .unwrap_or_default(),
        }
    }

    /// The days from `from` to `to` inclusive with events of an account's event.
    fn days(&self, account: u32, event: u32, from: Day, to: Day) -> DaySlice<'_> {
        self.by_account
            .get(account as usize)
            .and_then(|rollup| {
                find_keyed(&rollup.events, event).or_else(|| find_keyed(&rollup.filtered, event))
            })
            .map_or(DaySlice::default(), |days| days.range(from, to))
    }

    /// The days from `from` to `to` inclusive with active users of an account.
    fn user_range(&self, account: u32, from: Day, to: Day) -> impl Iterator<Item = (Day, &[u32])> {
        self.by_account
            .get(account as usize)
            .into_iter()
            .flat_map(move |rollup| rollup.users.range(from, to))
    }

    /// Totals of an account over the days `from` to `to` inclusive, for one event or all:
    /// events, property sums, and distinct active users (any event).
    pub fn window(
        &self,
        account_external_id: &str,
        event: Option<&str>,
        from: Date,
        to: Date,
    ) -> WindowTotals {
        let mut totals = WindowTotals::default();
        let Some(account) = self.accounts.get(account_external_id) else {
            return totals;
        };
        let (first, last) = (day_number(from), day_number(to));
        for event in self.events_of(account, event) {
            let days = self.days(account, event, first, last);
            totals.count += days.counts().map(|(_, count)| count).sum::<u64>();
            for (_, property, value) in days.sums {
                *totals
                    .sums
                    .entry(self.properties.name(*property).to_owned())
                    .or_default() += value;
            }
        }
        let mut users: HashSet<u32> = HashSet::default();
        for (_, active) in self.user_range(account, first, last) {
            users.extend(active.iter().copied());
        }
        totals.active_users = users.len() as u64;
        totals
    }

    /// Daily totals of an account, one per day from `from` to `to` inclusive (zero on days
    /// without events): the number of events, or with `property` the sum of that numeric
    /// property; of one event (or filter key) or of all.
    pub fn daily(
        &self,
        account_external_id: &str,
        event: Option<&str>,
        property: Option<&str>,
        from: Date,
        to: Date,
    ) -> Vec<f64> {
        let (first, last) = (day_number(from), day_number(to));
        let mut totals = vec![0.0; usize::try_from(last - first + 1).unwrap_or(0)];
        let Some(account) = self.accounts.get(account_external_id) else {
            return totals;
        };
        let property = match property {
            Some(name) => match self.properties.get(name) {
                Some(id) => Some(id),
                None => return totals,
            },
            None => None,
        };
        for event in self.events_of(account, event) {
            let days = self.days(account, event, first, last);
            match property {
                None => {
                    for (day, count) in days.counts() {
                        totals[(day - first) as usize] += count as f64;
                    }
                }
                Some(id) => {
                    for (day, _, sum) in days.sums.iter().filter(|(_, p, _)| *p == id) {
                        totals[(day - first) as usize] += sum;
                    }
                }
            }
        }
        totals
    }

    /// The days from `from` to `to` inclusive with at least one event (of one name, or
    /// any), ascending, as day numbers (days since 1970-01-01).
    pub fn event_days(
        &self,
        account_external_id: &str,
        event: Option<&str>,
        from: Date,
        to: Date,
    ) -> Vec<i32> {
        let Some(account) = self.accounts.get(account_external_id) else {
            return Vec::new();
        };
        let (first, last) = (day_number(from), day_number(to));
        let mut days: Vec<Day> = Vec::new();
        for event in self.events_of(account, event) {
            days.extend(
                self.days(account, event, first, last)
                    .counts()
                    .filter(|(_, count)| *count > 0)
                    .map(|(day, _)| day),
            );
        }
        days.sort_unstable();
        days.dedup();
        days
    }

    /// The users active each day from `from` to `to` inclusive (any event), one sorted
    /// slice per day, as dense user numbers.
    pub fn daily_users(&self, account_external_id: &str, from: Date, to: Date) -> Vec<&[u32]> {
        let (first, last) = (day_number(from), day_number(to));
        let mut days: Vec<&[u32]> = vec![&[]; usize::try_from(last - first + 1).unwrap_or(0)];
        if let Some(account) = self.accounts.get(account_external_id) {
            for (day, users) in self.user_range(account, first, last) {
                days[(day - first) as usize] = users;
            }
        }
        days
    }

    /// The last day before `before` on which the account had an event (of one name, or
    /// any), looking back at most `horizon_days`.
    pub fn last_event_day(
        &self,
        account_external_id: &str,
        event: Option<&str>,
        before: Date,
        horizon_days: i32,
    ) -> Option<Date> {
        let account = self.accounts.get(account_external_id)?;
        let last = day_number(before) - 1;
        self.events_of(account, event)
            .into_iter()
            .filter_map(|event| {
                self.days(account, event, last - horizon_days, last)
                    .days
                    .last()
                    .copied()
            })
            .max()
            .map(day_date)
    }

    /// Usage of an account from `from` to `to` (inclusive), per interval, for one event or all.
    pub fn usage(
        &self,
        account_external_id: &str,
        event: Option<&str>,
        from: Date,
        to: Date,
        interval: Interval,
    ) -> Vec<UsagePoint> {
        let Some(account) = self.accounts.get(account_external_id) else {
            return Vec::new();
        };
        let (first, last) = (day_number(from), day_number(to));
        let mut points: BTreeMap<Date, Period> = BTreeMap::new();
        for day in first..=last {
            points.entry(interval.start_of(day_date(day))).or_default();
        }
        let period_of = |day: Day| interval.start_of(day_date(day));
        for event in self.events_of(account, event) {
            let days = self.days(account, event, first, last);
            for (day, count) in days.counts() {
                points.entry(period_of(day)).or_default().count += count;
            }
            for (day, property, value) in days.sums {
                *points
                    .entry(period_of(*day))
                    .or_default()
                    .sums
                    .entry(self.properties.name(*property).to_owned())
                    .or_default() += value;
            }
        }
        for (day, users) in self.user_range(account, first, last) {
            let point = points.entry(period_of(day)).or_default();
            point.users.extend(users.iter().copied());
        }
        points
            .into_iter()
            .map(|(period, point)| UsagePoint {
                period,
                count: point.count,
                active_users: point.users.len() as u64,
                sums: point.sums,
            })
            .collect()
    }

    /// The first and last day any event happened on, in the rollups' time zone (none
    /// without events): the span backfills of history cover.
    pub fn event_span(&self) -> Option<(jiff::civil::Date, jiff::civil::Date)> {
        let entries = self.catalog.iter().flatten();
        let first = entries.clone().map(|e| e.first_seen_ms).min()?;
        let last = entries.map(|e| e.last_seen_ms).max()?;
        let day = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .ok()
                .map(|t| t.to_zoned(self.time_zone.clone()).date())
        };
        Some((day(first)?, day(last)?))
    }

    /// The event catalogue, by volume.
    pub fn catalog(&self) -> Vec<CatalogEntry> {
        let mut entries: Vec<CatalogEntry> = self.catalog.iter().flatten().cloned().collect();
        entries.sort_by(|a, b| b.volume.cmp(&a.volume).then_with(|| a.name.cmp(&b.name)));
        entries
    }

    /// The event catalogue of some accounts only (a partner's): the events they sent, their
    /// volume, and the first and last day (as midnight UTC of those days, in milliseconds).
    pub fn catalog_of(&self, account_external_ids: &[&str]) -> Vec<CatalogEntry> {
        let mut entries: BTreeMap<u32, CatalogEntry> = BTreeMap::new();
        let millis = |day: Day| i64::from(day) * 86_400_000;
        for account in account_external_ids {
            let Some(rollup) = self.account_rollup(account) else {
                continue;
            };
            for (event, days) in &rollup.events {
                let (Some(first), Some(last)) = (days.days.first(), days.days.last()) else {
                    continue;
                };
                let volume: u64 = days.counts.iter().map(|count| u64::from(*count)).sum();
                let entry = entries.entry(*event).or_insert_with(|| CatalogEntry {
                    name: self.events.name(*event).to_owned(),
                    first_seen_ms: millis(*first),
                    last_seen_ms: millis(*last),
                    volume: 0,
                });
                entry.first_seen_ms = entry.first_seen_ms.min(millis(*first));
                entry.last_seen_ms = entry.last_seen_ms.max(millis(*last));
                entry.volume += volume;
            }
        }
        let mut entries: Vec<CatalogEntry> = entries.into_values().collect();
        entries.sort_by(|a, b| b.volume.cmp(&a.volume).then_with(|| a.name.cmp(&b.name)));
        entries
    }

    /// Log positions of an account's events, in the order they were counted (log order,
    /// but for events that waited for their user to be placed in the account).
    pub fn positions(&self, account_external_id: &str) -> Vec<Position> {
        self.account_rollup(account_external_id)
            .map(|rollup| rollup.positions.iter().collect())
            .unwrap_or_default()
    }

    /// Events per day of one user (any account), from `from` to `to` inclusive, among the
    /// [`USER_DAYS_KEPT`] days up to the user's latest (the latest is always there).
    pub fn user_days(&self, user_key: &str, from: Date, to: Date) -> Vec<(Date, u32)> {
        self.users
            .get(user_key)
            .and_then(|user| self.by_user.get(user as usize))
            .map(|user| {
                user.days
                    .range(day_number(from), day_number(to))
                    .iter()
                    .map(|(day, count)| (day_date(*day), *count))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Gives back the room the rollups' vectors grew into while they were built (about a
    /// third of them after a replay, where each grew by doubling).
    pub fn shrink_to_fit(&mut self) {
        for account in &mut self.by_account {
            account.shrink();
        }
        for user in &mut self.by_user {
            user.days.0.shrink_to_fit();
        }
        self.deferred = Deferrals::default();
    }

    /// A rough count of the heap bytes the rollups hold.
    pub fn approximate_bytes(&self) -> usize {
        let accounts = self
            .by_account
            .iter()
            .map(AccountRollup::bytes)
            .sum::<usize>();
        let users = self
            .by_user
            .iter()
            .map(|user| 8 + user.days.bytes())
            .sum::<usize>()
            + self.traits.len() * 48
            + self
                .waiting
                .values()
                .map(|tallies| 32 + tallies.capacity() * std::mem::size_of::<Tally>())
                .sum::<usize>();
        accounts
            + users
            + self.accounts.bytes()
            + self.users.bytes()
            + self.events.bytes()
            + self.properties.bytes()
            + self.deferred.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Received, StoredEvent, parse_batch};

    #[test]
    fn the_interner_numbers_names_densely_and_finds_them_after_growing() {
        let mut interner = Interner::default();
        let names: Vec<String> = (0..50_000).map(|i| format!("user-{i}")).collect();
        for (index, name) in names.iter().enumerate() {
            assert_eq!(interner.intern(name), index as u32);
        }
        assert_eq!(interner.intern(""), 50_000, "the empty name is a name too");
        assert_eq!(interner.intern("山田"), 50_001);
        for (index, name) in names.iter().enumerate().step_by(997) {
            assert_eq!(interner.intern(name), index as u32);
            assert_eq!(interner.get(name), Some(index as u32));
            assert_eq!(interner.name(index as u32), name);
        }
        assert_eq!(interner.name(50_001), "山田");
        assert_eq!(interner.get("user-50000"), None);
        assert_eq!(interner.name(99_999), "");
    }

    fn events(json: &str) -> Vec<StoredEvent> {
        let received = Received {
            at_ms: 1_767_225_600_000,
            oldest_ms: None,
            newest_ms: None,
        };
        parse_batch(json.as_bytes(), 1, received).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A mixed stream: tracks with and without `context.groupId`, pages, identify, group
    /// calls that place users whose events waited, aliases; sums whose total depends on the
    /// order they are added in (0.1 + 0.2 + … is not associative).
    fn mixed_stream(count: usize) -> Vec<StoredEvent> {
        let received = Received {
            at_ms: 1_767_225_600_000,
            oldest_ms: None,
            newest_ms: None,
        };
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        (0..count)
            .map(|index| {
                let (user, account) = (next(60), next(9));
                let at = format!("2026-01-{:02}T{:02}:00:00Z", 1 + next(20), next(24));
                let (kind, body) = match next(20) {
                    0 => (
                        Kind::Group,
                        format!(r#"{{"userId":"u{user}","groupId":"acc-{account}","traits":{{"n":{index}}},"timestamp":"{at}"}}"#),
                    ),
                    1 => (
                        Kind::Identify,
                        format!(r#"{{"userId":"u{user}","traits":{{"email":"u{user}@x.example"}},"timestamp":"{at}"}}"#),
                    ),
                    2 => (
                        Kind::Alias,
                        format!(r#"{{"userId":"u{user}","previousId":"a{}","timestamp":"{at}"}}"#, next(30)),
                    ),
                    3 => (
                        Kind::Page,
                        format!(r#"{{"anonymousId":"a{user}","properties":{{"ms":{}.{}}},"timestamp":"{at}"}}"#, next(1000), next(10)),
                    ),
                    4..=9 => (
                        Kind::Track,
                        format!(r#"{{"userId":"u{user}","event":"E{}","properties":{{"rows":0.{},"big":1e{}}},"timestamp":"{at}"}}"#, next(4), next(10), next(17)),
                    ),
                    _ => (
                        Kind::Track,
                        format!(r#"{{"userId":"u{user}","event":"E{}","properties":{{"rows":0.{},"format":"pdf"}},"context":{{"groupId":"acc-{account}"}},"timestamp":"{at}"}}"#, next(4), next(10)),
                    ),
                };
                crate::message::parse_single(body.as_bytes(), kind, 1, received)
                    .unwrap_or_else(|e| panic!("{body}: {e}"))
            })
            .collect()
    }

    #[test]
    fn a_run_gives_the_rollups_of_applying_one_event_at_a_time() {
        // More events than a run holds before it settles, so settling midway is covered.
        let events = mixed_stream(RUN_EVENTS + RUN_EVENTS / 2);
        let filter = crate::filter::EventFilter::new(
            "E1",
            vec![crate::filter::Condition::parse("format=pdf").unwrap_or_else(|e| panic!("{e}"))],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let fresh = || Rollups::with_filters(TimeZone::UTC, std::slice::from_ref(&filter));
        let mut one_by_one = fresh();
        let mut changes = Vec::new();
        for (index, event) in events.iter().enumerate() {
            changes.push(one_by_one.apply(&event.as_ref(), Position::new(1, index as u64)));
        }
        let mut in_a_run = fresh();
        let mut run = in_a_run.run();
        for (index, event) in events.iter().enumerate() {
            let change = run.apply_with(&event.as_ref(), Position::new(1, index as u64), None);
            assert_eq!(change, changes[index], "identity change of event {index}");
        }
        drop(run);
        assert!(
            one_by_one.by_account.len() == 9 && one_by_one.waiting.values().any(|w| !w.is_empty())
        );
        // Everything, the bits of every sum and the order of every position list included.
        let (run, single) = (format!("{in_a_run:?}"), format!("{one_by_one:?}"));
        let differ = run.bytes().zip(single.bytes()).position(|(a, b)| a != b);
        assert!(
            run == single,
            "they differ from byte {differ:?}: {}",
            differ.map_or("", |at| &run
                [at.saturating_sub(200)..(at + 200).min(run.len())])
        );
    }

    /// Everything the rollups answer about the accounts and users of [`mixed_stream`].
    fn answers(rollups: &Rollups) -> String {
        let (from, to) = (
            jiff::civil::date(2025, 12, 30),
            jiff::civil::date(2026, 1, 25),
        );
        let mut out = format!(
            "{:?} {:?} {:?} {:?} {}\n",
            rollups.catalog(),
            rollups.event_span(),
            rollups.last_record(),
            rollups.changes_through(jiff::civil::date(2026, 1, 10)),
            rollups.events_applied(),
        );
        for account in 0..9 {
            let account = format!("acc-{account}");
            for event in [
                None,
                Some("E0"),
                Some("E1"),
                Some(r#"E1 where format = "pdf""#),
                Some("E3"),
            ] {
                out += &format!(
                    "{account} {event:?} {:?} {:?} {:?} {:?} {:?}\n",
                    rollups.window(&account, event, from, to),
                    rollups.daily(&account, event, Some("rows"), from, to),
                    rollups.usage(&account, event, from, to, Interval::Week),
                    rollups.event_days(&account, event, from, to),
                    rollups.last_event_day(&account, event, to, 60),
                );
            }
            out += &format!(
                "{:?} {:?}\n",
                rollups.positions(&account),
                rollups.daily_users(&account, from, to)
            );
        }
        for user in 0..60 {
            let user = format!("u{user}");
            out += &format!(
                "{user} {:?} {:?}\n",
                rollups.user_days(&user, from, to),
                rollups.traits_of(&user)
            );
        }
        out
    }

    #[test]
    fn positions_come_back_as_they_were_added_in_few_bytes() {
        let added: Vec<Position> = [
            (1, 0),
            (1, 120),
            (1, 400),
            (1, 64 << 20),
            (2, 16),
            (1, 300),
            (9, 0),
            ((1 << 24) - 1, (1 << 40) - 1),
            (1, 0),
        ]
        .iter()
        .map(|(segment, offset)| Position::new(*segment, *offset))
        .collect();
        let mut positions = Positions::default();
        for position in &added {
            positions.push(*position);
        }
        assert_eq!(positions.iter().collect::<Vec<_>>(), added);
        assert_eq!(positions.count, 9);
        // Along the log, 100-byte records: two bytes each after the first.
        let mut along = Positions::default();
        (0..1000).for_each(|n| along.push(Position::new(3, n * 100)));
        assert!(along.bytes.len() <= 2 * 999 + 8, "{}", along.bytes.len());
        assert_eq!(along.iter().nth(999), Some(Position::new(3, 99_900)));
    }

    #[test]
    fn a_user_keeps_the_days_up_to_a_month_before_their_latest() {
        // Days 1-60 of 2026 in order, then a late event on day 40 (kept: within 32 days of
        // day 60) and one on day 20 (older than what is kept: left out), then day 61.
        let day = |n: i64| {
            jiff::civil::date(2026, 1, 1)
                .checked_add(jiff::Span::new().days(n - 1))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let stamps: Vec<String> = (1..=60)
            .chain([40, 20, 61])
            .map(|n| format!("{}T12:00:00Z", day(n)))
            .collect();
        let tracks: Vec<(&str, &str, &str, &str)> = stamps
            .iter()
            .map(|at| ("acme", "u1", "Login", at.as_str()))
            .collect();
        let rollups = Rollups::of_track_calls(&tracks).unwrap_or_else(|e| panic!("{e}"));
        let days = rollups.user_days(
            "u1",
            jiff::civil::date(2025, 12, 1),
            jiff::civil::date(2026, 12, 31),
        );
        // Kept: the 32 days up to day 61 (March 2), i.e. from day 30 (January 30).
        assert_eq!(days.len(), 32);
        assert_eq!(days[0], (jiff::civil::date(2026, 1, 30), 1));
        assert_eq!(days[31], (jiff::civil::date(2026, 3, 2), 1));
        assert!(
            days.contains(&(jiff::civil::date(2026, 2, 9), 2)),
            "the late day 40"
        );
        // The account's own days are all there.
        let all = rollups.window(
            "acme",
            None,
            jiff::civil::date(2026, 1, 1),
            jiff::civil::date(2026, 3, 2),
        );
        assert_eq!(all.count, 63);
    }

    #[test]
    fn rollups_read_back_from_their_frames_answer_alike_and_go_on_alike() {
        let events = mixed_stream(6000);
        let filter = crate::filter::EventFilter::new(
            "E1",
            vec![crate::filter::Condition::parse("format=pdf").unwrap_or_else(|e| panic!("{e}"))],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let filters = std::slice::from_ref(&filter);
        let mut original = Rollups::with_filters(TimeZone::UTC, filters);
        let (first, rest) = events.split_at(4000);
        for (index, event) in first.iter().enumerate() {
            original.note_record(index as u64, Position::new(1, index as u64));
            original.apply(&event.as_ref(), Position::new(1, index as u64));
        }
        assert!(
            original.waiting.values().any(|w| !w.is_empty()),
            "some events wait"
        );
        let (from, to) = (
            jiff::civil::date(2026, 1, 1),
            jiff::civil::date(2026, 1, 31),
        );
        assert!(
            (0..9).any(|a| original
                .window(&format!("acc-{a}"), Some(filter.key()), from, to)
                .count
                > 0),
            "the filter's aggregate is read: {}",
            filter.key()
        );
        let mut frames: Vec<Vec<u8>> = Vec::new();
        original
            .to_frames(|frame| {
                frames.push(frame.to_vec());
                Ok::<(), BadSnapshot>(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let read = |filters: &[crate::filter::EventFilter], frames: &[Vec<u8>]| {
            let mut frames = frames.iter();
            Rollups::from_frames(TimeZone::UTC, filters, |buffer| {
                let frame = frames.next().ok_or_else(|| BadSnapshot::new("no more"))?;
                buffer.clone_from(frame);
                Ok(())
            })
        };
        let mut restored = read(filters, &frames).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answers(&restored), answers(&original));
        for (index, event) in rest.iter().enumerate() {
            let at = Position::new(1, (4000 + index) as u64);
            assert_eq!(
                restored.apply(&event.as_ref(), at),
                original.apply(&event.as_ref(), at),
                "event {index} after the snapshot"
            );
        }
        assert_eq!(answers(&restored), answers(&original));
        // A filter the snapshot was made without, a missing frame and a damaged one: refused.
        let other = crate::filter::EventFilter::new(
            "E2",
            vec![crate::filter::Condition::parse("rows>0").unwrap_or_else(|e| panic!("{e}"))],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(read(&[filter.clone(), other], &frames).is_err());
        assert!(read(filters, &frames[..frames.len() - 1]).is_err());
        let mut damaged = frames.clone();
        let half = damaged[1].len() / 2;
        damaged[1].truncate(half);
        assert!(read(filters, &damaged).is_err());
        // Without the filter asked for, the rollups still read (its aggregate stays unused).
        assert!(read(&[], &frames).is_ok());
    }

    /// Daily counts of one event of one account, from `from` to `to` (days of January 2026).
    fn daily(rollups: &Rollups, account: &str, event: &str, from: i8, to: i8) -> Vec<u64> {
        let (from, to) = (
            jiff::civil::date(2026, 1, from),
            jiff::civil::date(2026, 1, to),
        );
        rollups
            .usage(account, Some(event), from, to, Interval::Day)
            .iter()
            .map(|p| p.count)
            .collect()
    }

    fn rollups(json: &str, zone: &str) -> Rollups {
        let mut rollups = Rollups::new(TimeZone::get(zone).unwrap_or_else(|e| panic!("{e}")));
        for (index, event) in events(json).iter().enumerate() {
            rollups.apply(&event.as_ref(), Position::new(1, index as u64));
        }
        rollups
    }

    const DAY: &str = r#"{"batch":[
        {"type":"track","userId":"u1","event":"Report Run","properties":{"rows":10},"context":{"groupId":"acme"},"timestamp":"2026-01-01T10:00:00Z"},
        {"type":"track","userId":"u1","event":"Report Run","properties":{"rows":5,"label":"x"},"context":{"groupId":"acme"},"timestamp":"2026-01-01T23:30:00Z"},
        {"type":"track","userId":"u2","event":"Login","context":{"groupId":"acme"},"timestamp":"2026-01-02T00:10:00Z"}
    ]}"#;

    #[test]
    fn identify_traits_may_come_in_the_context() {
        let json = r#"{"batch":[
            {"type":"group","userId":"u1","groupId":"acme","timestamp":"2026-01-01T10:00:00Z"},
            {"type":"identify","userId":"u1","context":{"traits":{"name":"Rudder Person"}},"timestamp":"2026-01-01T10:01:00Z"}
        ]}"#;
        let mut rollups = Rollups::new(TimeZone::UTC);
        let changes: Vec<IdentityChange> = events(json)
            .iter()
            .enumerate()
            .filter_map(|(index, event)| {
                rollups.apply(&event.as_ref(), Position::new(1, index as u64))
            })
            .collect();
        match changes.last() {
            Some(IdentityChange::Contact { traits, .. }) => {
                assert_eq!(traits["name"], "Rudder Person", "{traits}");
            }
            other => panic!("expected a contact change, got {other:?}"),
        }
    }

    #[test]
    fn counts_sums_and_users_fall_on_utc_days() {
        let rollups = rollups(DAY, "UTC");
        let usage = rollups.usage(
            "acme",
            Some("Report Run"),
            jiff::civil::date(2026, 1, 1),
            jiff::civil::date(2026, 1, 2),
            Interval::Day,
        );
        assert_eq!(
            usage
                .iter()
                .map(|p| (p.count, p.active_users))
                .collect::<Vec<_>>(),
            vec![(2, 1), (0, 1)]
        );
        assert_eq!(usage[0].sums.get("rows"), Some(&15.0));
        let all = rollups.usage(
            "acme",
            None,
            jiff::civil::date(2026, 1, 1),
            jiff::civil::date(2026, 1, 7),
            Interval::Week,
        );
        assert_eq!(
            all.iter()
                .map(|p| (p.period.to_string(), p.count, p.active_users))
                .collect::<Vec<_>>(),
            vec![
                ("2025-12-29".to_owned(), 3, 2),
                ("2026-01-05".to_owned(), 0, 0)
            ]
        );
    }

    #[test]
    fn days_follow_the_configured_time_zone() {
        // 23:30 UTC on Jan 1 is 08:30 on Jan 2 in Tokyo; 10:00 UTC is 19:00 on Jan 1.
        let rollups = rollups(DAY, "Asia/Tokyo");
        assert_eq!(daily(&rollups, "acme", "Report Run", 1, 2), vec![1, 1]);
    }

    #[test]
    fn events_before_a_group_call_wait_for_it() {
        let rollups = rollups(
            r#"{"batch":[
            {"type":"track","userId":"u9","event":"Login","timestamp":"2026-01-05T10:00:00Z"},
            {"type":"identify","userId":"u9","traits":{"email":"u9@x.example"},"timestamp":"2026-01-05T10:00:01Z"},
            {"type":"group","userId":"u9","groupId":"late-co","traits":{"name":"Late Co"},"timestamp":"2026-01-05T10:01:00Z"},
            {"type":"track","userId":"u9","event":"Login","timestamp":"2026-01-06T10:00:00Z"}
        ]}"#,
            "UTC",
        );
        assert_eq!(daily(&rollups, "late-co", "Login", 5, 6), vec![1, 1]);
        assert_eq!(rollups.positions("late-co").len(), 4);
        assert_eq!(rollups.catalog()[0].volume, 2);
    }

    #[test]
    fn an_alias_carries_the_anonymous_users_events_to_the_account_either_way() {
        // a1 browses anonymously, then signs up as u1 (alias), then u1 joins acme: a1's
        // two events count for acme. u2 is in beta first; the alias of a2 comes after a2's
        // event: it follows u2 into beta.
        let rollups = rollups(
            r#"{"batch":[
            {"type":"page","anonymousId":"a1","name":"Pricing","timestamp":"2026-01-05T09:00:00Z"},
            {"type":"track","anonymousId":"a1","event":"Signup Started","timestamp":"2026-01-05T09:01:00Z"},
            {"type":"alias","previousId":"a1","userId":"u1","timestamp":"2026-01-05T09:02:00Z"},
            {"type":"group","userId":"u1","groupId":"acme","timestamp":"2026-01-05T09:03:00Z"},
            {"type":"track","userId":"u1","event":"Login","timestamp":"2026-01-06T09:00:00Z"},
            {"type":"group","userId":"u2","groupId":"beta","timestamp":"2026-01-05T10:00:00Z"},
            {"type":"track","anonymousId":"a2","event":"Signup Started","timestamp":"2026-01-05T10:01:00Z"},
            {"type":"alias","previousId":"a2","userId":"u2","timestamp":"2026-01-05T10:02:00Z"},
            {"type":"track","anonymousId":"a3","event":"Signup Started","timestamp":"2026-01-05T11:00:00Z"}
        ]}"#,
            "UTC",
        );
        assert_eq!(daily(&rollups, "acme", "Signup Started", 5, 6), vec![1, 0]);
        assert_eq!(daily(&rollups, "acme", "Login", 5, 6), vec![0, 1]);
        assert_eq!(daily(&rollups, "beta", "Signup Started", 5, 6), vec![1, 0]);
        // a3 never became anyone: it waits, counted nowhere.
        assert_eq!(
            rollups
                .catalog()
                .iter()
                .find(|e| e.name == "Signup Started")
                .map(|e| e.volume),
            Some(3)
        );
    }

    #[test]
    fn filtered_aggregates_count_matching_events_even_when_they_wait_for_a_group() {
        let condition =
            crate::filter::Condition::parse("plan=pro").unwrap_or_else(|e| panic!("{e}"));
        let filter = EventFilter::new("Login", vec![condition]).unwrap_or_else(|e| panic!("{e}"));
        let mut rollups = Rollups::with_filters(TimeZone::UTC, std::slice::from_ref(&filter));
        let json = r#"{"batch":[
            {"type":"track","userId":"u1","event":"Login","properties":{"plan":"pro"},"timestamp":"2026-01-05T10:00:00Z"},
            {"type":"track","userId":"u1","event":"Login","properties":{"plan":"free"},"timestamp":"2026-01-05T11:00:00Z"},
            {"type":"group","userId":"u1","groupId":"acme","timestamp":"2026-01-05T12:00:00Z"},
            {"type":"track","userId":"u1","event":"Login","properties":{"plan":"pro"},"timestamp":"2026-01-06T10:00:00Z"},
            {"type":"track","userId":"u1","event":"Logout","properties":{"plan":"pro"},"timestamp":"2026-01-06T10:00:00Z"}
        ]}"#;
        for (index, event) in events(json).iter().enumerate() {
            rollups.apply(&event.as_ref(), Position::new(1, index as u64));
        }
        assert_eq!(daily(&rollups, "acme", filter.key(), 5, 6), vec![1, 1]);
        assert_eq!(daily(&rollups, "acme", "Login", 5, 6), vec![2, 1]);
        // The filtered aggregate is not an event of the catalogue, nor of "all events".
        assert_eq!(rollups.catalog().len(), 2);
        let all = rollups.window(
            "acme",
            None,
            jiff::civil::date(2026, 1, 5),
            jiff::civil::date(2026, 1, 6),
        );
        assert_eq!(all.count, 4);
    }

    #[test]
    fn month_buckets_start_on_the_first() {
        let rollups = rollups(DAY, "UTC");
        let usage = rollups.usage(
            "acme",
            None,
            jiff::civil::date(2025, 12, 20),
            jiff::civil::date(2026, 1, 31),
            Interval::Month,
        );
        assert_eq!(
            usage
                .iter()
                .map(|p| (p.period.to_string(), p.count))
                .collect::<Vec<_>>(),
            vec![("2025-12-01".to_owned(), 0), ("2026-01-01".to_owned(), 3)]
        );
    }

    #[test]
    fn changes_through_a_day_move_only_with_usage_up_to_that_day() {
        let before = [
            ("acme", "u1", "Login", "2026-01-01T10:00:00Z"),
            ("acme", "u2", "Login", "2026-01-03T10:00:00Z"),
            ("beta", "u3", "Report", "2026-01-03T11:00:00Z"),
        ];
        let old = Rollups::of_track_calls(&before).unwrap_or_else(|e| panic!("{e}"));
        let d = |day: i8| Date::constant(2026, 1, day);
        assert_eq!(
            (1..=4)
                .map(|day| old.changes_through(d(day)))
                .collect::<Vec<_>>(),
            [1, 1, 3, 3]
        );
        // A later event (today's traffic) leaves the earlier days' count as it was; a late
        // event for an early day moves it.
        let mut later = before.to_vec();
        later.push(("acme", "u1", "Login", "2026-01-09T10:00:00Z"));
        let new = Rollups::of_track_calls(&later).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(new.changes_through(d(3)), old.changes_through(d(3)));
        later.push(("beta", "u3", "Login", "2025-12-30T10:00:00Z"));
        let late = Rollups::of_track_calls(&later).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(late.changes_through(d(3)), 4);
        assert_eq!(late.changes_through(Date::constant(2025, 12, 1)), 0);
    }
}
