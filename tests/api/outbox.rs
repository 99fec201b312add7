//! The e-mail outbox through a real SMTP server (`tests/mail/smtp_sink.py`,
//! aiosmtpd): messages queued while the server is down all arrive once it is
//! up, each exactly once; two server processes on one PostgreSQL database
//! still send each message once; without `--smtp-url` messages are `.eml`
//! files; a message every attempt of which fails is given up on and counted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

use crate::both;
use crate::helpers::*;
use crate::multinode::Node;

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mail/smtp_sink.py");

/// A free TCP port on 127.0.0.1 (nothing listens on it when this returns).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running SMTP server that keeps every message it accepts; killed when
/// dropped.
pub(crate) struct MailSink {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl MailSink {
    /// Starts one on `port`.
    pub(crate) fn start(port: u16) -> Self {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "the e-mail tests need python3 with aiosmtpd: \
             python3 -m pip install 'aiosmtpd==1.4.6' (.ci/run installs it)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new("python3")
            .arg(SINK)
            .arg("127.0.0.1")
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/mail/smtp_sink.py");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.trim() == "ready" {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the SMTP server did not start");
        Self { child, port, dir }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in the order they arrived (decoded by
    /// Python's e-mail parser).
    pub(crate) fn messages(&self) -> Vec<Value> {
        read_json_dir(self.dir.path())
    }

    /// Waits until at least `n` messages arrived (30 s at most) and returns all.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} of {n} messages arrived after 30 s",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_json_dir(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)
        .expect("read the mail folder")
        .flatten()
    {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&p).expect("read a message");
            out.push(serde_json::from_str(&text).expect("a JSON message"));
        }
    }
    out
}

/// Queues a test message to `to` with the real CLI (another process: the
/// server hears of it by polling).
fn queue_test(db_url: &str, to: &str) {
    let out = run_cli(db_url, &["mail", "test", to], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The outbox rows' state and attempts by recipient.
async fn rows(db_url: &str) -> Vec<(String, String, i64)> {
    let conn = Database::connect(db_url).await.expect("connect");
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT to_addr, state, attempts FROM outbox ORDER BY id",
        ))
        .await
        .expect("read the outbox");
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<String>(1).unwrap(),
                i64::from(r.try_get_by_index::<i32>(2).unwrap()),
            )
        })
        .collect()
}

