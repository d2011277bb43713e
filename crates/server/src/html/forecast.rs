//! The churn forecast page: the model card (what it learned from, over which dates, its
//! cross-validated AUC, when it was trained, what each feature does to the risk), every
//! paying account by churn risk with the factors that raise it (from the signals the
//! daily run keeps, so a page is one indexed query), and for leaders a held-out backtest
//! beside the scorecards in force and a button to train again.

use super::i18n;
use super::{PageUser, health_badge, layout};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::state::AppState;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_app::forecast::{ForecastBacktest, Plan, SavedModel};
use mikawaya_domain::account::{Account, AccountFilter, AccountSort, AccountSortField};
use mikawaya_domain::value::Currency;
use mikawaya_store::PageRequest;
use serde::Deserialize;

/// Accounts per page of the risk list.
const PER_PAGE: u32 = 50;

/// The page's query.
#[derive(Debug, Deserialize)]
pub struct ForecastQuery {
    cursor: Option<String>,
    trained: Option<i64>,
}

struct Loaded {
    model: Option<SavedModel>,
    accounts: Vec<Account>,
    next_cursor: Option<String>,
    users: Vec<mikawaya_domain::user::User>,
}

async fn load(
    state: &AppState,
    page_user: &PageUser,
    cursor: Option<String>,
) -> Result<Loaded, ApiError> {
    let access = page_user.actor.read();
    let page = PageRequest::new(Some(PER_PAGE), cursor.as_deref())?;
    state
        .run(move |store| {
            let model = mikawaya_app::forecast::latest_model(store, &access)?;
            let filter = AccountFilter {
                churned: Some(false),
                risk_min: Some(0.0),
                ..AccountFilter::default()
            };
            let sort = AccountSort {
                field: AccountSortField::ForecastRisk,
                descending: true,
            };
            let found = store.list_accounts(&access, &filter, sort, &page)?;
            Ok(Loaded {
                model,
                accounts: found.data,
                next_cursor: found.next_cursor,
                users: store.list_users(&mikawaya_domain::Actor::system().read())?,
            })
        })
        .await
}

/// The forecast page.
pub async fn forecast_page(
    State(state): State<AppState>,
    page_user: PageUser,
    QueryParams(query): QueryParams<ForecastQuery>,
) -> Response {
    match load(&state, &page_user, query.cursor).await {
        Ok(loaded) => render(&page_user, &loaded, None, query.trained).into_response(),
        Err(error) => super::error_page(&page_user, error),
    }
}

use super::percent;

