//! E-mail and readers (`services::outbox`, `services::readers`):
//!
//! - `outbox`: one row per e-mail, inserted in the transaction of the write
//!   that causes it, sent by a worker under a lease (`lease_token`,
//!   `lease_until`), retried at `next_attempt_at`, `state` pending / sent /
//!   failed. `headers` is a JSON object of extra headers (`Message-ID`,
//!   `List-Unsubscribe`, ...).
//! - `readers`: the fourth kind of principal, signed in by e-mail. A deleted
//!   reader keeps its row as a tombstone (`deleted_at` set, e-mail and name
//!   cleared) so what it wrote stays attributed to "deleted reader".
//! - `reader_tokens`: one-time sign-in tokens and refresh tokens, only their
//!   SHA-256 digests stored, each with an expiry and the time it was used.
//!
//! Portable: only sea-query builder calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    CreatedAt,
    Kind,
    ToAddr,
    Subject,
    TextBody,
    HtmlBody,
    Headers,
    State,
    Attempts,
    NextAttemptAt,
    LeaseToken,
    LeaseUntil,
    SentAt,
    LastError,
}

#[derive(DeriveIden)]
enum Readers {
    Table,
    Id,
    Email,
    DisplayName,
    Language,
    CreatedAt,
    UpdatedAt,
    ActivatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum ReaderTokens {
    Table,
    Id,
    ReaderId,
    Purpose,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(big_pk_auto(Outbox::Id))
                .col(timestamp_with_time_zone(Outbox::CreatedAt))
                .col(string(Outbox::Kind))
                .col(text(Outbox::ToAddr))
                .col(text(Outbox::Subject))
                .col(text(Outbox::TextBody))
                .col(text(Outbox::HtmlBody))
                .col(text(Outbox::Headers))
                .col(string(Outbox::State))
                .col(integer(Outbox::Attempts).default(0))
                .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                .col(string_null(Outbox::LeaseToken))
                .col(timestamp_with_time_zone_null(Outbox::LeaseUntil))
                .col(timestamp_with_time_zone_null(Outbox::SentAt))
                .col(text_null(Outbox::LastError))
                .take(),
        )
        .await?;
        // The worker's scan: pending rows by due time.
        m.create_index(
            Index::create()
                .name("idx_outbox_due")
                .table(Outbox::Table)
                .col(Outbox::State)
                .col(Outbox::NextAttemptAt)
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Readers::Table)
                .col(pk_auto(Readers::Id))
                // NULL once the reader deleted the account (a tombstone).
                .col(string_null(Readers::Email).unique_key())
                .col(string_null(Readers::DisplayName))
                .col(string(Readers::Language))
                .col(timestamp_with_time_zone(Readers::CreatedAt))
                .col(timestamp_with_time_zone(Readers::UpdatedAt))
                .col(timestamp_with_time_zone_null(Readers::ActivatedAt))
                .col(timestamp_with_time_zone_null(Readers::DeletedAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReaderTokens::Table)
                .col(big_pk_auto(ReaderTokens::Id))
                .col(integer(ReaderTokens::ReaderId))
                .col(string(ReaderTokens::Purpose))
                .col(string_uniq(ReaderTokens::TokenHash))
                .col(timestamp_with_time_zone(ReaderTokens::CreatedAt))
                .col(timestamp_with_time_zone(ReaderTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(ReaderTokens::UsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_reader_tokens_reader")
                        .from(ReaderTokens::Table, ReaderTokens::ReaderId)
                        .to(Readers::Table, Readers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_reader_tokens_reader")
                .table(ReaderTokens::Table)
                .col(ReaderTokens::ReaderId)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ReaderTokens::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Readers::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
