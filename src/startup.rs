//! Builds the actix application and server: routes, middleware, shared state,
//! binding (port 0 picks a free port, which tests use) and graceful shutdown.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{Compress, Condition, from_fn};
use actix_web::{App, HttpServer, web};
use sha2::Digest;

use crate::config::ServeArgs;
use crate::db::Db;
use crate::http::openapi::ops;
use crate::http::{self, AppState};

crate::http::routes::route_table! {
    /// Public routes outside `/api/v1`, with their methods and operation docs
    /// (`openapi.yaml` is built from these and `http::rest::ROUTES`).
    OTHER_ROUTES, other_resources, "";
    "/healthz" => { GET: http::health::healthz => ops::healthz },
    "/readyz" => { GET: http::health::readyz => ops::readyz },
    "/graphql" => {
        GET: http::graphql::get => ops::graphql_get,
        POST: http::graphql::post => ops::graphql_post,
    },
    // Before `/feeds/{file}`, which would also match it.
    "/feeds/events.ics" => { GET: http::calendar::feed => ops::get_events_calendar },
    "/feeds/{file}" => { GET: http::feeds::all => ops::get_feed },
    "/feeds/{kind}/{file}" => { GET: http::feeds::scoped => ops::get_scoped_feed },
    "/embed" => { GET: http::embed::preview => ops::get_embed_preview },
    "/embed/mentions" => { GET: http::embed::mentions => ops::get_embed_mentions },
    "/embed/mentions.json" => { GET: http::embed::mentions_json => ops::get_embed_mentions_json },
    "/embed.js" => { GET: http::embed::script => ops::get_embed_script },
    "/oembed" => { GET: http::oembed::oembed => ops::get_oembed },
    "/readers/sign-in" => {
        GET: http::reader_page::show => ops::get_reader_sign_in_page,
        POST: http::reader_page::exchange => ops::post_reader_sign_in_page,
    },
}

/// Who may call the API from a browser page on another origin.
#[derive(Clone)]
struct CorsPolicy {
    /// May read (empty: any origin).
    read: Vec<String>,
    /// May send tokens and write (empty: none).
    write: Vec<String>,
}

fn clean(origins: &[String]) -> Vec<String> {
    origins
        .iter()
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty())
        .collect()
}

/// The origins of the reader frontend (`--reader-link-base`, `--newsletter-url`)
/// other than this server's own: its pages send readers' tokens and write
/// (sign in, comment, subscribe) like those of `--cors-write-origins`.
fn frontend_origins(args: &ServeArgs, link_base: &str, own_base: &str) -> Vec<String> {
    let origin = |u: &str| {
        url::Url::parse(u.trim())
            .ok()
            .map(|u| u.origin())
            .filter(url::Origin::is_tuple)
            .map(|o| o.ascii_serialization())
    };
    let own = origin(own_base);
    let mut found = Vec::new();
    for u in std::iter::once(link_base).chain(args.newsletter_url.as_deref()) {
        if let Some(o) = origin(u)
            && Some(&o) != own.as_ref()
            && !found.contains(&o)
        {
            found.push(o);
        }
    }
    found
}

/// Does this request (or the one a preflight announces) carry a token or change
/// something? GraphQL queries are POSTs too, so there a POST alone is a read.
fn credentialed_or_writing(head: &actix_web::dev::RequestHead, post_is_read: bool) -> bool {
    let h = &head.headers;
    let (method, token) = if head.method == actix_web::http::Method::OPTIONS {
        let method = h
            .get("access-control-request-method")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let token = h
            .get("access-control-request-headers")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("authorization"));
        (method, token)
    } else {
        (
            head.method.as_str().to_owned(),
            h.contains_key(actix_web::http::header::AUTHORIZATION),
        )
    };
    token
        || match method.as_str() {
            "GET" | "HEAD" => false,
            "POST" => !post_is_read,
            _ => true,
        }
}

