//! Writes for every resource: a version on topics (every object has one), the
//! account that created an article (contributors edit only their own drafts), and
//! the stored answers of `Idempotency-Key` requests.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Topics {
    Table,
    Version,
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    CreatedBy,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Actor,
    Key,
    RequestHash,
    Status,
    Location,
    Response,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(Topics::Table)
                .add_column(integer(Topics::Version).default(1))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Articles::Table)
                .add_column(string_null(Articles::CreatedBy))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(string(IdempotencyKeys::Actor))
                .col(string(IdempotencyKeys::Key))
                .col(string(IdempotencyKeys::RequestHash))
                // 0 while the first request is still running.
                .col(integer(IdempotencyKeys::Status))
                .col(string_null(IdempotencyKeys::Location))
                .col(text_null(IdempotencyKeys::Response))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::Actor)
                        .col(IdempotencyKeys::Key),
                )
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).take())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Articles::Table)
                .drop_column(Articles::CreatedBy)
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Topics::Table)
                .drop_column(Topics::Version)
                .take(),
        )
        .await
    }
}
