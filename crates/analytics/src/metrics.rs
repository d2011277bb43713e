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
//! | `days_since` | days from the last event (of one name, or any) to `d`; yesterday is 1 | missing when there was none in the horizon |
//! | `per_month` | events per 30 days: count in the window × 30 / `w`, or × 30 / tenure for accounts younger than the window | missing when tenure is 0 days |
//! | `mrr` | MRR of the subscriptions active on `d` (account fact) | never (0) with facts; missing without them |
//! | `seats` | seats (quantity) of the subscriptions active on `d` | as `mrr` |
//! | `tenure_days` | days from the account's first day to `d` | missing without a first day |
//! | `days_since_touch` | days from the last touchpoint before `d` to `d` | missing when there was none |
//! | `nps`, `csat`, `ces` | the latest answer of that survey in the window | missing when none |
//! | `pulse` | the latest manual pulse (a CSM's 0-100 judgement with a reason) in the window | missing when none |
//!
//! Count, sum, per_month and days_since of one event take conditions on the event's
//! properties (`where`, see [`mikawaya_ingest::filter`]): only matching events count.
//!
//! Definitions are configuration: [`MetricSpec`] is what people write, [`Metric`] the
//! checked form the engine takes.

use jiff::civil::Date;
use mikawaya_domain::Invalid;
use mikawaya_domain::value::Slug;
use mikawaya_ingest::filter::{Condition, EventFilter};
use mikawaya_ingest::rollup::Rollups;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How far back `days_since` looks.
pub const DAYS_SINCE_HORIZON: i32 = 3 * 366;

/// What the metrics read: daily usage totals of an account.
pub trait UsageSource {
    /// Events (of one name, or all) on the days `from` to `to` inclusive.
    fn count(&self, account: &str, event: Option<&str>, from: Date, to: Date) -> u64;
    /// Sum of a numeric property of one event on those days.
    fn sum(&self, account: &str, event: &str, property: &str, from: Date, to: Date) -> f64;
    /// Distinct users active on those days (any event).
    fn distinct_users(&self, account: &str, from: Date, to: Date) -> u64;
    /// The last day before `before` with an event (of one name, or any).
    fn last_event_day(&self, account: &str, event: Option<&str>, before: Date) -> Option<Date>;
    /// An account-level fact on a day (MRR, seats, the last touchpoint); none when the
    /// source does not know it (usage alone knows no account facts).
    fn account_fact(
        &self,
        _account: &str,
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

/// Per account (external id): subscription rows and touchpoint days.
#[derive(Debug, Clone, Default)]
pub struct AccountFacts {
    rows: std::collections::HashMap<String, Vec<(f64, f64, mikawaya_domain::subscription::Term)>>,
    touches: std::collections::HashMap<String, Vec<Date>>,
    /// Answers per account: (day, survey, score), by day.
    surveys: std::collections::HashMap<String, Vec<(Date, mikawaya_domain::work::SurveyKind, f64)>>,
    /// Pulses per account: (day, score), by day.
    pulses: std::collections::HashMap<String, Vec<(Date, f64)>>,
}

impl AccountFacts {
    /// Builds the facts from (account, MRR, seats, term) rows and (account, day) touches.
    pub fn new(
        rows: impl IntoIterator<Item = (String, f64, f64, mikawaya_domain::subscription::Term)>,
        touches: impl IntoIterator<Item = (String, Date)>,
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
        answers: impl IntoIterator<Item = (String, Date, mikawaya_domain::work::SurveyKind, f64)>,
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
        pulses: impl IntoIterator<Item = (String, Date, f64)>,
    ) -> AccountFacts {
        for (account, day, score) in pulses {
            self.pulses.entry(account).or_default().push((day, score));
        }
        for pulses in self.pulses.values_mut() {
            pulses.sort_by_key(|(day, _)| *day);
        }
        self
    }

    fn fact(&self, account: &str, fact: AccountFact, day: Date, window_days: u32) -> Option<f64> {
        let from = day
            .checked_sub(jiff::Span::new().days(i64::from(window_days)))
            .ok()?;
        let in_window = |d: &Date| *d >= from && *d < day;
        match fact {
            AccountFact::Mrr | AccountFact::Seats => Some(
                self.rows
                    .get(account)
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
                            .sum()
                    })
                    .unwrap_or(0.0),
            ),
            AccountFact::DaysSinceTouch => {
                let days = self.touches.get(account)?;
                let last = days[..days.partition_point(|d| *d < day)].last()?;
                Some(f64::from((day - *last).get_days()))
            }
            AccountFact::Survey(kind) => self
                .surveys
                .get(account)?
                .iter()
                .rev()
                .find(|(d, k, _)| *k == kind && in_window(d))
                .map(|(_, _, score)| *score),
            AccountFact::Pulse => self
                .pulses
                .get(account)?
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
    fn last_event_day(&self, account: &str, event: Option<&str>, before: Date) -> Option<Date> {
        self.usage.last_event_day(account, event, before)
    }
    fn account_fact(
        &self,
        account: &str,
        fact: AccountFact,
        day: Date,
        window_days: u32,
    ) -> Option<f64> {
        self.facts.fact(account, fact, day, window_days)
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
    /// One metric over another.
    Ratio {
        /// Numerator.
        numerator: Box<Metric>,
        /// Denominator.
        denominator: Box<Metric>,
    },
    /// Percent change of a metric between the latest window and the one before.
    PctChange {
        /// The metric.
        of: Box<Metric>,
    },
    /// Days since the last event.
    DaysSince {
        /// Event name, or any event.
        event: Option<String>,
    },
    /// Events per 30 days, scaled by tenure for young accounts.
    PerMonth {
        /// Event name.
        event: String,
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
        let filterable = ["count", "sum", "per_month", "days_since"];
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
        let kind = match spec.kind.as_str() {
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
            },
            "pct_change" => MetricKind::PctChange {
                of: inner(&spec.of, "of")?,
            },
            "days_since" if spec.filters.is_empty() => MetricKind::DaysSince {
                event: spec.event.clone().filter(|e| !e.trim().is_empty()),
            },
            "days_since" => MetricKind::DaysSince {
                event: Some(event("days_since")?),
            },
            "per_month" => MetricKind::PerMonth {
                event: event("per_month")?,
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
                        "'{other}' is not one of: count, sum, distinct_users, ratio, pct_change, days_since, per_month, mrr, seats, tenure_days, days_since_touch, nps, csat, ces, pulse"
                    ),
                ));
            }
        };
        Ok(Metric {
            name,
            kind,
            window_days,
        })
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

