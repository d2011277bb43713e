//! Feedback and feature requests in the web app: the feedback inbox (items in no request,
//! each with its class and the request the similarity suggests: confirm, start a request,
//! reclass), the product managers' ranked request list, one request (requesters with ARR at
//! risk and renewals, status and product issue link for leaders, items to split off, its
//! history, health before and after it shipped), the keyword lists leaders edit, and
//! Customer 360's feedback form.

use super::i18n::{self, Lang};
use super::{PageUser, layout, one_decimal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_analytics::voice::Keywords;
use mikawaya_app::feedback::{self, ItemView, RequestDetail, RequestRow};
use mikawaya_domain::access::Role;

use mikawaya_domain::value::{Currency, Text};
use mikawaya_domain::voice::{
    ChangeSource, Experience, FeedbackSource, NewFeedbackItem, RequestStatus,
};
use mikawaya_domain::{AccountId, ContactId, Invalid};
use mikawaya_store::voice::{FeedbackChange, FeedbackFilter, RequestChange};
use serde::Deserialize;

fn status_badge(lang: Lang, status: RequestStatus) -> Markup {
    let class = match status {
        RequestStatus::Shipped => "badge health-green",
        RequestStatus::Declined => "badge health-red",
        _ => "badge",
    };
    html! { span class=(class) data-status=(status.as_str()) { (lang.value("request_status", status.as_str())) } }
}

fn is_leader(page_user: &PageUser) -> bool {
    matches!(page_user.actor.role(), Role::Admin | Role::Leader)
}

fn experience_select(lang: Lang, current: Experience) -> Markup {
    html! {
        select name="experience" aria-label=(lang.t("class")) {
            @for e in Experience::ALL { option value=(e.as_str()) selected[*e == current] { (lang.t(e.as_str())) } }
            option value="" { (lang.t("class_by_rules")) }
        }
    }
}

/// One item with its actions (the inbox and a request's page).
fn item_row(lang: Lang, csrf: &str, view: &ItemView, back: &str) -> Markup {
    let item = &view.item;
    html! {
        li data-testid="feedback-item" data-item=(item.id) {
            (super::voice::badge(lang, view.experience))
            @if item.experience_override.is_some() { " " span.muted { (lang.t("class_by_person")) } }
            " " a href=(format!("/accounts/{}", item.account_id)) { (view.account_name) }
            @if let Some(contact) = &view.contact_name { " · " (contact) }
            " · " span.muted { (lang.value("feedback_source", item.source.as_str())) " · " (i18n::date(item.created_at.to_zoned(jiff::tz::TimeZone::UTC).date(), lang)) }
            blockquote { (item.text) }
            @if let (Some((request, score)), Some(title), None) = (item.suggestion, &view.suggested_title, item.request_id) {
                form.inline method="post" action=(format!("/feedback/{}", item.id)) {
                    input type="hidden" name="csrf_token" value=(csrf);
                    input type="hidden" name="back" value=(back);
                    input type="hidden" name="request_id" value=(request);
                    span { (lang.t("suggested_request")) ": " a href=(format!("/requests/{request}")) { (title) } " (" (format!("{score:.2}")) ")" }
                    button type="submit" name="action" value="merge" data-testid="confirm-suggestion" { (lang.t("confirm_merge")) }
                }
            }
            form.inline method="post" action=(format!("/feedback/{}", item.id)) {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="back" value=(back);
                @if item.request_id.is_some() {
                    button type="submit" name="action" value="split" { (lang.t("split_off")) }
                } @else {
                    label { (lang.t("new_request_title")) input type="text" name="title" maxlength="300"; }
                    button type="submit" name="action" value="new_request" { (lang.t("start_request")) }
                }
                (experience_select(lang, view.experience))
                button type="submit" name="action" value="classify" { (lang.t("set_class")) }
            }
        }
    }
}

/// The inbox's filter.
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    /// all (default: items in no request).
    show: Option<String>,
}

