//! The shared parts of the document: its description, tags, and the
//! components the operations refer to (parameters, headers, responses and
//! schemas). Record and input schemas come from the Rust types; the few shapes
//! with no type of their own (`Meta`, `User`, `ApiKey`, ...) are kept here.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, RefOr, Schema};

use super::{
    data, from_literal, json_content, named, optional_by_default, page, problem, response, schema,
};
use crate::domain::{DEFAULT_PAGE_SIZE, Language, MAX_PAGE_SIZE, Role, Slug};
use crate::http::feeds;
use crate::http::problem::Problem;
use crate::http::rest::json::{Article, Event, Expert, Outlet, Site, Topic};
use crate::services::import::ImportReport;
use crate::services::lines::{ArticleLine, EventLine, ExpertLine, OutletLine, SiteLine, TopicLine};

/// The pattern of a slug (`domain::Slug`).
pub(super) const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// The tags, in the order a reader meets them, with what each groups.
pub(super) const TAGS: &[(&str, &str)] = &[
    (
        "articles",
        "Media mentions: articles, interviews and broadcasts citing the institute's experts.",
    ),
    (
        "experts",
        "The institute's experts, with their topics and mentions.",
    ),
    ("outlets", "Media outlets, nested in their media groups."),
    ("events", "The institute's events, past and upcoming."),
    ("topics", "The topics that group experts and mentions."),
    ("site", "Site settings and site-wide search."),
    (
        "feeds",
        "RSS, Atom and JSON feeds, and the embeddable widget.",
    ),
    (
        "changes",
        "The change log, to mirror the content incrementally.",
    ),
    ("auth", "Tokens, users, API keys and the audit log."),
    (
        "readers",
        "Reader accounts: sign-in by e-mail link, sessions, the reader's own profile and data.",
    ),
    (
        "comments",
        "Readers' comments on articles, and their moderation by editors.",
    ),
    (
        "webhooks",
        "Endpoints that receive changes as signed HTTP calls, and their deliveries.",
    ),
    // Newsletters (issue 14 item 5).
    (
        "newsletters",
        "Newsletter lists, double opt-in subscriptions, issues and one-click unsubscribe.",
    ),
    (
        "operations",
        "GraphQL, bulk import, this document and its reference page, health.",
    ),
];

pub(super) const DESCRIPTION: &str = "Read the institute's media mentions (\"Experts in the media\"), experts, outlets,\n\
    events and site information. JSON is snake_case with RFC 3339 times; lists\n\
    answer `{\"data\": [...], \"meta\": {\"next_cursor\": ..., \"limit\": ...}}` and page\n\
    with `limit` (1 to 100, default 20) and the opaque `cursor` of the previous\n\
    page, also given as an RFC 8288 `Link: <...>; rel=\"next\"` header.\n\
\n\
    Public reads carry a strong `ETag`, `Last-Modified` and `Cache-Control`;\n\
    send `If-None-Match` (or `If-Modified-Since`) to get `304 Not Modified`.\n\
    The validators change with every write and also when time alone changes an\n\
    answer: a scheduled article coming due, an event starting (`upcoming`).\n\
    Any origin may read (CORS). Errors are RFC 9457 problem details\n\
    (`application/problem+json`) with a stable `code` and, for bad input, the\n\
    offending parameters in `errors`.\n\
\n\
    Writes need `Authorization: Bearer <token>` (see `POST /api/v1/auth/token`) and\n\
    are refused to the public with 401 before anything else is looked at. `POST` on a\n\
    collection creates a record (201 with `Location` and `ETag`); `PATCH` changes one\n\
    with a JSON merge patch (absent fields stay as they are, `null` clears one) and\n\
    `DELETE` deletes one (204), both with `If-Match` set to the record's version\n\
    validator (`\"<kind>-<slug>-v<version>\"`: the `ETag` of a write or of a signed-in\n\
    `GET`): 428 without it, 412 when the record changed since. Bodies are JSON of at\n\
    most 64 KiB, with the import format's field names; unknown fields and fields the\n\
    server sets (`id`, `version`, timestamps) are a 422. Contributors create article\n\
    drafts and change or delete their own drafts; editors write everything else;\n\
    administrators change the site settings. Every signed-in `POST` (and the\n\
    comment and reader `PATCH`/`DELETE`s that declare it) honours an\n\
    `Idempotency-Key` header: a retry with the same key and body gets the first\n\
    answer again (with `Idempotent-Replayed: true`) instead of a second write. Keys\n\
    belong to the token's account; anonymous requests have none, so there the\n\
    header is ignored.\n\
    Writes (`POST`, `PATCH`, `DELETE`) are rate-limited per caller (the verified\n\
    subject of a valid token, else the client's address): 429 with `Retry-After`.\n\
\n\
    Every `GET` (REST, feeds, widget, docs, health, `GET /graphql`) also answers\n\
    `HEAD` with the same status and headers (`Content-Type`, `ETag`,\n\
    `Cache-Control`, `Content-Length`) and no body.\n\
    Every answer carries `X-Content-Type-Options: nosniff` and\n\
    `Referrer-Policy: strict-origin-when-cross-origin`; HTML pages a\n\
    `Content-Security-Policy`.\n\
\n\
    The GraphQL API at `/graphql` offers the same data (schema in `schema.graphql`).";

