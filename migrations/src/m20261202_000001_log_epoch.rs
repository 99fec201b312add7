//! Names the change log of this database (`content_state.log_epoch`): a random
//! name that every sync token carries (`services::sync`), so that a token from
//! another database is refused. Set once, here, so that reads never write;
//! a database restored from a copy keeps the copy's name (and its tokens ahead
//! of the restored head are refused by position).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContentState {
    Table,
    Id,
    Version,
    UpdatedAt,
    LogHead,
    LogFloor,
    LogEpoch,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // 16 random hex digits, from the database itself.
        let random = match m.get_database_backend() {
            DbBackend::Postgres => "substr(md5(random()::text || clock_timestamp()::text), 1, 16)",
            _ => "lower(hex(randomblob(8)))",
        };
        let stmt = Query::insert()
            .into_table(ContentState::Table)
            .columns([
                ContentState::Id,
                ContentState::Version,
                ContentState::UpdatedAt,
                ContentState::LogHead,
                ContentState::LogFloor,
                ContentState::LogEpoch,
            ])
            .values_panic([
                1.into(),
                0i64.into(),
                sea_orm_migration::sea_orm::prelude::ChronoUtc::now().into(),
                0i64.into(),
                0i64.into(),
                Expr::cust(random),
            ])
            .on_conflict(
                OnConflict::column(ContentState::Id)
                    .value(
                        ContentState::LogEpoch,
                        Expr::cust(format!("COALESCE(content_state.log_epoch, {random})")),
                    )
                    .to_owned(),
            )
            .to_owned();
        m.exec_stmt(stmt).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let stmt = Query::update()
            .table(ContentState::Table)
            .value(ContentState::LogEpoch, Option::<String>::None)
            .to_owned();
        m.exec_stmt(stmt).await
    }
}
