//! Recording mentions: aliases resolve, unknown names get suggestions, the same
//! URL twice (or twenty times at once) leaves one row, and every rejected write
//! leaves the data unchanged.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{
    Backend, TestApp, audit_log as audit, gql_as, snapshot, spawn, token_for as editor_token,
};

async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut r = app
        .client
        .post(format!("{}/api/v1/mentions", app.addr))
        .json(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

fn mention(url: &str) -> Value {
    json!({
        "title": "Arctic sovereignty under pressure",
        "url": url,
        "outlet": "cbc newroom",
        "experts": ["Robert Huebert", "ferry de kerckhove"],
        "authors": ["Jane Doe"],
        "published_at": "2026-02-03",
        "language": "en",
        "summary": "Huebert and de Kerckhove on the Arctic.",
        "topics": ["Arctic sovereignty"]
    })
}

both!(
    a_mention_is_recorded_once_whatever_the_url_spelling,
    mentions_are_idempotent
);

async fn mentions_are_idempotent(backend: Backend) {
    let app = spawn(backend).await;
    let t = editor_token(&app, "editor").await;
    let admin = editor_token(&app, "admin").await;
    let before = app.counts().await;
    let unchanged = snapshot(&app, &admin).await;

    // Anonymous callers write nothing.
    let res = post(&app, None, &mention("https://www.cbc.ca/news/arctic-1")).await;
    assert_eq!(res.status(), 401);
    assert_eq!(snapshot(&app, &admin).await, unchanged);

    let res = post(&app, Some(&t), &mention("https://www.cbc.ca/news/arctic-1")).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    let a = &body["data"];
    assert_eq!(
        a["outlet"]["slug"], "cbc-newsroom",
        "the misspelt alias resolves"
    );
    assert_eq!(a["experts"][0]["slug"], "rob-huebert", "the alias resolves");
    assert_eq!(a["experts"][1]["slug"], "ferry-de-kerckhove");
    assert_eq!(a["status"], "published");
    assert_eq!(body["meta"]["created"], true);
    assert_eq!(app.counts().await[0], before[0] + 1);
    assert_eq!(app.get(&location).await.status(), 200);

    // The same URL, spelt differently: 200, the same article, nothing changed.
    let unchanged = snapshot(&app, &admin).await;
    let again = post(
        &app,
        Some(&t),
        &mention("HTTPS://WWW.CBC.CA:443/news/arctic-1/?utm_source=x#top"),
    )
    .await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["data"]["slug"], a["slug"]);
    assert_eq!(again["meta"]["created"], false);
    assert_eq!(snapshot(&app, &admin).await, unchanged);

    // Twenty at once: exactly one row, exactly one 201.
    let url = "https://example.org/concurrent-story";
    let body = mention(url);
    let futures: Vec<_> = (0..20).map(|_| post(&app, Some(&t), &body)).collect();
    let results = futures_util::future::join_all(futures).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    assert_eq!(app.counts().await[0], before[0] + 2);

    // GraphQL: the same call, the same idempotency.
    let q = r#"mutation($i: RecordMentionInput!) { recordMention(input: $i) { created article { slug outlet { slug } experts { slug } } } }"#;
    let input = json!({ "title": "Deux experts", "url": "https://www.ledevoir.com/x", "outlet": "Le Devoir",
                        "experts": ["David Perry"], "publishedAt": "2026-02-04T10:00:00-05:00", "language": "fr" });
    let gql = |input: Value| gql_as(&app, Some(&t), q, json!({ "i": input }));
    let first = gql(input.clone()).await;
    assert_eq!(first["data"]["recordMention"]["created"], true, "{first}");
    let second = gql(input).await;
    assert_eq!(second["data"]["recordMention"]["created"], false);
    assert_eq!(
        second["data"]["recordMention"]["article"]["slug"],
        first["data"]["recordMention"]["article"]["slug"]
    );
    // Anonymous GraphQL writes are refused.
    let unchanged = snapshot(&app, &admin).await;
    let anon = app
        .gql("mutation($i: RecordMentionInput!) { recordMention(input: $i) { created } }",
             json!({ "i": { "title": "x", "url": "https://e.org/y", "experts": ["David Perry"], "publishedAt": "2026-01-01", "language": "en" } }))
        .await;
    assert_eq!(anon["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(snapshot(&app, &admin).await, unchanged);
    assert_eq!(app.counts().await[0], before[0] + 3);
}

both!(
    bad_mentions_are_422s_with_every_field_and_change_nothing,
    bad_mentions_change_nothing
);

async fn bad_mentions_change_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let t = editor_token(&app, "editor").await;
    let admin = editor_token(&app, "admin").await;
    let before = app.counts().await;
    let unchanged = snapshot(&app, &admin).await;

    // Unknown names come back with suggestions.
    let mut m = mention("https://example.org/unknown-names");
    m["experts"] = json!(["Rob Hubert", "Nobody Atall"]);
    m["outlet"] = json!("Globe & Mail");
    let res = post(&app, Some(&t), &m).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let text = body["errors"].to_string();
    assert!(
        text.contains("unknown expert \\\"Rob Hubert\\\" (did you mean \\\"Rob Huebert\\\""),
        "{text}"
    );
    assert!(text.contains("Nobody Atall"), "{text}");
    assert_eq!(snapshot(&app, &admin).await, unchanged);

    // Every bad field is listed at once.
    let bad = json!({ "title": "  ", "url": "ftp://example.org/x", "experts": ["David Perry"],
                      "published_at": "2022-02-30", "language": "de" });
    let res = post(&app, Some(&t), &bad).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["title", "url", "published_at", "language"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let mut nul = mention("https://example.org/nul");
    nul["title"] = json!("bad\u{0}title");
    assert_eq!(post(&app, Some(&t), &nul).await.status(), 422);
    let mut extra = mention("https://example.org/extra");
    extra["id"] = json!(5);
    let res = post(&app, Some(&t), &extra).await;
    assert_eq!(res.status(), 422, "server-owned fields are refused");
    let res = app
        .client
        .post(format!("{}/api/v1/mentions", app.addr))
        .bearer_auth(&t)
        .header("content-type", "text/plain")
        .body("title=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = app
        .client
        .post(format!("{}/api/v1/mentions", app.addr))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let mut big = mention("https://example.org/big");
    big["summary"] = json!("x".repeat(70 * 1024));
    assert_eq!(post(&app, Some(&t), &big).await.status(), 413);
    assert_eq!(
        snapshot(&app, &admin).await,
        unchanged,
        "no rejected write changed anything"
    );

    // Asked to, an editor creates the missing expert and outlet.
    let mut m = mention("https://example.org/new-names");
    m["experts"] = json!(["Brand New Expert"]);
    m["outlet"] = json!("Brand New Outlet");
    m["create_missing"] = json!(true);
    let res = post(&app, Some(&t), &m).await;
    assert_eq!(res.status(), 201);
    let after = app.counts().await;
    assert_eq!(
        (after[0], after[1], after[2]),
        (before[0] + 1, before[1] + 1, before[2] + 1)
    );

    // A contributor records drafts only, and the public does not see them.
    let c = editor_token(&app, "contributor").await;
    let res = post(
        &app,
        Some(&c),
        &mention("https://example.org/by-contributor"),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["status"], "draft");
    assert_eq!(app.counts().await[0], after[0], "a draft is not public");
    let unchanged = snapshot(&app, &admin).await;
    let mut published = mention("https://example.org/by-contributor-2");
    published["status"] = json!("published");
    assert_eq!(post(&app, Some(&c), &published).await.status(), 403);
    assert_eq!(snapshot(&app, &admin).await, unchanged);
}

both!(
    writes_are_audited_and_rejected_ones_leave_no_trace,
    writes_are_audited
);

async fn writes_are_audited(backend: Backend) {
    let app = spawn(backend).await;
    let admin = editor_token(&app, "admin").await;
    let editor = editor_token(&app, "editor").await;
    // Loading the demo data is the first entry (the import, then its two
    // newsletter lists), then the two keys' creation.
    let seeded = audit(&app, &admin).await;
    assert_eq!(seeded.len(), 5);
    assert_eq!(seeded[4]["action"], "import");
    assert_eq!(seeded[4]["actor"], "system");
    assert_eq!(seeded[2]["entity"], "newsletter");
    assert_eq!(seeded[0]["action"], "create");
    assert_eq!(seeded[0]["entity"], "api_key");

    let res = post(&app, Some(&editor), &mention("https://example.org/audited")).await;
    assert_eq!(res.status(), 201);
    let entries = audit(&app, &admin).await;
    assert_eq!(entries.len(), 6);
    let e = &entries[0];
    assert_eq!(e["action"], "record_mention");
    assert_eq!(e["entity"], "article");
    assert!(e["actor"].as_str().unwrap().starts_with("key:"));
    assert!(e["before"].is_null());
    assert_eq!(e["after"]["url"], "https://example.org/audited");

    // Rejected and repeated writes add nothing.
    let mut bad = mention("https://example.org/rejected");
    bad["language"] = json!("xx");
    assert_eq!(post(&app, Some(&editor), &bad).await.status(), 422);
    assert_eq!(
        post(&app, None, &mention("https://example.org/anon"))
            .await
            .status(),
        401
    );
    assert_eq!(
        post(&app, Some(&editor), &mention("https://example.org/audited"))
            .await
            .status(),
        200
    );
    assert_eq!(audit(&app, &admin).await.len(), 6);

    // Administrators only, in REST and GraphQL.
    let res = app
        .client
        .get(format!("{}/api/v1/audit", app.addr))
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.get("/api/v1/audit").await.status(), 401);
    let q = "{ auditLog(first: 5) { totalCount nodes { action entity actor after } } }";
    let body = gql_as(&app, Some(&admin), q, json!({})).await;
    assert_eq!(body["data"]["auditLog"]["totalCount"], 6, "{body}");
    assert_eq!(
        body["data"]["auditLog"]["nodes"][0]["after"]["url"],
        "https://example.org/audited"
    );
    let body = gql_as(&app, Some(&editor), q, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

both!(
    changes_need_the_current_version_and_exactly_one_of_twenty_wins,
    optimistic_concurrency
);

async fn optimistic_concurrency(backend: Backend) {
    let app = spawn(backend).await;
    let t = editor_token(&app, "editor").await;
    let admin = editor_token(&app, "admin").await;
    let res = post(&app, Some(&t), &mention("https://example.org/to-edit")).await;
    let slug = res.json::<Value>().await.unwrap()["data"]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/api/v1/articles/{slug}", app.addr);
    let res = app.client.get(&url).bearer_auth(&t).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.ends_with("-v1\""), "{etag}");
    let audit_before = audit(&app, &admin).await.len();

    // Without If-Match: 428; with a made-up version: 412; a server-owned field: 422.
    let patch = |v: Value| app.client.patch(&url).bearer_auth(&t).json(&v);
    assert_eq!(
        patch(json!({ "title": "New title" }))
            .send()
            .await
            .unwrap()
            .status(),
        428
    );
    assert_eq!(
        patch(json!({ "title": "New title" }))
            .header("if-match", "\"article-1-v7\"")
            .send()
            .await
            .unwrap()
            .status(),
        412
    );
    assert_eq!(
        patch(json!({ "version": 9 }))
            .header("if-match", &etag)
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        patch(json!({ "language": "xx" }))
            .header("if-match", &etag)
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        audit(&app, &admin).await.len(),
        audit_before,
        "rejected changes leave no audit entry"
    );

    // Twenty changes based on version 1: exactly one succeeds.
    let futures: Vec<_> = (0..20)
        .map(|i| {
            app.client
                .patch(&url)
                .bearer_auth(&t)
                .header("if-match", &etag)
                .json(&json!({ "title": format!("Title {i}") }))
                .send()
        })
        .collect();
    let statuses: Vec<u16> = futures_util::future::join_all(futures)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 412),
        "{statuses:?}"
    );
    let now: Value = app
        .client
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["data"]["version"], 2);
    assert!(now["data"]["title"].as_str().unwrap().starts_with("Title "));
    assert_eq!(audit(&app, &admin).await.len(), audit_before + 1);

    // GraphQL: a stale expectedVersion is a CONFLICT; the current one works; unpublish hides it.
    let q = r#"mutation($s: String!, $v: Int!) { unpublishArticle(slug: $s, expectedVersion: $v) { status version } }"#;
    let gql = |v: i64| {
        app.client
            .post(format!("{}/graphql", app.addr))
            .bearer_auth(&t)
            .json(&json!({ "query": q, "variables": { "s": slug, "v": v } }))
            .send()
    };
    let stale: Value = gql(1).await.unwrap().json().await.unwrap();
    assert_eq!(
        stale["errors"][0]["extensions"]["code"], "CONFLICT",
        "{stale}"
    );
    let ok: Value = gql(2).await.unwrap().json().await.unwrap();
    assert_eq!(ok["data"]["unpublishArticle"]["status"], "DRAFT", "{ok}");
    assert_eq!(
        app.get(&format!("/api/v1/articles/{slug}")).await.status(),
        404,
        "a draft is not public"
    );

    // Delete needs the current version too.
    let del = |tag: &str| {
        app.client
            .delete(&url)
            .bearer_auth(&t)
            .header("if-match", tag.to_owned())
            .send()
    };
    assert_eq!(del(&etag).await.unwrap().status(), 412);
    let cur = app
        .client
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(del(&cur).await.unwrap().status(), 204);
    assert_eq!(
        app.client
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Anonymous changes are refused.
    assert_eq!(
        app.client
            .delete(&url)
            .header("if-match", "*")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

both!(
    writes_past_the_rate_limit_get_429_with_retry_after,
    writes_are_rate_limited
);

async fn writes_are_rate_limited(backend: Backend) {
    let app = crate::helpers::spawn_limited(backend, 3).await;
    // The token request counts against the caller's address, the posts against the token.
    let t = editor_token(&app, "editor").await;
    let admin = editor_token(&app, "admin").await;
    let before = app.counts().await;
    let mut statuses = Vec::new();
    let mut unchanged = serde_json::Value::Null;
    for i in 0..4 {
        if i == 3 {
            unchanged = snapshot(&app, &admin).await;
        }
        statuses.push(
            post(
                &app,
                Some(&t),
                &mention(&format!("https://example.org/limited-{i}")),
            )
            .await,
        );
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(codes, [201, 201, 201, 429], "a burst of 3");
    let limited = &statuses[3];
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        limited.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(app.counts().await[0], before[0] + 3);
    assert_eq!(
        snapshot(&app, &admin).await,
        unchanged,
        "limited writes change nothing"
    );
    // Reads are not limited.
    for _ in 0..5 {
        assert_eq!(app.get("/api/v1/articles?limit=1").await.status(), 200);
    }
    // GraphQL mutations draw on the same budget; GraphQL queries do not.
    let signed_in_query = app
        .client
        .post(format!("{}/graphql", app.addr))
        .bearer_auth(&t)
        .json(&json!({ "query": "{ articles(first: 1) { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in_query.status(), 200);
    let mutation = app
        .client
        .post(format!("{}/graphql", app.addr))
        .bearer_auth(&t)
        .json(
            &json!({ "query": "mutation { createTopic(input: { name: \"Limited\" }) { slug } }" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 429);
    assert!(mutation.headers().contains_key("retry-after"));
    assert_eq!(
        snapshot(&app, &admin).await,
        unchanged,
        "the limited mutation wrote nothing"
    );
}