/// Every component of the document.
pub(super) fn components() -> Components {
    let mut c = Components::new();
    c.security_schemes.insert(
        "bearer".into(),
        RefOr::T(SecurityScheme::Http({
            let mut h = Http::new(HttpAuthScheme::Bearer);
            h.bearer_format = Some("JWT".into());
            h
        })),
    );
    let mut parameters = parameters();
    for p in parameters
        .as_object_mut()
        .into_iter()
        .flat_map(|ps| ps.values_mut())
    {
        optional_by_default(p);
    }
    c.parameters = from_literal(parameters);
    c.headers = from_literal(headers());
    let responses = responses().into_iter().map(|(n, r)| (n.to_owned(), r));
    c.responses = responses
        .chain(record_responses())
        .map(|(n, r)| (n, from_literal(r)))
        .collect();
    c.schemas = schemas();
    c
}

/// `<Kind>Created` and `<Kind>Changed` of every kind.
fn record_responses() -> Vec<(String, Value)> {
    let kinds = [
        ("Article", "article", schema::<Article>()),
        ("Expert", "expert", schema::<Expert>()),
        ("Outlet", "outlet", schema::<Outlet>()),
        ("Event", "event", schema::<Event>()),
        ("Topic", "topic", schema::<Topic>()),
        ("Site", "site settings", schema::<Site>()),
    ];
    let mut out = Vec::new();
    for (name, what, record) in kinds {
        if name != "Site" {
            out.push((
                format!("{name}Created"),
                response(
                    "Created; `Location` is its URL and `ETag` its version validator.",
                    &[
                        "Location",
                        "ETag=VersionETag",
                        "Cache-Control",
                        "Idempotent-Replayed",
                    ],
                    json_content(data(record.clone())),
                ),
            ));
        }
        out.push((
            format!("{name}Changed"),
            response(
                &format!("The changed {what}; `ETag` is the new version's validator."),
                &["ETag=VersionETag", "Cache-Control"],
                json_content(data(record)),
            ),
        ));
    }
    out
}

/// The name of the merge-patch schema of an input schema (`ArticleInput` ->
/// `ArticlePatch`).
pub(super) fn patch_name(input: &str) -> String {
    format!("{}Patch", input.trim_end_matches("Input"))
}

type Schemas = BTreeMap<String, RefOr<Schema>>;

/// Adds `T`'s schema and those it refers to.
fn add<T: ToSchema>(out: &mut Schemas) -> Value {
    let mut deps = Vec::new();
    T::schemas(&mut deps);
    out.extend(deps);
    let own = merge_all_of(serde_json::to_value(T::schema()).unwrap_or_default());
    out.insert(T::name().into_owned(), from_literal(own.clone()));
    own
}

