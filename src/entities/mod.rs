//! sea-orm entities: table mapping and relations only. No rules live here; the
//! service layer (`crate::services`) is the only code that queries or changes them.

pub mod api_key;
pub mod article;
pub mod article_expert;
pub mod article_topic;
pub mod audit_entry;
pub mod comment;
pub mod content_state;
pub mod event;
pub mod expert;
pub mod expert_topic;
pub mod idempotency_key;
// Newsletters (issue 14 item 5).
pub mod newsletter;
pub mod newsletter_delivery;
pub mod newsletter_issue;
pub mod newsletter_subscription;
pub mod oidc_login;
pub mod outbox;
pub mod outlet;
pub mod reader;
pub mod reader_identity;
pub mod reader_token;
pub mod site;
pub mod topic;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod webhook_message;