fn render(
    page_user: &PageUser,
    loaded: &Loaded,
    held_out: Option<&ForecastBacktest>,
    trained: Option<i64>,
) -> Markup {
    let lang = page_user.lang;
    let csrf = &page_user.csrf_token;
    let manages = page_user.actor.manage().is_ok();
    let owner = |account: &Account| {
        account
            .owner_id
            .and_then(|id| loaded.users.iter().find(|u| u.id == id))
            .map_or_else(|| lang.t("unowned").to_owned(), |u| u.name.to_string())
    };
    let body = html! {
        h1 { (lang.t("forecast")) }
        @if let Some(version) = trained { p.notice role="status" { (lang.t("model_trained")) " v" (version) } }
        section data-testid="model-card" {
            h2 { (lang.t("model_card")) }
            @match &loaded.model {
                None => { p.muted { (lang.t("no_model")) } }
                Some(saved) => {
                    @let model = &saved.model;
                    @let chosen = model.candidates.iter().find(|c| c.alpha == model.alpha).and_then(|c| c.mean_auc);
                    div.facts { dl {
                        div { dt { (lang.t("version")) } dd { "v" (saved.version) } }
                        div { dt { (lang.t("trained_at")) } dd { (saved.saved_at.strftime("%Y-%m-%d %H:%M UTC")) } }
                        div { dt { (lang.t("trained_through")) } dd { @if let Some(d) = model.trained_through { (i18n::date(d, lang)) } } }
                        div { dt { (lang.t("horizon")) } dd { (model.horizon_days) " " (lang.t("day_unit")) } }
                        div { dt { (lang.t("examples")) } dd { (i18n::group_digits(model.n as u64)) " (" (lang.t("churned")) " " (i18n::group_digits(model.n_churned as u64)) ")" } }
                        div { dt { (lang.t("validation_auc")) } dd data-testid="validation-auc" { (chosen.map_or_else(|| "—".to_owned(), |a| format!("{a:.3}"))) } }
                    } }
                    p.muted { (lang.t("model_help")) }
                    table tabindex="0" {
                        thead { tr { th scope="col" { (lang.t("feature")) } th.num scope="col" { (lang.t("coefficient")) } th scope="col" { (lang.t("effect")) } } }
                        tbody { @for (name, coefficient) in model.features.iter().zip(&model.coefficients) { tr {
                            td { (name) }
                            td.num { (format!("{coefficient:+.3}")) }
                            td { @if *coefficient > 0.0 { (lang.t("more_is_riskier")) } @else { (lang.t("more_is_safer")) } }
                        } } }
                    }
                }
            }
            @if manages {
                div.actions {
                    form method="post" action="/forecast/train" { input type="hidden" name="csrf_token" value=(csrf); button type="submit" { (lang.t("train_again")) } }
                    form method="post" action="/forecast/backtest" { input type="hidden" name="csrf_token" value=(csrf); button type="submit" { (lang.t("backtest_forecast")) } }
                }
            }
        }
        @if let Some(found) = held_out {
            section data-testid="forecast-backtest" {
                h2 { (lang.t("held_out")) }
                @let day = |d: Option<jiff::civil::Date>| d.map_or_else(|| "—".to_owned(), |d| i18n::date(d, lang));
                p.muted { (day(found.test_dates.0)) " – " (day(found.test_dates.1)) " (" (found.test_dates.2) ")" }
                table tabindex="0" {
                    thead { tr { th scope="col" { } th.num scope="col" { (lang.t("forecast")) } th.num scope="col" { (lang.t("current_cards")) } } }
                    tbody {
                        tr { th scope="row" { "AUC" } td.num data-testid="auc" { (found.forecast.auc.map_or_else(|| "—".to_owned(), |a| format!("{a:.3}"))) } td.num data-testid="auc" { (found.scorecard.auc.map_or_else(|| "—".to_owned(), |a| format!("{a:.3}"))) } }
                        tr { th scope="row" { (lang.t("top_decile_lift")) } td.num { (found.forecast.top_decile_lift.map_or_else(|| "—".to_owned(), |a| format!("{a:.2}"))) } td.num { (found.scorecard.top_decile_lift.map_or_else(|| "—".to_owned(), |a| format!("{a:.2}"))) } }
                        tr { th scope="row" { (lang.t("observations")) } td.num { (found.forecast.n) } td.num { (found.scorecard.n) } }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("accounts_by_risk")) }
            table tabindex="0" data-testid="risk-list" {
                thead { tr {
                    th scope="col" { (lang.t("name")) }
                    th.num scope="col" { (lang.t("churn_risk")) }
                    th scope="col" { (lang.t("risk_factors")) }
                    th scope="col" { (lang.t("health")) }
                    th.num scope="col" { (lang.t("arr")) }
                    th scope="col" { (lang.t("owner")) }
                } }
                tbody { @for account in &loaded.accounts { tr {
                    td { a href=(format!("/accounts/{}", account.id)) { (account.name) } }
                    td.num data-testid="risk" { (percent(account.signals.forecast_risk)) }
                    td { (account.signals.forecast_factors.join(", ")) }
                    td { @if let Some(score) = account.signals.health { (health_badge(lang, score)) } }
                    td.num { (i18n::money(account.arr(), &Currency::parse(account.currency.as_str()).unwrap_or_default())) }
                    td { (owner(account)) }
                } } }
            }
            @if let Some(cursor) = &loaded.next_cursor {
                nav.pager aria-label=(lang.t("accounts_by_risk")) { a href=(format!("/forecast?cursor={cursor}")) rel="next" { (lang.t("next")) " →" } }
            }
        }
    };
    layout(
        lang,
        lang.t("forecast"),
        Some((&page_user.user, csrf)),
        body,
    )
}

/// A form carrying only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf_token: String,
}

/// The plan a leader's button runs: the year before today, every 14 days, 90-day horizon.
fn plan(state: &AppState) -> Plan {
    Plan {
        as_of: state.clock().today(),
        horizon_days: 90,
        every_days: 14,
        folds: 4,
    }
}

/// Trains the model again on the year before today (leaders and admins).
pub async fn train(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<TokenForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        page_user.actor.manage()?;
        let plan = plan(&state);
        let saved = state
            .run_with_usage(move |store, usage| {
                Ok(mikawaya_app::forecast::train(store, usage, &plan)?)
            })
            .await?;
        // Every account's risk by the new model, for lists and this page.
        state.refresh_health_snapshot();
        Ok::<_, ApiError>(
            Redirect::to(&format!("/forecast?trained={}", saved.version)).into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// Judges the forecast on held-out dates beside the scorecards in force.
pub async fn backtest(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<TokenForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        page_user.actor.manage()?;
        let plan = plan(&state);
        let found = state
            .run_with_usage(move |store, usage| {
                Ok(mikawaya_app::forecast::backtest_forecast(
                    store,
                    usage,
                    &plan,
                    &[],
                )?)
            })
            .await?;
        let loaded = load(&state, &page_user, None).await?;
        Ok::<_, ApiError>(render(&page_user, &loaded, Some(&found), None).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

#[cfg(test)]
mod tests {
    #[test]
    fn percents_have_one_decimal() {
        assert_eq!(super::percent(Some(0.1234)), "12.3%");
        assert_eq!(super::percent(None), "—");
    }
}
