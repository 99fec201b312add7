//! State that nodes share when `--shared-store postgres` keeps it in the database
//! (`services::shared_store`): write budgets, failed-login windows and persisted
//! GraphQL queries. Times are integers (µs or ms since the epoch, the database's
//! clock). The tables exist on SQLite too but stay empty there.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RateBudgets {
    Table,
    Key,
    /// The GCRA theoretical arrival time, µs.
    Tat,
}

#[derive(DeriveIden)]
enum LoginWindows {
    Table,
    Key,
    Count,
    /// The window's first attempt, ms.
    Since,
}

#[derive(DeriveIden)]
enum PersistedQueries {
    Table,
    Hash,
    Query,
    /// ms.
    StoredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RateBudgets::Table)
                .col(string(RateBudgets::Key).primary_key())
                .col(big_integer(RateBudgets::Tat))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginWindows::Table)
                .col(string(LoginWindows::Key).primary_key())
                .col(integer(LoginWindows::Count))
                .col(big_integer(LoginWindows::Since))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PersistedQueries::Table)
                .col(string(PersistedQueries::Hash).primary_key())
                .col(text(PersistedQueries::Query))
                .col(big_integer(PersistedQueries::StoredAt))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            PersistedQueries::Table.into_iden(),
            LoginWindows::Table.into_iden(),
            RateBudgets::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
