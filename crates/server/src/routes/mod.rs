//! The router: the API's table of contents. Each resource module returns its own router;
//! this module merges them, adds the OpenAPI document, the HTML pages and the layers.

pub mod accounts;
pub mod analytics;
pub mod contacts;
mod document;
pub mod feedback;
pub mod health;
pub mod import;
pub mod journey;
pub mod partners;
pub mod plans;
pub mod scorecards;
pub mod segments;
pub mod session;
pub mod subscriptions;
pub mod surveys;
pub mod system;
pub mod team;
pub mod today;
pub mod touchpoints;
pub mod tracking;
pub mod usage;
pub mod users;
pub mod voice;
pub mod work;

use crate::error::ApiError;
use crate::metrics::RequestLabels;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "Mikawaya API", description = "Customer Success Platform: accounts, stakeholders, subscriptions, touchpoints, segments, partners, health, playbooks, success plans, the customer journey, surveys, feedback and feature requests."),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
    // Named here: it refers back to the churn shape (`no_recursion`), so no route lists it.
    components(schemas(analytics::CohortOut))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "write_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new(crate::auth::SESSION_COOKIE),
            )),
        );
    }
}

/// The API routes and their OpenAPI document.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let json_routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(accounts::router())
        .merge(contacts::router())
        .merge(subscriptions::router())
        .merge(touchpoints::router())
        .merge(segments::router())
        .merge(scorecards::router())
        .merge(partners::router())
        .merge(users::router())
        .merge(session::router())
        .merge(system::router())
        .merge(usage::router())
        .merge(today::router())
        .merge(team::router())
        .merge(analytics::router())
        .merge(health::router())
        .merge(work::router())
        .merge(plans::router())
        .merge(journey::router())
        .merge(voice::router())
        .merge(feedback::router())
        .merge(surveys::router())
        .layer(DefaultBodyLimit::max(state.config.json_limit));
    let import_routes = import::router().layer(DefaultBodyLimit::max(state.config.import_limit));
    // Tracking bodies are checked against Segment's limits after gzip is undone; this
    // outer limit only stops absurd uploads early.
    let tracking_routes = tracking::router().layer(DefaultBodyLimit::max(4 * 1024 * 1024));
    let (router, mut document) = json_routes
        .merge(import_routes)
        .merge(tracking_routes)
        .split_for_parts();
    document::document_errors(&mut document);
    (router, document)
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api_router, openapi) = api(&state);
    let mut described = serde_json::to_value(&openapi).unwrap_or_default();
    document::describe_formats(&mut described);
    let _ = state.openapi.set(described);
    Router::new()
        .merge(api_router)
        .merge(crate::html::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(
                "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ))
        .with_state(state)
}

async fn not_found(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    if uri.path().starts_with("/api/") || uri.path().starts_with("/v1/") {
        ApiError::NotFound(format!("route {}", uri.path())).into_response()
    } else {
        crate::html::not_found_page(crate::html::i18n::Lang::detect(None, &headers)).into_response()
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}
