//! Other formats of the same content, each read by a real parser or consumer
//! (Python packages under `tests/formats/`): events as iCalendar (`icalendar`
//! and the `recurring-ical-events` client), objects as schema.org JSON-LD
//! (expanded with `pyld`), and oEmbed for the widget (discovered and fetched
//! by the `micawber` consumer).

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/formats");

/// Runs `tests/formats/<script>` with `args`, `input` on stdin, and returns the
/// JSON it prints; fails clearly when the Python packages are missing.
fn python(script: &str, args: &[&str], input: &[u8]) -> Value {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import icalendar, recurring_ical_events, pyld, micawber",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "these tests need python3 with icalendar, recurring-ical-events, pyld and micawber \
         (the pinned versions .ci/run installs)"
    );
    let mut child = Command::new("python3")
        .arg(format!("{DIR}/{script}"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The same instant, whatever the notation.
fn instant(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .map(|s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

/// A calendar as the Python client reads it.
async fn calendar(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(
        res.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let body = res.bytes().await.unwrap();
    let cal = python(
        "ics.py",
        &["2000-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00"],
        &body,
    );
    assert_eq!(cal["layout"]["crlf"], true, "{cal}");
    assert!(cal["layout"]["max_octets"].as_u64().unwrap() <= 75, "{cal}");
    assert_eq!(cal["calendar"]["VERSION"], "2.0");
    cal
}

/// The event of a calendar with this UID.
fn by_uid<'a>(cal: &'a Value, uid: &str) -> &'a Value {
    cal["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uid"] == uid)
        .unwrap_or_else(|| panic!("no {uid} in {cal}"))
}

async fn create_event(app: &TestApp, token: &str, body: Value) -> (Value, String) {
    let (status, headers, body) = call(
        app,
        Method::POST,
        "/api/v1/events",
        Some(token),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    (body["data"].clone(), etag)
}

fn whole_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp() / 60 * 60, 0).unwrap()
}

fn long_event(starts: DateTime<Utc>) -> Value {
    json!({
        "title": "Arctic Security Roundtable: sovereignty, shipping, and the new great-power competition in the North",
        "kind": "roundtable", "starts_at": starts.to_rfc3339(),
        "ends_at": (starts + chrono::Duration::hours(3)).to_rfc3339(),
        "time_zone": "America/Edmonton", "venue": "The Westin; Room \"A\", Level 2", "city": "Calgary",
        "region": "Alberta", "country": "CA",
        "description": "Long text, with commas; semicolons and a backslash \\ to escape.\nSecond line: é è ü — and some more words to go well past seventy-five octets.",
        "registration_url": "https://events.example.org/arctic?ref=ics&lang=en",
    })
}

both!(
    events_as_icalendar_read_by_a_calendar_client_equal_the_api,
    icalendar_feed
);
async fn icalendar_feed(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    // iCalendar times have whole seconds; events start on the minute.
    let soon = whole_minute(Utc::now() + chrono::Duration::days(20));
    let (made, etag) = create_event(&app, &editor, long_event(soon)).await;
    let slug = made["slug"].as_str().unwrap().to_owned();

    let cal = calendar(&app, "/feeds/events.ics").await;
    let api: Value = app
        .get("/api/v1/events?limit=100")
        .await
        .json()
        .await
        .unwrap();
    let listed = api["data"].as_array().unwrap();
    assert_eq!(cal["events"].as_array().unwrap().len(), listed.len());
    for (vevent, e) in cal["events"].as_array().unwrap().iter().zip(listed) {
        // The same events in the same order (latest first), the same times.
        assert_eq!(vevent["summary"], e["title"]);
        assert_eq!(
            instant(&vevent["start"]),
            instant(&e["starts_at"]),
            "{vevent}"
        );
        assert_eq!(instant(&vevent["end"]), instant(&e["ends_at"]), "{vevent}");
        assert_eq!(vevent["sequence"], e["version"].as_i64().unwrap() - 1);
        assert_eq!(vevent["status"], "CONFIRMED");
    }
    // The recurring-events client places every event where the API does.
    let mut starts: Vec<_> = cal["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| instant(&o["start"]))
        .collect();
    let mut api_starts: Vec<_> = listed.iter().map(|e| instant(&e["starts_at"])).collect();
    starts.sort();
    api_starts.sort();
    assert_eq!(starts, api_starts);

    let mine = cal["events"][0].clone();
    assert_eq!(mine["summary"], made["title"]);
    assert_eq!(mine["description"], made["description"]);
    assert_eq!(
        mine["location"],
        "The Westin; Room \"A\", Level 2, Calgary, Alberta, CA"
    );
    assert_eq!(mine["url"], made["registration_url"]);
    let uid = mine["uid"].as_str().unwrap().to_owned();
    let demo = by_uid(&cal, cal["events"][1]["uid"].as_str().unwrap());
    assert_eq!(demo["summary"], "Annual Defence Procurement Conference");
    assert_eq!(demo["start"], "2022-10-25T12:00:00Z");
    assert_eq!(demo["location"], "Ottawa, Ontario, CA");

    // One event alone: the same UID; a change of title, slug and status keeps
    // it, SEQUENCE follows the version, a cancelled event says so.
    let one = calendar(&app, &format!("/api/v1/events/{slug}.ics")).await;
    assert_eq!(one["events"].as_array().unwrap().len(), 1);
    assert_eq!(by_uid(&one, &uid)["sequence"], 0);
    let patch = json!({"title": "Arctic Roundtable (cancelled)", "slug": "arctic-roundtable", "cancelled": true});
    let (status, _, body) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/events/{slug}"),
        Some(&editor),
        Some(&patch),
        &[("if-match", &etag)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["cancelled"], true);
    assert_eq!(body["data"]["version"], 2);
    let one = calendar(&app, "/api/v1/events/arctic-roundtable.ics").await;
    let e = by_uid(&one, &uid);
    assert_eq!(e["sequence"], 1);
    assert_eq!(e["status"], "CANCELLED");
    assert_eq!(e["summary"], "Arctic Roundtable (cancelled)");
    let cal = calendar(&app, "/feeds/events.ics").await;
    assert_eq!(by_uid(&cal, &uid)["status"], "CANCELLED");
    assert_eq!(
        app.get(&format!("/api/v1/events/{slug}.ics"))
            .await
            .status(),
        404
    );

    // The filters of /api/v1/events.
    let upcoming = calendar(&app, "/feeds/events.ics?upcoming=true").await;
    assert_eq!(upcoming["events"].as_array().unwrap().len(), 1);
    assert_eq!(upcoming["events"][0]["uid"], uid.as_str());
    let past = calendar(&app, "/feeds/events.ics?upcoming=false&city=ottawa").await;
    assert_eq!(past["events"].as_array().unwrap().len(), 1);
    for bad in ["kind=party", "limit=0", "from=yesterday", "upcoming=maybe"] {
        let res = app.get(&format!("/feeds/events.ics?{bad}")).await;
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{bad}"
        );
    }
    assert_eq!(
        app.get("/api/v1/events/nothing-here.ics").await.status(),
        404
    );
}

both!(
    calendar_feeds_answer_conditional_gets_with_304,
    calendar_conditional
);
async fn calendar_conditional(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let one = "/api/v1/events/annual-defence-procurement-conference-2022.ics";
    for path in ["/feeds/events.ics", one] {
        let first = app.get(path).await;
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(first.headers().contains_key("last-modified"));
        let again = app
            .client
            .get(format!("{}{path}", app.addr))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    }
    let first = app.get("/feeds/events.ics").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    create_event(
        &app,
        &editor,
        long_event(Utc::now() + chrono::Duration::days(3)),
    )
    .await;
    let after = app
        .client
        .get(format!("{}/feeds/events.ics", app.addr))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200);
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
}

