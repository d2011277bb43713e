//! Playbooks in the browser: the list with each playbook's effect against its holdout,
//! and a playbook's page: its effect overall, per version and per touch tier with 95%
//! intervals, its versions, and an editor (trigger and its parameters, conditions,
//! cooldown, holdout share, outcome, stage, and the steps with their phases and
//! deliverables) whose draft is dry-run on the past 90 days (which accounts would have
//! fired, when and why) before it is saved as a new version. Branch steps are kept as
//! they are (edit them over the API).

use super::i18n::{self, Lang};
use super::{PageUser, layout};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_playbooks::dry_run::DryFiring;
use mikawaya_playbooks::effectiveness::{Comparison, Effectiveness};
use mikawaya_playbooks::{Playbook, PlaybookSpec};
use mikawaya_store::work::PlaybookVersion;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// How many days back a dry run looks.
const DRY_RUN_DAYS: i64 = 90;
/// Spare step rows the editor offers.
const SPARE_STEPS: usize = 2;

fn points(v: f64) -> String {
    format!("{:+.1}", 100.0 * v)
}

fn comparison_cells(comparison: &Comparison) -> Markup {
    let rate = |r: Option<f64>| r.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", 100.0 * r));
    html! {
        td.num { (comparison.a.n) } td.num { (rate(comparison.a.rate)) }
        td.num { (comparison.b.n) } td.num { (rate(comparison.b.rate)) }
        td.num data-testid="uplift" { (comparison.difference.map_or_else(|| "—".to_owned(), points)) }
        td.num { (comparison.ci95.map_or_else(|| "—".to_owned(), |(l, h)| format!("{} … {}", points(l), points(h)))) }
    }
}

fn comparison_head(lang: Lang, first: &str) -> Markup {
    html! { thead { tr {
        th scope="col" { (first) }
        th.num scope="col" { (lang.t("runs")) } th.num scope="col" { (lang.t("success_rate")) }
        th.num scope="col" { (lang.t("held_out_runs")) } th.num scope="col" { (lang.t("success_rate")) }
        th.num scope="col" { (lang.t("uplift_pts")) } th.num scope="col" { (lang.t("ci95")) }
    } } }
}

struct Loaded {
    versions: Vec<PlaybookVersion>,
    reports: Vec<Effectiveness>,
}

async fn load(
    state: &AppState,
    page_user: &PageUser,
    name: Option<String>,
) -> Result<Loaded, ApiError> {
    let access = page_user.actor.read();
    let day = state.clock().today();
    state
        .run_with_usage(move |store, usage| {
            let versions = store.playbook_versions(&access, name.as_deref())?;
            // The list reads what the daily run measured; a playbook's own page measures it now.
            let reports = match &name {
                Some(name) => {
                    mikawaya_app::effect::reports(store, &access, Some(usage), Some(name), day)
                        .or_else(|e| match e {
                            mikawaya_app::AppError::Invalid(invalid) if invalid.field == "name" => {
                                Ok(Vec::new())
                            }
                            other => Err(other),
                        })?
                }
                // A partner's list counts its own accounts only.
                None if matches!(access.visibility(), mikawaya_domain::Visibility::Partner(_)) => {
                    mikawaya_app::effect::reports(store, &access, Some(usage), None, day)?
                }
                None => mikawaya_app::effect::measured_reports(store)?,
            };
            Ok(Loaded { versions, reports })
        })
        .await
}

/// The latest version of each playbook.
fn latest(versions: &[PlaybookVersion]) -> Vec<&PlaybookVersion> {
    let mut latest: Vec<&PlaybookVersion> = Vec::new();
    for version in versions {
        match latest.iter_mut().find(|p| p.name == version.name) {
            Some(slot) if slot.version < version.version => *slot = version,
            Some(_) => {}
            None => latest.push(version),
        }
    }
    latest
}

