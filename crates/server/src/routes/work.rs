//! The playbook side of the API: tasks (the CSM inbox), playbooks and their runs, rule
//! evaluation, effectiveness, the outbox, survey answers, the book of business and tier
//! assignment.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{PageOut, PageParams, date, double_option, instant, optional, patch, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::value::Text;
use mikawaya_domain::work::{
    MessageStatus, NewSurveyResponse, NewTask, Priority, RunStatus, SurveyKind, Task, TaskPatch,
    TaskStatus,
};
use mikawaya_domain::{AccountId, Actor, ContactId, Patch, UserId};
use mikawaya_playbooks::tiers::{self, TierRules};
use mikawaya_playbooks::{Clock, Report};
use mikawaya_store::work::{RunFilter, TaskFilter};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, update_task))
        .routes(routes!(list_playbooks, save_playbook))
        .routes(routes!(set_playbook))
        .routes(routes!(effectiveness))
        .routes(routes!(list_runs))
        .routes(routes!(evaluate_rules))
        .routes(routes!(list_outbox))
        .routes(routes!(add_survey_response))
        .routes(routes!(add_pulse))
        .routes(routes!(book))
        .routes(routes!(assign_tiers))
}

/// A task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    id: i64,
    account_id: i64,
    owner_id: Option<i64>,
    title: String,
    instructions: Option<String>,
    /// low, normal, high, urgent.
    priority: String,
    due_on: String,
    /// open or done.
    status: String,
    /// Open and past due (today in UTC).
    overdue: bool,
    snoozed_until: Option<String>,
    outcome: Option<String>,
    note: Option<String>,
    run_id: Option<i64>,
    phase: Option<String>,
    deliverable: Option<String>,
    created_at: String,
    completed_at: Option<String>,
}

impl TaskOut {
    /// The wire shape of a task, overdue as of `today`.
    fn new(task: Task, today: jiff::civil::Date) -> Self {
        Self {
            overdue: task.overdue(today),
            id: task.id,
            account_id: task.account_id.get(),
            owner_id: task.owner_id.map(UserId::get),
            title: task.title.into(),
            instructions: task.instructions.map(Into::into),
            priority: task.priority.as_str().to_owned(),
            due_on: task.due_on.to_string(),
            status: task.status.as_str().to_owned(),
            snoozed_until: task.snoozed_until.map(|d| d.to_string()),
            outcome: task.outcome.map(Into::into),
            note: task.note.map(Into::into),
            run_id: task.run_id,
            phase: task.phase,
            deliverable: task.deliverable,
            created_at: instant(task.created_at),
            completed_at: task.completed_at.map(instant),
        }
    }
}

/// Filters of the task inbox.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskParams {
    /// A user id, a user's email, `me`, or `none` (the team queue).
    owner: Option<String>,
    /// open or done.
    status: Option<String>,
    /// Only this account's.
    account_id: Option<i64>,
    /// Only this run's.
    run_id: Option<i64>,
    /// `true`: only open tasks past due.
    overdue: Option<bool>,
    /// `true`: also tasks snoozed past today.
    include_snoozed: Option<bool>,
    /// Rows per page, 1 to 1000 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

async fn resolve_owner(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> Result<Option<UserId>, ApiError> {
    match raw.trim() {
        "none" => Ok(None),
        "me" => actor
            .user_id()
            .map(Some)
            .ok_or_else(|| ApiError::field("owner", "a service token has no `me`")),
        value => {
            if let Ok(id) = value.parse::<i64>() {
                return Ok(Some(UserId::new(id)));
            }
            let access = actor.read();
            let wanted = value.to_lowercase();
            let users = state.run(move |store| store.list_users(&access)).await?;
            users
                .into_iter()
                .find(|u| u.email.as_str().eq_ignore_ascii_case(&wanted))
                .map(|u| Some(u.id))
                .ok_or_else(|| ApiError::field("owner", format!("no user '{value}'")))
        }
    }
}

/// The task inbox: by owner (a CSM, `me`, or `none` for the team queue), status, account,
/// overdue; snoozed tasks stay hidden until their day. Ordered by due day.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskParams),
    responses((status = 200, body = PageOut<TaskOut>), (status = 400, body = ErrorBody)))]
