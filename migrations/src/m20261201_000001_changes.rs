//! The change log (`services::changes`): every committed content write appends
//! entries under a batch, and the batch gets its public sequence numbers
//! (`first_seq..last_seq`) as the last statement before commit, under the
//! `content_state` row lock, from `content_state.log_head`. So numbers follow
//! commit order with no gaps, and readers simply ask for `seq > since`.
//!
//! - `change_batches`: one row per writing transaction (`batch` drawn early, in
//!   no particular order); `first_seq`/`last_seq` are NULL until the seal.
//! - `changes`: the entries, `(batch, ord)`; an entry's sequence number is
//!   `first_seq + ord - 1`.
//! - `change_due`: articles published with a future `publish_at`, for the
//!   scheduler that announces them when they come due.
//! - `content_state` gains `log_head` (the last number handed out), `log_floor`
//!   (numbers at or below it may have been pruned) and `log_epoch` (a random
//!   name of this log, set once by the server).
//!
//! Portable: only sea-query builder calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeBatches {
    Table,
    Batch,
    FirstSeq,
    LastSeq,
    At,
    Actor,
    Cause,
}

#[derive(DeriveIden)]
enum Changes {
    Table,
    Batch,
    Ord,
    Kind,
    ObjectId,
    Slug,
    Op,
    Version,
    WasPublic,
    IsPublic,
    Refs,
}

#[derive(DeriveIden)]
enum ChangeDue {
    Table,
    Kind,
    ObjectId,
    DueAt,
}

#[derive(DeriveIden)]
enum ContentState {
    Table,
    LogHead,
    LogFloor,
    LogEpoch,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ChangeBatches::Table)
                .col(big_pk_auto(ChangeBatches::Batch))
                .col(big_integer_null(ChangeBatches::FirstSeq).unique_key())
                .col(big_integer_null(ChangeBatches::LastSeq))
                .col(timestamp_with_time_zone(ChangeBatches::At))
                .col(string(ChangeBatches::Actor))
                .col(string(ChangeBatches::Cause))
                .take(),
        )
        .await?;
        for (name, col) in [
            ("idx_change_batches_last_seq", ChangeBatches::LastSeq),
            ("idx_change_batches_at", ChangeBatches::At),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(ChangeBatches::Table)
                    .col(col)
                    .take(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(Changes::Table)
                .col(big_integer(Changes::Batch))
                .col(integer(Changes::Ord))
                .col(string(Changes::Kind))
                .col(integer(Changes::ObjectId))
                .col(string(Changes::Slug))
                .col(string(Changes::Op))
                .col(integer(Changes::Version))
                .col(boolean(Changes::WasPublic))
                .col(boolean(Changes::IsPublic))
                .col(text_null(Changes::Refs))
                .primary_key(Index::create().col(Changes::Batch).col(Changes::Ord))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_changes_batch")
                        .from(Changes::Table, Changes::Batch)
                        .to(ChangeBatches::Table, ChangeBatches::Batch)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ChangeDue::Table)
                .col(string(ChangeDue::Kind))
                .col(integer(ChangeDue::ObjectId))
                .col(timestamp_with_time_zone(ChangeDue::DueAt))
                .primary_key(
                    Index::create()
                        .col(ChangeDue::Kind)
                        .col(ChangeDue::ObjectId),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_change_due_due_at")
                .table(ChangeDue::Table)
                .col(ChangeDue::DueAt)
                .take(),
        )
        .await?;
        // One column per statement: SQLite adds one at a time.
        for col in [
            big_integer(ContentState::LogHead).default(0).take(),
            big_integer(ContentState::LogFloor).default(0).take(),
            string_null(ContentState::LogEpoch),
        ] {
            m.alter_table(
                Table::alter()
                    .table(ContentState::Table)
                    .add_column(col)
                    .take(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ContentState::LogEpoch,
            ContentState::LogFloor,
            ContentState::LogHead,
        ] {
            m.alter_table(
                Table::alter()
                    .table(ContentState::Table)
                    .drop_column(col)
                    .take(),
            )
            .await?;
        }
        for t in [
            ChangeDue::Table.into_iden(),
            Changes::Table.into_iden(),
            ChangeBatches::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
