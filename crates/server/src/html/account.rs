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
use mikawaya_domain::access::Role;
use mikawaya_domain::contact::{ContactRole, ContactSource, Influence, Sentiment};
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
    match render_account(&state, &page_user, AccountId::new(id), event, params.survey).await {
        Ok(markup) => markup.into_response(),
        Err(error) => page_error(page_user.lang, error),
    }
}

/// The usage chart's event (none: every event).
#[derive(Debug, Deserialize)]
pub struct AccountPageParams {
    event: Option<String>,
    /// What a survey sent from the page did (sent, resting, unsubscribed, no_email, frequency_cap).
    survey: Option<String>,
}

/// Everything Customer 360 shows, read in one blocking call.
struct AccountData {
    account: mikawaya_domain::account::Account,
    contacts: Vec<mikawaya_domain::contact::Contact>,
    subscriptions: Vec<mikawaya_domain::subscription::Subscription>,
    touchpoints: Vec<mikawaya_domain::touchpoint::Touchpoint>,
    tasks: Vec<mikawaya_domain::work::Task>,
    users: Vec<mikawaya_domain::user::User>,
    partner: Option<String>,
    parent: Option<mikawaya_domain::account::Account>,
    /// Every account below it (children, their children, ...), each with its depth.
    descendants: Vec<(usize, mikawaya_domain::account::Account)>,
    custom_fields: Vec<mikawaya_domain::custom_field::CustomFieldDef>,
    /// The latest survey answers, newest first.
    answers: Vec<mikawaya_domain::work::SurveyResponse>,
    /// The keyword lists in force.
    keywords: mikawaya_analytics::voice::Keywords,
    /// The account's feedback items, newest first.
    feedback: Vec<mikawaya_app::feedback::ItemView>,
    /// The active surveys' names.
    surveys: Vec<String>,
    /// The latest pulses, newest first.
    pulses: Vec<mikawaya_store::work::Pulse>,
    /// Playbook runs, newest first.
    runs: Vec<mikawaya_store::work::Run>,
    /// The playbooks ranked by measured uplift on accounts of its tier.
    next_best: Vec<mikawaya_app::effect::Uplift>,
    /// Success plans with their objectives' progress.
    plans: Vec<(
        mikawaya_domain::plan::SuccessPlan,
        std::collections::BTreeMap<u32, mikawaya_domain::plan::Progress>,
    )>,
    /// The plan templates in force.
    templates: Vec<mikawaya_playbooks::plan_templates::PlanTemplate>,
    /// What the customer did on shared plans.
    customer_actions: Vec<mikawaya_store::plans::PlanEventRow>,
    /// The customer journey in force.
    journey: mikawaya_playbooks::journey::Journey,
    /// The account's stays in stages, latest first.
    stays: Vec<mikawaya_analytics::journey::Stay>,
    /// The plans' display names by slug (plans imported under a label in any language).
    plan_names: std::collections::BTreeMap<String, String>,
}

fn load_account(
    store: &dyn mikawaya_store::Store,
    access: &mikawaya_domain::ReadAccess,
    id: AccountId,
) -> Result<AccountData, StoreError> {
    let account = store.get_account(access, id)?;
    let contacts = store
        .list_contacts(
            access,
            &ContactFilter {
                account_id: Some(id),
                ..ContactFilter::default()
            },
            &PageRequest::first(1000),
        )?
        .data;
    let subscriptions = store
        .list_subscriptions(
            access,
            &SubscriptionFilter {
                account_id: Some(id),
                ..SubscriptionFilter::default()
            },
            &PageRequest::first(200),
        )?
        .data;
    let touchpoints = store
        .list_touchpoints(
            access,
            &TouchpointFilter {
                account_id: Some(id),
                ..TouchpointFilter::default()
            },
            &PageRequest::first(20),
        )?
        .data;
    let tasks = store
        .list_tasks(
            access,
            &TaskFilter {
                account_id: Some(id),
                ..TaskFilter::default()
            },
            &PageRequest::first(100),
        )?
        .data;
    let users = store.list_users(access)?;
    let partner = match account.partner_id {
        Some(partner) => Some(store.get_partner(access, partner)?.name.to_string()),
        None => None,
    };
    let parent = match account.parent_id {
        Some(parent) => store.get_account(access, parent).ok(),
        None => None,
    };
    // The hierarchy below, breadth first (a stored loop cannot repeat an account).
    let mut descendants = Vec::new();
    let mut seen = std::collections::HashSet::from([id]);
    let mut level = vec![id];
    let mut depth = 1;
    while !level.is_empty() && depth <= 20 {
        let mut next = Vec::new();
        for parent_id in level {
            let children = store
                .list_accounts(
                    access,
                    &mikawaya_domain::account::AccountFilter {
                        parent_id: Some(parent_id),
                        ..Default::default()
                    },
                    mikawaya_domain::account::AccountSort::default(),
                    &PageRequest::first(1000),
                )?
                .data;
            for child in children {
                if seen.insert(child.id) {
                    next.push(child.id);
                    descendants.push((depth, child));
                }
            }
        }
        level = next;
        depth += 1;
    }
    let mut answers = store.survey_responses(access, Some(&[id]), jiff::Timestamp::UNIX_EPOCH)?;
    answers.reverse();
    answers.truncate(8);
    let mut pulses = store.pulses(access, Some(&[id]))?;
    pulses.reverse();
    pulses.truncate(6);
    let mut runs = store.list_runs(
        access,
        &mikawaya_store::work::RunFilter {
            account_id: Some(id),
            ..Default::default()
        },
    )?;
    runs.reverse();
    runs.truncate(10);
    let next_best = mikawaya_app::effect::next_best(store, access, &account)?;
    let plans = mikawaya_app::plans::of_account(store, access, id)?;
    let (templates, _) = mikawaya_app::plans::templates(store, access)?;
    let customer_actions = mikawaya_app::plans::customer_actions(store, access, id)?;
    let (journey, _) = mikawaya_app::journey::definition(store, access)?;
    let (stays, _) = mikawaya_app::journey::history(store, access, id)?;
    let (keywords, _) = mikawaya_app::feedback::keywords(store, access)?;
    let items = store.feedback(
        access,
        &mikawaya_store::voice::FeedbackFilter {
            account: Some(id),
            ..Default::default()
        },
    )?;
    let feedback =
        mikawaya_app::feedback::views(store, access, items.into_iter().take(20).collect())?;
    let surveys = mikawaya_app::surveys::definitions(store)?
        .into_iter()
        .filter(|(_, d)| d.active)
        .map(|(s, _)| s.name)
        .collect();
    Ok(AccountData {
        surveys,
        keywords,
        feedback,
        journey,
        stays,
        plans,
        templates,
        customer_actions,
        next_best,
        answers,
        pulses,
        runs,
        account,
        contacts,
        subscriptions,
        touchpoints,
        tasks,
        users,
        partner,
        parent,
        descendants,
        custom_fields: store.list_custom_fields()?,
        plan_names: store.plan_names(access)?,
    })
}

