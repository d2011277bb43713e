//! Settings: users and roles, partners, API tokens and write keys (created and revoked
//! here by admins; a new secret is shown once), the health scorecard, metrics and
//! playbooks. Partner users see only their partner.

use super::i18n;
use super::{PageUser, layout};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mikawaya_analytics::scorecard::Mapping;
use mikawaya_domain::access::Scope;
use mikawaya_domain::value::Name;
use serde::Deserialize;

/// The settings page.
pub async fn settings(State(state): State<AppState>, page_user: PageUser) -> Response {
    match render(&state, &page_user, None).await {
        Ok(page) => page.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn render(
    state: &AppState,
    page_user: &PageUser,
    created: Option<(String, String)>,
) -> Result<Markup, ApiError> {
    let lang = page_user.lang;
    let access = page_user.actor.read();
    let admin = page_user.actor.admin().ok();
    let (users, partners, tokens, write_keys, metrics, playbooks, cards) = state
        .run(move |store| {
            let tokens = match &admin {
                Some(admin) => store.list_tokens(admin)?,
                None => Vec::new(),
            };
            let write_keys = match &admin {
                Some(admin) => store.list_write_keys(admin)?,
                None => Vec::new(),
            };
            Ok((
                store.list_users(&access)?,
                store.list_partners(&access)?,
                tokens,
                write_keys,
                store.list_metrics()?,
                store.playbook_versions(&access, None)?,
                mikawaya_playbooks::health::card_set(store, &access)?,
            ))
        })
        .await?;
    let is_admin = page_user.actor.admin().is_ok();
    let csrf = &page_user.csrf_token;
    let card = cards.default_card();
    let clock = state.clock();
    let partner_name = |id: Option<mikawaya_domain::PartnerId>| {
        id.and_then(|id| partners.iter().find(|p| p.id == id))
            .map(|p| p.name.to_string())
            .unwrap_or_default()
    };
    let mut latest: Vec<&mikawaya_store::work::PlaybookVersion> = Vec::new();
    for version in &playbooks {
        match latest.iter_mut().find(|p| p.name == version.name) {
            Some(slot) => *slot = version,
            None => latest.push(version),
        }
    }
    let body = html! {
        h1 { (lang.t("settings")) }
        @if let Some((what, secret)) = &created {
            div.notice role="status" {
                p { (what) " — " (lang.t("shown_once")) }
                code data-testid="new-secret" { (secret) }
            }
        }
        section {
            h2 { (lang.t("users")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("contact")) } th scope="col" { (lang.t("email")) } th scope="col" { (lang.t("role")) } th scope="col" { (lang.t("partner")) } th scope="col" { (lang.t("language")) } } }
            tbody { @for u in &users { tr { td { (u.name) } td { (u.email) } td { (lang.value("user_role", u.role.as_str())) } td { (partner_name(u.partner_id)) } td { (u.locale.as_deref().unwrap_or("—")) } } } } }
        }
        section {
            h2 { (lang.t("partners")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("partner")) } th scope="col" { "ID" } } }
            tbody { @for p in &partners { tr { td { (p.name) } td { @if let Some(e) = &p.external_id { (e) } } } } } }
        }
        @if is_admin {
            section {
                h2 { (lang.t("api_tokens")) }
                table tabindex="0" { thead { tr { th scope="col" { (lang.t("contact")) } th scope="col" { (lang.t("scope")) } th scope="col" { (lang.t("created")) } th scope="col" { (lang.t("status")) } } }
                tbody { @for t in &tokens { tr { td { (t.name) } td { (t.scope.as_str()) } td { (i18n::date(clock.day_of(t.created_at), lang)) } td { @if t.revoked_at.is_some() { (lang.t("revoked")) } @else { (lang.t("active")) } } } } } }
                form.inline method="post" action="/settings/tokens" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("token_name")) input type="text" name="name" required; }
                    label { (lang.t("scope")) select name="scope" { option value="read" { "read" } option value="write" { "write" } option value="admin" { "admin" } } }
                    button type="submit" { (lang.t("create_token")) }
                }
            }
            section {
                h2 { (lang.t("write_keys")) }
                table tabindex="0" { thead { tr { th scope="col" { (lang.t("contact")) } th scope="col" { (lang.t("created")) } th scope="col" { (lang.t("status")) } } }
                tbody { @for k in &write_keys { tr { td { (k.name) } td { (i18n::date(clock.day_of(k.created_at), lang)) } td { @if k.revoked_at.is_some() { (lang.t("revoked")) } @else { (lang.t("active")) } } } } } }
                form.inline method="post" action="/settings/write-keys" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("key_name")) input type="text" name="name" required; }
                    button type="submit" { (lang.t("create_write_key")) }
                }
            }
        }
        section {
            h2 { (lang.t("scorecard")) " · " (card.name()) }
            p { a href="/scorecards" { (lang.t("edit_scorecards")) } }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("measure")) } th.num scope="col" { (lang.t("weight")) } th scope="col" { (lang.t("mapping")) } } }
            tbody { @for m in card.measures() { tr {
                td { (m.metric().name()) }
                td.num { (m.weight()) }
                td { @match m.mapping() { Mapping::Thresholds { red, green } => { (lang.t("red")) " " (red) " → " (lang.t("green")) " " (green) } Mapping::Percentile => { (lang.t("percentile")) } } }
            } } } }
        }
        section {
            h2 { (lang.t("metrics")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("measure")) } th scope="col" { (lang.t("definition")) } } }
            tbody { @for (name, spec) in &metrics { tr { td { (name) } td { code { (spec) } } } } } }
        }
        section {
            h2 { (lang.t("playbooks")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("contact")) } th.num scope="col" { (lang.t("version")) } th scope="col" { (lang.t("status")) } } }
            tbody { @for p in &latest { tr { td { (p.name) } td.num { (p.version) } td { @if p.enabled { (lang.t("active")) } @else { (lang.t("disabled")) } } } } } }
        }
    };
    Ok(layout(
        lang,
        lang.t("settings"),
        Some((&page_user.user, csrf)),
        body,
    ))
}

