//! `/api/v1/accounts`: customer accounts.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{PageOut, date, double_option, instant, optional, patch, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::account::{
    Account, AccountFilter, AccountPatch, AccountSort, NewAccount, TouchTier,
};
use mikawaya_domain::health::Colour;
use mikawaya_domain::value::{Currency, ExternalId, Money, Name, Slug};
use mikawaya_domain::{AccountId, Invalid, PartnerId, UserId, Visibility};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account, update_account, delete_account))
}

/// An account as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    id: i64,
    external_id: Option<String>,
    name: String,
    parent_id: Option<i64>,
    plan: Option<String>,
    /// Monthly recurring revenue.
    mrr: f64,
    /// Twelve times MRR.
    arr: f64,
    currency: String,
    /// `YYYY-MM-DD`.
    contract_start: Option<String>,
    contract_end: Option<String>,
    renewal_date: Option<String>,
    owner_id: Option<i64>,
    partner_id: Option<i64>,
    stage: Option<String>,
    /// `high`, `low` or `tech`.
    tier: Option<String>,
    #[schema(value_type = Object)]
    custom_fields: BTreeMap<String, serde_json::Value>,
    /// What Mikawaya computed about it (refreshed daily; `last_touch` on every touchpoint).
    signals: SignalsOut,
    created_at: String,
    updated_at: String,
}

/// An account's computed signals.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalsOut {
    /// The day health and forecast were computed for.
    day: Option<String>,
    /// Health score in force (0-100, as shown: the whole number below).
    health: Option<i64>,
    /// `red`, `yellow` or `green`.
    health_colour: Option<String>,
    /// Health minus health 30 days before.
    health_change: Option<f64>,
    /// Churn probability (0-1) by the latest forecast model.
    forecast_risk: Option<f64>,
    /// When the latest touchpoint happened.
    last_touch: Option<String>,
    /// Active success plans with an objective off track or missed.
    plans_off_track: u32,
    /// The earliest due day of an open milestone of an active success plan.
    plan_next_due: Option<String>,
    /// The day the account entered its lifecycle stage.
    stage_since: Option<String>,
    /// Whether it is stuck there (longer than its segment's 75th percentile).
    stage_stuck: bool,
}

impl From<&mikawaya_domain::account::Signals> for SignalsOut {
    fn from(signals: &mikawaya_domain::account::Signals) -> Self {
        Self {
            day: signals.day.map(|d| d.to_string()),
            health: signals.health.map(mikawaya_domain::health::shown),
            health_colour: signals.colour().map(|c| c.as_str().to_owned()),
            health_change: signals.health_change,
            forecast_risk: signals.forecast_risk,
            last_touch: signals.last_touch.map(instant),
            plans_off_track: signals.plans_off_track,
            plan_next_due: signals.plan_next_due.map(|d| d.to_string()),
            stage_since: signals.stage_since.map(|d| d.to_string()),
            stage_stuck: signals.stage_stuck,
        }
    }
}

impl AccountOut {
    /// The account as `visibility` sees it (a partner sees its own namespaced ids plain).
    pub fn shown_to(account: Account, visibility: Visibility) -> Self {
        Self {
            id: account.id.get(),
            arr: account.arr(),
            external_id: account
                .external_id
                .map(|id| id.shown_to(visibility).to_owned()),
            name: account.name.into(),
            parent_id: account.parent_id.map(AccountId::get),
            plan: account.plan.map(String::from),
            mrr: account.mrr.amount(),
            currency: account.currency.into(),
            contract_start: account.contract_start.map(|d| d.to_string()),
            contract_end: account.contract_end.map(|d| d.to_string()),
            renewal_date: account.renewal_date.map(|d| d.to_string()),
            owner_id: account.owner_id.map(UserId::get),
            partner_id: account.partner_id.map(PartnerId::get),
            stage: account.stage.map(String::from),
            tier: account.tier.map(|t| t.as_str().to_owned()),
            custom_fields: account
                .custom_fields
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
            signals: SignalsOut::from(&account.signals),
            created_at: instant(account.created_at),
            updated_at: instant(account.updated_at),
        }
    }
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountCreate {
    external_id: Option<String>,
    name: String,
    parent_id: Option<i64>,
    plan: Option<String>,
    mrr: Option<f64>,
    currency: Option<String>,
    contract_start: Option<String>,
    contract_end: Option<String>,
    renewal_date: Option<String>,
    owner_id: Option<i64>,
    /// Ignored for partner users, whose accounts always belong to their partner.
    partner_id: Option<i64>,
    stage: Option<String>,
    tier: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    custom_fields: BTreeMap<String, serde_json::Value>,
}

impl TryFrom<AccountCreate> for NewAccount {
    type Error = Invalid;
    fn try_from(body: AccountCreate) -> Result<Self, Invalid> {
        Ok(NewAccount {
            external_id: optional(
                body.external_id.as_deref(),
                "external_id",
                ExternalId::parse,
            )?,
            name: required(&body.name, "name", Name::parse)?,
            parent_id: body.parent_id.map(AccountId::new),
            plan: optional(body.plan.as_deref(), "plan", Slug::parse)?,
            mrr: body.mrr.map(Money::new).transpose()?.unwrap_or(Money::ZERO),
            currency: optional(body.currency.as_deref(), "currency", Currency::parse)?
                .unwrap_or_default(),
            contract_start: optional(
                body.contract_start.as_deref(),
                "contract_start",
                date("contract_start"),
            )?,
            contract_end: optional(
                body.contract_end.as_deref(),
                "contract_end",
                date("contract_end"),
            )?,
            renewal_date: optional(
                body.renewal_date.as_deref(),
                "renewal_date",
                date("renewal_date"),
            )?,
            owner_id: body.owner_id.map(UserId::new),
            partner_id: body.partner_id.map(PartnerId::new),
            stage: optional(body.stage.as_deref(), "stage", Slug::parse)?,
            tier: optional(body.tier.as_deref(), "tier", TouchTier::parse)?,
            custom_fields: body.custom_fields,
        })
    }
}

/// A change to an account: absent fields are kept, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    external_id: Option<Option<String>>,
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    parent_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    plan: Option<Option<String>>,
    mrr: Option<f64>,
    currency: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    contract_start: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    contract_end: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    renewal_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    partner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    stage: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    tier: Option<Option<String>>,
    /// Keys to set; `null` clears a key; keys not named are kept.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom_fields: BTreeMap<String, serde_json::Value>,
}