/// Asserts that `got` holds exactly one message to each of `to`, each with a
/// distinct Message-ID, multipart text and HTML.
fn assert_once_each(got: &[Value], to: &[String]) {
    let mut rcpts: Vec<String> = got
        .iter()
        .map(|m| m["rcpt_tos"][0].as_str().unwrap().to_owned())
        .collect();
    rcpts.sort();
    let mut want = to.to_vec();
    want.sort();
    assert_eq!(rcpts, want, "each address gets exactly one message");
    let mut ids: Vec<&str> = got
        .iter()
        .map(|m| m["headers"]["Message-ID"].as_str().expect("a Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "Message-IDs are distinct");
    for m in got {
        assert_eq!(m["content_type"], "multipart/alternative");
        assert!(m["text"].as_str().unwrap().contains("mediadesk"));
        assert!(m["html"].as_str().unwrap().contains("<p>"));
        assert_eq!(m["mail_from"], "no-reply@localhost");
    }
}

both!(
    messages_queued_while_the_mail_server_is_down_arrive_once_it_is_up,
    queued_while_down
);
async fn queued_while_down(backend: Backend) {
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let db = TestDb::new(backend).await;
    let app = spawn_tuned_over(db, |a| {
        a.no_mail = false;
        a.smtp_url = Some(url);
        a.mail_retry_schedule = vec![Duration::from_millis(500); 60];
    })
    .await;
    let to: Vec<String> = (0..5).map(|i| format!("reader{i}@example.org")).collect();
    for t in &to {
        queue_test(&app.db.url, t);
    }
    // Tried, and refused: nothing listens yet.
    let started = std::time::Instant::now();
    loop {
        let r = rows(&app.db.url).await;
        if r.iter().all(|(_, s, a)| s == "pending" && *a >= 1) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sink = MailSink::start(port);
    let got = sink.wait_for(to.len()).await;
    // Retries go on a little longer: still once each.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = if got.len() == to.len() {
        sink.messages()
    } else {
        got
    };
    assert_once_each(&got, &to);
    let r = rows(&app.db.url).await;
    assert!(r.iter().all(|(_, s, a)| s == "sent" && *a >= 2), "{r:?}");
}

both!(
    without_an_smtp_server_messages_are_written_as_eml_files,
    eml_files
);
async fn eml_files(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mail_dir: PathBuf = dir.path().join("mail");
    let md = mail_dir.clone();
    let app = spawn_tuned_over(TestDb::new(backend).await, move |a| {
        a.no_mail = false;
        a.mail_dir = Some(md);
    })
    .await;
    queue_test(&app.db.url, "someone@example.org");
    let started = std::time::Instant::now();
    let file = loop {
        let files: Vec<PathBuf> = std::fs::read_dir(&mail_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|p: &PathBuf| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        if let Some(f) = files.first() {
            assert_eq!(files.len(), 1);
            break f.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no .eml file");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let eml = std::fs::read_to_string(file).expect("read the .eml");
    assert!(eml.contains("To: someone@example.org"), "{eml}");
    assert!(eml.contains("Message-ID: <"), "{eml}");
    assert!(eml.contains("multipart/alternative"), "{eml}");
    assert!(eml.contains("text/html"), "{eml}");
    let r = rows(&app.db.url).await;
    assert_eq!(r, vec![("someone@example.org".into(), "sent".into(), 1)]);

    // Pruning keeps a sent message for `KEEP` and a pending one whatever its
    // age; one sent longer ago goes.
    queue_test(&app.db.url, "later@example.org");
    let started = std::time::Instant::now();
    while rows(&app.db.url).await.iter().any(|r| r.1 != "sent") {
        assert!(started.elapsed() < Duration::from_secs(20), "not sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let conn = Database::connect(&app.db.url).await.expect("connect");
    let exec = |sql: &str| {
        conn.execute_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
    };
    let keep = mediadesk::services::outbox::KEEP;
    assert_eq!(
        mediadesk::services::outbox::prune(&conn, keep)
            .await
            .unwrap(),
        0
    );
    exec("UPDATE outbox SET created_at = '2020-01-01 00:00:00+00:00', state = 'pending', next_attempt_at = '2999-01-01 00:00:00+00:00' WHERE to_addr = 'later@example.org'")
        .await
        .expect("age the pending one");
    exec("UPDATE outbox SET created_at = '2020-01-01 00:00:00+00:00' WHERE to_addr = 'someone@example.org'")
        .await
        .expect("age the sent one");
    assert_eq!(
        mediadesk::services::outbox::prune(&conn, keep)
            .await
            .unwrap(),
        1
    );
    let left: Vec<String> = rows(&app.db.url).await.into_iter().map(|r| r.0).collect();
    assert_eq!(left, vec!["later@example.org".to_owned()]);
}

both!(
    a_message_whose_every_attempt_fails_is_given_up_and_counted,
    given_up
);
async fn given_up(backend: Backend) {
    const TOKEN: &str = "outbox-metrics-token-0123456789";
    let url = format!("smtp://127.0.0.1:{}", free_port());
    let app = spawn_tuned_over(TestDb::new(backend).await, |a| {
        a.no_mail = false;
        a.smtp_url = Some(url);
        a.mail_retry_schedule = vec![Duration::from_millis(200); 2];
        a.metrics_token = Some(TOKEN.into());
    })
    .await;
    queue_test(&app.db.url, "nobody@example.org");
    let started = std::time::Instant::now();
    loop {
        let r = rows(&app.db.url).await;
        if r[0].1 == "failed" {
            assert_eq!(r[0].2, 3, "the first try and two retries");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, _) = call(&app, Method::GET, "/metrics", Some(TOKEN), None, &[]).await;
    assert_eq!(status, 200);
    let text = app
        .client
        .get(format!("{}/metrics", app.addr))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("mediadesk_outbox_messages{state=\"failed\"} 1"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("mediadesk_outbox_failed_total{kind=\"test\"}")),
        "{text}"
    );
}

/// Two `mediadesk serve` processes over one PostgreSQL database, one mail
/// server: every message arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_postgresql_send_each_message_once() {
    let sink = MailSink::start(free_port());
    let db = TestDb::new(Backend::Postgres).await;
    // Migrated before either node starts.
    let out = run_cli(&db.url, &["migrate"], None);
    assert!(out.status.success());
    let data = tempfile::tempdir().expect("tempdir");
    let url = sink.url();
    let args = [
        "--smtp-url",
        url.as_str(),
        "--mail-retry-schedule",
        "1s,1s,1s",
    ];
    let _a = Node::start_with(&db.url, &data.path().join("a"), TEST_JWT_SECRET, &args);
    let _b = Node::start_with(&db.url, &data.path().join("b"), TEST_JWT_SECRET, &args);
    let to: Vec<String> = (0..24).map(|i| format!("multi{i}@example.org")).collect();
    // Queued in one transaction each, from a third process.
    for t in &to {
        queue_test(&db.url, t);
    }
    sink.wait_for(to.len()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_once_each(&sink.messages(), &to);
    let r = rows(&db.url).await;
    assert!(r.iter().all(|(_, s, a)| s == "sent" && *a == 1), "{r:?}");
}
