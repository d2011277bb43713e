//! Success plans over the API: plans per account, their changes (each naming the version it
//! was made on), history, shares, and the plan templates. The customer's side (a shared
//! link) is an HTML page, `html::plans`.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{date, instant, optional, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_app::plans::{self, NewPlan, PlanView};
use mikawaya_domain::language::Language;
use mikawaya_domain::plan::{
    Author, DeliverableKind, ObjectiveStatus, PersonalStatus, PlanChange, PlanStatus, Progress,
    RaidKind, RaidStatus, Severity, SuccessPlan, Target,
};
use mikawaya_domain::value::{Slug, Text};
use mikawaya_domain::{AccountId, ContactId, Invalid, Patch, PlanId, UserId};
use mikawaya_playbooks::plan_templates::PlanTemplate;
use mikawaya_store::plans::{PlanEventRow, PlanFilter, Share};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan))
        .routes(routes!(change_plan))
        .routes(routes!(share_plan))
        .routes(routes!(revoke_share))
        .routes(routes!(get_templates, save_templates))
        .routes(routes!(plan_churn))
}

/// The churn comparison's period.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChurnQuery {
    /// Days from the day plans' statuses are read to today (default 90, at most 730).
    horizon_days: Option<u32>,
}

/// One group of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChurnGroupOut {
    /// Accounts in it.
    accounts: usize,
    /// Of those, churned in the period.
    churned: usize,
    /// churned / accounts.
    rate: Option<f64>,
}

/// Churn of accounts whose plans were on track against the others.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChurnOut {
    /// The day plans' statuses are read on.
    from: String,
    /// The day churn is counted to.
    to: String,
    /// Every objective with a status on track or achieved.
    on_track: ChurnGroupOut,
    /// An objective at risk, off track or missed.
    behind: ChurnGroupOut,
    /// on_track.rate − behind.rate.
    difference: Option<f64>,
    /// Its 95% confidence interval, low end.
    ci95_low: Option<f64>,
    /// Its 95% confidence interval, high end.
    ci95_high: Option<f64>,
}

/// Do accounts whose success plans are on track churn less than those whose plans are
/// behind? Statuses as they stood `horizon_days` ago, churn since.
#[utoipa::path(get, path = "/api/v1/plans/churn", tag = "plans", params(ChurnQuery),
    responses((status = 200, body = PlanChurnOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn plan_churn(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(query): QueryParams<ChurnQuery>,
) -> Result<Json<PlanChurnOut>, ApiError> {
    let access = actor.read();
    let today = state.clock().today();
    let found = state
        .run(move |store| {
            Ok(plans::churn_by_plan_status(
                store,
                &access,
                today,
                query.horizon_days.unwrap_or(90),
            )?)
        })
        .await?;
    let group = |arm: &mikawaya_playbooks::effectiveness::Arm| ChurnGroupOut {
        accounts: arm.n,
        churned: arm.successes,
        rate: arm.rate,
    };
    let c = &found.comparison;
    Ok(Json(PlanChurnOut {
        from: found.from.to_string(),
        to: found.to.to_string(),
        on_track: group(&c.a),
        behind: group(&c.b),
        difference: c.difference,
        ci95_low: c.ci95.map(|(low, _)| low),
        ci95_high: c.ci95.map(|(_, high)| high),
    }))
}

/// An objective's measured progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressOut {
    /// The day measured.
    day: String,
    /// The metric's value on the start day.
    baseline: Option<f64>,
    /// Its value on the day.
    value: Option<f64>,
    /// Share of the time gone, 0 to 1.
    expected: f64,
    /// Share of the way made, 0 to 1.
    actual: Option<f64>,
    /// on_track, at_risk, off_track, achieved, missed or no_data.
    status: String,
    /// The day the target was first reached.
    achieved_on: Option<String>,
}

impl From<&Progress> for ProgressOut {
    fn from(p: &Progress) -> Self {
        ProgressOut {
            day: p.day.to_string(),
            baseline: p.baseline,
            value: p.value,
            expected: p.expected,
            actual: p.actual,
            status: p.status.as_str().to_owned(),
            achieved_on: p.achieved_on.map(|d| d.to_string()),
        }
    }
}

/// A success plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanOut {
    id: i64,
    account_id: i64,
    /// Name it in a change (`version`): a change made on an older version is refused (409).
    version: i64,
    title: String,
    /// en or ja: the customer's language.
    language: String,
    /// active, completed or cancelled.
    status: String,
    owner_id: Option<i64>,
    customer_owner_id: Option<i64>,
    /// The document: objectives (each with `target` when measured), milestones (with
    /// `gate`, the deliverables to accept), deliverables, raid, personal, comments.
    #[schema(value_type = Object)]
    body: serde_json::Value,
    /// Each measured objective's latest progress, by objective number.
    #[schema(value_type = BTreeMap<String, ProgressOut>)]
    progress: BTreeMap<u32, ProgressOut>,
    /// Objectives off track or missed (measured, or set by hand).
    objectives_off_track: usize,
    /// Milestones open past their due date.
    milestones_overdue: usize,
    created_at: String,
    updated_at: String,
}

