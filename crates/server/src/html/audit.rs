//! The audit trail page for admins: every change to customer data and configuration, by
//! whom (a person, or the system), when, and what changed (only the fields that did),
//! filtered by kind of object, object, person and dates, page by page, and as CSV.

use super::i18n::Lang;
use super::{PageUser, layout};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mikawaya_domain::UserId;
use mikawaya_store::AuditFilter;
use serde::Deserialize;

/// The kinds of object the trail records.
const OBJECTS: &[&str] = &[
    "account",
    "contact",
    "subscription",
    "touchpoint",
    "task",
    "playbook",
    "configuration",
    "token",
    "write_key",
    "feature_request",
    "user",
    "partner",
    "segment",
    "custom_field",
];

const PAGE: u32 = 100;

/// The page's filters (all optional).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    object: Option<String>,
    key: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

impl AuditQuery {
    fn given(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    fn filter(&self) -> Result<AuditFilter, ApiError> {
        Ok(mikawaya_app::audit::Query {
            object: self.object.as_deref(),
            key: self.key.as_deref(),
            actor: self.actor.as_deref(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            cursor: self.cursor.as_deref(),
        }
        .filter(PAGE)?)
    }

    /// The query string of these filters (without the cursor), for links.
    fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("object", &self.object),
            ("key", &self.key),
            ("actor", &self.actor),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = Self::given(value) {
                query.append_pair(key, value);
            }
        }
        query.finish()
    }
}

/// What changed between two JSON objects: `field: before → after` for each field that
/// differs (every field of a created or deleted object).
fn changes(before: Option<&str>, after: Option<&str>) -> Vec<(String, String, String)> {
    let parse = |text: Option<&str>| {
        text.and_then(|t| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).ok()
        })
        .unwrap_or_default()
    };
    let (before, after) = (parse(before), parse(after));
    let show = |value: Option<&serde_json::Value>| match value {
        None | Some(serde_json::Value::Null) => "—".to_owned(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| (key.clone(), show(before.get(key)), show(after.get(key))))
        .collect()
}

fn object_link(entry: &mikawaya_store::AuditEntry) -> Option<String> {
    match entry.object.as_str() {
        "account" => Some(format!("/accounts/{}", entry.object_key)),
        "feature_request" => Some(format!("/requests/{}", entry.object_key)),
        _ => None,
    }
}

fn form(lang: Lang, query: &AuditQuery, users: &[mikawaya_domain::user::User]) -> Markup {
    let current = |value: &Option<String>| AuditQuery::given(value).unwrap_or("").to_owned();
    html! {
        form.filters method="get" action="/audit" data-testid="audit-filters" {
            label { (lang.t("what")) " "
                select name="object" {
                    option value="" { (lang.t("all")) }
                    @for object in OBJECTS {
                        option value=(object) selected[current(&query.object) == *object] { (lang.value("audit_object", object)) }
                    }
                }
            }
            label { "ID " input type="text" name="key" size="8" value=(current(&query.key)); }
            label { (lang.t("who")) " "
                select name="actor" {
                    option value="" { (lang.t("all")) }
                    option value="system" selected[current(&query.actor) == "system"] { (lang.t("system")) }
                    @for user in users {
                        option value=(user.id) selected[current(&query.actor) == user.id.to_string()] { (user.name) }
                    }
                }
            }
            label { (lang.t("from")) " " input type="date" name="from" value=(current(&query.from)); }
            label { (lang.t("to")) " " input type="date" name="to" value=(current(&query.to)); }
            button type="submit" { (lang.t("show")) }
        }
    }
}

/// The page (admins only).
pub async fn audit_page(
    State(state): State<AppState>,
    page_user: PageUser,
    Query(query): Query<AuditQuery>,
) -> Response {
    let result = async {
        let admin = page_user.actor.admin()?;
        let filter = query.filter()?;
        let read = page_user.actor.read();
        let (rows, users) = state
            .run(move |store| {
                Ok((
                    mikawaya_app::audit::read(store, &admin, &filter)?,
                    store.list_users(&read)?,
                ))
            })
            .await?;
        let lang = page_user.lang;
        let filters = query.query();
        let next = (rows.len() == PAGE as usize)
            .then(|| rows.last().map(|r| r.entry.id))
            .flatten();
        let name_of = |id: Option<UserId>| {
            id.and_then(|id| users.iter().find(|u| u.id == id))
                .map_or_else(|| lang.t("system").to_owned(), |u| u.name.to_string())
        };
        let body = html! {
            h1 { (lang.t("audit_log")) }
            p.muted { (lang.t("audit_help")) }
            (form(lang, &query, &users))
            p { a href=(format!("/api/v1/audit?format=csv&limit=100000&{filters}")) download="audit.csv" data-testid="audit-csv" { (lang.t("download_csv")) } }
            @if rows.is_empty() { p.muted { (lang.t("no_changes")) } }
            div.table-scroll {
                table tabindex="0" data-testid="audit-table" {
                    thead { tr { th scope="col" { (lang.t("when")) } th scope="col" { (lang.t("who")) } th scope="col" { (lang.t("what")) } th scope="col" { (lang.t("changes")) } } }
                    tbody { @for row in &rows {
                        @let entry = &row.entry;
                        tr data-object=(entry.object) data-key=(entry.object_key) data-action=(entry.action) {
                            td { (entry.at.strftime("%Y-%m-%d %H:%M:%S UTC")) }
                            td { (name_of(entry.actor_id)) }
                            td {
                                (lang.value("audit_object", &entry.object)) " "
                                @match object_link(entry) { Some(href) => { a href=(href) { (entry.object_key) } } None => { (entry.object_key) } }
                                " · " (lang.value("audit_action", &entry.action))
                            }
                            td { ul.changes { @for (field, before, after) in changes(entry.before.as_deref(), entry.after.as_deref()) {
                                li { code { (field) } ": " (before) " → " (after) }
                            } } }
                        }
                    } }
                }
            }
            @if let Some(next) = next { p { a href=(format!("/audit?{filters}&cursor={next}")) data-testid="audit-older" { (lang.t("older")) } } }
        };
        Ok::<_, ApiError>(
            layout(lang, lang.t("audit_log"), Some((&page_user.user, &page_user.csrf_token)), body)
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| super::error_page(&page_user, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fields_that_changed_are_shown() {
        let before = r#"{"name":"Acme","mrr":100.0,"stage":null,"tier":"low"}"#;
        let after = r#"{"name":"Acme","mrr":120.0,"stage":"renewal","tier":"low"}"#;
        assert_eq!(
            changes(Some(before), Some(after)),
            vec![
                ("mrr".to_owned(), "100.0".to_owned(), "120.0".to_owned()),
                ("stage".to_owned(), "—".to_owned(), "renewal".to_owned()),
            ]
        );
        assert_eq!(changes(None, Some(r#"{"name":"New"}"#)).len(), 1);
    }
}
