//! Today in the API: the accounts that need a person's attention, ranked, with reasons in
//! words and numbers (`mikawaya_app::today`); and snoozing an account from that list.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::routes::accounts::AccountOut;
use crate::state::AppState;
use crate::wire::{date, optional};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use mikawaya_app::today::{Item, Policy, Today, Whose};
use mikawaya_domain::language::Language;
use mikawaya_domain::value::Text;
use mikawaya_domain::{AccountId, Actor, Invalid, UserId, Visibility};
use mikawaya_store::work::Snooze;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The Today routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_today))
        .routes(routes!(snooze, wake))
}

/// Whose Today, on which day, in which language.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TodayParams {
    /// The owner whose accounts are listed (default: the caller).
    owner_id: Option<i64>,
    /// The day, YYYY-MM-DD (default today in the business time zone).
    as_of: Option<String>,
    /// `en` or `ja` for the sentences (default: `Accept-Language`, else English).
    lang: Option<String>,
}

/// One reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonOut {
    /// A stable code: `renewal`, `active_users_down`, `health_down`, `health_red`,
    /// `no_touch`, `detractor`, `forecast_risk`, `playbook_overdue`, `tasks_overdue`.
    code: String,
    /// The reason in words, with its numbers.
    text: String,
    /// What it adds to urgency.
    weight: f64,
}

/// How the priority was reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriorityOut {
    /// 0-1: 1 − health/100, or the forecast's probability when higher.
    risk: f64,
    /// ARR (at least 1).
    arr: f64,
    /// 1 + the reasons' weights.
    urgency: f64,
    /// risk × ARR × urgency.
    value: f64,
}

/// An account in Today.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemOut {
    account: AccountOut,
    priority: PriorityOut,
    reasons: Vec<ReasonOut>,
    /// Snoozed until (only in `snoozed`).
    snoozed_until: Option<String>,
    /// Why it was snoozed (only in `snoozed`).
    snooze_reason: Option<String>,
}

/// A person's Today.
#[derive(Debug, Serialize, ToSchema)]
pub struct TodayOut {
    day: String,
    /// Whose accounts (null: every account the caller sees, a partner user's Today).
    owner_id: Option<i64>,
    /// The priority formula in words.
    formula: String,
    /// Active accounts looked at.
    accounts: usize,
    /// Accounts needing attention, highest priority first.
    items: Vec<ItemOut>,
    /// Accounts the owner snoozed.
    snoozed: Vec<ItemOut>,
    /// Account ids renewing within 30 days, soonest first.
    renewals: Vec<i64>,
    /// Open task ids due within 7 days (overdue included), soonest first.
    tasks_due: Vec<i64>,
}

fn item_out(
    item: Item,
    snooze: Option<&Snooze>,
    language: Language,
    visibility: Visibility,
) -> ItemOut {
    ItemOut {
        priority: PriorityOut {
            risk: item.priority.risk,
            arr: item.priority.arr,
            urgency: item.priority.urgency,
            value: item.priority.value,
        },
        reasons: item
            .reasons
            .iter()
            .map(|r| ReasonOut {
                code: r.code().to_owned(),
                text: r.sentence(language),
                weight: r.weight(),
            })
            .collect(),
        account: AccountOut::shown_to(item.account, visibility),
        snoozed_until: snooze.map(|s| s.until.to_string()),
        snooze_reason: snooze.map(|s| s.reason.to_string()),
    }
}

/// Whose Today a caller asks for: the named owner's accounts; by default their own, or
/// for a partner user every account of their partner. A caller with no user (a token made
/// without one) must name an owner.
pub fn whose(actor: &Actor, asked: Option<i64>) -> Result<Whose, ApiError> {
    match (asked, actor.user_id()) {
        (Some(owner), _) => Ok(Whose::Owner(UserId::new(owner))),
        (None, Some(me)) if actor.role() == mikawaya_domain::access::Role::Partner => {
            Ok(Whose::Visible(me))
        }
        (None, Some(me)) => Ok(Whose::Owner(me)),
        (None, None) => Err(Invalid::new(
            "owner_id",
            "is required: this token belongs to no user, so it has no Today of its own",
        )
        .into()),
    }
}

