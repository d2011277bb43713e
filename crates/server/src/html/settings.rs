//! Settings: users and roles, partners, API tokens and write keys (created and revoked
//! here by admins; a new secret is shown once), the health scorecard, metrics and
//! playbooks. Partner users see only their partner.

use super::i18n;
use super::{PageUser, layout};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mikawaya_analytics::scorecard::Mapping;
use mikawaya_domain::access::{Role, Scope};
use mikawaya_domain::custom_field::{CustomFieldDef, CustomFieldKind};
use mikawaya_domain::value::{Name, Slug};
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
    let (users, partners, tokens, write_keys, metrics, playbooks, cards, fields, audit) = state
        .run(move |store| {
            let audit = match &admin {
                Some(admin) => store.audit_log(
                    admin,
                    &mikawaya_store::AuditFilter {
                        limit: AUDIT_SHOWN,
                        ..Default::default()
                    },
                )?,
                None => Vec::new(),
            };
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
                store.list_custom_fields()?,
                audit,
            ))
        })
        .await?;
    let is_admin = page_user.actor.admin().is_ok();
    let manages = page_user.actor.manage().is_ok();
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
        section data-testid="people" {
            h2 { (lang.t("users")) }
            table tabindex="0" {
                thead { tr { th scope="col" { (lang.t("contact")) } th scope="col" { (lang.t("email")) } th scope="col" { (lang.t("role")) } th scope="col" { (lang.t("partner")) } th scope="col" { (lang.t("language")) } th scope="col" { (lang.t("status")) } } }
                tbody { @for u in &users { tr {
                    td {
                        (u.name)
                        @if is_admin {
                            details.edit {
                                summary { (lang.t("change")) }
                                form.grid method="post" action=(format!("/settings/users/{}", u.id)) {
                                    input type="hidden" name="csrf_token" value=(csrf);
                                    label { (lang.t("contact")) input type="text" name="name" value=(u.name) required; }
                                    label { (lang.t("role")) (role_select(lang, Some(u.role))) }
                                    label { (lang.t("partner")) (partner_select(lang, &partners, u.partner_id)) }
                                    button type="submit" { (lang.t("save")) }
                                }
                            }
                        }
                    }
                    td { (u.email) }
                    td { (lang.value("user_role", u.role.as_str())) }
                    td { (partner_name(u.partner_id)) }
                    td { (u.locale.as_deref().unwrap_or("—")) }
                    td {
                        @if u.deactivated_at.is_some() { (lang.t("deactivated")) } @else { (lang.t("active")) }
                        @if is_admin && u.id != page_user.user.id {
                            form.inline method="post" action=(format!("/settings/users/{}/active", u.id)) {
                                input type="hidden" name="csrf_token" value=(csrf);
                                @if u.deactivated_at.is_some() {
                                    input type="hidden" name="active" value="true";
                                    button.link type="submit" { (lang.t("activate")) }
                                } @else {
                                    input type="hidden" name="active" value="false";
                                    button.link type="submit" { (lang.t("deactivate")) }
                                }
                            }
                        }
                    }
                } } }
            }
            @if is_admin {
                h3 { (lang.t("invite")) }
                form.grid method="post" action="/settings/users" data-testid="invite" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("email")) input type="email" name="email" required; }
                    label { (lang.t("contact")) input type="text" name="name"; }
                    label { (lang.t("role")) (role_select(lang, None)) }
                    label { (lang.t("partner")) (partner_select(lang, &partners, None)) }
                    button type="submit" { (lang.t("invite")) }
                }
            }
        }
        section data-testid="partners" {
            h2 { (lang.t("partners")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("partner")) } th scope="col" { (lang.t("external_id")) } } }
            tbody { @for p in &partners { tr { td { (p.name) } td { @if let Some(e) = &p.external_id { (e) } } } } } }
            @if manages {
                form.inline method="post" action="/settings/partners" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("partner")) input type="text" name="name" required; }
                    label { (lang.t("external_id")) input type="text" name="external_id"; }
                    button type="submit" { (lang.t("save_partner")) }
                }
                p.muted { (lang.t("partner_help")) }
            }
        }
        section data-testid="custom-fields" {
            h2 { (lang.t("custom_fields")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("key")) } th scope="col" { (lang.t("label")) } th scope="col" { (lang.t("field_kind")) } th scope="col" { (lang.t("options")) } th scope="col" { } } }
            tbody { @for f in &fields { tr {
                td { code { (f.key()) } } td { (f.label()) } td { (f.kind().as_str()) } td { (f.options().join(", ")) }
                td { @if is_admin {
                    form.inline method="post" action=(format!("/settings/fields/{}/delete", f.key())) {
                        input type="hidden" name="csrf_token" value=(csrf);
                        button.link type="submit" { (lang.t("delete")) }
                    }
                } }
            } } } }
            @if is_admin {
                form.grid method="post" action="/settings/fields" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label { (lang.t("key")) input type="text" name="key" required pattern="[a-z][a-z0-9_-]*"; }
                    label { (lang.t("label")) input type="text" name="label" required; }
                    label { (lang.t("field_kind")) select name="kind" { @for kind in ["text", "number", "date", "bool", "enum"] { option value=(kind) { (kind) } } } }
                    label { (lang.t("options_help")) input type="text" name="options"; }
                    button type="submit" { (lang.t("define_field")) }
                }
            }
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
        @if page_user.actor.write().is_ok() {
            section {
                h2 { (lang.t("import_title")) }
                p { a href="/import" data-testid="import-link" { (lang.t("import_title")) " →" } }
            }
        }
        section {
            h2 { (lang.t("metrics")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("measure")) } th scope="col" { (lang.t("definition")) } } }
            tbody { @for (name, spec) in &metrics { tr { td { (name) } td { code { (spec) } } } } } }
        }
        @if is_admin {
            section data-testid="audit" {
                h2 { (lang.t("audit_log")) }
                p { a href="/audit" data-testid="audit-link" { (lang.t("all_changes")) " →" } }
                table tabindex="0" {
                    thead { tr { th scope="col" { (lang.t("when")) } th scope="col" { (lang.t("who")) } th scope="col" { (lang.t("what")) } th scope="col" { (lang.t("before")) } th scope="col" { (lang.t("after")) } } }
                    tbody { @for entry in &audit { tr {
                        td { (entry.at.strftime("%Y-%m-%d %H:%M UTC")) }
                        td { (entry.actor_id.and_then(|id| users.iter().find(|u| u.id == id)).map_or_else(|| lang.t("system").to_owned(), |u| u.name.to_string())) }
                        td { (lang.value("audit_object", &entry.object)) " " (entry.object_key) " · " (lang.value("audit_action", &entry.action)) }
                        td { code { (entry.before.as_deref().unwrap_or("—")) } }
                        td { code { (entry.after.as_deref().unwrap_or("—")) } }
                    } } }
                }
            }
        }
        section {
            h2 { (lang.t("playbooks")) }
            table tabindex="0" { thead { tr { th scope="col" { (lang.t("contact")) } th.num scope="col" { (lang.t("version")) } th scope="col" { (lang.t("status")) } } }
            tbody { @for p in &latest { tr { td { a href=(format!("/playbooks/{}", p.name)) { (p.name) } } td.num { (p.version) } td { @if p.enabled { (lang.t("active")) } @else { (lang.t("disabled")) } } } } } }
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

/// How many recorded changes the page lists.
const AUDIT_SHOWN: u32 = 10;

fn role_select(lang: super::i18n::Lang, current: Option<Role>) -> Markup {
    html! {
        select name="role" {
            @for role in [Role::Csm, Role::Leader, Role::Admin, Role::Viewer, Role::Partner] {
                option value=(role.as_str()) selected[current == Some(role)] { (lang.value("user_role", role.as_str())) }
            }
        }
    }
}

/// Partners by their external id (what the CRM calls them), else their number.
fn partner_select(
    lang: super::i18n::Lang,
    partners: &[mikawaya_domain::partner::Partner],
    current: Option<mikawaya_domain::PartnerId>,
) -> Markup {
    html! {
        select name="partner" {
            option value="" { (lang.t("no_partner")) }
            @for p in partners {
                @let reference = p.external_id.as_ref().map_or_else(|| format!("#{}", p.id), ToString::to_string);
                option value=(reference) selected[current == Some(p.id)] { (p.name) " (" (reference) ")" }
            }
        }
    }
}

/// The invite form.
#[derive(Debug, Deserialize)]
pub struct InviteForm {
    csrf_token: String,
    email: String,
    name: Option<String>,
    role: String,
    partner: Option<String>,
}

/// Invites someone (admins): the user is created with a first password shown once.
pub async fn invite(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<InviteForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let admin = page_user.actor.admin()?;
        let invitation = mikawaya_app::people::Invitation {
            email: form.email.clone(),
            name: form.name.clone(),
            role: form.role.clone(),
            partner: form.partner.clone(),
        };
        let password: String = auth::random_secret().chars().take(20).collect();
        let hashed = password.clone();
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&hashed))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::Internal(e.to_string().into()))?;
        let user = state
            .run(move |store| {
                Ok(mikawaya_app::people::invite(
                    store,
                    &admin,
                    &invitation,
                    Some(hash),
                )?)
            })
            .await?;
        let what = format!("{} {}", page_user.lang.t("first_password_for"), user.email);
        render(&state, &page_user, Some((what, password))).await
    }
    .await;
    result.map_or_else(
        |e| super::error_page(&page_user, e),
        IntoResponse::into_response,
    )
}

