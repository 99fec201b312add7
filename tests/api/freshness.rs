//! How fresh public reads are now that a server keeps the content stamp in
//! process: a cached read costs no statement, the node that took a write
//! answers fresh at once, and a write by another process (a second node on the
//! same PostgreSQL, the CLI on the same SQLite file) shows within the
//! documented bound (`services::content::MAX_AGE`, 1 s; asserted at 2 s).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::both;

use crate::helpers::{
    Backend, TEST_JWT_SECRET, TestApp, TestDb, names, spawn, spawn_counted, token_for, within_bound,
};

/// A second node: the real binary serving the same database.
pub(crate) struct Node {
    pub(crate) addr: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Node {
    pub(crate) async fn start(db_url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_mediadesk"))
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "1",
            ])
            .env("DATABASE_URL", db_url)
            .env("MEDIADESK_DATA_DIR", dir.path())
            .env("MEDIADESK_NO_DEMO", "true")
            .env("MEDIADESK_JWT_SECRET", TEST_JWT_SECRET)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start a second node");
        let node = Self {
            addr: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        };
        for _ in 0..200 {
            if let Ok(r) = reqwest::get(format!("{}/readyz", node.addr)).await
                && r.status() == 200
            {
                return node;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the second node did not become ready");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The expert names a public list at `base` shows.
async fn expert_names(client: &reqwest::Client, base: &str) -> Vec<String> {
    let res = client
        .get(format!("{base}/api/v1/experts?limit=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    names(&res.json().await.unwrap())
}

/// How long until `base` lists `name` (at most twice the bound).
async fn until_listed(client: &reqwest::Client, base: &str, name: &str) -> Duration {
    within_bound(name, || async {
        expert_names(client, base).await.iter().any(|n| n == name)
    })
    .await
}

async fn create_expert(app: &TestApp, token: &str, name: &str) {
    let res = app
        .client
        .post(format!("{}/api/v1/experts", app.addr))
        .bearer_auth(token)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_shows_on_another_node_of_the_same_postgresql_within_the_bound() {
    let a = spawn(Backend::Postgres).await;
    let b = Node::start(&a.db.url).await;
    let editor = token_for(&a, "editor").await;
    let client = reqwest::Client::new();
    for round in 1..=3 {
        // Both nodes hold a cached answer and a known stamp.
        for _ in 0..2 {
            expert_names(&client, &a.addr).await;
            expert_names(&client, &b.addr).await;
        }
        let name = format!("Fresh Expert {round}");
        create_expert(&a, &editor, &name).await;
        // The node that took the write answers fresh at once.
        assert!(
            expert_names(&client, &a.addr).await.contains(&name),
            "node A's own write is not in its next answer"
        );
        let delay = until_listed(&client, &b.addr, &name).await;
        eprintln!("round {round}: node B listed node A's write after {delay:?}");
    }
}

both!(
    a_write_by_another_process_shows_within_the_bound,
    external_writer
);

async fn external_writer(backend: Backend) {
    let app = spawn(backend).await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        expert_names(&client, &app.addr).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.ndjson");
    std::fs::write(
        &f,
        json!({ "type": "expert", "name": "Written Elsewhere" }).to_string(),
    )
    .unwrap();
    let out = app.cli(&["import", f.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let delay = until_listed(&client, &app.addr, "Written Elsewhere").await;
    eprintln!("{backend:?}: the CLI's write listed after {delay:?}");
}

both!(
    cached_public_reads_cost_no_statement_while_nothing_changes,
    cached_reads_cost_nothing
);

async fn cached_reads_cost_nothing(backend: Backend) {
    let (app, counter) = spawn_counted(TestDb::new(backend).await).await;
    let url = format!("{}/api/v1/experts?limit=5", app.addr);
    let etag = app.client.get(&url).send().await.unwrap().headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    // 100 cached answers and 100 304s.
    counter.reset();
    let started = Instant::now();
    for i in 0..200 {
        let mut r = app.client.get(&url);
        if i % 2 == 1 {
            r = r.header("if-none-match", &etag);
        }
        let res = r.send().await.unwrap();
        assert_eq!(res.status(), if i % 2 == 1 { 304 } else { 200 });
    }
    let elapsed = started.elapsed();
    let (others, stamps) = (counter.get(), counter.stamp_reads());
    eprintln!(
        "{backend:?}: {others} statements and {stamps} stamp reads for 200 cached reads in {elapsed:?}"
    );
    assert_eq!(others, 0);
    // Only the re-reads of the stamp that the bound asks for when nothing would
    // announce another process's write (SQLite; PostgreSQL before its listener
    // is up): at most one a second.
    assert!(stamps <= 1 + elapsed.as_secs(), "{stamps} in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_of_a_head_the_node_knows_costs_no_read() {
    use sea_orm::ConnectionTrait;
    let (app, counter) = spawn_counted(TestDb::new(Backend::Postgres).await).await;
    let editor = token_for(&app, "editor").await;
    let client = reqwest::Client::new();
    create_expert(&app, &editor, "Known Head").await;
    expert_names(&client, &app.addr).await;
    let db = sea_orm::Database::connect(&app.db.url).await.unwrap();
    let head = mediadesk::services::changes::head(&db).await.unwrap();
    let notify = |h: i64| {
        let db = db.clone();
        async move {
            db.execute_unprepared(&format!("SELECT pg_notify('mediadesk_content', '{h}')"))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let reads_after = |what: &'static str, want: u64| {
        let (client, counter, addr) = (&client, &counter, &app.addr);
        async move {
            counter.reset();
            for _ in 0..20 {
                expert_names(client, addr).await;
            }
            assert_eq!(counter.stamp_reads(), want, "{what}");
        }
    };
    // What every node hears of its own writes: a head it has read.
    notify(head).await;
    reads_after("a known head", 0).await;
    // A head past it: read again, once; that it is not real (nothing was
    // written) does not make the node read on every request.
    notify(head + 100).await;
    reads_after("a new head", 1).await;
    reads_after("after it", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_costs_postgresql_no_statement() {
    // Every background reader on: the webhook dispatcher and delivery worker
    // (with an active endpoint), the scheduler, the subscriptions' tail.
    let (app, counter) =
        crate::helpers::spawn_counted_tuned(TestDb::new(Backend::Postgres).await, |a| {
            a.no_webhooks = false
        })
        .await;
    let admin = token_for(&app, "admin").await;
    let res = app
        .client
        .post(format!("{}/api/v1/webhooks", app.addr))
        .bearer_auth(&admin)
        .json(&json!({ "url": "https://hooks.example.com/mediadesk" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Whatever start-up and the endpoint's creation set going settles first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    counter.reset();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        (counter.get(), counter.stamp_reads()),
        (0, 0),
        "statements while nothing happened for 5 s"
    );
}

both!(
    a_repeated_anonymous_graphql_post_is_answered_by_its_bytes_until_a_write,
    graphql_post_bytes
);

/// The exact bytes of an anonymous GraphQL POST find its cached answer before
/// any parsing: no statement while nothing changes, the next answer after a
/// write shows it, and a signed-in caller sending the same bytes is rendered
/// fresh (drafts included), never served the public copy.
async fn graphql_post_bytes(backend: Backend) {
    let (app, counter) = spawn_counted(TestDb::new(backend).await).await;
    let admin = token_for(&app, "admin").await;
    let body = r#"{"query":"{ articles(first: 50) { nodes { title } } }"}"#;
    let post = |token: Option<String>| {
        let mut r = app
            .client
            .post(format!("{}/graphql", app.addr))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move {
            let res = r.send().await.unwrap();
            assert_eq!(res.status(), 200);
            let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
            let v: serde_json::Value = res.json().await.unwrap();
            let titles: Vec<String> = v["data"]["articles"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{v}"))
                .iter()
                .map(|n| n["title"].as_str().unwrap().to_owned())
                .collect();
            (cache, titles)
        }
    };
    let (cache, first) = post(None).await;
    assert_eq!(cache, "no-store");
    counter.reset();
    for _ in 0..50 {
        assert_eq!(post(None).await.1, first);
    }
    assert_eq!(counter.get(), 0, "cached answers cost no statement");

    let create = |title: &str, status: &str| {
        app.client
            .post(format!("{}/api/v1/articles", app.addr))
            .bearer_auth(&admin)
            .json(&json!({ "title": title, "published_at": "2026-11-30", "language": "en", "status": status }))
            .send()
    };
    assert_eq!(create("Only a draft", "draft").await.unwrap().status(), 201);
    let (cache, signed_in) = post(Some(admin.clone())).await;
    assert_eq!(cache, "private, no-store");
    assert!(
        signed_in.iter().any(|t| t == "Only a draft"),
        "{signed_in:?}"
    );
    let (_, public) = post(None).await;
    assert!(!public.iter().any(|t| t == "Only a draft"), "{public:?}");

    assert_eq!(create("Out now", "published").await.unwrap().status(), 201);
    let (_, public) = post(None).await;
    assert!(public.iter().any(|t| t == "Out now"), "{public:?}");
    assert!(!public.iter().any(|t| t == "Only a draft"), "{public:?}");
}
