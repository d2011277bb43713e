//! The demo company's product usage: users per account and a catalogue of fifteen event
//! types over the accounts' lives, written through the event log like any SDK's events.
//!
//! Rates follow the hidden "value received": accounts that get more value have more
//! active users, use the value-creating features (reports, workflows, integrations) more
//! and the help centre less; accounts that churn fade out over their last 90 days. So
//! usage really predicts churn, as it does in life.

use crate::DemoError;
use jiff::civil::Date;
use mikawaya_ingest::Ingest;
use mikawaya_ingest::import::append_blocking;
use mikawaya_usage::message::{Kind, StoredEvent};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::value::RawValue;

/// The source number the demo's events carry (write keys start at 1, file imports are 0).
pub const DEMO_SOURCE: u32 = 0;

/// One account's usage parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct UsagePlan {
    /// The account's external id (its Segment `groupId`).
    pub external_id: String,
    /// Hidden value received, 0 to 1.
    pub value: f64,
    /// Users.
    pub users: u32,
    /// First day.
    pub start: Date,
    /// Day it churned, or the demo's as-of date.
    pub end: Date,
    /// Whether it churned.
    pub churned: bool,
    /// Its own random stream.
    pub seed: u64,
}

/// Event types: name, base weight, how much value received raises (positive) or lowers
/// (negative) the weight.
const CATALOG: &[(&str, f64, f64)] = &[
    ("Logged In", 10.0, 0.0),
    ("Dashboard Viewed", 8.0, 0.3),
    ("Report Created", 2.0, 1.5),
    ("Report Exported", 1.5, 1.2),
    ("Data Imported", 1.0, 0.5),
    ("Integration Connected", 0.2, 1.0),
    ("Invite Sent", 0.4, 1.0),
    ("Comment Added", 2.0, 0.8),
    ("Alert Configured", 0.5, 0.8),
    ("Workflow Run", 1.5, 1.5),
    ("Search Performed", 4.0, 0.2),
    ("File Uploaded", 1.0, 0.4),
    ("API Calls Made", 0.8, 1.2),
    ("Settings Changed", 0.5, -0.2),
    ("Help Article Viewed", 1.5, -1.5),
];

fn properties(name: &str, rng: &mut ChaCha8Rng) -> Option<Box<RawValue>> {
    let json = match name {
        "Report Exported" => {
            let rows = rng.random_range(10..5000);
            // The format follows from the row count, so the draws (and the demo's
            // numbers) stay as they were.
            let format = match rows % 10 {
                0..=5 => "csv",
                6..=8 => "pdf",
                _ => "xlsx",
            };
            serde_json::json!({"rows": rows, "format": format})
        }
        "Workflow Run" => {
            serde_json::json!({"duration_ms": rng.random_range(200..20_000), "steps": rng.random_range(1..12)})
        }
        "API Calls Made" => serde_json::json!({"calls": rng.random_range(1..500)}),
        "Data Imported" => serde_json::json!({"records": rng.random_range(50..20_000)}),
        _ => return None,
    };
    serde_json::value::to_raw_value(&json).ok()
}

fn raw(json: serde_json::Value) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(&json).ok()
}

fn millis(day: Date, seconds: i64) -> i64 {
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .map_or(0, |zoned| zoned.timestamp().as_millisecond())
        + seconds * 1000
}

/// Message ids are stable per account, so loading the same demo twice stores it once.
fn next_id(account: &str, counter: &mut u64) -> String {
    *counter += 1;
    format!("demo-{account}-{counter}")
}

