//! GraphQL subscriptions over WebSocket (`http::graphql_ws`), driven by a
//! real client: the `graphql-ws` library (`tests/subscriptions/client.mjs`,
//! installed by `.ci/run` with `npm ci`). On PostgreSQL, subscribers on one
//! node get the writes taken by another process on the same database; the
//! public gets only public content; limits and bad tokens close or refuse.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::freshness::Node;
use crate::helpers::{Backend, TestApp, spawn, token_for};

/// The graphql-ws client, printing what happens as JSON lines.
pub(crate) struct Client {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Client {
    pub(crate) fn start(
        base: &str,
        token: Option<&str>,
        connections: usize,
        subs: &[(&str, &str, Value)],
    ) -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/subscriptions");
        assert!(
            std::path::Path::new(dir)
                .join("node_modules/graphql-ws")
                .exists(),
            "the subscription client is not installed: run `npm ci` in tests/subscriptions (.ci/run does)"
        );
        let spec = json!({
            "url": format!("{}/graphql", base.replacen("http://", "ws://", 1)),
            "token": token,
            "connections": connections,
            "subscriptions": subs.iter().map(|(id, q, v)| json!({ "id": id, "query": q, "variables": v })).collect::<Vec<_>>(),
        });
        let mut child = Command::new("node")
            .arg(format!("{dir}/client.mjs"))
            .arg(spec.to_string())
            .stdout(Stdio::piped())
            // graphql-ws prints the error events it also reports as closes.
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (tests need Node.js for the graphql-ws client)");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if let Ok(v) = serde_json::from_str(&line)
                    && tx.send(v).is_err()
                {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line that `want` accepts, within `secs`; the lines skipped
    /// are kept in `skipped`.
    pub(crate) async fn next(
        &self,
        secs: u64,
        want: impl Fn(&Value) -> bool,
        skipped: &mut Vec<Value>,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            match self.lines.try_recv() {
                Ok(v) if want(&v) => return v,
                Ok(v) => skipped.push(v),
                Err(mpsc::TryRecvError::Empty) => {
                    assert!(
                        Instant::now() < deadline,
                        "nothing expected came; saw {skipped:#?}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    panic!("the client ended; saw {skipped:#?}")
                }
            }
        }
    }

    /// Every line that arrives within `ms`.
    async fn drain(&self, ms: u64) -> Vec<Value> {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        self.lines.try_iter().collect()
    }

    /// Waits until every connection is acknowledged, then a moment more, for
    /// the subscriptions to be set up on the server (the protocol does not
    /// acknowledge them).
    pub(crate) async fn ready(&self, connections: usize) {
        let mut seen = vec![];
        for _ in 0..connections {
            self.next(20, |v| v["connected"] == true, &mut seen).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Makes sure the subscriptions `subs` are live on the server (the
    /// protocol does not acknowledge a subscription): writes probes through
    /// `base` (a published mention of Rob Huebert, and an event when `e` is
    /// among them) until each has delivered something. Probes' slugs start
    /// with `probe` ([`is_probe`]); assertions leave them out.
    pub(crate) async fn live(
        &self,
        base: &str,
        http: &reqwest::Client,
        token: &str,
        subs: &[&str],
    ) {
        static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let mut waiting: Vec<String> = subs.iter().map(|s| (*s).to_owned()).collect();
        for _ in 0..30 {
            let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let tag = format!("{n}-{}", std::process::id());
            let m = json!({ "title": format!("Probe {tag}"), "url": format!("https://example.com/probe-{tag}"),
                            "outlet": "cbc", "experts": ["rob-huebert"], "published_at": "2026-10-01", "language": "en" });
            write(base, http, Method::POST, "/api/v1/mentions", token, m).await;
            if waiting.iter().any(|w| w == "e") {
                let ev = json!({ "title": format!("Probe Event {tag}"), "kind": "webinar", "starts_at": "2027-01-01T15:00:00Z" });
                write(base, http, Method::POST, "/api/v1/events", token, ev).await;
            }
            let deadline = Instant::now() + Duration::from_millis(1500);
            while Instant::now() < deadline && !waiting.is_empty() {
                for line in self.lines.try_iter() {
                    if let Some(s) = line["sub"].as_str() {
                        waiting.retain(|w| w != s);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if waiting.is_empty() {
                return;
            }
        }
        panic!("subscriptions {waiting:?} never delivered a probe");
    }
}

/// Is this line about a probe of [`Client::live`]?
pub(crate) fn is_probe(v: &Value) -> bool {
    let data = &v["next"]["data"];
    ["articlePublished", "mentionRecorded", "eventChanged"]
        .iter()
        .any(|f| {
            data[f]["slug"]
                .as_str()
                .is_some_and(|s| s.starts_with("probe"))
        })
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn write(
    app_base: &str,
    client: &reqwest::Client,
    m: Method,
    path: &str,
    token: &str,
    body: Value,
) -> Value {
    let mut r = client
        .request(m.clone(), format!("{app_base}{path}"))
        .bearer_auth(token);
    if m != Method::POST {
        r = r.header("if-match", "*");
    }
    if m != Method::DELETE {
        r = r.json(&body);
    }
    let res = r.send().await.unwrap();
    let status = res.status();
    let out: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {out}");
    out
}

pub(crate) const PUBLISHED: &str = "subscription($f: ArticleFilter) { articlePublished(filter: $f) { slug title status experts { slug } } }";
const MENTIONS: &str = "subscription { mentionRecorded { slug status } }";
const EVENTS: &str = "subscription { eventChanged { op slug event { title city } } }";

/// Of the lines, the `field` of every result of subscription `sub`.
fn results(lines: &[Value], sub: &str, field: &str) -> Vec<Value> {
    lines
        .iter()
        .filter(|v| v["sub"] == sub && v.get("next").is_some() && !is_probe(v))
        .map(|v| v["next"]["data"][field].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_on_one_node_get_the_writes_taken_by_another_node() {
    let app = spawn(Backend::Postgres).await;
    let editor = token_for(&app, "editor").await;
    let contributor = token_for(&app, "contributor").await;
    let other = Node::start(&app.db.url).await;
    // Anonymous, on this node: published articles of one expert, and events.
    let public = Client::start(
        &app.addr,
        None,
        1,
        &[
            ("a", PUBLISHED, json!({ "f": { "expert": "rob-huebert" } })),
            ("m", MENTIONS, json!({})),
            ("e", EVENTS, json!({})),
        ],
    );
    // An editor, on the other node: every mention, drafts included.
    let desk = Client::start(&other.addr, Some(&editor), 1, &[("m", MENTIONS, json!({}))]);
    public.ready(1).await;
    desk.ready(1).await;
    public
        .live(&app.addr, &app.client, &editor, &["a", "m", "e"])
        .await;
    desk.live(&other.addr, &app.client, &editor, &["m"]).await;

    // Writes through the other node.
    let base = other.addr.as_str();
    let c = &app.client;
    let post = |title: &str, expert: &str, status: &str| json!({ "title": title, "published_at": "2026-11-01", "language": "en", "experts": [expert], "status": status });
    let started = Instant::now();
    write(
        base,
        c,
        Method::POST,
        "/api/v1/articles",
        &editor,
        post("Sub One", "rob-huebert", "published"),
    )
    .await;
    write(
        base,
        c,
        Method::POST,
        "/api/v1/articles",
        &editor,
        post("Sub Other Expert", "andrew-rasiulis", "published"),
    )
    .await;
    let draft = write(
        base,
        c,
        Method::POST,
        "/api/v1/articles",
        &editor,
        post("Sub Draft", "rob-huebert", "draft"),
    )
    .await;
    let draft = draft["data"]["slug"].as_str().unwrap().to_owned();
    let mut seen = vec![];
    let first = public
        .next(10, |v| v["sub"] == "a" && !is_probe(v), &mut seen)
        .await;
    let latency = started.elapsed();
    assert_eq!(
        first["next"]["data"]["articlePublished"]["title"], "Sub One",
        "{first}"
    );
    write(
        base,
        c,
        Method::PATCH,
        &format!("/api/v1/articles/{draft}"),
        &editor,
        json!({ "status": "published" }),
    )
    .await;
    let mention = json!({ "title": "Sub Contributor Mention", "url": "https://example.com/sub-mention", "outlet": "cbc",
                          "experts": ["rob-huebert"], "published_at": "2026-11-02", "language": "en" });
    write(
        base,
        c,
        Method::POST,
        "/api/v1/mentions",
        &contributor,
        mention,
    )
    .await;
    let ev =
        json!({ "title": "Sub Event", "kind": "webinar", "starts_at": "2027-05-01T15:00:00Z" });
    let ev = write(base, c, Method::POST, "/api/v1/events", &editor, ev).await;
    let ev = ev["data"]["slug"].as_str().unwrap().to_owned();
    // Each event change is read as it is when delivered (an update of an
    // event deleted meanwhile comes as a delete): one step at a time.
    let event_op = |op: &'static str, city: Value| {
        move |v: &Value| {
            v["sub"] == "e"
                && !is_probe(v)
                && v["next"]["data"]["eventChanged"]["op"] == op
                && v["next"]["data"]["eventChanged"]["event"]["city"] == city
        }
    };
    let created = public
        .next(10, event_op("UPSERT", Value::Null), &mut seen)
        .await;
    seen.push(created);
    write(
        base,
        c,
        Method::PATCH,
        &format!("/api/v1/events/{ev}"),
        &editor,
        json!({ "city": "Ottawa" }),
    )
    .await;
    let changed = public
        .next(10, event_op("UPSERT", json!("Ottawa")), &mut seen)
        .await;
    seen.push(changed);
    write(
        base,
        c,
        Method::DELETE,
        &format!("/api/v1/events/{ev}"),
        &editor,
        json!({}),
    )
    .await;

    let deleted = public
        .next(
            10,
            |v| {
                v["sub"] == "e"
                    && !is_probe(v)
                    && v["next"]["data"]["eventChanged"]["op"] == "DELETE"
            },
            &mut seen,
        )
        .await;
    seen.push(deleted);
    seen.extend(public.drain(500).await);
    let published: Vec<Value> = results(&seen, "a", "articlePublished");
    assert_eq!(
        published
            .iter()
            .map(|a| a["title"].clone())
            .collect::<Vec<_>>(),
        [json!("Sub Draft")],
        "the published draft, in order; never the draft as a draft, nor another expert's: {seen:#?}"
    );
    assert!(published.iter().all(|a| a["status"] == "PUBLISHED"));
    assert_eq!(
        results(&seen, "m", "mentionRecorded"),
        Vec::<Value>::new(),
        "a contributor's mention is a draft"
    );
    let events = results(&seen, "e", "eventChanged");
    assert_eq!(
        events
            .iter()
            .map(|e| (e["op"].clone(), e["event"]["city"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!("UPSERT"), Value::Null),
            (json!("UPSERT"), json!("Ottawa")),
            (json!("DELETE"), Value::Null),
        ],
        "{seen:#?}"
    );
    // The editor saw the contributor's draft mention.
    let mut skipped = vec![];
    let m = desk
        .next(10, |v| v["sub"] == "m" && !is_probe(v), &mut skipped)
        .await;
    assert_eq!(
        m["next"]["data"]["mentionRecorded"]["slug"], "sub-contributor-mention",
        "{m}"
    );
    assert_eq!(m["next"]["data"]["mentionRecorded"]["status"], "DRAFT");
    eprintln!("a write on one node reached a subscriber on another in {latency:?}");
}

async fn limits(backend: Backend) {
    let app = spawn(backend).await;
    // Eleven subscriptions on one connection: the eleventh is refused.
    let subs: Vec<(String, Value)> = (0..11).map(|i| (format!("s{i}"), json!({}))).collect();
    let subs: Vec<(&str, &str, Value)> = subs
        .iter()
        .map(|(id, v)| (id.as_str(), MENTIONS, v.clone()))
        .collect();
    let many = Client::start(&app.addr, None, 1, &subs);
    many.ready(1).await;
    let lines = many.drain(500).await;
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|v| v["next"]["errors"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS")
        .collect();
    assert_eq!(refused.len(), 1, "{lines:#?}");
    drop(many);
    // Twenty connections from one address at most: the 21st gets a 429.
    let crowd = Client::start(&app.addr, None, 21, &[]);
    let mut seen = vec![];
    let refusal = crowd
        .next(20, |v| v.get("refused").is_some(), &mut seen)
        .await;
    assert_eq!(refusal["refused"], 429);
    let lines = crowd.drain(500).await;
    let connected = seen
        .iter()
        .chain(&lines)
        .filter(|v| v["connected"] == true)
        .count();
    assert_eq!(connected, 20, "{seen:#?} {lines:#?}");
    drop(crowd);
    // A bad token closes the socket with 4403; a plain GET without the
    // subprotocol is refused.
    let bad = Client::start(
        &app.addr,
        Some("not-a-token"),
        1,
        &[("m", MENTIONS, json!({}))],
    );
    let mut seen = vec![];
    let closed = bad.next(20, |v| v.get("closed").is_some(), &mut seen).await;
    assert_eq!(closed["closed"], 4403, "{closed} {seen:#?}");
    let addr = app.addr.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let handshake = format!(
        "GET /graphql HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = [0u8; 64];
    let n = tcp.read(&mut head).await.unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
}

crate::both!(subscription_limits_and_bad_tokens_close_or_refuse, limits);

crate::both!(a_subscriber_gets_what_this_node_writes, single_node);

/// One node (SQLite's case): what it writes reaches its subscribers.
async fn single_node(backend: Backend) {
    let app: TestApp = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let public = Client::start(
        &app.addr,
        None,
        1,
        &[("a", PUBLISHED, json!({ "f": null }))],
    );
    public.ready(1).await;
    public.live(&app.addr, &app.client, &editor, &["a"]).await;
    let body = json!({ "title": "Sub Local", "published_at": "2026-11-01", "language": "en", "experts": ["rob-huebert"] });
    write(
        &app.addr,
        &app.client,
        Method::POST,
        "/api/v1/articles",
        &editor,
        body,
    )
    .await;
    let mut seen = vec![];
    let got = public
        .next(10, |v| v["sub"] == "a" && !is_probe(v), &mut seen)
        .await;
    assert_eq!(
        got["next"]["data"]["articlePublished"]["title"], "Sub Local",
        "{got}"
    );
}

crate::both!(
    a_subscriber_that_stops_reading_is_dropped_not_buffered_for,
    slow_consumer
);

/// A client frame: text, masked (as clients must).
fn client_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mut f = vec![0x81u8];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= u16::MAX as usize => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [0x5a, 0x17, 0xc3, 0x81];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// The server's frames in `bytes` (unmasked): (opcode, payload); a cut-off
/// last frame is left out.
fn server_frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = vec![];
    let mut i = 0;
    while i + 2 <= bytes.len() {
        let op = bytes[i] & 0x0f;
        let (len, head) = match bytes[i + 1] & 0x7f {
            126 if i + 4 <= bytes.len() => {
                (u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize, 4)
            }
            127 if i + 10 <= bytes.len() => (
                u64::from_be_bytes(bytes[i + 2..i + 10].try_into().unwrap()) as usize,
                10,
            ),
            n if n < 126 => (n as usize, 2),
            _ => break,
        };
        if i + head + len > bytes.len() {
            break;
        }
        out.push((op, bytes[i + head..i + head + len].to_vec()));
        i += head + len;
    }
    out
}

/// A subscriber with a tiny receive buffer that stops reading while large
/// articles are published: the server closes it (4008) after its send has
/// waited `SEND_TIMEOUT`, instead of queueing every message for it; the
/// client then finds the end of the stream having got only a part.
async fn slow_consumer(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let addr: std::net::SocketAddr = app.addr.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    let handshake = format!(
        "GET /graphql HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tcp.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp.write_all(&client_frame(r#"{"type":"connection_init","payload":{}}"#))
        .await
        .unwrap();
    let subscribe = json!({ "id": "1", "type": "subscribe",
        "payload": { "query": "subscription { articlePublished { slug body } }" } });
    tcp.write_all(&client_frame(&subscribe.to_string()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;

    // 1,500 published articles of 20 kB each: 30 MB to send, far more than
    // the sockets hold. The client reads nothing meanwhile.
    let body = "lorem ipsum dolor sit amet ".repeat(750);
    let lines: Vec<Value> = (0..1500)
        .map(|i| {
            json!({ "type": "article", "title": format!("Slow {i}"), "published_at": "2026-01-02",
                         "language": "en", "body": body })
        })
        .collect();
    let (status, _, report) =
        crate::helpers::post_import(&app, &editor, "", crate::helpers::ndjson(&lines), None).await;
    assert_eq!(status, 200, "{report}");
    // Long enough for the server to give up on the stalled send.
    tokio::time::sleep(Duration::from_secs(12)).await;

    // Now read what there is: a part of the messages, then the end.
    let mut got = Vec::new();
    let read_all = async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read_all)
        .await
        .expect("the server ended the connection");
    let frames = server_frames(&got);
    let articles = frames
        .iter()
        .filter(|(op, p)| *op == 1 && p.starts_with(br#"{"type":"next""#))
        .count();
    eprintln!(
        "{backend:?}: a stalled subscriber got {articles} of 1500 articles ({} bytes) before it was dropped",
        got.len()
    );
    assert!(
        articles < 1500,
        "everything was queued for a client that did not read"
    );
    if let Some((_, p)) = frames.iter().find(|(op, _)| *op == 8) {
        assert_eq!(
            u16::from_be_bytes([p[0], p[1]]),
            4008,
            "{}",
            String::from_utf8_lossy(p)
        );
    }
}
