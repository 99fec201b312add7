//! Creating, changing and deleting content: one skeleton for articles, experts,
//! outlets, events, topics and the site settings.
//!
//! Every write runs the same steps in one transaction: refuse fields that are
//! unknown or owned by the server, check who may do it (`Record::authorize`),
//! apply a JSON merge-patch (absent: unchanged, `null`: cleared) to the current
//! values, check the result by the import rules (`services::lines`), write it
//! only if the row is still at the version the caller saw (a conditional
//! `UPDATE ... WHERE version = ?`, so of concurrent changes exactly one wins),
//! record before and after in the audit log and append the change to the
//! change log (`services::changes`; its seal bumps the content version). A
//! refused write returns before anything is written, or rolls back.

use std::future::Future;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use std::sync::Arc;

use super::changes::{self, Cause, Entry, Op as ChangeOp};
use super::resolve::Resolver;
use crate::auth::Actor;
use crate::domain::{FieldError, Role};
use crate::error::{AppError, AppResult};

mod kinds;

/// What a caller asks to do with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
}

/// A kind of content that can be created, changed and deleted.
pub trait Record: Sized + Send + Sync {
    /// Its name in messages and in the audit log (`"expert"`).
    const KIND: &'static str;
    /// The fields a create or a patch may carry (the import format's names).
    const FIELDS: &'static [&'static str];
    /// Whether its lines name outlets, experts or topics (see `save`'s `names`).
    const USES_NAMES: bool = true;
    /// Its import-format line: what a create sends, what a patch is applied to.
    type Line: DeserializeOwned + Send;

    fn id(&self) -> i32;
    fn slug(&self) -> &str;
    fn version(&self) -> i32;

    /// May the anonymous public see it now (`services::changes`, D3)? Yes,
    /// unless the kind has drafts.
    fn publicity(&self) -> bool {
        true
    }

    /// When the public will see it, if that is still to come (a scheduled
    /// publication, `services::changes::announce_due`). Never by default.
    fn due(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        None
    }

    /// The `touch` entries of the other records whose representation a write
    /// changes because they embed this one's slug or name (`services::changes`,
    /// D4): `before` and `after` the write (`after` is `None` for a delete,
    /// asked before it). None by default.
    fn touches(
        db: &DatabaseTransaction,
        before: Option<&Self>,
        after: Option<&Self>,
    ) -> impl Future<Output = AppResult<Vec<Entry>>> + Send {
        let _ = (db, before, after);
        std::future::ready(Ok(vec![]))
    }

    /// What its change log entries say it refers to (articles: outlet,
    /// experts, topics by id).
    fn refs(
        &self,
        db: &DatabaseTransaction,
    ) -> impl Future<Output = AppResult<Option<String>>> + Send {
        let _ = db;
        std::future::ready(Ok(None))
    }

    /// The record with this slug, if `actor` may see it (the kind's visibility
    /// rule: a record the caller may not see is as absent as a missing one, so
    /// a refusal never tells that it exists).
    fn find(
        db: &DatabaseTransaction,
        actor: &Actor,
        slug: &str,
    ) -> impl Future<Output = AppResult<Option<Self>>> + Send;

    /// Its current values as an import-format line, names given as slugs.
    fn to_line(
        &self,
        db: &DatabaseTransaction,
    ) -> impl Future<Output = AppResult<Map<String, Value>>> + Send;

    /// Checks `line` (its names resolved through `names`) and writes it: a new
    /// record, or the change of `existing` if that is still at its version
    /// (`None` when it changed meanwhile). Field problems are
    /// `AppError::Unprocessable`.
    fn save(
        db: &DatabaseTransaction,
        actor: &Actor,
        names: &Resolver,
        line: Self::Line,
        existing: Option<&Self>,
    ) -> impl Future<Output = AppResult<Option<Self>>> + Send;

    /// Deletes it if it is still at its version (`false` when it changed).
    fn remove(&self, db: &DatabaseTransaction) -> impl Future<Output = AppResult<bool>> + Send;

    /// May `actor` do `op` (to `existing`)? Editors may do anything by default.
    fn authorize(actor: &Actor, op: Op, existing: Option<&Self>) -> AppResult<()> {
        let _ = (op, existing);
        actor.require(Role::Editor)
    }

    /// May `actor` write these values (the part of the rule that depends on
    /// them: an article's status)? Fills in what the actor's role implies.
    /// A kind that has such a rule applies it in its `save` (so creates,
    /// changes and mentions do); the import calls it through `authorize_write`.
    fn authorize_line(actor: &Actor, line: &mut Self::Line) -> AppResult<()> {
        let _ = (actor, line);
        Ok(())
    }
}

