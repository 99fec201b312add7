//! Coverage statistics (`GET /api/v1/stats/mentions`, GraphQL `mentionStats`):
//! counts equal a recount of the public article list, drafts and scheduled
//! articles never count before their time, every write path moves them, CSV is
//! well formed and defused, bad input is a 400 that changes nothing.

use std::collections::BTreeMap;

use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, call, ndjson, post_import, snapshot, spawn, token_for};

/// Every article the public list shows for `query` (all pages).
async fn public_articles(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/v1/articles?limit=100&{query}");
    loop {
        let (status, _, body) = call(app, Method::GET, &path, None, None, &[]).await;
        assert_eq!(status, 200, "{body}");
        out.extend(body["data"].as_array().unwrap().iter().cloned());
        match body["meta"]["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/articles?limit=100&{query}&cursor={c}"),
            None => return out,
        }
    }
}

/// The recount: for each article, the values of `key` it has.
fn recount(articles: &[Value], key: &str) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for a in articles {
        let values: Vec<String> = match key {
            "expert" | "topic" => a[format!("{key}s")]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["slug"].as_str().unwrap().to_owned())
                .collect(),
            "outlet" => a["outlet"]["slug"]
                .as_str()
                .map(str::to_owned)
                .into_iter()
                .collect(),
            "language" => vec![a["language"].as_str().unwrap().to_owned()],
            "month" => vec![a["published_at"].as_str().unwrap()[..7].to_owned()],
            "week" => {
                let at = chrono::DateTime::parse_from_rfc3339(a["published_at"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&chrono::Utc);
                let w = chrono::Datelike::iso_week(&at);
                vec![format!("{}-W{:02}", w.year(), w.week())]
            }
            other => panic!("no recount for {other}"),
        };
        for v in values {
            *m.entry(v).or_default() += 1;
        }
    }
    m
}

