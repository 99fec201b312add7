//! Reader accounts by e-mail, end to end through a real SMTP server
//! (`outbox::MailSink`): the link in the received mail signs the reader in
//! once; a second use and an expired token fail; known and unknown addresses
//! get identical answers; the reader reads, changes, exports and deletes the
//! account; a reader's token writes nothing and sees only public data.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;
use crate::outbox::{MailSink, free_port};

const LINK_BASE: &str = "https://reader.example.test/sign-in";

/// A server with the demo data whose mail goes to a fresh SMTP server.
async fn spawn_readers(backend: Backend) -> (TestApp, MailSink) {
    let sink = MailSink::start(free_port());
    let url = sink.url();
    let app = spawn_tuned(backend, |a| {
        a.no_mail = false;
        a.smtp_url = Some(url);
        a.reader_link_base = Some(LINK_BASE.into());
    })
    .await;
    (app, sink)
}

/// `POST /api/v1/readers/sign-in`: status, headers and body.
async fn request_link(
    app: &TestApp,
    email: &str,
    language: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    call(
        app,
        Method::POST,
        "/api/v1/readers/sign-in",
        None,
        Some(&json!({ "email": email, "language": language })),
        &[],
    )
    .await
}

/// The token of the sign-in link in the `n`th message (1-based) queued to
/// `email` (found in the mail server by its `Message-ID`), checked to be in
/// both the text and the HTML part, and each message to have arrived once.
async fn link_token(app: &TestApp, sink: &MailSink, email: &str, n: usize) -> (String, Value) {
    let queued = sql(
        app,
        &format!("SELECT headers FROM outbox WHERE to_addr = '{email}' ORDER BY id"),
    )
    .await;
    assert_eq!(queued.len(), n, "one message queued per request");
    let headers: String = queued[n - 1].try_get_by_index(0).unwrap();
    let headers: Value = serde_json::from_str(&headers).unwrap();
    let id = headers["Message-ID"].as_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    loop {
        let mine: Vec<Value> = sink
            .messages()
            .into_iter()
            .filter(|m| m["rcpt_tos"][0] == email)
            .collect();
        if let Some(msg) = mine
            .iter()
            .find(|m| m["headers"]["Message-ID"] == id.as_str())
        {
            assert!(mine.len() <= n, "each message arrives once");
            let token = token_in(msg["text"].as_str().unwrap());
            let html = msg["html"].as_str().unwrap();
            assert!(
                html.contains(&format!("href=\"{LINK_BASE}?token={token}\"")),
                "{html}"
            );
            return (token, msg.clone());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no mail to {email}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The token in the link of a message's text.
fn token_in(text: &str) -> String {
    let start = text
        .find(&format!("{LINK_BASE}?token="))
        .unwrap_or_else(|| panic!("no link in {text}"))
        + LINK_BASE.len()
        + "?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// `POST /api/v1/readers/session/refresh` with `body`.
async fn refresh(app: &TestApp, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let path = "/api/v1/readers/session/refresh";
    call(app, Method::POST, path, None, Some(body), &[]).await
}

async fn exchange(app: &TestApp, token: &str) -> (u16, Value) {
    let (s, _, b) = call(
        app,
        Method::POST,
        "/api/v1/readers/session",
        None,
        Some(&json!({ "token": token })),
        &[],
    )
    .await;
    (s, b)
}

/// Signs `email` in through the mail it receives: the session.
async fn sign_in(app: &TestApp, sink: &MailSink, email: &str, n: usize) -> Value {
    let (s, _, _) = request_link(app, email, "en").await;
    assert_eq!(s, 202);
    let (token, _) = link_token(app, sink, email, n).await;
    let (s, b) = exchange(app, &token).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn sql(app: &TestApp, statement: &str) -> Vec<sea_orm::QueryResult> {
    let conn = Database::connect(&app.db.url).await.expect("connect");
    conn.query_all_raw(sea_orm::Statement::from_string(
        conn.get_database_backend(),
        statement,
    ))
    .await
    .expect("sql")
}

both!(
    the_link_in_the_mail_signs_a_reader_in_once_and_expires,
    link_signs_in_once
);
async fn link_signs_in_once(backend: Backend) {
    let (app, sink) = spawn_readers(backend).await;
    let (status, _, body) = request_link(&app, "Ada@Example.org", "fr").await;
    assert_eq!(status, 202, "{body}");
    let (token, msg) = link_token(&app, &sink, "ada@example.org", 1).await;
    // In the reader's language, multipart, with a Message-ID.
    assert_eq!(msg["headers"]["Subject"], "Votre lien de connexion");
    assert_eq!(msg["content_type"], "multipart/alternative");
    assert!(
        msg["headers"]["Message-ID"]
            .as_str()
            .unwrap()
            .starts_with('<')
    );
    // Only the digest is stored.
    let stored = sql(&app, "SELECT token_hash FROM reader_tokens").await;
    let hash: String = stored[0].try_get_by_index(0).unwrap();
    assert_ne!(hash, token);
    assert!(!hash.contains(&token));

    let (s, session) = exchange(&app, &token).await;
    assert_eq!(s, 200, "{session}");
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["reader"]["email"], "ada@example.org");
    assert_eq!(session["reader"]["language"], "fr");
    assert!(
        session["reader"]["activated_at"].is_string(),
        "the first use activates"
    );
    let access = session["access_token"].as_str().unwrap();
    let (s, _, me) = call(
        &app,
        Method::GET,
        "/api/v1/readers/me",
        Some(access),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["data"]["email"], "ada@example.org");

    // A second use fails, clearly.
    let (s, again) = exchange(&app, &token).await;
    assert_eq!(s, 400, "{again}");
    assert_eq!(again["code"], "BAD_USER_INPUT");
    assert_eq!(again["errors"][0]["field"], "token", "{again}");

    // The refresh token works once and rotates.
    let body = json!({ "refresh_token": session["refresh_token"] });
    let (s, _, renewed) = refresh(&app, &body).await;
    assert_eq!(s, 200, "{renewed}");
    assert_ne!(renewed["refresh_token"], session["refresh_token"]);
    let (s, _, _) = refresh(&app, &body).await;
    assert_eq!(s, 400);

    // An expired link fails (its expiry moved into the past).
    let (s, _, _) = request_link(&app, "ada@example.org", "en").await;
    assert_eq!(s, 202);
    let (expired, msg) = link_token(&app, &sink, "ada@example.org", 2).await;
    // A known reader's link comes in the language asked for...
    assert_eq!(msg["headers"]["Subject"], "Your sign-in link");
    sql(
        &app,
        "UPDATE reader_tokens SET expires_at = created_at - (expires_at - created_at) \
         WHERE purpose = 'sign_in' AND used_at IS NULL",
    )
    .await;
    let (s, b) = exchange(&app, &expired).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["errors"][0]["field"], "token");
    // A made-up token fails the same way.
    let (s, _) = exchange(&app, "not-a-token").await;
    assert_eq!(s, 400);

    // ... else in their own.
    let (s, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/readers/sign-in",
        None,
        Some(&json!({ "email": "ada@example.org" })),
        &[],
    )
    .await;
    assert_eq!(s, 202);
    let (_, msg) = link_token(&app, &sink, "ada@example.org", 3).await;
    assert_eq!(msg["headers"]["Subject"], "Votre lien de connexion");
}

both!(
    known_and_unknown_addresses_get_identical_answers,
    identical_answers
);
async fn identical_answers(backend: Backend) {
    let (app, sink) = spawn_readers(backend).await;
    sign_in(&app, &sink, "known@example.org", 1).await;
    let (s1, h1, b1) = request_link(&app, "known@example.org", "en").await;
    let (s2, h2, b2) = request_link(&app, "unknown@example.org", "en").await;
    assert_eq!((s1, &b1), (s2, &b2));
    let strip = |h: &reqwest::header::HeaderMap| {
        let mut v: Vec<(String, String)> = h
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "date" | "x-request-id"))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(strip(&h1), strip(&h2));
    // Both got a link (the unknown address an unactivated account).
    sink.wait_for(3).await;
    let rows = sql(
        &app,
        "SELECT email, activated_at IS NULL FROM readers ORDER BY id",
    )
    .await;
    let unknown: bool = rows[1].try_get_by_index(1).unwrap();
    assert!(
        unknown,
        "a new address is not activated before its link is used"
    );
    // A malformed address is refused, naming the field.
    let (s, _, b) = request_link(&app, "not an address", "en").await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["errors"][0]["field"], "email");
}

both!(
    sign_in_requests_are_budgeted_per_address,
    budgeted_per_address
);
async fn budgeted_per_address(backend: Backend) {
    let (app, _sink) = spawn_readers(backend).await;
    for _ in 0..3 {
        let (s, _, _) = request_link(&app, "flood@example.org", "en").await;
        assert_eq!(s, 202);
    }
    let (s, h, b) = request_link(&app, "flood@example.org", "en").await;
    assert_eq!(s, 429, "{b}");
    assert!(h.contains_key("retry-after"));
    let queued = sql(&app, "SELECT COUNT(*) FROM outbox").await;
    let n: i64 = queued[0].try_get_by_index(0).unwrap();
    assert_eq!(n, 3, "the refused request queued nothing");
    // Another address still gets its link.
    let (s, _, _) = request_link(&app, "other@example.org", "en").await;
    assert_eq!(s, 202);
}

both!(
    a_reader_reads_changes_exports_and_deletes_the_account,
    own_account
);
async fn own_account(backend: Backend) {
    let (app, sink) = spawn_readers(backend).await;
    let session = sign_in(&app, &sink, "grace@example.org", 1).await;
    let access = session["access_token"].as_str().unwrap().to_owned();
    let t = Some(access.as_str());

    let patch = json!({ "display_name": "Grace H.", "language": "fr" });
    let (s, _, p) = call(
        &app,
        Method::PATCH,
        "/api/v1/readers/me",
        t,
        Some(&patch),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["data"]["display_name"], "Grace H.");
    assert_eq!(p["data"]["language"], "fr");
    // A bad change is refused and changes nothing.
    let bad = json!({ "display_name": "Other", "language": "de" });
    let (s, _, _) = call(
        &app,
        Method::PATCH,
        "/api/v1/readers/me",
        t,
        Some(&bad),
        &[],
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, me) = call(&app, Method::GET, "/api/v1/readers/me", t, None, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(me["data"], p["data"]);
    assert_eq!(me["data"]["display_name"], "Grace H.");

    // A newsletter subscription of the same address is the reader's data too.
    let (s, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/newsletters/events/subscriptions",
        None,
        Some(&json!({ "email": "Grace@Example.org" })),
        &[],
    )
    .await;
    assert_eq!(s, 202);
    let res = app
        .client
        .get(format!("{}/api/v1/readers/me/export", app.addr))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let text = res.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["data"]["reader"]["email"], "grace@example.org");
    assert_eq!(export["data"]["reader"]["display_name"], "Grace H.");
    let tokens = export["data"]["tokens"].as_array().unwrap();
    assert_eq!(
        tokens.len(),
        2,
        "the sign-in link and the session: {export}"
    );
    assert!(!text.contains(session["refresh_token"].as_str().unwrap()));
    let subs = export["data"]["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 1, "{export}");
    assert_eq!(subs[0]["newsletter"], "events");
    assert_eq!(subs[0]["state"], "pending");

    // Anonymous and staff callers have no reader account.
    let (s, _, _) = call(&app, Method::GET, "/api/v1/readers/me", None, None, &[]).await;
    assert_eq!(s, 401);
    let admin = token_for(&app, "admin").await;
    let (s, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/readers/me",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 403);

    let (s, _, _) = call(&app, Method::DELETE, "/api/v1/readers/me", t, None, &[]).await;
    assert_eq!(s, 204);
    // The session ends; the row stays as a tombstone without personal data.
    let (s, _, _) = call(&app, Method::GET, "/api/v1/readers/me", t, None, &[]).await;
    assert_eq!(s, 401);
    let body = json!({ "refresh_token": session["refresh_token"] });
    let (s, _, _) = refresh(&app, &body).await;
    assert_eq!(s, 400);
    let rows = sql(
        &app,
        "SELECT email, display_name, deleted_at IS NOT NULL FROM readers",
    )
    .await;
    assert_eq!(rows.len(), 1);
    let email: Option<String> = rows[0].try_get_by_index(0).unwrap();
    let name: Option<String> = rows[0].try_get_by_index(1).unwrap();
    let gone: bool = rows[0].try_get_by_index(2).unwrap();
    assert_eq!((email, name, gone), (None, None, true));
    // Its newsletter subscriptions went with it.
    let subs = sql(
        &app,
        "SELECT id FROM newsletter_subscriptions WHERE email = 'grace@example.org'",
    )
    .await;
    assert!(subs.is_empty());
    // The same address later makes a new account (its third message: the
    // sign-in link, the newsletter confirmation, this link).
    let again = sign_in(&app, &sink, "grace@example.org", 3).await;
    assert_ne!(again["reader"]["id"], session["reader"]["id"]);
}

both!(
    a_reader_token_writes_nothing_and_sees_only_public_data,
    reader_cannot_write
);
async fn reader_cannot_write(backend: Backend) {
    let (app, sink) = spawn_readers(backend).await;
    let session = sign_in(&app, &sink, "reader@example.org", 1).await;
    let t = session["access_token"].as_str().unwrap();
    let admin = token_for(&app, "admin").await;
    let before = snapshot(&app, &admin).await;

    let (s, _, b) = call(
        &app,
        Method::POST,
        "/api/v1/topics",
        Some(t),
        Some(&json!({ "name": "Reader topic" })),
        &[],
    )
    .await;
    assert_eq!(s, 403, "{b}");
    let (s, _, _) = call(
        &app,
        Method::PATCH,
        "/api/v1/site",
        Some(t),
        Some(&json!({ "name": "Mine" })),
        &[("if-match", "\"site-site-v1\"")],
    )
    .await;
    assert_eq!(s, 403);
    let (s, _, _) = call(&app, Method::GET, "/api/v1/audit", Some(t), None, &[]).await;
    assert_eq!(s, 403);
    let g = gql_as(
        &app,
        Some(t),
        "mutation { createTopic(input: { name: \"Reader topic\" }) { slug } }",
        json!({}),
    )
    .await;
    assert_eq!(g["errors"][0]["extensions"]["code"], "FORBIDDEN", "{g}");
    assert_eq!(snapshot(&app, &admin).await, before, "nothing changed");

    // Drafts stay hidden: a reader lists what the public lists.
    let (s, _, b) = call(
        &app,
        Method::GET,
        "/api/v1/articles?status=draft",
        Some(t),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 403, "{b}");
    let mut lists = Vec::new();
    for caller in [None, Some(t)] {
        let path = "/api/v1/articles?limit=100";
        let (s, _, list) = call(&app, Method::GET, path, caller, None, &[]).await;
        assert_eq!(s, 200);
        lists.push(list["data"].clone());
    }
    assert_eq!(lists[0], lists[1], "a reader lists what the public lists");
}

both!(the_graphql_reader_flow_matches_the_rest_one, graphql_flow);
async fn graphql_flow(backend: Backend) {
    let (app, sink) = spawn_readers(backend).await;
    const REQUEST: &str = "mutation($email: String!) { requestReaderSignIn(email: $email, language: FR) { accepted message } }";
    let known = app
        .gql_ok(REQUEST, json!({ "email": "lin@example.org" }))
        .await;
    let (token, msg) = link_token(&app, &sink, "lin@example.org", 1).await;
    assert_eq!(msg["headers"]["Subject"], "Votre lien de connexion");
    let again = app
        .gql_ok(REQUEST, json!({ "email": "lin@example.org" }))
        .await;
    let unknown = app
        .gql_ok(REQUEST, json!({ "email": "nobody@example.org" }))
        .await;
    assert_eq!(known, unknown);
    assert_eq!(again, unknown);
    assert_eq!(known["requestReaderSignIn"]["accepted"], true);

    const SIGN_IN: &str = "mutation($t: String!) { signInReader(token: $t) { accessToken tokenType refreshToken reader { email language activatedAt } } }";
    let s = app.gql_ok(SIGN_IN, json!({ "t": token })).await;
    assert_eq!(s["signInReader"]["reader"]["email"], "lin@example.org");
    assert!(s["signInReader"]["reader"]["activatedAt"].is_string());
    let second = app.gql(SIGN_IN, json!({ "t": token })).await;
    assert_eq!(
        second["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{second}"
    );
    let t = s["signInReader"]["accessToken"].as_str().unwrap();

    let me = gql_as(
        &app,
        Some(t),
        "{ me { email displayName language } }",
        json!({}),
    )
    .await;
    assert_eq!(me["data"]["me"]["email"], "lin@example.org", "{me}");
    let changed = gql_as(&app, Some(t), "mutation { updateMe(input: { displayName: \"Lin\", language: EN }) { displayName language } }", json!({})).await;
    assert_eq!(
        changed["data"]["updateMe"],
        json!({ "displayName": "Lin", "language": "en" }),
        "{changed}"
    );
    let anon = app.gql("{ me { email } }", json!({})).await;
    assert_eq!(
        anon["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anon}"
    );

    const REFRESH: &str =
        "mutation($r: String!) { refreshReaderSession(refreshToken: $r) { accessToken } }";
    let r = s["signInReader"]["refreshToken"].as_str().unwrap();
    app.gql_ok(REFRESH, json!({ "r": r })).await;
    let reused = app.gql(REFRESH, json!({ "r": r })).await;
    assert_eq!(reused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let gone = gql_as(&app, Some(t), "mutation { deleteMe }", json!({})).await;
    assert_eq!(gone["data"]["deleteMe"], true, "{gone}");
    let (s, _, _) = call(&app, Method::GET, "/api/v1/readers/me", Some(t), None, &[]).await;
    assert_eq!(s, 401);
}

both!(
    without_a_frontend_the_link_opens_the_servers_own_sign_in_page,
    own_page
);
async fn own_page(backend: Backend) {
    let sink = MailSink::start(free_port());
    let url = sink.url();
    let app = spawn_tuned(backend, |a| {
        a.no_mail = false;
        a.smtp_url = Some(url);
    })
    .await;
    let (s, _, _) = request_link(&app, "page@example.org", "en").await;
    assert_eq!(s, 202);
    let msg = sink.wait_for(1).await.remove(0);
    let text = msg["text"].as_str().unwrap();
    let base = format!("{}/readers/sign-in?token=", app.addr);
    let start = text
        .find(&base)
        .unwrap_or_else(|| panic!("no link to {base} in {text}"));
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let token = &link[base.len()..];

    // Opening the link changes nothing: a button posts the token.
    let res = app.client.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("name=\"token\" value=\"{token}\"")),
        "{page}"
    );
    let used = sql(
        &app,
        "SELECT COUNT(*) FROM reader_tokens WHERE used_at IS NOT NULL",
    )
    .await;
    assert_eq!(used[0].try_get_by_index::<i64>(0).unwrap(), 0);

    let post = || {
        app.client
            .post(format!("{}/readers/sign-in", app.addr))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
    };
    let res = post().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("access_token") && page.contains("page@example.org"),
        "{page}"
    );
    let res = post().await.unwrap();
    assert_eq!(res.status(), 400, "the link works once");
}
