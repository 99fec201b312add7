//! The sync API (`GET /api/v1/changes`, GraphQL `changes`): a mirror copied
//! from the lists and caught up through the change log equals a fresh copy,
//! for the public and for an editor, after a burst of writes of every kind
//! from several clients; the public never sees a draft; tokens the log cannot
//! answer are refused (410 / `SYNC_TOKEN_EXPIRED`), garbage is a 400; and a
//! page costs the same number of statements whatever its length.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mediadesk::services::changes;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{
    Backend, TestApp, TestDb, call, gql_as, ndjson, post_import, spawn, spawn_counted, token_for,
};

/// Objects by (kind, global id); the site under ("site", "site").
type Mirror = BTreeMap<(String, String), Value>;

async fn get(app: &TestApp, token: Option<&str>, path: &str) -> Value {
    let (status, _, body) = call(app, Method::GET, path, token, None, &[]).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// A full copy through the list endpoints.
async fn copy(app: &TestApp, token: Option<&str>) -> Mirror {
    let mut m = Mirror::new();
    for (kind, path) in [
        ("article", "/api/v1/articles"),
        ("expert", "/api/v1/experts"),
        ("outlet", "/api/v1/outlets"),
        ("event", "/api/v1/events"),
    ] {
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{path}?limit=100");
            if let Some(c) = &cursor {
                url += &format!("&cursor={c}");
            }
            let body = get(app, token, &url).await;
            for item in body["data"].as_array().unwrap() {
                let id = item["id"].as_str().unwrap().to_owned();
                m.insert((kind.into(), id), item.clone());
            }
            match body["meta"]["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
    }
    for t in get(app, token, "/api/v1/topics").await["data"]
        .as_array()
        .unwrap()
    {
        let id = t["id"].as_str().unwrap().to_owned();
        m.insert(("topic".into(), id), t.clone());
    }
    let site = get(app, token, "/api/v1/site").await;
    m.insert(("site".into(), "site".into()), site["data"].clone());
    m
}

/// The token of the head of the log (the "start here" call).
async fn head(app: &TestApp, token: Option<&str>) -> String {
    let body = get(app, token, "/api/v1/changes").await;
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["meta"]["more"], false);
    body["meta"]["next"].as_str().unwrap().to_owned()
}

/// Applies the changes after `since` to `m`, small pages at a time; the
/// token at the end, and every page's text.
async fn catch_up(
    app: &TestApp,
    token: Option<&str>,
    mut since: String,
    m: &mut Mirror,
) -> (String, String) {
    let mut seen = String::new();
    let mut last_seq = 0;
    loop {
        let body = get(
            app,
            token,
            &format!("/api/v1/changes?since={since}&limit=7"),
        )
        .await;
        seen += &body.to_string();
        for e in body["data"].as_array().unwrap() {
            let seq = e["seq"].as_i64().unwrap();
            assert!(seq > last_seq, "in order: {e}");
            last_seq = seq;
            let kind = e["kind"].as_str().unwrap().to_owned();
            let id = e["id"].as_str().unwrap_or("site").to_owned();
            match e["op"].as_str().unwrap() {
                "upsert" => {
                    assert!(e["data"].is_object(), "{e}");
                    m.insert((kind, id), e["data"].clone());
                }
                "delete" => {
                    assert!(e["data"].is_null(), "{e}");
                    m.remove(&(kind, id));
                }
                other => panic!("op {other}"),
            }
            assert_eq!(e["actor"].is_string(), token.is_some(), "{e}");
        }
        since = body["meta"]["next"].as_str().unwrap().to_owned();
        if body["meta"]["more"] == false {
            return (since, seen);
        }
    }
}

/// A write that must succeed.
async fn write(app: &TestApp, m: Method, path: &str, token: &str, body: Value) -> Value {
    let any: &[(&str, &str)] = if m == Method::POST {
        &[]
    } else {
        &[("if-match", "*")]
    };
    let body = (m != Method::DELETE).then_some(body);
    let (status, _, out) = call(app, m, path, Some(token), body.as_ref(), any).await;
    assert!((200..300).contains(&status), "{path}: {status} {out}");
    out
}

fn slug_of(body: &Value) -> String {
    body["data"]["slug"].as_str().unwrap().to_owned()
}

/// Writes of every kind from six clients at once, and a publication
/// scheduled two seconds ahead; returns when that has come due.
async fn burst(app: &TestApp) {
    let editor = token_for(app, "editor").await;
    let admin = token_for(app, "admin").await;
    let contributor = token_for(app, "contributor").await;
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let (e, a, c) = (editor.as_str(), admin.as_str(), contributor.as_str());
    let articles = async {
        let mut slugs = vec![];
        for i in 0..4 {
            let b = json!({ "title": format!("Sync Burst {i}"), "published_at": format!("2026-02-0{}", i + 1),
                            "language": "en", "experts": ["rob-huebert"] });
            slugs.push(slug_of(
                &write(app, Method::POST, "/api/v1/articles", e, b).await,
            ));
        }
        let path = format!("/api/v1/articles/{}", slugs[0]);
        write(
            app,
            Method::PATCH,
            &path,
            e,
            json!({ "title": "Sync Burst Renamed" }),
        )
        .await;
        write(
            app,
            Method::DELETE,
            &format!("/api/v1/articles/{}", slugs[1]),
            e,
            json!({}),
        )
        .await;
        let path = format!("/api/v1/articles/{}", slugs[2]);
        write(app, Method::PATCH, &path, e, json!({ "status": "draft" })).await;
    };
    let drafts = async {
        let b =
            json!({ "title": "Sync Secret Draft", "published_at": "2026-02-03", "language": "en" });
        write(app, Method::POST, "/api/v1/articles", c, b).await;
        let b = json!({ "title": "Sync Draft Then Published", "published_at": "2026-02-04", "language": "en", "status": "draft" });
        let s = slug_of(&write(app, Method::POST, "/api/v1/articles", e, b).await);
        let path = format!("/api/v1/articles/{s}");
        write(
            app,
            Method::PATCH,
            &path,
            e,
            json!({ "status": "published" }),
        )
        .await;
        let b = json!({ "title": "Sync Scheduled", "published_at": "2026-02-05", "language": "en",
                        "publish_at": due.to_rfc3339_opts(chrono::SecondsFormat::Micros, true) });
        write(app, Method::POST, "/api/v1/articles", e, b).await;
        let path =
            "/api/v1/articles/canadian-russian-officials-set-aside-differences-to-talk-terrorism";
        write(app, Method::PATCH, path, e, json!({ "status": "draft" })).await;
    };
    let mentions = async {
        let b = json!({ "title": "Sync Mention", "url": "https://example.com/sync-mention", "outlet": "Sync Mention Outlet",
                        "experts": ["Sync Mention Expert"], "published_at": "2026-02-06", "language": "en", "create_missing": true });
        write(app, Method::POST, "/api/v1/mentions", e, b).await;
    };
    let import = async {
        let lines = [
            json!({ "type": "expert", "name": "Sync Imported Expert", "topics": ["defence"] }),
            json!({ "type": "article", "title": "Sync Imported 1", "published_at": "2026-02-07", "language": "en", "experts": ["Sync Imported Expert"] }),
            json!({ "type": "article", "title": "Sync Imported 2", "published_at": "2026-02-08", "language": "fr", "status": "draft" }),
        ];
        let (status, _, report) = post_import(app, e, "", ndjson(&lines), None).await;
        assert_eq!(status, 200, "{report}");
    };
    let renames = async {
        write(
            app,
            Method::PATCH,
            "/api/v1/experts/andrew-rasiulis",
            e,
            json!({ "name": "Andrew Rasiulis (Sync)" }),
        )
        .await;
        write(
            app,
            Method::PATCH,
            "/api/v1/outlets/cbc",
            e,
            json!({ "name": "CBC (Sync)" }),
        )
        .await;
        write(app, Method::DELETE, "/api/v1/topics/ukraine", e, json!({})).await;
    };
    let events_and_site = async {
        let b = json!({ "title": "Sync Event", "kind": "webinar", "starts_at": "2027-05-01T15:00:00Z" });
        let s = slug_of(&write(app, Method::POST, "/api/v1/events", e, b).await);
        let path = format!("/api/v1/events/{s}");
        write(app, Method::PATCH, &path, e, json!({ "city": "Ottawa" })).await;
        let b = json!({ "title": "Sync Gone Event", "kind": "webinar", "starts_at": "2027-06-01T15:00:00Z" });
        let s = slug_of(&write(app, Method::POST, "/api/v1/events", e, b).await);
        write(
            app,
            Method::DELETE,
            &format!("/api/v1/events/{s}"),
            e,
            json!({}),
        )
        .await;
        write(
            app,
            Method::PATCH,
            "/api/v1/site",
            a,
            json!({ "phone": "613-555-0100" }),
        )
        .await;
    };
    tokio::join!(articles, drafts, mentions, import, renames, events_and_site);
    let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(300)).await;
}

