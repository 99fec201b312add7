//! REST handlers: parse parameters, call one service function, render JSON.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::Actor;
use crate::domain::{
    ArticleFilter, ArticleOrder, EventFilter, EventKind, EventOrder, ExpertFilter, Language,
    OutletFilter, OutletKind, PageRequest,
};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::services;

use super::caching::conditional;
use super::json;
use super::params::Params;

/// The caller: anonymous, or the holder of a valid token (else 401).
async fn actor(req: &HttpRequest, state: &AppState) -> AppResult<Actor> {
    crate::http::auth::actor(req, state).await
}

/// `{"data": [...], "meta": {...}}` plus an RFC 8288 `Link: rel="next"`.
fn list_response<T: Serialize>(
    req: &HttpRequest,
    data: Vec<T>,
    next: Option<String>,
    limit: u64,
) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    if let Some(c) = &next {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        pairs.retain(|(k, _)| k != "cursor");
        pairs.push(("cursor".into(), c.clone()));
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        b.insert_header(("link", format!("<{}?{}>; rel=\"next\"", req.path(), qs)));
    }
    b.json(json!({ "data": data, "meta": { "next_cursor": next, "limit": limit } }))
}

fn one<T: Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "data": data }))
}

fn article_params(p: &mut Params) -> (ArticleFilter, ArticleOrder) {
    let filter = ArticleFilter {
        expert: p.slug("expert"),
        outlet: p.slug("outlet"),
        topic: p.slug("topic"),
        language: p.parse_as::<Language>("lang"),
        published_after: p.time("from"),
        published_before: p.time("to"),
        query: p.str("q").map(str::to_owned),
        status: p.parse_as("status"),
    };
    let order = match p.str("order").map(str::to_ascii_lowercase).as_deref() {
        None | Some("newest") => ArticleOrder::Newest,
        Some("oldest") => ArticleOrder::Oldest,
        Some("relevance") => ArticleOrder::Relevance,
        Some(_) => p
            .parse_as::<BadArticleOrder>("order")
            .map_or(ArticleOrder::Newest, |_| ArticleOrder::Newest),
    };
    (filter, order)
}

/// Reports a bad `order` through the same path as other parameters.
struct BadArticleOrder;
impl std::str::FromStr for BadArticleOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Err(format!(
            "unknown order {s:?}; expected one of: newest, oldest, relevance"
        ))
    }
}

async fn articles_response(
    req: &HttpRequest,
    state: &AppState,
    filter: ArticleFilter,
    order: ArticleOrder,
    page: PageRequest,
) -> AppResult<HttpResponse> {
    let actor = actor(req, state).await?;
    conditional(req, state, || async {
        let db = &state.db.conn;
        let p = services::articles::list(db, &actor, &filter, order, &page).await?;
        let next = p.next_cursor(services::articles::cursor_of);
        let data = json::articles(db, p.items, false).await?;
        Ok(list_response(req, data, next, page.limit))
    })
    .await
}

pub async fn list_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let (filter, order) = article_params(&mut p);
    let page = p.page();
    p.finish()?;
    articles_response(&req, &state, filter, order, page).await
}

pub async fn get_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    conditional(&req, &state, || async {
        let db = &state.db.conn;
        let a = services::articles::get_by_slug(db, &actor, &slug)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no article with slug {:?}", slug.as_str()))
            })?;
        // Signed-in callers get the version's validator, for `If-Match` on changes.
        let version_tag = (!actor.is_anonymous()).then(|| services::article_edits::etag(&a));
        let mut v = json::articles(db, vec![a], true).await?;
        let mut res = one(v.pop());
        if let Some(tag) = version_tag
            && let Ok(h) = actix_web::http::header::HeaderValue::from_str(&tag)
        {
            res.headers_mut().insert(actix_web::http::header::ETAG, h);
        }
        Ok(res)
    })
    .await
}

/// The version an `If-Match` names (`None` for `*`); 428 without one.
fn if_match(req: &HttpRequest) -> AppResult<Option<i32>> {
    let v = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AppError::PreconditionRequired(
                "send If-Match with the ETag of the version you changed (GET it with your token)"
                    .into(),
            )
        })?
        .trim();
    if v == "*" {
        return Ok(None);
    }
    v.trim_start_matches("W/")
        .trim_matches('"')
        .rsplit_once("-v")
        .and_then(|(_, n)| n.parse::<i32>().ok())
        .map(Some)
        .ok_or_else(|| AppError::Stale("If-Match does not name a current version".into()))
}

