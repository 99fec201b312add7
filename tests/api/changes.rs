//! The change log (`services::changes`), read straight from the test database:
//! every committed write through REST, GraphQL, mentions and the import
//! appends the expected entries (kind, op, public before, public after), a
//! refused or rolled-back write appends nothing, and sequence numbers are
//! handed out gapless in commit order, so a reader polling `seq > since`
//! during concurrent writes never sees N+1 before N.

use std::collections::BTreeSet;

use mediadesk::services::changes::{self, ChangeRow};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, call, gql_as, ndjson, post_import, spawn, token_for};

/// (kind, op, was_public, is_public)
type Seen = (String, String, bool, bool);

/// The change log of a test server, read from its database.
struct Log {
    db: DatabaseConnection,
    pos: i64,
}

impl Log {
    /// Starts at the current head.
    async fn at_head(app: &TestApp) -> Self {
        let db = sea_orm::Database::connect(&app.db.url).await.unwrap();
        let pos = changes::head(&db).await.unwrap();
        Self { db, pos }
    }

    async fn head(&self) -> i64 {
        changes::head(&self.db).await.unwrap()
    }

    /// The entries since the last call, checked to be numbered `pos + 1...`
    /// up to the head.
    async fn rows(&mut self) -> Vec<ChangeRow> {
        let rows = changes::read(&self.db, self.pos, 1_000_000).await.unwrap();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.seq, self.pos + 1 + i as i64, "gapless: {rows:#?}");
        }
        self.pos += rows.len() as i64;
        assert_eq!(self.pos, self.head().await, "everything up to the head");
        rows
    }

    /// Like `rows`, as (kind, op, was_public, is_public).
    async fn next(&mut self) -> Vec<Seen> {
        self.rows()
            .await
            .into_iter()
            .map(|r| (r.kind, r.op, r.was_public, r.is_public))
            .collect()
    }

    /// How many batches, and how many not sealed (none may be, once committed).
    async fn batches(&self) -> (i64, i64) {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*), COUNT(*) - COUNT(first_seq) FROM change_batches",
            ))
            .await
            .unwrap()
            .unwrap();
        (
            row.try_get_by_index(0).unwrap(),
            row.try_get_by_index(1).unwrap(),
        )
    }

    async fn entries(&self) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*) FROM changes",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    }
}

fn seen(kind: &str, op: &str, was: bool, is: bool) -> Seen {
    (kind.into(), op.into(), was, is)
}

/// A write that must succeed (changes and deletions based on whatever is current).
async fn ok(app: &TestApp, m: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let any: &[(&str, &str)] = if m == Method::POST {
        &[]
    } else {
        &[("if-match", "*")]
    };
    let (status, _, body) = call(app, m, path, Some(token), body.as_ref(), any).await;
    assert!((200..300).contains(&status), "{path}: {status} {body}");
    body
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    ok(app, Method::POST, path, token, Some(body)).await
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    ok(app, Method::PATCH, path, token, Some(body)).await
}

async fn del(app: &TestApp, path: &str, token: &str) -> Value {
    ok(app, Method::DELETE, path, token, None).await
}

async fn gql_ok(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let body = gql_as(app, Some(token), query, vars).await;
    assert!(body.get("errors").is_none(), "{query}: {body:#}");
    body["data"].clone()
}

both!(a_refused_or_rolled_back_write_logs_nothing, refused_writes);