/// The change-a-person form.
#[derive(Debug, Deserialize)]
pub struct PersonForm {
    csrf_token: String,
    name: Option<String>,
    role: Option<String>,
    partner: Option<String>,
}

/// Changes a person's name, role or partner (admins).
pub async fn change_person(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<PersonForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let admin = page_user.actor.admin()?;
        let change = mikawaya_app::people::Change {
            name: form.name,
            role: form.role,
            partner: Some(form.partner.unwrap_or_default()),
        };
        state
            .run(move |store| {
                Ok(mikawaya_app::people::change(
                    store,
                    &admin,
                    mikawaya_domain::UserId::new(id),
                    &change,
                )?)
            })
            .await?;
        Ok::<_, ApiError>(Redirect::to("/settings").into_response())
    }
    .await;
    result.unwrap_or_else(|e| super::error_page(&page_user, e))
}

/// The activate/deactivate form.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    csrf_token: String,
    active: bool,
}

/// Deactivates or activates a person (admins).
pub async fn set_active(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(id): Path<i64>,
    Form(form): Form<ActiveForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let admin = page_user.actor.admin()?;
        state
            .run(move |store| {
                store.set_user_active(&admin, mikawaya_domain::UserId::new(id), form.active)
            })
            .await?;
        Ok::<_, ApiError>(Redirect::to("/settings").into_response())
    }
    .await;
    result.unwrap_or_else(|e| super::error_page(&page_user, e))
}