/// CORS for one part of the API. Without write origins, any (or each listed)
/// origin may read and none may send a token. With them (`--cors-write-origins`
/// and the reader frontend's, see [`frontend_origins`]), those origins may
/// also send tokens and write (`methods`), and the origin is echoed.
fn cors(policy: &CorsPolicy, methods: &[&'static str], post_is_read: bool) -> Cors {
    use actix_web::http::header;
    let mut c = Cors::default()
        .allowed_headers([
            header::ACCEPT,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::CONTENT_TYPE,
        ])
        .expose_headers(["etag", "link", "x-request-id", "last-modified"])
        .max_age(86_400);
    if policy.write.is_empty() {
        c = c.allowed_methods(
            methods
                .iter()
                .copied()
                .filter(|m| matches!(*m, "GET" | "HEAD" | "OPTIONS") || post_is_read),
        );
        if policy.read.is_empty() {
            return c.allow_any_origin().send_wildcard();
        }
        for o in &policy.read {
            c = c.allowed_origin(o);
        }
        return c;
    }
    let p = policy.clone();
    c.allowed_methods(methods.iter().copied())
        .allowed_headers([header::AUTHORIZATION, header::IF_MATCH])
        .allowed_header("idempotency-key")
        .expose_headers(["location", "retry-after", "idempotent-replayed"])
        .allowed_origin_fn(move |origin, head| {
            let o = origin.to_str().unwrap_or_default();
            if credentialed_or_writing(head, post_is_read) {
                p.write.iter().any(|w| w == o)
            } else {
                p.read.is_empty() || p.read.iter().any(|r| r == o) || p.write.iter().any(|w| w == o)
            }
        })
}

/// Why `--read-database-url` is refused with an SQLite database.
pub const NO_REPLICA_OF_SQLITE: &str = "--read-database-url: a read replica needs a PostgreSQL \
     primary; the database is SQLite (leave the flag out)";

/// The read replica of `--read-database-url`, if given: refused unless the
/// primary is PostgreSQL (an SQLite file has no replicas).
fn read_replica(
    db: &Db,
    args: &ServeArgs,
) -> anyhow::Result<Option<std::sync::Arc<crate::db::replica::ReadReplica>>> {
    let Some(url) = args
        .read_database_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    if db.backend() != sea_orm::DbBackend::Postgres {
        anyhow::bail!(NO_REPLICA_OF_SQLITE);
    }
    // As many connections as the primary's pool (`--db-pool`).
    let pool = db
        .conn
        .get_postgres_connection_pool()
        .options()
        .get_max_connections();
    let replica = crate::db::replica::ReadReplica::open(url, pool)
        .map_err(|e| anyhow::anyhow!("--read-database-url: {e}"))?;
    let replica = std::sync::Arc::new(replica);
    // Tries it again while it is down, for as long as the server runs.
    tokio::spawn(crate::db::replica::ReadReplica::revive(
        std::sync::Arc::downgrade(&replica),
    ));
    tracing::info!("public reads may use the read replica");
    Ok(Some(replica))
}

/// The exposition the public app mounts at `/metrics` (`--metrics-token` alone).
type PublicMetrics = web::Data<http::metrics::Exposition>;
/// The `--metrics-bind` listener's port and server.
type MetricsListener = (u16, Server);

/// `/metrics` as configured (`http::metrics`): the listener of
/// `--metrics-bind`, bound before anything starts, and the exposition.
struct MetricsSetup {
    listener: Option<TcpListener>,
    exposition: Option<web::Data<http::metrics::Exposition>>,
}

impl MetricsSetup {
    fn open(args: &ServeArgs) -> anyhow::Result<Self> {
        let bind = args.metrics_bind.as_deref().map(str::trim);
        let listener = bind
            .map(|b| TcpListener::bind(b).map_err(|e| anyhow::anyhow!("--metrics-bind {b}: {e}")))
            .transpose()?;
        let exposition = http::metrics::Exposition::configure(bind, args.metrics_token.as_deref())
            .map_err(|e| anyhow::anyhow!("metrics: {e}"))?
            .map(web::Data::new);
        Ok(Self {
            listener,
            exposition,
        })
    }

    /// Starts the metrics listener, if any; what the public app mounts at
    /// `/metrics` (only without a listener of its own).
    fn start(
        self,
        state: &web::Data<AppState>,
    ) -> anyhow::Result<(Option<MetricsListener>, Option<PublicMetrics>)> {
        match (self.listener, self.exposition) {
            (Some(listener), Some(e)) => {
                let port = listener.local_addr()?.port();
                let server = http::metrics::serve(listener, state.clone(), e)?;
                Ok((Some((port, server)), None))
            }
            (_, e) => Ok((None, e)),
        }
    }
}

/// Where reader sign-in links point: `--reader-link-base`, else this server's
/// page for them under `--public-url`, else under its own address. Never
/// taken from a request's `Host`, which whoever asks for a link chooses.
fn reader_link_base(args: &ServeArgs, port: u16) -> String {
    if let Some(b) = args
        .reader_link_base
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        return b.to_owned();
    }
    format!("{}/readers/sign-in", own_base(args, port))
}

