//! Scorecards as a leader works with them, one home for the editor page, the API and
//! `mikawaya scorecard`: the cards in force and their saved versions (who, when), saving a
//! checked set, rolling back to an earlier version (saved again as the newest, so history
//! only grows), backtesting a draft beside the cards in force on the same observations,
//! and suggesting a card learned from the history ([`mikawaya_analytics::suggest`]).

use crate::Result;
use crate::backtest::{History, HistoryCache, Scoring, run_on};
use crate::forecast::{ForecastBacktest, Plan, backtest_forecast, split_dates};
use jiff::civil::Date;
use mikawaya_analytics::backtest::Backtest;
use mikawaya_analytics::forecast::{Feature, FeatureKind};
use mikawaya_analytics::metrics::{Metric, MetricSpec, UsageSource, WithFacts};
use mikawaya_analytics::scorecard::{CardSet, CardSetSpec, ScorecardSpec};
use mikawaya_analytics::suggest::{Settings, Suggestion};
use mikawaya_domain::access::ManageAccess;
use mikawaya_domain::config::{ConfigKind, ConfigVersion};
use mikawaya_domain::{Actor, Invalid, ReadAccess, UserId};
use mikawaya_playbooks::health::card_set_of;
use mikawaya_store::{Store, StoreError};
use serde::Serialize;

/// One saved version of the scorecards.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// 1, 2, ...: the highest is in force.
    pub version: i64,
    /// The cards as saved.
    pub cards: CardSetSpec,
    /// Who saved it.
    pub saved_by: Option<UserId>,
    /// When.
    pub saved_at: jiff::Timestamp,
}

fn saved(version: &ConfigVersion) -> Result<Saved> {
    let cards = card_set_of(version)?;
    Ok(Saved {
        version: version.version,
        cards: cards.spec().clone(),
        saved_by: version.saved_by,
        saved_at: version.saved_at,
    })
}

/// The cards in force, and their saved version (none: nothing saved, the built-in
/// `default` scores everyone).
pub fn in_force(store: &dyn Store, access: &ReadAccess) -> Result<(CardSet, Option<Saved>)> {
    match store.config(access, ConfigKind::SegmentScorecards, None)? {
        Some(version) => Ok((card_set_of(&version)?, Some(saved(&version)?))),
        None => Ok((CardSet::default(), None)),
    }
}

/// Every saved version, newest first.
pub fn history(store: &dyn Store, access: &ReadAccess) -> Result<Vec<Saved>> {
    store
        .config_versions(access, ConfigKind::SegmentScorecards)?
        .iter()
        .map(saved)
        .collect()
}

/// Checks and saves a set of cards as the next version (a set equal to the one in force
/// keeps its version). The next health snapshot scores with it.
pub fn save(store: &dyn Store, access: &ManageAccess, cards: &CardSetSpec) -> Result<Saved> {
    CardSet::from_spec(cards)?;
    let body = serde_json::to_string(cards)
        .map_err(|e| StoreError::Corrupt(format!("scorecards: {e}")))?;
    saved(&store.put_config(access, ConfigKind::SegmentScorecards, &body)?)
}

/// Puts an earlier version back in force, saved again as the newest version.
pub fn rollback(store: &dyn Store, access: &ManageAccess, version: i64) -> Result<Saved> {
    let missing = || Invalid::new("version", format!("no saved version {version}"));
    let earlier = match store.config(
        &access.write().read(),
        ConfigKind::SegmentScorecards,
        Some(version),
    ) {
        Ok(Some(earlier)) => earlier,
        Ok(None) | Err(StoreError::NotFound { .. }) => return Err(missing().into()),
        Err(other) => return Err(other.into()),
    };
    let earlier = saved(&earlier)?;
    save(store, access, &earlier.cards)
}

/// A draft beside the cards in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Observation dates: first, last, how many.
    pub dates: (Option<Date>, Option<Date>, usize),
    /// The horizon.
    pub horizon_days: i32,
    /// The cards in force.
    pub current: Backtest,
    /// The draft.
    pub draft: Backtest,
}

