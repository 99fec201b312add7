//! `newsletters.content`: what a list's issues carry: `mentions` (published
//! articles), `events`, or `all` (both; what every list sent before, so
//! existing rows get it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Newsletters {
    Table,
    Content,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Newsletters::Table)
                .add_column(string(Newsletters::Content).default("all"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Newsletters::Table)
                .drop_column(Newsletters::Content)
                .to_owned(),
        )
        .await
    }
}
