//! The unsubscribe page linked from every playbook email. `GET` shows a confirmation
//! button (mail scanners follow links; they must not unsubscribe anyone); `POST`
//! unsubscribes, from that button or from a mail client's one-click
//! `List-Unsubscribe-Post` (RFC 8058). The link carries an HMAC token of the address.

use super::i18n::Lang;
use super::layout;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

/// The link's parameters.
#[derive(Debug, Deserialize)]
pub struct UnsubscribeParams {
    email: String,
    token: String,
    /// The language of the email the link came in (`ja` or `en`); else the browser's.
    #[serde(default)]
    lang: Option<String>,
}

async fn verified(state: &AppState, params: &UnsubscribeParams) -> bool {
    let store = Arc::clone(&state.store);
    let configured = state.workflow.outbox.secret.clone();
    let secret = if configured.is_empty() {
        match tokio::task::spawn_blocking(move || mikawaya_outbox::stored_secret(store.as_ref()))
            .await
        {
            Ok(Ok(secret)) => secret,
            _ => return false,
        }
    } else {
        configured
    };
    mikawaya_outbox::verify_unsubscribe(&secret, &params.email, &params.token)
}

fn invalid(lang: Lang) -> (StatusCode, Markup) {
    (
        StatusCode::BAD_REQUEST,
        layout(
            lang,
            lang.t("unsubscribe"),
            None,
            html! { div.card { h1 { (lang.t("unsubscribe")) } p.error { (lang.t("bad_unsubscribe_link")) } } },
        ),
    )
}

/// Shows the confirmation.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<UnsubscribeParams>,
) -> (StatusCode, Markup) {
    let lang = Lang::detect(params.lang.as_deref(), &headers);
    if !verified(&state, &params).await {
        return invalid(lang);
    }
    let page = html! {
        div.card {
            h1 { (lang.t("unsubscribe")) }
            p { (lang.t("unsubscribe_question")) " " strong { (params.email) } }
            form method="post" action="/unsubscribe" {
                input type="hidden" name="email" value=(params.email);
                input type="hidden" name="token" value=(params.token);
                input type="hidden" name="lang" value=(lang.code());
                button type="submit" { (lang.t("unsubscribe")) }
            }
        }
    };
    (
        StatusCode::OK,
        layout(lang, lang.t("unsubscribe"), None, page),
    )
}

/// Unsubscribes (form button or one-click POST; the address and token may be in the
/// query string or the form body).
pub async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: String,
) -> (StatusCode, Markup) {
    let params = uri
        .query()
        .and_then(|query| serde_urlencoded::from_str::<UnsubscribeParams>(query).ok())
        .or_else(|| serde_urlencoded::from_str::<UnsubscribeParams>(&body).ok());
    let Some(params) = params else {
        return invalid(Lang::detect(None, &headers));
    };
    let lang = Lang::detect(params.lang.as_deref(), &headers);
    if !verified(&state, &params).await {
        return invalid(lang);
    }
    let store = Arc::clone(&state.store);
    let email = params.email.clone();
    // The signed link is the recipient's proof; the change is made on the system's behalf.
    let Ok(access) = mikawaya_domain::Actor::system().write() else {
        return invalid(lang);
    };
    match tokio::task::spawn_blocking(move || store.unsubscribe(&access, &email)).await {
        Ok(Ok(())) => {
            tracing::info!("an address unsubscribed from playbook email");
            (
                StatusCode::OK,
                layout(
                    lang,
                    lang.t("unsubscribe"),
                    None,
                    html! { div.card { h1 { (lang.t("unsubscribed")) } p { (params.email) } } },
                ),
            )
        }
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            layout(
                lang,
                lang.t("unsubscribe"),
                None,
                html! { p.error { "Internal error" } },
            ),
        ),
    }
}