async fn refused_writes(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let contributor = token_for(&app, "contributor").await;
    let mut log = Log::at_head(&app).await;
    assert!(log.pos > 0, "the demo data is logged");
    let (batches, open) = log.batches().await;
    let entries = log.entries().await;
    assert_eq!(open, 0);

    // Inside the write transaction: a slug clash (409), a stale version (412),
    // an expert still mentioned (409), a mention naming an unknown expert (422).
    let topic = post(
        &app,
        "/api/v1/topics",
        &editor,
        json!({ "name": "Arctic Ice" }),
    )
    .await;
    assert_eq!(log.next().await, [seen("topic", "create", false, true)]);
    let slug = topic["data"]["slug"].as_str().unwrap();
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/topics",
        Some(&editor),
        Some(&json!({ "name": "Again", "slug": slug })),
        &[],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/topics/{slug}"),
        Some(&editor),
        Some(&json!({ "name": "Stale" })),
        &[("if-match", &format!("\"topic-{slug}-v7\""))],
    )
    .await;
    assert_eq!(status, 412, "{body}");
    let article = app
        .get("/api/v1/articles?limit=1")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let expert = article["data"][0]["experts"][0]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, body) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/experts/{expert}"),
        Some(&editor),
        None,
        &[("if-match", "*")],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/mentions",
        Some(&editor),
        Some(&json!({
            "title": "Nobody Known", "url": "https://example.com/nobody", "experts": ["Nobody Known At All"],
            "published_at": "2026-01-02", "language": "en"
        })),
        &[],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    // Before it: a role refused (403), and through GraphQL.
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/topics",
        Some(&contributor),
        Some(&json!({ "name": "Nope" })),
        &[],
    )
    .await;
    assert_eq!(status, 403);
    let body = gql_as(
        &app,
        Some(&editor),
        r#"mutation { createTopic(input: { name: "Again", slug: "arctic-ice" }) { slug } }"#,
        json!({}),
    )
    .await;
    assert!(body["errors"].is_array(), "{body}");

    assert_eq!(log.next().await, Vec::<Seen>::new(), "nothing logged");
    assert_eq!(
        log.batches().await,
        (batches + 1, 0),
        "one batch: the topic's"
    );
    assert_eq!(log.entries().await, entries + 1);
}

both!(every_write_logs_its_kind_op_and_publicity, every_write_kind);