const LD: &str = "application/ld+json";
const S: &str = "http://schema.org/";

/// A REST object as JSON-LD, expanded by pyld (one top node).
async fn expanded(app: &TestApp, path: &str) -> Value {
    let res = app
        .client
        .get(format!("{}{path}", app.addr))
        .header("accept", LD)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()["content-type"], LD, "{path}");
    assert!(
        res.headers()["vary"].to_str().unwrap().contains("Accept"),
        "{path}"
    );
    let body = res.bytes().await.unwrap();
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["@context"], "https://schema.org");
    let out = python("jsonld.py", &[], &body);
    assert_eq!(out.as_array().unwrap().len(), 1, "{out}");
    out[0].clone()
}

/// The types of an expanded node, without the vocabulary.
fn types(n: &Value) -> Vec<String> {
    n["@type"]
        .as_array()
        .unwrap_or_else(|| panic!("no @type in {n}"))
        .iter()
        .map(|t| t.as_str().unwrap().trim_start_matches(S).to_owned())
        .collect()
}

/// The values of a schema.org property of an expanded node.
fn prop<'a>(n: &'a Value, name: &str) -> &'a [Value] {
    n[format!("{S}{name}")]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

fn text(n: &Value, name: &str) -> String {
    prop(n, name)[0]["@value"].as_str().unwrap().to_owned()
}