/// May `actor` write `line` as a new record of kind `R`, or as the change of
/// `existing`? The same check `create` and `update` make, for writers that
/// store lines themselves (the import).
pub fn authorize_write<R: Record>(
    actor: &Actor,
    existing: Option<&R>,
    line: &mut R::Line,
) -> AppResult<()> {
    let op = if existing.is_some() {
        Op::Update
    } else {
        Op::Create
    };
    R::authorize(actor, op, existing)?;
    R::authorize_line(actor, line)
}

/// The strong validator of a record's version, for `ETag` / `If-Match`.
pub fn etag<R: Record>(r: &R) -> String {
    format!("\"{}-{}-v{}\"", R::KIND, r.slug(), r.version())
}

/// What a change is based on.
#[derive(Clone, Debug)]
pub enum Expected {
    /// `If-Match: *`: whatever is current.
    Any,
    /// GraphQL's `expectedVersion`.
    Version(i32),
    /// The entity tags of an `If-Match`: one must be the record's current one.
    Tags(Vec<String>),
}

impl Expected {
    fn check<R: Record>(&self, r: &R) -> AppResult<()> {
        let current = etag(r);
        let ok = match self {
            Expected::Any => true,
            Expected::Version(v) => *v == r.version(),
            Expected::Tags(tags) => tags.contains(&current),
        };
        if ok {
            return Ok(());
        }
        Err(AppError::Stale(format!(
            "the {} changed since you read it (it is now {current}); fetch it again",
            R::KIND
        )))
    }
}

/// Takes out the fields that are unknown or set by the server, as errors to
/// report together with any others.
fn take_unknown<R: Record>(input: &mut Map<String, Value>) -> Vec<FieldError> {
    let unknown: Vec<String> = input
        .keys()
        .filter(|k| !R::FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    unknown
        .into_iter()
        .map(|k| {
            input.remove(&k);
            FieldError::new(k, "is unknown or set by the server")
        })
        .collect()
}

/// Reports `unknown` fields along with the field errors of `result` (and
/// instead of its success: the transaction is then dropped, unwritten).
fn with_unknown<T>(unknown: &[FieldError], result: AppResult<T>) -> AppResult<T> {
    match result {
        Ok(_) if !unknown.is_empty() => Err(AppError::Unprocessable(unknown.to_vec())),
        other => other.map_err(|e| prepend(unknown, e)),
    }
}

fn prepend(unknown: &[FieldError], e: AppError) -> AppError {
    match e {
        AppError::Unprocessable(more) => {
            AppError::Unprocessable(unknown.iter().cloned().chain(more).collect())
        }
        e if unknown.is_empty() => e,
        // A refusal for another reason: the unknown fields are the caller's first problem.
        _ => AppError::Unprocessable(unknown.to_vec()),
    }
}

/// Reads a line; a missing field or a value of the wrong type is named.
fn parse_line<R: Record>(values: Map<String, Value>) -> AppResult<R::Line> {
    crate::domain::from_json(Value::Object(values))
}

fn not_found<R: Record>(slug: &str) -> AppError {
    AppError::NotFound(format!("no {} with slug {slug:?}", R::KIND))
}

fn stale<R: Record>(expected: i32, current: i32) -> AppError {
    AppError::Stale(format!(
        "the {} changed since version {expected} (it is now version {current}); fetch it again",
        R::KIND
    ))
}

/// The name tables as the transaction sees them (shared while unchanged).
async fn names_in<R: Record>(
    db: &DatabaseConnection,
    txn: &DatabaseTransaction,
) -> AppResult<Arc<Resolver>> {
    if R::USES_NAMES {
        Resolver::shared(db, txn).await
    } else {
        Ok(Arc::default())
    }
}

/// The change log entry of a write to `r` (after it; before it for a delete).
pub(crate) async fn entry_of<R: Record>(
    db: &DatabaseTransaction,
    r: &R,
    op: ChangeOp,
    was_public: bool,
    is_public: bool,
) -> AppResult<Entry> {
    Ok(Entry {
        kind: R::KIND,
        object_id: r.id(),
        slug: r.slug().to_owned(),
        op,
        version: r.version(),
        was_public,
        is_public,
        refs: r.refs(db).await?,
        due: r.due(),
    })
}

/// Audits the write, logs its change (and what it touched) and commits.
async fn finish(
    txn: super::WriteTxn,
    actor: &Actor,
    action: &str,
    before: Option<Value>,
    after: Option<Value>,
    change: Entry,
    touched: Vec<Entry>,
) -> AppResult<()> {
    let slug = Some(change.slug.clone());
    super::audit::record(&*txn, actor, action, change.kind, slug, before, after).await?;
    let entries = std::iter::once(change).chain(touched);
    changes::record(&txn, Cause::Write, actor, entries).await?;
    txn.commit().await?;
    Ok(())
}

/// Creates a record from `input` (import-format fields).
#[tracing::instrument(level = "debug", name = "records.create", skip_all, fields(kind = R::KIND))]
pub async fn create<R: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    input: Map<String, Value>,
) -> AppResult<R> {
    R::authorize(actor, Op::Create, None)?;
    let mut input = input;
    let unknown = take_unknown::<R>(&mut input);
    let line = parse_line::<R>(input).map_err(|e| prepend(&unknown, e))?;
    let txn = super::begin_write(db).await?;
    let names = names_in::<R>(db, &txn).await?;
    let created = with_unknown(&unknown, R::save(&txn, actor, &names, line, None).await)?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("insert returned no row")))?;
    let after = created.to_line(&txn).await?;
    let change = entry_of(&txn, &created, ChangeOp::Create, false, created.publicity()).await?;
    let touched = R::touches(&txn, None, Some(&created)).await?;
    finish(
        txn,
        actor,
        "create",
        None,
        Some(Value::Object(after)),
        change,
        touched,
    )
    .await?;
    Ok(created)
}

