//! Feedback items and feature requests over the API, and the product tracker's webhook:
//! items of visible accounts (recorded, classed, merged, split), requests ranked by the
//! visible ARR asking for them (a partner sees only its own accounts' count and ARR), a
//! request's status and link (managers), CSV export, and `POST /api/v1/hooks/product`,
//! signed like GitHub's webhooks.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{double_option, instant};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mikawaya_analytics::voice::Keywords;
use mikawaya_app::feedback::{self, ItemView, RequestDetail, RequestRow, WebhookOutcome};
use mikawaya_domain::value::Text;
use mikawaya_domain::voice::{
    ChangeSource, Experience, FeedbackSource, NewFeedbackItem, RequestStatus,
};
use mikawaya_domain::{AccountId, ContactId, Invalid};
use mikawaya_store::voice::{FeedbackChange, FeedbackFilter, RequestChange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_feedback, add_feedback))
        .routes(routes!(get_feedback, change_feedback))
        .routes(routes!(similar_feedback))
        .routes(routes!(list_requests, create_request))
        .routes(routes!(get_request, change_request))
        .routes(routes!(merge_request))
        .routes(routes!(get_keywords, save_keywords))
        .routes(routes!(classify_answer))
        .routes(routes!(product_hook))
}

/// A feedback item.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackItemOut {
    id: i64,
    account_id: i64,
    account_name: String,
    contact_id: Option<i64>,
    contact_name: Option<String>,
    /// survey, touchpoint, api, csv or email.
    source: String,
    source_key: Option<String>,
    text: String,
    /// friction, delight or neutral (a person's class, else the keyword rules').
    experience: String,
    /// Whether a person set the class.
    experience_by_person: bool,
    request_id: Option<i64>,
    /// The request the similarity suggests (until a person decides), and its score 0-1.
    suggested_request_id: Option<i64>,
    suggested_title: Option<String>,
    suggested_score: Option<f64>,
    resolved_at: Option<String>,
    created_at: String,
}

impl From<ItemView> for FeedbackItemOut {
    fn from(view: ItemView) -> Self {
        let item = view.item;
        FeedbackItemOut {
            id: item.id,
            account_id: item.account_id.get(),
            account_name: view.account_name,
            contact_id: item.contact_id.map(ContactId::get),
            contact_name: view.contact_name,
            source: item.source.to_string(),
            source_key: item.source_key,
            text: item.text.to_string(),
            experience: view.experience.to_string(),
            experience_by_person: item.experience_override.is_some(),
            request_id: item.request_id,
            suggested_request_id: item.suggestion.map(|s| s.0),
            suggested_title: view.suggested_title,
            suggested_score: item.suggestion.map(|s| s.1),
            resolved_at: item.resolved_at.map(instant),
            created_at: instant(item.created_at),
        }
    }
}

/// Which items.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    /// One account's.
    account_id: Option<i64>,
    /// One request's.
    request_id: Option<i64>,
    /// Only items in no request.
    unmerged: Option<bool>,
}

