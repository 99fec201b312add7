//! Public reads that must never mislead: an answer rendered for one base URL
//! (a forged `Host`) is never served to anyone else, stored text reaches HTML and
//! feeds only as text, and a validator (ETag) never outlives the answer it was
//! given for, including when time alone changes the answer (an event starts, a
//! scheduled article comes due).

use std::time::Duration;

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, spawn, token_for, without_json_ld};

const FORGED_HOST: &str = "evil.example:1234";

/// Decodes the entities an HTML or XML escaper writes (what a browser or feed
/// reader shows for the text).
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// POSTs a record as `token`, returns its `data`.
async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let res = app
        .client
        .post(format!("{}{path}", app.addr))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{path}: {v:#}");
    v["data"].clone()
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = app.client.get(format!("{}{path}", app.addr));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

both!(
    answers_rendered_for_a_forged_host_never_reach_other_callers,
    forged_host
);

async fn forged_host(backend: Backend) {
    let app = spawn(backend).await;
    for path in [
        "/feeds/mentions.atom",
        "/feeds/mentions.rss",
        "/feeds/mentions.json",
        "/feeds/experts/rob-huebert.atom",
        "/embed",
        "/embed/mentions",
        "/embed.js",
    ] {
        // The forger gets links to its own host (there is no public URL configured)...
        let forged = get_with(&app, path, &[("host", FORGED_HOST)]).await;
        assert_eq!(forged.status(), 200, "{path}");
        let forged_etag = forged
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = forged.text().await.unwrap();
        if path != "/embed/mentions" {
            assert!(body.contains("evil.example"), "{path}: {body}");
        }
        // ...but nobody else does, from the cache or by revalidating.
        let normal = app.get(path).await;
        assert_eq!(normal.status(), 200, "{path}");
        let normal_etag = normal.headers()["etag"].to_str().unwrap().to_owned();
        let body = normal.text().await.unwrap();
        assert!(!body.contains("evil.example"), "{path}: {body}");
        if let Some(etag) = forged_etag {
            assert_ne!(etag, normal_etag, "{path}");
            let res = get_with(&app, path, &[("if-none-match", &etag)]).await;
            assert_eq!(
                res.status(),
                200,
                "{path}: a 304 for a body rendered for another base URL"
            );
            assert!(
                !res.text().await.unwrap().contains("evil.example"),
                "{path}"
            );
        }
        // The normal answer is still cached and revalidates.
        let res = get_with(&app, path, &[("if-none-match", &normal_etag)]).await;
        assert_eq!(res.status(), 304, "{path}");
    }
}

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTR: &str = "\"'><img src=x onerror=alert(2)>";

both!(
    hostile_names_are_escaped_in_the_widget_the_preview_and_the_feeds,
    hostile_names
);

async fn hostile_names(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let expert = create(
        &app,
        &editor,
        "/api/v1/experts",
        json!({ "name": format!("{SCRIPT} Expert"), "slug": "hostile-expert" }),
    )
    .await;
    assert_eq!(expert["name"], format!("{SCRIPT} Expert"));
    create(
        &app,
        &editor,
        "/api/v1/outlets",
        json!({ "name": format!("{ATTR} Outlet"), "slug": "hostile-outlet", "kind": "online" }),
    )
    .await;
    let title = format!("{SCRIPT} {ATTR} title");
    create(
        &app,
        &editor,
        "/api/v1/articles",
        json!({ "title": title, "experts": ["hostile-expert"], "outlet": "hostile-outlet",
                "authors": [format!("{ATTR} Author")], "published_at": "2026-11-01",
                "language": "en", "summary": format!("{SCRIPT} {ATTR} summary"),
                "url": "https://example.org/a?b=1&c=2" }),
    )
    .await;

    for path in [
        "/embed/mentions",
        "/embed/mentions?expert=hostile-expert&theme=dark",
        "/embed/mentions?outlet=hostile-outlet",
        "/feeds/mentions.rss",
        "/feeds/mentions.atom",
        "/feeds/mentions.json",
        "/feeds/experts/hostile-expert.rss",
        "/feeds/experts/hostile-expert.atom",
        "/feeds/outlets/hostile-outlet.rss",
        "/feeds/outlets/hostile-outlet.json",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let body = without_json_ld(&res.text().await.unwrap());
        for raw in ["<script", "<img", "onerror=alert(2)>"] {
            assert!(!body.contains(raw), "{path}: raw {raw:?} in\n{body}");
        }
        assert!(!body.contains("CDATA[<"), "{path}: markup in CDATA");
        // Yet the text is all there, as text.
        let shown = if path.ends_with(".json") {
            // JSON Feed is JSON: the parsed strings are the names as stored.
            serde_json::from_str::<Value>(&body).unwrap().to_string()
        } else {
            unescape(&body)
        };
        assert!(shown.contains(SCRIPT), "{path}: {body}");
        if path.contains("outlet") || path.starts_with("/embed") || path.ends_with(".rss") {
            assert!(
                shown.contains(ATTR) || shown.contains(&ATTR.replace('"', "\\\"")),
                "{path}: {body}"
            );
        }
        if path.starts_with("/feeds/") {
            let feed = feed_rs::parser::parse(body.as_bytes())
                .unwrap_or_else(|e| panic!("{path} does not parse: {e}\n{body}"));
            let e = &feed.entries[0];
            assert_eq!(e.title.as_ref().unwrap().content, title, "{path}");
        }
    }
    // The widget page still has its structure: one item, a safe link.
    let html = app
        .get("/embed/mentions?expert=hostile-expert")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("<li ").count(), 1, "{html}");
    assert!(html.contains("?b=1&#38;c=2\""), "{html}");
    assert!(
        unescape(&html).contains("href=\"https://example.org/a?b=1&c=2\""),
        "{html}"
    );

    // The preview page puts the base URL into attributes and code: a host that
    // tries to close the attribute never gets there.
    let res = get_with(
        &app,
        "/embed",
        &[("host", "x.example\"><script>alert(1)</script>")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(!page.contains("<script>alert"), "{page}");
    // A host that is no host name is not used for links at all.
    assert!(!unescape(&page).contains("x.example"), "{page}");
    let page = app.get("/embed").await.text().await.unwrap();
    assert!(page.contains("data-mediadesk-feed") && page.contains("/embed/mentions"));
    assert!(!page.contains("<script>alert"), "{page}");
    let js = get_with(
        &app,
        "/embed.js",
        &[("host", "x.example\"</script><script>alert(1)//")],
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(!js.contains("</script>"), "{js}");
}

both!(
    rss_descriptions_carry_summaries_as_text_not_markup,
    rss_text
);

async fn rss_text(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let summary = "<b>bold</b><script>x</script> & more";
    create(
        &app,
        &editor,
        "/api/v1/articles",
        json!({ "title": "Marked-up summary", "experts": ["Rob Huebert"], "outlet": "CBC",
                "authors": ["<i>An Author</i>"], "published_at": "2026-11-02",
                "language": "en", "summary": summary }),
    )
    .await;
    let body = app.get("/feeds/mentions.rss").await.text().await.unwrap();
    assert!(!body.contains("<script>"), "{body}");
    assert!(!body.contains("<b>"), "{body}");
    assert!(!body.contains("<i>"), "{body}");
    let feed = feed_rs::parser::parse(body.as_bytes()).unwrap();
    let e = feed
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == "Marked-up summary")
        .unwrap();
    let d = e.summary.as_ref().unwrap();
    // RSS descriptions are HTML to every reader: the HTML must show the literal text.
    assert!(!d.content.contains('<'), "markup in the description: {d:?}");
    assert_eq!(
        unescape(&d.content),
        format!("by <i>An Author</i> (feat. Rob Huebert), CBC, November 2, 2026 — {summary}")
    );
}

both!(
    validators_change_when_an_event_starts_or_a_scheduled_article_comes_due,
    stale_validators
);

async fn stale_validators(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    // The event starts first; the scheduled article comes due a few seconds later,
    // so each change is seen on its own.
    let starts = chrono::Utc::now() + chrono::Duration::seconds(3);
    let due = starts + chrono::Duration::seconds(3);
    create(
        &app,
        &editor,
        "/api/v1/events",
        json!({ "title": "Starting soon", "kind": "webinar", "starts_at": starts.to_rfc3339() }),
    )
    .await;
    create(
        &app,
        &editor,
        "/api/v1/articles",
        json!({ "title": "Due soon", "experts": ["Rob Huebert"], "outlet": "CBC",
                "published_at": "2026-11-03", "language": "en",
                "publish_at": due.to_rfc3339() }),
    )
    .await;

    let rest = "/api/v1/events?upcoming=true&limit=100";
    let q = "{ events(first: 100, filter: { upcoming: true }) { nodes { title } } }";
    let gql = format!("/graphql?query={}", crate::helpers::urlencode(q));
    let widget = "/embed/mentions?expert=rob-huebert&limit=10";
    let feed = "/feeds/experts/rob-huebert.atom";

    let res = app.get(rest).await;
    let rest_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let rest_lm = res.headers()["last-modified"].to_str().unwrap().to_owned();
    assert!(res.text().await.unwrap().contains("Starting soon"));
    let res = app.get(&gql).await;
    let gql_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(res.text().await.unwrap().contains("Starting soon"));
    let res = app.get(widget).await;
    let widget_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(!res.text().await.unwrap().contains("Due soon"));
    let res = app.get(feed).await;
    let feed_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(!res.text().await.unwrap().contains("Due soon"));
    // Still current a moment later.
    for (path, etag) in [
        (rest, &rest_etag),
        (gql.as_str(), &gql_etag),
        (widget, &widget_etag),
        (feed, &feed_etag),
    ] {
        let res = get_with(&app, path, &[("if-none-match", etag)]).await;
        assert_eq!(res.status(), 304, "{path}");
    }

    // The event has started (no write happened): the upcoming lists changed.
    let wait = starts - chrono::Utc::now() + chrono::Duration::milliseconds(700);
    tokio::time::sleep(wait.to_std().unwrap_or(Duration::ZERO)).await;
    assert!(
        chrono::Utc::now() < due,
        "the machine was too slow for this test"
    );
    let res = get_with(&app, rest, &[("if-none-match", &rest_etag)]).await;
    assert_eq!(res.status(), 200, "REST upcoming events after the start");
    assert_ne!(res.headers()["etag"].to_str().unwrap(), rest_etag);
    assert!(!res.text().await.unwrap().contains("Starting soon"));
    let res = get_with(&app, rest, &[("if-modified-since", &rest_lm)]).await;
    assert_eq!(res.status(), 200, "REST upcoming events, If-Modified-Since");
    let res = get_with(&app, &gql, &[("if-none-match", &gql_etag)]).await;
    assert_eq!(res.status(), 200, "GraphQL upcoming events after the start");
    assert!(!res.text().await.unwrap().contains("Starting soon"));
    // The widget and the feed did not change: their validators still hold.
    let res = get_with(&app, widget, &[("if-none-match", &widget_etag)]).await;
    assert_eq!(res.status(), 304, "widget after an unrelated event started");
    let res = get_with(&app, feed, &[("if-none-match", &feed_etag)]).await;
    assert_eq!(res.status(), 304, "feed after an unrelated event started");

    // The scheduled article has come due: the widget and the feed show it.
    let wait = due - chrono::Utc::now() + chrono::Duration::milliseconds(700);
    tokio::time::sleep(wait.to_std().unwrap_or(Duration::ZERO)).await;
    let res = get_with(&app, widget, &[("if-none-match", &widget_etag)]).await;
    assert_eq!(res.status(), 200, "widget after the publication came due");
    assert!(res.text().await.unwrap().contains("Due soon"));
    let res = get_with(&app, feed, &[("if-none-match", &feed_etag)]).await;
    assert_eq!(res.status(), 200, "feed after the publication came due");
    assert!(res.text().await.unwrap().contains("Due soon"));
}