/// Applies the merge-patch `patch` to the record `slug` if it is still what
/// the caller saw (`expected`).
#[tracing::instrument(level = "debug", name = "records.update", skip_all, fields(kind = R::KIND))]
pub async fn update<R: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    expected: &Expected,
    patch: Map<String, Value>,
) -> AppResult<R> {
    change::<R>(db, actor, slug, expected, patch, ChangeOp::Update).await
}

/// `update` as `op`; publishing and unpublishing are for editors only: that
/// is checked after the lookup, so a record the caller may not see is a 404
/// whatever the caller's role.
async fn change<R: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    expected: &Expected,
    patch: Map<String, Value>,
    op: ChangeOp,
) -> AppResult<R> {
    let editors_only = op != ChangeOp::Update;
    actor.require(Role::Contributor)?;
    let mut patch = patch;
    let unknown = take_unknown::<R>(&mut patch);
    let txn = super::begin_write(db).await?;
    let before = R::find(&txn, actor, slug)
        .await?
        .ok_or_else(|| not_found::<R>(slug))?;
    if editors_only {
        actor.require(Role::Editor)?;
    }
    R::authorize(actor, Op::Update, Some(&before))?;
    expected.check(&before)?;
    let mut values = before.to_line(&txn).await?;
    let before_json = Value::Object(values.clone());
    let was_public = before.publicity();
    for (k, v) in patch {
        values.insert(k, v);
    }
    // A null clears a field: the line reads it as absent.
    values.retain(|_, v| !Value::is_null(v));
    let line = parse_line::<R>(values).map_err(|e| prepend(&unknown, e))?;
    let names = names_in::<R>(db, &txn).await?;
    let after = with_unknown(
        &unknown,
        R::save(&txn, actor, &names, line, Some(&before)).await,
    )?
    .ok_or_else(|| stale::<R>(before.version(), before.version() + 1))?;
    let after_json = after.to_line(&txn).await?;
    let change = entry_of(&txn, &after, op, was_public, after.publicity()).await?;
    let touched = R::touches(&txn, Some(&before), Some(&after)).await?;
    finish(
        txn,
        actor,
        "update",
        Some(before_json),
        Some(Value::Object(after_json)),
        change,
        touched,
    )
    .await?;
    Ok(after)
}

