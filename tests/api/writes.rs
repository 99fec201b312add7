//! Writes to every resource: each role × operation allowed or refused (and a
//! refused one changes neither the data nor the audit log), field-level
//! validation, optimistic concurrency, `Idempotency-Key`, bulk import over
//! HTTP, and the same operations through GraphQL.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{
    Backend, TestApp, audit_log, call, gql_as, ndjson, post_import, preflight, snapshot, spawn,
    spawn_admin_origin, token_for,
};

fn etag(h: &HeaderMap) -> String {
    h["etag"].to_str().unwrap().to_owned()
}

pub(crate) struct Tokens {
    pub contributor: String,
    pub editor: String,
    pub admin: String,
}

pub(crate) async fn tokens(app: &TestApp) -> Tokens {
    Tokens {
        contributor: token_for(app, "contributor").await,
        editor: token_for(app, "editor").await,
        admin: token_for(app, "admin").await,
    }
}

both!(
    every_role_and_operation_on_experts_outlets_topics_events,
    role_matrix_for_catalogue
);

async fn role_matrix_for_catalogue(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let kinds = [
        (
            "/api/v1/experts",
            json!({ "name": "Matrix Expert", "aliases": ["M. Expert"], "topics": ["NATO"] }),
            json!({ "title": "Senior Fellow", "aliases": null }),
        ),
        (
            "/api/v1/outlets",
            json!({ "name": "Matrix Outlet", "kind": "online", "parent": "CBC" }),
            json!({ "country": "CA" }),
        ),
        (
            "/api/v1/topics",
            json!({ "name": "Matrix Topic" }),
            json!({ "name": "Matrix Topic Renamed" }),
        ),
        (
            "/api/v1/events",
            json!({ "title": "Matrix Event", "kind": "webinar", "starts_at": "2027-03-01T15:00:00Z" }),
            json!({ "city": "Calgary" }),
        ),
    ];
    for (path, create, patch) in kinds {
        // The public and contributors may not create; nothing changes.
        let before = snapshot(&app, &t.admin).await;
        for (who, code) in [(None, 401), (Some(t.contributor.as_str()), 403)] {
            let (status, h, body) = call(&app, Method::POST, path, who, Some(&create), &[]).await;
            assert_eq!(status, code, "POST {path}: {body}");
            assert_eq!(h["content-type"], "application/problem+json");
        }
        assert_eq!(snapshot(&app, &t.admin).await, before, "POST {path}");

        // An editor creates: 201, Location, a strong version ETag.
        let (status, h, body) = call(
            &app,
            Method::POST,
            path,
            Some(&t.editor),
            Some(&create),
            &[],
        )
        .await;
        assert_eq!(status, 201, "POST {path}: {body}");
        let slug = body["data"]["slug"].as_str().unwrap().to_owned();
        let item = format!("{path}/{slug}");
        assert_eq!(h["location"], item.as_str());
        assert_eq!(body["data"]["version"], 1);
        let tag = etag(&h);
        assert!(tag.starts_with('"') && tag.ends_with("-v1\""), "{tag}");
        // A second create naming the same slug conflicts.
        let mut again = create.clone();
        again["slug"] = json!(slug);
        let (status, _, _) =
            call(&app, Method::POST, path, Some(&t.editor), Some(&again), &[]).await;
        assert_eq!(status, 409, "duplicate POST {path}");
        // The version ETag comes with a signed-in GET too.
        let (status, h, _) = call(&app, Method::GET, &item, Some(&t.editor), None, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(etag(&h), tag);

        // Refused changes and deletions leave everything as it was.
        let before = snapshot(&app, &t.admin).await;
        for (who, code) in [(None, 401), (Some(t.contributor.as_str()), 403)] {
            let m = [("if-match", tag.as_str())];
            let (status, _, body) = call(&app, Method::PATCH, &item, who, Some(&patch), &m).await;
            assert_eq!(status, code, "PATCH {item}: {body}");
            let (status, _, body) = call(&app, Method::DELETE, &item, who, None, &m).await;
            assert_eq!(status, code, "DELETE {item}: {body}");
        }
        let (status, _, _) = call(
            &app,
            Method::PATCH,
            &item,
            Some(&t.editor),
            Some(&patch),
            &[],
        )
        .await;
        assert_eq!(status, 428, "PATCH without If-Match");
        let stale = tag.replace("-v1", "-v7");
        let (status, _, _) = call(
            &app,
            Method::PATCH,
            &item,
            Some(&t.editor),
            Some(&patch),
            &[("if-match", &stale)],
        )
        .await;
        assert_eq!(status, 412, "PATCH with a stale If-Match");
        let (status, _, _) = call(
            &app,
            Method::PATCH,
            &item,
            Some(&t.editor),
            Some(&patch),
            &[("if-match", "\"article-someone-else-v1\"")],
        )
        .await;
        assert_eq!(status, 412, "another record's tag at the same version");
        let (status, _, body) = call(
            &app,
            Method::PATCH,
            &item,
            Some(&t.editor),
            Some(&json!({ "version": 5 })),
            &[("if-match", &tag)],
        )
        .await;
        assert_eq!(status, 422, "server-owned field: {body}");
        assert_eq!(body["errors"][0]["field"], "version");
        assert_eq!(
            snapshot(&app, &t.admin).await,
            before,
            "refused writes on {item}"
        );

        // Editors and admins change it; the version goes up each time.
        let (status, h, body) = call(
            &app,
            Method::PATCH,
            &item,
            Some(&t.editor),
            Some(&patch),
            &[("if-match", &tag)],
        )
        .await;
        assert_eq!(status, 200, "PATCH {item}: {body}");
        assert_eq!(body["data"]["version"], 2);
        let item = format!("{path}/{}", body["data"]["slug"].as_str().unwrap());
        let (status, h, body) = call(
            &app,
            Method::PATCH,
            &item,
            Some(&t.admin),
            Some(&json!({})),
            &[("if-match", &etag(&h))],
        )
        .await;
        assert_eq!(status, 200, "admin PATCH {item}: {body}");
        assert_eq!(body["data"]["version"], 3);
        let current = etag(&h);

        // Deleting needs the current version.
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &item,
            Some(&t.editor),
            None,
            &[("if-match", &tag)],
        )
        .await;
        assert_eq!(status, 412);
        let (status, _, _) = call(
            &app,
            Method::DELETE,
            &item,
            Some(&t.editor),
            None,
            &[("if-match", &current)],
        )
        .await;
        assert_eq!(status, 204, "DELETE {item}");
        let (status, _, _) = call(&app, Method::GET, &item, Some(&t.admin), None, &[]).await;
        assert_eq!(status, 404);
    }

    // The audit log names each write of the editor and the admin.
    let log = audit_log(&app, &t.admin).await;
    let actions: Vec<String> = log
        .iter()
        .take(16)
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["entity"].as_str().unwrap()
            )
        })
        .collect();
    for kind in ["expert", "outlet", "topic", "event"] {
        for action in ["create", "update", "delete"] {
            assert!(
                actions.contains(&format!("{action} {kind}")),
                "{action} {kind} missing from {actions:?}"
            );
        }
    }
    let update = log
        .iter()
        .rfind(|e| e["action"] == "update" && e["entity"] == "expert")
        .unwrap();
    assert_eq!(update["after"]["title"], "Senior Fellow");
    assert!(update["before"]["title"].is_null());
}

