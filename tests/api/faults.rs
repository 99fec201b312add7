//! Faults answer like the rest of the API: a panicking handler, a busy or lost
//! database, a full disk each get a problem+json answer with the right status,
//! and the server carries on.

use serde_json::Value;

use crate::both;
use crate::helpers::{Backend, spawn_tuned};

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