async fn every_write_kind(backend: Backend) {
    let app = spawn(backend).await;
    let contributor = token_for(&app, "contributor").await;
    let editor = token_for(&app, "editor").await;
    let admin = token_for(&app, "admin").await;
    let mut log = Log::at_head(&app).await;

    // Experts, outlets, topics: always public.
    for (path, kind, create, patch) in [
        (
            "/api/v1/experts",
            "expert",
            json!({ "name": "Log Expert" }),
            json!({ "title": "Fellow" }),
        ),
        (
            "/api/v1/outlets",
            "outlet",
            json!({ "name": "Log Outlet", "kind": "online" }),
            json!({ "country": "CA" }),
        ),
        (
            "/api/v1/topics",
            "topic",
            json!({ "name": "Log Topic" }),
            json!({ "name": "Log Topic 2" }),
        ),
    ] {
        let body = ok(&app, Method::POST, path, &editor, Some(create)).await;
        let slug = body["data"]["slug"].as_str().unwrap().to_owned();
        let rows = log.rows().await;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].kind.as_str(),
                rows[0].op.as_str(),
                rows[0].slug.as_str()
            ),
            (kind, "create", slug.as_str())
        );
        assert_eq!((rows[0].version, rows[0].cause.as_str()), (1, "write"));
        assert!(rows[0].actor.starts_with("key:"), "{:?}", rows[0].actor);
        assert!(!rows[0].was_public && rows[0].is_public);
        let item = format!("{path}/{slug}");
        ok(&app, Method::PATCH, &item, &editor, Some(patch)).await;
        let rows = log.rows().await;
        assert_eq!((rows[0].op.as_str(), rows[0].version), ("update", 2));
        del(&app, &item, &editor).await;
        assert_eq!(
            log.next().await,
            [seen(kind, "delete", true, false)],
            "{item}"
        );
    }

    // The same through GraphQL.
    let d = gql_ok(
        &app,
        &editor,
        r#"mutation { createTopic(input: { name: "Gql Topic" }) { slug version } }"#,
        json!({}),
    )
    .await;
    let topic = d["createTopic"]["slug"].as_str().unwrap().to_owned();
    gql_ok(&app, &editor, r#"mutation($s: String!) { updateTopic(input: { slug: $s, expectedVersion: 1, name: "Gql Topic 2" }) { version } }"#, json!({ "s": topic })).await;
    gql_ok(
        &app,
        &editor,
        r#"mutation($s: String!) { deleteTopic(slug: $s, expectedVersion: 2) }"#,
        json!({ "s": topic }),
    )
    .await;
    assert_eq!(
        log.next().await,
        [
            seen("topic", "create", false, true),
            seen("topic", "update", true, true),
            seen("topic", "delete", true, false)
        ]
    );

    // Articles: a contributor's draft is hidden; publishing shows it;
    // unpublishing hides it again; a draft's delete is hidden too.
    let d = gql_ok(
        &app,
        &contributor,
        r#"mutation { createArticle(input: { title: "Log Draft", publishedAt: "2026-01-02", language: "en" }) { slug version status } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["createArticle"]["status"], "DRAFT");
    let article = d["createArticle"]["slug"].as_str().unwrap().to_owned();
    let rows = log.rows().await;
    assert_eq!(
        (
            rows[0].kind.as_str(),
            rows[0].op.as_str(),
            rows[0].was_public,
            rows[0].is_public
        ),
        ("article", "create", false, false)
    );
    let refs: Value = serde_json::from_str(rows[0].refs.as_deref().unwrap()).unwrap();
    assert_eq!(refs, json!({ "o": null, "e": [], "t": [] }));
    patch(
        &app,
        &format!("/api/v1/articles/{article}"),
        &contributor,
        json!({ "summary": "Still a draft" }),
    )
    .await;
    assert_eq!(log.next().await, [seen("article", "update", false, false)]);
    let q = r#"mutation($s: String!, $v: Int!) { publishArticle(slug: $s, expectedVersion: $v) { version } }"#;
    gql_ok(&app, &editor, q, json!({ "s": article, "v": 2 })).await;
    assert_eq!(log.next().await, [seen("article", "publish", false, true)]);
    patch(
        &app,
        &format!("/api/v1/articles/{article}"),
        &editor,
        json!({ "title": "Log Published" }),
    )
    .await;
    assert_eq!(log.next().await, [seen("article", "update", true, true)]);
    let q = r#"mutation($s: String!, $v: Int!) { unpublishArticle(slug: $s, expectedVersion: $v) { version } }"#;
    gql_ok(&app, &editor, q, json!({ "s": article, "v": 4 })).await;
    let rows = log.rows().await;
    assert_eq!(
        (
            rows[0].op.as_str(),
            rows[0].was_public,
            rows[0].is_public,
            rows[0].version
        ),
        ("unpublish", true, false, 5)
    );
    del(&app, &format!("/api/v1/articles/{article}"), &editor).await;
    assert_eq!(log.next().await, [seen("article", "delete", false, false)]);
    // Published, but not before a future publish_at: hidden for now.
    let body = post(&app, "/api/v1/articles", &editor, json!({ "title": "Log Embargoed", "published_at": "2026-01-02", "language": "en", "publish_at": "2099-01-01T00:00:00Z" })).await;
    assert_eq!(log.next().await, [seen("article", "create", false, false)]);
    let embargoed = body["data"]["slug"].as_str().unwrap().to_owned();
    del(&app, &format!("/api/v1/articles/{embargoed}"), &editor).await;
    assert_eq!(log.next().await, [seen("article", "delete", false, false)]);

    // Events: published by default; unpublish and publish over GraphQL.
    let body = post(
        &app,
        "/api/v1/events",
        &editor,
        json!({ "title": "Log Event", "kind": "webinar", "starts_at": "2027-03-01T15:00:00Z" }),
    )
    .await;
    let event = body["data"]["slug"].as_str().unwrap().to_owned();
    let q = r#"mutation($s: String!, $v: Int!) { unpublishEvent(slug: $s, expectedVersion: $v) { version } }"#;
    gql_ok(&app, &editor, q, json!({ "s": event, "v": 1 })).await;
    let q = r#"mutation($s: String!, $v: Int!) { publishEvent(slug: $s, expectedVersion: $v) { version } }"#;
    gql_ok(&app, &editor, q, json!({ "s": event, "v": 2 })).await;
    del(&app, &format!("/api/v1/events/{event}"), &editor).await;
    assert_eq!(
        log.next().await,
        [
            seen("event", "create", false, true),
            seen("event", "unpublish", true, false),
            seen("event", "publish", false, true),
            seen("event", "delete", true, false),
        ]
    );

    // The site: REST and GraphQL.
    patch(
        &app,
        "/api/v1/site",
        &admin,
        json!({ "phone": "+1 403 555 0100" }),
    )
    .await;
    let mut rows = log.rows().await;
    let q = r#"mutation($v: Int!) { updateSite(input: { expectedVersion: $v, phone: "+1 403 555 0101" }) { phone } }"#;
    gql_ok(&app, &admin, q, json!({ "v": rows[0].version })).await;
    rows.extend(log.rows().await);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].version, rows[0].version + 1);
    for r in &rows {
        assert_eq!(
            (
                r.kind.as_str(),
                r.op.as_str(),
                r.object_id,
                r.slug.as_str(),
                r.was_public,
                r.is_public
            ),
            ("site", "update", 1, "site", true, true)
        );
    }

    // A mention that creates its outlet and expert: three entries, one batch.
    let body = post(&app, "/api/v1/mentions", &editor, json!({
            "title": "Log Mention", "url": "https://example.com/log-mention", "outlet": "Log Mention Outlet",
            "experts": ["Log Mention Expert"], "published_at": "2026-01-02", "language": "en", "create_missing": true
        })).await;
    let rows = log.rows().await;
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.op.as_str(),
                r.was_public,
                r.is_public,
                r.cause.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("outlet", "create", false, true, "mention"),
            ("expert", "create", false, true, "mention"),
            ("article", "create", false, true, "mention"),
        ]
    );
    assert_eq!(rows[2].slug, body["data"]["slug"].as_str().unwrap());
    assert_eq!(body["meta"]["created"], true);
    let refs: Value = serde_json::from_str(rows[2].refs.as_deref().unwrap()).unwrap();
    assert_eq!(refs["o"], json!(rows[0].object_id));
    assert_eq!(refs["e"], json!([rows[1].object_id]));
    // Recorded again: known, nothing written, nothing logged.
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/mentions",
        Some(&editor),
        Some(&json!({
            "title": "Log Mention", "url": "https://example.com/log-mention", "outlet": "Log Mention Outlet",
            "experts": ["Log Mention Expert"], "published_at": "2026-01-02", "language": "en"
        })),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A contributor's mention over GraphQL: a hidden draft.
    gql_ok(
        &app,
        &contributor,
        r#"mutation { recordMention(input: { title: "Log Draft Mention", url: "https://example.com/log-draft", experts: ["Log Mention Expert"], publishedAt: "2026-01-03", language: "en" }) { created } }"#,
        json!({}),
    )
    .await;
    assert_eq!(log.next().await, [seen("article", "create", false, false)]);
}

