//! Customer 360: one account's key facts, health with its history and drivers, usage,
//! stakeholders, subscriptions, touchpoints and tasks; and the forms that log a
//! touchpoint, create a task and complete one. Also the "my tasks" page and the language
//! switch.

use super::charts::{self, Point};
use super::i18n::{self, Lang};
use super::{PageUser, layout, not_found_page};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use maud::{Markup, html};
use mikawaya_domain::touchpoint::{NewTouchpoint, TouchpointKind};
use mikawaya_domain::value::Text;
use mikawaya_domain::work::{NewTask, Priority, TaskPatch, TaskStatus};
use mikawaya_domain::{AccountId, Patch};
use mikawaya_store::work::TaskFilter;
use mikawaya_store::{
    ContactFilter, PageRequest, StoreError, SubscriptionFilter, TouchpointFilter,
};
use serde::Deserialize;
use std::sync::Arc;

fn weeks_back(day: Date, weeks: i64) -> Date {
    day.checked_sub(jiff::Span::new().days(7 * weeks))
        .unwrap_or(day)
}

fn page_error(lang: Lang, error: ApiError) -> Response {
    match error {
        ApiError::NotFound(_) => not_found_page(lang).into_response(),
        other => other.into_response(),
    }
}

/// Health over 26 weeks and the measures now and 30 days ago (for drivers): from the
/// stored snapshots, or computed when there are none yet.
struct Health {
    history: Vec<Point>,
    now: Option<mikawaya_analytics::scorecard::AccountHealth>,
    before: Option<mikawaya_analytics::scorecard::AccountHealth>,
}

fn health(
    state: &AppState,
    account: AccountId,
    access: &mikawaya_domain::ReadAccess,
    day: Date,
) -> Result<Health, ApiError> {
    let view = state
        .ingest
        .read(|rollups| {
            mikawaya_app::health::account_health(
                state.store.as_ref(),
                access,
                rollups,
                account,
                day,
            )
        })
        .map_err(ApiError::internal)??;
    Ok(Health {
        history: view
            .history
            .iter()
            .map(|(day, score)| Point {
                label: day.to_string(),
                value: *score,
            })
            .collect(),
        now: view.now,
        before: view.before,
    })
}

/// The Customer 360 page.
pub async fn account_page(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    axum::extract::Query(params): axum::extract::Query<AccountPageParams>,
) -> Response {
    let event = params.event.filter(|e| !e.trim().is_empty());
    match render_account(&state, &page_user, AccountId::new(id), event).await {
        Ok(markup) => markup.into_response(),
        Err(error) => page_error(page_user.lang, error),
    }
}

/// The usage chart's event (none: every event).
#[derive(Debug, Deserialize)]
pub struct AccountPageParams {
    event: Option<String>,
}

