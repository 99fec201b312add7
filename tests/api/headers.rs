//! What every answer carries whatever route it comes from: HEAD beside every GET
//! (same status and headers, no body) and the security headers.

use crate::both;
use crate::contract::sample_get_paths;
use crate::helpers::{Backend, spawn, token_for};

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
