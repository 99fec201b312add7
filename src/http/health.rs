//! `/healthz` (the process answers) and `/readyz` (the database answers too;
//! it also says whether the relevance index is built yet and, with a read
//! replica, how public reads have been served).

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
        Ok(()) => {
            let mut body = serde_json::json!({
                "status": "ready",
                "database": state.db.backend_name(),
                "search_index": match &state.search {
                    None => "off",
                    Some(i) if i.is_ready() => "ready",
                    Some(_) => "building",
                },
            });
            // A replica that is down or lags does not make the server unready:
            // its reads go to the primary. Its state is reported for operators.
            if let Some(r) = &state.replica {
                let r = r.report();
                body["replica"] = serde_json::json!({
                    "state": r.health.name(),
                    "reads": r.reads,
                    "fallbacks": r.fallbacks,
                });
            }
            HttpResponse::Ok()
                .insert_header(("cache-control", "no-store"))
                .json(body)
        }
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
