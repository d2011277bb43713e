//! Today: which of a person's accounts need attention, why (in words and numbers, in
//! English or Japanese), and in what order. The home page, `GET /api/v1/today`, the daily
//! digest and `mikawaya today` all read it from [`today`].
//!
//! An account needs attention on a day when at least one [`Reason`] holds (thresholds in
//! [`Policy`]). The list is ordered by
//!
//! ```text
//! priority = risk × ARR × urgency
//! risk     = 1 − health / 100 (0.5 without a score), or the forecast's churn
//!            probability when that is higher
//! ARR      = 12 × MRR in the account's currency (at least 1, so free accounts rank by risk)
//! urgency  = 1 + the sum of the reasons' weights (Reason::weight)
//! ```
//!
//! so a large account at risk with a renewal close by comes first. Accounts the person
//! snoozed (until a day, with a reason) are listed apart until then.

use crate::Result;
use jiff::civil::Date;
use mikawaya_analytics::metrics::UsageSource;
use mikawaya_domain::account::{Account, AccountFilter, AccountSort, TouchTier};
use mikawaya_domain::language::{Language, money, month_day};
use mikawaya_domain::value::Currency;
use mikawaya_domain::work::{RunStatus, SurveyKind, Task, TaskStatus};
use mikawaya_domain::{AccountId, ReadAccess, UserId};
use mikawaya_store::work::{RunFilter, Snooze, TaskFilter};
use mikawaya_store::{PageRequest, Store};
use std::collections::{BTreeMap, HashMap};

/// The priority formula in words, as the pages show it.
pub fn formula(language: Language) -> &'static str {
    language.pick(
        "priority = risk × ARR × urgency; risk = 1 − health/100 (or the forecast's churn probability when higher); urgency = 1 + the weights of the reasons (renewal within 30 days 1, within 90 days 0.5; usage down, health down, detractor, overdue playbook 0.5 each; no touch, overdue tasks 0.25 each)",
        "優先度 = リスク × ARR × 緊急度。リスク = 1 − ヘルススコア/100（解約予測の確率の方が高ければそれ）。緊急度 = 1 + 理由の重みの合計（30日以内の更新 1、90日以内 0.5、利用減少・スコア低下・批判者・プレイブック遅延 各0.5、接触なし・期限切れタスク 各0.25）",
    )
}

/// When a signal becomes a reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Active users over 30 days down at least this share (0-1) from the 30 days before.
    pub usage_drop: f64,
    /// ... and at least this many active users in the 30 days before.
    pub usage_drop_min_users: u64,
    /// Health down at least this many points over 30 days.
    pub health_drop: f64,
    /// A renewal within this many days.
    pub renewal_days: i64,
    /// No touchpoint for this many days on a high-touch account ...
    pub no_touch_high_days: i64,
    /// ... and on a low-touch (or untiered) one; tech-touch accounts are not touched by
    /// people, so silence there is no reason.
    pub no_touch_low_days: i64,
    /// An NPS answer at most this (a detractor) ...
    pub detractor_max: i64,
    /// ... within this many days.
    pub detractor_days: i64,
    /// The forecast's churn probability at least this.
    pub forecast_min: f64,
}

impl Policy {
    /// How long a tier may go without a touch (none: no limit).
    pub fn no_touch_days(&self, tier: Option<TouchTier>) -> Option<i64> {
        match tier {
            Some(TouchTier::High) => Some(self.no_touch_high_days),
            Some(TouchTier::Low) | None => Some(self.no_touch_low_days),
            Some(TouchTier::Tech) => None,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            usage_drop: 0.3,
            usage_drop_min_users: 3,
            health_drop: 10.0,
            renewal_days: 90,
            no_touch_high_days: 30,
            no_touch_low_days: 60,
            detractor_max: 6,
            detractor_days: 90,
            forecast_min: 0.2,
        }
    }
}