/// Feedback items of visible accounts, latest first.
#[utoipa::path(get, path = "/api/v1/feedback", tag = "feedback", params(FeedbackQuery),
    responses((status = 200, body = Vec<FeedbackItemOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_feedback(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(query): QueryParams<FeedbackQuery>,
) -> Result<Json<Vec<FeedbackItemOut>>, ApiError> {
    let access = actor.read();
    let filter = FeedbackFilter {
        account: query.account_id.map(AccountId::new),
        request: query.request_id,
        unmerged: query.unmerged.unwrap_or(false),
        ..FeedbackFilter::default()
    };
    let views = state
        .run(move |store| {
            let items = store.feedback(&access, &filter)?;
            Ok(feedback::views(store, &access, items)?)
        })
        .await?;
    Ok(Json(views.into_iter().map(FeedbackItemOut::from).collect()))
}

/// A feedback item to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    account_id: i64,
    /// A contact of the account.
    contact_id: Option<i64>,
    /// What was said (1 to 10,000 characters).
    text: String,
    /// api (default), email or csv.
    source: Option<String>,
    /// The source's own key: the same key from the same source is one item.
    source_key: Option<String>,
    /// When it was said (RFC 3339; default now).
    said_at: Option<String>,
}

/// Records a feedback item; the request it resembles is suggested at once. The same
/// source and key again answers 200 with the item as it is.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "feedback", request_body = ItemIn,
    responses((status = 201, body = FeedbackItemOut), (status = 200, body = FeedbackItemOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_feedback(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ItemIn>,
) -> Result<(StatusCode, Json<FeedbackItemOut>), ApiError> {
    let access = actor.write()?;
    let source = match body.source.as_deref() {
        None => FeedbackSource::Api,
        Some(raw) => match FeedbackSource::parse(raw)? {
            s @ (FeedbackSource::Api | FeedbackSource::Email | FeedbackSource::Csv) => s,
            _ => {
                return Err(Invalid::new("source", "must be api, email or csv").into());
            }
        },
    };
    if body.text.chars().count() > 10_000 {
        return Err(Invalid::new("text", "at most 10,000 characters").into());
    }
    if body
        .source_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 200)
    {
        return Err(Invalid::new("source_key", "must be 1 to 200 characters").into());
    }
    let created_at = body
        .said_at
        .as_deref()
        .map(|raw| {
            raw.parse::<jiff::Timestamp>()
                .map_err(|_| Invalid::new("said_at", format!("'{raw}' is not an RFC 3339 instant")))
        })
        .transpose()?;
    let new = NewFeedbackItem {
        account_id: AccountId::new(body.account_id),
        contact_id: body.contact_id.map(ContactId::new),
        source,
        source_key: body.source_key,
        text: Text::parse(&body.text).map_err(|e| e.in_field("text"))?,
        created_at,
    };
    let index = std::sync::Arc::clone(&state.feedback_index);
    let read = access.read();
    let (view, created) = state
        .run(move |store| {
            let mut placed = feedback::add(store, &access, &index, &[new])?;
            let placed = placed
                .pop()
                .ok_or(Invalid::new("text", "nothing recorded"))?;
            let view = feedback::views(store, &read, vec![placed.item])?.pop();
            Ok((view, placed.created))
        })
        .await?;
    let view = view.ok_or(Invalid::new("account_id", "not found"))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view.into())))
}

/// One visible feedback item.
#[utoipa::path(get, path = "/api/v1/feedback/{id}", tag = "feedback",
    responses((status = 200, body = FeedbackItemOut), (status = 404, body = ErrorBody)))]
async fn get_feedback(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<FeedbackItemOut>, ApiError> {
    let access = actor.read();
    let view = state
        .run(move |store| {
            let item = store.get_feedback(&access, id)?;
            Ok(feedback::views(store, &access, vec![item])?.pop())
        })
        .await?;
    view.map(|v| Json(v.into()))
        .ok_or(ApiError::NotFound("feedback item".to_owned()))
}

/// A change to an item: absent keeps, null clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    /// friction, delight or neutral; null: back to the rules.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    experience: Option<Option<String>>,
    /// Merge into this request (confirm a suggestion, or by hand); null: split off.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    request_id: Option<Option<i64>>,
    /// Resolved (true) or open again.
    resolved: Option<bool>,
}

/// Classes, merges, splits or resolves a visible item.
#[utoipa::path(patch, path = "/api/v1/feedback/{id}", tag = "feedback", request_body = ItemChange,
    responses((status = 200, body = FeedbackItemOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn change_feedback(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ItemChange>,
) -> Result<Json<FeedbackItemOut>, ApiError> {
    let access = actor.write()?;
    let experience = body
        .experience
        .map(|e| e.as_deref().map(Experience::parse).transpose())
        .transpose()?;
    let read = access.read();
    let view = state
        .run(move |store| {
            store.get_feedback(&read, id)?;
            if let Some(experience) = experience {
                store.change_feedback(&access, id, &FeedbackChange::Experience(experience))?;
            }
            if let Some(request) = body.request_id {
                feedback::merge(store, &access, id, request)?;
            }
            if let Some(resolved) = body.resolved {
                store.change_feedback(&access, id, &FeedbackChange::Resolved(resolved))?;
            }
            let item = store.get_feedback(&read, id)?;
            Ok(feedback::views(store, &read, vec![item])?.pop())
        })
        .await?;
    view.map(|v| Json(v.into()))
        .ok_or(ApiError::NotFound("feedback item".to_owned()))
}

/// A similar item.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarOut {
    /// The item.
    item: FeedbackItemOut,
    /// Similarity 0-1.
    score: f64,
}

/// Visible items similar to one (above the suggestion threshold), best first.
#[utoipa::path(get, path = "/api/v1/feedback/{id}/similar", tag = "feedback",
    responses((status = 200, body = Vec<SimilarOut>), (status = 404, body = ErrorBody)))]
