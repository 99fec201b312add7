//! `mediadesk backup` and `mediadesk restore` through the real binary: a copy
//! taken under write load holds every write acknowledged before it began, and a
//! restore puts it back only on a stopped database.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::json;

use crate::helpers::{Backend, TestDb, run_cli, spawn, token_for};

/// The expert names in an SQLite file, after checking its integrity.
async fn names_in(file: &Path) -> Vec<String> {
    let db = Database::connect(format!("sqlite://{}?mode=ro", file.display()))
        .await
        .unwrap();
    let ok = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
    assert_eq!(ok, "ok");
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name FROM experts",
        ))
        .await
        .unwrap();
    let names = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    db.close().await.unwrap();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_holds_every_write_acknowledged_before_it_began() {
    let app = Arc::new(spawn(Backend::Sqlite).await);
    let editor = token_for(&app, "editor").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (app, editor, stop) = (app.clone(), editor.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("Load Writer {w} Number {i}");
                let res = app
                    .client
                    .post(format!("{}/api/v1/experts", app.addr))
                    .bearer_auth(&editor)
                    .json(&json!({ "name": name }))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                assert!(status == 201 || status == 503, "{status}");
                if status == 201 {
                    acked.push((name, Instant::now()));
                }
                i += 1;
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let began = Instant::now();
    let (url, target) = (app.db.url.clone(), copy.clone());
    let out = tokio::task::spawn_blocking(move || {
        run_cli(&url, &["backup", target.to_str().unwrap()], None)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let mut before = Vec::new();
    let mut total = 0;
    for w in writers {
        for (name, at) in w.await.unwrap() {
            total += 1;
            if at < began {
                before.push(name);
            }
        }
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(before.len() >= 4, "too little load: {}", before.len());
    let names = names_in(&copy).await;
    for n in &before {
        assert!(
            names.contains(n),
            "{n} was acknowledged before the backup began but is missing"
        );
    }
    eprintln!(
        "backup under load: {} writes acknowledged before it began, {total} in all, {} in the copy",
        before.len(),
        names
            .iter()
            .filter(|n| n.starts_with("Load Writer"))
            .count()
    );

    // An existing file is never overwritten.
    let len = std::fs::metadata(&copy).unwrap().len();
    let out = app.cli(&["backup", copy.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), len);
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() == 1,
        "no partial files left"
    );

    // A running server's database is not restored over.
    let out = app.cli(&["restore", copy.to_str().unwrap()], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use"), "{err}");
    let res = app.get("/api/v1/experts?limit=1").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_on_a_stopped_database_round_trips_and_refuses_what_is_not_a_backup() {
    let db = TestDb::new(Backend::Sqlite).await;
    let file = db.sqlite_file.clone().unwrap();
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(run_cli(&db.url, &["seed"], None));
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("seeded.db");
    ok(run_cli(&db.url, &["backup", copy.to_str().unwrap()], None));
    let seeded = names_in(&copy).await;

    // Changes after the backup...
    let lines = dir.path().join("more.ndjson");
    std::fs::write(
        &lines,
        "{\"type\":\"expert\",\"name\":\"After The Backup\"}\n",
    )
    .unwrap();
    ok(run_cli(&db.url, &["import", lines.to_str().unwrap()], None));
    assert!(
        names_in(&file)
            .await
            .contains(&"After The Backup".to_string())
    );

    // ...are gone after the restore, and the database serves again.
    ok(run_cli(&db.url, &["restore", copy.to_str().unwrap()], None));
    // No stale write-ahead log of the old database is left beside the new one.
    for side in ["-wal", "-shm"] {
        let mut p = file.as_os_str().to_os_string();
        p.push(side);
        assert!(!Path::new(&p).exists(), "{side} left behind");
    }
    let mut restored = names_in(&file).await;
    let mut expected = seeded.clone();
    restored.sort();
    expected.sort();
    assert_eq!(restored, expected);
    let app = crate::helpers::spawn_with(db, false, None).await;
    let body: serde_json::Value = app
        .get("/api/v1/experts?limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        seeded.len().min(100)
    );

    // Not a database, or not ours: refused, nothing replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let other = dir.path().join("other.db");
    {
        let o = Database::connect(format!("sqlite://{}?mode=rwc", other.display()))
            .await
            .unwrap();
        o.execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        o.close().await.unwrap();
    }
    let stopped = TestDb::new(Backend::Sqlite).await;
    ok(run_cli(&stopped.url, &["seed"], None));
    let before = names_in(stopped.sqlite_file.as_ref().unwrap()).await;
    for bad in [&junk, &other, &dir.path().join("missing.db")] {
        let out = run_cli(&stopped.url, &["restore", bad.to_str().unwrap()], None);
        assert!(!out.status.success(), "{} was restored", bad.display());
        assert_eq!(
            names_in(stopped.sqlite_file.as_ref().unwrap()).await,
            before
        );
    }
}

#[tokio::test]
async fn backup_and_restore_on_postgresql_point_to_pg_dump_and_pg_restore() {
    let db = TestDb::new(Backend::Postgres).await;
    let out = run_cli(&db.url, &["backup", "/tmp/never-written.db"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    let out = run_cli(&db.url, &["restore", "/tmp/never-written.db"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_restore"));
    assert!(!Path::new("/tmp/never-written.db").exists());
}
