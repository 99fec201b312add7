//! The GraphQL endpoint: `POST /graphql` (JSON body, size-capped, no batching),
//! `GET /graphql` (queries only, including Apollo persisted-query hashes, so a CDN
//! can cache them) and GraphiQL for browsers. Builds the per-request context
//! (caller, loaders), enforces the document limits the schema cannot, runs the
//! schema under a timeout and gives every error an `extensions.code`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue,
};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::ServerError;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use futures_util::StreamExt;

use crate::auth::Actor;
use crate::graphql::{Loaders, RequestCtx, documents};

use super::AppState;
use super::conditional::{Public, Rendered, Validator, respond};
use super::problem::problem;
use super::rest::writes::carries_secret;

/// Largest request body accepted on `POST /graphql`.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest query document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024;
/// Most aliases one document may use (alias floods multiply work).
pub const MAX_ALIASES: usize = 40;
/// Most fields one document may select, fragments counted once each.
pub const MAX_FIELDS: usize = 500;
/// Longest a single operation may run.
pub const TIMEOUT: Duration = Duration::from_secs(15);

fn wants_html(http: &HttpRequest) -> bool {
    http.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

pub async fn post(
    state: web::Data<AppState>,
    http: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let json_body = http
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/json") || v.starts_with("application/graphql-response+json")
        });
    if !json_body {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the GraphQL request as application/json",
            &[],
        );
    }
    let body = match read_body(payload, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    // A repeated anonymous query is answered from the response cache by its
    // exact bytes, before any parsing (the answer was stored under them too
    // when it was rendered: `Public::also_as`).
    let raw = (!crate::http::auth::has_credentials(&http)
        && !http.headers().contains_key("idempotency-key"))
    .then(|| raw_key(&state, &http, &body));
    if let Some(key) = &raw
        && let Some(hit) = super::conditional::cached(&state, "graphql", key).await
    {
        return hit;
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("the body is not valid JSON: {e}")),
    };
    if value.is_array() {
        return bad_request("batched requests are not supported; send one operation per request");
    }
    let mut req: async_graphql::Request = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("not a GraphQL request: {e}")),
    };
    if let Err((message, code)) = state.persisted.resolve(&mut req, MAX_DOCUMENT_BYTES).await {
        return gql_errors(&message, code);
    }
    // A signed-in mutation spends the caller's write budget, like a REST write.
    if http
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
        && documents::parsed(&req.query)
            .is_some_and(|doc| has_mutation(&doc, req.operation_name.as_deref()))
        && let Some(too_many) = super::limits::spend(&state, &http).await
    {
        return too_many;
    }
    // A mutation sent with `Idempotency-Key` runs once; a retry replays its answer.
    if http.headers().contains_key("idempotency-key")
        && let Ok(actor) = crate::http::auth::actor(&http, &state).await
        && !actor.is_anonymous()
    {
        let once = crate::http::rest::writes::idempotent_when(
            &http,
            &state,
            &actor,
            &body,
            without_errors,
            || async { Ok(execute(&state, &http, req, false, None).await) },
        )
        .await;
        return once.unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    }
    execute(&state, &http, req, false, raw).await
}

/// The key of a GraphQL POST's exact body for this base URL.
fn raw_key(state: &AppState, http: &HttpRequest, body: &[u8]) -> [u8; 32] {
    let base = state.public_base(http);
    crate::http::cache::ResponseCache::key(&[b"graphql-post", base.as_bytes(), body])
}

/// A GraphQL answer that reports no errors.
fn without_errors(status: StatusCode, body: &[u8]) -> bool {
    status.is_success()
        && serde_json::from_slice::<serde_json::Value>(body)
            .is_ok_and(|v| v.get("errors").is_none())
}

/// The GraphiQL page and a Content-Security-Policy allowing exactly what it
/// loads: its scripts and styles from unpkg, the favicon from graphql.org, its
/// inline script (by hash) and queries to this origin.
fn graphiql_page() -> &'static (String, String) {
    static PAGE: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        let html = GraphiQLSource::build().endpoint("/graphql").finish();
        let hashes: String = inline_scripts(&html)
            .map(|s| {
                use base64::Engine;
                use sha2::Digest;
                let digest = sha2::Sha256::digest(s.as_bytes());
                format!(
                    " 'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(digest)
                )
            })
            .collect();
        let csp = format!(
            "default-src 'none'; script-src https://unpkg.com{hashes}; \
             style-src https://unpkg.com 'unsafe-inline'; font-src https://unpkg.com data:; \
             img-src https://graphql.org data:; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        );
        (html, csp)
    })
}

