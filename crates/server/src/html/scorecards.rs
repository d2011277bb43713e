//! The scorecard editor (leaders and admins; others read): the cards in force (the default
//! card and the segment cards), a form for one card's measures (metric, thresholds or
//! percentile, weight) and segment, a backtest of the draft beside the cards in force on
//! the same observations before anything is saved, a card suggested from the history, and
//! the saved versions with who and when, each one click from being put back. Every number
//! comes from `mikawaya_app::scorecards`, as the API's and the CLI's do.

use super::charts::{self, Series};
use super::i18n::{self, Lang};
use super::{PageUser, layout};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::state::AppState;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_analytics::backtest::Backtest;
use mikawaya_analytics::metrics::{Metric, MetricSpec};
use mikawaya_analytics::scorecard::{
    CardSet, CardSetSpec, MeasureSpec, ScorecardSpec, SegmentCard, SegmentRule,
};
use mikawaya_app::forecast::Plan;
use mikawaya_app::scorecards::{self, Saved};
use mikawaya_domain::Invalid;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Which card the form edits: `default`, a segment card's position, or `new`.
#[derive(Debug, Deserialize)]
pub struct EditorQuery {
    card: Option<String>,
    saved: Option<i64>,
}

/// What the page shows besides the cards in force.
enum Outcome {
    /// Nothing asked yet.
    None,
    /// A draft beside the cards in force.
    Compared(Box<scorecards::Comparison>),
    /// A suggested card judged on held-out dates.
    Suggested(Box<scorecards::Suggested>),
}

/// Everything the page is drawn from.
struct Page {
    in_force: CardSet,
    saved: Option<Saved>,
    history: Vec<Saved>,
    users: Vec<mikawaya_domain::user::User>,
    metrics: Vec<Metric>,
}

async fn load(state: &AppState, page_user: &PageUser) -> Result<Page, ApiError> {
    let access = page_user.actor.read();
    state
        .run_with_usage(move |store, usage| {
            let (in_force, saved) = scorecards::in_force(store, &access)?;
            let mut metrics = scorecards::candidates(store, &access, usage)?;
            for card in in_force.cards() {
                for measure in card.measures() {
                    if !metrics.iter().any(|m| m.name() == measure.metric().name()) {
                        metrics.push(measure.metric().clone());
                    }
                }
            }
            Ok(Page {
                in_force,
                saved,
                history: scorecards::history(store, &access)?,
                users: store.list_users(&access)?,
                metrics,
            })
        })
        .await
}