/// Backtests `draft` and the cards in force on the same observations: the plan's dates
/// (every `every_days` over the year that ends `horizon_days` before `as_of`).
///
/// The history read is kept in `cache` for the next draft while nothing it came from
/// changes.
pub fn compare(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    draft: &CardSetSpec,
    plan: &Plan,
    cache: &HistoryCache,
) -> Result<Comparison> {
    let draft = CardSet::from_spec(draft)?;
    let dates = plan.dates()?;
    let history = match dates.last() {
        Some(through) => cache.history(store, access, usage, *through)?,
        None => std::sync::Arc::new(History::read(store, access)?),
    };
    let mut results = run_on(
        &history,
        store,
        access,
        usage,
        &[Scoring::InForce, Scoring::Set(Box::new(draft))],
        &dates,
        plan.horizon_days,
    )?
    .into_iter();
    let mut next = || {
        results
            .next()
            .unwrap_or_else(|| mikawaya_analytics::backtest::backtest(&[]))
    };
    let current = next();
    let draft = next();
    Ok(Comparison {
        dates: (dates.first().copied(), dates.last().copied(), dates.len()),
        horizon_days: plan.horizon_days,
        current,
        draft,
    })
}

/// Gets the editor's backtests ready: reads the history into `cache` and computes the cards
/// in force on the plan's dates, so that the first draft backtested costs only its own
/// measures. The editor page calls it in the background when it opens; a history already
/// prepared for these dates is left as it is.
pub fn prepare(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
    plan: &Plan,
    cache: &HistoryCache,
) -> Result<()> {
    let dates = plan.dates()?;
    let Some(through) = dates.last() else {
        return Ok(());
    };
    let history = cache.history(store, access, usage, *through)?;
    if !history.has_run(&dates, plan.horizon_days) {
        run_on(
            &history,
            store,
            access,
            usage,
            &[Scoring::InForce],
            &dates,
            plan.horizon_days,
        )?;
    }
    Ok(())
}

fn spec(name: &str, kind: &str, event: Option<&str>) -> MetricSpec {
    MetricSpec {
        name: name.to_owned(),
        kind: kind.to_owned(),
        event: event.map(str::to_owned),
        ..MetricSpec::default()
    }
}

fn change_of(name: &str, of: MetricSpec) -> MetricSpec {
    MetricSpec {
        name: name.to_owned(),
        kind: "pct_change".to_owned(),
        of: Some(Box::new(of)),
        ..MetricSpec::default()
    }
}

/// A metric per seat (missing without seats).
fn per_seat(name: &str, of: MetricSpec) -> MetricSpec {
    MetricSpec {
        name: name.to_owned(),
        kind: "ratio".to_owned(),
        numerator: Some(Box::new(of)),
        denominator: Some(Box::new(spec("seats", "seats", None))),
        ..MetricSpec::default()
    }
}

/// The measures every data dir has without defining them: activity, active users, idleness
/// and their 28-day change, active users and activity per seat, and the account facts
/// (tenure, last touch, NPS, pulse).
pub fn built_in() -> Vec<MetricSpec> {
    vec![
        spec("active_users", "distinct_users", None),
        spec("activity", "count", Some("*")),
        spec("idle_days", "days_since", None),
        change_of("activity_change", spec("activity", "count", Some("*"))),
        change_of(
            "active_users_change",
            spec("active_users", "distinct_users", None),
        ),
        per_seat("seat_use", spec("active_users", "distinct_users", None)),
        per_seat("activity_per_seat", spec("activity", "count", Some("*"))),
        spec("tenure_days", "tenure_days", None),
        spec("days_since_touch", "days_since_touch", None),
        spec("nps", "nps", None),
        spec("pulse", "pulse", None),
    ]
}

/// How many of the most frequent events become candidates of their own.
const EVENT_CANDIDATES: usize = 15;

/// The measures a suggestion chooses from, and the editor offers: activity, active users,
/// idleness and their 28-day change; active users and activity per seat; the account facts (tenure, last touch,
/// NPS, pulse); each of the most frequent events' 28-day count, change and count per
/// seat; and every
/// defined metric. The events are those of the accounts `access` can see (a partner is not
/// told what other accounts do).
pub fn candidates(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
) -> Result<Vec<Metric>> {
    let mut specs = built_in();
    for event in event_names(store, access, usage)?
        .into_iter()
        .take(EVENT_CANDIDATES)
    {
        let Some(name) = event_slug(&event) else {
            continue;
        };
        let count = spec(&name, "count", Some(&event));
        specs.push(change_of(&format!("{name}_change"), count.clone()));
        specs.push(per_seat(&format!("{name}_per_seat"), count.clone()));
        specs.push(count);
    }
    for (name, body) in store.list_metrics()? {
        let spec: MetricSpec = serde_json::from_str(&body)
            .map_err(|e| StoreError::Corrupt(format!("metric {name}: {e}")))?;
        specs.push(spec);
    }
    let mut metrics: Vec<Metric> = Vec::new();
    for spec in specs {
        if metrics.iter().any(|m| m.name().as_str() == spec.name) {
            continue;
        }
        metrics.push(Metric::check(&spec)?);
    }
    Ok(metrics)
}