both!(an_import_logs_one_entry_per_object, import_entries);

async fn import_entries(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let contributor = token_for(&app, "contributor").await;
    let mut log = Log::at_head(&app).await;
    let (batches, _) = log.batches().await;

    let mut lines = vec![
        json!({ "type": "topic", "name": "Import Topic" }),
        json!({ "type": "outlet", "name": "Import Outlet", "kind": "online" }),
        json!({ "type": "expert", "name": "Import Expert", "topics": ["Import Topic"] }),
        json!({ "type": "event", "title": "Import Event", "kind": "webinar", "starts_at": "2027-03-01T15:00:00Z", "status": "draft" }),
        // Already there: kept, not logged.
        json!({ "type": "topic", "name": "Import Topic" }),
    ];
    let n = changes::CHUNK + 234;
    for i in 0..n {
        let status = if i % 10 == 0 { "draft" } else { "published" };
        lines.push(json!({
            "type": "article", "title": format!("Imported {i}"), "published_at": "2026-01-02", "language": "en",
            "outlet": "Import Outlet", "experts": ["Import Expert"], "topics": ["Import Topic"], "status": status
        }));
    }
    let (status, _, report) = post_import(&app, &editor, "", ndjson(&lines), None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["data"]["committed"], true, "{report}");
    let rows = log.rows().await;
    assert_eq!(rows.len(), 4 + n, "one entry per object written");
    assert!(
        rows.iter()
            .all(|r| r.cause == "import" && r.op == "create" && r.version == 1 && !r.was_public)
    );
    let kinds: Vec<_> = rows[..4]
        .iter()
        .map(|r| (r.kind.as_str(), r.is_public))
        .collect();
    assert_eq!(
        kinds,
        [
            ("topic", true),
            ("outlet", true),
            ("expert", true),
            ("event", false)
        ]
    );
    let articles = &rows[4..];
    assert!(articles.iter().all(|r| r.kind == "article"));
    assert_eq!(
        articles.iter().filter(|r| !r.is_public).count(),
        n.div_ceil(10)
    );
    let ids: BTreeSet<i32> = articles.iter().map(|r| r.object_id).collect();
    assert_eq!(ids.len(), n, "each article once");
    let refs: Value = serde_json::from_str(articles[0].refs.as_deref().unwrap()).unwrap();
    assert_eq!(
        refs,
        json!({ "o": rows[1].object_id, "e": [rows[2].object_id], "t": [rows[0].object_id] })
    );
    assert_eq!(log.batches().await, (batches + 1, 0), "one batch");

    // A bad line refuses the file (without skip_invalid); a line the caller may
    // not write refuses it too: nothing logged either way.
    let mut bad = lines.clone();
    bad.push(json!({ "type": "article", "title": "No date" }));
    let (status, _, report) = post_import(&app, &editor, "", ndjson(&bad[5..]), None).await;
    assert_eq!(status, 422, "{report}");
    let forbidden = vec![
        json!({ "type": "topic", "name": "Forbidden Topic" }),
        json!({ "type": "site", "name": "X", "tagline_en": "x", "tagline_fr": "x" }),
    ];
    let (status, _, report) = post_import(&app, &contributor, "", ndjson(&forbidden), None).await;
    assert_eq!(status, 403, "{report}");
    assert_eq!(log.next().await, Vec::<Seen>::new());
    assert_eq!(log.batches().await, (batches + 1, 0));

    // Through the CLI too.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("more.ndjson");
    std::fs::write(
        &file,
        ndjson(&[json!({ "type": "topic", "name": "Cli Topic" })]),
    )
    .unwrap();
    let out = app.cli(&["import", file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = log.rows().await;
    assert_eq!(
        (rows.len(), rows[0].kind.as_str(), rows[0].actor.as_str()),
        (1, "topic", "system")
    );
}

both!(
    concurrent_writers_get_gapless_numbers_in_commit_order,
    concurrent_writers
);

/// 16 writers at once; a reader polls `seq > since` all along and must find
/// each page numbered right after the last one it saw (a number committed out
/// of order would show as a gap it skipped, and then as a number it already
/// passed).
async fn concurrent_writers(backend: Backend) {
    let app = std::sync::Arc::new(spawn(backend).await);
    let editor = token_for(&app, "editor").await;
    let log = Log::at_head(&app).await;
    let start = log.pos;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        let url = app.db.url.clone();
        tokio::spawn(async move {
            let db = sea_orm::Database::connect(&url).await.unwrap();
            let mut pos = start;
            let mut polls = 0u64;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let rows = changes::read(&db, pos, 1000).await.unwrap();
                for r in &rows {
                    assert_eq!(r.seq, pos + 1, "seen out of order");
                    pos = r.seq;
                }
                polls += 1;
                if finished && rows.is_empty() {
                    return (pos, polls);
                }
            }
        })
    };
    let writers = 16;
    let each = 8;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let app = app.clone();
        let editor = editor.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..each {
                let (status, _, body) = call(
                    &app,
                    Method::POST,
                    "/api/v1/topics",
                    Some(&editor),
                    Some(&json!({ "name": format!("Concurrent {w} {i}") })),
                    &[],
                )
                .await;
                assert_eq!(status, 201, "{body}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (pos, polls) = reader.await.unwrap();
    let n = writers * each;
    assert_eq!(pos, start + n, "the reader saw every entry ({polls} polls)");
    let head = changes::head(&log.db).await.unwrap();
    assert_eq!(head, start + n);
    let all = changes::read(&log.db, 0, 1_000_000).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "1..=head, gapless");
    let names: BTreeSet<&str> = all[start as usize..]
        .iter()
        .map(|r| r.slug.as_str())
        .collect();
    assert_eq!(names.len() as i64, n, "one entry per write");
}

both!(prune_drops_old_batches_and_raises_the_floor, prune);

async fn prune(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let mut log = Log::at_head(&app).await;
    post(
        &app,
        "/api/v1/topics",
        &editor,
        json!({ "name": "Old Topic" }),
    )
    .await;
    let old = log.rows().await[0].seq;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    post(
        &app,
        "/api/v1/topics",
        &editor,
        json!({ "name": "New Topic" }),
    )
    .await;
    let new = log.rows().await[0].seq;

    let dropped = changes::prune(&log.db, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        dropped, old as u64,
        "the demo data's entries and the old topic's"
    );
    assert_eq!(
        changes::bounds(&log.db).await.unwrap(),
        (new, old),
        "head kept, floor raised"
    );
    let left = changes::read(&log.db, 0, 100).await.unwrap();
    assert_eq!(left.iter().map(|r| r.seq).collect::<Vec<_>>(), [new]);
    assert_eq!(log.batches().await, (1, 0));
    // Nothing more to prune; the next write goes on numbering.
    assert_eq!(
        changes::prune(&log.db, std::time::Duration::from_secs(1))
            .await
            .unwrap(),
        0
    );
    post(
        &app,
        "/api/v1/topics",
        &editor,
        json!({ "name": "Newer Topic" }),
    )
    .await;
    assert_eq!(log.rows().await[0].seq, new + 1);
}

both!(a_rename_touches_what_embeds_it, touches);

/// The kinds and ops of `rows`, sorted.
fn ops(rows: &[ChangeRow]) -> Vec<(String, String)> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|r| (r.kind.clone(), r.op.clone()))
        .collect();
    v.sort();
    v
}

