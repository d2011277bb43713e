//! Success plans in the browser: the plan page a CSM (or a partner's user) works in, the
//! form that starts a plan on Customer 360, the leader's list of plans, and the page a
//! customer's contact opens through a shared link (no account; in the plan's language).
//!
//! Every form posts one change with the plan's version, so two people editing at once
//! never overwrite each other (the second is told to reload).

use super::i18n::{self, Lang};
use super::{PageUser, layout, not_found_page, private};
use crate::error::ApiError;
use crate::routes::plans::ChangeIn;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_app::plans::{self, NewPlan, PlanView, SharedView};
use mikawaya_domain::contact::Contact;
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{
    Author, DeliverableKind, DeliverableStatus, ObjectiveStatus, PersonalStatus, PlanBody,
    PlanChange, PlanStatus, Progress, RaidKind, RaidStatus, Severity,
};
use mikawaya_domain::user::User;
use mikawaya_domain::value::Text;
use mikawaya_domain::{AccountId, ContactId, Invalid, PlanId, UserId};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// A status as a coloured badge.
fn status_badge(lang: Lang, status: ObjectiveStatus) -> Markup {
    let class = match status {
        ObjectiveStatus::OnTrack | ObjectiveStatus::Achieved => "badge health-green",
        ObjectiveStatus::AtRisk => "badge health-yellow",
        ObjectiveStatus::OffTrack | ObjectiveStatus::Missed => "badge health-red",
        ObjectiveStatus::NoData => "badge",
    };
    html! { span class=(class) { (lang.value("objective_status", status.as_str())) } }
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), super::account::raw_value)
}

fn percent(share: f64) -> String {
    format!("{:.0}%", 100.0 * share)
}

/// The objectives with their measured progress (both the team's page and the customer's).
fn objectives(lang: Lang, body: &PlanBody, progress: &BTreeMap<u32, Progress>) -> Markup {
    html! {
        @if body.objectives.is_empty() { p.muted { (lang.t("no_objectives")) } }
        @else {
            table tabindex="0" {
                thead { tr {
                    th { (lang.t("objective")) } th { (lang.t("measured_by")) }
                    th.num { (lang.t("baseline")) } th.num { (lang.t("current_value")) } th.num { (lang.t("target")) }
                    th { (lang.t("due")) } th { (lang.t("progress")) } th { (lang.t("status")) }
                } }
                tbody { @for objective in &body.objectives {
                    @let measured = progress.get(&objective.id);
                    tr {
                        td { (objective.title) }
                        @if let Some(target) = &objective.target {
                            td { code { (target.metric) } }
                            td.num { (number(measured.and_then(|p| p.baseline))) }
                            td.num { (number(measured.and_then(|p| p.value))) }
                            td.num {
                                @if target.relative {
                                    (format!("{:+}%", target.target))
                                    @if let Some(goal) = target.goal(measured.and_then(|p| p.baseline)) { br; span.muted { "→ " (number(Some((goal * 100.0).round() / 100.0))) } }
                                } @else { (number(Some(target.target))) }
                            }
                            td { (i18n::date(target.due, lang)) }
                            td {
                                @if let Some(p) = measured {
                                    @if let Some(actual) = p.actual {
                                        meter min="0" max="1" value=(actual) title=(percent(actual)) {}
                                        " " (percent(actual))
                                    }
                                    span.muted { " (" (lang.t("expected_progress")) " " (percent(p.expected)) ")" }
                                } @else { span.muted { (lang.t("not_measured_yet")) } }
                            }
                            td { @if let Some(p) = measured { (status_badge(lang, p.status)) } }
                        } @else {
                            td.muted { (lang.t("manual")) } td {} td {} td {} td {} td {}
                            td { @if let Some(status) = objective.manual_status { (status_badge(lang, status)) } }
                        }
                    }
                } }
            }
        }
    }
}

fn author_name(names: &HashMap<Author, String>, author: Option<Author>) -> String {
    match author {
        Some(who) => names.get(&who).cloned().unwrap_or_else(|| "—".to_owned()),
        None => "Mikawaya".to_owned(),
    }
}

/// Milestones with their gates and deliverables; `actions` adds the buttons of one side.
fn milestones(
    lang: Lang,
    body: &PlanBody,
    names: &HashMap<Author, String>,
    today: jiff::civil::Date,
    actions: &dyn Fn(&mikawaya_domain::plan::Milestone) -> Markup,
    deliverable_actions: &dyn Fn(&mikawaya_domain::plan::Deliverable) -> Markup,
) -> Markup {
    html! {
        @if body.milestones.is_empty() && body.deliverables.is_empty() { p.muted { (lang.t("no_milestones")) } }
        ol.milestones {
            @for milestone in &body.milestones {
                li {
                    strong { (milestone.title) } " · " (lang.t("due")) " " (i18n::date(milestone.due_on, lang)) " "
                    @if let Some(at) = milestone.closed_at {
                        span.badge.health-green { (lang.t("closed")) } " "
                        span.muted { (author_name(names, milestone.closed_by)) " · " (at.strftime("%Y-%m-%d").to_string()) }
                    } @else if milestone.overdue(today) {
                        span.badge.overdue { (lang.t("overdue")) }
                    }
                    @if !milestone.gate.is_empty() {
                        p.muted { (lang.t("gate")) }
                        ul { @for id in &milestone.gate { @if let Some(d) = body.deliverable(*id) { li { (deliverable(lang, d, names)) (deliverable_actions(d)) } } } }
                    }
                    (actions(milestone))
                }
            }
        }
        @let loose: Vec<_> = body.deliverables.iter().filter(|d| !body.milestones.iter().any(|m| m.gate.contains(&d.id))).collect();
        @if !loose.is_empty() {
            h3 { (lang.t("other_deliverables")) }
            ul { @for d in loose { li { (deliverable(lang, d, names)) (deliverable_actions(d)) } } }
        }
    }
}

