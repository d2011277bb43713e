//! Server-rendered HTML pages (maud templates: compile-checked, auto-escaping): login,
//! logout and the portfolio list. Forms carry a CSRF token; the login form uses a
//! double-submit cookie because there is no session yet.

pub mod account;
pub mod audit;
pub mod import;
pub mod sso;
pub use mikawaya_charts as charts;
pub mod dashboards;
pub mod feedback;
pub mod forecast;
pub mod i18n;
pub mod journey;
pub mod plans;
pub mod playbooks;
pub mod proof;
pub mod scorecards;
pub mod settings;
pub mod survey;
pub mod surveys;
pub mod team;
pub mod today;
pub mod unsubscribe;
pub mod voice;

use crate::auth::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::routes::accounts::AccountListParams;
use crate::routes::session;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use i18n::Lang;
use maud::{DOCTYPE, Markup, html};
use mikawaya_domain::Actor;
use mikawaya_domain::account::{AccountSort, AccountSortField};
use mikawaya_domain::user::User;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The HTML routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/today") }))
        .route("/today", get(today::today_page))
        .route("/accounts/{id}/snooze", post(today::snooze))
        .route("/accounts/{id}/wake", post(today::wake))
        .route("/accounts/{id}/playbooks", post(today::start_playbook))
        .route("/login", get(login_form).post(login_submit))
        .route("/login/sso", get(sso::start))
        .route("/login/sso/callback", get(sso::callback))
        .route("/logout", post(logout))
        .route("/portfolio", get(portfolio))
        .route("/portfolio/views", post(save_view))
        .route("/portfolio/bulk", post(bulk_action))
        .route("/accounts/{id}", get(account::account_page))
        .route("/accounts/{id}/tasks", post(account::create_task))
        .route("/accounts/{id}/edit", post(account::edit_account))
        .route("/accounts/{id}/contacts", post(account::add_contact))
        .route("/contacts/{id}/edit", post(account::edit_contact))
        .route("/accounts/{id}/touchpoints", post(account::log_touchpoint))
        .route("/tasks", get(account::my_tasks))
        .route("/plans", get(plans::plans_page))
        .route("/journey", get(journey::journey_page).post(journey::save))
        .route("/voice", get(voice::voice_page))
        .route("/voice/keywords", post(feedback::save_keywords))
        .route("/feedback", get(feedback::inbox))
        .route("/feedback/{id}", post(feedback::change_item))
        .route("/requests", get(feedback::requests_page))
        .route(
            "/requests/{id}",
            get(feedback::request_page).post(feedback::change_request),
        )
        .route("/accounts/{id}/feedback", post(feedback::add_from_account))
        .route("/accounts/{id}/surveys", post(surveys::send))
        .route("/surveys", get(surveys::surveys_page).post(surveys::save))
        .route(
            "/accounts/{id}/answers/{answer}/experience",
            post(feedback::classify_answer),
        )
        .route("/accounts/{id}/stage", post(journey::move_stage))
        .route("/accounts/{id}/plans", post(plans::create))
        .route("/accounts/{id}/plans/{plan}", get(plans::plan_page))
        .route("/accounts/{id}/plans/{plan}/changes", post(plans::change))
        .route("/accounts/{id}/plans/{plan}/shares", post(plans::share))
        .route(
            "/accounts/{id}/plans/{plan}/shares/{share}/revoke",
            post(plans::revoke),
        )
        .route(
            "/shared/plans/{token}",
            get(plans::shared).post(plans::shared_act),
        )
        .route("/s/{token}", get(survey::open).post(survey::answer))
        .route("/dashboards", get(dashboards::dashboards))
        .route(
            "/scorecards",
            get(scorecards::editor).post(scorecards::submit),
        )
        .route("/scorecards/rollback", post(scorecards::rollback))
        .route("/team", get(team::team_page))
        .route("/playbooks", get(playbooks::list))
        .route(
            "/playbooks/{name}",
            get(playbooks::page).post(playbooks::submit),
        )
        .route("/cohorts", get(proof::cohorts_page))
        .route(
            "/explore",
            get(proof::metrics_page).post(proof::define_metric),
        )
        .route("/explore/change", post(proof::change_metric))
        .route("/forecast", get(forecast::forecast_page))
        .route("/forecast/train", post(forecast::train))
        .route("/forecast/backtest", post(forecast::backtest))
        .route("/settings", get(settings::settings))
        .route("/audit", get(audit::audit_page))
        .route(
            "/import",
            get(import::import_page)
                .post(import::upload)
                // The file's size is checked against the import limit as it is read.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/settings/tokens", post(settings::create_token))
        .route("/settings/write-keys", post(settings::create_write_key))
        .route("/settings/users", post(settings::invite))
        .route("/settings/users/{id}", post(settings::change_person))
        .route("/settings/users/{id}/active", post(settings::set_active))
        .route("/settings/partners", post(settings::save_partner))
        .route("/settings/fields", post(settings::define_field))
        .route(
            "/settings/fields/{key}/delete",
            post(settings::delete_field),
        )
        .route("/tasks/{id}/complete", post(account::complete_task))
        .route("/settings/language", post(account::set_language))
        .route(
            "/unsubscribe",
            get(unsubscribe::confirm).post(unsubscribe::unsubscribe),
        )
}