/// A measured uplift in words: the difference in points, what success is, its 95%
/// interval, and how many runs and held-out firings it rests on.
pub(super) fn uplift_words(
    lang: super::i18n::Lang,
    uplift: &mikawaya_app::effect::Uplift,
) -> String {
    use mikawaya_playbooks::spec::Outcome;
    let points = |v: f64| format!("{:+.1}", 100.0 * v);
    let tier = lang.value("tier_name", &uplift.segment);
    match lang {
        super::i18n::Lang::En => {
            let success = match &uplift.outcome {
                Outcome::Retained { days } => format!("still paying {days} days later"),
                Outcome::EventHappened { event, days } => format!("{event} within {days} days"),
                Outcome::HealthRecovered { threshold, days } => {
                    format!("health {threshold} or more {days} days later")
                }
            };
            format!(
                "{} pts {success} (95% CI {} to {}); {} runs and {} held out on {tier} accounts",
                points(uplift.uplift),
                points(uplift.ci95.0),
                points(uplift.ci95.1),
                uplift.runs,
                uplift.held_out,
            )
        }
        super::i18n::Lang::Ja => {
            let success = match &uplift.outcome {
                Outcome::Retained { days } => format!("{days}日後も契約継続"),
                Outcome::EventHappened { event, days } => format!("{days}日以内に{event}"),
                Outcome::HealthRecovered { threshold, days } => {
                    format!("{days}日後にヘルス{threshold}以上")
                }
            };
            format!(
                "「{success}」が{}ポイント（95%信頼区間 {}〜{}）。{tier}の顧客で実施{}件・対照{}件",
                points(uplift.uplift),
                points(uplift.ci95.0),
                points(uplift.ci95.1),
                uplift.runs,
                uplift.held_out,
            )
        }
    }
}

/// A metric name as words: `active_users` → `active users`.
fn measure_words(name: &str) -> String {
    name.replace('_', " ")
}

/// One driver row: measure, raw value now, score now, score 30 days before, weight.
type Driver = (String, Option<f64>, Option<f64>, Option<f64>, f64);

/// A raw measure value: whole numbers grouped and without decimals, others with two.
pub(super) fn raw_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let digits = i18n::group_digits(value.abs() as u64);
        if value < 0.0 {
            format!("-{digits}")
        } else {
            digits
        }
    } else {
        format!("{value:.2}")
    }
}