fn n_of(kind: &str, op: &str, n: usize) -> Vec<(String, String)> {
    vec![(kind.to_owned(), op.to_owned()); n]
}

async fn touches(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let mut log = Log::at_head(&app).await;
    let slug = |v: Value| v["data"]["slug"].as_str().unwrap().to_owned();
    let topic = slug(
        post(
            &app,
            "/api/v1/topics",
            &editor,
            json!({ "name": "Touch Topic" }),
        )
        .await,
    );
    let expert = slug(
        post(
            &app,
            "/api/v1/experts",
            &editor,
            json!({ "name": "Touch Expert", "topics": [topic] }),
        )
        .await,
    );
    let parent = slug(
        post(
            &app,
            "/api/v1/outlets",
            &editor,
            json!({ "name": "Touch Parent", "kind": "online" }),
        )
        .await,
    );
    log.rows().await;
    let child = slug(
        post(
            &app,
            "/api/v1/outlets",
            &editor,
            json!({ "name": "Touch Child", "kind": "online", "parent": parent }),
        )
        .await,
    );
    let rows = log.rows().await;
    assert_eq!(
        ops(&rows),
        [
            ("outlet".into(), "create".into()),
            ("outlet".into(), "touch".into())
        ]
    );
    assert_eq!(rows[1].slug, parent, "the parent lists its new child");
    for i in 0..3 {
        post(&app, "/api/v1/articles", &editor, json!({ "title": format!("Touch Article {i}"), "published_at": "2026-01-02", "language": "en",
                "experts": [expert], "outlet": child, "topics": [topic] })).await;
    }
    log.rows().await;

    patch(
        &app,
        &format!("/api/v1/experts/{expert}"),
        &editor,
        json!({ "name": "Touch Expert Renamed" }),
    )
    .await;
    let rows = log.rows().await;
    assert_eq!(
        ops(&rows),
        [n_of("article", "touch", 3), n_of("expert", "update", 1)].concat()
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.was_public && r.is_public && r.version == 1)
    );
    patch(
        &app,
        &format!("/api/v1/experts/{expert}"),
        &editor,
        json!({ "title": "Fellow" }),
    )
    .await;
    assert_eq!(
        ops(&log.rows().await),
        n_of("expert", "update", 1),
        "no name change, no touch"
    );

    patch(
        &app,
        &format!("/api/v1/outlets/{child}"),
        &editor,
        json!({ "name": "Touch Child Renamed" }),
    )
    .await;
    let rows = log.rows().await;
    assert_eq!(
        ops(&rows),
        [
            n_of("article", "touch", 3),
            n_of("outlet", "touch", 1),
            n_of("outlet", "update", 1)
        ]
        .concat()
    );
    patch(
        &app,
        &format!("/api/v1/outlets/{child}"),
        &editor,
        json!({ "country": "CA" }),
    )
    .await;
    assert_eq!(ops(&log.rows().await), n_of("outlet", "update", 1));
    patch(
        &app,
        &format!("/api/v1/outlets/{child}"),
        &editor,
        json!({ "parent": null }),
    )
    .await;
    let rows = log.rows().await;
    assert_eq!(
        ops(&rows),
        [n_of("outlet", "touch", 1), n_of("outlet", "update", 1)].concat(),
        "the old parent"
    );

    del(&app, &format!("/api/v1/topics/{topic}"), &editor).await;
    let rows = log.rows().await;
    assert_eq!(
        ops(&rows),
        [
            n_of("article", "touch", 3),
            n_of("expert", "touch", 1),
            n_of("topic", "delete", 1)
        ]
        .concat()
    );
}

