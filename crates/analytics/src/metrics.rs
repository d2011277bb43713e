//! Behavioural metrics, per account as of an observation date `d`, over the window of the
//! `w` days before `d` (default 28): events at instants `t` with `d - w days <= t < d`,
//! with `d` at 00:00 in the rollup time zone, i.e. the whole days `d - w` to `d - 1`.
//!
//! | kind | value | when there is no value |
//! |---|---|---|
//! | `count` | events of one name (`*`: any name) in the window | never (0) |
//! | `sum` | sum of one numeric property of one event in the window | never (0) |
//! | `distinct_users` | distinct users active (any event) in the window | never (0) |
//! | `ratio` | numerator metric / denominator metric | missing when the denominator is 0 |
//! | `pct_change` | 100 × (latest window − the window before) / the window before, of another metric | missing when the window before is 0 |
//! | `days_since` | days from the last event (of one name, or any) to `d`; yesterday is 1 (with `through_observation_day`, events on `d` itself count too and give 0) | missing when there was none in the horizon |
//! | `per_month` | events per 30 days: count in the window × 30 / `w`, or × 30 / tenure for accounts younger than the window | missing when tenure is under `min_tenure_days` (default 1) |
//! | `per_period` | the same scaled to a period of `period_days` (a 28-day average observed over 84 days: `window_days` 84, `period_days` 28), of events or, with `property`, of a property's sum | as `per_month` |
//! | `mrr` | MRR of the subscriptions active on `d` (account fact) | never (0) with facts; missing without them |
//! | `seats` | seats (quantity) of the subscriptions active on `d` | as `mrr` |
//! | `tenure_days` | days from the account's first day to `d` | missing without a first day |
//!
//! An account's first day (tenure, and the scaling of young accounts) is the start of its
//! first subscription; without billing data, its contract start.
//! | `days_since_touch` | days from the last touchpoint before `d` to `d` | missing when there was none |
//! | `nps`, `csat`, `ces` | the latest answer of that survey in the window | missing when none |
//! | `pulse` | the latest manual pulse (a CSM's 0-100 judgement with a reason) in the window | missing when none |
//!
//! Count, sum, per_month, per_period and days_since of one event take conditions on the event's
//! properties (`where`, see [`mikawaya_usage::filter`]): only matching events count.
//!
//! Definitions are configuration: [`MetricSpec`] is what people write, [`Metric`] the
//! checked form the engine takes.

use jiff::civil::Date;
use mikawaya_domain::value::Slug;
use mikawaya_domain::{AccountId, Invalid};
use mikawaya_usage::filter::{Condition, EventFilter};
use mikawaya_usage::rollup::Rollups;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How far back `days_since` looks.
pub const DAYS_SINCE_HORIZON: i32 = 3 * 366;

/// An account as the metrics see it: its id (how analytics names accounts everywhere), the
/// key its product usage is recorded under (its external id, the Segment `groupId`; none:
/// it has no usage), and the first day of its tenure.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// The account.
    pub id: AccountId,
    /// Its usage key; `None` when it has no external id, so no usage can be attributed.
    pub usage_key: Option<String>,
    /// First day of tenure (per-month scaling, tenure).
    pub tenure_start: Option<Date>,
}

impl Subject {
    /// The subject of a stored account (tenure from its contract start).
    pub fn of(account: &mikawaya_domain::account::Account) -> Subject {
        Subject {
            id: account.id,
            usage_key: account.external_id.as_ref().map(ToString::to_string),
            tenure_start: account.contract_start,
        }
    }
}

