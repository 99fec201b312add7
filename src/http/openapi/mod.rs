//! The OpenAPI 3.1 document (`openapi.yaml`, `mediadesk openapi`,
//! `GET /api/v1/openapi.yaml`), built from the route tables the router mounts
//! (`http::rest::ROUTES`, `startup::OTHER_ROUTES`): each path and method there
//! names its operation in [`ops`], so what is served and what is documented
//! cannot part. Bodies are the Rust types' own schemas (`utoipa::ToSchema` on
//! `rest::json`, `services::lines`, `services::import`, ...): a field added to a
//! type is in the document. A test keeps the checked-in `openapi.yaml` equal to
//! [`yaml`]; this module only describes, it decides nothing.

pub mod comments;
mod components;
pub mod ops;

use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Info, License, OpenApi, OpenApiBuilder, Paths, Server, Tag};

/// The document: info, the operations of both route tables in their order,
/// and the components they refer to.
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    let routes = crate::http::rest::ROUTES
        .iter()
        .chain(crate::startup::OTHER_ROUTES);
    for route in routes {
        for (method, doc) in route.methods {
            paths.add_path_operation(route.path, vec![http_method(method)], with_security(doc()));
        }
    }
    let mut info = Info::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    info.description = Some(format!(
        "{}.\n\n{}",
        env!("CARGO_PKG_DESCRIPTION"),
        components::DESCRIPTION
    ));
    let mut license = License::new(env!("CARGO_PKG_LICENSE"));
    license.identifier = Some(env!("CARGO_PKG_LICENSE").to_owned());
    info.license = Some(license);
    OpenApiBuilder::new()
        .info(info)
        .servers(Some([Server::new("/")]))
        .tags(Some(
            components::TAGS
                .iter()
                .map(|(name, description)| {
                    let mut t = Tag::new(*name);
                    t.description = Some((*description).to_owned());
                    t
                })
                .collect::<Vec<_>>(),
        ))
        .paths(paths)
        .webhooks(Some(webhooks()))
        .components(Some(components::components()))
        .build()
}

/// OpenAPI 3.1 `webhooks`: what an endpoint receives, one entry per event type.
fn webhooks() -> Paths {
    let mut out = Paths::new();
    for ty in crate::services::webhooks::EVENT_TYPES {
        // No security scheme: the receiver checks the signature headers.
        out.add_path_operation(*ty, vec![HttpMethod::Post], with_security(ops::webhook(ty)));
    }
    out
}

/// The document as YAML, exactly as `openapi.yaml` holds it.
pub fn yaml() -> String {
    // The document is plain data: it always serializes.
    serde_norway::to_string(&document()).unwrap_or_default()
}

fn http_method(m: &str) -> HttpMethod {
    match m {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "PUT" => HttpMethod::Put,
        other => unreachable!("route tables name no method {other}"),
    }
}

/// Turns a JSON literal of the document into its utoipa type, and makes sure
/// nothing of it was lost on the way (utoipa's schema types are untagged enums
/// that drop what they do not know). The literals are fixed text that the
/// drift test builds, so a bad one fails there, never in a running server.
fn from_literal<T: serde::de::DeserializeOwned + serde::Serialize>(v: Value) -> T {
    let t: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("bad OpenAPI literal: {e}: {v}"));
    let back = serde_json::to_value(&t).unwrap_or_default();
    assert!(
        back == v,
        "OpenAPI literal changed on the way:\n{v}\n{back}"
    );
    t
}

/// Every JSON type: a value of any kind (utoipa has no literal for `{}`).
pub(crate) const ANY: [&str; 6] = ["object", "array", "string", "number", "boolean", "null"];

/// A parameter is optional unless it says otherwise (utoipa wants `required`).
fn optional_by_default(p: &mut Value) {
    if p.get("$ref").is_none() && p.get("required").is_none() {
        p["required"] = false.into();
    }
}

/// `{"$ref": "#/components/schemas/<T>"}`
pub(crate) fn schema<T: ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
}

/// `{"$ref": ...}` to the merge-patch schema derived from an input type's.
pub(crate) fn patch_schema<T: ToSchema>() -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", components::patch_name(&T::name())) })
}