/// The editor page.
pub async fn editor(
    State(state): State<AppState>,
    page_user: PageUser,
    QueryParams(query): QueryParams<EditorQuery>,
) -> Response {
    prepare_backtests(&state, &page_user);
    let result = async {
        let page = load(&state, &page_user).await?;
        let which = query.card.unwrap_or_else(|| "default".to_owned());
        let draft = card_of(&page.in_force, &which);
        Ok::<_, ApiError>(render(
            &page_user,
            &page,
            &which,
            &draft,
            Outcome::None,
            query.saved,
        ))
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

/// The editor backtests drafts on 14 monthly dates of the year that ends 90 days ago.
fn editor_plan(today: jiff::civil::Date) -> Plan {
    Plan {
        as_of: today,
        horizon_days: 90,
        every_days: 28,
        folds: 4,
    }
}

/// Reads the history the editor's backtests need in the background, while the leader
/// edits (a failure only leaves the first backtest to read it).
fn prepare_backtests(state: &AppState, page_user: &PageUser) {
    let access = page_user.actor.read();
    let plan = editor_plan(state.clock().today());
    let cache = Arc::clone(&state.backtest_history);
    let state = state.clone();
    tokio::spawn(async move {
        let prepared = state
            .run_with_usage(move |store, usage| {
                Ok(scorecards::prepare(store, &access, usage, &plan, &cache)?)
            })
            .await;
        if let Err(error) = prepared {
            tracing::warn!(error = ?error, "preparing the scorecard backtests failed");
        }
    });
}

/// The card `which` names in the cards in force (a new segment card starts from the default).
fn card_of(cards: &CardSet, which: &str) -> SegmentCard {
    let default = || SegmentCard {
        segment: SegmentRule {
            field: "tier".to_owned(),
            value: String::new(),
        },
        scorecard: cards.default_card().spec().clone(),
    };
    match which.parse::<usize>() {
        Ok(index) => cards
            .spec()
            .segments
            .get(index)
            .cloned()
            .unwrap_or_else(default),
        Err(_) => default(),
    }
}

/// How many empty measure rows the form offers for adding measures.
const SPARE_ROWS: usize = 2;

fn render(
    page_user: &PageUser,
    page: &Page,
    which: &str,
    draft: &SegmentCard,
    outcome: Outcome,
    saved_now: Option<i64>,
) -> Response {
    let lang = page_user.lang;
    let csrf = &page_user.csrf_token;
    let manages = page_user.actor.manage().is_ok();
    let is_segment = which != "default";
    let user_name = |id: Option<mikawaya_domain::UserId>| {
        id.and_then(|id| page.users.iter().find(|u| u.id == id))
            .map_or_else(|| lang.t("system").to_owned(), |u| u.name.to_string())
    };
    let rows = draft.scorecard.measures.len() + SPARE_ROWS;
    let body = html! {
        h1 { (lang.t("scorecards")) }
        @if let Some(version) = saved_now {
            p.notice role="status" data-testid="saved-notice" { (lang.t("scorecards_saved")) " v" (version) }
        }
        p.muted data-testid="in-force" {
            @match &page.saved {
                Some(saved) => { (lang.t("in_force")) ": v" (saved.version) " · " (user_name(saved.saved_by)) " · " (i18n::date(saved.saved_at.to_zoned(jiff::tz::TimeZone::UTC).date(), lang)) }
                None => { (lang.t("built_in_card")) }
            }
        }
        p { (lang.t("scorecards_help")) }
        nav.views aria-label=(lang.t("scorecards")) {
            a href="/scorecards?card=default" aria-current=[(which == "default").then_some("page")] { (lang.t("default_card")) " (" (page.in_force.default_card().name()) ")" }
            @for (index, card) in page.in_force.spec().segments.iter().enumerate() {
                a href=(format!("/scorecards?card={index}")) aria-current=[(which == index.to_string()).then_some("page")] {
                    (lang.value("segment_field", &card.segment.field)) " = " (card.segment.value) " (" (card.scorecard.name) ")"
                }
            }
            @if manages { a href="/scorecards?card=new" { "+ " (lang.t("add_segment_card")) } }
        }
        form.editor method="post" action="/scorecards" data-testid="card-editor" {
            input type="hidden" name="csrf_token" value=(csrf);
            input type="hidden" name="card" value=(which);
            div.inline {
                label { (lang.t("card_name")) input type="text" name="name" value=(draft.scorecard.name) required; }
                @if is_segment {
                    label { (lang.t("segment_field_label")) select name="segment_field" {
                        @for field in ["tier", "plan", "stage"] {
                            option value=(field) selected[draft.segment.field == field] { (lang.value("segment_field", field)) }
                        }
                    } }
                    label { (lang.t("segment_value")) input type="text" name="segment_value" value=(draft.segment.value); }
                }
            }
            table tabindex="0" {
                caption { (lang.t("measures")) }
                thead { tr {
                    th scope="col" { (lang.t("measure")) }
                    th scope="col" { (lang.t("mapping")) }
                    th.num scope="col" { (lang.t("red_at")) }
                    th.num scope="col" { (lang.t("green_at")) }
                    th.num scope="col" { (lang.t("weight")) }
                } }
                tbody {
                    @for index in 0..rows {
                        @let measure = draft.scorecard.measures.get(index);
                        tr {
                            td { select name=(format!("m{index}_metric")) aria-label=(format!("{} {}", lang.t("measure"), index + 1)) {
                                option value="" { "—" }
                                @for metric in &page.metrics {
                                    option value=(metric.name()) selected[measure.is_some_and(|m| m.metric.name == metric.name().as_str())] {
                                        (metric.name()) " · " (describe(metric.spec(), lang))
                                    }
                                }
                            } }
                            td { select name=(format!("m{index}_mapping")) aria-label=(format!("{} {}", lang.t("mapping"), index + 1)) {
                                option value="thresholds" selected[measure.is_some_and(|m| !m.percentile)] { (lang.t("thresholds")) }
                                option value="percentile" selected[measure.is_some_and(|m| m.percentile)] { (lang.t("percentile")) }
                            } }
                            td.num { input type="text" inputmode="decimal" size="6" name=(format!("m{index}_red")) aria-label=(format!("{} {}", lang.t("red_at"), index + 1)) value=[measure.and_then(|m| m.red).map(number)]; }
                            td.num { input type="text" inputmode="decimal" size="6" name=(format!("m{index}_green")) aria-label=(format!("{} {}", lang.t("green_at"), index + 1)) value=[measure.and_then(|m| m.green).map(number)]; }
                            td.num { input type="text" inputmode="decimal" size="4" name=(format!("m{index}_weight")) aria-label=(format!("{} {}", lang.t("weight"), index + 1)) value=[measure.map(|m| number(m.weight))]; }
                        }
                    }
                }
            }
            p.muted { (lang.t("mapping_help")) }
            div.actions {
                button type="submit" name="action" value="backtest" { (lang.t("backtest_draft")) }
                @if manages {
                    button type="submit" name="action" value="save" { (lang.t("save_version")) }
                    @if !is_segment { button type="submit" name="action" value="suggest" { (lang.t("suggest_card")) } }
                }
            }
        }
        @match &outcome {
            Outcome::None => {}
            Outcome::Compared(found) => {
                section data-testid="draft-backtest" {
                    h2 { (lang.t("draft_backtest")) }
                    p.muted { (dates_line(lang, found.dates, found.horizon_days)) }
                    (side_by_side(lang, &[(lang.t("current_cards"), &found.current), (lang.t("draft"), &found.draft)]))
                }
            }
            Outcome::Suggested(found) => {
                section data-testid="suggestion" {
                    h2 { (lang.t("suggested_card")) }
                    p { (lang.t("suggest_help")) }
                    table tabindex="0" {
                        thead { tr { th scope="col" { (lang.t("measure")) } th.num scope="col" { (lang.t("weight")) } th.num scope="col" { (lang.t("red_at")) } th.num scope="col" { (lang.t("green_at")) } th.num scope="col" { (lang.t("auc_alone")) } } }
                        tbody { @for c in &found.suggestion.chosen { tr {
                            td { (c.metric) } td.num { (c.weight) } td.num { (number(c.red)) } td.num { (number(c.green)) } td.num { (format!("{:.3}", c.auc_alone)) }
                        } } }
                    }
                    @let held = &found.held_out;
                    p.muted { (lang.t("held_out")) ": " (dates_line(lang, held.test_dates, held.horizon_days)) }
                    @if let Some(suggested) = held.others.first() {
                        (side_by_side(lang, &[(lang.t("suggested_card"), suggested), (lang.t("current_cards"), &held.scorecard), (lang.t("forecast"), &held.forecast)]))
                    }
                }
            }
        }
        section {
            h2 { (lang.t("versions")) }
            @if page.history.is_empty() { p.muted { (lang.t("built_in_card")) } } @else {
                table tabindex="0" data-testid="versions" {
                    thead { tr { th.num scope="col" { (lang.t("version")) } th scope="col" { (lang.t("saved_at")) } th scope="col" { (lang.t("saved_by")) } th scope="col" { (lang.t("default_card")) } th.num scope="col" { (lang.t("segment_cards")) } th scope="col" { } } }
                    tbody { @for (position, saved) in page.history.iter().enumerate() { tr {
                        td.num { "v" (saved.version) }
                        td { (saved.saved_at.strftime("%Y-%m-%d %H:%M UTC")) }
                        td { (user_name(saved.saved_by)) }
                        td { @match &saved.cards.default {
                            Some(card) => { (card.name) " (" (card.measures.iter().map(|m| m.metric.name.as_str()).collect::<Vec<_>>().join(", ")) ")" }
                            None => { (lang.t("built_in_card")) }
                        } }
                        td.num { (saved.cards.segments.len()) }
                        td { @if position == 0 { (lang.t("in_force")) } @else if manages {
                            form.inline method="post" action="/scorecards/rollback" {
                                input type="hidden" name="csrf_token" value=(csrf);
                                input type="hidden" name="version" value=(saved.version);
                                button type="submit" { (lang.t("roll_back_to")) " v" (saved.version) }
                            }
                        } }
                    } } }
                }
            }
        }
    };
    layout(
        lang,
        lang.t("scorecards"),
        Some((&page_user.user, csrf)),
        body,
    )
    .into_response()
}

fn dates_line(
    lang: Lang,
    dates: (Option<jiff::civil::Date>, Option<jiff::civil::Date>, usize),
    horizon: i32,
) -> String {
    let day =
        |d: Option<jiff::civil::Date>| d.map_or_else(|| "—".to_owned(), |d| i18n::date(d, lang));
    match lang {
        Lang::En => format!(
            "{} observation dates from {} to {}; churn within {horizon} days",
            dates.2,
            day(dates.0),
            day(dates.1)
        ),
        Lang::Ja => format!(
            "観測日 {} 回（{}〜{}）、{horizon} 日以内の解約",
            dates.2,
            day(dates.0),
            day(dates.1)
        ),
    }
}

/// Backtests side by side: AUC, top-decile lift, observations, and churn per risk decile.
fn side_by_side(lang: Lang, columns: &[(&str, &Backtest)]) -> Markup {
    let show = |v: Option<f64>, digits: usize| {
        v.map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"))
    };
    let labels: Vec<String> = (1..=10).map(|d| format!("D{d}")).collect();
    let series: Vec<Series> = columns
        .iter()
        .enumerate()
        .map(|(index, (name, result))| Series {
            name: (*name).to_owned(),
            values: (1..=10u32)
                .map(|d| {
                    result
                        .calibration
                        .iter()
                        .find(|r| r.decile == d)
                        .map(|r| 100.0 * r.churn_rate)
                })
                .collect(),
            dashed: index > 0,
        })
        .collect();
    html! {
        table tabindex="0" data-testid="comparison" {
            thead { tr { th scope="col" { } @for (name, _) in columns { th.num scope="col" { (name) } } } }
            tbody {
                tr { th scope="row" { "AUC" } @for (_, r) in columns { td.num data-testid="auc" { (show(r.auc, 3)) } } }
                tr { th scope="row" { (lang.t("top_decile_lift")) } @for (_, r) in columns { td.num { (show(r.top_decile_lift, 2)) } } }
                tr { th scope="row" { (lang.t("observations")) } @for (_, r) in columns { td.num { (i18n::group_digits(r.n)) } } }
                tr { th scope="row" { (lang.t("churned")) } @for (_, r) in columns { td.num { (i18n::group_digits(r.n_churned)) } } }
            }
        }
        h3 { (lang.t("calibration")) }
        p.muted { (lang.t("calibration_help")) }
        (charts::lines("calibration-chart", lang.t("calibration"), &labels, &series, 100.0, lang.t("decile")))
    }
}

/// A number as a person writes it (no trailing zeros).
fn number(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A metric in words.
pub(super) fn describe(spec: &MetricSpec, lang: Lang) -> String {
    let window = spec.window_days.unwrap_or(28);
    let event = |e: &Option<String>| match e.as_deref() {
        Some("*") | None => lang.t("all_events").to_owned(),
        Some(name) => format!("“{name}”"),
    };
    let inner = |part: &Option<Box<MetricSpec>>| {
        part.as_deref()
            .map_or_else(String::new, |p| describe(p, lang))
    };
    match (spec.kind.as_str(), lang) {
        ("count", Lang::En) if matches!(spec.event.as_deref(), Some("*") | None) => {
            format!("all events, {window} days")
        }
        ("count", Lang::En) => format!("{} events, {window} days", event(&spec.event)),
        ("count", Lang::Ja) => format!("{}の回数（{window}日）", event(&spec.event)),
        ("sum", Lang::En) => format!(
            "sum of {} of {}, {window} days",
            spec.property.as_deref().unwrap_or(""),
            event(&spec.event)
        ),
        ("sum", Lang::Ja) => format!(
            "{}の{}の合計（{window}日）",
            event(&spec.event),
            spec.property.as_deref().unwrap_or("")
        ),
        ("distinct_users", Lang::En) => format!("active users, {window} days"),
        ("distinct_users", Lang::Ja) => format!("アクティブユーザー数（{window}日）"),
        ("days_since", Lang::En) => format!("days since the last of {}", event(&spec.event)),
        ("days_since", Lang::Ja) => format!("{}の最終発生からの日数", event(&spec.event)),
        ("per_month", Lang::En) => format!("{} per month", event(&spec.event)),
        ("per_month", Lang::Ja) => format!("{}の月あたり回数", event(&spec.event)),
        ("pct_change", Lang::En) => format!(
            "% change of {} against the {window} days before",
            inner(&spec.of)
        ),
        ("pct_change", Lang::Ja) => format!("{}の前期比（%）", inner(&spec.of)),
        ("ratio", Lang::En) => format!(
            "{} per {}",
            inner(&spec.numerator),
            inner(&spec.denominator)
        ),
        ("ratio", Lang::Ja) => format!("{} ÷ {}", inner(&spec.numerator), inner(&spec.denominator)),
        ("per_period", Lang::En) => format!(
            "{} per {} days, averaged over {window}",
            event(&spec.event),
            spec.period_days.unwrap_or(0)
        ),
        ("per_period", Lang::Ja) => format!(
            "{}の{}日あたり平均（{window}日間）",
            event(&spec.event),
            spec.period_days.unwrap_or(0)
        ),
        ("sum_of", _) => spec
            .terms
            .iter()
            .enumerate()
            .map(|(index, term)| {
                let name = term.metric.name.as_str();
                match (index, term.weight) {
                    (0, 1.0) => name.to_owned(),
                    (0, w) => format!("{w} × {name}"),
                    (_, 1.0) => format!(" + {name}"),
                    (_, -1.0) => format!(" − {name}"),
                    (_, w) => format!(" + {w} × {name}"),
                }
            })
            .collect(),
        (kind, _) => lang.value("metric_kind", kind),
    }
}

/// The editor's form.
#[derive(Debug, Deserialize)]
pub struct EditorForm {
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

/// Reads the edited card from the form; each bad cell named by its row.
fn draft_of(fields: &HashMap<String, String>, metrics: &[Metric]) -> Result<SegmentCard, Invalid> {
    let get = |key: &str| fields.get(key).map_or("", |v| v.trim());
    let number_in = |key: &str| -> Result<Option<f64>, Invalid> {
        let raw = mikawaya_domain::value::half_width(get(key));
        if raw.is_empty() {
            return Ok(None);
        }
        raw.replace(',', "")
            .parse::<f64>()
            .map(Some)
            .map_err(|_| Invalid::new(key, format!("'{raw}' is not a number")))
    };
    let mut measures = Vec::new();
    for index in 0.. {
        let key = |part: &str| format!("m{index}_{part}");
        if !fields.contains_key(&key("metric")) {
            break;
        }
        let name = get(&key("metric"));
        if name.is_empty() {
            continue;
        }
        let metric = metrics
            .iter()
            .find(|m| m.name().as_str() == name)
            .ok_or_else(|| Invalid::new(key("metric"), format!("no metric named {name}")))?;
        let percentile = get(&key("mapping")) == "percentile";
        measures.push(MeasureSpec {
            metric: metric.spec().clone(),
            weight: number_in(&key("weight"))?.unwrap_or(1.0),
            red: if percentile {
                None
            } else {
                number_in(&key("red"))?
            },
            green: if percentile {
                None
            } else {
                number_in(&key("green"))?
            },
            percentile,
        });
    }
    Ok(SegmentCard {
        segment: SegmentRule {
            field: get("segment_field").to_owned(),
            value: get("segment_value").to_owned(),
        },
        scorecard: ScorecardSpec {
            name: get("name").to_owned(),
            measures,
        },
    })
}

/// The cards in force with the edited card in its place.
fn with_draft(cards: &CardSetSpec, which: &str, draft: &SegmentCard) -> CardSetSpec {
    let mut cards = cards.clone();
    match which.parse::<usize>() {
        Ok(index) if index < cards.segments.len() => cards.segments[index] = draft.clone(),
        _ if which == "default" => cards.default = Some(draft.scorecard.clone()),
        _ => cards.segments.push(draft.clone()),
    }
    cards
}

/// Backtests, saves or suggests, from the editor's form.
pub async fn submit(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<EditorForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(form.fields.get("csrf_token").map_or("", String::as_str))?;
        let page = load(&state, &page_user).await?;
        let which = form
            .fields
            .get("card")
            .cloned()
            .unwrap_or_else(|| "default".to_owned());
        let action = form
            .fields
            .get("action")
            .map_or("backtest", String::as_str)
            .to_owned();
        let today = state.clock().today();
        if action == "suggest" {
            page_user.actor.manage()?;
            let plan = Plan {
                as_of: today,
                horizon_days: 90,
                every_days: 14,
                folds: 4,
            };
            let found = state
                .run_with_usage(move |store, usage| Ok(scorecards::suggest(store, usage, &plan)?))
                .await?;
            let draft = SegmentCard {
                segment: SegmentRule {
                    field: "tier".to_owned(),
                    value: String::new(),
                },
                scorecard: found.suggestion.card.clone(),
            };
            return Ok(render(
                &page_user,
                &page,
                "default",
                &draft,
                Outcome::Suggested(Box::new(found)),
                None,
            ));
        }
        let draft = draft_of(&form.fields, &page.metrics)?;
        let cards = with_draft(page.in_force.spec(), &which, &draft);
        CardSet::from_spec(&cards)?;
        if action == "save" {
            let access = page_user.actor.manage()?;
            let saved = state
                .run(move |store| Ok(scorecards::save(store, &access, &cards)?))
                .await?;
            state.refresh_health_snapshot();
            return Ok(
                Redirect::to(&format!("/scorecards?saved={}", saved.version)).into_response(),
            );
        }
        let access = page_user.actor.read();
        let plan = editor_plan(today);
        let cache = Arc::clone(&state.backtest_history);
        let found = state
            .run_with_usage(move |store, usage| {
                Ok(scorecards::compare(
                    store, &access, usage, &cards, &plan, &cache,
                )?)
            })
            .await?;
        Ok(render(
            &page_user,
            &page,
            &which,
            &draft,
            Outcome::Compared(Box::new(found)),
            None,
        ))
    }
    .await;
    result.unwrap_or_else(|error: ApiError| super::error_page(&page_user, error))
}

/// The rollback form.
#[derive(Debug, Deserialize)]
pub struct RollbackForm {
    csrf_token: String,
    version: i64,
}

/// Puts an earlier version back in force.
pub async fn rollback(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<RollbackForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.manage()?;
        let saved = state
            .run(move |store| Ok(scorecards::rollback(store, &access, form.version)?))
            .await?;
        state.refresh_health_snapshot();
        Ok::<_, ApiError>(
            Redirect::to(&format!("/scorecards?saved={}", saved.version)).into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}
