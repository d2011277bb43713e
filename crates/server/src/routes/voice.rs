//! The voice of the customer over the API: NPS, CSAT and CES overall, per segment and per
//! month, friction and delight, verbatims and the accounts with friction (visible accounts
//! only).

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, QueryParams};
use crate::state::AppState;
use crate::wire::{date, optional};
use axum::Json;
use axum::extract::State;
use mikawaya_analytics::voice::Scores;
use mikawaya_app::voice::{self, VoiceReport};
use mikawaya_domain::Invalid;
use mikawaya_playbooks::journey::SegmentBy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(voice_report))
}

/// The period and the segments.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VoiceQuery {
    /// YYYY-MM-DD (default: 365 days before `to`).
    from: Option<String>,
    /// YYYY-MM-DD (default today).
    to: Option<String>,
    /// tier (default), plan or partner.
    by: Option<String>,
}

/// Parses the segment choice.
pub fn segment_by(raw: Option<&str>) -> Result<SegmentBy, Invalid> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(SegmentBy::Tier),
        Some(raw) => SegmentBy::parse(raw, "by"),
    }
}

/// NPS, CSAT and CES of some answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoresOut {
    /// NPS, −100 to 100.
    nps: Option<f64>,
    /// NPS answers.
    nps_answers: usize,
    /// CSAT: the percent of answers 4-5.
    csat: Option<f64>,
    /// CSAT answers.
    csat_answers: usize,
    /// CES: the mean answer 1-7.
    ces: Option<f64>,
    /// CES answers.
    ces_answers: usize,
}

impl From<&Scores> for ScoresOut {
    fn from(s: &Scores) -> Self {
        ScoresOut {
            nps: s.nps,
            nps_answers: s.nps_answers,
            csat: s.csat,
            csat_answers: s.csat_answers,
            ces: s.ces,
            ces_answers: s.ces_answers,
        }
    }
}

/// One month.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthOut {
    /// YYYY-MM.
    month: String,
    /// Its scores.
    scores: ScoresOut,
    /// Answers classified friction.
    friction: usize,
    /// Answers classified delight.
    delight: usize,
}

/// An answer with a comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerbatimOut {
    /// The account.
    account_id: i64,
    /// Its name.
    account_name: String,
    /// nps, csat or ces.
    kind: String,
    /// The score.
    score: i64,
    /// The comment.
    comment: String,
    /// When.
    answered_at: String,
    /// friction, delight or neutral.
    experience: String,
}

/// An account with friction.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrictionOut {
    /// The account.
    account_id: i64,
    /// Its name.
    name: String,
    /// Its ARR.
    arr: f64,
    /// Answers classified friction.
    friction: usize,
}

/// The voice of the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoiceOut {
    /// The first day.
    from: String,
    /// The last day.
    to: String,
    /// Answers in the period.
    answers: usize,
    /// Every answer's scores.
    overall: ScoresOut,
    /// Per segment.
    by_segment: BTreeMap<String, ScoresOut>,
    /// Per month.
    by_month: Vec<MonthOut>,
    /// Answers with a comment, latest first.
    verbatims: Vec<VerbatimOut>,
    /// Accounts with friction, most first.
    friction_accounts: Vec<FrictionOut>,
}

impl From<VoiceReport> for VoiceOut {
    fn from(r: VoiceReport) -> Self {
        VoiceOut {
            from: r.from.to_string(),
            to: r.to.to_string(),
            answers: r.answers,
            overall: (&r.overall).into(),
            by_segment: r
                .by_segment
                .iter()
                .map(|(k, s)| (k.clone(), s.into()))
                .collect(),
            by_month: r
                .by_month
                .iter()
                .map(|m| MonthOut {
                    month: m.month.clone(),
                    scores: (&m.scores).into(),
                    friction: m.friction,
                    delight: m.delight,
                })
                .collect(),
            verbatims: r
                .verbatims
                .iter()
                .map(|v| VerbatimOut {
                    account_id: v.answer.account_id.get(),
                    account_name: v.account_name.clone(),
                    kind: v.answer.kind.as_str().to_owned(),
                    score: v.answer.score,
                    comment: v
                        .answer
                        .comment
                        .as_ref()
                        .map_or_else(String::new, ToString::to_string),
                    answered_at: v.answer.answered_at.to_string(),
                    experience: v.experience.as_str().to_owned(),
                })
                .collect(),
            friction_accounts: r
                .friction_accounts
                .iter()
                .map(|f| FrictionOut {
                    account_id: f.account_id.get(),
                    name: f.name.clone(),
                    arr: f.arr,
                    friction: f.friction,
                })
                .collect(),
        }
    }
}

/// The period of a voice report: `to` (default today) and `from` (default 365 days before).
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    today: jiff::civil::Date,
) -> Result<(jiff::civil::Date, jiff::civil::Date), Invalid> {
    let to = optional(to.filter(|s| !s.is_empty()), "to", date("to"))?.unwrap_or(today);
    let from = match optional(from.filter(|s| !s.is_empty()), "from", date("from"))? {
        Some(from) => from,
        None => to
            .checked_sub(jiff::Span::new().days(365))
            .map_err(|e| Invalid::new("to", e.to_string()))?,
    };
    Ok((from, to))
}

/// The voice of the customer: NPS, CSAT and CES overall, per segment and per month,
/// friction and delight (default rules), verbatims and the accounts with friction.
#[utoipa::path(get, path = "/api/v1/voice", tag = "voice", params(VoiceQuery),
    responses((status = 200, body = VoiceOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn voice_report(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(query): QueryParams<VoiceQuery>,
) -> Result<Json<VoiceOut>, ApiError> {
    let access = actor.read();
    let (from, to) = period(
        query.from.as_deref(),
        query.to.as_deref(),
        state.clock().today(),
    )?;
    let by = segment_by(query.by.as_deref())?;
    let report = state
        .run(move |store| Ok(voice::report(store, &access, from, to, by)?))
        .await?;
    Ok(Json(report.into()))
}
