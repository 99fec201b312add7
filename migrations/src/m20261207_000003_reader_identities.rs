//! Social sign-in (OpenID Connect): `reader_identities` links a reader to an
//! account at a provider (`provider`, `subject` unique), and `oidc_logins`
//! holds each started login's state (SHA-256 only), nonce and PKCE verifier
//! until the provider sends the browser back (10 minutes, single use), so any
//! node can finish a login another node started.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000003_reader_identities"
    }
}

#[derive(DeriveIden)]
enum Readers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ReaderIdentities {
    Table,
    Id,
    ReaderId,
    Provider,
    Subject,
    Email,
    CreatedAt,
    LastSignInAt,
}

#[derive(DeriveIden)]
enum OidcLogins {
    Table,
    Id,
    StateHash,
    Provider,
    Nonce,
    PkceVerifier,
    ReturnTo,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReaderIdentities::Table)
                .col(big_pk_auto(ReaderIdentities::Id))
                .col(integer(ReaderIdentities::ReaderId))
                .col(string(ReaderIdentities::Provider))
                .col(string(ReaderIdentities::Subject))
                .col(string_null(ReaderIdentities::Email))
                .col(timestamp_with_time_zone(ReaderIdentities::CreatedAt))
                .col(timestamp_with_time_zone(ReaderIdentities::LastSignInAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_reader_identities_reader")
                        .from(ReaderIdentities::Table, ReaderIdentities::ReaderId)
                        .to(Readers::Table, Readers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // One reader per account at a provider: two concurrent first sign-ins
        // of one account cannot link it twice.
        m.create_index(
            Index::create()
                .name("idx_reader_identities_subject")
                .table(ReaderIdentities::Table)
                .col(ReaderIdentities::Provider)
                .col(ReaderIdentities::Subject)
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_reader_identities_reader")
                .table(ReaderIdentities::Table)
                .col(ReaderIdentities::ReaderId)
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OidcLogins::Table)
                .col(big_pk_auto(OidcLogins::Id))
                .col(string_uniq(OidcLogins::StateHash))
                .col(string(OidcLogins::Provider))
                .col(text(OidcLogins::Nonce))
                .col(text(OidcLogins::PkceVerifier))
                .col(text(OidcLogins::ReturnTo))
                .col(timestamp_with_time_zone(OidcLogins::CreatedAt))
                .col(timestamp_with_time_zone(OidcLogins::ExpiresAt))
                .col(timestamp_with_time_zone_null(OidcLogins::UsedAt))
                .take(),
        )
        .await?;
        // Pruning of expired logins.
        m.create_index(
            Index::create()
                .name("idx_oidc_logins_expires")
                .table(OidcLogins::Table)
                .col(OidcLogins::ExpiresAt)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OidcLogins::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ReaderIdentities::Table).to_owned())
            .await
    }
}
