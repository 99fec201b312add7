//! The derived relevance index (`services::search_index`): one BM25 ranking on
//! both databases, every kind of write reflected in the next search on the node
//! that took it, refused and rolled-back writes reflected nowhere, drafts never
//! shown to the public, cursor pages, and a second node that catches up within
//! the content stamp's bound.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, call, gql_as, post_import, spawn, token_for, within_bound};

const SEARCH: &str = r#"query($q: String!, $a: String) {
    articles(first: 50, after: $a, filter: { query: $q }, orderBy: RELEVANCE) {
        totalCount pageInfo { hasNextPage endCursor } nodes { slug } } }"#;

fn slugs(d: &Value) -> Vec<String> {
    d["articles"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// The slugs a relevance search shows to `token` (anonymous when `None`).
async fn search(app: &TestApp, token: Option<&str>, q: &str) -> Vec<String> {
    let d = gql_as(app, token, SEARCH, json!({ "q": q })).await;
    assert!(d.get("errors").is_none(), "{d}");
    slugs(&d["data"])
}

async fn change_log_rows(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(&app.db.url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM search_changes",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn patch_as(
    app: &TestApp,
    token: &str,
    item: &str,
    patch: &Value,
    tag: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(
        app,
        Method::PATCH,
        item,
        Some(token),
        Some(patch),
        &[("if-match", tag)],
    )
    .await
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let (status, _, b) = call(
        app,
        Method::POST,
        "/api/v1/articles",
        Some(token),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{b}");
    b["data"]["slug"].as_str().unwrap().to_owned()
}

fn article(title: &str, summary: &str, status: &str) -> Value {
    json!({ "title": title, "summary": summary, "outlet": "CBC",
            "experts": ["Ferry de Kerckhove"], "published_at": "2024-03-01",
            "language": "en", "status": status })
}

/// Documents whose BM25 order is clear and differs from what either database
/// engine's own ranking gives for some queries.
async fn seed_corpus(app: &TestApp) {
    let editor = token_for(app, "editor").await;
    for (i, (title, summary)) in [
        ("Oil prices climb", "Oil and gas prices rose again as oil supply fell"),
        ("Prices at the pump", "Oil prices, oil prices, oil prices"),
        ("Energy markets", "A long note that mentions oil once among many other words about energy markets, trade and prices in general"),
        ("Oil", "Short"),
        ("Grain prices and oil", "Farmers watch prices"),
        ("Oil sands", "Alberta oil sands and pipeline prices"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut a = article(title, summary, "published");
        a["published_at"] = json!(format!("2024-03-{:02}", i + 1));
        create(app, &editor, a).await;
    }
}

both!(
    relevance_pages_by_cursor_without_repeats_or_gaps,
    pages_by_cursor
);

async fn pages_by_cursor(backend: Backend) {
    let app = spawn(backend).await;
    seed_corpus(&app).await;
    let all = search(&app, None, "oil prices").await;
    assert!(all.len() >= 5, "{all:?}");
    let q = r#"query($q: String!, $a: String) {
        articles(first: 2, after: $a, filter: { query: $q }, orderBy: RELEVANCE) {
            pageInfo { hasNextPage endCursor } nodes { slug } } }"#;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    // Just past the item whose cursor `after` is.
    let mut at = 0;
    loop {
        let d = app
            .gql_ok(q, json!({ "q": "oil prices", "a": after }))
            .await;
        seen.extend(slugs(&d));
        if !d["articles"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = d["articles"]["pageInfo"]["endCursor"].clone();
        at = seen.len();
    }
    assert_eq!(seen, all);
    // And backwards from the last cursor.
    let d = app
        .gql_ok(
            r#"query($q: String!, $b: String) {
                articles(last: 2, before: $b, filter: { query: $q }, orderBy: RELEVANCE) { nodes { slug } } }"#,
            json!({ "q": "oil prices", "b": after }),
        )
        .await;
    assert!(at >= 3, "{seen:?}");
    assert_eq!(slugs(&d), seen[at - 3..at - 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relevance_order_is_the_same_on_sqlite_and_postgres() {
    let (lite, pg) = tokio::join!(spawn(Backend::Sqlite), spawn(Backend::Postgres));
    tokio::join!(seed_corpus(&lite), seed_corpus(&pg));
    let mut nonempty = 0;
    for q in [
        "oil prices",
        "oil",
        "prices",
        "arctic",
        "canada security",
        "huebert",
        "china trade",
        "defence",
    ] {
        let (a, b) = tokio::join!(search(&lite, None, q), search(&pg, None, q));
        assert_eq!(a, b, "{q:?}");
        nonempty += usize::from(!a.is_empty());
    }
    assert!(nonempty >= 5);
    // The site-wide search ranks its articles the same way.
    let site =
        r#"{ search(query: "oil prices", first: 30) { nodes { ... on Article { slug } } } }"#;
    let (a, b) = tokio::join!(lite.gql_ok(site, json!({})), pg.gql_ok(site, json!({})));
    assert_eq!(a, b);
    assert!(a["search"]["nodes"].as_array().unwrap().len() >= 5, "{a}");
    // BM25 with the title weighted: a short title match comes first, a long
    // document that mentions the words once comes last.
    let order = search(&pg, None, "oil prices").await;
    assert_eq!(
        order.first().map(String::as_str),
        Some("oil-prices-climb"),
        "{order:?}"
    );
    assert_eq!(
        order.last().map(String::as_str),
        Some("energy-markets"),
        "{order:?}"
    );
}

both!(
    every_write_shows_in_the_next_search_on_the_same_node,
    writes_show_at_once
);

async fn writes_show_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    assert!(search(&app, None, "quokka").await.is_empty());

    // Create.
    let slug = create(
        &app,
        &editor,
        article("Quokka census", "Island counts", "published"),
    )
    .await;
    assert_eq!(
        search(&app, None, "quokka").await,
        std::slice::from_ref(&slug)
    );

    // A draft: the editor finds it, the public never does.
    let draft = create(&app, &editor, article("Quokka draft", "Not yet", "draft")).await;
    assert_eq!(
        search(&app, None, "quokka").await,
        std::slice::from_ref(&slug)
    );
    let mine = search(&app, Some(&editor), "quokka").await;
    assert!(mine.contains(&draft) && mine.contains(&slug), "{mine:?}");

    // Update: the title no longer matches, the new one does.
    let item = format!("/api/v1/articles/{slug}");
    let (_, h, _) = call(&app, Method::GET, &item, Some(&editor), None, &[]).await;
    let tag = h["etag"].to_str().unwrap().to_owned();
    let patch = json!({ "title": "Wombat census", "summary": "Island counts" });
    let (status, h, b) = patch_as(&app, &editor, &item, &patch, &tag).await;
    assert_eq!(status, 200, "{b}");
    assert!(search(&app, None, "quokka").await.is_empty());
    assert_eq!(
        search(&app, None, "wombat").await,
        std::slice::from_ref(&slug)
    );

    // Unpublish: gone for the public, still there for the editor.
    let tag = h["etag"].to_str().unwrap().to_owned();
    let patch = json!({ "status": "draft" });
    let (status, h, b) = patch_as(&app, &editor, &item, &patch, &tag).await;
    assert_eq!(status, 200, "{b}");
    assert!(search(&app, None, "wombat").await.is_empty());
    assert_eq!(
        search(&app, Some(&editor), "wombat").await,
        std::slice::from_ref(&slug)
    );

    // A refused write (a stale version) changes nothing, nor the change log.
    let rows = change_log_rows(&app).await;
    let patch = json!({ "title": "Numbat census", "status": "published" });
    let (status, _, _) = patch_as(&app, &editor, &item, &patch, &tag).await;
    assert_eq!(status, 412);
    assert_eq!(change_log_rows(&app).await, rows);
    assert!(search(&app, Some(&editor), "numbat").await.is_empty());

    // Delete.
    let tag = h["etag"].to_str().unwrap().to_owned();
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        &item,
        Some(&editor),
        None,
        &[("if-match", &tag)],
    )
    .await;
    assert!(status == 204 || status == 200, "{status}");
    assert!(search(&app, Some(&editor), "wombat").await.is_empty());

    // recordMention (GraphQL).
    let q = r#"mutation($i: RecordMentionInput!) { recordMention(input: $i) { created article { slug } } }"#;
    let input = json!({ "title": "Platypus patrol", "url": "https://www.cbc.ca/news/platypus", "outlet": "CBC",
                        "experts": ["David Perry"], "publishedAt": "2026-02-04T10:00:00-05:00", "language": "en" });
    let d = gql_as(&app, Some(&editor), q, json!({ "i": input })).await;
    let mention = d["data"]["recordMention"]["article"]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        search(&app, None, "platypus").await,
        std::slice::from_ref(&mention)
    );

    // Renaming an expert changes what their articles match.
    assert!(search(&app, None, "zebulon").await.is_empty());
    let expert = "/api/v1/experts/david-perry";
    let (_, h, _) = call(&app, Method::GET, expert, Some(&editor), None, &[]).await;
    let tag = h["etag"].to_str().unwrap().to_owned();
    let patch = json!({ "name": "David Zebulon Perry" });
    let (status, _, b) = patch_as(&app, &editor, expert, &patch, &tag).await;
    assert_eq!(status, 200, "{b}");
    let z = search(&app, None, "zebulon").await;
    assert!(z.contains(&mention), "{z:?}");

    // Import (REST): one good line is searchable at once; a file with a bad
    // line is rolled back whole and logs nothing.
    let admin = token_for(&app, "admin").await;
    let line = |title: &str, url: &str| {
        json!({"type": "article", "title": title, "url": url, "outlet": "CBC",
               "experts": ["Robert Huebert"], "published_at": "2024-05-01", "language": "en"})
        .to_string()
    };
    let rows = change_log_rows(&app).await;
    let bad = format!(
        "{}\n{}\n",
        line("Bilby boom", "https://example.org/bilby"),
        "{\"type\": \"article\"}"
    );
    let (status, _, b) = post_import(&app, &admin, "", bad, None).await;
    assert!((400..500).contains(&status), "{status} {b}");
    assert_eq!(change_log_rows(&app).await, rows);
    assert!(search(&app, Some(&admin), "bilby").await.is_empty());
    let good = format!("{}\n", line("Bilby boom", "https://example.org/bilby"));
    let (status, _, b) = post_import(&app, &admin, "", good, None).await;
    assert!((200..300).contains(&status), "{status} {b}");
    assert_eq!(search(&app, None, "bilby").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_sees_a_write_within_the_bound() {
    let app = spawn(Backend::Postgres).await;
    let other = crate::freshness::Node::start(&app.db.url).await;
    let client = reqwest::Client::new();
    let seen = |q: &'static str| {
        let (client, addr) = (client.clone(), other.addr.clone());
        async move {
            let res = client
                .post(format!("{addr}/graphql"))
                .json(&json!({ "query": SEARCH, "variables": { "q": q } }))
                .send()
                .await
                .unwrap();
            let body: Value = res.json().await.unwrap();
            slugs(&body["data"])
        }
    };
    // The other node has built its index and answers from it.
    let before = seen("oil").await;
    assert_eq!(before, search(&app, None, "oil").await);
    let editor = token_for(&app, "editor").await;
    let slug = create(
        &app,
        &editor,
        article("Echidna exports", "Spiny", "published"),
    )
    .await;
    within_bound("the other node's search", || {
        let s = seen("echidna");
        let slug = slug.clone();
        async move { s.await == [slug] }
    })
    .await;
}

/// On PostgreSQL the index's position is a snapshot: a transaction left open
/// elsewhere on the cluster (here one holding a transaction id, so it is the
/// oldest running) neither hides later writes from the next search nor makes a
/// catch-up read rows it has applied (nothing shows twice, each write shows once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_transaction_elsewhere_holds_no_write_back() {
    use sea_orm::{ConnectionTrait, Database, TransactionTrait};
    let app = spawn(Backend::Postgres).await;
    let editor = token_for(&app, "editor").await;
    let other = Database::connect(&app.db.url).await.unwrap();
    let open = other.begin().await.unwrap();
    open.execute_unprepared("SELECT pg_current_xact_id()")
        .await
        .unwrap();
    let mut made = Vec::new();
    for (i, title) in ["Quokka census", "Quokka count", "Quokka survey"]
        .iter()
        .enumerate()
    {
        made.push(create(&app, &editor, article(title, "Island counts", "published")).await);
        let mut found = search(&app, None, "quokka").await;
        found.sort();
        let mut want = made.clone();
        want.sort();
        assert_eq!(found, want, "after write {i}");
    }
    open.commit().await.unwrap();
    made.push(
        create(
            &app,
            &editor,
            article("Quokka tally", "Island counts", "published"),
        )
        .await,
    );
    assert_eq!(search(&app, None, "quokka").await.len(), made.len());
}
