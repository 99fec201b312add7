//! Schema migrations for mediadesk, written with the sea-query builder so that the
//! same migration runs on SQLite and PostgreSQL. Never edit a migration that has
//! been applied anywhere: add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_content;
mod m20261127_000002_search;
mod m20261127_000003_accounts;
mod m20261127_000004_ownership;
mod m20261130_000001_shared_state;
mod m20261130_000002_search_changes;
mod m20261201_000001_changes;
mod m20261201_000002_webhooks;
mod m20261202_000001_log_epoch;
mod m20261203_000001_stats_indexes;
mod m20261203_000002_event_cancelled;
mod m20261205_000001_stats_rollups;
mod m20261206_000001_outbox_readers;
// Newsletters (issue 14 item 5).
mod m20261207_000001_newsletters;
// comments
mod m20261207_000002_comments;
// Social sign-in (OpenID Connect).
mod m20261207_000003_reader_identities;
mod m20261208_000001_newsletter_log_head;
mod m20261209_000001_settings;
mod m20261209_000002_newsletter_content;

/// The ordered list of migrations `mediadesk migrate` applies.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_content::Migration),
            Box::new(m20261127_000002_search::Migration),
            Box::new(m20261127_000003_accounts::Migration),
            Box::new(m20261127_000004_ownership::Migration),
            Box::new(m20261130_000001_shared_state::Migration),
            Box::new(m20261130_000002_search_changes::Migration),
            Box::new(m20261201_000001_changes::Migration),
            Box::new(m20261201_000002_webhooks::Migration),
            Box::new(m20261202_000001_log_epoch::Migration),
            Box::new(m20261203_000001_stats_indexes::Migration),
            Box::new(m20261203_000002_event_cancelled::Migration),
            Box::new(m20261205_000001_stats_rollups::Migration),
            Box::new(m20261206_000001_outbox_readers::Migration),
            // Newsletters (issue 14 item 5).
            Box::new(m20261207_000001_newsletters::Migration),
            // comments
            Box::new(m20261207_000002_comments::Migration),
            // Social sign-in (OpenID Connect).
            Box::new(m20261207_000003_reader_identities::Migration),
            // Newsletter issues by change-log position.
            Box::new(m20261208_000001_newsletter_log_head::Migration),
            // The server's own settings (the newsletter key's fingerprint).
            Box::new(m20261209_000001_settings::Migration),
            // What a newsletter list carries.
            Box::new(m20261209_000002_newsletter_content::Migration),
        ]
    }
}