/// Why an account needs attention, with its numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Active users in the last 30 days fell from the 30 days before.
    ActiveUsersDown {
        /// The 30 days before.
        before: u64,
        /// The last 30 days.
        now: u64,
    },
    /// Health is red.
    HealthRed {
        /// The score as shown.
        score: i64,
    },
    /// Health fell over 30 days.
    HealthDown {
        /// 30 days ago, as shown.
        before: i64,
        /// Now, as shown.
        now: i64,
    },
    /// A renewal is near.
    Renewal {
        /// Days until it.
        days: i64,
        /// The account's ARR.
        arr: f64,
        /// Its currency.
        currency: Currency,
    },
    /// No touchpoint for a while.
    NoTouch {
        /// Days since the last one (none: never touched).
        days: Option<i64>,
    },
    /// A recent NPS answer was a detractor's.
    Detractor {
        /// The answer (0-6).
        score: i64,
        /// When.
        on: Date,
    },
    /// The forecast gives a high churn probability.
    ForecastRisk {
        /// The probability (0-1).
        probability: f64,
        /// The metrics raising it most.
        factors: Vec<String>,
    },
    /// A playbook run has overdue tasks.
    PlaybookOverdue {
        /// The playbook.
        playbook: String,
        /// The day it started.
        started: Date,
        /// Its overdue tasks.
        overdue: usize,
    },
    /// Tasks not from a playbook are overdue.
    TasksOverdue {
        /// How many.
        count: usize,
    },
}

fn percent(share: f64) -> i64 {
    (share * 100.0).round() as i64
}

/// A metric name as words: `reports_created` → `reports created`.
fn metric_words(name: &str) -> String {
    name.replace('_', " ")
}

impl Reason {
    /// A stable code for integrations (`active_users_down`, `renewal`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Reason::ActiveUsersDown { .. } => "active_users_down",
            Reason::HealthRed { .. } => "health_red",
            Reason::HealthDown { .. } => "health_down",
            Reason::Renewal { .. } => "renewal",
            Reason::NoTouch { .. } => "no_touch",
            Reason::Detractor { .. } => "detractor",
            Reason::ForecastRisk { .. } => "forecast_risk",
            Reason::PlaybookOverdue { .. } => "playbook_overdue",
            Reason::TasksOverdue { .. } => "tasks_overdue",
        }
    }

    /// What it adds to urgency (see the module doc).
    pub fn weight(&self) -> f64 {
        match self {
            Reason::Renewal { days, .. } if *days <= 30 => 1.0,
            Reason::Renewal { .. }
            | Reason::ActiveUsersDown { .. }
            | Reason::HealthDown { .. }
            | Reason::Detractor { .. }
            | Reason::PlaybookOverdue { .. } => 0.5,
            Reason::NoTouch { .. } | Reason::TasksOverdue { .. } => 0.25,
            Reason::HealthRed { .. } | Reason::ForecastRisk { .. } => 0.0,
        }
    }

    /// The reason as a sentence in a language, with its numbers.
    pub fn sentence(&self, language: Language) -> String {
        let ja = language == Language::Ja;
        match self {
            Reason::ActiveUsersDown { before, now } => {
                let drop = percent(1.0 - *now as f64 / (*before).max(1) as f64);
                if ja {
                    format!("アクティブユーザーが30日で{drop}%減少（{before} → {now}）")
                } else {
                    format!("active users down {drop}% in 30 days ({before} → {now})")
                }
            }
            Reason::HealthRed { score } => {
                if ja {
                    format!("ヘルススコア{score}（赤）")
                } else {
                    format!("health {score} (red)")
                }
            }
            Reason::HealthDown { before, now } => {
                let points = before - now;
                if ja {
                    format!("ヘルススコアが30日で{points}ポイント低下（{before} → {now}）")
                } else {
                    format!("health down {points} points in 30 days ({before} → {now})")
                }
            }
            Reason::Renewal {
                days,
                arr,
                currency,
            } => {
                let arr = money(*arr, currency);
                match (days, ja) {
                    (0, true) => format!("本日更新、ARR {arr}"),
                    (0, false) => format!("renewal today, ARR {arr}"),
                    (1, false) => format!("renewal tomorrow, ARR {arr}"),
                    (days, true) => format!("{days}日後に更新、ARR {arr}"),
                    (days, false) => format!("renewal in {days} days, ARR {arr}"),
                }
            }
            Reason::NoTouch { days } => match (days, ja) {
                (Some(days), true) => format!("{days}日間接触なし"),
                (Some(days), false) => format!("no touch for {days} days"),
                (None, true) => "接触の記録なし".to_owned(),
                (None, false) => "never touched".to_owned(),
            },
            Reason::Detractor { score, on } => {
                let on = month_day(*on, language);
                if ja {
                    format!("{on}のNPSで批判者（{score}点）")
                } else {
                    format!("detractor (NPS {score}) on {on}")
                }
            }
            Reason::ForecastRisk {
                probability,
                factors,
            } => {
                let risk = percent(*probability);
                let factors: Vec<String> = factors.iter().map(|f| metric_words(f)).collect();
                match (factors.is_empty(), ja) {
                    (true, true) => format!("解約予測リスク{risk}%"),
                    (true, false) => format!("forecast churn risk {risk}%"),
                    (false, true) => format!("解約予測リスク{risk}%：{}", factors.join("、")),
                    (false, false) => {
                        format!("forecast churn risk {risk}%: {}", factors.join(", "))
                    }
                }
            }
            Reason::PlaybookOverdue {
                playbook,
                started,
                overdue,
            } => {
                let started = month_day(*started, language);
                match (overdue, ja) {
                    (n, true) => {
                        format!("プレイブック「{playbook}」（{started}開始）：期限切れタスク{n}件")
                    }
                    (1, false) => {
                        format!("playbook {playbook} started {started}: 1 task overdue")
                    }
                    (n, false) => {
                        format!("playbook {playbook} started {started}: {n} tasks overdue")
                    }
                }
            }
            Reason::TasksOverdue { count } => match (count, ja) {
                (n, true) => format!("期限切れタスク{n}件"),
                (1, false) => "1 task overdue".to_owned(),
                (n, false) => format!("{n} tasks overdue"),
            },
        }
    }
}

