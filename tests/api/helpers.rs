//! Test harness: spawn the server on port 0 over a fresh SQLite file or a fresh
//! PostgreSQL database, a GraphQL client, the CLI, and a TCP proxy that can cut
//! the database connection.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mediadesk::config::ServeArgs;
use mediadesk::{db, services, startup};
use reqwest::Method;
use reqwest::header::HeaderMap;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

/// Runs a test body once per database backend, as two tests.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$body($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$body($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("MEDIADESK_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database of one backend; dropped (PostgreSQL) or deleted
/// (SQLite) when the value goes.
pub struct TestDb {
    pub url: String,
    #[allow(dead_code)]
    pub backend: Backend,
    pub sqlite_file: Option<PathBuf>,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => {
                let file = dir.path().join("test.db");
                Self {
                    url: format!("sqlite://{}", file.display()),
                    backend,
                    sqlite_file: Some(file),
                    pg_name: None,
                    _dir: dir,
                }
            }
            Backend::Postgres => {
                let name = format!("mdtest_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(pg_admin_url())
                    .await
                    .expect("PostgreSQL must be running for the tests (see README)");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let base = pg_admin_url();
                let base = base
                    .rsplit_once('/')
                    .map_or(base.as_str(), |(b, _)| b)
                    .to_owned();
                Self {
                    url: format!("{base}/{name}"),
                    backend,
                    sqlite_file: None,
                    pg_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }

    /// The URL with its host and port replaced (to go through a proxy).
    pub fn url_via(&self, addr: SocketAddr) -> String {
        let name = self.pg_name.as_deref().unwrap_or_default();
        let admin = pg_admin_url();
        let user = admin
            .split("://")
            .nth(1)
            .and_then(|r| r.split('@').next())
            .unwrap_or("postgres");
        format!("postgres://{user}@{addr}/{name}")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(pg_admin_url()).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A running server over its own database.
pub struct TestApp {
    pub addr: String,
    pub client: reqwest::Client,
    pub db: TestDb,
}

/// A server over a fresh database holding the demo data.
pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(TestDb::new(backend).await, true, None).await
}

/// Counts the SQL statements a server runs: reads of the content stamp apart
/// (a server re-reads it when something may have changed it, not per request).
#[derive(Clone, Default)]
pub struct StatementCounter {
    others: Arc<std::sync::atomic::AtomicU64>,
    stamps: Arc<std::sync::atomic::AtomicU64>,
}

impl StatementCounter {
    pub fn reset(&self) {
        self.others.store(0, Ordering::SeqCst);
        self.stamps.store(0, Ordering::SeqCst);
    }
    /// Statements other than stamp reads.
    pub fn get(&self) -> u64 {
        self.others.load(Ordering::SeqCst)
    }
    /// Reads of the content stamp.
    pub fn stamp_reads(&self) -> u64 {
        self.stamps.load(Ordering::SeqCst)
    }
}

/// A server over `db` (no demo data) whose SQL statements are counted.
pub async fn spawn_counted(db: TestDb) -> (TestApp, StatementCounter) {
    spawn_counted_tuned(db, |_| {}).await
}

/// [`spawn_counted`] with settings `tune` changes from the tests' defaults.
pub async fn spawn_counted_tuned(
    db: TestDb,
    tune: impl FnOnce(&mut ServeArgs),
) -> (TestApp, StatementCounter) {
    let counter = StatementCounter::default();
    let mut conn = db::connect(&db.url, 4).await.expect("connect and migrate");
    let c = counter.clone();
    conn.conn.set_metric_callback(move |i| {
        let sql = &i.statement.sql;
        // The scheduler's looks at pending publications are its own, not a
        // request's (`services::changes::run_scheduler`).
        if sql.contains("change_due") && !sql.contains("INSERT") {
            return;
        }
        // Nor are the statistics' recounts after a write or at start-up
        // (`services::stats::run_refresher`): its look at the stale marks, its
        // lock, its counts and the rollups it writes.
        if [
            "stats_dirty",
            "stats_rollups",
            "pg_try_advisory_xact_lock(7302250617)",
            "AS \"dim\"",
        ]
        .iter()
        .any(|m| sql.contains(m))
        {
            return;
        }
        let stamp = sql.contains("FROM content_state WHERE id = 1");
        (if stamp { &c.stamps } else { &c.others }).fetch_add(1, Ordering::SeqCst);
        if std::env::var("MD_SQL_DEBUG").is_ok() {
            eprintln!("SQL: {}", sql.chars().take(150).collect::<String>());
        }
    });
    let mut args = test_args(10_000, vec![]);
    tune(&mut args);
    let app = serve_args(db, conn, &args);
    // The relevance index is built in the background at start-up: let it
    // finish, so that its statements are not counted as the requests'.
    for _ in 0..200 {
        let ready: serde_json::Value = app
            .client
            .get(format!("{}/readyz", app.addr))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .expect("readyz JSON");
        if ready["search_index"] != "building" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (app, counter)
}

/// A server over `db`, with or without the demo data, optionally connecting to
/// the database at another URL (a proxy).
pub async fn spawn_with(db: TestDb, demo: bool, url_override: Option<String>) -> TestApp {
    let url = url_override.unwrap_or_else(|| db.url.clone());
    let conn = db::connect(&url, 4).await.expect("connect and migrate");
    if demo {
        services::demo::seed(&conn.conn).await.expect("demo data");
    }
    serve(db, conn).await
}

/// A server over `db` through a connection the test opened itself.
pub async fn spawn_over(db: TestDb, conn: mediadesk::db::Db) -> TestApp {
    serve(db, conn).await
}

async fn serve(db: TestDb, conn: mediadesk::db::Db) -> TestApp {
    serve_limited(db, conn, 10_000, vec![]).await
}

/// A server over a fresh database with the demo data whose write burst is `burst`
/// (and whose budget then refills at one write a minute).
pub async fn spawn_limited(backend: Backend, burst: u32) -> TestApp {
    let db = TestDb::new(backend).await;
    let conn = db::connect(&db.url, 4).await.expect("connect and migrate");
    services::demo::seed(&conn.conn).await.expect("demo data");
    serve_limited(db, conn, burst, vec![]).await
}

/// A server over a fresh database with the demo data whose browser pages at
/// `origin` may send tokens and write.
pub async fn spawn_admin_origin(backend: Backend, origin: &str) -> TestApp {
    let db = TestDb::new(backend).await;
    let conn = db::connect(&db.url, 4).await.expect("connect and migrate");
    services::demo::seed(&conn.conn).await.expect("demo data");
    serve_limited(db, conn, 10_000, vec![origin.to_owned()]).await
}

/// A server over a fresh database with the demo data whose settings `tune`
/// changes from the tests' defaults.
pub async fn spawn_tuned(backend: Backend, tune: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let db = TestDb::new(backend).await;
    let conn = db::connect(&db.url, 4).await.expect("connect and migrate");
    services::demo::seed(&conn.conn).await.expect("demo data");
    let mut args = test_args(10_000, vec![]);
    tune(&mut args);
    serve_args(db, conn, &args)
}

/// A server over `db` (which the caller prepared: migrated, seeded) whose
/// settings `tune` changes from the tests' defaults.
pub async fn spawn_tuned_over(db: TestDb, tune: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let conn = db::connect(&db.url, 4).await.expect("connect and migrate");
    let mut args = test_args(10_000, vec![]);
    tune(&mut args);
    serve_args(db, conn, &args)
}

async fn serve_limited(
    db: TestDb,
    conn: mediadesk::db::Db,
    write_burst: u32,
    cors_write_origins: Vec<String>,
) -> TestApp {
    serve_args(db, conn, &test_args(write_burst, cors_write_origins))
}

fn test_args(write_burst: u32, cors_write_origins: Vec<String>) -> ServeArgs {
    ServeArgs {
        bind: "127.0.0.1:0".into(),
        workers: Some(1),
        no_demo: true,
        introspection: true,
        cache_max_age: 60,
        cache_swr: 300,
        cors_origins: vec![],
        cors_write_origins,
        response_cache: 256,
        public_url: None,
        trusted_proxies: vec![],
        frame_ancestors: "*".into(),
        writes_per_minute: if write_burst < 1_000 { 1 } else { 100_000 },
        write_burst,
        shared_store: mediadesk::services::shared_store::StoreKind::Memory,
        read_database_url: None,
        search_index_dir: None,
        no_search_index: false,
        change_retention: std::time::Duration::from_secs(90 * 86_400),
        // Off unless a test turns them on: their polling would count in the
        // tests that count statements.
        no_webhooks: true,
        webhook_allow_cidr: vec![],
        webhook_retry_schedule: vec![],
        // Off unless a test turns it on, like the webhooks.
        smtp_url: None,
        mail_dir: Some(std::env::temp_dir().join("mediadesk-test-mail")),
        mail_from: "mediadesk <no-reply@localhost>".into(),
        no_mail: true,
        mail_retry_schedule: vec![],
        reader_link_base: None,
        metrics_bind: None,
        metrics_token: None,
        panic_route: false,
        otlp_endpoint: None,
        // Newsletters (issue 14 item 5).
        newsletter_url: None,
        newsletter_subscribe_burst: 1_000,
        comments: Default::default(),
        oidc_providers: vec![],
    }
}

fn serve_args(db: TestDb, conn: mediadesk::db::Db, args: &ServeArgs) -> TestApp {
    let jwt =
        mediadesk::auth::jwt::Keys::from_secret(TEST_JWT_SECRET.as_bytes()).expect("jwt keys");
    let app = startup::Application::build(conn, jwt, args).expect("build server");
    let addr = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        addr,
        client: client(),
        db,
    }
}

/// POSTs a GraphQL query as the holder of `token` (anonymously with `None`)
/// and returns the whole response body.
pub async fn gql_as(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut r = app
        .client
        .post(format!("{}/graphql", app.addr))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap().json().await.unwrap()
}

/// An HTTP client that never reuses a connection the server may be closing: the
/// server drops idle keep-alive connections after 5 s, and a request sent on one
/// just then fails with a reset (seen under a loaded machine).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("HTTP client")
}

impl TestApp {
    /// POSTs a GraphQL query and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        gql_as(self, None, query, variables).await
    }

    /// Like [`gql`], but fails the test on any GraphQL error and returns `data`.
    pub async fn gql_ok(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.addr))
            .send()
            .await
            .expect("request")
    }

    /// Runs the real `mediadesk` binary against this app's database.
    pub fn cli(&self, args: &[&str], stdin: Option<&Path>) -> Output {
        run_cli(&self.db.url, args, stdin)
    }

    /// Counts of what the API shows: articles, experts, outlets, events, topics.
    pub async fn counts(&self) -> [u64; 5] {
        let d = self
            .gql_ok(
                "{ articles { totalCount } experts { totalCount } outlets { totalCount } events { totalCount } topics { slug } }",
                json!({}),
            )
            .await;
        [
            d["articles"]["totalCount"].as_u64().unwrap(),
            d["experts"]["totalCount"].as_u64().unwrap(),
            d["outlets"]["totalCount"].as_u64().unwrap(),
            d["events"]["totalCount"].as_u64().unwrap(),
            d["topics"].as_array().unwrap().len() as u64,
        ]
    }
}

