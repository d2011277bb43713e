//! The customer journey's pages: the funnel (accounts, ARR, time in stage, conversion and
//! churn per stage, stuck accounts) with the leader's editor of stages and rules; the
//! journey card of Customer 360 (the account's stays and a move by hand).

use super::i18n::{self, Lang};
use super::{PageUser, layout, parse_number, percent};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_analytics::journey::Stay;
use mikawaya_app::journey::{self, JourneyReport};
use mikawaya_domain::account::{Account, CHURNED_STAGE, TouchTier};
use mikawaya_domain::value::Currency;
use mikawaya_domain::{AccountId, Invalid};
use mikawaya_playbooks::journey::{Journey, JourneyStage, SegmentBy, StageRule};
use mikawaya_playbooks::spec::Localized;
use serde::Deserialize;
use std::collections::HashMap;

/// A stage's name: the journey's, else the vocabulary's, else its key.
pub(super) fn stage_name(lang: Lang, journey: &Journey, key: &str) -> String {
    match journey.stage(key) {
        Some(stage) => stage.name.pick(lang.code()).to_owned(),
        None => lang.value("stage", key),
    }
}

/// The stages a person can put an account in: the journey's, `churned`, and the one it is
/// in now when the journey lacks it.
pub(super) fn stage_choices(journey: &Journey, current: Option<&str>) -> Vec<String> {
    let mut keys: Vec<String> = journey.stages.iter().map(|s| s.key.clone()).collect();
    keys.push(CHURNED_STAGE.to_owned());
    if let Some(current) = current
        && !keys.iter().any(|k| k == current)
    {
        keys.push(current.to_owned());
    }
    keys
}

fn days(value: Option<f64>) -> String {
    super::one_decimal(value, "")
}

/// The journey page's period.
#[derive(Debug, Deserialize)]
pub struct JourneyQuery {
    days: Option<String>,
    saved: Option<i64>,
}

/// How many stuck accounts the page lists.
const STUCK_LISTED: usize = 100;
/// Empty stage rows the editor offers for adding stages.
const SPARE_STAGES: usize = 2;