/// An active playbook run on an account, as Today sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    /// The playbook.
    pub playbook: String,
    /// The day it started.
    pub started: Date,
    /// Its open tasks past their due day.
    pub overdue: usize,
}

/// What is known about one account on a day: the inputs of [`reasons`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evidence {
    /// Health in force.
    pub health: Option<f64>,
    /// Health minus health 30 days before.
    pub health_change: Option<f64>,
    /// Churn probability and its top factors.
    pub forecast: Option<(f64, Vec<String>)>,
    /// Active users in the 30 days before the last 30, and in the last 30.
    pub active_users: Option<(u64, u64)>,
    /// The day of the last touchpoint.
    pub last_touch: Option<Date>,
    /// The latest NPS answer and its day.
    pub latest_nps: Option<(i64, Date)>,
    /// Active playbook runs.
    pub runs: Vec<RunState>,
    /// Overdue open tasks not from a run.
    pub overdue_tasks: usize,
}

/// The reasons an account needs attention on `day`, most urgent first.
pub fn reasons(account: &Account, evidence: &Evidence, day: Date, policy: &Policy) -> Vec<Reason> {
    let shown = mikawaya_domain::health::shown;
    let mut found = Vec::new();
    if let Some(renewal) = account.renewal_date {
        let days = days_between(day, renewal);
        if (0..=policy.renewal_days).contains(&days) {
            found.push(Reason::Renewal {
                days,
                arr: account.arr(),
                currency: account.currency.clone(),
            });
        }
    }
    if let Some((before, now)) = evidence.active_users
        && before >= policy.usage_drop_min_users
        && (now as f64) <= before as f64 * (1.0 - policy.usage_drop)
    {
        found.push(Reason::ActiveUsersDown { before, now });
    }
    if let Some(health) = evidence.health {
        if let Some(change) = evidence.health_change
            && change <= -policy.health_drop
        {
            found.push(Reason::HealthDown {
                before: shown(health - change),
                now: shown(health),
            });
        } else if health < 40.0 {
            found.push(Reason::HealthRed {
                score: shown(health),
            });
        }
    }
    if let Some((probability, factors)) = &evidence.forecast
        && *probability >= policy.forecast_min
    {
        found.push(Reason::ForecastRisk {
            probability: *probability,
            factors: factors.clone(),
        });
    }
    if let Some((score, on)) = evidence.latest_nps
        && score <= policy.detractor_max
        && days_between(on, day) <= policy.detractor_days
    {
        found.push(Reason::Detractor { score, on });
    }
    for run in &evidence.runs {
        if run.overdue > 0 {
            found.push(Reason::PlaybookOverdue {
                playbook: run.playbook.clone(),
                started: run.started,
                overdue: run.overdue,
            });
        }
    }
    if evidence.overdue_tasks > 0 {
        found.push(Reason::TasksOverdue {
            count: evidence.overdue_tasks,
        });
    }
    if let Some(limit) = policy.no_touch_days(account.tier) {
        let days = evidence.last_touch.map(|touch| days_between(touch, day));
        if days.is_none_or(|days| days >= limit) {
            found.push(Reason::NoTouch { days });
        }
    }
    found.sort_by(|a, b| b.weight().total_cmp(&a.weight()));
    found
}

