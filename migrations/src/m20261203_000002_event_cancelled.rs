//! Cancelled events: an event that will not take place stays listed (partners
//! and calendars show it as cancelled: iCalendar `STATUS:CANCELLED`, schema.org
//! `EventCancelled`) instead of disappearing like a draft or a deleted one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Cancelled,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Events::Table)
                .add_column(boolean(Events::Cancelled).default(false))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Events::Table)
                .drop_column(Events::Cancelled)
                .take(),
        )
        .await
    }
}