async fn render_account(
    state: &AppState,
    page_user: &PageUser,
    id: AccountId,
    event: Option<String>,
    survey_sent: Option<String>,
) -> Result<Markup, ApiError> {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let health_access = access;
    let data = state
        .run(move |store| load_account(store, &access, id))
        .await?;
    let health_state = state.clone();
    let clock = state.clock();
    let today = clock.today();
    let reasons_clock = clock.clone();
    let (health, reasons) = tokio::task::spawn_blocking(move || {
        let health = health(&health_state, id, &health_access, today);
        let reasons = health_state
            .ingest
            .read(|rollups| {
                let day_of = |at: jiff::Timestamp| reasons_clock.day_of(at);
                mikawaya_app::today::account_reasons(
                    health_state.store.as_ref(),
                    &health_access,
                    rollups,
                    id,
                    today,
                    &day_of,
                    &mikawaya_app::today::Policy::default(),
                )
            })
            .map_err(ApiError::internal)
            .and_then(|r| r.map_err(|e| ApiError::from(mikawaya_store::StoreError::from(e))));
        (health, reasons)
    })
    .await
    .map_err(ApiError::internal)?;
    let health = health?;
    let (reasons, priority) = reasons?;
    let AccountData {
        account,
        contacts,
        subscriptions,
        touchpoints,
        tasks,
        users,
        partner,
        parent,
        descendants,
        custom_fields,
        answers,
        keywords,
        feedback,
        surveys,
        pulses,
        runs,
        next_best,
        plans,
        templates,
        customer_actions,
        journey,
        stays,
        plan_names,
    } = data;
    let plan_name = |slug: &str| {
        plan_names
            .get(slug)
            .cloned()
            .unwrap_or_else(|| slug.to_owned())
    };
    let (stakeholders, product_users): (Vec<_>, Vec<_>) = contacts
        .into_iter()
        .partition(|c| c.source == ContactSource::Crm);
    let (usage, events, last_seen) = match account.external_id.as_ref().map(ToString::to_string) {
        Some(key) => {
            let ingest = Arc::clone(&state.ingest);
            let (from, to) = (weeks_back(today, 25), today);
            let chosen = event.clone();
            let user_keys: Vec<Option<String>> = product_users
                .iter()
                .map(|c| c.external_id.as_ref().map(ToString::to_string))
                .collect();
            let year_ago = weeks_back(today, 52);
            let month_start = today
                .checked_sub(jiff::Span::new().days(27))
                .unwrap_or(today);
            tokio::task::spawn_blocking(move || {
                ingest.read(|r| {
                    let points = r.usage(
                        &key,
                        chosen.as_deref(),
                        from,
                        to,
                        mikawaya_usage::rollup::Interval::Week,
                    );
                    let names: Vec<String> = r
                        .catalog_of(&[key.as_str()])
                        .into_iter()
                        .map(|c| c.name)
                        .collect();
                    let seen: Vec<Option<(Date, u32)>> = user_keys
                        .iter()
                        .map(|user| {
                            user.as_ref().and_then(|user| {
                                let days = r.user_days(user, year_ago, to);
                                let last = days.last().map(|(d, _)| *d)?;
                                let recent: u32 = days
                                    .iter()
                                    .filter(|(d, _)| *d >= month_start)
                                    .map(|(_, n)| *n)
                                    .sum();
                                Some((last, recent))
                            })
                        })
                        .collect();
                    (points, names, seen)
                })
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    // Product users, most recently seen first.
    let mut seen_users: Vec<(&mikawaya_domain::contact::Contact, Option<(Date, u32)>)> =
        product_users
            .iter()
            .zip(last_seen.iter().copied().chain(std::iter::repeat(None)))
            .collect();
    seen_users.sort_by_key(|(c, seen)| (std::cmp::Reverse(seen.map(|(d, _)| d)), c.id));
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
    let owners: Vec<_> = users
        .iter()
        .filter(|u| matches!(u.role, Role::Csm | Role::Leader))
        .collect();
    let score = health.now.as_ref().and_then(|h| h.score);
    let change = score
        .zip(health.before.as_ref().and_then(|h| h.score))
        .map(|(a, b)| a - b);
    let drivers: Vec<Driver> = match (&health.now, &health.before) {
        (Some(now), before) => now
            .measures
            .iter()
            .map(|m| {
                let was = before
                    .as_ref()
                    .and_then(|b| b.measures.iter().find(|x| x.metric == m.metric))
                    .and_then(|x| x.score);
                (m.metric.clone(), m.value, m.score, was, m.weight)
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
                // An empty sum of floats is -0.0: add 0.0 so no month shows "-0".
                Some(
                    subscriptions
                        .iter()
                        .filter(|s| s.term.is_active_on(*m))
                        .map(|s| s.mrr.amount())
                        .sum::<f64>()
                        + 0.0,
                )
            })
            .collect(),
        dashed: false,
    }];
    let rollup_arr: f64 = account.arr() + descendants.iter().map(|(_, a)| a.arr()).sum::<f64>();
    let worst = descendants
        .iter()
        .filter_map(|(_, a)| a.signals.health.map(|h| (h, a)))
        .chain(account.signals.health.map(|h| (h, &account)))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    // Touchpoints and the customer's actions on shared plans, newest first.
    let mut timeline: Vec<Timeline<'_>> = touchpoints
        .iter()
        .map(Timeline::Touch)
        .chain(customer_actions.iter().map(Timeline::Customer))
        .collect();
    timeline.sort_by_key(|item| std::cmp::Reverse(item.at()));
    let contact_name = |author: Option<mikawaya_domain::plan::Author>| match author {
        Some(mikawaya_domain::plan::Author::Contact(id)) => stakeholders
            .iter()
            .chain(product_users.iter())
            .find(|c| c.id == id)
            .map(|c| c.name.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let csrf = &page_user.csrf_token;
    let can_write = page_user.actor.write().is_ok();
    let here = format!("/accounts/{}", account.id);
    let language = lang.language();
    let body = html! {
        p { a href="/today" { "← " (lang.t("today")) } " · " a href="/portfolio" { (lang.t("portfolio")) } }
        h1 { (account.name) }
        section.facts aria-label=(lang.t("key_facts")) {
            dl {
                div { dt { (lang.t("health")) } dd {
                    @if let Some(s) = score { span data-testid="health-score" { (super::health_badge(lang, s)) } } @else { "—" }
                    @if let Some(c) = change { " " span.muted data-testid="health-change" { (format!("{c:+.0}")) } }
                } }
                div { dt { (lang.t("forecast_risk")) } dd { @if let Some(r) = account.signals.forecast_risk { (format!("{:.0}%", r * 100.0)) } @else { "—" } } }
                div { dt { (lang.t("arr")) } dd { (i18n::money(account.arr(), &account.currency)) } }
                div { dt { (lang.t("renewal")) } dd { @if let Some(r) = account.renewal_date { (i18n::date(r, lang)) } @else { "—" } } }
                div { dt { (lang.t("owner")) } dd { @if let Some(o) = owner { (o.name) } @else { "—" } } }
                div { dt { (lang.t("partner")) } dd { @if let Some(p) = &partner { (p) } @else { "—" } } }
                div { dt { (lang.t("tier")) } dd { @if let Some(t) = account.tier { (lang.t(t.as_str())) } @else { "—" } } }
                div { dt { (lang.t("stage")) } dd { @if let Some(s) = &account.stage { (super::journey::stage_name(lang, &journey, s.as_str())) } @else { "—" } } }
                div { dt { (lang.t("plan")) } dd { @if let Some(p) = &account.plan { (plan_name(p.as_str())) } @else { "—" } } }
                div { dt { (lang.t("last_touch")) } dd { @if let Some(t) = account.signals.last_touch { (i18n::date(clock.day_of(t), lang)) } @else { "—" } } }
                @for def in &custom_fields {
                    @if let Some(value) = account.custom_fields.get(def.key().as_str()) {
                        div { dt { (def.label()) } dd { (custom_text(&value.to_json())) } }
                    }
                }
            }
        }
        @if !reasons.is_empty() {
            section.reasons-box aria-labelledby="reasons-heading" {
                h2 #reasons-heading { (lang.t("why_attention")) }
                ul.reasons data-testid="account-reasons" { @for reason in &reasons { li data-code=(reason.code()) { (reason.sentence(language)) } } }
                p.priority.muted { (lang.t("priority")) " " (i18n::group_digits(priority.value.round() as u64)) " = " (format!("{:.2}", priority.risk)) " × " (i18n::money(priority.arr, &account.currency)) " × " (format!("{:.2}", priority.urgency)) }
            }
        }
        @if !next_best.is_empty() {
            section aria-labelledby="next-best-heading" data-testid="next-best" {
                h2 #next-best-heading { (lang.t("next_best_action")) }
                p.muted { (lang.t("next_best_help")) }
                ol { @for uplift in next_best.iter().take(3) { li {
                    strong { (if lang == super::i18n::Lang::Ja { &uplift.title_ja } else { &uplift.title_en }) }
                    " · " (uplift_words(lang, uplift))
                    @if can_write {
                        form.inline method="post" action=(format!("/accounts/{}/playbooks", account.id)) {
                            input type="hidden" name="csrf_token" value=(csrf);
                            input type="hidden" name="playbook" value=(uplift.playbook);
                            button type="submit" { (lang.t("start")) }
                        }
                    }
                } } }
            }
        }
        @if can_write {
            details.edit {
                summary { (lang.t("edit_account")) }
                form.grid method="post" action=(format!("/accounts/{}/edit", account.id)) {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("account_name")) input type="text" name="name" required value=(account.name); }
                    label { (lang.t("owner")) select name="owner_id" {
                        option value="" { (lang.t("unowned")) }
                        @for u in &owners { option value=(u.id) selected[account.owner_id == Some(u.id)] { (u.name) } }
                    } }
                    label { (lang.t("stage")) select name="stage" {
                        option value="" { "—" }
                        @for stage in super::journey::stage_choices(&journey, account.stage.as_ref().map(|s| s.as_str())) {
                            option value=(stage) selected[account.stage.as_ref().is_some_and(|s| s.as_str() == stage)] { (super::journey::stage_name(lang, &journey, &stage)) }
                        }
                    } }
                    label { (lang.t("tier")) select name="tier" {
                        option value="" { "—" }
                        @for tier in ["high", "low", "tech"] { option value=(tier) selected[account.tier.is_some_and(|t| t.as_str() == tier)] { (lang.t(tier)) } }
                    } }
                    label { (lang.t("plan")) input type="text" name="plan" value=(account.plan.as_ref().map_or("", |p| p.as_str())); }
                    label { (lang.t("renewal")) input type="date" name="renewal_date" value=(account.renewal_date.map(|d| d.to_string()).unwrap_or_default()); }
                    label { (lang.t("parent_id")) input type="number" min="1" name="parent_id" value=(account.parent_id.map(|p| p.to_string()).unwrap_or_default()); }
                    @for def in &custom_fields {
                        label { (def.label()) input type="text" name=(format!("custom.{}", def.key())) value=(account.custom_fields.get(def.key().as_str()).map(|v| custom_text(&v.to_json())).unwrap_or_default()); }
                    }
                    button type="submit" { (lang.t("save")) }
                }
            }
        }
        @if parent.is_some() || !descendants.is_empty() {
            section aria-labelledby="hierarchy-heading" {
                h2 #hierarchy-heading { (lang.t("hierarchy")) }
                @if let Some(parent) = &parent { p { (lang.t("parent")) ": " a href=(format!("/accounts/{}", parent.id)) { (parent.name) } } }
                @if !descendants.is_empty() {
                    p data-testid="rollup" { (lang.t("rollup_arr")) ": " strong { (i18n::money(rollup_arr, &account.currency)) }
                        @if let Some((score, worst)) = worst { " · " (lang.t("worst_health")) ": " (super::health_badge(lang, score)) " " a href=(format!("/accounts/{}", worst.id)) { (worst.name) } } }
                    ul.plain { @for (depth, child) in &descendants { li style=(format!("padding-left:{}rem", depth.saturating_sub(1))) {
                        a href=(format!("/accounts/{}", child.id)) { (child.name) } " · " (i18n::money(child.arr(), &child.currency))
                        @if let Some(h) = child.signals.health { " " (super::health_badge(lang, h)) }
                    } } }
                }
            }
        }
        section {
            h2 { (lang.t("health_history")) }
            (charts::score_line("health-chart", lang.t("health_history"), &health.history, [lang.t("red"), lang.t("yellow"), lang.t("green")], [lang.t("week"), lang.t("health")]))
            @if !drivers.is_empty() {
                h3 { (lang.t("drivers")) }
                table tabindex="0" {
                    thead { tr { th scope="col" { (lang.t("measure")) } th.num scope="col" { (lang.t("value_now")) } th.num scope="col" { (lang.t("score_now")) } th.num scope="col" { (lang.t("score_30d")) } th.num scope="col" { (lang.t("change")) } th.num scope="col" { (lang.t("weight")) } } }
                    tbody { @for (metric, value, now, was, weight) in &drivers { tr {
                        td { (measure_words(metric)) }
                        td.num { @if let Some(v) = value { (raw_value(*v)) } @else { "—" } }
                        td.num { @if let Some(v) = now { (format!("{v:.0}")) } @else { "—" } }
                        td.num { @if let Some(v) = was { (format!("{v:.0}")) } @else { "—" } }
                        td.num { @if let (Some(a), Some(b)) = (now, was) { (format!("{:+.0}", a - b)) } @else { "—" } }
                        td.num { (weight) }
                    } } }
                }
            }
        }
        section {
            h2 { (lang.t("stakeholders")) }
            @if stakeholders.is_empty() { p.muted { "—" } } @else {
                table tabindex="0" data-testid="stakeholders" { thead { tr { th scope="col" { (lang.t("contact")) } th scope="col" { (lang.t("role")) } th scope="col" { (lang.t("influence")) } th scope="col" { (lang.t("sentiment")) } th scope="col" { (lang.t("personal_success")) } @if can_write { th scope="col" { (lang.t("edit")) } } } }
                tbody { @for c in &stakeholders { tr {
                    td { (c.name) @if let Some(e) = &c.email { br; span.muted { (e) } } }
                    td { @if let Some(r) = c.role { (lang.value("role", r.as_str())) } }
                    td { @if let Some(i) = c.influence { (lang.value("influence", i.as_str())) } }
                    td { @if let Some(s) = c.sentiment { (lang.value("sentiment", s.as_str())) } }
                    td { @if let Some(p) = &c.personal_success { (p) } }
                    @if can_write { td { (contact_form(lang, csrf, &here, Some(c))) } }
                } } } }
            }
            @if can_write {
                details { summary { (lang.t("add_stakeholder")) } (new_contact_form(lang, csrf, account.id)) }
            }
        }
        (super::plans::account_card(lang, page_user, account.id, &plans, &templates, &stakeholders, today))
        (super::journey::account_card(lang, page_user, &account, &journey, &stays, today))
        section aria-labelledby="voice-heading" {
            h2 #voice-heading { (lang.t("voice")) }
            @if let Some(outcome) = &survey_sent { p.notice role="status" data-testid="survey-sent" { (lang.t("survey_outcome")) ": " (lang.value("survey_outcome", outcome)) } }
            @if can_write && !stakeholders.is_empty() { (super::surveys::account_form(lang, csrf, account.id.get(), &surveys, &stakeholders.iter().map(|c| (c.id, c.name.to_string())).collect::<Vec<_>>())) }
            @if answers.is_empty() && pulses.is_empty() { p.muted { (lang.t("no_answers")) } }
            @if !answers.is_empty() {
                table tabindex="0" data-testid="survey-answers" { thead { tr { th scope="col" { (lang.t("date")) } th scope="col" { (lang.t("survey")) } th.num scope="col" { (lang.t("score")) } th scope="col" { (lang.t("contact")) } th scope="col" { (lang.t("comment")) } } }
                tbody { @for a in &answers { tr {
                    td { (i18n::date(clock.day_of(a.answered_at), lang)) }
                    td { (a.kind.as_str().to_uppercase()) }
                    td.num { (a.score) }
                    td { @if let Some(c) = a.contact_id.and_then(|id| stakeholders.iter().chain(product_users.iter()).find(|c| c.id == id)) { (c.name) } }
                    td {
                        (super::voice::badge(lang, mikawaya_app::voice::classify(a, &keywords))) " " @if let Some(c) = &a.comment { (c) }
                        @if can_write { (super::feedback::answer_class_form(lang, csrf, account.id, a)) }
                    }
                } } } }
            }
            @if !pulses.is_empty() {
                h3 { (lang.t("pulses")) }
                ul.plain { @for p in &pulses { li {
                    (i18n::date(clock.day_of(p.created_at), lang)) " · " strong { (p.score) } " · " (p.reason)
                    @if p.user_id.is_some() { " · " span.muted { (user_name(p.user_id)) } }
                } } }
            }
        }
        (super::feedback::account_card(lang, csrf, account.id, &feedback, &stakeholders.iter().map(|c| (c.id, c.name.to_string())).collect::<Vec<_>>()))
        @if !runs.is_empty() {
            section aria-labelledby="runs-heading" {
                h2 #runs-heading { (lang.t("playbook_runs")) }
                ul.plain data-testid="runs" { @for run in &runs { li {
                    strong { (run.playbook) } " · " (i18n::date(run.fired_on, lang)) " · " (lang.value("run_status", run.status.as_str()))
                    br; span.muted { (lang.t("why_fired")) ": " (if lang == Lang::Ja { run.reason_ja.as_deref().unwrap_or(&run.reason) } else { &run.reason }) }
                } } }
            }
        }
        section {
            h2 { (lang.t("product_users")) " " span.muted { (product_users.len()) } }
            @if product_users.is_empty() { p.muted { (lang.t("no_product_users")) } } @else {
                table tabindex="0" data-testid="product-users" { thead { tr { th scope="col" { (lang.t("user")) } th scope="col" { (lang.t("role")) } th scope="col" { (lang.t("last_seen")) } th.num scope="col" { (lang.t("events_28d")) } } }
                tbody { @for (c, seen) in &seen_users { tr {
                    td { (c.name) @if let Some(e) = &c.email { @if e.as_str() != c.name.as_str() { br; span.muted { (e) } } } }
                    td { @if let Some(r) = c.role { (lang.value("role", r.as_str())) } }
                    td { @if let Some((day, _)) = seen { (i18n::date(*day, lang)) } @else { "—" } }
                    td.num { @if let Some((_, n)) = seen { (n) } @else { "0" } }
                } } } }
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
                table tabindex="0" { thead { tr { th scope="col" { (lang.t("task")) } th scope="col" { (lang.t("owner")) } th scope="col" { (lang.t("due")) } th scope="col" { (lang.t("status")) } } }
                tbody { @for task in &tasks { tr {
                    td { (task.title) }
                    td { (user_name(task.owner_id)) }
                    td { (i18n::date(task.due_on, lang)) @if task.overdue(today) { " " span.badge.overdue { (lang.t("overdue")) } } }
                    td { @if task.status == TaskStatus::Done { (lang.t("done")) @if let Some(o) = &task.outcome { ": " (o) } } @else { (complete_form(lang, csrf, task.id, &here)) } }
                } } } }
            }
            @if can_write {
                form.inline method="post" action=(format!("/accounts/{}/tasks", account.id)) {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("new_task")) input type="text" name="title" required; }
                    label { (lang.t("due")) input type="date" name="due_on" required value=(today.checked_add(jiff::Span::new().days(7)).unwrap_or(today).to_string()); }
                    button type="submit" { (lang.t("add_task")) }
                }
            }
        }
        section {
            h2 { (lang.t("subscriptions")) }
            (charts::lines("mrr-chart", lang.t("mrr_timeline"), &mrr_labels, &mrr_series, 0.0, lang.t("month")))
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("plan")) } th.num scope="col" { "MRR" } th scope="col" { (lang.t("start")) } th scope="col" { (lang.t("end")) } } }
            tbody { @for s in &subscriptions { tr { td { (plan_name(s.plan.as_str())) } td.num { (i18n::money(s.mrr.amount(), &account.currency)) } td { (i18n::date(s.term.start(), lang)) } td { @if let Some(e) = s.term.end() { (i18n::date(e, lang)) } @else { "—" } } } } } }
        }
        section {
            h2 { (lang.t("touchpoints")) }
            @if can_write {
                form.grid method="post" action=(format!("/accounts/{}/touchpoints", account.id)) data-testid="touchpoint-form" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("date")) input type="date" name="occurred_on" value=(today.to_string()) max=(today.to_string()); }
                    label { (lang.t("kind")) select name="kind" { @for k in TouchpointKind::ALL { option value=(k.as_str()) { (lang.value("kind", k.as_str())) } } } }
                    label { (lang.t("author")) select name="user_id" {
                        @for u in users.iter().filter(|u| u.role != Role::Viewer) { option value=(u.id) selected[u.id == page_user.user.id] { (u.name) } }
                    } }
                    label { (lang.t("attendees")) input type="text" name="attendees" placeholder=(lang.t("attendees_hint")); }
                    label { (lang.t("summary")) input type="text" name="summary" required; }
                    label { (lang.t("sentiment")) select name="sentiment" {
                        option value="" { "—" }
                        @for s in Sentiment::ALL { option value=(s.as_str()) { (lang.value("sentiment", s.as_str())) } }
                    } }
                    label.wide { (lang.t("notes")) textarea name="notes" rows="3" {} }
                    button type="submit" { (lang.t("log_touchpoint")) }
                }
            }
            ul.timeline data-testid="timeline" { @for item in &timeline { @match item {
                Timeline::Touch(t) => li {
                    time { (i18n::date(clock.day_of(t.occurred_at), lang)) } " · " (lang.value("kind", t.kind.as_str()))
                    @if let Some(s) = &t.summary { " — " (s) }
                    @if let Some(s) = t.sentiment { " " span.badge { (lang.value("sentiment", s.as_str())) } }
                    br;
                    span.muted { (user_name(t.user_id)) @if !t.attendees.is_empty() { " · " (t.attendees.join(", ")) } }
                    @if let Some(n) = &t.notes { p.notes { (n) } }
                },
                Timeline::Customer(e) => li.customer {
                    time { (i18n::date(clock.day_of(e.at), lang)) } " · " span.badge { (lang.t("by_customer")) } " "
                    a href=(format!("/accounts/{}/plans/{}", account.id, e.plan_id)) {
                        (super::plans::customer_action(lang, e, &contact_name(e.author)))
                    }
                },
            } } }
        }
    };
    Ok(layout(
        lang,
        account.name.as_str(),
        Some((&page_user.user, csrf)),
        body,
    ))
}

