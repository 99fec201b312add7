//! Slugs of new records: the title's (or name's) slug, with `-2`, `-3`, ...
//! only on a real collision, on every path (import, REST and GraphQL creates,
//! mentions) and under concurrent creation; a taken explicit slug stays a 409.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, call, ndjson, post_import, snapshot, spawn, token_for};

const TITLE: &str = "Tariffs bite";

async fn import(app: &TestApp, token: &str, lines: &[Value]) -> Value {
    let (status, body) = import_status(app, token, lines).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

async fn import_status(app: &TestApp, token: &str, lines: &[Value]) -> (u16, Value) {
    let (status, _, body) = post_import(app, token, "", ndjson(lines), None).await;
    (status, body)
}

fn article(title: &str, day: u32) -> Value {
    json!({ "type": "article", "title": title, "outlet": "CBC",
            "published_at": format!("2026-03-{day:02}"), "language": "en" })
}

/// The slugs of the articles titled `title`, oldest first.
async fn slugs_of(app: &TestApp, token: &str, title: &str) -> Vec<String> {
    let (status, _, body) = call(
        app,
        Method::GET,
        "/api/v1/articles?limit=100",
        Some(token),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let mut out: Vec<(String, String)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["title"] == title)
        .map(|a| {
            (
                a["published_at"].as_str().unwrap().to_owned(),
                a["slug"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, s)| s).collect()
}

fn numbered(base: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            if i == 1 {
                base.to_owned()
            } else {
                format!("{base}-{i}")
            }
        })
        .collect()
}

both!(
    articles_of_one_title_get_its_slug_then_2_3_on_every_path,
    one_title_on_every_path
);

async fn one_title_on_every_path(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;

    // Three lines of one title in one file: `t`, `t-2`, `t-3`.
    let r = import(
        &app,
        &editor,
        &[article(TITLE, 1), article(TITLE, 2), article(TITLE, 3)],
    )
    .await;
    assert_eq!(r["created"]["articles"], 3, "{r}");
    assert_eq!(
        slugs_of(&app, &editor, TITLE).await,
        numbered("tariffs-bite", 3)
    );

    // A second import goes on at `t-4`.
    let r = import(&app, &editor, &[article(TITLE, 4)]).await;
    assert_eq!(r["created"]["articles"], 1, "{r}");

    // A REST create and a GraphQL create take the next ones.
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&editor),
        Some(&json!({ "title": TITLE, "published_at": "2026-03-05", "language": "en" })),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["slug"], "tariffs-bite-5");
    let res: Value = app
        .client
        .post(format!("{}/graphql", app.addr))
        .bearer_auth(&editor)
        .json(&json!({ "query": format!(
            r#"mutation {{ createArticle(input: {{ title: "{TITLE}", publishedAt: "2026-03-06", language: "en" }}) {{ slug }} }}"#
        ) }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        res["data"]["createArticle"]["slug"], "tariffs-bite-6",
        "{res}"
    );
    assert_eq!(
        slugs_of(&app, &editor, TITLE).await,
        numbered("tariffs-bite", 6)
    );

    // An explicit slug that is taken is still refused, and nothing changes.
    let admin = token_for(&app, "admin").await;
    let before = snapshot(&app, &admin).await;
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&editor),
        Some(&json!({ "slug": "tariffs-bite-2", "title": "Other", "published_at": "2026-03-07", "language": "en" })),
        &[],
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let mut line = article("Other", 7);
    line["slug"] = json!("tariffs-bite");
    let (status, r) = import_status(&app, &editor, &[line]).await;
    assert_eq!(status, 422, "{r}");
    assert!(
        r.to_string()
            .contains("slug \\\"tariffs-bite\\\" already exists"),
        "{r}"
    );
    assert_eq!(snapshot(&app, &admin).await, before);

    // The demo articles have their titles' slugs.
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/articles/g7-update",
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
}

both!(
    ten_concurrent_creates_of_one_title_all_succeed_with_distinct_slugs,
    concurrent_creates
);

async fn concurrent_creates(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let creates = (0..10).map(|i| {
        let body = json!({ "title": "Budget day", "published_at": format!("2026-04-{:02}", i + 1),
                           "language": "en" });
        let (app, editor) = (&app, &editor);
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/articles",
                Some(editor),
                Some(&body),
                &[],
            )
            .await
        }
    });
    let mut slugs: Vec<String> = futures_util::future::join_all(creates)
        .await
        .into_iter()
        .map(|(status, _, body)| {
            assert_eq!(status, 201, "{body}");
            body["data"]["slug"].as_str().unwrap().to_owned()
        })
        .collect();
    let mut want = numbered("budget-day", 10);
    slugs.sort();
    want.sort();
    assert_eq!(slugs, want);
}

both!(
    ten_concurrent_mentions_of_one_title_all_succeed_with_clean_distinct_slugs,
    concurrent_mentions
);

async fn concurrent_mentions(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let posts = (0..10).map(|i| {
        let body = json!({ "title": "Arctic watch", "url": format!("https://example.org/arctic/{i}"),
                           "outlet": "CBC", "experts": ["Robert Huebert"],
                           "published_at": "2026-02-03", "language": "en",
                           "create_missing": i % 2 == 0 });
        let (app, editor) = (&app, &editor);
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/mentions",
                Some(editor),
                Some(&body),
                &[],
            )
            .await
        }
    });
    let mut slugs: Vec<String> = futures_util::future::join_all(posts)
        .await
        .into_iter()
        .map(|(status, _, body)| {
            assert_eq!(status, 201, "{body}");
            body["data"]["slug"].as_str().unwrap().to_owned()
        })
        .collect();
    slugs.sort();
    let mut want = numbered("arctic-watch", 10);
    want.sort();
    assert_eq!(slugs, want);
}

both!(
    experts_outlets_topics_and_events_follow_the_same_slug_rule,
    every_kind
);

async fn every_kind(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let kinds = [
        ("experts", json!({ "name": "Ann Lee" }), "ann-lee"),
        (
            "outlets",
            json!({ "name": "Lake Radio", "kind": "radio" }),
            "lake-radio",
        ),
        ("topics", json!({ "name": "Water" }), "water"),
        (
            "events",
            json!({ "title": "Water summit", "kind": "conference", "starts_at": "2027-05-01T09:00:00Z" }),
            "water-summit",
        ),
    ];
    for (kind, body, base) in kinds {
        let path = format!("/api/v1/{kind}");
        let mut got = Vec::new();
        for _ in 0..3 {
            let (status, _, res) =
                call(&app, Method::POST, &path, Some(&editor), Some(&body), &[]).await;
            assert_eq!(status, 201, "POST {path}: {res}");
            got.push(res["data"]["slug"].as_str().unwrap().to_owned());
        }
        assert_eq!(got, numbered(base, 3), "{kind}");
        // A taken explicit slug is a 409.
        let mut explicit = body.clone();
        explicit["slug"] = json!(format!("{base}-2"));
        let (status, _, res) = call(
            &app,
            Method::POST,
            &path,
            Some(&editor),
            Some(&explicit),
            &[],
        )
        .await;
        assert_eq!(status, 409, "POST {path}: {res}");
    }
    // An imported event without a slug follows the rule too.
    let r = import(
        &app,
        &editor,
        &[
            json!({ "type": "event", "title": "Water summit", "kind": "conference",
                   "starts_at": "2027-06-01T09:00:00Z" }),
        ],
    )
    .await;
    assert_eq!(r["created"]["events"], 1, "{r}");
    let (status, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/events/water-summit-4",
        Some(&editor),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
}
