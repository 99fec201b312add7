//! Settings from flags and environment. SQLite under the data folder is the default
//! database; secrets (database passwords) are never logged.

use std::path::PathBuf;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines for a terminal.
    Pretty,
    /// One JSON object a line, for log shippers.
    Json,
}

/// Options shared by every subcommand that opens the database.
#[derive(Clone, Debug, clap::Args)]
pub struct DbArgs {
    /// Database URL: `sqlite://path/file.db` or `postgres://user@host/db`.
    /// Defaults to `sqlite://<data dir>/mediadesk.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder for the default SQLite database and other local state.
    #[arg(long, env = "MEDIADESK_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Maximum database connections in the pool.
    #[arg(long, env = "MEDIADESK_DB_POOL", default_value_t = 8)]
    pub db_pool: u32,
}

impl DbArgs {
    /// The database URL to use, with the SQLite default filled in.
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.trim().is_empty() => u.trim().to_owned(),
            _ => format!("sqlite://{}/mediadesk.db", self.data_dir.display()),
        }
    }
}

/// Settings of the HTTP server.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (`host:port`; port 0 picks a free port).
    #[arg(long, env = "MEDIADESK_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "MEDIADESK_WORKERS")]
    pub workers: Option<usize>,
    /// Do not load the demo data into an empty database.
    #[arg(long, env = "MEDIADESK_NO_DEMO", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub no_demo: bool,
    /// `max-age` (seconds) of public reads in `Cache-Control`.
    #[arg(long, env = "MEDIADESK_CACHE_MAX_AGE", default_value_t = 60)]
    pub cache_max_age: u32,
    /// `stale-while-revalidate` (seconds) of public reads.
    #[arg(long, env = "MEDIADESK_CACHE_SWR", default_value_t = 300)]
    pub cache_swr: u32,
    /// Origins allowed to call the API from browsers (comma-separated; empty: any
    /// origin may read, none may write).
    #[arg(long, env = "MEDIADESK_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Origins whose browser pages may send tokens and write (an admin front end;
    /// comma-separated; empty: none).
    #[arg(long, env = "MEDIADESK_CORS_WRITE_ORIGINS", value_delimiter = ',')]
    pub cors_write_origins: Vec<String>,
    /// How many rendered public answers to keep in memory (0 turns the cache off).
    #[arg(long, env = "MEDIADESK_RESPONSE_CACHE", default_value_t = 4096)]
    pub response_cache: usize,
    /// The public base URL of this server, for feed and widget links (default:
    /// the scheme and host of each request).
    #[arg(long, env = "MEDIADESK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Proxies in front of this server whose `Forwarded` / `X-Forwarded-*` headers
    /// are believed (comma-separated IPs or CIDR ranges; empty: none, the peer is
    /// the client and the `Host` header the host).
    #[arg(long, env = "MEDIADESK_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Who may frame the widget (`frame-ancestors` of its Content-Security-Policy).
    #[arg(long, env = "MEDIADESK_FRAME_ANCESTORS", default_value = "*")]
    pub frame_ancestors: String,
    /// Writes a caller may make per minute on average (`POST`/`PATCH`/`DELETE`).
    #[arg(long, env = "MEDIADESK_WRITES_PER_MINUTE", default_value_t = 120)]
    pub writes_per_minute: u32,
    /// How many writes a caller may make at once before the rate applies.
    #[arg(long, env = "MEDIADESK_WRITE_BURST", default_value_t = 60)]
    pub write_burst: u32,
    /// Where nodes share write budgets, failed-login windows and persisted
    /// queries: `memory` (each process its own: one node), `redis://host:port`, or
    /// `postgres` (the PostgreSQL database itself).
    #[arg(long, env = "MEDIADESK_SHARED_STORE", default_value = "memory", hide_env_values = true, value_parser = parse_store)]
    pub shared_store: crate::services::shared_store::StoreKind,
    /// A PostgreSQL streaming replica of the database (`postgres://...`) that
    /// anonymous reads may render from while it has replayed what they need;
    /// signed-in requests and writes always use the primary. Needs a PostgreSQL
    /// primary (refused on SQLite).
    #[arg(long, env = "MEDIADESK_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
    /// Serve GraphiQL and allow introspection.
    #[arg(long, env = "MEDIADESK_GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub introspection: bool,
    /// Folder for this server's derived relevance index (`articles/` inside it,
    /// rebuilt at each start; one folder per server process). Default: a folder
    /// of its own under the system's temporary folder, removed at exit.
    #[arg(long, env = "MEDIADESK_SEARCH_INDEX_DIR")]
    pub search_index_dir: Option<PathBuf>,
    /// Rank relevance searches in the database only (no derived index: FTS5
    /// bm25 on SQLite, ts_rank_cd on PostgreSQL, which rank differently).
    #[arg(long, env = "MEDIADESK_NO_SEARCH_INDEX", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub no_search_index: bool,
    /// How long change log entries are kept (`90d`, `12h`, `30m`, `45s`); older
    /// ones are pruned every minute, and a sync position before them expires.
    #[arg(long, env = "MEDIADESK_CHANGE_RETENTION", default_value = "90d", value_parser = parse_duration)]
    pub change_retention: std::time::Duration,
    /// Do not dispatch or send webhooks from this server (endpoints can still
    /// be managed; another node sends).
    #[arg(long, env = "MEDIADESK_NO_WEBHOOKS", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub no_webhooks: bool,
    /// Address ranges webhooks may be sent to despite the SSRF guard
    /// (comma-separated IPs or CIDR ranges, e.g. `127.0.0.1/32`; default none:
    /// private, loopback, link-local, CGNAT, multicast and unspecified
    /// addresses are refused).
    #[arg(long, env = "MEDIADESK_WEBHOOK_ALLOW_CIDR", value_delimiter = ',')]
    pub webhook_allow_cidr: Vec<String>,
    /// The delays between webhook attempts (for tests: `1s,1s,1s`).
    #[arg(long, hide = true, value_delimiter = ',', value_parser = parse_duration)]
    pub webhook_retry_schedule: Vec<std::time::Duration>,
    /// Send e-mail through this SMTP server: `smtp://host:port` (plain, a local
    /// relay), `smtp://user:pass@host:587` (STARTTLS required),
    /// `smtp://host:587?tls=required|opportunistic`, `smtps://...` (TLS).
    /// Without it, messages are written as `.eml` files to `--mail-dir`.
    #[arg(long, env = "MEDIADESK_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Where messages are written as `.eml` files when there is no
    /// `--smtp-url` (default: `mail/` in the data folder).
    #[arg(long, env = "MEDIADESK_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,
    /// The sender of every e-mail (`Name <address>`).
    #[arg(
        long,
        env = "MEDIADESK_MAIL_FROM",
        default_value = "mediadesk <no-reply@localhost>"
    )]
    pub mail_from: String,
    /// Do not send e-mail from this server (messages still queue; another
    /// node sends them).
    #[arg(long, env = "MEDIADESK_NO_MAIL", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub no_mail: bool,
    /// The frontend page reader sign-in links point to (`?token=...` is
    /// appended; it posts the token to `/api/v1/readers/session`). Default:
    /// this server's own page `/readers/sign-in` under `--public-url` (else
    /// its bound address).
    #[arg(long, env = "MEDIADESK_READER_LINK_BASE")]
    pub reader_link_base: Option<String>,
    /// The delays between e-mail attempts (for tests: `1s,1s,1s`).
    #[arg(long, hide = true, value_delimiter = ',', value_parser = parse_duration)]
    pub mail_retry_schedule: Vec<std::time::Duration>,
    /// Serve Prometheus metrics at `/metrics` on this address (`host:port`), a
    /// listener of its own apart from the public port. Without it and without
    /// `--metrics-token`, metrics are not served at all.
    #[arg(long, env = "MEDIADESK_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Require `Authorization: Bearer <token>` for `/metrics`; without
    /// `--metrics-bind`, `/metrics` is then served on the public port.
    #[arg(long, env = "MEDIADESK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `GET /__test/panic`, which panics (for tests of panic handling only).
    #[arg(long, hide = true)]
    pub panic_route: bool,
    /// Export traces to this OTLP/HTTP collector (its base URL, e.g.
    /// `http://127.0.0.1:4318`; spans go to `/v1/traces` as protobuf). Default:
    /// no export, and no cost.
    #[arg(long, env = "MEDIADESK_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    // Newsletters (issue 14 item 5).
    /// A front end's page that newsletter mail links to for confirming and
    /// unsubscribing (`<it>/confirm?token=...`, `<it>/unsubscribe?token=...`;
    /// it passes the token on to the API). Default: the API's own pages under
    /// `/api/v1/newsletters/`. `List-Unsubscribe` always names the API.
    #[arg(long, env = "MEDIADESK_NEWSLETTER_URL")]
    pub newsletter_url: Option<String>,
    /// Newsletter subscriptions a client address may make at once (then one a
    /// minute); each e-mail address is also limited on its own.
    #[arg(
        long,
        env = "MEDIADESK_NEWSLETTER_SUBSCRIBE_BURST",
        default_value_t = 10
    )]
    pub newsletter_subscribe_burst: u32,
    /// Reader comments: moderation, link cap and budgets.
    #[command(flatten)]
    pub comments: CommentArgs,
    /// An OpenID Connect provider readers sign in with (repeatable):
    /// `name=google,issuer=https://accounts.google.com,client_id=...,client_secret=...`.
    /// `auth_param.<name>=<value>` adds a parameter to its authorization URL
    /// (e.g. `auth_param.kc_idp_hint=facebook` for a Keycloak broker).
    /// Its redirect URI is `{public URL}/api/v1/readers/oidc/{name}/callback`.
    /// In the environment, several are separated by `;`.
    #[arg(
        long = "oidc-provider",
        env = "MEDIADESK_OIDC_PROVIDERS",
        value_delimiter = ';',
        hide_env_values = true
    )]
    pub oidc_providers: Vec<crate::services::oidc::ProviderConfig>,
}

