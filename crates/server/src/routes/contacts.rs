//! `/api/v1/contacts`: stakeholders at customers.

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::state::AppState;
use crate::wire::{PageOut, double_option, instant, optional, patch, required};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mikawaya_domain::contact::{
    Contact, ContactPatch, ContactRole, Influence, NewContact, Sentiment,
};
use mikawaya_domain::value::{Email, ExternalId, Name, Text};
use mikawaya_domain::{AccountId, ContactId, Invalid, Visibility};
use mikawaya_store::ContactFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, update_contact, delete_contact))
}

/// A contact as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    id: i64,
    account_id: i64,
    external_id: Option<String>,
    name: String,
    email: Option<String>,
    /// end_user, admin, champion, decision_maker, executive_sponsor or billing.
    role: Option<String>,
    title: Option<String>,
    personal_success: Option<String>,
    /// positive, neutral or negative.
    sentiment: Option<String>,
    /// high, medium or low.
    influence: Option<String>,
    /// `crm` (a stakeholder: a person, a CRM file or the API) or `product` (a product user
    /// written by an identify call).
    source: String,
    created_at: String,
    updated_at: String,
}

impl ContactOut {
    /// The row as `visibility` sees it (a partner sees its own namespaced ids plain).
    pub fn shown_to(contact: Contact, visibility: Visibility) -> Self {
        Self {
            id: contact.id.get(),
            account_id: contact.account_id.get(),
            external_id: contact
                .external_id
                .map(|id| id.shown_to(visibility).to_owned()),
            name: contact.name.into(),
            email: contact.email.map(String::from),
            role: contact.role.map(|r| r.as_str().to_owned()),
            title: contact.title.map(String::from),
            personal_success: contact.personal_success.map(String::from),
            sentiment: contact.sentiment.map(|s| s.as_str().to_owned()),
            influence: contact.influence.map(|s| s.as_str().to_owned()),
            source: contact.source.as_str().to_owned(),
            created_at: instant(contact.created_at),
            updated_at: instant(contact.updated_at),
        }
    }
}

/// A new contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactCreate {
    account_id: i64,
    external_id: Option<String>,
    name: String,
    email: Option<String>,
    role: Option<String>,
    title: Option<String>,
    personal_success: Option<String>,
    sentiment: Option<String>,
    /// high, medium or low.
    influence: Option<String>,
}

impl TryFrom<ContactCreate> for NewContact {
    type Error = Invalid;
    fn try_from(body: ContactCreate) -> Result<Self, Invalid> {
        Ok(NewContact {
            account_id: AccountId::new(body.account_id),
            external_id: optional(
                body.external_id.as_deref(),
                "external_id",
                ExternalId::parse,
            )?,
            name: required(&body.name, "name", Name::parse)?,
            email: optional(body.email.as_deref(), "email", Email::parse)?,
            role: optional(body.role.as_deref(), "role", ContactRole::parse)?,
            title: optional(body.title.as_deref(), "title", Name::parse)?,
            personal_success: optional(
                body.personal_success.as_deref(),
                "personal_success",
                Text::parse,
            )?,
            sentiment: optional(body.sentiment.as_deref(), "sentiment", Sentiment::parse)?,
            influence: optional(body.influence.as_deref(), "influence", Influence::parse)?,
        })
    }
}

/// A change to a contact: absent fields are kept, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactUpdate {
    account_id: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    external_id: Option<Option<String>>,
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    role: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    personal_success: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    sentiment: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    influence: Option<Option<String>>,
}

impl TryFrom<ContactUpdate> for ContactPatch {
    type Error = Invalid;
    fn try_from(body: ContactUpdate) -> Result<Self, Invalid> {
        Ok(ContactPatch {
            account_id: body.account_id.map(AccountId::new),
            external_id: patch(body.external_id, "external_id", ExternalId::parse)?,
            name: optional(body.name.as_deref(), "name", Name::parse)?,
            email: patch(body.email, "email", Email::parse)?,
            role: patch(body.role, "role", ContactRole::parse)?,
            title: patch(body.title, "title", Name::parse)?,
            personal_success: patch(body.personal_success, "personal_success", Text::parse)?,
            sentiment: patch(body.sentiment, "sentiment", Sentiment::parse)?,
            influence: patch(body.influence, "influence", Influence::parse)?,
        })
    }
}

/// Filters and page of a contact list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactListParams {
    /// Only this account's contacts.
    account_id: Option<i64>,
    /// Only this role.
    role: Option<String>,
    /// Exact email.
    email: Option<String>,
    /// Substring of name or email.
    q: Option<String>,
    /// Rows per page, 1 to 1000 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Lists contacts of accounts the caller can see.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ContactListParams),
    responses((status = 200, body = PageOut<ContactOut>), (status = 400, body = ErrorBody)))]
async fn list_contacts(
    State(state): State<AppState>,
    Caller(actor): Caller,
    QueryParams(params): QueryParams<ContactListParams>,
) -> Result<Json<PageOut<ContactOut>>, ApiError> {
    let filter = ContactFilter {
        account_id: params.account_id.map(AccountId::new),
        role: optional(params.role.as_deref(), "role", ContactRole::parse)?,
        q: params.q,
        email: optional(params.email.as_deref(), "email", Email::parse)?,
    };
    let page = mikawaya_store::PageRequest::new(params.limit, params.cursor.as_deref())?;
    let access = actor.read();
    let visibility = access.visibility();
    let found = state
        .run(move |store| store.list_contacts(&access, &filter, &page))
        .await?;
    Ok(Json(PageOut::from_page(found, |row| {
        ContactOut::shown_to(row, visibility)
    })))
}

/// Creates a contact.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = ContactCreate,
    responses((status = 201, body = ContactOut), (status = 400, body = ErrorBody)))]
async fn create_contact(
    State(state): State<AppState>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ContactCreate>,
) -> Result<(StatusCode, Json<ContactOut>), ApiError> {
    let access = actor.write()?;
    let visibility = access.visibility();
    let new_contact = NewContact::try_from(body)?;
    let contact = state
        .run(move |store| store.create_contact(&access, new_contact))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ContactOut::shown_to(contact, visibility)),
    ))
}

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path, description = "contact id")),
    responses((status = 200, body = ContactOut), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<Json<ContactOut>, ApiError> {
    let access = actor.read();
    let visibility = access.visibility();
    let contact = state
        .run(move |store| store.get_contact(&access, ContactId::new(id)))
        .await?;
    Ok(Json(ContactOut::shown_to(contact, visibility)))
}

/// Changes a contact.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path, description = "contact id")),
    request_body = ContactUpdate, responses((status = 200, body = ContactOut), (status = 404, body = ErrorBody)))]
async fn update_contact(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ContactUpdate>,
) -> Result<Json<ContactOut>, ApiError> {
    let access = actor.write()?;
    let visibility = access.visibility();
    let contact_patch = ContactPatch::try_from(body)?;
    let contact = state
        .run(move |store| store.update_contact(&access, ContactId::new(id), contact_patch))
        .await?;
    state.react(contact.account_id);
    Ok(Json(ContactOut::shown_to(contact, visibility)))
}

/// Deletes a contact.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path, description = "contact id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_contact(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let access = actor.write()?;
    let account_id = state
        .run(move |store| {
            let contact = store.get_contact(&access.read(), ContactId::new(id))?;
            store.delete_contact(&access, ContactId::new(id))?;
            Ok(contact.account_id)
        })
        .await?;
    state.react(account_id);
    Ok(StatusCode::NO_CONTENT)
}
