//! Proof on screen for leaders: churn, GRR and NRR cohorts by any dimension (each account
//! in the cohort it was in when the period began), and the metric explorer (define a
//! metric, see its distribution, its trend and whether it predicts churn). Numbers come
//! from `mikawaya_app::churn` and `mikawaya_app::explore`, as the API's and CLI's do.

use super::charts::{self, Point, Series};
use super::i18n;
use super::scorecards::describe;
use super::{PageUser, layout};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::state::AppState;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_analytics::metrics::{Metric, MetricSpec};
use mikawaya_domain::Invalid;
use mikawaya_domain::value::parse_date;
use serde::Deserialize;

use super::percent;

/// The cohort form.
#[derive(Debug, Deserialize)]
pub struct CohortQuery {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
    activity_days: Option<String>,
}

/// Churn, GRR and NRR per cohort over a period.
pub async fn cohorts_page(
    State(state): State<AppState>,
    page_user: PageUser,
    QueryParams(query): QueryParams<CohortQuery>,
) -> Response {
    let lang = page_user.lang;
    let result = async {
        let today = state.clock().today();
        let to = match query.to.as_deref().filter(|t| !t.is_empty()) {
            Some(raw) => parse_date(raw, "to")?,
            None => today,
        };
        let from = match query.from.as_deref().filter(|f| !f.is_empty()) {
            Some(raw) => parse_date(raw, "from")?,
            None => to
                .checked_sub(jiff::Span::new().years(1))
                .map_err(|e| Invalid::new("to", e.to_string()))?,
        };
        let by = query.by.clone().unwrap_or_else(|| "tier".to_owned());
        let days = match query
            .activity_days
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            Some(raw) => raw.parse::<u32>().map_err(|_| {
                Invalid::new(
                    "activity_days",
                    format!("'{raw}' is not a whole number of days"),
                )
            })?,
            None => 28,
        };
        let access = page_user.actor.read();
        let asked = by.clone();
        let sums = std::sync::Arc::clone(&state.sums);
        let (table, fields) = state
            .run_with_usage(move |store, rollups| {
                let table = mikawaya_app::churn::cohort_table(
                    store, &access, rollups, from, to, &asked, days, &sums,
                )?;
                Ok((table, store.list_custom_fields()?))
            })
            .await?;
        Ok::<_, ApiError>((table, fields, by))
    }
    .await;
    let (table, fields, by) = match result {
        Ok(found) => found,
        Err(error) => return super::error_page(&page_user, error),
    };
    // The kept table, read in place.
    let (analysis, activity) = (&table.0, &table.1);
    let cohorts = analysis.cohorts.clone().unwrap_or_default();
    let bars: Vec<Point> = cohorts
        .iter()
        .map(|(name, report)| Point {
            label: name.clone(),
            value: report.logo_churn_rate.map(|r| 100.0 * r),
        })
        .collect();
    let mut dimensions: Vec<(String, String)> = mikawaya_app::churn::COHORTS
        .iter()
        .map(|d| ((*d).to_owned(), lang.value("cohort", d)))
        .collect();
    for field in &fields {
        dimensions.push((format!("custom.{}", field.key()), field.label().to_string()));
    }
    let row = |name: &str, r: &mikawaya_analytics::churn::ChurnReport| {
        html! { tr {
            th scope="row" { (name) }
            td.num { (r.accounts_at_start) } td.num { (r.churned) } td.num { (percent(r.logo_churn_rate)) }
            td.num { (format!("{:.0}", r.mrr_at_start)) } td.num { (percent(r.grr)) } td.num { (percent(r.nrr)) }
        } }
    };
    let body = html! {
        h1 { (lang.t("cohorts")) }
        p { (lang.t("cohorts_help")) }
        form.filters method="get" action="/cohorts" {
            label { (lang.t("cohort_by")) select name="by" {
                @for (key, label) in &dimensions { option value=(key) selected[*key == by] { (label) } }
            } }
            label { (lang.t("from")) input type="date" name="from" value=(analysis.from.to_string()); }
            label { (lang.t("to")) input type="date" name="to" value=(analysis.to.to_string()); }
            label { (lang.t("activity_days")) input type="number" name="activity_days" min="1" max="3650" value=(activity.inactive_days); }
            button type="submit" { (lang.t("show")) }
        }
        table tabindex="0" data-testid="cohorts" {
            thead { tr {
                th scope="col" { (lang.t("cohort")) }
                th.num scope="col" { (lang.t("accounts_at_start")) } th.num scope="col" { (lang.t("churned")) } th.num scope="col" { (lang.t("logo_churn")) }
                th.num scope="col" { (lang.t("mrr_at_start")) } th.num scope="col" { "GRR" } th.num scope="col" { "NRR" }
            } }
            tbody {
                @for (name, report) in &cohorts { (row(name, report)) }
                (row(lang.t("all_accounts"), &analysis.overall))
            }
        }
        p data-testid="churn-equivalents" {
            (lang.t("logo_churn")) " " (percent(analysis.overall.logo_churn_rate)) " · "
            (lang.t("per_month")) " " (percent(analysis.overall.logo_churn_monthly)) " · "
            (lang.t("per_year")) " " (percent(analysis.overall.logo_churn_annual)) " " (lang.t("by_survival"))
        }
        @if !bars.is_empty() {
            (charts::bars("cohort-chart", lang.t("logo_churn"), &bars, [lang.t("cohort"), lang.t("logo_churn")]))
        }
        section data-testid="activity-churn" {
            h2 { (lang.t("activity_churn")) }
            p.muted { (lang.t("activity_churn_help").replace("{n}", &activity.inactive_days.to_string())) }
            table tabindex="0" {
                tbody {
                    tr { th scope="row" { (lang.t("active_at_start")) } td.num { (activity.accounts_at_start) } }
                    tr { th scope="row" { (lang.t("churned")) } td.num { (activity.churned) } }
                    tr { th scope="row" { (lang.t("activity_churn")) } td.num { (percent(activity.rate)) } }
                    tr { th scope="row" { (lang.t("per_month")) } td.num { (percent(activity.monthly)) } }
                    tr { th scope="row" { (lang.t("per_year")) } td.num { (percent(activity.annual)) } }
                }
            }
        }
    };
    layout(
        lang,
        lang.t("cohorts"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    )
    .into_response()
}

