//! The REST reference at `/api/v1/docs`: every operation of openapi.yaml with its
//! parameters, responses and example, Markdown rendered (no raw backticks left),
//! nothing loaded from another host.

use crate::both;
use crate::contract::spec;
use crate::helpers::{Backend, spawn};

both!(
    the_docs_show_every_operation_rendered,
    every_operation_rendered
);

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The page's HTML between an operation's anchor and the end of its section.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section class=\"op\" id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section for {id}"));
    let len = html[start..].find("</section>").unwrap();
    &html[start..start + len]
}

/// The text outside `<pre>` and `<code>` elements.
fn prose(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest
        .find("<code>")
        .into_iter()
        .chain(rest.find("<pre>"))
        .min()
    {
        out.push_str(&rest[..at]);
        let close = if rest[at..].starts_with("<pre>") {
            "</pre>"
        } else {
            "</code>"
        };
        let end = rest[at..].find(close).expect("closed element");
        rest = &rest[at + end + close.len()..];
    }
    out.push_str(rest);
    out
}

async fn every_operation_rendered(backend: Backend) {
    let app = spawn(backend).await;
    let res = app.get("/api/v1/docs").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let spec = spec();
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let op = &item[*method];
            let s = section(&html, op["operationId"].as_str().unwrap());
            let up = method.to_uppercase();
            assert!(
                s.contains(&format!(">{up}</span> <code>{path}</code>")),
                "{up} {path}"
            );
            assert!(
                s.contains("<h4>Responses</h4>") && s.contains("<h4>Example</h4>"),
                "{path}"
            );
            assert!(
                s.contains("<pre><code>curl -s"),
                "{up} {path} has no curl line"
            );
            let params = op["parameters"].as_array().into_iter().flatten();
            for p in params.filter(|p| p.get("name").is_some()) {
                let name = p["name"].as_str().unwrap();
                assert!(
                    s.contains(&format!("<td><code>{name}</code>")),
                    "{up} {path}: {name}"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(s.contains("<h4>Request body</h4>"), "{up} {path}");
            }
            count += 1;
        }
    }
    assert!(count > 50, "{count} operations");
    // The list of articles: its shared parameters, resolved from components.
    let list = section(&html, "listArticles");
    for name in ["expert", "outlet", "lang", "limit", "cursor"] {
        assert!(list.contains(&format!("<td><code>{name}</code>")), "{name}");
    }
    assert!(
        list.contains("curl -s &#34;$BASE/api/v1/articles&#34;"),
        "{list}"
    );
    // Markdown is rendered: code spans become <code>, no backtick is left in prose.
    let text = prose(&html);
    assert!(
        !text.contains('`'),
        "raw Markdown left: {}",
        &text[text.find('`').unwrap().saturating_sub(80)..][..160]
    );
    assert!(html.contains("<code>If-Match</code>"));
    // Nothing from another host: no script, no src, links to this server only.
    assert!(!html.contains("<script") && !html.contains(" src="));
    for href in html.split(" href=\"").skip(1) {
        assert!(
            href.starts_with('#') || (href.starts_with('/') && !href.starts_with("//")),
            "href={href:.60}"
        );
    }
}