/// What the metrics read: daily usage totals of an account, by its usage key.
pub trait UsageSource: Sync {
    /// Events (of one name, or all) on the days `from` to `to` inclusive.
    fn count(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> u64;
    /// Sum of a numeric property of one event on those days.
    fn sum(&self, account: &str, event: &str, property: &str, from: Date, to: Date) -> f64;
    /// Distinct users active on those days (any event).
    fn distinct_users(&self, account: &str, from: Date, to: Date) -> u64;
    /// The last day before `before` with an event (of one name, or any).
    fn last_event_day(&self, account: &str, event: Option<&str>, before: Date) -> Option<Date>;
    /// Daily totals, one per day from `from` to `to` inclusive: events (of one name, or
    /// all), or with `property` the sum of that property of one event. The default asks
    /// [`UsageSource::count`] and [`UsageSource::sum`] day by day.
    fn daily(
        &self,
        account: &str,
        event: Option<&str>,
        property: Option<&str>,
        from: Date,
        to: Date,
    ) -> Vec<f64> {
        let mut totals = Vec::new();
        let mut day = from;
        while day <= to {
            totals.push(match (event, property) {
                (Some(event), Some(property)) => self.sum(account, event, property, day, day),
                (_, Some(_)) => 0.0,
                (event, None) => self.count(account, event, day, day) as f64,
            });
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        totals
    }
    /// The days from `from` to `to` inclusive with at least one event (of one name, or
    /// any), ascending, as day numbers (days since 1970-01-01). The default reads
    /// [`UsageSource::daily`].
    fn event_days(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> Vec<i64> {
        let start = day_number(from);
        self.daily(account, event, None, from, to)
            .iter()
            .enumerate()
            .filter(|(_, total)| **total > 0.0)
            .map(|(index, _)| start + index as i64)
            .collect()
    }
    /// The users active each day from `from` to `to` inclusive (any event), as sorted
    /// dense numbers; `None` when the source cannot tell users apart (then distinct users
    /// are computed date by date).
    fn daily_users(&self, _account: &str, _from: Date, _to: Date) -> Option<Vec<&[u32]>> {
        None
    }
    /// A number that moves only when usage on the days up to `day` changes (none when the
    /// source cannot tell): what read that usage may be kept while it stands.
    fn changes_through(&self, _day: Date) -> Option<u64> {
        None
    }
    /// The names of the events the source has seen, most frequent first (none when it
    /// cannot list them).
    fn event_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// The names of the events some accounts sent (by usage key), most frequent first.
    fn event_names_of(&self, _accounts: &[&str]) -> Vec<String> {
        Vec::new()
    }
    /// The first day of an account's first subscription; none when the source has no
    /// billing data for it.
    fn first_subscription_day(&self, _account: AccountId) -> Option<Date> {
        None
    }
    /// An account-level fact on a day (MRR, seats, the last touchpoint); none when the
    /// source does not know it (usage alone knows no account facts).
    fn account_fact(
        &self,
        _account: AccountId,
        _fact: AccountFact,
        _day: Date,
        _window_days: u32,
    ) -> Option<f64> {
        None
    }
}

/// Account-level facts that are metrics too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountFact {
    /// MRR of the subscriptions active on the day.
    Mrr,
    /// Seats (quantity) of the subscriptions active on the day.
    Seats,
    /// Days from the last touchpoint before the day to the day.
    DaysSinceTouch,
    /// The latest answer of a survey in the window.
    Survey(mikawaya_domain::work::SurveyKind),
    /// The latest manual pulse (0-100) in the window.
    Pulse,
}

/// Usage plus the account facts read from the store: what metrics of every kind read.
pub struct WithFacts<'a> {
    /// The usage rollups.
    pub usage: &'a dyn UsageSource,
    /// The facts.
    pub facts: &'a AccountFacts,
}

/// Per account: subscription rows and touchpoint days.
#[derive(Debug, Clone, Default)]
pub struct AccountFacts {
    rows:
        std::collections::HashMap<AccountId, Vec<(f64, f64, mikawaya_domain::subscription::Term)>>,
    touches: std::collections::HashMap<AccountId, Vec<Date>>,
    /// Answers per account: (day, survey, score), by day.
    surveys:
        std::collections::HashMap<AccountId, Vec<(Date, mikawaya_domain::work::SurveyKind, f64)>>,
    /// Pulses per account: (day, score), by day.
    pulses: std::collections::HashMap<AccountId, Vec<(Date, f64)>>,
}

impl AccountFacts {
    /// Builds the facts from (account, MRR, seats, term) rows and (account, day) touches.
    pub fn new(
        rows: impl IntoIterator<Item = (AccountId, f64, f64, mikawaya_domain::subscription::Term)>,
        touches: impl IntoIterator<Item = (AccountId, Date)>,
    ) -> AccountFacts {
        let mut facts = AccountFacts::default();
        for (account, mrr, seats, term) in rows {
            facts
                .rows
                .entry(account)
                .or_default()
                .push((mrr, seats, term));
        }
        for (account, day) in touches {
            facts.touches.entry(account).or_default().push(day);
        }
        for days in facts.touches.values_mut() {
            days.sort();
        }
        facts
    }

    /// Adds survey answers: (account, day, survey, score).
    #[must_use]
    pub fn with_surveys(
        mut self,
        answers: impl IntoIterator<Item = (AccountId, Date, mikawaya_domain::work::SurveyKind, f64)>,
    ) -> AccountFacts {
        for (account, day, kind, score) in answers {
            self.surveys
                .entry(account)
                .or_default()
                .push((day, kind, score));
        }
        for answers in self.surveys.values_mut() {
            answers.sort_by_key(|(day, _, _)| *day);
        }
        self
    }

    /// Adds manual pulses: (account, day, score).
    #[must_use]
    pub fn with_pulses(
        mut self,
        pulses: impl IntoIterator<Item = (AccountId, Date, f64)>,
    ) -> AccountFacts {
        for (account, day, score) in pulses {
            self.pulses.entry(account).or_default().push((day, score));
        }
        for pulses in self.pulses.values_mut() {
            pulses.sort_by_key(|(day, _)| *day);
        }
        self
    }

