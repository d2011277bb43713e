//! The team as a leader sees it, one home for the team page and `GET /api/v1/team`: each
//! owner's workload (paying accounts per tier, their ARR, an effort estimate weighted by
//! tier, open and overdue tasks, renewals within 90 days and the ARR at risk among them)
//! and the team's open tasks per owner, overdue first. People are shown by name.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::churn::{RevenueRow, mrr_by_account};
use mikawaya_domain::account::TouchTier;
use mikawaya_domain::work::Task;
use mikawaya_domain::{Actor, ReadAccess, UserId};
use mikawaya_store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How much of a person's month an account of each tier takes, in effort points (a
/// high-touch account is about four low-touch ones; tech touch is almost free).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effort {
    /// Points per high-touch account.
    pub high: f64,
    /// Points per low-touch account.
    pub low: f64,
    /// Points per tech-touch account.
    pub tech: f64,
}

impl Default for Effort {
    fn default() -> Self {
        Effort {
            high: 8.0,
            low: 2.0,
            tech: 0.5,
        }
    }
}

/// A renewal counts as at risk below this health (or without one).
pub const AT_RISK_BELOW: f64 = 70.0;

/// One owner's workload (`owner_id` none: accounts and tasks nobody owns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// The owner.
    pub owner_id: Option<UserId>,
    /// Their name.
    pub name: Option<String>,
    /// Paying accounts per tier (`high`, `low`, `tech`, `none`).
    pub accounts: BTreeMap<String, u64>,
    /// Their ARR (in each account's currency, summed).
    pub arr: f64,
    /// Effort points: accounts weighted by [`Effort`].
    pub effort: f64,
    /// Open tasks.
    pub open_tasks: u64,
    /// Of which overdue.
    pub overdue_tasks: u64,
    /// Paying accounts renewing within 90 days.
    pub renewals: u64,
    /// Their ARR.
    pub renewing_arr: f64,
    /// Of which with health below [`AT_RISK_BELOW`] or none.
    pub arr_at_risk: f64,
}

/// One open task on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardTask {
    /// The task.
    pub task: Task,
    /// Its account's name.
    pub account: String,
    /// Whether it is overdue.
    pub overdue: bool,
}

/// The team on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// The currency most accounts are in (sums of ARR are shown in it).
    pub currency: String,
    /// The weights used.
    pub effort: Effort,
    /// Per owner, most effort first; the unowned row last.
    pub workload: Vec<Workload>,
    /// Open tasks per owner (same order), overdue first, then by due date.
    pub board: Vec<(Option<UserId>, Vec<BoardTask>)>,
}

/// Each owner's book of business on `day` (`mikawaya book`, `GET /api/v1/book`, the
/// dashboards): the paying accounts per tier, their ARR, open and overdue tasks. Owners
/// are named whoever reads (a partner's accounts are owned by the vendor's CSMs).
pub fn book(
    store: &dyn Store,
    access: &ReadAccess,
    day: Date,
) -> Result<Vec<mikawaya_playbooks::tiers::BookRow>> {
    let rows: Vec<RevenueRow> = store.revenue_rows(access)?;
    let paying = mrr_by_account(&rows, day);
    let active: Vec<mikawaya_domain::account::Account> = store
        .all_accounts(access)?
        .into_iter()
        .filter(|a| paying.get(&a.id).is_some_and(|mrr| *mrr > 0.0))
        .collect();
    let users = store.list_users(&Actor::system().read())?;
    let tasks = mikawaya_playbooks::facts::open_tasks(store, access)?;
    Ok(mikawaya_playbooks::tiers::book(
        &active, &tasks, &users, day,
    ))
}

/// What the book's sums per owner were computed from (see [`crate::kept`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BookKey {
    visibility: mikawaya_domain::Visibility,
    day: Date,
    stamp: i64,
}

/// Visible accounts summed per owner, touch tier, currency and whether they pay on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct BookGroup {
    /// The accounts' owner (as stored: possibly a user who no longer exists).
    pub owner_id: Option<UserId>,
    /// Their touch tier.
    pub tier: Option<TouchTier>,
    /// Their currency.
    pub currency: mikawaya_domain::value::Currency,
    /// Whether they pay on the day: a subscription with MRR above zero runs on it.
    pub paying: bool,
    /// How many accounts.
    pub accounts: u64,
    /// Their ARR (each account's MRR times twelve, summed).
    pub arr: f64,
    /// Of them, renewing within the asked window.
    pub renewals: u64,
    /// Their ARR.
    pub renewing_arr: f64,
    /// Of which with health below the asked bound, or none.
    pub renewing_arr_at_risk: f64,
}

