//! Single sign-on with OpenID Connect (authorization code flow with PKCE): `/login/sso`
//! sends the browser to the provider with a fresh state, nonce and PKCE challenge (kept
//! here, tied to the browser by an HttpOnly cookie, ten minutes at most); the provider
//! sends it back to `/login/sso/callback`, where the code is exchanged (with the PKCE
//! verifier and the client secret), the ID token checked (signature by the provider's
//! keys, issuer, audience, expiry, nonce), and the verified email signed in
//! (`mikawaya_app::sso`): matched to a user or provisioned, its role from its groups.

use super::i18n::Lang;
use crate::error::ApiError;
use crate::routes::session;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use mikawaya_app::sso::{Identity, SsoPolicy};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie that ties a sign-on in progress to the browser that started it.
const STATE_COOKIE: &str = "mikawaya_sso";
/// How long a sign-on may take at the provider.
const PENDING_FOR: Duration = Duration::from_secs(600);
/// Sign-ons in progress kept at most (the oldest are dropped first).
const MAX_PENDING: usize = 10_000;

/// Single sign-on settings.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// The provider's issuer URL (its discovery document is at
    /// `/.well-known/openid-configuration` below it).
    pub issuer: String,
    /// Our client id at the provider.
    pub client_id: String,
    /// Our client secret (none: a public client, PKCE only).
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: BASE_URL/login/sso/callback.
    pub redirect_url: String,
    /// How identities become users.
    pub policy: SsoPolicy,
}

struct Pending {
    verifier: String,
    nonce: String,
    started: Instant,
}

/// Single sign-on: its settings, the provider's metadata once fetched, sign-ons in
/// progress.
pub struct Sso {
    config: SsoConfig,
    metadata: tokio::sync::OnceCell<CoreProviderMetadata>,
    pending: Mutex<HashMap<String, Pending>>,
    http: openidconnect::reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
#[error("single sign-on: {0}")]
struct SsoError(String);

impl Sso {
    /// Single sign-on with these settings (the provider is asked for its metadata at the
    /// first sign-on).
    pub fn new(config: SsoConfig) -> Result<Sso, String> {
        IssuerUrl::new(config.issuer.clone()).map_err(|e| format!("oidc issuer: {e}"))?;
        RedirectUrl::new(config.redirect_url.clone()).map_err(|e| format!("base url: {e}"))?;
        // The provider's answers are never followed to somewhere else (SSRF).
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Sso {
            config,
            metadata: tokio::sync::OnceCell::new(),
            pending: Mutex::new(HashMap::new()),
            http,
        })
    }

    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        SsoError,
    > {
        let metadata = self
            .metadata
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.config.issuer.clone())
                    .map_err(|e| SsoError(e.to_string()))?;
                CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| SsoError(format!("the provider's discovery failed: {e}")))
            })
            .await?
            .clone();
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| SsoError(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    fn remember(&self, state: String, pending: Pending) {
        if let Ok(mut map) = self.pending.lock() {
            map.retain(|_, p| p.started.elapsed() < PENDING_FOR);
            if map.len() >= MAX_PENDING
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, p)| p.started)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
            map.insert(state, pending);
        }
    }

    fn take(&self, state: &str) -> Option<Pending> {
        self.pending
            .lock()
            .ok()?
            .remove(state)
            .filter(|p| p.started.elapsed() < PENDING_FOR)
    }
}

fn state_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build((STATE_COOKIE, value))
        .http_only(true)
        .secure(state.config.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/login/sso")
        .build()
}