/// The playbook list.
pub async fn list(State(state): State<AppState>, page_user: PageUser) -> Response {
    let lang = page_user.lang;
    let loaded = match load(&state, &page_user, None).await {
        Ok(loaded) => loaded,
        Err(error) => return super::error_page(&page_user, error),
    };
    let body = html! {
        h1 { (lang.t("playbooks")) }
        p { (lang.t("playbooks_help")) }
        @if page_user.actor.manage().is_ok() { p { a href="/playbooks/new" { "+ " (lang.t("new_playbook")) } } }
        table tabindex="0" data-testid="playbook-list" {
            (comparison_head(lang, lang.t("playbook")))
            tbody { @for version in latest(&loaded.versions) {
                @let title = serde_json::from_str::<PlaybookSpec>(&version.spec).map(|s| s.title.pick(lang.code()).to_owned()).unwrap_or_else(|_| version.name.clone());
                tr {
                    th scope="row" { a href=(format!("/playbooks/{}", version.name)) { (title) } " " span.muted { "v" (version.version) @if !version.enabled { " · " (lang.t("disabled")) } } }
                    @match loaded.reports.iter().find(|r| r.playbook == version.name) {
                        Some(report) => { (comparison_cells(&report.runs_vs_holdout)) }
                        None => { td colspan="6" .muted { (lang.t("no_outcome")) } }
                    }
                }
            } }
        }
    };
    layout(
        lang,
        lang.t("playbooks"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    )
    .into_response()
}

/// A playbook's page (or a new playbook's editor).
pub async fn page(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(name): Path<String>,
) -> Response {
    let loaded = match load(&state, &page_user, (name != "new").then(|| name.clone())).await {
        Ok(loaded) => loaded,
        Err(error) => return super::error_page(&page_user, error),
    };
    let spec = match latest(&loaded.versions).first() {
        Some(version) => match serde_json::from_str::<Value>(&version.spec) {
            Ok(spec) => spec,
            Err(error) => return super::error_page(&page_user, ApiError::internal(error)),
        },
        None if name == "new" => {
            json!({"name": "", "title": {"en": ""}, "trigger": {"kind": "renewal_within", "days": 90}, "holdout_percent": 10, "outcome": {"kind": "retained", "days": 90}, "steps": []})
        }
        None => return super::not_found_page(page_user.lang).into_response(),
    };
    render(&page_user, &name, &loaded, &spec, None).into_response()
}

fn render(
    page_user: &PageUser,
    name: &str,
    loaded: &Loaded,
    spec: &Value,
    dry: Option<&[DryFiring]>,
) -> Markup {
    let lang = page_user.lang;
    let csrf = &page_user.csrf_token;
    let manages = page_user.actor.manage().is_ok();
    let is_new = name == "new";
    let report = loaded.reports.iter().find(|r| r.playbook == name);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let field = |object: &Value, key: &str| text(&object[key]);
    let trigger = &spec["trigger"];
    let conditions = &spec["conditions"];
    let outcome = &spec["outcome"];
    let list = |key: &str| {
        conditions[key]
            .as_array()
            .map(|a| a.iter().map(text).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let tiers: Vec<String> = conditions["tiers"]
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
    let steps: Vec<Value> = spec["steps"].as_array().cloned().unwrap_or_default();
    let title = spec["title"].clone();
    let body = html! {
        h1 { @if is_new { (lang.t("new_playbook")) } @else { (title["en"].as_str().map(|en| title["ja"].as_str().filter(|_| lang == Lang::Ja).unwrap_or(en)).unwrap_or(name)) } }
        @if let Some(report) = report {
            section data-testid="effectiveness" {
                h2 { (lang.t("effect_vs_holdout")) }
                p.muted { (lang.t("effect_help")) " " (lang.t("pending_outcomes")) ": " (report.pending) }
                table tabindex="0" {
                    (comparison_head(lang, ""))
                    tbody {
                        tr { th scope="row" { (lang.t("all_accounts")) } (comparison_cells(&report.runs_vs_holdout)) }
                        @for (segment, comparison) in &report.by_segment { tr { th scope="row" { (lang.value("tier_name", segment)) } (comparison_cells(comparison)) } }
                        @if let Some(versions) = &report.latest_vs_previous { tr { th scope="row" { (versions.a_label) " / " (versions.b_label) } (comparison_cells(versions)) } }
                    }
                }
            }
        }
        @if !is_new {
            section {
                h2 { (lang.t("versions")) }
                ul.plain data-testid="playbook-versions" { @for version in loaded.versions.iter().filter(|v| v.name == name).rev() {
                    li { "v" (version.version) " · " (version.created_at.strftime("%Y-%m-%d %H:%M UTC")) @if !version.enabled { " · " (lang.t("disabled")) } }
                } }
            }
        }
        @if let Some(dry) = dry {
            section data-testid="dry-run" {
                h2 { (lang.t("dry_run_result")) " " span.muted { (dry.len()) } }
                p.muted { (lang.t("dry_run_help")) }
                @if dry.is_empty() { p { (lang.t("dry_run_none")) } } @else {
                    table tabindex="0" {
                        thead { tr { th scope="col" { (lang.t("day")) } th scope="col" { (lang.t("name")) } th scope="col" { (lang.t("reason")) } th scope="col" { (lang.t("held_out_runs")) } } }
                        tbody { @for firing in dry.iter().take(200) { tr {
                            td { (i18n::date(firing.day, lang)) }
                            td { a href=(format!("/accounts/{}", firing.account_id)) { (firing.account_name) } }
                            td { (firing.reason.pick(lang.code())) }
                            td { @if firing.holdout { (lang.t("held_out_runs")) } }
                        } } }
                    }
                }
            }
        }
        @if manages {
            form.editor method="post" action=(format!("/playbooks/{name}")) data-testid="playbook-editor" {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="links_json" value=(spec["links"].to_string());
                h2 { (lang.t("edit_playbook")) }
                div.inline {
                    label { (lang.t("playbook_key")) input type="text" name="name" value=(field(spec, "name")) required readonly[!is_new] pattern="[a-z][a-z0-9_-]*"; }
                    label { (lang.t("title_en")) input type="text" name="title_en" value=(field(&title, "en")) required; }
                    label { (lang.t("title_ja")) input type="text" name="title_ja" value=(field(&title, "ja")); }
                }
                h3 { (lang.t("trigger")) }
                div.inline {
                    label { (lang.t("trigger_kind")) select name="trigger_kind" {
                        @for kind in TRIGGERS.iter().map(|(k, _)| *k) { option value=(kind) selected[trigger["kind"] == kind] { (lang.value("trigger", kind)) } }
                    } }
                    @for (key, label) in [("event", "t_event"), ("within_days", "t_within_days"), ("days", "t_days"), ("after", "t_after"), ("metric", "t_metric"), ("threshold", "t_threshold"), ("percent", "t_percent"), ("points", "t_points"), ("stage", "t_stage"), ("field", "t_field"), ("survey", "t_survey"), ("min_score", "t_min_score"), ("max_score", "t_max_score"), ("touchpoint", "t_touchpoint"), ("days_after", "t_days_after")] {
                        label { (lang.t(label)) input type="text" name=(format!("trigger_{key}")) value=(field(trigger, key)); }
                    }
                }
                p.muted { (lang.t("trigger_help")) }
                h3 { (lang.t("conditions")) }
                div.inline {
                    fieldset { legend { (lang.t("tier")) } @for tier in ["high", "low", "tech"] {
                        label { input type="checkbox" name=(format!("cond_tier_{tier}")) value="on" checked[tiers.iter().any(|t| t == tier)]; (lang.value("tier_name", tier)) }
                    } }
                    @for (key, label) in [("plans", "cond_plans"), ("stages", "cond_stages"), ("partners", "cond_partners"), ("owners", "cond_owners")] {
                        label { (lang.t(label)) input type="text" name=(format!("cond_{key}")) value=(list(key)); }
                    }
                    label { (lang.t("cond_segment")) input type="text" name="cond_segment" value=(field(conditions, "segment")); }
                    label { (lang.t("cond_min_arr")) input type="text" name="cond_min_arr" value=(field(conditions, "min_arr")); }
                    label { input type="checkbox" name="cond_no_open_friction" value="on" checked[conditions["no_open_friction"] == true]; (lang.t("cond_no_open_friction")) }
                    label { (lang.t("cond_max_arr")) input type="text" name="cond_max_arr" value=(field(conditions, "max_arr")); }
                }
                h3 { (lang.t("measure_and_control")) }
                div.inline {
                    label { (lang.t("cooldown_days")) input type="number" name="cooldown_days" min="0" value=(spec["cooldown_days"].as_u64().unwrap_or(90)); }
                    label { (lang.t("holdout_percent")) input type="number" name="holdout_percent" min="0" max="50" value=(spec["holdout_percent"].as_u64().unwrap_or(0)); }
                    label { (lang.t("outcome_kind")) select name="outcome_kind" {
                        @for kind in ["", "retained", "event_happened", "health_recovered"] { option value=(kind) selected[outcome["kind"].as_str().unwrap_or("") == kind] { (lang.value("outcome", if kind.is_empty() { "none" } else { kind })) } }
                    } }
                    label { (lang.t("outcome_days")) input type="text" name="outcome_days" value=(field(outcome, "days")); }
                    label { (lang.t("t_event")) input type="text" name="outcome_event" value=(field(outcome, "event")); }
                    label { (lang.t("t_threshold")) input type="text" name="outcome_threshold" value=(field(outcome, "threshold")); }
                    label { (lang.t("stage_series")) input type="text" name="stage_series" value=(field(&spec["stage"], "series")); }
                    label { (lang.t("stage_order")) input type="text" name="stage_order" value=(field(&spec["stage"], "order")); }
                }
                h3 { (lang.t("steps")) }
                p.muted { (lang.t("steps_help")) }
                table tabindex="0" {
                    thead { tr { th scope="col" { "#" } th scope="col" { (lang.t("step_kind")) } th scope="col" { (lang.t("phase")) } th scope="col" { (lang.t("title_en")) } th scope="col" { (lang.t("title_ja")) } th scope="col" { (lang.t("step_days")) } th scope="col" { (lang.t("step_detail")) } th scope="col" { (lang.t("deliverable")) } } }
                    tbody { @for index in 0..steps.len() + SPARE_STEPS {
                        @let step = steps.get(index).cloned().unwrap_or(Value::Null);
                        @let kind = step["kind"].as_str().unwrap_or("");
                        @let localized = if kind == "email" { &step["subject"] } else if kind == "webhook" { &step["text"] } else { &step["title"] };
                        tr {
                            td { (index + 1) }
                            @if kind == "branch" {
                                td colspan="7" { (lang.t("branch_kept")) input type="hidden" name=(format!("s{index}_json")) value=(step.to_string()); input type="hidden" name=(format!("s{index}_kind")) value="branch"; }
                            } @else {
                                td { select name=(format!("s{index}_kind")) aria-label=(format!("{} {}", lang.t("step_kind"), index + 1)) {
                                    option value="" { "—" }
                                    @for k in ["task", "email", "webhook", "wait", "set_tier", "move_stage", "survey"] { option value=(k) selected[kind == k] { (lang.value("step", k)) } }
                                } }
                                td { input type="text" size="8" name=(format!("s{index}_phase")) value=(field(&step, "phase")) aria-label=(format!("{} {}", lang.t("phase"), index + 1)); }
                                td { input type="text" name=(format!("s{index}_title_en")) value=(field(localized, "en")) aria-label=(format!("{} {}", lang.t("title_en"), index + 1)); }
                                td { input type="text" name=(format!("s{index}_title_ja")) value=(field(localized, "ja")) aria-label=(format!("{} {}", lang.t("title_ja"), index + 1)); }
                                td { input type="text" size="4" name=(format!("s{index}_days")) value=(match kind { "wait" => field(&step, "days"), "survey" => field(&step, "sample_percent"), _ => field(&step, "due_days") }) aria-label=(format!("{} {}", lang.t("step_days"), index + 1)); }
                                td { input type="text" name=(format!("s{index}_detail")) value=(match kind { "email" => field(&step, "to"), "webhook" => field(&step, "url"), "set_tier" => field(&step, "tier"), "move_stage" => field(&step, "stage"), "survey" => survey_detail(&step), _ => field(&step, "assignee") }) aria-label=(format!("{} {}", lang.t("step_detail"), index + 1)); }
                                td { input type="text" size="10" name=(format!("s{index}_deliverable")) value=(field(&step, "deliverable")) aria-label=(format!("{} {}", lang.t("deliverable"), index + 1)); }
                            }
                        }
                        @if kind == "email" || kind == "task" {
                            @let body = if kind == "email" { &step["body"] } else { &step["instructions"] };
                            input type="hidden" name=(format!("s{index}_body_json")) value=(body.to_string());
                        }
                    } }
                }
                div.actions {
                    button type="submit" name="action" value="dry_run" { (lang.t("dry_run")) }
                    button type="submit" name="action" value="save" { (lang.t("save_version")) }
                }
            }
        }
    };
    layout(
        lang,
        lang.t("playbooks"),
        Some((&page_user.user, csrf)),
        body,
    )
}

/// The triggers and the parameters each takes (the rest of the form's are left out).
const TRIGGERS: &[(&str, &[&str])] = &[
    ("event", &["event", "within_days"]),
    ("event_absent", &["event", "days", "after"]),
    ("metric_below", &["metric", "threshold"]),
    ("metric_above", &["metric", "threshold"]),
    ("metric_drop", &["metric", "percent", "days"]),
    ("health_below", &["threshold"]),
    ("health_drop", &["points", "days"]),
    ("renewal_within", &["days"]),
    ("days_after_start", &["days"]),
    ("stage_entered", &["stage", "within_days"]),
    ("field_changed", &["field", "within_days"]),
    (
        "survey_answer",
        &["survey", "min_score", "max_score", "within_days"],
    ),
    ("every", &["days"]),
    ("touchpoint_logged", &["touchpoint", "days_after"]),
];

/// A survey step's detail cell: its survey, and its role when not every contact.
fn survey_detail(step: &Value) -> String {
    let survey = step["survey"].as_str().unwrap_or("");
    match step["to"].as_str() {
        Some(to) if to != "all" => format!("{survey}:{to}"),
        _ => survey.to_owned(),
    }
}

/// A form value as JSON: a number when it reads as one, else text.
fn scalar(raw: &str) -> Value {
    let raw = mikawaya_domain::value::half_width(raw.trim());
    if let Ok(n) = raw.parse::<u64>() {
        return json!(n);
    }
    if let Ok(n) = raw.parse::<f64>() {
        return json!(n);
    }
    json!(raw)
}

/// The spec the form describes (checked by the playbooks crate afterwards).
fn spec_of(form: &HashMap<String, String>) -> Result<Value, mikawaya_domain::Invalid> {
    let get = |key: &str| form.get(key).map_or("", |v| v.trim());
    let localized = |en: &str, ja: &str| {
        let mut text = Map::new();
        text.insert("en".into(), json!(get(en)));
        if !get(ja).is_empty() {
            text.insert("ja".into(), json!(get(ja)));
        }
        Value::Object(text)
    };
    let kind = get("trigger_kind");
    let params = TRIGGERS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| *p)
        .ok_or_else(|| {
            mikawaya_domain::Invalid::new("trigger.kind", format!("'{kind}' is not a trigger"))
        })?;
    let mut trigger = Map::new();
    trigger.insert("kind".into(), json!(kind));
    for param in params {
        let raw = get(&format!("trigger_{param}"));
        if !raw.is_empty() {
            let value = if matches!(
                *param,
                "event" | "after" | "metric" | "stage" | "field" | "survey" | "touchpoint"
            ) {
                json!(raw)
            } else {
                scalar(raw)
            };
            trigger.insert((*param).into(), value);
        }
    }
    let mut conditions = Map::new();
    let tiers: Vec<&str> = ["high", "low", "tech"]
        .into_iter()
        .filter(|t| !get(&format!("cond_tier_{t}")).is_empty())
        .collect();
    if !tiers.is_empty() {
        conditions.insert("tiers".into(), json!(tiers));
    }
    for key in ["plans", "stages", "partners", "owners"] {
        let items: Vec<&str> = get(&format!("cond_{key}"))
            .split([',', '、'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if !items.is_empty() {
            conditions.insert(key.into(), json!(items));
        }
    }
    if !get("cond_no_open_friction").is_empty() {
        conditions.insert("no_open_friction".into(), json!(true));
    }
    if !get("cond_segment").is_empty() {
        conditions.insert("segment".into(), json!(get("cond_segment")));
    }
    for key in ["min_arr", "max_arr"] {
        if !get(&format!("cond_{key}")).is_empty() {
            conditions.insert(key.into(), scalar(get(&format!("cond_{key}"))));
        }
    }
    let mut spec = Map::new();
    spec.insert("name".into(), json!(get("name")));
    spec.insert("title".into(), localized("title_en", "title_ja"));
    spec.insert("trigger".into(), Value::Object(trigger));
    spec.insert("conditions".into(), Value::Object(conditions));
    spec.insert(
        "cooldown_days".into(),
        scalar(if get("cooldown_days").is_empty() {
            "90"
        } else {
            get("cooldown_days")
        }),
    );
    spec.insert(
        "holdout_percent".into(),
        scalar(if get("holdout_percent").is_empty() {
            "0"
        } else {
            get("holdout_percent")
        }),
    );
    let outcome_kind = get("outcome_kind");
    if !outcome_kind.is_empty() {
        let mut outcome = Map::new();
        outcome.insert("kind".into(), json!(outcome_kind));
        outcome.insert("days".into(), scalar(get("outcome_days")));
        match outcome_kind {
            "event_happened" => {
                outcome.insert("event".into(), json!(get("outcome_event")));
            }
            "health_recovered" => {
                outcome.insert("threshold".into(), scalar(get("outcome_threshold")));
            }
            _ => {}
        }
        spec.insert("outcome".into(), Value::Object(outcome));
    }
    if !get("stage_series").is_empty() {
        spec.insert(
            "stage".into(),
            json!({"series": get("stage_series"), "order": scalar(get("stage_order"))}),
        );
    }
    if let Ok(Value::Array(links)) = serde_json::from_str::<Value>(get("links_json"))
        && !links.is_empty()
    {
        spec.insert("links".into(), Value::Array(links));
    }
    let mut steps = Vec::new();
    for index in 0.. {
        let key = |part: &str| format!("s{index}_{part}");
        if !form.contains_key(&key("kind")) {
            break;
        }
        let kind = get(&key("kind"));
        if kind.is_empty() {
            continue;
        }
        if kind == "branch" {
            steps.push(
                serde_json::from_str::<Value>(get(&key("json"))).map_err(|e| {
                    mikawaya_domain::Invalid::new(format!("steps[{index}]"), e.to_string())
                })?,
            );
            continue;
        }
        let mut step = Map::new();
        step.insert("kind".into(), json!(kind));
        if !get(&key("phase")).is_empty() {
            step.insert("phase".into(), json!(get(&key("phase"))));
        }
        let text = localized(&key("title_en"), &key("title_ja"));
        let body = serde_json::from_str::<Value>(get(&key("body_json")))
            .ok()
            .filter(|b| b.is_object());
        let detail = get(&key("detail"));
        let days = get(&key("days"));
        match kind {
            "task" => {
                step.insert("title".into(), text);
                if let Some(body) = body {
                    step.insert("instructions".into(), body);
                }
                if !days.is_empty() {
                    step.insert("due_days".into(), scalar(days));
                }
                if !detail.is_empty() {
                    step.insert("assignee".into(), json!(detail));
                }
                if !get(&key("deliverable")).is_empty() {
                    step.insert("deliverable".into(), json!(get(&key("deliverable"))));
                }
            }
            "email" => {
                step.insert(
                    "to".into(),
                    json!(if detail.is_empty() { "all" } else { detail }),
                );
                step.insert("subject".into(), text.clone());
                step.insert("body".into(), body.unwrap_or(text));
            }
            "webhook" => {
                step.insert("url".into(), json!(detail));
                step.insert("text".into(), text);
            }
            "wait" => {
                step.insert("days".into(), scalar(days));
            }
            "set_tier" => {
                step.insert("tier".into(), json!(detail));
            }
            "move_stage" => {
                step.insert("stage".into(), json!(detail));
            }
            "survey" => {
                // Detail: the survey's name, optionally with a contact role (`nps:champion`);
                // days: the sample percent (default 100).
                let (survey, to) = detail.split_once(':').unwrap_or((detail, "all"));
                step.insert("survey".into(), json!(survey.trim()));
                step.insert("to".into(), json!(to.trim()));
                if !days.is_empty() {
                    step.insert("sample_percent".into(), scalar(days));
                }
            }
            other => {
                return Err(mikawaya_domain::Invalid::new(
                    format!("steps[{index}].kind"),
                    format!("'{other}' is not a step"),
                ));
            }
        }
        steps.push(Value::Object(step));
    }
    spec.insert("steps".into(), Value::Array(steps));
    Ok(Value::Object(spec))
}

/// Dry-runs or saves the edited playbook.
pub async fn submit(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(name): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let result = async {
        page_user.check_csrf(form.get("csrf_token").map_or("", String::as_str))?;
        let access = page_user.actor.manage()?;
        let spec = spec_of(&form)?;
        let checked: Playbook = mikawaya_playbooks::spec::parse(&spec.to_string())?;
        if name != "new" && checked.name().as_str() != name {
            return Err(
                mikawaya_domain::Invalid::new("name", "a saved playbook keeps its name").into(),
            );
        }
        if form.get("action").map(String::as_str) == Some("save") {
            let saved_name = checked.name().to_string();
            let json = serde_json::to_string(checked.spec()).map_err(ApiError::internal)?;
            let key = saved_name.clone();
            state
                .run(move |store| store.put_playbook(&access, &key, &json))
                .await?;
            return Ok(Redirect::to(&format!("/playbooks/{saved_name}")).into_response());
        }
        let today = state.clock().today();
        let days: Vec<jiff::civil::Date> = (1..=DRY_RUN_DAYS)
            .rev()
            .filter_map(|back| today.checked_sub(jiff::Span::new().days(back)).ok())
            .collect();
        let read = page_user.actor.read();
        let draft = checked.clone();
        let dry = state
            .run_with_usage(move |store, usage| {
                Ok(mikawaya_playbooks::dry_run::dry_run(
                    store,
                    &read,
                    Some(usage),
                    &draft,
                    &days,
                )?)
            })
            .await?;
        let loaded = load(&state, &page_user, (name != "new").then(|| name.clone())).await?;
        Ok::<_, ApiError>(render(&page_user, &name, &loaded, &spec, Some(&dry)).into_response())
    }
    .await;
    result.unwrap_or_else(|error: ApiError| super::error_page(&page_user, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_writes_a_survey_step_a_periodic_trigger_and_the_friction_hold() {
        let form: HashMap<String, String> = [
            ("name", "nps-twice-a-year"),
            ("title_en", "NPS"),
            ("trigger_kind", "every"),
            ("trigger_days", "１８２"),
            ("cond_no_open_friction", "on"),
            ("cooldown_days", "150"),
            ("s0_kind", "survey"),
            ("s0_detail", "nps:champion"),
            ("s0_days", "50"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let spec = spec_of(&form).unwrap_or_else(|e| panic!("{e}"));
        let playbook =
            mikawaya_playbooks::spec::parse(&spec.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let written = serde_json::to_value(playbook.spec()).unwrap_or_default();
        assert_eq!(written["trigger"], json!({"kind": "every", "days": 182}));
        assert_eq!(written["conditions"]["no_open_friction"], json!(true));
        assert_eq!(
            written["steps"][0],
            json!({"kind": "survey", "survey": "nps", "to": "champion", "sample_percent": 50})
        );
        assert_eq!(survey_detail(&written["steps"][0]), "nps:champion");
    }
}