    fn fact(
        &self,
        account: AccountId,
        fact: AccountFact,
        day: Date,
        window_days: u32,
    ) -> Option<f64> {
        let from = day
            .checked_sub(jiff::Span::new().days(i64::from(window_days)))
            .ok()?;
        let in_window = |d: &Date| *d >= from && *d < day;
        match fact {
            AccountFact::Mrr | AccountFact::Seats => Some(
                self.rows
                    .get(&account)
                    .map(|rows| {
                        rows.iter()
                            .filter(|(_, _, term)| term.is_active_on(day))
                            .map(|(mrr, seats, _)| {
                                if fact == AccountFact::Mrr {
                                    *mrr
                                } else {
                                    *seats
                                }
                            })
                            // From 0 (an empty f64 sum is -0, which would print "-0").
                            .fold(0.0, |total, value| total + value)
                    })
                    .unwrap_or(0.0),
            ),
            AccountFact::DaysSinceTouch => {
                let days = self.touches.get(&account)?;
                let last = days[..days.partition_point(|d| *d < day)].last()?;
                Some(f64::from((day - *last).get_days()))
            }
            AccountFact::Survey(kind) => self
                .surveys
                .get(&account)?
                .iter()
                .rev()
                .find(|(d, k, _)| *k == kind && in_window(d))
                .map(|(_, _, score)| *score),
            AccountFact::Pulse => self
                .pulses
                .get(&account)?
                .iter()
                .rev()
                .find(|(d, _)| in_window(d))
                .map(|(_, score)| *score),
        }
    }
}

impl UsageSource for WithFacts<'_> {
    fn count(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> u64 {
        self.usage.count(account, event, from, to)
    }
    fn sum(&self, account: &str, event: &str, property: &str, from: Date, to: Date) -> f64 {
        self.usage.sum(account, event, property, from, to)
    }
    fn distinct_users(&self, account: &str, from: Date, to: Date) -> u64 {
        self.usage.distinct_users(account, from, to)
    }
    fn daily(
        &self,
        account: &str,
        event: Option<&str>,
        property: Option<&str>,
        from: Date,
        to: Date,
    ) -> Vec<f64> {
        self.usage.daily(account, event, property, from, to)
    }
    fn daily_users(&self, account: &str, from: Date, to: Date) -> Option<Vec<&[u32]>> {
        self.usage.daily_users(account, from, to)
    }
    fn event_days(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> Vec<i64> {
        self.usage.event_days(account, event, from, to)
    }
    fn changes_through(&self, day: Date) -> Option<u64> {
        self.usage.changes_through(day)
    }
    fn event_names(&self) -> Vec<String> {
        self.usage.event_names()
    }
    fn event_names_of(&self, accounts: &[&str]) -> Vec<String> {
        self.usage.event_names_of(accounts)
    }
    fn last_event_day(&self, account: &str, event: Option<&str>, before: Date) -> Option<Date> {
        self.usage.last_event_day(account, event, before)
    }
    fn account_fact(
        &self,
        account: AccountId,
        fact: AccountFact,
        day: Date,
        window_days: u32,
    ) -> Option<f64> {
        self.facts.fact(account, fact, day, window_days)
    }
    fn first_subscription_day(&self, account: AccountId) -> Option<Date> {
        self.facts
            .rows
            .get(&account)?
            .iter()
            .map(|(_, _, term)| term.start())
            .min()
    }
}

impl UsageSource for Rollups {
    fn count(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> u64 {
        self.window(account, event, from, to).count
    }
    fn sum(&self, account: &str, event: &str, property: &str, from: Date, to: Date) -> f64 {
        self.window(account, Some(event), from, to)
            .sums
            .get(property)
            .copied()
            .unwrap_or(0.0)
    }
    fn distinct_users(&self, account: &str, from: Date, to: Date) -> u64 {
        self.window(account, None, from, to).active_users
    }
    fn daily(
        &self,
        account: &str,
        event: Option<&str>,
        property: Option<&str>,
        from: Date,
        to: Date,
    ) -> Vec<f64> {
        Rollups::daily(self, account, event, property, from, to)
    }
    fn daily_users(&self, account: &str, from: Date, to: Date) -> Option<Vec<&[u32]>> {
        Some(Rollups::daily_users(self, account, from, to))
    }
    fn changes_through(&self, day: Date) -> Option<u64> {
        Some(Rollups::changes_through(self, day))
    }
    fn event_days(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> Vec<i64> {
        Rollups::event_days(self, account, event, from, to)
            .into_iter()
            .map(i64::from)
            .collect()
    }
    fn event_names(&self) -> Vec<String> {
        self.catalog().into_iter().map(|entry| entry.name).collect()
    }
    fn event_names_of(&self, accounts: &[&str]) -> Vec<String> {
        self.catalog_of(accounts)
            .into_iter()
            .map(|entry| entry.name)
            .collect()
    }
    fn last_event_day(&self, account: &str, event: Option<&str>, before: Date) -> Option<Date> {
        Rollups::last_event_day(self, account, event, before, DAYS_SINCE_HORIZON)
    }
}

/// A metric as people write it (JSON, CLI flags); checked by [`Metric::check`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// Unique name, a slug.
    pub name: String,
    /// count, sum, distinct_users, ratio, pct_change, days_since or per_month.
    pub kind: String,
    /// The event (count, sum, per_month; optional for days_since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The numeric property (sum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Conditions on the event's properties (count, sum, per_month, days_since of one
    /// event): only events meeting all of them are counted.
    #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Condition>,
    /// Window length in days (default 28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_days: Option<u32>,
    /// Numerator metric (ratio), as a spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<Box<MetricSpec>>,
    /// Denominator metric (ratio), as a spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<Box<MetricSpec>>,
    /// The metric whose change is measured (pct_change), as a spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<Box<MetricSpec>>,
    /// The weighted metrics a `sum_of` metric adds up (a weight of -1 subtracts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<MetricTerm>,
    /// A factor: a ratio's (100: a percentage; default 1) or a pct_change's (default 100;
    /// 1: a fraction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// The period a `per_period` average is scaled to, in days (1 to 366).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_days: Option<u32>,
    /// per_month and per_period: accounts younger than this many days on the observation
    /// date have no value (default 1: only an account that starts that day has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tenure_days: Option<u32>,
    /// days_since: events on the observation day itself count (then 0), the convention of
    /// many churn studies; by default only the days before it do (yesterday is 1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub through_observation_day: bool,
}

/// One weighted part of a `sum_of` metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricTerm {
    /// The metric, as a spec.
    pub metric: MetricSpec,
    /// Its weight (default 1; -1 subtracts it).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// What a checked metric computes.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    /// Events of one name.
    Count {
        /// Event name.
        event: String,
    },
    /// Sum of a numeric property of one event.
    Sum {
        /// Event name.
        event: String,
        /// Property.
        property: String,
    },
    /// Distinct active users.
    DistinctUsers,
    /// One metric over another, times a scale (100: a percentage).
    Ratio {
        /// Numerator.
        numerator: Box<Metric>,
        /// Denominator.
        denominator: Box<Metric>,
        /// The factor (1 unless the spec says).
        scale: f64,
    },
    /// A weighted sum of metrics (likes + dislikes; logins - failed logins).
    SumOf {
        /// (weight, metric).
        terms: Vec<(f64, Metric)>,
    },
    /// Change of a metric between the latest window and the one before, relative to the
    /// one before, times a scale (100 by default: a percentage; 1: a fraction).
    PctChange {
        /// The metric.
        of: Box<Metric>,
        /// The factor.
        scale: f64,
    },
    /// Days since the last event.
    DaysSince {
        /// Event name, or any event.
        event: Option<String>,
        /// Whether events on the observation day count (then 0).
        through_observation_day: bool,
    },
    /// Events (or a property's sum) in the window scaled to a period (per_month: 30
    /// days), scaled by tenure for accounts younger than the window.
    PerPeriod {
        /// Event name.
        event: String,
        /// The property summed instead of counting events.
        property: Option<String>,
        /// The period, in days.
        period_days: u32,
        /// Accounts younger than this have no value.
        min_tenure_days: u32,
    },
    /// An account-level fact on the observation date.
    Account {
        /// Which.
        fact: AccountFact,
    },
    /// Days from the account's first day to the observation date.
    TenureDays,
}

/// A checked metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    name: Slug,
    kind: MetricKind,
    window_days: u32,
    spec: MetricSpec,
}

fn need(value: Option<&String>, field: &str, kind: &str) -> Result<String, Invalid> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Invalid::new(field, format!("a {kind} metric needs --{field}")))
}

