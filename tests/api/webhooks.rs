//! Webhooks end to end: endpoints managed by administrators (REST, GraphQL,
//! CLI), deliveries received by a real HTTP receiver (`tests/webhooks/
//! receiver.py`) that verifies every signature with the `standardwebhooks`
//! Python package, retries, timeouts, disabling, redelivery, the SSRF guard,
//! filters, and exactly-once delivery from two server processes on one
//! PostgreSQL database.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;
use crate::multinode::Node;

const RECEIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");

/// Fails with a clear message when the receiver's Python package is missing.
fn require_standardwebhooks() {
    let ok = Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the webhook tests need python3 with the standardwebhooks package: \
         python3 -m pip install 'standardwebhooks==1.1.0' (.ci/run installs it)"
    );
}

/// A running `receiver.py`; killed when dropped.
struct Receiver {
    child: Child,
    stdin: ChildStdin,
    port: u16,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    /// Starts one in `mode` on `port` (0: any free port).
    fn start(mode: &str, port: u16) -> Self {
        require_standardwebhooks();
        let mut child = Command::new("python3")
            .arg(RECEIVER)
            .arg(mode)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/webhooks/receiver.py");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.strip_prefix("listening ") {
                    let _ = tx.send(p.trim().parse::<u16>().unwrap_or(0));
                } else if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    kept.lock().unwrap().push(v);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the receiver did not start (is standardwebhooks installed?)");
        Self {
            child,
            stdin,
            port,
            lines,
        }
    }

    /// Gives it an endpoint's secret to verify with.
    fn trust(&mut self, secret: &str) {
        writeln!(self.stdin, "{secret}").expect("write the secret");
        self.stdin.flush().expect("flush");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request it answered (the first line of a hanging one apart).
    fn requests(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["hanging"] != true)
            .cloned()
            .collect()
    }

    /// How many lines it printed: at least one per request that reached it.
    fn arrivals(&self) -> usize {
        self.lines.lock().unwrap().len()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it gives a value; fails after `secs` seconds.
async fn until<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "{what}: not seen within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A server that sends webhooks to 127.0.0.1, retrying after 1 s three times.
async fn hooked(backend: Backend) -> TestApp {
    spawn_tuned(backend, |a| {
        a.no_webhooks = false;
        a.webhook_allow_cidr = vec!["127.0.0.1/32".into()];
        a.webhook_retry_schedule = vec![Duration::from_secs(1); 3];
    })
    .await
}

/// A write that must succeed (`If-Match: *` on changes and deletes): its `data`.
async fn write(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let if_match: &[(&str, &str)] = if method == Method::POST {
        &[]
    } else {
        &[("if-match", "*")]
    };
    let (status, _, res) = call(
        app,
        method.clone(),
        path,
        Some(token),
        body.as_ref(),
        if_match,
    )
    .await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {res}"
    );
    res["data"].clone()
}

/// `POST /api/v1/{collection}` as `token`: the new record's slug.
async fn create(app: &TestApp, token: &str, collection: &str, body: Value) -> String {
    let path = format!("/api/v1/{collection}");
    let d = write(app, token, Method::POST, &path, Some(body)).await;
    d["slug"].as_str().unwrap_or_default().to_owned()
}

/// `PATCH /api/v1/{path}` as `token` (`If-Match: *`).
async fn change(app: &TestApp, token: &str, path: &str, body: Value) {
    let path = format!("/api/v1/{path}");
    write(app, token, Method::PATCH, &path, Some(body)).await;
}

/// `DELETE /api/v1/{path}` as `token` (`If-Match: *`).
async fn remove(app: &TestApp, token: &str, path: &str) {
    write(app, token, Method::DELETE, &format!("/api/v1/{path}"), None).await;
}

/// Registers an endpoint: its id and secret.
async fn endpoint(app: &TestApp, admin: &str, body: Value) -> (i64, String) {
    let (status, _, res) = call(
        app,
        Method::POST,
        "/api/v1/webhooks",
        Some(admin),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{res}");
    let secret = res["data"]["secret"].as_str().unwrap().to_owned();
    (res["data"]["id"].as_i64().unwrap(), secret)
}

/// An endpoint's deliveries (newest first).
async fn deliveries(app: &TestApp, admin: &str, id: i64) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/{id}/deliveries?limit=100");
    let (status, _, res) = call(app, Method::GET, &path, Some(admin), None, &[]).await;
    assert_eq!(status, 200, "{res}");
    res["data"].as_array().unwrap().clone()
}

/// The first attempt of an endpoint's first delivery, once there is one.
async fn first_attempt(app: &TestApp, admin: &str, id: i64, what: &str) -> Value {
    until(what, 60, || async {
        let d = deliveries(app, admin, id).await;
        d.first()
            .and_then(|d| d["attempts"].as_array().and_then(|a| a.first().cloned()))
    })
    .await
}