async fn similar_feedback(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<SimilarOut>>, ApiError> {
    let access = actor.read();
    let index = std::sync::Arc::clone(&state.feedback_index);
    let out = state
        .run(move |store| {
            let item = store.get_feedback(&access, id)?;
            let found = feedback::similar(store, &index, item.text.as_str(), Some(id), 20)?;
            let mut out = Vec::new();
            for (other, score) in found {
                if let Ok(other) = store.get_feedback(&access, other)
                    && let Some(view) = feedback::views(store, &access, vec![other])?.pop()
                {
                    out.push(SimilarOut {
                        item: view.into(),
                        score,
                    });
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(out))
}

/// An account asking for a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequesterOut {
    account_id: i64,
    name: String,
    arr: f64,
    currency: String,
    renewal_date: Option<String>,
    /// Red health or a forecast churn risk of at least 0.5.
    at_risk: bool,
    items: usize,
}

/// A feature request with who asks for it (what the caller may see).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOut {
    id: i64,
    title: String,
    /// under_review, planned, in_progress, shipped or declined.
    status: String,
    issue_url: Option<String>,
    items: usize,
    accounts: usize,
    arr: f64,
    arr_at_risk: f64,
    next_renewal: Option<String>,
    friction: usize,
    delight: usize,
    shipped_at: Option<String>,
    /// When the requesters were told it shipped.
    loop_closed_at: Option<String>,
    requesters: Vec<RequesterOut>,
}

impl From<RequestRow> for RequestOut {
    fn from(row: RequestRow) -> Self {
        RequestOut {
            id: row.request.id,
            title: row.request.title.to_string(),
            status: row.request.status.to_string(),
            issue_url: row.request.issue_url,
            items: row.items,
            accounts: row.requesters.len(),
            arr: row.arr,
            arr_at_risk: row.arr_at_risk,
            next_renewal: row.next_renewal.map(|d| d.to_string()),
            friction: row.friction,
            delight: row.delight,
            shipped_at: row.request.shipped_at.map(instant),
            loop_closed_at: row.request.loop_closed_at.map(instant),
            requesters: row
                .requesters
                .into_iter()
                .map(|r| RequesterOut {
                    account_id: r.account_id.get(),
                    name: r.name,
                    arr: r.arr,
                    currency: r.currency,
                    renewal_date: r.renewal.map(|d| d.to_string()),
                    at_risk: r.at_risk,
                    items: r.items,
                })
                .collect(),
        }
    }
}

/// The list's format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// json (default) or csv.
    format: Option<String>,
}

/// The requests ranked for product managers (most ARR asking first); `format=csv` exports
/// them.
#[utoipa::path(get, path = "/api/v1/requests", tag = "feedback", params(RequestsQuery),
    responses((status = 200, description = "JSON, or text/csv with format=csv",
                content((Vec<RequestOut> = "application/json"), (String = "text/csv"))),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_requests(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(query): QueryParams<RequestsQuery>,
) -> Result<Response, ApiError> {
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(
                Invalid::new("format", format!("'{other}' is not one of: json, csv")).into(),
            );
        }
    };
    let access = actor.read();
    let rows = state
        .run(move |store| Ok(feedback::ranked(store, &access)?))
        .await?;
    if csv {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"requests.csv\"",
                ),
            ],
            feedback::requests_csv(&rows),
        )
            .into_response());
    }
    let out: Vec<RequestOut> = rows.into_iter().map(RequestOut::from).collect();
    Ok(Json(out).into_response())
}

