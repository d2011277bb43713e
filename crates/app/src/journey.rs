//! The customer journey: one home for its definition (versioned configuration, the
//! standard journey until a leader saves one), moving accounts by its rules every day,
//! replaying the rules over the past (a new journey, the demo), moving an account by hand,
//! and the journey page's numbers.
//!
//! Rules:
//! - Every move is an entry with its day and what made it (rule, hand, import); the
//!   account's stage is always that of its latest entry (the store keeps both together).
//! - Time in stage, stuck accounts and conversion follow `shared/domain.md` and are
//!   computed by `mikawaya_analytics::journey` from the entries; the daily run marks the
//!   stuck accounts so the portfolio can filter them. Only a stage with target days is
//!   one to pass through: nobody is stuck in a stage without them (value, advocacy).
//! - A move by hand goes to a stage of the journey or to `churned`, on a day not in the
//!   future.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::journey::{self as numbers, Conversion, StageTime, Stay};
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::account::{Account, CHURNED_STAGE, is_churned};
use mikawaya_domain::config::ConfigKind;
use mikawaya_domain::value::Slug;
use mikawaya_domain::{AccountId, Actor, Invalid, PartnerId, ReadAccess, WriteAccess};
use mikawaya_playbooks::facts::Facts;
use mikawaya_playbooks::journey::{Journey, SegmentBy};
use mikawaya_playbooks::spec::Localized;
use mikawaya_store::Store;
use mikawaya_store::journey::{StageEntry, StageMove, StageSource};
use std::collections::{BTreeMap, HashMap};

/// The journey in force and its version (0: the standard journey, nothing saved yet).
pub fn definition(store: &dyn Store, access: &ReadAccess) -> Result<(Journey, i64)> {
    match store.config(access, ConfigKind::Journey, None)? {
        Some(saved) => {
            let journey: Journey = serde_json::from_str(&saved.body).map_err(|e| {
                mikawaya_store::StoreError::Corrupt(format!("the saved journey: {e}"))
            })?;
            Ok((journey, saved.version))
        }
        None => Ok((Journey::standard(), 0)),
    }
}

/// Checks a journey (its metrics must exist) and saves it as the next version; the stuck
/// marks follow its segments at once (its rules move accounts from the next daily run).
pub fn save(
    store: &dyn Store,
    access: &ManageAccess,
    journey: &Journey,
    today: Date,
) -> Result<i64> {
    journey.check(&|name| crate::plans::metric(store, name).is_ok())?;
    let body = serde_json::to_string(journey)
        .map_err(|e| mikawaya_store::StoreError::Corrupt(format!("journey: {e}")))?;
    let version = store
        .put_config(access, ConfigKind::Journey, &body)?
        .version;
    mark_stuck(store, today)?;
    Ok(version)
}

/// What the rules read, with every metric the journey names resolved (defined or built in).
fn facts<'a>(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &'a dyn UsageSource,
    journey: &Journey,
    today: Date,
) -> Result<Facts<'a>> {
    let mut facts = Facts::load(store, access, Some(usage), today)?;
    for name in journey.metrics() {
        if !facts.metrics.contains_key(name) {
            facts
                .metrics
                .insert(name.to_owned(), crate::plans::metric(store, name)?);
        }
    }
    Ok(facts)
}

/// What one day's move did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    /// Accounts the rules moved.
    pub moved: usize,
    /// Accounts now stuck in their stage.
    pub stuck: usize,
}

/// The daily step: moves every account the rules of a saved journey move on `today`, then
/// marks the accounts stuck in their stage.
pub fn advance(store: &dyn Store, usage: &dyn UsageSource, today: Date) -> Result<Advanced> {
    let system = Actor::system();
    let read = system.read();
    let (journey, version) = definition(store, &read)?;
    let mut moved = 0;
    // The standard journey is a proposal: its rules move nobody until a leader saves a
    // journey (the stages a CRM import set stay as they are).
    if version > 0 && journey.stages.iter().any(|s| s.rule.is_some()) {
        let facts = facts(store, &read, usage, &journey, today)?;
        let moves: Vec<StageMove> = facts
            .accounts
            .iter()
            .filter_map(|account| {
                let stage = journey.next_stage(&facts, account, today)?;
                Some(StageMove {
                    account_id: account.id,
                    stage: Slug::parse(&stage).ok()?,
                    day: today,
                    source: StageSource::Rule,
                })
            })
            .collect();
        moved = store.enter_stages(&system.write()?, &moves)?;
    }
    Ok(Advanced {
        moved,
        stuck: mark_stuck(store, today)?,
    })
}