/// One entry of the account's timeline.
enum Timeline<'a> {
    /// A touchpoint the team logged.
    Touch(&'a mikawaya_domain::touchpoint::Touchpoint),
    /// Something the customer did on a shared plan.
    Customer(&'a mikawaya_store::plans::PlanEventRow),
}

impl Timeline<'_> {
    fn at(&self) -> jiff::Timestamp {
        match self {
            Timeline::Touch(t) => t.occurred_at,
            Timeline::Customer(e) => e.at,
        }
    }
}

/// A custom value as text in a form or a fact.
fn custom_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn contact_fields(lang: Lang, contact: Option<&mikawaya_domain::contact::Contact>) -> Markup {
    html! {
        label { (lang.t("contact")) input type="text" name="name" required value=(contact.map_or("", |c| c.name.as_str())); }
        label { (lang.t("email")) input type="email" name="email" value=(contact.and_then(|c| c.email.as_ref()).map_or("", |e| e.as_str())); }
        label { (lang.t("role")) select name="role" {
            option value="" { "—" }
            @for r in ContactRole::ALL { option value=(r.as_str()) selected[contact.and_then(|c| c.role) == Some(*r)] { (lang.value("role", r.as_str())) } }
        } }
        label { (lang.t("influence")) select name="influence" {
            option value="" { "—" }
            @for i in Influence::ALL { option value=(i.as_str()) selected[contact.and_then(|c| c.influence) == Some(*i)] { (lang.value("influence", i.as_str())) } }
        } }
        label { (lang.t("sentiment")) select name="sentiment" {
            option value="" { "—" }
            @for s in Sentiment::ALL { option value=(s.as_str()) selected[contact.and_then(|c| c.sentiment) == Some(*s)] { (lang.value("sentiment", s.as_str())) } }
        } }
        label.wide { (lang.t("personal_success")) input type="text" name="personal_success" value=(contact.and_then(|c| c.personal_success.as_ref()).map_or("", |p| p.as_str())); }
    }
}

