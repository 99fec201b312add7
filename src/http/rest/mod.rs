//! REST adapter under `/api/v1`: query parameters -> domain filters, one service
//! call, JSON envelopes (`{"data": ..., "meta": ...}`), cursor links, HTTP caching.
//! Described by the top-level `openapi.yaml`.

pub mod caching;
pub mod handlers;
pub mod json;
pub mod params;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::problem::problem;

/// Where the REST API lives.
pub const PREFIX: &str = "/api/v1";

/// The REST routes (for the router and for the test that compares them with
/// `openapi.yaml`).
pub const ROUTES: &[&str] = &[
    "/api/v1/articles",
    "/api/v1/articles/{slug}",
    "/api/v1/experts",
    "/api/v1/experts/{slug}",
    "/api/v1/experts/{slug}/articles",
    "/api/v1/outlets",
    "/api/v1/outlets/{slug}",
    "/api/v1/outlets/{slug}/articles",
    "/api/v1/events",
    "/api/v1/events/{slug}",
    "/api/v1/topics",
    "/api/v1/search",
    "/api/v1/site",
    "/api/v1/openapi.yaml",
    "/api/v1/auth/token",
    "/api/v1/mentions",
    "/api/v1/audit",
    "/api/v1/docs",
];

/// Registers the read-only routes; other methods get 405 with `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use handlers::*;
    fn get_only<F, Args>(cfg: &mut web::ServiceConfig, path: &str, h: F)
    where
        F: actix_web::Handler<Args> + Clone,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        let path = path.strip_prefix(PREFIX).unwrap_or(path);
        cfg.service(
            web::resource(path)
                .route(web::get().to(h.clone()))
                .route(web::head().to(h))
                .default_service(web::to(method_not_allowed)),
        );
    }
    get_only(cfg, "/api/v1/articles", list_articles);
    cfg.service(
        web::resource("/articles/{slug}")
            .route(web::get().to(get_article))
            .route(web::head().to(get_article))
            .route(web::patch().to(patch_article))
            .route(web::delete().to(delete_article))
            .default_service(web::to(article_methods)),
    );
    get_only(cfg, "/api/v1/experts", list_experts);
    get_only(cfg, "/api/v1/experts/{slug}", get_expert);
    get_only(cfg, "/api/v1/experts/{slug}/articles", expert_articles);
    get_only(cfg, "/api/v1/outlets", list_outlets);
    get_only(cfg, "/api/v1/outlets/{slug}", get_outlet);
    get_only(cfg, "/api/v1/outlets/{slug}/articles", outlet_articles);
    get_only(cfg, "/api/v1/events", list_events);
    get_only(cfg, "/api/v1/events/{slug}", get_event);
    get_only(cfg, "/api/v1/topics", list_topics);
    get_only(cfg, "/api/v1/search", search);
    get_only(cfg, "/api/v1/site", get_site);
    get_only(cfg, "/api/v1/openapi.yaml", openapi);
    get_only(cfg, "/api/v1/docs", docs);
    get_only(cfg, "/api/v1/audit", list_audit);
    cfg.service(
        web::resource("/mentions")
            .app_data(web::PayloadConfig::new(1 << 20))
            .route(web::post().to(record_mention))
            .default_service(web::to(post_only)),
    );
    cfg.service(
        web::resource("/auth/token")
            .route(web::post().to(crate::http::auth::token))
            .default_service(web::to(post_only)),
    );
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    if req.method() == actix_web::http::Method::OPTIONS {
        // A preflight from a non-allowed origin or without CORS headers.
        return HttpResponse::NoContent()
            .insert_header(("allow", "GET, HEAD, OPTIONS"))
            .finish();
    }
    let mut res = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!("{} is not allowed on {}", req.method(), req.path()),
        &[],
    );
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    res
}

async fn post_only(req: HttpRequest) -> HttpResponse {
    let mut res = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!(
            "{} is not allowed on {}; use POST",
            req.method(),
            req.path()
        ),
        &[],
    );
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static("POST"),
    );
    res
}

async fn article_methods(req: HttpRequest) -> HttpResponse {
    let mut res = method_not_allowed(req).await;
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static("GET, HEAD, PATCH, DELETE, OPTIONS"),
    );
    res
}