async fn render_account(
    state: &AppState,
    page_user: &PageUser,
    id: AccountId,
    event: Option<String>,
) -> Result<Markup, ApiError> {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let health_access = access;
    let (account, contacts, subscriptions, touchpoints, tasks, users) = state
        .run(move |store| {
            let account = store.get_account(&access, id)?;
            let contacts = store
                .list_contacts(
                    &access,
                    &ContactFilter {
                        account_id: Some(id),
                        ..ContactFilter::default()
                    },
                    &PageRequest::first(200),
                )?
                .data;
            let subscriptions = store
                .list_subscriptions(
                    &access,
                    &SubscriptionFilter {
                        account_id: Some(id),
                        ..SubscriptionFilter::default()
                    },
                    &PageRequest::first(200),
                )?
                .data;
            let touchpoints = store
                .list_touchpoints(
                    &access,
                    &TouchpointFilter {
                        account_id: Some(id),
                        ..TouchpointFilter::default()
                    },
                    &PageRequest::first(20),
                )?
                .data;
            let tasks = store
                .list_tasks(
                    &access,
                    &TaskFilter {
                        account_id: Some(id),
                        ..TaskFilter::default()
                    },
                    &PageRequest::first(100),
                )?
                .data;
            let users = store.list_users(&access)?;
            Ok((account, contacts, subscriptions, touchpoints, tasks, users))
        })
        .await?;
    let health_state = state.clone();
    let clock = state.clock();
    let today = clock.today();
    let (account, health) = tokio::task::spawn_blocking(move || {
        let health = health(&health_state, account.id, &health_access, today);
        (account, health)
    })
    .await
    .map_err(ApiError::internal)?;
    let health = health?;
    let (usage, events) = match account.external_id.as_ref().map(ToString::to_string) {
        Some(key) => {
            let ingest = Arc::clone(&state.ingest);
            let (from, to) = (weeks_back(today, 25), today);
            let chosen = event.clone();
            tokio::task::spawn_blocking(move || {
                ingest.read(|r| {
                    let points = r.usage(
                        &key,
                        chosen.as_deref(),
                        from,
                        to,
                        mikawaya_usage::rollup::Interval::Week,
                    );
                    let names: Vec<String> = r.catalog().into_iter().map(|c| c.name).collect();
                    (points, names)
                })
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
        }
        None => (Vec::new(), Vec::new()),
    };
    let usage_points: Vec<Point> = usage
        .iter()
        .map(|p| Point {
            label: p.period.to_string(),
            value: Some(p.count as f64),
        })
        .collect();
    let owner = account
        .owner_id
        .and_then(|o| users.iter().find(|u| u.id == o));
    let user_name = |id: Option<mikawaya_domain::UserId>| {
        id.and_then(|i| users.iter().find(|u| u.id == i))
            .map(|u| u.name.to_string())
            .unwrap_or_default()
    };
    let score = health.now.as_ref().and_then(|h| h.score);
    let drivers: Vec<(String, Option<f64>, Option<f64>, f64)> = match (&health.now, &health.before)
    {
        (Some(now), before) => now
            .measures
            .iter()
            .map(|m| {
                let was = before
                    .as_ref()
                    .and_then(|b| b.measures.iter().find(|x| x.metric == m.metric))
                    .and_then(|x| x.score);
                (m.metric.clone(), m.score, was, m.weight)
            })
            .collect(),
        _ => Vec::new(),
    };
    // MRR on the first of each of the last 24 months, from the subscription rows.
    let this_month = today.first_of_month();
    let months: Vec<Date> = (0..24)
        .rev()
        .filter_map(|back| this_month.checked_sub(jiff::Span::new().months(back)).ok())
        .collect();
    let mrr_labels: Vec<String> = months
        .iter()
        .map(|m| format!("{:04}-{:02}", m.year(), m.month()))
        .collect();
    let mrr_series = [charts::Series {
        name: "MRR".to_owned(),
        values: months
            .iter()
            .map(|m| {
                Some(
                    subscriptions
                        .iter()
                        .filter(|s| s.term.is_active_on(*m))
                        .map(|s| s.mrr.amount())
                        .sum(),
                )
            })
            .collect(),
        dashed: false,
    }];
    let csrf = &page_user.csrf_token;
    let body = html! {
        p { a href="/portfolio" { "← " (lang.t("portfolio")) } }
        h1 { (account.name) }
        section.facts aria-label=(lang.t("key_facts")) {
            dl {
                div { dt { (lang.t("arr")) } dd { (i18n::money(account.arr(), &account.currency)) } }
                div { dt { (lang.t("renewal")) } dd { @if let Some(r) = account.renewal_date { (i18n::date(r, lang)) } @else { "—" } } }
                div { dt { (lang.t("owner")) } dd { @if let Some(o) = owner { (o.name) } @else { "—" } } }
                div { dt { (lang.t("tier")) } dd { @if let Some(t) = account.tier { (lang.t(t.as_str())) } @else { "—" } } }
                div { dt { (lang.t("stage")) } dd { @if let Some(s) = &account.stage { (lang.value("stage", s.as_str())) } @else { "—" } } }
                div { dt { (lang.t("plan")) } dd { @if let Some(p) = &account.plan { (p) } @else { "—" } } }
                div { dt { (lang.t("health")) } dd {
                    @if let Some(s) = score { span data-testid="health-score" { (super::health_badge(lang, s)) } } @else { "—" }
                } }
            }
        }
        section {
            h2 { (lang.t("health_history")) }
            (charts::score_line("health-chart", lang.t("health_history"), &health.history, [lang.t("red"), lang.t("yellow"), lang.t("green")], [lang.t("week"), lang.t("health")]))
            @if !drivers.is_empty() {
                h3 { (lang.t("drivers")) }
                table {
                    thead { tr { th scope="col" { (lang.t("measure")) } th.num scope="col" { (lang.t("score_now")) } th.num scope="col" { (lang.t("score_30d")) } th.num scope="col" { (lang.t("change")) } th.num scope="col" { (lang.t("weight")) } } }
                    tbody { @for (metric, now, was, weight) in &drivers { tr {
                        td { (metric) }
                        td.num { @if let Some(v) = now { (format!("{v:.0}")) } @else { "—" } }
                        td.num { @if let Some(v) = was { (format!("{v:.0}")) } @else { "—" } }
                        td.num { @if let (Some(a), Some(b)) = (now, was) { (format!("{:+.0}", a - b)) } @else { "—" } }
                        td.num { (weight) }
                    } } }
                }
            }
        }
        section {
            h2 { (lang.t("usage")) }
            @if !events.is_empty() {
                form.inline method="get" action=(format!("/accounts/{}", account.id)) {
                    label { (lang.t("event")) select name="event" {
                        option value="" { (lang.t("all_events")) }
                        @for name in &events { option value=(name) selected[event.as_deref() == Some(name.as_str())] { (name) } }
                    } }
                    button type="submit" { (lang.t("show")) }
                }
            }
            @if usage_points.is_empty() { p.muted { (lang.t("no_usage")) } } @else {
                (charts::bars("usage-chart", lang.t("usage"), &usage_points, [lang.t("week"), lang.t("events")]))
            }
        }
        section {
            h2 { (lang.t("tasks")) }
            @if tasks.is_empty() { p.muted { (lang.t("no_tasks")) } } @else {
                table { thead { tr { th scope="col" { (lang.t("task")) } th scope="col" { (lang.t("owner")) } th scope="col" { (lang.t("due")) } th scope="col" { (lang.t("status")) } } }
                tbody { @for task in &tasks { tr {
                    td { (task.title) }
                    td { (user_name(task.owner_id)) }
                    td { (i18n::date(task.due_on, lang)) @if task.overdue(today) { " " span.badge.overdue { (lang.t("overdue")) } } }
                    td { @if task.status == TaskStatus::Done { (lang.t("done")) @if let Some(o) = &task.outcome { ": " (o) } } @else { (complete_form(lang, csrf, task.id, &format!("/accounts/{}", account.id))) } }
                } } } }
            }
            form.inline method="post" action=(format!("/accounts/{}/tasks", account.id)) {
                input type="hidden" name="csrf_token" value=(csrf);
                label { (lang.t("new_task")) input type="text" name="title" required; }
                label { (lang.t("due")) input type="date" name="due_on" required value=(today.checked_add(jiff::Span::new().days(7)).unwrap_or(today).to_string()); }
                button type="submit" { (lang.t("add_task")) }
            }
        }
        section {
            h2 { (lang.t("stakeholders")) }
            @if contacts.is_empty() { p.muted { "—" } } @else {
                table { thead { tr { th scope="col" { (lang.t("contact")) } th scope="col" { (lang.t("role")) } th scope="col" { (lang.t("email")) } th scope="col" { (lang.t("personal_success")) } } }
                tbody { @for c in &contacts { tr { td { (c.name) } td { @if let Some(r) = c.role { (lang.value("role", r.as_str())) } } td { @if let Some(e) = &c.email { (e) } } td { @if let Some(p) = &c.personal_success { (p) } } } } } }
            }
        }
        section {
            h2 { (lang.t("subscriptions")) }
            (charts::lines("mrr-chart", lang.t("mrr_timeline"), &mrr_labels, &mrr_series, 0.0, lang.t("month")))
            table { thead { tr { th scope="col" { (lang.t("plan")) } th.num scope="col" { "MRR" } th scope="col" { (lang.t("start")) } th scope="col" { (lang.t("end")) } } }
            tbody { @for s in &subscriptions { tr { td { (s.plan) } td.num { (i18n::money(s.mrr.amount(), &account.currency)) } td { (i18n::date(s.term.start(), lang)) } td { @if let Some(e) = s.term.end() { (i18n::date(e, lang)) } @else { "—" } } } } } }
        }
        section {
            h2 { (lang.t("touchpoints")) }
            form.inline method="post" action=(format!("/accounts/{}/touchpoints", account.id)) {
                input type="hidden" name="csrf_token" value=(csrf);
                label { (lang.t("kind")) select name="kind" { @for k in TouchpointKind::ALL { option value=(k.as_str()) { (lang.value("kind", k.as_str())) } } } }
                label { (lang.t("summary")) input type="text" name="summary" required; }
                button type="submit" { (lang.t("log_touchpoint")) }
            }
            ul.timeline { @for t in &touchpoints { li { time { (i18n::date(clock.day_of(t.occurred_at), lang)) } " · " (lang.value("kind", t.kind.as_str())) @if let Some(s) = &t.summary { " — " (s) } } } }
        }
    };
    Ok(layout(
        lang,
        account.name.as_str(),
        Some((&page_user.user, csrf)),
        body,
    ))
}

fn complete_form(lang: Lang, csrf: &str, task: i64, back: &str) -> Markup {
    html! {
        form.inline method="post" action=(format!("/tasks/{task}/complete")) {
            input type="hidden" name="csrf_token" value=(csrf);
            input type="hidden" name="next" value=(back);
            label { (lang.t("outcome")) input type="text" name="outcome" required; }
            button type="submit" { (lang.t("complete")) }
        }
    }
}

/// A form post: its CSRF token and a field or two.
#[derive(Debug, Deserialize)]
pub struct TaskForm {
    csrf_token: String,
    title: Option<String>,
    due_on: Option<String>,
    outcome: Option<String>,
    next: Option<String>,
}

fn bad_form(lang: Lang, page_user: &PageUser, message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        layout(
            lang,
            lang.t("error"),
            Some((&page_user.user, &page_user.csrf_token)),
            html! { p.error role="alert" { (message) } a href="javascript:history.back()" { "←" } },
        ),
    )
        .into_response()
}

/// Creates a task on the account, for its owner.
pub async fn create_task(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<TaskForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let lang = page_user.lang;
    let parsed = (|| {
        let title = Text::parse(form.title.as_deref().unwrap_or(""))?;
        let due_on =
            mikawaya_domain::value::parse_date(form.due_on.as_deref().unwrap_or(""), "due_on")?;
        Ok::<_, mikawaya_domain::Invalid>((title, due_on))
    })();
    let (title, due_on) = match parsed {
        Ok(values) => values,
        Err(invalid) => return bad_form(lang, &page_user, invalid.to_string()),
    };
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let account_id = AccountId::new(id);
    let result = state
        .run(move |store| {
            let account = store.get_account(&access.read(), account_id)?;
            store.create_task(
                &access,
                NewTask {
                    account_id,
                    owner_id: account.owner_id,
                    title,
                    instructions: None,
                    priority: Priority::Normal,
                    due_on,
                    run_id: None,
                    phase: None,
                    deliverable: None,
                },
            )
        })
        .await;
    match result {
        Ok(_) => {
            Redirect::to(&super::next_or(form.next, &format!("/accounts/{id}"))).into_response()
        }
        Err(error) => page_error(page_user.lang, error),
    }
}

/// Completes a task with an outcome.
pub async fn complete_task(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<TaskForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let lang = page_user.lang;
    let outcome = match Text::parse(form.outcome.as_deref().unwrap_or("")) {
        Ok(outcome) => outcome,
        Err(invalid) => return bad_form(lang, &page_user, invalid.to_string()),
    };
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let patch = TaskPatch {
        status: Some(TaskStatus::Done),
        outcome: Patch::Set(outcome),
        ..TaskPatch::default()
    };
    match state
        .run(move |store| store.update_task(&access, id, patch))
        .await
    {
        Ok(task) => {
            state.react(task.account_id);
            let next = form
                .next
                .filter(|n| n.starts_with('/') && !n.starts_with("//"))
                .unwrap_or_else(|| "/tasks".to_owned());
            Redirect::to(&next).into_response()
        }
        Err(error) => page_error(page_user.lang, error),
    }
}

/// A form field that was filled in, trimmed.
fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A touchpoint logged from a page: the full form on Customer 360, kind and summary alone
/// from Today.
#[derive(Debug, Deserialize)]
pub struct TouchpointForm {
    csrf_token: String,
    kind: String,
    summary: String,
    /// YYYY-MM-DD (default: now).
    occurred_on: Option<String>,
    /// Names or emails, separated by commas or new lines.
    attendees: Option<String>,
    /// The author (default: the logged-in user).
    user_id: Option<String>,
    notes: Option<String>,
    sentiment: Option<String>,
    next: Option<String>,
}

impl TouchpointForm {
    /// The touchpoint it describes; a day other than today is logged at noon that day.
    fn touchpoint(
        &self,
        account_id: AccountId,
        me: mikawaya_domain::UserId,
        clock: &mikawaya_app::clock::Clock,
    ) -> Result<NewTouchpoint, mikawaya_domain::Invalid> {
        let occurred_at = match given(&self.occurred_on) {
            None => jiff::Timestamp::now(),
            Some(raw) => {
                let day = mikawaya_domain::value::parse_date(raw, "occurred_on")?;
                if day > clock.today() {
                    return Err(mikawaya_domain::Invalid::new(
                        "occurred_on",
                        "must not be in the future",
                    ));
                }
                if day == clock.today() {
                    jiff::Timestamp::now()
                } else {
                    clock
                        .start_of(day)
                        .and_then(|start| start.checked_add(jiff::Span::new().hours(12)).ok())
                        .map(|noon| noon.timestamp())
                        .ok_or_else(|| {
                            mikawaya_domain::Invalid::new("occurred_on", "is out of range")
                        })?
                }
            }
        };
        let user_id = match given(&self.user_id) {
            None => me,
            Some(raw) => mikawaya_domain::UserId::new(raw.parse().map_err(|_| {
                mikawaya_domain::Invalid::new("user_id", format!("'{raw}' is not a user id"))
            })?),
        };
        Ok(NewTouchpoint {
            account_id,
            kind: TouchpointKind::parse(&self.kind)?,
            occurred_at,
            user_id: Some(user_id),
            summary: Some(Text::parse(&self.summary).map_err(|e| e.in_field("summary"))?),
            attendees: given(&self.attendees)
                .map(|raw| {
                    raw.split([',', '\n', '、'])
                        .map(|a| a.trim().to_owned())
                        .filter(|a| !a.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            notes: given(&self.notes)
                .map(|n| Text::parse(n).map_err(|e| e.in_field("notes")))
                .transpose()?,
            sentiment: given(&self.sentiment)
                .map(mikawaya_domain::contact::Sentiment::parse)
                .transpose()?,
        })
    }
}

/// Logs a touchpoint (now, or on a day), by the logged-in user unless another is named.
pub async fn log_touchpoint(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<TouchpointForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let touchpoint = match form.touchpoint(AccountId::new(id), page_user.user.id, &state.clock()) {
        Ok(touchpoint) => touchpoint,
        Err(invalid) => return super::error_page(&page_user, invalid.into()),
    };
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return super::error_page(&page_user, error.into()),
    };
    match state
        .run(move |store| store.create_touchpoint(&access, touchpoint))
        .await
    {
        Ok(_) => {
            state.react(AccountId::new(id));
            Redirect::to(&super::next_or(form.next, &format!("/accounts/{id}"))).into_response()
        }
        Err(error) => super::error_page(&page_user, error),
    }
}

/// My open tasks (snoozed ones hidden), with overdue ones marked.
pub async fn my_tasks(State(state): State<AppState>, page_user: PageUser) -> Response {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let me = page_user.user.id;
    let today = state.clock().today();
    let result = state
        .run(move |store| {
            let filter = TaskFilter {
                owner_id: Some(me),
                status: Some(TaskStatus::Open),
                awake_on: Some(today),
                ..TaskFilter::default()
            };
            let tasks = store
                .list_tasks(&access, &filter, &PageRequest::first(500))?
                .data;
            let mut names: std::collections::HashMap<AccountId, String> =
                std::collections::HashMap::new();
            for task in &tasks {
                if !names.contains_key(&task.account_id) {
                    let account = store.get_account(&access, task.account_id)?;
                    names.insert(account.id, account.name.to_string());
                }
            }
            Ok::<_, StoreError>((tasks, names))
        })
        .await;
    let (tasks, names) = match result {
        Ok(found) => found,
        Err(error) => return page_error(page_user.lang, error),
    };
    let csrf = &page_user.csrf_token;
    let body = html! {
        h1 { (lang.t("my_tasks")) " " span.muted { (tasks.len()) } }
        @if tasks.is_empty() { p.muted { (lang.t("no_tasks")) } } @else {
            table {
                thead { tr { th scope="col" { (lang.t("task")) } th scope="col" { (lang.t("name")) } th scope="col" { (lang.t("priority")) } th scope="col" { (lang.t("due")) } th scope="col" { (lang.t("complete")) } } }
                tbody { @for task in &tasks { tr {
                    td { (task.title) }
                    td { a href=(format!("/accounts/{}", task.account_id)) { (names.get(&task.account_id).map_or("", String::as_str)) } }
                    td { (lang.t(&format!("priority_{}", task.priority.as_str()))) }
                    td { (i18n::date(task.due_on, lang)) @if task.overdue(today) { " " span.badge.overdue { (lang.t("overdue")) } } }
                    td { (complete_form(lang, csrf, task.id, "/tasks")) }
                } } }
            }
        }
    };
    layout(
        lang,
        lang.t("my_tasks"),
        Some((&page_user.user, csrf)),
        body,
    )
    .into_response()
}

/// The language switch.
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    csrf_token: String,
    lang: String,
    next: Option<String>,
}

/// Saves the user's language and goes back to the page it was chosen on.
pub async fn set_language(
    State(state): State<AppState>,
    page_user: PageUser,
    headers: axum::http::HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let locale = match form.lang.as_str() {
        "ja" | "en" => form.lang.clone(),
        _ => {
            return bad_form(
                page_user.lang,
                &page_user,
                "lang: must be ja or en".to_owned(),
            );
        }
    };
    let id = page_user.user.id;
    if let Err(error) = state
        .run(move |store| store.set_locale(id, Some(locale)))
        .await
    {
        return error.into_response();
    }
    let referer = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.parse::<axum::http::Uri>().ok())
        .and_then(|uri| uri.path_and_query().map(ToString::to_string));
    let next = form
        .next
        .or(referer)
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/portfolio".to_owned());
    Redirect::to(&next).into_response()
}