both!(contributors_write_drafts_editors_publish, article_roles);

async fn article_roles(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let other = token_for(&app, "contributor").await;
    let draft = json!({ "title": "A contributor's draft", "experts": ["Rob Huebert"],
                        "outlet": "CBC", "published_at": "2026-11-20", "language": "en" });
    let before = snapshot(&app, &t.admin).await;
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        None,
        Some(&draft),
        &[],
    )
    .await;
    assert_eq!(status, 401);
    let mut published = draft.clone();
    published["status"] = json!("published");
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&t.contributor),
        Some(&published),
        &[],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(snapshot(&app, &t.admin).await, before);

    // A contributor's article is a draft: invisible to the public and to other
    // contributors, visible to its author.
    let (status, h, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&t.contributor),
        Some(&draft),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["status"], "draft");
    let slug = body["data"]["slug"].as_str().unwrap().to_owned();
    let item = format!("/api/v1/articles/{slug}");
    let tag = etag(&h);
    assert_eq!(app.get(&item).await.status(), 404);
    let (status, _, _) = call(&app, Method::GET, &item, Some(&other), None, &[]).await;
    assert_eq!(status, 404);
    let (status, _, _) = call(&app, Method::GET, &item, Some(&t.contributor), None, &[]).await;
    assert_eq!(status, 200);
    let found = app
        .gql_ok(
            "{ search(query: \"contributor's draft\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["search"]["totalCount"], 0,
        "drafts are not searchable by the public"
    );

    // Its author edits it, but cannot publish it; nobody else but editors may touch it.
    let (status, h, body) = call(
        &app,
        Method::PATCH,
        &item,
        Some(&t.contributor),
        Some(&json!({ "summary": "Now with a summary." })),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let tag = etag(&h);
    let before = snapshot(&app, &t.admin).await;
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        &item,
        Some(&t.contributor),
        Some(&json!({ "status": "published" })),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        &item,
        Some(&other),
        Some(&json!({ "title": "Taken over" })),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(
        status, 404,
        "another contributor's draft is as absent as a missing one"
    );
    let demo =
        "/api/v1/articles/canadian-russian-officials-set-aside-differences-to-talk-terrorism";
    let (_, dh, _) = call(&app, Method::GET, demo, Some(&t.editor), None, &[]).await;
    let demo_tag = etag(&dh);
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        demo,
        Some(&t.contributor),
        Some(&json!({ "title": "Not mine" })),
        &[("if-match", &demo_tag)],
    )
    .await;
    assert_eq!(
        status, 403,
        "a contributor cannot change a published article"
    );
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        demo,
        Some(&t.contributor),
        None,
        &[("if-match", &demo_tag)],
    )
    .await;
    assert_eq!(status, 403);
    let pub_q = "mutation($s: String!, $v: Int!) { publishArticle(slug: $s, expectedVersion: $v) { status } }";
    let res = gql_as(
        &app,
        Some(&t.contributor),
        pub_q,
        json!({ "s": slug, "v": 2 }),
    )
    .await;
    assert_eq!(res["errors"][0]["extensions"]["code"], "FORBIDDEN", "{res}");
    assert_eq!(snapshot(&app, &t.admin).await, before);

    // An editor publishes it (a PATCH of its status); then it is public and no
    // longer the contributor's to change.
    let (status, h, body) = call(
        &app,
        Method::PATCH,
        &item,
        Some(&t.editor),
        Some(&json!({ "status": "published" })),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get(&item).await.status(), 200);
    let tag = etag(&h);
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        &item,
        Some(&t.contributor),
        Some(&json!({ "summary": "late change" })),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(status, 403);

    // A contributor may delete its own draft, an editor anything.
    let (status, h, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&t.contributor),
        Some(
            &json!({ "title": "Second thoughts", "published_at": "2026-11-21", "language": "fr" }),
        ),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let second = format!(
        "/api/v1/articles/{}",
        body["data"]["slug"].as_str().unwrap()
    );
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        &second,
        Some(&t.contributor),
        None,
        &[("if-match", &etag(&h))],
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        &item,
        Some(&t.editor),
        None,
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(app.get(&item).await.status(), 404);

    // An editor's article is published by default; a second one with the same
    // title gets its own slug; the same source URL twice is a conflict.
    let mut with_url = draft.clone();
    with_url["url"] = json!("https://www.cbc.ca/news/a-story");
    let (status, _, a) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&t.editor),
        Some(&with_url),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["data"]["status"], "published");
    let (status, _, b) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&t.editor),
        Some(&draft),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{b}");
    assert_ne!(a["data"]["slug"], b["data"]["slug"]);
    with_url["title"] = json!("Same story, other title");
    with_url["url"] = json!("HTTPS://WWW.CBC.CA/news/a-story/?utm_source=x");
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&t.editor),
        Some(&with_url),
        &[],
    )
    .await;
    assert_eq!(status, 409, "{body}");
}