/// A page for someone outside (a customer's shared plan or survey): not cached, and the
/// address (which holds its token) not sent on as a referrer.
pub(super) fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    response
}

/// A logged-in person on an HTML page; anyone else is sent to the login page.
pub struct PageUser {
    actor: Actor,
    user: User,
    csrf_token: String,
    lang: Lang,
}

impl PageUser {
    /// Whether a form echoes this session's CSRF token.
    pub fn check_csrf(&self, token: &str) -> Result<(), ApiError> {
        if auth::secrets_match(token, &self.csrf_token) {
            Ok(())
        } else {
            Err(ApiError::CsrfFailed)
        }
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let to_login = || Redirect::to("/login").into_response();
        let secret = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .ok_or_else(to_login)?;
        let hash = auth::secret_hash(&secret);
        let session = state
            .run(move |store| store.find_session(&hash, jiff::Timestamp::now()))
            .await
            .map_err(IntoResponse::into_response)?
            .ok_or_else(to_login)?;
        let actor = auth::session_actor(&session.user).ok_or_else(to_login)?;
        let lang = Lang::detect(session.user.locale.as_deref(), &parts.headers);
        Ok(PageUser {
            actor,
            user: session.user,
            csrf_token: session.csrf_token,
            lang,
        })
    }
}

