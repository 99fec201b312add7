//! The demo data made from the seed page is all there after the first start.

use serde_json::json;

use crate::both;
use crate::helpers::{Backend, spawn};

both!(
    the_demo_data_is_all_there_after_first_start,
    demo_data_is_all_there
);

async fn demo_data_is_all_there(backend: Backend) {
    let app = spawn(backend).await;

    let d = app
        .gql_ok(
            r#"{ article(slug: "canadian-russian-officials-set-aside-differences-to-talk-terrorism") {
                    title authors dateline publishedAt language summary body
                    outlet { name kind } experts { name slug } } }"#,
            json!({}),
        )
        .await;
    let a = &d["article"];
    assert_eq!(
        a["title"],
        "Canadian, Russian officials set aside differences to talk terrorism"
    );
    assert_eq!(a["authors"], json!(["Lee Berthiaume"]));
    assert_eq!(a["outlet"]["name"], "The Canadian Press");
    assert_eq!(a["outlet"]["kind"], "WIRE");
    assert_eq!(a["experts"][0]["name"], "Ferry de Kerckhove");
    assert_eq!(a["dateline"], "OTTAWA");
    assert!(a["publishedAt"].as_str().unwrap().starts_with("2017-06-16"));
    assert_eq!(a["language"], "EN");
    // Our own summary, not the article's prose; no body is stored.
    assert!(a["summary"].as_str().unwrap().len() > 40);
    assert!(a["body"].is_null());

    // One French item.
    let d = app
        .gql_ok(
            r#"{ articles(first: 100, filter: { language: FR }) { nodes { title authors language outlet { name } experts { name } } } }"#,
            json!({}),
        )
        .await;
    let fr = d["articles"]["nodes"].as_array().unwrap();
    assert_eq!(fr.len(), 2);
    let alliance = fr
        .iter()
        .find(|n| n["title"] == "Alliance renforcée")
        .expect("Alliance renforcée");
    assert_eq!(alliance["authors"], json!(["Céline Galipeau"]));
    assert_eq!(alliance["outlet"]["name"], "Le Tele Journal");
    assert_eq!(alliance["experts"][0]["name"], "Stefanie von Hlatky");

    // The alias: "Robert Huebert" on Politico is the same expert as "Rob Huebert".
    let d = app
        .gql_ok(
            r#"{ expert(slug: "rob-huebert") { name aliases mentionCount
                   articles { nodes { title outlet { name } } } } }"#,
            json!({}),
        )
        .await;
    let e = &d["expert"];
    assert_eq!(e["aliases"], json!(["Robert Huebert"]));
    assert_eq!(e["mentionCount"], 3);
    let titles: Vec<&str> = e["articles"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Inside Policy: Russia’s invasion of Ukraine",
            "All talk, no traction",
            "It’s time for Canada to get serious about defence"
        ]
    );

    // The CBC hierarchy.
    let d = app
        .gql_ok(
            r#"{ outlet(slug: "cbc-radio-one") { name kind parent { name } }
                 cbc: outlet(slug: "cbc") { children { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["outlet"]["parent"]["name"], "CBC");
    assert_eq!(d["outlet"]["kind"], "RADIO");
    let children: Vec<&str> = d["cbc"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(children.contains(&"CBC Radio One"), "{children:?}");

    // The event and the site's offices.
    let d = app
        .gql_ok(
            r#"{ events { nodes { title kind city region startsAt } }
                 site { name en: tagline fr: tagline(language: FR) phone web copyright charityRegistration
                        offices { label street city region postalCode country } } }"#,
            json!({}),
        )
        .await;
    let ev = &d["events"]["nodes"][0];
    assert_eq!(ev["title"], "Annual Defence Procurement Conference");
    assert_eq!(ev["kind"], "CONFERENCE");
    assert_eq!(ev["city"], "Ottawa");
    assert_eq!(ev["region"], "Ontario");
    assert!(ev["startsAt"].as_str().unwrap().starts_with("2022-10-25"));
    let s = &d["site"];
    assert_eq!(s["name"], "Canadian Global Affairs Institute");
    assert_eq!(s["en"], "Making sense of our complex world.");
    assert_eq!(s["fr"], "Déchiffrer la complexité de notre monde.");
    assert_eq!(s["phone"], "(613) 288-2529");
    assert_eq!(s["charityRegistration"], "87982 7913 RR0001");
    let offices = s["offices"].as_array().unwrap();
    assert_eq!(offices.len(), 2);
    assert_eq!(offices[0]["label"], "Head Office");
    assert_eq!(offices[0]["city"], "Calgary");
    assert_eq!(offices[0]["postalCode"], "T2P 3H9");
    assert_eq!(
        offices[0]["street"],
        json!(["Suite 1800, 150–9th Avenue SW"])
    );
    assert_eq!(offices[1]["label"], "Ottawa Office");
    assert_eq!(offices[1]["street"], json!(["8 York Street, 2nd Floor"]));
    assert_eq!(offices[1]["postalCode"], "K1N 5S6");

    // 22 articles: the featured one and the 21 sidebar items.
    assert_eq!(app.counts().await[0], 22);
}