/// Marks the accounts stuck in their stage on `today` (the portfolio filters on the
/// marks), every other account not stuck. Returns how many are stuck.
pub fn mark_stuck(store: &dyn Store, today: Date) -> Result<usize> {
    let system = Actor::system();
    let read = system.read();
    let (journey, _) = definition(store, &read)?;
    let stuck = stuck_now(store, &read, &journey, today)?;
    store.put_stuck(&system.manage()?, &stuck)?;
    Ok(stuck.len())
}

/// Replays the rules over `[from, to]` every `step_days` days, as if the daily run had
/// moved the accounts then: each account from its contract's start, into `churned` on the
/// day its contract ended when it has churned. An account now in a stage entered by hand
/// keeps it (entered on `to`). Returns the entries recorded.
pub fn replay(
    store: &dyn Store,
    usage: &dyn UsageSource,
    from: Date,
    to: Date,
    step_days: u32,
) -> Result<usize> {
    if step_days == 0 {
        return Err(Invalid::new("step_days", "must be at least 1").into());
    }
    let system = Actor::system();
    let read = system.read();
    let (journey, _) = definition(store, &read)?;
    let facts = facts(store, &read, usage, &journey, to)?;
    let step = jiff::Span::new().days(i64::from(step_days));
    let mut moves = Vec::new();
    for account in &facts.accounts {
        let churned_on = is_churned(account.stage.as_ref())
            .then(|| account.contract_end.unwrap_or(to))
            .map(|day| day.min(to));
        let mut day = account.contract_start.map_or(from, |start| start.max(from));
        let mut current: Option<String> = None;
        while day <= to {
            if churned_on.is_some_and(|churn| day >= churn) {
                break;
            }
            let ruled = journey.ruled_stage(&facts, account, day);
            if current.as_deref() != Some(ruled) && !ruled.is_empty() {
                current = Some(ruled.to_owned());
                moves.push(stage_move(account.id, ruled, day, StageSource::Rule));
            }
            day = match day.checked_add(step) {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        if let Some(churn) = churned_on {
            moves.push(stage_move(
                account.id,
                CHURNED_STAGE,
                churn,
                StageSource::Rule,
            ));
        } else if let Some(stage) = account.stage.as_ref().map(Slug::as_str)
            && !journey.moves_from(Some(stage))
        {
            moves.push(stage_move(account.id, stage, to, StageSource::Import));
        }
    }
    let moves: Vec<StageMove> = moves.into_iter().flatten().collect();
    let recorded = store.enter_stages(&system.write()?, &moves)?;
    mark_stuck(store, to)?;
    Ok(recorded)
}

fn stage_move(
    account: AccountId,
    stage: &str,
    day: Date,
    source: StageSource,
) -> Option<StageMove> {
    Some(StageMove {
        account_id: account,
        stage: Slug::parse(stage).ok()?,
        day,
        source,
    })
}

/// Moves a visible account into a stage by hand on a day (today when none; not in the
/// future): a stage of the journey, or `churned`.
pub fn set_stage(
    store: &dyn Store,
    access: &WriteAccess,
    account: AccountId,
    stage: &str,
    day: Option<Date>,
    today: Date,
) -> Result<Account> {
    let (journey, _) = definition(store, &access.read())?;
    let stage = stage.trim();
    if stage != CHURNED_STAGE && journey.stage(stage).is_none() {
        let keys: Vec<&str> = journey.stages.iter().map(|s| s.key.as_str()).collect();
        return Err(Invalid::new(
            "stage",
            format!(
                "'{stage}' is not a stage of the journey ({}, or churned)",
                keys.join(", ")
            ),
        )
        .into());
    }
    let day = day.unwrap_or(today);
    if day > today {
        return Err(Invalid::new("day", "must not be in the future").into());
    }
    let stage = Slug::parse(stage)?;
    store.enter_stages(
        access,
        &[StageMove {
            account_id: account,
            stage,
            day,
            source: StageSource::Hand,
        }],
    )?;
    Ok(store.get_account(&access.read(), account)?)
}

/// One account's stays, latest first, for its page.
pub fn history(
    store: &dyn Store,
    access: &ReadAccess,
    account: AccountId,
) -> Result<(Vec<Stay>, Vec<StageEntry>)> {
    let entries = store.stage_entries(access, Some(account))?;
    let pairs: Vec<(Date, String)> = entries
        .iter()
        .map(|e| (e.entered_on, e.stage.to_string()))
        .collect();
    let mut stays = numbers::stays(account, "", &pairs);
    stays.reverse();
    Ok((stays, entries))
}

/// One stage's row of the journey page.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: Localized,
    /// The target time in it, days.
    pub target_days: Option<u32>,
    /// Whether the rules move accounts into it (else: by hand).
    pub ruled: bool,
    /// Accounts in it now.
    pub accounts: usize,
    /// Their ARR.
    pub arr: f64,
    /// Time in it over every segment (completed stays that ended in the period).
    pub time: StageTime,
    /// Time in it per segment.
    pub by_segment: BTreeMap<String, StageTime>,
    /// Conversion to the next stage (none for the last stage).
    pub conversion: Option<Conversion>,
    /// Of the accounts that entered it in the period, those that churned within the
    /// window.
    pub churned: usize,
}

/// An account stuck in its stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stuck {
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// Its stage.
    pub stage: String,
    /// Its segment.
    pub segment: String,
    /// Days in the stage.
    pub days: i64,
    /// The segment's 75th percentile, days.
    pub p75: f64,
    /// Its ARR.
    pub arr: f64,
}