/// The journey page.
pub async fn journey_page(
    State(state): State<AppState>,
    page_user: PageUser,
    Query(query): Query<JourneyQuery>,
) -> Response {
    let result = async {
        let period: u32 = parse_number(query.days.as_deref(), "days")?.unwrap_or(365);
        let access = page_user.actor.read();
        let today = state.clock().today();
        let (report, metrics) = state
            .run(move |store| {
                let report = journey::report(store, &access, today, period)?;
                let mut metrics: Vec<String> = mikawaya_app::scorecards::built_in()
                    .into_iter()
                    .map(|s| s.name)
                    .collect();
                metrics.extend(store.list_metrics()?.into_iter().map(|(name, _)| name));
                metrics.sort();
                metrics.dedup();
                Ok((report, metrics))
            })
            .await?;
        Ok::<_, ApiError>(render(&page_user, &report, &metrics, period, query.saved))
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

fn funnel(lang: Lang, report: &JourneyReport, currency: &Currency) -> Markup {
    let widest = report
        .stages
        .iter()
        .map(|s| s.accounts)
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        table.funnel tabindex="0" data-testid="journey-funnel" {
            thead { tr {
                th scope="col" { (lang.t("stage")) }
                th.num scope="col" { (lang.t("accounts")) }
                th.num scope="col" { (lang.t("arr")) }
                th.num scope="col" { (lang.t("median_days_in_stage")) }
                th.num scope="col" { (lang.t("p75_days")) }
                th.num scope="col" { (lang.t("target_days")) }
                th.num scope="col" { (lang.t("entered_in_period")) }
                th.num scope="col" { (lang.t("conversion_next")) }
                th.num scope="col" { (lang.t("churned_from_stage")) }
                th.num scope="col" { (lang.t("stuck")) }
            } }
            tbody { @for stage in &report.stages {
                tr data-stage=(stage.key) {
                    td {
                        (stage.name.pick(lang.code()))
                        @if !stage.ruled { " " small.muted { "(" (lang.t("by_hand")) ")" } }
                        div.bar style=(format!("width:{}%", 100 * stage.accounts / widest)) {}
                    }
                    td.num { (stage.accounts) }
                    td.num { (i18n::money(stage.arr, currency)) }
                    td.num { (days(stage.time.median)) }
                    td.num { (days(stage.time.p75)) }
                    td.num { (stage.target_days.map_or_else(|| "—".to_owned(), |d| d.to_string())) }
                    td.num { (stage.conversion.as_ref().map_or_else(|| "—".to_owned(), |c| c.entered.to_string())) }
                    td.num { (percent(stage.conversion.as_ref().and_then(|c| c.rate()))) }
                    td.num { (stage.churned) }
                    td.num { (stage.time.stuck.len()) }
                }
            } }
        }
        p.muted {
            (lang.t("churned")) ": " (report.churned_accounts)
            @if report.elsewhere.0 > 0 {
                " · " (lang.t("outside_journey")) ": " (report.elsewhere.0) " (" (i18n::money(report.elsewhere.1, currency)) ")"
            }
        }
    }
}

fn by_segment(lang: Lang, report: &JourneyReport) -> Markup {
    html! {
        table tabindex="0" {
            thead { tr {
                th scope="col" { (lang.t("stage")) }
                th scope="col" { (lang.t("segment")) }
                th.num scope="col" { (lang.t("completed_stays")) }
                th.num scope="col" { (lang.t("median_days_in_stage")) }
                th.num scope="col" { (lang.t("p75_days")) }
                th.num scope="col" { (lang.t("accounts")) }
                th.num scope="col" { (lang.t("stuck")) }
            } }
            tbody { @for stage in &report.stages { @for (segment, time) in &stage.by_segment { tr {
                td { (stage.name.pick(lang.code())) }
                td { (segment_label(lang, report.journey.segment, segment)) }
                td.num { (time.completed) }
                td.num { (days(time.median)) }
                td.num { (days(time.p75)) }
                td.num { (time.current) }
                td.num { (time.stuck.len()) }
            } } } }
        }
    }
}

fn segment_label(lang: Lang, by: SegmentBy, segment: &str) -> String {
    match by {
        SegmentBy::Tier => lang.value("tier_name", segment),
        _ => segment.to_owned(),
    }
}

fn render(
    page_user: &PageUser,
    report: &JourneyReport,
    metrics: &[String],
    period: u32,
    saved: Option<i64>,
) -> Response {
    let lang = page_user.lang;
    let currency = Currency::parse(&report.currency).unwrap_or_default();
    let body = html! {
        h1 { (lang.t("journey")) }
        @if let Some(version) = saved {
            p.notice role="status" data-testid="saved-notice" { (lang.t("journey_saved")) " v" (version) }
        }
        p.muted data-testid="journey-version" {
            @if report.version == 0 { (lang.t("journey_proposed")) }
            @else { (lang.t("in_force")) ": v" (report.version) }
        }
        form.inline method="get" action="/journey" {
            label { (lang.t("period")) select name="days" {
                @for d in [90u32, 180, 365, 730] {
                    option value=(d) selected[d == period] { (d) " " (lang.t("days")) }
                }
            } }
            button type="submit" { (lang.t("show")) }
        }
        p.muted { (lang.t("journey_help")) " (" (i18n::date(report.from, lang)) " – " (i18n::date(report.to.yesterday().unwrap_or(report.to), lang)) ", " (lang.t("window")) " " (report.journey.window_days) " " (lang.t("days")) ")" }
        (funnel(lang, report, &currency))
        section aria-labelledby="segments-heading" {
            h2 #segments-heading { (lang.t("time_in_stage_by_segment")) }
            (by_segment(lang, report))
        }
        section aria-labelledby="stuck-heading" {
            h2 #stuck-heading { (lang.t("stuck_accounts")) " (" (report.stuck.len()) ")" }
            @if report.stuck.is_empty() { p.muted { (lang.t("nobody_stuck")) } }
            @else {
                p { a href="/portfolio?journey=stuck" { (lang.t("stuck_in_portfolio")) } }
                table tabindex="0" data-testid="stuck-accounts" {
                    thead { tr {
                        th scope="col" { (lang.t("account")) }
                        th scope="col" { (lang.t("stage")) }
                        th scope="col" { (lang.t("segment")) }
                        th.num scope="col" { (lang.t("days_in_stage")) }
                        th.num scope="col" { (lang.t("p75_days")) }
                        th.num scope="col" { (lang.t("arr")) }
                    } }
                    tbody { @for s in report.stuck.iter().take(STUCK_LISTED) { tr {
                        td { a href=(format!("/accounts/{}", s.account_id)) { (s.name) } }
                        td { (stage_name(lang, &report.journey, &s.stage)) }
                        td { (segment_label(lang, report.journey.segment, &s.segment)) }
                        td.num { (s.days) }
                        td.num { (days(Some(s.p75))) }
                        td.num { (i18n::money(s.arr, &currency)) }
                    } } }
                }
            }
        }
        (editor(page_user, &report.journey, metrics))
    };
    layout(
        lang,
        lang.t("journey"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    )
    .into_response()
}

/// The leader's editor: one row per stage (order, key, names, target, rule), the segment
/// and the window. Read-only for those who cannot manage.
fn editor(page_user: &PageUser, journey: &Journey, metrics: &[String]) -> Markup {
    let lang = page_user.lang;
    let manages = page_user.actor.manage().is_ok();
    let rows = journey.stages.len() + SPARE_STAGES;
    let empty = JourneyStage {
        key: String::new(),
        name: Localized {
            en: String::new(),
            ja: None,
        },
        target_days: None,
        rule: None,
    };
    let num = |v: Option<u32>| v.map(|d| d.to_string()).unwrap_or_default();
    html! {
        section aria-labelledby="editor-heading" {
            h2 #editor-heading { (lang.t("journey_stages")) }
            p.muted { (lang.t("journey_rules_help")) }
            datalist #journey-metrics { @for m in metrics { option value=(m) {} } }
            form.editor method="post" action="/journey" data-testid="journey-editor" {
                input type="hidden" name="csrf_token" value=(page_user.csrf_token);
                div.inline {
                    label { (lang.t("segment")) select name="segment" disabled[!manages] {
                        @for value in SegmentBy::ALL {
                            option value=(value.as_str()) selected[journey.segment == value] { (lang.t(value.as_str())) }
                        }
                    } }
                    label { (lang.t("window")) input type="text" inputmode="numeric" name="window_days" value=(journey.window_days) disabled[!manages]; }
                }
                table tabindex="0" {
                    thead { tr {
                        th scope="col" { (lang.t("order")) }
                        th scope="col" { (lang.t("key")) }
                        th scope="col" { (lang.t("name_en")) }
                        th scope="col" { (lang.t("name_ja")) }
                        th scope="col" { (lang.t("target_days")) }
                        th scope="col" { (lang.t("rule_event")) }
                        th scope="col" { (lang.t("rule_metric")) }
                        th scope="col" { (lang.t("rule_at_least")) }
                        th scope="col" { (lang.t("rule_tenure")) }
                        th scope="col" { (lang.t("rule_renewal")) }
                        th scope="col" { (lang.t("rule_expanded")) }
                        th scope="col" { (lang.t("rule_tiers")) }
                        th scope="col" { (lang.t("remove")) }
                    } }
                    tbody { @for i in 0..rows {
                        @let stage = journey.stages.get(i).unwrap_or(&empty);
                        @let rule = stage.rule.clone().unwrap_or_default();
                        tr {
                            td { input type="text" inputmode="numeric" size="2" name=(format!("order_{i}")) aria-label=(format!("{} {}", lang.t("order"), i + 1)) value=(i + 1) disabled[!manages]; }
                            td { input type="text" size="10" name=(format!("key_{i}")) aria-label=(format!("{} {}", lang.t("key"), i + 1)) value=(stage.key) disabled[!manages]; }
                            td { input type="text" name=(format!("name_en_{i}")) aria-label=(format!("{} {}", lang.t("name_en"), i + 1)) value=(stage.name.en) disabled[!manages]; }
                            td { input type="text" name=(format!("name_ja_{i}")) aria-label=(format!("{} {}", lang.t("name_ja"), i + 1)) value=(stage.name.ja.clone().unwrap_or_default()) disabled[!manages]; }
                            td { input type="text" inputmode="numeric" size="4" name=(format!("target_{i}")) aria-label=(format!("{} {}", lang.t("target_days"), i + 1)) value=(num(stage.target_days)) disabled[!manages]; }
                            td { input type="text" name=(format!("event_{i}")) aria-label=(format!("{} {}", lang.t("rule_event"), i + 1)) value=(rule.event.clone().unwrap_or_default()) disabled[!manages]; }
                            td { input type="text" list="journey-metrics" name=(format!("metric_{i}")) aria-label=(format!("{} {}", lang.t("rule_metric"), i + 1)) value=(rule.metric.clone().unwrap_or_default()) disabled[!manages]; }
                            td { input type="text" inputmode="decimal" size="5" name=(format!("at_least_{i}")) aria-label=(format!("{} {}", lang.t("rule_at_least"), i + 1)) value=(rule.at_least.map(|v| v.to_string()).unwrap_or_default()) disabled[!manages]; }
                            td { input type="text" inputmode="numeric" size="4" name=(format!("tenure_{i}")) aria-label=(format!("{} {}", lang.t("rule_tenure"), i + 1)) value=(num(rule.tenure_days)) disabled[!manages]; }
                            td { input type="text" inputmode="numeric" size="4" name=(format!("renewal_{i}")) aria-label=(format!("{} {}", lang.t("rule_renewal"), i + 1)) value=(num(rule.renewal_within_days)) disabled[!manages]; }
                            td { input type="text" inputmode="numeric" size="4" name=(format!("expanded_{i}")) aria-label=(format!("{} {}", lang.t("rule_expanded"), i + 1)) value=(num(rule.expanded_within_days)) disabled[!manages]; }
                            td { @for tier in TouchTier::ALL {
                                label.check { input type="checkbox" name=(format!("tier_{i}_{}", tier.as_str())) value="on" checked[rule.tiers.contains(tier)] disabled[!manages]; (lang.t(tier.as_str())) }
                            } }
                            td { @if i < journey.stages.len() { input type="checkbox" name=(format!("remove_{i}")) value="on" aria-label=(format!("{} {}", lang.t("remove"), i + 1)) disabled[!manages]; } }
                        }
                    } }
                }
                @if manages { button type="submit" { (lang.t("save_journey")) } }
            }
        }
    }
}

/// The editor's form.
#[derive(Debug, Deserialize)]
pub struct JourneyForm {
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

/// Reads the edited journey: rows without a key are left out, the rest sorted by their
/// order; each bad cell named by its row.
fn journey_of(fields: &HashMap<String, String>) -> Result<Journey, Invalid> {
    let get = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let segment = SegmentBy::parse(get("segment").unwrap_or("tier"), "segment")?;
    let window_days = parse_number::<u32>(get("window_days"), "window_days")?.unwrap_or(90);
    let mut rows: Vec<(f64, usize, JourneyStage)> = Vec::new();
    for i in 0..200 {
        let cell = |name: &str| get(&format!("{name}_{i}"));
        let at = |name: &str| format!("stages[{i}].{name}");
        let Some(key) = cell("key") else { continue };
        if cell("remove").is_some() {
            continue;
        }
        let order = parse_number::<f64>(cell("order"), &at("order"))?.unwrap_or(i as f64);
        let rule = StageRule {
            event: cell("event").map(str::to_owned),
            metric: cell("metric").map(str::to_owned),
            at_least: parse_number(cell("at_least"), &at("rule.at_least"))?,
            tenure_days: parse_number(cell("tenure"), &at("rule.tenure_days"))?,
            renewal_within_days: parse_number(cell("renewal"), &at("rule.renewal_within_days"))?,
            expanded_within_days: parse_number(cell("expanded"), &at("rule.expanded_within_days"))?,
            tiers: TouchTier::ALL
                .iter()
                .copied()
                .filter(|t| get(&format!("tier_{i}_{}", t.as_str())).is_some())
                .collect(),
        };
        let stage = JourneyStage {
            key: key.to_owned(),
            name: Localized {
                en: cell("name_en").unwrap_or(key).to_owned(),
                ja: cell("name_ja").map(str::to_owned),
            },
            target_days: parse_number(cell("target"), &at("target_days"))?,
            rule: (rule != StageRule::default()).then_some(rule),
        };
        rows.push((order, i, stage));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    Ok(Journey {
        stages: rows.into_iter().map(|(_, _, stage)| stage).collect(),
        segment,
        window_days,
    })
}

/// Saves the edited journey (managers).
pub async fn save(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<JourneyForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(form.fields.get("csrf_token").map_or("", String::as_str))?;
        let access = page_user.actor.manage()?;
        let journey = journey_of(&form.fields)?;
        let today = state.clock().today();
        let version = state
            .run(move |store| Ok(journey::save(store, &access, &journey, today)?))
            .await?;
        Ok::<_, ApiError>(Redirect::to(&format!("/journey?saved={version}")).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// The hand-move form of Customer 360.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    csrf_token: String,
    stage: String,
    day: Option<String>,
}

/// Moves an account into a stage by hand.
pub async fn move_stage(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<MoveForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.write()?;
        let today = state.clock().today();
        let day = crate::wire::optional(
            form.day.as_deref().filter(|d| !d.trim().is_empty()),
            "day",
            crate::wire::date("day"),
        )?;
        let account = AccountId::new(id);
        state
            .run(move |store| {
                Ok(journey::set_stage(
                    store,
                    &access,
                    account,
                    &form.stage,
                    day,
                    today,
                )?)
            })
            .await?;
        Ok::<_, ApiError>(Redirect::to(&format!("/accounts/{id}#journey-heading")).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// Customer 360's journey card: the stage now and since when (stuck or not), the stays
/// latest first, and a move by hand.
pub(super) fn account_card(
    lang: Lang,
    page_user: &PageUser,
    account: &Account,
    journey: &Journey,
    stays: &[Stay],
    today: jiff::civil::Date,
) -> Markup {
    let can_write = page_user.actor.write().is_ok();
    let current = account.stage.as_ref().map(|s| s.as_str());
    html! {
        section aria-labelledby="journey-heading" data-testid="journey-card" {
            h2 #journey-heading { (lang.t("journey")) }
            p {
                @match current {
                    Some(stage) => {
                        strong { (stage_name(lang, journey, stage)) }
                        @if let Some(since) = account.signals.stage_since {
                            " · " (lang.t("since")) " " (i18n::date(since, lang)) " (" ((today - since).get_days()) " " (lang.t("days")) ")"
                        }
                        @if account.signals.stage_stuck { " " span.badge.health-red data-testid="stuck-badge" { (lang.t("stuck")) } }
                    }
                    None => { span.muted { (lang.t("no_stage")) } }
                }
            }
            @if !stays.is_empty() {
                table tabindex="0" {
                    thead { tr { th scope="col" { (lang.t("stage")) } th scope="col" { (lang.t("entered")) } th scope="col" { (lang.t("left")) } th.num scope="col" { (lang.t("days")) } } }
                    tbody { @for stay in stays.iter().take(12) { tr {
                        td { (stage_name(lang, journey, &stay.stage)) }
                        td { (i18n::date(stay.entered, lang)) }
                        td { @if let Some(left) = stay.left { (i18n::date(left, lang)) } @else { "—" } }
                        td.num { (stay.days(today)) }
                    } } }
                }
            }
            @if can_write {
                details { summary { (lang.t("move_stage")) }
                    form.inline method="post" action=(format!("/accounts/{}/stage", account.id)) {
                        input type="hidden" name="csrf_token" value=(page_user.csrf_token);
                        label { (lang.t("stage")) select name="stage" {
                            @for key in stage_choices(journey, current) {
                                option value=(key) selected[Some(key.as_str()) == current] { (stage_name(lang, journey, &key)) }
                            }
                        } }
                        label { (lang.t("entered")) input type="date" name="day" max=(today.to_string()) value=(today.to_string()); }
                        button type="submit" { (lang.t("move")) }
                    }
                }
            }
        }
    }
}
