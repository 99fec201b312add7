//! Accounts, keys and tokens: the CLI creates them, `/api/v1/auth/token` trades
//! them for JWTs, editors see drafts, and every forged or stale token is a 401.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TEST_JWT_SECRET, TestApp, spawn};

/// Creates a key with the CLI and returns its secret.
fn create_key(app: &TestApp, role: &str) -> String {
    crate::helpers::api_key(app, role, "test script")
}

async fn token(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/auth/token", app.addr))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get_with(app: &TestApp, path: &str, bearer: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.addr))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

fn import_draft(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.ndjson");
    std::fs::write(
        &f,
        json!({"type": "article", "slug": "an-unpublished-draft", "title": "An unpublished draft", "experts": ["David Perry"],
               "published_at": "2026-05-01", "language": "en", "status": "draft"})
        .to_string(),
    )
    .unwrap();
    let out = app.cli(&["import", f.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

both!(
    keys_and_passwords_become_tokens_and_editors_see_drafts,
    tokens_work
);

async fn tokens_work(backend: Backend) {
    let app = spawn(backend).await;
    import_draft(&app);
    let key = create_key(&app, "editor");
    assert!(key.starts_with("mdk_"), "{key}");

    let res = token(&app, json!({ "api_key": key })).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    let t = body["access_token"].as_str().unwrap().to_owned();

    // The public never sees the draft; the editor does, privately.
    let anon = app.get("/api/v1/articles?status=draft").await;
    assert_eq!(anon.status(), 401);
    assert!(anon.headers().get("www-authenticate").is_some());
    let res = get_with(&app, "/api/v1/articles?status=draft", &t).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"][0]["title"], "An unpublished draft");
    let d = app
        .gql_ok(
            r#"{ article(slug: "an-unpublished-draft") { title } }"#,
            json!({}),
        )
        .await;
    assert!(
        d["article"].is_null(),
        "the public must not see a draft by slug"
    );
    assert_eq!(
        app.get("/api/v1/articles/an-unpublished-draft")
            .await
            .status(),
        404
    );
    let res = get_with(&app, "/api/v1/articles/an-unpublished-draft", &t).await;
    assert_eq!(res.status(), 200, "an editor sees the draft by slug");
    let res = app
        .client
        .post(format!("{}/graphql", app.addr))
        .bearer_auth(&t)
        .json(&json!({ "query": "{ articles(filter: { status: DRAFT }) { nodes { title status } } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["data"]["articles"]["nodes"][0]["status"], "DRAFT",
        "{body}"
    );

    // Users: the password comes from standard input; login errors say nothing specific.
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "correct horse battery staple\n").unwrap();
    let out = app.cli(
        &[
            "user",
            "add",
            "--email",
            "Editor@Example.org",
            "--role",
            "editor",
        ],
        Some(&pw),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = token(
        &app,
        json!({ "email": "editor@example.org", "password": "correct horse battery staple" }),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let wrong_pw = token(
        &app,
        json!({ "email": "editor@example.org", "password": "wrong password!!" }),
    )
    .await;
    let wrong_user = token(
        &app,
        json!({ "email": "nobody@example.org", "password": "wrong password!!" }),
    )
    .await;
    assert_eq!(wrong_pw.status(), 401);
    assert_eq!(wrong_user.status(), 401);
    let a: Value = wrong_pw.json().await.unwrap();
    let b: Value = wrong_user.json().await.unwrap();
    assert_eq!(a["detail"], b["detail"]);
    for bad in [
        json!({}),
        json!({ "api_key": key, "email": "x@y.z" }),
        json!({ "api_key": key, "extra": 1 }),
    ] {
        assert_eq!(token(&app, bad).await.status(), 400);
    }

    // Keys are listed without secrets and can be revoked; their tokens then fail.
    let out = app.cli(&["key", "list"], None);
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.contains("test script") && !listing.contains(&key),
        "{listing}"
    );
    let prefix: String = key.chars().take(12).collect();
    let out = app.cli(&["key", "revoke", &prefix], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(get_with(&app, "/api/v1/articles", &t).await.status(), 401);
    assert_eq!(token(&app, json!({ "api_key": key })).await.status(), 401);
}

/// Signs `claims` with `secret` and the given header.
fn forge(header: Value, claims: Value, secret: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use hmac_sha256::HMAC;
    let h = B64.encode(header.to_string());
    let c = B64.encode(claims.to_string());
    let sig = B64.encode(HMAC::mac(format!("{h}.{c}").as_bytes(), secret.as_bytes()));
    format!("{h}.{c}.{sig}")
}

both!(
    forged_expired_and_foreign_tokens_are_refused,
    forged_tokens_fail
);

async fn forged_tokens_fail(backend: Backend) {
    let app = spawn(backend).await;
    let key = create_key(&app, "admin");
    let good: Value = token(&app, json!({ "api_key": key }))
        .await
        .json()
        .await
        .unwrap();
    let good = good["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_with(&app, "/api/v1/articles", &good).await.status(),
        200
    );

    use base64::Engine;
    let parts: Vec<&str> = good.split('.').collect();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .unwrap(),
    )
    .unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let none_header = json!({ "alg": "none", "typ": "JWT", "kid": header["kid"] });
    let hs512 = json!({ "alg": "HS512", "typ": "JWT", "kid": header["kid"] });
    let cases = vec![
        (
            "bad signature",
            forge(
                header.clone(),
                claims.clone(),
                "another-secret-that-is-also-long-enough",
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(none_header.to_string()),
                parts[1]
            ),
        ),
        (
            "other algorithm",
            forge(hs512, claims.clone(), TEST_JWT_SECRET),
        ),
        (
            "expired",
            forge(
                header.clone(),
                with("exp", json!(now - 3600)),
                TEST_JWT_SECRET,
            ),
        ),
        (
            "not yet valid",
            forge(
                header.clone(),
                with("nbf", json!(now + 3600)),
                TEST_JWT_SECRET,
            ),
        ),
        (
            "wrong issuer",
            forge(
                header.clone(),
                with("iss", json!("someone-else")),
                TEST_JWT_SECRET,
            ),
        ),
        (
            "wrong audience",
            forge(
                header.clone(),
                with("aud", json!("another-api")),
                TEST_JWT_SECRET,
            ),
        ),
        (
            "unknown subject",
            forge(
                header.clone(),
                with("sub", json!("key:99999")),
                TEST_JWT_SECRET,
            ),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, t) in cases {
        let res = get_with(&app, "/api/v1/articles", &t).await;
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        assert!(res.headers().get("www-authenticate").is_some(), "{what}");
        let res = app
            .client
            .post(format!("{}/graphql", app.addr))
            .bearer_auth(&t)
            .json(&json!({ "query": "{ site { name } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{what}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}"
        );
    }
    // The forging helper itself makes valid tokens: a correctly signed copy passes.
    assert_eq!(
        get_with(
            &app,
            "/api/v1/articles",
            &forge(header, claims, TEST_JWT_SECRET)
        )
        .await
        .status(),
        200
    );
}
