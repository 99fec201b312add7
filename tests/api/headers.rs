//! What every answer carries whatever route it comes from: HEAD beside every GET
//! (same status and headers, no body) and the security headers.

use crate::both;
use crate::contract::sample_get_paths;
use crate::helpers::{Backend, spawn, spawn_tuned, token_for};
use serde_json::json;

/// The headers a HEAD answer must share with its GET.
const SHARED: &[&str] = &[
    "content-type",
    "etag",
    "last-modified",
    "cache-control",
    "content-length",
    "link",
    "allow",
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
];

both!(head_answers_like_get_on_every_public_route, head_like_get);

async fn head_like_get(backend: Backend) {
    let app = spawn(backend).await;
    let admin = token_for(&app, "admin").await;
    // Webhook endpoint 1, for `/api/v1/webhooks/{id}...`.
    let res = app
        .client
        .post(format!("{}/api/v1/webhooks", app.addr))
        .bearer_auth(&admin)
        .json(&json!({ "url": "https://example.org/hook" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let mut paths = sample_get_paths();
    // The widget with a filter, GraphiQL and a GraphQL query in the URL.
    paths.push(("/embed/mentions?expert=rob-huebert".into(), false));
    paths.push(("/graphql?query=%7Bsite%7Bname%7D%7D".into(), false));
    for (path, needs_auth) in paths {
        let tokens = if needs_auth {
            vec![None, Some(admin.as_str())]
        } else {
            vec![None]
        };
        for token in tokens {
            let send = |method: reqwest::Method| {
                let mut r = app
                    .client
                    .request(method, format!("{}{path}", app.addr))
                    .header("accept", "text/html,application/json");
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                r.send()
            };
            let get = send(reqwest::Method::GET).await.unwrap();
            let head = send(reqwest::Method::HEAD).await.unwrap();
            assert_eq!(
                head.status(),
                get.status(),
                "HEAD {path} (token: {})",
                token.is_some()
            );
            assert_ne!(head.status(), 404, "HEAD {path}");
            for name in SHARED {
                assert_eq!(
                    head.headers().get(*name),
                    get.headers().get(*name),
                    "{name} of HEAD {path}"
                );
            }
            assert!(
                head.bytes().await.unwrap().is_empty(),
                "HEAD {path} sent a body"
            );
        }
    }
}

both!(every_answer_carries_the_security_headers, security_headers);

async fn security_headers(backend: Backend) {
    let app = spawn(backend).await;
    let mut paths: Vec<String> = sample_get_paths().into_iter().map(|(p, _)| p).collect();
    // Errors too: an unknown route, a wrong method, a bad parameter, a missing token.
    paths.extend(
        [
            "/no/such/route",
            "/feeds/nothing.txt",
            "/api/v1/articles?limit=0",
            "/api/v1/articles/no-such-article",
            "/embed/mentions?theme=purple",
        ]
        .map(String::from),
    );
    for path in &paths {
        let res = app
            .client
            .get(format!("{}{path}", app.addr))
            .header("accept", "text/html,application/json")
            .send()
            .await
            .unwrap();
        check_common(&res, path);
        let html = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        if html {
            let csp = res
                .headers()
                .get("content-security-policy")
                .unwrap_or_else(|| panic!("{path} is HTML without a Content-Security-Policy"))
                .to_str()
                .unwrap();
            assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
            assert!(csp.contains("frame-ancestors"), "{path}: {csp}");
        }
        assert!(
            res.headers().get("strict-transport-security").is_none(),
            "{path}: HSTS without an https public URL"
        );
    }
    // The HTML pages are those four, each with its own policy.
    for path in ["/api/v1/docs", "/graphql", "/embed", "/embed/mentions"] {
        let res = app
            .client
            .get(format!("{}{path}", app.addr))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(
            res.headers().contains_key("content-security-policy"),
            "{path}"
        );
    }
    // The widget keeps letting any page frame it (the default `--frame-ancestors`).
    let res = app.get("/embed/mentions").await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.ends_with("frame-ancestors *"), "{csp}");
    // Writes and their refusals too.
    let res = app
        .client
        .post(format!("{}/api/v1/experts", app.addr))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    check_common(&res, "POST /api/v1/experts");
    let res = app
        .client
        .delete(format!("{}/healthz", app.addr))
        .send()
        .await
        .unwrap();
    check_common(&res, "DELETE /healthz");
}

fn check_common(res: &reqwest::Response, what: &str) {
    assert_eq!(
        res.headers()
            .get("x-content-type-options")
            .map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what} ({})",
        res.status()
    );
    assert_eq!(
        res.headers()
            .get("referrer-policy")
            .map(|v| v.to_str().unwrap()),
        Some("strict-origin-when-cross-origin"),
        "{what} ({})",
        res.status()
    );
    assert!(res.headers().contains_key("x-request-id"), "{what}");
}

both!(graphiql_may_load_exactly_what_it_needs, graphiql_policy);

async fn graphiql_policy(backend: Backend) {
    let app = spawn(backend).await;
    let res = app
        .client
        .get(format!("{}/graphql", app.addr))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = res.text().await.unwrap();
    // Every external script and stylesheet comes from an allowed host, and the
    // inline script is allowed by its hash (no 'unsafe-inline' for scripts).
    for src in html
        .split("src=\"")
        .skip(1)
        .chain(html.split("href=\"").skip(1))
    {
        let url = src.split('"').next().unwrap();
        let host = url.split('/').take(3).collect::<Vec<_>>().join("/");
        assert!(csp.contains(&host), "{url} is not allowed by {csp}");
    }
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe-inline"), "{csp}");
    assert!(script_src.contains("'sha256-"), "{csp}");
}

both!(an_https_public_url_adds_strict_transport_security, hsts);

async fn hsts(backend: Backend) {
    let app = spawn_tuned(backend, |a| {
        a.public_url = Some("https://media.example.org".into())
    })
    .await;
    for path in ["/healthz", "/api/v1/experts", "/embed", "/no/such/route"] {
        let res = app.get(path).await;
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    // The preview allows the public URL beside its own origin.
    let res = app.get("/embed").await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self' https://media.example.org"),
        "{csp}"
    );
}

both!(
    a_rate_limited_write_carries_the_security_headers,
    limited_headers
);

async fn limited_headers(backend: Backend) {
    let app = crate::helpers::spawn_limited(backend, 1).await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            app.client
                .post(format!("{}/api/v1/experts", app.addr))
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap(),
        );
    }
    let res = last.unwrap();
    assert_eq!(res.status(), 429);
    check_common(&res, "a refused write");
}
