//! `GET /api/v1/team`: each owner's workload and the team's open tasks, overdue first
//! (`mikawaya_app::team`, as the team page shows them).

use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use mikawaya_app::team::{Effort, Workload};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(team))
}

/// One open task on the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardTaskOut {
    id: i64,
    title: String,
    account_id: i64,
    account: String,
    due_on: String,
    overdue: bool,
}

/// One owner's column of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumnOut {
    owner_id: Option<i64>,
    tasks: Vec<BoardTaskOut>,
}

/// The team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    currency: String,
    /// Effort points per paying account of each tier.
    #[schema(value_type = Object)]
    effort: Effort,
    /// Per owner, most effort first; the unowned row last.
    #[schema(value_type = Vec<Object>)]
    workload: Vec<Workload>,
    board: Vec<BoardColumnOut>,
}

/// The team's workload per owner and open tasks, overdue first (the accounts the caller
/// can see).
#[utoipa::path(get, path = "/api/v1/team", tag = "work", responses((status = 200, body = TeamOut)))]
async fn team(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<TeamOut>, ApiError> {
    let access = actor.read();
    let day = state.clock().today();
    let sums = Arc::clone(&state.sums);
    let team = state
        .run(move |store| {
            Ok(mikawaya_app::team::team(
                store,
                &access,
                day,
                Effort::default(),
                &sums,
            )?)
        })
        .await?;
    Ok(Json(TeamOut {
        currency: team.currency,
        effort: team.effort,
        workload: team.workload,
        board: team
            .board
            .into_iter()
            .map(|(owner, tasks)| BoardColumnOut {
                owner_id: owner.map(|o| o.get()),
                tasks: tasks
                    .into_iter()
                    .map(|t| BoardTaskOut {
                        id: t.task.id,
                        title: t.task.title.to_string(),
                        account_id: t.task.account_id.get(),
                        account: t.account,
                        due_on: t.task.due_on.to_string(),
                        overdue: t.overdue,
                    })
                    .collect(),
            })
            .collect(),
    }))
}