/// A request to make from items.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestIn {
    /// What to build.
    title: String,
    /// Visible items merged into it.
    #[serde(default)]
    items: Vec<i64>,
}

/// Makes a request from visible items.
#[utoipa::path(post, path = "/api/v1/requests", tag = "feedback", request_body = RequestIn,
    responses((status = 201, body = RequestOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_request(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<RequestIn>,
) -> Result<(StatusCode, Json<RequestOut>), ApiError> {
    let access = actor.write()?;
    let today = state.clock().today();
    let detail = state
        .run(move |store| {
            let request = feedback::create_request(
                store,
                &access,
                &body.title,
                &body.items,
                ChangeSource::Api,
            )?;
            Ok(feedback::detail(store, &access.read(), request.id, today)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(detail.row.into())))
}

/// A request in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetailOut {
    request: RequestOut,
    items: Vec<FeedbackItemOut>,
    /// Its history: when, who, source (app, api, webhook), kind, text.
    #[schema(value_type = Vec<Object>)]
    events: Vec<serde_json::Value>,
    /// Shipped requests: the requesting accounts' mean health in the 30 days before it
    /// shipped and in the latest 30 days.
    health_before: Option<f64>,
    health_after: Option<f64>,
}

impl From<RequestDetail> for RequestDetailOut {
    fn from(detail: RequestDetail) -> Self {
        let (before, after) = detail.health.unwrap_or((None, None));
        RequestDetailOut {
            events: detail
                .events
                .iter()
                .map(|e| {
                    serde_json::json!({"at": instant(e.at), "actor_id": e.actor_id.map(|u| u.get()),
                        "source": e.source, "kind": e.kind, "text": e.text})
                })
                .collect(),
            items: detail
                .items
                .into_iter()
                .map(FeedbackItemOut::from)
                .collect(),
            request: detail.row.into(),
            health_before: before,
            health_after: after,
        }
    }
}

/// One visible request in full.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "feedback",
    responses((status = 200, body = RequestDetailOut), (status = 404, body = ErrorBody)))]
async fn get_request(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<RequestDetailOut>, ApiError> {
    let access = actor.read();
    let today = state.clock().today();
    let detail = state
        .run(move |store| Ok(feedback::detail(store, &access, id, today)?))
        .await?;
    Ok(Json(detail.into()))
}

/// A change to a request: absent keeps; `issue_url` null removes the link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestChangeIn {
    title: Option<String>,
    /// under_review, planned, in_progress, shipped or declined. Shipped tells every
    /// requester once (email and touchpoint).
    status: Option<String>,
    /// The product issue (any http(s) URL: GitHub, Jira, Linear).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    issue_url: Option<Option<String>>,
}

/// Sets a request's title, status or link (managers).
#[utoipa::path(patch, path = "/api/v1/requests/{id}", tag = "feedback", request_body = RequestChangeIn,
    responses((status = 200, body = RequestDetailOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn change_request(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<RequestChangeIn>,
) -> Result<Json<RequestDetailOut>, ApiError> {
    let access = actor.manage()?;
    let change = RequestChange {
        at: None,
        title: body
            .title
            .as_deref()
            .map(Text::parse)
            .transpose()
            .map_err(|e| e.in_field("title"))?,
        status: body
            .status
            .as_deref()
            .map(RequestStatus::parse)
            .transpose()?,
        issue_url: body.issue_url,
    };
    let language = state.workflow.language();
    let today = state.clock().today();
    let detail = state
        .run(move |store| {
            feedback::change_request(store, &access, id, &change, ChangeSource::Api, language)?;
            Ok(feedback::detail(store, &access.write().read(), id, today)?)
        })
        .await?;
    Ok(Json(detail.into()))
}

/// Which request to merge in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeIn {
    /// The request whose items move into this one (it is removed).
    from: i64,
}

/// Merges another request into this one.
#[utoipa::path(post, path = "/api/v1/requests/{id}/merge", tag = "feedback", request_body = MergeIn,
    responses((status = 200, body = RequestDetailOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn merge_request(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<MergeIn>,
) -> Result<Json<RequestDetailOut>, ApiError> {
    let access = actor.manage()?.write();
    let today = state.clock().today();
    let detail = state
        .run(move |store| {
            store.merge_requests(&access, id, body.from)?;
            Ok(feedback::detail(store, &access.read(), id, today)?)
        })
        .await?;
    Ok(Json(detail.into()))
}

/// The keyword lists that class answers and feedback.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeywordsOut {
    /// 0: the defaults.
    #[serde(default)]
    version: i64,
    /// Words of complaint, bugs, confusion and effort (matched anywhere in the text).
    friction: Vec<String>,
    /// Words of praise, success and wishes to grow.
    delight: Vec<String>,
}

/// The keyword lists in force.
#[utoipa::path(get, path = "/api/v1/voice/keywords", tag = "feedback",
    responses((status = 200, body = KeywordsOut), (status = 401, body = ErrorBody)))]