/// `PATCH /api/v1/articles/{slug}`: a JSON (merge-)patch, with `If-Match`.
pub async fn patch_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let patch: serde_json::Map<String, Value> =
        super::super::auth::json_body(&req, &body, MAX_MENTION_BODY)?;
    let expected = if_match(&req)?;
    let db = &state.db.conn;
    let a = services::article_edits::update(db, &actor, &slug, expected, patch).await?;
    let tag = services::article_edits::etag(&a);
    let data = json::articles(db, vec![a], true).await?.pop();
    Ok(HttpResponse::Ok()
        .insert_header(("etag", tag))
        .insert_header(("cache-control", "no-store"))
        .json(json!({ "data": data })))
}

/// `DELETE /api/v1/articles/{slug}`, with `If-Match`.
pub async fn delete_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let expected = if_match(&req)?;
    services::article_edits::delete(&state.db.conn, &actor, &slug, expected).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_experts(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let filter = ExpertFilter {
        query: p.str("q").map(str::to_owned),
        topic: p.slug("topic"),
    };
    let page = p.page();
    p.finish()?;
    conditional(&req, &state, || async {
        let db = &state.db.conn;
        let r = services::experts::list(db, &filter, &page).await?;
        let next = r.next_cursor(services::experts::cursor_of);
        Ok(list_response(
            &req,
            json::experts(db, r.items).await?,
            next,
            page.limit,
        ))
    })
    .await
}

pub async fn get_expert(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    conditional(&req, &state, || async {
        let db = &state.db.conn;
        let e = services::experts::get_by_slug(db, &slug)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no expert with slug {:?}", slug.as_str()))
            })?;
        Ok(one(json::experts(db, vec![e]).await?.pop()))
    })
    .await
}

pub async fn expert_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let (mut filter, order) = article_params(&mut p);
    let page = p.page();
    p.finish()?;
    let e = services::experts::get_by_slug(&state.db.conn, &slug)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no expert with slug {:?}", slug.as_str())))?;
    filter.expert = crate::domain::Slug::parse(&e.slug).ok();
    articles_response(&req, &state, filter, order, page).await
}

pub async fn list_outlets(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let filter = OutletFilter {
        query: p.str("q").map(str::to_owned),
        kind: p.parse_as::<OutletKind>("kind"),
    };
    let page = p.page();
    p.finish()?;
    conditional(&req, &state, || async {
        let db = &state.db.conn;
        let r = services::outlets::list(db, &filter, &page).await?;
        let next = r.next_cursor(services::outlets::cursor_of);
        Ok(list_response(
            &req,
            json::outlets(db, r.items).await?,
            next,
            page.limit,
        ))
    })
    .await
}

pub async fn get_outlet(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    conditional(&req, &state, || async {
        let db = &state.db.conn;
        let o = services::outlets::get_by_slug(db, &slug)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no outlet with slug {:?}", slug.as_str()))
            })?;
        let children = services::outlets::children_of(db, &[o.id]).await?;
        let mut out = json::outlets(db, vec![o]).await?;
        let mut o = out
            .pop()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("outlet vanished")))?;
        o.children = Some(
            children
                .into_iter()
                .map(|c| json::Ref {
                    slug: c.slug,
                    name: c.name,
                })
                .collect(),
        );
        Ok(one(o))
    })
    .await
}

pub async fn outlet_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let (mut filter, order) = article_params(&mut p);
    let page = p.page();
    p.finish()?;
    let o = services::outlets::get_by_slug(&state.db.conn, &slug)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no outlet with slug {:?}", slug.as_str())))?;
    filter.outlet = crate::domain::Slug::parse(&o.slug).ok();
    articles_response(&req, &state, filter, order, page).await
}

pub async fn list_events(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let filter = EventFilter {
        upcoming: p.boolean("upcoming"),
        from: p.time("from"),
        to: p.time("to"),
        kind: p.parse_as::<EventKind>("kind"),
        city: p.str("city").map(str::to_owned),
        query: p.str("q").map(str::to_owned),
    };
    let order = match p.str("order").map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("soonest") => Some(EventOrder::Soonest),
        Some("latest") => Some(EventOrder::Latest),
        Some(_) => p
            .parse_as::<BadEventOrder>("order")
            .map(|_| EventOrder::Latest),
    };
    let page = p.page();
    p.finish()?;
    let actor = actor(&req, &state).await?;
    conditional(&req, &state, || async {
        let r = services::events::list(&state.db.conn, &actor, &filter, order, &page).await?;
        let next = r.next_cursor(services::events::cursor_of);
        Ok(list_response(
            &req,
            r.items.into_iter().map(json::event).collect(),
            next,
            page.limit,
        ))
    })
    .await
}

