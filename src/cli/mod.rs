//! The command line: `serve`, `migrate`, `seed`, `import`, `schema`. Each command
//! parses its arguments, opens the database and calls the services.

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
        serve: ServeArgs,
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
    /// Print the GraphQL schema (SDL).
    Schema,
}

/// Parses the command line and runs the command.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match dispatch(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
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
        Command::Serve { db, serve } => {
            let d = db::connect(&db.url(), db.db_pool).await?;
            if !serve.no_demo && services::demo::is_empty(&d.conn).await? {
                let r = services::demo::seed(&d.conn).await?;
                tracing::info!(summary = %summary(&r), "empty database: demo data loaded");
            }
            let app = startup::Application::build(d, &serve)?;
            tracing::info!(port = app.port(), bind = %serve.bind, "mediadesk listening");
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
