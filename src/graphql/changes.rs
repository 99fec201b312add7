//! GraphQL's view of the change log (`Query.changes`): the same pages,
//! tokens and rules as `GET /api/v1/changes` (`services::sync`), with each
//! upsert's object as a `Node`.

use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};

use super::types::Node;
use crate::services::sync::{SyncOp, SyncPage};

/// What kind of object a change is to.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Article,
    Expert,
    Outlet,
    Topic,
    Event,
    Site,
}

/// What a mirror does with a change.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// Store `node` (the object as it is now) under (`kind`, `id`).
    Upsert,
    /// Drop the object: gone, or no longer visible to the caller.
    Delete,
}

/// One entry of the change log, as the caller may see it.
#[derive(SimpleObject)]
pub struct Change {
    /// Its position in the log, increasing in commit order (a decimal string:
    /// it outgrows `Int`).
    pub seq: String,
    pub kind: ChangeKind,
    pub op: ChangeOp,
    /// What happened, as the caller may know it: `article.published`,
    /// `expert.updated`, `event.deleted`, ...
    pub event: String,
    /// The object's global ID (null for the site).
    pub id: Option<ID>,
    pub slug: String,
    /// The object's version after the change (before it, for a delete).
    pub version: i32,
    /// When the change was committed.
    pub at: DateTime<Utc>,
    /// Who made it (editors and administrators only).
    pub actor: Option<String>,
    /// The object as it is now (null for a delete and for the site: read
    /// `site`).
    pub node: Option<Node>,
}

/// A change and the token just after it.
#[derive(SimpleObject)]
pub struct ChangeEdge {
    pub cursor: String,
    pub node: Change,
}

/// Where the next page starts.
#[derive(SimpleObject)]
pub struct ChangePageInfo {
    /// The token to pass as `after` next: past this page, including changes
    /// the caller may not see (so it moves even when `edges` is empty).
    pub end_cursor: String,
    /// Whether more changes are there already.
    pub has_next_page: bool,
}

/// A page of the change log.
#[derive(SimpleObject)]
pub struct ChangeConnection {
    pub edges: Vec<ChangeEdge>,
    pub page_info: ChangePageInfo,
    /// The token of the head of the log.
    pub head: String,
}

impl From<SyncPage> for ChangeConnection {
    fn from(mut page: SyncPage) -> Self {
        let entries = std::mem::take(&mut page.entries);
        let edges = entries
            .into_iter()
            .map(|e| {
                let r = e.row;
                let id = r.object_id;
                let o = &mut page.objects;
                let upsert = e.op == SyncOp::Upsert;
                let (kind, node) = match r.kind.as_str() {
                    "article" => (
                        ChangeKind::Article,
                        o.articles.get(&id).cloned().map(Node::Article),
                    ),
                    "expert" => (
                        ChangeKind::Expert,
                        o.experts.get(&id).cloned().map(Node::Expert),
                    ),
                    "outlet" => (
                        ChangeKind::Outlet,
                        o.outlets.get(&id).cloned().map(Node::Outlet),
                    ),
                    "topic" => (
                        ChangeKind::Topic,
                        o.topics.get(&id).cloned().map(Node::Topic),
                    ),
                    "event" => (
                        ChangeKind::Event,
                        o.events.get(&id).cloned().map(Node::Event),
                    ),
                    _ => (ChangeKind::Site, None),
                };
                ChangeEdge {
                    cursor: page.token_at(r.seq),
                    node: Change {
                        seq: r.seq.to_string(),
                        kind,
                        op: if upsert {
                            ChangeOp::Upsert
                        } else {
                            ChangeOp::Delete
                        },
                        event: e.event,
                        id: super::kind_id(&r.kind, id),
                        slug: r.slug,
                        version: r.version,
                        at: r.at,
                        actor: e.actor,
                        node: node.filter(|_| upsert),
                    },
                }
            })
            .collect();
        ChangeConnection {
            edges,
            page_info: ChangePageInfo {
                end_cursor: page.next,
                has_next_page: page.more,
            },
            head: page.head,
        }
    }
}
