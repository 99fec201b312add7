//! Newsletters end to end, through a real SMTP server (`tests/mail/
//! smtp_sink.py`): double opt-in by the mailed link, issues only to confirmed
//! addresses, each issue once per subscriber, in the subscriber's language,
//! hostile titles escaped, one-click unsubscribe without signing in, the same
//! answer for every subscription, and administrators only for the rest.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;
use crate::outbox::{MailSink, free_port};

const HOSTILE: &str = "<script>alert(1)</script> & \"Experts\" <b>bold</b>";

/// The first `http...` URL in `text` that contains `part`.
fn link_in(text: &str, part: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains(part))
        .unwrap_or_else(|| panic!("no link with {part:?} in {text}"))
        .trim_end_matches(['>', ')', '.'])
        .to_owned()
}

/// The messages to `to` (by envelope) whose subject contains `subject`.
fn to<'a>(got: &'a [Value], rcpt: &str, subject: &str) -> Vec<&'a Value> {
    got.iter()
        .filter(|m| m["rcpt_tos"][0] == rcpt)
        .filter(|m| {
            m["headers"]["Subject"]
                .as_str()
                .is_some_and(|s| s.contains(subject))
        })
        .collect()
}

async fn subscribe(app: &TestApp, list: &str, email: &str, lang: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "email": email });
    if let Some(l) = lang {
        body["language"] = l.into();
    }
    let (status, _, body) = call(
        app,
        Method::POST,
        &format!("/api/v1/newsletters/{list}/subscriptions"),
        None,
        Some(&body),
        &[],
    )
    .await;
    (status, body)
}

