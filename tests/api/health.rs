//! Health and readiness, request ids, and problem+json for unknown routes.

use std::time::Duration;

use crate::both;
use crate::helpers::{Backend, Proxy, TestDb, pg_target, spawn, spawn_with};

both!(
    healthz_answers_and_echoes_a_request_id,
    healthz_and_request_id
);

async fn healthz_and_request_id(backend: Backend) {
    let app = spawn(backend).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-request-id").is_some());

    let res = app
        .client
        .get(format!("{}/readyz", app.addr))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "abc-123");

    let res = app.get("/no/such/route").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(body["request_id"], id.as_str());
}

async fn wait_for_status(app: &crate::helpers::TestApp, want: u16) -> reqwest::Response {
    for _ in 0..60 {
        let res = app.get("/readyz").await;
        if res.status().as_u16() == want {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("/readyz never answered {want}");
}

both!(
    readyz_is_503_while_the_database_is_unreachable_and_recovers,
    readyz_follows_the_database
);

async fn readyz_follows_the_database(backend: Backend) {
    match backend {
        Backend::Postgres => {
            let db = TestDb::new(backend).await;
            let proxy = Proxy::start(&pg_target()).await;
            let via = db.url_via(proxy.addr);
            let app = spawn_with(db, false, Some(via)).await;
            wait_for_status(&app, 200).await;

            proxy.down();
            let res = wait_for_status(&app, 503).await;
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            assert!(res.headers().contains_key("retry-after"));
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["code"], "UNAVAILABLE");

            proxy.up();
            wait_for_status(&app, 200).await;
        }
        Backend::Sqlite => {
            let db = TestDb::new(backend).await;
            let file = db.sqlite_file.clone().unwrap();
            let app = spawn_with(db, false, None).await;
            wait_for_status(&app, 200).await;

            let moved = file.with_extension("moved");
            std::fs::rename(&file, &moved).unwrap();
            let res = wait_for_status(&app, 503).await;
            assert!(res.headers().contains_key("retry-after"));
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["code"], "UNAVAILABLE");

            std::fs::rename(&moved, &file).unwrap();
            wait_for_status(&app, 200).await;
        }
    }
}
