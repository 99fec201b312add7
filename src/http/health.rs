//! `/healthz` (the process answers) and `/readyz` (the database answers too).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::AppState;
use super::problem::problem;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(serde_json::json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ready().await {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .json(serde_json::json!({ "status": "ready", "database": state.db.backend_name() })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            let mut res = problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the database is not reachable",
                &[],
            );
            res.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(crate::error::RETRY_AFTER_SECS),
            );
            res
        }
    }
}