async fn get_endpoint(app: &TestApp, admin: &str, id: i64) -> Value {
    let (status, _, res) = call(
        app,
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        Some(admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{res}");
    res["data"].clone()
}

/// A published topic: one `topic.created`.
async fn new_topic(app: &TestApp, token: &str, name: &str) -> String {
    create(app, token, "topics", json!({ "name": name })).await
}

/// The requests of one message id.
fn of_id<'a>(requests: &'a [Value], id: &str) -> Vec<&'a Value> {
    requests.iter().filter(|r| r["id"] == id).collect()
}

// ------------------------------------------------------------ administration

both!(
    endpoints_are_for_administrators_and_the_secret_is_shown_once,
    administration
);

async fn administration(backend: Backend) {
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    let editor = token_for(&app, "editor").await;
    let body = json!({ "url": "http://127.0.0.1:9/hook", "events": ["article.published"], "experts": ["rob-huebert"] });

    // Non-administrators are refused, and nothing is made.
    let before = snapshot(&app, &admin).await;
    for (token, code) in [(Some(editor.as_str()), 403), (None, 401)] {
        for (method, path) in [
            (Method::GET, "/api/v1/webhooks"),
            (Method::POST, "/api/v1/webhooks"),
            (Method::GET, "/api/v1/webhooks/1"),
            (Method::PATCH, "/api/v1/webhooks/1"),
            (Method::DELETE, "/api/v1/webhooks/1"),
            (Method::POST, "/api/v1/webhooks/1/secret"),
            (Method::GET, "/api/v1/webhooks/1/deliveries"),
            (Method::POST, "/api/v1/webhooks/1/deliveries/1/redeliver"),
        ] {
            let (status, _, res) = call(&app, method.clone(), path, token, Some(&body), &[]).await;
            assert_eq!(status, code, "{method} {path}: {res}");
        }
    }
    let res = gql_as(
        &app,
        Some(&editor),
        r#"mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/" }) { secret } }"#,
        json!({}),
    )
    .await;
    assert_eq!(res["errors"][0]["extensions"]["code"], "FORBIDDEN", "{res}");
    let res = gql_as(
        &app,
        Some(&editor),
        "{ webhookEndpoints { id } }",
        json!({}),
    )
    .await;
    assert_eq!(res["errors"][0]["extensions"]["code"], "FORBIDDEN", "{res}");
    assert_eq!(snapshot(&app, &admin).await, before);

    // Bad input: a clear 422 naming the field, and nothing made.
    for (bad, field) in [
        (json!({ "url": "ftp://example.com/" }), "url"),
        (json!({ "url": "http://user:pw@example.com/" }), "url"),
        (json!({ "url": "http://example.com/#x" }), "url"),
        (json!({ "url": "http://10.0.0.1/" }), "url"),
        (
            json!({ "url": "http://example.com/", "events": ["article.exploded"] }),
            "events",
        ),
        (
            json!({ "url": "http://example.com/", "events": [] }),
            "events",
        ),
        (
            json!({ "url": "http://example.com/", "experts": ["nobody-at-all"] }),
            "expert",
        ),
    ] {
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/api/v1/webhooks",
            Some(&admin),
            Some(&bad),
            &[],
        )
        .await;
        assert_eq!(status, 422, "{bad}: {res}");
        assert_eq!(res["errors"][0]["field"], field, "{res}");
    }
    let (status, _, res) = call(
        &app,
        Method::POST,
        "/api/v1/webhooks",
        Some(&admin),
        Some(&json!({ "url": "http://example.com/", "nope": 1 })),
        &[],
    )
    .await;
    assert!((400..500).contains(&status), "{res}");
    assert_eq!(snapshot(&app, &admin).await, before);

    // The secret is shown once: a retry with the same key is a 409.
    let key = [("idempotency-key", "hook-create-1")];
    let (status, headers, res) = call(
        &app,
        Method::POST,
        "/api/v1/webhooks",
        Some(&admin),
        Some(&body),
        &key,
    )
    .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(headers["cache-control"], "private, no-store");
    let secret = res["data"]["secret"].as_str().unwrap().to_owned();
    let raw = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap()
            .len(),
        32
    );
    assert_eq!(res["data"]["experts"], json!(["rob-huebert"]));
    assert_eq!(res["data"]["events"], json!(["article.published"]));
    let id = res["data"]["id"].as_i64().unwrap();
    let (status, _, again) = call(
        &app,
        Method::POST,
        "/api/v1/webhooks",
        Some(&admin),
        Some(&body),
        &key,
    )
    .await;
    assert_eq!(status, 409, "{again}");
    assert!(!again.to_string().contains(&secret));

    // GET, lists, GraphQL and the audit log never show it.
    let one = get_endpoint(&app, &admin, id).await;
    assert!(one.get("secret").is_none(), "{one}");
    let (_, _, all) = call(
        &app,
        Method::GET,
        "/api/v1/webhooks",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    let gql = gql_as(
        &app,
        Some(&admin),
        "{ webhookEndpoints { id url events experts active } }",
        json!({}),
    )
    .await;
    assert_eq!(
        gql["data"]["webhookEndpoints"][0]["experts"],
        json!(["rob-huebert"]),
        "{gql}"
    );
    assert!(!all.to_string().contains(raw) && !gql.to_string().contains(raw));

    // Rotation: a new secret, once.
    let (status, _, rotated) = call(
        &app,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/secret"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["data"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);

    // GraphQL create and update; CLI list, disable, enable, remove.
    let made = gql_as(&app, Some(&admin), r#"mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/gql", events: ["topic.*"] }) { endpoint { id events active } secret } }"#, json!({})).await;
    let gid = made["data"]["createWebhookEndpoint"]["endpoint"]["id"]
        .as_i64()
        .expect("created");
    let gsecret = made["data"]["createWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(gsecret.starts_with("whsec_"));
    let changed = gql_as(&app, Some(&admin), "mutation($id: Int!) { updateWebhookEndpoint(id: $id, input: { active: false, topics: [\"defence\"] }) { active topics } }", json!({ "id": gid })).await;
    assert_eq!(
        changed["data"]["updateWebhookEndpoint"],
        json!({ "active": false, "topics": ["defence"] }),
        "{changed}"
    );
    let out = app.cli(&["webhook", "enable", &gid.to_string()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(get_endpoint(&app, &admin, gid).await["active"], true);
    let out = app.cli(&["webhook", "disable", &gid.to_string()], None);
    assert!(out.status.success());
    assert_eq!(get_endpoint(&app, &admin, gid).await["active"], false);
    let out = app.cli(
        &[
            "webhook",
            "add",
            "--url",
            "http://example.com/cli",
            "--events",
            "article.published,article.unpublished",
            "--topic",
            "defence",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli_secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(cli_secret.starts_with("whsec_"));
    let out = app.cli(&["webhook", "list"], None);
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains("http://example.com/cli") && listing.contains("topic: defence"),
        "{listing}"
    );
    for s in [&secret, &new_secret, &gsecret, &cli_secret] {
        assert!(!listing.contains(s.as_str()));
    }
    let out = app.cli(&["webhook", "remove", &gid.to_string()], None);
    assert!(out.status.success());
    let (status, _, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/webhooks/{gid}"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 404);
    let out = app.cli(
        &["webhook", "add", "--url", "http://169.254.169.254/latest"],
        None,
    );
    assert!(!out.status.success(), "the metadata address is refused");

    let audit = audit_log(&app, &admin)
        .await
        .iter()
        .map(|a| a.to_string())
        .collect::<String>();
    for s in [&secret, &new_secret, &gsecret, &cli_secret] {
        assert!(!audit.contains(s.as_str()), "a secret is in the audit log");
        assert!(!audit.contains(s.strip_prefix("whsec_").unwrap()));
    }
    assert!(audit.contains("rotate_secret"));

    // DELETE: 204, then 404.
    let (status, _, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 404);
}

// ------------------------------------------------------------ every event

both!(every_event_type_is_signed_and_verified, every_event);

async fn every_event(backend: Backend) {
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    let editor = token_for(&app, "editor").await;
    let mut rx = Receiver::start("ok", 0);
    let (_, secret) = endpoint(&app, &admin, json!({ "url": rx.url("/all") })).await;
    rx.trust(&secret);
    let started = Instant::now();

    let e = editor.as_str();
    let topic = create(&app, e, "topics", json!({ "name": "Hook Topic" })).await;
    change(
        &app,
        e,
        &format!("topics/{topic}"),
        json!({ "name": "Hook Topic Two" }),
    )
    .await;
    let expert = create(&app, e, "experts", json!({ "name": "Hook Expert" })).await;
    change(
        &app,
        e,
        &format!("experts/{expert}"),
        json!({ "title": "Fellow" }),
    )
    .await;
    let outlet = create(
        &app,
        e,
        "outlets",
        json!({ "name": "Hook Outlet", "kind": "online" }),
    )
    .await;
    change(
        &app,
        e,
        &format!("outlets/{outlet}"),
        json!({ "country": "CA" }),
    )
    .await;
    let event = create(&app, e, "events", json!({ "title": "Hook Event", "kind": "webinar", "starts_at": "2027-03-01T15:00:00Z", "status": "published" })).await;
    let event = format!("events/{event}");
    for body in [
        json!({ "title": "Hook Event Two" }),
        json!({ "status": "draft" }),
        json!({ "status": "published" }),
    ] {
        change(&app, e, &event, body).await;
    }
    remove(&app, e, &event).await;
    let article = create(
        &app,
        e,
        "articles",
        json!({
            "title": "Hook Article", "published_at": "2026-01-02", "language": "en",
            "experts": [expert], "outlet": outlet, "topics": [topic]
        }),
    )
    .await;
    let path = format!("articles/{article}");
    for body in [
        json!({ "summary": "Changed" }),
        json!({ "status": "draft" }),
        json!({ "summary": "Edited while a draft" }),
        json!({ "status": "published" }),
    ] {
        change(&app, e, &path, body).await;
    }
    remove(&app, e, &path).await;
    // A draft never triggers a webhook.
    let draft = create(&app, e, "articles", json!({
        "title": "Hook Secret Draft", "published_at": "2026-01-02", "language": "en", "status": "draft"
    }))
    .await;
    change(
        &app,
        e,
        &format!("articles/{draft}"),
        json!({ "summary": "Still hidden" }),
    )
    .await;
    create(
        &app,
        e,
        "mentions",
        json!({
            "title": "Hook Mention", "url": "https://example.com/hook-mention", "outlet": "cbc",
            "experts": ["Hook Expert"], "published_at": "2026-01-03", "language": "en"
        }),
    )
    .await;
    remove(&app, e, &format!("topics/{topic}")).await;
    let spare = create(&app, e, "experts", json!({ "name": "Hook Spare" })).await;
    remove(&app, e, &format!("experts/{spare}")).await;
    let spare = create(
        &app,
        e,
        "outlets",
        json!({ "name": "Hook Spare Outlet", "kind": "online" }),
    )
    .await;
    remove(&app, e, &format!("outlets/{spare}")).await;
    change(&app, &admin, "site", json!({ "tagline_en": "Hooked" })).await;
    let writes_done = started.elapsed();

    // Every type the server can send.
    let all: BTreeSet<&str> = mediadesk::services::webhooks::EVENT_TYPES
        .iter()
        .copied()
        .collect();
    assert_eq!(all.len(), 19);
    let got = until("every event type", 60, || async {
        let r = rx.requests();
        let types: BTreeSet<String> = r
            .iter()
            .filter_map(|v| v["payload"]["type"].as_str().map(str::to_owned))
            .collect();
        (types.len() >= all.len() && r.iter().any(|v| v["payload"]["type"] == "site.updated"))
            .then_some(r)
    })
    .await;
    let arrived = started.elapsed();
    let types: BTreeSet<&str> = got
        .iter()
        .filter_map(|v| v["payload"]["type"].as_str())
        .collect();
    assert_eq!(types, all);
    for r in &got {
        assert_eq!(r["verified"], true, "{r}");
        assert_eq!(r["status"], 204);
        assert_eq!(
            of_id(&got, r["id"].as_str().unwrap()).len(),
            1,
            "one request per message: {r}"
        );
        assert_ne!(
            r["payload"]["data"]["slug"],
            draft.as_str(),
            "a draft was announced: {r}"
        );
        assert!(
            r["payload"]["timestamp"].as_str().is_some()
                && r["payload"]["data"]["seq"].as_i64().is_some()
        );
    }
    // Published twice, so `article.published` twice, in log order.
    let published: Vec<i64> = got
        .iter()
        .filter(|v| {
            v["payload"]["type"] == "article.published"
                && v["payload"]["data"]["slug"] == article.as_str()
        })
        .map(|v| v["payload"]["data"]["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(published.len(), 2, "{published:?}");
    eprintln!(
        "[webhooks] {} messages; writes took {:?}, all received {:?} after the first write",
        got.len(),
        writes_done,
        arrived
    );

    // Latency from a committed write to its arrival, one write at a time.
    let mut waits = Vec::new();
    for i in 0..10 {
        let before = rx.requests().len();
        let t0 = Instant::now();
        new_topic(&app, &editor, &format!("Latency Topic {i}")).await;
        until("the write's message", 30, || async {
            (rx.requests().len() > before).then_some(())
        })
        .await;
        waits.push(t0.elapsed());
        // The payload carries the change as the sync API shows it, object included.
        let last = rx.requests().last().cloned().unwrap();
        let data = &last["payload"]["data"];
        assert_eq!(last["payload"]["type"], "topic.created");
        assert_eq!(
            (data["op"].as_str(), data["event"].as_str()),
            (Some("upsert"), Some("topic.created")),
            "{last}"
        );
        assert_eq!(data["data"]["name"], format!("Latency Topic {i}"), "{last}");
    }
    waits.sort();
    eprintln!(
        "[webhooks] write to receiver, 10 writes: p50 {:?}, max {:?}",
        waits[5], waits[9]
    );
}

// ------------------------------------------------------------ retries

both!(a_flaky_receiver_gets_one_success_after_two_failures, flaky);

async fn flaky(backend: Backend) {
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    let mut rx = Receiver::start("flaky", 0);
    let (id, secret) = endpoint(
        &app,
        &admin,
        json!({ "url": rx.url("/flaky"), "events": ["topic.created"] }),
    )
    .await;
    rx.trust(&secret);
    new_topic(&app, &admin, "Flaky Topic").await;
    let d = until("a succeeded delivery", 60, || async {
        let d = deliveries(&app, &admin, id).await;
        (d.len() == 1 && d[0]["state"] == "succeeded").then(|| d[0].clone())
    })
    .await;
    let outcomes: Vec<(&str, i64)> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["outcome"].as_str().unwrap(),
                a["response_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("http_status", 500), ("http_status", 500), ("ok", 204)]
    );
    let got = rx.requests();
    let msg = d["message_id"].as_str().unwrap();
    let statuses: Vec<&Value> = of_id(&got, msg).iter().map(|r| &r["status"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(500), &json!(204)], "{got:?}");
    assert!(of_id(&got, msg).iter().all(|r| r["verified"] == true));
    assert_eq!(
        got.len(),
        3,
        "one message, three attempts under one webhook-id"
    );
    assert_eq!(get_endpoint(&app, &admin, id).await["active"], true);

    // Past the retention window a settled message goes, with its log.
    let conn = mediadesk::db::connect(&app.db.url, 1).await.unwrap();
    let pruned = mediadesk::services::webhooks::worker::prune(&conn.conn, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert!(deliveries(&app, &admin, id).await.is_empty());
}

both!(a_hanging_receiver_times_out_while_others_are_served, hang);

async fn hang(backend: Backend) {
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    let mut slow = Receiver::start("hang", 0);
    let mut fast = Receiver::start("ok", 0);
    let (slow_id, s1) = endpoint(
        &app,
        &admin,
        json!({ "url": slow.url("/slow"), "events": ["topic.created"] }),
    )
    .await;
    let (_, s2) = endpoint(
        &app,
        &admin,
        json!({ "url": fast.url("/fast"), "events": ["topic.created"] }),
    )
    .await;
    slow.trust(&s1);
    fast.trust(&s2);
    new_topic(&app, &admin, "Hang Topic").await;
    // The other endpoint is served while the first one hangs.
    until("the fast receiver's request", 30, || async {
        (!fast.requests().is_empty()).then_some(())
    })
    .await;
    let attempt = first_attempt(&app, &admin, slow_id, "a timed-out attempt").await;
    assert_eq!(attempt["outcome"], "timeout", "{attempt}");
    assert!(attempt["response_code"].is_null());
    let ms = attempt["latency_ms"].as_i64().unwrap();
    assert!((9_500..20_000).contains(&ms), "timed out after {ms} ms");
}

both!(
    a_receiver_down_for_the_whole_schedule_disables_its_endpoint,
    down
);

async fn down(backend: Backend) {
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    // A port nobody listens on (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (id, secret) = endpoint(
        &app,
        &admin,
        json!({ "url": format!("http://127.0.0.1:{port}/down"), "events": ["topic.*"] }),
    )
    .await;
    new_topic(&app, &admin, "Down Topic").await;
    let d = until("a failed delivery", 60, || async {
        let d = deliveries(&app, &admin, id).await;
        (d.len() == 1 && d[0]["state"] == "failed").then(|| d[0].clone())
    })
    .await;
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        4,
        "the first attempt and three retries: {d}"
    );
    assert!(attempts.iter().all(|a| a["outcome"] == "connect"), "{d}");
    let e = get_endpoint(&app, &admin, id).await;
    assert_eq!(
        (e["active"].clone(), e["disabled_reason"].clone()),
        (json!(false), json!("failing"))
    );
    assert!(
        audit_log(&app, &admin)
            .await
            .iter()
            .any(|a| a["actor"] == "system" && a["action"] == "disable")
    );

    // While disabled nothing new is queued for it.
    new_topic(&app, &admin, "Down Topic Two").await;

    // Back up: an administrator re-enables it and redelivers.
    let mut rx = Receiver::start("ok", port);
    rx.trust(&secret);
    write(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({ "active": true })),
    )
    .await;
    let e = get_endpoint(&app, &admin, id).await;
    assert!(e["disabled_reason"].is_null());
    let (status, _, res) = call(
        &app,
        Method::POST,
        &format!("/api/v1/webhooks/{id}/deliveries/{}/redeliver", d["id"]),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 202, "{res}");
    let got = until("the redelivery", 30, || async {
        let r = rx.requests();
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(got[0]["id"], d["message_id"]);
    assert_eq!(got[0]["verified"], true);
    until("a succeeded delivery", 30, || async {
        let d = deliveries(&app, &admin, id).await;
        (d[0]["state"] == "succeeded").then_some(())
    })
    .await;
    assert_eq!(
        deliveries(&app, &admin, id).await.len(),
        1,
        "nothing was queued while it was disabled"
    );
}

// ------------------------------------------------------------ redirects and SSRF

both!(redirects_are_not_followed, redirect);

async fn redirect(backend: Backend) {
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    let mut rx = Receiver::start("redirect", 0);
    let (id, secret) = endpoint(
        &app,
        &admin,
        json!({ "url": rx.url("/redirect"), "events": ["topic.created"] }),
    )
    .await;
    rx.trust(&secret);
    new_topic(&app, &admin, "Redirect Topic").await;
    let attempt = first_attempt(&app, &admin, id, "a redirect attempt").await;
    assert_eq!(
        (attempt["outcome"].clone(), attempt["response_code"].clone()),
        (json!("redirect"), json!(302))
    );
    assert!(
        rx.requests().iter().all(|r| r["path"] == "/redirect"),
        "the redirect was followed"
    );
}

both!(
    private_destinations_are_refused_without_the_allow_flag,
    ssrf
);

async fn ssrf(backend: Backend) {
    let app = spawn_tuned(backend, |a| {
        a.no_webhooks = false;
        a.webhook_retry_schedule = vec![Duration::from_secs(1)];
    })
    .await;
    let admin = token_for(&app, "admin").await;
    let mut rx = Receiver::start("ok", 0);
    let port = rx.port;
    for host in [
        "127.0.0.1",
        "[::1]",
        "169.254.169.254",
        "10.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "[::ffff:127.0.0.1]",
    ] {
        let body = json!({ "url": format!("http://{host}:{port}/x") });
        let (status, _, res) = call(
            &app,
            Method::POST,
            "/api/v1/webhooks",
            Some(&admin),
            Some(&body),
            &[],
        )
        .await;
        assert_eq!(status, 422, "{host}: {res}");
    }
    // A name is checked on the addresses it resolves to, at connection time.
    let (id, secret) = endpoint(
        &app,
        &admin,
        json!({ "url": format!("http://localhost:{port}/x"), "events": ["topic.created"] }),
    )
    .await;
    rx.trust(&secret);
    new_topic(&app, &admin, "Ssrf Topic").await;
    let attempt = first_attempt(&app, &admin, id, "a refused attempt").await;
    assert_eq!(attempt["outcome"], "refused", "{attempt}");
    assert!(
        attempt["response_body"]
            .as_str()
            .unwrap()
            .contains("destination not allowed"),
        "{attempt}"
    );
    assert_eq!(rx.arrivals(), 0, "no connection may reach the receiver");
}

// ------------------------------------------------------------ filters

both!(
    filters_by_expert_outlet_and_topic_match_through_refs,
    filters
);

async fn filters(backend: Backend) {
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    let editor = token_for(&app, "editor").await;
    let mut rx = Receiver::start("ok", 0);
    let e = editor.as_str();
    let expert = create(&app, e, "experts", json!({ "name": "Filter Expert" })).await;
    let outlet = create(
        &app,
        e,
        "outlets",
        json!({ "name": "Filter Outlet", "kind": "online" }),
    )
    .await;
    let topic = new_topic(&app, &editor, "Filter Topic").await;
    let article_events = json!(["article.*"]);
    let mut ids = HashMap::new();
    for (path, filter) in [
        ("/by-expert", json!({ "experts": [expert] })),
        ("/by-outlet", json!({ "outlets": [outlet] })),
        ("/by-topic", json!({ "topics": [topic] })),
    ] {
        let mut body = filter;
        body["url"] = json!(rx.url(path));
        body["events"] = article_events.clone();
        let (id, secret) = endpoint(&app, &admin, body).await;
        rx.trust(&secret);
        ids.insert(path, id);
    }
    let article = |title: &str, extra: Value| {
        let mut a = json!({ "title": title, "published_at": "2026-01-02", "language": "en" });
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };
    let a = create(
        &app,
        e,
        "articles",
        article("With Expert", json!({ "experts": [expert] })),
    )
    .await;
    for (title, refs) in [
        ("With Outlet", json!({ "outlet": outlet })),
        ("With Topic", json!({ "topics": [topic] })),
        ("With None", json!({ "outlet": "cbc" })),
    ] {
        create(&app, e, "articles", article(title, refs)).await;
    }
    // The unpublished article no longer names the expert to anyone; its refs do.
    change(
        &app,
        e,
        &format!("articles/{a}"),
        json!({ "status": "draft" }),
    )
    .await;
    let all = json!({ "experts": [expert], "outlet": outlet, "topics": [topic] });
    create(&app, e, "articles", article("With All", all)).await;

    // Wait for the last write at every endpoint, then for nothing pending.
    until("the last article everywhere", 60, || async {
        let r = rx.requests();
        let last: Vec<_> = r
            .iter()
            .filter(|v| {
                v["payload"]["data"]["slug"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("with-all"))
            })
            .collect();
        (last.len() == 3).then_some(())
    })
    .await;
    for id in ids.values() {
        until("every delivery settled", 30, || async {
            deliveries(&app, &admin, *id)
                .await
                .iter()
                .all(|d| d["state"] == "succeeded")
                .then_some(())
        })
        .await;
    }
    let got = rx.requests();
    let seen = |path: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = got
            .iter()
            .filter(|r| r["path"] == path)
            .map(|r| {
                let slug = r["payload"]["data"]["slug"].as_str().unwrap();
                (
                    r["payload"]["type"].as_str().unwrap().to_owned(),
                    slug.split('-').take(2).collect::<Vec<_>>().join("-"),
                )
            })
            .collect();
        v.sort();
        v
    };
    let pair = |t: &str, s: &str| (t.to_owned(), s.to_owned());
    assert_eq!(
        seen("/by-expert"),
        [
            pair("article.published", "with-all"),
            pair("article.published", "with-expert"),
            pair("article.unpublished", "with-expert")
        ]
    );
    assert_eq!(
        seen("/by-outlet"),
        [
            pair("article.published", "with-all"),
            pair("article.published", "with-outlet")
        ]
    );
    assert_eq!(
        seen("/by-topic"),
        [
            pair("article.published", "with-all"),
            pair("article.published", "with-topic")
        ]
    );
    assert!(got.iter().all(|r| r["verified"] == true));
}

// ------------------------------------------------------------ several nodes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_deliver_each_message_once_per_endpoint() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--webhook-allow-cidr",
        "127.0.0.1/32",
        "--write-burst",
        "100000",
        "--writes-per-minute",
        "100000",
    ];
    let a = Node::start_with(&db.url, dir.path(), TEST_JWT_SECRET, &flags);
    let b = Node::start_with(&db.url, dir.path(), TEST_JWT_SECRET, &flags);
    let key = {
        let out = run_cli(
            &db.url,
            &["key", "create", "--role", "admin", "--name", "nodes"],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let http = client();
    let token: Value = http
        .post(format!("{}/api/v1/auth/token", a.url))
        .json(&json!({ "api_key": key }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let mut receivers = [Receiver::start("ok", 0), Receiver::start("ok", 0)];
    for (i, rx) in receivers.iter_mut().enumerate() {
        let res: Value = http
            .post(format!("{}/api/v1/webhooks", a.url))
            .bearer_auth(&token)
            .json(&json!({ "url": rx.url(&format!("/node-{i}")), "events": ["topic.created"] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rx.trust(res["data"]["secret"].as_str().expect("created"));
    }
    // The sync API's token before the writes (the feed the messages must match).
    let t0: Value = http
        .get(format!("{}/api/v1/changes", b.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t0 = t0["meta"]["next"].as_str().unwrap().to_owned();
    const WRITES: usize = 60;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..WRITES {
        let node = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let (http, token) = (http.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let res = http
                .post(format!("{node}/api/v1/topics"))
                .bearer_auth(token)
                .json(&json!({ "name": format!("Node Topic {i}") }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for rx in &receivers {
        until("every message at every endpoint", 120, || async {
            (rx.requests().len() >= WRITES).then_some(())
        })
        .await;
    }
    let took = started.elapsed();
    // Both nodes' workers are still polling: give a duplicate every chance to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut orders = Vec::new();
    for rx in &receivers {
        let got = rx.requests();
        assert_eq!(got.len(), WRITES, "each message exactly once");
        let ids: BTreeSet<&str> = got.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), WRITES);
        assert!(
            got.iter()
                .all(|r| r["verified"] == true && r["status"] == 204)
        );
        let mut seqs: Vec<i64> = got
            .iter()
            .map(|r| r["payload"]["data"]["seq"].as_i64().unwrap())
            .collect();
        seqs.sort();
        orders.push(seqs);
    }
    assert_eq!(orders[0], orders[1], "both endpoints got the same messages");
    let seqs = &orders[0];
    assert_eq!(
        seqs.last().unwrap() - seqs.first().unwrap() + 1,
        WRITES as i64,
        "one message per entry: {seqs:?}"
    );
    // The same entries, in the same order, as the public sync feed.
    let feed: Value = http
        .get(format!("{}/api/v1/changes?since={t0}&limit=1000", a.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let feed: Vec<(i64, String)> = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["seq"].as_i64().unwrap(),
                c["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut arrived: Vec<(i64, String)> = receivers[0]
        .requests()
        .iter()
        .map(|r| {
            (
                r["payload"]["data"]["seq"].as_i64().unwrap(),
                r["payload"]["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    arrived.sort();
    assert_eq!(arrived, feed, "the messages are the sync feed's entries");
    let ids: Vec<String> = {
        let mut r = receivers[0].requests();
        r.sort_by_key(|r| r["payload"]["data"]["seq"].as_i64());
        r.iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let suffix = |id: &String| id.rsplit('_').next().unwrap().parse::<i64>().unwrap();
    assert!(
        ids.windows(2).all(|w| suffix(&w[0]) < suffix(&w[1])),
        "webhook-ids follow the log's order"
    );
    // Which node sent what (both claim from the same queue).
    let mut by_node: HashMap<String, usize> = HashMap::new();
    for id in [1, 2] {
        let d: Value = http
            .get(format!(
                "{}/api/v1/webhooks/{id}/deliveries?limit=100",
                b.url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let d = d["data"].as_array().unwrap();
        assert_eq!(d.len(), WRITES);
        for dl in d {
            assert_eq!(dl["state"], "succeeded");
            let attempts = dl["attempts"].as_array().unwrap();
            assert_eq!(attempts.len(), 1, "one attempt, one success: {dl}");
            *by_node
                .entry(attempts[0]["node"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    eprintln!(
        "[webhooks] {WRITES} writes over two nodes delivered to two endpoints in {took:?}; sent per node: {by_node:?}"
    );
}

// ------------------------------------------------------------ one sequence

both!(
    the_sync_feed_webhooks_subscriptions_and_the_cache_agree_on_one_sequence,
    agreement
);

/// The issue's "done": the four consumers of the change log see the same
/// sequence. After a series of writes, the public sync feed, the webhooks
/// (by the sequence number each carries), an anonymous subscriber's
/// `articlePublished` and the public list (a cached read) agree.
async fn agreement(backend: Backend) {
    use crate::subscriptions::{Client, PUBLISHED, is_probe};
    let app = hooked(backend).await;
    let admin = token_for(&app, "admin").await;
    let e = token_for(&app, "editor").await;
    let e = e.as_str();
    let mut rx = Receiver::start("ok", 0);
    let (_, secret) = endpoint(&app, &admin, json!({ "url": rx.url("/all") })).await;
    rx.trust(&secret);
    let sub = Client::start(
        &app.addr,
        None,
        1,
        &[("a", PUBLISHED, json!({ "f": null }))],
    );
    sub.ready(1).await;
    sub.live(&app.addr, &app.client, e, &["a"]).await;
    // Where the sequence starts: after the probes that made the
    // subscription live.
    let (_, _, head) = call(&app, Method::GET, "/api/v1/changes", None, None, &[]).await;
    let mut since = head["meta"]["next"].as_str().unwrap().to_owned();
    // The public list, read (and cached) before the writes.
    let (_, _, before) = call(
        &app,
        Method::GET,
        "/api/v1/articles?limit=100",
        None,
        None,
        &[],
    )
    .await;

    let article = |title: &str, status: &str| json!({ "title": title, "published_at": "2026-11-03", "language": "en", "status": status });
    let mut slugs = vec![];
    for i in 0..4 {
        slugs.push(
            create(
                &app,
                e,
                "articles",
                article(&format!("Agree {i}"), "published"),
            )
            .await,
        );
    }
    let draft = create(&app, e, "articles", article("Agree Draft", "draft")).await;
    change(
        &app,
        e,
        &format!("articles/{}", slugs[1]),
        json!({ "title": "Agree 1 Edited" }),
    )
    .await;
    change(
        &app,
        e,
        &format!("articles/{draft}"),
        json!({ "status": "published" }),
    )
    .await;
    change(
        &app,
        e,
        &format!("articles/{}", slugs[0]),
        json!({ "status": "draft" }),
    )
    .await;
    let ev = create(
        &app,
        e,
        "events",
        json!({ "title": "Agree Event", "kind": "webinar", "starts_at": "2027-05-01T15:00:00Z" }),
    )
    .await;
    remove(&app, e, &format!("events/{ev}")).await;

    // The sync feed, as the public reads it: (seq, event, slug).
    let mut feed: Vec<(i64, String, String)> = vec![];
    loop {
        let (_, _, page) = call(
            &app,
            Method::GET,
            &format!("/api/v1/changes?since={since}"),
            None,
            None,
            &[],
        )
        .await;
        for c in page["data"].as_array().unwrap() {
            feed.push((
                c["seq"].as_i64().unwrap(),
                c["event"].as_str().unwrap().to_owned(),
                c["slug"].as_str().unwrap().to_owned(),
            ));
        }
        since = page["meta"]["next"].as_str().unwrap().to_owned();
        if page["meta"]["more"] == false {
            break;
        }
    }
    let events: Vec<&str> = feed.iter().map(|(_, ev, _)| ev.as_str()).collect();
    assert_eq!(
        events,
        [
            "article.published",
            "article.published",
            "article.published",
            "article.published",
            "article.updated",
            "article.published",
            "article.unpublished",
            "event.published",
            "event.deleted",
        ],
        "{feed:#?}"
    );
    // Webhooks: one per entry of the feed, carrying its number.
    let (first, want) = (feed[0].0, feed.len());
    let after_start = |r: &Value| r["payload"]["data"]["seq"].as_i64().unwrap_or(0) >= first;
    let hooks = until("every webhook", 30, || {
        let got: Vec<Value> = rx.requests().into_iter().filter(after_start).collect();
        async move { (got.len() >= want).then_some(got) }
    })
    .await;
    let mut hooked: Vec<(i64, String, String)> = hooks
        .iter()
        .map(|r| {
            let p = &r["payload"];
            (
                p["data"]["seq"].as_i64().unwrap(),
                p["type"].as_str().unwrap().to_owned(),
                p["data"]["slug"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    hooked.sort();
    assert_eq!(hooked, feed, "webhooks and the sync feed");
    // The subscriber: the publications, in the feed's order.
    let published: Vec<String> = feed
        .iter()
        .filter(|(_, ev, _)| ev == "article.published")
        .map(|(_, _, slug)| slug.clone())
        .collect();
    let mut seen = vec![];
    let mut pushed = vec![];
    while pushed.len() < published.len() {
        let v = sub
            .next(20, |v| v["sub"] == "a" && !is_probe(v), &mut seen)
            .await;
        pushed.push(
            v["next"]["data"]["articlePublished"]["slug"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(pushed, published, "the subscription and the sync feed");
    // The public list (the same URL, read through the cache): what the feed
    // leaves visible.
    let (_, _, after) = call(
        &app,
        Method::GET,
        "/api/v1/articles?limit=100",
        None,
        None,
        &[],
    )
    .await;
    let listed = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["slug"].as_str().unwrap().to_owned())
            .collect()
    };
    let (before, after) = (listed(&before), listed(&after));
    let mut expected: Vec<&String> = before.iter().collect();
    expected.extend([&slugs[1], &slugs[2], &slugs[3], &draft]);
    let mut got: Vec<&String> = after.iter().collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "the cached public list and the feed");
}
