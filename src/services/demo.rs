//! The built-in demo data: the facts of the seed page (its featured article with a
//! summary of our own, the 21 "Experts in the media" items, the upcoming event and
//! the site settings), loaded through the ordinary import path.

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::auth::Actor;
use crate::entities::{article, site};
use crate::error::{AppError, AppResult};

use super::import::{ImportOptions, ImportReport, import};

const DEMO: &str = include_str!("demo.ndjson");

/// Is there no content yet (no article and no site settings)?
pub async fn is_empty(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(article::Entity::find().count(db).await? == 0 && site::Entity::find().count(db).await? == 0)
}

/// Loads the demo data.
pub async fn seed(db: &DatabaseConnection) -> AppResult<ImportReport> {
    let report = import(
        db,
        &Actor::System,
        DEMO.as_bytes(),
        ImportOptions::default(),
        |_| {},
    )
    .await?;
    if !report.committed {
        return Err(AppError::Internal(anyhow::anyhow!(
            "demo data failed to import: {:?}",
            report.errors
        )));
    }
    // Newsletters (issue 14 item 5): the seed page's "Subscribe to our
    // newsletters".
    for (slug, name, description, content) in DEMO_NEWSLETTERS {
        super::newsletters::create(
            db,
            &Actor::System,
            super::newsletters::NewsletterInput {
                slug: Some((*slug).into()),
                name: Some((*name).into()),
                language: Some("en".into()),
                description: Some(Some((*description).into())),
                content: Some((*content).into()),
            },
        )
        .await?;
    }
    Ok(report)
}

/// The newsletter lists of the demo: slug, name, description, content.
const DEMO_NEWSLETTERS: &[(&str, &str, &str, &str)] = &[
    (
        "experts-in-the-media-weekly",
        "Experts in the media — weekly",
        "The week's media mentions of our experts.",
        "mentions",
    ),
    (
        "events",
        "Events",
        "Our upcoming conferences, roundtables and webinars.",
        "events",
    ),
];
