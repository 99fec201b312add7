//! Social sign-in through OpenID Connect, end to end against a real OpenID
//! Provider running locally (the certified `oidc-provider` package,
//! tests/oidc/provider.mjs): the browser's part (following redirects, the
//! provider's login) is driven by a client with a cookie jar. Wrong `state`,
//! a replayed code and an ID token minted for another client are refused,
//! and nothing is created by a refusal.

use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use base64::Engine;
use mediadesk::services::oidc::{ProviderConfig, Providers};
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, TestApp, count_rows as count, spawn_tuned, urlencode};

/// The local OpenID Provider (killed when dropped).
struct Op {
    issuer: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stdin: ChildStdin,
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Op {
    /// Starts the provider; it waits for the redirect URI ([`Op::ready`]).
    fn start() -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");
        assert!(
            std::path::Path::new(dir)
                .join("node_modules/oidc-provider")
                .exists(),
            "the OpenID provider is not installed: run `npm ci` in tests/oidc (.ci/run does)"
        );
        let mut child = Command::new("node")
            .arg(format!("{dir}/provider.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Its start-up warnings (development keys, in-memory store) are expected.
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (tests need Node.js for the OpenID provider)");
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("the provider's port").unwrap();
        let port = first.strip_prefix("port ").expect("`port <n>`").to_owned();
        Self {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
            lines,
            stdin,
        }
    }

    /// Registers the clients with `redirect_uri`.
    fn ready(&mut self, redirect_uri: &str) {
        writeln!(self.stdin, "{redirect_uri}").unwrap();
        self.stdin.flush().unwrap();
        assert_eq!(self.lines.next().unwrap().unwrap(), "ready");
    }

    /// Replaces the provider's signing key with a new one.
    fn rotate(&mut self) {
        writeln!(self.stdin, "rotate").unwrap();
        self.stdin.flush().unwrap();
        // Past the provider's notices.
        while self.lines.next().unwrap().unwrap() != "rotated" {}
    }

    fn config(&self, client: &str) -> ProviderConfig {
        format!(
            "name=local,issuer={},client_id={client},client_secret={client}-secret",
            self.issuer
        )
        .parse()
        .unwrap()
    }
}

/// A server whose provider `local` is the local OpenID Provider (client
/// `mediadesk`), and that provider, ready.
async fn setup(backend: Backend) -> (TestApp, Op) {
    let mut op = Op::start();
    // With an extra authorization parameter, as a broker's hint would be.
    let mut config = op.config("mediadesk");
    config.auth_params = vec![("kc_idp_hint".into(), "local-idp".into())];
    let app = spawn_tuned(backend, move |a| a.oidc_providers = vec![config]).await;
    op.ready(&callback_uri(&app));
    (app, op)
}

fn callback_uri(app: &TestApp) -> String {
    format!("{}/api/v1/readers/oidc/local/callback", app.addr)
}

/// A browser: a cookie jar, redirects seen one by one.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response, base: &str) -> String {
    let loc = res
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a redirect, got {}", res.status()))
        .to_str()
        .unwrap();
    url::Url::parse(base)
        .unwrap()
        .join(loc)
        .unwrap()
        .to_string()
}

/// Follows redirects from `url` until one leads to `stop` (not followed).
async fn follow_until(browser: &reqwest::Client, mut url: String, stop: &str) -> String {
    for _ in 0..10 {
        let res = browser.get(&url).send().await.unwrap();
        assert!(
            res.status().is_redirection(),
            "{url}: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
        url = location(&res, &url);
        if url.starts_with(stop) {
            return url;
        }
    }
    panic!("no redirect to {stop}");
}

fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts a sign-in at our server and signs in at the provider as `account`:
/// the provider's redirect back to our callback (not yet followed).
async fn to_callback(app: &TestApp, browser: &reqwest::Client, account: &str) -> String {
    let back = format!("{}/readers/sign-in?from=oidc", app.addr);
    let start = format!(
        "{}/api/v1/readers/oidc/local/start?return_to={}",
        app.addr,
        urlencode(&back)
    );
    let res = browser.get(&start).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let auth = location(&res, &start);
    assert_eq!(
        param(&auth, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&auth, "state").is_some() && param(&auth, "nonce").is_some());
    assert_eq!(param(&auth, "kc_idp_hint").as_deref(), Some("local-idp"));
    // The reader types their account at the provider.
    let auth = format!("{auth}&login_hint={account}");
    follow_until(browser, auth, &callback_uri(app)).await
}

/// Finishes at our callback: the frontend URL with its one-time token.
async fn finish(app: &TestApp, browser: &reqwest::Client, callback: &str) -> String {
    let res = browser.get(callback).send().await.unwrap();
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let to = location(&res, callback);
    assert!(to.starts_with(&format!("{}/readers/sign-in?from=oidc&token=", app.addr)));
    to
}

/// The session for the frontend's one-time token (the e-mail link's endpoint).
async fn session(app: &TestApp, frontend_url: &str) -> Value {
    let token = param(frontend_url, "token").unwrap();
    let res = app
        .client
        .post(format!("{}/api/v1/readers/session", app.addr))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn me(app: &TestApp, access_token: &str) -> Value {
    let res = app
        .client
        .get(format!("{}/api/v1/readers/me", app.addr))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["data"].clone()
}

async fn rows(app: &TestApp) -> [i64; 3] {
    [
        count(app, "readers").await,
        count(app, "reader_identities").await,
        count(app, "reader_tokens").await,
    ]
}

async fn a_reader_signs_in_with_the_provider_and_again_as_the_same_reader(backend: Backend) {
    let (app, op) = setup(backend).await;
    assert_eq!(rows(&app).await, [0, 0, 0]);

    let b = browser();
    let callback = to_callback(&app, &b, "alice").await;
    let to = finish(&app, &b, &callback).await;
    let s = session(&app, &to).await;
    assert_eq!(s["token_type"], "Bearer");
    assert!(s["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    let alice = me(&app, s["access_token"].as_str().unwrap()).await;
    assert_eq!(alice["email"], "alice@example.org");
    assert_eq!(alice["display_name"], "Reader alice");
    assert!(alice["activated_at"].is_string());
    assert_eq!(count(&app, "readers").await, 1);
    assert_eq!(count(&app, "reader_identities").await, 1);
    // The linked account is part of the reader's data.
    let res = app
        .client
        .get(format!("{}/api/v1/readers/me/export", app.addr))
        .bearer_auth(s["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["data"]["identities"][0]["provider"], "local");
    assert_eq!(export["data"]["identities"][0]["subject"], "alice");
    // The refresh token renews the session, as for e-mail sign-in.
    let res = app
        .client
        .post(format!("{}/api/v1/readers/session/refresh", app.addr))
        .json(&json!({ "refresh_token": s["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The frontend's token works once.
    let res = app
        .client
        .post(format!("{}/api/v1/readers/session", app.addr))
        .json(&json!({ "token": param(&to, "token") }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Again, in a new browser: the same reader.
    let b2 = browser();
    let callback = to_callback(&app, &b2, "alice").await;
    let s2 = session(&app, &finish(&app, &b2, &callback).await).await;
    assert_eq!(
        me(&app, s2["access_token"].as_str().unwrap()).await["id"],
        alice["id"]
    );
    assert_eq!(count(&app, "readers").await, 1);
    assert_eq!(count(&app, "reader_identities").await, 1);

    // A reader who asked for an e-mail link is found by the verified e-mail
    // the provider vouches for, and activated.
    let res = app
        .client
        .post(format!("{}/api/v1/readers/sign-in", app.addr))
        .json(&json!({ "email": "bob@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(count(&app, "readers").await, 2);
    let b3 = browser();
    let callback = to_callback(&app, &b3, "bob").await;
    let s3 = session(&app, &finish(&app, &b3, &callback).await).await;
    let bob = me(&app, s3["access_token"].as_str().unwrap()).await;
    assert_eq!(bob["email"], "bob@example.org");
    assert!(bob["activated_at"].is_string());
    assert_eq!(count(&app, "readers").await, 2);
    assert_eq!(count(&app, "reader_identities").await, 2);

    // An address the provider did not verify matches nobody: a new reader
    // without an address.
    let res = app
        .client
        .post(format!("{}/api/v1/readers/sign-in", app.addr))
        .json(&json!({ "email": "unverified-carol@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let b4 = browser();
    let callback = to_callback(&app, &b4, "unverified-carol").await;
    let s4 = session(&app, &finish(&app, &b4, &callback).await).await;
    let carol = me(&app, s4["access_token"].as_str().unwrap()).await;
    assert_eq!(carol["email"], "");
    assert_eq!(count(&app, "readers").await, 4);

    // GraphQL gives the start URL too.
    let v = app
        .gql_ok(
            "mutation { startReaderOidc(provider: \"local\") }",
            json!({}),
        )
        .await;
    let url = v["startReaderOidc"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/auth?", op.issuer)), "{url}");
    // ... and the frontend's token signs in through GraphQL as well.
    let b5 = browser();
    let callback = follow_until(&b5, format!("{url}&login_hint=alice"), &callback_uri(&app)).await;
    let res = b5.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = location(&res, &callback);
    let v = app
        .gql_ok(
            "mutation($t: String!) { signInReader(token: $t) { reader { id email } } }",
            json!({ "t": param(&to, "token") }),
        )
        .await;
    assert_eq!(v["signInReader"]["reader"]["id"], alice["id"]);
    assert_eq!(count(&app, "readers").await, 4);
}

/// Opens `url` (the provider's redirect back): a 303 to the frontend
/// (`to`, the link base or the login's `return_to`) with `?error=want` and no
/// token.
async fn sent_back(b: &reqwest::Client, url: &str, to: &str, want: &str) {
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 303, "{url}");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let at = location(&res, url);
    assert!(at.starts_with(to), "{at} is not on {to}");
    assert_eq!(param(&at, "error").as_deref(), Some(want), "{at}");
    assert!(param(&at, "token").is_none(), "{at}");
}

/// Starts a login without following it: its `state`.
async fn started(app: &TestApp, b: &reqwest::Client) -> String {
    let res = b
        .get(format!("{}/api/v1/readers/oidc/local/start", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    param(&location(&res, &app.addr), "state").unwrap()
}

async fn a_wrong_state_a_replayed_code_and_a_foreign_audience_are_refused(backend: Backend) {
    let (app, op) = setup(backend).await;
    // Where the browser goes when no login says otherwise: the link base.
    let link_base = format!("{}/readers/sign-in", app.addr);
    let from_oidc = format!("{}/readers/sign-in?from=oidc", app.addr);
    let b = browser();
    let callback = to_callback(&app, &b, "alice").await;
    let code = param(&callback, "code").unwrap();

    // A state we never issued: back to the link base, nothing created.
    let before = rows(&app).await;
    let not_ours = format!(
        "{}?code={}&state=not-ours",
        callback_uri(&app),
        urlencode(&code)
    );
    sent_back(&b, &not_ours, &link_base, "invalid_state").await;
    assert_eq!(rows(&app).await, before);
    // Neither state nor code at all.
    sent_back(&b, &callback_uri(&app), &link_base, "invalid_state").await;
    // The provider's error with a state we never issued: its error, at the link base.
    let unknown = format!("{}?error=access_denied&state=not-ours", callback_uri(&app));
    sent_back(&b, &unknown, &link_base, "access_denied").await;
    // An unknown provider.
    let res = b
        .get(format!("{}/api/v1/readers/oidc/nobody/start", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // A return_to off the frontend's origin: no open redirect.
    let res = b
        .get(format!(
            "{}/api/v1/readers/oidc/local/start?return_to={}",
            app.addr,
            urlencode("https://evil.example/")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(rows(&app).await, before);

    // The real callback works once.
    finish(&app, &b, &callback).await;
    let after = rows(&app).await;
    assert_eq!(after[0..2], [1, 1]);
    // Replayed as it was: the state is used up.
    sent_back(&b, &callback, &link_base, "invalid_state").await;
    assert_eq!(rows(&app).await, after);
    // The used code with a fresh state: the provider refuses it; back to the
    // login's return_to (here the link base).
    let fresh = started(&app, &b).await;
    let reused = format!(
        "{}?code={}&state={}",
        callback_uri(&app),
        urlencode(&code),
        urlencode(&fresh)
    );
    sent_back(&b, &reused, &link_base, "invalid_grant").await;
    assert_eq!(rows(&app).await, after);
    // A valid state without a code: the login is used up all the same.
    let fresh = started(&app, &b).await;
    let no_code = format!("{}?state={}", callback_uri(&app), urlencode(&fresh));
    sent_back(&b, &no_code, &link_base, "invalid_request").await;
    sent_back(&b, &no_code, &link_base, "invalid_state").await;
    assert_eq!(rows(&app).await, after);

    // An ID token that fails verification (here: its nonce is not the
    // login's): back to return_to with invalid_id_token, nothing created.
    let b2 = browser();
    let callback = to_callback(&app, &b2, "dave").await;
    let conn = sea_orm::Database::connect(&app.db.url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &conn,
        "UPDATE oidc_logins SET nonce = 'not-the-one-sent' WHERE used_at IS NULL",
    )
    .await
    .unwrap();
    sent_back(&b2, &callback, &from_oidc, "invalid_id_token").await;
    assert_eq!(rows(&app).await, after);

    // The provider signs no one in (the reader declined): back to the
    // frontend with the error, once; nothing else changes.
    let declined = started(&app, &b).await;
    let back = format!(
        "{}?error=access_denied&state={}",
        callback_uri(&app),
        urlencode(&declined)
    );
    sent_back(&b, &back, &link_base, "access_denied").await;
    // Again: the state is used up, so the link base (with the same error).
    let res = b.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 303, "the state works once");
    assert_eq!(rows(&app).await, after);
    assert_eq!(count(&app, "oidc_logins WHERE used_at IS NULL").await, 0);

    // An ID token the provider minted for another client (`other`) is
    // refused by our verifier (audience), though genuine: the same token
    // passes a verifier configured as that client.
    let (id_token, nonce) = id_token_for_other_client(&op, &callback_uri(&app)).await;
    let ours = Providers::new(vec![op.config("mediadesk")], &app.addr).unwrap();
    let err = ours
        .verify_id_token("local", &id_token, &nonce)
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("id_token"), "{err:?}");
    let theirs = Providers::new(vec![op.config("other")], &app.addr).unwrap();
    let who = theirs
        .verify_id_token("local", &id_token, &nonce)
        .await
        .unwrap();
    assert_eq!(who.subject, "mallory");
    // A wrong nonce is refused too.
    assert!(
        theirs
            .verify_id_token("local", &id_token, "another-nonce")
            .await
            .is_err()
    );
    assert_eq!(rows(&app).await, after);
}

/// Signs `mallory` in at the provider as client `other` (code flow with
/// PKCE, by hand) and returns the ID token it issues and its nonce.
async fn id_token_for_other_client(op: &Op, redirect_uri: &str) -> (String, String) {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let verifier = b64.encode([7u8; 32]);
    let challenge = b64.encode(Sha256::digest(verifier.as_bytes()));
    let nonce = "nonce-of-other".to_owned();
    let auth = format!(
        "{}/auth?client_id=other&response_type=code&scope=openid%20email&redirect_uri={}&state=s1&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256&login_hint=mallory",
        op.issuer,
        urlencode(redirect_uri)
    );
    let b = browser();
    let back = follow_until(&b, auth, redirect_uri).await;
    let code = param(&back, "code").expect("a code");
    let res = b
        .post(format!("{}/token", op.issuer))
        .basic_auth("other", Some("other-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier.as_str()),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    (v["id_token"].as_str().unwrap().to_owned(), nonce)
}

/// The provider rotates its signing key (the old key leaves its JWKS): the
/// next sign-in is verified with the new key, fetched again because the token
/// names a key the cached set lacks, not refused until the hour-old cache
/// expires.
async fn a_provider_that_rotates_its_signing_key_still_signs_readers_in(backend: Backend) {
    let (app, mut op) = setup(backend).await;
    let b = browser();
    let callback = to_callback(&app, &b, "alice").await;
    let to = finish(&app, &b, &callback).await;
    session(&app, &to).await;

    op.rotate();
    // Keys are fetched again no more often than this.
    tokio::time::sleep(mediadesk::services::oidc::REKEY_AFTER).await;
    let b = browser();
    let callback = to_callback(&app, &b, "bob").await;
    let to = finish(&app, &b, &callback).await;
    let s = session(&app, &to).await;
    let bob = me(&app, s["access_token"].as_str().unwrap()).await;
    assert_eq!(bob["email"], "bob@example.org");
    assert_eq!(count(&app, "reader_identities").await, 2);
}

crate::both!(
    a_provider_that_rotates_its_signing_key_still_signs_readers_in,
    a_provider_that_rotates_its_signing_key_still_signs_readers_in
);
crate::both!(
    a_reader_signs_in_with_the_provider_and_again_as_the_same_reader,
    a_reader_signs_in_with_the_provider_and_again_as_the_same_reader
);
crate::both!(
    a_wrong_state_a_replayed_code_and_a_foreign_audience_are_refused,
    a_wrong_state_a_replayed_code_and_a_foreign_audience_are_refused
);

/// A provider configured at an address where nothing listens: starting a
/// sign-in is a 503 naming the provider (REST and GraphQL), with nothing
/// stored.
async fn an_unreachable_provider_is_named_in_the_503(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config: ProviderConfig =
        format!("name=faraway,issuer=http://127.0.0.1:{port},client_id=c,client_secret=s")
            .parse()
            .unwrap();
    let app = spawn_tuned(backend, move |a| a.oidc_providers = vec![config]).await;
    let res = browser()
        .get(format!("{}/api/v1/readers/oidc/faraway/start", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let p: Value = res.json().await.unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"faraway\"") && detail.contains("cannot be reached"),
        "{p}"
    );
    assert!(
        !detail.contains("database") && !detail.contains("127.0.0.1"),
        "{p}"
    );
    let g = app
        .gql(
            "mutation { startReaderOidc(provider: \"faraway\") }",
            json!({}),
        )
        .await;
    let e = &g["errors"][0];
    assert_eq!(e["extensions"]["code"], "UNAVAILABLE", "{g}");
    assert!(
        e["message"].as_str().unwrap().contains("\"faraway\""),
        "{g}"
    );
    assert_eq!(count(&app, "oidc_logins").await, 0);
    assert_eq!(rows(&app).await, [0, 0, 0]);
}

crate::both!(
    an_unreachable_provider_is_named_in_the_503,
    an_unreachable_provider_is_named_in_the_503
);

/// A frontend finds the configured providers (for its "Sign in with ..."
/// buttons) over REST, public and cacheable, and over GraphQL.
async fn the_configured_providers_are_listed(backend: Backend) {
    let configs: Vec<ProviderConfig> = ["facebook", "twitter"]
        .iter()
        .map(|n| {
            format!(
                "name={n},issuer=https://id.example.org/realms/news,client_id={n},client_secret=s"
            )
            .parse()
            .unwrap()
        })
        .collect();
    let app = spawn_tuned(backend, move |a| {
        a.oidc_providers = configs;
        a.public_url = Some("https://api.example.org".into());
    })
    .await;
    let want = json!([
        { "name": "facebook", "start_url": "https://api.example.org/api/v1/readers/oidc/facebook/start" },
        { "name": "twitter", "start_url": "https://api.example.org/api/v1/readers/oidc/twitter/start" },
    ]);
    let res = app.get("/api/v1/readers/oidc").await;
    assert_eq!(res.status(), 200);
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.starts_with("public"), "{cache}");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"], want);
    // Validated like every public read.
    let res = app
        .client
        .get(format!("{}/api/v1/readers/oidc", app.addr))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    let d = app
        .gql_ok("{ signInProviders { name startUrl } }", json!({}))
        .await;
    let list = d["signInProviders"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    for (got, want) in list.iter().zip(want.as_array().unwrap()) {
        assert_eq!(got["name"], want["name"]);
        assert_eq!(got["startUrl"], want["start_url"]);
    }

    // None configured: an empty list.
    let none = spawn_tuned(backend, |_| {}).await;
    let body: Value = none.get("/api/v1/readers/oidc").await.json().await.unwrap();
    assert_eq!(body["data"], json!([]));
    let d = none.gql_ok("{ signInProviders { name } }", json!({})).await;
    assert_eq!(d["signInProviders"], json!([]));
}

crate::both!(
    the_configured_providers_are_listed,
    the_configured_providers_are_listed
);