/// The journey page's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyReport {
    /// The journey and its version.
    pub journey: Journey,
    /// Its version (0: the standard journey).
    pub version: i64,
    /// The period: stays that ended, and entries, from this day...
    pub from: Date,
    /// ...to this day (exclusive).
    pub to: Date,
    /// One row per stage, in order.
    pub stages: Vec<StageRow>,
    /// Accounts in no stage of the journey now (not churned), and their ARR.
    pub elsewhere: (usize, f64),
    /// Accounts churned.
    pub churned_accounts: usize,
    /// The currency most accounts use (ARR totals are in it).
    pub currency: String,
    /// Accounts stuck, longest over their segment's percentile first.
    pub stuck: Vec<Stuck>,
}

pub(crate) fn segment_of(
    by: SegmentBy,
    account: &Account,
    partners: &HashMap<PartnerId, String>,
) -> String {
    match by {
        SegmentBy::Tier => account.tier.map_or("none", |t| t.as_str()).to_owned(),
        SegmentBy::Plan => account
            .plan
            .as_ref()
            .map_or_else(|| "none".to_owned(), ToString::to_string),
        SegmentBy::Partner => account.partner_id.map_or_else(
            || "direct".to_owned(),
            |p| partners.get(&p).cloned().unwrap_or_else(|| p.to_string()),
        ),
    }
}

/// Each visible partner's key in segments: its external id, else its name.
pub(crate) fn partner_keys(
    store: &dyn Store,
    access: &ReadAccess,
) -> Result<HashMap<PartnerId, String>> {
    Ok(store
        .list_partners(access)?
        .into_iter()
        .map(|p| {
            let key = p
                .external_id
                .map_or_else(|| p.name.to_string(), |e| e.to_string());
            (p.id, key)
        })
        .collect())
}

/// Every visible account's stays, each in its segment.
fn all_stays(
    store: &dyn Store,
    access: &ReadAccess,
    journey: &Journey,
    accounts: &[Account],
) -> Result<Vec<Stay>> {
    let partners = partner_keys(store, access)?;
    let segments: HashMap<AccountId, String> = accounts
        .iter()
        .map(|a| (a.id, segment_of(journey.segment, a, &partners)))
        .collect();
    let mut by_account: BTreeMap<AccountId, Vec<(Date, String)>> = BTreeMap::new();
    for entry in store.stage_entries(access, None)? {
        by_account
            .entry(entry.account_id)
            .or_default()
            .push((entry.entered_on, entry.stage.to_string()));
    }
    Ok(by_account
        .into_iter()
        .flat_map(|(account, entries)| {
            let segment = segments.get(&account).map_or("none", String::as_str);
            numbers::stays(account, segment, &entries)
        })
        .collect())
}

/// The accounts stuck in their stage on `today` (the period: the year before it).
fn stuck_now(
    store: &dyn Store,
    access: &ReadAccess,
    journey: &Journey,
    today: Date,
) -> Result<Vec<AccountId>> {
    let accounts = store.all_accounts(access)?;
    let stays = all_stays(store, access, journey, &accounts)?;
    let (from, to) = period(today, 365);
    Ok(time_in_stage(journey, &stays, from, to, today)
        .into_values()
        .flat_map(|time| time.stuck)
        .collect())
}

/// Time in stage per (stage, segment), with nobody stuck in a stage without target days:
/// such a stage (value, advocacy) is a place to stay, not to pass through, and `churned`
/// or a stage outside the journey is never "stuck".
fn time_in_stage(
    journey: &Journey,
    stays: &[Stay],
    from: Date,
    to: Date,
    today: Date,
) -> BTreeMap<(String, String), StageTime> {
    let mut times = numbers::time_in_stage(stays, from, to, today);
    for ((stage, _), time) in &mut times {
        if journey.stage(stage).is_none_or(|s| s.target_days.is_none()) {
            time.stuck.clear();
        }
    }
    times
}