both!(
    a_scheduled_publication_is_logged_once_when_it_comes_due,
    scheduled
);

/// D3's scheduler: an article published with a `publish_at` ahead is logged
/// hidden when written, then, with no other write, as a publication (cause
/// `schedule`, actor `system`) once its time comes, exactly once; one
/// rescheduled past the test or unpublished before its time is not.
async fn scheduled(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let mut log = Log::at_head(&app).await;
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let at = due.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut slugs = vec![];
    for title in ["Due Soon", "Due Later", "Due Never"] {
        let body = json!({ "title": title, "published_at": "2026-01-02", "language": "en", "publish_at": at });
        let body = post(&app, "/api/v1/articles", &editor, body).await;
        slugs.push(body["data"]["slug"].as_str().unwrap().to_owned());
    }
    patch(
        &app,
        &format!("/api/v1/articles/{}", slugs[1]),
        &editor,
        json!({ "publish_at": "2099-01-01T00:00:00Z" }),
    )
    .await;
    patch(
        &app,
        &format!("/api/v1/articles/{}", slugs[2]),
        &editor,
        json!({ "status": "draft" }),
    )
    .await;
    let written = log.next().await;
    assert_eq!(written.len(), 5, "{written:?}");
    assert!(
        written.iter().all(|(_, _, was, is)| !was && !is),
        "{written:?}"
    );

    // Nothing before its time; then one publication, from the scheduler.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let announced = loop {
        // Not `rows()`: the scheduler may commit between its two reads.
        let rows = changes::read(&log.db, log.pos, 100).await.unwrap();
        if !rows.is_empty() {
            // Let anything else it would log land, then take it all.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            break log.rows().await;
        }
        assert!(std::time::Instant::now() < deadline, "not announced");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(chrono::Utc::now() >= due, "announced before its time");
    assert_eq!(announced.len(), 1, "{announced:#?}");
    let a = &announced[0];
    assert_eq!(
        (a.slug.as_str(), a.op.as_str(), a.was_public, a.is_public),
        (slugs[0].as_str(), "publish", false, true)
    );
    assert_eq!((a.cause.as_str(), a.actor.as_str()), ("schedule", "system"));
    // And once only.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(log.next().await, []);
    // The public sees it.
    let res = app
        .client
        .get(format!("{}/api/v1/articles/{}", app.addr, slugs[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

both!(
    a_write_after_the_due_time_logs_the_publication_itself,
    claimed
);

/// A publication that came due while no scheduler announced it (a node was
/// down) is claimed by the next write to the article: its entry says the
/// public did not see it before, so the public learns of it once, as a
/// publication; the scheduler then has nothing left to announce.
async fn claimed(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let body = json!({ "title": "Came Due", "published_at": "2026-01-02", "language": "en" });
    let body = post(&app, "/api/v1/articles", &editor, body).await;
    let slug = body["data"]["slug"].as_str().unwrap().to_owned();
    let id: i32 = {
        let db = sea_orm::Database::connect(&app.db.url).await.unwrap();
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT id FROM articles WHERE slug = {}", arg(backend, 1)),
                [slug.clone().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        let id: i32 = row.try_get_by_index(0).unwrap();
        // Its publication came due a minute ago and was never announced.
        let past = chrono::Utc::now() - chrono::Duration::seconds(60);
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO change_due (kind, object_id, due_at) VALUES ('article', {}, {})",
                arg(backend, 1),
                arg(backend, 2)
            ),
            [id.into(), past.into()],
        ))
        .await
        .unwrap();
        id
    };
    let mut log = Log::at_head(&app).await;
    patch(
        &app,
        &format!("/api/v1/articles/{slug}"),
        &editor,
        json!({ "title": "Came Due, Edited" }),
    )
    .await;
    let rows = log.rows().await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].object_id, id);
    assert_eq!(
        (rows[0].op.as_str(), rows[0].was_public, rows[0].is_public),
        ("update", false, true)
    );
    assert_eq!(changes::announce_due(&log.db).await.unwrap(), 0);
    assert_eq!(log.next().await, []);
}

/// The `n`th statement argument in the dialect of `backend`.
fn arg(backend: sea_orm::DbBackend, n: usize) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}
