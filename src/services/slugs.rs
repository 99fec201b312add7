//! Slugs of new records: the one rule, for every kind and every path (import,
//! CLI import, REST and GraphQL creates, `recordMention` and the outlets and
//! experts it creates). A record created without a slug gets its title's (or
//! name's) slug; only when another record of its kind already has that one
//! does it get the first free of `-2`, `-3`, ... An explicit slug is never
//! renamed: the caller refuses a taken one (409, or a line error).
//!
//! The check and the insert run in the caller's write transaction, under a
//! lock that keeps every other writer of the table out until it ends: on
//! SQLite `services::begin_write` (one writer at a time); on PostgreSQL
//! [`lock`], `LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE` (the lock the import
//! takes on `articles`), which conflicts with itself and with every INSERT,
//! UPDATE and DELETE of the table but not with reads. So two concurrent
//! creates with one title both succeed: the second waits, then sees the
//! first's slug and takes the next suffix.
//!
//! Lookups go by equality on the unique slug index, a window of candidates a
//! query (`IN (...)`), so they use the index on both databases whatever the
//! collation.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::Slug;
use crate::error::AppResult;

/// At most this many values in one `IN (...)`.
const CHUNK: usize = 500;
/// At most this many bases remembered by one import's [`Hints`].
const MAX_HINTS: usize = 20_000;

/// The `n`th candidate for `base`: the base itself for `n <= 1`, else `base-n`.
pub(crate) fn candidate(base: &Slug, n: u32) -> Slug {
    if n <= 1 {
        base.clone()
    } else {
        base.with_suffix(&n.to_string())
    }
}

/// On PostgreSQL, keeps every other writer of `E`'s table out until the
/// transaction ends (SQLite writers are already one at a time).
pub(crate) async fn lock<E: EntityTrait>(db: &impl ConnectionTrait) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        let table = E::default().table_name();
        db.execute_unprepared(&format!(
            "LOCK TABLE \"{table}\" IN SHARE ROW EXCLUSIVE MODE"
        ))
        .await?;
    }
    Ok(())
}

