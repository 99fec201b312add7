//! Prometheus metrics at `/metrics`: not served on the public port unless a
//! token is configured (then only with it), served on a listener of their own
//! with `--metrics-bind`. Every scrape is read by the reference client's parser
//! (Python `prometheus_client`, `tests/metrics/parse.py`), and counters move by
//! exactly the traffic sent. That test runs the real binary: the metrics
//! recorder is the process's, so in the test process every server's traffic
//! would count.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TEST_JWT_SECRET, TestApp, TestDb, client, spawn, spawn_tuned};
use crate::multinode::Node;

const TOKEN: &str = "metrics-token-for-tests";

/// The samples of one scrape, as the Python parser read them.
struct Scrape(Vec<Value>);

impl Scrape {
    /// Scrapes `url` with the token and parses the exposition.
    async fn of(http: &reqwest::Client, url: &str) -> Self {
        let res = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        Self::parse(&res.text().await.unwrap())
    }

    fn parse(text: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/metrics/parse.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the metrics tests (see .ci/run)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "prometheus_client could not parse the exposition (pip install prometheus-client, \
             see .ci/run):\n{}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap())
    }

    /// The sum of the samples named `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|s| s["name"] == name)
            .filter(|s| labels.iter().all(|(k, v)| s["labels"][*k] == *v))
            .map(|s| s["value"].as_f64().unwrap())
            .sum()
    }

    /// Every value the label `key` takes.
    fn label_values(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|s| s["labels"][key].as_str().map(str::to_owned))
            .collect()
    }
}

/// How much `name{labels}` moved between two scrapes.
fn moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.sum(name, labels) - before.sum(name, labels)
}

fn requests(
    route: &'static str,
    method: &'static str,
    status: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vec![("route", route), ("method", method), ("status", status)]
}

