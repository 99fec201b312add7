//! REST adapter under `/api/v1`: query parameters -> domain filters, one service
//! call, JSON envelopes (`{"data": ..., "meta": ...}`), cursor links, HTTP caching.
//! Described by the top-level `openapi.yaml`.

pub mod accounts;
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

/// The REST route table: each path with its methods and handlers. The router
/// (`configure`) and [`ROUTES`] (which the contract test holds `openapi.yaml`
/// to) are both generated from it, so a route cannot be served undocumented.
/// `GET` implies `HEAD`; other methods answer 405 with `Allow`. Every resource
/// that takes a body caps it at [`writes::MAX_JSON_BODY`] (the import streams
/// its own).
macro_rules! route_table {
    ($( $path:literal => { $( $method:ident : $handler:expr ),+ $(,)? } ),* $(,)?) => {
        /// Every REST path with the methods it answers (`HEAD` goes with `GET`).
        pub const ROUTES: &[(&str, &[&str])] = &[
            $( (concat!("/api/v1", $path), &[ $( stringify!($method) ),+ ]) ),*
        ];

        /// Registers the routes of [`ROUTES`]; other methods get 405 with `Allow`.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            #[allow(unused_imports)]
            use handlers::*;
            $(
                let allow = allow_header(&[ $( stringify!($method) ),+ ]);
                let resource = web::resource($path)
                    .app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY));
                $( let resource = route!(resource, $method, $handler); )+
                cfg.service(resource.default_service(refuse_others(allow)));
            )*
        }
    };
}

/// Adds one method's route to a resource (`GET` also answers `HEAD`).
macro_rules! route {
    ($r:expr, GET, $h:expr) => {
        $r.route(web::get().to($h)).route(web::head().to($h))
    };
    ($r:expr, POST, $h:expr) => {
        $r.route(web::post().to($h))
    };
    ($r:expr, PATCH, $h:expr) => {
        $r.route(web::patch().to($h))
    };
    ($r:expr, DELETE, $h:expr) => {
        $r.route(web::delete().to($h))
    };
}

route_table! {
    "/articles" => { GET: list_articles, POST: writes::create::<article::Model> },
    "/articles/{slug}" => {
        GET: get_article,
        PATCH: writes::patch::<article::Model>,
        DELETE: writes::delete::<article::Model>,
    },
    "/experts" => { GET: list_experts, POST: writes::create::<expert::Model> },
    "/experts/{slug}" => {
        GET: get_expert,
        PATCH: writes::patch::<expert::Model>,
        DELETE: writes::delete::<expert::Model>,
    },
    "/experts/{slug}/articles" => { GET: expert_articles },
    "/outlets" => { GET: list_outlets, POST: writes::create::<outlet::Model> },
    "/outlets/{slug}" => {
        GET: get_outlet,
        PATCH: writes::patch::<outlet::Model>,
        DELETE: writes::delete::<outlet::Model>,
    },
    "/outlets/{slug}/articles" => { GET: outlet_articles },
    "/events" => { GET: list_events, POST: writes::create::<event::Model> },
    "/events/{slug}" => {
        GET: get_event,
        PATCH: writes::patch::<event::Model>,
        DELETE: writes::delete::<event::Model>,
    },
    "/topics" => { GET: list_topics, POST: writes::create::<topic::Model> },
    "/topics/{slug}" => {
        GET: get_topic,
        PATCH: writes::patch::<topic::Model>,
        DELETE: writes::delete::<topic::Model>,
    },
    "/search" => { GET: search },
    "/site" => { GET: get_site, PATCH: writes::patch_site },
    "/openapi.yaml" => { GET: openapi },
    "/docs" => { GET: docs },
    "/audit" => { GET: list_audit },
    "/mentions" => { POST: writes::record_mention },
    "/users" => { GET: accounts::list_users, POST: accounts::create_user },
    "/users/{id}" => { PATCH: accounts::patch_user },
    "/keys" => { GET: accounts::list_keys, POST: accounts::create_key },
    "/keys/{id}" => { DELETE: accounts::revoke_key },
    "/import" => { POST: writes::import },
    "/auth/token" => { POST: crate::http::auth::token },
}

/// The `Allow` value of a resource with these methods (`HEAD` beside `GET`;
/// `OPTIONS` for browser preflights).
fn allow_header(methods: &[&str]) -> String {
    let mut all: Vec<&str> = Vec::new();
    for m in methods {
        all.push(m);
        if *m == "GET" {
            all.push("HEAD");
        }
    }
    all.push("OPTIONS");
    all.join(", ")
}

/// Answers a method a resource does not have: 405 with `Allow`.
fn refuse_others(allow: String) -> actix_web::Route {
    web::to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move { method_not_allowed(req, &allow) }
    })
}

fn method_not_allowed(req: HttpRequest, allow: &str) -> HttpResponse {
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
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    res
}