/// Of `slugs`, those some row of `E` already has.
async fn taken_of<E: EntityTrait>(
    db: &impl ConnectionTrait,
    col: E::Column,
    slugs: &[String],
) -> AppResult<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in slugs.chunks(CHUNK) {
        let rows: Vec<String> = E::find()
            .select_only()
            .column(col)
            .filter(col.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The slug for one new record of `E` whose natural slug is `base`: `base`,
/// or its first free suffix. Locks the table first (see [`lock`]); the
/// caller inserts in the same transaction.
pub(crate) async fn claim<E: EntityTrait>(
    db: &impl ConnectionTrait,
    col: E::Column,
    base: &Slug,
) -> AppResult<Slug> {
    lock::<E>(db).await?;
    let mut hints = Hints::default();
    let mut batch = Batch::<E>::new(col, &mut hints);
    batch.derive(db, base).await
}

/// The first suffix of each base that may still be free, for the bases one
/// import derived slugs from (every lower one is taken). Only a shortcut: the
/// database is still asked about the candidate. It holds at most
/// `MAX_HINTS` bases (about 3 MB); when full it starts over, which costs
/// queries, never correctness. Valid only while nobody else writes the table
/// (the import's lock).
#[derive(Default)]
pub(crate) struct Hints(HashMap<String, u32>);

impl Hints {
    fn get(&self, base: &Slug) -> u32 {
        self.0.get(base.as_str()).copied().unwrap_or(1)
    }
    fn set(&mut self, base: &Slug, next: u32) {
        if self.0.len() >= MAX_HINTS && !self.0.contains_key(base.as_str()) {
            self.0.clear();
        }
        self.0.insert(base.as_str().to_owned(), next);
    }
}

/// The slugs of one batch of new records of `E`, given in file order: what
/// the database already has (asked a window at a time) and what earlier
/// records of the batch took.
pub(crate) struct Batch<'h, E: EntityTrait> {
    col: E::Column,
    /// Slugs whose state in the database is known.
    known: HashSet<String>,
    /// Of those, the ones taken there.
    taken: HashSet<String>,
    /// Slugs given to earlier records of this batch.
    used: HashSet<String>,
    hints: &'h mut Hints,
}

impl<'h, E: EntityTrait> Batch<'h, E> {
    pub(crate) fn new(col: E::Column, hints: &'h mut Hints) -> Self {
        Self {
            col,
            known: HashSet::new(),
            taken: HashSet::new(),
            used: HashSet::new(),
            hints,
        }
    }

    /// Asks the database at once about the explicit slugs and the bases the
    /// batch will need (one query per `CHUNK`), so a batch without
    /// collisions costs one round trip.
    pub(crate) async fn prefetch(
        &mut self,
        db: &impl ConnectionTrait,
        explicit: impl IntoIterator<Item = &str>,
        bases: impl IntoIterator<Item = &Slug>,
    ) -> AppResult<()> {
        let mut want: Vec<String> = explicit.into_iter().map(str::to_owned).collect();
        let mut per_base: HashMap<&Slug, u32> = HashMap::new();
        for b in bases {
            *per_base.entry(b).or_default() += 1;
        }
        for (b, k) in per_base {
            let from = self.hints.get(b);
            want.extend((from..from + k).map(|n| candidate(b, n).into_string()));
        }
        self.fetch(db, want).await
    }

    async fn fetch(&mut self, db: &impl ConnectionTrait, want: Vec<String>) -> AppResult<()> {
        let want: Vec<String> = want
            .into_iter()
            .filter(|s| !self.known.contains(s))
            .collect();
        let taken = taken_of::<E>(db, self.col, &want).await?;
        self.known.extend(want);
        self.taken.extend(taken);
        Ok(())
    }

    /// Whether `slug` is taken, in the database or earlier in the batch.
    pub(crate) async fn is_taken(
        &mut self,
        db: &impl ConnectionTrait,
        slug: &str,
    ) -> AppResult<bool> {
        if self.used.contains(slug) {
            return Ok(true);
        }
        if !self.known.contains(slug) {
            self.fetch(db, vec![slug.to_owned()]).await?;
        }
        Ok(self.taken.contains(slug))
    }

    /// Marks an explicit slug as given in this batch.
    pub(crate) fn take(&mut self, slug: &str) {
        self.used.insert(slug.to_owned());
    }

    /// The slug for the next record whose natural slug is `base`: the first
    /// free candidate, marked as given.
    pub(crate) async fn derive(
        &mut self,
        db: &impl ConnectionTrait,
        base: &Slug,
    ) -> AppResult<Slug> {
        let mut n = self.hints.get(base);
        loop {
            let c = candidate(base, n);
            if !self.used.contains(c.as_str()) {
                if !self.known.contains(c.as_str()) {
                    // A window that grows with the suffix: 16, then as many as seen so far.
                    let size = n.clamp(16, 512);
                    let window = (n..n + size).map(|m| candidate(base, m).into_string());
                    self.fetch(db, window.collect()).await?;
                }
                if !self.taken.contains(c.as_str()) {
                    self.used.insert(c.as_str().to_owned());
                    self.hints.set(base, n + 1);
                    return Ok(c);
                }
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_the_base_then_2_3() {
        let b = Slug::from_text("G7 Update");
        let c: Vec<String> = (1..=3).map(|n| candidate(&b, n).into_string()).collect();
        assert_eq!(c, ["g7-update", "g7-update-2", "g7-update-3"]);
    }

    #[test]
    fn hints_stay_bounded_and_only_skip_ahead() {
        let mut h = Hints::default();
        for i in 0..(MAX_HINTS + 10) {
            h.set(&Slug::from_text(&format!("t {i}")), 3);
            assert!(h.0.len() <= MAX_HINTS);
        }
        // A forgotten base starts over at the base itself.
        assert_eq!(h.get(&Slug::from_text("t 0")), 1);
        assert_eq!(h.get(&Slug::from_text(&format!("t {}", MAX_HINTS + 9))), 3);
    }
}