impl Metric {
    /// Checks a spec: the kind's parts present, windows between 1 and 366 days, nesting at
    /// most a few levels deep.
    pub fn check(spec: &MetricSpec) -> Result<Metric, Invalid> {
        Self::check_at(spec, 0)
    }

    fn check_at(spec: &MetricSpec, depth: u32) -> Result<Metric, Invalid> {
        if depth > 3 {
            return Err(Invalid::new(
                "kind",
                "metrics nest at most three levels deep",
            ));
        }
        let name = Slug::parse(&spec.name).map_err(|e| e.in_field("name"))?;
        let window_days = spec.window_days.unwrap_or(28);
        if !(1..=366).contains(&window_days) {
            return Err(Invalid::new("window_days", "must be between 1 and 366"));
        }
        let inner = |part: &Option<Box<MetricSpec>>, field: &str| -> Result<Box<Metric>, Invalid> {
            let part = part.as_ref().ok_or_else(|| {
                Invalid::new(field, format!("a {} metric needs {field}", spec.kind))
            })?;
            Self::check_at(part, depth + 1).map(Box::new).map_err(|e| {
                let nested = format!("{field}.{}", e.field);
                e.in_field(nested)
            })
        };
        // The event a kind reads: with conditions, the filtered aggregate's key.
        let event = |kind: &str| -> Result<String, Invalid> {
            let event = need(spec.event.as_ref(), "event", kind)?;
            if spec.filters.is_empty() {
                return Ok(event);
            }
            EventFilter::new(&event, spec.filters.clone()).map(|f| f.key().to_owned())
        };
        let filterable = ["count", "sum", "per_month", "per_period", "days_since"];
        if !spec.filters.is_empty() && !filterable.contains(&spec.kind.as_str()) {
            return Err(Invalid::new(
                "where",
                format!(
                    "conditions on properties apply to {} metrics, not {}",
                    filterable.join(", "),
                    spec.kind
                ),
            ));
        }
        if spec.scale.is_some() && !matches!(spec.kind.as_str(), "ratio" | "pct_change") {
            return Err(Invalid::new(
                "scale",
                "applies to ratio and pct_change metrics only",
            ));
        }
        let scale = |default: f64| match spec.scale {
            None => Ok(default),
            Some(scale) if scale.is_finite() && scale != 0.0 => Ok(scale),
            Some(_) => Err(Invalid::new("scale", "must be a number other than 0")),
        };
        if !spec.terms.is_empty() && spec.kind != "sum_of" {
            return Err(Invalid::new("terms", "apply to sum_of metrics only"));
        }
        let per_period = matches!(spec.kind.as_str(), "per_month" | "per_period");
        if spec.period_days.is_some() && spec.kind != "per_period" {
            return Err(Invalid::new(
                "period_days",
                "applies to per_period metrics only (per_month's period is 30 days)",
            ));
        }
        if spec.min_tenure_days.is_some() && !per_period {
            return Err(Invalid::new(
                "min_tenure_days",
                "applies to per_month and per_period metrics only",
            ));
        }
        if spec.through_observation_day && spec.kind != "days_since" {
            return Err(Invalid::new(
                "through_observation_day",
                "applies to days_since metrics only",
            ));
        }
        if spec.property.is_some() && !matches!(spec.kind.as_str(), "sum" | "per_period") {
            return Err(Invalid::new(
                "property",
                "applies to sum and per_period metrics only",
            ));
        }
        let min_tenure_days = match spec.min_tenure_days {
            None => 1,
            Some(days) if (1..=3660).contains(&days) => days,
            Some(_) => {
                return Err(Invalid::new(
                    "min_tenure_days",
                    "must be between 1 and 3660",
                ));
            }
        };
        let kind = match spec.kind.as_str() {
            "sum_of" => {
                if !(1..=20).contains(&spec.terms.len()) {
                    return Err(Invalid::new("terms", "a sum_of metric needs 1 to 20 terms"));
                }
                let mut terms = Vec::with_capacity(spec.terms.len());
                for (index, term) in spec.terms.iter().enumerate() {
                    if !term.weight.is_finite() {
                        return Err(Invalid::new(
                            format!("terms[{index}].weight"),
                            "must be a finite number",
                        ));
                    }
                    let metric = Self::check_at(&term.metric, depth + 1).map_err(|e| {
                        let nested = format!("terms[{index}].metric.{}", e.field);
                        e.in_field(nested)
                    })?;
                    terms.push((term.weight, metric));
                }
                MetricKind::SumOf { terms }
            }
            "count" => MetricKind::Count {
                event: event("count")?,
            },
            "sum" => MetricKind::Sum {
                event: event("sum")?,
                property: need(spec.property.as_ref(), "property", "sum")?,
            },
            "distinct_users" => MetricKind::DistinctUsers,
            "ratio" => MetricKind::Ratio {
                numerator: inner(&spec.numerator, "numerator")?,
                denominator: inner(&spec.denominator, "denominator")?,
                scale: scale(1.0)?,
            },
            "pct_change" => MetricKind::PctChange {
                of: inner(&spec.of, "of")?,
                scale: scale(100.0)?,
            },
            "days_since" if spec.filters.is_empty() => MetricKind::DaysSince {
                event: spec.event.clone().filter(|e| !e.trim().is_empty()),
                through_observation_day: spec.through_observation_day,
            },
            "days_since" => MetricKind::DaysSince {
                event: Some(event("days_since")?),
                through_observation_day: spec.through_observation_day,
            },
            "per_month" => MetricKind::PerPeriod {
                event: event("per_month")?,
                property: None,
                period_days: 30,
                min_tenure_days,
            },
            "per_period" => MetricKind::PerPeriod {
                event: event("per_period")?,
                property: spec
                    .property
                    .as_ref()
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty()),
                period_days: match spec.period_days {
                    Some(days) if (1..=366).contains(&days) => days,
                    Some(_) => {
                        return Err(Invalid::new("period_days", "must be between 1 and 366"));
                    }
                    None => {
                        return Err(Invalid::new(
                            "period_days",
                            "a per_period metric needs --period-days (28: a 28-day average)",
                        ));
                    }
                },
                min_tenure_days,
            },
            "mrr" => MetricKind::Account {
                fact: AccountFact::Mrr,
            },
            "seats" => MetricKind::Account {
                fact: AccountFact::Seats,
            },
            "days_since_touch" => MetricKind::Account {
                fact: AccountFact::DaysSinceTouch,
            },
            "tenure_days" => MetricKind::TenureDays,
            "nps" => MetricKind::Account {
                fact: AccountFact::Survey(mikawaya_domain::work::SurveyKind::Nps),
            },
            "csat" => MetricKind::Account {
                fact: AccountFact::Survey(mikawaya_domain::work::SurveyKind::Csat),
            },
            "ces" => MetricKind::Account {
                fact: AccountFact::Survey(mikawaya_domain::work::SurveyKind::Ces),
            },
            "pulse" => MetricKind::Account {
                fact: AccountFact::Pulse,
            },
            other => {
                return Err(Invalid::new(
                    "kind",
                    format!(
                        "'{other}' is not one of: count, sum, sum_of, distinct_users, ratio, pct_change, days_since, per_month, per_period, mrr, seats, tenure_days, days_since_touch, nps, csat, ces, pulse"
                    ),
                ));
            }
        };
        Ok(Metric {
            name,
            kind,
            window_days,
            spec: spec.clone(),
        })
    }

    /// The metric as people wrote it.
    pub fn spec(&self) -> &MetricSpec {
        &self.spec
    }

    /// Its name.
    pub fn name(&self) -> &Slug {
        &self.name
    }

    /// Its window in days.
    pub fn window_days(&self) -> u32 {
        self.window_days
    }

    /// What it computes.
    pub fn kind(&self) -> &MetricKind {
        &self.kind
    }

    /// Whether it reads usage events (not only account facts such as MRR or tenure).
    pub fn reads_usage(&self) -> bool {
        match &self.kind {
            MetricKind::Account { .. } | MetricKind::TenureDays => false,
            MetricKind::Ratio {
                numerator,
                denominator,
                ..
            } => numerator.reads_usage() || denominator.reads_usage(),
            MetricKind::PctChange { of, .. } => of.reads_usage(),
            MetricKind::SumOf { terms } => terms.iter().any(|(_, metric)| metric.reads_usage()),
            _ => true,
        }
    }

    /// The value for one account as of `as_of`. The subject's tenure start is its first
    /// day (for per-month scaling). `None` means missing (see the table above). An account
    /// without a usage key has no usage: counts and sums are 0, `days_since` is missing.
    pub fn value(&self, source: &dyn UsageSource, subject: &Subject, as_of: Date) -> Option<f64> {
        let window = i64::from(self.window_days);
        let last = as_of.yesterday().ok()?;
        let first = mikawaya_domain::value::add_days(as_of, -window)?;
        let key = subject.usage_key.as_deref();
        let count = |event: Option<&str>, from: Date| {
            key.map_or(0, |key| source.count(key, event, from, last)) as f64
        };
        match &self.kind {
            MetricKind::Count { event } => Some(count((event != "*").then_some(event), first)),
            MetricKind::Sum { event, property } => {
                Some(key.map_or(0.0, |key| source.sum(key, event, property, first, last)))
            }
            MetricKind::DistinctUsers => {
                Some(key.map_or(0, |key| source.distinct_users(key, first, last)) as f64)
            }
            MetricKind::Ratio {
                numerator,
                denominator,
                scale,
            } => {
                let below = denominator.value(source, subject, as_of)?;
                let above = numerator.value(source, subject, as_of)?;
                (below != 0.0).then(|| scale * above / below)
            }
            MetricKind::SumOf { terms } => terms.iter().try_fold(0.0, |total, (weight, metric)| {
                Some(total + weight * metric.value(source, subject, as_of)?)
            }),
            MetricKind::PctChange { of, scale } => {
                let previous_end = as_of
                    .checked_sub(jiff::Span::new().days(i64::from(of.window_days)))
                    .ok()?;
                let latest = of.value(source, subject, as_of)?;
                let before = of.value(source, subject, previous_end)?;
                (before != 0.0).then(|| scale * (latest - before) / before)
            }
            MetricKind::DaysSince {
                event,
                through_observation_day,
            } => {
                let before = if *through_observation_day {
                    as_of.tomorrow().ok()?
                } else {
                    as_of
                };
                source
                    .last_event_day(key?, event.as_deref(), before)
                    .map(|day| f64::from((as_of - day).get_days()))
            }
            MetricKind::Account { fact } => {
                source.account_fact(subject.id, *fact, as_of, self.window_days)
            }
            MetricKind::TenureDays => {
                first_day(source, subject).map(|start| f64::from((as_of - start).get_days().max(0)))
            }
            MetricKind::PerPeriod {
                event,
                property,
                period_days,
                min_tenure_days,
            } => {
                let tenure = first_day(source, subject)
                    .map_or(window, |start| i64::from((as_of - start).get_days()));
                if tenure < i64::from(*min_tenure_days) {
                    return None;
                }
                let span = tenure.min(window);
                let from = mikawaya_domain::value::add_days(as_of, -span)?;
                let total = match property {
                    Some(property) => {
                        key.map_or(0.0, |key| source.sum(key, event, property, from, last))
                    }
                    None => count((event != "*").then_some(event), from),
                };
                Some(total * f64::from(*period_days) / span as f64)
            }
        }
    }
}

