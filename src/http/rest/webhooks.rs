//! Webhook endpoints over HTTP (administrators): list, create, read, change,
//! delete, rotate the secret, read the delivery log and redeliver. The secret
//! is in the answers to a create and a rotation only, which are never kept for
//! an `Idempotency-Key` replay (`writes::carries_secret`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::{numeric, private};
use super::params::Params;
use super::writes::{MAX_JSON_BODY, carries_secret, idempotent};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::auth::{actor, json_body};
use crate::services::webhooks::{self, EndpointInput};

/// A new webhook endpoint.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewWebhook {
    /// Where deliveries are POSTed (http or https; no user info or fragment).
    url: String,
    description: Option<String>,
    /// Event types (`article.published`, `article.*`, `*`); default `["*"]`.
    events: Option<Vec<String>>,
    /// Expert slugs: only articles with one of them (and these experts).
    experts: Option<Vec<String>>,
    /// Outlet slugs: only articles of one of them (and these outlets).
    outlets: Option<Vec<String>>,
    /// Topic slugs: only articles with one of them (and these topics).
    topics: Option<Vec<String>>,
    /// Default true.
    active: Option<bool>,
}

/// Changes to a webhook endpoint: absent fields stay as they are; an empty
/// filter list removes that filter, an empty `description` clears it;
/// `active: true` re-enables an endpoint the server disabled.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatch {
    url: Option<String>,
    description: Option<String>,
    events: Option<Vec<String>>,
    experts: Option<Vec<String>>,
    outlets: Option<Vec<String>>,
    topics: Option<Vec<String>>,
    active: Option<bool>,
}

fn data_with_secret(e: &webhooks::Endpoint, secret: String) -> AppResult<Value> {
    let mut data = serde_json::to_value(e).map_err(|e| AppError::Internal(e.into()))?;
    data["secret"] = Value::String(secret);
    Ok(data)
}

fn ok(data: Value) -> HttpResponse {
    private(HttpResponse::Ok().json(json!({ "data": data })))
}

fn to_value<T: serde::Serialize>(v: &T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

/// `GET /api/v1/webhooks`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let list = webhooks::list(&state.db.conn, &actor).await?;
    Ok(ok(to_value(&list)?))
}

/// `POST /api/v1/webhooks`: 201 with the endpoint and, this once, its secret.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    idempotent(&req, &state, &actor, &body, || async {
        let w: NewWebhook = json_body(&req, &body, MAX_JSON_BODY)?;
        let input = EndpointInput {
            url: Some(w.url),
            description: Some(w.description),
            events: w.events,
            experts: w.experts,
            outlets: w.outlets,
            topics: w.topics,
            active: w.active,
        };
        let (e, secret) =
            webhooks::create(&state.db.conn, &actor, input, &state.webhooks.allowed).await?;
        let res = HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/api/v1/webhooks/{}", e.id)))
            .json(json!({ "data": data_with_secret(&e, secret)? }));
        Ok(carries_secret(private(res)))
    })
    .await
}

/// `GET /api/v1/webhooks/{id}` (never the secret).
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let e = webhooks::get(&state.db.conn, &actor, numeric("webhook endpoint", &id)?).await?;
    Ok(ok(to_value(&e)?))
}

/// `PATCH /api/v1/webhooks/{id}`.
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let id = numeric("webhook endpoint", &id)?;
    let p: WebhookPatch = json_body(&req, &body, MAX_JSON_BODY)?;
    let input = EndpointInput {
        url: p.url,
        description: p
            .description
            .map(|d| Some(d).filter(|d| !d.trim().is_empty())),
        events: p.events,
        experts: p.experts,
        outlets: p.outlets,
        topics: p.topics,
        active: p.active,
    };
    let e = webhooks::update(&state.db.conn, &actor, id, input, &state.webhooks.allowed).await?;
    Ok(ok(to_value(&e)?))
}

/// `DELETE /api/v1/webhooks/{id}`: 204; its deliveries go with it.
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    webhooks::delete(&state.db.conn, &actor, numeric("webhook endpoint", &id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/webhooks/{id}/secret`: a new secret, shown this once.
pub async fn rotate_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let id = numeric("webhook endpoint", &id)?;
    idempotent(&req, &state, &actor, &body, || async {
        let (e, secret) = webhooks::rotate_secret(&state.db.conn, &actor, id).await?;
        Ok(carries_secret(ok(data_with_secret(&e, secret)?)))
    })
    .await
}

/// `GET /api/v1/webhooks/{id}/deliveries?limit=&cursor=`: newest first, each
/// with its attempts.
pub async fn deliveries(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let id = numeric("webhook endpoint", &id)?;
    let mut p = Params::parse(req.query_string())?;
    let limit = p.count("limit", 20, 100);
    let before = p.id("cursor");
    p.finish()?;
    let (list, next) = webhooks::deliveries(&state.db.conn, &actor, id, limit, before).await?;
    Ok(private(HttpResponse::Ok().json(json!({
        "data": list,
        "meta": { "next_cursor": next.map(|n| n.to_string()), "limit": limit },
    }))))
}

/// `POST /api/v1/webhooks/{id}/deliveries/{delivery}/redeliver`: 202, pending
/// again with the same `webhook-id`.
pub async fn redeliver(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let (id, delivery) = path.into_inner();
    let id = numeric("webhook endpoint", &id)?;
    let delivery: i64 = delivery
        .parse()
        .map_err(|_| AppError::NotFound(format!("no delivery {delivery:?}")))?;
    let d = webhooks::redeliver(&state.db.conn, &actor, id, delivery).await?;
    Ok(private(
        HttpResponse::Accepted().json(json!({ "data": to_value(&d)? })),
    ))
}