/// The parts of an account's priority, so a page can show how it was reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Priority {
    /// 0-1.
    pub risk: f64,
    /// ARR (at least 1).
    pub arr: f64,
    /// 1 and up.
    pub urgency: f64,
    /// risk × ARR × urgency.
    pub value: f64,
}

/// The priority of an account with its reasons (see the module doc).
pub fn priority(account: &Account, evidence: &Evidence, reasons: &[Reason]) -> Priority {
    let from_health = evidence
        .health
        .map_or(0.5, |h| (1.0 - h / 100.0).clamp(0.0, 1.0));
    let risk = evidence
        .forecast
        .as_ref()
        .map_or(from_health, |(p, _)| from_health.max(*p));
    let arr = account.arr().max(1.0);
    let urgency = 1.0 + reasons.iter().map(Reason::weight).sum::<f64>();
    Priority {
        risk,
        arr,
        urgency,
        value: risk * arr * urgency,
    }
}

/// One account in the Today list.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The account (with its signals).
    pub account: Account,
    /// Why, most urgent first.
    pub reasons: Vec<Reason>,
    /// Its priority.
    pub priority: Priority,
}

/// Whose accounts a Today lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The accounts a user owns (a CSM's book), with their tasks and snoozes.
    Owner(UserId),
    /// Every account the caller's access sees (a partner's), with their tasks, and this
    /// person's snoozes.
    Visible(UserId),
}

impl Whose {
    /// The person whose snoozes apply.
    pub fn person(self) -> UserId {
        match self {
            Whose::Owner(person) | Whose::Visible(person) => person,
        }
    }
}

/// A person's Today.
#[derive(Debug, Clone, PartialEq)]
pub struct Today {
    /// The day.
    pub day: Date,
    /// Whose accounts.
    pub whose: Whose,
    /// Accounts that need attention, highest priority first.
    pub items: Vec<Item>,
    /// Accounts that would, hidden by the person until a day.
    pub snoozed: Vec<(Item, Snooze)>,
    /// Their active accounts renewing within 30 days, soonest first.
    pub renewals: Vec<Account>,
    /// Their open tasks due within 7 days (overdue ones included), soonest first.
    pub tasks_due: Vec<Task>,
    /// Active accounts looked at.
    pub accounts: usize,
}

/// Every row of a paged list, page after page.
fn every<T>(
    mut fetch: impl FnMut(&PageRequest) -> mikawaya_store::Result<mikawaya_store::Page<T>>,
) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let found = fetch(&page)?;
        rows.extend(found.data);
        match found.next_cursor {
            Some(cursor) => page = PageRequest::new(Some(1000), Some(&cursor))?,
            None => return Ok(rows),
        }
    }
}