/// A record that flattens its model (`allOf` of inline objects) as one
/// object: the parts' properties and required fields together.
fn merge_all_of(schema: Value) -> Value {
    let Some(parts) = schema["allOf"].as_array() else {
        return schema;
    };
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for part in parts {
        if let Some(ps) = part["properties"].as_object() {
            properties.extend(ps.clone());
        }
        if let Some(rs) = part["required"].as_array() {
            required.extend(rs.iter().cloned());
        }
    }
    let mut merged = json!({ "type": "object", "properties": properties, "required": required });
    if let Some(d) = schema.get("description") {
        merged["description"] = d.clone();
    }
    merged
}

/// Adds a record as the API answers it: every field is always there (`null`
/// when empty) except those serde leaves out when empty.
fn add_record<T: ToSchema>(out: &mut Schemas, left_out_when_empty: &[&str]) {
    let mut own = add::<T>(out);
    let names: Vec<Value> = own["properties"]
        .as_object()
        .map(|ps| {
            ps.keys()
                .filter(|k| !left_out_when_empty.contains(&k.as_str()))
                .map(|k| Value::from(k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    own["required"] = Value::Array(names);
    out.insert(T::name().into_owned(), from_literal(own));
}

/// Adds an input schema and the merge patch derived from it: no field is
/// required; `null` clears a field, except that the slug and the fields a
/// create requires cannot be cleared.
fn add_input<T: ToSchema>(out: &mut Schemas) {
    let mut patch = add::<T>(out);
    // The input's description says what a create makes.
    if let Some(o) = patch.as_object_mut() {
        o.remove("description");
    }
    let required: Vec<Value> = patch
        .as_object_mut()
        .and_then(|o| o.remove("required"))
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    if let Some(props) = patch["properties"].as_object_mut() {
        for (name, p) in props.iter_mut() {
            let keep = required.contains(&Value::from(name.as_str()));
            if name == "slug" {
                p["type"] = "string".into();
            } else if !keep && p["type"] == "array" {
                p["type"] = json!(["array", "null"]);
            }
        }
    }
    out.insert(patch_name(&T::name()), from_literal(patch));
}

fn schemas() -> Schemas {
    let mut out = Schemas::new();
    add_record::<Article>(&mut out, &["body", "comment_count"]);
    add_record::<Expert>(&mut out, &[]);
    add_record::<Outlet>(&mut out, &["children"]);
    add_record::<Event>(&mut out, &[]);
    add_record::<Topic>(&mut out, &[]);
    add_record::<Site>(&mut out, &[]);
    add_input::<ArticleLine>(&mut out);
    add_input::<ExpertLine>(&mut out);
    add_input::<OutletLine>(&mut out);
    add_input::<EventLine>(&mut out);
    add_input::<TopicLine>(&mut out);
    add_input::<SiteLine>(&mut out);
    // The site is never created: only its merge patch is part of the API.
    out.remove(SiteLine::name().as_ref());
    add::<ImportReport>(&mut out);
    add::<crate::http::rest::json::Change>(&mut out);
    add::<Problem<'static>>(&mut out);
    add::<crate::http::rest::accounts::NewUser>(&mut out);
    add::<crate::http::rest::accounts::UserPatch>(&mut out);
    add::<crate::http::rest::accounts::NewKey>(&mut out);
    add::<crate::http::rest::webhooks::NewWebhook>(&mut out);
    add::<crate::http::rest::webhooks::WebhookPatch>(&mut out);
    add::<crate::services::webhooks::Endpoint>(&mut out);
    add::<crate::services::webhooks::Delivery>(&mut out);
    add::<crate::services::webhooks::AttemptView>(&mut out);
    add::<crate::http::rest::readers::SignInRequest>(&mut out);
    add::<crate::http::rest::readers::SessionRequest>(&mut out);
    add::<crate::http::rest::readers::RefreshRequest>(&mut out);
    add::<crate::http::rest::readers::ProfilePatch>(&mut out);
    add::<crate::services::readers::Profile>(&mut out);
    // Newsletters (issue 14 item 5).
    add::<crate::http::rest::newsletters::NewNewsletter>(&mut out);
    add::<crate::http::rest::newsletters::NewsletterPatch>(&mut out);
    add::<crate::http::rest::newsletters::NewSubscription>(&mut out);
    add::<crate::services::newsletters::Newsletter>(&mut out);
    add::<crate::services::newsletters::Subscriber>(&mut out);
    add::<crate::services::newsletters::Issue>(&mut out);
    // comments
    add::<crate::http::rest::comments::NewCommentBody>(&mut out);
    add::<crate::http::rest::comments::CommentPatch>(&mut out);
    add::<crate::services::comments::Comment>(&mut out);
    add::<crate::services::oidc::SignInProvider>(&mut out);
    add::<crate::domain::CommentStatus>(&mut out);
    add::<Role>(&mut out);
    add::<Language>(&mut out);
    if let Value::Object(kept) = hand_kept() {
        for (name, s) in kept {
            out.insert(name, from_literal(s));
        }
    }
    out
}

fn parameters() -> Value {
    json!({
        "slug": {"name": "slug", "in": "path", "required": true, "description": "The record's slug (its URL name).", "schema": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": Slug::MAX_LEN}},
        "expert": {"name": "expert", "in": "query", "description": "Expert slug.", "schema": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": Slug::MAX_LEN}},
        "outlet": {"name": "outlet", "in": "query", "description": "Outlet slug; includes the outlet's child outlets.", "schema": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": Slug::MAX_LEN}},
        "topic": {"name": "topic", "in": "query", "description": "Topic slug.", "schema": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": Slug::MAX_LEN}},
        "lang": {"name": "lang", "in": "query", "description": "Only items in this language.", "schema": schema::<Language>()},
        "from": {"name": "from", "in": "query", "description": "Published at or after (a date `2022-06-29` or an RFC 3339 date-time).", "schema": {"type": "string", "examples": ["2022-06-01"]}},
        "to": {"name": "to", "in": "query", "description": "Published before (a date or an RFC 3339 date-time).", "schema": {"type": "string", "examples": ["2022-07-01"]}},
        "q": {"name": "q", "in": "query", "description": "Text search over titles, summaries, bodies, bylines, experts and outlets (case and accents ignored).", "schema": {"type": "string"}},
        "order": {"name": "order", "in": "query", "description": "`relevance` needs `q`.", "schema": {"type": "string", "enum": ["newest", "oldest", "relevance"]}},
        "limit": {"name": "limit", "in": "query", "description": "Items per page.", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}},
        "feedLimit": {"name": "limit", "in": "query", "description": "How many of the latest items the feed holds.", "schema": {"type": "integer", "minimum": 1, "maximum": feeds::MAX_LIMIT, "default": feeds::DEFAULT_LIMIT}},
        "widgetLimit": {"name": "limit", "in": "query", "description": "How many of the latest items the list shows.", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5}},
        "theme": {"name": "theme", "in": "query", "description": "Light or dark colours.", "schema": {"type": "string", "enum": ["light", "dark"], "default": "light"}},
        "cursor": {"name": "cursor", "in": "query", "description": "The `next_cursor` of the previous page (opaque).", "schema": {"type": "string"}},
        "IfMatch": {"name": "If-Match", "in": "header", "required": true, "description": "The version the change is based on: the `ETag` of the last write or of a signed-in\n`GET` (`\"<kind>-<slug>-v<version>\"`; a list of tags is allowed), or `*` for whatever\nversion is current. Without it the answer is 428; a tag that is not the record's\ncurrent one (compared strongly: a weak `W/` tag never matches) is a 412.\n", "schema": {"type": "string", "examples": ["\"expert-rob-huebert-v3\""]}},
        "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": false, "description": "A key of your choosing (1 to 255 visible ASCII characters, e.g. a UUID) that makes a\nretry safe: the same key with the same request again replays the first successful\nanswer (same status and body, with `Idempotent-Replayed: true`) instead of writing\ntwice; the same key with a different request is a 422, and while the first request\nis still running a 409. Keys belong to the caller and are kept for 24 hours; a\nrequest that failed does not use up its key. An answer that carries a secret (a new\nAPI key) is never kept: a retry of it is a 409 saying the request was done and its\nsecret was shown once.\n", "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}},
    })
}

fn headers() -> Value {
    json!({
        "ETag": {"description": "Strong validator of this representation.", "schema": {"type": "string"}},
        "Last-Modified": {"description": "When the public content last changed.", "schema": {"type": "string"}},
        "Cache-Control": {"schema": {"type": "string"}},
        "Link": {"description": "The next page: `<url>; rel=\"next\"` (absent on the last page).", "schema": {"type": "string"}},
        "ItemETag": {"description": "Strong validator. For the public, of this representation (send it as\n`If-None-Match`); for a signed-in caller, of the record's version\n(`\"<kind>-<slug>-v<version>\"`, send it as `If-Match` to change or delete the record).\n", "schema": {"type": "string"}},
        "VersionETag": {"description": "The record's version validator (`\"<kind>-<slug>-v<version>\"`), the `If-Match` of a later change; absent on a replayed answer.", "schema": {"type": "string", "examples": ["\"expert-rob-huebert-v1\""]}},
        "Location": {"description": "The URL of the record.", "schema": {"type": "string", "examples": ["/api/v1/experts/rob-huebert"]}},
        "Idempotent-Replayed": {"description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.", "schema": {"type": "string", "enum": ["true"]}},
        "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer", "minimum": 0}},
        // Social sign-in (OpenID Connect).
        "OidcLocation": {"description": "Where the browser goes next.", "schema": {"type": "string", "format": "uri"}},
    })
}

fn responses() -> Vec<(&'static str, Value)> {
    vec![
        (
            "ArticleList",
            response(
                "A page of articles, each with its outlet, experts and topics.",
                &["ETag", "Last-Modified", "Cache-Control", "Link"],
                json_content(page(schema::<Article>())),
            ),
        ),
        (
            "Feed",
            response(
                "The feed.",
                &["ETag", "Last-Modified", "Cache-Control"],
                json!({"application/rss+xml": {"schema": {"type": "string"}}, "application/atom+xml": {"schema": {"type": "string"}}, "application/feed+json": {"schema": {"type": "object"}}}),
            ),
        ),
        (
            "Mention",
            response(
                "The recorded article (`meta.created` says whether this call created it).",
                &[
                    "Location",
                    "ETag=VersionETag",
                    "Cache-Control",
                    "Idempotent-Replayed",
                ],
                json_content(
                    json!({"type": "object", "required": ["data", "meta"], "properties": {"data": schema::<Article>(), "meta": {"type": "object", "required": ["created"], "properties": {"created": {"type": "boolean"}}}}}),
                ),
            ),
        ),
        (
            "Unavailable",
            response(
                "The database is busy (another writer holds its lock), unreachable or out of connections; answered within a few seconds, never after a long wait. Nothing was written; retry after `Retry-After` seconds.",
                &["Retry-After"],
                json!({"application/problem+json": {"schema": named("Problem")}}),
            ),
        ),
        (
            "InsufficientStorage",
            problem("The database has no room left (disk full). Nothing was written."),
        ),
        (
            "TooManyRequests",
            response(
                "Too many writes from this caller; `Retry-After` says when to try again.",
                &["Retry-After"],
                json!({"application/problem+json": {"schema": named("Problem")}}),
            ),
        ),
        ("Forbidden", problem("The caller's role may not do this.")),
        (
            "Conflict",
            problem(
                "Another record already holds this key (the slug, or an article's source URL), or a request with the same `Idempotency-Key` is still running.",
            ),
        ),
        (
            "InUse",
            problem("The record is still in use (see the operation), so it is not deleted."),
        ),
        (
            "PreconditionRequired",
            problem("`If-Match` is missing: send the ETag of the version you changed."),
        ),
        (
            "BadBody",
            problem(
                "The body is not well-formed JSON, or `Idempotency-Key` is malformed; `errors` says which.",
            ),
        ),
        (
            "PayloadTooLarge",
            problem("The body is larger than 64 KiB."),
        ),
        (
            "UnsupportedMediaType",
            problem("The body is not JSON (`application/json` or `application/merge-patch+json`)."),
        ),
        (
            "Unprocessable",
            problem(
                "The content breaks the rules, or has a field that is unknown or set by the server\n\
            (`id`, `version`, timestamps); `errors` names every bad field. Also the answer to an\n\
            `Idempotency-Key` reused with a different request.",
            ),
        ),
        (
            "Stale",
            problem(
                "`If-Match` names a version that is no longer current (or no version at all): fetch the record again.",
            ),
        ),
        (
            "NotModified",
            response(
                "The client's copy (`If-None-Match` / `If-Modified-Since`) is current.",
                &[],
                Value::Null,
            ),
        ),
        (
            "BadRequest",
            problem("A parameter is invalid; `errors` names each one."),
        ),
        (
            "Unauthorized",
            problem(
                "Missing, invalid, expired or revoked credentials (or a filter that needs a signed-in editor); with `WWW-Authenticate`.",
            ),
        ),
        ("NotFound", problem("No such item.")),
    ]
}

fn hand_kept() -> Value {
    json!({
        "Meta": {"type": "object", "required": ["next_cursor", "limit"], "properties": {"next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last page."}, "limit": {"type": "integer"}}},
        "User": {"type": "object", "required": ["id", "email", "role", "active", "created_at", "updated_at"], "properties": {"id": {"type": "integer"}, "email": {"type": "string"}, "role": schema::<Role>(), "active": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
        "ApiKey": {"type": "object", "required": ["id", "name", "role", "prefix", "created_at"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "role": schema::<Role>(), "prefix": {"type": "string", "description": "The key's first characters, to tell keys apart."}, "created_at": {"type": "string", "format": "date-time"}, "last_used_at": {"type": ["string", "null"], "format": "date-time"}, "revoked_at": {"type": ["string", "null"], "format": "date-time"}}},
        "Ndjson": {"type": "string", "description": "One JSON object a line (UTF-8, `\\n`-separated), each with a `type` and that kind's fields.", "examples": ["{\"type\": \"topic\", \"slug\": \"arctic\", \"name\": \"Arctic\"}\n{\"type\": \"expert\", \"name\": \"Rob Huebert\", \"topics\": [\"arctic\"]}\n{\"type\": \"article\", \"title\": \"Who guards the Arctic?\", \"experts\": [\"Rob Huebert\"], \"outlet\": \"cbc\", \"published_at\": \"2022-06-29\", \"language\": \"en\", \"url\": \"https://www.cbc.ca/news/arctic-1.123\"}\n"]},
        "WebhookPayload": {"type": "object", "required": ["type", "timestamp", "data"], "properties": {"type": {"type": "string", "enum": crate::services::webhooks::EVENT_TYPES}, "timestamp": {"type": "string", "format": "date-time", "description": "When the change was committed."}, "data": {"allOf": [schema::<crate::http::rest::json::Change>()], "description": "The change as `GET /api/v1/changes` shows it to an anonymous caller: `data` is the object as it was when the message was made (null, with `op: delete`, when by then it is deleted or no longer public)."}}},
        "GraphQLResponse": {"type": "object", "properties": {"data": {"type": ["object", "null"]}, "errors": {"type": "array", "items": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}, "path": {"type": "array"}, "extensions": {"type": "object", "properties": {"code": {"type": "string"}}}}}}}},
    })
}
