//! REST adapter under `/api/v1`: query parameters -> domain filters, one service
//! call, JSON envelopes (`{"data": ..., "meta": ...}`), cursor links, HTTP caching.
//! Described by `openapi.yaml`, which `http::openapi` builds from [`ROUTES`].

pub mod accounts;
pub mod comments;
pub mod handlers;
pub mod json;
// Newsletters (issue 14 item 5).
pub mod newsletters;
pub mod oidc;
pub mod params;
pub mod readers;
pub mod stats;
pub mod webhooks;
pub mod writes;

use actix_web::web;

use crate::entities::{article, event, expert, outlet, topic};
use crate::http::openapi::ops;

/// Where the REST API lives.
pub const PREFIX: &str = "/api/v1";

crate::http::routes::route_table! {
    /// Every REST path with the methods it answers (`HEAD` goes with `GET`) and
    /// the operation each one is documented as.
    ROUTES, resources, "/api/v1";
    "/articles" => {
        GET: handlers::list_articles => ops::list_articles,
        POST: writes::create::<article::Model> => ops::create_article,
    },
    "/articles/{slug}" => {
        GET: handlers::get_article => ops::get_article,
        PATCH: writes::patch::<article::Model> => ops::update_article,
        DELETE: writes::delete::<article::Model> => ops::delete_article,
    },
    "/experts" => {
        GET: handlers::list_experts => ops::list_experts,
        POST: writes::create::<expert::Model> => ops::create_expert,
    },
    "/experts/{slug}" => {
        GET: handlers::get_expert => ops::get_expert,
        PATCH: writes::patch::<expert::Model> => ops::update_expert,
        DELETE: writes::delete::<expert::Model> => ops::delete_expert,
    },
    "/experts/{slug}/articles" => { GET: handlers::expert_articles => ops::list_expert_articles },
    "/outlets" => {
        GET: handlers::list_outlets => ops::list_outlets,
        POST: writes::create::<outlet::Model> => ops::create_outlet,
    },
    "/outlets/{slug}" => {
        GET: handlers::get_outlet => ops::get_outlet,
        PATCH: writes::patch::<outlet::Model> => ops::update_outlet,
        DELETE: writes::delete::<outlet::Model> => ops::delete_outlet,
    },
    "/outlets/{slug}/articles" => { GET: handlers::outlet_articles => ops::list_outlet_articles },
    "/events" => {
        GET: handlers::list_events => ops::list_events,
        POST: writes::create::<event::Model> => ops::create_event,
    },
    // Before `/events/{slug}`, which would also match `<slug>.ics`.
    "/events/{slug}.ics" => { GET: crate::http::calendar::one => ops::get_event_calendar },
    "/events/{slug}" => {
        GET: handlers::get_event => ops::get_event,
        PATCH: writes::patch::<event::Model> => ops::update_event,
        DELETE: writes::delete::<event::Model> => ops::delete_event,
    },
    "/topics" => {
        GET: handlers::list_topics => ops::list_topics,
        POST: writes::create::<topic::Model> => ops::create_topic,
    },
    "/topics/{slug}" => {
        GET: handlers::get_topic => ops::get_topic,
        PATCH: writes::patch::<topic::Model> => ops::update_topic,
        DELETE: writes::delete::<topic::Model> => ops::delete_topic,
    },
    "/search" => { GET: handlers::search => ops::search },
    "/stats/mentions" => { GET: stats::mention_stats => ops::mention_stats },
    "/site" => {
        GET: handlers::get_site => ops::get_site,
        PATCH: writes::patch_site => ops::update_site,
    },
    "/openapi.yaml" => { GET: handlers::openapi => ops::get_openapi },
    "/docs" => { GET: handlers::docs => ops::get_docs },
    "/audit" => { GET: handlers::list_audit => ops::list_audit },
    "/changes" => { GET: handlers::list_changes => ops::list_changes },
    "/mentions" => { POST: writes::record_mention => ops::record_mention },
    "/users" => {
        GET: accounts::list_users => ops::list_users,
        POST: accounts::create_user => ops::create_user,
    },
    "/users/{id}" => { PATCH: accounts::patch_user => ops::update_user },
    "/keys" => {
        GET: accounts::list_keys => ops::list_keys,
        POST: accounts::create_key => ops::create_key,
    },
    "/keys/{id}" => { DELETE: accounts::revoke_key => ops::revoke_key },
    "/webhooks" => {
        GET: webhooks::list => ops::list_webhooks,
        POST: webhooks::create => ops::create_webhook,
    },
    "/webhooks/{id}" => {
        GET: webhooks::get => ops::get_webhook,
        PATCH: webhooks::patch => ops::update_webhook,
        DELETE: webhooks::delete => ops::delete_webhook,
    },
    "/webhooks/{id}/secret" => { POST: webhooks::rotate_secret => ops::rotate_webhook_secret },
    "/webhooks/{id}/deliveries" => { GET: webhooks::deliveries => ops::list_webhook_deliveries },
    "/webhooks/{id}/deliveries/{delivery}/redeliver" => { POST: webhooks::redeliver => ops::redeliver_webhook },
    // Newsletters (issue 14 item 5); the pages before `/newsletters/{slug}`.
    "/newsletters" => {
        GET: newsletters::list => ops::list_newsletters,
        POST: newsletters::create => ops::create_newsletter,
    },
    "/newsletters/confirm" => {
        GET: newsletters::confirm_page => ops::confirm_newsletter_page,
        POST: newsletters::confirm => ops::confirm_newsletter,
    },
    "/newsletters/unsubscribe" => {
        GET: newsletters::unsubscribe_page => ops::unsubscribe_newsletter_page,
        POST: newsletters::unsubscribe => ops::unsubscribe_newsletter,
    },
    "/newsletters/{slug}" => {
        GET: newsletters::get => ops::get_newsletter,
        PATCH: newsletters::patch => ops::update_newsletter,
        DELETE: newsletters::delete => ops::delete_newsletter,
    },
    "/newsletters/{slug}/subscriptions" => { POST: newsletters::subscribe => ops::subscribe_newsletter },
    "/newsletters/{slug}/subscribers" => { GET: newsletters::subscribers => ops::list_newsletter_subscribers },
    "/newsletters/{slug}/issues" => { POST: newsletters::send_issue => ops::send_newsletter_issue },
    "/import" => { POST: writes::import => ops::import_content },
    "/auth/token" => { POST: crate::http::auth::token => ops::create_token },
    "/readers/sign-in" => { POST: readers::request_sign_in => ops::request_reader_sign_in },
    "/readers/session" => { POST: readers::create_session => ops::create_reader_session },
    "/readers/session/refresh" => { POST: readers::refresh_session => ops::refresh_reader_session },
    "/readers/me" => {
        GET: readers::get_me => ops::get_reader_me,
        PATCH: readers::patch_me => ops::update_reader_me,
        DELETE: readers::delete_me => ops::delete_reader_me,
    },
    "/readers/me/export" => { GET: readers::export_me => ops::export_reader_me },
    // comments
    "/articles/{slug}/comments" => {
        GET: comments::list_for_article => crate::http::openapi::comments::list_article_comments,
        POST: comments::create => crate::http::openapi::comments::create_comment,
    },
    "/comments" => { GET: comments::list => crate::http::openapi::comments::list_comments },
    "/comments/{id}" => {
        PATCH: comments::update => crate::http::openapi::comments::update_comment,
        DELETE: comments::delete => crate::http::openapi::comments::delete_comment,
    },
    "/comments/{id}/approve" => { POST: comments::approve => crate::http::openapi::comments::approve_comment },
    "/comments/{id}/reject" => { POST: comments::reject => crate::http::openapi::comments::reject_comment },
    "/comments/{id}/spam" => { POST: comments::spam => crate::http::openapi::comments::spam_comment },
    // Social sign-in (OpenID Connect).
    "/readers/oidc" => { GET: oidc::providers => ops::list_reader_oidc_providers },
    "/readers/oidc/{provider}/start" => { GET: oidc::start => ops::start_reader_oidc },
    "/readers/oidc/{provider}/callback" => { GET: oidc::callback => ops::finish_reader_oidc },
}

/// Mounts [`ROUTES`] (inside the `/api/v1` scope); every resource caps a JSON
/// body at [`writes::MAX_JSON_BODY`] (the import streams its own).
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (_, resource) in resources() {
        cfg.service(resource.app_data(web::PayloadConfig::new(writes::MAX_JSON_BODY)));
    }
}
