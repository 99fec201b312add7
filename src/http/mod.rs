//! HTTP adapter (actix-web): request ids, RFC 9457 problem responses, health
//! checks and the GraphQL endpoint. Handlers decode input, call the service layer
//! and render; no rules live here.

pub mod auth;
pub mod cache;
pub mod docs;
pub mod embed;
pub mod feeds;
pub mod graphql;
pub mod health;
pub mod limits;
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
    /// The public base URL (`https://media.example.org`), when configured.
    pub public_url: Option<String>,
    /// `frame-ancestors` of the embeddable widget.
    pub frame_ancestors: String,
    /// Access-token keys.
    pub jwt: crate::auth::jwt::Keys,
    /// The write budgets (REST writes and GraphQL mutations draw on the same one).
    pub write_limiter: limits::WriteLimiter,
}

impl AppState {
    /// The base URL clients reach this server at: the configured public URL, or
    /// the scheme and host of the request.
    pub fn public_base(&self, req: &actix_web::HttpRequest) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => {
                let ci = req.connection_info();
                format!("{}://{}", ci.scheme(), ci.host())
            }
        }
    }
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
