//! REST adapter under `/api/v1`: query parameters -> domain filters, one service
//! call, JSON envelopes (`{"data": ..., "meta": ...}`), cursor links, HTTP caching.
//! Described by the top-level `openapi.yaml`.

pub mod accounts;
pub mod caching;
pub mod handlers;
pub mod json;
pub mod params;
pub mod writes;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::problem::problem;
use crate::entities::{article, event, expert, outlet, topic};

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
    "/api/v1/topics/{slug}",
    "/api/v1/search",
    "/api/v1/site",
    "/api/v1/openapi.yaml",
    "/api/v1/auth/token",
    "/api/v1/mentions",
    "/api/v1/import",
    "/api/v1/audit",
    "/api/v1/users",
    "/api/v1/users/{id}",
    "/api/v1/keys",
    "/api/v1/keys/{id}",
    "/api/v1/docs",
];

/// Answers a method a resource does not have: 405 with `Allow`.
fn refuse_others(allow: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move { method_not_allowed(req, allow) })
}

/// Registers the routes; other methods get 405 with `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use handlers::*;
    use writes::RestRecord;
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
                .default_service(refuse_others("GET, HEAD, OPTIONS")),
        );
    }
    /// A collection: GET lists, POST creates.
    fn collection<R: RestRecord, F, Args>(cfg: &mut web::ServiceConfig, list: F)
    where
        F: actix_web::Handler<Args> + Clone,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        let path = R::COLLECTION.strip_prefix(PREFIX).unwrap_or(R::COLLECTION);
        cfg.service(
            web::resource(path)
                .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY))
                .route(web::get().to(list.clone()))
                .route(web::head().to(list))
                .route(web::post().to(writes::create::<R>))
                .default_service(refuse_others("GET, HEAD, POST, OPTIONS")),
        );
    }
    /// One record: GET reads, PATCH changes, DELETE deletes.
    fn item<R: RestRecord, F, Args>(cfg: &mut web::ServiceConfig, get: F)
    where
        F: actix_web::Handler<Args> + Clone,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        let path = format!(
            "{}/{{slug}}",
            R::COLLECTION.strip_prefix(PREFIX).unwrap_or(R::COLLECTION)
        );
        cfg.service(
            web::resource(path)
                .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY))
                .route(web::get().to(get.clone()))
                .route(web::head().to(get))
                .route(web::patch().to(writes::patch::<R>))
                .route(web::delete().to(writes::delete::<R>))
                .default_service(refuse_others("GET, HEAD, PATCH, DELETE, OPTIONS")),
        );
    }
    collection::<article::Model, _, _>(cfg, list_articles);
    item::<article::Model, _, _>(cfg, get_article);
    collection::<expert::Model, _, _>(cfg, list_experts);
    item::<expert::Model, _, _>(cfg, get_expert);
    get_only(cfg, "/api/v1/experts/{slug}/articles", expert_articles);
    collection::<outlet::Model, _, _>(cfg, list_outlets);
    item::<outlet::Model, _, _>(cfg, get_outlet);
    get_only(cfg, "/api/v1/outlets/{slug}/articles", outlet_articles);
    collection::<event::Model, _, _>(cfg, list_events);
    item::<event::Model, _, _>(cfg, get_event);
    collection::<topic::Model, _, _>(cfg, list_topics);
    item::<topic::Model, _, _>(cfg, get_topic);
    get_only(cfg, "/api/v1/search", search);
    cfg.service(
        web::resource("/site")
            .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY))
            .route(web::get().to(get_site))
            .route(web::head().to(get_site))
            .route(web::patch().to(writes::patch_site))
            .default_service(refuse_others("GET, HEAD, PATCH, OPTIONS")),
    );
    get_only(cfg, "/api/v1/openapi.yaml", openapi);
    get_only(cfg, "/api/v1/docs", docs);
    get_only(cfg, "/api/v1/audit", list_audit);
    cfg.service(
        web::resource("/mentions")
            .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY))
            .route(web::post().to(writes::record_mention))
            .default_service(refuse_others("POST")),
    );
    cfg.service(
        web::resource("/users")
            .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY))
            .route(web::get().to(accounts::list_users))
            .route(web::post().to(accounts::create_user))
            .default_service(refuse_others("GET, POST")),
    );
    cfg.service(
        web::resource("/users/{id}")
            .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY))
            .route(web::patch().to(accounts::patch_user))
            .default_service(refuse_others("PATCH")),
    );
    cfg.service(
        web::resource("/keys")
            .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY))
            .route(web::get().to(accounts::list_keys))
            .route(web::post().to(accounts::create_key))
            .default_service(refuse_others("GET, POST")),
    );
    cfg.service(
        web::resource("/keys/{id}")
            .route(web::delete().to(accounts::revoke_key))
            .default_service(refuse_others("DELETE")),
    );
    cfg.service(
        web::resource("/import")
            .route(web::post().to(writes::import))
            .default_service(refuse_others("POST")),
    );
    cfg.service(
        web::resource("/auth/token")
            .route(web::post().to(crate::http::auth::token))
            .default_service(refuse_others("POST")),
    );
}

fn method_not_allowed(req: HttpRequest, allow: &'static str) -> HttpResponse {
    if req.method() == actix_web::http::Method::OPTIONS {
        // A preflight from a non-allowed origin or without CORS headers.
        return HttpResponse::NoContent()
            .insert_header(("allow", allow))
            .finish();
    }
    let mut res = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!(
            "{} is not allowed on {}; allowed: {allow}",
            req.method(),
            req.path()
        ),
        &[],
    );
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    res
}