/// `[today - days, today + 1)`: the period that ends with today.
fn period(today: Date, days: u32) -> (Date, Date) {
    let from = today
        .checked_sub(jiff::Span::new().days(i64::from(days)))
        .unwrap_or(today);
    (from, today.tomorrow().unwrap_or(today))
}

/// The journey page's numbers as of `today`, over the `days` before it.
pub fn report(
    store: &dyn Store,
    access: &ReadAccess,
    today: Date,
    days: u32,
) -> Result<JourneyReport> {
    if days == 0 || days > 3660 {
        return Err(Invalid::new("days", "must be from 1 to 3660").into());
    }
    let (journey, version) = definition(store, access)?;
    let accounts = store.all_accounts(access)?;
    let stays = all_stays(store, access, &journey, &accounts)?;
    let (from, to) = period(today, days);
    let per_segment = time_in_stage(&journey, &stays, from, to, today);
    let pooled: Vec<Stay> = stays
        .iter()
        .map(|s| Stay {
            segment: String::new(),
            ..s.clone()
        })
        .collect();
    let overall = time_in_stage(&journey, &pooled, from, to, today);
    let order: Vec<&str> = journey.stages.iter().map(|s| s.key.as_str()).collect();
    let conversion = numbers::conversion(
        &stays,
        &order,
        CHURNED_STAGE,
        from,
        to,
        i64::from(journey.window_days),
    );
    // Churn from the last stage too (conversion has no row for it).
    let last_churn = order.last().map(|last| {
        numbers::conversion(
            &stays,
            &[last, CHURNED_STAGE],
            CHURNED_STAGE,
            from,
            to,
            i64::from(journey.window_days),
        )
    });
    let mut now: HashMap<&str, (usize, f64)> = HashMap::new();
    let (mut elsewhere, mut churned_accounts) = ((0, 0.0), 0);
    for account in &accounts {
        match account.stage.as_ref().map(Slug::as_str) {
            Some(CHURNED_STAGE) => churned_accounts += 1,
            Some(stage) if journey.stage(stage).is_some() => {
                let row = now.entry(stage).or_default();
                row.0 += 1;
                row.1 += account.arr();
            }
            _ => {
                elsewhere.0 += 1;
                elsewhere.1 += account.arr();
            }
        }
    }
    let empty = StageTime {
        completed: 0,
        median: None,
        p75: None,
        current: 0,
        stuck: Vec::new(),
    };
    let stages = journey
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            let key = stage.key.as_str();
            let conversion = conversion.get(key).cloned();
            let churned = conversion.as_ref().map_or_else(
                || {
                    (index + 1 == order.len())
                        .then(|| last_churn.as_ref().and_then(|c| c.get(key)))
                        .flatten()
                        .map_or(0, |c| c.churned)
                },
                |c| c.churned,
            );
            let (count, arr) = now.get(key).copied().unwrap_or_default();
            StageRow {
                key: stage.key.clone(),
                name: stage.name.clone(),
                target_days: stage.target_days,
                ruled: stage.rule.is_some(),
                accounts: count,
                arr,
                time: overall
                    .get(&(stage.key.clone(), String::new()))
                    .cloned()
                    .unwrap_or_else(|| empty.clone()),
                by_segment: per_segment
                    .iter()
                    .filter(|((s, _), _)| s == key)
                    .map(|((_, segment), time)| (segment.clone(), time.clone()))
                    .collect(),
                conversion,
                churned,
            }
        })
        .collect();
    let names: HashMap<AccountId, &Account> = accounts.iter().map(|a| (a.id, a)).collect();
    let open: HashMap<AccountId, &Stay> = stays
        .iter()
        .filter(|s| s.left.is_none())
        .map(|s| (s.account, s))
        .collect();
    let mut stuck: Vec<Stuck> = per_segment
        .iter()
        .flat_map(|((stage, segment), time)| {
            time.stuck.iter().filter_map(|id| {
                let stay = open.get(id)?;
                let account = names.get(id)?;
                Some(Stuck {
                    account_id: *id,
                    name: account.name.to_string(),
                    stage: stage.clone(),
                    segment: segment.clone(),
                    days: stay.days(today),
                    p75: time.p75.unwrap_or(0.0),
                    arr: account.arr(),
                })
            })
        })
        .collect();
    stuck.sort_by(|a, b| {
        (b.days as f64 - b.p75)
            .total_cmp(&(a.days as f64 - a.p75))
            .then(a.account_id.cmp(&b.account_id))
    });
    Ok(JourneyReport {
        journey,
        version,
        from,
        to,
        stages,
        elsewhere,
        churned_accounts,
        currency: crate::reports::main_currency(&accounts),
        stuck,
    })
}
