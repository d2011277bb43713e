//! Dashboards: health distribution and ARR by health, renewals in the next 90 days with
//! the ARR at risk, GRR and NRR month by month, churn by touch tier, and the health cohort
//! chart (accounts split into deciles of their score 90 days ago against their churn
//! since). The numbers come from the day's stored report (`crate::reports`); every chart
//! has its numbers beside it; the formulas are `shared/domain.md`'s.

use super::charts::{self, Point, Series};
use super::i18n;
use super::{PageUser, health_badge, layout};
use crate::error::ApiError;
use crate::state::AppState;
use maud::{Markup, html};
use mikawaya_domain::value::Currency;

use super::percent;

/// How many renewals a page of the table lists (the totals count them all).
const RENEWALS_LISTED: usize = 100;

/// Which page of the renewals table.
#[derive(Debug, serde::Deserialize)]
pub struct DashboardQuery {
    renewals_page: Option<usize>,
}

/// The dashboards page.
pub async fn dashboards(
    axum::extract::State(state): axum::extract::State<AppState>,
    page_user: PageUser,
    crate::extract::QueryParams(query): crate::extract::QueryParams<DashboardQuery>,
) -> Result<Markup, ApiError> {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let day = state.clock().today();
    let report = state
        .run(move |store| mikawaya_app::reports::dashboard(store, &access, day))
        .await?;
    let numbers = &report.numbers;
    let currency = Currency::parse(&report.currency).unwrap_or_default();
    let names = [
        lang.t("red"),
        lang.t("yellow"),
        lang.t("green"),
        lang.t("no_score"),
    ];
    let bands: Vec<Point> = names
        .iter()
        .zip(&numbers.bands)
        .map(|(name, band)| Point {
            label: (*name).to_owned(),
            value: Some(band.accounts as f64),
        })
        .collect();
    let (renewing_arr, at_risk) = (report.renewing_arr, report.arr_at_risk);
    let labels: Vec<String> = numbers.retention.iter().map(|m| m.month.clone()).collect();
    let retention = [
        Series {
            name: "GRR %".to_owned(),
            values: numbers
                .retention
                .iter()
                .map(|m| m.grr.map(|v| 100.0 * v))
                .collect(),
            dashed: false,
        },
        Series {
            name: "NRR %".to_owned(),
            values: numbers
                .retention
                .iter()
                .map(|m| m.nrr.map(|v| 100.0 * v))
                .collect(),
            dashed: true,
        },
    ];
    let pages = report.renewals.len().div_ceil(RENEWALS_LISTED).max(1);
    let renewals_page = query.renewals_page.unwrap_or(1).clamp(1, pages);
    let first_listed = (renewals_page - 1) * RENEWALS_LISTED;
    let listed_to = (first_listed + RENEWALS_LISTED).min(report.renewals.len());
    let deciles: Vec<Point> = numbers
        .deciles
        .iter()
        .enumerate()
        .map(|(i, d)| Point {
            label: format!("D{} ({:.0}-{:.0})", i + 1, d.low, d.high),
            value: Some(100.0 * d.churned as f64 / d.accounts.max(1) as f64),
        })
        .collect();
    let body = html! {
        h1 { (lang.t("dashboards")) }
        nav.views aria-label=(lang.t("proof")) {
            a href="/cohorts" { (lang.t("cohorts")) }
            a href="/explore" { (lang.t("metric_explorer")) }
            a href="/forecast" { (lang.t("forecast")) }
            a href="/scorecards" { (lang.t("scorecards")) }
            a href="/team" { (lang.t("team")) }
        }
        section {
            h2 { (lang.t("health_distribution")) }
            @if let Some(d) = numbers.health_day { p.muted { (lang.t("as_of")) " " (i18n::date(d, lang)) } }
            (charts::bars("health-distribution", lang.t("health_distribution"), &bands, [lang.t("health"), lang.t("accounts")]))
            table tabindex="0" {
                thead { tr { th scope="col" { (lang.t("health")) } th.num scope="col" { (lang.t("accounts")) } th.num scope="col" { (lang.t("arr")) } } }
                tbody { @for (name, band) in names.iter().zip(&numbers.bands) { tr { td { (name) } td.num { (band.accounts) } td.num { (i18n::money(band.arr, &currency)) } } } }
            }
        }
        section {
            h2 { (lang.t("renewals_90")) }
            p { (lang.t("renewing_arr")) ": " strong { (i18n::money(renewing_arr, &currency)) } " (" (report.renewing_accounts) ") · " (lang.t("arr_at_risk")) ": " strong data-testid="arr-at-risk" { (i18n::money(at_risk, &currency)) } }
            @if report.renewals.is_empty() { p.muted { "—" } } @else {
                table tabindex="0" {
                    thead { tr { th scope="col" { (lang.t("name")) } th scope="col" { (lang.t("renewal")) } th.num scope="col" { (lang.t("arr")) } th scope="col" { (lang.t("health")) } } }
                    tbody { @for r in report.renewals.iter().skip(first_listed).take(RENEWALS_LISTED) { tr {
                        td { a href=(format!("/accounts/{}", r.account_id)) { (r.name) } }
                        td { (i18n::date(r.renewal_date, lang)) }
                        td.num { (i18n::money(r.arr, &Currency::parse(&r.currency).unwrap_or_default())) }
                        td { @if let Some(s) = r.score { (health_badge(lang, s)) } }
                    } } }
                }
                nav.pager aria-label=(lang.t("renewals_pages")) {
                    span.muted data-testid="renewals-range" { (first_listed + 1) "–" (listed_to) " / " (i18n::group_digits(report.renewals.len() as u64)) }
                    @if renewals_page > 1 { a href=(format!("/dashboards?renewals_page={}", renewals_page - 1)) { "← " (lang.t("previous")) } }
                    @if renewals_page < pages { a href=(format!("/dashboards?renewals_page={}", renewals_page + 1)) rel="next" { (lang.t("next")) " →" } }
                }
            }
        }
        section {
            h2 { (lang.t("book_of_business")) }
            table tabindex="0" {
                thead { tr {
                    th scope="col" { (lang.t("owner")) }
                    th.num scope="col" { (lang.t("high")) } th.num scope="col" { (lang.t("low")) } th.num scope="col" { (lang.t("tech")) }
                    th.num scope="col" { (lang.t("arr")) } th.num scope="col" { (lang.t("open_tasks")) } th.num scope="col" { (lang.t("overdue")) }
                } }
                tbody { @for row in &report.book { tr {
                    td { @match (&row.owner_name, &row.owner_email) {
                        (Some(name), Some(email)) => { (name) br; span.muted { (email) } }
                        (_, Some(email)) => { (email) }
                        _ => { (lang.t("unowned")) }
                    } }
                    @for tier in ["high", "low", "tech"] { td.num { (row.accounts.get(tier).copied().unwrap_or(0)) } }
                    td.num { (i18n::money(row.arr, &currency)) }
                    td.num { (row.open_tasks) }
                    td.num { (row.overdue_tasks) }
                } } }
            }
        }
        section {
            h2 { (lang.t("retention_trend")) }
            (charts::lines("retention-chart", lang.t("retention_trend"), &labels, &retention, 100.0, lang.t("month")))
        }
        section {
            h2 { (lang.t("churn_by_tier")) }
            table tabindex="0" {
                thead { tr { th scope="col" { (lang.t("tier")) } th.num scope="col" { (lang.t("accounts")) } th.num scope="col" { (lang.t("churned")) } th.num scope="col" { (lang.t("logo_churn")) } th.num scope="col" { "GRR" } th.num scope="col" { "NRR" } } }
                tbody { @for t in &numbers.tiers { tr {
                    td { @if lang.t(&t.tier).is_empty() { (t.tier) } @else { (lang.t(&t.tier)) } }
                    td.num { (t.accounts_at_start) } td.num { (t.churned) } td.num { (percent(t.logo_churn_rate)) } td.num { (percent(t.grr)) } td.num { (percent(t.nrr)) }
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