both!(site_settings_and_audit_are_for_admins, admin_only);

async fn admin_only(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let (_, h, site) = call(&app, Method::GET, "/api/v1/site", Some(&t.admin), None, &[]).await;
    let tag = etag(&h);
    assert_eq!(site["data"]["version"], 1);
    let patch = json!({ "email": "media@example.org", "phone": "403-555-0100" });
    let before = snapshot(&app, &t.admin).await;
    for (who, code) in [
        (None, 401),
        (Some(t.contributor.as_str()), 403),
        (Some(t.editor.as_str()), 403),
    ] {
        let (status, _, body) = call(
            &app,
            Method::PATCH,
            "/api/v1/site",
            who,
            Some(&patch),
            &[("if-match", &tag)],
        )
        .await;
        assert_eq!(status, code, "{body}");
    }
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/audit",
        Some(&t.editor),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 403);
    let bad = json!({ "offices": [{ "label": "", "city": "Calgary", "country": "Canada", "street": ["x\u{0}"] }] });
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        "/api/v1/site",
        Some(&t.admin),
        Some(&bad),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"offices[0].label"), "{fields:?}");
    assert!(fields.contains(&"offices[0].street"), "{fields:?}");
    assert_eq!(snapshot(&app, &t.admin).await, before);

    let (status, _, body) = call(
        &app,
        Method::PATCH,
        "/api/v1/site",
        Some(&t.admin),
        Some(&patch),
        &[("if-match", &tag)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], "media@example.org");
    assert_eq!(body["data"]["version"], 2);
    assert_eq!(
        body["data"]["offices"], site["data"]["offices"],
        "untouched fields stay"
    );
    let public = app
        .gql_ok("{ site { email phone version } }", json!({}))
        .await;
    assert_eq!(public["site"]["email"], "media@example.org");
    let log = audit_log(&app, &t.admin).await;
    assert_eq!(log[0]["entity"], "site");
    assert_eq!(log[0]["before"]["email"], Value::Null);
    assert_eq!(log[0]["after"]["email"], "media@example.org");
}

both!(bad_input_is_refused_field_by_field, validation);