/// This server's base URL as clients reach it: `--public-url`, else its own
/// address (never a request's `Host`).
fn own_base(args: &ServeArgs, port: u16) -> String {
    match args
        .public_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            let host = args.bind.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
            let host = if host == "0.0.0.0" || host == "[::]" {
                "localhost"
            } else {
                host
            };
            format!("http://{host}:{port}")
        }
    }
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<MetricsListener>,
    /// Where and what to record as the newsletter unsubscribe key before
    /// serving (`services::newsletters::record_key`).
    newsletter_key: (
        sea_orm::DatabaseConnection,
        crate::services::newsletters::Links,
    ),
}

impl Application {
    /// Binds `args.bind` and prepares the server over `db`.
    pub fn build(db: Db, jwt: crate::auth::jwt::Keys, args: &ServeArgs) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&args.bind)
            .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", args.bind))?;
        let port = listener.local_addr()?.port();
        let metrics = MetricsSetup::open(args)?;
        let measured = metrics.exposition.is_some();
        // Budgets and persisted queries are shared by all workers, and by all
        // nodes when a shared store is configured.
        // Redis keys are set apart per deployment by a name derived from the
        // signing secret, which every node of a deployment shares.
        let namespace: String = sha2::Sha256::digest(jwt.digest_key())[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let shared = crate::services::shared_store::SharedStore::open(
            &args.shared_store,
            &db.conn,
            &namespace,
        )
        .map_err(|e| anyhow::anyhow!("--shared-store: {e}"))?;
        let replica = read_replica(&db, args)?;
        let stamps = std::sync::Arc::new(crate::services::content::StampWatch::new(
            &db.conn,
            replica.is_some(),
        ));
        // Other nodes' writes reach the watch (PostgreSQL; SQLite re-reads instead).
        tokio::spawn(crate::services::content::listen(
            stamps.clone(),
            db.conn.clone(),
        ));
        // Scheduled publications are logged as they come due.
        tokio::spawn(crate::services::changes::run_scheduler(
            db.conn.clone(),
            stamps.clone(),
        ));
        // The statistics' stale buckets are recounted as writes make them so.
        tokio::spawn(crate::services::stats::run_refresher(
            db.conn.clone(),
            stamps.clone(),
        ));
        // The relevance index is built in the background; the database ranks
        // searches until it is ready.
        let search = if args.no_search_index {
            None
        } else {
            let index = std::sync::Arc::new(
                crate::services::search_index::SearchIndex::create(
                    args.search_index_dir.as_deref(),
                    stamps.clone(),
                    db.conn.clone(),
                )
                .map_err(|e| anyhow::anyhow!("--search-index-dir: {e}"))?,
            );
            let weak = std::sync::Arc::downgrade(&index);
            tokio::spawn(async move {
                let Some(index) = weak.upgrade() else { return };
                if let Err(e) = index.build().await {
                    tracing::warn!(error = %e, "the search index was not built; the database ranks searches");
                }
            });
            Some(index)
        };
        // New changes, for subscriptions, from every node's writes.
        let tail = crate::services::tail::Tail::start(db.conn.clone(), stamps.clone());
        let webhooks = args.webhooks()?;
        if !args.no_webhooks {
            crate::services::webhooks::worker::start(
                db.conn.clone(),
                webhooks.clone(),
                http::rest::json::webhook_render(),
                stamps.clone(),
            )
            .map_err(|e| anyhow::anyhow!("webhooks: {e}"))?;
        }
        let outbox = args.outbox().map_err(|e| anyhow::anyhow!("e-mail: {e}"))?;
        if !args.no_mail {
            crate::services::outbox::start(db.conn.clone(), outbox);
        }
        let state = web::Data::new(AppState {
            db,
            schema: crate::graphql::build_schema(args.introspection),
            graphiql: args.introspection,
            cache_control: format!(
                "public, max-age={}, stale-while-revalidate={}",
                args.cache_max_age, args.cache_swr
            ),
            docs_html: http::docs::render(http::rest::handlers::OPENAPI_YAML),
            cache: http::cache::ResponseCache::new(args.response_cache),
            stamps,
            replica,
            search,
            public_url: args.public_url.clone(),
            trusted_proxies: http::client::TrustedProxies::parse(&args.trusted_proxies)
                .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?,
            frame_ancestors: args.frame_ancestors.clone(),
            jwt,
            write_limits: http::limits::WriteLimits::new(
                args.writes_per_minute,
                args.write_burst,
                shared.clone(),
            ),
            persisted: crate::graphql::persisted::PersistedQueries::new(shared.clone()),
            logins: crate::services::accounts::LoginGuard::new(shared.clone()),
            tail,
            sockets: Default::default(),
            webhooks,
            reader_link_base: reader_link_base(args, port),
            sign_in_limits: std::sync::Arc::new(http::limits::SignInLimits::new(shared.clone())),
            // Newsletters (issue 14 item 5).
            subscribe_limits: std::sync::Arc::new(http::limits::SubscribeLimits::new(
                args.newsletter_subscribe_burst,
                shared.clone(),
            )),
            newsletter_url: args.newsletter_url.clone(),
            comments: args.comments.settings(),
            comment_limits: std::sync::Arc::new(http::limits::CommentLimits::new(
                args.comments.comment_burst,
                args.comments.comment_address_burst,
                shared.clone(),
            )),
            oidc: std::sync::Arc::new(
                crate::services::oidc::Providers::new(
                    args.oidc_providers.clone(),
                    &own_base(args, port),
                )
                .map_err(|e| anyhow::anyhow!("--oidc-provider: {e}"))?,
            ),
        });
        let newsletter_key = (
            state.db.conn.clone(),
            crate::services::newsletters::Links::new("", None, &state.jwt),
        );
        let (metrics, public_metrics) = metrics.start(&state)?;
        let mut write = clean(&args.cors_write_origins);
        for o in frontend_origins(args, &state.reader_link_base, &own_base(args, port)) {
            if !write.contains(&o) {
                write.push(o);
            }
        }
        let origins = CorsPolicy {
            read: clean(&args.cors_origins),
            write,
        };
        // Forget callers whose budget has refilled, so the key maps stay small.
        let pruned = std::sync::Arc::downgrade(&state.clone().into_inner());
        let change_retention = args.change_retention;
        tokio::spawn(async move {
            // The first round waits a period too: at start there is nothing to
            // prune, and its statements would land amid the first requests.
            let period = std::time::Duration::from_secs(60);
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                every.tick().await;
                let Some(state) = pruned.upgrade() else { break };
                state.write_limits.prune();
                state.sign_in_limits.prune();
                state.subscribe_limits.prune();
                state.comment_limits.prune();
                let conn = &state.db.conn;
                if let Err(e) = crate::services::search_index::prune(conn).await {
                    tracing::warn!(error = %e, "the search change log was not pruned");
                }
                if let Err(e) = crate::services::changes::prune(conn, change_retention).await {
                    tracing::warn!(error = %e, "the change log was not pruned");
                }
                if let Err(e) =
                    crate::services::webhooks::worker::prune(conn, change_retention).await
                {
                    tracing::warn!(error = %e, "the webhook delivery log was not pruned");
                }
                if let Err(e) =
                    crate::services::outbox::prune(conn, crate::services::outbox::KEEP).await
                {
                    tracing::warn!(error = %e, "the outbox was not pruned");
                }
                if let Some(index) = &state.search
                    && let Err(e) = index.catch_up(true).await
                {
                    tracing::warn!(error = %e, "the search index did not catch up");
                }
                if let Some(store) = &shared
                    && let Err(e) = store.prune(crate::services::accounts::LOCKOUT).await
                {
                    tracing::warn!(error = %e, "the shared store was not pruned");
                }
            }
        });
        http::request_id::log_panics();
        let panic_route = args.panic_route;
        let mut server = HttpServer::new(move || {
            let app = App::new();
            let app = if panic_route {
                app.route("/__test/panic", web::get().to(http::request_id::panic))
            } else {
                app
            };
            let mut app = app
                .app_data(state.clone())
                .wrap(Compress::default())
                .wrap(from_fn(http::request_id::middleware))
                .wrap(Condition::new(measured, from_fn(http::metrics::middleware)));
            if let Some(e) = &public_metrics {
                app = app
                    .app_data(e.clone())
                    .route("/metrics", web::get().to(http::metrics::scrape));
            }
            for (path, resource) in other_resources() {
                // Browsers on other origins may read GraphQL and the feeds.
                app = match path {
                    "/graphql" => app.service(resource.wrap(cors(
                        &origins,
                        &["GET", "HEAD", "POST", "OPTIONS"],
                        true,
                    ))),
                    p if p.starts_with("/feeds/") || p == "/oembed" => app
                        .service(resource.wrap(cors(&origins, &["GET", "HEAD", "OPTIONS"], false))),
                    _ => app.service(resource),
                };
            }
            app.service(
                web::scope(http::rest::PREFIX)
                    .wrap(from_fn(http::limits::middleware))
                    .wrap(cors(
                        &origins,
                        &["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
                        false,
                    ))
                    .configure(http::rest::configure)
                    .default_service(web::to(http::problem::not_found)),
            )
            .default_service(web::to(http::problem::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(10);
        if let Some(w) = args.workers {
            server = server.workers(w.max(1));
        }
        Ok(Self {
            port,
            server: server.run(),
            metrics,
            newsletter_key,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `--metrics-bind` listener, if any.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Runs until SIGINT or SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // Before the first request is served: a `newsletter send` from now on
        // is refused unless it signs with this server's key.
        let (db, links) = &self.newsletter_key;
        record_newsletter_key(db, links).await?;
        match self.metrics {
            Some((_, metrics)) => {
                let (served, measured) = futures_util::future::join(self.server, metrics).await;
                served.and(measured)
            }
            None => self.server.await,
        }
    }
}

/// Records the newsletter key before the first request. A database busy with
/// a long write (the statistics' recount after a large import holds SQLite's
/// one write lock bucket after bucket) is waited for, up to
/// [`KEY_RECORD_PATIENCE`], instead of failing the start.
async fn record_newsletter_key(
    db: &sea_orm::DatabaseConnection,
    links: &crate::services::newsletters::Links,
) -> std::io::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match crate::services::newsletters::record_key(db, links).await {
            Ok(()) => return Ok(()),
            Err(e @ crate::error::AppError::Unavailable(_))
                if started.elapsed() < KEY_RECORD_PATIENCE =>
            {
                tracing::warn!(error = %e, "the database is busy; recording the newsletter key again shortly");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "recording the newsletter key failed: {e}"
                )));
            }
        }
    }
}

/// How long a start waits for a busy database to record the newsletter key.
const KEY_RECORD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(300);