/// Today on `day`, through the one use case.
pub async fn load_today(
    state: &AppState,
    actor: &Actor,
    whose: Whose,
    day: jiff::civil::Date,
) -> Result<Today, ApiError> {
    let access = actor.read();
    let clock = state.clock();
    state
        .run_with_usage(move |store, usage| {
            let day_of = |at: jiff::Timestamp| clock.day_of(at);
            mikawaya_app::today::today(
                store,
                &access,
                usage,
                whose,
                day,
                &day_of,
                &Policy::default(),
            )
            .map_err(mikawaya_store::StoreError::from)
        })
        .await
}

/// The accounts that need a person's attention today, ranked by priority
/// (risk × ARR × urgency), each with its reasons in words and numbers.
#[utoipa::path(get, path = "/api/v1/today", tag = "work",
    params(TodayParams),
    responses((status = 200, body = TodayOut), (status = 400, body = ErrorBody)))]
async fn get_today(
    State(state): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    QueryParams(params): QueryParams<TodayParams>,
) -> Result<Json<TodayOut>, ApiError> {
    let day = optional(params.as_of.as_deref(), "as_of", date("as_of"))?
        .unwrap_or_else(|| state.clock().today());
    let language = match params.lang.as_deref() {
        Some("ja") => Language::Ja,
        Some("en") => Language::En,
        Some(_) => return Err(Invalid::new("lang", "must be en or ja").into()),
        None => crate::html::i18n::Lang::detect(None, &headers).language(),
    };
    let whose = whose(&actor, params.owner_id)?;
    let visibility = actor.read().visibility();
    let today = load_today(&state, &actor, whose, day).await?;
    Ok(Json(TodayOut {
        day: today.day.to_string(),
        owner_id: match whose {
            Whose::Owner(owner) => Some(owner.get()),
            Whose::Visible(_) => None,
        },
        formula: mikawaya_app::today::formula(language).to_owned(),
        accounts: today.accounts,
        items: today
            .items
            .into_iter()
            .map(|item| item_out(item, None, language, visibility))
            .collect(),
        snoozed: today
            .snoozed
            .into_iter()
            .map(|(item, snooze)| item_out(item, Some(&snooze), language, visibility))
            .collect(),
        renewals: today.renewals.iter().map(|a| a.id.get()).collect(),
        tasks_due: today.tasks_due.iter().map(|t| t.id).collect(),
    }))
}

/// A snooze: hidden from the caller's Today until a day, with why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeIn {
    /// The last day it stays hidden, YYYY-MM-DD (today or later).
    until: String,
    /// Why (shown beside it).
    reason: String,
}

/// Checks a snooze asked for on `today`.
pub fn snooze_of(
    account: AccountId,
    user: UserId,
    until: &str,
    reason: &str,
    today: jiff::civil::Date,
) -> Result<Snooze, Invalid> {
    let until = date("until")(until)?;
    if until < today {
        return Err(Invalid::new("until", "must be today or later"));
    }
    let reason = Text::parse(reason).map_err(|e| e.in_field("reason"))?;
    Ok(Snooze {
        account_id: account,
        user_id: user,
        until,
        reason,
        created_at: jiff::Timestamp::now(),
    })
}

fn caller_user(actor: &Actor) -> Result<UserId, ApiError> {
    actor.user_id().ok_or_else(|| {
        Invalid::new(
            "user",
            "a snooze belongs to a person: use a session or a user's token",
        )
        .into()
    })
}

/// Hides an account from the caller's Today until a day, with a reason.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/snooze", tag = "work",
    params(("id" = i64, Path, description = "account id")), request_body = SnoozeIn,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn snooze(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<SnoozeIn>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    let user = caller_user(&actor)?;
    let snooze = snooze_of(
        AccountId::new(id),
        user,
        &body.until,
        &body.reason,
        state.clock().today(),
    )?;
    state
        .run(move |store| store.snooze(&access, &snooze))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends the caller's snooze on an account.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/snooze", tag = "work",
    params(("id" = i64, Path, description = "account id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn wake(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    let user = caller_user(&actor)?;
    state
        .run(move |store| store.wake(&access, user, AccountId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