/// The partner form.
#[derive(Debug, Deserialize)]
pub struct PartnerForm {
    csrf_token: String,
    name: String,
    external_id: Option<String>,
}

/// Adds a partner, or renames the one with that external id (admins and leaders).
pub async fn save_partner(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<PartnerForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let access = page_user.actor.manage()?;
        let partner = mikawaya_domain::partner::NewPartner {
            external_id: crate::wire::optional(
                form.external_id.as_deref().filter(|e| !e.trim().is_empty()),
                "external_id",
                mikawaya_domain::value::ExternalId::parse,
            )?,
            name: Name::parse(&form.name).map_err(|e| e.in_field("name"))?,
        };
        state
            .run(move |store| store.upsert_partner(&access, partner))
            .await?;
        Ok::<_, ApiError>(Redirect::to("/settings").into_response())
    }
    .await;
    result.unwrap_or_else(|e| super::error_page(&page_user, e))
}

/// The custom field form.
#[derive(Debug, Deserialize)]
pub struct FieldForm {
    csrf_token: String,
    key: String,
    label: String,
    kind: String,
    options: Option<String>,
}

/// Defines (or redefines) a custom field of accounts (admins).
pub async fn define_field(
    State(state): State<AppState>,
    page_user: PageUser,
    Form(form): Form<FieldForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let admin = page_user.actor.admin()?;
        let options: Vec<String> = form
            .options
            .as_deref()
            .unwrap_or("")
            .split([',', '、'])
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        let definition = CustomFieldDef::new(
            Slug::parse(&form.key).map_err(|e| e.in_field("key"))?,
            Name::parse(&form.label).map_err(|e| e.in_field("label"))?,
            CustomFieldKind::parse(&form.kind).map_err(|e| e.in_field("kind"))?,
            options,
        )?;
        state
            .run(move |store| store.put_custom_field(&admin, definition))
            .await?;
        Ok::<_, ApiError>(Redirect::to("/settings").into_response())
    }
    .await;
    result.unwrap_or_else(|e| super::error_page(&page_user, e))
}

/// Deletes a custom field definition (admins).
pub async fn delete_field(
    State(state): State<AppState>,
    page_user: PageUser,
    Path(key): Path<String>,
    Form(form): Form<super::NextForm>,
) -> Response {
    let result = async {
        page_user.check_csrf(&form.csrf_token)?;
        let admin = page_user.actor.admin()?;
        state
            .run(move |store| store.delete_custom_field(&admin, &key))
            .await?;
        Ok::<_, ApiError>(Redirect::to("/settings").into_response())
    }
    .await;
    result.unwrap_or_else(|e| super::error_page(&page_user, e))
}