impl PlanOut {
    fn new(
        plan: SuccessPlan,
        progress: &BTreeMap<u32, Progress>,
        today: jiff::civil::Date,
    ) -> Self {
        let off_track = plan
            .body
            .objectives_off_track(|o| progress.get(&o).map(|p| p.status));
        PlanOut {
            id: plan.id.get(),
            account_id: plan.account_id.get(),
            version: plan.version,
            title: plan.body.title.to_string(),
            language: plan.body.language.code().to_owned(),
            status: plan.body.status.as_str().to_owned(),
            owner_id: plan.body.owner_id.map(UserId::get),
            customer_owner_id: plan.body.customer_owner_id.map(ContactId::get),
            objectives_off_track: off_track,
            milestones_overdue: plan.body.overdue_milestones(today),
            body: serde_json::to_value(&plan.body).unwrap_or_default(),
            progress: progress.iter().map(|(k, p)| (*k, p.into())).collect(),
            created_at: instant(plan.created_at),
            updated_at: instant(plan.updated_at),
        }
    }
}

/// An event of a plan's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanEventOut {
    id: i64,
    at: String,
    /// `user:ID`, `contact:ID`, or null (Mikawaya).
    author: Option<String>,
    kind: String,
    item: Option<u32>,
    text: String,
}

impl From<PlanEventRow> for PlanEventOut {
    fn from(e: PlanEventRow) -> Self {
        PlanEventOut {
            id: e.id,
            at: instant(e.at),
            author: e.author.map(author_text),
            kind: e.kind.as_str().to_owned(),
            item: e.item,
            text: e.text,
        }
    }
}

fn author_text(author: Author) -> String {
    match author {
        Author::User(id) => format!("user:{id}"),
        Author::Contact(id) => format!("contact:{id}"),
    }
}

/// A shared link's record (the token itself is shown once, when made).
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareOut {
    id: i64,
    contact_id: i64,
    created_at: String,
    expires_at: String,
    revoked_at: Option<String>,
    last_opened_at: Option<String>,
}

impl From<Share> for ShareOut {
    fn from(s: Share) -> Self {
        ShareOut {
            id: s.id,
            contact_id: s.contact_id.get(),
            created_at: instant(s.created_at),
            expires_at: instant(s.expires_at),
            revoked_at: s.revoked_at.map(instant),
            last_opened_at: s.last_opened_at.map(instant),
        }
    }
}

/// A plan with its history and shares.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDetailOut {
    plan: PlanOut,
    events: Vec<PlanEventOut>,
    shares: Vec<ShareOut>,
}

/// Which plans to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanParams {
    /// One account's.
    account_id: Option<i64>,
    /// active, completed or cancelled.
    status: Option<String>,
    /// Owned by this user id.
    owner_id: Option<i64>,
    /// `true`: plans with an objective off track or missed.
    off_track: Option<bool>,
    /// `true`: plans with a milestone open past its due date.
    overdue: Option<bool>,
}

