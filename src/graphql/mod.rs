//! GraphQL adapter: the schema's types and resolvers. Resolvers decode arguments
//! into domain types, call one service function and wrap the result; nested lists
//! go through per-request DataLoaders (`loaders.rs`) so a page costs a constant
//! number of SQL statements.

mod changes;
pub mod comments;
mod connection;
pub mod documents;
mod loaders;
mod mutation;
pub mod persisted;
mod query;
pub mod readers;
mod spans;
mod subscription;
mod types;

use async_graphql::{ErrorExtensions, Schema};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::auth::Actor;
use crate::error::AppError;

pub use loaders::Loaders;
pub use mutation::Mutation;
pub use query::Query;
pub use types::{EventKind, Language, OutletKind, Status};

pub type AppSchema = Schema<Query, Mutation, subscription::Subscription>;

/// Limits that let real frontend queries through and stop abusive ones early.
pub const MAX_DEPTH: usize = 16;
pub const MAX_COMPLEXITY: usize = 5_000;

/// Builds the schema. `introspection: false` also turns off field suggestions.
pub fn build_schema(introspection: bool) -> AppSchema {
    let mut b = Schema::build(Query, Mutation, subscription::Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .limit_directives(20);
    if !introspection {
        b = b.disable_introspection().disable_suggestions();
    }
    if crate::telemetry::exporting() {
        b = b.extension(spans::ResolverSpans);
    }
    b.finish()
}

/// The SDL of the served schema (what `schema.graphql` must equal).
pub fn sdl() -> String {
    build_schema(true).sdl()
}

/// Per-request context: the database, the caller and the batch loaders.
pub struct RequestCtx {
    pub db: DatabaseConnection,
    pub actor: Actor,
    /// Set by every resolver that returns a secret (a new API key): the answer
    /// must then never be stored (`Idempotency-Key` keeps no copy of it).
    secret_shown: Arc<AtomicBool>,
    /// The server's relevance index, for relevance-ordered article searches.
    pub search: Option<Arc<crate::services::search_index::SearchIndex>>,
    /// Address ranges webhook endpoints may name despite the SSRF guard.
    pub webhooks_allowed: crate::services::webhooks::Allowed,
    /// What reader sign-in needs (not on subscription sockets).
    pub readers: Option<Arc<readers::ReaderAccess>>,
}

// Newsletters (issue 14 item 5).
/// What newsletter resolvers need of the request (request data, set by
/// `http::graphql`): where mail links point (and their key), the
/// subscription budgets, and the client's budget address.
pub struct NewsletterCtx {
    pub links: crate::services::newsletters::Links,
    pub limits: Arc<crate::http::limits::SubscribeLimits>,
    pub client: String,
}

impl RequestCtx {
    /// The context of one request; `secret_shown` is raised when a resolver
    /// returns a secret, for the HTTP layer to read after execution.
    pub fn new(db: DatabaseConnection, actor: Actor, secret_shown: Arc<AtomicBool>) -> Self {
        Self {
            db,
            actor,
            secret_shown,
            search: None,
            webhooks_allowed: Default::default(),
            readers: None,
        }
    }

    /// Lets the reader resolvers sign readers in.
    pub fn with_readers(mut self, access: Arc<readers::ReaderAccess>) -> Self {
        self.readers = Some(access);
        self
    }

    /// Answers relevance searches from this index when it can.
    pub fn with_search(
        mut self,
        index: Option<Arc<crate::services::search_index::SearchIndex>>,
    ) -> Self {
        self.search = index;
        self
    }

    /// Lets webhook endpoints name these ranges (`--webhook-allow-cidr`).
    pub fn with_webhooks_allowed(mut self, allowed: crate::services::webhooks::Allowed) -> Self {
        self.webhooks_allowed = allowed;
        self
    }

    /// Records that the answer carries a secret.
    pub fn showing_secret(&self) {
        self.secret_shown.store(true, Ordering::SeqCst);
    }
}

/// Maps a service error to a GraphQL error with `extensions.code`.
pub(crate) fn gql_error(e: AppError) -> async_graphql::Error {
    if let AppError::Internal(inner) = &e {
        tracing::error!(error = %inner, "internal error in GraphQL resolver");
    }
    let fields = e.field_errors().to_vec();
    async_graphql::Error::new(e.public_message()).extend_with(|_, ext| {
        ext.set("code", e.code());
        if !fields.is_empty() {
            ext.set(
                "fields",
                async_graphql::Value::List(
                    fields
                        .iter()
                        .map(|f| {
                            let mut m = async_graphql::indexmap::IndexMap::new();
                            m.insert(
                                async_graphql::Name::new("field"),
                                async_graphql::Value::String(camel(&f.field)),
                            );
                            m.insert(
                                async_graphql::Name::new("message"),
                                async_graphql::Value::String(f.message.clone()),
                            );
                            async_graphql::Value::Object(m)
                        })
                        .collect(),
                ),
            );
        }
    })
}

/// A field named as GraphQL names it: the services' `display_name` is
/// `displayName` (names already in camelCase stay as they are).
fn camel(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        match c {
            '_' if !out.is_empty() && !out.ends_with('.') => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// A Relay global ID: `base64url("Type:id")`.
pub fn global_id(kind: &str, id: i32) -> async_graphql::ID {
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

/// The global ID of the object of a change log kind (`article`, ...; none
/// for the site, which has no ID).
pub fn kind_id(kind: &str, id: i32) -> Option<async_graphql::ID> {
    let name = match kind {
        "article" => "Article",
        "expert" => "Expert",
        "outlet" => "Outlet",
        "topic" => "Topic",
        "event" => "Event",
        _ => return None,
    };
    Some(global_id(name, id))
}

/// The `id` of each kind of node, for the entity models that are GraphQL
/// objects (`#[graphql(derived(name = "id", with = "node_id::event"))]`).
pub mod node_id {
    macro_rules! node_ids {
        ($($f:ident => $kind:literal),+) => {
            $(pub fn $f(id: i32) -> async_graphql::ID {
                super::global_id($kind, id)
            })+
        };
    }
    node_ids!(article => "Article", expert => "Expert", outlet => "Outlet", event => "Event", topic => "Topic");
}

/// The names in a stored JSON array (aliases, bylines).
pub fn names(json: serde_json::Value) -> Vec<String> {
    serde_json::from_value(json).unwrap_or_default()
}

/// Decodes a Relay global ID into its type name and numeric id.
pub fn parse_global_id(id: &str) -> Option<(String, i32)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    let (kind, n) = s.split_once(':')?;
    Some((kind.to_owned(), n.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn field_names_in_errors_are_graphqls() {
        assert_eq!(super::camel("display_name"), "displayName");
        assert_eq!(super::camel("parent_id"), "parentId");
        assert_eq!(super::camel("input.startsAt"), "input.startsAt");
        assert_eq!(super::camel("input.starts_at"), "input.startsAt");
        assert_eq!(super::camel("token"), "token");
        assert_eq!(super::camel("_x"), "_x");
    }
}