/// Which metric to explore, and the direction its backtest assumes.
#[derive(Debug, Deserialize)]
pub struct MetricQuery {
    name: Option<String>,
    direction: Option<String>,
}

/// The metric explorer.
pub async fn metrics_page(
    State(state): State<AppState>,
    page_user: PageUser,
    QueryParams(query): QueryParams<MetricQuery>,
) -> Response {
    let access = page_user.actor.read();
    let day = state.clock().today();
    let name = query.name.clone().filter(|n| !n.is_empty());
    let direction = query.direction.clone();
    let result = state
        .run_with_usage(move |store, usage| {
            let metrics = mikawaya_app::scorecards::candidates(store, &access, usage)?;
            let events = mikawaya_app::scorecards::event_names(store, &access, usage)?;
            let explored = match &name {
                Some(name) => {
                    let metric = metrics
                        .iter()
                        .find(|m| m.name().as_str() == name)
                        .cloned()
                        .ok_or_else(|| Invalid::new("name", format!("no metric named {name}")))?;
                    let higher = match direction.as_deref() {
                        Some("higher") => true,
                        Some("lower") => false,
                        _ => mikawaya_app::explore::default_higher_is_riskier(&metric),
                    };
                    let found = mikawaya_app::explore::explore(
                        store, &access, usage, &metric, day, higher,
                    )?;
                    Some((metric, found))
                }
                None => None,
            };
            let defined: Vec<String> = store.list_metrics()?.into_iter().map(|(n, _)| n).collect();
            Ok((metrics, events, explored, defined))
        })
        .await;
    let (metrics, events, explored, defined) = match result {
        Ok(found) => found,
        Err(error) => return super::error_page(&page_user, error),
    };
    render_metrics(&page_user, &metrics, &events, explored.as_ref(), &defined).into_response()
}

