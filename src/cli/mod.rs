//! The command line: `serve`, `migrate`, `seed`, `import`, `generate`, `backup`,
//! `restore`, `schema`, `openapi`, `user`, `key`, `webhook`. Each command parses its arguments, opens the
//! database and calls the services (`generate` needs no database: it calls `datagen`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::auth::Actor;
use crate::config::{DbArgs, LogFormat, ServeArgs};
use crate::services::import::{ImportOptions, ImportReport, Progress, import};
use crate::{db, services, startup, telemetry};

#[derive(Parser)]
#[command(
    name = "mediadesk",
    version,
    about = "Headless content API for an \"In the Media\" desk"
)]
pub struct Cli {
    /// Log format: human-readable `pretty` or `json` lines.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrates, and loads the demo data into an empty database).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load the built-in demo data (the seed page) into an empty database.
    Seed {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import an NDJSON file (`-` for standard input).
    Import {
        /// The file to read, or `-` for standard input.
        file: PathBuf,
        /// Import the valid lines and report the bad ones instead of rolling back.
        #[arg(long)]
        skip_invalid: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy the live SQLite database to FILE (a new file) while the server runs.
    Backup {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Put the backup FILE in place of the SQLite database (stop the server first).
    Restore {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write a realistic data set in the import format (the same for a seed).
    Generate {
        /// How many articles.
        #[arg(long, default_value_t = 100_000)]
        articles: u64,
        /// How many events.
        #[arg(long, default_value_t = 2_000)]
        events: u64,
        /// Outlets, experts, topics and events depend on the seed only; articles on
        /// the seed and their number.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Where to write the NDJSON (`-`: standard output).
        #[arg(short = 'o', long = "out", default_value = "-")]
        out: PathBuf,
        /// Also write the benchmark parameters picked from the data (JSON) here.
        #[arg(long)]
        params: Option<PathBuf>,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Print the OpenAPI document of the REST API and the other routes (YAML).
    Openapi,
    /// Manage users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Manage API keys for scripts.
    Key {
        #[command(subcommand)]
        cmd: KeyCmd,
    },
    /// Manage webhook endpoints and read their delivery log.
    Webhook {
        #[command(subcommand)]
        cmd: WebhookCmd,
    },
    /// E-mail: check the set-up.
    Mail {
        #[command(subcommand)]
        cmd: MailCmd,
    },
    // Newsletters (issue 14 item 5).
    /// Newsletters: send an issue.
    Newsletter {
        #[command(subcommand)]
        cmd: NewsletterCmd,
    },
}

// Newsletters (issue 14 item 5).
#[derive(Subcommand)]
enum NewsletterCmd {
    /// Queue an issue of the list LIST (its slug) for every confirmed
    /// subscriber: what was published since its previous issue (the first:
    /// the last 7 days). Nothing new: no issue, no mail. A running server
    /// sends the mail.
    Send {
        list: String,
        /// The API's public base URL, for the links in the mail (required:
        /// as the server has it).
        #[arg(long, env = "MEDIADESK_PUBLIC_URL")]
        public_url: Option<String>,
        /// A front end's page for the links in the mail (as `serve` has it).
        #[arg(long, env = "MEDIADESK_NEWSLETTER_URL")]
        newsletter_url: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum MailCmd {
    /// Queue a test message to ADDRESS; a running server sends it (through
    /// its `--smtp-url`, or as a file in its `--mail-dir`).
    Test {
        address: String,
        /// `en` or `fr`.
        #[arg(long, default_value = "en")]
        language: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum WebhookCmd {
    /// Register an endpoint; its signing secret is printed once, alone on the last line.
    Add {
        /// Where deliveries are POSTed (http or https).
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (`article.published,mention.recorded`,
        /// `article.*`; default `*`: all).
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Only articles with this expert (slug; repeat for any of several).
        #[arg(long = "expert")]
        experts: Vec<String>,
        /// Only articles of this outlet (slug; repeatable).
        #[arg(long = "outlet")]
        outlets: Vec<String>,
        /// Only articles with this topic (slug; repeatable).
        #[arg(long = "topic")]
        topics: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// Address ranges the URL may name despite the SSRF guard (as `serve`'s).
        #[arg(long, env = "MEDIADESK_WEBHOOK_ALLOW_CIDR", value_delimiter = ',')]
        webhook_allow_cidr: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List endpoints (never their secrets).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Enable an endpoint (also one the server disabled after failures).
    Enable {
        id: i32,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Disable an endpoint: nothing is sent to it until it is enabled.
    Disable {
        id: i32,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Delete an endpoint and its delivery log.
    Remove {
        id: i32,
        #[command(flatten)]
        db: DbArgs,
    },
    /// An endpoint's latest deliveries and their attempts.
    Deliveries {
        id: i32,
        /// How many (newest first).
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user; the password is asked for on a terminal, else read from standard input.
    Add {
        #[arg(long)]
        email: String,
        /// admin, editor or contributor.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Create a key; it is printed once, alone on the last line.
    Create {
        /// admin, editor or contributor.
        #[arg(long)]
        role: String,
        /// What the key is for ("nightly import").
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a key by id or prefix.
    Revoke {
        /// The key's id or prefix (`mdk_abcd1234`).
        key: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Parses the command line and runs the command.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let otlp = match &cli.command {
        Command::Serve { serve, .. } => {
            serve.otlp_endpoint.clone().filter(|u| !u.trim().is_empty())
        }
        _ => None,
    };
    let traces = match telemetry::init(cli.log_format, otlp.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let code = match dispatch(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    traces.flush().await;
    code
}

async fn dispatch(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::User {
            cmd: UserCmd::Add { email, role, db },
        } => {
            let role = role
                .parse::<crate::domain::Role>()
                .map_err(|e| anyhow::anyhow!(e))?;
            let password = read_password()?;
            let d = db::connect(&db.url(), db.db_pool).await?;
            let u =
                services::accounts::create_user(&d.conn, &Actor::System, &email, &password, role)
                    .await?;
            eprintln!("user {} added with role {}", u.email, u.role);
            Ok(ExitCode::SUCCESS)
        }
        Command::Key { cmd } => key_command(cmd).await,
        Command::Webhook { cmd } => webhook_command(cmd).await,
        Command::Mail {
            cmd:
                MailCmd::Test {
                    address,
                    language,
                    db,
                },
        } => {
            let language = language
                .parse::<crate::domain::Language>()
                .map_err(|e| anyhow::anyhow!(e))?;
            let d = db::connect(&db.url(), db.db_pool).await?;
            let id = services::outbox::enqueue_test(&d.conn, &address, language).await?;
            eprintln!("test message queued (outbox {id})");
            Ok(ExitCode::SUCCESS)
        }
        // Newsletters (issue 14 item 5).
        Command::Newsletter {
            cmd:
                NewsletterCmd::Send {
                    list,
                    public_url,
                    newsletter_url,
                    db,
                },
        } => {
            let Some(public_url) = public_url.filter(|u| !u.trim().is_empty()) else {
                anyhow::bail!(
                    "newsletter send needs the API's public URL for the links in the mail: \
                     set MEDIADESK_PUBLIC_URL or pass --public-url (as the server has it); \
                     nothing was sent"
                );
            };
            let jwt = crate::auth::jwt::Keys::load(&db.data_dir)?;
            let links =
                services::newsletters::Links::new(&public_url, newsletter_url.as_deref(), &jwt);
            let d = db::connect(&db.url(), db.db_pool).await?;
            match services::newsletters::send(&d.conn, &Actor::System, &list, &links).await? {
                Some(issue) => eprintln!(
                    "issue {} of {list} queued for {} subscribers ({} articles, {} events)",
                    issue.id, issue.recipients, issue.articles, issue.events
                ),
                None => {
                    eprintln!("nothing published since the previous issue of {list}: none sent")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { file, db } => {
            crate::backup::backup(&db.url(), &file).await?;
            eprintln!("backup written to {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file, db } => {
            crate::backup::restore(&db.url(), &file).await?;
            eprintln!("restored from {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            articles,
            events,
            seed,
            out,
            params,
        } => generate(
            crate::datagen::Options {
                seed,
                articles,
                events,
            },
            &out,
            params.as_deref(),
        ),
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            print!("{}", crate::http::openapi::yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { db } => {
            db::connect(&db.url(), db.db_pool).await?;
            eprintln!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed { db } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            if !services::demo::is_empty(&d.conn).await? {
                eprintln!("the database already has content; demo data not loaded");
                return Ok(ExitCode::SUCCESS);
            }
            let r = services::demo::seed(&d.conn).await?;
            eprintln!("demo data loaded: {}", summary(&r));
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { db, mut serve } => {
            if serve.mail_dir.is_none() {
                serve.mail_dir = Some(db.data_dir.join("mail"));
            }
            // Refused before the database is opened (and an SQLite file made).
            if serve.read_database_url.is_some() && db.url().starts_with("sqlite:") {
                anyhow::bail!(startup::NO_REPLICA_OF_SQLITE);
            }
            let d = db::connect(&db.url(), db.db_pool).await?;
            if !serve.no_demo && services::demo::is_empty(&d.conn).await? {
                let r = services::demo::seed(&d.conn).await?;
                tracing::info!(summary = %summary(&r), "empty database: demo data loaded");
            }
            let jwt = crate::auth::jwt::Keys::load(&db.data_dir)?;
            let app = startup::Application::build(d, jwt, &serve)?;
            tracing::info!(
                port = app.port(),
                bind = %serve.bind,
                metrics_port = app.metrics_port(),
                "mediadesk listening"
            );
            app.run_until_stopped().await?;
            tracing::info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            file,
            skip_invalid,
            db,
        } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            let opts = ImportOptions { skip_invalid };
            let started = Instant::now();
            let tty = std::io::stderr().is_terminal();
            let show = |p: &Progress| {
                if tty {
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    eprint!(
                        "\r{} lines, {} articles, {:.1} MB ({:.0} lines/s)   ",
                        p.lines,
                        p.articles,
                        p.bytes as f64 / 1e6,
                        p.lines as f64 / secs
                    );
                }
            };
            let report = if file.as_os_str() == "-" {
                let stdin = tokio::io::BufReader::with_capacity(1 << 16, tokio::io::stdin());
                import(&d.conn, &Actor::System, stdin, opts, show).await?
            } else {
                let f = tokio::fs::File::open(&file)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
                let r = tokio::io::BufReader::with_capacity(1 << 16, f);
                import(&d.conn, &Actor::System, r, opts, show).await?
            };
            if tty {
                eprintln!();
            }
            for e in &report.errors {
                eprintln!("line {}: {}", e.line, e.message);
            }
            if report.error_count > report.errors.len() as u64 {
                eprintln!(
                    "... and {} more bad lines",
                    report.error_count - report.errors.len() as u64
                );
            }
            let secs = started.elapsed().as_secs_f64();
            if report.committed {
                eprintln!("imported in {secs:.1}s: {}", summary(&report));
                if report.error_count > 0 {
                    eprintln!("{} bad lines skipped", report.error_count);
                }
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "import failed: {} bad lines; nothing was written (use --skip-invalid to import the valid lines)",
                    report.error_count
                );
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

async fn key_command(cmd: KeyCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        KeyCmd::Create { role, name, db } => {
            let role = role
                .parse::<crate::domain::Role>()
                .map_err(|e| anyhow::anyhow!(e))?;
            let d = db::connect(&db.url(), db.db_pool).await?;
            let (k, secret) =
                services::accounts::create_key(&d.conn, &Actor::System, &name, role).await?;
            eprintln!(
                "key {} ({}) created with role {}; it is shown only now:",
                k.id, k.name, k.role
            );
            println!("{secret}");
        }
        KeyCmd::List { db } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            println!(
                "{:<5} {:<14} {:<12} {:<26} {:<26} name",
                "id", "prefix", "role", "last used", "revoked"
            );
            for k in services::accounts::list_keys(&d.conn, &Actor::System).await? {
                let t = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or("-".to_owned(), |t| t.to_rfc3339())
                };
                println!(
                    "{:<5} {:<14} {:<12} {:<26} {:<26} {}",
                    k.id,
                    k.prefix,
                    k.role,
                    t(k.last_used_at),
                    t(k.revoked_at),
                    k.name
                );
            }
        }
        KeyCmd::Revoke { key, db } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            let k = services::accounts::revoke_key(&d.conn, &Actor::System, &key).await?;
            eprintln!("key {} ({}) revoked", k.id, k.prefix);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn webhook_command(cmd: WebhookCmd) -> anyhow::Result<ExitCode> {
    use services::webhooks::{self, EndpointInput};
    let sys = &Actor::System;
    let filter = |v: Vec<String>| (!v.is_empty()).then_some(v);
    match cmd {
        WebhookCmd::Add {
            url,
            events,
            experts,
            outlets,
            topics,
            description,
            webhook_allow_cidr,
            db,
        } => {
            let allowed = webhooks::Allowed::parse(&webhook_allow_cidr)
                .map_err(|e| anyhow::anyhow!("--webhook-allow-cidr: {e}"))?;
            let d = db::connect(&db.url(), db.db_pool).await?;
            let input = EndpointInput {
                url: Some(url),
                description: Some(description),
                events: filter(events),
                experts: filter(experts),
                outlets: filter(outlets),
                topics: filter(topics),
                active: None,
            };
            let (e, secret) = webhooks::create(&d.conn, sys, input, &allowed).await?;
            eprintln!(
                "webhook endpoint {} added ({}); its secret is shown only now:",
                e.id, e.url
            );
            println!("{secret}");
        }
        WebhookCmd::List { db } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            println!("{:<5} {:<9} {:<40} url", "id", "active", "events");
            for e in webhooks::list(&d.conn, sys).await? {
                let active = match (&e.disabled_reason, e.active) {
                    (_, true) => "yes".to_owned(),
                    (Some(r), false) => format!("no ({r})"),
                    (None, false) => "no".to_owned(),
                };
                let mut filters = Vec::new();
                for (what, list) in [
                    ("expert", &e.experts),
                    ("outlet", &e.outlets),
                    ("topic", &e.topics),
                ] {
                    if !list.is_empty() {
                        filters.push(format!("{what}: {}", list.join("|")));
                    }
                }
                let filters = if filters.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", filters.join("; "))
                };
                println!(
                    "{:<5} {:<9} {:<40} {}{filters}",
                    e.id,
                    active,
                    e.events.join(","),
                    e.url
                );
            }
        }
        WebhookCmd::Enable { id, db } => {
            set_active(&db, id, true).await?;
        }
        WebhookCmd::Disable { id, db } => {
            set_active(&db, id, false).await?;
        }
        WebhookCmd::Remove { id, db } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            webhooks::delete(&d.conn, sys, id).await?;
            eprintln!("webhook endpoint {id} removed");
        }
        WebhookCmd::Deliveries { id, limit, db } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            let (list, _) =
                webhooks::deliveries(&d.conn, sys, id, limit.clamp(1, 100), None).await?;
            for dl in list {
                println!(
                    "{} {} {} seq {} {} ({} attempts)",
                    dl.id,
                    dl.message_id,
                    dl.event_type,
                    dl.seq,
                    dl.state,
                    dl.attempts.len()
                );
                for a in dl.attempts {
                    println!(
                        "    {} {:<11} {:>4} {:>6} ms  {}",
                        a.at.to_rfc3339(),
                        a.outcome,
                        a.response_code.map_or("-".into(), |c| c.to_string()),
                        a.latency_ms,
                        a.response_body
                            .chars()
                            .take(80)
                            .collect::<String>()
                            .replace('\n', " ")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `webhook enable|disable ID`.
async fn set_active(db: &DbArgs, id: i32, active: bool) -> anyhow::Result<()> {
    let d = db::connect(&db.url(), db.db_pool).await?;
    let input = services::webhooks::EndpointInput {
        active: Some(active),
        ..Default::default()
    };
    let allowed = services::webhooks::Allowed::default();
    services::webhooks::update(&d.conn, &Actor::System, id, input, &allowed).await?;
    eprintln!(
        "webhook endpoint {id} {}",
        if active { "enabled" } else { "disabled" }
    );
    Ok(())
}

/// `mediadesk generate`: the data set to a file or standard output, through a buffer
/// (memory stays flat); a closed pipe (`| head`) ends it quietly.
fn generate(
    opts: crate::datagen::Options,
    out: &std::path::Path,
    params: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let started = Instant::now();
    let written = if out.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        crate::datagen::generate(opts, &mut w).and_then(|p| w.flush().map(|()| p))
    } else {
        crate::datagen::write_file(out, opts)
    };
    let p = match written {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => anyhow::bail!("cannot write {}: {e}", out.display()),
    };
    let json = serde_json::to_string_pretty(&p)?;
    if let Some(path) = params {
        std::fs::write(path, format!("{json}\n"))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    eprintln!(
        "{} outlets, {} topics, {} experts, {} articles, {} events in {:.1}s",
        p.outlets,
        p.topics,
        p.experts,
        p.articles,
        p.events,
        started.elapsed().as_secs_f64()
    );
    eprintln!("{json}");
    Ok(ExitCode::SUCCESS)
}

/// A password from a terminal prompt, or the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("password: ")?;
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(p == again, "the passwords differ");
        Ok(p)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

fn summary(r: &ImportReport) -> String {
    let c = &r.created;
    let e = &r.existing;
    format!(
        "{} outlets, {} experts, {} topics, {} articles, {} events, {} site settings created; {} outlets, {} experts, {} topics already present",
        c.outlets,
        c.experts,
        c.topics,
        c.articles,
        c.events,
        c.site,
        e.outlets,
        e.experts,
        e.topics
    )
}