async fn list_tasks(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<TaskParams>,
) -> Result<Json<PageOut<TaskOut>>, ApiError> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor.clone(),
    }
    .to_request()?;
    let today = state.clock().today();
    let mut filter = TaskFilter {
        status: optional(params.status.as_deref(), "status", TaskStatus::parse)?,
        account_id: params.account_id.map(AccountId::new),
        run_id: params.run_id,
        overdue_on: params.overdue.unwrap_or(false).then_some(today),
        awake_on: (!params.include_snoozed.unwrap_or(false)).then_some(today),
        ..TaskFilter::default()
    };
    if let Some(owner) = &params.owner {
        match resolve_owner(&state, &actor, owner).await? {
            Some(id) => filter.owner_id = Some(id),
            None => filter.unassigned = true,
        }
    }
    let access = actor.read();
    let tasks = state
        .run(move |store| store.list_tasks(&access, &filter, &page))
        .await?;
    Ok(Json(PageOut::from_page(tasks, |task| {
        TaskOut::new(task, today)
    })))
}

/// A task to create by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskIn {
    account_id: i64,
    owner_id: Option<i64>,
    title: String,
    instructions: Option<String>,
    /// low, normal (default), high, urgent.
    priority: Option<String>,
    /// YYYY-MM-DD.
    due_on: String,
}

/// Creates a task.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskIn,
    responses((status = 201, body = TaskOut), (status = 400, body = ErrorBody)))]
async fn create_task(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<TaskIn>,
) -> Result<(StatusCode, Json<TaskOut>), ApiError> {
    let access = actor.write()?;
    let task = NewTask {
        account_id: AccountId::new(body.account_id),
        owner_id: body.owner_id.map(UserId::new),
        title: required(&body.title, "title", Text::parse)?,
        instructions: optional(body.instructions.as_deref(), "instructions", Text::parse)?,
        priority: optional(body.priority.as_deref(), "priority", Priority::parse)?
            .unwrap_or(Priority::Normal),
        due_on: required(&body.due_on, "due_on", date("due_on"))?,
        run_id: None,
        phase: None,
        deliverable: None,
    };
    let base_url = state.workflow.outbox.base_url.clone();
    let task = state
        .run(move |store| {
            let author = mikawaya_app::work::Author {
                actor: &actor,
                base_url: &base_url,
            };
            Ok(mikawaya_app::work::add_task(store, &access, author, task)?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TaskOut::new(task, state.clock().today())),
    ))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "task id")),
    responses((status = 200, body = TaskOut), (status = 404, body = ErrorBody)))]
async fn get_task(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<TaskOut>, ApiError> {
    let access = actor.read();
    let task = state.run(move |store| store.get_task(&access, id)).await?;
    Ok(Json(TaskOut::new(task, state.clock().today())))
}

/// Changes to a task: absent keeps, null clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    /// Reassign (null: back to the team queue).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    owner_id: Option<Option<i64>>,
    priority: Option<String>,
    due_on: Option<String>,
    /// Snooze until a day (null: wake now).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    snoozed_until: Option<Option<String>>,
    /// `done` (needs an outcome) or `open`.
    status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    outcome: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    note: Option<Option<String>>,
}

/// Snoozes, reassigns, completes (with an outcome) or reopens a task.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "task id")),
    request_body = TaskUpdate,
    responses((status = 200, body = TaskOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_task(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<TaskUpdate>,
) -> Result<Json<TaskOut>, ApiError> {
    let access = actor.write()?;
    let task_patch = TaskPatch {
        owner_id: Patch::from_wire(body.owner_id).map(UserId::new),
        priority: optional(body.priority.as_deref(), "priority", Priority::parse)?,
        due_on: optional(body.due_on.as_deref(), "due_on", date("due_on"))?,
        snoozed_until: patch(body.snoozed_until, "snoozed_until", date("snoozed_until"))?,
        status: optional(body.status.as_deref(), "status", TaskStatus::parse)?,
        outcome: patch(body.outcome, "outcome", Text::parse)?,
        note: patch(body.note, "note", Text::parse)?,
    };
    let task = state
        .run(move |store| store.update_task(&access, id, task_patch))
        .await?;
    state.react(task.account_id);
    Ok(Json(TaskOut::new(task, state.clock().today())))
}

/// A playbook as listed: its latest version.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaybookOut {
    name: String,
    version: i64,
    enabled: bool,
    /// Every saved version number.
    versions: Vec<i64>,
    /// The latest spec (title, trigger, conditions, steps, ...).
    #[schema(value_type = Object)]
    spec: serde_json::Value,
}

/// Every playbook, latest version first per name.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "playbooks", responses((status = 200, body = Vec<PlaybookOut>)))]
async fn list_playbooks(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<PlaybookOut>>, ApiError> {
    let access = actor.read();
    let versions = state
        .run(move |store| store.playbook_versions(&access, None))
        .await?;
    let mut out: Vec<PlaybookOut> = Vec::new();
    for version in versions {
        let spec = crate::wire::stored_json(&version.spec, "playbook spec")?;
        match out.iter_mut().find(|p| p.name == version.name) {
            Some(existing) => {
                existing.versions.push(version.version);
                existing.version = version.version;
                existing.enabled = version.enabled;
                existing.spec = spec;
            }
            None => out.push(PlaybookOut {
                name: version.name,
                version: version.version,
                enabled: version.enabled,
                versions: vec![version.version],
                spec,
            }),
        }
    }
    Ok(Json(out))
}

/// The version a save produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedOut {
    name: String,
    /// The new version (or the latest, when the spec did not change).
    version: i64,
}

/// Saves a playbook spec as its next version (admins and leaders); runs under way keep
/// theirs.
#[utoipa::path(post, path = "/api/v1/playbooks", tag = "playbooks",
    request_body(content = Object, description = "a playbook spec: name, title, trigger, conditions, cooldown_days, holdout_percent, outcome, steps"),
    responses((status = 201, body = SavedOut), (status = 400, body = ErrorBody)))]
