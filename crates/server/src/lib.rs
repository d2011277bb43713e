//! The Mikawaya HTTP server: the JSON API under `/api/v1` with its OpenAPI document,
//! authentication (sessions, API tokens), server-rendered HTML pages, `/healthz`,
//! `/readyz` and `/metrics`.
//!
//! This is the "serve" end of the data flow and the only crate that knows HTTP. Handlers
//! are thin: they extract the caller and a validated body, make one store call on the
//! blocking pool, and turn the result into a response. `main` and the tests share
//! [`serve`], which binds nothing itself: the caller passes a listener (port 0 in tests).

pub mod auth;
pub mod error;
pub mod extract;
pub mod html;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod wire;
pub mod worker;

pub use state::{AppState, ServerConfig, Workflow};

use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves the application on `listener` until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let draining = std::sync::Arc::clone(&state.draining);
    let app = routes::app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        draining.store(true, std::sync::atomic::Ordering::SeqCst);
    })
    .await
}
