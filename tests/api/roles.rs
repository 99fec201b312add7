//! Every GraphQL mutation with its role matrix: the public is refused as
//! unauthenticated, a signed-in role below the mutation's is refused (as
//! forbidden, or as not found when it may not even see the target), and the
//! refusal changes nothing; each allowed role succeeds. The list of mutations is
//! held to the served schema, so a new mutation without a case fails here.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, gql_as, spawn_tuned, token_for};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Role {
    Contributor,
    Editor,
    Admin,
}

/// One mutation: the least role that may run it and its document (variables
/// come from [`setup`]).
struct Case {
    name: &'static str,
    least: Role,
    doc: &'static str,
}

/// The mutations of a reader's own account (sign-in, session, profile):
/// open to anyone or to the reader, refused nothing by role; covered by
/// `tests/api/readers.rs`.
const READER_MUTATIONS: &[&str] = &[
    "requestReaderSignIn",
    "signInReader",
    "refreshReaderSession",
    "updateMe",
    "deleteMe",
    // The start URL of a social sign-in (`tests/api/oidc.rs`).
    "startReaderOidc",
];

/// Reader comments and their moderation: they act on a reader's comment,
/// so `tests/api/comments.rs` covers who may call them (the public 401,
/// staff cannot post, readers and contributors cannot moderate).
const COMMENT_MUTATIONS: &[&str] = &[
    "postComment",
    "updateComment",
    "deleteComment",
    "approveComment",
    "rejectComment",
    "markCommentSpam",
];