fn every_account(
    store: &dyn Store,
    access: &ReadAccess,
    filter: &AccountFilter,
) -> Result<Vec<Account>> {
    every(|page| store.list_accounts(access, filter, AccountSort::default(), page))
}

fn every_task(store: &dyn Store, access: &ReadAccess, filter: &TaskFilter) -> Result<Vec<Task>> {
    every(|page| store.list_tasks(access, filter, page))
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
fn days_between(from: Date, to: Date) -> i64 {
    i64::from((to - from).get_days())
}

fn days_before(day: Date, days: i64) -> Date {
    mikawaya_domain::value::add_days(day, days.saturating_neg()).unwrap_or(day)
}

/// The Today of `owner` on `day`: their active accounts that need attention, ranked, with
/// their reasons; their snoozed ones; renewals within 30 days and tasks due within 7.
/// `day_of` turns an instant into a business day (the data dir's clock).
pub fn today(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    whose: Whose,
    day: Date,
    day_of: &dyn Fn(jiff::Timestamp) -> Date,
    policy: &Policy,
) -> Result<Today> {
    let (owner, person) = match whose {
        Whose::Owner(owner) => (Some(owner), owner),
        Whose::Visible(person) => (None, person),
    };
    let accounts = every_account(
        store,
        access,
        &AccountFilter {
            owner_id: owner,
            churned: Some(false),
            ..AccountFilter::default()
        },
    )?;
    let tasks = every_task(
        store,
        access,
        &TaskFilter {
            owner_id: owner,
            status: Some(TaskStatus::Open),
            ..TaskFilter::default()
        },
    )?;
    let runs = store.list_runs(
        access,
        &RunFilter {
            status: Some(RunStatus::Active),
            ..RunFilter::default()
        },
    )?;
    let evidence = evidence_for(
        store, access, usage, &accounts, &tasks, &runs, day, day_of, policy,
    )?;
    let snoozes: BTreeMap<AccountId, Snooze> = store
        .snoozes(access, person, day)?
        .into_iter()
        .map(|s| (s.account_id, s))
        .collect();
    let mut items = Vec::new();
    let mut snoozed = Vec::new();
    for (account, evidence) in accounts.iter().zip(&evidence) {
        let found = reasons(account, evidence, day, policy);
        if found.is_empty() {
            continue;
        }
        let item = Item {
            priority: priority(account, evidence, &found),
            account: account.clone(),
            reasons: found,
        };
        match snoozes.get(&account.id) {
            Some(snooze) => snoozed.push((item, snooze.clone())),
            None => items.push(item),
        }
    }
    items.sort_by(|a, b| {
        b.priority
            .value
            .total_cmp(&a.priority.value)
            .then_with(|| a.account.id.cmp(&b.account.id))
    });
    let month_ahead = day.checked_add(jiff::Span::new().days(30)).unwrap_or(day);
    let mut renewals: Vec<Account> = accounts
        .iter()
        .filter(|a| a.renewal_date.is_some_and(|r| r >= day && r <= month_ahead))
        .cloned()
        .collect();
    renewals.sort_by_key(|a| (a.renewal_date, a.id));
    let week_ahead = day.checked_add(jiff::Span::new().days(7)).unwrap_or(day);
    let mut tasks_due: Vec<Task> = tasks
        .into_iter()
        .filter(|t| t.due_on <= week_ahead && t.snoozed_until.is_none_or(|s| s <= day))
        .collect();
    tasks_due.sort_by_key(|t| (t.due_on, t.id));
    Ok(Today {
        day,
        whose,
        items,
        snoozed,
        renewals,
        tasks_due,
        accounts: accounts.len(),
    })
}

/// What is known about each of `accounts` on `day`, from their signals, usage, NPS
/// answers, active runs and the given open tasks.
#[allow(clippy::too_many_arguments)]
fn evidence_for(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    accounts: &[Account],
    open_tasks: &[Task],
    active_runs: &[mikawaya_store::work::Run],
    day: Date,
    day_of: &dyn Fn(jiff::Timestamp) -> Date,
    policy: &Policy,
) -> Result<Vec<Evidence>> {
    let wanted: HashMap<AccountId, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id, i))
        .collect();
    let mut overdue_by_run: HashMap<i64, usize> = HashMap::new();
    let mut overdue_alone: HashMap<AccountId, usize> = HashMap::new();
    for task in open_tasks.iter().filter(|t| t.overdue(day)) {
        match task.run_id {
            Some(run) => *overdue_by_run.entry(run).or_default() += 1,
            None => *overdue_alone.entry(task.account_id).or_default() += 1,
        }
    }
    let mut runs_by_account: HashMap<AccountId, Vec<RunState>> = HashMap::new();
    for run in active_runs
        .iter()
        .filter(|r| wanted.contains_key(&r.account_id))
    {
        runs_by_account
            .entry(run.account_id)
            .or_default()
            .push(RunState {
                playbook: run.playbook.clone(),
                started: run.fired_on,
                overdue: overdue_by_run.get(&run.id).copied().unwrap_or(0),
            });
    }
    let since = day_start(days_before(day, policy.detractor_days));
    let mut latest_nps: HashMap<AccountId, (i64, Date)> = HashMap::new();
    let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
    for answer in store.survey_responses(access, Some(&ids), since)? {
        if answer.kind == SurveyKind::Nps && wanted.contains_key(&answer.account_id) {
            // Oldest first: the last one written wins.
            latest_nps.insert(
                answer.account_id,
                (answer.score, day_of(answer.answered_at)),
            );
        }
    }
    let (recent_from, earlier_from, earlier_to) = (
        days_before(day, 29),
        days_before(day, 59),
        days_before(day, 30),
    );
    Ok(accounts
        .iter()
        .map(|account| {
            let signals = &account.signals;
            Evidence {
                health: signals.health,
                health_change: signals.health_change,
                forecast: signals
                    .forecast_risk
                    .map(|p| (p, signals.forecast_factors.clone())),
                active_users: account.external_id.as_ref().map(|key| {
                    (
                        usage.distinct_users(key.as_str(), earlier_from, earlier_to),
                        usage.distinct_users(key.as_str(), recent_from, day),
                    )
                }),
                last_touch: signals.last_touch.map(day_of),
                latest_nps: latest_nps.get(&account.id).copied(),
                runs: runs_by_account.remove(&account.id).unwrap_or_default(),
                overdue_tasks: overdue_alone.get(&account.id).copied().unwrap_or(0),
            }
        })
        .collect())
}