    /// The value for one account as of `as_of`. `tenure_start` is the account's first
    /// day (for per-month scaling). `None` means missing (see the table above).
    pub fn value(
        &self,
        source: &dyn UsageSource,
        account: &str,
        as_of: Date,
        tenure_start: Option<Date>,
    ) -> Option<f64> {
        let window = i64::from(self.window_days);
        let last = as_of.yesterday().ok()?;
        let first = as_of.checked_sub(jiff::Span::new().days(window)).ok()?;
        match &self.kind {
            MetricKind::Count { event } => {
                let event = (event != "*").then_some(event.as_str());
                Some(source.count(account, event, first, last) as f64)
            }
            MetricKind::Sum { event, property } => {
                Some(source.sum(account, event, property, first, last))
            }
            MetricKind::DistinctUsers => Some(source.distinct_users(account, first, last) as f64),
            MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                let below = denominator.value(source, account, as_of, tenure_start)?;
                let above = numerator.value(source, account, as_of, tenure_start)?;
                (below != 0.0).then(|| above / below)
            }
            MetricKind::PctChange { of } => {
                let previous_end = as_of
                    .checked_sub(jiff::Span::new().days(i64::from(of.window_days)))
                    .ok()?;
                let latest = of.value(source, account, as_of, tenure_start)?;
                let before = of.value(source, account, previous_end, tenure_start)?;
                (before != 0.0).then(|| 100.0 * (latest - before) / before)
            }
            MetricKind::DaysSince { event } => source
                .last_event_day(account, event.as_deref(), as_of)
                .map(|day| f64::from((as_of - day).get_days())),
            MetricKind::Account { fact } => {
                source.account_fact(account, *fact, as_of, self.window_days)
            }
            MetricKind::TenureDays => {
                tenure_start.map(|start| f64::from((as_of - start).get_days().max(0)))
            }
            MetricKind::PerMonth { event } => {
                let tenure = tenure_start.map_or(window, |start| {
                    i64::from((as_of - start).get_days()).min(window)
                });
                if tenure <= 0 {
                    return None;
                }
                let from = as_of.checked_sub(jiff::Span::new().days(tenure)).ok()?;
                Some(source.count(account, Some(event), from, last) as f64 * 30.0 / tenure as f64)
            }
        }
    }
}

/// Values of a metric for many accounts: external id → value (missing ones left out).
pub fn values(
    metric: &Metric,
    source: &dyn UsageSource,
    accounts: &[(String, Option<Date>)],
    as_of: Date,
) -> BTreeMap<String, Option<f64>> {
    accounts
        .iter()
        .map(|(account, start)| {
            (
                account.clone(),
                metric.value(source, account, as_of, *start),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
