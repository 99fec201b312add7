//! HTTP adapter (actix-web): request ids, RFC 9457 problem responses, health
//! checks and the GraphQL endpoint. Handlers decode input, call the service layer
//! and render; no rules live here.

pub mod accept;
pub mod auth;
pub mod cache;
pub mod calendar;
pub mod client;
pub mod conditional;
pub mod docs;
pub mod embed;
pub mod feeds;
pub mod graphql;
pub mod graphql_ws;
pub mod health;
pub mod limits;
pub mod linked;
pub mod metrics;
pub mod oembed;
pub mod openapi;
pub mod problem;
pub mod reader_page;
pub mod request_id;
pub mod rest;
pub mod routes;
pub mod traces;

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
    /// The content stamp as this server knows it (`services::content::StampWatch`).
    pub stamps: std::sync::Arc<crate::services::content::StampWatch>,
    /// The read replica public reads may render from (`db::replica`), if any.
    pub replica: Option<std::sync::Arc<crate::db::replica::ReadReplica>>,
    /// This server's derived relevance index (`services::search_index`).
    /// `None` with `--no-search-index`.
    pub search: Option<std::sync::Arc<crate::services::search_index::SearchIndex>>,
    /// The public base URL (`https://media.example.org`), when configured.
    pub public_url: Option<String>,
    /// Proxies whose forwarding headers are believed (`http::client`).
    pub trusted_proxies: client::TrustedProxies,
    /// `frame-ancestors` of the embeddable widget.
    pub frame_ancestors: String,
    /// Access-token keys.
    pub jwt: crate::auth::jwt::Keys,
    /// The write budgets (REST writes and GraphQL mutations draw on the same one).
    pub write_limits: limits::WriteLimits,
    /// Apollo persisted queries (this process's, and the shared store's).
    pub persisted: crate::graphql::persisted::PersistedQueries,
    /// The failed-login budgets (per identity and per client address).
    pub logins: crate::services::accounts::LoginGuard,
    /// The change log as it grows, for subscriptions (`services::tail`).
    pub tail: std::sync::Arc<crate::services::tail::Tail>,
    /// The open subscription sockets (`http::graphql_ws`).
    pub sockets: std::sync::Arc<graphql_ws::Sockets>,
    /// Webhook settings (the SSRF guard's allowances, the retry schedule).
    pub webhooks: crate::services::webhooks::Settings,
    /// Where reader sign-in links point (`?token=` is appended).
    pub reader_link_base: String,
    /// The budgets of reader sign-in requests.
    pub sign_in_limits: std::sync::Arc<limits::SignInLimits>,
    // Newsletters (issue 14 item 5).
    /// The budgets of newsletter subscriptions (per client, per address).
    pub subscribe_limits: std::sync::Arc<limits::SubscribeLimits>,
    /// A front end's page for newsletter confirmation and unsubscribe links
    /// (`--newsletter-url`); else this API's own.
    pub newsletter_url: Option<String>,
    /// The comment policy (`--comment-moderation`, `--comment-max-links`).
    pub comments: crate::services::comments::Settings,
    /// The budgets of posting comments (per reader, per client address).
    pub comment_limits: std::sync::Arc<limits::CommentLimits>,
    /// Social sign-in: the configured OpenID Connect providers.
    pub oidc: std::sync::Arc<crate::services::oidc::Providers>,
}

impl AppState {
    /// Do clients reach this server over https (its public URL says so)?
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }

    /// The base URL clients reach this server at: the configured public URL, or
    /// the scheme and host of the request (forwarded ones only from a trusted
    /// proxy).
    pub fn public_base(&self, req: &actix_web::HttpRequest) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => client::origin(req, &self.trusted_proxies),
        }
    }

    /// Where newsletter mail links point for this request, signed with this
    /// server's key (`services::newsletters::Links`).
    pub fn newsletter_links(
        &self,
        req: &actix_web::HttpRequest,
    ) -> crate::services::newsletters::Links {
        crate::services::newsletters::Links::new(
            &self.public_base(req),
            self.newsletter_url.as_deref(),
            &self.jwt,
        )
    }
}

/// `value` as JSON that is also safe inside HTML (a `<script>` element, an
/// attribute) and to browsers that sniff: askama's encoding, which writes `<`, `>`,
/// `&` and `'` as `\u` escapes.
pub(crate) fn json_in_html(
    value: &impl serde::Serialize,
    pretty: bool,
) -> crate::error::AppResult<String> {
    use std::fmt::Write;
    let mut out = String::new();
    let written = if pretty {
        let j = askama::filters::json_pretty(value, 2).unwrap_or_else(|e| match e {});
        write!(out, "{j}")
    } else {
        let j = askama::filters::json(value).unwrap_or_else(|e| match e {});
        write!(out, "{j}")
    };
    written
        .map_err(|_| crate::error::AppError::Internal(anyhow::anyhow!("JSON encoding failed")))?;
    Ok(out)
}