/// One visible account's reasons and priority on `day` (as Today would list it, whoever
/// owns it), for Customer 360.
pub fn account_reasons(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    account: AccountId,
    day: Date,
    day_of: &dyn Fn(jiff::Timestamp) -> Date,
    policy: &Policy,
) -> Result<(Vec<Reason>, Priority)> {
    let account = store.get_account(access, account)?;
    let tasks = every_task(
        store,
        access,
        &TaskFilter {
            account_id: Some(account.id),
            status: Some(TaskStatus::Open),
            ..TaskFilter::default()
        },
    )?;
    let runs = store.list_runs(
        access,
        &RunFilter {
            account_id: Some(account.id),
            status: Some(RunStatus::Active),
            ..RunFilter::default()
        },
    )?;
    let accounts = [account];
    let evidence = evidence_for(
        store, access, usage, &accounts, &tasks, &runs, day, day_of, policy,
    )?;
    let evidence = evidence.into_iter().next().unwrap_or_default();
    let found = reasons(&accounts[0], &evidence, day, policy);
    let priority = priority(&accounts[0], &evidence, &found);
    Ok((found, priority))
}

/// The first instant of a day in UTC: survey answers are looked up a little generously.
fn day_start(day: Date) -> jiff::Timestamp {
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(jiff::Timestamp::UNIX_EPOCH, |z| z.timestamp())
}
