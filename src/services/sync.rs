//! The sync view of the change log (`GET /api/v1/changes`, GraphQL
//! `changes`): what a caller may learn of each entry, behind an opaque token,
//! so that a mirror taken from the lists catches up exactly.
//!
//! - **Tokens.** `base64url("c1:" + epoch + ":" + seq)`: the entries after
//!   `seq`. The epoch is a random name the database's log gets the first time
//!   a token is made (`content_state.log_epoch`), so a token is refused (410,
//!   [`AppError::SyncTokenExpired`]) when it comes from another database, when
//!   its position was pruned (below `log_floor`) or when it lies past the head
//!   (a restored older copy). A token that is not one is a 400.
//! - **Who sees what.** Editors and admins see every entry: a delete is a
//!   tombstone, anything else an upsert. Anyone else sees the public view
//!   (`services::changes`, D3): an entry after which the public can see the
//!   object is an upsert, one after which it no longer can is a tombstone, and
//!   a change the public never saw (a draft's edits) is left out, though the
//!   token moves past it.
//! - **Data.** An upsert carries the object as it is now, read under the
//!   caller (one statement per kind on the page); one the caller can no longer
//!   see is sent as a tombstone (a later entry says why).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::changes::{self, ChangeRow};
use crate::auth::Actor;
use crate::entities::{article, event, expert, outlet, site, topic};
use crate::error::{AppError, AppResult};

/// The longest page.
pub const MAX_LIMIT: u64 = 1000;
/// A page's length when the caller names none.
pub const DEFAULT_LIMIT: u64 = 100;

/// What a caller does with an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOp {
    /// The object (as it is now) is visible: store it.
    Upsert,
    /// The object is gone or no longer visible: drop it.
    Delete,
}

impl SyncOp {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncOp::Upsert => "upsert",
            SyncOp::Delete => "delete",
        }
    }
}

/// One entry as the caller sees it.
#[derive(Clone, Debug)]
pub struct SyncEntry {
    pub row: ChangeRow,
    pub op: SyncOp,
    /// What happened, as the caller sees it: `article.published`,
    /// `expert.updated`, `event.deleted`, ...
    pub event: String,
    /// Who made the change: for editors and administrators only.
    pub actor: Option<String>,
}

/// The objects a page's upserts carry, as they are now.
#[derive(Default)]
pub struct Objects {
    pub articles: HashMap<i32, article::Model>,
    pub experts: HashMap<i32, expert::Model>,
    pub outlets: HashMap<i32, outlet::Model>,
    pub topics: HashMap<i32, topic::Model>,
    pub events: HashMap<i32, event::Model>,
    pub site: Option<site::Model>,
}

/// A page of the log.
pub struct SyncPage {
    pub entries: Vec<SyncEntry>,
    pub objects: Objects,
    /// The token after this page (where the next call starts).
    pub next: String,
    /// Whether more entries are there already.
    pub more: bool,
    /// The token of the head of the log (everything so far).
    pub head: String,
    /// The log's name, for [`SyncPage::token_at`].
    epoch: String,
}

impl SyncPage {
    /// The token of the position just after the entry numbered `seq`.
    pub fn token_at(&self, seq: i64) -> String {
        Token {
            epoch: self.epoch.clone(),
            seq,
        }
        .encode()
    }
}

/// A position in the log of one database.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Token {
    epoch: String,
    seq: i64,
}

impl Token {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("c1:{}:{}", self.epoch, self.seq))
    }

    /// Reads a token; `field` names it in the error.
    fn decode(field: &str, s: &str) -> AppResult<Self> {
        let bad = || AppError::invalid(field, "is not a sync token (take one from a changes page)");
        let raw = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.splitn(3, ':');
        let (Some("c1"), Some(epoch), Some(seq)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        if epoch.is_empty() || seq < 0 {
            return Err(bad());
        }
        Ok(Self {
            epoch: epoch.to_owned(),
            seq,
        })
    }
}