both!(
    a_mirror_caught_up_through_the_changes_equals_a_fresh_copy,
    mirror
);

async fn mirror(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let mut mirrors = vec![];
    for token in [None, Some(editor.as_str())] {
        let t0 = head(&app, token).await;
        let copied = copy(&app, token).await;
        mirrors.push((token, t0, copied));
    }
    burst(&app).await;
    // The scheduled publication is announced by the scheduler: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for (token, t0, mut m) in mirrors {
        let (mut next, mut seen) = catch_up(&app, token, t0, &mut m).await;
        let fresh = loop {
            let fresh = copy(&app, token).await;
            if fresh == m || std::time::Instant::now() > deadline {
                break fresh;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let (n, s) = catch_up(&app, token, next, &mut m).await;
            (next, seen) = (n, seen + &s);
        };
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            fresh.keys().collect::<Vec<_>>(),
            "{token:?}: the same objects"
        );
        for (k, v) in &fresh {
            assert_eq!(&m[k], v, "{token:?}: {k:?}");
        }
        let titles: Vec<&str> = fresh.values().filter_map(|v| v["title"].as_str()).collect();
        assert!(titles.contains(&"Sync Scheduled"), "{token:?}");
        assert!(titles.contains(&"Sync Burst Renamed"), "{token:?}");
        if token.is_none() {
            assert!(!seen.contains("Sync Secret Draft"), "a draft leaked");
            assert!(!seen.contains("Sync Imported 2"), "a draft leaked");
        } else {
            assert!(seen.contains("Sync Secret Draft"), "editors see drafts");
        }
        // At the head, nothing more; a poll there is a 304 for the public.
        let (status, headers, body) = call(
            &app,
            Method::GET,
            &format!("/api/v1/changes?since={next}"),
            token,
            None,
            &[],
        )
        .await;
        assert_eq!((status, &body["data"]), (200, &json!([])));
        if token.is_none() {
            let etag = headers["etag"].to_str().unwrap().to_owned();
            let (status, _, _) = call(
                &app,
                Method::GET,
                &format!("/api/v1/changes?since={next}"),
                None,
                None,
                &[("if-none-match", etag.as_str())],
            )
            .await;
            assert_eq!(status, 304);
        }
    }
}

