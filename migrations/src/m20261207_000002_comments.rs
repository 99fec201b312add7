//! Reader comments (`services::comments`): one row per comment on an article,
//! by a reader, optionally a reply to a top-level comment of the same article
//! (`parent_id`; one level only, enforced by the service). `status` is
//! `pending`, `approved`, `rejected` or `spam`. `body_key` is the SHA-256 of the
//! normalised body, for duplicate detection (same reader, same article). A
//! deleted reader's comments stay (the reader row is a tombstone); an
//! article's comments go with it.
//!
//! Portable: only sea-query builder calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Comments {
    Table,
    Id,
    ArticleId,
    ReaderId,
    ParentId,
    Body,
    BodyKey,
    Status,
    CreatedAt,
    UpdatedAt,
    EditedAt,
    ModeratedAt,
    ModeratedBy,
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Readers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Comments::Table)
                .col(pk_auto(Comments::Id))
                .col(integer(Comments::ArticleId))
                .col(integer(Comments::ReaderId))
                .col(integer_null(Comments::ParentId))
                .col(text(Comments::Body))
                .col(string(Comments::BodyKey))
                .col(string(Comments::Status))
                .col(timestamp_with_time_zone(Comments::CreatedAt))
                .col(timestamp_with_time_zone(Comments::UpdatedAt))
                .col(timestamp_with_time_zone_null(Comments::EditedAt))
                .col(timestamp_with_time_zone_null(Comments::ModeratedAt))
                .col(string_null(Comments::ModeratedBy))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_comments_article")
                        .from(Comments::Table, Comments::ArticleId)
                        .to(Articles::Table, Articles::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_comments_reader")
                        .from(Comments::Table, Comments::ReaderId)
                        .to(Readers::Table, Readers::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_comments_parent")
                        .from(Comments::Table, Comments::ParentId)
                        .to(Comments::Table, Comments::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // An article's thread, oldest first, by status (public: approved).
        m.create_index(
            Index::create()
                .name("idx_comments_article")
                .table(Comments::Table)
                .col(Comments::ArticleId)
                .col(Comments::Status)
                .col(Comments::CreatedAt)
                .col(Comments::Id)
                .take(),
        )
        .await?;
        // The moderation queue: by status, newest first.
        m.create_index(
            Index::create()
                .name("idx_comments_status")
                .table(Comments::Table)
                .col(Comments::Status)
                .col(Comments::CreatedAt)
                .col(Comments::Id)
                .take(),
        )
        .await?;
        // A reader's history (the moderation rule, duplicates).
        m.create_index(
            Index::create()
                .name("idx_comments_reader")
                .table(Comments::Table)
                .col(Comments::ReaderId)
                .col(Comments::ArticleId)
                .col(Comments::BodyKey)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Comments::Table).to_owned())
            .await
    }
}
