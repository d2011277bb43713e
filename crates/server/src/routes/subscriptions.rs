//! `/api/v1/subscriptions`: what accounts pay for, over time.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{PageOut, date, double_option, instant, optional, patch, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::subscription::{NewSubscription, Subscription, SubscriptionPatch, Term};
use mikawaya_domain::value::{ExternalId, Money, Slug};
use mikawaya_domain::{AccountId, Invalid, SubscriptionId, Visibility};
use mikawaya_store::SubscriptionFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscriptions, create_subscription))
        .routes(routes!(
            get_subscription,
            update_subscription,
            delete_subscription
        ))
}

/// A subscription row as the API shows it: active on days `start_date <= d < end_date`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionOut {
    id: i64,
    account_id: i64,
    external_id: Option<String>,
    plan: String,
    quantity: u32,
    mrr: f64,
    start_date: String,
    /// Null while still running.
    end_date: Option<String>,
    created_at: String,
    updated_at: String,
}

impl SubscriptionOut {
    /// The row as `visibility` sees it (a partner sees its own namespaced ids plain).
    pub fn shown_to(subscription: Subscription, visibility: Visibility) -> Self {
        Self {
            id: subscription.id.get(),
            account_id: subscription.account_id.get(),
            external_id: subscription
                .external_id
                .map(|id| id.shown_to(visibility).to_owned()),
            plan: subscription.plan.into(),
            quantity: subscription.quantity,
            mrr: subscription.mrr.amount(),
            start_date: subscription.term.start().to_string(),
            end_date: subscription.term.end().map(|d| d.to_string()),
            created_at: instant(subscription.created_at),
            updated_at: instant(subscription.updated_at),
        }
    }
}

/// A new subscription row.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCreate {
    account_id: i64,
    external_id: Option<String>,
    plan: String,
    /// Default 1.
    quantity: Option<u32>,
    mrr: f64,
    start_date: String,
    end_date: Option<String>,
}

impl TryFrom<SubscriptionCreate> for NewSubscription {
    type Error = Invalid;
    fn try_from(body: SubscriptionCreate) -> Result<Self, Invalid> {
        let start = required(&body.start_date, "start_date", date("start_date"))?;
        let end = optional(body.end_date.as_deref(), "end_date", date("end_date"))?;
        Ok(NewSubscription {
            account_id: AccountId::new(body.account_id),
            external_id: optional(
                body.external_id.as_deref(),
                "external_id",
                ExternalId::parse,
            )?,
            plan: required(&body.plan, "plan", Slug::parse)?,
            quantity: body.quantity.unwrap_or(1),
            mrr: Money::new(body.mrr)?,
            term: Term::new(start, end)?,
        })
    }
}

/// A change to a subscription; the replaced version is kept in its history.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionUpdate {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    external_id: Option<Option<String>>,
    plan: Option<String>,
    quantity: Option<u32>,
    mrr: Option<f64>,
    start_date: Option<String>,
    /// `null` means still running.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    end_date: Option<Option<String>>,
}

impl TryFrom<SubscriptionUpdate> for SubscriptionPatch {
    type Error = Invalid;
    fn try_from(body: SubscriptionUpdate) -> Result<Self, Invalid> {
        Ok(SubscriptionPatch {
            external_id: patch(body.external_id, "external_id", ExternalId::parse)?,
            plan: optional(body.plan.as_deref(), "plan", Slug::parse)?,
            quantity: body.quantity,
            mrr: body.mrr.map(Money::new).transpose()?,
            start: optional(body.start_date.as_deref(), "start_date", date("start_date"))?,
            end: patch(body.end_date, "end_date", date("end_date"))?,
        })
    }
}

/// Filters and page of a subscription list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionListParams {
    /// Only this account's rows.
    account_id: Option<i64>,
    /// Only rows active on this day (YYYY-MM-DD).
    active_on: Option<String>,
    /// Only this plan.
    plan: Option<String>,
    /// Rows per page, 1 to 1000 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists subscription rows of accounts the caller can see.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "subscriptions", params(SubscriptionListParams),
    responses((status = 200, body = PageOut<SubscriptionOut>), (status = 400, body = ErrorBody)))]
async fn list_subscriptions(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<SubscriptionListParams>,
) -> Result<Json<PageOut<SubscriptionOut>>, ApiError> {
    let filter = SubscriptionFilter {
        account_id: params.account_id.map(AccountId::new),
        active_on: optional(params.active_on.as_deref(), "active_on", date("active_on"))?,
        plan: optional(params.plan.as_deref(), "plan", Slug::parse)?,
    };
    let page = mikawaya_store::PageRequest::new(params.limit, params.cursor.as_deref())?;
    let access = actor.read();
    let visibility = access.visibility();
    let found = state
        .run(move |store| store.list_subscriptions(&access, &filter, &page))
        .await?;
    Ok(Json(PageOut::from_page(found, |row| {
        SubscriptionOut::shown_to(row, visibility)
    })))
}

/// Creates a subscription row.
#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "subscriptions", request_body = SubscriptionCreate,
    responses((status = 201, body = SubscriptionOut), (status = 400, body = ErrorBody)))]
async fn create_subscription(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<SubscriptionCreate>,
) -> Result<(StatusCode, Json<SubscriptionOut>), ApiError> {
    let access = actor.write()?;
    let visibility = access.visibility();
    let new_subscription = NewSubscription::try_from(body)?;
    let subscription = state
        .run(move |store| store.create_subscription(&access, new_subscription))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SubscriptionOut::shown_to(subscription, visibility)),
    ))
}

/// One subscription row.
#[utoipa::path(get, path = "/api/v1/subscriptions/{id}", tag = "subscriptions",
    params(("id" = i64, Path, description = "subscription id")),
    responses((status = 200, body = SubscriptionOut), (status = 404, body = ErrorBody)))]
async fn get_subscription(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<SubscriptionOut>, ApiError> {
    let access = actor.read();
    let visibility = access.visibility();
    let subscription = state
        .run(move |store| store.get_subscription(&access, SubscriptionId::new(id)))
        .await?;
    Ok(Json(SubscriptionOut::shown_to(subscription, visibility)))
}

/// Changes a subscription row, keeping the replaced version.
#[utoipa::path(patch, path = "/api/v1/subscriptions/{id}", tag = "subscriptions",
    params(("id" = i64, Path, description = "subscription id")), request_body = SubscriptionUpdate,
    responses((status = 200, body = SubscriptionOut), (status = 404, body = ErrorBody)))]
async fn update_subscription(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<SubscriptionUpdate>,
) -> Result<Json<SubscriptionOut>, ApiError> {
    let access = actor.write()?;
    let visibility = access.visibility();
    let subscription_patch = SubscriptionPatch::try_from(body)?;
    let subscription = state
        .run(move |store| {
            store.update_subscription(&access, SubscriptionId::new(id), subscription_patch)
        })
        .await?;
    Ok(Json(SubscriptionOut::shown_to(subscription, visibility)))
}

/// Deletes a subscription row.
#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "subscriptions",
    params(("id" = i64, Path, description = "subscription id")), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_subscription(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    state
        .run(move |store| store.delete_subscription(&access, SubscriptionId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