/// Plans on the accounts the caller can see.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans", params(PlanParams),
    responses((status = 200, body = Vec<PlanOut>), (status = 400, body = ErrorBody)))]
async fn list_plans(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<PlanParams>,
) -> Result<Json<Vec<PlanOut>>, ApiError> {
    let today = state.clock().today();
    let filter = PlanFilter {
        account_id: params.account_id.map(AccountId::new),
        status: optional(params.status.as_deref(), "status", PlanStatus::parse)?,
        owner_id: params.owner_id.map(UserId::new),
        objective_off_track: params.off_track == Some(true),
        milestone_overdue_on: (params.overdue == Some(true)).then_some(today),
    };
    let access = actor.read();
    let found = state
        .run(move |store| {
            let plans = store.list_plans(&access, &filter)?;
            let progress = store.plan_progress(&access, None)?;
            Ok((plans, progress))
        })
        .await?;
    let (plans, progress) = found;
    let mut by_plan: BTreeMap<PlanId, BTreeMap<u32, Progress>> = BTreeMap::new();
    for row in progress {
        by_plan
            .entry(row.plan_id)
            .or_default()
            .insert(row.objective, row.progress);
    }
    Ok(Json(
        plans
            .into_iter()
            .map(|plan| {
                let progress = by_plan.remove(&plan.id).unwrap_or_default();
                PlanOut::new(plan, &progress, today)
            })
            .collect(),
    ))
}

/// A plan to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    account_id: i64,
    /// Required without a template.
    title: Option<String>,
    /// en (default) or ja: the customer's language.
    language: Option<String>,
    /// A template, by name (`GET /api/v1/plan-templates`).
    template: Option<String>,
    /// The owner on our side (default: the account's owner).
    owner_id: Option<i64>,
    /// A contact of the account.
    customer_owner_id: Option<i64>,
    /// YYYY-MM-DD (default today): the template's due dates count from it.
    start: Option<String>,
}

fn language(raw: Option<&str>) -> Result<Language, Invalid> {
    match raw.map(str::trim) {
        None | Some("en") => Ok(Language::En),
        Some("ja") => Ok(Language::Ja),
        Some(other) => Err(Invalid::new(
            "language",
            format!("'{other}' is not one of: en, ja"),
        )),
    }
}

/// Starts a plan on an account, blank or from a template.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", request_body = PlanIn,
    responses((status = 201, body = PlanOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_plan(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<PlanIn>,
) -> Result<(StatusCode, Json<PlanOut>), ApiError> {
    let access = actor.write()?;
    let (today, now) = (state.clock().today(), state.clock().now());
    let new = NewPlan {
        title: optional(body.title.as_deref(), "title", Text::parse)?,
        language: language(body.language.as_deref())?,
        template: body.template,
        owner_id: body.owner_id.map(UserId::new),
        customer_owner_id: body.customer_owner_id.map(ContactId::new),
        start: optional(body.start.as_deref(), "start", date("start"))?,
    };
    let account = AccountId::new(body.account_id);
    let plan = state
        .run(move |store| Ok(plans::create(store, &access, account, new, today, now)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PlanOut::new(plan, &BTreeMap::new(), today)),
    ))
}

/// One plan with its progress, history and shares.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = i64, Path, description = "plan id")),
    responses((status = 200, body = PlanDetailOut), (status = 404, body = ErrorBody)))]