const CASES: &[Case] = &[
    Case {
        name: "recordMention",
        least: Role::Contributor,
        doc: "mutation($input: RecordMentionInput!) { recordMention(input: $input) { created article { slug } } }",
    },
    Case {
        name: "createArticle",
        least: Role::Contributor,
        doc: "mutation($input: CreateArticleInput!) { createArticle(input: $input) { slug status } }",
    },
    Case {
        name: "updateArticle",
        least: Role::Editor,
        doc: "mutation($input: UpdateArticleInput!) { updateArticle(input: $input) { slug version } }",
    },
    Case {
        name: "publishArticle",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { publishArticle(slug: $slug, expectedVersion: $v) { status } }",
    },
    Case {
        name: "unpublishArticle",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { unpublishArticle(slug: $slug, expectedVersion: $v) { status } }",
    },
    Case {
        name: "deleteArticle",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { deleteArticle(slug: $slug, expectedVersion: $v) }",
    },
    Case {
        name: "createExpert",
        least: Role::Editor,
        doc: "mutation($input: CreateExpertInput!) { createExpert(input: $input) { slug } }",
    },
    Case {
        name: "updateExpert",
        least: Role::Editor,
        doc: "mutation($input: UpdateExpertInput!) { updateExpert(input: $input) { version } }",
    },
    Case {
        name: "deleteExpert",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { deleteExpert(slug: $slug, expectedVersion: $v) }",
    },
    Case {
        name: "createOutlet",
        least: Role::Editor,
        doc: "mutation($input: CreateOutletInput!) { createOutlet(input: $input) { slug } }",
    },
    Case {
        name: "updateOutlet",
        least: Role::Editor,
        doc: "mutation($input: UpdateOutletInput!) { updateOutlet(input: $input) { version } }",
    },
    Case {
        name: "deleteOutlet",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { deleteOutlet(slug: $slug, expectedVersion: $v) }",
    },
    Case {
        name: "createTopic",
        least: Role::Editor,
        doc: "mutation($input: CreateTopicInput!) { createTopic(input: $input) { slug } }",
    },
    Case {
        name: "updateTopic",
        least: Role::Editor,
        doc: "mutation($input: UpdateTopicInput!) { updateTopic(input: $input) { version } }",
    },
    Case {
        name: "deleteTopic",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { deleteTopic(slug: $slug, expectedVersion: $v) }",
    },
    Case {
        name: "createEvent",
        least: Role::Editor,
        doc: "mutation($input: CreateEventInput!) { createEvent(input: $input) { slug } }",
    },
    Case {
        name: "updateEvent",
        least: Role::Editor,
        doc: "mutation($input: UpdateEventInput!) { updateEvent(input: $input) { version } }",
    },
    Case {
        name: "publishEvent",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { publishEvent(slug: $slug, expectedVersion: $v) { status } }",
    },
    Case {
        name: "unpublishEvent",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { unpublishEvent(slug: $slug, expectedVersion: $v) { status } }",
    },
    Case {
        name: "deleteEvent",
        least: Role::Editor,
        doc: "mutation($slug: String!, $v: Int!) { deleteEvent(slug: $slug, expectedVersion: $v) }",
    },
    Case {
        name: "createUser",
        least: Role::Admin,
        doc: "mutation($input: CreateUserInput!) { createUser(input: $input) { id role } }",
    },
    Case {
        name: "updateUser",
        least: Role::Admin,
        doc: "mutation($input: UpdateUserInput!) { updateUser(input: $input) { id role } }",
    },
    Case {
        name: "createApiKey",
        least: Role::Admin,
        doc: "mutation($name: String!) { createApiKey(name: $name, role: \"editor\") { apiKey { id } } }",
    },
    Case {
        name: "revokeApiKey",
        least: Role::Admin,
        doc: "mutation($id: Int!) { revokeApiKey(id: $id) { revokedAt } }",
    },
    Case {
        name: "createWebhookEndpoint",
        least: Role::Admin,
        doc: "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }",
    },
    Case {
        name: "updateWebhookEndpoint",
        least: Role::Admin,
        doc: "mutation($id: Int!) { updateWebhookEndpoint(id: $id, input: { active: false }) { active } }",
    },
    Case {
        name: "deleteWebhookEndpoint",
        least: Role::Admin,
        doc: "mutation($id: Int!) { deleteWebhookEndpoint(id: $id) }",
    },
    Case {
        name: "rotateWebhookSecret",
        least: Role::Admin,
        doc: "mutation($id: Int!) { rotateWebhookSecret(id: $id) { endpoint { version } } }",
    },
    Case {
        name: "redeliverWebhook",
        least: Role::Admin,
        doc: "mutation($endpoint: Int!, $delivery: Int!) { redeliverWebhook(endpoint: $endpoint, delivery: $delivery) { state } }",
    },
    Case {
        name: "updateSite",
        least: Role::Admin,
        doc: "mutation($input: UpdateSiteInput!) { updateSite(input: $input) { version } }",
    },
    // Newsletters (issue 14 item 5).
    Case {
        name: "createNewsletter",
        least: Role::Admin,
        doc: "mutation($input: CreateNewsletterInput!) { createNewsletter(input: $input) { slug } }",
    },
    Case {
        name: "updateNewsletter",
        least: Role::Admin,
        doc: "mutation($slug: String!) { updateNewsletter(slug: $slug, input: { name: \"Renamed\" }) { name } }",
    },
    Case {
        name: "deleteNewsletter",
        least: Role::Admin,
        doc: "mutation($slug: String!) { deleteNewsletter(slug: $slug) }",
    },
    Case {
        name: "sendNewsletter",
        least: Role::Admin,
        doc: "mutation($slug: String!) { sendNewsletter(slug: $slug) { id recipients } }",
    },
];

// Newsletters (issue 14 item 5).
/// Mutations anyone may run (no role matrix): `subscribeToNewsletter`, whose
/// answers and limits `newsletters.rs` tests.
const PUBLIC: &[&str] = &["subscribeToNewsletter"];