both!(
    objects_as_schema_org_json_ld_expand_to_linked_types,
    json_ld_objects
);
async fn json_ld_objects(backend: Backend) {
    let app = spawn(backend).await;
    let api = format!("{}/api/v1", app.addr);

    let a = expanded(
        &app,
        "/api/v1/articles/canadian-russian-officials-set-aside-differences-to-talk-terrorism",
    )
    .await;
    assert_eq!(types(&a), ["NewsArticle"]);
    assert_eq!(
        a["@id"],
        format!(
            "{api}/articles/canadian-russian-officials-set-aside-differences-to-talk-terrorism"
        )
    );
    assert_eq!(
        text(&a, "headline"),
        "Canadian, Russian officials set aside differences to talk terrorism"
    );
    let author = &prop(&a, "author")[0];
    assert_eq!(types(author), ["Person"]);
    assert_eq!(text(author, "name"), "Lee Berthiaume");
    let publisher = &prop(&a, "publisher")[0];
    assert_eq!(types(publisher), ["NewsMediaOrganization"]);
    assert_eq!(
        publisher["@id"],
        format!("{api}/outlets/the-canadian-press")
    );
    let mentioned = &prop(&a, "mentions")[0];
    assert_eq!(types(mentioned), ["Person"]);
    assert_eq!(
        mentioned["@id"],
        format!("{api}/experts/ferry-de-kerckhove")
    );
    let affiliation = &prop(mentioned, "affiliation")[0];
    assert_eq!(types(affiliation), ["Organization"]);
    assert_eq!(affiliation["@id"], format!("{api}/site"));
    assert_eq!(
        text(affiliation, "name"),
        "Canadian Global Affairs Institute"
    );

    let e = expanded(&app, "/api/v1/experts/rob-huebert").await;
    assert_eq!(types(&e), ["Person"]);
    assert_eq!(e["@id"], format!("{api}/experts/rob-huebert"));
    assert_eq!(text(&e, "alternateName"), "Robert Huebert");
    assert_eq!(prop(&e, "affiliation")[0]["@id"], format!("{api}/site"));

    let o = expanded(&app, "/api/v1/outlets/cbc-radio-one").await;
    assert_eq!(types(&o), ["NewsMediaOrganization"]);
    let parent = &prop(&o, "parentOrganization")[0];
    assert_eq!(parent["@id"], format!("{api}/outlets/cbc"));
    assert_eq!(types(parent), ["NewsMediaOrganization"]);
    let cbc = expanded(&app, "/api/v1/outlets/cbc").await;
    let children: Vec<&Value> = prop(&cbc, "subOrganization")
        .iter()
        .map(|c| &c["@id"])
        .collect();
    assert!(
        children.contains(&&json!(format!("{api}/outlets/cbc-radio-one"))),
        "{cbc}"
    );

    let ev = expanded(
        &app,
        "/api/v1/events/annual-defence-procurement-conference-2022",
    )
    .await;
    assert_eq!(types(&ev), ["Event"]);
    assert_eq!(
        prop(&ev, "eventStatus")[0]["@id"],
        "https://schema.org/EventScheduled"
    );
    assert_eq!(
        DateTime::parse_from_rfc3339(&text(&ev, "startDate")).unwrap(),
        DateTime::parse_from_rfc3339("2022-10-25T08:00:00-04:00").unwrap()
    );
    let place = &prop(&ev, "location")[0];
    assert_eq!(types(place), ["Place"]);
    let address = &prop(place, "address")[0];
    assert_eq!(types(address), ["PostalAddress"]);
    assert_eq!(text(address, "addressLocality"), "Ottawa");
    assert_eq!(prop(&ev, "organizer")[0]["@id"], format!("{api}/site"));

    let site = expanded(&app, "/api/v1/site").await;
    assert_eq!(types(&site), ["Organization"]);
    assert_eq!(site["@id"], format!("{api}/site"));
    let offices: Vec<(String, String)> = prop(&site, "location")
        .iter()
        .map(|p| {
            assert_eq!(types(p), ["Place"]);
            let a = &prop(p, "address")[0];
            assert_eq!(types(a), ["PostalAddress"]);
            (text(p, "name"), text(a, "addressLocality"))
        })
        .collect();
    assert_eq!(
        offices,
        [
            ("Head Office".to_owned(), "Calgary".to_owned()),
            ("Ottawa Office".to_owned(), "Ottawa".to_owned())
        ]
    );
}

