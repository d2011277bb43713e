//! Hosted surveys over the API: their definitions (saved by managers), sends to contacts of
//! visible accounts by email or as an in-product link (the link is returned only for
//! in-product sends: an emailed link reaches only its recipient), and response rates.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::instant;
use axum::Json;
use axum::extract::State;
use mikawaya_app::surveys::{self, Rate, SendContext, SendOutcome};
use mikawaya_domain::voice::SurveyChannel;
use mikawaya_domain::{ContactId, Invalid};
use mikawaya_playbooks::surveys::SurveyDef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_surveys))
        .routes(routes!(save_survey))
        .routes(routes!(send_survey))
        .routes(routes!(survey_rates))
}

/// A survey definition: `name`, `kind` (nps, csat, ces), `title`, `question` and `comment`
/// ({en, ja}), `questions` (key, label, kind text|choice|scale, choices), `edit_hours`
/// (72), `expires_days` (30), `rest_days` (90), `active`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyOut {
    id: i64,
    #[schema(value_type = Object)]
    definition: SurveyDef,
}

/// The survey definitions (the standard NPS, CSAT and CES until others are saved).
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys",
    responses((status = 200, body = Vec<SurveyOut>), (status = 401, body = ErrorBody)))]
async fn list_surveys(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<SurveyOut>>, ApiError> {
    let _ = actor.read();
    let defs = state.run(|store| Ok(surveys::definitions(store)?)).await?;
    Ok(Json(
        defs.into_iter()
            .map(|(s, definition)| SurveyOut {
                id: s.id,
                definition,
            })
            .collect(),
    ))
}

/// Saves a survey definition under its name (managers); the path's name must be the body's.
#[utoipa::path(put, path = "/api/v1/surveys/{name}", tag = "surveys", request_body = Object,
    responses((status = 200, body = SurveyOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn save_survey(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    JsonBody(definition): JsonBody<SurveyDef>,
) -> Result<Json<SurveyOut>, ApiError> {
    let access = actor.manage()?;
    if definition.name != name {
        return Err(Invalid::new("name", "must be the name in the path").into());
    }
    let (survey, definition) = state
        .run(move |store| {
            surveys::save(store, &access, definition)?;
            Ok(surveys::definition(store, &name)?)
        })
        .await?;
    Ok(Json(SurveyOut {
        id: survey.id,
        definition,
    }))
}

/// Whom to send to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendIn {
    /// Contacts of visible accounts (1 to 1000).
    contact_ids: Vec<i64>,
    /// email (default: the link in an email through the outbox) or in_app (the link is
    /// returned, to show in the product).
    channel: Option<String>,
}

/// What sending to one contact did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendOut {
    contact_id: i64,
    /// sent, or why not: resting (surveyed within the rest period), unsubscribed,
    /// no_email, frequency_cap.
    outcome: String,
    send_id: Option<i64>,
    /// The contact's own link (in-product sends only).
    url: Option<String>,
    expires_at: Option<String>,
}

/// Sends a survey to contacts.
#[utoipa::path(post, path = "/api/v1/surveys/{name}/sends", tag = "surveys", request_body = SendIn,
    responses((status = 200, body = Vec<SendOut>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn send_survey(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SendIn>,
) -> Result<Json<Vec<SendOut>>, ApiError> {
    let access = actor.write()?;
    let channel = match body.channel.as_deref() {
        None => SurveyChannel::Email,
        Some(raw) => SurveyChannel::parse(raw)?,
    };
    let context = SendContext {
        base_url: state.workflow.outbox.base_url.clone(),
        language: state.workflow.language(),
        emails_per_week: state.workflow.settings.emails_per_week,
        now: state.clock().now(),
    };
    let contacts: Vec<ContactId> = body
        .contact_ids
        .iter()
        .copied()
        .map(ContactId::new)
        .collect();
    let outcomes = state
        .run(move |store| {
            Ok(surveys::send(
                store, &access, &name, &contacts, channel, &context,
            )?)
        })
        .await?;
    Ok(Json(
        outcomes
            .into_iter()
            .map(|outcome| match outcome {
                SendOutcome::Sent(send, url) => SendOut {
                    contact_id: send.contact_id.get(),
                    outcome: "sent".to_owned(),
                    send_id: Some(send.id),
                    url: (send.channel == SurveyChannel::InApp).then_some(url),
                    expires_at: Some(instant(send.expires_at)),
                },
                SendOutcome::Skipped(contact, why) => SendOut {
                    contact_id: contact.get(),
                    outcome: why.as_str().to_owned(),
                    send_id: None,
                    url: None,
                    expires_at: None,
                },
            })
            .collect(),
    ))
}

/// The period and the segments.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatesQuery {
    /// YYYY-MM-DD (default: 365 days before `to`).
    from: Option<String>,
    /// YYYY-MM-DD (default today).
    to: Option<String>,
    /// tier (default), plan or partner.
    by: Option<String>,
}

/// Sends and answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateOut {
    sent: usize,
    answered: usize,
    /// Answered / sent, percent.
    percent: Option<f64>,
}

impl From<&Rate> for RateOut {
    fn from(rate: &Rate) -> Self {
        RateOut {
            sent: rate.sent,
            answered: rate.answered,
            percent: rate.percent(),
        }
    }
}

/// Response rates per survey and per segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatesOut {
    by_survey: BTreeMap<String, RateOut>,
    by_segment: BTreeMap<String, RateOut>,
}

/// Response rates of visible sends in a period.
#[utoipa::path(get, path = "/api/v1/surveys/rates", tag = "surveys", params(RatesQuery),
    responses((status = 200, body = RatesOut), (status = 400, body = ErrorBody)))]
async fn survey_rates(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(query): QueryParams<RatesQuery>,
) -> Result<Json<RatesOut>, ApiError> {
    let (from, to) = crate::routes::voice::period(
        query.from.as_deref(),
        query.to.as_deref(),
        state.clock().today(),
    )?;
    let by = crate::routes::voice::segment_by(query.by.as_deref())?;
    let access = actor.read();
    let (by_survey, by_segment) = state
        .run(move |store| Ok(surveys::rates(store, &access, from, to, by)?))
        .await?;
    Ok(Json(RatesOut {
        by_survey: by_survey
            .iter()
            .map(|(k, v)| (k.clone(), v.into()))
            .collect(),
        by_segment: by_segment
            .iter()
            .map(|(k, v)| (k.clone(), v.into()))
            .collect(),
    }))
}