async fn get_plan(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<PlanDetailOut>, ApiError> {
    let access = actor.read();
    let today = state.clock().today();
    let found = state
        .run(move |store| Ok(plans::view(store, &access, PlanId::new(id))?))
        .await?;
    Ok(Json(detail(found, today)))
}

fn detail(view: PlanView, today: jiff::civil::Date) -> PlanDetailOut {
    PlanDetailOut {
        plan: PlanOut::new(view.plan, &view.progress, today),
        events: view.events.into_iter().map(Into::into).collect(),
        shares: view.shares.into_iter().map(Into::into).collect(),
    }
}

/// One change to a plan. `kind` says which; the other fields are those of that kind.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeIn {
    /// details, add_objective, set_objective_status, remove_objective, add_deliverable,
    /// deliver, add_milestone, close_milestone, add_raid, set_raid_status, set_personal,
    /// comment.
    pub kind: String,
    /// The title of what is added (details: the plan's new title).
    pub title: Option<String>,
    /// add_objective: a metric to bind it to (defined, or built in: active_users, activity…).
    pub metric: Option<String>,
    /// add_objective: the value to reach (with `relative`: the percent change from the
    /// value on the start day).
    pub target: Option<f64>,
    /// add_objective: `target` is a percent change from the start.
    pub relative: Option<bool>,
    /// add_objective: YYYY-MM-DD, the baseline day (default today).
    pub start: Option<String>,
    /// add_objective: YYYY-MM-DD, the target date (not in the past).
    pub due: Option<String>,
    /// set_objective_status, details, set_raid_status, set_personal: the new status.
    pub status: Option<String>,
    /// The objective, deliverable, milestone or RAID entry's number.
    pub item: Option<u32>,
    /// add_deliverable: document, link, workshop or other.
    pub deliverable_kind: Option<String>,
    /// add_deliverable: a link.
    pub url: Option<String>,
    /// add_milestone: YYYY-MM-DD; add_raid: by when.
    pub due_on: Option<String>,
    /// add_milestone: the deliverables (of this plan) the customer must accept first.
    pub gate: Option<Vec<u32>>,
    /// add_raid: risk, action, issue or decision.
    pub raid_kind: Option<String>,
    /// add_raid: low, medium or high.
    pub severity: Option<String>,
    /// add_raid: `user:ID` or `contact:ID`.
    pub owner: Option<String>,
    /// add_raid, comment: kept from the customer.
    pub internal: Option<bool>,
    /// set_personal: the contact.
    pub contact_id: Option<i64>,
    /// set_personal: their goal; comment: the text.
    pub text: Option<String>,
    /// set_personal: how we help.
    pub how_we_help: Option<String>,
    /// details: en or ja.
    pub language: Option<String>,
    /// details: the owner on our side (null: none).
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    pub owner_id: Option<Option<i64>>,
    /// details: the owner at the customer (null: none).
    #[serde(default, deserialize_with = "crate::wire::double_option")]
    pub customer_owner_id: Option<Option<i64>>,
}

fn need<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, Invalid> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Invalid::new(field, "is required"))
}

fn item(value: Option<u32>) -> Result<u32, Invalid> {
    value.ok_or_else(|| Invalid::new("item", "is required"))
}

fn author(raw: &str) -> Result<Author, Invalid> {
    let bad = || Invalid::new("owner", format!("'{raw}' is not user:ID or contact:ID"));
    let (kind, id) = raw.split_once(':').ok_or_else(bad)?;
    let id: i64 = id.trim().parse().map_err(|_| bad())?;
    match kind.trim() {
        "user" => Ok(Author::User(UserId::new(id))),
        "contact" => Ok(Author::Contact(ContactId::new(id))),
        _ => Err(bad()),
    }
}

