//! The REST API: cursor links, filters equal to GraphQL's, problem+json errors,
//! HTTP caching, CORS and compression.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, spawn};

async fn get_json(
    app: &TestApp,
    path: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let res = app.get(path).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Follows `Link: rel="next"` from `path` and returns every slug seen.
async fn follow(app: &TestApp, path: &str) -> Vec<String> {
    let mut slugs = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(p) = next.take() {
        let (status, headers, body) = get_json(app, &p).await;
        assert_eq!(status, 200, "{p}: {body}");
        for a in body["data"].as_array().unwrap() {
            slugs.push(a["slug"].as_str().unwrap().to_owned());
        }
        if let Some(link) = headers.get("link") {
            let link = link.to_str().unwrap();
            assert!(link.ends_with("; rel=\"next\""), "{link}");
            next = Some(link[1..link.find('>').unwrap()].to_owned());
            assert!(body["meta"]["next_cursor"].is_string());
        } else {
            assert!(body["meta"]["next_cursor"].is_null());
        }
    }
    slugs
}

async fn graphql_slugs(app: &TestApp, filter: Value) -> Vec<String> {
    let d = app
        .gql_ok(
            "query($f: ArticleFilter) { articles(first: 100, filter: $f) { nodes { slug } } }",
            json!({ "f": filter }),
        )
        .await;
    d["articles"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

both!(
    following_link_next_visits_every_article_once_and_filters_match_graphql,
    links_and_filters
);

async fn links_and_filters(backend: Backend) {
    let app = spawn(backend).await;
    let all = follow(&app, "/api/v1/articles?limit=7").await;
    assert_eq!(all.len(), 22);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 22);
    assert_eq!(all, graphql_slugs(&app, json!({})).await);

    for (query, filter) in [
        ("expert=rob-huebert", json!({ "expert": "rob-huebert" })),
        ("outlet=cbc", json!({ "outlet": "cbc" })),
        ("lang=fr", json!({ "language": "FR" })),
        (
            "from=2022-06-28&to=2022-06-29",
            json!({ "publishedAfter": "2022-06-28T00:00:00Z", "publishedBefore": "2022-06-29T00:00:00Z" }),
        ),
        ("q=oil", json!({ "query": "oil" })),
        (
            "topic=defence&lang=en",
            json!({ "topic": "defence", "language": "EN" }),
        ),
    ] {
        let rest = follow(&app, &format!("/api/v1/articles?limit=2&{query}")).await;
        assert!(!rest.is_empty(), "{query}");
        assert_eq!(rest, graphql_slugs(&app, filter).await, "{query}");
    }
    // Nested routes are the same filters.
    assert_eq!(
        follow(&app, "/api/v1/experts/rob-huebert/articles").await,
        follow(&app, "/api/v1/articles?expert=rob-huebert").await
    );
    assert_eq!(
        follow(&app, "/api/v1/outlets/cbc/articles?limit=1").await,
        follow(&app, "/api/v1/articles?outlet=cbc").await
    );

    // An article embeds its outlet and experts.
    let (_, _, body) = get_json(&app, "/api/v1/articles?limit=1&expert=stefanie-von-hlatky").await;
    let a = &body["data"][0];
    assert_eq!(a["title"], "Alliance renforcée");
    assert_eq!(
        a["outlet"],
        json!({ "slug": "le-tele-journal", "name": "Le Tele Journal" })
    );
    assert_eq!(a["experts"][0]["name"], "Stefanie von Hlatky");
    assert_eq!(a["language"], "fr");
    assert_eq!(body["meta"]["limit"], 1);

    let (s, _, body) = get_json(&app, "/api/v1/outlets/cbc-radio-one").await;
    assert_eq!(s, 200);
    assert_eq!(body["data"]["parent"]["slug"], "cbc");
    let (_, _, body) = get_json(&app, "/api/v1/site").await;
    assert_eq!(body["data"]["offices"].as_array().unwrap().len(), 2);
    let (_, _, body) = get_json(&app, "/api/v1/events?kind=conference").await;
    assert_eq!(body["data"][0]["city"], "Ottawa");
    let (_, _, body) = get_json(&app, "/api/v1/search?q=huebert").await;
    assert_eq!(body["data"][0]["type"], "expert");
    let (_, _, body) = get_json(&app, "/api/v1/experts?q=HUEBERT").await;
    assert_eq!(body["data"][0]["aliases"], json!(["Robert Huebert"]));
}

both!(
    bad_requests_get_problem_json_naming_the_parameter,
    bad_requests_are_problems
);

async fn bad_requests_are_problems(backend: Backend) {
    let app = spawn(backend).await;
    for (path, status, field) in [
        ("/api/v1/articles?limit=0", 400, Some("limit")),
        ("/api/v1/articles?limit=100000", 400, Some("limit")),
        ("/api/v1/articles?limit=ten", 400, Some("limit")),
        ("/api/v1/articles?cursor=garbage!!", 400, Some("cursor")),
        ("/api/v1/articles?from=2022-02-30", 400, Some("from")),
        ("/api/v1/articles?lang=xx", 400, Some("lang")),
        ("/api/v1/articles?order=sideways", 400, Some("order")),
        ("/api/v1/articles?order=relevance", 400, Some("orderBy")),
        (
            "/api/v1/articles?expert=Not%20A%20Slug",
            400,
            Some("expert"),
        ),
        ("/api/v1/articles?limit=1&limit=2", 400, Some("limit")),
        ("/api/v1/articles?status=draft", 401, None),
        ("/api/v1/events?upcoming=maybe", 400, Some("upcoming")),
        ("/api/v1/outlets?kind=blog", 400, Some("kind")),
        ("/api/v1/search", 400, Some("q")),
        ("/api/v1/articles/no-such-article", 404, None),
        ("/api/v1/experts/nobody", 404, None),
        ("/api/v1/experts/nobody/articles", 404, None),
        ("/api/v1/outlets/nowhere", 404, None),
        ("/api/v1/events/never", 404, None),
        ("/api/v1/nothing-here", 404, None),
        ("/nothing-here", 404, None),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), status, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], status, "{path}");
        assert!(
            body["type"].as_str().unwrap().starts_with("https://"),
            "{path}"
        );
        assert!(
            body["code"].is_string() && body["request_id"].is_string(),
            "{path}"
        );
        if let Some(f) = field {
            let fields: Vec<&str> = body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&f), "{path}: {body}");
        }
    }
    let res = app
        .client
        .delete(format!("{}/api/v1/articles", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert!(res.headers()["allow"].to_str().unwrap().contains("GET"));
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

both!(
    etags_give_304s_and_change_when_the_data_does,
    etag_round_trip
);

async fn etag_round_trip(backend: Backend) {
    let app = spawn(backend).await;
    let url = format!("{}/api/v1/articles?limit=5", app.addr);
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "strong etag: {etag}");
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("public")
    );
    let last_modified = res.headers()["last-modified"].to_str().unwrap().to_owned();

    let res = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app
        .client
        .get(&url)
        .header("if-modified-since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    // Another URL has another ETag.
    let other = app.get("/api/v1/articles?limit=6").await;
    assert_ne!(other.headers()["etag"].to_str().unwrap(), etag);

    // A write changes it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.ndjson");
    std::fs::write(
        &file,
        json!({"type": "article", "title": "A brand new mention", "experts": ["Rob Huebert"],
               "outlet": "CBC", "published_at": "2026-01-02", "language": "en"})
        .to_string(),
    )
    .unwrap();
    let out = app.cli(&["import", file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (Another process's write: seen within the documented bound.)
    let current = || async {
        app.client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap()
    };
    crate::helpers::within_bound("the CLI's write", || async {
        current().await.status() != 304
    })
    .await;
    let res = current().await;
    assert_eq!(res.status(), 200);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"][0]["title"], "A brand new mention");
}

both!(cors_preflights_and_compression_work, cors_and_compression);

async fn cors_and_compression(backend: Backend) {
    let app = spawn(backend).await;
    let res = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/articles", app.addr),
        )
        .header("origin", "https://partner.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "if-none-match")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let res = app
        .client
        .get(format!("{}/api/v1/articles", app.addr))
        .header("origin", "https://partner.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert!(
        res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("etag")
    );

    let plain: Value = app
        .get("/api/v1/articles?limit=50")
        .await
        .json()
        .await
        .unwrap();
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    for enc in ["gzip", "br"] {
        let res = raw
            .get(format!("{}/api/v1/articles?limit=50", app.addr))
            .header("accept-encoding", enc)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-encoding"], enc);
        let auto = reqwest::Client::builder().build().unwrap();
        let decoded: Value = auto
            .get(format!("{}/api/v1/articles?limit=50", app.addr))
            .header("accept-encoding", enc)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(decoded, plain, "{enc}");
    }
}

both!(the_docs_and_the_spec_are_served, docs_are_served);

async fn docs_are_served(backend: Backend) {
    let app = spawn(backend).await;
    let res = app.get("/api/v1/openapi.yaml").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.starts_with("openapi: 3.1"));
    let res = app.get("/api/v1/docs").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("/api/v1/articles"));
    // What the page holds (and that it loads nothing from another host): docs.rs.
}