fn contact_form(
    lang: Lang,
    csrf: &str,
    back: &str,
    contact: Option<&mikawaya_domain::contact::Contact>,
) -> Markup {
    let Some(existing) = contact else {
        return html! {};
    };
    html! {
        details {
            summary { (lang.t("edit")) }
            form.grid method="post" action=(format!("/contacts/{}/edit", existing.id)) {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="next" value=(back);
                (contact_fields(lang, contact))
                button type="submit" { (lang.t("save")) }
            }
        }
    }
}

fn new_contact_form(lang: Lang, csrf: &str, account: AccountId) -> Markup {
    html! {
        form.grid method="post" action=(format!("/accounts/{account}/contacts")) {
            input type="hidden" name="csrf_token" value=(csrf);
            (contact_fields(lang, None))
            button type="submit" { (lang.t("add_stakeholder")) }
        }
    }
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
    let actor = page_user.actor.clone();
    let base_url = state.workflow.outbox.base_url.clone();
    let result = state
        .run(move |store| {
            let account = store.get_account(&access.read(), account_id)?;
            let author = mikawaya_app::work::Author {
                actor: &actor,
                base_url: &base_url,
            };
            Ok(mikawaya_app::work::add_task(
                store,
                &access,
                author,
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
            )?)
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
    let actor = page_user.actor.clone();
    let base_url = state.workflow.outbox.base_url.clone();
    match state
        .run(move |store| {
            let author = mikawaya_app::work::Author {
                actor: &actor,
                base_url: &base_url,
            };
            Ok(mikawaya_app::work::log_touchpoint(
                store, &access, author, touchpoint,
            )?)
        })
        .await
    {
        Ok(_) => {
            state.react(AccountId::new(id));
            Redirect::to(&super::next_or(form.next, &format!("/accounts/{id}"))).into_response()
        }
        Err(error) => super::error_page(&page_user, error),
    }
}

/// Whose tasks the task page lists.
#[derive(Debug, Deserialize)]
pub struct TasksQuery {
    /// `me` (default), `team` (every owner), `queue` (no owner) or a user id.
    owner: Option<String>,
}

/// How many open tasks the page lists at most (soonest due first).
const TASKS_LISTED: u32 = 500;

/// Open tasks (snoozed ones hidden), with overdue ones marked: mine by default; the team's,
/// the unassigned queue or one person's for leaders reviewing the team's work.
pub async fn my_tasks(
    State(state): State<AppState>,
    page_user: PageUser,
    crate::extract::QueryParams(query): crate::extract::QueryParams<TasksQuery>,
) -> Response {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let me = page_user.user.id;
    let today = state.clock().today();
    let chosen = query.owner.clone().unwrap_or_else(|| "me".to_owned());
    let (owner_id, unassigned) = match chosen.as_str() {
        "me" | "" => (Some(me), false),
        "team" => (None, false),
        "queue" => (None, true),
        raw => match raw.parse::<i64>() {
            Ok(id) => (Some(mikawaya_domain::UserId::new(id)), false),
            Err(_) => {
                let invalid = mikawaya_domain::Invalid::new(
                    "owner",
                    format!("'{raw}' is not me, team, queue or a user id"),
                );
                return super::error_page(&page_user, invalid.into());
            }
        },
    };
    let result = state
        .run(move |store| {
            let filter = TaskFilter {
                owner_id,
                unassigned,
                status: Some(TaskStatus::Open),
                awake_on: Some(today),
                ..TaskFilter::default()
            };
            let page = store.list_tasks(&access, &filter, &PageRequest::first(TASKS_LISTED))?;
            let mut names: std::collections::HashMap<AccountId, String> =
                std::collections::HashMap::new();
            for task in &page.data {
                if !names.contains_key(&task.account_id) {
                    let account = store.get_account(&access, task.account_id)?;
                    names.insert(account.id, account.name.to_string());
                }
            }
            let users = store.list_users(&access)?;
            Ok::<_, StoreError>((page.data, page.next_cursor.is_some(), names, users))
        })
        .await;
    let (tasks, more, names, users) = match result {
        Ok(found) => found,
        Err(error) => return super::error_page(&page_user, error),
    };
    let user_name = |id: Option<mikawaya_domain::UserId>| {
        id.and_then(|i| users.iter().find(|u| u.id == i))
            .map_or_else(|| lang.t("unowned").to_owned(), |u| u.name.to_string())
    };
    let mine = owner_id == Some(me);
    let csrf = &page_user.csrf_token;
    let back = format!("/tasks?owner={chosen}");
    let title = if mine {
        lang.t("my_tasks")
    } else {
        lang.t("team_tasks")
    };
    let body = html! {
        h1 { (title) " " span.muted { (tasks.len()) @if more { "+" } } }
        form.filters method="get" action="/tasks" {
            label { (lang.t("whose_tasks")) select name="owner" {
                option value="me" selected[mine] { (lang.t("mine")) }
                option value="team" selected[chosen == "team"] { (lang.t("whole_team")) }
                option value="queue" selected[chosen == "queue"] { (lang.t("team_queue")) }
                @for user in users.iter().filter(|u| u.id != me && matches!(u.role, mikawaya_domain::access::Role::Csm | mikawaya_domain::access::Role::Leader)) {
                    option value=(user.id) selected[owner_id == Some(user.id)] { (user.name) }
                }
            } }
            button type="submit" { (lang.t("show")) }
        }
        @if more { p.muted { (lang.t("tasks_first")) " " (TASKS_LISTED) } }
        @if tasks.is_empty() { p.muted { (lang.t("no_tasks")) } } @else {
            table tabindex="0" data-testid="tasks" {
                thead { tr {
                    th scope="col" { (lang.t("task")) } th scope="col" { (lang.t("name")) }
                    @if !mine { th scope="col" { (lang.t("owner")) } }
                    th scope="col" { (lang.t("priority")) } th scope="col" { (lang.t("due")) } th scope="col" { (lang.t("complete")) }
                } }
                tbody { @for task in &tasks { tr {
                    td { (task.title) }
                    td { a href=(format!("/accounts/{}", task.account_id)) { (names.get(&task.account_id).map_or("", String::as_str)) } }
                    @if !mine { td { (user_name(task.owner_id)) } }
                    td { (lang.t(&format!("priority_{}", task.priority.as_str()))) }
                    td { (i18n::date(task.due_on, lang)) @if task.overdue(today) { " " span.badge.overdue { (lang.t("overdue")) } } }
                    td { (complete_form(lang, csrf, task.id, &back)) }
                } } }
            }
        }
    };
    layout(lang, title, Some((&page_user.user, csrf)), body).into_response()
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

/// A form's fields by name (the last value of each).
type Fields = std::collections::HashMap<String, String>;

/// A form field's value set, or cleared when the field is empty.
fn to_patch<T>(value: Option<T>) -> Patch<T> {
    value.map_or(Patch::Clear, Patch::Set)
}

fn field<'f>(form: &'f Fields, name: &str) -> Option<&'f str> {
    form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The account patch an edit form describes: every field of the form is set or cleared.
fn account_patch(
    form: &Fields,
    definitions: &[mikawaya_domain::custom_field::CustomFieldDef],
) -> Result<mikawaya_domain::account::AccountPatch, mikawaya_domain::Invalid> {
    use mikawaya_domain::account::{AccountPatch, TouchTier};
    use mikawaya_domain::value::{Name, Slug};
    let id = |name: &'static str| -> Result<Option<i64>, mikawaya_domain::Invalid> {
        field(form, name)
            .map(|raw| {
                raw.parse::<i64>().map_err(|_| {
                    mikawaya_domain::Invalid::new(name, format!("'{raw}' is not an id"))
                })
            })
            .transpose()
    };
    let mut custom_fields = std::collections::BTreeMap::new();
    for definition in definitions {
        let key = definition.key().as_str();
        let value = match (field(form, &format!("custom.{key}")), definition.kind()) {
            (None, _) => serde_json::Value::Null,
            (Some(raw), mikawaya_domain::custom_field::CustomFieldKind::Number) => raw
                .replace(',', "")
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(
                    || serde_json::Value::String(raw.to_owned()),
                    serde_json::Value::Number,
                ),
            (Some(raw), mikawaya_domain::custom_field::CustomFieldKind::Bool) => {
                match raw.to_lowercase().as_str() {
                    "true" | "yes" | "はい" => serde_json::Value::Bool(true),
                    "false" | "no" | "いいえ" => serde_json::Value::Bool(false),
                    _ => serde_json::Value::String(raw.to_owned()),
                }
            }
            (Some(raw), _) => serde_json::Value::String(raw.to_owned()),
        };
        custom_fields.insert(key.to_owned(), value);
    }
    Ok(AccountPatch {
        name: Some(Name::parse(field(form, "name").unwrap_or("")).map_err(|e| e.in_field("name"))?),
        owner_id: to_patch(id("owner_id")?.map(mikawaya_domain::UserId::new)),
        parent_id: to_patch(id("parent_id")?.map(AccountId::new)),
        stage: to_patch(
            field(form, "stage")
                .map(|s| Slug::parse(s).map_err(|e| e.in_field("stage")))
                .transpose()?,
        ),
        tier: to_patch(field(form, "tier").map(TouchTier::parse).transpose()?),
        plan: to_patch(
            field(form, "plan")
                .map(|p| Slug::parse(p).map_err(|e| e.in_field("plan")))
                .transpose()?,
        ),
        renewal_date: to_patch(
            field(form, "renewal_date")
                .map(|d| mikawaya_domain::value::parse_date(d, "renewal_date"))
                .transpose()?,
        ),
        custom_fields,
        ..AccountPatch::default()
    })
}

/// Saves the account's fields edited in place on Customer 360.
pub async fn edit_account(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(error) = page_user.check_csrf(form.get("csrf_token").map_or("", String::as_str)) {
        return error.into_response();
    }
    let result = async {
        let access = page_user.actor.write()?;
        let definitions = state.run(|store| store.list_custom_fields()).await?;
        let patch = account_patch(&form, &definitions)?;
        state
            .run(move |store| store.update_account(&access, AccountId::new(id), patch))
            .await
    }
    .await;
    match result {
        Ok(_) => {
            state.react(AccountId::new(id));
            Redirect::to(&format!("/accounts/{id}")).into_response()
        }
        Err(error) => super::error_page(&page_user, error),
    }
}

/// The contact fields of a stakeholder form, checked.
struct ContactFields {
    name: mikawaya_domain::value::Name,
    email: Option<mikawaya_domain::value::Email>,
    role: Option<ContactRole>,
    influence: Option<Influence>,
    sentiment: Option<Sentiment>,
    personal_success: Option<Text>,
}

fn contact_fields_of(form: &Fields) -> Result<ContactFields, mikawaya_domain::Invalid> {
    Ok(ContactFields {
        name: mikawaya_domain::value::Name::parse(field(form, "name").unwrap_or(""))
            .map_err(|e| e.in_field("name"))?,
        email: field(form, "email")
            .map(mikawaya_domain::value::Email::parse)
            .transpose()
            .map_err(|e| e.in_field("email"))?,
        role: field(form, "role").map(ContactRole::parse).transpose()?,
        influence: field(form, "influence").map(Influence::parse).transpose()?,
        sentiment: field(form, "sentiment").map(Sentiment::parse).transpose()?,
        personal_success: field(form, "personal_success")
            .map(|p| Text::parse(p).map_err(|e| e.in_field("personal_success")))
            .transpose()?,
    })
}

/// Adds a stakeholder to the account.
pub async fn add_contact(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(error) = page_user.check_csrf(form.get("csrf_token").map_or("", String::as_str)) {
        return error.into_response();
    }
    let result = async {
        let access = page_user.actor.write()?;
        let fields = contact_fields_of(&form)?;
        let contact = mikawaya_domain::contact::NewContact {
            account_id: AccountId::new(id),
            external_id: None,
            name: fields.name,
            email: fields.email,
            role: fields.role,
            title: None,
            personal_success: fields.personal_success,
            sentiment: fields.sentiment,
            influence: fields.influence,
        };
        state
            .run(move |store| store.create_contact(&access, contact))
            .await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/accounts/{id}")).into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

/// Saves a stakeholder edited in place.
pub async fn edit_contact(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> Response {
    if let Err(error) = page_user.check_csrf(form.get("csrf_token").map_or("", String::as_str)) {
        return error.into_response();
    }
    let next = form.get("next").cloned();
    let result = async {
        let access = page_user.actor.write()?;
        let fields = contact_fields_of(&form)?;
        let patch = mikawaya_domain::contact::ContactPatch {
            name: Some(fields.name),
            email: to_patch(fields.email),
            role: to_patch(fields.role),
            influence: to_patch(fields.influence),
            sentiment: to_patch(fields.sentiment),
            personal_success: to_patch(fields.personal_success),
            ..Default::default()
        };
        state
            .run(move |store| {
                store.update_contact(&access, mikawaya_domain::ContactId::new(id), patch)
            })
            .await
    }
    .await;
    match result {
        Ok(contact) => {
            state.react(contact.account_id);
            let back = format!("/accounts/{}", contact.account_id);
            Redirect::to(&super::next_or(next, &back)).into_response()
        }
        Err(error) => super::error_page(&page_user, error),
    }
}
