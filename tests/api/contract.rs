//! The checked-in contracts describe what is served: `schema.graphql` equals the
//! served SDL, and every path in `openapi.yaml` is routed.

use crate::both;
use crate::helpers::{Backend, spawn};

#[test]
fn schema_graphql_equals_the_served_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let file = std::fs::read_to_string(path).expect("schema.graphql");
    let served = mediadesk::graphql::sdl();
    assert!(
        file == served,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

/// The `paths` keys of openapi.yaml (two-space indented lines starting with `/`).
fn documented_paths() -> Vec<String> {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    spec.lines()
        .filter(|l| l.starts_with("  /") && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':').to_owned())
        .collect()
}

both!(every_openapi_path_is_served, openapi_paths_are_served);

async fn openapi_paths_are_served(backend: Backend) {
    let app = spawn(backend).await;
    let paths = documented_paths();
    assert!(paths.contains(&"/healthz".to_string()), "{paths:?}");
    for p in paths {
        let res = app
            .client
            .get(format!("{}{p}", app.addr))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 404, "{p} is documented but not served");
        assert!(res.status().as_u16() < 500, "{p}: {}", res.status());
    }
}
