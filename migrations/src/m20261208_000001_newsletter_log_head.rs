//! `newsletter_issues.log_head`: the change log's head when the issue was
//! built, so the next issue takes every article and event that became public
//! after it (a draft published later included), by log position rather than
//! by its recording time.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_newsletter_log_head"
    }
}

#[derive(DeriveIden)]
enum NewsletterIssues {
    Table,
    LogHead,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(NewsletterIssues::Table)
                .add_column(big_integer_null(NewsletterIssues::LogHead))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(NewsletterIssues::Table)
                .drop_column(NewsletterIssues::LogHead)
                .to_owned(),
        )
        .await
    }
}