/// The flags of reader comments (`services::comments`).
#[derive(Clone, Debug, clap::Args)]
pub struct CommentArgs {
    /// Which new comments wait for an editor: `first` (until the reader has
    /// an approved one, and again after a rejected or spam one), `all` or `none`.
    #[arg(long, env = "MEDIADESK_COMMENT_MODERATION", value_enum, default_value_t = crate::domain::Moderation::First)]
    pub comment_moderation: crate::domain::Moderation,
    /// The most links a comment may hold.
    #[arg(long, env = "MEDIADESK_COMMENT_MAX_LINKS", default_value_t = 2)]
    pub comment_max_links: usize,
    /// Comments a reader may post at once; then one a minute.
    #[arg(long, env = "MEDIADESK_COMMENT_BURST", default_value_t = 5)]
    pub comment_burst: u32,
    /// Comments one client address may post at once (all its readers); then
    /// one every 10 seconds.
    #[arg(long, env = "MEDIADESK_COMMENT_ADDRESS_BURST", default_value_t = 20)]
    pub comment_address_burst: u32,
}

impl Default for CommentArgs {
    fn default() -> Self {
        Self {
            comment_moderation: crate::domain::Moderation::First,
            comment_max_links: 2,
            comment_burst: 5,
            comment_address_burst: 20,
        }
    }
}

