//! The voice of the customer page: NPS, CSAT and CES overall and per segment, friction and
//! delight month by month (shown apart: remove friction before adding delight), the
//! accounts with friction, and the verbatims.

use super::i18n::{self, Lang};
use super::{PageUser, layout, one_decimal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mikawaya_analytics::voice::{Experience, Scores};
use mikawaya_app::voice::{self, VoiceReport};
use mikawaya_domain::value::Currency;
use serde::Deserialize;

/// The page's period and segments.
#[derive(Debug, Deserialize)]
pub struct VoiceQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

/// An answer's experience as a badge.
pub(super) fn badge(lang: Lang, experience: Experience) -> Markup {
    let class = match experience {
        Experience::Friction => "badge health-red",
        Experience::Delight => "badge health-green",
        Experience::Neutral => "badge",
    };
    html! { span class=(class) data-experience=(experience.as_str()) { (lang.t(experience.as_str())) } }
}

fn scores_cells(scores: &Scores) -> Markup {
    html! {
        td.num { (one_decimal(scores.nps, "")) " (" (scores.nps_answers) ")" }
        td.num { (one_decimal(scores.csat, "%")) " (" (scores.csat_answers) ")" }
        td.num { (one_decimal(scores.ces, "")) " (" (scores.ces_answers) ")" }
    }
}

/// The voice of the customer page.
pub async fn voice_page(
    State(state): State<AppState>,
    page_user: PageUser,
    Query(query): Query<VoiceQuery>,
) -> Response {
    let result = async {
        let (from, to) = crate::routes::voice::period(
            query.from.as_deref(),
            query.to.as_deref(),
            state.clock().today(),
        )?;
        let by = crate::routes::voice::segment_by(query.by.as_deref())?;
        let access = page_user.actor.read();
        let (report, currency, (keywords, rates)) = state
            .run(move |store| {
                let report = voice::report(store, &access, from, to, by)?;
                let accounts = store.all_accounts(&access)?;
                let keywords = mikawaya_app::feedback::keywords(store, &access)?;
                let rates = mikawaya_app::surveys::rates(store, &access, from, to, by)?;
                Ok((
                    report,
                    mikawaya_app::reports::main_currency(&accounts),
                    (keywords, rates),
                ))
            })
            .await?;
        let by = query.by.unwrap_or_else(|| "tier".to_owned());
        Ok::<_, ApiError>(render(
            &page_user, &report, &by, &currency, &keywords, &rates,
        ))
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

fn render(
    page_user: &PageUser,
    report: &VoiceReport,
    by: &str,
    currency: &str,
    (keywords, version): &(mikawaya_analytics::voice::Keywords, i64),
    (rates_by_survey, rates_by_segment): &(
        std::collections::BTreeMap<String, mikawaya_app::surveys::Rate>,
        std::collections::BTreeMap<String, mikawaya_app::surveys::Rate>,
    ),
) -> Response {
    let lang = page_user.lang;
    let currency = Currency::parse(currency).unwrap_or_default();
    let body = html! {
        h1 { (lang.t("voice_of_customer")) }
        form.filters method="get" action="/voice" {
            label { (lang.t("from")) input type="date" name="from" value=(report.from.to_string()); }
            label { (lang.t("to")) input type="date" name="to" value=(report.to.to_string()); }
            label { (lang.t("segment")) select name="by" {
                @for key in ["tier", "plan", "partner"] { option value=(key) selected[key == by] { (lang.t(key)) } }
            } }
            button type="submit" { (lang.t("show")) }
        }
        div.facts data-testid="voice-scores" { dl {
            div { dt { "NPS" } dd data-testid="nps" { (one_decimal(report.overall.nps, "")) } }
            div { dt { "CSAT" } dd { (one_decimal(report.overall.csat, "%")) } }
            div { dt { "CES" } dd { (one_decimal(report.overall.ces, "")) } }
            div { dt { (lang.t("answers")) } dd { (report.answers) } }
        } }
        p.muted { (lang.t("voice_help")) }
        section aria-labelledby="by-segment-heading" {
            h2 #by-segment-heading { (lang.t("voice_by_segment")) }
            table tabindex="0" {
                thead { tr { th scope="col" { (lang.t("segment")) } th.num scope="col" { "NPS" } th.num scope="col" { "CSAT" } th.num scope="col" { "CES" } } }
                tbody { @for (segment, scores) in &report.by_segment { tr {
                    td { @if by == "tier" { (lang.value("tier_name", segment)) } @else { (segment) } }
                    (scores_cells(scores))
                } } }
            }
        }
        section aria-labelledby="by-month-heading" {
            h2 #by-month-heading { (lang.t("friction_and_delight")) }
            table tabindex="0" data-testid="voice-months" {
                thead { tr { th scope="col" { (lang.t("month")) } th.num scope="col" { (lang.t("friction")) } th.num scope="col" { (lang.t("delight")) } th.num scope="col" { "NPS" } th.num scope="col" { "CSAT" } th.num scope="col" { "CES" } } }
                tbody { @for month in &report.by_month { tr {
                    td { (month.month) }
                    td.num { (month.friction) }
                    td.num { (month.delight) }
                    (scores_cells(&month.scores))
                } } }
            }
        }
        section aria-labelledby="segment-months-heading" {
            h2 #segment-months-heading { (lang.t("friction_delight_by_segment")) }
            @let segments: std::collections::BTreeSet<&String> = report.by_segment_month.keys().map(|(s, _)| s).collect();
            @let months: std::collections::BTreeSet<&String> = report.by_segment_month.keys().map(|(_, m)| m).collect();
            table tabindex="0" data-testid="voice-segment-months" {
                thead { tr {
                    th scope="col" { (lang.t("month")) }
                    @for segment in &segments { th.num scope="col" { @if by == "tier" { (lang.value("tier_name", segment)) } @else { (segment) } } }
                } }
                tbody { @for month in months.iter().rev().take(12) { tr {
                    td { (month) }
                    @for segment in &segments {
                        @let (f, d) = report.by_segment_month.get(&((*segment).clone(), (*month).clone())).copied().unwrap_or_default();
                        td.num { (f) " / " (d) }
                    }
                } } }
            }
            p.muted { (lang.t("friction_slash_delight")) }
        }
        section aria-labelledby="rates-heading" {
            h2 #rates-heading { (lang.t("response_rates")) }
            table tabindex="0" data-testid="response-rates" {
                thead { tr { th scope="col" { (lang.t("survey")) " / " (lang.t("segment")) } th.num scope="col" { (lang.t("sent")) } th.num scope="col" { (lang.t("answered")) } th.num scope="col" { (lang.t("rate")) } } }
                tbody {
                    @for (name, rate) in rates_by_survey.iter() { tr { td { strong { (name.to_uppercase()) } } td.num { (rate.sent) } td.num { (rate.answered) } td.num { (one_decimal(rate.percent(), "%")) } } }
                    @for (name, rate) in rates_by_segment.iter() { tr { td { @if by == "tier" { (lang.value("tier_name", name)) } @else { (name) } } td.num { (rate.sent) } td.num { (rate.answered) } td.num { (one_decimal(rate.percent(), "%")) } } }
                }
            }
        }
        section aria-labelledby="friction-heading" {
            h2 #friction-heading { (lang.t("accounts_with_friction")) }
            @if report.friction_accounts.is_empty() { p.muted { (lang.t("no_friction")) } }
            @else {
                table tabindex="0" data-testid="friction-accounts" {
                    thead { tr { th scope="col" { (lang.t("account")) } th.num scope="col" { (lang.t("friction")) } th.num scope="col" { (lang.t("arr")) } } }
                    tbody { @for f in report.friction_accounts.iter().take(50) { tr {
                        td { a href=(format!("/accounts/{}", f.account_id)) { (f.name) } }
                        td.num { (f.friction) }
                        td.num { (i18n::money(f.arr, &currency)) }
                    } } }
                }
            }
        }
        section aria-labelledby="verbatims-heading" {
            h2 #verbatims-heading { (lang.t("verbatims")) }
            @if report.verbatims.is_empty() { p.muted { (lang.t("no_answers")) } }
            @else {
                ul.verbatims data-testid="verbatims" { @for v in report.verbatims.iter().take(50) { li {
                    (badge(lang, v.experience)) " "
                    strong { (v.answer.kind.as_str().to_uppercase()) " " (v.answer.score) } " · "
                    a href=(format!("/accounts/{}", v.answer.account_id)) { (v.account_name) } " · "
                    (i18n::date(v.answer.answered_at.to_zoned(jiff::tz::TimeZone::UTC).date(), lang))
                    @if let Some(comment) = &v.answer.comment { blockquote { (comment) } }
                } } }
            }
        }
        @if matches!(page_user.actor.role(), mikawaya_domain::access::Role::Admin | mikawaya_domain::access::Role::Leader) {
            (super::feedback::keywords_editor(lang, &page_user.csrf_token, keywords, *version))
        }
        p { a href="/feedback" { (lang.t("feedback")) } " · " a href="/requests" { (lang.t("feature_requests")) } " · " a href="/surveys" { (lang.t("surveys")) } }
    };
    layout(
        lang,
        lang.t("voice_of_customer"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    )
    .into_response()
}
