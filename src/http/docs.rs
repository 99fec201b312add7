//! The human-readable REST reference at `/api/v1/docs`, rendered once at start-up
//! from the served `openapi.yaml` into `templates/docs.html` (askama, which
//! escapes every value): one self-contained page (inline CSS, no script, nothing
//! from another host), so it works offline and cannot drift. Descriptions are
//! the spec's CommonMark, rendered by pulldown-cmark with raw HTML turned into
//! text; each operation shows its parameters, body, responses and an example.

mod example;

use askama::Template;
use pulldown_cmark::{Event, Options, Parser, html};
use serde_json::Value;

/// `templates/docs.html`
#[derive(Template, Default)]
#[template(path = "docs.html")]
struct Page {
    /// Set when the spec does not parse; the page then only says so.
    error: Option<String>,
    title: String,
    version: String,
    /// Rendered Markdown (HTML built from escaped text).
    description: String,
    tags: Vec<Tag>,
}

/// The operations of one tag, in the spec's order.
struct Tag {
    name: String,
    description: String,
    operations: Vec<Operation>,
}

struct Operation {
    id: String,
    path: String,
    method: String,
    /// Rendered Markdown.
    summary: String,
    /// Rendered Markdown.
    description: String,
    access: &'static str,
    params: Vec<Param>,
    body: Option<Body>,
    responses: Vec<Response>,
    curl: String,
    example_body: Option<String>,
}

struct Param {
    name: String,
    required: bool,
    location: String,
    ty: String,
    /// Rendered Markdown.
    description: String,
}

struct Body {
    media_types: String,
    schema: String,
    fields: Vec<Param>,
}

struct Response {
    code: String,
    /// Rendered Markdown.
    description: String,
    content: String,
}

