//! `mediadesk import`: a generated file imports with exact counts; bad lines are
//! reported by number and leave the database exactly as it was.

use std::collections::HashMap;
use std::io::Write;

use serde_json::json;

use crate::both;
use crate::helpers::{Backend, TestDb, generate, snapshot, spawn, spawn_with, token_for};

fn type_counts(path: &std::path::Path) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        *counts
            .entry(v["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

both!(
    a_generated_2000_article_file_imports_with_matching_counts,
    gen_file_imports
);

async fn gen_file_imports(backend: Backend) {
    let app = spawn_with(TestDb::new(backend).await, false, None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.ndjson");
    generate(&file, 7, 2000, 120);
    let want = type_counts(&file);

    let out = app.cli(&["import", file.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "import failed: {stderr}");
    assert!(stderr.contains("2000 articles"), "{stderr}");

    let [articles, experts, outlets, events, topics] = app.counts().await;
    assert_eq!(articles, want["article"]);
    assert_eq!(experts, want["expert"]);
    assert_eq!(outlets, want["outlet"]);
    assert_eq!(events, want["event"]);
    assert_eq!(topics, want["topic"]);

    // Spot-check one imported article end to end, with its experts in order.
    let first = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "article" && v["experts"].as_array().unwrap().len() > 1)
        .unwrap();
    let d = app
        .gql_ok(
            "query($s: String!) { article(slug: $s) { title url outlet { slug } experts { slug } } }",
            json!({ "s": first["slug"] }),
        )
        .await;
    assert_eq!(d["article"]["title"], first["title"]);
    assert_eq!(d["article"]["url"], first["url"]);
    assert_eq!(d["article"]["outlet"]["slug"], first["outlet"]);
    let experts: Vec<&serde_json::Value> = d["article"]["experts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["slug"])
        .collect();
    let want_experts: Vec<&serde_json::Value> =
        first["experts"].as_array().unwrap().iter().collect();
    assert_eq!(experts, want_experts);
}

fn write(lines: &[serde_json::Value]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.ndjson");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    (dir, path)
}

fn article(title: &str, url: &str, outlet: &str) -> serde_json::Value {
    json!({"type": "article", "title": title, "url": url, "outlet": outlet,
           "experts": ["Robert Huebert"], "published_at": "2024-05-01", "language": "en"})
}

both!(
    bad_lines_are_reported_by_number_and_change_nothing,
    bad_lines_change_nothing
);

async fn bad_lines_change_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let admin = token_for(&app, "admin").await;
    let before = app.counts().await;
    let unchanged = snapshot(&app, &admin).await;
    let good_outlet = json!({"type": "outlet", "slug": "brand-new-outlet", "name": "Brand New Outlet", "kind": "online"});
    let good = article(
        "A valid new mention",
        "https://example.org/a",
        "Brand New Outlet",
    );

    // A malformed line.
    let (_d1, malformed) = write(&[good_outlet.clone(), good.clone()]);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&malformed)
        .unwrap()
        .write_all(b"{\"type\": \"article\", \"title\": \n")
        .unwrap();
    // A line that names an unknown outlet.
    let (_d2, unknown) = write(&[
        good_outlet.clone(),
        good.clone(),
        article("Another", "https://example.org/b", "The Nowhere Gazette"),
    ]);
    // A second article with a source URL that already exists (differing only in
    // case, trailing slash and tracking parameters).
    let (_d3, dup_in_file) = write(&[
        good_outlet.clone(),
        good.clone(),
        article(
            "Same story again",
            "HTTPS://Example.org/a/?utm_source=x",
            "Brand New Outlet",
        ),
    ]);

    for (path, line, words) in [
        (&malformed, 3, "invalid record"),
        (&unknown, 3, "unknown outlet \"The Nowhere Gazette\""),
        (&dup_in_file, 3, "already exists"),
    ] {
        let out = app.cli(&["import", path.to_str().unwrap()], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "import should fail: {stderr}");
        assert!(stderr.contains(&format!("line {line}: ")), "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert_eq!(
            snapshot(&app, &admin).await,
            unchanged,
            "the database changed after {stderr}"
        );
        let d = app
            .gql_ok(
                r#"{ outlet(slug: "brand-new-outlet") { name } }"#,
                json!({}),
            )
            .await;
        assert!(
            d["outlet"].is_null(),
            "the valid outlet line must be rolled back too"
        );
    }

    // An article whose URL already exists in the database (from a first import).
    let (_d4, first) = write(&[good_outlet.clone(), good.clone()]);
    let out = app.cli(&["import", "-"], Some(&first));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (Another process's write: seen within the documented bound.)
    crate::helpers::within_bound("the first import", || async {
        app.counts().await[0] == before[0] + 1
    })
    .await;
    let after_first = app.counts().await;
    let unchanged = snapshot(&app, &admin).await;
    let (_d5, again) = write(&[
        article(
            "Fresh and valid",
            "https://example.org/c",
            "Brand New Outlet",
        ),
        article(
            "Repost",
            "https://example.org/a#comments",
            "brand-new-outlet",
        ),
    ]);
    let out = app.cli(&["import", again.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 2: url: an article with source url"),
        "{stderr}"
    );
    assert_eq!(snapshot(&app, &admin).await, unchanged);

    // --skip-invalid keeps the good line and reports the bad one.
    let out = app.cli(&["import", "--skip-invalid", again.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("line 2: "), "{stderr}");
    crate::helpers::within_bound("the good line", || async {
        app.counts().await[0] == after_first[0] + 1
    })
    .await;
}

both!(
    mediadesk_generate_writes_the_library_s_data_set_and_parameters_that_name_imported_records,
    generate_command
);

async fn generate_command(backend: Backend) {
    let app = spawn_with(TestDb::new(backend).await, false, None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.ndjson");
    let params = dir.path().join("g.json");
    let out = app.cli(
        &[
            "generate",
            "--articles",
            "400",
            "--events",
            "30",
            "--seed",
            "11",
            "-o",
            file.to_str().unwrap(),
            "--params",
            params.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same bytes as the library gives for the same options.
    let lib = dir.path().join("lib.ndjson");
    generate(&lib, 11, 400, 30);
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(&lib).unwrap());

    let out = app.cli(&["import", file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&params).unwrap()).unwrap();
    assert_eq!(p["articles"], 400);
    let d = app
        .gql_ok(
            "query($a: String!, $e: String!, $o: String!) { article(slug: $a) { body experts { slug } }
               expert(slug: $e) { slug } outlet(slug: $o) { children { slug } } }",
            json!({ "a": p["w2_article_slug"], "e": p["w3_expert_slug"], "o": p["outlet_group_slug"] }),
        )
        .await;
    assert!(
        d["article"]["body"].as_str().is_some_and(|b| !b.is_empty()),
        "{d}"
    );
    assert_eq!(d["expert"]["slug"], p["w3_expert_slug"]);
    assert!(
        !d["outlet"]["children"].as_array().unwrap().is_empty(),
        "{d}"
    );
    let found = app
        .gql_ok(
            "query($q: String!) { articles(first: 5, filter: { query: $q }) { totalCount } }",
            json!({ "q": p["w4_query"] }),
        )
        .await;
    assert!(
        found["articles"]["totalCount"].as_u64().unwrap() > 0,
        "{found}"
    );
}

/// SQLite only (PostgreSQL has no per-connection page cache to widen): the
/// import runs with a wide page cache on its connection and gives the
/// connection back to the pool with its own size, after a committed import as
/// after a rejected one (a pool of one connection, so it is that connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_gives_its_connection_back_with_its_own_page_cache() {
    use crate::helpers::{ndjson, post_import, spawn_over};
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let db = TestDb::new(Backend::Sqlite).await;
    let conn = mediadesk::db::connect(&db.url, 1).await.unwrap();
    let pool = conn.conn.clone();
    let app = spawn_over(db, conn).await;
    let cache_size = || async {
        pool.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA cache_size",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
    };
    let own = cache_size().await;
    let editor = token_for(&app, "editor").await;
    let good = ndjson(&[
        json!({ "type": "expert", "name": "Cache Expert" }),
        json!({ "type": "article", "title": "Cached", "experts": ["Cache Expert"],
                "published_at": "2026-10-01", "language": "en" }),
    ]);
    let (status, _, body) = post_import(&app, &editor, "", good, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache_size().await, own);
    let bad = ndjson(&[
        json!({ "type": "article", "title": "Broken", "experts": ["Nobody"],
                "published_at": "2026-10-01", "language": "en" }),
    ]);
    let (status, _, body) = post_import(&app, &editor, "", bad, None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(cache_size().await, own);
}