/// The log's head, floor and epoch (naming the log first if it has no name).
async fn log_state(db: &impl ConnectionTrait) -> AppResult<(i64, i64, String)> {
    let backend = db.get_database_backend();
    let read = "SELECT log_head, log_floor, log_epoch FROM content_state WHERE id = 1";
    let row = db
        .query_one_raw(Statement::from_string(backend, read))
        .await?;
    if let Some(row) = &row
        && let Some(epoch) = row.try_get_by_index::<Option<String>>(2)?
    {
        return Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?, epoch));
    }
    // The first token: name the log, once (a racing namer's name wins if first).
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let epoch: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let p = |n: u8| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    let name = format!(
        "INSERT INTO content_state (id, version, updated_at, log_head, log_floor, log_epoch) \
         VALUES (1, 0, {}, 0, 0, {}) \
         ON CONFLICT (id) DO UPDATE SET log_epoch = COALESCE(content_state.log_epoch, excluded.log_epoch)",
        p(1),
        p(2)
    );
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        name,
        [super::now().into(), epoch.into()],
    ))
    .await?;
    let row = db
        .query_one_raw(Statement::from_string(backend, read))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("content_state has no row")))?;
    Ok((
        row.try_get_by_index(0)?,
        row.try_get_by_index(1)?,
        row.try_get_by_index::<Option<String>>(2)?
            .unwrap_or_default(),
    ))
}

/// How `actor` sees an entry, if at all (webhooks name their events with
/// the anonymous view: `services::webhooks::event_of`).
pub(crate) fn view(actor: &Actor, row: &ChangeRow) -> Option<(SyncOp, &'static str)> {
    let always_public = !matches!(row.kind.as_str(), "article" | "event");
    if actor.can_see_drafts() {
        return Some(match row.op.as_str() {
            "delete" => (SyncOp::Delete, "deleted"),
            "create" => (SyncOp::Upsert, "created"),
            "publish" => (SyncOp::Upsert, "published"),
            "unpublish" => (SyncOp::Upsert, "unpublished"),
            _ => (SyncOp::Upsert, "updated"),
        });
    }
    match (row.was_public, row.is_public) {
        (false, true) if always_public => Some((SyncOp::Upsert, "created")),
        (false, true) => Some((SyncOp::Upsert, "published")),
        (true, true) => Some((SyncOp::Upsert, "updated")),
        (true, false) if row.op == "delete" => Some((SyncOp::Delete, "deleted")),
        (true, false) => Some((SyncOp::Delete, "unpublished")),
        (false, false) => None,
    }
}

