//! Faults answer like the rest of the API: a panicking handler, a busy or lost
//! database, a full disk each get a problem+json answer with the right status,
//! and the server carries on.

use std::time::Duration;

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, Proxy, TestDb, pg_target, spawn_tuned, spawn_with};

both!(
    a_panic_in_a_handler_answers_500_with_the_request_id_and_the_server_carries_on,
    panic_answers_500
);

async fn panic_answers_500(backend: Backend) {
    // One worker: if the panic took it down, nothing would answer afterwards.
    let app = spawn_tuned(backend, |a| a.panic_route = true).await;
    for round in 0..3 {
        let id = format!("panic-{round}");
        let res = app
            .client
            .get(format!("{}/__test/panic", app.addr))
            .header("x-request-id", &id)
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(res.status(), 500);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        assert_eq!(res.headers()["x-request-id"], id.as_str());
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "INTERNAL");
        assert_eq!(body["status"], 500);
        assert_eq!(body["request_id"], id.as_str());
        assert_eq!(body["detail"], "internal error");
        // The same server (and its single worker) answers the next requests.
        assert_eq!(app.get("/healthz").await.status(), 200);
        assert_eq!(app.get("/api/v1/experts?limit=1").await.status(), 200);
    }
    // Without the hidden flag the route does not exist.
    let plain = crate::helpers::spawn(backend).await;
    assert_eq!(plain.get("/__test/panic").await.status(), 404);
}

#[tokio::test]
async fn a_panic_is_logged_with_its_request_id_and_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_mediadesk"))
            .args(["serve", "--no-demo", "--panic-route", "--workers", "1"])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .env("MEDIADESK_DATA_DIR", dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/p.db", dir.path().display()),
            )
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            // A file, not a pipe: nobody reads a pipe until the end, and a full one
            // would block the server's logging.
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not start");
    let res = client
        .get(format!("{base}/__test/panic"))
        .header("x-request-id", "logged-panic")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("handler panicked"))
        .unwrap_or_else(|| panic!("no panic in the log:\n{log}"));
    let entry: Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["level"], "ERROR");
    assert_eq!(entry["request_id"], "logged-panic");
    assert!(
        entry["panic"].as_str().unwrap().contains("panic requested"),
        "{entry}"
    );
    // The backtrace names the handler that panicked.
    assert!(
        entry["backtrace"]
            .as_str()
            .unwrap()
            .contains("request_id::panic"),
        "{entry}"
    );
}

/// A child process that is killed when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Holds the database's write lock from another connection, as another process
/// (a backup, a long import, a manual transaction) would.
async fn hold_write_lock(app: &crate::helpers::TestApp) -> sea_orm::DatabaseConnection {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database};
    let mut opts = ConnectOptions::new(app.db.url.clone());
    // One connection, so the transaction and its end run on the same one.
    opts.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let locker = Database::connect(opts).await.unwrap();
    match app.db.backend {
        Backend::Sqlite => {
            locker.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
        }
        Backend::Postgres => {
            // Blocks every write to experts; reads go on.
            locker
                .execute_unprepared("BEGIN; LOCK TABLE experts IN EXCLUSIVE MODE")
                .await
                .unwrap();
        }
    }
    locker
}

both!(
    a_write_behind_a_held_lock_answers_503_with_retry_after_in_time_and_reads_go_on,
    held_lock_answers_503
);

async fn held_lock_answers_503(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::spawn(backend).await;
    let t = crate::writes::tokens(&app).await;
    let before = crate::helpers::snapshot(&app, &t.admin).await;
    let locker = hold_write_lock(&app).await;

    let started = std::time::Instant::now();
    let res = app
        .client
        .post(format!("{}/api/v1/experts", app.addr))
        .bearer_auth(&t.editor)
        .json(&json!({ "name": "Locked Out" }))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(res.status(), 503);
    assert!(
        waited <= Duration::from_secs(10),
        "answered after {waited:?}"
    );
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "UNAVAILABLE");
    assert!(!body["detail"].as_str().unwrap().contains("SQL"), "{body}");

    // Reads go on meanwhile.
    let res = app.get("/api/v1/experts?limit=5").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/api/v1/experts/rob-huebert").await;
    assert_eq!(res.status(), 200);

    // The same through GraphQL.
    let started = std::time::Instant::now();
    let gql = crate::helpers::gql_as(
        &app,
        Some(&t.editor),
        r#"mutation { createExpert(input: { name: "Locked Out Too" }) { slug } }"#,
        json!({}),
    )
    .await;
    assert!(started.elapsed() <= Duration::from_secs(10));
    assert_eq!(
        gql["errors"][0]["extensions"]["code"], "UNAVAILABLE",
        "{gql}"
    );

    locker.execute_unprepared("ROLLBACK").await.unwrap();
    assert_eq!(crate::helpers::snapshot(&app, &t.admin).await, before);

    // Once the lock is gone the write goes through.
    let res = app
        .client
        .post(format!("{}/api/v1/experts", app.addr))
        .bearer_auth(&t.editor)
        .json(&json!({ "name": "Locked Out" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_while_postgresql_is_gone_answers_503_with_retry_after() {
    let backend = Backend::Postgres;
    let db = TestDb::new(backend).await;
    let proxy = Proxy::start(&pg_target()).await;
    let via = db.url_via(proxy.addr);
    let app = spawn_with(db, true, Some(via)).await;
    let t = crate::writes::tokens(&app).await;
    proxy.down();
    let started = std::time::Instant::now();
    let res = app
        .client
        .post(format!("{}/api/v1/experts", app.addr))
        .bearer_auth(&t.editor)
        .json(&json!({ "name": "Cut Off" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() <= Duration::from_secs(10));
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "UNAVAILABLE");
    proxy.up();
    // Back again: the write goes through (the pool reconnects).
    let mut status = 0;
    for _ in 0..20 {
        status = app
            .client
            .post(format!("{}/api/v1/experts", app.addr))
            .bearer_auth(&t.editor)
            .json(&json!({ "name": "Cut Off" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 201 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fills_the_disk_answers_507_and_writes_nothing_on_sqlite() {
    use sea_orm::{ConnectionTrait, Database};
    let db = TestDb::new(Backend::Sqlite).await;
    // Seed, then learn how big the file is and cap it a little above that.
    let seeded = mediadesk::db::connect(&db.url, 1).await.unwrap();
    mediadesk::services::demo::seed(&seeded.conn).await.unwrap();
    let pages = {
        let probe = Database::connect(db.url.clone()).await.unwrap();
        let row = probe
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA page_count",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    drop(seeded);
    let cap = (pages + 8).to_string();
    let conn = mediadesk::db::connect_with(&db.url, 4, &[("max_page_count", &cap)])
        .await
        .unwrap();
    let app = crate::helpers::spawn_over(db, conn).await;
    let t = crate::writes::tokens(&app).await;
    let before = crate::helpers::snapshot(&app, &t.admin).await;
    // An import far larger than eight pages, in one transaction.
    let lines: Vec<Value> = (0..400)
        .map(|i| json!({ "type": "expert", "name": format!("Filler Expert {i}"), "bio": "x".repeat(400) }))
        .collect();
    let (status, _, body) =
        crate::helpers::post_import(&app, &t.editor, "", crate::helpers::ndjson(&lines), None)
            .await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["code"], "INSUFFICIENT_STORAGE");
    assert_eq!(crate::helpers::snapshot(&app, &t.admin).await, before);
    // A small write still fits, and reads go on.
    assert_eq!(app.get("/api/v1/experts?limit=1").await.status(), 200);
}
