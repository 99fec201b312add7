//! `settings`: small values the server keeps about itself, by name. The first:
//! `newsletter_key`, a fingerprint of the key that signs newsletter unsubscribe
//! links (`services::newsletters`), recorded by the server at start, so that a
//! `mediadesk newsletter send` with another `MEDIADESK_JWT_SECRET` is refused
//! instead of mailing links the server would not accept.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Settings {
    Table,
    Name,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Settings::Table)
                .col(string(Settings::Name).primary_key())
                .col(text(Settings::Value))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Settings::Table).take())
            .await
    }
}