async fn validation(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let before = snapshot(&app, &t.admin).await;
    let cases = [
        (
            "/api/v1/experts",
            json!({ "name": " ", "photo_url": "ftp://example.org/p.jpg", "topics": ["Artic"], "id": 4 }),
            vec!["name", "photo_url", "topics", "id"],
        ),
        (
            "/api/v1/experts",
            json!({ "name": "Nul\u{0}Byte" }),
            vec!["name"],
        ),
        (
            "/api/v1/outlets",
            json!({ "name": "X".repeat(201), "kind": "blog", "language": "de", "parent": "Nobody" }),
            vec!["name", "kind", "language", "parent"],
        ),
        (
            "/api/v1/events",
            json!({ "title": "Bad dates", "kind": "webinar", "starts_at": "2027-02-30",
                    "registration_url": "javascript:alert(1)" }),
            vec!["starts_at", "registration_url"],
        ),
        (
            "/api/v1/events",
            json!({ "title": "Backwards", "kind": "webinar", "starts_at": "2027-03-02", "ends_at": "2027-03-01" }),
            vec!["ends_at"],
        ),
        (
            "/api/v1/articles",
            json!({ "title": "", "published_at": "2026-13-01", "language": "xx", "url": "mailto:a@b.c",
                    "experts": (0..21).map(|i| format!("Expert {i}")).collect::<Vec<_>>(), "created_at": "now" }),
            vec![
                "title",
                "published_at",
                "language",
                "url",
                "experts",
                "created_at",
            ],
        ),
        ("/api/v1/topics", json!({ "name": 5 }), vec!["name"]),
    ];
    for (path, body, fields) in cases {
        let (status, h, res) =
            call(&app, Method::POST, path, Some(&t.editor), Some(&body), &[]).await;
        assert_eq!(status, 422, "POST {path} {body}: {res}");
        assert_eq!(h["content-type"], "application/problem+json");
        let got: Vec<&str> = res["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for f in fields {
            assert!(got.contains(&f), "POST {path}: {f} missing from {got:?}");
        }
    }
    // Not JSON, or not an object.
    let res = app
        .client
        .post(format!("{}/api/v1/experts", app.addr))
        .bearer_auth(&t.editor)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/experts",
        Some(&t.editor),
        Some(&json!(["x"])),
        &[],
    )
    .await;
    assert!(status == 400 || status == 422, "{status}");
    assert_eq!(snapshot(&app, &t.admin).await, before);

    // What would break links is refused: deleting an expert still mentioned, an
    // outlet still cited, making an outlet its own ancestor.
    let (_, h, _) = call(
        &app,
        Method::GET,
        "/api/v1/experts/rob-huebert",
        Some(&t.editor),
        None,
        &[],
    )
    .await;
    let (status, _, body) = call(
        &app,
        Method::DELETE,
        "/api/v1/experts/rob-huebert",
        Some(&t.editor),
        None,
        &[("if-match", &etag(&h))],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (_, h, _) = call(
        &app,
        Method::GET,
        "/api/v1/outlets/cbc",
        Some(&t.editor),
        None,
        &[],
    )
    .await;
    let cbc = etag(&h);
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/outlets/cbc",
        Some(&t.editor),
        None,
        &[("if-match", &cbc)],
    )
    .await;
    assert_eq!(status, 409);
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        "/api/v1/outlets/cbc",
        Some(&t.editor),
        Some(&json!({ "parent": "CBC Radio One" })),
        &[("if-match", &cbc)],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "parent");
    assert_eq!(snapshot(&app, &t.admin).await, before);
}

both!(
    of_twenty_concurrent_changes_with_one_version_one_wins,
    concurrency
);