/// `GET /api/v1/stats/mentions?{query}` as a map from the `key` column to the count.
async fn stats(app: &TestApp, query: &str, key: &str) -> BTreeMap<String, i64> {
    let (status, _, body) = call(
        app,
        Method::GET,
        &format!("/api/v1/stats/mentions?{query}&limit=1000"),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{query}: {body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g[key].as_str().unwrap().to_owned(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// An expert's count, the same read from the rollups (every expert) and from
/// the tables (a filter on the expert).
async fn expert_count(app: &TestApp, slug: &str) -> i64 {
    let filtered = stats(app, &format!("group_by=expert&expert={slug}"), "expert").await;
    let all = stats(app, "group_by=expert", "expert").await;
    let n = all.get(slug).copied().unwrap_or(0);
    assert_eq!(filtered.get(slug).copied().unwrap_or(0), n);
    n
}

/// Recounts every stale bucket of the rollups (as the server does after a
/// write), then checks that the rollups equal a recount of the tables.
async fn fresh(app: &TestApp, what: &str) {
    let db = mediadesk::db::connect(&app.db.url, 2).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        mediadesk::services::stats::refresh(&db.conn).await.unwrap();
        // The server's own refresher may hold the turn: wait until none is stale.
        let stale = db
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                db.conn.get_database_backend(),
                "SELECT COUNT(*) AS n FROM stats_dirty",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        if stale == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: buckets stay stale"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let wrong = mediadesk::services::stats::verify(&db.conn).await.unwrap();
    assert!(
        wrong.is_empty(),
        "{what}: the rollups differ from a recount: {wrong:?}"
    );
}

/// An expert's count as written (stale buckets read from the tables) and
/// after the rollups are recounted.
async fn check(app: &TestApp, slug: &str, want: i64, what: &str) {
    assert_eq!(expert_count(app, slug).await, want, "{what}");
    fresh(app, what).await;
    assert_eq!(
        expert_count(app, slug).await,
        want,
        "{what}, from the rollups"
    );
}

both!(counts_equal_a_recount_of_the_public_list, recount_matches);

async fn recount_matches(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    // Hidden articles of every kind, which the recount does not see.
    for (slug, extra) in [
        ("hidden-draft", json!({"status": "draft"})),
        ("hidden-archived", json!({"status": "archived"})),
        (
            "hidden-scheduled",
            json!({"publish_at": "2099-01-01T00:00:00Z"}),
        ),
    ] {
        create(&app, &editor, slug, extra).await;
    }
    compare_with_recount(&app).await;
    fresh(&app, "the demo data").await;
    compare_with_recount(&app).await;
}

/// Every grouping equals a recount of the public list.
async fn compare_with_recount(app: &TestApp) {
    let articles = public_articles(app, "").await;
    for key in ["expert", "outlet", "topic", "language", "month", "week"] {
        assert_eq!(
            stats(app, &format!("group_by={key}"), key).await,
            recount(&articles, key),
            "group_by={key}"
        );
    }
    // Two keys: each (expert, month) pair.
    let (_, _, body) = call(
        app,
        Method::GET,
        "/api/v1/stats/mentions?group_by=expert,month&limit=1000",
        None,
        None,
        &[],
    )
    .await;
    let mut pairs = BTreeMap::new();
    for a in &articles {
        for e in a["experts"].as_array().unwrap() {
            let k = format!(
                "{} {}",
                e["slug"].as_str().unwrap(),
                &a["published_at"].as_str().unwrap()[..7]
            );
            *pairs.entry(k).or_insert(0i64) += 1;
        }
    }
    let got: BTreeMap<String, i64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                format!(
                    "{} {}",
                    g["expert"].as_str().unwrap(),
                    g["month"].as_str().unwrap()
                ),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, pairs);
    assert_eq!(body["meta"]["total"], articles.len() as i64);
    // A filter and a date range: the list's rules.
    let from_to = "from=2020-01-01&to=2023-01-01&lang=en";
    let list = public_articles(app, from_to).await;
    assert_eq!(
        stats(app, &format!("group_by=topic&{from_to}"), "topic").await,
        recount(&list, "topic")
    );
    // Outlets roll up to their top parent: CBC holds CBC Radio One and CBC Newsroom.
    let own = stats(app, "group_by=outlet", "outlet").await;
    let rolled = stats(app, "group_by=outlet&roll_up=true", "outlet").await;
    let family: i64 = ["cbc", "cbc-radio-one", "cbc-newsroom"]
        .iter()
        .filter_map(|s| own.get(*s))
        .sum();
    assert_eq!(rolled.get("cbc").copied().unwrap_or(0), family);
    assert!(!rolled.contains_key("cbc-radio-one") && !rolled.contains_key("cbc-newsroom"));
    // GraphQL counts the same.
    let d = app
        .gql_ok(
            "{ mentionStats(groupBy: [EXPERT], limit: 1000) { total groups { count keys { by value label } } } }",
            json!({}),
        )
        .await;
    let gql: BTreeMap<String, i64> = d["mentionStats"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["keys"][0]["value"].as_str().unwrap().to_owned(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(gql, recount(&articles, "expert"));
    // A date range alone, cutting buckets: whole ones from the rollups, the
    // ends from the tables.
    for from_to in [
        "from=2021-03-15&to=2024-06-10",
        "from=2022-06-27&to=2022-07-04T12:00:00Z",
    ] {
        let list = public_articles(app, from_to).await;
        for key in ["expert", "month", "week", "outlet"] {
            assert_eq!(
                stats(app, &format!("group_by={key}&{from_to}"), key).await,
                recount(&list, key),
                "group_by={key}&{from_to}"
            );
        }
    }
}

/// Creates an article quoting Rob Huebert through REST (published unless
/// `extra` says otherwise).
async fn create(app: &TestApp, token: &str, slug: &str, extra: Value) -> Value {
    let mut body = json!({
        "slug": slug, "title": format!("Stats {slug}"), "published_at": "2024-05-06",
        "language": "en", "experts": ["rob-huebert"], "outlet": "cbc-radio-one",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, _, res) = call(
        app,
        Method::POST,
        "/api/v1/articles",
        Some(token),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{res}");
    res["data"].clone()
}

both!(counts_move_with_every_write_path, counts_move);

async fn counts_move(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let e = "rob-huebert";
    let mut want = expert_count(&app, e).await;

    create(&app, &editor, "s-rest", json!({})).await;
    want += 1;
    check(&app, e, want, "REST create").await;
    create(&app, &editor, "s-draft", json!({"status": "draft"})).await;
    create(
        &app,
        &editor,
        "s-later",
        json!({"publish_at": "2099-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        expert_count(&app, e).await,
        want,
        "a draft and a scheduled article"
    );

    let q = "mutation($i: CreateArticleInput!) { createArticle(input: $i) { slug } }";
    let i = json!({"title": "Stats GraphQL", "publishedAt": "2024-05-07", "language": "EN", "experts": [e]});
    let r = crate::helpers::gql_as(&app, Some(&editor), q, json!({"i": i})).await;
    assert!(r.get("errors").is_none(), "{r}");
    want += 1;
    check(&app, e, want, "GraphQL createArticle").await;

    let m = json!({"title": "Stats mention", "url": "https://example.com/stats-1", "experts": ["Rob Huebert"],
        "published_at": "2024-05-08", "language": "en"});
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/mentions",
        Some(&editor),
        Some(&m),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    want += 1;
    check(&app, e, want, "recordMention").await;

    let line = json!({"type": "article", "slug": "s-import", "title": "Stats import", "experts": [e],
        "published_at": "2024-05-09", "language": "en"});
    let (status, _, body) = post_import(&app, &editor, "", ndjson(&[line]), None).await;
    assert_eq!(status, 200, "{body}");
    want += 1;
    check(&app, e, want, "import").await;

    for (method, slug, version, patch, delta, what) in [
        (
            Method::PATCH,
            "s-rest",
            1,
            Some(json!({"status": "draft"})),
            -1,
            "unpublish",
        ),
        (
            Method::PATCH,
            "s-draft",
            1,
            Some(json!({"status": "published"})),
            1,
            "publish",
        ),
        (
            Method::PATCH,
            "s-draft",
            2,
            Some(json!({"published_at": "2019-02-03"})),
            0,
            "moved to another month",
        ),
        (
            Method::PATCH,
            "s-draft",
            3,
            Some(json!({"experts": [], "outlet": "cbc", "language": "fr"})),
            -1,
            "expert, outlet and language changed",
        ),
        (Method::DELETE, "s-import", 1, None, -1, "delete"),
    ] {
        let tag = format!("\"article-{slug}-v{version}\"");
        let path = format!("/api/v1/articles/{slug}");
        let headers = [("if-match", tag.as_str())];
        let (status, _, body) =
            call(&app, method, &path, Some(&editor), patch.as_ref(), &headers).await;
        assert!(status == 200 || status == 204, "{what}: {status} {body}");
        want += delta;
        check(&app, e, want, what).await;
    }
    compare_with_recount(&app).await;

    // A scheduled publication counts from its time on, with no write at all.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    create(&app, &editor, "s-soon", json!({"publish_at": soon})).await;
    check(&app, e, want, "scheduled, not yet due").await;
    want += 1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while expert_count(&app, e).await != want {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled article never counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    check(&app, e, want, "scheduled, now due").await;
    compare_with_recount(&app).await;
}

both!(csv_is_well_formed_and_defused, csv_output);

async fn csv_output(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let hostile = "=HYPERLINK(\"http://x\"), \"Doe\"\nJr";
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/experts",
        Some(&editor),
        Some(&json!({"slug": "hostile", "name": hostile})),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let a = json!({"title": "Hostile", "published_at": "2024-01-02", "language": "en", "experts": ["hostile"]});
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&editor),
        Some(&a),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let url = format!("{}/api/v1/stats/mentions?group_by=expert,week", app.addr);
    let res = app
        .client
        .get(&url)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(res.headers()["vary"].to_str().unwrap().contains("Accept"));
    let text = res.text().await.unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        ["expert", "expert_name", "week", "week_start", "count"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let row = rows
        .iter()
        .find(|r| &r[0] == "hostile")
        .expect("the hostile expert's row");
    assert_eq!(&row[1], format!("'{hostile}"));
    assert_eq!((&row[2], &row[3], &row[4]), ("2024-W01", "2024-01-01", "1"));
    // The same counts as the JSON, which is cached apart.
    let json_res = app.client.get(&url).send().await.unwrap();
    assert!(
        json_res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = json_res.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), rows.len());
}

both!(bad_input_is_a_400_that_changes_nothing, bad_input);

async fn bad_input(backend: Backend) {
    let app = spawn(backend).await;
    let admin = token_for(&app, "admin").await;
    let before = snapshot(&app, &admin).await;
    for (query, field) in [
        ("", "group_by"),
        ("group_by=expert,colour", "group_by"),
        ("group_by=expert,outlet", "group_by"),
        ("group_by=month,week", "group_by"),
        ("group_by=expert&roll_up=true", "roll_up"),
        ("group_by=month&from=2024-02-01&to=2024-01-01", "from"),
        ("group_by=month&limit=0", "limit"),
        ("group_by=month&status=draft", "status"),
        ("group_by=month&from=yesterday", "from"),
    ] {
        let (status, headers, body) = call(
            &app,
            Method::GET,
            &format!("/api/v1/stats/mentions?{query}"),
            None,
            None,
            &[],
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/problem+json")
        );
        assert!(body.to_string().contains(field), "{query}: {body}");
    }
    let r = app
        .gql(
            "{ mentionStats(groupBy: [EXPERT, TOPIC]) { total } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{r}"
    );
    assert_eq!(snapshot(&app, &admin).await, before);
}
