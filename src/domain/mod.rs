//! Domain types: wire input becomes these at the edge, and a value of one of them is
//! valid by construction ("parse, don't validate"). No database or HTTP code here.

mod enums;
mod filter;
mod page;
mod text;
mod time;
mod url;

pub use enums::{ArticleStatus, EventKind, Language, OutletKind, Role};
pub use filter::{
    ArticleFilter, ArticleOrder, EventFilter, EventOrder, ExpertFilter, OutletFilter,
};
pub use page::{Cursor, DEFAULT_PAGE_SIZE, Direction, MAX_PAGE_SIZE, Page, PageRequest};
pub use text::{Slug, clean_list, clean_optional, clean_text, name_key, search_key};
pub use time::parse_timestamp;
pub use url::SourceUrl;

use serde::{Deserialize, Serialize};

/// One office of the organisation, as shown in the site footer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub label: String,
    /// Street lines, in order ("Suite 1800", "150–9th Avenue SW").
    pub street: Vec<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// A field-level validation problem: which input field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