/// The signing secret of test servers (the CLI gets it too).
pub const TEST_JWT_SECRET: &str = "test-secret-of-at-least-thirty-two-bytes-0123456789";

/// Writes a generated data set (`mediadesk::datagen`, what `mediadesk generate`
/// writes) of `articles` articles and `events` events to `path`.
pub fn generate(path: &Path, seed: u64, articles: u64, events: u64) {
    let opts = mediadesk::datagen::Options {
        seed,
        articles,
        events,
    };
    mediadesk::datagen::write_file(path, opts).expect("write the data file");
}

/// Runs the `mediadesk` binary with `DATABASE_URL` set.
pub fn run_cli(db_url: &str, args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mediadesk"));
    cmd.args(args)
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn");
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).expect("stdin file"));
    }
    cmd.output().expect("run mediadesk")
}

/// A TCP proxy in front of the database that a test can switch off and on.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let target = target.to_owned();
        let (up2, gen2) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut = gen2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            addr,
            up,
            generation,
        }
    }

    /// Refuses new connections and cuts the open ones.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The host:port of the test PostgreSQL server.
pub fn pg_target() -> String {
    let admin = pg_admin_url();
    let after_at = admin.split('@').nth(1).unwrap_or("127.0.0.1:5432/postgres");
    after_at
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:5432")
        .to_owned()
}