const STYLE: &str = "
:root{--ink:#1d2433;--muted:#5b6475;--line:#d9dde5;--bg:#f6f7f9;--accent:#1f5fbf}
*{box-sizing:border-box}body{margin:0;font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif;color:var(--ink);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem;padding:.6rem 1.2rem;background:#fff;border-bottom:1px solid var(--line)}
header .brand{font-weight:700;color:var(--accent);text-decoration:none}header nav.wide{flex:1;display:flex;flex-wrap:wrap;row-gap:.2rem;min-width:0}header nav a{margin-right:.8rem;white-space:nowrap}header form{margin:0}
header .who{white-space:nowrap}details.menu{display:none;flex:0 0 auto}details.menu[open]{flex-basis:100%;order:9}details.menu summary{cursor:pointer;color:var(--accent);white-space:nowrap}details.menu nav{display:flex;flex-direction:column;padding:.4rem 0}details.menu nav a{padding:.35rem 0}
main{padding:1.2rem;max-width:1200px;margin:0 auto}h1{font-size:1.4rem;margin:.2rem 0 1rem}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}th,td{padding:.45rem .6rem;border-bottom:1px solid var(--line);text-align:left;font-size:.92rem}
th a{color:inherit}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:.8rem;border:1px solid var(--line);background:#eef1f6}
.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}.filters label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted)}
input,select,button{font:inherit;padding:.35rem .5rem;border:1px solid var(--line);border-radius:.3rem}button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
button.link{background:none;color:var(--accent);border:none}
.card{max-width:360px;margin:3rem auto;background:#fff;border:1px solid var(--line);padding:1.5rem;border-radius:.5rem}.card label{display:block;margin:.6rem 0}.card input{width:100%}
.error{color:#a11;background:#fdeeee;border:1px solid #f3c4c4;padding:.5rem;border-radius:.3rem}.muted{color:var(--muted)}.pager{margin-top:1rem;display:flex;gap:1rem}
section{margin:1.4rem 0}h2{font-size:1.1rem;margin:.4rem 0}h3{font-size:1rem}
.facts dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:.6rem;margin:0}.facts dl div{background:#fff;border:1px solid var(--line);border-radius:.4rem;padding:.5rem .7rem}
.facts dt{font-size:.8rem;color:var(--muted)}.facts dd{margin:.15rem 0 0;font-weight:600}
.funnel .bar{height:.35rem;background:var(--accent);border-radius:2px;margin-top:.25rem;min-width:2px;opacity:.7}
.health-red{background:#fde8e8;border-color:#e0a0a0}.health-yellow{background:#fdf6e0;border-color:#d9c27a}.health-green{background:#e6f4ea;border-color:#8fc79f}
.badge.overdue{background:#fde8e8;border-color:#e0a0a0;color:#8a1010}
figure.chart{margin:0;background:#fff;border:1px solid var(--line);border-radius:.4rem;padding:.5rem}figure.chart details{margin-top:.3rem;font-size:.85rem}
nav.views{margin-bottom:.6rem}nav.views a{margin-right:.6rem}
.notice{background:#eef6ff;border:1px solid #b9d4f5;padding:.6rem;border-radius:.4rem}.notice code{word-break:break-all}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:.5rem 0}form.inline label{display:flex;flex-direction:column;font-size:.85rem}
ul.timeline{list-style:none;padding:0}ul.timeline li{padding:.3rem 0;border-bottom:1px solid var(--line)}
.today{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:1.2rem}.today ol.items{list-style:none;padding:0;margin:0}
li.item{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.7rem .9rem;margin-bottom:.7rem}.item-head{display:flex;flex-wrap:wrap;gap:.4rem;align-items:baseline}
.item-head .account{font-weight:600;font-size:1.05rem}.rank{color:var(--muted)}ul.reasons{margin:.4rem 0;padding-left:1.2rem}ul.reasons li{margin:.15rem 0}
p.priority{font-size:.8rem;margin:.2rem 0}.actions{display:flex;flex-wrap:wrap;gap:.3rem .9rem}.actions details summary{cursor:pointer;color:var(--accent);font-size:.9rem}
aside.beside section{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.6rem .9rem;margin:0 0 1rem}ul.plain{list-style:none;padding:0;margin:0}ul.plain li{padding:.3rem 0;border-bottom:1px solid var(--line)}
details.formula{margin:-.4rem 0 1rem;font-size:.85rem;color:var(--muted)}details.formula summary{cursor:pointer}
form.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:.5rem .8rem;align-items:end;margin:.5rem 0;background:#fff;border:1px solid var(--line);border-radius:.4rem;padding:.7rem}
form.grid label{display:flex;flex-direction:column;font-size:.85rem}form.grid label.wide{grid-column:1/-1}form.grid textarea{font:inherit;padding:.35rem .5rem;border:1px solid var(--line);border-radius:.3rem}
details.edit{margin:.6rem 0}details.edit>summary,section details>summary{cursor:pointer;color:var(--accent)}p.notes{margin:.2rem 0;white-space:pre-wrap}
section.reasons-box{background:#fff8e6;border:1px solid #e8c97a;border-radius:.5rem;padding:.5rem .9rem}
.table-scroll{overflow-x:auto}ul.changes{margin:0;padding-left:1rem;min-width:14rem}ul.changes li{white-space:normal;overflow-wrap:anywhere}figure.chart{overflow-x:auto}figure.chart svg{min-width:640px}
form.editor table{display:block;overflow-x:auto;max-width:100%}form.editor select{max-width:26rem}form.editor td input{width:5.5rem}form.editor div.inline{display:flex;flex-wrap:wrap;gap:.6rem;margin:.5rem 0}form.editor div.inline label{display:flex;flex-direction:column;font-size:.85rem}
div.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}td code{word-break:break-word}
div.board{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:.8rem}div.board section.column{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.5rem .8rem;margin:0}
form.stack{display:flex;flex-direction:column;gap:.6rem}form.stack textarea{width:100%;box-sizing:border-box}form.survey{display:flex;flex-direction:column;gap:.9rem;max-width:40rem}form.survey label{display:flex;flex-direction:column;gap:.3rem}form.survey textarea,form.survey select{width:100%;box-sizing:border-box}form.survey button{align-self:flex-start}fieldset.scale{border:1px solid var(--line);border-radius:.5rem;padding:.6rem}fieldset.scale .choices{display:grid;grid-template-columns:repeat(auto-fill,minmax(2.6rem,1fr));gap:.3rem}label.choice{display:flex;flex-direction:column;align-items:center;border:1px solid var(--line);border-radius:.4rem;padding:.3rem 0;min-height:2.75rem;justify-content:center}label.choice input{margin:0}
@media (max-width:760px){
 main{padding:.8rem}header nav.wide{display:none}details.menu{display:block}header{padding:.5rem .8rem}header .who{display:none}
 .today{grid-template-columns:minmax(0,1fr)}
 table{display:block;overflow-x:auto;max-width:100%}th,td{white-space:nowrap}
 .facts dl{grid-template-columns:repeat(2,minmax(0,1fr))}
 form.inline,form.filters{flex-direction:column;align-items:stretch}form.inline input,form.inline select,form.filters input,form.filters select{width:100%}
}
";

fn menu_links(lang: Lang) -> Markup {
    html! {
        a href="/today" { (lang.t("today")) }
        a href="/portfolio" { (lang.t("portfolio")) }
        a href="/tasks" { (lang.t("my_tasks")) }
        a href="/team" { (lang.t("team")) }
        a href="/plans" { (lang.t("plans")) }
        a href="/journey" { (lang.t("journey")) }
        a href="/voice" { (lang.t("voice_of_customer")) }
        a href="/feedback" { (lang.t("feedback")) }
        a href="/requests" { (lang.t("feature_requests")) }
        a href="/dashboards" { (lang.t("dashboards")) }
        a href="/playbooks" { (lang.t("playbooks")) }
        a href="/scorecards" { (lang.t("scorecards")) }
        a href="/forecast" { (lang.t("forecast")) }
        a href="/settings" { (lang.t("settings")) }
    }
}

fn layout(lang: Lang, title: &str, user: Option<(&User, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Mikawaya" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href="/today" { "Mikawaya" }
                    @if user.is_some() {
                        nav.wide aria-label=(lang.t("main_menu")) { (menu_links(lang)) }
                        details.menu {
                            summary { (lang.t("menu")) }
                            nav aria-label=(lang.t("main_menu_narrow")) { (menu_links(lang)) }
                        }
                    }
                    @if let Some((user, csrf)) = user {
                        form method="post" action="/settings/language" {
                            input type="hidden" name="csrf_token" value=(csrf);
                            @let other = if lang == Lang::Ja { ("en", "English") } else { ("ja", "日本語") };
                            button.link type="submit" name="lang" value=(other.0) lang=(other.0) { (other.1) }
                        }
                        span.muted.who { (user.name) " (" (lang.value("user_role", user.role.as_str())) ")" }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button.link type="submit" { (lang.t("logout")) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The API's list parameters for the portfolio page's: active accounts unless the status
/// filter asks for churned ones or all; "no touch for N days" and "renewal within N days"
/// become dates from `today`.
fn portfolio_query(
    raw: &HashMap<String, String>,
    today: jiff::civil::Date,
) -> HashMap<String, String> {
    let mut query = raw.clone();
    for key in [
        "status",
        "no_touch_days",
        "renewal_days",
        "plans",
        "journey",
    ] {
        query.remove(key);
    }
    match raw.get("plans").map_or("", String::as_str) {
        "off_track" => {
            query.insert("plan_off_track".into(), "true".into());
        }
        "overdue" => {
            query.insert("plan_overdue_on".into(), today.to_string());
        }
        _ => {}
    }
    if raw.get("journey").map(String::as_str) == Some("stuck") {
        query.insert("stage_stuck".into(), "true".into());
    }
    match raw.get("status").map_or("", String::as_str) {
        "" | "active" => {
            query.insert("churned".into(), "false".into());
        }
        "churned" => {
            query.insert("churned".into(), "true".into());
        }
        _ => {}
    }
    let days_from_today = |key: &str, sign: i64| -> Option<String> {
        let days: i64 = raw.get(key)?.trim().parse().ok()?;
        mikawaya_domain::value::add_days(today, sign.checked_mul(days)?).map(|d| d.to_string())
    };
    if let Some(since) = days_from_today("no_touch_days", -1) {
        query.insert("untouched_since".into(), since);
    }
    if let Some(to) = days_from_today("renewal_days", 1) {
        query.insert("renewal_from".into(), today.to_string());
        query.insert("renewal_to".into(), to);
    }
    query
}

/// Saves the portfolio's current filter as a named view (a segment; leaders and admins).
async fn save_view(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(error) = page_user.check_csrf(form.get("csrf_token").map_or("", String::as_str)) {
        return error.into_response();
    }
    let result = async {
        let access = page_user.actor.manage()?;
        let name = mikawaya_domain::value::Name::parse(form.get("name").map_or("", String::as_str))
            .map_err(|e| e.in_field("name"))?;
        let raw: HashMap<String, String> = form
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("filter_").map(|k| (k.to_owned(), v.clone())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let query: Vec<(String, String)> = portfolio_query(&raw, state.clock().today())
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let query = serde_urlencoded::to_string(&query).map_err(ApiError::internal)?;
        let params = crate::extract::parse_query::<AccountListParams>(&query)?;
        let filter = params.filter()?;
        let segment = mikawaya_domain::segment::NewSegment {
            name,
            description: None,
            filter,
        };
        let saved = state
            .run(move |store| store.create_segment(&access, segment))
            .await?;
        Ok::<_, ApiError>(format!(
            "/portfolio?{}",
            serde_urlencoded::to_string(&saved.filter).unwrap_or_default()
        ))
    }
    .await;
    match result {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(error) => error.into_response(),
    }
}

/// A form that only carries its CSRF token and where to go next.
#[derive(Debug, Deserialize)]
pub struct NextForm {
    csrf_token: String,
    next: Option<String>,
}

/// Where a form goes after it succeeds: its `next` when that is a path on this site.
pub fn next_or(next: Option<String>, default: &str) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| default.to_owned())
}

/// A number with one decimal and a suffix ("—" when there is none).
pub(crate) fn one_decimal(value: Option<f64>, suffix: &str) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}{suffix}"))
}

/// A share as a percent with one decimal ("—" when there is none).
pub(crate) fn percent(value: Option<f64>) -> String {
    one_decimal(value.map(|v| 100.0 * v), "%")
}

/// A number as people write it (full-width digits, thousands separators); none when blank.
pub(crate) fn parse_number<T: std::str::FromStr>(
    raw: Option<&str>,
    field: &str,
) -> Result<Option<T>, mikawaya_domain::Invalid> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(raw) => mikawaya_domain::value::half_width(raw)
            .replace(',', "")
            .parse()
            .map(Some)
            .map_err(|_| mikawaya_domain::Invalid::new(field, format!("'{raw}' is not a number"))),
    }
}

/// The non-blank lines of a text area, trimmed.
pub(crate) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An error as a page in the user's language, with the status the API would give (the
/// field named, the reason in words), never raw JSON; unknown or hidden rows are "not found".
pub fn error_page(page_user: &PageUser, error: ApiError) -> Response {
    let lang = page_user.lang;
    if let ApiError::NotFound(_) = error {
        return not_found_page(lang).into_response();
    }
    let status = error.status();
    if status.is_server_error() {
        // Logged with its cause by the API's own response path.
        let _ = error.into_response();
        return (
            status,
            layout(
                lang,
                lang.t("error"),
                Some((&page_user.user, &page_user.csrf_token)),
                html! { h1 { (lang.t("error")) } p.error role="alert" { (lang.t("server_error")) } },
            ),
        )
            .into_response();
    }
    let message = match &error {
        ApiError::InvalidField(invalid) if !invalid.field.is_empty() => {
            format!("{}: {}", invalid.field, invalid.reason)
        }
        other => other.to_string(),
    };
    (
        status,
        layout(
            lang,
            lang.t("error"),
            Some((&page_user.user, &page_user.csrf_token)),
            html! {
                h1 { (lang.t("error")) }
                p.error role="alert" { (message) }
                p { a href="/today" { (lang.t("today")) } " · " a href="/portfolio" { (lang.t("portfolio")) } }
            },
        ),
    )
        .into_response()
}

/// Changes the owner, tier or stage of the selected accounts, or starts a playbook on each.
/// The value is checked before anything changes; an account the user cannot see stops the
/// whole action before any write.
async fn bulk_action(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Err(error) = page_user.check_csrf(&field("csrf_token").unwrap_or_default()) {
        return error.into_response();
    }
    let result = async {
        let access = page_user.actor.write()?;
        let ids: Vec<mikawaya_domain::AccountId> = form
            .iter()
            .filter(|(k, _)| k == "ids")
            .map(|(_, v)| {
                v.parse::<i64>()
                    .map(mikawaya_domain::AccountId::new)
                    .map_err(|_| {
                        mikawaya_domain::Invalid::new("ids", format!("'{v}' is not an account id"))
                    })
            })
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Err(
                mikawaya_domain::Invalid::new("ids", page_user.lang.t("nothing_selected")).into(),
            );
        }
        let required = |name: &'static str| {
            field(name).ok_or_else(|| mikawaya_domain::Invalid::new(name, "choose a value"))
        };
        let action = field("action").unwrap_or_default();
        let patch = match action.as_str() {
            "owner" => Some(mikawaya_domain::account::AccountPatch {
                owner_id: mikawaya_domain::Patch::Set(mikawaya_domain::UserId::new(
                    required("owner_id")?.parse().map_err(|_| {
                        mikawaya_domain::Invalid::new("owner_id", "is not a user id")
                    })?,
                )),
                ..Default::default()
            }),
            "tier" => Some(mikawaya_domain::account::AccountPatch {
                tier: mikawaya_domain::Patch::Set(mikawaya_domain::account::TouchTier::parse(
                    &required("tier")?,
                )?),
                ..Default::default()
            }),
            "stage" => Some(mikawaya_domain::account::AccountPatch {
                stage: mikawaya_domain::Patch::Set(
                    mikawaya_domain::value::Slug::parse(&required("stage")?)
                        .map_err(|e| e.in_field("stage"))?,
                ),
                ..Default::default()
            }),
            "playbook" => None,
            other => {
                return Err(mikawaya_domain::Invalid::new(
                    "action",
                    format!("'{other}' is not an action"),
                )
                .into());
            }
        };
        match patch {
            Some(patch) => {
                let changed = ids.clone();
                state
                    .run(move |store| {
                        for id in &ids {
                            store.get_account(&access.read(), *id)?;
                        }
                        for id in &ids {
                            store.update_account(&access, *id, patch.clone())?;
                        }
                        Ok(())
                    })
                    .await?;
                for id in changed {
                    state.react(id);
                }
            }
            None => {
                let playbook = required("playbook")?;
                today::start_by_hand(&state, &page_user, ids, playbook).await?;
            }
        }
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&next_or(field("next"), "/portfolio")).into_response(),
        Err(error) => error_page(&page_user, error),
    }
}

/// A health score with its colour, named in words (never colour alone); the number is the
/// score as shown everywhere (`mikawaya_app::health::shown`), so it and its colour agree.
pub fn health_badge(lang: Lang, score: f64) -> Markup {
    use mikawaya_analytics::scorecard::Colour;
    let (class, name) = match Colour::of(score) {
        Colour::Red => ("red", lang.t("red")),
        Colour::Yellow => ("yellow", lang.t("yellow")),
        Colour::Green => ("green", lang.t("green")),
    };
    let shown = mikawaya_app::health::shown(score);
    html! { span class=(format!("badge health-{class}")) { (shown) " · " (name) } }
}

/// The page for unknown paths (and for accounts the caller cannot see).
pub fn not_found_page(lang: Lang) -> (StatusCode, Markup) {
    (
        StatusCode::NOT_FOUND,
        layout(
            lang,
            lang.t("not_found"),
            None,
            html! { h1 { (lang.t("not_found")) } p { a href="/portfolio" { (lang.t("portfolio")) } } },
        ),
    )
}

fn login_page(lang: Lang, csrf: &str, error: Option<&str>, sso: bool) -> Markup {
    layout(
        lang,
        lang.t("login"),
        None,
        html! {
            div.card {
                h1 { "Mikawaya" }
                p.muted { (lang.t("tagline")) }
                @if let Some(error) = error { p.error role="alert" { (error) } }
                form method="post" action="/login" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("email")) input type="email" name="email" autocomplete="username" required; }
                    label { (lang.t("password")) input type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" { (lang.t("login")) }
                }
                @if sso { p { a.button href="/login/sso" data-testid="sso-login" { (lang.t("sso_login")) } } }
            }
        },
    )
}