both!(graphql_pages_the_same_changes_as_rest, graphql_changes);

async fn graphql_changes(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let t0 = head(&app, None).await;
    let b = json!({ "title": "Gql Sync", "published_at": "2026-02-01", "language": "en" });
    let s = slug_of(&write(&app, Method::POST, "/api/v1/articles", &editor, b).await);
    let b = json!({ "title": "Gql Sync Draft", "published_at": "2026-02-01", "language": "en", "status": "draft" });
    write(&app, Method::POST, "/api/v1/articles", &editor, b).await;
    write(
        &app,
        Method::DELETE,
        &format!("/api/v1/articles/{s}"),
        &editor,
        json!({}),
    )
    .await;
    let rest = get(&app, None, &format!("/api/v1/changes?since={t0}")).await;
    let q = r#"query($a: String) { changes(after: $a, first: 50) {
        edges { cursor node { seq kind op event id slug version actor node { id ... on Article { title } } } }
        pageInfo { endCursor hasNextPage } head } }"#;
    let d = gql_as(&app, None, q, json!({ "a": t0 })).await;
    assert!(d.get("errors").is_none(), "{d:#}");
    let c = &d["data"]["changes"];
    let edges = c["edges"].as_array().unwrap();
    let rest_data = rest["data"].as_array().unwrap();
    assert_eq!(
        edges.len(),
        2,
        "create, delete; the draft is left out: {c:#}"
    );
    assert_eq!(edges.len(), rest_data.len());
    for (e, r) in edges.iter().zip(rest_data) {
        let n = &e["node"];
        assert_eq!(n["seq"].as_str().unwrap(), r["seq"].to_string());
        assert_eq!(
            n["op"].as_str().unwrap().to_lowercase(),
            r["op"].as_str().unwrap()
        );
        assert_eq!(n["event"], r["event"]);
        assert_eq!(n["id"], r["id"]);
        assert_eq!(n["actor"], Value::Null);
    }
    // The article is gone by now: both entries are tombstones.
    assert_eq!(edges[0]["node"]["event"], "article.published");
    assert_eq!(edges[0]["node"]["op"], "DELETE");
    assert_eq!(edges[0]["node"]["node"], Value::Null);
    assert_eq!(edges[1]["node"]["event"], "article.deleted");
    assert_eq!(c["pageInfo"]["endCursor"], rest["meta"]["next"]);
    assert_eq!(c["pageInfo"]["hasNextPage"], false);
    // An editor sees the draft too, with who wrote it, and the node.
    let d = gql_as(&app, Some(&editor), q, json!({ "a": t0 })).await;
    let edges = d["data"]["changes"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 3, "{d:#}");
    assert_eq!(edges[1]["node"]["node"]["title"], "Gql Sync Draft");
    assert!(
        edges[1]["node"]["actor"]
            .as_str()
            .unwrap()
            .starts_with("key:")
    );
    // Paging by one edge's cursor.
    let d = gql_as(&app, None, q, json!({ "a": edges[0]["cursor"] })).await;
    let n = &d["data"]["changes"]["edges"];
    assert_eq!(n.as_array().unwrap().len(), 1, "{d:#}");
    assert_eq!(n[0]["node"]["event"], "article.deleted");
    // Without a token: an empty page at the head.
    let d = gql_as(&app, None, q, json!({ "a": null })).await;
    let c = &d["data"]["changes"];
    assert_eq!(c["edges"], json!([]));
    assert_eq!(c["pageInfo"]["endCursor"], c["head"]);
    assert_eq!(c["head"], rest["meta"]["head"]);
}