/// The secret of a new API key with `role` named `name`, made with the real CLI
/// (the last line it prints).
pub fn api_key(app: &TestApp, role: &str, name: &str) -> String {
    let out = app.cli(&["key", "create", "--role", role, "--name", name], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().last().unwrap().trim().to_owned()
}

/// A Bearer token of a new API key with `role`, made with the real CLI.
pub async fn token_for(app: &TestApp, role: &str) -> String {
    let key = api_key(app, role, &format!("{role} test"));
    let res: Value = app
        .client
        .post(format!("{}/api/v1/auth/token", app.addr))
        .json(&json!({ "api_key": key }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["access_token"].as_str().unwrap().to_owned()
}

/// The audit log, newest first (read with an administrator's token).
pub async fn audit_log(app: &TestApp, token: &str) -> Vec<Value> {
    let res = app
        .client
        .get(format!("{}/api/v1/audit?limit=100", app.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let body: Value = res.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

/// One HTTP call: status, headers and JSON body (`Null` when empty).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, Value) {
    let mut r = app.client.request(method, format!("{}{path}", app.addr));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, headers, body)
}

/// A browser's CORS preflight of `method` with `headers` on `path` from
/// `origin`: the answer's headers.
pub async fn preflight(
    app: &TestApp,
    path: &str,
    origin: &str,
    method: &str,
    headers: &str,
) -> HeaderMap {
    let res = app
        .client
        .request(Method::OPTIONS, format!("{}{path}", app.addr))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap();
    res.headers().clone()
}

/// Everything an administrator can read, drafts included, and the audit log:
/// equal snapshots mean nothing was written.
pub async fn snapshot(app: &TestApp, admin: &str) -> Value {
    let mut all = serde_json::Map::new();
    for path in [
        "/api/v1/articles?limit=100",
        "/api/v1/experts?limit=100",
        "/api/v1/outlets?limit=100",
        "/api/v1/events?limit=100",
        "/api/v1/topics",
        "/api/v1/site",
    ] {
        let (status, _, body) = call(app, Method::GET, path, Some(admin), None, &[]).await;
        assert_eq!(status, 200, "{path}: {body}");
        all.insert(path.into(), body["data"].clone());
    }
    all.insert("audit".into(), json!(audit_log(app, admin).await));
    Value::Object(all)
}

/// Import-format lines as one NDJSON body.
pub fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `POST /api/v1/import{query}` of `body` as `token` (with an `Idempotency-Key`
/// when given): status, content type and JSON body (`Null` when none).
pub async fn post_import(
    app: &TestApp,
    token: &str,
    query: &str,
    body: String,
    key: Option<&str>,
) -> (u16, String, Value) {
    let mut r = app
        .client
        .post(format!("{}/api/v1/import{query}", app.addr))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

/// The `name` of each record of a REST list (`{"data": [...]}`).
pub fn names(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["name"].as_str().expect("a name").to_owned())
        .collect()
}

/// Percent-encodes `s` for a query string (unreserved characters kept).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `seen` until it holds and returns how long that took; fails the test
/// past twice the bound within which a server takes in another process's write
/// (`services::content::MAX_AGE`).
pub async fn within_bound<F, Fut>(what: &str, mut seen: F) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let limit = 2 * mediadesk::services::content::MAX_AGE;
    let started = std::time::Instant::now();
    loop {
        if seen().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() <= limit,
            "{what}: not seen after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A widget page without its JSON-LD data block (`<script
/// type="application/ld+json">`, which no browser runs), checked to hold no
/// markup: what is left must hold no script at all.
pub fn without_json_ld(html: &str) -> String {
    let open = "<script type=\"application/ld+json\">";
    let Some(start) = html.find(open) else {
        return html.to_owned();
    };
    let len = html[start..]
        .find("</script>")
        .expect("a closed data block");
    let data = &html[start + open.len()..start + len];
    assert!(
        !data.contains(['<', '>', '&']),
        "markup in the JSON-LD: {data}"
    );
    format!(
        "{}{}",
        &html[..start],
        &html[start + len + "</script>".len()..]
    )
}

/// Rows of `table`.
pub async fn count_rows(app: &TestApp, table: &str) -> i64 {
    let db = Database::connect(&app.db.url).await.unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}