/// CommonMark to HTML; raw HTML in the source is shown as text, never passed on.
fn markdown(text: &str) -> String {
    let events = Parser::new_ext(text, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        e => e,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// Markdown of one paragraph, without the paragraph around it.
fn inline_markdown(text: &str) -> String {
    let html = markdown(text);
    let inner = html
        .trim_end()
        .strip_prefix("<p>")
        .and_then(|h| h.strip_suffix("</p>"));
    match inner {
        Some(h) if !h.contains("<p>") => h.to_owned(),
        _ => html,
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_default()
}

fn schema_type(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    if let Some(one) = s
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return schema_type(one);
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) if t == "array" => format!("array of {}", schema_type(&s["items"])),
        Some(Value::String(t)) if t == "object" && s["properties"].is_object() => object_type(s),
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    };
    match s.get("enum").and_then(Value::as_array) {
        Some(vals) => format!(
            "{ty} ({})",
            vals.iter()
                .map(|v| v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => ty,
    }
}

/// An inline object by its fields: `{data: Expert, meta: Meta}`.
fn object_type(s: &Value) -> String {
    let fields: Vec<String> = s["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, f)| format!("{name}: {}", schema_type(f)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// Renders the page; a spec that does not parse yields a page that says so.
pub fn render(spec_yaml: &str) -> String {
    let page = match serde_norway::from_str::<Value>(spec_yaml) {
        Ok(spec) => page(&spec),
        Err(e) => Page {
            error: Some(e.to_string()),
            ..Default::default()
        },
    };
    page.render()
        .unwrap_or_else(|e| format!("<!doctype html><title>API docs</title><p>{e}</p>"))
}

const METHODS: [&str; 6] = ["get", "post", "put", "patch", "delete", "head"];

fn page(spec: &Value) -> Page {
    let info = &spec["info"];
    let mut tags: Vec<Tag> = spec["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| Tag {
            name: text(t, "name"),
            description: inline_markdown(&text(t, "description")),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let tag = op["tags"][0].as_str().unwrap_or("other");
            let at = match tags.iter().position(|t| t.name == tag) {
                Some(at) => at,
                None => {
                    let (name, description) = (tag.to_owned(), String::new());
                    tags.push(Tag {
                        name,
                        description,
                        operations: Vec::new(),
                    });
                    tags.len() - 1
                }
            };
            tags[at]
                .operations
                .push(operation(spec, path, method, item, op));
        }
    }
    tags.retain(|t| !t.operations.is_empty());
    Page {
        title: text(info, "title"),
        version: text(info, "version"),
        description: markdown(&text(info, "description")),
        tags,
        ..Default::default()
    }
}

fn operation(spec: &Value, path: &str, method: &str, item: &Value, op: &Value) -> Operation {
    let raw: Vec<&Value> = [item, op]
        .into_iter()
        .flat_map(|v| {
            v.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .map(|p| resolve(spec, p))
        .collect();
    let body = op.get("requestBody").map(|b| resolve(spec, b));
    let example = body.and_then(|b| example::body(spec, b));
    let access = access(&op["security"]);
    Operation {
        id: text(op, "operationId"),
        path: path.to_owned(),
        method: method.to_uppercase(),
        summary: inline_markdown(&text(op, "summary")),
        description: markdown(&text(op, "description")),
        access,
        curl: example::curl(
            spec,
            method,
            path,
            &raw,
            access == "bearer token",
            example.as_ref(),
        ),
        params: raw.iter().map(|p| param(p)).collect(),
        body: body.map(|b| request_body(spec, b)),
        responses: responses(spec, op),
        example_body: example.as_ref().map(example::Example::shown),
    }
}

/// Who may call an operation, from its `security` (`{}` is the public).
fn access(security: &Value) -> &'static str {
    let Some(ways) = security.as_array() else {
        return "public";
    };
    let public = ways
        .iter()
        .any(|w| w.as_object().is_some_and(|w| w.is_empty()));
    match (public, ways.len()) {
        (true, 1) => "public",
        (true, _) => "public; a bearer token shows more",
        (false, _) => "bearer token",
    }
}

fn param(p: &Value) -> Param {
    Param {
        name: text(p, "name"),
        required: p["required"].as_bool() == Some(true),
        location: text(p, "in"),
        ty: schema_type(&p["schema"]),
        description: inline_markdown(&text(p, "description")),
    }
}

/// A body's media types, its schema's name and the fields of that schema.
fn request_body(spec: &Value, b: &Value) -> Body {
    let content = b["content"].as_object();
    let media_types = content.map(|c| c.keys().cloned().collect::<Vec<_>>().join(", "));
    let schema = content
        .and_then(|c| c.values().next())
        .map(|m| &m["schema"])
        .unwrap_or(&Value::Null);
    let object = resolve(spec, schema);
    let required = |name: &str| {
        object["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|n| n == name))
    };
    let fields = object["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| Param {
            name: name.clone(),
            required: required(name),
            location: String::new(),
            ty: schema_type(s),
            description: inline_markdown(&text(s, "description")),
        })
        .collect();
    Body {
        media_types: media_types.unwrap_or_default(),
        schema: schema_type(schema),
        fields,
    }
}

fn responses(spec: &Value, op: &Value) -> Vec<Response> {
    let Some(rs) = op["responses"].as_object() else {
        return Vec::new();
    };
    rs.iter()
        .map(|(code, r)| {
            let r = resolve(spec, r);
            let content = r["content"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(media, m)| format!("{media}: {}", schema_type(&m["schema"])))
                .collect::<Vec<_>>()
                .join("; ");
            Response {
                code: code.clone(),
                description: inline_markdown(&text(r, "description")),
                content,
            }
        })
        .collect()
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut cur = spec;
            for part in r.trim_start_matches("#/").split('/') {
                cur = &cur[part];
            }
            cur
        }
        None => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped() {
        let html = render(
            "info: { title: \"<script>x</script>\", version: \"1\", description: \"a `c`\\n\\nb <b>\" }\n\
             paths:\n  \"/x\\\"><img>\":\n    get:\n      summary: \"<i>s</i>\"\n      responses: { \"200\": { description: \"ok & <u>\" } }\n",
        );
        assert!(
            !html.contains("<script>x") && !html.contains("<img>"),
            "{html}"
        );
        assert!(
            !html.contains("<i>s") && !html.contains("<u>") && !html.contains("b <b>"),
            "{html}"
        );
        assert!(
            html.contains("&#60;script&#62;x&#60;/script&#62; API"),
            "{html}"
        );
        assert!(
            html.contains("<p>a <code>c</code></p>\n<p>b &lt;b&gt;</p>"),
            "{html}"
        );
        assert!(html.contains("ok &amp; &lt;u&gt;"), "{html}");
        let broken = render("info: [");
        assert!(
            broken.starts_with(
                "<!doctype html><title>API docs</title><p>openapi.yaml does not parse: "
            )
        );
    }
}