/// Events of one account, oldest first.
fn account_events(
    plan: &UsagePlan,
    window_start: Date,
    received_ms: i64,
    sink: &mut Vec<StoredEvent>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let first = plan.start.max(window_start);
    let weights: Vec<f64> = CATALOG
        .iter()
        .map(|(_, base, lift)| (base * (1.0 + lift * (plan.value - 0.5))).max(0.05))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut counter = 0u64;
    for user in 0..plan.users {
        let user_id = format!("{}-u{}", plan.external_id, user + 1);
        let role = if user == 0 {
            "admin"
        } else if user == 1 {
            "champion"
        } else {
            "end_user"
        };
        let joined = millis(plan.start, 3600 + i64::from(user) * 60);
        sink.push(StoredEvent {
            kind: Kind::Identify,
            message_id: next_id(&plan.external_id, &mut counter),
            source: DEMO_SOURCE,
            user_id: Some(user_id.clone()),
            anonymous_id: None,
            event: None,
            group_id: None,
            previous_id: None,
            timestamp_ms: joined,
            received_ms,
            properties: None,
            traits: raw(serde_json::json!({"email": format!("{}@{}.example", user_id.to_lowercase(), plan.external_id.to_lowercase()), "role": role})),
            context: None,
        });
        sink.push(StoredEvent {
            kind: Kind::Group,
            message_id: next_id(&plan.external_id, &mut counter),
            source: DEMO_SOURCE,
            user_id: Some(user_id),
            anonymous_id: None,
            event: None,
            group_id: Some(plan.external_id.clone()),
            previous_id: None,
            timestamp_ms: joined + 1000,
            received_ms,
            properties: None,
            traits: None,
            context: None,
        });
    }
    let mut day = first;
    while day < plan.end {
        let weekend = matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        let tenure_days = (day - plan.start).get_days();
        let days_left = (plan.end - day).get_days();
        // Ramp up over the first month; fade over the last 90 days of a churning account.
        let ramp = (f64::from(tenure_days) / 30.0).clamp(0.2, 1.0);
        let fade = if plan.churned {
            (f64::from(days_left) / 90.0).clamp(0.05, 1.0)
        } else {
            1.0
        };
        let active =
            0.22 * (0.25 + 1.25 * plan.value) * ramp * fade * if weekend { 0.25 } else { 1.0 };
        for user in 0..plan.users {
            if !rng.random_bool(active.clamp(0.0, 1.0)) {
                continue;
            }
            let user_id = format!("{}-u{}", plan.external_id, user + 1);
            let events = 1 + (rng.random::<f64>() * (1.0 + 3.0 * plan.value)) as u32;
            let mut second = 8 * 3600 + rng.random_range(0..36_000);
            for _ in 0..events {
                let mut pick = rng.random::<f64>() * total;
                let mut chosen = 0;
                for (index, weight) in weights.iter().enumerate() {
                    if pick < *weight {
                        chosen = index;
                        break;
                    }
                    pick -= weight;
                }
                let name = CATALOG[chosen].0;
                second += rng.random_range(5..900);
                sink.push(StoredEvent {
                    kind: Kind::Track,
                    message_id: next_id(&plan.external_id, &mut counter),
                    source: DEMO_SOURCE,
                    user_id: Some(user_id.clone()),
                    anonymous_id: None,
                    event: Some(name.to_owned()),
                    group_id: Some(plan.external_id.clone()),
                    previous_id: None,
                    timestamp_ms: millis(day, second),
                    received_ms,
                    properties: properties(name, &mut rng),
                    traits: None,
                    context: None,
                });
            }
        }
        day = day.tomorrow().unwrap_or(plan.end);
    }
}

/// Writes the usage of every account through the event log, `window_start` onwards;
/// returns the number of events.
pub fn load_usage(
    ingest: &Ingest,
    plans: &[UsagePlan],
    window_start: Date,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, DemoError> {
    let received_ms = jiff::Timestamp::now().as_millisecond();
    let mut written = 0u64;
    let mut chunk = Vec::with_capacity(60_000);
    for plan in plans {
        account_events(plan, window_start, received_ms, &mut chunk);
        if chunk.len() >= 50_000 {
            written += chunk.len() as u64;
            append_blocking(ingest, std::mem::take(&mut chunk))?;
            progress(written);
        }
    }
    written += chunk.len() as u64;
    if !chunk.is_empty() {
        append_blocking(ingest, chunk)?;
    }
    ingest.wait_applied(std::time::Duration::from_secs(600));
    progress(written);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(value: f64, churned: bool) -> UsagePlan {
        UsagePlan {
            external_id: "ACC-1".into(),
            value,
            users: 10,
            start: jiff::civil::date(2025, 1, 1),
            end: jiff::civil::date(2025, 12, 31),
            churned,
            seed: 7,
        }
    }

    fn count(plan: &UsagePlan, name: &str, from: Date) -> usize {
        let mut events = Vec::new();
        account_events(plan, jiff::civil::date(2025, 1, 1), 0, &mut events);
        let from_ms = millis(from, 0);
        events
            .iter()
            .filter(|e| e.event.as_deref() == Some(name) && e.timestamp_ms >= from_ms)
            .count()
    }

    #[test]
    fn more_value_means_more_of_the_valuable_features() {
        let start = jiff::civil::date(2025, 1, 1);
        assert!(
            count(&plan(0.9, false), "Report Created", start)
                > 3 * count(&plan(0.1, false), "Report Created", start)
        );
        assert!(
            count(&plan(0.1, false), "Help Article Viewed", start)
                > count(&plan(0.9, false), "Help Article Viewed", start) / 2
        );
    }

    #[test]
    fn churning_accounts_fade_out() {
        let last_months = jiff::civil::date(2025, 11, 1);
        assert!(
            count(&plan(0.5, true), "Logged In", last_months) * 2
                < count(&plan(0.5, false), "Logged In", last_months)
        );
    }
}