/// The events the accounts `access` can see sent, most frequent first.
pub fn event_names(
    store: &dyn Store,
    access: &ReadAccess,
    usage: &dyn UsageSource,
) -> Result<Vec<String>> {
    Ok(match access.visibility() {
        mikawaya_domain::access::Visibility::All => usage.event_names(),
        mikawaya_domain::access::Visibility::Partner(_) => {
            let keys: Vec<String> = store
                .all_accounts(access)?
                .iter()
                .filter_map(|a| a.external_id.as_ref().map(ToString::to_string))
                .collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            usage.event_names_of(&keys)
        }
    })
}

/// A metric name from an event name ("Report Created" → `report_created`); none when
/// nothing of it is a-z or 0-9.
fn event_slug(event: &str) -> Option<String> {
    let mut slug = String::new();
    for c in event.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_').to_owned();
    let slug = if slug.starts_with(|c: char| c.is_ascii_digit()) {
        format!("event_{slug}")
    } else {
        slug
    };
    (!slug.is_empty() && slug.len() <= 57).then_some(slug)
}

/// A suggested card, judged on dates it has not seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggested {
    /// The card and how it was chosen.
    pub suggestion: Suggestion,
    /// The cards in force with the suggestion as their default card (what saving it from
    /// the editor gives).
    pub cards: CardSetSpec,
    /// On the held-out dates: the forecast, the cards in force, and `cards` (first of
    /// `others`), on the same observations.
    pub held_out: ForecastBacktest,
}

/// Learns a card from the plan's earlier dates (the forecast's training dates) and judges
/// it on the later ones beside the forecast and the cards in force.
pub fn suggest(store: &dyn Store, usage: &dyn UsageSource, plan: &Plan) -> Result<Suggested> {
    let access = Actor::system().read();
    let history = crate::forecast::history(store, &access)?;
    let metrics = candidates(store, &access, usage)?;
    let features: Vec<Feature> = metrics
        .iter()
        .map(|metric| Feature {
            name: metric.name().to_string(),
            kind: FeatureKind::Metric(Box::new(metric.clone())),
            log: false,
        })
        .collect();
    let (train_dates, _) = split_dates(plan)?;
    let source = WithFacts {
        usage,
        facts: &history.facts,
    };
    let examples = mikawaya_analytics::forecast::examples(
        &features,
        &source,
        &history.rows,
        &history.subjects,
        &train_dates,
        plan.horizon_days,
    );
    let suggestion = mikawaya_analytics::suggest::suggest(
        "suggested",
        &metrics,
        &examples,
        &Settings::default(),
    )?;
    let (in_force, _) = in_force(store, &access)?;
    let cards = with_default(in_force.spec(), suggestion.card.clone());
    let held_out = backtest_forecast(store, usage, plan, &[CardSet::from_spec(&cards)?])?;
    Ok(Suggested {
        suggestion,
        cards,
        held_out,
    })
}

/// `cards` with `default` as the card for every account no segment card takes.
pub fn with_default(cards: &CardSetSpec, default: ScorecardSpec) -> CardSetSpec {
    CardSetSpec {
        default: Some(default),
        segments: cards.segments.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::event_slug;

    #[test]
    fn event_names_become_metric_names() {
        assert_eq!(
            event_slug("Report Created").as_deref(),
            Some("report_created")
        );
        assert_eq!(
            event_slug("  API Calls — Made ").as_deref(),
            Some("api_calls_made")
        );
        assert_eq!(
            event_slug("2fa enabled").as_deref(),
            Some("event_2fa_enabled")
        );
        assert_eq!(event_slug("ログイン"), None);
    }
}