impl TryFrom<AccountUpdate> for AccountPatch {
    type Error = Invalid;
    fn try_from(body: AccountUpdate) -> Result<Self, Invalid> {
        Ok(AccountPatch {
            external_id: patch(body.external_id, "external_id", ExternalId::parse)?,
            name: optional(body.name.as_deref(), "name", Name::parse)?,
            parent_id: mikawaya_domain::Patch::from_wire(body.parent_id).map(AccountId::new),
            plan: patch(body.plan, "plan", Slug::parse)?,
            mrr: body.mrr.map(Money::new).transpose()?,
            currency: optional(body.currency.as_deref(), "currency", Currency::parse)?,
            contract_start: patch(
                body.contract_start,
                "contract_start",
                date("contract_start"),
            )?,
            contract_end: patch(body.contract_end, "contract_end", date("contract_end"))?,
            renewal_date: patch(body.renewal_date, "renewal_date", date("renewal_date"))?,
            owner_id: mikawaya_domain::Patch::from_wire(body.owner_id).map(UserId::new),
            partner_id: mikawaya_domain::Patch::from_wire(body.partner_id).map(PartnerId::new),
            stage: patch(body.stage, "stage", Slug::parse)?,
            tier: patch(body.tier, "tier", TouchTier::parse)?,
            custom_fields: body.custom_fields,
        })
    }
}