async fn get_keywords(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<KeywordsOut>, ApiError> {
    let access = actor.read();
    let (keywords, version) = state
        .run(move |store| Ok(feedback::keywords(store, &access)?))
        .await?;
    Ok(Json(KeywordsOut {
        version,
        friction: keywords.friction,
        delight: keywords.delight,
    }))
}

/// Saves the keyword lists as the next version (managers).
#[utoipa::path(put, path = "/api/v1/voice/keywords", tag = "feedback", request_body = KeywordsOut,
    responses((status = 200, body = KeywordsOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn save_keywords(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<KeywordsOut>,
) -> Result<Json<KeywordsOut>, ApiError> {
    let access = actor.manage()?;
    let keywords = Keywords {
        friction: body.friction,
        delight: body.delight,
    };
    let version = state
        .run(move |store| Ok(feedback::save_keywords(store, &access, &keywords)?))
        .await?;
    let read = actor.read();
    let (keywords, _) = state
        .run(move |store| Ok(feedback::keywords(store, &read)?))
        .await?;
    Ok(Json(KeywordsOut {
        version,
        friction: keywords.friction,
        delight: keywords.delight,
    }))
}

/// A person's class of a survey answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerClassIn {
    /// friction, delight or neutral; null: back to the rules.
    experience: Option<String>,
}

/// Sets a person's class of a visible survey answer.
#[utoipa::path(put, path = "/api/v1/survey-answers/{id}/experience", tag = "feedback", request_body = AnswerClassIn,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn classify_answer(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<AnswerClassIn>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    let experience = body
        .experience
        .as_deref()
        .map(Experience::parse)
        .transpose()?;
    state
        .run(move |store| store.set_answer_experience(&access, id, experience))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The product tracker's webhook, in GitHub's issue-event shape: `X-Hub-Signature-256`
/// (HMAC-SHA256 of the body with the secret `mikawaya voice webhook-secret` shows) and
/// `X-GitHub-Delivery`. Closed as completed ships the linked requests (telling their
/// requesters once), closed as not planned declines them, a label named like a status sets
/// it. A bad signature is refused (401) and logged; a replayed delivery changes nothing.
#[utoipa::path(post, path = "/api/v1/hooks/product", tag = "feedback", request_body = Object, security(()),
    responses((status = 200, description = "what the delivery did"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn product_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let signature = header("x-hub-signature-256");
    let delivery = header("x-github-delivery");
    let language = state.workflow.language();
    let outcome = state
        .run(move |store| {
            Ok(feedback::webhook(
                store,
                &body,
                signature.as_deref(),
                delivery.as_deref(),
                language,
            )?)
        })
        .await?;
    let out = match outcome {
        WebhookOutcome::BadSignature => {
            return Err(ApiError::Unauthenticated);
        }
        WebhookOutcome::Replayed => serde_json::json!({"outcome": "replayed"}),
        WebhookOutcome::Ignored(why) => serde_json::json!({"outcome": "ignored", "reason": why}),
        WebhookOutcome::Changed(changed) => serde_json::json!({
            "outcome": "changed",
            "requests": changed.iter().map(|(id, closed)| serde_json::json!({"id": id, "loop_closed": closed})).collect::<Vec<_>>(),
        }),
    };
    Ok(Json(out))
}
