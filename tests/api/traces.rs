//! Traces: the real binary (`mediadesk serve --otlp-endpoint`) exports to a local
//! OTLP/HTTP receiver (tests/traces/receiver.py) that decodes each export with the
//! official `opentelemetry-proto` package. The server runs as a child process:
//! tracing's subscriber is global, installed once per process, and the in-process
//! test servers share theirs. `.ci/run` installs the package; without it the test
//! fails and says so.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TEST_JWT_SECRET, TestDb, run_cli};
use crate::multinode::Node;

/// tests/traces/receiver.py on a free port; stopped when dropped.
struct Receiver {
    child: Child,
    url: String,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("spans.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/traces/receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 is needed for the trace receiver");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("stdout");
        let _ = BufReader::new(stdout).read_line(&mut first);
        let Some(port) = first.trim().strip_prefix("listening ") else {
            let mut err = String::new();
            let _ = child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err);
            panic!("the OTLP receiver did not start: {err}");
        };
        Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            out,
            _dir: dir,
        }
    }

    /// Every span received so far, one JSON object each.
    fn spans(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A receiver, and a server over `db_url` exporting its traces to it (with its
/// data folder, kept while the server runs).
fn traced(db_url: &str) -> (Receiver, Node, tempfile::TempDir) {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start_with(
        db_url,
        dir.path(),
        TEST_JWT_SECRET,
        &["--otlp-endpoint", &receiver.url],
    );
    (receiver, node, dir)
}

both!(
    one_graphql_request_is_one_trace_under_the_callers_span,
    one_request_one_trace
);

async fn one_request_one_trace(backend: Backend) {
    let db = TestDb::new(backend).await;
    let seeded = run_cli(&db.url, &["seed"], None);
    assert!(seeded.status.success(), "seed: {seeded:?}");
    let (receiver, mut node, _dir) = traced(&db.url);
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let caller_span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let res = reqwest::Client::new()
        .post(format!("{}/graphql", node.url))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({ "query": "{ articles(first: 3) { edges { node { title outlet { name } experts { name } } } } }" }))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["articles"]["edges"].as_array().map(Vec::len),
        Some(3)
    );
    // The batch exporter sends every 5 s; stopping the server sends what is left.
    assert!(node.stop().success(), "the server exits cleanly");
    let spans = received_request(&receiver);
    assert_one_trace(&spans, &trace_id, caller_span);
}

/// The spans received, once the request's server span is among them (30 s at most).
fn received_request(receiver: &Receiver) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        if spans.iter().any(|s| s["kind"] == "SPAN_KIND_SERVER") {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "no server span exported: {spans:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every span is of the caller's trace; the HTTP span is the one child of the
/// caller's span, and the resolver and the SQL statements descend from it.
fn assert_one_trace(spans: &[Value], trace_id: &str, caller_span: &str) {
    assert!(spans.iter().all(|s| s.get("error").is_none()), "{spans:#?}");
    for s in spans {
        assert_eq!(s["trace_id"], trace_id, "a span of another trace: {s:#}");
        assert_eq!(s["service"], "mediadesk");
    }
    let parent: HashMap<&str, &str> = spans
        .iter()
        .map(|s| {
            (
                s["span_id"].as_str().unwrap(),
                s["parent_span_id"].as_str().unwrap(),
            )
        })
        .collect();
    let roots: Vec<&Value> = spans
        .iter()
        .filter(|s| s["parent_span_id"] == caller_span)
        .collect();
    assert_eq!(roots.len(), 1, "one span under the caller's: {spans:#?}");
    let http = roots[0];
    assert_eq!(http["kind"], "SPAN_KIND_SERVER");
    assert_eq!(http["name"], "POST /graphql");
    assert_eq!(http["attributes"]["http.route"], "/graphql");
    assert_eq!(http["attributes"]["http.response.status_code"], 200);
    let http_id = http["span_id"].as_str().unwrap();
    // Every span but the HTTP span hangs, through its parents, from the HTTP span.
    let under_http = |s: &Value| {
        let mut at = s["span_id"].as_str().unwrap();
        for _ in 0..64 {
            match parent.get(at) {
                Some(&p) if p == http_id => return true,
                Some(&p) => at = p,
                None => return false,
            }
        }
        false
    };
    for s in spans.iter().filter(|s| s["span_id"] != http_id) {
        assert!(under_http(s), "a span outside the request's: {s:#}");
    }
    let named = |n: &str| spans.iter().filter(|s| s["name"] == n).count();
    assert_eq!(
        named("Query.articles"),
        1,
        "the resolver's span: {spans:#?}"
    );
    assert_eq!(
        named("articles.list"),
        1,
        "the service call's span: {spans:#?}"
    );
    let sql: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"].as_str().unwrap().starts_with("sea_orm."))
        .collect();
    // The page (with its outlets, one join) and the experts of its articles.
    assert!(sql.len() >= 2, "SQL spans: {spans:#?}");
    for s in &sql {
        assert_eq!(s["kind"], "SPAN_KIND_CLIENT");
        let statement = s["attributes"]["db.statement"].as_str().unwrap_or("");
        assert!(!statement.is_empty(), "the statement's text: {s:#}");
    }
    assert!(
        sql.iter().any(|s| s["attributes"]["db.statement"]
            .as_str()
            .is_some_and(|q| q.contains("article_experts"))),
        "the experts' loader's statement is in the trace: {spans:#?}"
    );
}

both!(
    a_request_without_traceparent_starts_a_trace_and_an_unsampled_caller_exports_nothing,
    own_trace_and_unsampled
);

async fn own_trace_and_unsampled(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (receiver, mut node, _dir) = traced(&db.url);
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/articles/no-such-article", node.url);
    let unsampled = uuid::Uuid::new_v4().simple().to_string();
    let res = client
        .get(&url)
        .header("traceparent", format!("00-{unsampled}-00f067aa0ba902b7-00"))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 404);
    let res = client.get(&url).send().await.expect("GET");
    assert_eq!(res.status(), 404);
    assert!(node.stop().success(), "the server exits cleanly");
    let spans = received_request(&receiver);
    assert!(
        spans.iter().all(|s| s["trace_id"] != unsampled.as_str()),
        "the caller did not sample its trace: {spans:#?}"
    );
    let servers: Vec<&Value> = spans
        .iter()
        .filter(|s| s["kind"] == "SPAN_KIND_SERVER")
        .collect();
    assert_eq!(servers.len(), 1, "{spans:#?}");
    let http = servers[0];
    assert_eq!(http["parent_span_id"], "", "a root: {http:#}");
    assert_eq!(http["name"], "GET /api/v1/articles/{slug}");
    assert_eq!(http["attributes"]["http.route"], "/api/v1/articles/{slug}");
    assert_eq!(http["attributes"]["http.response.status_code"], 404);
    assert!(
        spans.iter().all(|s| s["trace_id"] == http["trace_id"]),
        "only the request's trace: {spans:#?}"
    );
}