/// Sends the browser to the provider.
pub async fn start(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar) -> Response {
    let lang = Lang::detect(None, &headers);
    let Some(sso) = state.sso.clone() else {
        return super::not_found_page(lang).into_response();
    };
    let client = match sso.client().await {
        Ok(client) => client,
        Err(error) => return failed(lang, &error.0),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("groups".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    sso.remember(
        csrf.secret().clone(),
        Pending {
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            started: Instant::now(),
        },
    );
    (
        jar.add(state_cookie(&state, csrf.secret().clone())),
        Redirect::to(url.as_str()),
    )
        .into_response()
}

/// The provider's answer.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn failed(lang: Lang, reason: &str) -> Response {
    tracing::warn!(reason, "single sign-on failed");
    (
        StatusCode::UNAUTHORIZED,
        super::layout(
            lang,
            lang.t("login"),
            None,
            maud::html! {
                div.card {
                    h1 { (lang.t("sso_failed")) }
                    p.error role="alert" { (reason) }
                    p { a href="/login" { (lang.t("login")) } }
                }
            },
        ),
    )
        .into_response()
}

/// The groups claim of a verified ID token (the library checked the token; its payload
/// is read once more for the one claim it has no type for).
fn groups_of(id_token: &str) -> Vec<String> {
    id_token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|claims| {
            claims["groups"].as_array().map(|groups| {
                groups
                    .iter()
                    .filter_map(|g| g.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Finishes a sign-on: checks the state against the browser's cookie, exchanges the
/// code, checks the ID token, signs the person in.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(answer): Query<Callback>,
) -> Response {
    let lang = Lang::detect(None, &headers);
    let Some(sso) = state.sso.clone() else {
        return super::not_found_page(lang).into_response();
    };
    // Read before it is removed: the state cookie is used once.
    let cookie = jar.get(STATE_COOKIE).map(|c| c.value().to_owned());
    let jar = jar.remove(Cookie::build(STATE_COOKIE).path("/login/sso").build());
    if let Some(error) = &answer.error {
        let reason = format!(
            "the provider said {error}: {}",
            answer.error_description.as_deref().unwrap_or("")
        );
        return (jar, failed(lang, &reason)).into_response();
    }
    let (Some(code), Some(returned)) = (answer.code, answer.state) else {
        return (jar, failed(lang, "the provider's answer has no code")).into_response();
    };
    // The state must be the one this browser started with (no login CSRF).
    let Some(pending) = sso.take(&returned).filter(|_| {
        cookie
            .as_deref()
            .is_some_and(|c| crate::auth::secrets_match(c, &returned))
    }) else {
        return (
            jar,
            failed(
                lang,
                "this sign-on expired or was not started here: try again",
            ),
        )
            .into_response();
    };
    let identity = async {
        let client = sso.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SsoError(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&sso.http)
            .await
            .map_err(|e| SsoError(format!("the code exchange failed: {e}")))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| SsoError("the provider sent no ID token".to_owned()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce))
            .map_err(|e| SsoError(format!("the ID token does not hold: {e}")))?;
        let email = claims
            .email()
            .map(|e| e.as_str().to_owned())
            .ok_or_else(|| SsoError("the provider gave no email".to_owned()))?;
        if claims.email_verified() != Some(true) {
            return Err(SsoError(format!(
                "the provider has not verified the email {email}"
            )));
        }
        Ok::<_, SsoError>(Identity {
            email,
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            groups: groups_of(&id_token.to_string()),
        })
    }
    .await;
    let identity = match identity {
        Ok(identity) => identity,
        Err(error) => return (jar, failed(lang, &error.0)).into_response(),
    };
    let policy = sso.config.policy.clone();
    let signed = state
        .run(move |store| Ok(mikawaya_app::sso::sign_in(store, &policy, &identity)?))
        .await;
    let user = match signed {
        Ok(user) => user,
        Err(ApiError::Forbidden(reason)) => return (jar, failed(lang, &reason)).into_response(),
        Err(error) => return error.into_response(),
    };
    tracing::info!(user = user.id.get(), "signed in through single sign-on");
    match session::open_session(&state, user).await {
        Ok(logged_in) => (
            jar.add(session::session_cookie(&state, logged_in.secret)),
            Redirect::to("/today"),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_from_the_token_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"x","groups":["cs-leaders","everyone"]}"#);
        assert_eq!(
            groups_of(&format!("h.{payload}.s")),
            ["cs-leaders", "everyone"]
        );
        assert!(groups_of("not a token").is_empty());
    }
}
