//! GraphQL reads over the demo data: paging, filters and errors.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp, spawn};

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String) {
    articles(first: $first, after: $after, last: $last, before: $before) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { slug } } } }"#;

async fn walk_forward(app: &TestApp, size: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let d = app
            .gql_ok(PAGE, json!({ "first": size, "after": after }))
            .await;
        let c = &d["articles"];
        for e in c["edges"].as_array().unwrap() {
            seen.push(e["node"]["slug"].as_str().unwrap().to_owned());
        }
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    seen
}

both!(
    paging_forward_and_backward_visits_every_article_once,
    paging_visits_every_article_once
);

async fn paging_visits_every_article_once(backend: Backend) {
    let app = spawn(backend).await;
    let all = walk_forward(&app, 100).await;
    assert_eq!(all.len(), 22);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 22);
    for size in [1, 7] {
        assert_eq!(walk_forward(&app, size).await, all, "page size {size}");
    }
    // Backward from the end in pages of 5 gives the same order.
    let mut back: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let d = app
            .gql_ok(PAGE, json!({ "last": 5, "before": before }))
            .await;
        let c = &d["articles"];
        let page: Vec<String> = c["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["slug"].as_str().unwrap().to_owned())
            .collect();
        back.splice(0..0, page);
        if !c["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = c["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(back, all);
}

both!(filters_by_expert_outlet_language_and_date, filters_work);

async fn filters_work(backend: Backend) {
    let app = spawn(backend).await;
    let q = r#"query($f: ArticleFilter) { articles(first: 100, filter: $f) { totalCount nodes { title } } }"#;
    let titles = |d: &Value| -> Vec<String> {
        d["articles"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let d = app
        .gql_ok(q, json!({ "f": { "expert": "rob-huebert" } }))
        .await;
    assert_eq!(d["articles"]["totalCount"], 3);
    let d = app.gql_ok(q, json!({ "f": { "outlet": "cbc" } })).await;
    let t = titles(&d);
    assert!(t.contains(&"G7 Update".to_string()));
    assert!(
        t.contains(&"Russia Ukraine Update".to_string()),
        "child outlet CBC Radio One: {t:?}"
    );
    assert!(
        t.iter().any(|x| x.starts_with("Trudeau meets")),
        "child outlet CBC Newsroom: {t:?}"
    );
    assert_eq!(t.len(), 3);
    let d = app.gql_ok(q, json!({ "f": { "language": "FR" } })).await;
    assert_eq!(
        titles(&d),
        [
            "Alliance renforcée",
            "Un sommet de l’OTAN pour tenir tête à la Russie"
        ]
    );
    let d = app
        .gql_ok(
            q,
            json!({ "f": { "publishedAfter": "2022-06-28T00:00:00Z", "publishedBefore": "2022-06-29T00:00:00Z" } }),
        )
        .await;
    assert_eq!(
        titles(&d),
        [
            "U.S. pushes for Russian oil price ceiling. Feasible?",
            "Russia Ukraine Update"
        ]
    );
    let d = app
        .gql_ok(q, json!({ "f": { "expert": "nobody-at-all" } }))
        .await;
    assert_eq!(d["articles"]["totalCount"], 0);
}

both!(
    bad_paging_arguments_are_bad_user_input,
    bad_paging_is_refused
);

async fn bad_paging_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    for vars in [
        json!({ "first": 1000 }),
        json!({ "first": 0 }),
        json!({ "first": 5, "after": "garbage!!" }),
        json!({ "first": 5, "last": 5 }),
    ] {
        let body = app.gql(PAGE, vars.clone()).await;
        let err = &body["errors"][0];
        assert_eq!(
            err["extensions"]["code"], "BAD_USER_INPUT",
            "{vars}: {body}"
        );
    }
}

both!(node_round_trips_every_type, node_round_trips);

async fn node_round_trips(backend: Backend) {
    let app = spawn(backend).await;
    let d = app
        .gql_ok(
            r#"{ articles(first: 1) { nodes { id slug experts { id slug } outlet { id slug } topics { id slug } } }
                 events { nodes { id slug } } }"#,
            json!({}),
        )
        .await;
    let a = &d["articles"]["nodes"][0];
    for (id, slug) in [
        (&a["id"], &a["slug"]),
        (&a["experts"][0]["id"], &a["experts"][0]["slug"]),
        (&a["outlet"]["id"], &a["outlet"]["slug"]),
        (&a["topics"][0]["id"], &a["topics"][0]["slug"]),
        (
            &d["events"]["nodes"][0]["id"],
            &d["events"]["nodes"][0]["slug"],
        ),
    ] {
        let n = app
            .gql_ok(
                "query($id: ID!) { node(id: $id) { id ... on Article { slug } ... on Expert { slug } ... on Outlet { slug } ... on Topic { slug } ... on Event { slug } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(&n["node"]["id"], id);
        assert_eq!(&n["node"]["slug"], slug);
    }
}