async fn save_playbook(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<SavedOut>), ApiError> {
    let access = actor.manage()?;
    let playbook = mikawaya_playbooks::spec::parse(&body.to_string())?;
    let name = playbook.name().to_string();
    let spec = serde_json::to_string(playbook.spec()).map_err(ApiError::internal)?;
    let stored = name.clone();
    let version = state
        .run(move |store| store.put_playbook(&access, &stored, &spec))
        .await?;
    Ok((StatusCode::CREATED, Json(SavedOut { name, version })))
}

/// Turns a playbook on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookSwitch {
    enabled: bool,
}

/// Enables or disables a playbook's rule (admins and leaders).
#[utoipa::path(patch, path = "/api/v1/playbooks/{name}", tag = "playbooks", params(("name" = String, Path, description = "playbook name")),
    request_body = PlaybookSwitch,
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn set_playbook(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<PlaybookSwitch>,
) -> Result<StatusCode, ApiError> {
    let access = actor.manage()?;
    state
        .run(move |store| store.set_playbook_enabled(&access, &name, body.enabled))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The day outcomes are read on.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EffectParams {
    /// YYYY-MM-DD (default today).
    as_of: Option<String>,
}

/// Runs against the held-out control group (and version against version): outcome rates,
/// difference, 95% confidence interval, sample sizes.
#[utoipa::path(get, path = "/api/v1/playbooks/{name}/effectiveness", tag = "playbooks",
    params(("name" = String, Path, description = "playbook name"), EffectParams),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn effectiveness(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    QueryParams(params): QueryParams<EffectParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let as_of = optional(params.as_of.as_deref(), "as_of", date("as_of"))?
        .unwrap_or_else(|| state.clock().today());
    let access = actor.read();
    let reports = state
        .run_with_usage(move |store, usage| {
            match mikawaya_app::effect::reports(store, &access, Some(usage), Some(&name), as_of) {
                Err(mikawaya_app::AppError::Invalid(invalid)) if invalid.field == "name" => {
                    Err(mikawaya_store::StoreError::NotFound { entity: "playbook" })
                }
                other => Ok(other?),
            }
        })
        .await?;
    let report = reports
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::field("outcome", "this playbook defines no outcome to measure"))?;
    Ok(Json(
        serde_json::to_value(report).map_err(ApiError::internal)?,
    ))
}

fn playbook_error(error: mikawaya_playbooks::PlaybookError) -> ApiError {
    match error {
        mikawaya_playbooks::PlaybookError::Invalid(invalid) => ApiError::InvalidField(invalid),
        mikawaya_playbooks::PlaybookError::Store(store) => store.into(),
        other => ApiError::internal(other),
    }
}

/// A firing (run or held-out control).
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    id: i64,
    playbook: String,
    version: i64,
    account_id: i64,
    fired_on: String,
    /// Why it fired (English).
    reason: String,
    /// Why it fired, in Japanese (null for runs stored before it was kept).
    reason_ja: Option<String>,
    /// active, completed, held_out or cancelled.
    status: String,
    /// Next step.
    cursor: i64,
    resume_on: Option<String>,
}

/// Filters of runs.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    playbook: Option<String>,
    account_id: Option<i64>,
    /// active, completed, held_out or cancelled.
    status: Option<String>,
}

/// Firings of playbooks on the accounts the caller can see, oldest first.
#[utoipa::path(get, path = "/api/v1/runs", tag = "playbooks", params(RunParams),
    responses((status = 200, body = Vec<RunOut>), (status = 400, body = ErrorBody)))]
