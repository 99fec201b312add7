//! The shared store (`--shared-store`) on one node: the `postgres` store keeps
//! budgets, failed-login windows and persisted queries in the database, and a
//! store that cannot be reached leaves each node with budgets of its own (never
//! a 500). Two nodes behind nginx sharing Redis: `multinode.rs`.

use serde_json::json;

use crate::helpers::Backend;

/// Spends writes without a token (each a 401, counted against the address) and
/// returns the statuses.
async fn anonymous_writes(app: &crate::helpers::TestApp, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let res = app
            .client
            .post(format!("{}/api/v1/experts", app.addr))
            .json(&json!({ "name": "Nobody" }))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    statuses
}

/// Signs in `n` times with a wrong password and returns the statuses.
async fn bad_logins(app: &crate::helpers::TestApp, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let res = app
            .client
            .post(format!("{}/api/v1/auth/token", app.addr))
            .json(&json!({ "email": "nobody@example.org", "password": "wrong password 1" }))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_keeps_write_budgets_and_persisted_queries_for_every_node() {
    use mediadesk::services::shared_store::StoreKind;
    let app = crate::helpers::spawn_tuned(Backend::Postgres, |a| {
        a.shared_store = StoreKind::Postgres;
        a.writes_per_minute = 1;
        a.write_burst = 3;
    })
    .await;
    assert_eq!(anonymous_writes(&app, 4).await, [401, 401, 401, 429]);
    let logins = bad_logins(&app, 6).await;
    // The token endpoint's writes count against the address too: its budget of
    // 3 is spent, so these are refused before any credential is looked at.
    assert!(logins.iter().all(|s| *s == 429), "{logins:?}");

    let query = "{ site { name } }";
    let hash = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(query.as_bytes()))
    };
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let reg = app
        .client
        .post(format!("{}/graphql", app.addr))
        .json(&json!({ "query": query, "extensions": ext }))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status(), 200);
    let conn = sea_orm::Database::connect(&app.db.url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT query FROM persisted_queries WHERE hash = '{hash}'"),
        ))
        .await
        .unwrap()
        .expect("the persisted query is in the database");
    assert_eq!(row.try_get::<String>("", "query").unwrap(), query);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_counts_failed_logins_for_every_node() {
    use mediadesk::services::shared_store::StoreKind;
    let app = crate::helpers::spawn_tuned(Backend::Postgres, |a| {
        a.shared_store = StoreKind::Postgres;
    })
    .await;
    let logins = bad_logins(&app, 7).await;
    assert_eq!(logins, [401, 401, 401, 401, 401, 429, 429]);
}

crate::both!(
    writes_go_on_with_each_nodes_own_budget_while_the_shared_store_is_down,
    store_down
);

async fn store_down(backend: Backend) {
    use mediadesk::services::shared_store::StoreKind;
    // Nothing listens on port 1: every step on the store fails at once.
    let app = crate::helpers::spawn_tuned(backend, |a| {
        a.shared_store = StoreKind::Redis("redis://127.0.0.1:1".into());
        a.writes_per_minute = 1;
        a.write_burst = 3;
    })
    .await;
    assert_eq!(anonymous_writes(&app, 4).await, [401, 401, 401, 429]);
    let res = app
        .client
        .post(format!("{}/graphql", app.addr))
        .json(&json!({ "query": "{ site { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "reads do not need the store");
}