fn deliverable(
    lang: Lang,
    d: &mikawaya_domain::plan::Deliverable,
    names: &HashMap<Author, String>,
) -> Markup {
    let class = match d.status {
        DeliverableStatus::Accepted => "badge health-green",
        DeliverableStatus::Rejected => "badge health-red",
        DeliverableStatus::Delivered => "badge health-yellow",
        DeliverableStatus::Pending => "badge",
    };
    html! {
        (d.title) " " span.muted { "(" (lang.value("deliverable_kind", d.kind.as_str())) ")" } " "
        span class=(class) { (lang.value("deliverable_status", d.status.as_str())) }
        @if let Some(url) = &d.url { " " a href=(url) rel="noopener noreferrer" { (lang.t("open_link")) } }
        @if let Some(by) = d.decided_by { " " span.muted { (author_name(names, Some(by))) } }
        @if let Some(remark) = &d.remark { " — " em { (remark) } }
        " "
    }
}

fn raid_table(
    lang: Lang,
    body: &PlanBody,
    names: &HashMap<Author, String>,
    show_internal: bool,
) -> Markup {
    html! {
        @if body.raid.is_empty() { p.muted { (lang.t("no_raid")) } }
        @else {
            table tabindex="0" {
                thead { tr { th { "#" } th { (lang.t("kind")) } th { (lang.t("title")) } th { (lang.t("severity")) } th { (lang.t("raid_owner")) } th { (lang.t("due")) } th { (lang.t("status")) } } }
                tbody { @for entry in &body.raid { tr {
                    td { (entry.id) }
                    td { (lang.value("raid_kind", entry.kind.as_str())) }
                    td { (entry.title) @if show_internal && entry.internal { " " span.badge { (lang.t("internal_badge")) } } }
                    td { (lang.value("severity", entry.severity.as_str())) }
                    td { @if entry.owner.is_some() { (author_name(names, entry.owner)) } }
                    td { @if let Some(due) = entry.due_on { (i18n::date(due, lang)) } }
                    td { (lang.value("raid_status", entry.status.as_str())) }
                } } }
            }
        }
    }
}

fn comments(lang: Lang, body: &PlanBody, names: &HashMap<Author, String>) -> Markup {
    html! {
        ul.timeline { @for comment in body.comments.iter().rev() { li {
            time { (comment.at.strftime("%Y-%m-%d %H:%M").to_string()) } " · " (author_name(names, comment.author))
            @if comment.internal { " " span.badge { (lang.t("internal_badge")) } }
            p.notes { (comment.text) }
        } } }
    }
}

/// Names of the people a plan may name: the account's contacts and the users.
fn names_of(contacts: &[Contact], users: &[User]) -> HashMap<Author, String> {
    let mut names = HashMap::new();
    for c in contacts {
        names.insert(Author::Contact(c.id), c.name.to_string());
    }
    for u in users {
        names.insert(Author::User(u.id), u.name.to_string());
    }
    names
}

/// What the plan page reads.
struct PlanPage {
    view: PlanView,
    account: mikawaya_domain::account::Account,
    contacts: Vec<Contact>,
    users: Vec<User>,
    metrics: Vec<String>,
}

async fn load(
    state: &AppState,
    page_user: &PageUser,
    account: i64,
    plan: i64,
) -> Result<PlanPage, ApiError> {
    let access = page_user.actor.read();
    state
        .run(move |store| {
            let view = plans::view(store, &access, PlanId::new(plan))?;
            if view.plan.account_id.get() != account {
                return Err(mikawaya_store::StoreError::NotFound { entity: "plan" });
            }
            let account = store.get_account(&access, view.plan.account_id)?;
            let contacts = mikawaya_store::all_pages(|page| {
                store.list_contacts(
                    &access,
                    &mikawaya_store::ContactFilter {
                        account_id: Some(account.id),
                        ..Default::default()
                    },
                    page,
                )
            })?;
            let users = store.list_users(&access)?;
            let mut metrics: Vec<String> = store
                .list_metrics()?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            metrics.extend(
                mikawaya_app::scorecards::built_in()
                    .into_iter()
                    .map(|s| s.name),
            );
            Ok(PlanPage {
                view,
                account,
                contacts,
                users,
                metrics,
            })
        })
        .await
}