fn login_csrf_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, value))
        .http_only(true)
        .secure(state.config.secure_cookies)
        .same_site(SameSite::Strict)
        .path("/login")
        .build()
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> (CookieJar, Markup) {
    let csrf = auth::random_secret();
    let lang = Lang::detect(None, &headers);
    (
        jar.add(login_csrf_cookie(&state, csrf.clone())),
        login_page(lang, &csrf, None, state.sso.is_some()),
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
}

async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = Lang::detect(None, &headers);
    let cookie_csrf = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if cookie_csrf.is_empty() || !auth::secrets_match(&cookie_csrf, &form.csrf_token) {
        let csrf = auth::random_secret();
        let page = login_page(
            lang,
            &csrf,
            Some(lang.t("form_expired")),
            state.sso.is_some(),
        );
        return (
            StatusCode::FORBIDDEN,
            jar.add(login_csrf_cookie(&state, csrf)),
            page,
        )
            .into_response();
    }
    match session::login(
        &state,
        &form.email,
        &form.password,
        &address.ip().to_string(),
    )
    .await
    {
        Ok(logged_in) => {
            let jar = jar.add(session::session_cookie(&state, logged_in.secret));
            (jar, Redirect::to("/today")).into_response()
        }
        Err(error) => {
            let (status, message) = match error {
                ApiError::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, lang.t("locked")),
                ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, lang.t("bad_login")),
                other => return other.into_response(),
            };
            (
                status,
                login_page(lang, &cookie_csrf, Some(message), state.sso.is_some()),
            )
                .into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf_token: String,
}

