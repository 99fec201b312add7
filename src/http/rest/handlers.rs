//! REST handlers: parse parameters, call one service function, render JSON.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::Actor;
use crate::domain::{
    ArticleFilter, ArticleOrder, EventFilter, EventKind, EventOrder, ExpertFilter, Language,
    OutletFilter, OutletKind, PageRequest,
};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::conditional::{Public, Validator, respond};
use crate::http::linked::{self, Negotiated};
use crate::services;
use crate::services::records::Record;

use super::json;
use super::params::Params;

/// The caller: anonymous, or the holder of a valid token (else 401).
async fn actor(req: &HttpRequest, state: &AppState) -> AppResult<Actor> {
    crate::http::auth::actor(req, state).await
}

/// A public read through `http::conditional` (content-stamp validator):
/// `render(db)` reads from `db` (the primary, or the read replica for anonymous
/// callers when it is current).
async fn conditional<'s, F, Fut>(
    req: &HttpRequest,
    state: &'s AppState,
    render: F,
) -> AppResult<HttpResponse>
where
    F: Fn(&'s DatabaseConnection) -> Fut,
    Fut: std::future::Future<Output = AppResult<HttpResponse>>,
{
    respond(
        req,
        state,
        Public::url("rest", req, Validator::Stamp),
        render,
    )
    .await
}

/// A public read of one object, as JSON or, for `Accept: application/ld+json`,
/// as schema.org JSON-LD (`http::linked`): the negotiated type is part of the
/// answer's identity (cache key and ETag) and the answer varies on `Accept`.
async fn object<'s, F, Fut>(
    req: &HttpRequest,
    state: &'s AppState,
    render: F,
) -> AppResult<HttpResponse>
where
    F: Fn(&'s DatabaseConnection, Negotiated) -> Fut,
    Fut: std::future::Future<Output = AppResult<HttpResponse>>,
{
    let n = linked::negotiate(req);
    let public = Public::url("rest", req, Validator::Stamp).with(n.key());
    let mut res = respond(req, state, public, |db| render(db, n)).await?;
    crate::http::accept::vary_on_accept(&mut res);
    Ok(res)
}

/// `{"data": [...], "meta": {...}}` plus an RFC 8288 `Link: rel="next"`.
pub(crate) fn list_response<T: Serialize>(
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

/// Signed-in callers get the version's validator, for `If-Match` on changes
/// (the public gets the content ETag of `conditional`).
fn versioned<R: Record>(signed_in: bool, res: HttpResponse, r: &R) -> HttpResponse {
    if signed_in {
        super::writes::with_version_tag(res, r)
    } else {
        res
    }
}

/// The article filter's parameters (`expert`, `outlet`, `topic`, `lang`, `from`,
/// `to`, `q`, `status`).
pub(crate) fn article_filter(p: &mut Params) -> ArticleFilter {
    ArticleFilter {
        expert: p.slug("expert"),
        outlet: p.slug("outlet"),
        topic: p.slug("topic"),
        language: p.parse_as::<Language>("lang"),
        published_after: p.time("from"),
        published_before: p.time("to"),
        query: p.str("q").map(str::to_owned),
        status: p.parse_as("status"),
    }
}

fn article_params(p: &mut Params) -> (ArticleFilter, ArticleOrder) {
    let filter = article_filter(p);
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
    let (actor, filter, page) = (&actor, &filter, &page);
    let index = state.search.as_ref();
    conditional(req, state, |db| async move {
        let p = services::articles::list_ranked(db, index, actor, filter, order, page).await?;
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
    let base = state.public_base(&req);
    let (actor, slug, base) = (&actor, &slug, &base);
    object(&req, &state, |db, n| async move {
        let a = services::articles::get_by_slug(db, actor, slug)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no article with slug {:?}", slug.as_str()))
            })?;
        let signed_in = !actor.is_anonymous();
        let tagged = |res| versioned(signed_in, res, &a);
        let res = match n {
            Negotiated::Json => one(json::articles(db, vec![a.clone()], true).await?.pop()),
            Negotiated::LinkedData => {
                let (_, nodes) = linked::articles(db, base, vec![a.clone()], true).await?;
                let node = nodes.into_iter().next().unwrap_or_default();
                linked::response(&linked::document(node))?
            }
        };
        Ok(tagged(res))
    })
    .await
}

pub async fn list_experts(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let filter = ExpertFilter {
        query: p.str("q").map(str::to_owned),
        topic: p.slug("topic"),
    };
    let page = p.page();
    p.finish()?;
    let (filter, page, req) = (&filter, &page, &req);
    conditional(req, &state, |db| async move {
        let r = services::experts::list(db, filter, page).await?;
        let next = r.next_cursor(services::experts::cursor_of);
        Ok(list_response(
            req,
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
    let signed_in = !actor(&req, &state).await?.is_anonymous();
    let base = state.public_base(&req);
    let (slug, base) = (&slug, &base);
    object(&req, &state, |db, n| async move {
        let e = services::experts::get_by_slug(db, slug)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no expert with slug {:?}", slug.as_str()))
            })?;
        let rendered = json::experts(db, vec![e.clone()]).await?.pop();
        let res = match (n, rendered) {
            (Negotiated::LinkedData, Some(x)) => {
                let site = services::site::name(db).await?;
                linked::response(&linked::document(linked::expert(base, &x, site.as_deref())))?
            }
            (_, rendered) => one(rendered),
        };
        Ok(versioned(signed_in, res, &e))
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
    let (filter, page, req) = (&filter, &page, &req);
    conditional(req, &state, |db| async move {
        let r = services::outlets::list(db, filter, page).await?;
        let next = r.next_cursor(services::outlets::cursor_of);
        Ok(list_response(
            req,
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
    let signed_in = !actor(&req, &state).await?.is_anonymous();
    let base = state.public_base(&req);
    let (slug, base) = (&slug, &base);
    object(&req, &state, |db, n| async move {
        let o = services::outlets::get_by_slug(db, slug)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("no outlet with slug {:?}", slug.as_str()))
            })?;
        let children = services::outlets::children_of(db, &[o.id]).await?;
        let model = o.clone();
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
        let res = match n {
            Negotiated::Json => one(o),
            Negotiated::LinkedData => {
                linked::response(&linked::document(linked::outlet(base, &o)))?
            }
        };
        Ok(versioned(signed_in, res, &model))
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

/// The filters and order of `GET /api/v1/events` (also the calendar feed's).
pub(crate) fn event_params(p: &mut Params) -> (EventFilter, Option<EventOrder>) {
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
    (filter, order)
}

pub async fn list_events(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let (filter, order) = event_params(&mut p);
    let page = p.page();
    p.finish()?;
    let actor = actor(&req, &state).await?;
    let (actor, filter, page, req) = (&actor, &filter, &page, &req);
    conditional(req, &state, |db| async move {
        let r = services::events::list(db, actor, filter, order, page).await?;
        let next = r.next_cursor(services::events::cursor_of);
        Ok(list_response(
            req,
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
    let base = state.public_base(&req);
    let (actor, slug, base) = (&actor, &slug, &base);
    object(&req, &state, |db, n| async move {
        let e = services::events::get_by_slug(db, actor, slug)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no event with slug {:?}", slug.as_str())))?;
        let res = match n {
            Negotiated::Json => one(json::event(e.clone())),
            Negotiated::LinkedData => linked::response(&linked::document(linked::event(base, &e)))?,
        };
        Ok(versioned(!actor.is_anonymous(), res, &e))
    })
    .await
}

pub async fn list_topics(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    Params::parse(req.query_string())?.finish()?;
    conditional(&req, &state, |db| async move {
        let t = services::topics::list(db).await?;
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
    let (actor, q, page, req) = (&actor, &q, &page, &req);
    let index = state.search.as_ref();
    conditional(req, &state, |db| async move {
        use services::search::Hit;
        let r = services::search::search(db, index, actor, q, page).await?;
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
        Ok(list_response(req, data, next, page.limit))
    })
    .await
}

pub async fn get_site(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let signed_in = !actor(&req, &state).await?.is_anonymous();
    let base = &state.public_base(&req);
    object(&req, &state, |db, n| async move {
        let s = services::site::get(db).await?;
        let site = json::site(s.clone());
        let res = match n {
            Negotiated::Json => one(site),
            Negotiated::LinkedData => {
                linked::response(&linked::document(linked::site(base, &site)))?
            }
        };
        Ok(versioned(signed_in, res, &s))
    })
    .await
}

pub async fn get_topic(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let signed_in = !actor(&req, &state).await?.is_anonymous();
    let slug = &slug;
    conditional(&req, &state, |db| async move {
        let t = services::topics::get_by_slug(db, slug)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no topic with slug {:?}", slug.as_str())))?;
        let res = one(json::topic(t.clone()));
        Ok(versioned(signed_in, res, &t))
    })
    .await
}

/// The checked-in `openapi.yaml`, as served: `http::openapi::yaml()` wrote it and a
/// test keeps the two equal.
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

/// `GET /changes`: a page of the change log as the caller may see it
/// (`services::sync`). Anonymous pages are public reads like any other: while
/// nothing is written, polling at the head is a cache hit or a 304.
pub async fn list_changes(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    use services::sync;
    let mut p = Params::parse(req.query_string())?;
    let since = p.str("since").map(str::to_owned);
    let limit = p.count("limit", sync::DEFAULT_LIMIT, sync::MAX_LIMIT);
    p.finish()?;
    let actor = actor(&req, &state).await?;
    let (actor, since, req) = (&actor, &since, &req);
    conditional(req, &state, |db| async move {
        let page = sync::page(db, actor, since.as_deref(), limit).await?;
        let data = json::changes(db, page.entries, page.objects).await?;
        let mut b = HttpResponse::Ok();
        if page.more {
            let qs = serde_urlencoded::to_string([
                ("since", page.next.as_str()),
                ("limit", &limit.to_string()),
            ])
            .unwrap_or_default();
            b.insert_header(("link", format!("<{}?{}>; rel=\"next\"", req.path(), qs)));
        }
        Ok(b.json(json!({
            "data": data,
            "meta": { "next": page.next, "more": page.more, "head": page.head, "limit": limit },
        })))
    })
    .await
}