/// A free port on 127.0.0.1 (for the binary's `--metrics-bind`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// The traffic the counters must follow: a GraphQL query, a REST list twice
/// (a cache miss, then a hit), a missing article, an unrouted path, a write
/// by a token holder, and two writes refused (401, then 429: the budget is 2
/// by address and the token request spent one).
async fn traffic(app: &TestApp) {
    let gql = app
        .gql("{ articles(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(gql.get("errors").is_none(), "{gql}");
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/articles").await.status(), 200);
    }
    assert_eq!(
        app.get("/api/v1/articles/no-such-article-7f3")
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/no/such/path-7f3").await.status(), 404);
    let token = crate::helpers::token_for(app, "editor").await;
    let post = |bearer: Option<&str>| {
        let r = app
            .client
            .post(format!("{}/api/v1/topics", app.addr))
            .json(&json!({ "name": "Sea Ice Metrics" }));
        match bearer {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    };
    assert_eq!(post(Some(&token)).send().await.unwrap().status(), 201);
    assert_eq!(post(None).send().await.unwrap().status(), 401);
    assert_eq!(post(None).send().await.unwrap().status(), 429);
}

both!(counters_move_with_traffic, counters_move_with_traffic);
async fn counters_move_with_traffic(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let flags = [
        "--metrics-bind",
        &metrics_addr,
        "--metrics-token",
        TOKEN,
        "--writes-per-minute",
        "1",
        "--write-burst",
        "2",
    ];
    let node = Node::start_with(&db.url, dir.path(), TEST_JWT_SECRET, &flags);
    let app = TestApp {
        addr: node.url.clone(),
        client: client(),
        db,
    };
    let url = format!("http://{metrics_addr}/metrics");
    // Neither on the public port, nor on its own without the token.
    assert_eq!(app.get("/metrics").await.status(), 404);
    let refused = app
        .client
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
    let before = Scrape::of(&app.client, &url).await;
    traffic(&app).await;
    let after = Scrape::of(&app.client, &url).await;

    let http = "mediadesk_http_requests_total";
    for (route, method, status, n) in [
        ("/graphql", "POST", "200", 1.0),
        ("/api/v1/articles", "GET", "200", 2.0),
        ("/api/v1/articles/{slug}", "GET", "404", 1.0),
        ("unmatched", "GET", "404", 1.0),
        ("/api/v1/auth/token", "POST", "200", 1.0),
        ("/api/v1/topics", "POST", "201", 1.0),
        ("/api/v1/topics", "POST", "401", 1.0),
        ("/api/v1/topics", "POST", "429", 1.0),
    ] {
        let labels = requests(route, method, status);
        assert_eq!(
            moved(&before, &after, http, &labels),
            n,
            "{route} {method} {status}"
        );
    }
    assert_eq!(
        moved(&before, &after, http, &[]),
        9.0,
        "nothing else was asked"
    );
    let latency = "mediadesk_http_request_duration_seconds_count";
    let list = [("route", "/api/v1/articles"), ("method", "GET")];
    assert_eq!(moved(&before, &after, latency, &list), 2.0);
    assert_eq!(after.sum("mediadesk_http_requests_in_flight", &[]), 0.0);
    // The list: rendered once, then from the cache; the 404 rendered (and not kept).
    let hits = "mediadesk_response_cache_hits_total";
    let misses = "mediadesk_response_cache_misses_total";
    assert_eq!(moved(&before, &after, hits, &[("scope", "rest")]), 1.0);
    assert_eq!(moved(&before, &after, misses, &[("scope", "rest")]), 2.0);
    assert_eq!(moved(&before, &after, misses, &[("scope", "graphql")]), 1.0);
    let refusals = "mediadesk_rate_limit_refusals_total";
    assert_eq!(
        moved(&before, &after, refusals, &[("limit", "writes")]),
        1.0
    );

    let statements = "mediadesk_db_statement_duration_seconds_count";
    assert!(moved(&before, &after, statements, &[("kind", "select")]) > 0.0);
    assert!(moved(&before, &after, statements, &[("kind", "insert")]) > 0.0);
    let waits = "mediadesk_db_write_lock_wait_seconds_count";
    match backend {
        // The topic's write queued for SQLite's write lock (and perhaps the
        // webhook dispatcher too).
        Backend::Sqlite => assert!(moved(&before, &after, waits, &[]) >= 1.0),
        Backend::Postgres => assert_eq!(after.sum(waits, &[]), 0.0),
    }
    let pool = [("pool", "primary")];
    assert_eq!(after.sum("mediadesk_db_pool_max_connections", &pool), 4.0);
    assert!(after.sum("mediadesk_db_pool_connections", &pool) >= 1.0);
    let deliveries = "mediadesk_webhook_deliveries";
    assert_eq!(after.sum(deliveries, &[("state", "pending")]), 0.0);
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(after.sum("mediadesk_build_info", &version), 1.0);

    // Label values are route patterns, never the paths asked for.
    let known: Vec<&str> = mediadesk::http::rest::ROUTES
        .iter()
        .chain(mediadesk::startup::OTHER_ROUTES)
        .map(|r| r.path)
        .chain(["unmatched"])
        .collect();
    for route in after.label_values("route") {
        assert!(
            known.contains(&route.as_str()),
            "{route} is not a route pattern"
        );
    }
    let raw = after
        .0
        .iter()
        .any(|s| s["labels"].to_string().contains("7f3"));
    assert!(!raw, "a raw path became a label value");
    drop(node);
}

both!(metrics_are_off_the_public_port_by_default, off_by_default);
async fn off_by_default(backend: Backend) {
    let app = spawn(backend).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 404);
    let authorized = app
        .client
        .get(format!("{}/metrics", app.addr))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(authorized.status(), 404);
}

both!(
    the_token_opens_metrics_on_the_public_port,
    token_on_public_port
);
async fn token_on_public_port(backend: Backend) {
    let app = spawn_tuned(backend, |a| a.metrics_token = Some(TOKEN.into())).await;
    let url = format!("{}/metrics", app.addr);
    for bearer in [None, Some("wrong"), Some("metrics-token-for-test")] {
        let mut r = app.client.get(&url);
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        let res = r.send().await.unwrap();
        assert_eq!(res.status(), 401, "{bearer:?}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "UNAUTHORIZED", "{body}");
    }
    // The recorder is the test process's, shared by every server in it: at
    // least this server's request.
    assert_eq!(app.get("/api/v1/articles").await.status(), 200);
    let scrape = Scrape::of(&app.client, &url).await;
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(scrape.sum("mediadesk_build_info", &version), 1.0);
    let list = requests("/api/v1/articles", "GET", "200");
    assert!(scrape.sum("mediadesk_http_requests_total", &list) >= 1.0);
}
