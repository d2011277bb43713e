//! Dashboards: health distribution and ARR by health, renewals in the next 90 days with
//! the ARR at risk, GRR and NRR month by month, churn by cohort, and the health cohort
//! chart (accounts split into deciles of their score 90 days ago against their churn
//! since). Every chart has its numbers beside it; the formulas are `shared/domain.md`'s.

use super::charts::{self, Point, Series};
use super::i18n;
use super::{PageUser, health_badge, layout};
use crate::error::ApiError;
use crate::state::AppState;
use jiff::civil::Date;
use maud::{Markup, html};
use mikawaya_analytics::churn::{RevenueRow, churn, churn_by_cohort, mrr_by_account};
use mikawaya_domain::AccountId;
use std::collections::HashMap;

fn today() -> Date {
    mikawaya_playbooks::Clock::real().today
}

fn month_start(day: Date) -> Date {
    day.first_of_month()
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", 100.0 * v))
}

/// The dashboards page.
pub async fn dashboards(
    axum::extract::State(state): axum::extract::State<AppState>,
    page_user: PageUser,
) -> Result<Markup, ApiError> {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let day = today();
    let (accounts, subscriptions, latest, past) = state
        .run(move |store| {
            let accounts = store.all_accounts(&access)?;
            let subscriptions = store.all_subscriptions(&access)?;
            let days = store.health_days(mikawaya_playbooks::health::SCORECARD)?;
            let latest_day = days.iter().rev().find(|d| **d <= day).copied();
            let past_day = days
                .iter()
                .rev()
                .find(|d| **d <= day.checked_sub(jiff::Span::new().days(90)).unwrap_or(day))
                .copied();
            let rows_of = |d: Option<Date>| match d {
                Some(d) => {
                    store.health_rows(&access, mikawaya_playbooks::health::SCORECARD, None, d, d)
                }
                None => Ok(Vec::new()),
            };
            Ok((
                accounts,
                subscriptions,
                (latest_day, rows_of(latest_day)?),
                (past_day, rows_of(past_day)?),
            ))
        })
        .await?;
    let rows: Vec<RevenueRow> = subscriptions.iter().map(RevenueRow::from).collect();
    let paying = mrr_by_account(&rows, day);
    let score_of: HashMap<AccountId, Option<f64>> =
        latest.1.iter().map(|r| (r.account_id, r.score)).collect();

    // Health distribution and ARR by health (paying accounts).
    let mut buckets = [
        (lang.t("red"), 0usize, 0.0f64),
        (lang.t("yellow"), 0, 0.0),
        (lang.t("green"), 0, 0.0),
        (lang.t("no_score"), 0, 0.0),
    ];
    for (account, mrr) in &paying {
        let index = match score_of.get(account).copied().flatten() {
            Some(s) if s < 40.0 => 0,
            Some(s) if s < 70.0 => 1,
            Some(_) => 2,
            None => 3,
        };
        buckets[index].1 += 1;
        buckets[index].2 += 12.0 * mrr;
    }
    let currency = accounts
        .first()
        .map(|a| a.currency.clone())
        .unwrap_or_default();

    // Renewals in the next 90 days.
    let horizon = day.checked_add(jiff::Span::new().days(90)).unwrap_or(day);
    let mut renewals: Vec<_> = accounts
        .iter()
        .filter(|a| {
            paying.contains_key(&a.id) && a.renewal_date.is_some_and(|r| r >= day && r <= horizon)
        })
        .collect();
    renewals.sort_by_key(|a| a.renewal_date);
    let at_risk: f64 = renewals
        .iter()
        .filter(|a| {
            score_of
                .get(&a.id)
                .copied()
                .flatten()
                .is_some_and(|s| s < 70.0)
        })
        .map(|a| a.arr())
        .sum();
    let renewing_arr: f64 = renewals.iter().map(|a| a.arr()).sum();

    // GRR and NRR per month, last 12 full months.
    let this_month = month_start(day);
    let months: Vec<Date> = (1..=12)
        .rev()
        .filter_map(|back| this_month.checked_sub(jiff::Span::new().months(back)).ok())
        .collect();
    let monthly: Vec<(String, mikawaya_analytics::churn::ChurnReport)> = months
        .iter()
        .map(|from| {
            let to = from
                .checked_add(jiff::Span::new().months(1))
                .unwrap_or(*from);
            (
                format!("{:04}-{:02}", from.year(), from.month()),
                churn(&rows, *from, to),
            )
        })
        .collect();
    let labels: Vec<String> = monthly.iter().map(|(m, _)| m.clone()).collect();
    let retention = [
        Series {
            name: "GRR %".to_owned(),
            values: monthly
                .iter()
                .map(|(_, r)| r.grr.map(|v| 100.0 * v))
                .collect(),
            dashed: false,
        },
        Series {
            name: "NRR %".to_owned(),
            values: monthly
                .iter()
                .map(|(_, r)| r.nrr.map(|v| 100.0 * v))
                .collect(),
            dashed: true,
        },
    ];

    // Churn by tier over the last 12 months.
    let year_ago = day.checked_sub(jiff::Span::new().years(1)).unwrap_or(day);
    let tiers: HashMap<AccountId, String> = accounts
        .iter()
        .map(|a| (a.id, a.tier.map_or("(none)", |t| t.as_str()).to_owned()))
        .collect();
    let by_tier = churn_by_cohort(&rows, year_ago, day, &|id| tiers.get(&id).cloned());

    // Health cohorts: deciles of the score 90 days ago against churn since.
    let paying_then = past.0.map(|d| mrr_by_account(&rows, d)).unwrap_or_default();
    let mut cohort: Vec<(f64, bool)> = past
        .1
        .iter()
        .filter(|r| paying_then.get(&r.account_id).is_some_and(|mrr| *mrr > 0.0))
        .filter_map(|r| r.score.map(|s| (s, !paying.contains_key(&r.account_id))))
        .collect();
    cohort.sort_by(|a, b| a.0.total_cmp(&b.0));
    let deciles: Vec<Point> = (0..10)
        .filter_map(|d| {
            let (lo, hi) = (cohort.len() * d / 10, cohort.len() * (d + 1) / 10);
            let slice = cohort.get(lo..hi)?;
            if slice.is_empty() {
                return None;
            }
            let churned = slice.iter().filter(|(_, c)| *c).count();
            Some(Point {
                label: format!(
                    "D{} ({:.0}-{:.0})",
                    d + 1,
                    slice[0].0,
                    slice[slice.len() - 1].0
                ),
                value: Some(100.0 * churned as f64 / slice.len() as f64),
            })
        })
        .collect();

    let body = html! {
        h1 { (lang.t("dashboards")) }
        section {
            h2 { (lang.t("health_distribution")) }
            @if let Some(d) = latest.0 { p.muted { (lang.t("as_of")) " " (i18n::date(d, lang)) } }
            (charts::bars("health-distribution", lang.t("health_distribution"), &buckets.iter().map(|(name, n, _)| Point { label: (*name).to_owned(), value: Some(*n as f64) }).collect::<Vec<_>>(), [lang.t("health"), lang.t("accounts")]))
            table {
                thead { tr { th scope="col" { (lang.t("health")) } th.num scope="col" { (lang.t("accounts")) } th.num scope="col" { (lang.t("arr")) } } }
                tbody { @for (name, n, arr) in &buckets { tr { td { (name) } td.num { (n) } td.num { (i18n::money(*arr, &currency)) } } } }
            }
        }
        section {
            h2 { (lang.t("renewals_90")) }
            p { (lang.t("renewing_arr")) ": " strong { (i18n::money(renewing_arr, &currency)) } " · " (lang.t("arr_at_risk")) ": " strong data-testid="arr-at-risk" { (i18n::money(at_risk, &currency)) } }
            @if renewals.is_empty() { p.muted { "—" } } @else {
                table {
                    thead { tr { th scope="col" { (lang.t("name")) } th scope="col" { (lang.t("renewal")) } th.num scope="col" { (lang.t("arr")) } th scope="col" { (lang.t("health")) } } }
                    tbody { @for a in &renewals { tr {
                        td { a href=(format!("/accounts/{}", a.id)) { (a.name) } }
                        td { @if let Some(r) = a.renewal_date { (i18n::date(r, lang)) } }
                        td.num { (i18n::money(a.arr(), &a.currency)) }
                        td { @if let Some(s) = score_of.get(&a.id).copied().flatten() { (health_badge(lang, s)) } }
                    } } }
                }
            }
        }
        section {
            h2 { (lang.t("retention_trend")) }
            (charts::lines("retention-chart", lang.t("retention_trend"), &labels, &retention, 100.0, lang.t("month")))
        }
        section {
            h2 { (lang.t("churn_by_tier")) }
            table {
                thead { tr { th scope="col" { (lang.t("tier")) } th.num scope="col" { (lang.t("accounts")) } th.num scope="col" { (lang.t("churned")) } th.num scope="col" { (lang.t("logo_churn")) } th.num scope="col" { "GRR" } th.num scope="col" { "NRR" } } }
                tbody { @for (tier, r) in &by_tier { tr {
                    td { (lang.t(tier)) @if lang.t(tier).is_empty() { (tier) } }
                    td.num { (r.accounts_at_start) } td.num { (r.churned) } td.num { (percent(r.logo_churn_rate)) } td.num { (percent(r.grr)) } td.num { (percent(r.nrr)) }
                } } }
            }
        }
        section {
            h2 { (lang.t("health_cohorts")) }
            p.muted { (lang.t("health_cohorts_help")) }
            @if deciles.is_empty() { p.muted { (lang.t("no_history")) } } @else {
                (charts::bars("health-cohorts", lang.t("health_cohorts"), &deciles, [lang.t("decile"), lang.t("churn_rate")]))
            }
        }
    };
    Ok(layout(
        lang,
        lang.t("dashboards"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    ))
}
