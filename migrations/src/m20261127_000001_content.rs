//! The content model: topics, outlets, experts, articles (media mentions) with their
//! ordered experts and topics, events, site settings, and the global content version
//! that HTTP caches key on. Portable: only sea-query builder calls.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Topics {
    Table,
    Id,
    Slug,
    Name,
}

#[derive(DeriveIden)]
enum Outlets {
    Table,
    Id,
    Slug,
    Name,
    Kind,
    ParentId,
    Website,
    Country,
    Language,
    Aliases,
    SearchKey,
    Version,
}

#[derive(DeriveIden)]
enum Experts {
    Table,
    Id,
    Slug,
    Name,
    Aliases,
    SearchKey,
    Title,
    Affiliation,
    BioEn,
    BioFr,
    PhotoUrl,
    Version,
}

#[derive(DeriveIden)]
enum ExpertTopics {
    Table,
    ExpertId,
    TopicId,
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
    Slug,
    Title,
    Authors,
    OutletId,
    Program,
    PublishedAt,
    Language,
    Url,
    UrlKey,
    Summary,
    Body,
    Dateline,
    Status,
    PublishAt,
    Version,
}

#[derive(DeriveIden)]
enum ArticleExperts {
    Table,
    ArticleId,
    ExpertId,
    Position,
    PublishedAt,
}

#[derive(DeriveIden)]
enum ArticleTopics {
    Table,
    ArticleId,
    TopicId,
    PublishedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Slug,
    Title,
    Kind,
    StartsAt,
    EndsAt,
    TimeZone,
    Venue,
    City,
    Region,
    Country,
    Description,
    RegistrationUrl,
    SearchKey,
    Status,
    Version,
}