/// `{"$ref": ...}` to a schema kept by hand (a shape with no Rust type).
pub(crate) fn named(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// `{"data": <schema>}`, the envelope of one record.
pub(crate) fn data(schema: Value) -> Value {
    json!({ "type": "object", "required": ["data"], "properties": { "data": schema } })
}

/// `{"data": [<schema>...]}`, the envelope of an unpaged list.
pub(crate) fn list(item: Value) -> Value {
    data(json!({ "type": "array", "items": item }))
}

/// `{"data": [<schema>...], "meta": {...}}`, the envelope of a page.
pub(crate) fn page(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["data", "meta"],
        "properties": {
            "data": { "type": "array", "items": item },
            "meta": named("Meta"),
        },
    })
}

/// `{"application/json": {"schema": <schema>}}`
pub(crate) fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// A response: its description, headers (names of `components/headers`, or
/// `Name=Component` when the header's name differs) and content.
pub(crate) fn response(description: &str, headers: &[&str], content: Value) -> Value {
    let mut r = Map::new();
    r.insert("description".into(), description.into());
    if !headers.is_empty() {
        let hs: Map<String, Value> = headers
            .iter()
            .map(|h| {
                let (name, component) = h.split_once('=').unwrap_or((h, h));
                (
                    name.to_owned(),
                    json!({ "$ref": format!("#/components/headers/{component}") }),
                )
            })
            .collect();
        r.insert("headers".into(), hs.into());
    }
    if !content.is_null() {
        r.insert("content".into(), content);
    }
    r.into()
}

/// A problem+json response with its own description.
pub(crate) fn problem(description: &str) -> Value {
    response(
        description,
        &[],
        json!({ "application/problem+json": { "schema": named("Problem") } }),
    )
}

/// One operation, put together field by field (see [`ops`]).
pub(crate) struct Op(Map<String, Value>);

impl Op {
    pub fn new(id: &str, tags: &[&str], summary: &str) -> Self {
        let mut m = Map::new();
        m.insert("operationId".into(), id.into());
        m.insert("tags".into(), json!(tags));
        m.insert("summary".into(), summary.into());
        m.insert("responses".into(), json!({}));
        Self(m)
    }

    pub fn describe(mut self, text: &str) -> Self {
        self.0.insert("description".into(), text.into());
        self
    }

    /// Needs `Authorization: Bearer <token>`.
    pub fn bearer(mut self) -> Self {
        self.0.insert("security".into(), json!([{ "bearer": [] }]));
        self
    }

    /// A parameter of `components/parameters`.
    pub fn param(self, name: &str) -> Self {
        self.parameter(json!({ "$ref": format!("#/components/parameters/{name}") }))
    }

    /// Parameters of `components/parameters`, in this order.
    pub fn params(self, names: &[&str]) -> Self {
        names.iter().fold(self, |op, name| op.param(name))
    }

    /// A parameter written out here (optional unless it says otherwise).
    pub fn parameter(mut self, mut p: Value) -> Self {
        optional_by_default(&mut p);
        if let Value::Array(ps) = self.0.entry("parameters").or_insert_with(|| json!([])) {
            ps.push(p);
        }
        self
    }

    /// A required body with this content.
    pub fn body(mut self, content: Value) -> Self {
        self.0.insert(
            "requestBody".into(),
            json!({ "required": true, "content": content }),
        );
        self
    }

    /// A merge-patch body (`application/json` or `application/merge-patch+json`).
    pub fn patch_body(self, schema: Value) -> Self {
        self.body(json!({
            "application/json": { "schema": schema.clone() },
            "application/merge-patch+json": { "schema": schema },
        }))
    }

    /// A response written out here.
    pub fn answer(mut self, code: u16, r: Value) -> Self {
        if let Some(rs) = self.0.get_mut("responses").and_then(Value::as_object_mut) {
            rs.insert(code.to_string(), r);
        }
        self
    }

    /// Responses of `components/responses`, by status.
    pub fn answers(self, list: &[(u16, &str)]) -> Self {
        list.iter().fold(self, |op, (code, name)| {
            op.answer(
                *code,
                json!({ "$ref": format!("#/components/responses/{name}") }),
            )
        })
    }
}

