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

/// What the seed page's "EXPERTS IN THE MEDIA" list shows, newest first:
/// (title, bylines, experts as credited, outlet as credited, date). The demo
/// data must render it.
type SeedItem = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
);
#[rustfmt::skip]
const SEED_PAGE_ITEMS: &[SeedItem] = &[
    ("G7 Update", "Heather Hiscox", &["Andrew Rasiulis"], "CBC", "June 30, 2022"),
    ("Inside Policy: Russia’s invasion of Ukraine", "Editorial Staff", &["Rob Huebert"], "MLI", "June 30, 2022"),
    ("Canada to upgrade Latvia battlegroup to a brigade, boost number of troops", "Editorial Staff", &["David Perry"], "Kelowna Now", "June 29, 2022"),
    ("What slowdown? Canada's economy to top G7 on high oil, crop prices", "Julie Gordon and Rod Gordon", &["Kevin Birn"], "Saltwire", "June 29, 2022"),
    ("Alliance renforcée", "Céline Galipeau", &["Stefanie von Hlatky"], "Le Tele Journal", "June 29, 2022"),
    ("1.6 million public chargers needed in Canada for EV transition", "Larysa Harapyn", &["Brian Kingston"], "The Financial Post", "June 29, 2022"),
    ("Passport? What passport?", "Martin C. Barr", &["Andrew Griffith"], "Laval News", "June 29, 2022"),
    ("Oil production test looms for OPEC heavyweights Saudi Arabia, UAE", "Editorial Staff", &["Ellen Wald"], "S&P Global", "June 29, 2022"),
    ("Eric Nuttall & Amrita Sen - Oil & Energy Update", "Eric Nuttall", &["Amrita Sen"], "Nine Point Partners", "June 29, 2022"),
    ("All talk, no traction", "Maura Forest and Andy Blatchford", &["Robert Huebert"], "Politico", "June 29, 2022"),
    ("U.S. pushes for Russian oil price ceiling. Feasible?", "Matt Levin", &["Ellen Wald"], "MARKETPLACE", "June 28, 2022"),
    ("Russia Ukraine Update", "Susan Bonner", &["Andrew Rasiulis"], "CBC Radio One", "June 28, 2022"),
    ("Un sommet de l’OTAN pour tenir tête à la Russie", "Marie Vastel", &["David Perry"], "Le Devoir", "June 26, 2022"),
    ("A geopolitical alternative system of co-operation for nations", "Staff Reporter", &["Swaran Singh"], "The Zimbabwe Mail", "June 26, 2022"),
    ("Analyst says high oil prices spurs little drilling", "Lee Harding", &["Kevin Birn"], "Western Standard", "June 26, 2022"),
    ("It’s time for Canada to get serious about defence", "John Ibbitson", &["James Fergusson", "Rob Huebert"], "The Globe and Mail", "June 25, 2022"),
    ("Trudeau meets with Rwandan president, expands diplomatic mission in Kigali", "CBC Newsroom Staff", &["Colin Robertson"], "CBC Newroom", "June 24, 2022"),
    ("With New Threats Looming, Canada Commits Billions to Air Defense", "News Desk", &["Andrea Charron"], "New Express News", "June 24, 2022"),
    ("Drop in oil prices is not a quick fix for global inflation", "Editorial Staff", &["Amrita Sen"], "The National", "June 24, 2022"),
    ("Highs and Lows of the Spring Sitting", "Peter Van Dusen", &["Andrew Griffith"], "Prime Time Politics", "June 24, 2022"),
    ("Oil Incurs Second Weekly Loss As Analysts Differ On Inflation, Demand", "Ship and Bunker News Team", &["Amrita Sen"], "Ship And Bunker", "June 24, 2022"),
];

fn long_date(rfc3339: &str) -> String {
    let d = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
    d.format("%B %-d, %Y").to_string()
}