async fn logout(
    State(state): State<AppState>,
    page_user: PageUser,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(error) = page_user.check_csrf(&form.csrf_token) {
        return error.into_response();
    }
    match session::logout(&state, jar).await {
        Ok(jar) => (jar, Redirect::to("/login")).into_response(),
        Err(error) => error.into_response(),
    }
}

fn sort_link(
    params: &HashMap<String, String>,
    field: AccountSortField,
    current: AccountSort,
) -> String {
    let descending = current.field == field && !current.descending;
    let mut query: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && *k != "sort" && *k != "cursor")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    query.sort();
    query.push((
        "sort".into(),
        format!("{}{}", if descending { "-" } else { "" }, field.as_str()),
    ));
    format!(
        "/portfolio?{}",
        serde_urlencoded::to_string(&query).unwrap_or_default()
    )
}

async fn portfolio(
    State(state): State<AppState>,
    page_user: PageUser,
    QueryParams(raw): QueryParams<HashMap<String, String>>,
) -> Response {
    match portfolio_page(&state, &page_user, raw).await {
        Ok(response) => response,
        Err(error) => error_page(&page_user, error),
    }
}

async fn portfolio_page(
    state: &AppState,
    page_user: &PageUser,
    raw: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let lang = page_user.lang;
    let query = portfolio_query(&raw, state.clock().today());
    // A filter form submits every field; an empty one means "any".
    let given: Vec<(&String, &String)> =
        query.iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let params = serde_urlencoded::to_string(&given)
        .map_err(ApiError::internal)
        .and_then(|query| crate::extract::parse_query::<AccountListParams>(&query));
    let params = match params {
        Ok(params) => params,
        Err(error) => return Ok(error_page(page_user, error)),
    };
    let (filter, sort, page) = match (params.filter(), params.sort(), params.page()) {
        (Ok(filter), Ok(sort), Ok(page)) => (filter, sort, page),
        (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
            return Ok(error_page(page_user, error.into()));
        }
    };
    let access = page_user.actor.read();
    let can_save = page_user.actor.manage().is_ok();
    let can_write = page_user.actor.write().is_ok();
    let clock = state.clock();
    let today_for_page = clock.today();
    let (found, total, users, partners, health, views, playbooks, fields, journey) = state
        .run(move |store| {
            let found = store.list_accounts(&access, &filter, sort, &page)?;
            let total = store.count_accounts(&access, &filter)?;
            let ids: Vec<mikawaya_domain::AccountId> = found.data.iter().map(|a| a.id).collect();
            let today = today_for_page;
            let since = today
                .checked_sub(jiff::Span::new().days(7 * 12))
                .unwrap_or(today);
            let health = store.health_rows(
                &access,
                mikawaya_playbooks::health::SCORECARD,
                Some(&ids),
                since,
                today,
            )?;
            Ok((
                found,
                total,
                store.list_users(&access)?,
                store.list_partners(&access)?,
                health,
                store.list_segments(&access)?,
                mikawaya_playbooks::engine::load_playbooks(store, &access)
                    .map(|(_, firing)| {
                        firing
                            .into_iter()
                            .map(|(_, p)| (p.name().to_string(), p.spec().title.clone()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
                store.list_custom_fields()?,
                mikawaya_app::journey::definition(store, &access)?.0,
            ))
        })
        .await?;
    let stages = journey::stage_choices(&journey, None);
    let mut trends: HashMap<mikawaya_domain::AccountId, Vec<Option<f64>>> = HashMap::new();
    for row in &health {
        trends.entry(row.account_id).or_default().push(row.score);
    }
    let user_names: HashMap<_, _> = users.iter().map(|u| (u.id, u.name.as_str())).collect();
    let partner_names: HashMap<_, _> = partners.iter().map(|p| (p.id, p.name.as_str())).collect();
    let owners: Vec<&User> = users
        .iter()
        .filter(|u| {
            matches!(
                u.role,
                mikawaya_domain::access::Role::Csm | mikawaya_domain::access::Role::Leader
            )
        })
        .collect();
    let selected = |key: &str, value: &str| raw.get(key).is_some_and(|v| v == value);
    let next_link = found.next_cursor.as_ref().map(|cursor| {
        let mut query: Vec<(String, String)> = raw
            .iter()
            .filter(|(k, v)| *k != "cursor" && !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        query.sort();
        query.push(("cursor".into(), cursor.clone()));
        format!(
            "/portfolio?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    });
    let header = |field: AccountSortField, label: &str, numeric: bool| {
        let marker = if sort.field == field {
            if sort.descending { " ▼" } else { " ▲" }
        } else {
            ""
        };
        let aria = if sort.field == field {
            if sort.descending {
                "descending"
            } else {
                "ascending"
            }
        } else {
            "none"
        };
        html! { th.num[numeric] scope="col" aria-sort=(aria) { a href=(sort_link(&raw, field, sort)) { (label) (marker) } } }
    };
    let body = html! {
        h1 { (lang.t("portfolio")) " " span.muted { (i18n::group_digits(total)) " " (lang.t("accounts_found")) } }
        @if !views.is_empty() {
            nav.views aria-label=(lang.t("saved_views")) {
                span.muted { (lang.t("saved_views")) ": " }
                @for view in &views {
                    a href=(format!("/portfolio?{}", serde_urlencoded::to_string(&view.filter).unwrap_or_default())) { (view.name) } " "
                }
            }
        }
        form.filters method="get" action="/portfolio" {
            label { (lang.t("search")) input type="search" name="q" value=(raw.get("q").map_or("", String::as_str)); }
            label { (lang.t("stage")) select name="stage" {
                option value="" { (lang.t("all")) }
                @for stage in &stages {
                    option value=(stage) selected[selected("stage", stage)] { (journey::stage_name(lang, &journey, stage)) }
                }
            } }
            label { (lang.t("tier")) select name="tier" {
                option value="" { (lang.t("all")) }
                @for tier in ["high", "low", "tech"] { option value=(tier) selected[selected("tier", tier)] { (lang.t(tier)) } }
            } }
            label { (lang.t("owner")) select name="owner_id" {
                option value="" { (lang.t("all")) }
                @for owner in &owners { option value=(owner.id) selected[selected("owner_id", &owner.id.to_string())] { (owner.name) } }
            } }
            @if partners.len() > 1 {
                label { (lang.t("partner")) select name="partner_id" {
                    option value="" { (lang.t("all")) }
                    @for partner in &partners { option value=(partner.id) selected[selected("partner_id", &partner.id.to_string())] { (partner.name) } }
                } }
            }
            label { (lang.t("health")) select name="health" {
                option value="" { (lang.t("all")) }
                @for colour in ["red", "yellow", "green"] { option value=(colour) selected[selected("health", colour)] { (lang.t(colour)) } }
            } }
            label { (lang.t("forecast_risk")) select name="risk_min" {
                option value="" { (lang.t("all")) }
                @for (value, label) in [("0.1", "≥ 10%"), ("0.2", "≥ 20%"), ("0.3", "≥ 30%"), ("0.5", "≥ 50%")] {
                    option value=(value) selected[selected("risk_min", value)] { (label) }
                }
            } }
            label { (lang.t("change_30d")) select name="health_change_max" {
                option value="" { (lang.t("all")) }
                @for value in ["-5", "-10", "-20"] {
                    option value=(value) selected[selected("health_change_max", value)] { (value) " " (lang.t("points_or_more")) }
                }
            } }
            label { (lang.t("no_touch_for")) select name="no_touch_days" {
                option value="" { (lang.t("all")) }
                @for value in ["30", "60", "90"] {
                    option value=(value) selected[selected("no_touch_days", value)] { (value) " " (lang.t("days_or_more")) }
                }
            } }
            label { (lang.t("renewal_within")) select name="renewal_days" {
                option value="" { (lang.t("all")) }
                @for value in ["30", "90", "180"] {
                    option value=(value) selected[selected("renewal_days", value)] { (value) " " (lang.t("days")) }
                }
            } }
            label { (lang.t("plans")) select name="plans" {
                option value="" { (lang.t("all")) }
                option value="off_track" selected[selected("plans", "off_track")] { (lang.t("plan_filter_off_track")) }
                option value="overdue" selected[selected("plans", "overdue")] { (lang.t("plan_filter_overdue")) }
            } }
            label { (lang.t("journey")) select name="journey" {
                option value="" { (lang.t("all")) }
                option value="stuck" selected[selected("journey", "stuck")] { (lang.t("journey_filter_stuck")) }
            } }
            @if !fields.is_empty() {
                label { (lang.t("custom_field")) select name="custom_key" {
                    option value="" { (lang.t("all")) }
                    @for field in &fields { option value=(field.key()) selected[selected("custom_key", field.key().as_str())] { (field.label()) } }
                } }
                label { (lang.t("custom_value")) input type="text" name="custom_value" value=(raw.get("custom_value").map_or("", String::as_str)); }
            }
            label { (lang.t("status")) select name="status" {
                @for (value, label) in [("active", lang.t("active")), ("churned", lang.t("churned")), ("all", lang.t("all"))] {
                    option value=(value) selected[selected("status", value) || (value == "active" && raw.get("status").is_none_or(String::is_empty))] { (label) }
                }
            } }
            @if let Some(sort) = raw.get("sort") { input type="hidden" name="sort" value=(sort); }
            button type="submit" { (lang.t("filter")) }
        }
        @if found.data.is_empty() {
            p.muted { (lang.t("no_accounts")) }
        } @else {
            table tabindex="0" {
                thead { tr {
                    @if can_write { th scope="col" { span.visually-hidden { (lang.t("select")) } } }
                    (header(AccountSortField::Name, lang.t("name"), false))
                    (header(AccountSortField::Health, lang.t("health"), false))
                    (header(AccountSortField::HealthChange, lang.t("change_30d"), true))
                    (header(AccountSortField::ForecastRisk, lang.t("forecast_risk"), true))
                    (header(AccountSortField::Mrr, lang.t("arr"), true))
                    (header(AccountSortField::RenewalDate, lang.t("renewal"), false))
                    (header(AccountSortField::LastTouch, lang.t("last_touch"), false))
                    th scope="col" { (lang.t("owner")) }
                    th scope="col" { (lang.t("stage")) }
                    th scope="col" { (lang.t("tier")) }
                    th scope="col" { (lang.t("partner")) }
                } }
                tbody {
                    @for account in &found.data {
                        tr {
                            @if can_write { td { input type="checkbox" name="ids" value=(account.id) form="bulk" aria-label=(format!("{} {}", lang.t("select"), account.name)); } }
                            td { a href=(format!("/accounts/{}", account.id)) { (account.name) } }
                            td.health data-testid="portfolio-health" {
                                @if let Some(score) = account.signals.health { (health_badge(lang, score)) }
                                @if let Some(trend) = trends.get(&account.id) { " " (charts::sparkline(trend)) }
                            }
                            td.num { @if let Some(change) = account.signals.health_change { (format!("{change:+.0}")) } }
                            td.num { @if let Some(risk) = account.signals.forecast_risk { (format!("{:.0}%", risk * 100.0)) } }
                            td.num { (i18n::money(account.arr(), &account.currency)) }
                            td { @if let Some(renewal) = account.renewal_date { (i18n::date(renewal, lang)) } }
                            td { @if let Some(touch) = account.signals.last_touch { (i18n::date(clock.day_of(touch), lang)) } @else { "—" } }
                            td { @if let Some(owner) = account.owner_id.and_then(|id| user_names.get(&id)) { (owner) } }
                            td { @if let Some(stage) = &account.stage { span.badge { (journey::stage_name(lang, &journey, stage.as_str())) } } }
                            td.tier { @if let Some(tier) = account.tier { span.badge { (lang.t(tier.as_str())) } } }
                            td { @if let Some(partner) = account.partner_id.and_then(|id| partner_names.get(&id)) { (partner) } }
                        }
                    }
                }
            }
        }
        @if can_write && !found.data.is_empty() {
            form.inline #bulk method="post" action="/portfolio/bulk" {
                input type="hidden" name="csrf_token" value=(page_user.csrf_token);
                input type="hidden" name="next" value=(format!("/portfolio?{}", serde_urlencoded::to_string(raw.iter().collect::<Vec<_>>()).unwrap_or_default()));
                label { (lang.t("bulk_action")) select name="action" {
                    option value="owner" { (lang.t("set_owner")) }
                    option value="tier" { (lang.t("set_tier")) }
                    option value="stage" { (lang.t("set_stage")) }
                    @if !playbooks.is_empty() { option value="playbook" { (lang.t("start_playbook")) } }
                } }
                label { (lang.t("new_owner")) select name="owner_id" {
                    option value="" { "—" }
                    @for owner in &owners { option value=(owner.id) { (owner.name) } }
                } }
                label { (lang.t("new_tier")) select name="tier" {
                    option value="" { "—" }
                    @for tier in ["high", "low", "tech"] { option value=(tier) { (lang.t(tier)) } }
                } }
                label { (lang.t("new_stage")) select name="stage" {
                    option value="" { "—" }
                    @for stage in &stages { option value=(stage) { (journey::stage_name(lang, &journey, stage)) } }
                } }
                @if !playbooks.is_empty() {
                    label { (lang.t("playbook_to_start")) select name="playbook" {
                        option value="" { "—" }
                        @for (name, title) in &playbooks { option value=(name) { (title.pick(lang.code())) } }
                    } }
                }
                button type="submit" { (lang.t("apply_to_selected")) }
            }
        }
        @if can_save {
            form.inline method="post" action="/portfolio/views" {
                input type="hidden" name="csrf_token" value=(page_user.csrf_token);
                @for (key, value) in raw.iter().filter(|(k, v)| !v.is_empty() && *k != "cursor" && *k != "sort" && *k != "limit") {
                    input type="hidden" name=(format!("filter_{key}")) value=(value);
                }
                label { (lang.t("view_name")) input type="text" name="name" required; }
                button type="submit" { (lang.t("save_view")) }
            }
        }
        div.pager {
            @if raw.contains_key("cursor") { a href=(sort_link(&raw, sort.field, AccountSort { field: sort.field, descending: !sort.descending })) { (lang.t("first")) } }
            @if let Some(next) = next_link { a href=(next) rel="next" { (lang.t("next")) " →" } }
        }
    };
    Ok(layout(
        lang,
        lang.t("portfolio"),
        Some((&page_user.user, &page_user.csrf_token)),
        body,
    )
    .into_response())
}