/// Runs `mediadesk newsletter send LIST` with `secret` and `public_url` (unset
/// when `None`), in an empty data folder: whether it succeeded, and its
/// standard error.
fn cli_send_with(
    app: &TestApp,
    list: &str,
    secret: Option<&str>,
    public_url: Option<&str>,
) -> (bool, String) {
    let data = tempfile::tempdir().expect("data dir");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mediadesk"));
    cmd.args(["newsletter", "send", list])
        .env("DATABASE_URL", &app.db.url)
        .env("MEDIADESK_DATA_DIR", data.path())
        .env_remove("MEDIADESK_JWT_SECRET")
        .env_remove("MEDIADESK_PUBLIC_URL")
        .env("RUST_LOG", "warn");
    if let Some(s) = secret {
        cmd.env("MEDIADESK_JWT_SECRET", s);
    }
    if let Some(u) = public_url {
        cmd.env("MEDIADESK_PUBLIC_URL", u);
    }
    let out = cmd.output().expect("run mediadesk");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `mediadesk newsletter send LIST` with the test servers' secret.
fn cli_send(app: &TestApp, list: &str) -> String {
    let (ok, stderr) = cli_send_with(app, list, Some(TEST_JWT_SECRET), Some(&app.addr));
    assert!(ok, "{stderr}");
    stderr
}

/// The JSON body of a `GET` (as the holder of `token`).
async fn get_json(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let (status, _, body) = call(app, Method::GET, path, token, None, &[]).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let (status, _, body) = call(app, Method::POST, path, Some(token), Some(&body), &[]).await;
    assert!(status == 201 || status == 200, "{path}: {status} {body}");
    body
}

/// Waits until the sink holds at least `n` messages, then a little longer
/// (a duplicate would show), and returns them all.
async fn settled(sink: &MailSink, n: usize) -> Vec<Value> {
    sink.wait_for(n).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    sink.messages()
}

/// A server that mails through a fresh SMTP sink.
async fn spawn_with_sink(backend: Backend) -> (TestApp, MailSink) {
    let sink = MailSink::start(free_port());
    let url = sink.url();
    let app = spawn_tuned_over(TestDb::new(backend).await, |a| {
        a.no_mail = false;
        a.smtp_url = Some(url);
        a.mail_retry_schedule = vec![Duration::from_millis(300); 20];
    })
    .await;
    (app, sink)
}

/// Unsubscribes by the `List-Unsubscribe` URL of `issue` as a mail client
/// does it (RFC 8058: no sign-in, the one-click body); the URL.
async fn one_click(app: &TestApp, issue: &Value) -> String {
    let header = issue["headers"]["List-Unsubscribe"].as_str().unwrap();
    let url = header.trim_start_matches('<').trim_end_matches('>');
    assert!(url.contains("/api/v1/newsletters/unsubscribe?token="));
    let res = app
        .client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    url.to_owned()
}

both!(
    double_opt_in_then_each_issue_reaches_each_confirmed_subscriber_once_in_their_language_until_a_one_click_unsubscribe,
    opt_in_issues_unsubscribe
);
async fn opt_in_issues_unsubscribe(backend: Backend) {
    let (app, sink) = spawn_with_sink(backend).await;
    let admin = token_for(&app, "admin").await;
    let list = post(
        &app,
        "/api/v1/newsletters",
        &admin,
        json!({ "name": "Experts in the media — weekly", "language": "en", "description": "Every week." }),
    )
    .await;
    assert_eq!(list["data"]["slug"], "experts-in-the-media-weekly");
    let slug = "experts-in-the-media-weekly";
    // A second list over GraphQL; everyone reads both.
    let d = gql_as(
        &app,
        Some(&admin),
        r#"mutation { createNewsletter(input: {slug: "events", name: "Events", language: "fr"}) { slug language } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["data"]["createNewsletter"]["slug"], "events", "{d}");
    let d = app.gql_ok("{ newsletters { slug name } }", json!({})).await;
    assert_eq!(d["newsletters"].as_array().unwrap().len(), 2);

    // Three addresses; the third never confirms. The answers are all alike.
    let (s1, first) = subscribe(&app, slug, "Ann@Example.org", None).await;
    let (s2, french) = subscribe(&app, slug, "bea@example.org", Some("fr")).await;
    let (s3, third) = subscribe(&app, slug, "cal@example.org", None).await;
    assert_eq!((s1, s2, s3), (202, 202, 202));
    assert_eq!(first, french);
    assert_eq!(first, third);
    let got = settled(&sink, 3).await;
    assert_eq!(got.len(), 3, "one confirmation each");
    // A confirmation link, followed as a person would: the page, then its button.
    for (rcpt, words) in [
        ("ann@example.org", "Confirm"),
        ("bea@example.org", "Confirmez"),
    ] {
        let m = to(&got, rcpt, words);
        assert_eq!(m.len(), 1, "{rcpt}: {got:#?}");
        let link = link_in(m[0]["text"].as_str().unwrap(), "/confirm?token=");
        let page = app.client.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<form method=\"post\""), "{html}");
        let res = app.client.post(&link).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["data"]["state"], "confirmed");
        // The token works once.
        let again = app.client.post(&link).send().await.unwrap();
        assert_eq!(again.status(), 404);
    }
    // Known addresses (confirmed, pending) get the very same answer.
    let (s, known) = subscribe(&app, slug, "ann@example.org", None).await;
    assert_eq!((s, &known), (202, &first));
    let (s, pending) = subscribe(&app, slug, "cal@example.org", None).await;
    assert_eq!((s, &pending), (202, &first));

    // Something to send: a mention with a hostile title, and an event.
    post(
        &app,
        "/api/v1/articles",
        &admin,
        json!({ "title": HOSTILE, "published_at": "2026-11-30", "language": "en",
                "url": "https://news.example.org/story?a=1&b=2" }),
    )
    .await;
    post(
        &app,
        "/api/v1/events",
        &admin,
        json!({ "title": "Arctic security roundtable", "kind": "webinar", "starts_at": "2027-03-01T15:00:00Z" }),
    )
    .await;
    // A draft recorded now and published only after the first issue.
    let draft = post(
        &app,
        "/api/v1/articles",
        &admin,
        json!({ "title": "Late draft", "published_at": "2026-11-29", "language": "en",
                "status": "draft" }),
    )
    .await;
    let draft_slug = draft["data"]["slug"].as_str().unwrap().to_owned();
    let before = sink.messages().len();
    let (status, _, issue) = call(
        &app,
        Method::POST,
        &format!("/api/v1/newsletters/{slug}/issues"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 201, "{issue}");
    assert_eq!(issue["data"]["recipients"], 2);
    assert_eq!(issue["data"]["articles"], 1);
    assert_eq!(issue["data"]["events"], 1);
    // Sent again, over REST and the CLI: nothing new, nothing sent.
    let (status, _, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/newsletters/{slug}/issues"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 204);
    assert!(cli_send(&app, slug).contains("none sent"));
    // cal@ and ann@'s re-subscription: one more confirmation, for cal@ only.
    let got = settled(&sink, before + 2).await;
    let issues: Vec<&Value> = got
        .iter()
        .filter(|m| m["headers"].get("List-Unsubscribe").is_some())
        .collect();
    assert_eq!(issues.len(), 2, "one issue for each confirmed address");
    assert!(to(&got, "cal@example.org", "weekly –").is_empty());
    assert!(
        to(&got, "cal@example.org", "").len() == 2,
        "two confirmations for cal@"
    );
    assert_eq!(
        to(&got, "ann@example.org", "Confirm").len(),
        1,
        "no new link for a confirmed address"
    );
    let ann = to(&got, "ann@example.org", "weekly –");
    let bea = to(&got, "bea@example.org", "weekly –");
    assert_eq!((ann.len(), bea.len()), (1, 1));
    let (ann, bea) = (ann[0], bea[0]);
    assert!(ann["text"].as_str().unwrap().contains("IN THE MEDIA"));
    assert!(
        bea["text"].as_str().unwrap().contains("DANS LES MÉDIAS"),
        "{}",
        bea["text"]
    );
    assert!(bea["text"].as_str().unwrap().contains("Se désabonner"));
    assert!(bea["html"].as_str().unwrap().contains("Événements"));
    for m in [ann, bea] {
        let html = m["html"].as_str().unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("<b>bold"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"),
            "{html}"
        );
        // The text part is text: the title as it is.
        assert!(m["text"].as_str().unwrap().contains(HOSTILE));
        assert_eq!(
            m["headers"]["List-Unsubscribe-Post"],
            "List-Unsubscribe=One-Click"
        );
    }

    // One click, as a mail client does it: no sign-in, the RFC 8058 body.
    let one_click = one_click(&app, ann).await;
    // A forged token does nothing.
    let forged = format!("{}0", one_click);
    let res = app.client.post(&forged).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // The text's link shows a page for a person.
    let page_link = link_in(bea["text"].as_str().unwrap(), "/unsubscribe?token=");
    let page = app.client.get(&page_link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Se désabonner"));

    // The next issue, from the CLI: bea@ only, with a new story and the
    // draft published since (recorded before the first issue).
    post(
        &app,
        "/api/v1/articles",
        &admin,
        json!({ "title": "Second story", "published_at": "2026-12-01", "language": "fr" }),
    )
    .await;
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/articles/{draft_slug}"),
        Some(&admin),
        Some(&json!({ "status": "published" })),
        &[("if-match", "*")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let before = sink.messages().len();
    assert!(cli_send(&app, slug).contains("queued for 1 subscribers"));
    let got = settled(&sink, before + 1).await;
    assert_eq!(got.len(), before + 1);
    let second = to(&got, "bea@example.org", "weekly –");
    assert_eq!(second.len(), 2);
    let text = second
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .find(|t| t.contains("Second story"))
        .expect("the second issue");
    assert!(text.contains("Late draft"), "{text}");
    assert!(
        !text.contains("alert(1)"),
        "the first issue's story is not sent again: {text}"
    );
    assert_eq!(to(&got, "ann@example.org", "weekly –").len(), 1);

    // The subscribers: pages by id, and CSV.
    let (status, _, page1) = call(
        &app,
        Method::GET,
        &format!("/api/v1/newsletters/{slug}/subscribers?limit=2"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let states: Vec<&str> = page1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["unsubscribed", "confirmed"]);
    let cursor = page1["meta"]["next_cursor"].as_str().unwrap();
    let (_, _, page2) = call(
        &app,
        Method::GET,
        &format!("/api/v1/newsletters/{slug}/subscribers?limit=2&cursor={cursor}"),
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(page2["data"][0]["email"], "cal@example.org");
    assert_eq!(page2["data"][0]["state"], "pending");
    assert!(page2["meta"]["next_cursor"].is_null());
    let res = app
        .client
        .get(format!(
            "{}/api/v1/newsletters/{slug}/subscribers",
            app.addr
        ))
        .bearer_auth(&admin)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("id,email,language,state"));
    assert!(lines[2].contains("bea@example.org,fr,confirmed"), "{csv}");

    // Administrators' writes are audited.
    let audit = audit_log(&app, &admin).await;
    let actions: Vec<(String, String)> = audit
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["entity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(actions.contains(&("create".into(), "newsletter".into())));
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == &("send".to_owned(), "newsletter_issue".to_owned()))
            .count(),
        2
    );
}

/// The list `weekly` (English), `email` subscribed to it (not confirmed), and
/// a story published.
async fn weekly_with_a_story(app: &TestApp, admin: &str, email: &str) {
    post(
        app,
        "/api/v1/newsletters",
        admin,
        json!({ "slug": "weekly", "name": "Weekly", "language": "en" }),
    )
    .await;
    let (s, _) = subscribe(app, "weekly", email, None).await;
    assert_eq!(s, 202);
    post(
        app,
        "/api/v1/articles",
        admin,
        json!({ "title": "A story", "published_at": "2026-11-30", "language": "en" }),
    )
    .await;
}

both!(
    only_administrators_create_lists_send_issues_and_export_subscribers,
    refusals
);
async fn refusals(backend: Backend) {
    let app = spawn_tuned_over(TestDb::new(backend).await, |_| {}).await;
    let admin = token_for(&app, "admin").await;
    let editor = token_for(&app, "editor").await;
    weekly_with_a_story(&app, &admin, "dee@example.org").await;
    let state = || async {
        json!([
            get_json(&app, "/api/v1/newsletters", None).await,
            get_json(&app, "/api/v1/newsletters/weekly/subscribers", Some(&admin)).await,
            get_json(&app, "/api/v1/audit?limit=100", Some(&admin)).await,
        ])
    };
    let before = state().await;
    for token in [None, Some(editor.as_str())] {
        let want = if token.is_some() { 403 } else { 401 };
        let create = json!({ "slug": "other", "name": "Other", "language": "en" });
        let calls: [(Method, &str, Option<&Value>); 5] = [
            (Method::POST, "/api/v1/newsletters", Some(&create)),
            (Method::PATCH, "/api/v1/newsletters/weekly", Some(&create)),
            (Method::DELETE, "/api/v1/newsletters/weekly", None),
            (Method::POST, "/api/v1/newsletters/weekly/issues", None),
            (Method::GET, "/api/v1/newsletters/weekly/subscribers", None),
        ];
        for (method, path, body) in calls {
            let (status, _, _) = call(&app, method.clone(), path, token, body, &[]).await;
            assert_eq!(status, want, "{method} {path}");
        }
        let mut r = app
            .client
            .get(format!(
                "{}/api/v1/newsletters/weekly/subscribers",
                app.addr
            ))
            .header("accept", "text/csv");
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        assert_eq!(r.send().await.unwrap().status(), want);
        for q in [
            r#"mutation { createNewsletter(input: {slug: "x", name: "X", language: "en"}) { slug } }"#,
            r#"mutation { sendNewsletter(slug: "weekly") { id } }"#,
            r#"mutation { deleteNewsletter(slug: "weekly") }"#,
        ] {
            let d = gql_as(&app, token, q, json!({})).await;
            let code = d["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default();
            assert!(code == "FORBIDDEN" || code == "UNAUTHENTICATED", "{q}: {d}");
        }
    }
    assert_eq!(state().await, before, "nothing changed after the refusals");
    // A bad address is named; an unknown list is a 404.
    let (s, body) = subscribe(&app, "weekly", "not an address", None).await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = subscribe(&app, "nope", "dee@example.org", None).await;
    assert_eq!(s, 404);
    // Over GraphQL, the same answer for a new and a known address.
    let q = r#"mutation($e: String!) { subscribeToNewsletter(slug: "weekly", email: $e) { accepted message } }"#;
    let known = app.gql_ok(q, json!({ "e": "dee@example.org" })).await;
    let new = app.gql_ok(q, json!({ "e": "eve@example.org" })).await;
    assert_eq!(known, new);
}

both!(
    subscriptions_are_limited_per_client_and_per_address,
    limited
);
async fn limited(backend: Backend) {
    let app = spawn_tuned_over(TestDb::new(backend).await, |a| {
        a.newsletter_subscribe_burst = 5;
    })
    .await;
    let admin = token_for(&app, "admin").await;
    post(
        &app,
        "/api/v1/newsletters",
        &admin,
        json!({ "slug": "weekly", "name": "Weekly", "language": "en" }),
    )
    .await;
    // The same address four times: the fourth is answered alike, but mails
    // nothing (three links at most).
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(subscribe(&app, "weekly", "fay@example.org", None).await);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 202);
    let conn = sea_orm::Database::connect(&app.db.url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) FROM outbox WHERE kind = 'newsletter_confirm'",
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get_by_index(0).unwrap();
    assert_eq!(n, 3);
    // The client's fifth is still allowed, its sixth refused.
    let (s, _) = subscribe(&app, "weekly", "gus@example.org", None).await;
    assert_eq!(s, 202);
    let (s, body) = subscribe(&app, "weekly", "hal@example.org", None).await;
    assert_eq!(s, 429, "{body}");
}

/// The issues and the outbox messages there are.
async fn issues_and_mail(app: &TestApp) -> (i64, i64) {
    (
        count_rows(app, "newsletter_issues").await,
        count_rows(app, "outbox").await,
    )
}

both!(
    a_cli_send_without_a_public_url_or_signing_with_another_secret_than_the_servers_is_refused_and_sends_nothing,
    cli_other_secret
);
async fn cli_other_secret(backend: Backend) {
    let app = spawn_tuned_over(TestDb::new(backend).await, |_| {}).await;
    let admin = token_for(&app, "admin").await;
    weekly_with_a_story(&app, &admin, "ida@example.org").await;
    let before = issues_and_mail(&app).await;
    // No public URL: refused, naming it.
    let (ok, stderr) = cli_send_with(&app, "weekly", Some(TEST_JWT_SECRET), None);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("MEDIADESK_PUBLIC_URL") && stderr.contains("--public-url"),
        "{stderr}"
    );
    assert_eq!(issues_and_mail(&app).await, before, "no issue, no mail");
    // Another secret, and none at all (a fresh data/jwt-secret): refused.
    for secret in [
        Some("another-secret-of-at-least-thirty-two-bytes-abcdef"),
        None,
    ] {
        let (ok, stderr) = cli_send_with(&app, "weekly", secret, Some(&app.addr));
        assert!(!ok, "{stderr}");
        assert!(
            stderr.contains("another key than the server's")
                && stderr.contains("MEDIADESK_JWT_SECRET"),
            "{stderr}"
        );
        assert_eq!(issues_and_mail(&app).await, before, "no issue, no mail");
    }
    // The server's secret sends.
    assert!(cli_send(&app, "weekly").contains("queued for 0 subscribers"));
    assert_eq!(count_rows(&app, "newsletter_issues").await, before.0 + 1);
}

/// The state of `email`'s subscription to `weekly`.
async fn state_of(app: &TestApp, admin: &str, email: &str) -> String {
    let subs = get_json(app, "/api/v1/newsletters/weekly/subscribers", Some(admin)).await;
    subs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == email)
        .map(|s| s["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Follows the confirmation link of `m`: its page (a form with the button and
/// nothing else to send), then the `POST` the button makes.
async fn confirm_by(app: &TestApp, m: &Value) {
    let link = link_in(m["text"].as_str().unwrap(), "/confirm?token=");
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(!html.contains("<input"), "{html}");
    let res = app.client.post(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

both!(
    an_address_that_unsubscribed_gets_a_new_confirmation_link_when_it_subscribes_again_within_its_mail_budget,
    resubscribe
);
async fn resubscribe(backend: Backend) {
    let (app, sink) = spawn_with_sink(backend).await;
    let admin = token_for(&app, "admin").await;
    let jo = "jo@example.org";
    weekly_with_a_story(&app, &admin, jo).await;
    let got = settled(&sink, 1).await;
    confirm_by(&app, to(&got, jo, "Confirm")[0]).await;
    // Subscribing again while confirmed mails nothing and spends no mail.
    for _ in 0..3 {
        assert_eq!(subscribe(&app, "weekly", jo, None).await.0, 202);
    }
    post(&app, "/api/v1/newsletters/weekly/issues", &admin, json!({})).await;
    let got = settled(&sink, 2).await;
    assert_eq!(got.len(), 2, "the confirmation and the issue: {got:#?}");
    let issue = to(&got, jo, "Weekly")
        .into_iter()
        .find(|m| m["headers"].get("List-Unsubscribe").is_some())
        .expect("the issue");
    one_click(&app, issue).await;
    assert_eq!(state_of(&app, &admin, jo).await, "unsubscribed");

    // Subscribing again: a new confirmation at once, pending until confirmed.
    assert_eq!(subscribe(&app, "weekly", jo, None).await.0, 202);
    let got = settled(&sink, 3).await;
    assert_eq!(to(&got, jo, "Confirm").len(), 2, "{got:#?}");
    assert_eq!(state_of(&app, &admin, jo).await, "pending");
    // The budget still holds: a third link, then nothing (three mails at most).
    assert_eq!(subscribe(&app, "weekly", jo, None).await.0, 202);
    assert_eq!(subscribe(&app, "weekly", jo, None).await.0, 202);
    let got = settled(&sink, 4).await;
    let links = to(&got, jo, "Confirm");
    assert_eq!(links.len(), 3, "{got:#?}");
    assert_eq!(got.len(), 4, "{got:#?}");
    // Each link replaced the one before: only the latest confirms.
    let mut worked = 0;
    for m in &links {
        let link = link_in(m["text"].as_str().unwrap(), "/confirm?token=");
        if app.client.post(&link).send().await.unwrap().status() == 200 {
            worked += 1;
        }
    }
    assert_eq!(worked, 1);
    assert_eq!(state_of(&app, &admin, jo).await, "confirmed");
}

/// Sends an issue of `list` over REST: the status and the issue.
async fn send_issue(app: &TestApp, admin: &str, list: &str) -> (u16, Value) {
    let (status, _, body) = call(
        app,
        Method::POST,
        &format!("/api/v1/newsletters/{list}/issues"),
        Some(admin),
        None,
        &[],
    )
    .await;
    (status, body)
}

both!(
    a_list_sends_only_the_content_it_carries_mentions_events_or_all_each_item_linked,
    content_kinds
);
async fn content_kinds(backend: Backend) {
    let (app, sink) = spawn_with_sink(backend).await;
    let admin = token_for(&app, "admin").await;
    let media = post(
        &app,
        "/api/v1/newsletters",
        &admin,
        json!({ "slug": "media", "name": "Media", "language": "en", "content": "mentions" }),
    )
    .await;
    assert_eq!(media["data"]["content"], "mentions");
    let d = gql_as(
        &app,
        Some(&admin),
        r#"mutation { createNewsletter(input: {slug: "ev", name: "Ev", language: "en", content: "events"}) { content } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["data"]["createNewsletter"]["content"], "events", "{d}");
    let both = post(
        &app,
        "/api/v1/newsletters",
        &admin,
        json!({ "slug": "both", "name": "Both", "language": "en" }),
    )
    .await;
    assert_eq!(both["data"]["content"], "all");
    // A content it does not know: refused, nothing made.
    let lists = get_json(&app, "/api/v1/newsletters", None).await;
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/newsletters",
        Some(&admin),
        Some(&json!({ "slug": "x", "name": "X", "language": "en", "content": "videos" })),
        &[],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("content"), "{body}");
    assert_eq!(get_json(&app, "/api/v1/newsletters", None).await, lists);

    // One confirmed subscriber each.
    for (list, email) in [
        ("media", "m@example.org"),
        ("ev", "e@example.org"),
        ("both", "b@example.org"),
    ] {
        assert_eq!(subscribe(&app, list, email, None).await.0, 202);
    }
    let got = settled(&sink, 3).await;
    for email in ["m@example.org", "e@example.org", "b@example.org"] {
        confirm_by(&app, to(&got, email, "Confirm")[0]).await;
    }

    // A mention: the mentions list and the both list send it, the events list nothing.
    post(
        &app,
        "/api/v1/articles",
        &admin,
        json!({ "title": "Arctic story", "published_at": "2026-11-30", "language": "en",
                "url": "https://news.example.org/arctic" }),
    )
    .await;
    assert_eq!(send_issue(&app, &admin, "ev").await.0, 204);
    let (s, issue) = send_issue(&app, &admin, "media").await;
    assert_eq!(s, 201, "{issue}");
    assert_eq!(
        (&issue["data"]["articles"], &issue["data"]["events"]),
        (&json!(1), &json!(0))
    );
    // An event: the events list sends it, the mentions list nothing new.
    post(
        &app,
        "/api/v1/events",
        &admin,
        json!({ "title": "Polar roundtable", "kind": "webinar", "starts_at": "2027-03-01T15:00:00Z",
                "registration_url": "https://events.example.org/polar" }),
    )
    .await;
    assert_eq!(send_issue(&app, &admin, "media").await.0, 204);
    let (s, issue) = send_issue(&app, &admin, "ev").await;
    assert_eq!(s, 201, "{issue}");
    assert_eq!(
        (&issue["data"]["articles"], &issue["data"]["events"]),
        (&json!(0), &json!(1))
    );
    let (s, issue) = send_issue(&app, &admin, "both").await;
    assert_eq!(s, 201, "{issue}");
    assert_eq!(
        (&issue["data"]["articles"], &issue["data"]["events"]),
        (&json!(1), &json!(1))
    );

    let got = settled(&sink, 6).await;
    assert_eq!(got.len(), 6, "{got:#?}");
    let issue_to = |email: &str| {
        let m = got
            .iter()
            .find(|m| m["rcpt_tos"][0] == email && m["headers"].get("List-Unsubscribe").is_some())
            .unwrap_or_else(|| panic!("no issue to {email}"));
        (
            m["text"].as_str().unwrap().to_owned(),
            m["html"].as_str().unwrap().to_owned(),
        )
    };
    let article = ("Arctic story", "https://news.example.org/arctic");
    let event = ("Polar roundtable", "https://events.example.org/polar");
    for (email, has, lacks) in [
        ("m@example.org", vec![article], vec![event]),
        ("e@example.org", vec![event], vec![article]),
        ("b@example.org", vec![article, event], vec![]),
    ] {
        let (text, html) = issue_to(email);
        for (title, url) in has {
            assert!(
                text.contains(title) && text.contains(url),
                "{email}: {text}"
            );
            assert!(
                html.contains(&format!("<a href=\"{url}\">{title}</a>")),
                "{email}: {html}"
            );
        }
        for (title, _) in lacks {
            assert!(!text.contains(title), "{email}: {text}");
        }
    }

    // Changed over REST and GraphQL.
    let (s, _, body) = call(
        &app,
        Method::PATCH,
        "/api/v1/newsletters/media",
        Some(&admin),
        Some(&json!({ "content": "all" })),
        &[],
    )
    .await;
    assert_eq!(
        (s, &body["data"]["content"]),
        (200, &json!("all")),
        "{body}"
    );
    let d = gql_as(
        &app,
        Some(&admin),
        r#"mutation { updateNewsletter(slug: "ev", input: {content: "mentions"}) { content } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["data"]["updateNewsletter"]["content"], "mentions", "{d}");
}

both!(the_demo_lists_carry_mentions_and_events, demo_lists);
async fn demo_lists(backend: Backend) {
    let app = spawn(backend).await;
    let lists = get_json(&app, "/api/v1/newsletters", None).await;
    let content = |slug: &str| {
        lists["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["slug"] == slug)
            .map(|l| l["content"].clone())
    };
    assert_eq!(
        content("experts-in-the-media-weekly"),
        Some(json!("mentions"))
    );
    assert_eq!(content("events"), Some(json!("events")));
}

both!(
    a_list_made_without_a_slug_takes_the_first_free_suffix_and_a_reserved_one_is_named,
    list_slugs
);
async fn list_slugs(backend: Backend) {
    let app = spawn(backend).await;
    let admin = token_for(&app, "admin").await;
    // The demo has "events": the same name over REST and GraphQL gets -2, -3.
    let rest = post(
        &app,
        "/api/v1/newsletters",
        &admin,
        json!({ "name": "Events", "language": "en" }),
    )
    .await;
    assert_eq!(rest["data"]["slug"], "events-2");
    let d = gql_as(
        &app,
        Some(&admin),
        r#"mutation { createNewsletter(input: {name: "Events", language: "fr"}) { slug } }"#,
        json!({}),
    )
    .await;
    assert_eq!(d["data"]["createNewsletter"]["slug"], "events-3", "{d}");
    // An explicit slug that is taken stays a 409; a reserved name is named.
    let lists = get_json(&app, "/api/v1/newsletters", None).await;
    for (body, status, words) in [
        (
            json!({ "slug": "events", "name": "Events", "language": "en" }),
            409,
            "taken",
        ),
        (
            json!({ "name": "Confirm", "language": "en" }),
            400,
            "\\\"confirm\\\", is reserved",
        ),
    ] {
        let (s, _, answer) = call(
            &app,
            Method::POST,
            "/api/v1/newsletters",
            Some(&admin),
            Some(&body),
            &[],
        )
        .await;
        assert_eq!(s, status, "{answer}");
        assert!(answer.to_string().contains(words), "{answer}");
    }
    let d = gql_as(
        &app,
        Some(&admin),
        r#"mutation { createNewsletter(input: {name: "Unsubscribe", language: "en"}) { slug } }"#,
        json!({}),
    )
    .await;
    assert!(d.to_string().contains("is reserved"), "{d}");
    assert_eq!(get_json(&app, "/api/v1/newsletters", None).await, lists);
}

both!(
    a_link_without_its_token_is_a_400_naming_it,
    links_without_token
);
async fn links_without_token(backend: Backend) {
    let app = spawn_tuned_over(TestDb::new(backend).await, |_| {}).await;
    let admin = token_for(&app, "admin").await;
    weekly_with_a_story(&app, &admin, "kim@example.org").await;
    let before = get_json(&app, "/api/v1/newsletters/weekly/subscribers", Some(&admin)).await;
    for link in ["confirm", "unsubscribe"] {
        for query in ["", "?token=", "?token=%20"] {
            for method in [Method::GET, Method::POST] {
                let path = format!("/api/v1/newsletters/{link}{query}");
                let (s, _, body) = call(&app, method.clone(), &path, None, None, &[]).await;
                assert_eq!(s, 400, "{method} {path}: {body}");
                assert!(body.to_string().contains("token"), "{body}");
            }
        }
    }
    assert_eq!(
        get_json(&app, "/api/v1/newsletters/weekly/subscribers", Some(&admin)).await,
        before
    );
}

/// A start that finds SQLite's one write lock held by someone else for longer
/// than a write waits (a CLI import, the statistics' recount of a large
/// import) records the newsletter key once the lock is free, and serves:
/// before, it gave up after the busy timeout and the server exited.
#[tokio::test]
async fn a_start_waits_for_a_busy_sqlite_database_to_record_the_newsletter_key() {
    use sea_orm::{ConnectionTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait};
    let db = TestDb::new(Backend::Sqlite).await;
    let conn = mediadesk::db::connect(&db.url, 4)
        .await
        .expect("connect and migrate");
    let holder = sea_orm::Database::connect(db.url.as_str())
        .await
        .expect("a second connection");
    let held = holder
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .expect("the write lock");
    let app = spawn_over(db, conn).await;
    // Longer than the writers' queue and SQLite's busy timeout together (4 s each).
    tokio::time::sleep(Duration::from_secs(10)).await;
    held.rollback().await.expect("release the lock");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = app.client.get(format!("{}/readyz", app.addr)).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server serves once the lock is free");
    let recorded = sea_orm::Database::connect(app.db.url.as_str())
        .await
        .expect("connect")
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT value FROM settings WHERE name = 'newsletter_key'",
        ))
        .await
        .expect("read the settings")
        .map(|r| r.try_get::<String>("", "value").expect("a value"));
    assert!(
        recorded.is_some_and(|v| !v.is_empty()),
        "the key is recorded"
    );
}