impl CommentArgs {
    /// The comment policy these flags give.
    pub fn settings(&self) -> crate::services::comments::Settings {
        crate::services::comments::Settings {
            moderation: self.comment_moderation,
            max_links: self.comment_max_links,
        }
    }
}

/// A duration: a whole number with a unit, `d`, `h`, `m` or `s`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let unit = match s.chars().last() {
        Some('d') => 86_400,
        Some('h') => 3_600,
        Some('m') => 60,
        Some('s') => 1,
        _ => {
            return Err(format!(
                "{s:?}: a number and a unit (d, h, m or s), like 90d"
            ));
        }
    };
    let n: u64 = s[..s.len() - 1]
        .parse()
        .map_err(|_| format!("{s:?}: a number and a unit (d, h, m or s), like 90d"))?;
    n.checked_mul(unit)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

impl ServeArgs {
    /// The webhook settings these flags give.
    pub fn webhooks(&self) -> anyhow::Result<crate::services::webhooks::Settings> {
        let mut s = crate::services::webhooks::Settings {
            allowed: crate::services::webhooks::Allowed::parse(&self.webhook_allow_cidr)
                .map_err(|e| anyhow::anyhow!("--webhook-allow-cidr: {e}"))?,
            ..Default::default()
        };
        if !self.webhook_retry_schedule.is_empty() {
            s.schedule = self.webhook_retry_schedule.clone();
        }
        Ok(s)
    }
}

impl ServeArgs {
    /// The outbox worker's settings these flags give (`.eml` files go to
    /// `--mail-dir`, which `serve` fills in from the data folder).
    pub fn outbox(&self) -> anyhow::Result<crate::services::outbox::Settings> {
        let dir = self
            .mail_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data").join("mail"));
        let transport = crate::services::outbox::Transport::new(
            self.smtp_url.as_deref(),
            &dir,
            &self.mail_from,
        )?;
        let schedule = if self.mail_retry_schedule.is_empty() {
            crate::services::outbox::default_schedule()
        } else {
            self.mail_retry_schedule.clone()
        };
        Ok(crate::services::outbox::Settings {
            transport: std::sync::Arc::new(transport),
            schedule,
        })
    }
}

fn parse_store(s: &str) -> Result<crate::services::shared_store::StoreKind, String> {
    s.parse()
}
