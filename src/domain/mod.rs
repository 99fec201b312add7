//! Domain types: wire input becomes these at the edge, and a value of one of them is
//! valid by construction ("parse, don't validate"). No database or HTTP code here.

mod comment;
mod credit;
mod enums;
mod filter;
mod page;
mod text;
mod time;
mod url;

pub use comment::{CommentBody, CommentStatus, Moderation};
pub use credit::{Credit, long_date};
pub use enums::{ArticleStatus, EventKind, Language, MentionGroup, OutletKind, Role};
pub use filter::{
    ArticleFilter, ArticleOrder, EventFilter, EventOrder, ExpertFilter, MentionStatsQuery,
    OutletFilter,
};
pub use page::{Cursor, DEFAULT_PAGE_SIZE, Direction, MAX_PAGE_SIZE, Page, PageRequest};
pub use text::{Slug, clean_list, clean_optional, clean_text, name_key, search_key};
pub use time::parse_timestamp;
pub use url::SourceUrl;

use serde::{Deserialize, Serialize};

/// One office of the organisation, as shown in the site footer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Office {
    #[schema(min_length = 1)]
    pub label: String,
    /// Street lines, in order ("Suite 1800", "150–9th Avenue SW").
    #[schema(max_items = 6)]
    pub street: Vec<String>,
    #[schema(min_length = 1)]
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    #[schema(min_length = 1)]
    pub country: String,
}

/// A field-level validation problem: which input field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads a JSON value into `T`; what does not fit is a 422 naming the field
/// (a missing or unknown field by its name, a wrong type by its path).
pub fn from_json<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, crate::error::AppError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let field = match msg.split('`').nth(1) {
            Some(f) if msg.starts_with("unknown field") || msg.starts_with("missing field") => {
                f.to_owned()
            }
            _ if path == "." => "body".to_owned(),
            _ => path,
        };
        crate::error::AppError::Unprocessable(vec![FieldError::new(field, msg)])
    })
}