/// A create form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf_token: String,
    name: String,
    scope: Option<String>,
}

fn check(page_user: &PageUser, form: &CreateForm) -> Result<Name, ApiError> {
    page_user.check_csrf(&form.csrf_token)?;
    Ok(Name::parse(&form.name).map_err(|e| e.in_field("name"))?)
}

/// Creates an API token (admins); the page shows it once.
pub async fn create_token(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<CreateForm>,
) -> Response {
    let result = async {
        let name = check(&page_user, &form)?;
        let scope = Scope::parse(form.scope.as_deref().unwrap_or("read"))
            .map_err(|e| e.in_field("scope"))?;
        let admin = page_user.actor.admin()?;
        let (secret, hash) = auth::new_token();
        let user_id = page_user.user.id;
        state
            .run(move |store| store.create_token(&admin, name, scope, Some(user_id), hash))
            .await?;
        render(
            &state,
            &page_user,
            Some((page_user.lang.t("api_token_created").to_owned(), secret)),
        )
        .await
    }
    .await;
    result.map_or_else(IntoResponse::into_response, IntoResponse::into_response)
}

/// Creates a write key (admins); the page shows it once.
pub async fn create_write_key(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<CreateForm>,
) -> Response {
    let result = async {
        let name = check(&page_user, &form)?;
        let admin = page_user.actor.admin()?;
        let (key, hash) = auth::new_write_key();
        state
            .run(move |store| store.create_write_key(&admin, name, hash))
            .await?;
        render(
            &state,
            &page_user,
            Some((page_user.lang.t("write_key_created").to_owned(), key)),
        )
        .await
    }
    .await;
    result.map_or_else(IntoResponse::into_response, IntoResponse::into_response)
}
