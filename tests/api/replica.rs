//! A read replica (`--read-database-url`): the test makes a real streaming
//! standby of the local PostgreSQL cluster (`pg_basebackup -R` into a temporary
//! folder, started on a free port), points a server at it, and checks that
//! anonymous reads are served from it only while it has replayed what the content
//! stamp stands for; signed-in callers see their writes at once; a paused, stopped
//! or restarted replica never costs a 5xx nor an answer older than one given
//! before. One replica serves the whole test (a base backup takes seconds); it is
//! stopped and removed when the test ends, also on failure.
//!
//! The primary must accept replication connections from 127.0.0.1 (`.ci/run`
//! adds `host replication all 127.0.0.1/32 trust` to `pg_hba.conf`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;

use crate::helpers::{
    Backend, TestApp, TestDb, call, gql_as, names, pg_admin_url, pg_target, spawn_tuned_over,
    token_for,
};

/// A streaming standby of the test cluster in a temporary folder.
struct Replica {
    data: PathBuf,
    port: u16,
    /// Its replication slot on the primary, so that WAL it has not received
    /// yet (while stopped) is kept for it: the other tests' `DROP DATABASE`s
    /// force checkpoints that would otherwise recycle it.
    slot: String,
    bin: PathBuf,
    /// Run the PostgreSQL programs as `postgres` (they refuse to run as root).
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl Replica {
    /// Base backup of the primary (`-R`: it follows the primary), started.
    fn create(bin: PathBuf, primary_settings: &[(String, String)]) -> Self {
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().expect("tempdir");
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let target = pg_target();
        let (host, primary_port) = target.split_once(':').unwrap_or((&target, "5432"));
        drop_abandoned_slots();
        let slot = format!(
            "{SLOT_PREFIX}{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let replica = Self {
            data,
            port,
            slot,
            bin,
            as_postgres,
            _dir: dir,
        };
        // Other tests create and drop databases meanwhile, which a base backup
        // may trip over: up to three attempts.
        let mut failures = vec![];
        for _ in 0..3 {
            let backup = replica.command(&replica.bin.join("pg_basebackup"), |c| {
                c.args(["-h", host, "-p", primary_port, "-U", "postgres", "-D"])
                    .arg(&replica.data)
                    .args(["-R", "-X", "stream", "-c", "fast", "-C", "-S"])
                    .arg(&replica.slot);
            });
            if backup.status.success() {
                break;
            }
            failures.push(String::from_utf8_lossy(&backup.stderr).into_owned());
            eprintln!("pg_basebackup failed: {}", failures.last().unwrap());
            let _ = std::fs::remove_dir_all(&replica.data);
            psql(&format!(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                 WHERE slot_name = '{}'",
                replica.slot
            ));
        }
        assert!(
            failures.len() < 3,
            "pg_basebackup failed (does pg_hba.conf allow replication from 127.0.0.1? \
             .ci/run sets that up): {failures:#?}"
        );
        // The base backup copies the data folder only: Debian keeps the
        // configuration elsewhere. A hot standby needs these settings at least as
        // high as the primary's.
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             hot_standby = on\nshared_buffers = 16MB\nfsync = off\n\
             wal_retrieve_retry_interval = '200ms'\n",
            replica.socket_dir().display()
        );
        for (k, v) in primary_settings {
            conf.push_str(&format!("{k} = {v}\n"));
        }
        replica.write("postgresql.conf", &conf);
        replica.write(
            "pg_hba.conf",
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        );
        replica.write("pg_ident.conf", "");
        replica.start();
        replica
    }