/// The bodies of the `<script>` elements without attributes (the inline ones).
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</script>").map(|(body, _)| body))
}

/// GraphiQL for a browser; otherwise a query (or persisted-query hash) in the URL.
pub async fn get(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    if super::graphql_ws::is_upgrade(&http) {
        return super::graphql_ws::upgrade(http, body, state)
            .await
            .unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    }
    if http.query_string().is_empty() && wants_html(&http) {
        if !state.graphiql {
            return problem(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "GraphiQL is disabled on this server",
                &[],
            );
        }
        let (html, csp) = graphiql_page();
        return HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((CONTENT_SECURITY_POLICY, csp.as_str()))
            .body(html.as_str());
    }
    let mut req = match async_graphql::http::parse_query_string(http.query_string()) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("invalid GraphQL query string: {e}")),
    };
    if req.query.is_empty() && !req.extensions.contains_key("persistedQuery") {
        return bad_request("give the operation in the `query` parameter");
    }
    if let Err((message, code)) = state.persisted.resolve(&mut req, MAX_DOCUMENT_BYTES).await {
        return gql_errors(&message, code);
    }
    execute(&state, &http, req, true, None).await
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, HttpResponse> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| bad_request(&format!("cannot read the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                &format!("the request body is larger than {limit} bytes"),
                &[],
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn bad_request(detail: &str) -> HttpResponse {
    problem(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", detail, &[])
}

/// An error response in GraphQL's own shape (HTTP 200, as GraphQL-over-HTTP says
/// for `application/json`).
fn gql_errors(message: &str, code: &str) -> HttpResponse {
    let mut e = ServerError::new(message, None);
    e.extensions = Some({
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", code);
        ext
    });
    render(async_graphql::Response::from_errors(vec![e]))
}

/// Runs a request as its caller: anonymous queries through the response cache,
/// signed-in ones (which may see drafts) always fresh and never cached.
async fn execute(
    state: &AppState,
    http: &HttpRequest,
    req: async_graphql::Request,
    over_get: bool,
    raw: Option<[u8; 32]>,
) -> HttpResponse {
    // Newsletters (issue 14 item 5): links and budgets of this request.
    let req = req.data(crate::graphql::NewsletterCtx {
        links: state.newsletter_links(http),
        limits: state.subscribe_limits.clone(),
        client: super::limits::client_basis(http, state),
    });
    match super::auth::actor(http, state).await {
        // A mutation is a write even when it will be refused: never a public read.
        Ok(Actor::Anonymous) if !is_mutation(&req) => {
            execute_cached(state, http, req, over_get, raw).await
        }
        Ok(actor) => {
            let Ran { res, body, .. } =
                execute_uncached(state, http, &state.db.conn, req, over_get, actor).await;
            match body {
                Some(b) => {
                    let mut r = json_response(b);
                    r.headers_mut()
                        .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
                    r
                }
                None => res,
            }
        }
        Err(e) => {
            let mut r = gql_errors(&e.public_message(), e.code());
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mediadesk\", error=\"invalid_token\""),
            );
            r
        }
    }
}

/// What the reader resolvers need: the signing keys, the link base, and the
/// sign-in budgets bound to this request's client.
fn reader_access(
    state: &AppState,
    http: &HttpRequest,
) -> Arc<crate::graphql::readers::ReaderAccess> {
    let client = super::limits::SignInLimits::client_of(state, http);
    let limits = state.sign_in_limits.clone();
    Arc::new(crate::graphql::readers::ReaderAccess {
        keys: state.jwt.clone(),
        link_base: state.reader_link_base.clone(),
        oidc: state.oidc.clone(),
        spend: Arc::new(move |email| {
            let (limits, client) = (limits.clone(), client.clone());
            Box::pin(async move { limits.spend_for(&client, &email).await })
        }),
    })
}

/// What the comment resolvers need: the policy and the comment budgets bound
/// to this request's client.
fn comment_access(state: &AppState, http: &HttpRequest) -> crate::graphql::comments::CommentAccess {
    let client = super::limits::SignInLimits::client_of(state, http);
    let limits = state.comment_limits.clone();
    crate::graphql::comments::CommentAccess {
        settings: state.comments,
        spend: Arc::new(move |reader| {
            let (limits, client) = (limits.clone(), client.clone());
            Box::pin(async move { limits.spend_for(&client, reader).await })
        }),
    }
}

/// Runs an anonymous request through `http::conditional`: answered from the
/// response cache while the content stamp is unchanged; over GET with a validator
/// (and 304s), over POST without one, and then also under the POST's `raw`
/// body key.
async fn execute_cached(
    state: &AppState,
    http: &HttpRequest,
    req: async_graphql::Request,
    over_get: bool,
    raw: Option<[u8; 32]>,
) -> HttpResponse {
    let query = req.query.clone();
    let operation = req.operation_name.clone().unwrap_or_default();
    let persisted = req
        .extensions
        .get("persistedQuery")
        .map(|v| v.to_string())
        .unwrap_or_default();
    let variables = serde_json::to_vec(&req.variables).unwrap_or_default();
    let public = Public::new(
        "graphql",
        vec![
            query.as_bytes(),
            operation.as_bytes(),
            &variables,
            persisted.as_bytes(),
        ],
        Validator::Stamp,
    );
    let public = match (over_get, raw) {
        (true, _) => public,
        (false, None) => public.without_validators(),
        (false, Some(key)) => public.without_validators().also_as(key),
    };
    // The request as many times as it runs (twice when the read replica fails).
    respond(http, state, public, |db| {
        let mut r = async_graphql::Request::new(req.query.clone()).variables(req.variables.clone());
        r.operation_name = req.operation_name.clone();
        r.extensions = req.extensions.clone();
        r.introspection_mode = req.introspection_mode;
        let from_replica = !std::ptr::eq(db, &state.db.conn);
        async move {
            let Ran {
                res,
                body,
                db_failed,
            } = execute_uncached(state, http, db, r, over_get, Actor::Anonymous).await;
            if from_replica && db_failed {
                return Err(crate::error::AppError::Unavailable(
                    "a GraphQL read failed on the read replica".into(),
                ));
            }
            Ok(match body {
                Some(b) => Rendered::Shared(json_response(b)),
                None => Rendered::Unshared(res),
            })
        }
    })
    .await
    .unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

fn json_response(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(body)
}

/// Does the request's operation (or any, without an operation name) mutate?
fn is_mutation(req: &async_graphql::Request) -> bool {
    documents::parsed(&req.query)
        .is_some_and(|doc| has_mutation(&doc, req.operation_name.as_deref()))
}

/// Executes on `db` without the cache; also returns the body when it may be
/// cached (no errors).
async fn execute_uncached(
    state: &AppState,
    http: &HttpRequest,
    db: &sea_orm::DatabaseConnection,
    mut req: async_graphql::Request,
    over_get: bool,
    actor: Actor,
) -> Ran {
    if req.query.len() > MAX_DOCUMENT_BYTES {
        return Ran::answer(gql_errors(
            &format!("the query document is larger than {MAX_DOCUMENT_BYTES} bytes"),
            "BAD_USER_INPUT",
        ));
    }
    if !req.query.is_empty() {
        // Parsed once per text (`graphql::documents`) for the checks the schema
        // cannot make, and handed to the schema; parse errors are left to the
        // schema, which reports them with positions.
        if let Some(doc) = documents::parsed(&req.query) {
            if over_get && has_mutation(&doc, req.operation_name.as_deref()) {
                let mut res = problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "METHOD_NOT_ALLOWED",
                    "mutations must be sent with POST",
                    &[],
                );
                res.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
                return Ran::answer(res);
            }
            let (aliases, fields) = count(&doc);
            if aliases > MAX_ALIASES {
                return Ran::answer(gql_errors(
                    &format!("the query uses {aliases} aliases; at most {MAX_ALIASES} are allowed"),
                    "TOO_COMPLEX",
                ));
            }
            if fields > MAX_FIELDS {
                return Ran::answer(gql_errors(
                    &format!("the query selects {fields} fields; at most {MAX_FIELDS} are allowed"),
                    "TOO_COMPLEX",
                ));
            }
            req.set_parsed_query(ExecutableDocument::clone(&doc));
        }
    }
    let db = db.clone();
    let secret_shown = Arc::new(AtomicBool::new(false));
    let req = req.data(Loaders::new(&db, &actor)).data(
        RequestCtx::new(db, actor, secret_shown.clone())
            .with_search(state.search.clone())
            .with_webhooks_allowed(state.webhooks.allowed.clone())
            .with_readers(reader_access(state, http)),
    );
    let req = req.data(comment_access(state, http));
    let res = match tokio::time::timeout(TIMEOUT, state.schema.execute(req)).await {
        Ok(r) => r,
        Err(_) => {
            return Ran::answer(gql_errors(
                "the operation took too long and was stopped",
                "TIMEOUT",
            ));
        }
    };
    let secret = secret_shown.load(Ordering::SeqCst);
    if res.errors.is_empty() {
        let body = Bytes::from(serde_json::to_vec(&res).unwrap_or_default());
        if secret {
            // Neither cached nor kept for an `Idempotency-Key` replay.
            let mut r = json_response(body);
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            return Ran::answer(carries_secret(r));
        }
        return Ran {
            res: HttpResponse::Ok().finish(),
            body: Some(body),
            db_failed: false,
        };
    }
    let db_failed = res.errors.iter().any(|e| {
        e.extensions.as_ref().is_some_and(|x| {
            matches!(x.get("code"), Some(async_graphql::Value::String(c)) if c == "UNAVAILABLE" || c == "INTERNAL")
        })
    });
    let r = render(res);
    Ran {
        res: if secret { carries_secret(r) } else { r },
        body: None,
        db_failed,
    }
}

/// What running an operation gave.
struct Ran {
    /// The answer (just a 200 when `body` is there).
    res: HttpResponse,
    /// The body, when the answer may be cached (no errors).
    body: Option<Bytes>,
    /// Whether an error came from the database (unavailable, or internal).
    db_failed: bool,
}

impl Ran {
    fn answer(res: HttpResponse) -> Self {
        Self {
            res,
            body: None,
            db_failed: false,
        }
    }
}

fn has_mutation(doc: &ExecutableDocument, name: Option<&str>) -> bool {
    doc.operations.iter().any(|(n, op)| {
        op.node.ty == OperationType::Mutation && (name.is_none() || n.map(|n| n.as_str()) == name)
    })
}

fn count(doc: &ExecutableDocument) -> (usize, usize) {
    fn walk(set: &SelectionSet, aliases: &mut usize, fields: &mut usize) {
        for sel in &set.items {
            match &sel.node {
                Selection::Field(f) => {
                    *fields += 1;
                    if f.node.alias.is_some() {
                        *aliases += 1;
                    }
                    walk(&f.node.selection_set.node, aliases, fields);
                }
                Selection::InlineFragment(f) => walk(&f.node.selection_set.node, aliases, fields),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let (mut aliases, mut fields) = (0, 0);
    for (_, op) in doc.operations.iter() {
        walk(&op.node.selection_set.node, &mut aliases, &mut fields);
    }
    for frag in doc.fragments.values() {
        walk(&frag.node.selection_set.node, &mut aliases, &mut fields);
    }
    (aliases, fields)
}

/// Gives every error a code: limits -> `TOO_COMPLEX`; parse, validation and
/// argument errors (which carry none) -> `BAD_USER_INPUT`.
fn classify(res: &mut async_graphql::Response) {
    for e in &mut res.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if has_code {
            continue;
        }
        let m = e.message.to_ascii_lowercase();
        let code = if m.contains("too complex")
            || m.contains("nested too deep")
            || m.contains("too many directives")
            || m.contains("recursion")
        {
            "TOO_COMPLEX"
        } else if m.contains("persistedquerynotfound") {
            "PERSISTED_QUERY_NOT_FOUND"
        } else {
            "BAD_USER_INPUT"
        };
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
}

/// Renders an answer with errors (never cached).
fn render(mut res: async_graphql::Response) -> HttpResponse {
    classify(&mut res);
    let cache = "no-store";
    let body = serde_json::to_vec(&res)
        .unwrap_or_else(|_| b"{\"errors\":[{\"message\":\"internal error\"}]}".to_vec());
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, cache))
        .body(body)
}