async fn concurrency(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let (_, h, _) = call(
        &app,
        Method::GET,
        "/api/v1/experts/david-perry",
        Some(&t.editor),
        None,
        &[],
    )
    .await;
    let tag = etag(&h);
    let tries = (0..20).map(|i| {
        let (app, t, tag) = (&app, &t, tag.clone());
        async move {
            call(
                app,
                Method::PATCH,
                "/api/v1/experts/david-perry",
                Some(&t.editor),
                Some(&json!({ "title": format!("Title {i}") })),
                &[("if-match", &tag)],
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(tries).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        19,
        "{statuses:?}"
    );
    let (_, _, now) = call(
        &app,
        Method::GET,
        "/api/v1/experts/david-perry",
        Some(&t.editor),
        None,
        &[],
    )
    .await;
    assert_eq!(now["data"]["version"], 2);
    let updates = audit_log(&app, &t.admin)
        .await
        .iter()
        .filter(|e| e["action"] == "update")
        .count();
    assert_eq!(updates, 1);
}

both!(idempotency_keys_replay_the_first_answer, idempotency);

async fn idempotency(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let expert = json!({ "name": "Idem Potent" });
    let key = [("idempotency-key", "create-idem-potent-1")];
    let (status, h, first) = call(
        &app,
        Method::POST,
        "/api/v1/experts",
        Some(&t.editor),
        Some(&expert),
        &key,
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert!(h.get("idempotent-replayed").is_none());
    let after_first = snapshot(&app, &t.admin).await;
    let (status, h, again) = call(
        &app,
        Method::POST,
        "/api/v1/experts",
        Some(&t.editor),
        Some(&expert),
        &key,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(h["idempotent-replayed"], "true");
    assert_eq!(h["location"], "/api/v1/experts/idem-potent");
    assert_eq!(again, first);
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/experts",
        Some(&t.editor),
        Some(&json!({ "name": "Someone Else" })),
        &key,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
    // Keys are per caller: another caller's same key is a new request (here
    // naming a taken slug).
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/experts",
        Some(&t.admin),
        Some(&json!({ "name": "Idem Potent", "slug": "idem-potent" })),
        &key,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(snapshot(&app, &t.admin).await, after_first);

    // Ten concurrent requests with one key: one runs, the others replay it or
    // are told it is still running; one expert is created.
    let experts = app.counts().await[1];
    let same = json!({ "name": "Concurrent Once" });
    let tries = (0..10).map(|_| {
        let (app, t, same) = (&app, &t, &same);
        async move {
            let (status, h, _) = call(
                app,
                Method::POST,
                "/api/v1/experts",
                Some(&t.editor),
                Some(same),
                &[("idempotency-key", "concurrent-once")],
            )
            .await;
            (status, h.contains_key("idempotent-replayed"))
        }
    });
    let results = futures_util::future::join_all(tries).await;
    let fresh = results.iter().filter(|(s, r)| *s == 201 && !r).count();
    assert_eq!(fresh, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, r)| (*s == 201) || (*s == 409 && !r)),
        "{results:?}"
    );
    assert_eq!(app.counts().await[1], experts + 1);

    // A refused request does not use up its key: fixed, it goes through.
    let retry = [("idempotency-key", "mention-retry")];
    let mut m = json!({ "title": "Retry me", "url": "https://example.org/retry", "experts": ["Nobody Known"],
                        "published_at": "2026-11-01", "language": "en" });
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/mentions",
        Some(&t.editor),
        Some(&m),
        &retry,
    )
    .await;
    assert_eq!(status, 422);
    m["experts"] = json!(["David Perry"]);
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/mentions",
        Some(&t.editor),
        Some(&m),
        &retry,
    )
    .await;
    assert_eq!(status, 201);
    let (status, h, body) = call(
        &app,
        Method::POST,
        "/api/v1/mentions",
        Some(&t.editor),
        Some(&m),
        &retry,
    )
    .await;
    assert_eq!(status, 201, "the replay keeps the first status: {body}");
    assert_eq!(h["idempotent-replayed"], "true");
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/experts",
        Some(&t.editor),
        Some(&expert),
        &[("idempotency-key", "")],
    )
    .await;
    assert_eq!(status, 400, "an empty key is refused");

    // GraphQL mutations too; an answer with errors does not use the key up.
    let gql = |query: &'static str| {
        let (app, t) = (&app, &t);
        async move {
            let res = app
                .client
                .post(format!("{}/graphql", app.addr))
                .bearer_auth(&t.editor)
                .header("idempotency-key", "gql-1")
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            let replayed = res.headers().contains_key("idempotent-replayed");
            (replayed, res.json::<Value>().await.unwrap())
        }
    };
    let (_, failed) = gql(r#"mutation { createTopic(input: { name: "" }) { slug } }"#).await;
    assert_eq!(failed["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let ok = r#"mutation { createTopic(input: { name: "Idempotent Topic" }) { slug version } }"#;
    let (replayed, first) = gql(ok).await;
    assert!(!replayed);
    assert_eq!(
        first["data"]["createTopic"]["slug"], "idempotent-topic",
        "{first}"
    );
    let unchanged = snapshot(&app, &t.admin).await;
    let (replayed, second) = gql(ok).await;
    assert!(replayed);
    assert_eq!(second, first);
    assert_eq!(snapshot(&app, &t.admin).await, unchanged);
}

both!(bulk_import_over_http, import_over_http);

async fn import_over_http(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let good = ndjson(&[
        json!({ "type": "outlet", "name": "Prairie Post", "kind": "newspaper" }),
        json!({ "type": "expert", "name": "Ada Import" }),
        json!({ "type": "article", "title": "Imported over HTTP", "experts": ["Ada Import"],
                "outlet": "Prairie Post", "published_at": "2026-10-01", "language": "en" }),
    ]);
    let bad = ndjson(&[
        json!({ "type": "expert", "name": "Bea Import" }),
        json!({ "type": "article", "title": "Broken", "experts": ["Nobody"], "published_at": "2026-10-01", "language": "en" }),
        json!({ "type": "article", "title": "Fine", "experts": ["Bea Import"], "published_at": "2026-10-02", "language": "en" }),
    ]);
    let before = snapshot(&app, &t.admin).await;
    let (status, _, _) = post_import(&app, &t.contributor, "", good.clone(), None).await;
    assert_eq!(status, 403);
    let res = app
        .client
        .post(format!("{}/api/v1/import", app.addr))
        .bearer_auth(&t.editor)
        .header("content-type", "text/csv")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let (status, _, body) = post_import(&app, &t.editor, "", bad.clone(), None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "IMPORT_REJECTED");
    assert_eq!(body["errors"][0]["field"], "line 2");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Nobody")
    );
    assert_eq!(
        snapshot(&app, &t.admin).await,
        before,
        "a rejected import writes nothing"
    );

    let counts = app.counts().await;
    let (status, _, body) = post_import(&app, &t.editor, "", good.clone(), Some("import-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["committed"], true);
    assert_eq!(body["data"]["created"]["articles"], 1);
    assert_eq!(body["data"]["created"]["experts"], 1);
    assert_eq!(body["data"]["created"]["outlets"], 1);
    let after = app.counts().await;
    assert_eq!(after[0], counts[0] + 1);
    let unchanged = snapshot(&app, &t.admin).await;
    let (status, _, replay) =
        post_import(&app, &t.editor, "", good.clone(), Some("import-1")).await;
    assert_eq!(status, 200);
    assert_eq!(replay, body, "the same key and file replay the answer");
    assert_eq!(
        snapshot(&app, &t.admin).await,
        unchanged,
        "without importing twice"
    );
    let (status, _, _) = post_import(&app, &t.editor, "", bad.clone(), Some("import-1")).await;
    assert_eq!(status, 422, "the same key with another file");
    let a = app
        .gql_ok(
            "{ articles(filter: { expert: \"ada-import\" }) { nodes { title outlet { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(a["articles"]["nodes"][0]["outlet"]["name"], "Prairie Post");

    let (status, _, body) = post_import(&app, &t.editor, "?skip_invalid=true", bad, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["created"]["articles"], 1);
    assert_eq!(body["data"]["error_count"], 1);
    let log = audit_log(&app, &t.admin).await;
    assert_eq!(log[0]["action"], "import");
    assert!(log[0]["actor"].as_str().unwrap().starts_with("key:"));
}

both!(graphql_mutations_for_every_kind, graphql_writes);

async fn graphql_writes(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let create = r#"mutation {
        createTopic(input: { name: "Energy Policy" }) { slug version }
        createOutlet(input: { name: "Prairie Radio", kind: "radio", parent: "CBC" }) { slug parent { slug } version }
        createExpert(input: { name: "Zoe Graph", aliases: ["Zoé Graph"], topics: ["energy-policy"] }) { slug aliases topics { slug } version }
        createEvent(input: { title: "Graph Webinar", kind: "webinar", startsAt: "2027-04-01T16:00:00Z", status: "draft" }) { slug status version }
    }"#;
    let before = snapshot(&app, &t.admin).await;
    let anon = gql_as(&app, None, create, json!({})).await;
    assert_eq!(
        anon["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anon}"
    );
    let contrib = gql_as(&app, Some(&t.contributor), create, json!({})).await;
    assert_eq!(
        contrib["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{contrib}"
    );
    assert_eq!(snapshot(&app, &t.admin).await, before);

    let made = gql_as(&app, Some(&t.editor), create, json!({})).await;
    assert!(made.get("errors").is_none(), "{made}");
    let d = &made["data"];
    assert_eq!(d["createOutlet"]["parent"]["slug"], "cbc");
    assert_eq!(d["createExpert"]["topics"][0]["slug"], "energy-policy");
    assert_eq!(d["createEvent"]["status"], "DRAFT");
    // The accent-free alias resolves in a mention.
    let m = gql_as(
        &app,
        Some(&t.editor),
        r#"mutation { recordMention(input: { title: "Zoe on air", url: "https://radio.example/zoe", outlet: "prairie radio",
            experts: ["zoe graph"], publishedAt: "2026-11-02", language: "en" }) { created article { experts { slug } outlet { slug } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        m["data"]["recordMention"]["article"]["experts"][0]["slug"], "zoe-graph",
        "{m}"
    );

    // Updates carry expectedVersion: stale is a CONFLICT, nothing changes.
    let upd = "mutation($v: Int!) { updateExpert(input: { slug: \"zoe-graph\", expectedVersion: $v, title: \"Fellow\", bioEn: null }) { title version } }";
    let stale = gql_as(&app, Some(&t.editor), upd, json!({ "v": 9 })).await;
    assert_eq!(
        stale["errors"][0]["extensions"]["code"], "CONFLICT",
        "{stale}"
    );
    let ok = gql_as(&app, Some(&t.editor), upd, json!({ "v": 1 })).await;
    assert_eq!(ok["data"]["updateExpert"]["version"], 2, "{ok}");
    assert_eq!(ok["data"]["updateExpert"]["title"], "Fellow");

    // Bad values are BAD_USER_INPUT with every field named.
    let bad = gql_as(
        &app,
        Some(&t.editor),
        r#"mutation { createEvent(input: { title: "", kind: "party", startsAt: "2027-02-30" }) { slug } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );
    let fields: Vec<&str> = bad["errors"][0]["extensions"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["input.title", "input.kind", "input.startsAt"]);
    let unknown = gql_as(
        &app,
        Some(&t.editor),
        r#"mutation { createTopic(input: { name: "X", version: 3 }) { slug } }"#,
        json!({}),
    )
    .await;
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("version"),
        "{unknown}"
    );

    // Publishing an event makes it public; a contributor's article is a draft.
    let ev = d["createEvent"]["slug"].as_str().unwrap();
    assert!(
        app.gql_ok(
            "{ event(slug: $s) { slug } }"
                .replace("$s", &format!("\"{ev}\""))
                .as_str(),
            json!({})
        )
        .await["event"]
            .is_null()
    );
    let p = gql_as(
        &app,
        Some(&t.editor),
        "mutation($s: String!) { publishEvent(slug: $s, expectedVersion: 1) { status version } }",
        json!({ "s": ev }),
    )
    .await;
    assert_eq!(p["data"]["publishEvent"]["status"], "PUBLISHED", "{p}");
    let c = gql_as(
        &app,
        Some(&t.contributor),
        r#"mutation { createArticle(input: { title: "Contributed", publishedAt: "2026-11-03", language: "en", experts: ["Zoe Graph"] }) { slug status createdAt } }"#,
        json!({}),
    )
    .await;
    assert_eq!(c["data"]["createArticle"]["status"], "DRAFT", "{c}");

    // Site settings: admins only.
    let site = "mutation { updateSite(input: { expectedVersion: 1, taglineEn: \"New tagline\" }) { tagline version } }";
    let e = gql_as(&app, Some(&t.editor), site, json!({})).await;
    assert_eq!(e["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let a = gql_as(&app, Some(&t.admin), site, json!({})).await;
    assert_eq!(a["data"]["updateSite"]["tagline"], "New tagline", "{a}");

    // Deletes: the topic goes (and off the expert), the outlet and expert in use stay.
    let del = gql_as(
        &app,
        Some(&t.editor),
        r#"mutation { deleteTopic(slug: "energy-policy", expectedVersion: 1) }"#,
        json!({}),
    )
    .await;
    assert_eq!(del["data"]["deleteTopic"], true, "{del}");
    let z = app
        .gql_ok(
            "{ expert(slug: \"zoe-graph\") { topics { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(z["expert"]["topics"], json!([]));
    let busy = gql_as(
        &app,
        Some(&t.editor),
        r#"mutation { deleteExpert(slug: "zoe-graph", expectedVersion: 2) }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        busy["errors"][0]["extensions"]["code"], "CONFLICT",
        "{busy}"
    );
}

both!(
    only_listed_origins_may_write_from_a_browser,
    cors_for_writes
);

async fn cors_for_writes(backend: Backend) {
    // By default no page on another origin may send a token or write.
    let app = spawn(backend).await;
    let h = preflight(
        &app,
        "/api/v1/experts",
        "https://admin.example",
        "POST",
        "authorization,content-type",
    )
    .await;
    assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");
    let h = preflight(
        &app,
        "/graphql",
        "https://admin.example",
        "POST",
        "authorization,content-type",
    )
    .await;
    assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");

    // With a write origin, that origin may; others still only read.
    let app = spawn_admin_origin(backend, "https://admin.example").await;
    let h = preflight(
        &app,
        "/api/v1/experts/david-perry",
        "https://admin.example",
        "PATCH",
        "authorization,content-type,if-match,idempotency-key",
    )
    .await;
    assert_eq!(h["access-control-allow-origin"], "https://admin.example");
    let methods = h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("PATCH") && methods.contains("DELETE"),
        "{methods}"
    );
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("if-match") && allowed.contains("idempotency-key"),
        "{allowed}"
    );
    let h = preflight(
        &app,
        "/api/v1/experts/david-perry",
        "https://elsewhere.example",
        "PATCH",
        "authorization",
    )
    .await;
    assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");
    let res = app
        .client
        .get(format!("{}/api/v1/articles", app.addr))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://elsewhere.example"
    );
    let t = token_for(&app, "editor").await;
    let res = app
        .client
        .post(format!("{}/api/v1/topics", app.addr))
        .header("origin", "https://admin.example")
        .bearer_auth(&t)
        .json(&json!({ "name": "From the admin page" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://admin.example"
    );
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("location") && exposed.contains("etag"),
        "{exposed}"
    );
}

both!(users_and_keys_are_managed_by_admins, accounts_api);

async fn accounts_api(backend: Backend) {
    let app = spawn(backend).await;
    let t = tokens(&app).await;
    let new_user = json!({ "email": "Writer@Example.org", "password": "a long enough passphrase", "role": "contributor" });
    let new_key = json!({ "name": "partner sync", "role": "editor" });
    let before = snapshot(&app, &t.admin).await;
    for (who, code) in [
        (None, 401),
        (Some(t.contributor.as_str()), 403),
        (Some(t.editor.as_str()), 403),
    ] {
        for (method, path, body) in [
            (Method::GET, "/api/v1/users", None),
            (Method::POST, "/api/v1/users", Some(&new_user)),
            (
                Method::PATCH,
                "/api/v1/users/1",
                Some(&json!({ "active": false })),
            ),
            (Method::GET, "/api/v1/keys", None),
            (Method::POST, "/api/v1/keys", Some(&new_key)),
            (Method::DELETE, "/api/v1/keys/1", None),
        ] {
            let (status, _, res) = call(&app, method.clone(), path, who, body, &[]).await;
            assert_eq!(status, code, "{method} {path}: {res}");
        }
    }
    let q = "{ users { email } apiKeys { prefix } }";
    let res = gql_as(&app, Some(&t.editor), q, json!({})).await;
    assert_eq!(res["errors"][0]["extensions"]["code"], "FORBIDDEN", "{res}");
    let (status, _, res) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&t.admin),
        Some(&json!({ "email": "nobody", "password": "short", "role": "king" })),
        &[],
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {res}");
    assert_eq!(snapshot(&app, &t.admin).await, before);

    // An admin adds a user, who signs in; deactivated, their token stops working.
    let (status, h, res) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&t.admin),
        Some(&new_user),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["data"]["email"], "writer@example.org");
    assert!(res["data"].get("password_hash").is_none());
    let location = h["location"].to_str().unwrap().to_owned();
    let (status, _, login) = call(
        &app,
        Method::POST,
        "/api/v1/auth/token",
        None,
        Some(&json!({ "email": "writer@example.org", "password": "a long enough passphrase" })),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let writer = login["access_token"].as_str().unwrap().to_owned();
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&writer),
        Some(&json!({ "title": "By a user", "published_at": "2026-11-01", "language": "en" })),
        &[],
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&t.admin),
        Some(&new_user),
        &[],
    )
    .await;
    assert_eq!(status, 409, "the e-mail is taken");
    let (status, _, res) = call(
        &app,
        Method::PATCH,
        &location,
        Some(&t.admin),
        Some(&json!({ "active": false })),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["data"]["active"], false);
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/articles?status=draft",
        Some(&writer),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 401, "a deactivated user's token is refused");

    // Keys: created with the secret shown once, listed without it, revoked.
    let (status, _, res) = call(
        &app,
        Method::POST,
        "/api/v1/keys",
        Some(&t.admin),
        Some(&new_key),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let secret = res["data"]["key"].as_str().unwrap().to_owned();
    let id = res["data"]["id"].as_i64().unwrap();
    let (_, _, tok) = call(
        &app,
        Method::POST,
        "/api/v1/auth/token",
        None,
        Some(&json!({ "api_key": secret })),
        &[],
    )
    .await;
    let partner = tok["access_token"].as_str().unwrap().to_owned();
    let (status, _, list) =
        call(&app, Method::GET, "/api/v1/keys", Some(&t.admin), None, &[]).await;
    assert_eq!(status, 200);
    assert!(
        !list.to_string().contains(&secret),
        "secrets are never listed"
    );
    let listed = app_gql_keys(&app, &t.admin).await;
    assert!(listed.contains(&"partner sync".to_owned()), "{listed:?}");
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/keys/{id}"),
        Some(&t.admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(&app, Method::GET, "/api/v1/site", Some(&partner), None, &[]).await;
    assert_eq!(status, 401, "a revoked key's token is refused");
    let log = audit_log(&app, &t.admin).await;
    let actions: Vec<String> = log
        .iter()
        .take(5)
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["entity"].as_str().unwrap()
            )
        })
        .collect();
    for a in [
        "revoke api_key",
        "create api_key",
        "update user",
        "create user",
    ] {
        assert!(
            actions.contains(&a.to_owned()),
            "{a} missing from {actions:?}"
        );
    }
    assert!(!log.iter().any(|e| e.to_string().contains(&secret)));
}

