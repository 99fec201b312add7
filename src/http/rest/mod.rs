//! REST adapter under `/api/v1`: query parameters -> domain filters, one service
//! call, JSON envelopes (`{"data": ..., "meta": ...}`), cursor links, HTTP caching.
//! Described by the top-level `openapi.yaml`.

pub mod accounts;
pub mod handlers;
pub mod json;
pub mod params;
pub mod writes;

use actix_web::web;

use crate::entities::{article, event, expert, outlet, topic};

/// Where the REST API lives.
pub const PREFIX: &str = "/api/v1";

crate::http::routes::route_table! {
    /// Every REST path with the methods it answers (`HEAD` goes with `GET`).
    ROUTES, resources, "/api/v1";
    "/articles" => { GET: handlers::list_articles, POST: writes::create::<article::Model> },
    "/articles/{slug}" => {
        GET: handlers::get_article,
        PATCH: writes::patch::<article::Model>,
        DELETE: writes::delete::<article::Model>,
    },
    "/experts" => { GET: handlers::list_experts, POST: writes::create::<expert::Model> },
    "/experts/{slug}" => {
        GET: handlers::get_expert,
        PATCH: writes::patch::<expert::Model>,
        DELETE: writes::delete::<expert::Model>,
    },
    "/experts/{slug}/articles" => { GET: handlers::expert_articles },
    "/outlets" => { GET: handlers::list_outlets, POST: writes::create::<outlet::Model> },
    "/outlets/{slug}" => {
        GET: handlers::get_outlet,
        PATCH: writes::patch::<outlet::Model>,
        DELETE: writes::delete::<outlet::Model>,
    },
    "/outlets/{slug}/articles" => { GET: handlers::outlet_articles },
    "/events" => { GET: handlers::list_events, POST: writes::create::<event::Model> },
    "/events/{slug}" => {
        GET: handlers::get_event,
        PATCH: writes::patch::<event::Model>,
        DELETE: writes::delete::<event::Model>,
    },
    "/topics" => { GET: handlers::list_topics, POST: writes::create::<topic::Model> },
    "/topics/{slug}" => {
        GET: handlers::get_topic,
        PATCH: writes::patch::<topic::Model>,
        DELETE: writes::delete::<topic::Model>,
    },
    "/search" => { GET: handlers::search },
    "/site" => { GET: handlers::get_site, PATCH: writes::patch_site },
    "/openapi.yaml" => { GET: handlers::openapi },
    "/docs" => { GET: handlers::docs },
    "/audit" => { GET: handlers::list_audit },
    "/mentions" => { POST: writes::record_mention },
    "/users" => { GET: accounts::list_users, POST: accounts::create_user },
    "/users/{id}" => { PATCH: accounts::patch_user },
    "/keys" => { GET: accounts::list_keys, POST: accounts::create_key },
    "/keys/{id}" => { DELETE: accounts::revoke_key },
    "/import" => { POST: writes::import },
    "/auth/token" => { POST: crate::http::auth::token },
}

/// Mounts [`ROUTES`] (inside the `/api/v1` scope); every resource caps a JSON
/// body at [`writes::MAX_JSON_BODY`] (the import streams its own).
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (_, resource) in resources() {
        cfg.service(resource.app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY)));
    }
}