/// The plan page.
pub async fn plan_page(
    State(state): State<AppState>,
    page_user: PageUser,
    Path((account, plan)): Path<(i64, i64)>,
) -> Response {
    match load(&state, &page_user, account, plan).await {
        Ok(page) => render(&state, &page_user, &page, None).into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

fn hidden(page_user: &PageUser, version: i64, kind: &str) -> Markup {
    html! {
        input type="hidden" name="csrf_token" value=(page_user.csrf_token);
        input type="hidden" name="version" value=(version);
        input type="hidden" name="kind" value=(kind);
    }
}

fn render(
    state: &AppState,
    page_user: &PageUser,
    page: &PlanPage,
    shared_url: Option<&str>,
) -> Markup {
    let lang = page_user.lang;
    let today = state.clock().today();
    let plan = &page.view.plan;
    let body = &plan.body;
    let names = names_of(&page.contacts, &page.users);
    let action = format!("/accounts/{}/plans/{}/changes", plan.account_id, plan.id);
    let version = plan.version;
    let writer = page_user.actor.write().is_ok();
    let milestone_actions = |m: &mikawaya_domain::plan::Milestone| -> Markup {
        let passed = m.gate.iter().all(|d| {
            body.deliverable(*d)
                .is_some_and(|d| d.status == DeliverableStatus::Accepted)
        });
        html! { @if writer && m.closed_at.is_none() && passed {
            form.inline method="post" action=(action) {
                (hidden(page_user, version, "close_milestone"))
                input type="hidden" name="item" value=(m.id);
                button type="submit" { (lang.t("close_milestone")) }
            }
        } }
    };
    let deliverable_actions = |d: &mikawaya_domain::plan::Deliverable| -> Markup {
        html! { @if writer && matches!(d.status, DeliverableStatus::Pending | DeliverableStatus::Rejected) {
            form.inline method="post" action=(action) style="display:inline-flex;margin:0" {
                (hidden(page_user, version, "deliver"))
                input type="hidden" name="item" value=(d.id);
                button.link type="submit" { (lang.t("deliver")) }
            }
        } }
    };
    let customer_owner = body
        .customer_owner_id
        .and_then(|c| names.get(&Author::Contact(c)));
    let owner = body.owner_id.and_then(|u| names.get(&Author::User(u)));
    let html_body = html! {
        p { a href=(format!("/accounts/{}", page.account.id)) { "← " (page.account.name) } }
        h1 { (body.title) " " span.badge { (lang.value("plan_status", body.status.as_str())) } }
        @if let Some(url) = shared_url {
            div.notice role="status" {
                p { (lang.t("share_link_once")) }
                p { code { (url) } }
            }
        }
        div.facts { dl {
            div { dt { (lang.t("owner_ours")) } dd { (owner.map_or("—", String::as_str)) } }
            div { dt { (lang.t("owner_customer")) } dd { (customer_owner.map_or("—", String::as_str)) } }
            div { dt { (lang.t("customer_language")) } dd { (if body.language == Language::Ja { "日本語" } else { "English" }) } }
            @if let Some((name, v)) = &body.template { div { dt { (lang.t("template")) } dd { (name) " v" (v) } } }
            div { dt { (lang.t("version")) } dd { (version) } }
        } }
        section {
            h2 { (lang.t("objectives")) }
            (objectives(lang, body, &page.view.progress))
            @if writer {
                details.edit { summary { (lang.t("add_objective")) }
                    form.grid method="post" action=(action) {
                        (hidden(page_user, version, "add_objective"))
                        label.wide { (lang.t("objective_words")) input type="text" name="title" required; }
                        label { (lang.t("measured_by")) select name="metric" {
                            option value="" { (lang.t("manual")) }
                            @for m in &page.metrics { option value=(m) { (m) } }
                        } }
                        label { (lang.t("target")) input type="number" step="any" name="target"; }
                        label { span { input type="checkbox" name="relative" value="true"; " " (lang.t("target_relative")) } }
                        label { (lang.t("due")) input type="date" name="due" min=(today.to_string()); }
                        label { (lang.t("status_if_manual")) select name="status" {
                            option value="" { "—" }
                            @for s in [ObjectiveStatus::OnTrack, ObjectiveStatus::AtRisk, ObjectiveStatus::OffTrack, ObjectiveStatus::Achieved] {
                                option value=(s.as_str()) { (lang.value("objective_status", s.as_str())) }
                            }
                        } }
                        button type="submit" { (lang.t("add")) }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("milestones")) }
            (milestones(lang, body, &names, today, &milestone_actions, &deliverable_actions))
            @if writer {
                details.edit { summary { (lang.t("add_deliverable")) }
                    form.grid method="post" action=(action) {
                        (hidden(page_user, version, "add_deliverable"))
                        label.wide { (lang.t("title")) input type="text" name="title" required; }
                        label { (lang.t("kind")) select name="deliverable_kind" {
                            @for k in DeliverableKind::ALL { option value=(k.as_str()) { (lang.value("deliverable_kind", k.as_str())) } }
                        } }
                        label { (lang.t("link")) input type="url" name="url" placeholder="https://"; }
                        button type="submit" { (lang.t("add")) }
                    }
                }
                details.edit { summary { (lang.t("add_milestone")) }
                    form.grid method="post" action=(action) {
                        (hidden(page_user, version, "add_milestone"))
                        label.wide { (lang.t("title")) input type="text" name="title" required; }
                        label { (lang.t("due")) input type="date" name="due_on" required; }
                        @if !body.deliverables.is_empty() {
                            fieldset.wide { legend { (lang.t("gate")) }
                                @for d in &body.deliverables { label { input type="checkbox" name="gate" value=(d.id); " " (d.title) } }
                            }
                        }
                        button type="submit" { (lang.t("add")) }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("raid")) }
            (raid_table(lang, body, &names, true))
            @if writer {
                details.edit { summary { (lang.t("add_raid")) }
                    form.grid method="post" action=(action) {
                        (hidden(page_user, version, "add_raid"))
                        label { (lang.t("kind")) select name="raid_kind" { @for k in RaidKind::ALL { option value=(k.as_str()) { (lang.value("raid_kind", k.as_str())) } } } }
                        label.wide { (lang.t("title")) input type="text" name="title" required; }
                        label { (lang.t("severity")) select name="severity" { @for s in Severity::ALL { option value=(s.as_str()) selected[*s == Severity::Medium] { (lang.value("severity", s.as_str())) } } } }
                        label { (lang.t("raid_owner")) select name="owner" {
                            option value="" { "—" }
                            @for u in &page.users { option value=(format!("user:{}", u.id)) { (u.name) } }
                            @for c in &page.contacts { option value=(format!("contact:{}", c.id)) { (c.name) } }
                        } }
                        label { (lang.t("due")) input type="date" name="due_on"; }
                        label { span { input type="checkbox" name="internal" value="true"; " " (lang.t("internal")) } }
                        button type="submit" { (lang.t("add")) }
                    }
                }
                @let open: Vec<_> = body.raid.iter().filter(|r| r.status == RaidStatus::Open).collect();
                @if !open.is_empty() {
                    form.inline method="post" action=(action) {
                        (hidden(page_user, version, "set_raid_status"))
                        input type="hidden" name="status" value="closed";
                        label { (lang.t("close_entry")) select name="item" { @for r in open { option value=(r.id) { (r.id) ". " (r.title) } } } }
                        button type="submit" { (lang.t("close_entry_button")) }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("personal_success")) }
            @if body.personal.is_empty() { p.muted { (lang.t("no_personal")) } }
            ul.plain { @for p in &body.personal { li {
                strong { (author_name(&names, Some(Author::Contact(p.contact_id)))) } ": " (p.goal)
                @if let Some(help) = &p.how_we_help { br; span.muted { (lang.t("how_we_help")) ": " (help) } }
                " " span.badge { (lang.value("personal_status", p.status.as_str())) }
            } } }
            @if writer && !page.contacts.is_empty() {
                details.edit { summary { (lang.t("set_personal")) }
                    form.grid method="post" action=(action) {
                        (hidden(page_user, version, "set_personal"))
                        label { (lang.t("stakeholder")) select name="contact_id" { @for c in &page.contacts { option value=(c.id) { (c.name) } } } }
                        label.wide { (lang.t("goal")) input type="text" name="text" required; }
                        label.wide { (lang.t("how_we_help")) input type="text" name="how_we_help"; }
                        label { (lang.t("status")) select name="status" { @for s in PersonalStatus::ALL { option value=(s.as_str()) { (lang.value("personal_status", s.as_str())) } } } }
                        button type="submit" { (lang.t("add")) }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("comments")) }
            @if writer {
                form.grid method="post" action=(action) {
                    (hidden(page_user, version, "comment"))
                    label.wide { (lang.t("comment")) textarea name="text" rows="2" required {} }
                    label { span { input type="checkbox" name="internal" value="true" checked; " " (lang.t("internal")) } }
                    button type="submit" { (lang.t("add_comment")) }
                }
            }
            (comments(lang, body, &names))
        }
        section {
            h2 { (lang.t("share")) }
            @if writer && !page.contacts.is_empty() {
                form.inline method="post" action=(format!("/accounts/{}/plans/{}/shares", plan.account_id, plan.id)) {
                    input type="hidden" name="csrf_token" value=(page_user.csrf_token);
                    label { (lang.t("stakeholder")) select name="contact_id" { @for c in &page.contacts { option value=(c.id) selected[Some(c.id) == body.customer_owner_id] { (c.name) } } } }
                    label { (lang.t("days_valid")) input type="number" name="days" min="1" max="365" value=(plans::SHARE_DAYS); }
                    button type="submit" { (lang.t("share_button")) }
                }
            }
            @if !page.view.shares.is_empty() {
                table tabindex="0" {
                    thead { tr { th { (lang.t("stakeholder")) } th { (lang.t("expires")) } th { (lang.t("last_opened")) } th {} } }
                    tbody { @for s in &page.view.shares { tr {
                        td { (author_name(&names, Some(Author::Contact(s.contact_id)))) }
                        td { (s.expires_at.strftime("%Y-%m-%d").to_string()) }
                        td { @if let Some(at) = s.last_opened_at { (at.strftime("%Y-%m-%d %H:%M").to_string()) } @else { "—" } }
                        td { @if s.revoked_at.is_some() { span.badge { (lang.t("revoked")) } } @else if writer {
                            form.inline method="post" action=(format!("/accounts/{}/plans/{}/shares/{}/revoke", plan.account_id, plan.id, s.id)) style="margin:0" {
                                input type="hidden" name="csrf_token" value=(page_user.csrf_token);
                                button.link type="submit" { (lang.t("revoke")) }
                            }
                        } }
                    } } }
                }
            }
        }
        @if writer {
            section {
                form.inline method="post" action=(action) {
                    (hidden(page_user, version, "details"))
                    label { (lang.t("plan_status_label")) select name="status" { @for s in PlanStatus::ALL { option value=(s.as_str()) selected[*s == body.status] { (lang.value("plan_status", s.as_str())) } } } }
                    button type="submit" { (lang.t("save")) }
                }
            }
        }
        section {
            h2 { (lang.t("history")) }
            ul.timeline { @for e in page.view.events.iter().rev().take(50) { li {
                time { (e.at.strftime("%Y-%m-%d %H:%M").to_string()) } " · " (author_name(&names, e.author)) " · "
                (lang.value("plan_event", e.kind.as_str()))
                @if !e.text.is_empty() { ": " (event_text(lang, e, &names)) }
            } } }
        }
    };
    layout(
        lang,
        body.title.as_str(),
        Some((&page_user.user, &page_user.csrf_token)),
        html_body,
    )
}

/// An event's text in words (statuses translated, a share's contact by name).
fn event_text(
    lang: Lang,
    event: &mikawaya_store::plans::PlanEventRow,
    names: &HashMap<Author, String>,
) -> String {
    use mikawaya_domain::plan::PlanEventKind as K;
    match event.kind {
        K::Shared => event
            .text
            .parse::<i64>()
            .ok()
            .and_then(|id| names.get(&Author::Contact(ContactId::new(id))))
            .cloned()
            .unwrap_or_else(|| event.text.clone()),
        K::ObjectiveStatus => lang.value("objective_status", &event.text),
        K::StatusChanged => lang.value("plan_status", &event.text),
        K::RaidChanged => lang.value("raid_status", &event.text),
        K::PersonalSet => lang.value("personal_status", &event.text),
        _ => event.text.clone(),
    }
}

/// Refuses a plan that is not one of `account`'s (a URL mixing an account and another
/// account's plan reads as not found).
fn plan_of(
    store: &dyn mikawaya_store::Store,
    access: &mikawaya_domain::ReadAccess,
    account: i64,
    plan: i64,
) -> Result<mikawaya_domain::plan::SuccessPlan, mikawaya_store::StoreError> {
    let found = store.get_plan(access, PlanId::new(plan))?;
    if found.account_id.get() != account {
        return Err(mikawaya_store::StoreError::NotFound { entity: "plan" });
    }
    Ok(found)
}

/// A plan form: one change, with the version it was made on.
#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    csrf_token: String,
    version: i64,
    kind: String,
    title: Option<String>,
    metric: Option<String>,
    target: Option<String>,
    relative: Option<String>,
    due: Option<String>,
    status: Option<String>,
    item: Option<String>,
    deliverable_kind: Option<String>,
    url: Option<String>,
    due_on: Option<String>,
    #[serde(default)]
    gate: Vec<String>,
    raid_kind: Option<String>,
    severity: Option<String>,
    owner: Option<String>,
    internal: Option<String>,
    contact_id: Option<String>,
    text: Option<String>,
    how_we_help: Option<String>,
}

use super::parse_number;

impl ChangeForm {
    fn change(self) -> Result<ChangeIn, Invalid> {
        Ok(ChangeIn {
            kind: self.kind,
            title: self.title,
            metric: self.metric,
            target: parse_number(self.target.as_deref(), "target")?,
            relative: Some(self.relative.is_some_and(|r| r == "true" || r == "on")),
            start: None,
            due: self.due.filter(|d| !d.is_empty()),
            status: self.status.filter(|s| !s.is_empty()),
            item: parse_number(self.item.as_deref(), "item")?,
            deliverable_kind: self.deliverable_kind,
            url: self.url,
            due_on: self.due_on,
            gate: Some(
                self.gate
                    .iter()
                    .map(|g| parse_number(Some(g), "gate").map(Option::unwrap_or_default))
                    .collect::<Result<_, _>>()?,
            ),
            raid_kind: self.raid_kind,
            severity: self.severity,
            owner: self.owner,
            internal: Some(self.internal.is_some_and(|i| i == "true" || i == "on")),
            contact_id: parse_number(self.contact_id.as_deref(), "contact_id")?,
            text: self.text,
            how_we_help: self.how_we_help,
            language: None,
            owner_id: None,
            customer_owner_id: None,
        })
    }
}

/// Applies one change from the plan page.
pub async fn change(
    State(state): State<AppState>,
    page_user: PageUser,
    Path((account, plan)): Path<(i64, i64)>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<ChangeForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let clock = state.clock();
    let version = form.version;
    let change = match form.change().and_then(|c| c.change(clock.today())) {
        Ok(change) => change,
        Err(invalid) => return super::error_page(&page_user, invalid.into()),
    };
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return super::error_page(&page_user, error.into()),
    };
    let now = clock.now();
    let result = state
        .run(move |store| {
            plan_of(store, &access.read(), account, plan)?;
            Ok(plans::change(
                store,
                &access,
                PlanId::new(plan),
                version,
                change,
                now,
            )?)
        })
        .await;
    match result {
        Ok(_) => Redirect::to(&format!("/accounts/{account}/plans/{plan}")).into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

/// The form that starts a plan on Customer 360.
#[derive(Debug, Deserialize)]
pub struct NewPlanForm {
    csrf_token: String,
    template: Option<String>,
    title: Option<String>,
    language: Option<String>,
    customer_owner_id: Option<String>,
}

/// Starts a plan and opens it.
pub async fn create(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(account): Path<i64>,
    Form(form): Form<NewPlanForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let parsed = (|| -> Result<NewPlan, Invalid> {
        Ok(NewPlan {
            title: form
                .title
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(Text::parse)
                .transpose()
                .map_err(|e| e.in_field("title"))?,
            language: if form.language.as_deref() == Some("ja") {
                Language::Ja
            } else {
                Language::En
            },
            template: form.template.filter(|t| !t.is_empty()),
            owner_id: None,
            customer_owner_id: parse_number::<i64>(
                form.customer_owner_id.as_deref(),
                "customer_owner_id",
            )?
            .map(ContactId::new),
            start: None,
        })
    })();
    let new = match parsed {
        Ok(new) => new,
        Err(invalid) => return super::error_page(&page_user, invalid.into()),
    };
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return super::error_page(&page_user, error.into()),
    };
    let (today, now) = (state.clock().today(), state.clock().now());
    match state
        .run(move |store| {
            Ok(plans::create(
                store,
                &access,
                AccountId::new(account),
                new,
                today,
                now,
            )?)
        })
        .await
    {
        Ok(plan) => Redirect::to(&format!("/accounts/{account}/plans/{}", plan.id)).into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

/// The share form.
#[derive(Debug, Deserialize)]
pub struct ShareForm {
    csrf_token: String,
    contact_id: String,
    days: Option<String>,
}

/// Shares a plan and shows the link once.
pub async fn share(
    State(state): State<AppState>,
    page_user: PageUser,
    Path((account, plan)): Path<(i64, i64)>,
    Form(form): Form<ShareForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let parsed = (|| -> Result<(i64, u32), Invalid> {
        let contact = parse_number::<i64>(Some(&form.contact_id), "contact_id")?
            .ok_or_else(|| Invalid::new("contact_id", "is required"))?;
        let days = parse_number::<u32>(form.days.as_deref(), "days")?.unwrap_or(plans::SHARE_DAYS);
        Ok((contact, days))
    })();
    let (contact, days) = match parsed {
        Ok(found) => found,
        Err(invalid) => return super::error_page(&page_user, invalid.into()),
    };
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return super::error_page(&page_user, error.into()),
    };
    let now = state.clock().now();
    let base_url = state.workflow.outbox.base_url.clone();
    let made = state
        .run(move |store| {
            plan_of(store, &access.read(), account, plan)?;
            Ok(plans::share(
                store,
                &access,
                PlanId::new(plan),
                ContactId::new(contact),
                days,
                now,
                &base_url,
            )?)
        })
        .await;
    let shared = match made {
        Ok(shared) => shared,
        Err(error) => return super::error_page(&page_user, error),
    };
    match load(&state, &page_user, account, plan).await {
        Ok(page) => {
            let mut response = render(&state, &page_user, &page, Some(&shared.url)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => super::error_page(&page_user, error),
    }
}

/// The revoke button.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

/// Revokes a shared link.
pub async fn revoke(
    State(state): State<AppState>,
    page_user: PageUser,
    Path((account, plan, share)): Path<(i64, i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    let access = match page_user.actor.write() {
        Ok(access) => access,
        Err(error) => return super::error_page(&page_user, error.into()),
    };
    match state
        .run(move |store| {
            plan_of(store, &access.read(), account, plan)?;
            store.revoke_share(&access, PlanId::new(plan), share)
        })
        .await
    {
        Ok(()) => Redirect::to(&format!("/accounts/{account}/plans/{plan}")).into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

/// The success plans card of Customer 360: each plan's objectives and next milestone, and
/// the form that starts one.
pub fn account_card(
    lang: Lang,
    page_user: &PageUser,
    account: AccountId,
    found: &[(mikawaya_domain::plan::SuccessPlan, BTreeMap<u32, Progress>)],
    templates: &[mikawaya_playbooks::plan_templates::PlanTemplate],
    contacts: &[Contact],
    today: jiff::civil::Date,
) -> Markup {
    let writer = page_user.actor.write().is_ok();
    html! {
        section #plans {
            h2 { (lang.t("plans")) }
            @if found.is_empty() { p.muted { (lang.t("no_plans")) } }
            ul.plain { @for (plan, progress) in found { li {
                a href=(format!("/accounts/{account}/plans/{}", plan.id)) { (plan.body.title) }
                " " span.badge { (lang.value("plan_status", plan.body.status.as_str())) }
                @for objective in &plan.body.objectives {
                    @let status = objective.status(progress.get(&objective.id).map(|p| p.status));
                    br; span.muted { (objective.title) } " " @if let Some(s) = status { (status_badge(lang, s)) }
                }
                @if let Some(next) = plan.body.milestones.iter().find(|m| m.closed_at.is_none()) {
                    br; (lang.t("next_milestone")) ": " (next.title) " · " (i18n::date(next.due_on, lang))
                    @if next.overdue(today) { " " span.badge.overdue { (lang.t("overdue")) } }
                }
            } } }
            @if writer {
                details.edit { summary { (lang.t("new_plan")) }
                    form.grid method="post" action=(format!("/accounts/{account}/plans")) {
                        input type="hidden" name="csrf_token" value=(page_user.csrf_token);
                        label { (lang.t("template")) select name="template" {
                            @for t in templates { option value=(t.name) { (t.title.pick(lang.code())) } }
                            option value="" { (lang.t("blank_plan")) }
                        } }
                        label { (lang.t("plan_title_optional")) input type="text" name="title"; }
                        label { (lang.t("customer_language")) select name="language" {
                            option value="ja" selected[lang == Lang::Ja] { "日本語" }
                            option value="en" selected[lang == Lang::En] { "English" }
                        } }
                        @if !contacts.is_empty() {
                            label { (lang.t("owner_customer")) select name="customer_owner_id" {
                                option value="" { "—" }
                                @for c in contacts { option value=(c.id) { (c.name) } }
                            } }
                        }
                        button type="submit" { (lang.t("new_plan")) }
                    }
                }
            }
        }
    }
}

/// A customer's action on the timeline, in words.
pub fn customer_action(
    lang: Lang,
    event: &mikawaya_store::plans::PlanEventRow,
    contact: &str,
) -> String {
    format!(
        "{contact} · {}: {}",
        lang.value("plan_event", event.kind.as_str()),
        event.text
    )
}

// --- the customer's page ---------------------------------------------------------------

fn shared_lang(view: &SharedView) -> Lang {
    if view.plan.body.language == Language::Ja {
        Lang::Ja
    } else {
        Lang::En
    }
}

/// The page a wrong, expired or revoked link gets: the one an unknown address gets.
fn gone(headers: &axum::http::HeaderMap) -> Response {
    private(not_found_page(Lang::detect(None, headers)).into_response())
}

fn shared_page(
    view: &SharedView,
    token: &str,
    today: jiff::civil::Date,
    notice: Option<&str>,
) -> Markup {
    let lang = shared_lang(view);
    let body = &view.plan.body;
    let action = plans::shared_path(token);
    let milestone_actions = |m: &mikawaya_domain::plan::Milestone| -> Markup {
        let passed = m.gate.iter().all(|d| {
            body.deliverable(*d)
                .is_some_and(|d| d.status == DeliverableStatus::Accepted)
        });
        html! { @if m.closed_at.is_none() && passed {
            form.inline method="post" action=(action) {
                input type="hidden" name="action" value="approve";
                input type="hidden" name="item" value=(m.id);
                button type="submit" { (lang.t("approve_milestone")) }
            }
        } }
    };
    let deliverable_actions = |d: &mikawaya_domain::plan::Deliverable| -> Markup {
        html! { @if d.status == DeliverableStatus::Delivered {
            details.edit { summary { (lang.t("review")) " " (d.title) }
                form.inline method="post" action=(action) {
                    input type="hidden" name="action" value="accept";
                    input type="hidden" name="item" value=(d.id);
                    button type="submit" { (lang.t("accept")) " " (d.title) }
                }
                form.inline method="post" action=(action) {
                    input type="hidden" name="action" value="reject";
                    input type="hidden" name="item" value=(d.id);
                    label { (lang.t("reason")) input type="text" name="text" required; }
                    button type="submit" { (lang.t("reject")) }
                }
            }
        } }
    };
    let html_body = html! {
        p.muted { (lang.t("shared_with")) " " (view.contact.name) " · " (view.account_name) }
        h1 { (body.title) }
        @if let Some(text) = notice { div.notice role="status" { (text) } }
        div.facts { dl {
            div { dt { (lang.t("owner_ours")) } dd { (body.owner_id.and_then(|u| view.names.get(&Author::User(u))).map_or("—", String::as_str)) } }
            div { dt { (lang.t("owner_customer")) } dd { (body.customer_owner_id.and_then(|c| view.names.get(&Author::Contact(c))).map_or("—", String::as_str)) } }
            div { dt { (lang.t("status")) } dd { (lang.value("plan_status", body.status.as_str())) } }
        } }
        section { h2 { (lang.t("objectives")) } (objectives(lang, body, &view.progress)) }
        section { h2 { (lang.t("milestones")) } (milestones(lang, body, &view.names, today, &milestone_actions, &deliverable_actions)) }
        section { h2 { (lang.t("raid")) } (raid_table(lang, body, &view.names, false)) }
        section {
            h2 { (lang.t("comments")) }
            form.grid method="post" action=(action) {
                input type="hidden" name="action" value="comment";
                label.wide { (lang.t("comment")) textarea name="text" rows="3" required {} }
                button type="submit" { (lang.t("add_comment")) }
            }
            (comments(lang, body, &view.names))
        }
        p.muted { (lang.t("link_expires")) " " (view.share.expires_at.strftime("%Y-%m-%d").to_string()) }
    };
    layout(lang, body.title.as_str(), None, html_body)
}

/// The page a shared link opens.
pub async fn shared(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let clock = state.clock();
    let now = clock.now();
    let lookup = token.clone();
    match state
        .run(move |store| Ok(plans::open(store, &lookup, now)?))
        .await
    {
        Ok(Some(view)) => private(shared_page(&view, &token, clock.today(), None).into_response()),
        Ok(None) => gone(&headers),
        Err(error) => private(error.into_response()),
    }
}

/// What the customer does on the shared page.
#[derive(Debug, Deserialize)]
pub struct CustomerForm {
    action: String,
    item: Option<String>,
    text: Option<String>,
}

impl CustomerForm {
    fn change(&self) -> Result<PlanChange, Invalid> {
        let item = || {
            parse_number::<u32>(self.item.as_deref(), "item")?
                .ok_or_else(|| Invalid::new("item", "is required"))
        };
        let text = |field: &str| {
            self.text
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(Text::parse)
                .transpose()
                .map_err(|e| e.in_field(field))
        };
        Ok(match self.action.as_str() {
            "accept" => PlanChange::Decide {
                deliverable: item()?,
                accept: true,
                remark: text("text")?,
            },
            "reject" => PlanChange::Decide {
                deliverable: item()?,
                accept: false,
                remark: text("text")?,
            },
            "approve" => PlanChange::CloseMilestone { milestone: item()? },
            "comment" => PlanChange::Comment {
                text: text("text")?.ok_or_else(|| Invalid::new("text", "is required"))?,
                internal: false,
            },
            other => {
                return Err(Invalid::new(
                    "action",
                    format!("'{other}' is not an action"),
                ));
            }
        })
    }
}

/// The customer acts through the shared page.
pub async fn shared_act(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<CustomerForm>,
) -> Response {
    let clock = state.clock();
    let now = clock.now();
    let base_url = state.workflow.outbox.base_url.clone();
    let change = form.change();
    let lookup = token.clone();
    let outcome = state
        .run(move |store| {
            // A link that opens nothing says so before the input is judged.
            let Some(view) = plans::open(store, &lookup, now)? else {
                return Ok(Err(None));
            };
            let change = match change {
                Ok(change) => change,
                Err(invalid) => return Ok(Err(Some((view, invalid.reason)))),
            };
            match plans::act(store, &lookup, change, now, &base_url) {
                Ok(Some(view)) => Ok(Ok(view)),
                Ok(None) => Ok(Err(None)),
                Err(mikawaya_app::AppError::Invalid(invalid)) => {
                    Ok(Err(Some((view, invalid.reason))))
                }
                Err(other) => Err(other.into()),
            }
        })
        .await;
    match outcome {
        Ok(Ok(view)) => {
            let lang = shared_lang(&view);
            private(
                shared_page(&view, &token, clock.today(), Some(lang.t("thanks_saved")))
                    .into_response(),
            )
        }
        Ok(Err(Some((view, reason)))) => {
            let page = shared_page(&view, &token, clock.today(), Some(&reason));
            private((axum::http::StatusCode::BAD_REQUEST, page).into_response())
        }
        Ok(Err(None)) => gone(&headers),
        Err(error) => private(error.into_response()),
    }
}

/// The leader's view of plans: by status, objectives off track, overdue milestones.
pub async fn plans_page(State(state): State<AppState>, page_user: PageUser) -> Response {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let today = state.clock().today();
    let found = state
        .run(move |store| {
            let plans = store.list_plans(&access, &mikawaya_store::plans::PlanFilter::default())?;
            let progress = store.plan_progress(&access, None)?;
            let accounts: HashMap<
                AccountId,
                (String, Option<mikawaya_domain::account::TouchTier>),
            > = store
                .all_accounts(&access)?
                .into_iter()
                .map(|a| (a.id, (a.name.to_string(), a.tier)))
                .collect();
            let users: HashMap<UserId, String> = store
                .list_users(&access)?
                .into_iter()
                .map(|u| (u.id, u.name.to_string()))
                .collect();
            let churn = mikawaya_app::plans::churn_by_plan_status(store, &access, today, 90)?;
            Ok((plans, progress, accounts, users, churn))
        })
        .await;
    let (found, progress, accounts, users, churn) = match found {
        Ok(found) => found,
        Err(error) => return super::error_page(&page_user, error),
    };
    let mut by_plan: HashMap<PlanId, BTreeMap<u32, Progress>> = HashMap::new();
    for row in progress {
        by_plan
            .entry(row.plan_id)
            .or_default()
            .insert(row.objective, row.progress);
    }
    let status_of = |plan: &mikawaya_domain::plan::SuccessPlan,
                     objective: &mikawaya_domain::plan::Objective| {
        objective.status(
            by_plan
                .get(&plan.id)
                .and_then(|p| p.get(&objective.id))
                .map(|p| p.status),
        )
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut objectives_total, mut achieved) = (0usize, 0usize);
    // Per touch tier: objectives, achieved, off track or missed (the customer outcome, CO).
    let mut by_tier: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for plan in &found {
        *counts.entry(plan.body.status.as_str()).or_default() += 1;
        let tier = accounts
            .get(&plan.account_id)
            .and_then(|(_, t)| *t)
            .map_or("none", |t| t.as_str());
        for objective in &plan.body.objectives {
            objectives_total += 1;
            let status = status_of(plan, objective);
            let row = by_tier.entry(tier).or_default();
            row.0 += 1;
            if status == Some(ObjectiveStatus::Achieved) {
                achieved += 1;
                row.1 += 1;
            }
            if status.is_some_and(ObjectiveStatus::is_bad) {
                row.2 += 1;
            }
        }
    }
    let attention: Vec<_> = found
        .iter()
        .filter(|p| p.body.status == PlanStatus::Active)
        .filter(|p| {
            p.body.overdue_milestones(today) > 0
                || p.body
                    .objectives
                    .iter()
                    .any(|o| status_of(p, o).is_some_and(ObjectiveStatus::is_bad))
        })
        .take(200)
        .collect();
    let body = html! {
        h1 { (lang.t("plans")) }
        div.facts { dl {
            @for s in PlanStatus::ALL { div { dt { (lang.value("plan_status", s.as_str())) } dd { (counts.get(s.as_str()).copied().unwrap_or(0)) } } }
            div { dt { (lang.t("outcomes_achieved")) } dd { (achieved) " / " (objectives_total) } }
        } }
        section {
            h2 { (lang.t("outcomes_by_tier")) }
            table tabindex="0" {
                thead { tr { th { (lang.t("tier")) } th.num { (lang.t("objectives")) } th.num { (lang.t("outcomes_achieved")) } th.num { (lang.t("objectives_off_track")) } } }
                tbody { @for (tier, (total, done, bad)) in &by_tier { tr {
                    td { (lang.value("tier_name", tier)) }
                    td.num { (total) }
                    td.num { (done) " (" (percent(*done as f64 / (*total).max(1) as f64)) ")" }
                    td.num { (bad) }
                } } }
            }
        }
        section aria-labelledby="plan-churn-heading" data-testid="plan-churn" {
            h2 #plan-churn-heading { (lang.t("plan_churn")) }
            p.muted { (lang.t("plan_churn_help")) " (" (i18n::date(churn.from, lang)) " – " (i18n::date(churn.to, lang)) ")" }
            table tabindex="0" {
                thead { tr { th scope="col" { (lang.t("plans_were")) } th.num scope="col" { (lang.t("accounts")) } th.num scope="col" { (lang.t("churned")) } th.num scope="col" { (lang.t("churn_rate")) } } }
                tbody {
                    @for (label, arm) in [(lang.t("plans_on_track"), &churn.comparison.a), (lang.t("plans_behind"), &churn.comparison.b)] { tr {
                        td { (label) } td.num { (arm.n) } td.num { (arm.successes) } td.num { (super::percent(arm.rate)) }
                    } }
                }
            }
            p data-testid="plan-churn-difference" {
                (lang.t("difference")) ": "
                @match (churn.comparison.difference, churn.comparison.ci95) {
                    (Some(d), Some((low, high))) => { strong { (format!("{:+.1}", 100.0 * d)) } " " (lang.t("points")) " (95% CI " (format!("{:+.1}", 100.0 * low)) " – " (format!("{:+.1}", 100.0 * high)) ")" }
                    _ => { (lang.t("not_enough_data")) }
                }
            }
        }
        section {
            h2 { (lang.t("plans_needing_attention")) }
            @if attention.is_empty() { p.muted { (lang.t("nothing_needs_attention")) } }
            @else {
                table tabindex="0" {
                    thead { tr { th { (lang.t("account")) } th { (lang.t("plan")) } th { (lang.t("owner_ours")) } th.num { (lang.t("objectives_off_track")) } th.num { (lang.t("milestones_overdue")) } } }
                    tbody { @for plan in &attention { tr {
                        td { a href=(format!("/accounts/{}", plan.account_id)) { (accounts.get(&plan.account_id).map_or("—", |(name, _)| name.as_str())) } }
                        td { a href=(format!("/accounts/{}/plans/{}", plan.account_id, plan.id)) { (plan.body.title) } }
                        td { (plan.body.owner_id.and_then(|u| users.get(&u)).map_or("—", String::as_str)) }
                        td.num { (plan.body.objectives.iter().filter(|o| status_of(plan, o).is_some_and(ObjectiveStatus::is_bad)).count()) }
                        td.num { (plan.body.overdue_milestones(today)) }
                    } } }
                }
            }
        }
    };
    layout(
        lang,
        lang.t("plans"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(
            super::parse_number::<f64>(Some("１，２００"), "target"),
            Ok(Some(1200.0))
        );
        assert!(super::parse_number::<f64>(Some("lots"), "target").is_err());
        assert_eq!(super::number(Some(1200.0)), "1,200");
        assert_eq!(super::number(Some(-3.0)), "-3");
        assert_eq!(super::number(Some(0.5)), "0.50");
    }
}
