//! Users and API keys over HTTP (administrators): list, create, change a user's
//! role or active flag, revoke a key. A new key's secret is in the creation
//! answer only; it is stored nowhere (an `Idempotency-Key` retry of `POST /keys`
//! is a 409, never the secret again: see `writes::carries_secret`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::auth::{actor, json_body};
use crate::services::accounts::{self, key_json, user_json};

use super::writes::MAX_JSON_BODY;

pub(super) fn private(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    res
}

fn role(field: &str, s: &str) -> AppResult<Role> {
    s.parse::<Role>()
        .map_err(|e| AppError::Unprocessable(vec![crate::domain::FieldError::new(field, e)]))
}

pub(super) fn numeric(what: &str, id: &str) -> AppResult<i32> {
    id.parse()
        .map_err(|_| AppError::NotFound(format!("no {what} with id {id:?}")))
}

/// 201 with `data` (private), which now lives at `location`.
fn created(location: String, data: Value) -> HttpResponse {
    private(
        HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .json(json!({ "data": data })),
    )
}

/// `GET /api/v1/users`.
pub async fn list_users(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let users = accounts::list_users(&state.db.conn, &actor).await?;
    let data: Vec<Value> = users.iter().map(user_json).collect();
    Ok(private(HttpResponse::Ok().json(json!({ "data": data }))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    email: String,
    /// At least 12 characters.
    password: String,
    #[schema(value_type = Role)]
    role: String,
}

/// `POST /api/v1/users`: 201 with the user (never the password).
pub async fn create_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    super::writes::idempotent(&req, &state, &actor, &body, || async {
        let u: NewUser = json_body(&req, &body, MAX_JSON_BODY)?;
        let r = role("role", &u.role)?;
        let u = accounts::create_user(&state.db.conn, &actor, &u.email, &u.password, r).await?;
        Ok(created(format!("/api/v1/users/{}", u.id), user_json(&u)))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    active: Option<bool>,
}

/// `PATCH /api/v1/users/{id}`: a new role, or `active: false` to shut a user out.
pub async fn patch_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let p: UserPatch = json_body(&req, &body, MAX_JSON_BODY)?;
    let r = p.role.as_deref().map(|s| role("role", s)).transpose()?;
    let u =
        accounts::update_user(&state.db.conn, &actor, numeric("user", &id)?, r, p.active).await?;
    Ok(private(
        HttpResponse::Ok().json(json!({ "data": user_json(&u) })),
    ))
}

/// `GET /api/v1/keys`: every key, revoked ones included, never a secret.
pub async fn list_keys(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let keys = accounts::list_keys(&state.db.conn, &actor).await?;
    let data: Vec<Value> = keys.iter().map(key_json).collect();
    Ok(private(HttpResponse::Ok().json(json!({ "data": data }))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// What the key is for.
    name: String,
    #[schema(value_type = Role)]
    role: String,
}

/// `POST /api/v1/keys`: 201 with the key and, this once, its secret (`data.key`).
pub async fn create_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    super::writes::idempotent(&req, &state, &actor, &body, || async {
        let k: NewKey = json_body(&req, &body, MAX_JSON_BODY)?;
        let r = role("role", &k.role)?;
        let (k, secret) = accounts::create_key(&state.db.conn, &actor, &k.name, r).await?;
        let mut data = key_json(&k);
        data["key"] = Value::String(secret);
        Ok(super::writes::carries_secret(created(
            format!("/api/v1/keys/{}", k.id),
            data,
        )))
    })
    .await
}

/// `DELETE /api/v1/keys/{id}`: revokes the key; its tokens stop working at once.
pub async fn revoke_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    actor.require(Role::Admin)?;
    let id = numeric("API key", &id)?;
    accounts::revoke_key(&state.db.conn, &actor, &id.to_string()).await?;
    Ok(HttpResponse::NoContent().finish())
}