impl ChangeIn {
    /// The change, checked (dates against `today`), naming the field that is wrong.
    pub fn change(self, today: jiff::civil::Date) -> Result<PlanChange, Invalid> {
        let text = |raw: &Option<String>, field: &str| {
            need(raw, field).and_then(|v| Text::parse(v).map_err(|e| e.in_field(field)))
        };
        let optional_text = |raw: &Option<String>, field: &str| {
            optional(
                raw.as_deref().filter(|v| !v.trim().is_empty()),
                field,
                Text::parse,
            )
        };
        Ok(match self.kind.trim() {
            "details" => PlanChange::Details {
                title: optional_text(&self.title, "title")?,
                status: optional(self.status.as_deref(), "status", PlanStatus::parse)?,
                owner_id: Patch::from_wire(self.owner_id).map(UserId::new),
                customer_owner_id: Patch::from_wire(self.customer_owner_id).map(ContactId::new),
                language: self
                    .language
                    .as_deref()
                    .map(|l| language(Some(l)))
                    .transpose()?,
            },
            "add_objective" => {
                let target = match &self.metric {
                    Some(metric) if !metric.trim().is_empty() => {
                        let value = self.target.ok_or_else(|| {
                            Invalid::new("target", "a measured objective needs a target")
                        })?;
                        let start = optional(self.start.as_deref(), "start", date("start"))?
                            .unwrap_or(today);
                        let due = required(need(&self.due, "due")?, "due", date("due"))?;
                        let made = Target::new(
                            Slug::parse(metric).map_err(|e| e.in_field("metric"))?,
                            value,
                            start,
                            due,
                            today,
                        )?;
                        Some(if self.relative == Some(true) {
                            made.relative()?
                        } else {
                            made
                        })
                    }
                    _ => None,
                };
                let manual_status = match &target {
                    Some(_) => None,
                    None => optional(self.status.as_deref(), "status", ObjectiveStatus::parse)?,
                };
                PlanChange::AddObjective {
                    title: text(&self.title, "title")?,
                    target,
                    manual_status,
                }
            }
            "set_objective_status" => PlanChange::SetObjectiveStatus {
                objective: item(self.item)?,
                status: required(
                    need(&self.status, "status")?,
                    "status",
                    ObjectiveStatus::parse,
                )?,
            },
            "remove_objective" => PlanChange::RemoveObjective {
                objective: item(self.item)?,
            },
            "add_deliverable" => PlanChange::AddDeliverable {
                title: text(&self.title, "title")?,
                kind: optional(
                    self.deliverable_kind.as_deref(),
                    "deliverable_kind",
                    DeliverableKind::parse,
                )?
                .unwrap_or(DeliverableKind::Document),
                url: self.url.filter(|u| !u.trim().is_empty()),
            },
            "deliver" => PlanChange::Deliver {
                deliverable: item(self.item)?,
            },
            "add_milestone" => PlanChange::AddMilestone {
                title: text(&self.title, "title")?,
                due_on: required(need(&self.due_on, "due_on")?, "due_on", date("due_on"))?,
                gate: self.gate.unwrap_or_default(),
            },
            "close_milestone" => PlanChange::CloseMilestone {
                milestone: item(self.item)?,
            },
            "add_raid" => PlanChange::AddRaid {
                kind: required(
                    need(&self.raid_kind, "raid_kind")?,
                    "raid_kind",
                    RaidKind::parse,
                )?,
                title: text(&self.title, "title")?,
                owner: optional(
                    self.owner.as_deref().filter(|o| !o.trim().is_empty()),
                    "owner",
                    author,
                )?,
                due_on: optional(
                    self.due_on.as_deref().filter(|d| !d.trim().is_empty()),
                    "due_on",
                    date("due_on"),
                )?,
                severity: optional(self.severity.as_deref(), "severity", Severity::parse)?
                    .unwrap_or(Severity::Medium),
                internal: self.internal.unwrap_or(false),
            },
            "set_raid_status" => PlanChange::SetRaidStatus {
                entry: item(self.item)?,
                status: required(need(&self.status, "status")?, "status", RaidStatus::parse)?,
            },
            "set_personal" => PlanChange::SetPersonal {
                contact_id: ContactId::new(
                    self.contact_id
                        .ok_or_else(|| Invalid::new("contact_id", "is required"))?,
                ),
                goal: text(&self.text, "text")?,
                how_we_help: optional_text(&self.how_we_help, "how_we_help")?,
                status: optional(self.status.as_deref(), "status", PersonalStatus::parse)?
                    .unwrap_or(PersonalStatus::NotStarted),
            },
            "comment" => PlanChange::Comment {
                text: text(&self.text, "text")?,
                internal: self.internal.unwrap_or(false),
            },
            other => {
                return Err(Invalid::new(
                    "kind",
                    format!("'{other}' is not a change of a plan"),
                ));
            }
        })
    }
}