fn names(v: &Value) -> Vec<String> {
    let mut out = vec![v["name"].as_str().unwrap().to_owned()];
    out.extend(
        v["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned()),
    );
    out
}

both!(
    one_query_renders_the_whole_seed_page,
    one_query_renders_the_seed_page
);

async fn one_query_renders_the_seed_page(backend: Backend) {
    let app = spawn(backend).await;
    let d = app
        .gql_ok(
            r#"query SeedPage {
                featured: article(slug: "canadian-russian-officials-set-aside-differences-to-talk-terrorism") {
                    title authors publishedAt dateline summary
                    outlet { name } experts { name slug title affiliation }
                }
                sidebar: articles(first: 21, filter: { publishedAfter: "2022-01-01T00:00:00Z" }) {
                    nodes { title slug authors publishedAt language url
                            outlet { name aliases } experts { name aliases slug } }
                }
                events(first: 1) { nodes { title kind city region startsAt } }
                site { name en: tagline(language: EN) fr: tagline(language: FR)
                       offices { label street city region postalCode country }
                       phone web copyright charityRegistration }
            }"#,
            json!({}),
        )
        .await;
    let f = &d["featured"];
    assert_eq!(
        f["title"],
        "Canadian, Russian officials set aside differences to talk terrorism"
    );
    assert_eq!(f["authors"], json!(["Lee Berthiaume"]));
    assert_eq!(f["experts"][0]["name"], "Ferry de Kerckhove");
    assert_eq!(f["outlet"]["name"], "The Canadian Press");
    assert_eq!(
        long_date(f["publishedAt"].as_str().unwrap()),
        "June 16, 2017"
    );

    let want = SEED_PAGE_ITEMS;
    assert_eq!(want.len(), 21);
    let got = d["sidebar"]["nodes"].as_array().unwrap();
    assert_eq!(got.len(), 21);
    for (i, (item, (title, bylines, experts, outlet, date))) in got.iter().zip(want).enumerate() {
        assert_eq!(item["title"], *title, "item {i}");
        let authors: Vec<&str> = item["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(authors.join(" and "), *bylines, "item {i}");
        let ex = item["experts"].as_array().unwrap();
        assert_eq!(ex.len(), experts.len(), "item {i}");
        for (e, name) in ex.iter().zip(experts.iter()) {
            assert!(
                names(e).iter().any(|n| n == name),
                "item {i}: {name} is not {e}"
            );
        }
        assert!(
            names(&item["outlet"]).iter().any(|n| n == outlet),
            "item {i}: {outlet} is not {}",
            item["outlet"]
        );
        assert_eq!(
            long_date(item["publishedAt"].as_str().unwrap()),
            *date,
            "item {i}"
        );
    }
    assert_eq!(got[4]["language"], "FR");

    let ev = &d["events"]["nodes"][0];
    assert_eq!(ev["title"], "Annual Defence Procurement Conference");
    assert_eq!(
        long_date(ev["startsAt"].as_str().unwrap()),
        "October 25, 2022"
    );
    let s = &d["site"];
    assert_eq!(s["name"], "Canadian Global Affairs Institute");
    assert_eq!(s["en"], "Making sense of our complex world.");
    assert_eq!(s["fr"], "Déchiffrer la complexité de notre monde.");
    assert_eq!(s["offices"][0]["city"], "Calgary");
    assert_eq!(s["offices"][1]["city"], "Ottawa");
    assert_eq!(s["web"], "cgai.ca");
    assert_eq!(
        s["copyright"],
        "© 2002-2022 Canadian Global Affairs Institute"
    );
}

both!(
    text_search_is_case_and_accent_insensitive_and_ranked,
    text_search_works
);

async fn text_search_works(backend: Backend) {
    let app = spawn(backend).await;
    let q = r#"query($q: String!, $o: ArticleOrder) {
        articles(first: 50, filter: { query: $q }, orderBy: $o) { totalCount nodes { title } } }"#;
    let titles = |d: &Value| -> Vec<String> {
        d["articles"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let d = app.gql_ok(q, json!({ "q": "renforcee" })).await;
    assert_eq!(titles(&d), ["Alliance renforcée"]);
    let d = app.gql_ok(q, json!({ "q": "RENFORCÉE" })).await;
    assert_eq!(titles(&d), ["Alliance renforcée"]);

    let d = app.gql_ok(q, json!({ "q": "oil", "o": "RELEVANCE" })).await;
    let oil = titles(&d);
    assert_eq!(oil.len(), 7, "{oil:?}");
    assert!(
        oil.iter().all(|t| t.to_lowercase().contains("oil")),
        "{oil:?}"
    );
    // Expert names and aliases are searchable too.
    let d = app.gql_ok(q, json!({ "q": "robert huebert" })).await;
    assert_eq!(d["articles"]["totalCount"], 3);
    // Query syntax in user input is plain text.
    for odd in [
        "\"",
        "NEAR(",
        "oil*",
        "AND OR NOT",
        "-",
        "title:oil",
        "'; drop table articles; --",
    ] {
        let body = app.gql(q, json!({ "q": odd })).await;
        assert!(body.get("errors").is_none(), "{odd}: {body}");
    }
    // RELEVANCE without a query is refused.
    let body = app
        .gql(
            "{ articles(orderBy: RELEVANCE) { nodes { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Relevance pages do not repeat or lose items.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let d = app
            .gql_ok(
                r#"query($a: String) { articles(first: 2, after: $a, filter: { query: "oil" }, orderBy: RELEVANCE) {
                    pageInfo { hasNextPage endCursor } nodes { title } } }"#,
                json!({ "a": after }),
            )
            .await;
        seen.extend(titles(&d));
        if !d["articles"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = d["articles"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, oil);

    // Ranking: a word in the title outweighs it elsewhere, and more of it
    // outweighs less, whatever the dates (newest has the weakest match here).
    let editor = crate::helpers::token_for(&app, "editor").await;
    for (title, summary, date) in [
        ("Zinc, zinc and zinc", "A note", "2021-01-01"),
        ("Zinc exports", "A note", "2022-01-01"),
        ("Metal markets", "Zinc came up once", "2023-01-01"),
    ] {
        let res = app
            .client
            .post(format!("{}/api/v1/articles", app.addr))
            .bearer_auth(&editor)
            .json(
                &json!({ "title": title, "summary": summary, "outlet": "CBC",
                "experts": ["Ferry de Kerckhove"], "published_at": date, "language": "en",
                "status": "published" }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let ranked = ["Zinc, zinc and zinc", "Zinc exports", "Metal markets"];
    let d = app
        .gql_ok(q, json!({ "q": "zinc", "o": "RELEVANCE" }))
        .await;
    assert_eq!(titles(&d), ranked);
    let d = app.gql_ok(q, json!({ "q": "zinc" })).await;
    assert_eq!(
        titles(&d),
        ["Metal markets", "Zinc exports", "Zinc, zinc and zinc"]
    );
    let rest: Value = app
        .get("/api/v1/articles?q=zinc&order=relevance")
        .await
        .json()
        .await
        .unwrap();
    let rest_titles: Vec<&str> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(rest_titles, ranked);

    // The site-wide search puts people and outlets before articles.
    let d = app
        .gql_ok(
            r#"{ search(query: "huebert", first: 10) { totalCount nodes { __typename ... on Expert { name } ... on Article { title } } } }"#,
            json!({}),
        )
        .await;
    let nodes = d["search"]["nodes"].as_array().unwrap();
    assert_eq!(nodes[0]["__typename"], "Expert");
    assert_eq!(nodes[0]["name"], "Rob Huebert");
    assert_eq!(d["search"]["totalCount"], 4);
    assert!(nodes[1..].iter().all(|n| n["__typename"] == "Article"));
}

both!(
    abusive_queries_are_refused_with_codes_not_500s,
    abusive_queries_are_refused
);

async fn abusive_queries_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    // Depth bomb.
    let mut bomb = String::from(
        "{ articles { nodes { experts { articles { nodes { experts { articles { nodes { experts { articles { nodes { experts { articles { nodes { title } } } } } } } } } } } } } } }",
    );
    bomb.push(' ');
    let body = app.gql(&bomb, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_COMPLEX",
        "{body}"
    );
    // Complexity: connections multiply.
    let body = app
        .gql("{ articles(first: 100) { nodes { experts { articles(first: 100) { nodes { title } } } } } }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_COMPLEX",
        "{body}"
    );
    // Alias flood.
    let flood: String = (0..200)
        .map(|i| format!("a{i}: site {{ name }} "))
        .collect();
    let body = app.gql(&format!("{{ {flood} }}"), json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "TOO_COMPLEX",
        "{body}"
    );
    // A 2 MB document.
    let huge = format!("{{ site {{ name }} }} #{}", "x".repeat(2 * 1024 * 1024));
    let res = app
        .client
        .post(format!("{}/graphql", app.addr))
        .json(&json!({ "query": huge }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // A document just over the document limit but inside the body limit.
    let big = format!("{{ site {{ name }} }} #{}", "x".repeat(40 * 1024));
    let body = app.gql(&big, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT",
        "{}",
        &body.to_string()[..200]
    );
    // Batching is off.
    let res = app
        .client
        .post(format!("{}/graphql", app.addr))
        .json(&json!([{ "query": "{ site { name } }" }, { "query": "{ site { name } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Syntax errors and unknown fields are the client's.
    let body = app.gql("{ articles { nodes { nope } } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let body = app
        .gql("{ articles(first: \"x\") { nodes { title } } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    // A mutation over GET is refused.
    let res = app.get("/graphql?query=mutation%20%7B%20x%20%7D").await;
    assert_eq!(res.status(), 405);
    // The standard introspection query (what GraphiQL sends) passes the limits.
    let body = app.gql(INTROSPECTION, json!({})).await;
    assert!(
        body.get("errors").is_none(),
        "{}",
        &body.to_string()[..300.min(body.to_string().len())]
    );
}

const INTROSPECTION: &str = r#"query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

both!(
    automatic_persisted_queries_work_over_get,
    persisted_queries_work
);

async fn persisted_queries_work(backend: Backend) {
    use sha2::Digest;
    let app = spawn(backend).await;
    let query = "{ site { name } }";
    let hash = format!("{:x}", sha2::Sha256::digest(query.as_bytes()));
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let url = format!(
        "{}/graphql?extensions={}",
        app.addr,
        crate::helpers::urlencode(&ext)
    );
    let miss: Value = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        miss["errors"][0]["message"], "PersistedQueryNotFound",
        "{miss}"
    );
    let reg = app
        .client
        .post(format!("{}/graphql", app.addr))
        .json(&json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 200);
    let res = app.client.get(&url).send().await.unwrap();
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("public")
    );
    let hit: Value = res.json().await.unwrap();
    assert_eq!(
        hit["data"]["site"]["name"],
        "Canadian Global Affairs Institute"
    );
}

both!(
    a_page_of_articles_costs_the_same_sql_whatever_its_size,
    statement_count_is_constant
);

async fn statement_count_is_constant(backend: Backend) {
    let (app, counter) =
        crate::helpers::spawn_counted(crate::helpers::TestDb::new(backend).await).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.ndjson");
    crate::helpers::generate(&file, 3, 300, 5);
    let out = app.cli(&["import", file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = "query($n: Int) { articles(first: $n) { nodes { title authors outlet { name parent { name } } experts { name slug } topics { slug } } } }";
    let mut counts = Vec::new();
    for n in [10, 100] {
        counter.reset();
        let d = app.gql_ok(q, json!({ "n": n })).await;
        assert_eq!(d["articles"]["nodes"].as_array().unwrap().len(), n as usize);
        counts.push(counter.get());
    }
    eprintln!("SQL statements for 10 and 100 articles with outlet, experts, topics: {counts:?}");
    assert_eq!(counts[0], counts[1]);
    assert!(counts[0] <= 8, "{counts:?}");

    // Lists of experts and outlets with their nested fields: the same.
    let q = "query($n: Int) { experts(first: $n) { nodes { name mentionCount topics { slug } latestMention { title outlet { name } experts { slug } } } } }";
    let mut counts = Vec::new();
    for n in [5, 50] {
        counter.reset();
        let d = app.gql_ok(q, json!({ "n": n })).await;
        let nodes = d["experts"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n as usize);
        assert!(nodes.iter().any(|e| !e["latestMention"].is_null()));
        counts.push(counter.get());
    }
    eprintln!(
        "SQL statements for 5 and 50 experts with counts, topics, latest mention: {counts:?}"
    );
    assert_eq!(counts[0], counts[1]);
    let q = "query($n: Int) { outlets(first: $n) { nodes { name parent { name } children { name } } } }";
    let mut counts = Vec::new();
    for n in [5, 50] {
        counter.reset();
        let d = app.gql_ok(q, json!({ "n": n })).await;
        assert_eq!(d["outlets"]["nodes"].as_array().unwrap().len(), n as usize);
        counts.push(counter.get());
    }
    eprintln!("SQL statements for 5 and 50 outlets with parent and children: {counts:?}");
    assert_eq!(counts[0], counts[1]);
}

both!(
    cached_answers_change_with_writes_and_scheduled_publications,
    cache_is_never_stale
);

async fn cache_is_never_stale(backend: Backend) {
    let app = spawn(backend).await;
    let q = "{ articles(first: 1) { nodes { title } } }";
    let first = app.gql_ok(q, json!({})).await;
    assert_eq!(first["articles"]["nodes"][0]["title"], "G7 Update");
    // Same answer again (from the cache), and over GET with an ETag and a 304.
    assert_eq!(app.gql_ok(q, json!({})).await, first);
    let url = format!(
        "{}/graphql?query={}",
        app.addr,
        crate::helpers::urlencode(q)
    );
    let res = app.client.get(&url).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let res = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    // A write from another process (another node, the CLI) is seen within the
    // documented bound.
    let dir = tempfile::tempdir().unwrap();
    let soon = chrono::Utc::now() + chrono::Duration::seconds(4);
    let file = dir.path().join("w.ndjson");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            json!({"type": "article", "title": "Newest mention", "experts": ["David Perry"],
                   "published_at": "2026-03-01", "language": "en"}),
            json!({"type": "article", "title": "Scheduled mention", "experts": ["David Perry"],
                   "published_at": "2026-04-01", "language": "en", "publish_at": soon.to_rfc3339()}),
        ),
    )
    .unwrap();
    let out = app.cli(&["import", file.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::helpers::within_bound("the CLI's write", || async {
        let d = app.gql_ok(q, json!({})).await;
        d["articles"]["nodes"][0]["title"] == "Newest mention"
    })
    .await;
    let res = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The scheduled one appears when its time comes, with no write.
    let wait = soon - chrono::Utc::now() + chrono::Duration::milliseconds(200);
    tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
    let d = app.gql_ok(q, json!({})).await;
    assert_eq!(d["articles"]["nodes"][0]["title"], "Scheduled mention");
    let r = app
        .get("/api/v1/articles?limit=1")
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(r["data"][0]["title"], "Scheduled mention");
}