#[derive(DeriveIden)]
enum Site {
    Table,
    Id,
    Name,
    TaglineEn,
    TaglineFr,
    Offices,
    Phone,
    Email,
    Web,
    Copyright,
    CharityRegistration,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ContentState {
    Table,
    Id,
    Version,
    UpdatedAt,
}

fn created_updated(t: &mut TableCreateStatement) -> &mut TableCreateStatement {
    t.col(timestamp_with_time_zone(Alias::new("created_at")))
        .col(timestamp_with_time_zone(Alias::new("updated_at")))
}

fn index(name: &str, table: impl IntoIden, cols: Vec<Alias>) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(c);
    }
    idx.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            created_updated(
                Table::create()
                    .table(Topics::Table)
                    .col(pk_auto(Topics::Id))
                    .col(string_uniq(Topics::Slug))
                    .col(string(Topics::Name)),
            )
            .take(),
        )
        .await?;

        m.create_table(
            created_updated(
                Table::create()
                    .table(Outlets::Table)
                    .col(pk_auto(Outlets::Id))
                    .col(string_uniq(Outlets::Slug))
                    .col(string(Outlets::Name))
                    .col(string(Outlets::Kind))
                    .col(integer_null(Outlets::ParentId))
                    .col(string_null(Outlets::Website))
                    .col(string_null(Outlets::Country))
                    .col(string_null(Outlets::Language))
                    .col(json(Outlets::Aliases))
                    .col(text(Outlets::SearchKey))
                    .col(integer(Outlets::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Outlets::Table, Outlets::ParentId)
                            .to(Outlets::Table, Outlets::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    ),
            )
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_outlets_parent",
            Outlets::Table,
            vec![Alias::new("parent_id")],
        ))
        .await?;

        m.create_table(
            created_updated(
                Table::create()
                    .table(Experts::Table)
                    .col(pk_auto(Experts::Id))
                    .col(string_uniq(Experts::Slug))
                    .col(string(Experts::Name))
                    .col(json(Experts::Aliases))
                    .col(text(Experts::SearchKey))
                    .col(string_null(Experts::Title))
                    .col(string_null(Experts::Affiliation))
                    .col(text_null(Experts::BioEn))
                    .col(text_null(Experts::BioFr))
                    .col(string_null(Experts::PhotoUrl))
                    .col(integer(Experts::Version).default(1)),
            )
            .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ExpertTopics::Table)
                .col(integer(ExpertTopics::ExpertId))
                .col(integer(ExpertTopics::TopicId))
                .primary_key(
                    Index::create()
                        .col(ExpertTopics::ExpertId)
                        .col(ExpertTopics::TopicId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ExpertTopics::Table, ExpertTopics::ExpertId)
                        .to(Experts::Table, Experts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ExpertTopics::Table, ExpertTopics::TopicId)
                        .to(Topics::Table, Topics::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_expert_topics_topic",
            ExpertTopics::Table,
            vec![Alias::new("topic_id")],
        ))
        .await?;

        m.create_table(
            created_updated(
                Table::create()
                    .table(Articles::Table)
                    .col(pk_auto(Articles::Id))
                    .col(string_uniq(Articles::Slug))
                    .col(string(Articles::Title))
                    .col(json(Articles::Authors))
                    .col(integer_null(Articles::OutletId))
                    .col(string_null(Articles::Program))
                    .col(timestamp_with_time_zone(Articles::PublishedAt))
                    .col(string(Articles::Language))
                    .col(text_null(Articles::Url))
                    .col(text_null(Articles::UrlKey).unique_key())
                    .col(text_null(Articles::Summary))
                    .col(text_null(Articles::Body))
                    .col(string_null(Articles::Dateline))
                    .col(string(Articles::Status))
                    .col(timestamp_with_time_zone_null(Articles::PublishAt))
                    .col(integer(Articles::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Articles::Table, Articles::OutletId)
                            .to(Outlets::Table, Outlets::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    ),
            )
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_articles_published",
            Articles::Table,
            vec![Alias::new("published_at"), Alias::new("id")],
        ))
        .await?;
        m.create_index(index(
            "idx_articles_outlet_published",
            Articles::Table,
            vec![
                Alias::new("outlet_id"),
                Alias::new("published_at"),
                Alias::new("id"),
            ],
        ))
        .await?;
        m.create_index(index(
            "idx_articles_language_published",
            Articles::Table,
            vec![
                Alias::new("language"),
                Alias::new("published_at"),
                Alias::new("id"),
            ],
        ))
        .await?;

        // Cache validators ask for the latest scheduled publication that has passed.
        m.create_index(index(
            "idx_articles_publish_at",
            Articles::Table,
            vec![Alias::new("publish_at")],
        ))
        .await?;

        // The publication date is copied onto both link tables so that "an expert's
        // (or a topic's) articles, newest first" is one index range scan with a keyset
        // cursor instead of a sort of every link.
        m.create_table(
            Table::create()
                .table(ArticleExperts::Table)
                .col(integer(ArticleExperts::ArticleId))
                .col(integer(ArticleExperts::ExpertId))
                .col(integer(ArticleExperts::Position))
                .col(timestamp_with_time_zone(ArticleExperts::PublishedAt))
                .primary_key(
                    Index::create()
                        .col(ArticleExperts::ArticleId)
                        .col(ArticleExperts::ExpertId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ArticleExperts::Table, ArticleExperts::ArticleId)
                        .to(Articles::Table, Articles::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ArticleExperts::Table, ArticleExperts::ExpertId)
                        .to(Experts::Table, Experts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_article_experts_expert_published",
            ArticleExperts::Table,
            vec![
                Alias::new("expert_id"),
                Alias::new("published_at"),
                Alias::new("article_id"),
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ArticleTopics::Table)
                .col(integer(ArticleTopics::ArticleId))
                .col(integer(ArticleTopics::TopicId))
                .col(timestamp_with_time_zone(ArticleTopics::PublishedAt))
                .primary_key(
                    Index::create()
                        .col(ArticleTopics::ArticleId)
                        .col(ArticleTopics::TopicId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ArticleTopics::Table, ArticleTopics::ArticleId)
                        .to(Articles::Table, Articles::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ArticleTopics::Table, ArticleTopics::TopicId)
                        .to(Topics::Table, Topics::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "idx_article_topics_topic_published",
            ArticleTopics::Table,
            vec![
                Alias::new("topic_id"),
                Alias::new("published_at"),
                Alias::new("article_id"),
            ],
        ))
        .await?;

        m.create_table(
            created_updated(
                Table::create()
                    .table(Events::Table)
                    .col(pk_auto(Events::Id))
                    .col(string_uniq(Events::Slug))
                    .col(string(Events::Title))
                    .col(string(Events::Kind))
                    .col(timestamp_with_time_zone(Events::StartsAt))
                    .col(timestamp_with_time_zone_null(Events::EndsAt))
                    .col(string_null(Events::TimeZone))
                    .col(string_null(Events::Venue))
                    .col(string_null(Events::City))
                    .col(string_null(Events::Region))
                    .col(string_null(Events::Country))
                    .col(text_null(Events::Description))
                    .col(text_null(Events::RegistrationUrl))
                    .col(text(Events::SearchKey))
                    .col(string(Events::Status))
                    .col(integer(Events::Version).default(1)),
            )
            .take(),
        )
        .await?;
        m.create_index(index(
            "idx_events_starts",
            Events::Table,
            vec![Alias::new("starts_at"), Alias::new("id")],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Site::Table)
                .col(integer(Site::Id).primary_key())
                .col(string(Site::Name))
                .col(string(Site::TaglineEn))
                .col(string(Site::TaglineFr))
                .col(json(Site::Offices))
                .col(string_null(Site::Phone))
                .col(string_null(Site::Email))
                .col(string_null(Site::Web))
                .col(string_null(Site::Copyright))
                .col(string_null(Site::CharityRegistration))
                .col(integer(Site::Version).default(1))
                .col(timestamp_with_time_zone(Site::UpdatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ContentState::Table)
                .col(integer(ContentState::Id).primary_key())
                .col(big_integer(ContentState::Version))
                .col(timestamp_with_time_zone(ContentState::UpdatedAt))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "content_state",
            "site",
            "events",
            "article_topics",
            "article_experts",
            "articles",
            "expert_topics",
            "experts",
            "outlets",
            "topics",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).take())
                .await?;
        }
        Ok(())
    }
}
