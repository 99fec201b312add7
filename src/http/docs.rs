//! The human-readable REST reference at `/api/v1/docs`, rendered on the server
//! from the served `openapi.yaml` into `templates/docs.html` (askama, which
//! escapes every value): one self-contained page (inline CSS, no script, nothing
//! from another host), so it works offline and cannot drift.

use askama::Template;
use serde_json::Value;

/// `templates/docs.html`
#[derive(Template, Default)]
#[template(path = "docs.html")]
struct Page {
    /// Set when the spec does not parse; the page then only says so.
    error: Option<String>,
    title: String,
    version: String,
    paragraphs: Vec<String>,
    has_paths: bool,
    paths: Vec<String>,
    operations: Vec<Operation>,
}

struct Operation {
    path: String,
    method: String,
    summary: String,
    description: String,
    params: Vec<Param>,
    responses: Option<Vec<(String, String)>>,
}

struct Param {
    name: String,
    required: bool,
    location: String,
    ty: String,
    description: String,
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

fn page(spec: &Value) -> Page {
    let info = &spec["info"];
    let mut page = Page {
        title: text(info, "title"),
        version: text(info, "version"),
        paragraphs: text(info, "description")
            .split("\n\n")
            .map(str::to_owned)
            .collect(),
        ..Default::default()
    };
    let Some(paths) = spec["paths"].as_object() else {
        return page;
    };
    page.has_paths = true;
    page.paths = paths.keys().cloned().collect();
    for (path, item) in paths {
        let Some(ops) = item.as_object() else {
            continue;
        };
        for (method, op) in ops {
            if !["get", "post", "put", "patch", "delete", "head"].contains(&method.as_str()) {
                continue;
            }
            let params = item
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
                .map(|prm| {
                    let prm = resolve(spec, prm);
                    Param {
                        name: text(prm, "name"),
                        required: prm["required"].as_bool() == Some(true),
                        location: text(prm, "in"),
                        ty: schema_type(&prm["schema"]),
                        description: text(prm, "description"),
                    }
                })
                .collect();
            let responses = op["responses"].as_object().map(|rs| {
                rs.iter()
                    .map(|(code, r)| (code.clone(), text(resolve(spec, r), "description")))
                    .collect()
            });
            page.operations.push(Operation {
                path: path.clone(),
                method: method.to_uppercase(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                params,
                responses,
            });
        }
    }
    page
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
            "info: { title: \"<script>x</script>\", version: \"1\", description: \"a\\n\\nb <b>\" }\n\
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
        assert!(html.contains("<p>a</p><p>b &#60;b&#62;</p>"), "{html}");
        assert!(html.contains("ok &#38; &#60;u&#62;"), "{html}");
        let broken = render("info: [");
        assert!(
            broken.starts_with(
                "<!doctype html><title>API docs</title><p>openapi.yaml does not parse: "
            )
        );
    }
}