async fn app_gql_keys(app: &TestApp, admin: &str) -> Vec<String> {
    let res = gql_as(
        app,
        Some(admin),
        "{ apiKeys { name revokedAt } users { email active } }",
        json!({}),
    )
    .await;
    assert!(res.get("errors").is_none(), "{res}");
    res["data"]["apiKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_owned())
        .collect()
}

both!(names_resolve_right_after_they_change, names_follow_changes);

async fn names_follow_changes(backend: Backend) {
    let app = spawn(backend).await;
    let t = token_for(&app, "editor").await;
    let post = |name: &'static str, url: &'static str| {
        let (app, t) = (&app, &t);
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/mentions",
                Some(t),
                Some(
                    &json!({ "title": "Names follow", "url": url, "experts": [name],
                              "published_at": "2026-11-02", "language": "en" }),
                ),
                &[],
            )
            .await
        }
    };
    let (status, _, _) = post("Dave P.", "https://example.org/names-1").await;
    assert_eq!(status, 422, "not a known name yet");
    // A new alias through the API is known to the very next mention.
    let (_, h, _) = call(
        &app,
        Method::GET,
        "/api/v1/experts/david-perry",
        Some(&t),
        None,
        &[],
    )
    .await;
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        "/api/v1/experts/david-perry",
        Some(&t),
        Some(&json!({ "aliases": ["Dave P."] })),
        &[("if-match", h["etag"].to_str().unwrap())],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = post("Dave P.", "https://example.org/names-1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["experts"][0]["slug"], "david-perry");
    // So is an expert another process (here the CLI) adds to the same database.
    let (status, _, _) = post("Quinn Other", "https://example.org/names-2").await;
    assert_eq!(status, 422);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.ndjson");
    std::fs::write(
        &f,
        json!({ "type": "expert", "name": "Quinn Other" }).to_string(),
    )
    .unwrap();
    assert!(
        app.cli(&["import", f.to_str().unwrap()], None)
            .status
            .success()
    );
    let (status, _, body) = post("quinn other", "https://example.org/names-2").await;
    assert_eq!(status, 201, "{body}");
}