/// The first day of an account's tenure: its first subscription's start, or without
/// billing data its contract start.
fn first_day(source: &dyn UsageSource, subject: &Subject) -> Option<Date> {
    source
        .first_subscription_day(subject.id)
        .or(subject.tenure_start)
}

/// Days since 1970-01-01 (proleptic Gregorian), by arithmetic: series work on day numbers,
/// several times cheaper than date arithmetic over hundreds of dates per account.
fn day_number(date: Date) -> i64 {
    let (y, m, d) = (
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number (the inverse of [`day_number`]).
fn number_date(number: i64) -> Option<Date> {
    let z = number + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

/// Observation dates for [`Metric::series`]: ascending, without repeats, kept as day
/// numbers so that many accounts share the conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationDates(Vec<i64>);

impl ObservationDates {
    /// The dates, sorted and without repeats.
    pub fn new(dates: &[Date]) -> ObservationDates {
        let mut numbers: Vec<i64> = dates.iter().map(|d| day_number(*d)).collect();
        numbers.sort_unstable();
        numbers.dedup();
        ObservationDates(numbers)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The dates.
    pub fn dates(&self) -> Vec<Date> {
        self.0.iter().filter_map(|n| number_date(*n)).collect()
    }

    fn shifted(&self, days: i64) -> ObservationDates {
        ObservationDates(self.0.iter().map(|n| n - days).collect())
    }
}

impl Metric {
    /// The values for one account on many observation dates, the same as
    /// [`Metric::value`] on each, computed in one pass over the account's daily totals:
    /// prefix sums for windows, a sliding multiset for distinct users.
    pub fn series(
        &self,
        source: &dyn UsageSource,
        subject: &Subject,
        dates: &ObservationDates,
    ) -> Vec<Option<f64>> {
        let days = dates.0.as_slice();
        let (Some(first), Some(last)) = (days.first().copied(), days.last().copied()) else {
            return Vec::new();
        };
        let window = i64::from(self.window_days);
        let tenure_start = first_day(source, subject);
        let one_by_one = || {
            days.iter()
                .map(|n| number_date(*n).and_then(|d| self.value(source, subject, d)))
                .collect()
        };
        // Without a usage key there are no daily totals to slide over.
        let Some(account) = subject.usage_key.as_deref() else {
            return one_by_one();
        };
        // Daily totals from `lookback` days before the first date to the day before the
        // last; the index of date n is n - from (its window ends just before it).
        let totals = |event: Option<&str>, property: Option<&str>, lookback: i64| {
            let from = first - lookback;
            let daily = source.daily(
                account,
                event,
                property,
                number_date(from)?,
                number_date(last - 1)?,
            );
            Some((daily, from))
        };
        match &self.kind {
            MetricKind::Count { .. } | MetricKind::Sum { .. } | MetricKind::PerPeriod { .. } => {
                let (event, property) = match &self.kind {
                    MetricKind::Count { event } => ((event != "*").then_some(event.as_str()), None),
                    MetricKind::Sum { event, property } => {
                        (Some(event.as_str()), Some(property.as_str()))
                    }
                    MetricKind::PerPeriod {
                        event, property, ..
                    } => (
                        (event != "*" || property.is_some()).then_some(event.as_str()),
                        property.as_deref(),
                    ),
                    _ => (None, None),
                };
                let Some((mut cumulative, from)) = totals(event, property, window) else {
                    return one_by_one();
                };
                // In place: cumulative[i] is the total of days 0..=i.
                for i in 1..cumulative.len() {
                    cumulative[i] += cumulative[i - 1];
                }
                // The total of the days before index k.
                let through = |k: usize| match k {
                    0 => Some(0.0),
                    k => cumulative.get(k - 1).copied(),
                };
                // Per period: (period, minimum tenure).
                let scaling = match &self.kind {
                    MetricKind::PerPeriod {
                        period_days,
                        min_tenure_days,
                        ..
                    } => Some((f64::from(*period_days), i64::from(*min_tenure_days))),
                    _ => None,
                };
                let start = tenure_start.map(day_number).filter(|_| scaling.is_some());
                days.iter()
                    .map(|n| {
                        let end = usize::try_from(n - from).ok()?;
                        let tenure = start.map_or(window, |start| n - start);
                        if let Some((_, min_tenure)) = scaling
                            && tenure < min_tenure
                        {
                            return None;
                        }
                        let span = usize::try_from(tenure.min(window))
                            .ok()
                            .filter(|s| *s > 0)?;
                        let sum = through(end)? - through(end.checked_sub(span)?)?;
                        Some(match scaling {
                            Some((period, _)) => sum * period / span as f64,
                            None => sum,
                        })
                    })
                    .collect()
            }
            MetricKind::DaysSince {
                event,
                through_observation_day: true,
            } => {
                // Days since through the day d are days since before d + 1, less one.
                let plain = Metric {
                    kind: MetricKind::DaysSince {
                        event: event.clone(),
                        through_observation_day: false,
                    },
                    ..self.clone()
                };
                plain
                    .series(source, subject, &dates.shifted(-1))
                    .into_iter()
                    .map(|value| value.map(|v| v - 1.0))
                    .collect()
            }
            MetricKind::DaysSince { event, .. } => {
                // The days with an event from `horizon + 1` days before the first date to
                // the day before the last; for each date, the latest of them before it.
                let horizon = i64::from(DAYS_SINCE_HORIZON);
                let (Some(from), Some(to)) =
                    (number_date(first - horizon - 1), number_date(last - 1))
                else {
                    return one_by_one();
                };
                let active = source.event_days(account, event.as_deref(), from, to);
                let mut next = 0usize;
                days.iter()
                    .map(|n| {
                        while active.get(next).is_some_and(|day| day < n) {
                            next += 1;
                        }
                        let seen = next.checked_sub(1).and_then(|i| active.get(i))?;
                        let since = n - seen;
                        (since <= horizon + 1).then_some(since as f64)
                    })
                    .collect()
            }
            MetricKind::DistinctUsers => {
                let from = first - window;
                let (Some(from_date), Some(to_date)) = (number_date(from), number_date(last - 1))
                else {
                    return one_by_one();
                };
                let Some(users) = source.daily_users(account, from_date, to_date) else {
                    return one_by_one();
                };
                // Users in the window [lo, hi), with how many of its days each was active.
                let mut active: rustc_hash::FxHashMap<u32, u32> = Default::default();
                let (mut lo, mut hi) = (0usize, 0usize);
                days.iter()
                    .map(|n| {
                        let end = usize::try_from(n - from).unwrap_or(0).min(users.len());
                        let start = end.saturating_sub(window as usize);
                        while hi < end {
                            for user in users[hi] {
                                *active.entry(*user).or_default() += 1;
                            }
                            hi += 1;
                        }
                        while lo < start {
                            for user in users[lo] {
                                if let Some(n) = active.get_mut(user) {
                                    *n -= 1;
                                    if *n == 0 {
                                        active.remove(user);
                                    }
                                }
                            }
                            lo += 1;
                        }
                        Some(active.len() as f64)
                    })
                    .collect()
            }
            MetricKind::Ratio {
                numerator,
                denominator,
                scale,
            } => {
                let above = numerator.series(source, subject, dates);
                let below = denominator.series(source, subject, dates);
                above
                    .into_iter()
                    .zip(below)
                    .map(|(a, b)| match (a, b) {
                        (Some(a), Some(b)) if b != 0.0 => Some(scale * a / b),
                        _ => None,
                    })
                    .collect()
            }
            MetricKind::SumOf { terms } => {
                let mut total: Vec<Option<f64>> = vec![Some(0.0); days.len()];
                for (weight, metric) in terms {
                    for (sum, value) in total.iter_mut().zip(metric.series(source, subject, dates))
                    {
                        *sum = sum.zip(value).map(|(sum, value)| sum + weight * value);
                    }
                }
                total
            }
            MetricKind::PctChange { of, scale } => {
                let earlier = dates.shifted(i64::from(of.window_days));
                let latest = of.series(source, subject, dates);
                let before = of.series(source, subject, &earlier);
                latest
                    .into_iter()
                    .zip(before)
                    .map(|(l, b)| match (l, b) {
                        (Some(l), Some(b)) if b != 0.0 => Some(scale * (l - b) / b),
                        _ => None,
                    })
                    .collect()
            }
            MetricKind::Account { .. } | MetricKind::TenureDays => one_by_one(),
        }
    }
}

/// Values of a metric for many accounts (`None`: missing).
pub fn values(
    metric: &Metric,
    source: &dyn UsageSource,
    subjects: &[Subject],
    as_of: Date,
) -> BTreeMap<AccountId, Option<f64>> {
    subjects
        .iter()
        .map(|subject| (subject.id, metric.value(source, subject, as_of)))
        .collect()
}

#[cfg(test)]
mod tests;
