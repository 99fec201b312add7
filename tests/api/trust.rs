//! Trust: a write path never grants more than the kind's own rule (the import
//! and the site settings), and no answer tells a caller about an article or
//! event it may not see (a known URL, someone else's draft, an embargo): what
//! the caller may not see is refused as if it did not exist.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{
    Backend, TestApp, audit_log, call, gql_as, ndjson, post_import, snapshot, spawn, token_for,
};

fn site_line(name: &str) -> Value {
    json!({ "type": "site", "name": name, "tagline_en": "Taken over", "tagline_fr": "Pris" })
}

both!(
    an_import_line_is_allowed_only_by_its_kinds_rule_and_a_refused_one_writes_nothing,
    import_applies_the_kind_rules
);

async fn import_applies_the_kind_rules(backend: Backend) {
    let app = spawn(backend).await;
    let contributor = token_for(&app, "contributor").await;
    let editor = token_for(&app, "editor").await;
    let admin = token_for(&app, "admin").await;
    let lines = [
        json!({ "type": "outlet", "slug": "trust-gazette", "name": "Trust Gazette", "kind": "online" }),
        json!({ "type": "expert", "name": "Tess Trust" }),
        json!({ "type": "article", "title": "Imported and published", "experts": ["Tess Trust"],
                "outlet": "trust-gazette", "published_at": "2026-10-01", "language": "en",
                "status": "published" }),
        site_line("Hijacked Institute"),
    ];
    let before = snapshot(&app, &admin).await;

    // An editor may not change the site settings, through the import no more
    // than through PATCH /site: 403, and nothing of the file is written.
    let (status, _, patch) = call(
        &app,
        Method::PATCH,
        "/api/v1/site",
        Some(&editor),
        Some(&json!({ "name": "Hijacked Institute" })),
        &[("if-match", "*")],
    )
    .await;
    assert_eq!(status, 403, "{patch}");
    for query in ["", "?skip_invalid=true"] {
        let (status, ct, body) = post_import(&app, &editor, query, ndjson(&lines), None).await;
        assert_eq!(status, 403, "{query}: {body}");
        assert_eq!(ct, "application/problem+json");
        assert_eq!(body["code"], "FORBIDDEN");
        assert_eq!(body["code"], patch["code"]);
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.starts_with("line 4: "), "{detail}");
        assert_eq!(snapshot(&app, &admin).await, before, "{query}");
    }
    // A contributor does not reach the import at all.
    let (status, _, _) = post_import(&app, &contributor, "", ndjson(&lines[..3]), None).await;
    assert_eq!(status, 403);
    assert_eq!(snapshot(&app, &admin).await, before);

    // Without the site line an editor imports (and publishes) as ever.
    let (status, _, body) = post_import(&app, &editor, "", ndjson(&lines[..3]), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["created"]["articles"], 1);
    let d = app
        .gql_ok(
            r#"{ articles(filter: { expert: "tess-trust" }) { nodes { title status } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["articles"]["nodes"][0]["status"], "PUBLISHED", "{d}");

    // An administrator may.
    let (status, _, body) = post_import(
        &app,
        &admin,
        "",
        ndjson(&[site_line("Renamed Institute")]),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let d = app.gql_ok("{ site { name } }", json!({})).await;
    assert_eq!(d["site"]["name"], "Renamed Institute");
    assert_eq!(audit_log(&app, &admin).await[0]["action"], "import");
}

fn mention(url: &str, title: &str) -> Value {
    json!({ "title": title, "url": url, "outlet": "CBC", "experts": ["Robert Huebert"],
            "published_at": "2026-02-03", "language": "en" })
}

async fn post_mention(
    app: &TestApp,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    call(
        app,
        Method::POST,
        "/api/v1/mentions",
        Some(token),
        Some(body),
        &headers,
    )
    .await
}

/// A refusal that tells nothing of the article behind it.
fn tells_nothing(body: &Value, secrets: &[&str]) {
    let text = body.to_string();
    for s in secrets {
        assert!(!text.contains(s), "{s:?} leaked in {text}");
    }
}

const RECORD: &str = r#"mutation($i: RecordMentionInput!) { recordMention(input: $i) { created article { slug title } } }"#;

fn gql_mention(url: &str, title: &str) -> Value {
    json!({ "i": { "title": title, "url": url, "outlet": "CBC", "experts": ["Robert Huebert"],
                   "publishedAt": "2026-02-03", "language": "en" } })
}

both!(
    a_known_url_answers_only_with_what_the_caller_may_see,
    known_urls_reveal_nothing
);

async fn known_urls_reveal_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let alice = token_for(&app, "contributor").await;
    let bob = token_for(&app, "contributor").await;
    let editor = token_for(&app, "editor").await;
    let admin = token_for(&app, "admin").await;

    // Alice's draft, and an editor's article embargoed until next year.
    let draft_url = "https://example.org/alices-scoop";
    let (status, _, body) = post_mention(
        &app,
        &alice,
        &mention(draft_url, "Alice Secret Scoop"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["status"], "draft");
    let draft_slug = body["data"]["slug"].as_str().unwrap().to_owned();
    let embargo_url = "https://example.org/embargoed";
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&editor),
        Some(&json!({ "title": "Embargoed Budget Story", "url": embargo_url, "experts": ["Robert Huebert"],
                      "published_at": "2026-02-03", "language": "en", "status": "published",
                      "publish_at": "2099-01-01T00:00:00Z" })),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let embargo_slug = body["data"]["slug"].as_str().unwrap().to_owned();
    let secrets = [
        draft_slug.as_str(),
        "Alice Secret Scoop",
        embargo_slug.as_str(),
        "Embargoed Budget Story",
    ];

    let before = snapshot(&app, &admin).await;
    // Bob knows (or guesses) the URLs: a conflict without content, REST and GraphQL.
    for (url, spelt) in [
        (draft_url, "HTTPS://EXAMPLE.ORG/alices-scoop/?utm_source=x"),
        (embargo_url, embargo_url),
    ] {
        let (status, h, body) = post_mention(&app, &bob, &mention(spelt, "Bob's copy"), None).await;
        assert_eq!(status, 409, "{url}: {body}");
        assert_eq!(h["content-type"], "application/problem+json");
        assert_eq!(body["code"], "CONFLICT");
        assert!(h.get("location").is_none());
        assert!(h.get("etag").is_none());
        tells_nothing(&body, &secrets);
        let g = gql_as(&app, Some(&bob), RECORD, gql_mention(spelt, "Bob's copy")).await;
        assert_eq!(g["errors"][0]["extensions"]["code"], "CONFLICT", "{g}");
        assert!(g["data"].is_null(), "{g}");
        tells_nothing(&g, &secrets);
        // Creating an article with that URL says it is taken, not by what.
        let (status, _, body) = call(
            &app,
            Method::POST,
            "/api/v1/articles",
            Some(&bob),
            Some(
                &json!({ "title": "Bob again", "url": url, "experts": ["Robert Huebert"],
                          "published_at": "2026-02-03", "language": "en" }),
            ),
            &[],
        )
        .await;
        assert_eq!(status, 409, "{body}");
        tells_nothing(&body, &secrets);
    }
    assert_eq!(snapshot(&app, &admin).await, before);

    // Whoever may see the article still gets it: its author, and editors.
    let (status, _, body) = post_mention(&app, &alice, &mention(draft_url, "Again"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["slug"], draft_slug.as_str());
    let (status, _, body) = post_mention(&app, &editor, &mention(embargo_url, "Again"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["slug"], embargo_slug.as_str());

    // A stored answer is replayed to its caller only: Bob sending Alice's key
    // and body runs his own request.
    let key_url = "https://example.org/keyed";
    let keyed = mention(key_url, "Alice Keyed Draft");
    let (status, _, first) = post_mention(&app, &alice, &keyed, Some("k-1")).await;
    assert_eq!(status, 201, "{first}");
    let (status, h, again) = post_mention(&app, &alice, &keyed, Some("k-1")).await;
    assert_eq!(
        (status, h["idempotent-replayed"].to_str().unwrap()),
        (201, "true")
    );
    assert_eq!(again, first);
    let (status, h, body) = post_mention(&app, &bob, &keyed, Some("k-1")).await;
    assert_eq!(status, 409, "{body}");
    assert!(h.get("idempotent-replayed").is_none());
    tells_nothing(
        &body,
        &["Alice Keyed Draft", first["data"]["slug"].as_str().unwrap()],
    );
}

/// A problem body with the parts that name the request taken out.
fn shape(mut body: Value, slug: &str) -> Value {
    let o = body.as_object_mut().unwrap();
    o.remove("request_id");
    o.remove("instance");
    let detail = o["detail"]
        .as_str()
        .unwrap_or_default()
        .replace(slug, "SLUG");
    o.insert("detail".into(), detail.into());
    body
}

both!(
    someone_elses_draft_is_a_404_exactly_like_a_missing_slug,
    unseen_drafts_are_missing
);

async fn unseen_drafts_are_missing(backend: Backend) {
    let app = spawn(backend).await;
    let alice = token_for(&app, "contributor").await;
    let bob = token_for(&app, "contributor").await;
    let editor = token_for(&app, "editor").await;
    let admin = token_for(&app, "admin").await;

    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&alice),
        Some(
            &json!({ "title": "Alice Private Draft", "experts": ["Robert Huebert"],
                      "published_at": "2026-02-03", "language": "en" }),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let draft = body["data"]["slug"].as_str().unwrap().to_owned();
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/events",
        Some(&editor),
        Some(&json!({ "title": "Closed Door Briefing", "kind": "webinar",
                      "starts_at": "2027-03-01T15:00:00Z", "status": "draft" })),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let event = body["data"]["slug"].as_str().unwrap().to_owned();

    let before = snapshot(&app, &admin).await;
    let patch = json!({ "title": "Bob was here" });
    let m = [("if-match", "*")];
    for (collection, slug) in [("articles", &draft), ("events", &event)] {
        for (method, body) in [
            (Method::GET, None),
            (Method::PATCH, Some(&patch)),
            (Method::DELETE, None),
        ] {
            let hidden = format!("/api/v1/{collection}/{slug}");
            let missing = format!("/api/v1/{collection}/no-such-{collection}");
            let (s1, h1, b1) = call(&app, method.clone(), &hidden, Some(&bob), body, &m).await;
            let (s2, h2, b2) = call(&app, method.clone(), &missing, Some(&bob), body, &m).await;
            assert_eq!((s1, s2), (404, 404), "{method} {hidden}: {b1}");
            assert_eq!(h1["content-type"], h2["content-type"]);
            assert_eq!(
                shape(b1, slug),
                shape(b2, &format!("no-such-{collection}")),
                "{method} {hidden}"
            );
        }
    }
    // GraphQL: the same NOT_FOUND as for a slug that names nothing.
    for (op, slug) in [
        (
            "publishArticle(slug: $s, expectedVersion: 1) { slug }",
            &draft,
        ),
        (
            "unpublishArticle(slug: $s, expectedVersion: 1) { slug }",
            &draft,
        ),
        ("deleteArticle(slug: $s, expectedVersion: 1)", &draft),
        (
            "updateArticle(input: { slug: $s, expectedVersion: 1, title: \"Bob\" }) { slug }",
            &draft,
        ),
        (
            "publishEvent(slug: $s, expectedVersion: 1) { slug }",
            &event,
        ),
        ("deleteEvent(slug: $s, expectedVersion: 1)", &event),
        (
            "updateEvent(input: { slug: $s, expectedVersion: 1, city: \"Calgary\" }) { slug }",
            &event,
        ),
    ] {
        let q = format!("mutation($s: String!) {{ {op} }}");
        let hidden = gql_as(&app, Some(&bob), &q, json!({ "s": slug })).await;
        let missing = gql_as(&app, Some(&bob), &q, json!({ "s": "no-such-thing" })).await;
        assert_eq!(
            hidden["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{op}: {hidden}"
        );
        assert_eq!(
            hidden["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace(slug.as_str(), "S"),
            missing["errors"][0]["message"]
                .as_str()
                .unwrap()
                .replace("no-such-thing", "S"),
            "{op}"
        );
    }
    assert_eq!(snapshot(&app, &admin).await, before);

    // What the caller may see but not change is still a 403: Alice publishing
    // her own draft, Bob changing a published article.
    let own = gql_as(
        &app,
        Some(&alice),
        "mutation($s: String!) { publishArticle(slug: $s, expectedVersion: 1) { slug } }",
        json!({ "s": draft }),
    )
    .await;
    assert_eq!(own["errors"][0]["extensions"]["code"], "FORBIDDEN", "{own}");
    let published = app
        .gql_ok("{ articles(first: 1) { nodes { slug } } }", json!({}))
        .await["articles"]["nodes"][0]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/articles/{published}"),
        Some(&bob),
        Some(&patch),
        &m,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(snapshot(&app, &admin).await, before);

    // Editors keep seeing, and changing, everything.
    for path in [
        format!("/api/v1/articles/{draft}"),
        format!("/api/v1/events/{event}"),
    ] {
        let (status, _, body) =
            call(&app, Method::PATCH, &path, Some(&editor), Some(&patch), &m).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}
