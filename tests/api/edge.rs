//! Trust at the edge: forwarding headers count only from trusted proxies (links
//! in feeds and the widget, the client address of rate limits and login
//! lockouts), write budgets follow a verified caller, failed logins are limited
//! across concurrent requests, and secrets are never kept for replay.

use crate::both;
use crate::helpers::{Backend, TEST_JWT_SECRET, TestApp, TestDb};
use clap::Parser;
use mediadesk::config::ServeArgs;
use mediadesk::{db, services, startup};

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    serve: ServeArgs,
}

/// A server over a fresh database with the demo data, configured with `flags`
/// (the rest as `mediadesk serve` defaults them).
async fn spawn_flags(backend: Backend, flags: &[&str]) -> TestApp {
    let db = TestDb::new(backend).await;
    let conn = db::connect(&db.url, 4).await.expect("connect and migrate");
    services::demo::seed(&conn.conn).await.expect("demo data");
    let mut argv = vec![
        "mediadesk",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--no-demo",
    ];
    argv.extend_from_slice(flags);
    let args = Flags::try_parse_from(argv).expect("flags").serve;
    let jwt =
        mediadesk::auth::jwt::Keys::from_secret(TEST_JWT_SECRET.as_bytes()).expect("jwt keys");
    let app = startup::Application::build(conn, jwt, &args).expect("build server");
    let addr = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        addr,
        client: reqwest::Client::new(),
        db,
    }
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> String {
    let mut r = app.client.get(format!("{}{path}", app.addr));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let res = r.send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

const SPOOFS: [(&str, &str); 2] = [
    ("x-forwarded-host", "evil.example"),
    ("forwarded", "host=evil.example;proto=https"),
];

both!(
    forwarded_hosts_from_an_untrusted_peer_do_not_reach_links,
    untrusted_forwarded_hosts
);

async fn untrusted_forwarded_hosts(backend: Backend) {
    let app = spawn_flags(backend, &[]).await;
    for spoof in SPOOFS {
        // Each spoof on a page not yet rendered (nothing cached to hide behind).
        let feed = get_with(&app, "/feeds/mentions.atom", &[spoof]).await;
        assert!(!feed.contains("evil.example"), "{spoof:?}: {feed}");
        assert!(feed.contains("http://127.0.0.1:"), "{feed}");
        let page = get_with(&app, "/embed", &[spoof]).await;
        assert!(!page.contains("evil.example"), "{spoof:?}: {page}");
        assert!(page.contains("http://127.0.0.1:"), "{page}");
        let js = get_with(&app, "/embed.js", &[spoof]).await;
        assert!(!js.contains("evil.example"), "{spoof:?}");
    }
}

both!(
    forwarded_hosts_from_a_trusted_proxy_make_the_links,
    trusted_forwarded_hosts
);

async fn trusted_forwarded_hosts(backend: Backend) {
    let app = spawn_flags(backend, &["--trusted-proxies", "10.0.0.0/8,127.0.0.1"]).await;
    let feed = get_with(
        &app,
        "/feeds/mentions.atom",
        &[
            ("x-forwarded-host", "media.example"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert!(feed.contains("https://media.example/"), "{feed}");
    assert!(!feed.contains("http://127.0.0.1:"), "{feed}");
    let page = get_with(
        &app,
        "/embed",
        &[(
            "forwarded",
            "for=203.0.113.9;host=media.example;proto=https",
        )],
    )
    .await;
    assert!(page.contains("https://media.example/embed.js"), "{page}");
    // Even a trusted proxy cannot put markup into a link.
    let page = get_with(
        &app,
        "/embed?lang=fr",
        &[("x-forwarded-host", "evil.example\"><b>")],
    )
    .await;
    assert!(!page.contains("evil.example"), "{page}");
}
