//! Touch tiers and ownership: rules that put each paying account in high, low or tech
//! touch by ARR, and give high- and low-touch accounts an owner CSM, round-robin within
//! the team while respecting each CSM's capacity per tier. Plus the book of business:
//! what each CSM carries.

use jiff::civil::Date;
use mikawaya_domain::account::{Account, TouchTier};
use mikawaya_domain::user::User;
use mikawaya_domain::work::{Task, TaskStatus};
use mikawaya_domain::{AccountId, Invalid, UserId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One tier rule: accounts with ARR at least `min_arr` (the highest matching rule wins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// The tier.
    pub tier: TouchTier,
    /// Lowest ARR.
    pub min_arr: f64,
}

/// Tier and ownership rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRules {
    /// Tier rules; accounts below every rule are tech touch.
    pub tiers: Vec<TierRule>,
    /// Accounts one CSM can own per tier (tiers not listed get no owner).
    pub capacity: BTreeMap<String, usize>,
    /// Also move accounts whose owner is already set (default: keep owners).
    #[serde(default)]
    pub rebalance: bool,
}

impl TierRules {
    /// A sensible default: ARR ≥ 1,000,000 high touch, ≥ 200,000 low touch, the rest tech
    /// touch; a CSM owns up to 20 high-touch and 80 low-touch accounts.
    pub fn standard() -> TierRules {
        TierRules {
            tiers: vec![
                TierRule {
                    tier: TouchTier::High,
                    min_arr: 1_000_000.0,
                },
                TierRule {
                    tier: TouchTier::Low,
                    min_arr: 200_000.0,
                },
            ],
            capacity: BTreeMap::from([("high".to_owned(), 20), ("low".to_owned(), 80)]),
            rebalance: false,
        }
    }

    /// Checks the rules.
    pub fn check(&self) -> Result<(), Invalid> {
        for (index, rule) in self.tiers.iter().enumerate() {
            if !(rule.min_arr.is_finite() && rule.min_arr >= 0.0) {
                return Err(Invalid::new(
                    format!("tiers[{index}].min_arr"),
                    "must be a number ≥ 0",
                ));
            }
        }
        for key in self.capacity.keys() {
            TouchTier::parse(key).map_err(|e| Invalid::new(format!("capacity.{key}"), e.reason))?;
        }
        Ok(())
    }

    /// The tier for an ARR.
    pub fn tier_for(&self, arr: f64) -> TouchTier {
        self.tiers
            .iter()
            .filter(|rule| arr >= rule.min_arr)
            .max_by(|a, b| a.min_arr.total_cmp(&b.min_arr))
            .map_or(TouchTier::Tech, |rule| rule.tier)
    }
}

/// A change the rules make to an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub account_name: String,
    /// New tier, when it changes.
    pub tier: Option<TouchTier>,
    /// New owner, when it changes.
    pub owner_id: Option<UserId>,
}

/// The outcome of applying the rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Changes to make.
    pub assignments: Vec<Assignment>,
    /// Accounts that need an owner but every CSM is at capacity.
    pub over_capacity: Vec<AccountId>,
}

/// Applies tier and ownership rules to the paying accounts (`paying` says which).
pub fn plan(
    rules: &TierRules,
    accounts: &[Account],
    csms: &[User],
    paying: impl Fn(&Account) -> bool,
) -> Plan {
    let mut load: HashMap<(UserId, TouchTier), usize> = HashMap::new();
    let csm_ids: Vec<UserId> = csms.iter().map(|u| u.id).collect();
    let mut candidates: Vec<(&Account, TouchTier)> = accounts
        .iter()
        .filter(|a| paying(a))
        .map(|a| (a, rules.tier_for(a.arr())))
        .collect();
    // Largest first, so the biggest accounts get owners when capacity runs out.
    candidates.sort_by(|(a, _), (b, _)| b.arr().total_cmp(&a.arr()).then(a.id.cmp(&b.id)));
    let capacity = |tier: TouchTier| rules.capacity.get(tier.as_str()).copied();
    let mut needs_owner = Vec::new();
    let mut changes: BTreeMap<AccountId, Assignment> = BTreeMap::new();
    for (account, tier) in &candidates {
        if account.tier != Some(*tier) {
            changes
                .entry(account.id)
                .or_insert_with(|| blank(account))
                .tier = Some(*tier);
        }
        if capacity(*tier).is_none() {
            continue;
        }
        match account.owner_id {
            Some(owner) if csm_ids.contains(&owner) && !rules.rebalance => {
                *load.entry((owner, *tier)).or_default() += 1;
            }
            _ => needs_owner.push((*account, *tier)),
        }
    }
    let mut next = 0usize;
    let mut over_capacity = Vec::new();
    for (account, tier) in needs_owner {
        let limit = capacity(tier).unwrap_or(0);
        let chosen = (0..csm_ids.len())
            .map(|offset| csm_ids[(next + offset) % csm_ids.len()])
            .find(|csm| load.get(&(*csm, tier)).copied().unwrap_or(0) < limit);
        match chosen {
            Some(csm) => {
                *load.entry((csm, tier)).or_default() += 1;
                next = csm_ids
                    .iter()
                    .position(|id| *id == csm)
                    .map_or(0, |i| i + 1);
                if account.owner_id != Some(csm) {
                    changes
                        .entry(account.id)
                        .or_insert_with(|| blank(account))
                        .owner_id = Some(csm);
                }
            }
            None => over_capacity.push(account.id),
        }
    }
    Plan {
        assignments: changes.into_values().collect(),
        over_capacity,
    }
}

