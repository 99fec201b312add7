//! HTTP adapter (actix-web): request ids, RFC 9457 problem responses, health
//! checks and the GraphQL endpoint. Handlers decode input, call the service layer
//! and render; no rules live here.

pub mod cache;
pub mod docs;
pub mod graphql;
pub mod health;
pub mod problem;
pub mod request_id;
pub mod rest;

use crate::db::Db;
use crate::graphql::AppSchema;

/// Shared state of every worker.
pub struct AppState {
    pub db: Db,
    pub schema: AppSchema,
    /// Whether GraphiQL is served (follows the introspection setting).
    pub graphiql: bool,
    /// `Cache-Control` of public reads.
    pub cache_control: String,
    /// The rendered `/api/v1/docs` page.
    pub docs_html: String,
    /// Rendered public answers, keyed by request and content stamp.
    pub cache: cache::ResponseCache,
}