both!(
    latest_mention_is_the_newest_the_caller_may_see,
    latest_mention
);

async fn latest_mention(backend: Backend) {
    let app = spawn(backend).await;
    let t = token_for(&app, "editor").await;
    let q = r#"{ experts(first: 50) { nodes { slug latestMention { slug } articles(first: 1) { nodes { slug } } } } }"#;
    let check = |d: &Value| {
        for e in d["experts"]["nodes"].as_array().unwrap() {
            assert_eq!(
                e["latestMention"]["slug"], e["articles"]["nodes"][0]["slug"],
                "{}",
                e["slug"]
            );
        }
    };
    let public = app.gql_ok(q, json!({})).await;
    check(&public);
    // A newer draft is the editor's latest mention of Rob Huebert, not the public's.
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&t),
        Some(&json!({ "title": "Newest, unpublished", "experts": ["Rob Huebert"], "published_at": "2026-11-26",
                      "language": "en", "status": "draft" })),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let draft = body["data"]["slug"].clone();
    assert_eq!(app.gql_ok(q, json!({})).await, public);
    let signed_in = gql_as(&app, Some(&t), q, json!({})).await;
    let rob = signed_in["data"]["experts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["slug"] == "rob-huebert")
        .unwrap()
        .clone();
    assert_eq!(rob["latestMention"]["slug"], draft);
    check(&signed_in["data"]);
}
