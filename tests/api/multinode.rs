//! Several nodes, one database: two processes of the real binary over one fresh
//! PostgreSQL database, sharing budgets and persisted queries through Redis
//! (127.0.0.1:6379, or `MEDIADESK_TEST_REDIS`), behind nginx run with the
//! repository's sample configuration (`deploy/nginx.conf`). `.ci/run` installs
//! nginx and starts Redis; without either the test fails and says which.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestDb, run_cli};

const BURST: u32 = 100;

fn redis_url() -> String {
    std::env::var("MEDIADESK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One `mediadesk serve` process; killed when dropped.
pub(crate) struct Node {
    child: Child,
    pub(crate) url: String,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Node {
    /// A node behind nginx, sharing its budgets through Redis.
    fn start(db_url: &str, data_dir: &Path, secret: &str) -> Self {
        let burst = BURST.to_string();
        let args = [
            "--trusted-proxies",
            "127.0.0.1",
            "--shared-store",
            &redis_url(),
            "--writes-per-minute",
            "1",
            "--write-burst",
            &burst,
        ];
        Self::start_with(db_url, data_dir, secret, &args)
    }

    /// A node with these `serve` flags besides the common ones.
    pub(crate) fn start_with(db_url: &str, data_dir: &Path, secret: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mediadesk"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--no-demo",
                "--workers",
                "2",
            ])
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .env("DATABASE_URL", db_url)
            .env("MEDIADESK_JWT_SECRET", secret)
            .env("MEDIADESK_DB_POOL", "4")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sea_orm=warn,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mediadesk serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "mediadesk listening"
                    && let Some(port) = v["port"].as_u64()
                {
                    let _ = tx.send(port as u16);
                }
                kept.lock().unwrap().push(line);
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => panic!(
                "the node did not start:\n{}",
                log.lock().unwrap().join("\n")
            ),
        };
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            log,
        }
    }

    /// Stops the node as a service manager would (SIGTERM) and waits for it to
    /// exit (30 s at most): it drains, and flushes what it must at exit.
    pub(crate) fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the node") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the node did not stop within 30 s of SIGTERM:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    /// Fails the test when the node logged a server error.
    fn assert_no_server_error(&self) {
        let log = self.log.lock().unwrap();
        let bad: Vec<&String> = log
            .iter()
            .filter(|l| l.contains("\"status\":5") && !l.contains("\"status\":503"))
            .collect();
        assert!(bad.is_empty(), "server errors logged: {bad:#?}");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// nginx on a free port with `deploy/nginx.conf` in front of the nodes; stopped
/// when dropped. One process (`master_process off`), so that stopping it leaves
/// no orphaned worker listening behind.
struct Balancer {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Balancer {
    async fn start(nodes: &[&Node]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // nginx's workers may run as another user (started as root): let them in.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let sample = include_str!("../../deploy/nginx.conf");
        let mut site = sample.to_owned();
        for (from, to) in [
            (
                "server 10.0.0.11:8080",
                format!("server 127.0.0.1:{}", nodes[0].port),
            ),
            (
                "server 10.0.0.12:8080",
                format!("server 127.0.0.1:{}", nodes[1].port),
            ),
            ("listen 80;", format!("listen 127.0.0.1:{port};")),
        ] {
            assert_eq!(
                site.matches(from).count(),
                1,
                "deploy/nginx.conf has one `{from}`"
            );
            site = site.replace(from, &to);
        }
        let d = dir.path().display();
        std::fs::write(dir.path().join("mediadesk.conf"), site).unwrap();
        let main = format!(
            "master_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
               include {d}/mediadesk.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let bin = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "nginx"]
            .into_iter()
            .find(|b| !b.starts_with('/') || Path::new(b).exists())
            .unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx must be installed for the multi-node test (.ci/run installs it)");
        let lb = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let client = crate::helpers::client();
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{}/healthz", lb.url)).send().await
                && r.status() == 200
            {
                return lb;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "nginx did not answer:\n{}",
            std::fs::read_to_string(lb.dir.path().join("error.log")).unwrap_or_default()
        );
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn token(client: &reqwest::Client, base: &str, key: &str) -> String {
    let res = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({ "api_key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn new_key(db_url: &str, name: &str) -> String {
    let out = run_cli(
        db_url,
        &["key", "create", "--role", "editor", "--name", name],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

async fn expert_count(client: &reqwest::Client, base: &str) -> u64 {
    let v: Value = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": "{ experts { totalCount } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"]["experts"]["totalCount"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_behind_nginx_on_one_postgresql_act_as_one_server() {
    let db = TestDb::new(Backend::Postgres).await;
    let out = run_cli(&db.url, &["seed"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (k1, k2, k3) = (
        new_key(&db.url, "writer"),
        new_key(&db.url, "budget"),
        new_key(&db.url, "loader"),
    );
    // A secret of this run only: it also sets this run's Redis keys apart.
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut a = Node::start(&db.url, &dir.path().join("a"), &secret);
    let b = Node::start(&db.url, &dir.path().join("b"), &secret);
    let lb = Balancer::start(&[&a, &b]).await;
    let c = crate::helpers::client();

    // A session opened on one node is good on the other.
    let t1 = token(&c, &a.url, &k1).await;
    let drafts = c
        .get(format!("{}/api/v1/articles?status=draft", b.url))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(drafts.status(), 200, "a token from node A on node B");

    // A write on A is in B's next answer, though B had the old one cached.
    let list = |base: &str| format!("{base}/api/v1/experts?limit=100");
    let before: Value = get_json(&c, &list(&b.url)).await;
    let gql = |base: &str| {
        format!(
            "{base}/graphql?query={}",
            crate::helpers::urlencode("{ experts(first: 100) { totalCount } }")
        )
    };
    let gql_before: Value = get_json(&c, &gql(&b.url)).await;
    let created = c
        .post(format!("{}/api/v1/experts", a.url))
        .bearer_auth(&t1)
        .json(&json!({ "name": "Nodal Expert" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let fresh = c
        .get(format!("{}/api/v1/experts/nodal-expert", b.url))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    // Node B learns of A's write through PostgreSQL's NOTIFY, within the
    // documented bound (services::content::MAX_AGE).
    let want = before["data"].as_array().unwrap().len() + 1;
    let gql_want = gql_before["data"]["experts"]["totalCount"]
        .as_u64()
        .unwrap()
        + 1;
    let delay =
        crate::helpers::within_bound("node B's answers after a write on node A", || async {
            let after: Value = get_json(&c, &list(&b.url)).await;
            let gql_after: Value = get_json(&c, &gql(&b.url)).await;
            after["data"].as_array().unwrap().len() == want
                && gql_after["data"]["experts"]["totalCount"].as_u64() == Some(gql_want)
        })
        .await;
    eprintln!("node B saw node A's write after {delay:?}");

    // The same Idempotency-Key on A, then on B: one write, the first answer again.
    let once = |base: &str| {
        c.post(format!("{base}/api/v1/experts"))
            .bearer_auth(&t1)
            .header("idempotency-key", "multinode-1")
            .json(&json!({ "name": "Once Only" }))
            .send()
    };
    let first = once(&a.url).await.unwrap();
    assert_eq!(first.status(), 201);
    let first_body = first.text().await.unwrap();
    let count = expert_count(&c, &a.url).await;
    let again = once(&b.url).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first_body);
    assert_eq!(expert_count(&c, &a.url).await, count, "no second write");

    // A persisted query registered on A is known to B.
    let query = "{ site { name } experts(first: 3) { totalCount } }";
    let hash = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(query.as_bytes()))
    };
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let by_hash = |base: &str| {
        format!(
            "{base}/graphql?extensions={}",
            crate::helpers::urlencode(&ext.to_string())
        )
    };
    let miss: Value = get_json(&c, &by_hash(&b.url)).await;
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");
    let reg = c
        .post(format!("{}/graphql", a.url))
        .json(&json!({ "query": query, "extensions": ext }))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 200);
    let hit: Value = get_json(&c, &by_hash(&b.url)).await;
    assert!(hit["data"]["site"]["name"].is_string(), "{hit}");

    // Failed sign-ins count across nodes: 5 per identity, wherever they land.
    let bad_login = |base: &str| {
        c.post(format!("{base}/api/v1/auth/token"))
            .json(&json!({ "api_key": "mdk_nosuchkey0000000000000000" }))
            .send()
    };
    let mut statuses = Vec::new();
    for base in [&a.url, &b.url, &a.url, &b.url, &a.url, &b.url] {
        statuses.push(bad_login(base).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);

    // One write budget per caller across nodes: spent on A, refused on B.
    let t2 = token(&c, &b.url, &k2).await;
    let mut spent = 0;
    loop {
        // An empty create is refused (422) but spends a write all the same.
        let res = c
            .post(format!("{}/api/v1/experts", a.url))
            .bearer_auth(&t2)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(res.status(), 422);
        spent += 1;
        assert!(spent <= BURST + 5, "node A never refused");
    }
    assert!(
        spent >= BURST,
        "the budget is {BURST}, {spent} were allowed"
    );
    let on_b = c
        .post(format!("{}/api/v1/experts", b.url))
        .bearer_auth(&t2)
        .json(&json!({ "name": "Over Budget" }))
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), 429, "node B knows the budget is spent");
    assert!(on_b.headers().contains_key("retry-after"));
    let via_lb = c
        .post(format!("{}/api/v1/experts", lb.url))
        .bearer_auth(&t2)
        .json(&json!({ "name": "Over Budget" }))
        .send()
        .await
        .unwrap();
    assert_eq!(via_lb.status(), 429);

    // Writers go through nginx while node A is killed: every acknowledged write
    // is in the database, and nginx goes on serving from B.
    let t3 = token(&c, &lb.url, &k3).await;
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let failed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    const WRITERS: usize = 3;
    const EACH: usize = 20;
    for w in 0..WRITERS {
        let (c, url, t3) = (c.clone(), lb.url.clone(), t3.clone());
        let (acked, failed, done) = (acked.clone(), failed.clone(), done.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let res = c
                    .post(format!("{url}/api/v1/experts"))
                    .bearer_auth(&t3)
                    .json(&json!({ "name": format!("Load {w} {i}") }))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        let slug = v["data"]["slug"].as_str().unwrap().to_owned();
                        acked.lock().unwrap().push(slug);
                    }
                    Ok(r) => {
                        assert!(
                            r.status() == 502 || r.status() == 503 || r.status() == 504,
                            "a write through nginx answered {}",
                            r.status()
                        );
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Kill A once the writers are under way (a count, not a time).
    while done.load(Ordering::SeqCst) < WRITERS * 4 && !writers.iter().any(|w| w.is_finished()) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let failed = failed.load(Ordering::SeqCst);
    eprintln!(
        "writes through nginx: {} acknowledged, {failed} failed",
        acked.len()
    );
    assert_eq!(acked.len() + failed, WRITERS * EACH);
    // Only writes on A's connections when it died may fail: a few, not the rest.
    assert!(failed <= WRITERS * 2, "{failed} writes failed");
    for slug in &acked {
        let res = c
            .get(format!("{}/api/v1/experts/{slug}", lb.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "acknowledged write {slug} is in the database"
        );
    }
    for _ in 0..10 {
        let res = c.get(list(&lb.url)).send().await.unwrap();
        assert_eq!(res.status(), 200, "nginx serves from node B");
    }
    b.assert_no_server_error();
}
