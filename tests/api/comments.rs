//! Reader comments end to end: readers signed in through the real e-mail
//! flow (the link's token read from the outbox) comment on published
//! articles; a first comment waits, invisible to the public, until an editor
//! approves it, then counts in `commentCount` and lists (the public's cached
//! answers move with it); readers cannot moderate, edit after 10 minutes or
//! touch another reader's comment; the public cannot post; replies are one
//! level deep; links are capped, duplicates refused, posting budgeted; after
//! every refused write nothing changed.

use reqwest::Method;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

/// A server with the demo data, tuned.
async fn spawn_comments(
    backend: Backend,
    tune: impl FnOnce(&mut mediadesk::config::ServeArgs),
) -> TestApp {
    let db = TestDb::new(backend).await;
    let conn = mediadesk::db::connect(&db.url, 2).await.expect("migrate");
    mediadesk::services::demo::seed(&conn.conn)
        .await
        .expect("demo data");
    drop(conn);
    spawn_tuned_over(db, tune).await
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

/// Every comment row, as text: equal before and after a refused write.
async fn rows(app: &TestApp) -> Vec<String> {
    sql(
        app,
        "SELECT id, article_id, reader_id, parent_id, body, status, edited_at FROM comments ORDER BY id",
    )
    .await
    .iter()
    .map(|r| {
        let id: i32 = r.try_get_by_index(0).unwrap();
        let body: String = r.try_get_by_index(4).unwrap();
        let status: String = r.try_get_by_index(5).unwrap();
        let parent: Option<i32> = r.try_get_by_index(3).unwrap();
        let edited: Option<chrono::DateTime<chrono::Utc>> = r.try_get_by_index(6).unwrap();
        format!("{id}|{parent:?}|{body}|{status}|{edited:?}")
    })
    .collect()
}

/// Signs `email` in through the sign-in link queued for it: the access token.
async fn reader(app: &TestApp, email: &str) -> String {
    let (s, _, _) = call(
        app,
        Method::POST,
        "/api/v1/readers/sign-in",
        None,
        Some(&json!({ "email": email })),
        &[],
    )
    .await;
    assert_eq!(s, 202);
    let mail = sql(
        app,
        &format!("SELECT text_body FROM outbox WHERE to_addr = '{email}' ORDER BY id DESC"),
    )
    .await;
    let text: String = mail[0].try_get_by_index(0).unwrap();
    let at = text.find("token=").expect("a link") + "token=".len();
    let token: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let (s, _, b) = call(
        app,
        Method::POST,
        "/api/v1/readers/session",
        None,
        Some(&json!({ "token": token })),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["access_token"].as_str().unwrap().to_owned()
}

/// The slugs of the newest published articles.
async fn articles(app: &TestApp) -> Vec<String> {
    let (s, _, b) = call(
        app,
        Method::GET,
        "/api/v1/articles?limit=3",
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(s, 200);
    b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_owned())
        .collect()
}

async fn post(app: &TestApp, token: Option<&str>, slug: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/articles/{slug}/comments");
    let (s, _, b) = call(app, Method::POST, &path, token, Some(&body), &[]).await;
    (s, b)
}

async fn thread(app: &TestApp, token: Option<&str>, slug: &str) -> Vec<Value> {
    let path = format!("/api/v1/articles/{slug}/comments");
    let (s, _, b) = call(app, Method::GET, &path, token, None, &[]).await;
    assert_eq!(s, 200, "{b}");
    b["data"].as_array().unwrap().clone()
}

async fn comment_count(app: &TestApp, slug: &str) -> i64 {
    let g = app
        .gql_ok(
            "query($s: String) { article(slug: $s) { commentCount } }",
            json!({ "s": slug }),
        )
        .await;
    let n = g["article"]["commentCount"].as_i64().unwrap();
    // The REST article says the same.
    let (s, _, a) = call(
        app,
        Method::GET,
        &format!("/api/v1/articles/{slug}"),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["data"]["comment_count"], n, "{a}");
    n
}

async fn first_comment_waits_until_an_editor_approves_it(backend: Backend) {
    let app = spawn_comments(backend, |_| {}).await;
    let slugs = articles(&app).await;
    let slug = slugs[0].as_str();
    let editor = token_for(&app, "editor").await;
    let ada = reader(&app, "ada@example.org").await;

    // The public cannot post; editors moderate, they do not comment.
    let (s, b) = post(&app, None, slug, json!({ "body": "hello" })).await;
    assert_eq!(s, 401, "{b}");
    let (s, b) = post(&app, Some(&editor), slug, json!({ "body": "hello" })).await;
    assert_eq!(s, 403, "{b}");
    assert!(rows(&app).await.is_empty());

    // Seen by the public before anything is posted (and so cached).
    assert!(thread(&app, None, slug).await.is_empty());
    assert_eq!(comment_count(&app, slug).await, 0);

    let hostile = "<script>alert(1)</script> & \"quotes\"";
    let (s, b) = post(&app, Some(&ada), slug, json!({ "body": hostile })).await;
    assert_eq!(s, 201, "{b}");
    let c = &b["data"];
    assert_eq!(c["status"], "pending");
    assert_eq!(c["body"], hostile, "plain text comes back as text");
    assert_eq!(c["mine"], true);
    let id = c["id"].as_i64().unwrap();

    // Invisible to the public; its author sees it.
    assert!(thread(&app, None, slug).await.is_empty());
    assert_eq!(comment_count(&app, slug).await, 0);
    let own = thread(&app, Some(&ada), slug).await;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["status"], "pending");

    // A reader cannot moderate.
    let before = rows(&app).await;
    for action in ["approve", "reject", "spam"] {
        let path = format!("/api/v1/comments/{id}/{action}");
        let (s, _, b) = call(&app, Method::POST, &path, Some(&ada), None, &[]).await;
        assert_eq!(s, 403, "{action}: {b}");
    }
    // The queue shows a reader their own comments only ("my comments").
    let (s, _, mine) = call(
        &app,
        Method::GET,
        "/api/v1/comments?status=pending",
        Some(&ada),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{mine}");
    let mine = mine["data"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["id"], id);
    let g = gql_as(
        &app,
        Some(&ada),
        "mutation($id: Int!) { approveComment(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(g["errors"][0]["extensions"]["code"], "FORBIDDEN", "{g}");
    // Nor can a contributor: moderation is the editors'.
    let contributor = token_for(&app, "contributor").await;
    for m in ["approveComment", "rejectComment", "markCommentSpam"] {
        let doc = format!("mutation($id: Int!) {{ {m}(id: $id) {{ status }} }}");
        let g = gql_as(&app, Some(&contributor), &doc, json!({ "id": id })).await;
        assert_eq!(
            g["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{m}: {g}"
        );
    }
    let path = format!("/api/v1/comments/{id}");
    let (s, _, _) = call(&app, Method::DELETE, &path, Some(&contributor), None, &[]).await;
    assert_eq!(s, 403);
    let (s, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/comments",
        Some(&contributor),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(rows(&app).await, before);

    // The editor's queue, and the approval.
    let (s, _, q) = call(
        &app,
        Method::GET,
        "/api/v1/comments?status=pending",
        Some(&editor),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["data"][0]["id"], id);
    let (s, _, _) = call(
        &app,
        Method::GET,
        "/api/v1/comments?status=nope",
        Some(&editor),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 400);
    let path = format!("/api/v1/comments/{id}/approve");
    let (s, _, b) = call(&app, Method::POST, &path, Some(&editor), None, &[]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["status"], "approved");
    let admin = token_for(&app, "admin").await;
    let log = audit_log(&app, &admin).await;
    assert!(
        log.iter()
            .any(|e| e["entity"] == "comment" && e["action"] == "approve"),
        "{log:?}"
    );

    // Public now: listed and counted (the cached answers moved on).
    let public = thread(&app, None, slug).await;
    assert_eq!(public.len(), 1);
    assert_eq!(public[0]["body"], hostile);
    assert_eq!(public[0]["mine"], false);
    assert_eq!(comment_count(&app, slug).await, 1);
    let g = app
        .gql_ok(
            "{ articles(first: 3) { nodes { slug commentCount } } }",
            json!({}),
        )
        .await;
    for a in g["articles"]["nodes"].as_array().unwrap() {
        let want = if a["slug"] == slug { 1 } else { 0 };
        assert_eq!(a["commentCount"], want, "{a}");
    }

    // Approved once, the next comment is public at once.
    let (s, b) = post(
        &app,
        Some(&ada),
        slug,
        json!({ "body": "And another thought." }),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["data"]["status"], "approved");
    assert_eq!(comment_count(&app, slug).await, 2);

    // Rejected once, the next one waits again.
    let second = b["data"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/comments/{second}/spam");
    let (s, _, _) = call(&app, Method::POST, &path, Some(&editor), None, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(comment_count(&app, slug).await, 1);
    let (s, b) = post(
        &app,
        Some(&ada),
        slugs[1].as_str(),
        json!({ "body": "Third." }),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["data"]["status"], "pending");

    // An editor deletes; the public view follows.
    let path = format!("/api/v1/comments/{id}");
    let (s, _, _) = call(&app, Method::DELETE, &path, Some(&editor), None, &[]).await;
    assert_eq!(s, 204);
    assert!(thread(&app, None, slug).await.is_empty());
    assert_eq!(comment_count(&app, slug).await, 0);
}
both!(
    first_comment_waits,
    first_comment_waits_until_an_editor_approves_it
);

async fn readers_change_only_their_own_comments_for_ten_minutes(backend: Backend) {
    let app = spawn_comments(backend, |a| {
        a.comments.comment_moderation = mediadesk::domain::Moderation::None;
    })
    .await;
    let slug = articles(&app).await[0].clone();
    let ada = reader(&app, "ada@example.org").await;
    let bob = reader(&app, "bob@example.org").await;
    let (s, b) = post(&app, Some(&ada), &slug, json!({ "body": "Original." })).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["data"]["status"], "approved");
    let id = b["data"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/comments/{id}");

    // Another reader cannot change or delete it.
    let before = rows(&app).await;
    let (s, _, b) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&bob),
        Some(&json!({ "body": "Mine now." })),
        &[],
    )
    .await;
    assert_eq!(s, 403, "{b}");
    let (s, _, _) = call(&app, Method::DELETE, &path, Some(&bob), None, &[]).await;
    assert_eq!(s, 403);
    // Nor see it among their own.
    let (s, _, theirs) = call(&app, Method::GET, "/api/v1/comments", Some(&bob), None, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(theirs["data"], json!([]), "{theirs}");
    let g = gql_as(
        &app,
        Some(&bob),
        "mutation($id: Int!) { deleteComment(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(g["errors"][0]["extensions"]["code"], "FORBIDDEN", "{g}");
    assert_eq!(rows(&app).await, before);

    // Its author changes it within the window.
    let (s, _, b) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&ada),
        Some(&json!({ "body": "Edited." })),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["body"], "Edited.");
    assert!(b["data"]["edited_at"].is_string());
    assert_eq!(thread(&app, None, &slug).await[0]["body"], "Edited.");

    // Past ten minutes: refused with a code of its own.
    let eleven =
        (chrono::Utc::now() - chrono::Duration::minutes(11)).format("%Y-%m-%d %H:%M:%S%.6f+00:00");
    sql(
        &app,
        &format!("UPDATE comments SET created_at = '{eleven}' WHERE id = {id}"),
    )
    .await;
    let before = rows(&app).await;
    let (s, _, b) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&ada),
        Some(&json!({ "body": "Too late." })),
        &[],
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["code"], "EDIT_WINDOW_CLOSED", "{b}");
    let g = gql_as(
        &app,
        Some(&ada),
        "mutation($id: Int!) { updateComment(id: $id, body: \"Late\") { body } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        g["errors"][0]["extensions"]["code"], "EDIT_WINDOW_CLOSED",
        "{g}"
    );
    assert_eq!(rows(&app).await, before);

    // One level of replies.
    let (s, b) = post(
        &app,
        Some(&bob),
        &slug,
        json!({ "body": "A reply.", "parent_id": id }),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["data"]["parent_id"], id);
    let reply = b["data"]["id"].as_i64().unwrap();
    let before = rows(&app).await;
    let (s, b) = post(
        &app,
        Some(&ada),
        &slug,
        json!({ "body": "Reply to a reply.", "parent_id": reply }),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["errors"][0]["field"], "parent_id", "{b}");
    assert_eq!(rows(&app).await, before);

    // The reader's data export holds their comments.
    let (s, _, x) = call(
        &app,
        Method::GET,
        "/api/v1/readers/me/export",
        Some(&bob),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(x["data"]["comments"][0]["body"], "A reply.", "{x}");

    // A deleted reader's comments stay, by "deleted reader".
    let (s, _, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/readers/me",
        Some(&bob),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 204);
    let t = thread(&app, None, &slug).await;
    assert_eq!(t[1]["author"], "deleted reader", "{t:?}");

    // Its author deletes it any time (with its replies).
    let (s, _, _) = call(&app, Method::DELETE, &path, Some(&ada), None, &[]).await;
    assert_eq!(s, 204);
    assert!(rows(&app).await.is_empty());
}
both!(
    own_comments_only,
    readers_change_only_their_own_comments_for_ten_minutes
);

async fn links_duplicates_and_budgets_are_limited(backend: Backend) {
    let app = spawn_comments(backend, |a| {
        // Refused posts spend the budget too (all but a malformed body).
        a.comments.comment_burst = 8;
    })
    .await;
    let slug = articles(&app).await[0].clone();
    let ada = reader(&app, "ada@example.org").await;
    let (s, b) = post(
        &app,
        Some(&ada),
        &slug,
        json!({ "body": "Great  piece\nthanks" }),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let before = rows(&app).await;
    let refused = [
        json!({ "body": "see https://a.test, http://b.test and www.c.test" }),
        json!({ "body": "   " }),
        json!({ "body": "x".repeat(5_001) }),
        json!({ "body": "ok", "parent_id": 999_999 }),
    ];
    for body in refused {
        let (s, b) = post(&app, Some(&ada), &slug, body).await;
        assert_eq!(s, 400, "{b}");
        assert!(b["errors"][0]["field"].is_string(), "{b}");
    }
    let (s, b) = post(
        &app,
        Some(&ada),
        &slug,
        json!({ "body": "great piece THANKS" }),
    )
    .await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = post(&app, Some(&ada), "no-such-article", json!({ "body": "hi" })).await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(rows(&app).await, before);

    // Two links pass; then the reader's budget runs out.
    let (s, b) = post(
        &app,
        Some(&ada),
        &slug,
        json!({ "body": "https://a.test and https://b.test" }),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let mut refused = false;
    for n in 0..5 {
        let (s, _) = post(
            &app,
            Some(&ada),
            &slug,
            json!({ "body": format!("note {n}") }),
        )
        .await;
        if s == 429 {
            refused = true;
            break;
        }
        assert_eq!(s, 201);
    }
    assert!(refused, "the per-reader budget holds");
}
both!(limits, links_duplicates_and_budgets_are_limited);

async fn graphql_pages_an_articles_comments(backend: Backend) {
    let app = spawn_comments(backend, |a| {
        a.comments.comment_moderation = mediadesk::domain::Moderation::None;
    })
    .await;
    let slug = articles(&app).await[0].clone();
    let ada = reader(&app, "ada@example.org").await;
    let post_q = "mutation($a: String!, $b: String!) { postComment(article: $a, body: $b) { id status author } }";
    let g = gql_as(&app, None, post_q, json!({ "a": slug, "b": "anonymous" })).await;
    assert_eq!(
        g["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{g}"
    );
    assert!(rows(&app).await.is_empty());
    for n in 1..=3 {
        let g = gql_as(
            &app,
            Some(&ada),
            post_q,
            json!({ "a": slug, "b": format!("Comment {n}") }),
        )
        .await;
        assert_eq!(g["data"]["postComment"]["status"], "APPROVED", "{g}");
    }
    let page = "query($s: String, $after: String) { article(slug: $s) { commentCount comments(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { body author } } } } }";
    let one = app.gql_ok(page, json!({ "s": slug })).await;
    let c = &one["article"]["comments"];
    assert_eq!(one["article"]["commentCount"], 3);
    assert_eq!(c["totalCount"], 3);
    assert_eq!(c["edges"][0]["node"]["body"], "Comment 1");
    assert_eq!(c["edges"][1]["node"]["body"], "Comment 2");
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    let two = app
        .gql_ok(
            page,
            json!({ "s": slug, "after": c["pageInfo"]["endCursor"] }),
        )
        .await;
    let c = &two["article"]["comments"];
    assert_eq!(c["edges"].as_array().unwrap().len(), 1);
    assert_eq!(c["edges"][0]["node"]["body"], "Comment 3");
    assert_eq!(c["pageInfo"]["hasNextPage"], false);

    // The editors' queue over GraphQL.
    let editor = token_for(&app, "editor").await;
    let q = gql_as(
        &app,
        Some(&editor),
        "{ comments(status: APPROVED, first: 10) { totalCount nodes { body } } }",
        json!({}),
    )
    .await;
    assert_eq!(q["data"]["comments"]["totalCount"], 3, "{q}");
}
both!(graphql_connection, graphql_pages_an_articles_comments);

/// Under `--comment-moderation all`, an approved comment whose author changes
/// its text waits for moderation again: hidden and uncounted until an editor
/// approves the new text.
async fn an_edited_approved_comment_waits_again_when_every_comment_is_moderated(backend: Backend) {
    let app = spawn_comments(backend, |a| {
        a.comments.comment_moderation = mediadesk::domain::Moderation::All;
    })
    .await;
    let editor = token_for(&app, "editor").await;
    let slug = articles(&app).await[0].clone();
    let ada = reader(&app, "ada@example.org").await;
    let (s, b) = post(&app, Some(&ada), &slug, json!({ "body": "Fair point." })).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["data"]["status"], "pending");
    let id = b["data"]["id"].as_i64().unwrap();
    let approve = format!("/api/v1/comments/{id}/approve");
    let (s, _, b) = call(&app, Method::POST, &approve, Some(&editor), None, &[]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(comment_count(&app, &slug).await, 1);

    let path = format!("/api/v1/comments/{id}");
    let (s, _, b) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&ada),
        Some(&json!({ "body": "Buy cheap pills at example.com" })),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["status"], "pending");
    assert!(thread(&app, None, &slug).await.is_empty());
    assert_eq!(comment_count(&app, &slug).await, 0);

    let (s, _, b) = call(&app, Method::POST, &approve, Some(&editor), None, &[]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        thread(&app, None, &slug).await[0]["body"],
        "Buy cheap pills at example.com"
    );
}
both!(
    edited_comments_are_moderated_again,
    an_edited_approved_comment_waits_again_when_every_comment_is_moderated
);

/// The reader frontend's origin (that of `--reader-link-base`).
const FRONTEND: &str = "https://news.example.org";
/// The newsletter pages' origin (that of `--newsletter-url`).
const LETTERS: &str = "https://letters.example.org";

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn the_reader_frontend_calls_the_api_from_its_own_origin(backend: Backend) {
    let app = spawn_comments(backend, |a| {
        a.reader_link_base = Some(format!("{FRONTEND}/sign-in"));
        a.newsletter_url = Some(format!("{LETTERS}/newsletters"));
    })
    .await;
    let slug = articles(&app).await[0].clone();
    let thread_path = format!("/api/v1/articles/{slug}/comments");
    let token = "authorization,content-type,idempotency-key";
    let announced = [
        (FRONTEND, "/api/v1/readers/sign-in", "POST", "content-type"),
        (FRONTEND, "/api/v1/readers/session", "POST", "content-type"),
        (FRONTEND, thread_path.as_str(), "POST", token),
        (FRONTEND, "/api/v1/readers/me", "GET", "authorization"),
        (FRONTEND, "/api/v1/readers/me", "PATCH", token),
        (FRONTEND, "/api/v1/readers/me", "DELETE", "authorization"),
        (FRONTEND, "/api/v1/comments/1", "PATCH", token),
        (FRONTEND, "/api/v1/comments/1", "DELETE", "authorization"),
        (FRONTEND, "/graphql", "POST", token),
        (
            LETTERS,
            "/api/v1/newsletters/weekly/subscriptions",
            "POST",
            "content-type",
        ),
        (
            LETTERS,
            "/api/v1/newsletters/confirm",
            "POST",
            "content-type",
        ),
    ];
    // The frontend's preflights pass, naming its origin, the method and headers.
    for (origin, path, method, headers) in announced {
        let h = preflight(&app, path, origin, method, headers).await;
        assert_eq!(
            header(&h, "access-control-allow-origin"),
            origin,
            "{method} {path}: {h:?}"
        );
        assert!(
            header(&h, "access-control-allow-methods").contains(method),
            "{h:?}"
        );
        let allowed = header(&h, "access-control-allow-headers").to_lowercase();
        for wanted in headers.split(',') {
            assert!(
                allowed.contains(wanted),
                "{method} {path}: {wanted} in {allowed}"
            );
        }
    }
    // Another origin's pages may not send a token or write.
    for (_, path, method, headers) in announced {
        let h = preflight(&app, path, "https://elsewhere.example", method, headers).await;
        assert!(
            h.get("access-control-allow-origin").is_none(),
            "{method} {path}: {h:?}"
        );
    }

    // The actual requests, as the browser sends them after the preflight.
    let from = |o: &'static str| [("origin", o)];
    let (s, h, _) = call(
        &app,
        Method::POST,
        "/api/v1/readers/sign-in",
        None,
        Some(&json!({ "email": "ada@example.org" })),
        &from(FRONTEND),
    )
    .await;
    assert_eq!(s, 202);
    assert_eq!(header(&h, "access-control-allow-origin"), FRONTEND);
    let ada = reader(&app, "ada@example.org").await;
    let (s, h, me) = call(
        &app,
        Method::GET,
        "/api/v1/readers/me",
        Some(&ada),
        None,
        &from(FRONTEND),
    )
    .await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(header(&h, "access-control-allow-origin"), FRONTEND);
    let (s, h, b) = call(
        &app,
        Method::POST,
        &thread_path,
        Some(&ada),
        Some(&json!({ "body": "From the frontend." })),
        &from(FRONTEND),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(header(&h, "access-control-allow-origin"), FRONTEND);
    let exposed = header(&h, "access-control-expose-headers").to_lowercase();
    assert!(
        exposed.contains("idempotent-replayed") && exposed.contains("retry-after"),
        "{exposed}"
    );
    // Sent from another origin's page the answer is not for it to read.
    let (s, h, _) = call(
        &app,
        Method::GET,
        "/api/v1/readers/me",
        Some(&ada),
        None,
        &from("https://elsewhere.example"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(h.get("access-control-allow-origin").is_none(), "{h:?}");
    // Anyone may still read the public thread.
    let (s, h, _) = call(
        &app,
        Method::GET,
        &thread_path,
        None,
        None,
        &from("https://elsewhere.example"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        "https://elsewhere.example"
    );
}
both!(
    reader_frontend_cors,
    the_reader_frontend_calls_the_api_from_its_own_origin
);

/// `(status, Idempotent-Replayed, body)` of a call with `Idempotency-Key: key`.
async fn keyed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: &str,
) -> (u16, bool, Value) {
    let (s, h, b) = call(
        app,
        method,
        path,
        Some(token),
        body,
        &[("idempotency-key", key)],
    )
    .await;
    (
        s,
        h.get("idempotent-replayed").is_some_and(|v| v == "true"),
        b,
    )
}

async fn audited(app: &TestApp, admin: &str, action: &str) -> usize {
    audit_log(app, admin)
        .await
        .iter()
        .filter(|e| e["entity"] == "comment" && e["action"] == action)
        .count()
}

/// Sends one request twice with one `Idempotency-Key`: the first runs, the
/// second is its answer replayed (same status and body). The first answer.
async fn twice(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: &str,
) -> (u16, Value) {
    let (s1, r1, b1) = keyed(app, method.clone(), path, token, body, key).await;
    assert!(!r1, "{method} {path}: {b1}");
    let (s2, r2, b2) = keyed(app, method.clone(), path, token, body, key).await;
    assert_eq!((s2, r2, &b2), (s1, true, &b1), "{method} {path}");
    (s1, b1)
}

async fn reader_and_comment_writes_honour_idempotency_keys(backend: Backend) {
    let app = spawn_comments(backend, |_| {}).await;
    let slug = articles(&app).await[0].clone();
    let ada = reader(&app, "ada@example.org").await;
    let bea = reader(&app, "bea@example.org").await;
    let editor = token_for(&app, "editor").await;
    let admin = token_for(&app, "admin").await;
    let thread_path = format!("/api/v1/articles/{slug}/comments");
    let first = json!({ "body": "Posted once, however often it is sent." });

    // The same comment sent twice with one key: one row, the first answer again.
    let (s, b) = twice(&app, Method::POST, &thread_path, &ada, Some(&first), "c-1").await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(rows(&app).await.len(), 1);
    let id = b["data"]["id"].as_i64().unwrap();
    // The same key with another body is refused; nothing is written.
    let before = rows(&app).await;
    let other = json!({ "body": "Something else." });
    let (s, replayed, b) = keyed(&app, Method::POST, &thread_path, &ada, Some(&other), "c-1").await;
    assert_eq!((s, replayed), (422, false), "{b}");
    assert_eq!(b["errors"][0]["field"], "Idempotency-Key", "{b}");
    assert_eq!(rows(&app).await, before);
    // Keys are each account's own: another reader's "c-1" is a new request.
    let (s, replayed, b) = keyed(&app, Method::POST, &thread_path, &bea, Some(&first), "c-1").await;
    assert_eq!((s, replayed), (201, false), "{b}");
    assert_eq!(rows(&app).await.len(), 2);

    // The author's change, twice with one key: one change.
    let path = format!("/api/v1/comments/{id}");
    let edit = json!({ "body": "Posted once, and changed once." });
    let (s, b) = twice(&app, Method::PATCH, &path, &ada, Some(&edit), "e-1").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(audited(&app, &admin, "update").await, 1);

    // An editor's decision, twice with one key: decided and audited once.
    let approve = format!("/api/v1/comments/{id}/approve");
    let (s, b) = twice(&app, Method::POST, &approve, &editor, None, "a-1").await;
    assert_eq!((s, &b["data"]["status"]), (200, &json!("approved")), "{b}");
    assert_eq!(audited(&app, &admin, "approve").await, 1);
    // The same key on another decision is another request: 422, nothing changes.
    let reject = format!("/api/v1/comments/{id}/reject");
    let before = rows(&app).await;
    let (s, _, b) = keyed(&app, Method::POST, &reject, &editor, None, "a-1").await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(rows(&app).await, before);

    // The reader's profile, twice with one key.
    let name = json!({ "display_name": "Ada L." });
    let (s, b) = twice(
        &app,
        Method::PATCH,
        "/api/v1/readers/me",
        &ada,
        Some(&name),
        "p-1",
    )
    .await;
    assert_eq!(
        (s, &b["data"]["display_name"]),
        (200, &json!("Ada L.")),
        "{b}"
    );

    // GraphQL: a reader's postComment with a key runs once too.
    let mutation = json!({
        "query": "mutation($s: String!) { postComment(article: $s, body: \"Over GraphQL, once.\") { id status } }",
        "variables": { "s": slug },
    });
    let (s, g) = twice(&app, Method::POST, "/graphql", &ada, Some(&mutation), "g-1").await;
    assert_eq!(s, 200);
    assert!(g["data"]["postComment"]["id"].is_i64(), "{g}");
    assert_eq!(rows(&app).await.len(), 3);

    // Deleting a comment, twice with one key: 204, then the same 204 again.
    let (s, _) = twice(&app, Method::DELETE, &path, &ada, None, "d-1").await;
    assert_eq!(s, 204);
    assert_eq!(rows(&app).await.len(), 2);

    // Deleting the account erases the answers kept for its keys (they hold
    // its address, name and comments).
    let kept = || async {
        let q = "SELECT COUNT(*) FROM idempotency_keys WHERE actor LIKE 'reader:%'";
        let n: i64 = sql(&app, q).await[0].try_get_by_index(0).unwrap();
        n
    };
    assert_eq!(kept().await, 6);
    let (s, _, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/readers/me",
        Some(&ada),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(kept().await, 1, "bea's key stays");
}
both!(
    reader_and_comment_idempotency,
    reader_and_comment_writes_honour_idempotency_keys
);
