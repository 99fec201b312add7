//! Feeds and the widget: every feed parses with a real feed parser, filters and
//! languages pick the right items, conditional GETs give 304, the ETag follows
//! the content, and hostile text comes out as text everywhere.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, spawn, without_json_ld};

const HOSTILE: &str = "<script>alert(1)</script> & \"quotes\" — Économie";

/// Imports one article with a hostile title (and a URL) via the CLI.
fn import_hostile(app: &TestApp) {
    import(
        app,
        json!({"type": "article", "title": HOSTILE, "experts": ["Ellen Wald"], "outlet": "S&P Global",
               "authors": ["O'Brien & Co <b>"], "published_at": "2022-07-01T12:00:00Z", "language": "en",
               "url": "https://example.org/news?a=1&b=2", "summary": "Prices <em>fell</em> & rose"}),
    );
}

/// Imports one record via the CLI.
fn import(app: &TestApp, record: Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.ndjson");
    std::fs::write(&file, record.to_string()).unwrap();
    let out = app.cli(&["import", file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn parse(
    app: &TestApp,
    path: &str,
) -> (reqwest::header::HeaderMap, feed_rs::model::Feed, String) {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    let feed = feed_rs::parser::parse(body.as_bytes())
        .unwrap_or_else(|e| panic!("{path} does not parse: {e}\n{body}"));
    (headers, feed, body)
}

both!(
    every_feed_in_every_format_parses_with_the_right_items,
    feeds_parse
);

async fn feeds_parse(backend: Backend) {
    let app = spawn(backend).await;
    import_hostile(&app);
    for scope in [
        "/feeds/mentions",
        "/feeds/experts/rob-huebert",
        "/feeds/outlets/cbc",
        "/feeds/topics/oil-and-gas",
    ] {
        for (ext, ctype, kind) in [
            ("rss", "application/rss+xml", feed_rs::model::FeedType::RSS2),
            (
                "atom",
                "application/atom+xml",
                feed_rs::model::FeedType::Atom,
            ),
            (
                "json",
                "application/feed+json",
                feed_rs::model::FeedType::JSON,
            ),
        ] {
            let path = format!("{scope}.{ext}");
            let (headers, feed, _) = parse(&app, &path).await;
            assert!(
                headers["content-type"].to_str().unwrap().starts_with(ctype),
                "{path}"
            );
            assert_eq!(feed.feed_type, kind, "{path}");
            assert!(feed.title.is_some(), "{path}");
            assert!(!feed.entries.is_empty(), "{path}");
            for e in &feed.entries {
                assert!(e.title.is_some(), "{path}");
                assert!(!e.id.is_empty(), "{path}");
                assert!(e.published.is_some() || e.updated.is_some(), "{path}");
            }
            assert!(
                headers.get("etag").is_some() && headers.get("cache-control").is_some(),
                "{path}"
            );
        }
    }
    // The right items: Rob Huebert's three mentions; CBC includes its child outlets.
    let (_, f, _) = parse(&app, "/feeds/experts/rob-huebert.atom").await;
    assert_eq!(f.entries.len(), 3);
    let (_, f, _) = parse(&app, "/feeds/outlets/cbc.rss").await;
    let titles: Vec<String> = f
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert!(
        titles.contains(&"Russia Ukraine Update".to_string()),
        "{titles:?}"
    );
    let (_, f, _) = parse(&app, "/feeds/mentions.json?lang=fr").await;
    let titles: Vec<String> = f
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(
        titles,
        [
            "Alliance renforcée",
            "Un sommet de l’OTAN pour tenir tête à la Russie"
        ]
    );
    let (_, f, _) = parse(&app, "/feeds/mentions.rss?limit=3").await;
    assert_eq!(f.entries.len(), 3);

    // Titles with &, <, quotes and accents come out exactly as stored, in every format.
    for ext in ["rss", "atom", "json"] {
        let (_, f, body) = parse(&app, &format!("/feeds/mentions.{ext}")).await;
        let e = &f.entries[0];
        assert_eq!(e.title.as_ref().unwrap().content, HOSTILE, "{ext}");
        if ext != "json" {
            // XML escapes markup; a JSON string holds it as plain text.
            assert!(!body.contains("<script>"), "{ext}: raw markup in the feed");
        }
        assert_eq!(e.links[0].href, "https://example.org/news?a=1&b=2", "{ext}");
    }

    // Bad requests.
    for (path, status) in [
        ("/feeds/mentions.rss?limit=500", 400),
        ("/feeds/mentions.rss?lang=de", 400),
        ("/feeds/experts/nobody.rss", 404),
        ("/feeds/mentions.txt", 404),
        ("/feeds/people/rob-huebert.rss", 404),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status().as_u16(), status, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
}

both!(
    feeds_answer_304_and_change_their_etag_only_with_their_content,
    feed_etags
);

async fn feed_etags(backend: Backend) {
    let app = spawn(backend).await;
    let url = format!("{}/feeds/experts/rob-huebert.rss", app.addr);
    let res = app.client.get(&url).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let lm = res.headers()["last-modified"].to_str().unwrap().to_owned();
    let res = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let res = app
        .client
        .get(&url)
        .header("if-modified-since", &lm)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    // A write that does not touch this feed keeps its ETag...
    import_hostile(&app);
    let res = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304, "unrelated write changed the feed's ETag");
    // ...while the overall feed changes.
    let all = format!("{}/feeds/mentions.rss", app.addr);
    let res = app.client.get(&all).send().await.unwrap();
    let body = res.text().await.unwrap();
    assert!(body.contains("&lt;script&gt;"));
}

both!(the_widget_renders_localised_escaped_items, widget_renders);

async fn widget_renders(backend: Backend) {
    let app = spawn(backend).await;
    import_hostile(&app);
    let res = app.get("/embed/mentions?limit=3").await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors"),
        "{csp}"
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;"),
        "{html}"
    );
    assert!(
        !without_json_ld(&html).contains("<script"),
        "no script in the widget"
    );
    assert!(html.contains("target=\"_blank\" rel=\"noopener noreferrer\""));
    assert!(
        html.contains(
            "by O&#39;Brien &#38; Co &#60;b&#62; (feat. Ellen Wald), S&#38;P Global, July 1, 2022"
        ),
        "{html}"
    );
    assert!(
        html.contains("by Heather Hiscox (feat. Andrew Rasiulis), CBC, June 30, 2022"),
        "{html}"
    );

    let html = app
        .get("/embed/mentions?lang=fr&theme=dark")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Nos experts dans les médias"));
    assert!(
        html.contains(
            "par Céline Galipeau (avec Stefanie von Hlatky), Le Tele Journal, 29 juin 2022"
        ),
        "{html}"
    );

    let html = app
        .get("/embed/mentions?expert=rob-huebert&limit=10")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("<li ").count(), 3);
    assert!(html.contains("(feat. James Fergusson and Rob Huebert)"));

    for bad in [
        "/embed/mentions?limit=0",
        "/embed/mentions?theme=neon",
        "/embed/mentions?lang=xx",
    ] {
        assert_eq!(app.get(bad).await.status(), 400, "{bad}");
    }
    let js = app.get("/embed.js").await;
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let js = js.text().await.unwrap();
    assert!(js.contains("attachShadow") && !js.contains("innerHTML"));
    let page = app.get("/embed").await.text().await.unwrap();
    assert!(page.contains("data-mediadesk-feed") && page.contains("/embed/mentions"));
    let _ = Value::Null;
}

both!(
    an_articles_credit_line_is_the_same_in_every_feed_the_widget_and_the_script_data,
    one_credit_line
);

async fn one_credit_line(backend: Backend) {
    let app = spawn(backend).await;
    // French, three bylines, two experts, the first of a month, markup characters:
    // the newest item everywhere.
    let title = "Trois auteurs, deux experts";
    import(
        &app,
        json!({"type": "article", "title": title, "experts": ["Ellen Wald", "Rob Huebert"],
               "outlet": "S&P Global", "authors": ["Anne <b>", "Bé & \"Co\"", "Chloé O'Neil"],
               "published_at": "2026-03-01T02:00:00Z", "language": "fr"}),
    );
    let want = "par Anne <b>, Bé & \"Co\" et Chloé O'Neil (avec Ellen Wald et Rob Huebert), S&P Global, 1er mars 2026";

    let mut seen = Vec::new();
    for ext in ["rss", "atom"] {
        let (_, feed, _) = parse(&app, &format!("/feeds/mentions.{ext}")).await;
        let e = feed
            .entries
            .iter()
            .find(|e| e.title.as_ref().unwrap().content == title)
            .unwrap();
        let text = e.summary.as_ref().unwrap().content.clone();
        // An RSS description is HTML (escaped text); an Atom summary is text.
        let text = if ext == "rss" {
            crate::public_reads::unescape(&text)
        } else {
            text
        };
        seen.push((ext, text));
    }
    let json: Value = app.get("/feeds/mentions.json").await.json().await.unwrap();
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap();
    seen.push((
        "json feed",
        item["content_text"].as_str().unwrap().to_owned(),
    ));

    // The widget page, in English and in French: the item keeps its own language.
    for path in ["/embed/mentions", "/embed/mentions?lang=fr"] {
        let html = app.get(path).await.text().await.unwrap();
        let li = html.split("<li ").nth(1).unwrap();
        assert!(li.contains(title), "{html}");
        let credit = li
            .split("<p class=\"c\">")
            .nth(1)
            .and_then(|c| c.split("</p>").next())
            .unwrap();
        assert!(
            !credit.contains('<'),
            "markup in the widget's credit: {credit}"
        );
        seen.push((path, crate::public_reads::unescape(credit)));
    }
    // The data embed.js renders from, fetched as the script fetches it.
    for path in [
        "/embed/mentions.json?limit=5",
        "/embed/mentions.json?limit=5&lang=fr",
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.addr))
            .header("accept", "application/json")
            .header("origin", "https://partner.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        let body = res.text().await.unwrap();
        assert!(!body.contains('<'), "markup characters in the JSON: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["items"][0]["title"], title);
        assert_eq!(body["items"][0]["language"], "fr");
        seen.push((
            path,
            body["items"][0]["credit"].as_str().unwrap().to_owned(),
        ));
    }
    for (place, credit) in &seen {
        assert_eq!(credit, want, "{place}");
    }
    let en: Value = app.get("/embed/mentions.json").await.json().await.unwrap();
    assert_eq!(en["heading"], "Experts in the media");
    let fr: Value = app
        .get("/embed/mentions.json?lang=fr")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fr["heading"], "Nos experts dans les médias");
    assert_eq!(app.get("/embed/mentions.json?limit=0").await.status(), 400);
}