fn render_metrics(
    page_user: &PageUser,
    metrics: &[Metric],
    events: &[String],
    explored: Option<&(Metric, mikawaya_app::explore::Exploration)>,
    defined: &[String],
) -> Markup {
    let lang = page_user.lang;
    let csrf = &page_user.csrf_token;
    let number = |v: f64| {
        if v.abs() >= 100.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    let body = html! {
        h1 { (lang.t("metric_explorer")) }
        p { (lang.t("metric_explorer_help")) }
        form.filters method="get" action="/explore" {
            label { (lang.t("measure")) select name="name" {
                @for metric in metrics {
                    option value=(metric.name()) selected[explored.is_some_and(|(m, _)| m.name() == metric.name())] {
                        (metric.name()) " · " (describe(metric.spec(), lang))
                        @if defined.iter().any(|d| d == metric.name().as_str()) { " ★" }
                    }
                }
            } }
            label { (lang.t("direction")) select name="direction" {
                option value="" { (lang.t("direction_auto")) }
                option value="lower" selected[explored.is_some_and(|(_, e)| !e.higher_is_riskier)] { (lang.t("lower_is_riskier")) }
                option value="higher" selected[explored.is_some_and(|(_, e)| e.higher_is_riskier)] { (lang.t("higher_is_riskier")) }
            } }
            button type="submit" { (lang.t("explore")) }
        }
        @if let Some((metric, found)) = explored {
            section data-testid="exploration" {
                h2 { (metric.name()) " · " (describe(metric.spec(), lang)) }
                p.muted { (lang.t("as_of")) " " (i18n::date(found.day, lang)) " · " (lang.t("accounts")) " " (found.with_value) " · " (lang.t("no_value")) " " (found.missing) }
                h3 { (lang.t("distribution")) }
                @let bars: Vec<Point> = found.distribution.iter().map(|b| Point { label: format!("{}–{}", number(b.low), number(b.high)), value: Some(b.accounts as f64) }).collect();
                (charts::bars("distribution-chart", lang.t("distribution"), &bars, [lang.t("value_range"), lang.t("accounts")]))
                h3 { (lang.t("trend")) }
                @let labels: Vec<String> = found.trend.iter().map(|p| p.day.to_string()).collect();
                @let series = [
                    Series { name: "p25".to_owned(), values: found.trend.iter().map(|p| p.p25).collect(), dashed: true },
                    Series { name: lang.t("median").to_owned(), values: found.trend.iter().map(|p| p.median).collect(), dashed: false },
                    Series { name: "p75".to_owned(), values: found.trend.iter().map(|p| p.p75).collect(), dashed: true },
                ];
                (charts::lines("trend-chart", lang.t("trend"), &labels, &series, 0.0, lang.t("day")))
                h3 { (lang.t("does_it_predict")) }
                table tabindex="0" {
                    tbody {
                        tr { th scope="row" { "AUC" } td.num data-testid="metric-auc" { (found.backtest.auc.map_or_else(|| "—".to_owned(), |a| format!("{a:.3}"))) } }
                        tr { th scope="row" { (lang.t("top_decile_lift")) } td.num { (found.backtest.top_decile_lift.map_or_else(|| "—".to_owned(), |a| format!("{a:.2}"))) } }
                        tr { th scope="row" { (lang.t("observations")) } td.num { (found.backtest.n) " (" (lang.t("churned")) " " (found.backtest.n_churned) ")" } }
                    }
                }
                @let calibration: Vec<Point> = found.backtest.calibration.iter().map(|r| Point { label: format!("D{}", r.decile), value: Some(100.0 * r.churn_rate) }).collect();
                (charts::bars("metric-calibration", lang.t("calibration"), &calibration, [lang.t("decile"), lang.t("churn_rate")]))
            }
        }
        @if !defined.is_empty() {
            @let names = match explored {
                Some((metric, _)) if defined.iter().any(|d| d == metric.name().as_str()) => metric.name().to_string(),
                _ => defined.iter().take(8).cloned().collect::<Vec<_>>().join(","),
            };
            section data-testid="metric-table" {
                h2 { (lang.t("metric_table")) }
                p.muted { (lang.t("metric_table_help")) }
                form.grid method="get" action="/api/v1/analytics/metric-table" {
                    label { (lang.t("metric_names")) input type="text" name="names" required value=(names); }
                    label { (lang.t("from")) input type="date" name="from"; }
                    label { (lang.t("to")) input type="date" name="to"; }
                    label { (lang.t("every")) select name="every" {
                        option value="7d" { (lang.t("every_week")) }
                        option value="1d" { (lang.t("every_day")) }
                        option value="28d" { (lang.t("every_4_weeks")) }
                    } }
                    label { (lang.t("file_format")) select name="format" {
                        option value="csv" { "CSV" }
                        option value="jsonl" { "JSON lines" }
                        option value="parquet" { "Parquet" }
                    } }
                    label { (lang.t("churn_horizon_days")) input type="number" name="churn_horizon_days" min="1" max="3650"; }
                    label { (lang.t("before_renewal_days")) input type="number" name="before_renewal_days" min="1" max="366"; }
                    button type="submit" { (lang.t("download")) }
                }
            }
        }
        @if let Some((metric, _)) = explored.filter(|(m, _)| page_user.actor.manage().is_ok() && defined.iter().any(|d| d == m.name().as_str())) {
            section data-testid="change-metric" {
                h2 { (lang.t("change_metric")) }
                form.grid method="post" action="/explore/change" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    input type="hidden" name="name" value=(metric.name());
                    label { (lang.t("new_name")) input type="text" name="to" pattern="[a-z][a-z0-9_-]*"; }
                    button type="submit" name="action" value="rename" { (lang.t("rename")) }
                    button type="submit" name="action" value="delete" { (lang.t("delete_metric")) }
                }
                p.muted { (lang.t("change_metric_note")) }
            }
        }
        @if page_user.actor.manage().is_ok() {
            section {
                h2 { (lang.t("define_metric")) }
                form.grid method="post" action="/explore" data-testid="define-metric" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("metric_name")) input type="text" name="name" required pattern="[a-z][a-z0-9_-]*"; }
                    label { (lang.t("metric_kind")) select name="kind" {
                        @for kind in ["count", "distinct_users", "days_since", "per_month", "per_period", "sum", "pct_change", "ratio", "sum_of"] {
                            option value=(kind) { (lang.value("metric_kind", kind)) }
                        }
                    } }
                    label { (lang.t("event")) select name="event" {
                        option value="*" { (lang.t("all_events")) }
                        @for event in events { option value=(event) { (event) } }
                    } }
                    label { (lang.t("property")) input type="text" name="property"; }
                    label { (lang.t("window_days")) input type="number" name="window_days" min="1" max="366" value="28"; }
                    label { (lang.t("period_days")) input type="number" name="period_days" min="1" max="366"; }
                    label { (lang.t("min_tenure_days")) input type="number" name="min_tenure_days" min="1" max="3660"; }
                    label { input type="checkbox" name="through_observation_day" value="1"; " " (lang.t("through_observation_day")) }
                    @if !defined.is_empty() {
                        label { (lang.t("first_metric")) select name="first" {
                            option value="" { "—" }
                            @for name in defined { option value=(name) { (name) } }
                        } }
                        label { (lang.t("second_metric")) select name="second" {
                            option value="" { "—" }
                            @for name in defined { option value=(name) { (name) } }
                        } }
                        label { (lang.t("combine")) select name="combine" {
                            option value="add" { (lang.t("combine_add")) }
                            option value="subtract" { (lang.t("combine_subtract")) }
                        } }
                        label { (lang.t("scale")) input type="number" name="scale" step="any"; }
                    }
                    button type="submit" { (lang.t("define_and_explore")) }
                }
            }
        }
    };
    layout(
        lang,
        lang.t("metric_explorer"),
        Some((&page_user.user, csrf)),
        body,
    )
}