/// What a create answers besides its 201.
pub(crate) const CREATE_REFUSALS: &[(u16, &str)] = &[
    (400, "BadBody"),
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (409, "Conflict"),
    (413, "PayloadTooLarge"),
    (415, "UnsupportedMediaType"),
    (422, "Unprocessable"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

/// What a merge-patch change answers besides its 200.
const CHANGE_REFUSALS: &[(u16, &str)] = &[
    (400, "BadBody"),
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "NotFound"),
    (409, "Conflict"),
    (412, "Stale"),
    (413, "PayloadTooLarge"),
    (415, "UnsupportedMediaType"),
    (422, "Unprocessable"),
    (428, "PreconditionRequired"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

/// What a delete answers besides its 204.
const DELETE_REFUSALS: &[(u16, &str)] = &[
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "NotFound"),
    (412, "Stale"),
    (428, "PreconditionRequired"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

/// The shapes every kind's operations share.
impl Op {
    /// A create (`POST` on a collection): Bearer token, `Idempotency-Key`, this
    /// body, 201 with `created` (a response component) or a refusal.
    pub fn creates(self, body: Value, created: &str) -> Self {
        self.bearer()
            .param("IdempotencyKey")
            .body(json_content(body))
            .answers(&[(201, created)])
            .answers(CREATE_REFUSALS)
    }

    /// A change of `/{slug}` with a merge patch and `If-Match`.
    pub fn changes(self, patch: Value, changed: &str) -> Self {
        self.bearer()
            .param("slug")
            .param("IfMatch")
            .patch_body(patch)
            .answers(&[(200, changed)])
            .answers(CHANGE_REFUSALS)
    }

    /// A delete of `/{slug}` with `If-Match`.
    pub fn deletes(self) -> Self {
        self.bearer()
            .param("slug")
            .param("IfMatch")
            .answer(204, response("Deleted.", &[], Value::Null))
            .answers(DELETE_REFUSALS)
    }

    /// The filters and paging of an article list, but for the one its path
    /// already fixes (`expert` under `/experts/{slug}/articles`, ...).
    pub fn article_filters(self, fixed: Option<&str>) -> Self {
        let all = [
            "expert", "outlet", "topic", "lang", "from", "to", "q", "order", "limit", "cursor",
        ];
        all.into_iter()
            .filter(|p| Some(*p) != fixed)
            .fold(self, |op, p| op.param(p))
    }

    /// Its 200 is also schema.org JSON-LD of `kind` (`http::linked`), for
    /// `Accept: application/ld+json`.
    pub fn linked(mut self, kind: &str) -> Self {
        if let Some(content) = self
            .0
            .get_mut("responses")
            .and_then(|rs| rs.get_mut("200"))
            .and_then(|r| r.get_mut("content"))
            .and_then(Value::as_object_mut)
        {
            content.insert(
                "application/ld+json".into(),
                json!({"schema": {"type": "object", "description": format!(
                    "With `Accept: application/ld+json`: the schema.org `{kind}` (`@context` `https://schema.org`), linked to other objects by `@id` (their REST URLs). The answer varies on `Accept`."
                )}}),
            );
        }
        self
    }

    /// A read of one record (public, or with its version validator when signed in).
    pub fn reads(self, description: &str, record: Value) -> Self {
        self.answer(
            200,
            response(
                description,
                &["ETag=ItemETag", "Last-Modified", "Cache-Control"],
                json_content(data(record)),
            ),
        )
        .answers(&[
            (304, "NotModified"),
            (401, "Unauthorized"),
            (404, "NotFound"),
        ])
    }
}

impl From<Op> for Operation {
    fn from(op: Op) -> Self {
        from_literal(Value::Object(op.0))
    }
}

/// Who may call a route's operation: one that does not need a token (`bearer`)
/// is open to the public (`{}`); one that answers 401 nonetheless reads a token
/// when one is sent (a signed-in editor sees drafts), so it names both ways in.
fn with_security(mut op: Operation) -> Operation {
    if op.security.is_none() {
        let mut ways = vec![SecurityRequirement::default()];
        if op.responses.responses.contains_key("401") {
            ways.push(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        op.security = Some(ways);
    }
    op
}