/// The feedback inbox.
pub async fn inbox(
    State(state): State<AppState>,
    page_user: PageUser,
    Query(query): Query<InboxQuery>,
) -> Response {
    let result = async {
        let access = page_user.actor.read();
        let unmerged = query.show.as_deref() != Some("all");
        let index = std::sync::Arc::clone(&state.feedback_index);
        let (total, views) = state
            .run(move |store| {
                feedback::suggest_pending(store, &index)?;
                let items = store.feedback(
                    &access,
                    &FeedbackFilter {
                        unmerged,
                        ..FeedbackFilter::default()
                    },
                )?;
                let total = items.len();
                Ok((total, feedback::views(store, &access, items.into_iter().take(50).collect())?))
            })
            .await?;
        let lang = page_user.lang;
        let body = html! {
            h1 { (lang.t("feedback")) }
            p.muted { (lang.t("feedback_help")) }
            nav.tabs {
                a href="/feedback" aria-current=[unmerged.then_some("page")] { (lang.t("feedback_unmerged")) }
                " · "
                a href="/feedback?show=all" aria-current=[(!unmerged).then_some("page")] { (lang.t("feedback_all")) }
                " · "
                a href="/requests" { (lang.t("feature_requests")) }
            }
            @if views.is_empty() { p.muted { (lang.t("no_feedback")) } }
            @else { p.muted { (views.len()) " / " (total) " " (lang.t("latest_first")) } }
            ul.verbatims data-testid="feedback-inbox" {
                @for view in &views { (item_row(lang, &page_user.csrf_token, view, "/feedback")) }
            }
        };
        Ok::<_, ApiError>(
            layout(lang, lang.t("feedback"), Some((&page_user.user, &page_user.csrf_token)), body)
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// An item's form.
#[derive(Debug, Deserialize)]
pub struct ItemForm {
    csrf_token: String,
    action: String,
    request_id: Option<i64>,
    title: Option<String>,
    experience: Option<String>,
    back: Option<String>,
}

/// Merges, splits, starts a request from, or classes an item.
pub async fn change_item(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<ItemForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.write()?;
        let back = super::next_or(form.back.clone(), "/feedback");
        let target = state
            .run(move |store| match form.action.as_str() {
                "merge" => {
                    let request = form
                        .request_id
                        .ok_or(Invalid::new("request_id", "is required"))?;
                    feedback::merge(store, &access, id, Some(request))?;
                    Ok(None)
                }
                "split" => {
                    feedback::merge(store, &access, id, None)?;
                    Ok(None)
                }
                "new_request" => {
                    let item = store.get_feedback(&access.read(), id)?;
                    let title = form
                        .title
                        .as_deref()
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map_or_else(
                            || item.text.as_str().chars().take(80).collect(),
                            str::to_owned,
                        );
                    let request =
                        feedback::create_request(store, &access, &title, &[id], ChangeSource::App)?;
                    Ok(Some(request.id))
                }
                "classify" => {
                    let experience = form
                        .experience
                        .as_deref()
                        .filter(|e| !e.is_empty())
                        .map(Experience::parse)
                        .transpose()?;
                    store.change_feedback(&access, id, &FeedbackChange::Experience(experience))?;
                    Ok(None)
                }
                other => Err(Invalid::new("action", format!("'{other}' is not an action")).into()),
            })
            .await?;
        let to = target.map_or(back, |request| format!("/requests/{request}"));
        Ok::<_, ApiError>(Redirect::to(&to).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

fn requests_table(lang: Lang, rows: &[RequestRow], currency: &Currency) -> Markup {
    html! {
        table tabindex="0" data-testid="requests" {
            thead { tr {
                th scope="col" { "#" }
                th scope="col" { (lang.t("request")) }
                th scope="col" { (lang.t("status")) }
                th.num scope="col" { (lang.t("accounts")) }
                th.num scope="col" { (lang.t("arr")) }
                th.num scope="col" { (lang.t("request_arr_at_risk")) }
                th scope="col" { (lang.t("next_renewal")) }
                th.num scope="col" { (lang.t("friction")) " / " (lang.t("delight")) }
            } }
            tbody { @for row in rows { tr {
                td { (row.request.id) }
                td { a href=(format!("/requests/{}", row.request.id)) { (row.request.title) } }
                td { (status_badge(lang, row.request.status)) }
                td.num { (row.requesters.len()) }
                td.num { (i18n::money(row.arr, currency)) }
                td.num { (i18n::money(row.arr_at_risk, currency)) }
                td { @if let Some(d) = row.next_renewal { (i18n::date(d, lang)) } }
                td.num { (row.friction) " / " (row.delight) }
            } } }
        }
    }
}

/// The product managers' ranked list of requests.
pub async fn requests_page(State(state): State<AppState>, page_user: PageUser) -> Response {
    let result = async {
        let access = page_user.actor.read();
        let (rows, currency) = state
            .run(move |store| {
                let rows = feedback::ranked(store, &access)?;
                let accounts = store.all_accounts(&access)?;
                Ok((rows, mikawaya_app::reports::main_currency(&accounts)))
            })
            .await?;
        let lang = page_user.lang;
        let currency = Currency::parse(&currency).unwrap_or_default();
        let shipped: Vec<&RequestRow> = rows
            .iter()
            .filter(|r| r.request.status == RequestStatus::Shipped)
            .collect();
        let body = html! {
            h1 { (lang.t("feature_requests")) }
            p.muted { (lang.t("requests_help")) }
            p { a href="/feedback" { (lang.t("feedback")) } " · " a href="/api/v1/requests?format=csv" download="requests.csv" { (lang.t("export_csv")) } }
            @if rows.is_empty() { p.muted { (lang.t("no_requests")) } }
            @else { (requests_table(lang, &rows, &currency)) }
            section aria-labelledby="shipped-heading" {
                h2 #shipped-heading { (lang.t("shipped_requests")) }
                @if shipped.is_empty() { p.muted { (lang.t("none_yet")) } }
                ul { @for row in shipped { li {
                    a href=(format!("/requests/{}", row.request.id)) { (row.request.title) }
                    " · " (row.requesters.len()) " " (lang.t("accounts"))
                    @if row.request.loop_closed_at.is_some() { " · " span.badge.health-green { (lang.t("loop_closed")) } }
                } } }
            }
        };
        Ok::<_, ApiError>(
            layout(lang, lang.t("feature_requests"), Some((&page_user.user, &page_user.csrf_token)), body)
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

fn render_request(page_user: &PageUser, detail: &RequestDetail, currency: &Currency) -> Markup {
    let lang = page_user.lang;
    let request = &detail.row.request;
    let csrf = &page_user.csrf_token;
    let back = format!("/requests/{}", request.id);
    html! {
        h1 { (request.title) }
        p { (status_badge(lang, request.status)) " "
            @if let Some(url) = &request.issue_url { a href=(url) rel="noopener" data-testid="issue-link" { (url) } }
            @if request.loop_closed_at.is_some() { " " span.badge.health-green data-testid="loop-closed" { (lang.t("loop_closed")) } }
        }
        div.facts { dl {
            div { dt { (lang.t("accounts")) } dd { (detail.row.requesters.len()) } }
            div { dt { (lang.t("arr")) } dd { (i18n::money(detail.row.arr, currency)) } }
            div { dt { (lang.t("request_arr_at_risk")) } dd { (i18n::money(detail.row.arr_at_risk, currency)) } }
            div { dt { (lang.t("items")) } dd { (detail.row.items) } }
            @if let Some((before, after)) = detail.health {
                div { dt { (lang.t("health_before")) } dd { (one_decimal(before, "")) } }
                div { dt { (lang.t("health_after")) } dd { (one_decimal(after, "")) } }
            }
        } }
        @if is_leader(page_user) {
            form.inline method="post" action=(format!("/requests/{}", request.id)) data-testid="request-form" {
                input type="hidden" name="csrf_token" value=(csrf);
                label { (lang.t("status")) select name="status" {
                    @for s in RequestStatus::ALL { option value=(s.as_str()) selected[*s == request.status] { (lang.value("request_status", s.as_str())) } }
                } }
                label { (lang.t("issue_url")) input type="url" name="issue_url" value=(request.issue_url.as_deref().unwrap_or("")) placeholder="https://"; }
                button type="submit" { (lang.t("save")) }
            }
            p.muted { (lang.t("shipped_tells")) }
        }
        section aria-labelledby="requesters-heading" {
            h2 #requesters-heading { (lang.t("requesters")) }
            table tabindex="0" data-testid="requesters" {
                thead { tr { th scope="col" { (lang.t("account")) } th.num scope="col" { (lang.t("arr")) } th scope="col" { (lang.t("at_risk")) } th scope="col" { (lang.t("renewal_date")) } } }
                tbody { @for r in &detail.row.requesters { tr {
                    td { a href=(format!("/accounts/{}", r.account_id)) { (r.name) } }
                    td.num { (i18n::money(r.arr, currency)) }
                    td { @if r.at_risk { span.badge.health-red { (lang.t("at_risk")) } } }
                    td { @if let Some(d) = r.renewal { (i18n::date(d, lang)) } }
                } } }
            }
        }
        section aria-labelledby="items-heading" {
            h2 #items-heading { (lang.t("items")) }
            ul.verbatims { @for view in &detail.items { (item_row(lang, csrf, view, &back)) } }
        }
        section aria-labelledby="history-heading" {
            h2 #history-heading { (lang.t("history")) }
            ul { @for e in &detail.events { li {
                (i18n::date(e.at.to_zoned(jiff::tz::TimeZone::UTC).date(), lang)) " · " (e.kind) " · " (e.text) " · " span.muted { (e.source) }
            } } }
        }
    }
}

/// One request.
pub async fn request_page(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
) -> Response {
    let result = async {
        let access = page_user.actor.read();
        let today = state.clock().today();
        let (detail, currency) = state
            .run(move |store| {
                let detail = feedback::detail(store, &access, id, today)?;
                let accounts = store.all_accounts(&access)?;
                Ok((detail, mikawaya_app::reports::main_currency(&accounts)))
            })
            .await?;
        let currency = Currency::parse(&currency).unwrap_or_default();
        let lang = page_user.lang;
        let body = render_request(&page_user, &detail, &currency);
        Ok::<_, ApiError>(
            layout(
                lang,
                detail.row.request.title.as_str(),
                Some((&page_user.user, &page_user.csrf_token)),
                body,
            )
            .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// A leader's change of a request.
#[derive(Debug, Deserialize)]
pub struct RequestForm {
    csrf_token: String,
    status: Option<String>,
    issue_url: Option<String>,
}

/// Sets a request's status and link (leaders).
pub async fn change_request(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.manage()?;
        let change = RequestChange {
            at: None,
            title: None,
            status: form
                .status
                .as_deref()
                .map(RequestStatus::parse)
                .transpose()?,
            issue_url: form
                .issue_url
                .map(|u| Some(u.trim().to_owned()).filter(|u| !u.is_empty())),
        };
        let language = state.workflow.language();
        state
            .run(move |store| {
                feedback::change_request(store, &access, id, &change, ChangeSource::App, language)?;
                Ok(())
            })
            .await?;
        Ok::<_, ApiError>(Redirect::to(&format!("/requests/{id}")).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// The keyword editor for leaders (on the voice page).
pub fn keywords_editor(lang: Lang, csrf: &str, keywords: &Keywords, version: i64) -> Markup {
    html! {
        section aria-labelledby="keywords-heading" {
            h2 #keywords-heading { (lang.t("keywords")) }
            p.muted { (lang.t("keywords_help")) " " (lang.t("version")) " " (version) }
            form method="post" action="/voice/keywords" data-testid="keywords-form" {
                input type="hidden" name="csrf_token" value=(csrf);
                label { (lang.t("friction")) textarea name="friction" rows="6" { (keywords.friction.join("\n")) } }
                label { (lang.t("delight")) textarea name="delight" rows="6" { (keywords.delight.join("\n")) } }
                button type="submit" { (lang.t("save")) }
            }
        }
    }
}

/// The keyword editor's form.
#[derive(Debug, Deserialize)]
pub struct KeywordsForm {
    csrf_token: String,
    friction: String,
    delight: String,
}

/// Saves the keyword lists (leaders).
pub async fn save_keywords(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<KeywordsForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.manage()?;
        let lines = super::lines;
        let keywords = Keywords {
            friction: lines(&form.friction),
            delight: lines(&form.delight),
        };
        let version = state
            .run(move |store| Ok(feedback::save_keywords(store, &access, &keywords)?))
            .await?;
        Ok::<_, ApiError>(Redirect::to(&format!("/voice?keywords={version}")).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// Customer 360's feedback card: the account's items and a form to record one.
pub fn account_card(
    lang: Lang,
    csrf: &str,
    account: AccountId,
    views: &[ItemView],
    contacts: &[(ContactId, String)],
) -> Markup {
    html! {
        section aria-labelledby="feedback-heading" data-testid="account-feedback" {
            h2 #feedback-heading { (lang.t("feedback")) }
            @if views.is_empty() { p.muted { (lang.t("no_feedback")) } }
            ul.verbatims { @for view in views.iter().take(20) { li data-testid="account-feedback-item" {
                (super::voice::badge(lang, view.experience)) " "
                @if let Some(request) = view.item.request_id { a href=(format!("/requests/{request}")) { (lang.t("request")) " #" (request) } " · " }
                span.muted { (lang.value("feedback_source", view.item.source.as_str())) }
                blockquote { (view.item.text) }
            } } }
            details {
                summary { (lang.t("add_feedback")) }
                form method="post" action=(format!("/accounts/{account}/feedback")) {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("contact")) select name="contact_id" {
                        option value="" { "—" }
                        @for (id, name) in contacts { option value=(id) { (name) } }
                    } }
                    label { (lang.t("what_they_said")) textarea name="text" rows="3" required maxlength="10000" {} }
                    button type="submit" { (lang.t("add_feedback")) }
                }
            }
        }
    }
}

/// Customer 360's feedback form.
#[derive(Debug, Deserialize)]
pub struct AccountFeedbackForm {
    csrf_token: String,
    contact_id: Option<String>,
    text: String,
}

/// Records feedback from Customer 360.
pub async fn add_from_account(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<AccountFeedbackForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.write()?;
        let contact_id = crate::wire::optional(
            form.contact_id.as_deref().filter(|c| !c.trim().is_empty()),
            "contact_id",
            |raw| {
                raw.trim()
                    .parse::<i64>()
                    .map(ContactId::new)
                    .map_err(|_| Invalid::new("contact_id", "is not a number"))
            },
        )?;
        let new = NewFeedbackItem {
            account_id: AccountId::new(id),
            contact_id,
            source: FeedbackSource::Api,
            source_key: None,
            text: Text::parse(&form.text).map_err(|e| e.in_field("text"))?,
            created_at: None,
        };
        let index = std::sync::Arc::clone(&state.feedback_index);
        state
            .run(move |store| {
                feedback::add(store, &access, &index, &[new])?;
                Ok(())
            })
            .await?;
        Ok::<_, ApiError>(Redirect::to(&format!("/accounts/{id}#feedback-heading")).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// Customer 360's form to set a survey answer's class by hand.
pub fn answer_class_form(
    lang: Lang,
    csrf: &str,
    account: AccountId,
    answer: &mikawaya_domain::work::SurveyResponse,
) -> Markup {
    html! {
        details.inline {
            summary { (lang.t("set_class")) }
            form.inline method="post" action=(format!("/accounts/{account}/answers/{}/experience", answer.id)) {
                input type="hidden" name="csrf_token" value=(csrf);
                select name="experience" aria-label=(lang.t("class")) {
                    @for e in Experience::ALL { option value=(e.as_str()) selected[answer.experience_override == Some(*e)] { (lang.t(e.as_str())) } }
                    option value="" selected[answer.experience_override.is_none()] { (lang.t("class_by_rules")) }
                }
                button type="submit" { (lang.t("set_class")) }
            }
        }
    }
}

/// The answer class form.
#[derive(Debug, Deserialize)]
pub struct AnswerClassForm {
    csrf_token: String,
    experience: String,
}

/// Sets a survey answer's class from Customer 360 (empty: back to the rules).
pub async fn classify_answer(
    State(state): State<AppState>,
    page_user: PageUser,
    Path((account, answer)): Path<(i64, i64)>,
    Form(form): Form<AnswerClassForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.write()?;
        let experience = Some(form.experience.trim())
            .filter(|e| !e.is_empty())
            .map(Experience::parse)
            .transpose()?;
        state
            .run(move |store| store.set_answer_experience(&access, answer, experience))
            .await?;
        Ok::<_, ApiError>(
            Redirect::to(&format!("/accounts/{account}#voice-heading")).into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}