/// The accounts of `book` summed per owner, tier, currency and whether they pay on `day`,
/// with their renewals in `renewals` (inclusive) and the ARR of those below health
/// `at_risk_below` (or without health); in the order of those four.
pub fn book_groups(
    book: &crate::kept::Book,
    day: Date,
    renewals: &std::ops::RangeInclusive<Date>,
    at_risk_below: f64,
) -> Vec<BookGroup> {
    type Key = (Option<UserId>, Option<&'static str>, String, bool);
    let mut groups: BTreeMap<Key, BookGroup> = BTreeMap::new();
    for facts in book.accounts.values() {
        let paying = facts
            .revenue
            .iter()
            .any(|row| row.mrr > 0.0 && row.term.is_active_on(day));
        let key = (
            facts.owner_id,
            facts.tier.map(|tier| tier.as_str()),
            facts.currency.to_string(),
            paying,
        );
        let group = groups.entry(key).or_insert_with(|| BookGroup {
            owner_id: facts.owner_id,
            tier: facts.tier,
            currency: facts.currency.clone(),
            paying,
            accounts: 0,
            arr: 0.0,
            renewals: 0,
            renewing_arr: 0.0,
            renewing_arr_at_risk: 0.0,
        });
        let arr = facts.mrr * 12.0;
        group.accounts += 1;
        group.arr += arr;
        if facts
            .renewal_date
            .is_some_and(|renewal| renewals.contains(&renewal))
        {
            group.renewals += 1;
            group.renewing_arr += arr;
            if facts.health.is_none_or(|health| health < at_risk_below) {
                group.renewing_arr_at_risk += arr;
            }
        }
    }
    groups.into_values().collect()
}

/// The team's workload and task board over the accounts `access` can see. The accounts'
/// facts are kept in `kept` and brought up to date with only the accounts changed since
/// (`kept::Books`); their sums are kept while the book stands. Owners' names and the tasks
/// are read each time.
pub fn team(
    store: &dyn Store,
    access: &ReadAccess,
    day: Date,
    effort: Effort,
    kept: &crate::kept::Sums,
) -> Result<Team> {
    let horizon = day.checked_add(jiff::Span::new().days(90)).unwrap_or(day);
    let book = kept.books.current(store, access)?;
    let key = BookKey {
        visibility: access.visibility(),
        day,
        stamp: book.stamp,
    };
    let groups = kept.team.get_or(key, || {
        Ok(book_groups(&book, day, &(day..=horizon), AT_RISK_BELOW))
    })?;
    // Owners by name, whoever reads: a partner's accounts are owned by the vendor's CSMs.
    let users = store.list_users(&Actor::system().read())?;
    let known = |id: Option<UserId>| id.filter(|id| users.iter().any(|u| u.id == *id));
    let mut workload: BTreeMap<Option<UserId>, Workload> = BTreeMap::new();
    let entry = |workload: &mut BTreeMap<Option<UserId>, Workload>, owner: Option<UserId>| {
        workload.entry(owner).or_insert_with(|| Workload {
            owner_id: owner,
            name: owner
                .and_then(|id| users.iter().find(|u| u.id == id))
                .map(|u| u.name.to_string()),
            accounts: BTreeMap::new(),
            arr: 0.0,
            effort: 0.0,
            open_tasks: 0,
            overdue_tasks: 0,
            renewals: 0,
            renewing_arr: 0.0,
            arr_at_risk: 0.0,
        });
    };
    let mut currencies: HashMap<String, u64> = HashMap::new();
    for group in groups.iter() {
        *currencies.entry(group.currency.to_string()).or_default() += group.accounts;
        if !group.paying {
            continue;
        }
        let owner = known(group.owner_id);
        entry(&mut workload, owner);
        let Some(row) = workload.get_mut(&owner) else {
            continue;
        };
        let tier = group.tier.map_or("none", |t| t.as_str());
        *row.accounts.entry(tier.to_owned()).or_default() += group.accounts;
        row.arr += group.arr;
        row.effort += group.accounts as f64
            * match group.tier {
                Some(TouchTier::High) => effort.high,
                Some(TouchTier::Low) => effort.low,
                Some(TouchTier::Tech) => effort.tech,
                None => 0.0,
            };
        row.renewals += group.renewals;
        row.renewing_arr += group.renewing_arr;
        row.arr_at_risk += group.renewing_arr_at_risk;
    }
    let open = mikawaya_playbooks::facts::open_tasks(store, access)?;
    let names = crate::names::accounts(store, access, open.iter().map(|t| t.account_id))?;
    let mut board: BTreeMap<Option<UserId>, Vec<BoardTask>> = BTreeMap::new();
    for task in open {
        let owner = known(task.owner_id);
        entry(&mut workload, owner);
        if let Some(row) = workload.get_mut(&owner) {
            row.open_tasks += 1;
            row.overdue_tasks += u64::from(task.overdue(day));
        }
        board.entry(owner).or_default().push(BoardTask {
            account: names.get(&task.account_id).cloned().unwrap_or_default(),
            overdue: task.overdue(day),
            task,
        });
    }
    for tasks in board.values_mut() {
        tasks.sort_by(|a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then(a.task.due_on.cmp(&b.task.due_on))
                .then(a.task.id.cmp(&b.task.id))
        });
    }
    let mut workload: Vec<Workload> = workload.into_values().collect();
    workload.sort_by(|a, b| {
        a.owner_id
            .is_none()
            .cmp(&b.owner_id.is_none())
            .then(b.effort.total_cmp(&a.effort))
            .then(a.name.cmp(&b.name))
    });
    let board = workload
        .iter()
        .map(|w| (w.owner_id, board.remove(&w.owner_id).unwrap_or_default()))
        .collect();
    let currency = currencies
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or_else(|| "USD".to_owned(), |(c, _)| c);
    Ok(Team {
        currency,
        effort,
        workload,
        board,
    })
}
