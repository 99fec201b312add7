//! The human-readable REST reference at `/api/v1/docs`, rendered on the server
//! from the served `openapi.yaml`: one self-contained HTML page (inline CSS, no
//! script, nothing from another host), so it works offline and cannot drift.

use serde_json::Value;

use super::esc;

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(esc)
        .unwrap_or_default()
}

fn schema_type(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return esc(r.rsplit('/').next().unwrap_or(r));
    }
    let ty = match s.get("type") {
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
            "{} ({})",
            esc(&ty),
            esc(&vals
                .iter()
                .map(|v| v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(", "))
        ),
        None => esc(&ty),
    }
}

/// Renders the page; a spec that does not parse yields a page that says so.
pub fn render(spec_yaml: &str) -> String {
    let spec: Value = match serde_norway::from_str(spec_yaml) {
        Ok(v) => v,
        Err(e) => {
            return format!(
                "<!doctype html><title>API docs</title><p>openapi.yaml does not parse: {}</p>",
                esc(&e.to_string())
            );
        }
    };
    let info = &spec["info"];
    let mut body = String::new();
    body.push_str(&format!(
        "<h1>{} <small>{}</small></h1><p>{}</p><p><a href=\"/api/v1/openapi.yaml\">openapi.yaml</a></p>",
        text(info, "title"),
        text(info, "version"),
        text(info, "description").replace("\n\n", "</p><p>")
    ));
    if let Some(paths) = spec["paths"].as_object() {
        body.push_str("<nav><ul>");
        for p in paths.keys() {
            body.push_str(&format!(
                "<li><a href=\"#{0}\"><code>{0}</code></a></li>",
                esc(p)
            ));
        }
        body.push_str("</ul></nav>");
        for (path, item) in paths {
            let Some(ops) = item.as_object() else {
                continue;
            };
            for (method, op) in ops {
                if !["get", "post", "put", "patch", "delete", "head"].contains(&method.as_str()) {
                    continue;
                }
                body.push_str(&format!(
                    "<section id=\"{p}\"><h2><span class=\"m\">{}</span> <code>{p}</code></h2><p><b>{}</b></p><p>{}</p>",
                    method.to_uppercase(),
                    text(op, "summary"),
                    text(op, "description"),
                    p = esc(path)
                ));
                let params: Vec<&Value> = item
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .chain(
                        op.get("parameters")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    )
                    .collect();
                if !params.is_empty() {
                    body.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>");
                    for prm in params {
                        let prm = resolve(&spec, prm);
                        body.push_str(&format!(
                            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            text(prm, "name"),
                            if prm["required"].as_bool() == Some(true) {
                                " *"
                            } else {
                                ""
                            },
                            text(prm, "in"),
                            schema_type(&prm["schema"]),
                            text(prm, "description")
                        ));
                    }
                    body.push_str("</table>");
                }
                if let Some(rs) = op["responses"].as_object() {
                    body.push_str("<ul class=\"r\">");
                    for (code, r) in rs {
                        let r = resolve(&spec, r);
                        body.push_str(&format!(
                            "<li><b>{}</b> {}</li>",
                            esc(code),
                            text(r, "description")
                        ));
                    }
                    body.push_str("</ul>");
                }
                body.push_str("</section>");
            }
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{} API</title><style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}\
code{{background:#f3f3f3;padding:0 .2em}}section{{border-top:1px solid #ddd;margin-top:1.5rem}}.m{{background:#225;color:#fff;padding:0 .4em;border-radius:3px;font-size:.8em}}\
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ddd;padding:.2em .4em;text-align:left;vertical-align:top}}</style></head><body>{}</body></html>",
        text(info, "title"),
        body
    )
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