both!(
    json_and_json_ld_of_one_url_never_swap_in_the_cache,
    negotiation_keys_the_cache
);
async fn negotiation_keys_the_cache(backend: Backend) {
    let app = spawn(backend).await;
    let path = "/api/v1/experts/rob-huebert";
    let get = |accept: &'static str, inm: Option<String>| {
        let mut r = app
            .client
            .get(format!("{}{path}", app.addr))
            .header("accept", accept);
        if let Some(t) = inm {
            r = r.header("if-none-match", t);
        }
        r.send()
    };
    let mut etags = Vec::new();
    // Twice each, interleaved: the second of each is a cache hit.
    for accept in ["application/json", LD, "*/*", LD, "application/json"] {
        let res = get(accept, None).await.unwrap();
        assert_eq!(res.status(), 200);
        let ld = accept == LD;
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct.starts_with(LD), ld, "{accept}: {ct}");
        assert!(res.headers()["vary"].to_str().unwrap().contains("Accept"));
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        if ld {
            assert_eq!(body["@type"], "Person");
        } else {
            assert_eq!(body["data"]["slug"], "rob-huebert");
        }
        etags.push((ld, etag));
    }
    let json_tag = etags[0].1.clone();
    let ld_tag = etags[1].1.clone();
    assert_ne!(json_tag, ld_tag);
    assert!(
        etags
            .iter()
            .all(|(ld, t)| t == if *ld { &ld_tag } else { &json_tag })
    );
    // A validator of one representation does not validate the other.
    assert_eq!(get(LD, Some(json_tag.clone())).await.unwrap().status(), 200);
    assert_eq!(get(LD, Some(ld_tag)).await.unwrap().status(), 304);
    assert_eq!(
        get("application/json", Some(json_tag))
            .await
            .unwrap()
            .status(),
        304
    );
}

const HOSTILE: &str = "</script><script>alert(1)</script> <!-- & \"quotes\" — Économie";

both!(
    the_widget_page_embeds_its_list_as_json_ld_that_no_title_can_break,
    widget_json_ld
);
async fn widget_json_ld(backend: Backend) {
    let app = spawn(backend).await;
    let editor = token_for(&app, "editor").await;
    let article = json!({"title": HOSTILE, "experts": ["Rob Huebert"], "outlet": "CBC", "authors": ["A </script> B"],
                         "published_at": "2030-01-01T00:00:00Z", "language": "en"});
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/api/v1/articles",
        Some(&editor),
        Some(&article),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let page = app
        .get("/embed/mentions?limit=3")
        .await
        .text()
        .await
        .unwrap();
    let open = "<script type=\"application/ld+json\">";
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert_eq!(page.matches("</script>").count(), 1, "{page}");
    let start = page.find(open).unwrap() + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    let data = &page[start..end];
    assert!(!data.contains('<') && !data.contains('>') && !data.contains('&'));
    let out = python("jsonld.py", &[], data.as_bytes());
    let list = &out[0];
    assert_eq!(types(list), ["ItemList"]);
    let items = prop(list, "itemListElement");
    assert_eq!(items.len(), 3);
    let first = &prop(&items[0], "item")[0];
    assert_eq!(types(first), ["NewsArticle"]);
    assert_eq!(text(first, "headline"), HOSTILE);
    assert_eq!(text(&prop(first, "author")[0], "name"), "A </script> B");
    assert_eq!(
        prop(first, "mentions")[0]["@id"],
        format!("{}/api/v1/experts/rob-huebert", app.addr)
    );
}