/// The entries after `since` that `actor` may see, at most `limit` entries of
/// the log read (hidden ones count: a page may show fewer, even none, and
/// still have `more`). Without `since`, an empty page whose `next` is the
/// head: where a mirror starts before it copies the lists.
pub async fn page(
    db: &impl ConnectionTrait,
    actor: &Actor,
    since: Option<&str>,
    limit: u64,
) -> AppResult<SyncPage> {
    let since = since.map(|s| Token::decode("since", s)).transpose()?;
    let (head, floor, epoch) = log_state(db).await?;
    let at = |seq: i64| {
        Token {
            epoch: epoch.clone(),
            seq,
        }
        .encode()
    };
    let Some(since) = since else {
        return Ok(SyncPage {
            entries: vec![],
            objects: Objects::default(),
            next: at(head),
            more: false,
            head: at(head),
            epoch,
        });
    };
    if since.epoch != epoch {
        return Err(AppError::SyncTokenExpired(
            "this sync token is from another database or an earlier copy of this one; \
             copy the lists again and take a new token"
                .into(),
        ));
    }
    if since.seq < floor {
        return Err(AppError::SyncTokenExpired(format!(
            "the changes after this sync token were pruned (the log keeps those after {floor}); \
             copy the lists again and take a new token"
        )));
    }
    if since.seq > head {
        return Err(AppError::SyncTokenExpired(
            "this sync token is ahead of the log (the database was restored from an older copy); \
             copy the lists again and take a new token"
                .into(),
        ));
    }
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut rows = changes::read(db, since.seq, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = rows.last().map_or(since.seq, |r| r.seq);
    let (entries, objects) = seen_by(db, actor, rows).await?;
    Ok(SyncPage {
        entries,
        objects,
        next: at(next),
        more,
        head: at(head.max(next)),
        epoch,
    })
}

/// The entries of `rows` that `actor` may see and the objects their upserts
/// carry (one statement per kind); an upsert of what the caller can no longer
/// see becomes a tombstone. Webhooks render their payloads with it too.
pub async fn seen_by(
    db: &impl ConnectionTrait,
    actor: &Actor,
    rows: Vec<ChangeRow>,
) -> AppResult<(Vec<SyncEntry>, Objects)> {
    let mut entries: Vec<SyncEntry> = rows
        .into_iter()
        .filter_map(|row| {
            let (op, what) = view(actor, &row)?;
            let event = format!("{}.{what}", row.kind);
            let by = actor.can_see_drafts().then(|| row.actor.clone());
            Some(SyncEntry {
                row,
                op,
                event,
                actor: by,
            })
        })
        .collect();
    let objects = load(db, actor, &entries).await?;
    // An upsert of what the caller can no longer see: a tombstone.
    for e in &mut entries {
        if e.op == SyncOp::Upsert && !objects.has(&e.row.kind, e.row.object_id) {
            e.op = SyncOp::Delete;
        }
    }
    Ok((entries, objects))
}

impl Objects {
    /// Is the object of this kind and id here?
    pub fn has(&self, kind: &str, id: i32) -> bool {
        match kind {
            "article" => self.articles.contains_key(&id),
            "expert" => self.experts.contains_key(&id),
            "outlet" => self.outlets.contains_key(&id),
            "topic" => self.topics.contains_key(&id),
            "event" => self.events.contains_key(&id),
            "site" => self.site.is_some(),
            _ => false,
        }
    }
}

/// The objects of the page's upserts that `actor` may see now: one statement
/// per kind.
async fn load(
    db: &impl ConnectionTrait,
    actor: &Actor,
    entries: &[SyncEntry],
) -> AppResult<Objects> {
    let ids = |kind: &str| -> Vec<i32> {
        let mut v: Vec<i32> = entries
            .iter()
            .filter(|e| e.op == SyncOp::Upsert && e.row.kind == kind)
            .map(|e| e.row.object_id)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    fn by_id<M>(models: Vec<M>, id: impl Fn(&M) -> i32) -> HashMap<i32, M> {
        models.into_iter().map(|m| (id(&m), m)).collect()
    }
    Ok(Objects {
        articles: by_id(
            super::articles::by_ids(db, actor, &ids("article")).await?,
            |m| m.id,
        ),
        experts: by_id(super::experts::by_ids(db, &ids("expert")).await?, |m| m.id),
        outlets: by_id(super::outlets::by_ids(db, &ids("outlet")).await?, |m| m.id),
        topics: by_id(super::topics::by_ids(db, &ids("topic")).await?, |m| m.id),
        events: by_id(
            super::events::by_ids(db, actor, &ids("event")).await?,
            |m| m.id,
        ),
        site: if ids("site").is_empty() {
            None
        } else {
            match super::site::get(db).await {
                Ok(s) => Some(s),
                Err(AppError::NotFound(_)) => None,
                Err(e) => return Err(e),
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let t = Token {
            epoch: "0123456789abcdef".into(),
            seq: 42,
        };
        assert_eq!(Token::decode("since", &t.encode()).unwrap(), t);
        for bad in [
            "",
            "x",
            "YzE6",
            &URL_SAFE_NO_PAD.encode("c2:e:1"),
            &URL_SAFE_NO_PAD.encode("c1:e:-1"),
            &URL_SAFE_NO_PAD.encode("c1::1"),
            &URL_SAFE_NO_PAD.encode("c1:e:x"),
        ] {
            assert!(
                matches!(Token::decode("since", bad), Err(AppError::Validation(_))),
                "{bad:?}"
            );
        }
    }
}