/// Reports a bad event `order` through the same path as other parameters.
struct BadEventOrder;
impl std::str::FromStr for BadEventOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Err(format!(
            "unknown order {s:?}; expected one of: soonest, latest"
        ))
    }
}

pub async fn get_event(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    conditional(&req, &state, || async {
        let e = services::events::get_by_slug(&state.db.conn, &actor, &slug)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no event with slug {:?}", slug.as_str())))?;
        Ok(one(json::event(e)))
    })
    .await
}

pub async fn list_topics(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Params::parse(req.query_string())?.finish()?;
    conditional(&req, &state, || async {
        let t = services::topics::list(&state.db.conn).await?;
        Ok(HttpResponse::Ok()
            .json(json!({ "data": t.into_iter().map(json::topic).collect::<Vec<_>>() })))
    })
    .await
}

pub async fn search(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let q = p.str("q").map(str::to_owned);
    let page = p.page();
    p.finish()?;
    let Some(q) = q else {
        return Err(AppError::invalid("q", "the search text is required"));
    };
    let actor = actor(&req, &state).await?;
    conditional(&req, &state, || async {
        use services::search::Hit;
        let db = &state.db.conn;
        let r = services::search::search(db, &actor, &q, &page).await?;
        let next = r.next_cursor(|h| h.cursor());
        // Each kind is rendered in one batch (a few queries for the whole page),
        // then the hits are put back in their order.
        let (mut articles, mut experts, mut outlets) = (vec![], vec![], vec![]);
        for h in &r.items {
            match h {
                Hit::Article(a) => articles.push(a.clone()),
                Hit::Expert(e) => experts.push(e.clone()),
                Hit::Outlet(o) => outlets.push(o.clone()),
                Hit::Event(_) => {}
            }
        }
        let mut articles = json::articles(db, articles, false).await?.into_iter();
        let mut experts = json::experts(db, experts).await?.into_iter();
        let mut outlets = json::outlets(db, outlets).await?.into_iter();
        let mut data = Vec::with_capacity(r.items.len());
        for h in r.items {
            let (kind, value) = match h {
                Hit::Article(_) => ("article", serde_json::to_value(articles.next())),
                Hit::Expert(_) => ("expert", serde_json::to_value(experts.next())),
                Hit::Outlet(_) => ("outlet", serde_json::to_value(outlets.next())),
                Hit::Event(e) => ("event", serde_json::to_value(json::event(e))),
            };
            let mut v = value.map_err(|e| AppError::Internal(e.into()))?;
            if let Some(obj) = v.as_object_mut() {
                obj.insert("type".into(), json!(kind));
            }
            data.push(v);
        }
        Ok(list_response(&req, data, next, page.limit))
    })
    .await
}

pub async fn get_site(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    conditional(&req, &state, || async {
        Ok(one(json::site(services::site::get(&state.db.conn).await?)))
    })
    .await
}

/// The checked-in OpenAPI description, as served.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/yaml; charset=utf-8"))
        .insert_header(("cache-control", "public, max-age=300"))
        .body(OPENAPI_YAML)
}

pub async fn docs(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header(("cache-control", "public, max-age=300"))
        .insert_header((
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .body(state.docs_html.clone())
}

/// Largest body `POST /api/v1/mentions` accepts.
const MAX_MENTION_BODY: usize = 64 * 1024;

/// `POST /api/v1/mentions`: 201 with the new article, or 200 with the one already
/// recorded for the same canonical URL.
pub async fn record_mention(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let input: services::mentions::MentionInput =
        super::super::auth::json_body(&req, &body, MAX_MENTION_BODY)?;
    let db = &state.db.conn;
    let (a, created) = services::mentions::record_mention(db, &actor, input).await?;
    let location = format!("/api/v1/articles/{}", a.slug);
    let data = json::articles(db, vec![a], true).await?.pop();
    let mut b = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(b.insert_header(("location", location))
        .insert_header(("cache-control", "no-store"))
        .json(json!({ "data": data, "meta": { "created": created } })))
}

/// `GET /api/v1/audit`: the audit log, newest first (administrators only).
pub async fn list_audit(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let mut p = Params::parse(req.query_string())?;
    let page = p.page();
    p.finish()?;
    let r = services::audit::list(&state.db.conn, &actor, &page).await?;
    let next = r.next_cursor(services::audit::cursor_of);
    let data: Vec<Value> = r
        .items
        .into_iter()
        .map(|e| {
            json!({ "id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "entity": e.entity,
                    "entity_id": e.entity_id, "before": e.before, "after": e.after })
        })
        .collect();
    let mut res = list_response(&req, data, next, page.limit);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}