fn blank(account: &Account) -> Assignment {
    Assignment {
        account_id: account.id,
        account_name: account.name.to_string(),
        tier: None,
        owner_id: None,
    }
}

/// What one CSM carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookRow {
    /// The CSM (none: unowned accounts).
    pub owner_id: Option<UserId>,
    /// Their email.
    pub owner_email: Option<String>,
    /// Their name.
    #[serde(default)]
    pub owner_name: Option<String>,
    /// Accounts owned, per tier.
    pub accounts: BTreeMap<String, usize>,
    /// Total ARR of those accounts.
    pub arr: f64,
    /// Open tasks.
    pub open_tasks: usize,
    /// Open tasks past due.
    pub overdue_tasks: usize,
}

/// The book of business of every owner, by name; accounts and tasks whose owner is not
/// among `users` count as unowned (one row).
pub fn book(accounts: &[Account], tasks: &[Task], users: &[User], today: Date) -> Vec<BookRow> {
    let mut rows: BTreeMap<Option<UserId>, BookRow> = BTreeMap::new();
    let user = |id: Option<UserId>| id.and_then(|id| users.iter().find(|u| u.id == id));
    let known = |id: Option<UserId>| user(id).map(|u| u.id);
    let row = |rows: &mut BTreeMap<Option<UserId>, BookRow>, id: Option<UserId>| {
        rows.entry(id).or_insert_with(|| BookRow {
            owner_id: id,
            owner_email: user(id).map(|u| u.email.to_string()),
            owner_name: user(id).map(|u| u.name.to_string()),
            accounts: BTreeMap::new(),
            arr: 0.0,
            open_tasks: 0,
            overdue_tasks: 0,
        });
    };
    for account in accounts {
        let owner = known(account.owner_id);
        row(&mut rows, owner);
        let Some(entry) = rows.get_mut(&owner) else {
            continue;
        };
        *entry
            .accounts
            .entry(account.tier.map_or("none", |t| t.as_str()).to_owned())
            .or_default() += 1;
        entry.arr += account.arr();
    }
    for task in tasks.iter().filter(|t| t.status == TaskStatus::Open) {
        let owner = known(task.owner_id);
        row(&mut rows, owner);
        let Some(entry) = rows.get_mut(&owner) else {
            continue;
        };
        entry.open_tasks += 1;
        entry.overdue_tasks += usize::from(task.overdue(today));
    }
    rows.into_values().collect()
}

/// Plans tier and owner changes for the accounts paying on `day` (or without any
/// subscription) and, unless `dry_run`, applies them.
pub fn apply(
    store: &dyn mikawaya_store::Store,
    access: &mikawaya_domain::WriteAccess,
    rules: &TierRules,
    dry_run: bool,
    day: Date,
) -> crate::Result<Plan> {
    let read = access.read();
    let accounts = store.all_accounts(&read)?;
    let csms: Vec<User> = store
        .list_users(&read)?
        .into_iter()
        .filter(|u| u.role == mikawaya_domain::access::Role::Csm)
        .collect();
    let subscriptions = store.all_subscriptions(&read)?;
    let paying: std::collections::HashSet<AccountId> = subscriptions
        .iter()
        .filter(|s| s.term.is_active_on(day) && s.mrr.amount() > 0.0)
        .map(|s| s.account_id)
        .collect();
    let any_subscriptions: std::collections::HashSet<AccountId> =
        subscriptions.iter().map(|s| s.account_id).collect();
    let plan = plan(rules, &accounts, &csms, |a| {
        paying.contains(&a.id) || !any_subscriptions.contains(&a.id)
    });
    if !dry_run {
        for assignment in &plan.assignments {
            let patch = mikawaya_domain::account::AccountPatch {
                tier: assignment
                    .tier
                    .map_or(mikawaya_domain::Patch::Keep, mikawaya_domain::Patch::Set),
                owner_id: assignment
                    .owner_id
                    .map_or(mikawaya_domain::Patch::Keep, mikawaya_domain::Patch::Set),
                ..mikawaya_domain::account::AccountPatch::default()
            };
            store.update_account(access, assignment.account_id, patch)?;
        }
    }
    Ok(plan)
}