async fn list_runs(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<RunParams>,
) -> Result<Json<Vec<RunOut>>, ApiError> {
    let filter = RunFilter {
        playbook: params.playbook,
        account_id: params.account_id.map(AccountId::new),
        status: optional(params.status.as_deref(), "status", RunStatus::parse)?,
    };
    let access = actor.read();
    let runs = state
        .run(move |store| store.list_runs(&access, &filter))
        .await?;
    Ok(Json(
        runs.into_iter()
            .map(|r| RunOut {
                id: r.id,
                playbook: r.playbook,
                version: r.version,
                account_id: r.account_id.get(),
                fired_on: r.fired_on.to_string(),
                reason: r.reason,
                reason_ja: r.reason_ja,
                status: r.status.as_str().to_owned(),
                cursor: r.cursor,
                resume_on: r.resume_on.map(|d| d.to_string()),
            })
            .collect(),
    ))
}

/// An evaluation request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateIn {
    /// The evaluation day, YYYY-MM-DD (default today).
    as_of: Option<String>,
    /// Report only; write nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Evaluates every enabled playbook's rule for every account (admins and leaders): what
/// fired, for whom, why; the tasks and messages it made.
#[utoipa::path(post, path = "/api/v1/rules/evaluate", tag = "playbooks", request_body = EvaluateIn,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody)))]
async fn evaluate_rules(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<EvaluateIn>,
) -> Result<Json<Report>, ApiError> {
    let access = actor.manage()?.write();
    let clock = match optional(body.as_of.as_deref(), "as_of", date("as_of"))? {
        Some(day) => Clock::on(day),
        None => state.engine_clock(),
    };
    let store = Arc::clone(&state.store);
    let ingest = Arc::clone(&state.ingest);
    let workflow = Arc::clone(&state.workflow);
    let report = tokio::task::spawn_blocking(move || {
        mikawaya_playbooks::evaluate_live(
            store.as_ref(),
            &access,
            &ingest,
            clock,
            &workflow.settings,
            body.dry_run,
            None,
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(playbook_error)?;
    Ok(Json(report))
}

/// An outgoing message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    id: i64,
    idempotency_key: String,
    /// email or webhook.
    channel: String,
    account_id: Option<i64>,
    recipient: String,
    subject: Option<String>,
    /// pending, sending, sent, failed or suppressed.
    status: String,
    reason: Option<String>,
    attempts: i64,
    next_attempt_at: String,
    last_error: Option<String>,
    sent_at: Option<String>,
}

/// The status filter.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxParams {
    /// pending, sending, sent, failed or suppressed.
    status: Option<String>,
}

/// The outbox (admins).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "playbooks", params(OutboxParams),
    responses((status = 200, body = Vec<MessageOut>), (status = 403, body = ErrorBody)))]
async fn list_outbox(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<OutboxParams>,
) -> Result<Json<Vec<MessageOut>>, ApiError> {
    let access = actor.admin()?;
    let status = optional(params.status.as_deref(), "status", MessageStatus::parse)?;
    let messages = state
        .run(move |store| store.list_messages(&access, status))
        .await?;
    Ok(Json(
        messages
            .into_iter()
            .map(|m| MessageOut {
                id: m.id,
                idempotency_key: m.idempotency_key,
                channel: m.channel.as_str().to_owned(),
                account_id: m.account_id.map(AccountId::get),
                recipient: m.recipient,
                subject: m.subject,
                status: m.status.as_str().to_owned(),
                reason: m.reason,
                attempts: m.attempts,
                next_attempt_at: instant(m.next_attempt_at),
                last_error: m.last_error,
                sent_at: m.sent_at.map(instant),
            })
            .collect(),
    ))
}

/// A survey answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyIn {
    account_id: i64,
    contact_id: Option<i64>,
    /// nps (0-10), csat (1-5) or ces (1-7).
    kind: String,
    score: i64,
    comment: Option<String>,
    /// RFC 3339 (default now).
    answered_at: Option<String>,
}

/// The stored answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyAnswerOut {
    id: i64,
    account_id: i64,
    kind: String,
    score: i64,
    answered_at: String,
}

/// Records a survey answer; rules on survey answers are evaluated for the account at once.
#[utoipa::path(post, path = "/api/v1/surveys/responses", tag = "playbooks", request_body = SurveyIn,
    responses((status = 201, body = SurveyAnswerOut), (status = 400, body = ErrorBody)))]
