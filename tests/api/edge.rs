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

async fn token_request(
    app: &TestApp,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut r = app
        .client
        .post(format!("{}/api/v1/auth/token", app.addr))
        .json(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

fn assert_limited(res: &reqwest::Response) {
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
}

both!(
    a_random_authorization_header_does_not_reset_the_token_endpoints_budget,
    random_authorization_headers
);

async fn random_authorization_headers(backend: Backend) {
    let app = spawn_flags(backend, &["--write-burst", "3", "--writes-per-minute", "1"]).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let res = token_request(
            &app,
            &serde_json::json!({ "api_key": format!("mdk_guess{i}") }),
            &[("authorization", &format!("Bearer fresh-budget-{i}"))],
        )
        .await;
        statuses.push(res.status().as_u16());
        if i == 3 {
            assert_limited(&res);
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
}

both!(
    forwarded_addresses_count_only_from_a_trusted_proxy,
    forwarded_addresses
);

async fn forwarded_addresses(backend: Backend) {
    let limits = ["--write-burst", "3", "--writes-per-minute", "1"];
    let guess =
        serde_json::json!({ "email": "nobody@example.org", "password": "not the password" });
    // An untrusted peer that names a new address each time is still one caller.
    let app = spawn_flags(backend, &limits).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let xff = format!("198.51.100.{i}");
        let fwd = format!("for=198.51.100.{i}");
        let res = token_request(
            &app,
            &guess,
            &[("x-forwarded-for", &xff), ("forwarded", &fwd)],
        )
        .await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // Behind a trusted proxy, the forwarded client is the caller.
    let mut flags = limits.to_vec();
    flags.extend(["--trusted-proxies", "127.0.0.1"]);
    let app = spawn_flags(backend, &flags).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = token_request(&app, &guess, &[("x-forwarded-for", "6.6.6.6, 203.0.113.1")]).await;
        statuses.push(res.status().as_u16());
    }
    // Left of the proxy's entry is the client's own word: 6.6.6.6 is not the key.
    let other = token_request(&app, &guess, &[("x-forwarded-for", "203.0.113.2")]).await;
    statuses.push(other.status().as_u16());
    let spoof = token_request(
        &app,
        &guess,
        &[("x-forwarded-for", "203.0.113.7, 203.0.113.1")],
    )
    .await;
    statuses.push(spoof.status().as_u16());
    assert_eq!(statuses, [401, 401, 401, 429, 401, 429]);
}

/// Adds a user with the real CLI.
fn add_user(app: &TestApp, email: &str, password: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pw");
    std::fs::write(&f, format!("{password}\n")).unwrap();
    let out = app.cli(
        &["user", "add", "--email", email, "--role", "editor"],
        Some(&f),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

both!(
    concurrent_wrong_passwords_are_checked_only_up_to_the_budget,
    concurrent_wrong_passwords
);

async fn concurrent_wrong_passwords(backend: Backend) {
    let app = spawn_flags(backend, &[]).await;
    let password = "correct horse battery staple";
    add_user(&app, "victim@example.org", password);
    add_user(&app, "bystander@example.org", password);
    let app = std::sync::Arc::new(app);
    let guesses = (0..30).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            let body = serde_json::json!({ "email": "victim@example.org", "password": format!("guess number {i}") });
            let res = token_request(&app, &body, &[]).await;
            if res.status() == 429 {
                assert_limited(&res);
            }
            res.status().as_u16()
        })
    });
    let mut statuses = Vec::new();
    for g in guesses.collect::<Vec<_>>() {
        statuses.push(g.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (checked, refused),
        (
            mediadesk::services::accounts::FAILURES_PER_IDENTITY as usize,
            30 - mediadesk::services::accounts::FAILURES_PER_IDENTITY as usize
        ),
        "{statuses:?}"
    );
    // The right password is refused too while the budget is spent: no oracle.
    let right = serde_json::json!({ "email": "victim@example.org", "password": password });
    assert_limited(&token_request(&app, &right, &[]).await);
    // An unknown account is locked out the same way (existence is not revealed).
    let mut unknown = Vec::new();
    for i in 0..6 {
        let body =
            serde_json::json!({ "email": "ghost@example.org", "password": format!("guess {i}") });
        unknown.push(token_request(&app, &body, &[]).await.status().as_u16());
    }
    assert_eq!(unknown, [401, 401, 401, 401, 401, 429]);
    // Another account from the same address still signs in.
    let other = serde_json::json!({ "email": "bystander@example.org", "password": password });
    assert_eq!(token_request(&app, &other, &[]).await.status(), 200);
    // Spraying many accounts from one address runs into the address's budget.
    let mut spray = Vec::new();
    for i in 0..12 {
        let body =
            serde_json::json!({ "email": format!("user{i}@example.org"), "password": "guess" });
        spray.push(token_request(&app, &body, &[]).await.status().as_u16());
    }
    let per_client = mediadesk::services::accounts::FAILURES_PER_CLIENT as usize;
    // 5 + 5 failures so far; the address allows `per_client` in all.
    let allowed = per_client - 10;
    assert!(spray[..allowed].iter().all(|s| *s == 401), "{spray:?}");
    assert!(spray[allowed..].iter().all(|s| *s == 429), "{spray:?}");
    assert_limited(&token_request(&app, &other, &[]).await);
}

both!(
    secrets_are_shown_once_and_never_kept_for_idempotent_replay,
    secrets_not_kept
);

async fn secrets_not_kept(backend: Backend) {
    use mediadesk::entities::idempotency_key;
    use sea_orm::EntityTrait;
    use serde_json::json;

    let app = spawn_flags(backend, &[]).await;
    let admin = crate::helpers::token_for(&app, "admin").await;
    let gql = |key: &'static str, query: &'static str| {
        app.client
            .post(format!("{}/graphql", app.addr))
            .bearer_auth(&admin)
            .header("idempotency-key", key)
            .json(&json!({ "query": query }))
            .send()
    };
    let keys = || async {
        let res = app
            .client
            .get(format!("{}/api/v1/keys", app.addr))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        body["data"].as_array().unwrap().len()
    };
    let mut secrets = Vec::new();
    // GraphQL, plainly and with the secret behind an alias and a fragment.
    for (key, query, path) in [
        (
            "gql-key-1",
            "mutation { createApiKey(name: \"nightly\", role: \"editor\") { apiKey { prefix } secret } }",
            "/data/createApiKey/secret",
        ),
        (
            "gql-key-2",
            "mutation { k: createApiKey(name: \"other\", role: \"editor\") { ...F } } fragment F on CreatedApiKey { s: secret }",
            "/data/k/s",
        ),
    ] {
        let first = gql(key, query).await.unwrap();
        assert_eq!(first.status(), 200);
        let body: serde_json::Value = first.json().await.unwrap();
        let secret = body
            .pointer(path)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned();
        assert!(secret.starts_with("mdk_"));
        let count = keys().await;
        let retry = gql(key, query).await.unwrap();
        assert_eq!(retry.status(), 409);
        assert!(retry.headers().get("idempotent-replayed").is_none());
        let text = retry.text().await.unwrap();
        assert!(
            !text.contains(&secret),
            "the replay shows the secret: {text}"
        );
        assert!(text.contains("shown once"), "{text}");
        assert_eq!(keys().await, count, "a retry makes no second key");
        secrets.push(secret);
    }
    // REST.
    let post_key = || {
        app.client
            .post(format!("{}/api/v1/keys", app.addr))
            .bearer_auth(&admin)
            .header("idempotency-key", "rest-key-1")
            .json(&json!({ "name": "rest script", "role": "contributor" }))
            .send()
    };
    let first = post_key().await.unwrap();
    assert_eq!(first.status(), 201);
    let body: serde_json::Value = first.json().await.unwrap();
    let secret = body["data"]["key"].as_str().unwrap().to_owned();
    let count = keys().await;
    let retry = post_key().await.unwrap();
    assert_eq!(retry.status(), 409);
    assert_eq!(retry.headers()["content-type"], "application/problem+json");
    let text = retry.text().await.unwrap();
    assert!(!text.contains(&secret), "{text}");
    assert_eq!(keys().await, count, "a retry makes no second key");
    secrets.push(secret);
    // The keys work: they were made, once.
    for s in &secrets {
        let res = token_request(&app, &json!({ "api_key": s }), &[]).await;
        assert_eq!(res.status(), 200);
    }
    // A new user's password: the answer (without it) is kept, and the stored
    // digest of the request is keyed, so it cannot be tested against guesses.
    let password = "a long enough password 7";
    let user_body =
        json!({ "email": "new@example.org", "password": password, "role": "editor" }).to_string();
    let created = app
        .client
        .post(format!("{}/api/v1/users", app.addr))
        .bearer_auth(&admin)
        .header("idempotency-key", "user-1")
        .header("content-type", "application/json")
        .body(user_body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let plain: String = {
        use sha2::Digest;
        sha2::Sha256::digest(format!("POST /api/v1/users?\n{user_body}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    // Nowhere in the idempotency table, nor in the audit log (nor the admin's token).
    let conn = sea_orm::Database::connect(&app.db.url).await.unwrap();
    let rows = idempotency_key::Entity::find().all(&conn).await.unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let (users, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.key == "user-1");
    assert!(
        users[0].response.is_some(),
        "an answer without a secret is kept"
    );
    assert_ne!(
        users[0].request_hash, plain,
        "an unkeyed digest of a password"
    );
    assert!(!format!("{users:?}").contains(password));
    assert!(rows.iter().all(|r| r.response.is_none() && r.status >= 200));
    let stored = format!("{rows:?}");
    let audit = serde_json::to_string(&crate::helpers::audit_log(&app, &admin).await).unwrap();
    for s in secrets.iter().chain([&admin]) {
        assert!(
            !stored.contains(s.as_str()),
            "idempotency table holds a secret"
        );
        assert!(!audit.contains(s.as_str()), "audit log holds a secret");
    }
}

both!(
    every_token_of_one_caller_draws_on_one_write_budget,
    one_budget_per_subject
);

async fn one_budget_per_subject(backend: Backend) {
    use serde_json::json;
    let app = spawn_flags(backend, &["--write-burst", "3", "--writes-per-minute", "1"]).await;
    let key = crate::helpers::api_key(&app, "editor", "two tokens");
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let res = token_request(&app, &json!({ "api_key": key }), &[]).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    assert_ne!(tokens[0], tokens[1]);
    let mut statuses = Vec::new();
    for (i, t) in [&tokens[0], &tokens[0], &tokens[1], &tokens[1]]
        .into_iter()
        .enumerate()
    {
        let res = app
            .client
            .post(format!("{}/api/v1/topics", app.addr))
            .bearer_auth(t)
            .json(&json!({ "name": format!("Budget topic {i}") }))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    // A second token is no second budget.
    assert_eq!(statuses, [201, 201, 201, 429]);
    // The writes did not spend the address's budget (one token request is left).
    let res = token_request(&app, &json!({ "api_key": key }), &[]).await;
    assert_eq!(res.status(), 200);
}
