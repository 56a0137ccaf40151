//! Liveness and readiness for load balancers and orchestrators.

use axum::extract::State;
use axum::response::IntoResponse;
use http::StatusCode;
use lantian_core::db;

use crate::AppState;

/// The process is up and serving. Touches nothing else, so it stays cheap under load.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: the database answers and its schema is the one this binary expects.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(e) = state.core.db.ping().await {
        tracing::warn!(error = %e, "not ready: database unreachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    }
    match db::migration_status(&state.core.db).await {
        Ok(s) if s.applied == s.known => (StatusCode::OK, "ready"),
        Ok(_) => (StatusCode::SERVICE_UNAVAILABLE, "schema not migrated"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: migration status unknown");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
