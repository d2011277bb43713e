//! The team page (leaders, admins; a CSM sees the same numbers for the accounts they can
//! see): each person's workload by name (paying accounts per tier, effort, ARR, open and
//! overdue tasks, renewals within 90 days and the ARR at risk among them) and the team's
//! task board, overdue first. Read from `mikawaya_app::team` like `GET /api/v1/team`.

use super::i18n::{self, Lang};
use super::{PageUser, layout};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mikawaya_app::team::{Effort, Team};
use mikawaya_domain::value::Currency;
use std::sync::Arc;

/// How many tasks the board lists per person (the rest are one link away).
const BOARD_TASKS: usize = 8;

/// The team page.
pub async fn team_page(State(state): State<AppState>, page_user: PageUser) -> Response {
    let access = page_user.actor.read();
    let day = state.clock().today();
    let sums = Arc::clone(&state.sums);
    let result = state
        .run(move |store| {
            Ok(mikawaya_app::team::team(
                store,
                &access,
                day,
                Effort::default(),
                &sums,
            )?)
        })
        .await;
    match result {
        Ok(team) => render(&page_user, &team).into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

fn render(page_user: &PageUser, team: &Team) -> Markup {
    let lang = page_user.lang;
    let currency = Currency::parse(&team.currency).unwrap_or_default();
    let money = |amount: f64| i18n::money(amount, &currency);
    let who = |name: &Option<String>| name.clone().unwrap_or_else(|| lang.t("unowned").to_owned());
    let effort = team.effort;
    let body = html! {
        h1 { (lang.t("team")) }
        p.muted data-testid="effort-formula" { (effort_formula(lang, effort)) }
        section {
            h2 { (lang.t("workload")) }
            table tabindex="0" data-testid="workload" {
                thead { tr {
                    th scope="col" { (lang.t("owner")) }
                    th.num scope="col" { (lang.t("high")) } th.num scope="col" { (lang.t("low")) } th.num scope="col" { (lang.t("tech")) }
                    th.num scope="col" { (lang.t("effort")) }
                    th.num scope="col" { (lang.t("arr")) }
                    th.num scope="col" { (lang.t("open_tasks")) } th.num scope="col" { (lang.t("overdue")) }
                    th.num scope="col" { (lang.t("renewals_in_90")) }
                    th.num scope="col" { (lang.t("arr_at_risk")) }
                } }
                tbody { @for row in &team.workload { tr {
                    th scope="row" { @match row.owner_id {
                        Some(id) => { a href=(format!("/today?owner_id={id}")) { (who(&row.name)) } }
                        None => { (who(&row.name)) }
                    } }
                    @for tier in ["high", "low", "tech"] { td.num { (row.accounts.get(tier).copied().unwrap_or(0)) } }
                    td.num { (format!("{:.1}", row.effort)) }
                    td.num { (money(row.arr)) }
                    td.num { (row.open_tasks) }
                    td.num { @if row.overdue_tasks > 0 { span.badge.overdue { (row.overdue_tasks) } } @else { "0" } }
                    td.num { (row.renewals) " · " (money(row.renewing_arr)) }
                    td.num { (money(row.arr_at_risk)) }
                } } }
            }
        }
        section {
            h2 { (lang.t("task_board")) }
            div.board data-testid="task-board" {
                @for ((owner, tasks), row) in team.board.iter().zip(&team.workload) {
                    @if !tasks.is_empty() {
                        section.column {
                            h3 { (who(&row.name)) " (" (tasks.len()) ")" }
                            ul.plain { @for item in tasks.iter().take(BOARD_TASKS) { li {
                                @if item.overdue { span.badge.overdue { (lang.t("overdue")) } " " }
                                (i18n::date(item.task.due_on, lang)) " · " (item.task.title) " · "
                                a href=(format!("/accounts/{}", item.task.account_id)) { (item.account) }
                            } } }
                            @let filter = owner.map_or_else(|| "queue".to_owned(), |id| id.to_string());
                            @if tasks.len() > BOARD_TASKS { p { a href=(format!("/tasks?owner={filter}")) { (lang.t("all_tasks")) " (" (tasks.len()) ")" } } }
                        }
                    }
                }
            }
        }
    };
    layout(
        lang,
        lang.t("team"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    )
}

fn effort_formula(lang: Lang, effort: Effort) -> String {
    match lang {
        Lang::En => format!(
            "Effort = {} × high touch + {} × low touch + {} × tech touch paying accounts; renewals at risk have health below {} or none.",
            effort.high,
            effort.low,
            effort.tech,
            mikawaya_app::team::AT_RISK_BELOW
        ),
        Lang::Ja => format!(
            "工数 = {} × ハイタッチ ＋ {} × ロータッチ ＋ {} × テックタッチ（契約中の顧客数）。ヘルス{}未満またはスコアなしの更新をリスクとします。",
            effort.high,
            effort.low,
            effort.tech,
            mikawaya_app::team::AT_RISK_BELOW
        ),
    }
}
