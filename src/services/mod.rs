//! The service layer: the only code that builds queries or changes data. It owns
//! filtering, visibility of drafts and scheduled items, keyset pagination,
//! validation beyond parsing, name resolution, transactions and the meaning of
//! errors. GraphQL, REST, feeds and the CLI are thin adapters over these functions.
//! Nothing here imports actix_web or async_graphql.

pub mod articles;
pub mod content;
pub mod demo;
pub mod events;
pub mod experts;
pub mod import;
pub mod outlets;
pub mod resolve;
pub mod search;
pub mod site;
pub mod topics;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{Condition, Order};

use crate::domain::{Cursor, Direction, PageRequest};

/// The current time, truncated to microseconds so it round-trips through both
/// databases and through cursors unchanged.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Converts a cursor timestamp back into the value stored in the database.
pub(crate) fn ts_from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// The keyset condition "after this cursor" for an ordering on `(key, id)`.
///
/// `descending` is the direction of the requested ordering; a backward page
/// flips it. Returns the condition and the order to fetch rows in.
pub(crate) fn keyset(
    key: SimpleExpr,
    id: SimpleExpr,
    cursor_key: Option<SimpleExpr>,
    cursor_id: Option<i32>,
    descending: bool,
    page: &PageRequest,
) -> (Option<Condition>, Order) {
    let fetch_desc = match page.direction {
        Direction::Forward => descending,
        Direction::Backward => !descending,
    };
    let order = if fetch_desc { Order::Desc } else { Order::Asc };
    let cond = match (cursor_key, cursor_id) {
        (Some(ck), Some(cid)) => {
            let (k_past, id_past) = if fetch_desc {
                (
                    Expr::expr(key.clone()).lt(ck.clone()),
                    Expr::expr(id).lt(cid),
                )
            } else {
                (
                    Expr::expr(key.clone()).gt(ck.clone()),
                    Expr::expr(id).gt(cid),
                )
            };
            Some(
                Condition::any()
                    .add(k_past)
                    .add(Condition::all().add(Expr::expr(key).eq(ck)).add(id_past)),
            )
        }
        _ => None,
    };
    (cond, order)
}

/// The timestamp and id a cursor carries, or a validation error for `field`.
pub(crate) fn ts_cursor(page: &PageRequest) -> Option<(DateTime<Utc>, i32)> {
    page.cursor
        .as_ref()
        .and_then(|c: &Cursor| c.ts.map(|t| (ts_from_micros(t), c.id)))
}