#[test]
fn every_mutation_of_the_schema_has_a_role_case() {
    let sdl = mediadesk::graphql::sdl();
    let block = sdl
        .split("type Mutation {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("a Mutation type");
    let mut served: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter_map(|l| l.split_once('(').map(|(name, _)| name))
        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric()))
        // A reader's own account, no role's power: tests/api/readers.rs.
        .filter(|name| !READER_MUTATIONS.contains(name))
        .filter(|name| !COMMENT_MUTATIONS.contains(name))
        .collect();
    served.sort_unstable();
    let mut cased: Vec<&str> = CASES
        .iter()
        .map(|c| c.name)
        .chain(PUBLIC.iter().copied())
        .collect();
    cased.sort_unstable();
    assert_eq!(served, cased);
}

/// Everything an administrator can read (content, drafts, audit log, users
/// and keys): equal snapshots mean a refused mutation wrote nothing.
async fn snapshot(app: &TestApp, c: &Callers) -> Value {
    let mut all = crate::helpers::snapshot(app, &c.admin).await;
    for path in [
        "/api/v1/users",
        "/api/v1/keys",
        "/api/v1/webhooks",
        "/api/v1/newsletters",
    ] {
        let res = app
            .client
            .get(format!("{}{path}", app.addr))
            .bearer_auth(&c.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let mut body: Value = res.json().await.unwrap();
        all[path] = body["data"].take();
    }
    all
}

struct Callers {
    contributor: String,
    editor: String,
    admin: String,
}

/// Runs `doc` as the editor (setting up a target) and returns its data.
async fn as_editor(app: &TestApp, c: &Callers, doc: &str, variables: Value) -> Value {
    let body = gql_as(app, Some(&c.editor), doc, variables).await;
    assert!(body.get("errors").is_none(), "setup failed: {body}");
    body["data"].clone()
}

/// A REST call as an administrator (accounts are REST or CLI first).
async fn rest_admin(app: &TestApp, c: &Callers, path: &str, body: Value) -> Value {
    let res = app
        .client
        .post(format!("{}{path}", app.addr))
        .bearer_auth(&c.admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "setup {path}: {}", res.status());
    res.json().await.unwrap()
}

/// An article made by the editor with `status`, as `{slug, v}` variables.
async fn article(app: &TestApp, c: &Callers, n: &str, status: &str) -> Value {
    let d = as_editor(
        app,
        c,
        "mutation($input: CreateArticleInput!) { createArticle(input: $input) { slug version } }",
        json!({ "input": {
            "title": format!("Role case {n}"), "outlet": "CBC", "experts": ["Rob Huebert"],
            "publishedAt": "2026-01-02", "language": "en", "status": status } }),
    )
    .await;
    json!({ "slug": d["createArticle"]["slug"], "v": d["createArticle"]["version"] })
}

/// An event made by the editor with `status`, as `{slug, v}` variables.
async fn event(app: &TestApp, c: &Callers, n: &str, status: &str) -> Value {
    let d = as_editor(
        app,
        c,
        "mutation($input: CreateEventInput!) { createEvent(input: $input) { slug version } }",
        json!({ "input": {
            "title": format!("Role event {n}"), "kind": "webinar",
            "startsAt": "2027-05-01T15:00:00Z", "status": status } }),
    )
    .await;
    json!({ "slug": d["createEvent"]["slug"], "v": d["createEvent"]["version"] })
}

/// A fresh target for one run of `case` and the variables that name it; `n`
/// makes every name unique.
async fn setup(app: &TestApp, c: &Callers, case: &str, n: &str) -> Value {
    let named = |kind: &str| format!("Role {kind} {n}");
    let slug_v =
        |d: &Value, field: &str| json!({ "slug": d[field]["slug"], "v": d[field]["version"] });
    match case {
        "recordMention" => json!({ "input": {
            "title": format!("Mention {n}"), "url": format!("https://example.org/role/{n}"),
            "outlet": "CBC", "experts": ["Robert Huebert"], "publishedAt": "2026-01-03",
            "language": "en" } }),
        "createArticle" => json!({ "input": {
            "title": format!("Article {n}"), "outlet": "CBC", "experts": ["Rob Huebert"],
            "publishedAt": "2026-01-03", "language": "en" } }),
        "updateArticle" => {
            let a = article(app, c, n, "published").await;
            json!({ "input": { "slug": a["slug"], "expectedVersion": a["v"], "title": format!("Changed {n}") } })
        }
        "publishArticle" => article(app, c, n, "draft").await,
        "unpublishArticle" | "deleteArticle" => article(app, c, n, "published").await,
        "createExpert" => json!({ "input": { "name": named("expert") } }),
        "createOutlet" => json!({ "input": { "name": named("outlet") } }),
        "createTopic" => json!({ "input": { "name": named("topic") } }),
        "updateExpert" | "deleteExpert" => {
            let d = as_editor(
                app,
                c,
                "mutation($input: CreateExpertInput!) { createExpert(input: $input) { slug version } }",
                json!({ "input": { "name": named("expert") } }),
            )
            .await;
            let t = slug_v(&d, "createExpert");
            if case == "deleteExpert" {
                t
            } else {
                json!({ "input": { "slug": t["slug"], "expectedVersion": t["v"], "title": "Fellow" } })
            }
        }
        "updateOutlet" | "deleteOutlet" => {
            let d = as_editor(
                app,
                c,
                "mutation($input: CreateOutletInput!) { createOutlet(input: $input) { slug version } }",
                json!({ "input": { "name": named("outlet") } }),
            )
            .await;
            let t = slug_v(&d, "createOutlet");
            if case == "deleteOutlet" {
                t
            } else {
                json!({ "input": { "slug": t["slug"], "expectedVersion": t["v"], "kind": "radio" } })
            }
        }
        "updateTopic" | "deleteTopic" => {
            let d = as_editor(
                app,
                c,
                "mutation($input: CreateTopicInput!) { createTopic(input: $input) { slug version } }",
                json!({ "input": { "name": named("topic") } }),
            )
            .await;
            let t = slug_v(&d, "createTopic");
            if case == "deleteTopic" {
                t
            } else {
                json!({ "input": { "slug": t["slug"], "expectedVersion": t["v"], "name": format!("Renamed {n}") } })
            }
        }
        "createEvent" => json!({ "input": {
            "title": named("event"), "kind": "briefing", "startsAt": "2027-06-01T15:00:00Z" } }),
        "updateEvent" => {
            let e = event(app, c, n, "published").await;
            json!({ "input": { "slug": e["slug"], "expectedVersion": e["v"], "city": "Ottawa" } })
        }
        "publishEvent" => event(app, c, n, "draft").await,
        "unpublishEvent" | "deleteEvent" => event(app, c, n, "published").await,
        "createUser" => json!({ "input": {
            "email": format!("user-{n}@example.org"), "password": "a long enough password", "role": "editor" } }),
        "updateUser" => {
            let u = rest_admin(
                app,
                c,
                "/api/v1/users",
                json!({ "email": format!("change-{n}@example.org"), "password": "a long enough password", "role": "contributor" }),
            )
            .await;
            json!({ "input": { "id": u["data"]["id"], "role": "editor" } })
        }
        "createApiKey" => json!({ "name": named("key") }),
        "revokeApiKey" => {
            let k = rest_admin(
                app,
                c,
                "/api/v1/keys",
                json!({ "name": named("key"), "role": "editor" }),
            )
            .await;
            json!({ "id": k["data"]["id"] })
        }
        "createWebhookEndpoint" => {
            json!({ "input": { "url": format!("http://127.0.0.1:9/role-{n}") } })
        }
        "updateWebhookEndpoint" | "deleteWebhookEndpoint" | "rotateWebhookSecret" => {
            let w = rest_admin(
                app,
                c,
                "/api/v1/webhooks",
                json!({ "url": format!("http://127.0.0.1:9/role-{n}") }),
            )
            .await;
            json!({ "id": w["data"]["id"] })
        }
        "redeliverWebhook" => {
            // A delivery: an endpoint (nobody listens there) and a topic for it.
            let w = rest_admin(
                app,
                c,
                "/api/v1/webhooks",
                json!({ "url": format!("http://127.0.0.1:9/role-{n}"), "events": ["topic.created"] }),
            )
            .await;
            let id = w["data"]["id"].as_i64().unwrap();
            as_editor(
                app,
                c,
                "mutation($input: CreateTopicInput!) { createTopic(input: $input) { slug } }",
                json!({ "input": { "name": named("hook topic") } }),
            )
            .await;
            let started = std::time::Instant::now();
            loop {
                let res: Value = app
                    .client
                    .get(format!("{}/api/v1/webhooks/{id}/deliveries", app.addr))
                    .bearer_auth(&c.admin)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if let Some(d) = res["data"][0]["id"].as_i64() {
                    break json!({ "endpoint": id, "delivery": d });
                }
                assert!(started.elapsed().as_secs() < 30, "no delivery dispatched");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        "updateSite" => {
            let s = gql_as(app, Some(&c.admin), "{ site { version } }", json!({})).await;
            json!({ "input": { "expectedVersion": s["data"]["site"]["version"], "phone": format!("613-555-{n}") } })
        }
        // Newsletters (issue 14 item 5): a fresh list each run (its first
        // issue covers the last 7 days, so it has something to send).
        "createNewsletter" => json!({ "input": {
            "slug": format!("role-list-{n}"), "name": named("list"), "language": "en" } }),
        "updateNewsletter" | "deleteNewsletter" | "sendNewsletter" => {
            let l = rest_admin(
                app,
                c,
                "/api/v1/newsletters",
                json!({ "slug": format!("role-list-{n}"), "name": named("list"), "language": "en" }),
            )
            .await;
            json!({ "slug": l["data"]["slug"] })
        }
        other => panic!("no setup for {other}"),
    }
}

both!(
    every_mutation_refuses_the_roles_below_it_and_serves_the_others,
    role_matrix
);

async fn role_matrix(backend: Backend) {
    // Webhooks on (for `redeliverWebhook`), sent to a closed port on 127.0.0.1.
    let app = spawn_tuned(backend, |a| {
        a.no_webhooks = false;
        a.webhook_allow_cidr = vec!["127.0.0.1/32".into()];
    })
    .await;
    let c = Callers {
        contributor: token_for(&app, "contributor").await,
        editor: token_for(&app, "editor").await,
        admin: token_for(&app, "admin").await,
    };
    let mut n = 0u32;
    for case in CASES {
        for (role, token) in [
            (None, None),
            (Some(Role::Contributor), Some(c.contributor.as_str())),
            (Some(Role::Editor), Some(c.editor.as_str())),
            (Some(Role::Admin), Some(c.admin.as_str())),
        ] {
            n += 1;
            let vars = setup(&app, &c, case.name, &format!("{n:04}")).await;
            let allowed = role.is_some_and(|r| r >= case.least);
            let before = if allowed {
                Value::Null
            } else {
                snapshot(&app, &c).await
            };
            let body = gql_as(&app, token, case.doc, vars).await;
            let who = format!("{} as {role:?}", case.name);
            if allowed {
                assert!(body.get("errors").is_none(), "{who}: {body}");
                assert!(!body["data"][case.name].is_null(), "{who}: {body}");
                continue;
            }
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            match role {
                None => assert_eq!(code, "UNAUTHENTICATED", "{who}: {body}"),
                // A target the caller may not see is not found rather than forbidden.
                Some(_) => assert!(code == "FORBIDDEN" || code == "NOT_FOUND", "{who}: {body}"),
            }
            assert!(
                body["data"].is_null() || body["data"][case.name].is_null(),
                "{who}: {body}"
            );
            assert_eq!(snapshot(&app, &c).await, before, "{who} changed something");
        }
    }
}
