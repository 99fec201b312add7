//! Newsletters (`services::newsletters`):
//!
//! - `newsletters`: the lists administrators keep (slug, name, language,
//!   description).
//! - `newsletter_subscriptions`: one row per list and address; `state` is
//!   `pending` (double opt-in not done), `confirmed` or `unsubscribed`. Only the
//!   SHA-256 digest of the confirmation token is stored, with its expiry.
//! - `newsletter_issues`: one row per issue sent, with the period it covers
//!   (`period_start`, exclusive, to `period_end`, inclusive): the next issue
//!   starts where the last one ended.
//! - `newsletter_deliveries`: which subscription got which issue; its primary
//!   key (issue, subscription) makes a second send of an issue send nothing.
//!
//! Portable: only sea-query builder calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Newsletters {
    Table,
    Id,
    Slug,
    Name,
    Language,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NewsletterSubscriptions {
    Table,
    Id,
    NewsletterId,
    Email,
    Language,
    State,
    TokenHash,
    TokenExpiresAt,
    CreatedAt,
    ConfirmedAt,
    UnsubscribedAt,
}

#[derive(DeriveIden)]
enum NewsletterIssues {
    Table,
    Id,
    NewsletterId,
    PeriodStart,
    PeriodEnd,
    Articles,
    Events,
    Recipients,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum NewsletterDeliveries {
    Table,
    IssueId,
    SubscriptionId,
    OutboxId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Newsletters::Table)
                .col(pk_auto(Newsletters::Id))
                .col(string_uniq(Newsletters::Slug))
                .col(string(Newsletters::Name))
                .col(string(Newsletters::Language))
                .col(text_null(Newsletters::Description))
                .col(timestamp_with_time_zone(Newsletters::CreatedAt))
                .col(timestamp_with_time_zone(Newsletters::UpdatedAt))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(NewsletterSubscriptions::Table)
                .col(pk_auto(NewsletterSubscriptions::Id))
                .col(integer(NewsletterSubscriptions::NewsletterId))
                .col(string(NewsletterSubscriptions::Email))
                .col(string(NewsletterSubscriptions::Language))
                .col(string(NewsletterSubscriptions::State))
                .col(string_null(NewsletterSubscriptions::TokenHash).unique_key())
                .col(timestamp_with_time_zone_null(
                    NewsletterSubscriptions::TokenExpiresAt,
                ))
                .col(timestamp_with_time_zone(NewsletterSubscriptions::CreatedAt))
                .col(timestamp_with_time_zone_null(
                    NewsletterSubscriptions::ConfirmedAt,
                ))
                .col(timestamp_with_time_zone_null(
                    NewsletterSubscriptions::UnsubscribedAt,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_newsletter_subscriptions_list")
                        .from(
                            NewsletterSubscriptions::Table,
                            NewsletterSubscriptions::NewsletterId,
                        )
                        .to(Newsletters::Table, Newsletters::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // One subscription per list and address (addresses stored lowercased).
        m.create_index(
            Index::create()
                .name("idx_newsletter_subscriptions_address")
                .table(NewsletterSubscriptions::Table)
                .col(NewsletterSubscriptions::NewsletterId)
                .col(NewsletterSubscriptions::Email)
                .unique()
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(NewsletterIssues::Table)
                .col(pk_auto(NewsletterIssues::Id))
                .col(integer(NewsletterIssues::NewsletterId))
                .col(timestamp_with_time_zone(NewsletterIssues::PeriodStart))
                .col(timestamp_with_time_zone(NewsletterIssues::PeriodEnd))
                .col(integer(NewsletterIssues::Articles))
                .col(integer(NewsletterIssues::Events))
                .col(integer(NewsletterIssues::Recipients))
                .col(timestamp_with_time_zone(NewsletterIssues::CreatedAt))
                .col(string(NewsletterIssues::CreatedBy))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_newsletter_issues_list")
                        .from(NewsletterIssues::Table, NewsletterIssues::NewsletterId)
                        .to(Newsletters::Table, Newsletters::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // The previous issue of a list; two issues never end at one instant.
        m.create_index(
            Index::create()
                .name("idx_newsletter_issues_period")
                .table(NewsletterIssues::Table)
                .col(NewsletterIssues::NewsletterId)
                .col(NewsletterIssues::PeriodEnd)
                .unique()
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(NewsletterDeliveries::Table)
                .col(integer(NewsletterDeliveries::IssueId))
                .col(integer(NewsletterDeliveries::SubscriptionId))
                .col(big_integer(NewsletterDeliveries::OutboxId))
                .primary_key(
                    Index::create()
                        .col(NewsletterDeliveries::IssueId)
                        .col(NewsletterDeliveries::SubscriptionId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_newsletter_deliveries_issue")
                        .from(NewsletterDeliveries::Table, NewsletterDeliveries::IssueId)
                        .to(NewsletterIssues::Table, NewsletterIssues::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_newsletter_deliveries_subscription")
                        .from(
                            NewsletterDeliveries::Table,
                            NewsletterDeliveries::SubscriptionId,
                        )
                        .to(NewsletterSubscriptions::Table, NewsletterSubscriptions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(NewsletterDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(NewsletterIssues::Table).to_owned())
            .await?;
        m.drop_table(
            Table::drop()
                .table(NewsletterSubscriptions::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Newsletters::Table).to_owned())
            .await
    }
}