async fn add_survey_response(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<SurveyIn>,
) -> Result<(StatusCode, Json<SurveyAnswerOut>), ApiError> {
    let access = actor.write()?;
    let kind = required(&body.kind, "kind", SurveyKind::parse)?;
    let response = NewSurveyResponse {
        account_id: AccountId::new(body.account_id),
        contact_id: body.contact_id.map(ContactId::new),
        kind,
        score: kind.check(body.score)?,
        comment: optional(body.comment.as_deref(), "comment", Text::parse)?,
        answered_at: optional(body.answered_at.as_deref(), "answered_at", |raw| {
            mikawaya_domain::value::parse_timestamp(raw, "answered_at")
        })?
        .unwrap_or_else(jiff::Timestamp::now),
    };
    let stored = state
        .run(move |store| store.add_survey_response(&access, response))
        .await?;
    state.react(stored.account_id);
    Ok((
        StatusCode::CREATED,
        Json(SurveyAnswerOut {
            id: stored.id,
            account_id: stored.account_id.get(),
            kind: stored.kind.as_str().to_owned(),
            score: stored.score,
            answered_at: instant(stored.answered_at),
        }),
    ))
}

/// The day a book of business is taken on.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BookParams {
    /// The day, YYYY-MM-DD (default today in the data dir's business time zone): accounts
    /// paying and ARR on that day; tasks as they stand, overdue relative to it.
    as_of: Option<String>,
}

/// Book of business: per owner, paying accounts per tier, ARR, open and overdue tasks.
#[utoipa::path(get, path = "/api/v1/book", tag = "playbooks", params(BookParams),
    responses((status = 200, body = Vec<BookRowOut>), (status = 400, body = ErrorBody)))]
async fn book(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<BookParams>,
) -> Result<Json<Vec<BookRowOut>>, ApiError> {
    let access = actor.read();
    let today = optional(params.as_of.as_deref(), "as_of", date("as_of"))?
        .unwrap_or_else(|| state.clock().today());
    let rows = state
        .run(move |store| Ok(mikawaya_app::team::book(store, &access, today)?))
        .await?;
    Ok(Json(rows.into_iter().map(BookRowOut::from).collect()))
}

/// What one owner carries (one row has no owner: the unowned accounts and tasks).
#[derive(Debug, Serialize, ToSchema)]
pub struct BookRowOut {
    /// The owner's user id (none: unowned).
    owner_id: Option<i64>,
    /// Their email.
    owner_email: Option<String>,
    /// Their name.
    owner_name: Option<String>,
    /// Paying accounts owned, per touch tier (high, low, tech).
    accounts: BTreeMap<String, usize>,
    /// Total ARR of those accounts.
    arr: f64,
    /// Open tasks.
    open_tasks: usize,
    /// Open tasks past due.
    overdue_tasks: usize,
}

impl From<tiers::BookRow> for BookRowOut {
    fn from(row: tiers::BookRow) -> Self {
        BookRowOut {
            owner_id: row.owner_id.map(|id| id.get()),
            owner_email: row.owner_email,
            owner_name: row.owner_name,
            accounts: row.accounts,
            arr: row.arr,
            open_tasks: row.open_tasks,
            overdue_tasks: row.overdue_tasks,
        }
    }
}

/// Tier and ownership assignment.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// Rules (default: the standard ones).
    #[schema(value_type = Option<Object>)]
    rules: Option<TierRules>,
    /// Report only.
    #[serde(default)]
    dry_run: bool,
}

/// Assigns touch tiers by ARR and owner CSMs round-robin within capacity (admins and
/// leaders). Returns the changes.
#[utoipa::path(post, path = "/api/v1/tiers/assign", tag = "playbooks", request_body = AssignIn,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody)))]
async fn assign_tiers(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<AssignIn>,
) -> Result<Json<tiers::Plan>, ApiError> {
    let access = actor.manage()?.write();
    let rules = body.rules.unwrap_or_else(TierRules::standard);
    rules.check()?;
    let today = state.clock().today();
    let plan = state
        .run(move |store| Ok(tiers::apply(store, &access, &rules, body.dry_run, today)?))
        .await?;
    Ok(Json(plan))
}

/// A CSM's pulse.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PulseIn {
    /// 0-100.
    score: i64,
    /// Why (required).
    reason: String,
}

/// Records the caller's manual pulse (0-100, with a reason) on an account; the `pulse`
/// metric reads the latest one in its window.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/pulses", tag = "accounts", params(("id" = i64, Path, description = "account id")),
    request_body = PulseIn,
    responses((status = 201), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_pulse(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<PulseIn>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    let pulse = mikawaya_store::work::Pulse {
        account_id: AccountId::new(id),
        user_id: actor.user_id(),
        score: body.score,
        reason: body.reason,
        created_at: jiff::Timestamp::now(),
    };
    state
        .run(move |store| store.add_pulse(&access, &pulse))
        .await?;
    Ok(StatusCode::CREATED)
}