    fn socket_dir(&self) -> &Path {
        self.data.parent().expect("the replica's folder")
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.data.join(name);
        std::fs::write(&path, text).expect("write the replica's configuration");
        if self.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&path));
        }
    }

    /// `program` with `args` (set by `build`), as `postgres` when running as root.
    fn command(&self, program: &Path, build: impl FnOnce(&mut Command)) -> Output {
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        build(&mut c);
        c.output().expect("run a PostgreSQL program")
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let log = self.socket_dir().join("log");
        self.command(&self.bin.join("pg_ctl"), |c| {
            c.arg("-D").arg(&self.data).arg("-l").arg(&log).args(args);
        })
    }

    fn start(&self) {
        let out = self.pg_ctl(&["-w", "-t", "30", "start"]);
        let log = std::fs::read_to_string(self.socket_dir().join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "the replica did not start: {}{log}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self) {
        let out = self.pg_ctl(&["-w", "-m", "fast", "stop"]);
        assert!(
            out.status.success(),
            "the replica did not stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `url` (a database on the primary) on the replica.
    fn url(&self, db: &TestDb) -> String {
        db.url_via(format!("127.0.0.1:{}", self.port).parse().unwrap())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // Stopped whatever happened, its slot dropped (once its sender has
        // gone); the folder goes with `_dir`.
        let _ = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        for _ in 0..50 {
            let dropped = psql(&format!(
                "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots \
                 WHERE slot_name = '{}' AND NOT active",
                self.slot
            ));
            let gone = psql(&format!(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{}'",
                self.slot
            ));
            if dropped.is_some() && gone.as_deref() == Some("0") {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Replication slots of this test start with this, then the test process's id.
const SLOT_PREFIX: &str = "mdtest_replica_";

/// One statement on the primary with `psql` (usable from `Drop`); its output.
fn psql(sql: &str) -> Option<String> {
    let target = pg_target();
    let (host, port) = target.split_once(':').unwrap_or((&target, "5432"));
    let out = Command::new("psql")
        .args([
            "-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-Atc", sql,
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Drops the slots of runs of this test whose process has gone (killed before
/// its `Drop` ran), so that none keeps WAL on the cluster for ever. A running
/// test's slot (in any worktree) is left alone.
fn drop_abandoned_slots() {
    let Some(names) = psql(&format!(
        "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '{SLOT_PREFIX}%' AND NOT active"
    )) else {
        return;
    };
    for name in names.lines() {
        let pid = name
            .strip_prefix(SLOT_PREFIX)
            .and_then(|r| r.split('_').next())
            .unwrap_or_default();
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            psql(&format!("SELECT pg_drop_replication_slot('{name}')"));
        }
    }
}

fn run(c: &mut Command) {
    let out = c.output().expect("run a command");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The folder of the primary's server programs (Debian keeps each major
/// version's apart), and the settings a hot standby must not go below.
async fn primary_setup(admin: &DatabaseConnection) -> (PathBuf, Vec<(String, String)>) {
    let version = scalar(admin, "SELECT current_setting('server_version_num')").await;
    let major = version.parse::<u32>().expect("a version number") / 10_000;
    let debian = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
    let bin = if debian.join("pg_ctl").exists() {
        debian
    } else {
        let out = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .expect("pg_config");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    };
    let mut settings = vec![];
    for name in [
        "max_connections",
        "max_worker_processes",
        "max_wal_senders",
        "max_prepared_transactions",
        "max_locks_per_transaction",
    ] {
        let v = scalar(admin, &format!("SELECT current_setting('{name}')")).await;
        settings.push((name.to_owned(), v));
    }
    (bin, settings)
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> String {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .or_else(|_| row.try_get_by_index::<bool>(0).map(|b| b.to_string()))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The server's account of public reads: `(state, reads, fallbacks)`.
async fn replica_report(app: &TestApp) -> (String, u64, u64) {
    let (status, _, body) = call(app, Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(status, 200, "{body}");
    let r = &body["replica"];
    (
        r["state"].as_str().unwrap().to_owned(),
        r["reads"].as_u64().unwrap(),
        r["fallbacks"].as_u64().unwrap(),
    )
}

/// The expert names an anonymous GraphQL read shows; `n` makes the operation (so
/// the cached answer) new, so that it is rendered.
async fn fresh_names(app: &TestApp, n: u32) -> Vec<String> {
    let body = gql_as(
        app,
        None,
        &format!("query Probe{n} {{ experts(first: 100) {{ edges {{ node {{ name }} }} }} }}"),
        json!({}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["experts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The expert names of the (cached) public REST list, as `token` when given.
async fn listed(app: &TestApp, token: Option<&str>) -> Vec<String> {
    let (status, _, body) = call(
        app,
        Method::GET,
        "/api/v1/experts?limit=100",
        token,
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    names(&body)
}

async fn create_expert(app: &TestApp, token: &str, name: &str) -> String {
    let (status, _, body) = call(
        app,
        Method::POST,
        "/api/v1/experts",
        Some(token),
        Some(&json!({ "name": name })),
        &[],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["slug"].as_str().unwrap().to_owned()
}

/// How many experts named `name` the replica itself has.
async fn on_replica(replica: &DatabaseConnection, name: &str) -> i64 {
    let n = scalar(
        replica,
        &format!("SELECT count(*) FROM experts WHERE name = '{name}'"),
    )
    .await;
    n.parse().unwrap()
}

/// Polls `done` every 20 ms for up to `limit`.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Fresh anonymous reads (each checked by `check`) until one is rendered from
/// the replica, for up to `limit`.
async fn until_from_replica(
    what: &str,
    app: &TestApp,
    probe: &mut u32,
    limit: Duration,
    check: impl Fn(&[String]),
) {
    let started = Instant::now();
    loop {
        *probe += 1;
        let before = replica_report(app).await.1;
        check(&fresh_names(app, *probe).await);
        if replica_report(app).await.1 > before {
            return;
        }
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_reads_use_a_streaming_replica_only_while_it_has_the_stamp() {
    let started = Instant::now();
    // The test's database first (with the demo data), then the base backup, so
    // the replica starts with it.
    let db = TestDb::new(Backend::Postgres).await;
    let conn = mediadesk::db::connect(&db.url, 2).await.expect("migrate");
    mediadesk::services::demo::seed(&conn.conn)
        .await
        .expect("demo data");
    drop(conn);
    let admin = Database::connect(pg_admin_url()).await.unwrap();
    let (bin, settings) = primary_setup(&admin).await;
    let replica = tokio::task::block_in_place(|| Replica::create(bin, &settings));
    let replica_url = replica.url(&db);
    let standby = Database::connect(&replica_url).await.expect("the replica");
    assert_eq!(scalar(&standby, "SELECT pg_is_in_recovery()").await, "true");
    // Caught up with the primary as it is now (the WAL written during the base
    // backup, by every test running meanwhile, replayed), so that the bounds
    // below are about the server, not the replica's start.
    let target = scalar(&admin, "SELECT pg_current_wal_insert_lsn()::text").await;
    eventually(
        "the new replica catches up",
        Duration::from_secs(30),
        || {
            let sql = format!("SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn");
            let standby = &standby;
            async move { scalar(standby, &sql).await == "true" }
        },
    )
    .await;
    let read_url = replica_url.clone();
    let app = spawn_tuned_over(db, |a| a.read_database_url = Some(read_url)).await;
    let token = token_for(&app, "admin").await;
    let demo = listed(&app, None).await;
    let mut probe = 0;

    // (1) A public read is rendered from the replica once it has what the
    // stamp stands for.
    until_from_replica(
        "a public read from the replica",
        &app,
        &mut probe,
        Duration::from_secs(10),
        |names| assert_eq!(names.len(), demo.len()),
    )
    .await;
    assert_eq!(replica_report(&app).await.0, "up");

    // Replay paused: the replica cannot have the next write.
    scalar(&standby, "SELECT pg_wal_replay_pause()::text").await;
    eventually("replay paused", Duration::from_secs(5), || async {
        scalar(&standby, "SELECT pg_get_wal_replay_pause_state()").await == "paused"
    })
    .await;
    let slug = create_expert(&app, &token, "Replica Probe One").await;
    // (2) The writer, signed in, sees its write at once (the primary).
    let (status, _, body) = call(
        &app,
        Method::GET,
        &format!("/api/v1/experts/{slug}"),
        Some(&token),
        None,
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        listed(&app, Some(&token))
            .await
            .contains(&"Replica Probe One".to_owned())
    );
    let mine = gql_as(
        &app,
        Some(&token),
        "{ experts(first: 100) { edges { node { name } } } }",
        json!({}),
    )
    .await;
    assert!(mine.to_string().contains("Replica Probe One"), "{mine}");
    // The public too, although the replica lacks the write: its reads went to
    // the primary (the replica had not replayed the stamp's WAL position).
    let (_, reads, fallbacks) = replica_report(&app).await;
    assert!(
        listed(&app, None)
            .await
            .contains(&"Replica Probe One".to_owned())
    );
    probe += 1;
    assert!(
        fresh_names(&app, probe)
            .await
            .contains(&"Replica Probe One".to_owned())
    );
    assert_eq!(on_replica(&standby, "Replica Probe One").await, 0);
    let (state, reads_after, fallbacks_after) = replica_report(&app).await;
    assert_eq!(
        reads_after, reads,
        "no public read came from the paused replica"
    );
    assert!(
        fallbacks_after >= fallbacks + 2,
        "{fallbacks} -> {fallbacks_after}"
    );
    assert_eq!(state, "behind");
    // Feeds and the widget too.
    for path in ["/feeds/mentions.json", "/embed/mentions.json"] {
        let (status, _, body) = call(&app, Method::GET, path, None, None, &[]).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    // Replay resumed: once the replica has the write, public reads use it again,
    // and show the write.
    scalar(&standby, "SELECT pg_wal_replay_resume()::text").await;
    eventually(
        "the replica replays the write",
        Duration::from_secs(20),
        || async { on_replica(&standby, "Replica Probe One").await == 1 },
    )
    .await;
    until_from_replica(
        "a public read from the replica again",
        &app,
        &mut probe,
        Duration::from_secs(5),
        |names| assert!(names.contains(&"Replica Probe One".to_owned()), "{names:?}"),
    )
    .await;
    drop(standby);

    // (3) Replica stopped: public reads are answered from the primary, with a
    // write made meanwhile; the server stays ready.
    tokio::task::block_in_place(|| replica.stop());
    for _ in 0..3 {
        probe += 1;
        assert!(
            fresh_names(&app, probe)
                .await
                .contains(&"Replica Probe One".to_owned())
        );
    }
    create_expert(&app, &token, "Replica Probe Two").await;
    let public = listed(&app, None).await;
    assert!(
        public.contains(&"Replica Probe Two".to_owned()),
        "{public:?}"
    );
    probe += 1;
    assert!(
        fresh_names(&app, probe)
            .await
            .contains(&"Replica Probe Two".to_owned())
    );
    for path in [
        "/feeds/mentions.json",
        "/embed/mentions.json",
        "/api/v1/topics",
    ] {
        let (status, _, body) = call(&app, Method::GET, path, None, None, &[]).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let state = replica_report(&app).await.0;
    assert_eq!(state, "down");

    // (4) Started again: used again (after replaying the write it missed), and
    // no answer goes back in time meanwhile.
    tokio::task::block_in_place(|| replica.start());
    until_from_replica(
        "a public read from the restarted replica",
        &app,
        &mut probe,
        // It replays what was written while it was down first.
        Duration::from_secs(20),
        |names| assert!(names.contains(&"Replica Probe Two".to_owned()), "{names:?}"),
    )
    .await;
    assert!(
        listed(&app, None)
            .await
            .contains(&"Replica Probe Two".to_owned())
    );
    assert_eq!(replica_report(&app).await.0, "up");
    drop(admin);
    eprintln!("replica test took {:?}", started.elapsed());
}

/// On SQLite the flag is refused at start, with a reason (an SQLite file has no
/// replicas), through the flag and its environment variable alike.
#[test]
fn read_database_url_is_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("md.db").display());
    let refused = |out: Output| {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--read-database-url") && err.contains("PostgreSQL primary"),
            "{err}"
        );
    };
    let serve = |flag: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mediadesk"));
        c.args(["serve", "--bind", "127.0.0.1:0", "--no-demo"])
            .env("DATABASE_URL", &url)
            .env("MEDIADESK_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn");
        let replica = "postgres://postgres@127.0.0.1:5432/postgres";
        if flag {
            c.args(["--read-database-url", replica]);
        } else {
            c.env("MEDIADESK_READ_DATABASE_URL", replica);
        }
        c.output().unwrap()
    };
    refused(serve(true));
    refused(serve(false));
    // Refused before anything was opened.
    assert!(!dir.path().join("md.db").exists());
}