both!(tokens_the_log_cannot_answer_are_refused, refused_tokens);

async fn refused_tokens(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let t0 = head(&app, None).await;
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(&t0).unwrap()).unwrap();
    let parts: Vec<&str> = raw.split(':').collect();
    let (epoch, seq): (&str, i64) = (parts[1], parts[2].parse().unwrap());
    let token = |epoch: &str, seq: i64| URL_SAFE_NO_PAD.encode(format!("c1:{epoch}:{seq}"));

    let gone = |what: &'static str, t: String| {
        let app = &app;
        async move {
            let (status, headers, body) = call(
                app,
                Method::GET,
                &format!("/api/v1/changes?since={t}"),
                None,
                None,
                &[],
            )
            .await;
            assert_eq!(status, 410, "{what}: {body}");
            assert_eq!(headers["content-type"], "application/problem+json");
            assert_eq!(body["code"], "SYNC_TOKEN_EXPIRED", "{what}");
            let d = gql_as(
                app,
                None,
                "query($a: String) { changes(after: $a) { head } }",
                json!({ "a": t }),
            )
            .await;
            assert_eq!(
                d["errors"][0]["extensions"]["code"], "SYNC_TOKEN_EXPIRED",
                "{what}: {d}"
            );
        }
    };
    gone("another database", token("00000000deadbeef", seq)).await;
    gone("ahead of the log", token(epoch, seq + 1000)).await;
    for bad in ["nonsense", &URL_SAFE_NO_PAD.encode("c1:x")] {
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("/api/v1/changes?since={bad}"),
            None,
            None,
            &[],
        )
        .await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert_eq!(body["errors"][0]["field"], "since", "{body}");
    }
    for limit in ["0", "1001", "x"] {
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("/api/v1/changes?since={t0}&limit={limit}"),
            None,
            None,
            &[],
        )
        .await;
        assert_eq!(status, 400, "{limit}: {body}");
    }
    // Pruned past: the entries after T0 are gone once the log drops them.
    let b = json!({ "title": "Sync Pruned", "published_at": "2026-02-01", "language": "en" });
    write(&app, Method::POST, "/api/v1/articles", &editor, b).await;
    let t1 = head(&app, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let db = sea_orm::Database::connect(&app.db.url).await.unwrap();
    assert!(
        changes::prune(&db, std::time::Duration::from_secs(1))
            .await
            .unwrap()
            > 0
    );
    gone("pruned", t0).await;
    // The head token after the pruned batches still answers.
    let body = get(&app, None, &format!("/api/v1/changes?since={t1}")).await;
    assert_eq!(body["data"], json!([]));
}

both!(
    a_page_costs_the_same_statements_whatever_its_length,
    constant_statements
);

async fn constant_statements(backend: Backend) {
    let (app, counter) = spawn_counted(TestDb::new(backend).await).await;
    let editor = token_for(&app, "editor").await;
    let t0 = head(&app, Some(&editor)).await;
    let mut lines = vec![
        json!({ "type": "topic", "name": "Counted Topic" }),
        json!({ "type": "outlet", "name": "Counted Outlet", "kind": "online" }),
        json!({ "type": "expert", "name": "Counted Expert", "topics": ["Counted Topic"] }),
        json!({ "type": "event", "title": "Counted Event", "kind": "webinar", "starts_at": "2027-03-01T15:00:00Z" }),
    ];
    for i in 0..120 {
        lines.push(json!({ "type": "article", "title": format!("Counted {i}"), "published_at": "2026-01-02",
                           "language": "en", "outlet": "Counted Outlet", "experts": ["Counted Expert"], "topics": ["Counted Topic"] }));
    }
    let (status, _, report) = post_import(&app, &editor, "", ndjson(&lines), None).await;
    assert_eq!(status, 200, "{report}");
    let mut counts = vec![];
    for limit in [5, 50, 124] {
        counter.reset();
        let body = get(
            &app,
            Some(&editor),
            &format!("/api/v1/changes?since={t0}&limit={limit}"),
        )
        .await;
        assert_eq!(body["data"].as_array().unwrap().len(), limit);
        counts.push(counter.get());
    }
    eprintln!("{backend:?}: statements per page of 5, 50, 124 changes: {counts:?}");
    assert!(counts.iter().all(|c| *c == counts[0]), "{counts:?}");
}
