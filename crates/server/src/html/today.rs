//! Today, the home page: a person's accounts that need attention, ranked by priority with
//! the formula shown, each with its reasons in words and numbers and one-click actions (log
//! a touchpoint, create a task, start a playbook, snooze with a reason); renewals within 30
//! days and tasks due this week beside it. Read from `mikawaya_app::today` like the API.

use super::i18n::{self, Lang};
use super::{PageUser, health_badge, layout};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::routes::today::{load_today, snooze_of};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_app::today::{Item, Whose};
use mikawaya_domain::AccountId;
use mikawaya_domain::access::Role;
use mikawaya_domain::touchpoint::TouchpointKind;
use serde::Deserialize;
use std::collections::HashMap;

/// Whose Today.
#[derive(Debug, Deserialize)]
pub struct TodayQuery {
    owner_id: Option<String>,
}

/// The Today page.
pub async fn today_page(
    State(state): State<AppState>,
    page_user: PageUser,
    QueryParams(query): QueryParams<TodayQuery>,
) -> Response {
    match render(&state, &page_user, query).await {
        Ok(markup) => markup.into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

async fn render(
    state: &AppState,
    page_user: &PageUser,
    query: TodayQuery,
) -> Result<Markup, ApiError> {
    let lang = page_user.lang;
    let asked = match query.owner_id.as_deref().filter(|o| !o.is_empty()) {
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            mikawaya_domain::Invalid::new("owner_id", format!("'{raw}' is not a user id"))
        })?),
        None => None,
    };
    let whose = crate::routes::today::whose(&page_user.actor, asked)?;
    let owner = match whose {
        Whose::Owner(owner) => Some(owner),
        Whose::Visible(_) => None,
    };
    let day = state.clock().today();
    let today = load_today(state, &page_user.actor, whose, day).await?;
    let access = page_user.actor.read();
    let accounts: Vec<mikawaya_domain::account::Account> =
        today.items.iter().map(|i| i.account.clone()).collect();
    let (users, playbooks, next_best) = state
        .run(move |store| {
            let users = store.list_users(&access)?;
            let mut next_best: HashMap<AccountId, mikawaya_app::effect::Uplift> = HashMap::new();
            for account in &accounts {
                if let Some(best) = mikawaya_app::effect::next_best(store, &access, account)?
                    .into_iter()
                    .next()
                {
                    next_best.insert(account.id, best);
                }
            }
            let playbooks = mikawaya_playbooks::engine::load_playbooks(store, &access)
                .map(|(_, firing)| {
                    firing
                        .into_iter()
                        .map(|(_, p)| {
                            let title = p.spec().title.clone();
                            (p.name().to_string(), title)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            Ok((users, playbooks, next_best))
        })
        .await?;
    let owners: Vec<_> = users
        .iter()
        .filter(|u| matches!(u.role, Role::Csm | Role::Leader))
        .collect();
    let names: HashMap<AccountId, &str> = today
        .renewals
        .iter()
        .map(|a| (a.id, a.name.as_str()))
        .chain(
            today
                .items
                .iter()
                .map(|i| (i.account.id, i.account.name.as_str())),
        )
        .collect();
    let can_write = page_user.actor.write().is_ok();
    let csrf = &page_user.csrf_token;
    let back = match query.owner_id.as_deref().filter(|o| !o.is_empty()) {
        Some(owner) => format!("/today?owner_id={owner}"),
        None => "/today".to_owned(),
    };
    let language = lang.language();
    let body = html! {
        h1 { (lang.t("today")) " " span.muted { (i18n::date(day, lang)) } }
        form.filters method="get" action="/today" {
            label { (lang.t("owner")) select name="owner_id" {
                @if owner.is_none() { option value="" selected { (lang.t("all_my_accounts")) } }
                @for user in &owners {
                    option value=(user.id) selected[Some(user.id) == owner] { (user.name) }
                }
                @if let Some(owner) = owner { @if !owners.iter().any(|u| u.id == owner) { option value=(owner) selected { (lang.t("me")) } } }
            } }
            button type="submit" { (lang.t("show")) }
        }
        details.formula {
            summary { (lang.t("how_priority")) }
            p { (mikawaya_app::today::formula(language)) }
        }
        div.today {
            section.attention aria-labelledby="attention-heading" {
                h2 #attention-heading { (lang.t("needs_attention")) " " span.muted { (today.items.len()) " / " (today.accounts) } }
                @if today.items.is_empty() { p.muted { (lang.t("nothing_needs_attention")) } }
                ol.items {
                    @for (rank, item) in today.items.iter().enumerate() {
                        li.item data-testid="today-item" {
                            (item_card(lang, csrf, &back, rank + 1, item, &playbooks, can_write))
                            @if let Some(best) = next_best.get(&item.account.id) {
                                p.next-best data-testid="next-best" {
                                    (lang.t("next_best_action")) ": "
                                    strong { (if lang == Lang::Ja { &best.title_ja } else { &best.title_en }) }
                                    " · " (super::account::uplift_words(lang, best))
                                }
                            }
                        }
                    }
                }
                @if !today.snoozed.is_empty() {
                    h2 { (lang.t("snoozed")) " " span.muted { (today.snoozed.len()) } }
                    ul.snoozed {
                        @for (item, snooze) in &today.snoozed {
                            li {
                                a href=(format!("/accounts/{}", item.account.id)) { (item.account.name) }
                                " · " (lang.t("until")) " " (i18n::date(snooze.until, lang)) " · " (snooze.reason)
                                @if can_write {
                                    form.inline method="post" action=(format!("/accounts/{}/wake", item.account.id)) {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        input type="hidden" name="next" value=(back);
                                        button.link type="submit" { (lang.t("wake")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            aside.beside {
                section aria-labelledby="renewals-heading" {
                    h2 #renewals-heading { (lang.t("renewals_30")) }
                    @if today.renewals.is_empty() { p.muted { "—" } }
                    ul.plain { @for account in &today.renewals { li {
                        a href=(format!("/accounts/{}", account.id)) { (account.name) }
                        @if let Some(renewal) = account.renewal_date { " · " (i18n::date(renewal, lang)) }
                        " · " (i18n::money(account.arr(), &account.currency))
                    } } }
                }
                section aria-labelledby="due-heading" {
                    h2 #due-heading { (lang.t("due_this_week")) }
                    @if today.tasks_due.is_empty() { p.muted { "—" } }
                    ul.plain { @for task in &today.tasks_due { li {
                        (task.title) " · "
                        a href=(format!("/accounts/{}", task.account_id)) { (names.get(&task.account_id).copied().unwrap_or(lang.t("account"))) }
                        " · " (i18n::date(task.due_on, lang))
                        @if task.overdue(day) { " " span.badge.overdue { (lang.t("overdue")) } }
                    } } }
                    p { a href="/tasks" { (lang.t("my_tasks")) " →" } }
                }
            }
        }
    };
    Ok(layout(
        lang,
        lang.t("today"),
        Some((&page_user.user, csrf)),
        body,
    ))
}

fn item_card(
    lang: Lang,
    csrf: &str,
    back: &str,
    rank: usize,
    item: &Item,
    playbooks: &[(String, mikawaya_playbooks::spec::Localized)],
    can_write: bool,
) -> Markup {
    let account = &item.account;
    let id = account.id;
    let language = lang.language();
    let priority = &item.priority;
    html! {
        div.item-head {
            span.rank { (rank) "." }
            a.account href=(format!("/accounts/{id}")) { (account.name) }
            @if let Some(score) = account.signals.health { " " (health_badge(lang, score)) }
            span.muted { " " (i18n::money(account.arr(), &account.currency)) }
        }
        ul.reasons { @for reason in &item.reasons { li data-code=(reason.code()) { (reason.sentence(language)) } } }
        p.priority.muted {
            (lang.t("priority")) " " (i18n::group_digits(priority.value.round() as u64))
            " = " (format!("{:.2}", priority.risk)) " × " (i18n::money(priority.arr, &account.currency)) " × " (format!("{:.2}", priority.urgency))
        }
        @if can_write {
            div.actions {
                details {
                    summary { (lang.t("log_touchpoint")) }
                    form.inline method="post" action=(format!("/accounts/{id}/touchpoints")) {
                        input type="hidden" name="csrf_token" value=(csrf);
                        input type="hidden" name="next" value=(back);
                        label { (lang.t("kind")) select name="kind" { @for k in TouchpointKind::ALL { option value=(k.as_str()) { (lang.value("kind", k.as_str())) } } } }
                        label { (lang.t("summary")) input type="text" name="summary" required; }
                        button type="submit" { (lang.t("log_touchpoint")) }
                    }
                }
                details {
                    summary { (lang.t("add_task")) }
                    form.inline method="post" action=(format!("/accounts/{id}/tasks")) {
                        input type="hidden" name="csrf_token" value=(csrf);
                        input type="hidden" name="next" value=(back);
                        label { (lang.t("new_task")) input type="text" name="title" required; }
                        label { (lang.t("due")) input type="date" name="due_on" required; }
                        button type="submit" { (lang.t("add_task")) }
                    }
                }
                @if !playbooks.is_empty() {
                    details {
                        summary { (lang.t("start_playbook")) }
                        form.inline method="post" action=(format!("/accounts/{id}/playbooks")) {
                            input type="hidden" name="csrf_token" value=(csrf);
                            input type="hidden" name="next" value=(back);
                            label { (lang.t("playbook")) select name="playbook" {
                                @for (name, title) in playbooks { option value=(name) { (title.pick(language.code())) } }
                            } }
                            button type="submit" { (lang.t("start")) }
                        }
                    }
                }
                details {
                    summary { (lang.t("snooze")) }
                    form.inline method="post" action=(format!("/accounts/{id}/snooze")) {
                        input type="hidden" name="csrf_token" value=(csrf);
                        input type="hidden" name="next" value=(back);
                        label { (lang.t("until")) input type="date" name="until" required; }
                        label { (lang.t("reason")) input type="text" name="reason" required; }
                        button type="submit" { (lang.t("snooze")) }
                    }
                }
            }
        }
    }
}

/// Where a page's form goes: back to `next` when the write succeeded, else an error page.
fn after(
    page_user: &PageUser,
    result: Result<(), ApiError>,
    next: Option<String>,
    home: &str,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&super::next_or(next, home)).into_response(),
        Err(error) => super::error_page(page_user, error),
    }
}

/// A snooze from the page.
#[derive(Debug, Deserialize)]
pub struct SnoozeForm {
    csrf_token: String,
    until: String,
    reason: String,
    next: Option<String>,
}

/// Snoozes an account in the user's Today.
pub async fn snooze(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<SnoozeForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let result = async {
        let snooze = snooze_of(
            AccountId::new(id),
            page_user.user.id,
            &form.until,
            &form.reason,
            state.clock().today(),
        )?;
        let access = page_user.actor.write()?;
        state.run(move |store| store.snooze(&access, &snooze)).await
    }
    .await;
    after(&page_user, result, form.next, "/today")
}

/// Ends the user's snooze on an account.
pub async fn wake(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<super::NextForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let me = page_user.user.id;
    let result = async {
        let access = page_user.actor.write()?;
        state
            .run(move |store| store.wake(&access, me, AccountId::new(id)))
            .await
    }
    .await;
    after(&page_user, result, form.next, "/today")
}

/// A playbook started from a page.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    csrf_token: String,
    playbook: String,
    next: Option<String>,
}

/// Starts a playbook by hand on each account, the person named as the reason; an account
/// the person cannot see stops it before anything starts.
pub async fn start_by_hand(
    state: &AppState,
    page_user: &PageUser,
    accounts: Vec<AccountId>,
    playbook: String,
) -> Result<(), ApiError> {
    let access = page_user.actor.write()?;
    let clock = state.engine_clock();
    let settings = state.workflow.settings.clone();
    let name = &page_user.user.name;
    let reason = mikawaya_playbooks::FireReason {
        en: format!("started by {name}"),
        ja: format!("{name}さんが開始"),
    };
    state
        .run_with_usage(move |store, usage| {
            for id in &accounts {
                store.get_account(&access.read(), *id)?;
            }
            for id in &accounts {
                mikawaya_playbooks::start(
                    store,
                    &access,
                    Some(usage),
                    clock,
                    &settings,
                    mikawaya_playbooks::Start {
                        playbook: &playbook,
                        account: *id,
                        reason: &reason,
                    },
                )?;
            }
            Ok(())
        })
        .await
}

/// Starts a playbook on the account by hand.
pub async fn start_playbook(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<StartForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let result = start_by_hand(&state, &page_user, vec![AccountId::new(id)], form.playbook).await;
    after(&page_user, result, form.next, &format!("/accounts/{id}"))
}
