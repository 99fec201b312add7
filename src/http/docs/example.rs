//! An operation's example for the reference page: its request body (the spec's
//! own example, else a minimal one built from the schema: the required fields,
//! each with its example, default, first allowed value or a plain value of its
//! type) and a curl line that sends it.

use serde_json::{Map, Value, json};

use super::resolve;

/// A request body's example.
pub(super) struct Example {
    media: String,
    value: Value,
}

impl Example {
    /// The body as shown: pretty JSON, or the text itself (NDJSON).
    pub fn shown(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            v => serde_json::to_string_pretty(v).unwrap_or_default(),
        }
    }
}

/// The example of a request body (its first media type).
pub(super) fn body(spec: &Value, b: &Value) -> Option<Example> {
    let (media, m) = b["content"].as_object()?.iter().next()?;
    let value = m
        .get("example")
        .cloned()
        .unwrap_or_else(|| value(spec, &m["schema"], 0));
    Some(Example {
        media: media.clone(),
        value,
    })
}

/// A minimal value of a schema.
fn value(spec: &Value, s: &Value, depth: usize) -> Value {
    if depth > 4 {
        return Value::Null;
    }
    if s.get("$ref").is_some() {
        return value(spec, resolve(spec, s), depth + 1);
    }
    let given = ["examples", "enum"]
        .iter()
        .find_map(|k| s[*k].get(0))
        .or_else(|| s.get("example").or_else(|| s.get("default")));
    if let Some(v) = given {
        return v.clone();
    }
    for k in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = s[k].get(0) {
            return value(spec, first, depth + 1);
        }
    }
    let ty = match &s["type"] {
        Value::Array(ts) => ts
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or_default(),
        t => t.clone(),
    };
    match ty.as_str().unwrap_or("object") {
        "object" => object(spec, s, depth),
        "array" => json!([value(spec, &s["items"], depth + 1)]),
        "string" => string(s),
        "integer" | "number" => s.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

/// An object with its required fields (or, when none is, its first one).
fn object(spec: &Value, s: &Value, depth: usize) -> Value {
    let Some(props) = s["properties"].as_object() else {
        return json!({});
    };
    let required: Vec<&str> = s["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Map::new();
    for (name, p) in props {
        if required.contains(&name.as_str()) || (required.is_empty() && out.is_empty()) {
            out.insert(name.clone(), value(spec, p, depth + 1));
        }
    }
    Value::Object(out)
}

fn string(s: &Value) -> Value {
    let v = match s["format"].as_str() {
        Some("date-time") => "2022-06-29T12:00:00Z",
        Some("date") => "2022-06-29",
        Some("uri") => "https://example.org/news/1",
        Some("email") => "editor@example.org",
        _ => "string",
    };
    v.into()
}

/// A curl line: the path with its parameters' examples, the required query
/// parameters and headers, the token when one is needed, and the body.
pub(super) fn curl(
    spec: &Value,
    method: &str,
    path: &str,
    params: &[&Value],
    bearer: bool,
    body: Option<&Example>,
) -> String {
    let mut url = format!("$BASE{path}");
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for p in params {
        let name = p["name"].as_str().unwrap_or_default();
        let example = match value(spec, &p["schema"], 0) {
            Value::String(s) if s == "string" => name.to_uppercase(),
            Value::String(s) => s,
            v => v.to_string(),
        };
        match (p["in"].as_str(), p["required"] == true) {
            (Some("path"), _) => url = url.replace(&format!("{{{name}}}"), &example),
            (Some("query"), true) => query.push(format!("{name}={example}")),
            (Some("header"), true) => headers.push(format!("{name}: {example}")),
            _ => {}
        }
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let mut line = format!(
        "curl -s{} \"{url}\"",
        match method {
            "get" => String::new(),
            m => format!(" -X {}", m.to_uppercase()),
        }
    );
    if bearer {
        line.push_str(" -H \"Authorization: Bearer $TOKEN\"");
    }
    for h in headers {
        line.push_str(&format!(" -H {}", quoted(&h)));
    }
    if let Some(b) = body {
        let data = match &b.value {
            Value::String(_) => "--data-binary @lines.ndjson".to_owned(),
            v => format!("-d {}", quoted(&v.to_string())),
        };
        line.push_str(&format!(" -H 'content-type: {}' {data}", b.media));
    }
    line
}

/// Single-quoted for a POSIX shell.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