/// Deletes the record `slug` if it is still what the caller saw (`expected`).
#[tracing::instrument(level = "debug", name = "records.delete", skip_all, fields(kind = R::KIND))]
pub async fn delete<R: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    expected: &Expected,
) -> AppResult<()> {
    actor.require(Role::Contributor)?;
    let txn = super::begin_write(db).await?;
    let before = R::find(&txn, actor, slug)
        .await?
        .ok_or_else(|| not_found::<R>(slug))?;
    R::authorize(actor, Op::Delete, Some(&before))?;
    expected.check(&before)?;
    let before_json = before.to_line(&txn).await?;
    let change = entry_of(&txn, &before, ChangeOp::Delete, before.publicity(), false).await?;
    let touched = R::touches(&txn, Some(&before), None).await?;
    if !before.remove(&txn).await? {
        return Err(stale::<R>(before.version(), before.version() + 1));
    }
    finish(
        txn,
        actor,
        "delete",
        Some(Value::Object(before_json)),
        None,
        change,
        touched,
    )
    .await
}

/// Sets the `status` of an article or event (publish, unpublish).
#[tracing::instrument(level = "debug", name = "records.set_status", skip_all, fields(kind = R::KIND))]
pub async fn set_status<R: Record>(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    expected: &Expected,
    status: crate::domain::ArticleStatus,
) -> AppResult<R> {
    let mut patch = Map::new();
    patch.insert("status".into(), status.as_str().into());
    let op = if status == crate::domain::ArticleStatus::Published {
        ChangeOp::Publish
    } else {
        ChangeOp::Unpublish
    };
    change::<R>(db, actor, slug, expected, patch, op).await
}

/// The columns every versioned table has.
pub trait Versioned: EntityTrait {
    const ID: Self::Column;
    const VERSION: Self::Column;
    const CREATED_AT: Option<Self::Column>;
    const UPDATED_AT: Self::Column;
}

/// Refuses a slug another record of the same kind already has.
async fn slug_free<E>(
    db: &DatabaseTransaction,
    kind: &str,
    slug_col: E::Column,
    slug: &str,
    except: Option<i32>,
) -> AppResult<()>
where
    E: Versioned,
    E::Model: Sync,
{
    let mut q = E::find().filter(slug_col.eq(slug));
    if let Some(id) = except {
        q = q.filter(E::ID.ne(id));
    }
    if q.count(db).await? > 0 {
        return Err(AppError::Conflict(format!(
            "a {kind} with slug {slug:?} already exists"
        )));
    }
    Ok(())
}

fn set<A: ActiveModelTrait>(
    am: &mut A,
    col: <A::Entity as EntityTrait>::Column,
    v: sea_orm::Value,
) -> AppResult<()> {
    am.try_set(col, v)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot set a column: {e}")))
}

/// Stamps a new row: version 1, created (where the table says when) and
/// updated at `now`.
pub(crate) fn stamp_new<E: Versioned>(
    am: &mut E::ActiveModel,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    set(am, E::VERSION, 1.into())?;
    if let Some(c) = E::CREATED_AT {
        set(am, c, now.into())?;
    }
    set(am, E::UPDATED_AT, now.into())
}

/// Writes a checked row: a new one at version 1, or the change of the row
/// `(id, version)` if it is still at that version (`None` when it is not).
async fn store<E>(
    db: &DatabaseTransaction,
    mut am: E::ActiveModel,
    existing: Option<(i32, i32)>,
) -> AppResult<Option<E::Model>>
where
    E: Versioned,
    E::Model: IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    match existing {
        None => {
            stamp_new::<E>(&mut am, super::now())?;
            Ok(Some(am.insert(db).await?))
        }
        Some((id, version)) => {
            set(&mut am, E::UPDATED_AT, super::now().into())?;
            am.not_set(E::ID);
            // `UPDATE ... SET ..., version = version + 1 WHERE id = ? AND version = ?`:
            // of concurrent changes based on one version, exactly one matches.
            let res = E::update_many()
                .set(am)
                .col_expr(E::VERSION, Expr::col(E::VERSION).add(1))
                .filter(E::ID.eq(id))
                .filter(E::VERSION.eq(version))
                .exec(db)
                .await?;
            if res.rows_affected != 1 {
                return Ok(None);
            }
            Ok(E::find().filter(E::ID.eq(id)).one(db).await?)
        }
    }
}

/// `DELETE ... WHERE id = ? AND version = ?`; `false` when it changed meanwhile.
async fn delete_if<E: Versioned>(
    db: &DatabaseTransaction,
    id: i32,
    version: i32,
) -> AppResult<bool> {
    let res = E::delete_many()
        .filter(E::ID.eq(id))
        .filter(E::VERSION.eq(version))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