/// `GET /oembed?...`: status and JSON body.
async fn oembed(app: &TestApp, query: &[(&str, &str)]) -> (u16, Value) {
    let res = app
        .client
        .get(format!("{}/oembed", app.addr))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The members oEmbed 1.0 requires of a `rich` answer (§2.3.4).
fn assert_rich(a: &Value) {
    assert_eq!(a["type"], "rich", "{a}");
    assert_eq!(a["version"], "1.0", "{a}");
    assert!(a["html"].as_str().unwrap().starts_with("<iframe "), "{a}");
    assert!(a["width"].as_u64().unwrap() > 0, "{a}");
    assert!(a["height"].as_u64().unwrap() > 0, "{a}");
}

both!(
    oembed_answers_a_rich_embed_of_the_widget_that_a_consumer_discovers,
    oembed_widget
);
async fn oembed_widget(backend: Backend) {
    let app = spawn(backend).await;
    let widget = format!("{}/embed/mentions?limit=3&lang=fr&theme=dark", app.addr);
    let (status, a) = oembed(&app, &[("url", &widget), ("format", "json")]).await;
    assert_eq!(status, 200, "{a}");
    assert_rich(&a);
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(360), Some(520))
    );
    assert_eq!(a["provider_name"], "Canadian Global Affairs Institute");
    assert_eq!(a["provider_url"], app.addr);
    assert_eq!(a["title"], "Nos experts dans les médias");
    let html = a["html"].as_str().unwrap();
    assert!(
        html.contains(&format!(
            "src=\"{}/embed/mentions?limit=3&#38;lang=fr&#38;theme=dark\"",
            app.addr
        )),
        "{html}"
    );
    assert!(html.contains("width=\"360\" height=\"520\""), "{html}");
    // maxwidth / maxheight bound the embed.
    let (status, a) = oembed(
        &app,
        &[("url", &widget), ("maxwidth", "200"), ("maxheight", "300")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(200), Some(300))
    );
    assert!(
        a["html"]
            .as_str()
            .unwrap()
            .contains("width=\"200\" height=\"300\"")
    );
    // The preview page stands for the default widget.
    let (status, a) = oembed(&app, &[("url", &format!("{}/embed", app.addr))]).await;
    assert_eq!(status, 200);
    assert_rich(&a);
    // What the spec says a provider answers otherwise.
    let (status, _) = oembed(&app, &[("url", &widget), ("format", "xml")]).await;
    assert_eq!(status, 501);
    for url in [
        "https://elsewhere.example/embed/mentions".to_owned(),
        format!("{}/api/v1/articles", app.addr),
        format!("{}/embed/mentions?theme=purple", app.addr),
        "not a url".to_owned(),
    ] {
        let (status, body) = oembed(&app, &[("url", &url)]).await;
        assert_eq!(status, 404, "{url}: {body}");
    }
    for bad in [vec![], vec![("url", widget.as_str()), ("maxwidth", "wide")]] {
        let (status, body) = oembed(&app, &bad).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }

    // A consumer discovers the endpoint in the preview and the widget pages
    // and embeds what it answers.
    for page in [format!("{}/embed", app.addr), widget.clone()] {
        let addr = app.addr.clone();
        let out = tokio::task::spawn_blocking(move || python("oembed.py", &[&page, "320"], b""))
            .await
            .unwrap();
        assert!(
            out["discovered"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{addr}/oembed?"))
        );
        assert_rich(&out["answer"]);
        assert_eq!(out["answer"]["width"], 320);
        assert!(
            out["rendered"].as_str().unwrap().contains("<iframe src="),
            "{out}"
        );
    }
}