/// Filters, sort and page of an account list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    /// Substring of the name or external id.
    pub q: Option<String>,
    /// Exact external id.
    pub external_id: Option<String>,
    /// Lifecycle stage.
    pub stage: Option<String>,
    /// Touch tier: high, low or tech.
    pub tier: Option<String>,
    /// Plan.
    pub plan: Option<String>,
    /// Owner user id.
    pub owner_id: Option<i64>,
    /// Partner id.
    pub partner_id: Option<i64>,
    /// Parent account id.
    pub parent_id: Option<i64>,
    /// Minimum MRR.
    pub mrr_min: Option<f64>,
    /// Maximum MRR.
    pub mrr_max: Option<f64>,
    /// Renewal on or after (YYYY-MM-DD).
    pub renewal_from: Option<String>,
    /// Renewal on or before (YYYY-MM-DD).
    pub renewal_to: Option<String>,
    /// Health colour in force: red, yellow or green.
    pub health: Option<String>,
    /// `true`: churned accounts only (stage `churned`); `false`: active ones only.
    pub churned: Option<bool>,
    /// Churn forecast probability at least this (0-1).
    pub risk_min: Option<f64>,
    /// Health change over 30 days at most this (-10: fell 10 points or more).
    pub health_change_max: Option<f64>,
    /// No touchpoint on or after this day, YYYY-MM-DD (never touched included).
    pub untouched_since: Option<String>,
    /// `true`: accounts with an active success plan whose objective is off track or
    /// missed; `false`: the others.
    pub plan_off_track: Option<bool>,
    /// YYYY-MM-DD: accounts with a success plan milestone open and due before this day.
    pub plan_overdue_on: Option<String>,
    /// `true`: accounts stuck in their lifecycle stage (longer than the 75th percentile of
    /// their segment's completed stays); `false`: the others.
    pub stage_stuck: Option<bool>,
    /// A custom field's key; with `custom_value`, only accounts where it holds that value.
    pub custom_key: Option<String>,
    /// The value `custom_key` must hold (`true`/`false` for flags).
    pub custom_value: Option<String>,
    /// `name`, `mrr`, `renewal_date`, `created_at`, `updated_at`, `health`, `health_change`,
    /// `forecast_risk` or `last_touch`; prefix `-` for descending.
    pub sort: Option<String>,
    /// Rows per page, 1 to 1000 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl AccountListParams {
    /// The filter these parameters describe.
    pub fn filter(&self) -> Result<AccountFilter, Invalid> {
        if let Some(risk) = self.risk_min
            && !(0.0..=1.0).contains(&risk)
        {
            return Err(Invalid::new(
                "risk_min",
                "is a probability between 0 and 1 (0.2 for 20%)",
            ));
        }
        Ok(AccountFilter {
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            external_id: optional(
                self.external_id.as_deref(),
                "external_id",
                ExternalId::parse,
            )?,
            stage: optional(
                self.stage.as_deref().filter(|s| !s.is_empty()),
                "stage",
                Slug::parse,
            )?,
            tier: optional(
                self.tier.as_deref().filter(|s| !s.is_empty()),
                "tier",
                TouchTier::parse,
            )?,
            plan: optional(
                self.plan.as_deref().filter(|s| !s.is_empty()),
                "plan",
                Slug::parse,
            )?,
            owner_id: self.owner_id.map(UserId::new),
            partner_id: self.partner_id.map(PartnerId::new),
            parent_id: self.parent_id.map(AccountId::new),
            mrr_min: self.mrr_min,
            mrr_max: self.mrr_max,
            renewal_from: optional(
                self.renewal_from.as_deref().filter(|s| !s.is_empty()),
                "renewal_from",
                date("renewal_from"),
            )?,
            renewal_to: optional(
                self.renewal_to.as_deref().filter(|s| !s.is_empty()),
                "renewal_to",
                date("renewal_to"),
            )?,
            health: optional(
                self.health.as_deref().filter(|s| !s.is_empty()),
                "health",
                Colour::parse,
            )?,
            churned: self.churned,
            risk_min: self.risk_min,
            health_change_max: self.health_change_max,
            untouched_since: optional(
                self.untouched_since.as_deref().filter(|s| !s.is_empty()),
                "untouched_since",
                date("untouched_since"),
            )?,
            plan_off_track: self.plan_off_track,
            plan_overdue_on: optional(
                self.plan_overdue_on.as_deref().filter(|s| !s.is_empty()),
                "plan_overdue_on",
                date("plan_overdue_on"),
            )?,
            stage_stuck: self.stage_stuck,
            custom_key: optional(
                self.custom_key.as_deref().filter(|s| !s.is_empty()),
                "custom_key",
                Slug::parse,
            )?,
            custom_value: self.custom_value.clone().filter(|v| !v.trim().is_empty()),
        })
    }

    /// The sort these parameters ask for (default by name).
    pub fn sort(&self) -> Result<AccountSort, Invalid> {
        optional(
            self.sort.as_deref().filter(|s| !s.is_empty()),
            "sort",
            AccountSort::parse,
        )
        .map(Option::unwrap_or_default)
    }

    /// The page these parameters ask for.
    pub fn page(&self) -> Result<mikawaya_store::PageRequest, Invalid> {
        mikawaya_store::PageRequest::new(self.limit, self.cursor.as_deref())
    }
}

/// Lists accounts the caller can see.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(AccountListParams),
    responses((status = 200, body = PageOut<AccountOut>), (status = 400, body = ErrorBody)))]
async fn list_accounts(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<AccountListParams>,
) -> Result<Json<PageOut<AccountOut>>, ApiError> {
    let (filter, sort, page) = (params.filter()?, params.sort()?, params.page()?);
    let access = actor.read();
    let visibility = access.visibility();
    let found = state
        .run(move |store| store.list_accounts(&access, &filter, sort, &page))
        .await?;
    Ok(Json(PageOut::from_page(found, |account| {
        AccountOut::shown_to(account, visibility)
    })))
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = AccountCreate,
    responses((status = 201, body = AccountOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_account(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<AccountCreate>,
) -> Result<(StatusCode, Json<AccountOut>), ApiError> {
    let access = actor.write()?;
    let visibility = access.visibility();
    let new_account = NewAccount::try_from(body)?;
    let account = state
        .run(move |store| store.create_account(&access, new_account))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountOut::shown_to(account, visibility)),
    ))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path, description = "account id")),
    responses((status = 200, body = AccountOut), (status = 404, body = ErrorBody)))]
async fn get_account(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<AccountOut>, ApiError> {
    let access = actor.read();
    let visibility = access.visibility();
    let account = state
        .run(move |store| store.get_account(&access, AccountId::new(id)))
        .await?;
    Ok(Json(AccountOut::shown_to(account, visibility)))
}

/// Changes an account.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path, description = "account id")),
    request_body = AccountUpdate,
    responses((status = 200, body = AccountOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_account(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<AccountUpdate>,
) -> Result<Json<AccountOut>, ApiError> {
    let access = actor.write()?;
    let visibility = access.visibility();
    let account_patch = AccountPatch::try_from(body)?;
    let account = state
        .run(move |store| store.update_account(&access, AccountId::new(id), account_patch))
        .await?;
    state.react(account.id);
    Ok(Json(AccountOut::shown_to(account, visibility)))
}

/// Deletes an account and everything under it.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = i64, Path, description = "account id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_account(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    state
        .run(move |store| store.delete_account(&access, AccountId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