/// A change and the version it was made on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// The plan's version the change was made on.
    version: i64,
    /// The change.
    change: ChangeIn,
}

/// Changes a plan (409 when it changed since `version`).
#[utoipa::path(post, path = "/api/v1/plans/{id}/changes", tag = "plans", request_body = ChangeRequest,
    params(("id" = i64, Path, description = "plan id")),
    responses((status = 200, body = PlanOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn change_plan(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ChangeRequest>,
) -> Result<Json<PlanOut>, ApiError> {
    let access = actor.write()?;
    let clock = state.clock();
    let change = body.change.change(clock.today())?;
    let (today, now) = (clock.today(), clock.now());
    let found = state
        .run(move |store| {
            let plan = plans::change(store, &access, PlanId::new(id), body.version, change, now)?;
            let progress = store.plan_progress(&access.read(), Some(plan.id))?;
            Ok((plan, progress))
        })
        .await?;
    let (plan, progress) = found;
    let progress = progress
        .into_iter()
        .map(|r| (r.objective, r.progress))
        .collect();
    Ok(Json(PlanOut::new(plan, &progress, today)))
}

/// A plan to share with a contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareIn {
    /// A contact of the plan's account.
    contact_id: i64,
    /// How many days the link opens (default 30, at most 365).
    days: Option<u32>,
}

/// A link just made: the only time its token is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedOut {
    share: ShareOut,
    /// Send this to the contact; it opens the plan without an account.
    url: String,
}

/// Shares a plan with a contact through a link that expires and can be revoked.
#[utoipa::path(post, path = "/api/v1/plans/{id}/shares", tag = "plans", request_body = ShareIn,
    params(("id" = i64, Path, description = "plan id")),
    responses((status = 201, body = SharedOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn share_plan(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ShareIn>,
) -> Result<(StatusCode, Json<SharedOut>), ApiError> {
    let access = actor.write()?;
    let now = state.clock().now();
    let base_url = state.workflow.outbox.base_url.clone();
    let shared = state
        .run(move |store| {
            Ok(plans::share(
                store,
                &access,
                PlanId::new(id),
                ContactId::new(body.contact_id),
                body.days.unwrap_or(plans::SHARE_DAYS),
                now,
                &base_url,
            )?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SharedOut {
            share: shared.share.into(),
            url: shared.url,
        }),
    ))
}

/// Revokes a shared link: it opens nothing from now on.
#[utoipa::path(delete, path = "/api/v1/plans/{id}/shares/{share}", tag = "plans",
    params(("id" = i64, Path, description = "plan id"), ("share" = i64, Path, description = "share id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_share(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, share)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    state
        .run(move |store| store.revoke_share(&access, PlanId::new(id), share))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The plan templates in force.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplatesOut {
    /// The saved version (0: the starters, nothing saved yet).
    version: i64,
    /// The templates.
    #[schema(value_type = Vec<Object>)]
    templates: Vec<PlanTemplate>,
}

/// The plan templates in force.
#[utoipa::path(get, path = "/api/v1/plan-templates", tag = "plans",
    responses((status = 200, body = TemplatesOut)))]
async fn get_templates(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<TemplatesOut>, ApiError> {
    let access = actor.read();
    let (templates, version) = state
        .run(move |store| Ok(plans::templates(store, &access)?))
        .await?;
    Ok(Json(TemplatesOut { version, templates }))
}

/// Saves the plan templates as the next version (managers).
#[utoipa::path(put, path = "/api/v1/plan-templates", tag = "plans", request_body = Vec<Object>,
    responses((status = 200, body = TemplatesOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn save_templates(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(templates): JsonBody<Vec<PlanTemplate>>,
) -> Result<Json<TemplatesOut>, ApiError> {
    let access = actor.manage()?;
    let version = state
        .run(move |store| Ok(plans::save_templates(store, &access, &templates)?))
        .await?;
    let read = actor.read();
    let (templates, _) = state
        .run(move |store| Ok(plans::templates(store, &read)?))
        .await?;
    Ok(Json(TemplatesOut { version, templates }))
}