/// The define-a-metric form.
#[derive(Debug, Deserialize)]
pub struct DefineForm {
    csrf_token: String,
    name: String,
    kind: String,
    event: Option<String>,
    property: Option<String>,
    window_days: Option<String>,
    period_days: Option<String>,
    min_tenure_days: Option<String>,
    through_observation_day: Option<String>,
    first: Option<String>,
    second: Option<String>,
    combine: Option<String>,
    scale: Option<String>,
}

/// A blank form field is one not given; a filled one must be a whole number.
fn whole(raw: Option<&String>, field: &str) -> Result<Option<u32>, Invalid> {
    match raw.map(|r| r.trim()).filter(|r| !r.is_empty()) {
        Some(raw) => mikawaya_domain::value::half_width(raw)
            .parse::<u32>()
            .map(Some)
            .map_err(|_| Invalid::new(field, format!("'{raw}' is not a whole number of days"))),
        None => Ok(None),
    }
}

/// Defines a metric from the form (leaders and admins) and explores it.
pub async fn define_metric(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<DefineForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.manage()?;
        let event = form.event.clone().filter(|e| !e.is_empty());
        let window_days = whole(form.window_days.as_ref(), "window_days")?;
        let period_days = whole(form.period_days.as_ref(), "period_days")?;
        let min_tenure_days = whole(form.min_tenure_days.as_ref(), "min_tenure_days")?;
        let scale = match form
            .scale
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => Some(
                mikawaya_domain::value::half_width(raw)
                    .parse::<f64>()
                    .map_err(|_| Invalid::new("scale", format!("'{raw}' is not a number")))?,
            ),
            None => None,
        };
        // The stored spec of a metric picked in a select (ratio, sum_of).
        let picked = |raw: Option<&String>, field: &'static str| {
            let name = raw.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
            let state = state.clone();
            async move {
                let Some(name) = name else {
                    return Err(ApiError::from(Invalid::new(field, "pick a defined metric")));
                };
                let spec = state.run(move |store| store.get_metric(&name)).await?;
                serde_json::from_str::<MetricSpec>(&spec).map_err(ApiError::internal)
            }
        };
        let count = |name: &str| MetricSpec {
            name: name.to_owned(),
            kind: "count".to_owned(),
            event: event.clone().or_else(|| Some("*".to_owned())),
            window_days,
            ..MetricSpec::default()
        };
        let spec = match form.kind.as_str() {
            "pct_change" => MetricSpec {
                name: form.name.trim().to_owned(),
                kind: "pct_change".to_owned(),
                of: Some(Box::new(count("base"))),
                window_days,
                ..MetricSpec::default()
            },
            "count" | "per_month" | "per_period" | "sum" => MetricSpec {
                kind: form.kind.clone(),
                property: form.property.clone().filter(|p| !p.trim().is_empty()),
                period_days,
                min_tenure_days,
                ..count(form.name.trim())
            },
            "days_since" => MetricSpec {
                name: form.name.trim().to_owned(),
                kind: "days_since".to_owned(),
                event: event.clone().filter(|e| e != "*"),
                through_observation_day: form.through_observation_day.is_some(),
                ..MetricSpec::default()
            },
            "ratio" => MetricSpec {
                name: form.name.trim().to_owned(),
                kind: "ratio".to_owned(),
                numerator: Some(Box::new(picked(form.first.as_ref(), "first").await?)),
                denominator: Some(Box::new(picked(form.second.as_ref(), "second").await?)),
                scale,
                ..MetricSpec::default()
            },
            "sum_of" => {
                let weight = if form.combine.as_deref() == Some("subtract") {
                    -1.0
                } else {
                    1.0
                };
                MetricSpec {
                    name: form.name.trim().to_owned(),
                    kind: "sum_of".to_owned(),
                    terms: vec![
                        mikawaya_analytics::metrics::MetricTerm {
                            metric: picked(form.first.as_ref(), "first").await?,
                            weight: 1.0,
                        },
                        mikawaya_analytics::metrics::MetricTerm {
                            metric: picked(form.second.as_ref(), "second").await?,
                            weight,
                        },
                    ],
                    ..MetricSpec::default()
                }
            }
            _ => MetricSpec {
                name: form.name.trim().to_owned(),
                kind: form.kind.clone(),
                window_days,
                ..MetricSpec::default()
            },
        };
        let metric = Metric::check(&spec)?;
        let json = serde_json::to_string(&spec).map_err(ApiError::internal)?;
        let name = metric.name().to_string();
        let stored = name.clone();
        state
            .run(move |store| store.put_metric(&access, &stored, &json))
            .await?;
        Ok::<_, ApiError>(Redirect::to(&format!("/explore?name={name}")).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// The rename-or-delete form of a defined metric.
#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    csrf_token: String,
    name: String,
    action: String,
    to: Option<String>,
}

/// Renames or deletes a defined metric with its stored values (leaders and admins).
pub async fn change_metric(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<ChangeForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.manage()?;
        let (name, to) = (form.name.clone(), form.to.clone().unwrap_or_default());
        let rename = match form.action.as_str() {
            "delete" => false,
            "rename" => true,
            _ => return Err(Invalid::new("action", "must be rename or delete").into()),
        };
        let target = state
            .run(move |store| {
                if rename {
                    mikawaya_app::metrics::rename(store, &access, &name, &to)
                        .map(|to| format!("/explore?name={to}"))
                } else {
                    mikawaya_app::metrics::delete(store, &access, &name).map(|()| "/explore".into())
                }
                .map_err(mikawaya_store::StoreError::from)
            })
            .await?;
        Ok::<_, ApiError>(Redirect::to(&target).into_response())
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}
