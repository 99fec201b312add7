//! Site settings: the organisation's name, taglines, offices and contact details.

use sea_orm::{ConnectionTrait, EntityTrait};

use crate::domain::Office;
use crate::entities::site;
use crate::error::{AppError, AppResult};

/// The site settings; `NOT_FOUND` before any were stored.
pub async fn get(db: &impl ConnectionTrait) -> AppResult<site::Model> {
    site::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("site settings have not been set".into()))
}

/// The site's name; `None` while the site settings have not been set.
pub async fn name(db: &impl ConnectionTrait) -> AppResult<Option<String>> {
    Ok(site::Entity::find_by_id(1).one(db).await?.map(|s| s.name))
}

/// The name feeds, calendars and embeds carry: the site's, else "mediadesk".
pub async fn display_name(db: &impl ConnectionTrait) -> AppResult<String> {
    Ok(name(db).await?.unwrap_or_else(|| "mediadesk".to_owned()))
}

/// The offices stored with the site settings, in order.
pub fn offices(s: &site::Model) -> Vec<Office> {
    serde_json::from_value(s.offices.clone()).unwrap_or_default()
}
